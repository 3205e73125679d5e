// Package segments counts the SMS segments a message body takes, as carriers split it: GSM-7
// when every character is in the GSM 03.38 alphabet (160 septets in one segment, 153 per
// segment of a longer message; the extension characters ^ { } \ [ ] ~ | € and form feed take
// two), UCS-2 otherwise (70 UTF-16 code units in one segment, 67 per segment of a longer
// message; a character outside the Basic Multilingual Plane, such as an emoji, takes two). A
// two-unit character is never split between segments.
package segments

import "strings"

// Encoding is how a body is encoded on the air.
type Encoding string

// The encodings.
const (
	GSM7 Encoding = "GSM-7"
	UCS2 Encoding = "UCS-2"
)

// Segment sizes, in septets (GSM-7) or UTF-16 code units (UCS-2): one segment alone, and each
// segment of a multipart message (the rest of its bytes carry the concatenation header).
const (
	GSM7Single = 160
	GSM7Part   = 153
	UCS2Single = 70
	UCS2Part   = 67
)

// gsmBasic is the GSM 03.38 default alphabet (without the escape to the extension table).
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmExtension are the characters of the extension table: an escape and the character.
const gsmExtension = "\f^{}\\[~]|€"

// Count returns how many segments body takes and its encoding; an empty body takes 0.
func Count(body string) (int, Encoding) {
	enc, single, part := GSM7, GSM7Single, GSM7Part
	for _, r := range body {
		if !strings.ContainsRune(gsmBasic, r) && !strings.ContainsRune(gsmExtension, r) {
			enc, single, part = UCS2, UCS2Single, UCS2Part
			break
		}
	}
	var units []int // the size of each character
	total := 0
	for _, r := range body {
		n := 1
		switch {
		case enc == GSM7 && strings.ContainsRune(gsmExtension, r):
			n = 2
		case enc == UCS2 && r > 0xFFFF:
			n = 2
		}
		units = append(units, n)
		total += n
	}
	if total == 0 {
		return 0, enc
	}
	if total <= single {
		return 1, enc
	}
	segments, used := 1, 0
	for _, n := range units {
		if used+n > part {
			segments, used = segments+1, 0
		}
		used += n
	}
	return segments, enc
}
