package triggers

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode"
)

// runeRange is an inclusive range of code points.
type runeRange struct{ lo, hi rune }

// runeSet is a set of code points: sorted, disjoint, non-adjacent ranges. Java character
// classes are computed as sets (union, intersection, complement, case folding) and written
// out as an explicit regexp2 class, so that no .NET class semantics leak into a pattern.
type runeSet []runeRange

func setOf(rs ...runeRange) runeSet { return normalize(append(runeSet(nil), rs...)) }

func setOfRunes(rs ...rune) runeSet {
	var s runeSet
	for _, r := range rs {
		s = append(s, runeRange{r, r})
	}
	return normalize(s)
}

func setOfTables(ts ...*unicode.RangeTable) runeSet {
	var s runeSet
	for _, t := range ts {
		for _, r := range t.R16 {
			for c := rune(r.Lo); c <= rune(r.Hi); c += rune(r.Stride) {
				if r.Stride == 1 {
					s = append(s, runeRange{rune(r.Lo), rune(r.Hi)})
					break
				}
				s = append(s, runeRange{c, c})
			}
		}
		for _, r := range t.R32 {
			for c := rune(r.Lo); c <= rune(r.Hi); c += rune(r.Stride) {
				if r.Stride == 1 {
					s = append(s, runeRange{rune(r.Lo), rune(r.Hi)})
					break
				}
				s = append(s, runeRange{c, c})
			}
		}
	}
	return normalize(s)
}

func normalize(s runeSet) runeSet {
	sort.Slice(s, func(i, j int) bool { return s[i].lo < s[j].lo })
	var out runeSet
	for _, r := range s {
		if n := len(out); n > 0 && r.lo <= out[n-1].hi+1 {
			out[n-1].hi = max(out[n-1].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

func (s runeSet) union(o runeSet) runeSet {
	return normalize(append(append(runeSet(nil), s...), o...))
}

func (s runeSet) complement() runeSet {
	var out runeSet
	next := rune(0)
	for _, r := range s {
		if r.lo > next {
			out = append(out, runeRange{next, r.lo - 1})
		}
		next = r.hi + 1
	}
	if next <= unicode.MaxRune {
		out = append(out, runeRange{next, unicode.MaxRune})
	}
	return out
}

func (s runeSet) intersect(o runeSet) runeSet {
	return s.complement().union(o.complement()).complement()
}

func (s runeSet) has(c rune) bool {
	i := sort.Search(len(s), func(i int) bool { return s[i].hi >= c })
	return i < len(s) && s[i].lo <= c
}

// class writes s as a regexp2 character class.
func (s runeSet) class() string {
	if len(s) == 0 {
		return `(?!)`
	}
	if len(s) == 1 && s[0].lo == s[0].hi {
		return classRune(s[0].lo)
	}
	var b strings.Builder
	b.WriteByte('[')
	for _, r := range s {
		b.WriteString(classRune(r.lo))
		if r.hi > r.lo {
			b.WriteByte('-')
			b.WriteString(classRune(r.hi))
		}
	}
	b.WriteByte(']')
	return b.String()
}

// classRune writes one code point so that it means itself in and out of regexp2 classes.
func classRune(r rune) string {
	switch {
	case r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'):
		return string(r)
	case r <= 0xFFFF:
		return fmt.Sprintf(`\u%04X`, r)
	default:
		return string(r) // regexp2 reads runes; no astral character is special
	}
}

// Case folding as java.util.regex does it with CASE_INSENSITIVE (ASCII letters only) and
// UNICODE_CASE (Character.toLowerCase(Character.toUpperCase(c)) equal).

type caseTables struct {
	// byKey maps toLower(toUpper(c)) to every c with that key other than the key itself.
	byKey map[rune][]rune
	// cased are the code points whose upper case or whose lower case of the upper case differ.
	cased []rune
}

var unicodeCase = sync.OnceValue(func() caseTables {
	t := caseTables{byKey: map[rune][]rune{}}
	for c := rune(0); c <= unicode.MaxRune; c++ {
		up := unicode.ToUpper(c)
		key := unicode.ToLower(up)
		if up != c || key != c {
			t.cased = append(t.cased, c)
		}
		if key != c {
			t.byKey[key] = append(t.byKey[key], c)
		}
	}
	return t
})

func asciiOtherCase(c rune) rune {
	switch {
	case c >= 'a' && c <= 'z':
		return c - 32
	case c >= 'A' && c <= 'Z':
		return c + 32
	}
	return c
}

// foldSingle is the set a literal c matches outside a class (Pattern.single).
func foldSingle(c rune, f jflags) runeSet {
	switch {
	case !f.i:
		return setOfRunes(c)
	case f.unicodeCase():
		up := unicode.ToUpper(c)
		key := unicode.ToLower(up)
		if up == key {
			return setOfRunes(c)
		}
		return setOfRunes(append([]rune{key}, unicodeCase().byKey[key]...)...)
	default:
		return setOfRunes(c, asciiOtherCase(c))
	}
}

// foldClassSingle is the set c matches inside a class (Pattern.bitsOrSingle).
func foldClassSingle(c rune, f jflags) runeSet {
	if !f.i {
		return setOfRunes(c)
	}
	if c < 256 && !(f.unicodeCase() && isFoldSpecial(c)) {
		if c < 128 {
			return setOfRunes(c, asciiOtherCase(c))
		}
		if f.unicodeCase() {
			return setOfRunes(c, unicode.ToLower(c), unicode.ToUpper(c))
		}
		return setOfRunes(c)
	}
	return foldSingle(c, f)
}

// isFoldSpecial are the Latin-1 characters whose Unicode case partners lie outside Latin-1.
func isFoldSpecial(c rune) bool { return strings.ContainsRune("\u00ff\u00b5IiSsKk\u00c5\u00e5", c) }

// foldRange is the set a class range lo-hi matches (Pattern.CIRange, CIRangeU).
func foldRange(lo, hi rune, f jflags) runeSet {
	s := setOf(runeRange{lo, hi})
	if !f.i {
		return s
	}
	in := func(c rune) bool { return c >= lo && c <= hi }
	var extra []rune
	if f.unicodeCase() {
		for _, c := range unicodeCase().cased {
			up := unicode.ToUpper(c)
			if in(up) || in(unicode.ToLower(up)) {
				extra = append(extra, c)
			}
		}
	} else {
		for c := rune(0); c < 128; c++ {
			if in(asciiOtherCase(c)) {
				extra = append(extra, c)
			}
		}
	}
	return s.union(setOfRunes(extra...))
}

// foldSlice is the set a literal matches inside a run of literals (Pattern.SliceI, SliceU):
// with UNICODE_CASE any character whose lower case of its upper case is the literal's, even
// for a literal without case mappings of its own (ß matches ẞ there, not alone).
func foldSlice(c rune, f jflags) runeSet {
	if !f.i || !f.unicodeCase() {
		return foldSingle(c, f)
	}
	key := unicode.ToLower(unicode.ToUpper(c))
	return setOfRunes(append([]rune{key}, unicodeCase().byKey[key]...)...)
}
