package errs

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"testing"
)

// Every code a task can fail with is a row of the README's "Failures and retries" table, whose
// "retried" column is Retryable's answer. The codes are read from errs.go, so a new one that
// the table lacks fails here.
func TestREADMEFailureTable(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[Code]string{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([A-Z_]+)` \\|.*\\| (yes|no) \\|$").FindAllSubmatch(readme, -1) {
		rows[Code(m[1])] = string(m[2])
	}
	if len(rows) < 5 {
		t.Fatalf("README's failure table not found (%d rows)", len(rows))
	}
	api := map[Code]bool{APIKeyRejected: true, IdempotencyKeyInProgress: true, IdempotencyKeyReused: true}
	f, err := parser.ParseFile(token.NewFileSet(), "errs.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	ast.Inspect(f, func(x ast.Node) bool {
		v, ok := x.(*ast.ValueSpec)
		if !ok || v.Type == nil {
			return true
		}
		if id, ok := v.Type.(*ast.Ident); !ok || id.Name != "Code" {
			return true
		}
		for _, val := range v.Values {
			lit := val.(*ast.BasicLit).Value
			c := Code(lit[1 : len(lit)-1])
			n++
			if api[c] {
				continue
			}
			want := map[bool]string{true: "yes", false: "no"}[c.Retryable()]
			if got, ok := rows[c]; !ok {
				t.Errorf("README's Failures and retries table has no row for %s", c)
			} else if got != want {
				t.Errorf("README says %s is retried: %s; Retryable says %s", c, got, want)
			}
		}
		return true
	})
	if n < 10 {
		t.Fatalf("found only %d Code constants in errs.go", n)
	}
}
