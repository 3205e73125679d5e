package templates

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func TestScratch(t *testing.T) {
	src, ok := os.LookupEnv("TPL")
	if !ok {
		t.Skip()
	}
	var vars map[string]any
	d := json.NewDecoder(strings.NewReader(os.Getenv("VARS") + " "))
	d.UseNumber()
	_ = d.Decode(&vars)
	tp, err := Compile("smsBody", src, Engine(os.Getenv("ENG")))
	if err != nil {
		t.Logf("COMPILE ERR: %v", err)
		return
	}
	out, err := tp.Render(vars)
	t.Logf("%q %v", out, err)
}
