package templates

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// builtinArity is the supported built-ins with their accepted argument counts.
var builtinArity = map[string][]int{
	"upper_case": {0}, "lower_case": {0}, "cap_first": {0}, "uncap_first": {0}, "capitalize": {0},
	"trim": {0}, "length": {0}, "size": {0}, "has_content": {0}, "c": {0}, "string": {0, 1, 2},
	"html": {0}, "url": {0},
	// loop variable built-ins
	"index": {0}, "counter": {0}, "has_next": {0}, "is_first": {0}, "is_last": {0}, "item_parity": {0},
}

var builtinList = func() string {
	var names []string
	for n := range builtinArity {
		names = append(names, "?"+n)
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}()

func knownBuiltin(name string) bool {
	_, ok := builtinArity[name]
	return ok
}

var loopBuiltins = map[string]bool{"index": true, "counter": true, "has_next": true, "is_first": true, "is_last": true, "item_parity": true}

func checkBuiltinArgs(b *builtinExpr) error {
	ok := false
	for _, n := range builtinArity[b.name] {
		ok = ok || n == len(b.args)
	}
	if !ok {
		if len(builtinArity[b.name]) == 1 {
			return fmt.Errorf("?%s takes no arguments", b.name)
		}
		return fmt.Errorf("?%s takes at most 2 arguments", b.name)
	}
	if loopBuiltins[b.name] {
		if _, isVar := b.target.(*varExpr); !isVar {
			return fmt.Errorf("?%s applies to a loop variable of <#list>", b.name)
		}
	}
	if b.name == "string" && len(b.args) == 1 {
		if lit, ok := b.args[0].(*litExpr); ok {
			if s, ok := lit.v.(string); ok {
				if _, err := namedNumberFormat(s); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (st *renderState) builtin(e *builtinExpr) (any, error) {
	if loopBuiltins[e.name] {
		name := e.target.(*varExpr).name
		var f *loopFrame
		for i := len(st.loops) - 1; i >= 0; i-- {
			if st.loops[i].name == name {
				f = st.loops[i]
				break
			}
		}
		if f == nil {
			return nil, failf(e, "?%s needs %s to be the variable of an enclosing <#list ... as %s>", e.name, name, name)
		}
		switch e.name {
		case "index":
			return decFromInt(int64(f.index)), nil
		case "counter":
			return decFromInt(int64(f.index + 1)), nil
		case "has_next":
			return f.index+1 < f.size, nil
		case "is_first":
			return f.index == 0, nil
		case "is_last":
			return f.index+1 == f.size, nil
		default:
			if f.index%2 == 0 {
				return "odd", nil
			}
			return "even", nil
		}
	}
	if e.name == "has_content" {
		v, err := st.evalTolerant(e.target)
		if err != nil {
			return nil, err
		}
		switch t := v.(type) {
		case nil:
			return false, nil
		case string:
			return t != "", nil
		case []any:
			return len(t) > 0, nil
		case map[string]any:
			return len(t) > 0, nil
		}
		return true, nil
	}
	v, err := st.need(e.target)
	if err != nil {
		return nil, err
	}
	switch e.name {
	case "size":
		switch t := v.(type) {
		case []any:
			return decFromInt(int64(len(t))), nil
		case map[string]any:
			return decFromInt(int64(len(t))), nil
		}
		return nil, failf(e, "?size needs a sequence or a hash, but %s is %s: use ?length for strings", exprSrc(e.target), typeName(v))
	case "c":
		switch t := v.(type) {
		case *decimal:
			return computerFormat.format(t), nil
		case bool:
			if t {
				return "true", nil
			}
			return "false", nil
		}
		return nil, failf(e, "?c needs a number or a boolean, but %s is %s", exprSrc(e.target), typeName(v))
	case "string":
		return st.stringBuiltin(e, v)
	}
	s, ok := concatString(v)
	if !ok {
		return nil, failf(e, "?%s needs a string, but %s is %s", e.name, exprSrc(e.target), typeName(v))
	}
	if err := st.spend(len(s) / bytesPerStep); err != nil {
		return nil, failf(e, "%v", err)
	}
	switch e.name {
	case "upper_case":
		return upperCase(s), nil
	case "lower_case":
		return lowerCase(s), nil
	case "cap_first":
		return mapFirst(s, unicode.ToUpper), nil
	case "uncap_first":
		return mapFirst(s, unicode.ToLower), nil
	case "capitalize":
		return capitalize(s), nil
	case "trim":
		return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' }), nil
	case "length":
		return decFromInt(int64(len(utf16Units(s)))), nil
	case "html":
		return htmlEscaper.Replace(s), nil
	case "url":
		return urlEscape(s), nil
	}
	return nil, failf(e, "internal error: built-in ?%s", e.name)
}

func (st *renderState) stringBuiltin(e *builtinExpr, v any) (any, error) {
	args := make([]string, len(e.args))
	for i, a := range e.args {
		av, err := st.need(a)
		if err != nil {
			return nil, err
		}
		s, ok := av.(string)
		if !ok {
			return nil, failf(a, "the arguments of ?string must be strings, but %s is %s", exprSrc(a), typeName(av))
		}
		args[i] = s
	}
	switch t := v.(type) {
	case string:
		if len(args) > 0 {
			return nil, failf(e, "?string with arguments needs a number or a boolean, but %s is a string", exprSrc(e.target))
		}
		return t, nil
	case *decimal:
		switch len(args) {
		case 0:
			return defaultFormat.format(t), nil
		case 1:
			f, err := namedNumberFormat(args[0])
			if err != nil {
				return nil, failf(e, "%v", err)
			}
			return f.format(t), nil
		}
		return nil, failf(e, "?string(a, b) needs a boolean, but %s is a number", exprSrc(e.target))
	case bool:
		switch len(args) {
		case 0:
			if t {
				return "true", nil
			}
			return "false", nil
		case 2:
			if t {
				return args[0], nil
			}
			return args[1], nil
		}
		return nil, failf(e, "a boolean needs ?string(\"yes\", \"no\") with two arguments")
	}
	return nil, failf(e, "?string needs a string, number or boolean, but %s is %s", exprSrc(e.target), typeName(v))
}

// utf16Units is the string as Java sees it: ?length and indexes count UTF-16 code units.
func utf16Units(s string) []uint16 { return utf16.Encode([]rune(s)) }

func fromUTF16(u []uint16) string {
	var b strings.Builder
	for _, r := range utf16.Decode(u) {
		b.WriteRune(r)
	}
	return b.String()
}

// upperCase is String.toUpperCase: full case mapping, so ß becomes SS.
func upperCase(s string) string {
	return specialUpper.Replace(strings.ToUpper(s))
}

var specialUpper = strings.NewReplacer("ß", "SS", "ﬀ", "FF", "ﬁ", "FI", "ﬂ", "FL", "ﬃ", "FFI", "ﬄ", "FFL", "ﬅ", "ST", "ﬆ", "ST", "ŉ", "ʼN")

// lowerCase is String.toLowerCase outside Turkish locales: İ becomes i̇ and a final Σ becomes ς.
func lowerCase(s string) string {
	if !strings.ContainsAny(s, "İΣ") {
		return strings.ToLower(s)
	}
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		switch r {
		case 'İ':
			b.WriteString("i\u0307")
		case 'Σ':
			before := i > 0 && unicode.IsLetter(rs[i-1])
			after := i+1 < len(rs) && unicode.IsLetter(rs[i+1])
			if before && !after {
				b.WriteRune('ς')
			} else {
				b.WriteRune('σ')
			}
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// javaWhitespace is Character.isWhitespace.
func javaWhitespace(r rune) bool {
	switch r {
	case '\u00A0', '\u2007', '\u202F':
		return false
	case '\t', '\n', '\v', '\f', '\r', 0x1C, 0x1D, 0x1E, 0x1F:
		return true
	}
	return unicode.In(r, unicode.Zs, unicode.Zl, unicode.Zp)
}

// mapFirst maps the first non-white-space character, as ?cap_first and ?uncap_first do.
func mapFirst(s string, f func(rune) rune) string {
	for i, r := range s {
		if javaWhitespace(r) {
			continue
		}
		return s[:i] + string(f(r)) + s[i+utf8.RuneLen(r):]
	}
	return s
}

// capitalize is ?capitalize: each word (split at space, tab, CR, LF) gets its first character
// upper-cased and the rest lower-cased.
func capitalize(s string) string {
	var b strings.Builder
	word := true
	for _, r := range s {
		switch {
		case r == ' ' || r == '\t' || r == '\r' || r == '\n':
			b.WriteRune(r)
			word = true
		case word:
			b.WriteString(upperCase(string(r)))
			word = false
		default:
			b.WriteString(lowerCase(string(r)))
		}
	}
	return b.String()
}

var htmlEscaper = strings.NewReplacer("<", "&lt;", ">", "&gt;", "&", "&amp;", `"`, "&quot;", "'", "&#39;")

// urlEscape is ?url with url_escaping_charset UTF-8.
func urlEscape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '-' || c == '.' || c == '!' || c == '~' || c >= '\'' && c <= '*' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
