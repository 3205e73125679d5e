package bpmn

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseDuration reads an ISO 8601 duration of days, hours, minutes and seconds (PT30S, P1DT2H,
// PT0.5S) as Camunda uses for the retryBackoff task header and BPMN timers, or a Go duration (30s).
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	u := strings.ToUpper(s)
	if !strings.HasPrefix(u, "P") || len(u) < 3 {
		return 0, fmt.Errorf("not a duration: %q", s)
	}
	var total time.Duration
	inTime := false
	num := ""
	for _, r := range u[1:] {
		switch {
		case r == 'T':
			inTime = true
		case (r >= '0' && r <= '9') || r == '.':
			num += string(r)
		default:
			f, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, fmt.Errorf("not a duration: %q", s)
			}
			unit := map[bool]map[rune]time.Duration{
				false: {'D': 24 * time.Hour, 'W': 7 * 24 * time.Hour},
				true:  {'H': time.Hour, 'M': time.Minute, 'S': time.Second},
			}[inTime][r]
			if unit == 0 {
				return 0, fmt.Errorf("not a duration: %q", s)
			}
			total += time.Duration(f * float64(unit))
			num = ""
		}
	}
	if num != "" {
		return 0, fmt.Errorf("not a duration: %q", s)
	}
	return total, nil
}
