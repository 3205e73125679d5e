package actions

import (
	"context"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// UserPrefix marks a recipient given by name ("user:mary.major") instead of by number; the
// connector looks the number up in the Directory configured at deploy time, so callers never
// hold phone numbers (the pattern of Zato's notify services).
const UserPrefix = "user:"

// Directory resolves user names to phone numbers.
type Directory interface {
	// Phone returns the user's number, or ok false when the user is unknown.
	Phone(ctx context.Context, user string) (phone string, ok bool, err error)
}

// FileDirectory is a Directory read once from a YAML file of the form
//
//	users:
//	  mary.major: {phone: "+14155550100"}
//	  sean: "+447700900123"
type FileDirectory map[string]string

// LoadDirectoryFile reads a FileDirectory; errors name the file and the user.
func LoadDirectoryFile(path string) (FileDirectory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Users map[string]yaml.Node `yaml:"users"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	dir := FileDirectory{}
	for name, node := range doc.Users {
		var phone string
		if node.Kind == yaml.ScalarNode {
			phone = node.Value
		} else {
			var entry struct {
				Phone string `yaml:"phone"`
			}
			if err := node.Decode(&entry); err != nil {
				return nil, fmt.Errorf("%s: user %s: %w", path, name, err)
			}
			phone = entry.Phone
		}
		if strings.TrimSpace(phone) == "" {
			return nil, fmt.Errorf("%s: user %s has no phone: write %s: {phone: \"+14155550100\"}", path, name, name)
		}
		dir[name] = strings.TrimSpace(phone)
	}
	return dir, nil
}

func (d FileDirectory) Phone(_ context.Context, user string) (string, bool, error) {
	p, ok := d[user]
	return p, ok, nil
}
