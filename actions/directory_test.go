package actions

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadDirectoryFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "users.yaml")
	os.WriteFile(good, []byte("users:\n  mary.major: {phone: \"+14155550101\"}\n  sean: \"+14155550102\"\n"), 0o600)
	d, err := LoadDirectoryFile(good)
	if err != nil {
		t.Fatal(err)
	}
	for user, want := range map[string]string{"mary.major": "+14155550101", "sean": "+14155550102"} {
		if got, ok, _ := d.Lookup(context.Background(), user, "phone"); !ok || got != want {
			t.Errorf("%s = %q %v", user, got, ok)
		}
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("users:\n  ann: {email: a@example.com}\n"), 0o600)
	if _, err := LoadDirectoryFile(bad); err == nil || !strings.Contains(err.Error(), "user ann has no phone") {
		t.Fatalf("err = %v", err)
	}
}
