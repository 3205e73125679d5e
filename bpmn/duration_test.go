package bpmn

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"PT30S": 30 * time.Second, "pt1m": time.Minute, "PT1H30M": 90 * time.Minute, "P1D": 24 * time.Hour,
		"P1DT2H": 26 * time.Hour, "PT0.5S": 500 * time.Millisecond, "45s": 45 * time.Second, "PT0S": 0,
	} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "P", "PT", "30", "PT30", "PTXS", "P1H", "T30S", "PT1S2"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
}
