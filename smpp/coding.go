package smpp

import (
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Text encoding of submit_sm and deliver_sm.
//
// GSM 03.38 (data_coding 0) is sent unpacked: one septet per octet, escape 0x1B followed by
// the extension table's code for { } [ ] ~ \ ^ | € and form feed. SMPP carries the default
// alphabet this way (the SMSC packs septets for the air interface); packed septets are what
// SMSCs and the npm smpp server do not expect. A text with any character outside the default
// alphabet and its extension table goes as UCS-2 big-endian (data_coding 8), characters
// outside the BMP as surrogate pairs.

const (
	codingGSM   byte = 0x00 // SMSC default alphabet, GSM 03.38 here
	codingASCII byte = 0x01 // IA5 (CCITT T.50) / ASCII
	codingUCS2  byte = 0x08 // UCS-2 (UTF-16BE)

	gsmEscape = 0x1B
)

// gsmBasic is the GSM 03.38 default alphabet, indexed by septet; 0x1B is the escape.
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmExtension maps the extension table's characters to the septet after the escape.
var gsmExtension = map[rune]byte{'\f': 0x0A, '^': 0x14, '{': 0x28, '}': 0x29, '\\': 0x2F, '[': 0x3C, '~': 0x3D, ']': 0x3E, '|': 0x40, '€': 0x65}

var (
	gsmEncode = map[rune]byte{}
	gsmDecode [128]rune
	gsmExtDec = map[byte]rune{}
)

func init() {
	i := 0
	for _, r := range gsmBasic {
		gsmDecode[i] = r
		if i != gsmEscape {
			gsmEncode[r] = byte(i)
		}
		i++
	}
	if i != 128 {
		panic(fmt.Sprintf("smpp: the GSM 03.38 table has %d entries, not 128", i))
	}
	for r, c := range gsmExtension {
		gsmExtDec[c] = r
	}
}

// encodeGSM returns text as unpacked septets, or false when a character is outside the
// default alphabet and its extension table.
func encodeGSM(text string) ([]byte, bool) {
	out := make([]byte, 0, len(text))
	for _, r := range text {
		if c, ok := gsmEncode[r]; ok {
			out = append(out, c)
		} else if c, ok := gsmExtension[r]; ok {
			out = append(out, gsmEscape, c)
		} else {
			return nil, false
		}
	}
	return out, true
}

// decodeGSM decodes unpacked septets; an unknown escape gives the basic character (as 03.38
// says a receiver should), a septet above 0x7F the replacement character.
func decodeGSM(b []byte) string {
	var sb strings.Builder
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c > 0x7F:
			sb.WriteRune(utf8.RuneError)
		case c == gsmEscape && i+1 < len(b):
			i++
			if r, ok := gsmExtDec[b[i]]; ok {
				sb.WriteRune(r)
			} else if b[i] <= 0x7F {
				sb.WriteRune(gsmDecode[b[i]])
			} else {
				sb.WriteRune(utf8.RuneError)
			}
		case c == gsmEscape:
			sb.WriteByte(' ')
		default:
			sb.WriteRune(gsmDecode[c])
		}
	}
	return sb.String()
}

func encodeUCS2(text string) []byte {
	units := utf16.Encode([]rune(text))
	out := make([]byte, 0, 2*len(units))
	for _, u := range units {
		out = append(out, byte(u>>8), byte(u))
	}
	return out
}

func decodeUCS2(b []byte) string {
	units := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		units = append(units, uint16(b[i])<<8|uint16(b[i+1]))
	}
	s := string(utf16.Decode(units))
	if len(b)%2 == 1 {
		s += string(utf8.RuneError)
	}
	return s
}

// decodeText decodes a short message by its data_coding: 0 GSM 03.38 (unpacked), 1 ASCII,
// 3 Latin-1, 8 UCS-2; any other coding is read as Latin-1.
func decodeText(b []byte, dataCoding byte) string {
	switch dataCoding {
	case codingGSM:
		return decodeGSM(b)
	case codingUCS2:
		return decodeUCS2(b)
	case codingASCII:
		var sb strings.Builder
		for _, c := range b {
			if c > 0x7F {
				sb.WriteRune(utf8.RuneError)
			} else {
				sb.WriteByte(c)
			}
		}
		return sb.String()
	default:
		rs := make([]rune, len(b))
		for i, c := range b {
			rs[i] = rune(c)
		}
		return string(rs)
	}
}

// Message sizes (3GPP TS 23.040): 140 octets of user data; a concatenation UDH
// (05 00 03 ref count seq) takes 6 of them.
const (
	maxGSMSingle  = 160 // septets
	maxGSMPart    = 153
	maxUCS2Single = 70 // UTF-16 units
	maxUCS2Part   = 67
)

// split encodes text and cuts it into the bodies of the parts (without UDH): one part when it
// fits a single message, else parts of at most 153 septets / 67 UTF-16 units, never cutting
// an escape sequence or a surrogate pair.
func split(text string) (parts [][]byte, dataCoding byte) {
	if b, ok := encodeGSM(text); ok {
		if len(b) <= maxGSMSingle {
			return [][]byte{b}, codingGSM
		}
		for len(b) > 0 {
			n := min(maxGSMPart, len(b))
			if n < len(b) && b[n-1] == gsmEscape {
				n-- // keep the escape with its character
			}
			parts, b = append(parts, b[:n]), b[n:]
		}
		return parts, codingGSM
	}
	b := encodeUCS2(text)
	if len(b) <= 2*maxUCS2Single {
		return [][]byte{b}, codingUCS2
	}
	for len(b) > 0 {
		n := min(2*maxUCS2Part, len(b))
		if n < len(b) && b[n-2] >= 0xD8 && b[n-2] <= 0xDB {
			n -= 2 // a high surrogate stays with its low one
		}
		parts, b = append(parts, b[:n]), b[n:]
	}
	return parts, codingUCS2
}
