package triggers

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"strings"
)

// twiml renders a messaging TwiML response with one <Message> per non-blank text; none gives
// an empty <Response/>, which tells Twilio to send nothing.
func twiml(messages []string) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	var kept []string
	for _, m := range messages {
		if strings.TrimSpace(m) != "" {
			kept = append(kept, m)
		}
	}
	if len(kept) == 0 {
		b.WriteString("<Response/>")
		return b.Bytes()
	}
	b.WriteString("<Response>")
	for _, m := range kept {
		b.WriteString("<Message>")
		_ = xml.EscapeText(&b, []byte(m))
		b.WriteString("</Message>")
	}
	b.WriteString("</Response>")
	return b.Bytes()
}

func writeTwiML(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
