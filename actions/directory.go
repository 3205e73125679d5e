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

// Directory resolves user names to addresses: the field is the provider's
// (providers.Provider.DirectoryField: "phone", "pushover").
type Directory interface {
	// Lookup returns the user's address in field, or ok false when the user or the field is
	// unknown.
	Lookup(ctx context.Context, user, field string) (address string, ok bool, err error)
}

// FileDirectory is a Directory read once from a YAML file of the form
//
//	users:
//	  mary.major: {phone: "+14155550100", pushover: uQiRzpo4DXghDmr9QzzfQu27cmVRsG}
//	  sean: "+447700900123"
//
// A bare string is the phone number.
type FileDirectory map[string]map[string]string

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
		entry := map[string]string{}
		if node.Kind == yaml.ScalarNode {
			entry["phone"] = node.Value
		} else if err := node.Decode(&entry); err != nil {
			return nil, fmt.Errorf("%s: user %s: %w", path, name, err)
		}
		for k, v := range entry {
			if entry[k] = strings.TrimSpace(v); entry[k] == "" {
				delete(entry, k)
			}
		}
		if entry["phone"] == "" && entry["pushover"] == "" {
			return nil, fmt.Errorf("%s: user %s has no phone (nor pushover key): write %s: {phone: \"+14155550100\"}", path, name, name)
		}
		dir[name] = entry
	}
	return dir, nil
}

func (d FileDirectory) Lookup(_ context.Context, user, field string) (string, bool, error) {
	a, ok := d[user][field]
	return a, ok, nil
}
