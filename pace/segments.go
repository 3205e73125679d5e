package pace

import (
	"strings"
	"unicode/utf16"
)

// gsm7 is the GSM 03.38 basic character set; gsm7Extended are the characters that take an
// escape and count twice.
const (
	gsm7 = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsm7Extended = "\f^{}\\[~]|€"
)

// Segments is the number of SMS segments body takes: GSM-7 when every character is in the
// GSM 03.38 set (160 characters in one segment, 153 per segment beyond), else UCS-2 (70
// UTF-16 units, 67 per segment beyond). An empty body (media only) is one.
func Segments(body string) int {
	septets, gsm := 0, true
	for _, r := range body {
		switch {
		case strings.ContainsRune(gsm7, r):
			septets++
		case strings.ContainsRune(gsm7Extended, r):
			septets += 2
		default:
			gsm = false
		}
	}
	if gsm {
		return split(septets, 160, 153)
	}
	return split(len(utf16.Encode([]rune(body))), 70, 67)
}

func split(units, single, multi int) int {
	if units <= single {
		return 1
	}
	return (units + multi - 1) / multi
}
