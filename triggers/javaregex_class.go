package triggers

// class parses a character class after its '[' up to and including its ']' and returns its
// set: union of items and nested classes, && intersection, ^ complement of the whole (Java 9+).
// native is regexp2's own class when the set is exactly one of its categories.
func (t *translator) class() (runeSet, string, error) {
	neg := false
	if t.more() && t.rs[t.pos] == '^' {
		neg = true
		t.pos++
	}
	acc, native, have, err := t.classUnion(true)
	if err != nil {
		return nil, "", err
	}
	for t.peek() == '&' {
		t.pos += 2 // classUnion stops at && only
		if t.more() && t.rs[t.pos] == '&' {
			return nil, "", t.errorf("&&& in a class is ambiguous: write [a&&[&b]] or [a&&b&] to say which characters you mean")
		}
		right, rnative, rhave, err := t.classUnion(false)
		if err != nil {
			return nil, "", err
		}
		switch {
		case !have && !rhave:
			return nil, "", t.errorf("bad class syntax: && needs a class on at least one side")
		case !have:
			acc, native, have = right, rnative, true
		case rhave:
			acc, native = acc.intersect(right), ""
		}
	}
	if t.peek() != ']' {
		return nil, "", t.errorf("unclosed character class: add the ]")
	}
	t.pos++
	if !have {
		return nil, "", t.errorf("unclosed character class: add the ]")
	}
	if neg {
		acc = acc.complement()
		switch {
		case len(native) > 2 && native[1] == 'p':
			native = `\P` + native[2:]
		case len(native) > 2:
			native = `\p` + native[2:]
		}
	}
	return acc, native, nil
}

// classUnion parses class items up to ']' or '&&' (not consumed). A ']' right at the start
// of a class is a literal (first).
func (t *translator) classUnion(first bool) (runeSet, string, bool, error) {
	var acc runeSet
	native := ""
	items := 0
	add := func(s runeSet, n string) {
		acc = acc.union(s)
		items++
		if items == 1 {
			native = n
		} else {
			native = ""
		}
	}
	for {
		c := t.peek()
		switch {
		case c == -1:
			return nil, "", false, t.errorf("unclosed character class: add the ]")
		case c == ']' && !(first && items == 0):
			return acc, native, items > 0, nil
		case c == '&' && t.pos+1 < len(t.rs) && t.rs[t.pos+1] == '&':
			return acc, native, items > 0, nil
		case c == '[':
			t.pos++
			s, n, err := t.class()
			if err != nil {
				return nil, "", false, err
			}
			add(s, n)
			continue
		}
		s, n, err := t.classItem()
		if err != nil {
			return nil, "", false, err
		}
		add(s, n)
	}
}

// classItem parses one character, range or escaped class inside a class.
func (t *translator) classItem() (runeSet, string, error) {
	lo, e, err := t.classChar()
	if err != nil {
		return nil, "", err
	}
	if !e.isChar {
		return e.set, e.native, nil
	}
	if t.peek() == '-' && t.pos+1 < len(t.rs) && t.rs[t.pos+1] != ']' && t.rs[t.pos+1] != '[' {
		t.pos++
		hi, e, err := t.classChar()
		if err != nil {
			return nil, "", err
		}
		if !e.isChar || hi < lo {
			return nil, "", t.errorf("illegal character range: write the smaller character first, e.g. [a-z]")
		}
		return foldRange(lo, hi, t.f), "", nil
	}
	return foldClassSingle(lo, t.f), "", nil
}

func (t *translator) classChar() (rune, escaped, error) {
	if t.peek() == -1 {
		return 0, escaped{}, t.errorf("unclosed character class: add the ]")
	}
	c := t.rs[t.pos]
	t.pos++
	if c != '\\' {
		return c, escaped{char: c, isChar: true}, nil
	}
	e, err := t.escapeSequence(true)
	return e.char, e, err
}
