package feel

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// builtin is a built-in function. Arguments of the wrong type make it return null, as in FEEL;
// a wrong number of arguments is a parse error.
type builtin struct {
	minArgs, maxArgs int // maxArgs -1: any number
	boolean          bool
	call             func(args []any) any
}

func (b *builtin) arity() string {
	switch {
	case b.maxArgs < 0:
		return fmt.Sprintf("at least %d arguments", b.minArgs)
	case b.minArgs == b.maxArgs && b.minArgs == 1:
		return "1 argument"
	case b.minArgs == b.maxArgs:
		return fmt.Sprintf("%d arguments", b.minArgs)
	}
	return fmt.Sprintf("%d to %d arguments", b.minArgs, b.maxArgs)
}

var builtins map[string]*builtin

func init() {
	builtins = map[string]*builtin{
		// Boolean functions.
		"not": {1, 1, true, func(a []any) any {
			if b, ok := a[0].(bool); ok {
				return !b
			}
			return nil
		}},
		"is defined":  {1, 1, true, func(a []any) any { return a[0] != nil }},
		"get or else": {2, 2, false, func(a []any) any { return cmpOr(a[0], a[1]) }},

		// Conversion functions.
		"string": {1, 1, false, func(a []any) any {
			if a[0] == nil {
				return nil
			}
			return format(a[0], true)
		}},
		"number": {1, 1, false, func(a []any) any {
			s, ok := a[0].(string)
			if !ok {
				return nil
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				return nil
			}
			return number(f)
		}},
		"duration": {1, 1, false, func(a []any) any {
			s, ok := a[0].(string)
			if !ok {
				return nil
			}
			d, err := parseDuration(s)
			if err != nil {
				return nil
			}
			return d
		}},

		// String functions.
		"string length":    {1, 1, false, strFn(func(s string) any { return number(float64(len([]rune(s)))) })},
		"upper case":       {1, 1, false, strFn(func(s string) any { return strings.ToUpper(s) })},
		"lower case":       {1, 1, false, strFn(func(s string) any { return strings.ToLower(s) })},
		"trim":             {1, 1, false, strFn(func(s string) any { return strings.TrimFunc(s, unicode.IsSpace) })},
		"is blank":         {1, 1, true, strFn(func(s string) any { return strings.TrimFunc(s, unicode.IsSpace) == "" })},
		"contains":         {2, 2, true, str2Fn(func(s, m string) any { return strings.Contains(s, m) })},
		"starts with":      {2, 2, true, str2Fn(func(s, m string) any { return strings.HasPrefix(s, m) })},
		"ends with":        {2, 2, true, str2Fn(func(s, m string) any { return strings.HasSuffix(s, m) })},
		"substring before": {2, 2, false, str2Fn(func(s, m string) any { b, _, _ := strings.Cut(s, m); return cutOrEmpty(s, m, b) })},
		"substring after":  {2, 2, false, str2Fn(func(s, m string) any { _, a, _ := strings.Cut(s, m); return cutOrEmpty(s, m, a) })},
		"substring":        {2, 3, false, substring},

		// List functions.
		"count": {1, 1, false, func(a []any) any {
			if l, ok := a[0].([]any); ok {
				return number(float64(len(l)))
			}
			return nil
		}},
		"list contains": {2, 2, true, func(a []any) any {
			l, ok := a[0].([]any)
			if !ok {
				return nil
			}
			for _, item := range l {
				if eq, _ := equal(item, a[1]).(bool); eq {
					return true
				}
			}
			return false
		}},
		"sum": {1, -1, false, func(a []any) any {
			nums, ok := numbers(a)
			if !ok || len(nums) == 0 {
				return nil
			}
			var s float64
			for _, n := range nums {
				s += n
			}
			return number(s)
		}},
		"min": {1, -1, false, func(a []any) any { return extreme(a, -1) }},
		"max": {1, -1, false, func(a []any) any { return extreme(a, 1) }},
		"string join": {1, 4, false, func(a []any) any {
			l, ok := a[0].([]any)
			var opt [3]string // delimiter, prefix, suffix
			for i, v := range a[1:] {
				s, sok := v.(string)
				ok = ok && sok
				opt[i] = s
			}
			if !ok {
				return nil
			}
			parts := make([]string, 0, len(l))
			for _, item := range l {
				switch s := item.(type) {
				case nil:
				case string:
					parts = append(parts, s)
				default:
					return nil
				}
			}
			return opt[1] + strings.Join(parts, opt[0]) + opt[2]
		}},

		// The connector runtime's error functions (errorExpression).
		"bpmnError": {1, 3, false, bpmnError},
		"jobError":  {1, 4, false, jobError},
	}
}

// supportedFunctions lists the built-ins for error messages.
func supportedFunctions() string {
	names := make([]string, 0, len(builtins))
	for name := range builtins {
		names = append(names, name+"()")
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func cmpOr(v, def any) any {
	if v != nil {
		return v
	}
	return def
}

func strFn(f func(string) any) func([]any) any {
	return func(a []any) any {
		if s, ok := a[0].(string); ok {
			return f(s)
		}
		return nil
	}
}

func str2Fn(f func(s, m string) any) func([]any) any {
	return func(a []any) any {
		s, ok1 := a[0].(string)
		m, ok2 := a[1].(string)
		if ok1 && ok2 {
			return f(s, m)
		}
		return nil
	}
}

// cutOrEmpty is the part of s around m, or "" when s does not contain m.
func cutOrEmpty(s, m, part string) any {
	if !strings.Contains(s, m) {
		return ""
	}
	return part
}

// integer returns v as an int when it is a whole number.
func integer(v any) (int, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f := toFloat(n)
	if f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
		return 0, false
	}
	return int(f), true
}

// substring(string, start position[, length]): positions start at 1; a negative start counts
// from the end.
func substring(a []any) any {
	s, ok := a[0].(string)
	start, sok := integer(a[1])
	if !ok || !sok || start == 0 {
		return nil
	}
	r := []rune(s)
	i := start - 1
	if start < 0 {
		i = max(len(r)+start, 0)
	}
	i = min(i, len(r))
	end := len(r)
	if len(a) == 3 {
		n, ok := integer(a[2])
		if !ok || n < 0 {
			return nil
		}
		end = min(i+n, len(r))
	}
	return string(r[i:end])
}

// numbers returns the numbers of a list argument or of the arguments themselves.
func numbers(a []any) ([]float64, bool) {
	items := listArgs(a)
	out := make([]float64, len(items))
	for i, item := range items {
		n, ok := item.(json.Number)
		if !ok {
			return nil, false
		}
		out[i] = toFloat(n)
	}
	return out, true
}

func listArgs(a []any) []any {
	if len(a) == 1 {
		if l, ok := a[0].([]any); ok {
			return l
		}
	}
	return a
}

// extreme returns the smallest (sign -1) or largest (sign 1) of numbers.
func extreme(a []any, sign int) any {
	nums, ok := numbers(a)
	if !ok || len(nums) == 0 {
		return nil
	}
	best := nums[0]
	for _, n := range nums[1:] {
		if (n-best)*float64(sign) > 0 {
			best = n
		}
	}
	return number(best)
}

// bpmnError(code[, message[, variables]]) is the connector runtime's request to throw a BPMN
// error: a context tagged errorType "bpmnError".
func bpmnError(a []any) any {
	code, ok := a[0].(string)
	if !ok {
		return nil
	}
	out := map[string]any{"errorType": "bpmnError", "errorCode": code}
	if len(a) > 1 {
		msg, ok := a[1].(string)
		if !ok {
			return nil
		}
		out["errorMessage"] = msg
	}
	if len(a) > 2 {
		vars, ok := a[2].(map[string]any)
		if !ok {
			return nil
		}
		out["variables"] = vars
	}
	return out
}

// jobError(message[, variables[, retries[, retryBackoff]]]) is the connector runtime's request
// to fail the job: a context tagged errorType "jobError", by default with no variables, 0
// retries and no backoff.
func jobError(a []any) any {
	msg, ok := a[0].(string)
	if !ok {
		return nil
	}
	out := map[string]any{"errorType": "jobError", "errorMessage": msg, "variables": map[string]any{},
		"retries": json.Number("0"), "retryBackoff": Duration(0)}
	if len(a) > 1 {
		vars, ok := a[1].(map[string]any)
		if !ok {
			return nil
		}
		out["variables"] = vars
	}
	if len(a) > 2 {
		if _, ok := integer(a[2]); !ok {
			return nil
		}
		out["retries"] = a[2]
	}
	if len(a) > 3 {
		d, ok := a[3].(Duration)
		if !ok {
			return nil
		}
		out["retryBackoff"] = d
	}
	return out
}

// format writes a value as FEEL's string() does: strings as they are at the top level, quoted
// inside lists and contexts.
func format(v any, top bool) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		if top {
			return x
		}
		return strconv.Quote(x)
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return string(x)
	case Duration:
		return x.String()
	case []any:
		parts := make([]string, len(x))
		for i, item := range x {
			parts[i] = format(item, false)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ": " + format(x[k], false)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}
