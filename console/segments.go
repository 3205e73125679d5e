package console

import (
	"strings"
	"unicode/utf16"
)

// gsm7 is the GSM 03.38 default alphabet; gsm7Ext its extension table (two septets each).
const (
	gsm7    = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsm7Ext = "^{}\\[~]|€\f"
)

// Segments counts the SMS parts a text is sent in: GSM-7 when every character is in the GSM
// alphabet (160 septets alone, 153 per part when split), else UCS-2 (70 UTF-16 units alone,
// 67 per part). Carriers may differ in detail (Twilio's smart encoding replaces some
// characters); it is the count a modeler needs to see a message grow past one part.
func Segments(text string) (parts int, encoding string) {
	if text == "" {
		return 0, ""
	}
	septets, isGSM := 0, true
	for _, r := range text {
		switch {
		case strings.ContainsRune(gsm7, r):
			septets++
		case strings.ContainsRune(gsm7Ext, r):
			septets += 2
		default:
			isGSM = false
		}
	}
	if isGSM {
		return split(septets, 160, 153), "GSM-7"
	}
	return split(len(utf16.Encode([]rune(text))), 70, 67), "UCS-2"
}

func split(n, single, multi int) int {
	if n <= single {
		return 1
	}
	return (n + multi - 1) / multi
}
