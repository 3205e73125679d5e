package feel

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is FEEL's days-and-time duration (@"PT30S", duration("P1DT2H")). It marshals to
// JSON as its ISO 8601 text, as Zeebe writes durations into variables.
type Duration time.Duration

// String returns the duration in ISO 8601 form, e.g. PT1M30S, P1DT2H, -PT0.5S.
func (d Duration) String() string {
	if d == 0 {
		return "PT0S"
	}
	var b strings.Builder
	v := time.Duration(d)
	if v < 0 {
		b.WriteByte('-')
		v = -v
	}
	b.WriteByte('P')
	if days := v / (24 * time.Hour); days > 0 {
		fmt.Fprintf(&b, "%dD", days)
		v -= days * 24 * time.Hour
	}
	if v == 0 {
		return b.String()
	}
	b.WriteByte('T')
	if h := v / time.Hour; h > 0 {
		fmt.Fprintf(&b, "%dH", h)
		v -= h * time.Hour
	}
	if m := v / time.Minute; m > 0 {
		fmt.Fprintf(&b, "%dM", m)
		v -= m * time.Minute
	}
	if v > 0 {
		b.WriteString(strconv.FormatFloat(v.Seconds(), 'f', -1, 64))
		b.WriteByte('S')
	}
	return b.String()
}

// MarshalJSON writes the ISO 8601 text.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(d.String())), nil
}

// ParseDuration parses an ISO 8601 days-and-time duration: [-]P[nD][T[nH][nM][n[.n]S]].
// Years and months are not supported (their length in time varies).
func ParseDuration(s string) (Duration, error) {
	d, err := parseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: %w", s, err)
	}
	return d, nil
}

func parseDuration(s string) (Duration, error) {
	rest := s
	neg := strings.HasPrefix(rest, "-")
	rest = strings.TrimPrefix(rest, "-")
	if !strings.HasPrefix(rest, "P") || len(rest) < 2 {
		return 0, fmt.Errorf("expected an ISO 8601 duration such as PT30S or P1DT2H")
	}
	rest = rest[1:]
	var total time.Duration
	inTime, units := false, 0
	for rest != "" {
		if rest[0] == 'T' {
			if inTime || len(rest) == 1 {
				return 0, fmt.Errorf("misplaced 'T'")
			}
			inTime, rest = true, rest[1:]
			continue
		}
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		if i == 0 || i == len(rest) {
			return 0, fmt.Errorf("expected a number followed by a unit")
		}
		f, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil {
			return 0, fmt.Errorf("bad number %q", rest[:i])
		}
		var unit time.Duration
		switch u := rest[i]; {
		case !inTime && u == 'D':
			unit = 24 * time.Hour
		case inTime && u == 'H':
			unit = time.Hour
		case inTime && u == 'M':
			unit = time.Minute
		case inTime && u == 'S':
			unit = time.Second
		case !inTime && (u == 'Y' || u == 'M' || u == 'W'):
			return 0, fmt.Errorf("years, months and weeks are not supported; use days and time (P1DT2H)")
		default:
			return 0, fmt.Errorf("unexpected unit %q", string(u))
		}
		if f > float64(1<<62)/float64(unit) {
			return 0, fmt.Errorf("too long")
		}
		total += time.Duration(f * float64(unit))
		rest = rest[i+1:]
		units++
	}
	if units == 0 {
		return 0, fmt.Errorf("no amount")
	}
	if neg {
		total = -total
	}
	return Duration(total), nil
}
