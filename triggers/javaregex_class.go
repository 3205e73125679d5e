package triggers

// Character classes follow Pattern.clazz and Pattern.range of Java 17 step by step, with its
// cursor model (cur, next, unread), because Java's union and && rules have corners ([&&a],
// [a&&], [a&&b[c]]) that a cleaner grammar would read differently. Each element is a
// runeSet; singles below U+0100 collect in bits, as in Java, which joins them at && and ].

// cur is the character at the cursor, 0 at the end (Java pads the pattern with zeros).
func (t *translator) cur() rune {
	if !t.more() {
		return 0
	}
	return t.rs[t.pos]
}

// next advances the cursor past one character and (?x) whitespace and comments.
func (t *translator) next() rune {
	t.pos++
	t.skipComments()
	return t.cur()
}

// classPeek is Java's peek(): skips (?x) whitespace and comments.
func (t *translator) classPeek() rune {
	t.skipComments()
	return t.cur()
}

// class parses a character class with the cursor on its '[' and leaves it after the ']'
// (consume) or on it. native is regexp2's own class when the class is one property.
func (t *translator) class(consume bool) (runeSet, string, error) {
	var prev, curr, bits runeSet
	havePrev, haveCurr, hasBits := false, false, false
	native, elements := "", 0
	union := func(s runeSet) {
		if havePrev {
			prev = prev.union(s)
		} else {
			prev, havePrev = s, true
		}
	}
	isNeg := false
	ch := t.next()
	if ch == '^' && t.rs[t.pos-1] == '[' {
		ch = t.next()
		isNeg = true
	}
	for {
		switch ch {
		case '[':
			s, _, err := t.class(true)
			if err != nil {
				return nil, "", err
			}
			curr, haveCurr = s, true
			union(s)
			elements += 2 // a nested class is never written as one property
			ch = t.classPeek()
			continue
		case '&':
			ch = t.next()
			if ch != '&' {
				t.pos-- // a literal &
				break
			}
			ch = t.next()
			var right runeSet
			haveRight := false
			for ch != ']' && ch != '&' {
				if ch == 0 && !t.more() {
					return nil, "", t.errorf("unclosed character class: add the ]")
				}
				var s runeSet
				var err error
				if ch == '[' {
					s, _, err = t.class(true)
				} else {
					t.pos--
					s, _, err = t.class(false)
				}
				if err != nil {
					return nil, "", err
				}
				if haveRight {
					right = right.union(s)
				} else {
					right, haveRight = s, true
				}
				ch = t.classPeek()
			}
			elements += 2
			if hasBits {
				if !havePrev {
					prev, havePrev, curr, haveCurr = bits, true, bits, true
				} else {
					prev = prev.union(bits)
				}
				hasBits = false
			}
			if haveRight {
				curr, haveCurr = right, true
			}
			switch {
			case !havePrev && !haveRight:
				return nil, "", t.errorf("bad class syntax: && needs a class on at least one side")
			case !havePrev:
				prev, havePrev = right, true
			case !haveCurr:
				return nil, "", t.errorf("bad intersection syntax")
			default:
				prev = prev.intersect(curr)
			}
			continue
		case 0:
			if !t.more() {
				return nil, "", t.errorf("unclosed character class: add the ]")
			}
		case ']':
			if havePrev || hasBits {
				if consume {
					t.next()
				}
				switch {
				case !havePrev:
					prev = bits
				case hasBits:
					prev = prev.union(bits)
				}
				if elements != 1 {
					native = ""
				}
				if isNeg {
					prev = prev.complement()
					if native != "" {
						native = negateNative(native)
					}
				}
				return prev, native, nil
			}
		}
		s, n, inBits, err := t.classRange()
		if err != nil {
			return nil, "", err
		}
		elements++
		native = n
		if inBits {
			bits = bits.union(s)
			hasBits = true
		} else {
			curr, haveCurr = s, true
			union(s)
		}
		ch = t.classPeek()
	}
}

func negateNative(native string) string {
	if native[1] == 'p' {
		return `\P` + native[2:]
	}
	return `\p` + native[2:]
}

// classRange parses one character, range or escaped class (Pattern.range); inBits reports a
// lone character that Java keeps in its BitClass (Pattern.bitsOrSingle).
func (t *translator) classRange() (s runeSet, native string, inBits bool, err error) {
	lo, e, err := t.classAtom()
	switch {
	case err != nil:
		return nil, "", false, err
	case e != nil:
		return e.set, e.native, false, nil
	}
	if t.classPeek() == '-' && t.pos+1 < len(t.rs) && t.rs[t.pos+1] != '[' && t.rs[t.pos+1] != ']' {
		t.next()
		hi, e, err := t.classAtom()
		if err != nil {
			return nil, "", false, err
		}
		if e != nil {
			return nil, "", false, t.errorf("illegal character range: a range ends with a character, not a class")
		}
		if hi < lo {
			return nil, "", false, t.errorf("illegal character range: write the smaller character first, e.g. [a-z]")
		}
		return foldRange(lo, hi, t.f), "", false, nil
	}
	return foldClassSingle(lo, t.f), "", lo < 0x100 && !(t.f.i && t.f.unicodeCase() && isFoldSpecial(lo)), nil
}

// classAtom reads one end of a class range: a character (plain or escaped), or, as class, an
// escape that stands for a class (\d, \p{L}, …).
func (t *translator) classAtom() (c rune, class *escaped, err error) {
	if t.classPeek() != '\\' {
		c = t.cur()
		t.next()
		return c, nil, nil
	}
	t.pos++
	e, err := t.escapeSequence(true)
	switch {
	case err != nil:
		return 0, nil, err
	case !e.isChar:
		return 0, &e, nil
	}
	return e.char, nil, nil
}
