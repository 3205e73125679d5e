package test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// sibling is the directory beside a developer's checkout that holds the project's briefing
// documents; a user's clone has no such directory.
const sibling = "shared"

// outsideRefs are ways a file can lean on documents beside the repository, which a user's clone
// does not have: the sibling directory, its design notes, conventions and seed documents.
var outsideRefs = []string{
	"../" + sibling, `"` + sibling + `"`, sibling + "/seeds", sibling + "/design", sibling + "/conventions", sibling + "/twilio",
	"design.md", "design §", "conventions.md", "seeds/0",
}

// The repository stands alone: no tracked file refers to documents outside it. Design notes
// belong in docs/design.md, fixtures in testdata.
func TestRepositoryStandsAlone(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Skipf("not a git checkout (%v): nothing to list", err)
	}
	self := "test/standalone_test.go"
	checked := 0
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if name == self {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			if os.IsNotExist(err) {
				continue // deleted in the work tree, not yet committed
			}
			t.Fatal(err)
		}
		if bytes.IndexByte(data, 0) >= 0 {
			continue // binary
		}
		checked++
		for i, line := range strings.Split(string(data), "\n") {
			lower := strings.ToLower(line)
			for _, ref := range outsideRefs {
				// docs/design.md is the repository's own design; only a bare DESIGN.md is outside.
				if strings.Contains(strings.ReplaceAll(lower, "docs/design.md", "docs/"), ref) {
					t.Errorf("%s:%d refers to something outside the repository (%q): %s", name, i+1, ref, strings.TrimSpace(line))
				}
			}
		}
	}
	if checked < 100 {
		t.Fatalf("checked only %d files: is %s the repository?", checked, root)
	}
}
