package smpp

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
)

func TestGSMEncoding(t *testing.T) {
	// 3GPP TS 23.038 6.2.1: '@' 0x00, '£' 0x01, 'Δ' 0x10, 'A' 0x41, 'ü' 0x7E, 'à' 0x7F; '€' is
	// 0x1B 0x65 and '{' 0x1B 0x28 in the extension table.
	b, ok := encodeGSM("@£ΔAüà€{")
	want := []byte{0x00, 0x01, 0x10, 0x41, 0x7E, 0x7F, 0x1B, 0x65, 0x1B, 0x28}
	if !ok || !bytes.Equal(b, want) {
		t.Fatalf("encodeGSM = % x, %v; want % x", b, ok, want)
	}
	if got := decodeGSM(want); got != "@£ΔAüà€{" {
		t.Fatalf("decodeGSM = %q", got)
	}
	for _, s := range []string{"ж", "😀", "ç", "`"} { // ç: only Ç is in the alphabet
		if _, ok := encodeGSM(s); ok {
			t.Errorf("encodeGSM(%q) accepted a character outside GSM 03.38", s)
		}
	}
}

func TestDecodeText(t *testing.T) {
	cases := []struct {
		b      []byte
		coding byte
		want   string
	}{
		{[]byte{0x48, 0x1B, 0x3C, 0x1B, 0x3E}, 0, "H[]"},
		{[]byte("Hi!"), 1, "Hi!"},
		{[]byte{0x47, 0xFC}, 3, "Gü"},
		{[]byte{0x04, 0x36, 0xD8, 0x3D, 0xDE, 0x00}, 8, "ж😀"},
		{[]byte{0x00, 0x41, 0x00}, 8, "A\uFFFD"},
	}
	for _, c := range cases {
		if got := decodeText(c.b, c.coding); got != c.want {
			t.Errorf("decodeText(% x, %d) = %q, want %q", c.b, c.coding, got, c.want)
		}
	}
}

func TestSplit(t *testing.T) {
	cases := []struct {
		name   string
		text   string
		coding byte
		sizes  []int // octets per part
	}{
		{"160 GSM septets in one", strings.Repeat("a", 160), 0, []int{160}},
		{"161 in two", strings.Repeat("a", 161), 0, []int{153, 8}},
		{"€ counts two", strings.Repeat("a", 159) + "€", 0, []int{153, 8}},
		{"escape pair not cut", strings.Repeat("a", 152) + "€" + strings.Repeat("b", 10), 0, []int{152, 12}},
		{"70 UCS-2 units in one", strings.Repeat("ж", 70), 8, []int{140}},
		{"71 in two", strings.Repeat("ж", 71), 8, []int{134, 8}},
		{"surrogate pair not cut", strings.Repeat("ж", 66) + "😀" + strings.Repeat("ж", 5), 8, []int{132, 14}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parts, coding := split(c.text)
			var sizes []int
			var all []byte
			for _, p := range parts {
				sizes = append(sizes, len(p))
				all = append(all, p...)
			}
			if coding != c.coding || !slices.Equal(sizes, c.sizes) {
				t.Fatalf("coding %d sizes %v, want %d %v", coding, sizes, c.coding, c.sizes)
			}
			if got := decodeText(all, coding); got != c.text {
				t.Fatalf("parts rejoin to %q", got)
			}
			for _, p := range parts {
				if coding == 8 && utf16.IsSurrogate(rune(p[len(p)-2])<<8|rune(p[len(p)-1])) && p[len(p)-2] < 0xDC {
					t.Fatalf("a part ends with a high surrogate")
				}
				if coding == 0 && p[len(p)-1] == gsmEscape {
					t.Fatalf("a part ends with the escape")
				}
			}
		})
	}
}
