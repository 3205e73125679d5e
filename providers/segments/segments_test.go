package segments

import (
	"strings"
	"testing"
)

func TestCount(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		n    int
		enc  Encoding
	}{
		{"empty", "", 0, GSM7},
		{"short GSM-7", "Order A-7 is ready", 1, GSM7},
		{"160 GSM-7 characters fit one segment", strings.Repeat("a", 160), 1, GSM7},
		{"161 GSM-7 characters take two of 153", strings.Repeat("a", 161), 2, GSM7},
		{"306 GSM-7 characters take two", strings.Repeat("a", 306), 2, GSM7},
		{"307 GSM-7 characters take three", strings.Repeat("a", 307), 3, GSM7},
		{"a letter outside GSM 03.38 makes the whole body UCS-2", "Ça coûte 5€", 1, UCS2},
		{"GSM-7 letters of the basic table", "Ça va? Ñ ÄÖÜ ß è é ù ì ò à 5€", 1, GSM7},
		{"extension characters count two", strings.Repeat("€", 80), 1, GSM7},
		{"81 euro signs are 162 septets", strings.Repeat("€", 81), 2, GSM7},
		{"an escape pair is not split", strings.Repeat("a", 152) + "€" + strings.Repeat("a", 10), 2, GSM7},
		{"an escape pair at a boundary moves to the next segment", strings.Repeat("a", 152) + "€" + strings.Repeat("a", 153), 3, GSM7},
		{"one non-GSM character makes UCS-2", "Hello 👍", 1, UCS2},
		{"70 UCS-2 units fit one segment", strings.Repeat("ж", 70), 1, UCS2},
		{"71 UCS-2 units take two of 67", strings.Repeat("ж", 71), 2, UCS2},
		{"134 UCS-2 units take two", strings.Repeat("ж", 134), 2, UCS2},
		{"135 UCS-2 units take three", strings.Repeat("ж", 135), 3, UCS2},
		{"emoji count two units", strings.Repeat("👍", 35), 1, UCS2},
		{"36 emoji take two segments", strings.Repeat("👍", 36), 2, UCS2},
		{"a surrogate pair is not split", strings.Repeat("ж", 66) + "👍" + strings.Repeat("ж", 10), 2, UCS2},
		{"a surrogate pair at a boundary moves on", strings.Repeat("ж", 66) + "👍" + strings.Repeat("ж", 66), 3, UCS2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, enc := Count(tc.body)
			if n != tc.n || enc != tc.enc {
				t.Errorf("Count = %d %s, want %d %s", n, enc, tc.n, tc.enc)
			}
		})
	}
}
