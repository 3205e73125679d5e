package triggers

import (
	"fmt"
	"strings"
	"unicode"
)

// Java's character properties (\p{…}) as code-point sets from Go's Unicode tables.

var (
	asciiDigit = setOf(runeRange{'0', '9'})
	asciiWord  = setOf(runeRange{'a', 'z'}, runeRange{'A', 'Z'}, runeRange{'0', '9'}, runeRange{'_', '_'})
	asciiSpace = setOfRunes(' ', '\t', '\n', '\x0B', '\f', '\r')
	horizontal = setOf(runeRange{' ', ' '}, runeRange{'\t', '\t'}, runeRange{0xA0, 0xA0}, runeRange{0x1680, 0x1680},
		runeRange{0x180E, 0x180E}, runeRange{0x2000, 0x200A}, runeRange{0x202F, 0x202F}, runeRange{0x205F, 0x205F}, runeRange{0x3000, 0x3000})
	vertical        = setOfRunes('\n', '\x0B', '\f', '\r', 0x85, 0x2028, 0x2029)
	lineTerminators = setOfRunes('\n', '\r', 0x85, 0x2028, 0x2029)
	asciiPunct      = setOf(runeRange{0x21, 0x2F}, runeRange{0x3A, 0x40}, runeRange{0x5B, 0x60}, runeRange{0x7B, 0x7E})
	asciiAlpha      = setOf(runeRange{'a', 'z'}, runeRange{'A', 'Z'})
)

func cat(names ...string) runeSet {
	var s runeSet
	for _, n := range names {
		s = s.union(setOfTables(unicode.Categories[n]))
	}
	return s
}

func assigned() runeSet { return cat("L", "M", "N", "P", "S", "Z", "Cc", "Cf", "Co", "Cs") }

// The predicates of java.lang.Character and CharPredicates.
func alphabetic() runeSet { return cat("L", "Nl").union(setOfTables(unicode.Other_Alphabetic)) }
func lowercase() runeSet  { return cat("Ll").union(setOfTables(unicode.Other_Lowercase)) }
func uppercase() runeSet  { return cat("Lu").union(setOfTables(unicode.Other_Uppercase)) }
func whiteSpace() runeSet {
	return cat("Zs", "Zl", "Zp").union(setOf(runeRange{0x9, 0xD}, runeRange{0x85, 0x85}))
}
func unicodeWord() runeSet {
	return alphabetic().union(cat("Mn", "Me", "Mc", "Nd", "Pc")).union(setOfRunes(0x200C, 0x200D))
}
func hexDigit() runeSet {
	return cat("Nd").union(setOf(runeRange{'0', '9'}, runeRange{'A', 'F'}, runeRange{'a', 'f'},
		runeRange{0xFF10, 0xFF19}, runeRange{0xFF21, 0xFF26}, runeRange{0xFF41, 0xFF46}))
}
func blank() runeSet { return cat("Zs").union(setOfRunes('\t')) }
func graph() runeSet {
	return cat("Zs", "Zl", "Zp", "Cc", "Cs").union(assigned().complement()).complement()
}
func identifierIgnorable() runeSet {
	return setOf(runeRange{0, 8}, runeRange{0xE, 0x1B}, runeRange{0x7F, 0x9F}).union(cat("Cf"))
}

// posixUnicode are the POSIX classes under (?U) (CharPredicates.forPOSIXName).
var posixUnicode = map[string]func() runeSet{
	"ALPHA": alphabetic, "LOWER": lowercase, "UPPER": uppercase, "SPACE": whiteSpace,
	"PUNCT": func() runeSet { return cat("P") }, "XDIGIT": hexDigit,
	"ALNUM": func() runeSet { return alphabetic().union(cat("Nd")) },
	"CNTRL": func() runeSet { return cat("Cc") }, "DIGIT": func() runeSet { return cat("Nd") },
	"BLANK": blank, "GRAPH": graph,
	"PRINT": func() runeSet { return graph().union(blank()).intersect(cat("Cc").complement()) },
}

// unicodeProperties are the binary properties of \p{IsAlphabetic} (upper-cased names).
var unicodeProperties = map[string]func() runeSet{
	"ALPHABETIC": alphabetic, "ASSIGNED": assigned, "CONTROL": func() runeSet { return cat("Cc") },
	"HEXDIGIT": hexDigit, "HEX_DIGIT": hexDigit, "IDEOGRAPHIC": func() runeSet { return setOfTables(unicode.Ideographic) },
	"JOINCONTROL": func() runeSet { return setOfRunes(0x200C, 0x200D) }, "JOIN_CONTROL": func() runeSet { return setOfRunes(0x200C, 0x200D) },
	"LETTER": func() runeSet { return cat("L") }, "LOWERCASE": lowercase, "UPPERCASE": uppercase,
	"TITLECASE": func() runeSet { return cat("Lt") }, "PUNCTUATION": func() runeSet { return cat("P") },
	"WHITESPACE": whiteSpace, "WHITE_SPACE": whiteSpace, "WORD": unicodeWord,
	"NONCHARACTERCODEPOINT": nonCharacter, "NONCHARACTER_CODE_POINT": nonCharacter,
}

func nonCharacter() runeSet {
	s := setOf(runeRange{0xFDD0, 0xFDEF})
	for p := rune(0); p <= 0x10; p++ {
		s = s.union(setOf(runeRange{p<<16 | 0xFFFE, p<<16 | 0xFFFF}))
	}
	return s
}

// generalCategories are Java's category names that are Go table names too.
var generalCategories = map[string]bool{
	"Lu": true, "Ll": true, "Lt": true, "Lm": true, "Lo": true, "Mn": true, "Me": true, "Mc": true, "Nd": true,
	"Nl": true, "No": true, "Zs": true, "Zl": true, "Zp": true, "Cc": true, "Cf": true, "Co": true, "Cs": true,
	"Pd": true, "Ps": true, "Pe": true, "Pc": true, "Po": true, "Sm": true, "Sc": true, "Sk": true, "So": true,
	"Pi": true, "Pf": true, "L": true, "M": true, "N": true, "Z": true, "P": true, "S": true,
}

// javaProperties are the other names of CharPredicates.forProperty (case-sensitive).
var javaProperties = map[string]func() runeSet{
	"Cn":  func() runeSet { return assigned().complement() },
	"C":   func() runeSet { return cat("C").union(assigned().complement()) },
	"LC":  func() runeSet { return cat("Lu", "Ll", "Lt") },
	"LD":  func() runeSet { return cat("L", "Nd") },
	"L1":  func() runeSet { return setOf(runeRange{0, 0xFF}) },
	"all": func() runeSet { return setOf(runeRange{0, unicode.MaxRune}) },
	// POSIX classes, ASCII only
	"ASCII": func() runeSet { return setOf(runeRange{0, 0x7F}) },
	"Alnum": func() runeSet { return asciiAlpha.union(asciiDigit) }, "Alpha": func() runeSet { return asciiAlpha },
	"Blank": func() runeSet { return setOfRunes(' ', '\t') }, "Cntrl": func() runeSet { return setOf(runeRange{0, 0x1F}, runeRange{0x7F, 0x7F}) },
	"Digit": func() runeSet { return asciiDigit }, "Graph": func() runeSet { return setOf(runeRange{0x21, 0x7E}) },
	"Lower": func() runeSet { return setOf(runeRange{'a', 'z'}) }, "Print": func() runeSet { return setOf(runeRange{0x20, 0x7E}) },
	"Punct": func() runeSet { return asciiPunct }, "Space": func() runeSet { return asciiSpace },
	"Upper":  func() runeSet { return setOf(runeRange{'A', 'Z'}) },
	"XDigit": func() runeSet { return setOf(runeRange{'0', '9'}, runeRange{'a', 'f'}, runeRange{'A', 'F'}) },
	// java.lang.Character methods
	"javaLowerCase": lowercase, "javaUpperCase": uppercase, "javaAlphabetic": alphabetic,
	"javaIdeographic": func() runeSet { return setOfTables(unicode.Ideographic) },
	"javaTitleCase":   func() runeSet { return cat("Lt") }, "javaDigit": func() runeSet { return cat("Nd") },
	"javaDefined": assigned, "javaLetter": func() runeSet { return cat("L") },
	"javaLetterOrDigit":       func() runeSet { return cat("L", "Nd") },
	"javaJavaIdentifierStart": func() runeSet { return cat("L", "Nl", "Sc", "Pc") },
	"javaJavaIdentifierPart": func() runeSet {
		return cat("L", "Nl", "Sc", "Pc", "Nd", "Mc", "Mn").union(identifierIgnorable())
	},
	"javaIdentifierIgnorable": identifierIgnorable,
	"javaSpaceChar":           func() runeSet { return cat("Z") },
	"javaWhitespace": func() runeSet {
		return cat("Z").intersect(setOfRunes(0xA0, 0x2007, 0x202F).complement()).union(setOf(runeRange{0x9, 0xD}, runeRange{0x1C, 0x1F}))
	},
	"javaISOControl": func() runeSet { return setOf(runeRange{0, 0x1F}, runeRange{0x7F, 0x9F}) },
}

// unsupportedProperties are valid Java names Go has no table for.
var unsupportedProperties = map[string]bool{
	"javaMirrored": true, "javaUnicodeIdentifierStart": true, "javaUnicodeIdentifierPart": true,
}

var goScripts = func() map[string]*unicode.RangeTable {
	m := map[string]*unicode.RangeTable{}
	for name, t := range unicode.Scripts {
		m[strings.ToUpper(name)] = t
	}
	return m
}()

// property is the set of \p{name} (CharPredicates as Pattern.family uses them), and the
// regexp2 class name when the set is exactly one of regexp2's own (Go's) categories.
func property(name string, f jflags) (runeSet, string, error) {
	s, native, err := caseProperty(name, f)
	if err != nil || !f.i {
		return s, native, err
	}
	// Under (?i) Java widens the case properties to all cased letters (caseIns in
	// CharPredicates): the categories Lu Ll Lt, and Lower/Upper (ASCII letters, or all cased
	// letters where the Unicode predicates apply).
	cased := lowercase().union(uppercase()).union(cat("Lt"))
	base, is := strings.CutPrefix(name, "Is")
	if k, v, ok := strings.Cut(name, "="); ok {
		if k = strings.ToLower(k); k != "gc" && k != "general_category" {
			return s, native, nil
		}
		base, is = v, false
	}
	up := strings.ToUpper(base)
	switch {
	case base == "Lu" || base == "Ll" || base == "Lt":
		return cat("Lu", "Ll", "Lt"), "", nil
	case base == "javaLowerCase" || base == "javaUpperCase" || base == "javaTitleCase":
		return cased, "", nil
	case is && (up == "LOWERCASE" || up == "UPPERCASE" || up == "TITLECASE" || up == "LOWER" || up == "UPPER"):
		return cased, "", nil
	case !is && f.U && (up == "LOWER" || up == "UPPER"):
		return cased, "", nil
	case !is && (base == "Lower" || base == "Upper"):
		return asciiAlpha, "", nil
	}
	return s, native, nil
}

func caseProperty(name string, f jflags) (runeSet, string, error) {
	if unsupportedProperties[name] || unsupportedProperties[strings.TrimPrefix(name, "Is")] {
		return nil, "", fmt.Errorf(`\p{%s} is valid Java but not supported here (no Unicode table for it): write the characters out as a class`, name)
	}
	if k, v, ok := strings.Cut(name, "="); ok {
		switch strings.ToLower(k) {
		case "sc", "script":
			return script(v)
		case "blk", "block":
			return block(v)
		case "gc", "general_category":
			if s, native := forProperty(v); s != nil {
				return s, native, nil
			}
		}
		return nil, "", fmt.Errorf(`unknown Unicode property \p{%s}: use sc=, script=, blk=, block=, gc= or general_category=`, name)
	}
	switch {
	case strings.HasPrefix(name, "In"):
		return block(name[2:])
	case strings.HasPrefix(name, "Is"):
		short := name[2:]
		up := strings.ToUpper(short)
		if p := unicodeProperties[up]; p != nil {
			return p(), "", nil
		}
		if p := posixUnicode[up]; p != nil {
			return p(), "", nil
		}
		if s, native := forProperty(short); s != nil {
			return s, native, nil
		}
		return script(short)
	}
	if f.U {
		if p := posixUnicode[strings.ToUpper(name)]; p != nil {
			return p(), "", nil
		}
	}
	if s, native := forProperty(name); s != nil {
		return s, native, nil
	}
	return nil, "", fmt.Errorf(`unknown character property \p{%s}: Java knows e.g. \p{L}, \p{Lu}, \p{Alpha}, \p{IsLatin}, \p{InCyrillic}, \p{javaLowerCase}`, name)
}

func forProperty(name string) (runeSet, string) {
	if generalCategories[name] {
		return cat(name), name
	}
	if p := javaProperties[name]; p != nil {
		return p(), ""
	}
	return nil, ""
}

func script(name string) (runeSet, string, error) {
	t := goScripts[strings.ToUpper(name)]
	if t == nil {
		return nil, "", fmt.Errorf(`unknown script %q: write its full Unicode name, e.g. \p{IsLatin}, \p{sc=Cyrillic} (the four-letter ISO 15924 codes such as Latn are not supported here)`, name)
	}
	return setOfTables(t), "", nil
}

//go:generate sh -c "java --add-opens java.base/java.lang=ALL-UNNAMED testdata/JavaBlocks.java | gofmt > javablocks.go"

// block is \p{InName}: Java 17's blocks (Go has no block tables).
func block(name string) (runeSet, string, error) {
	rs := javaBlocks[strings.ToUpper(name)]
	if rs == nil {
		return nil, "", fmt.Errorf(`unknown Unicode block %q: write a block name such as \p{InCyrillic} or \p{InBasicLatin}`, name)
	}
	return setOf(rs...), "", nil
}
