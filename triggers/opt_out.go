package triggers

import "strings"

// OptOutKeywords are the messages Twilio's opt-out handling acts on (STOP and its synonyms,
// START and its synonyms, HELP and INFO). Twilio answers them itself; by default they never
// start a process (they do reach intermediate catch events: see SMSReceived). Compared case-insensitively against the whole trimmed message.
var OptOutKeywords = []string{"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "START", "YES", "UNSTOP", "HELP", "INFO"}

// IsOptOutKeyword reports whether body is one of OptOutKeywords.
func IsOptOutKeyword(body string) bool {
	b := JavaTrim(body)
	for _, k := range OptOutKeywords {
		if strings.EqualFold(b, k) {
			return true
		}
	}
	return false
}
