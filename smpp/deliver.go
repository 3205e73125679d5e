package smpp

import (
	"bytes"
	"encoding/binary"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/twilio-connector/twilio-connector/smpp/pdu"
)

// esm_class message type, bits 2-5 (SMPP 3.4 section 5.2.12).
const (
	esmTypeMask    = 0x3C
	esmTypeReceipt = 0x04 // SMSC delivery receipt
	esmUDHI        = 0x40 // short_message starts with a user data header
)

// message_state values (section 5.2.28) by the stat: words of receipts (Appendix B).
var messageStates = map[byte]string{1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED", 5: "UNDELIV", 6: "ACCEPTD", 7: "UNKNOWN", 8: "REJECTD"}

// receiptField matches the fields of the receipt text of Appendix B:
// id:X sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text:…
var receiptField = regexp.MustCompile(`(?i)\b(id|stat|err|done date):(\S*)`)

// parseReceipt returns the receipt a deliver_sm carries, or nil when it is not one: esm_class
// says SMSC delivery receipt, or the receipted_message_id TLV is there. The TLVs, when
// present, win over the text for the id and the state.
func parseReceipt(p *pdu.PDU, text string) *Receipt {
	tlvID, hasID := p.Get(pdu.TagReceiptedMessageID)
	if p.ESMClass&esmTypeMask != esmTypeReceipt && !hasID {
		return nil
	}
	r := &Receipt{}
	for _, m := range receiptField.FindAllStringSubmatch(text, -1) {
		switch strings.ToLower(m[1]) {
		case "id":
			r.MessageID = m[2]
		case "stat":
			r.Stat = strings.ToUpper(m[2])
		case "err":
			r.Err = m[2]
		case "done date":
			r.Done = parseReceiptTime(m[2])
		}
	}
	if hasID {
		r.MessageID = string(bytes.TrimRight(tlvID, "\x00"))
	}
	if st, ok := p.Get(pdu.TagMessageState); ok && len(st) == 1 && messageStates[st[0]] != "" {
		r.Stat = messageStates[st[0]]
	}
	return r
}

// parseReceiptTime reads YYMMDDhhmm (Appendix B), or YYMMDDhhmmss as some SMSCs send, in UTC
// (a receipt carries no time zone); zero when it is neither.
func parseReceiptTime(s string) time.Time {
	for _, layout := range []string{"0601021504", "060102150405"} {
		if len(s) == len(layout) {
			if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
				return t
			}
		}
	}
	return time.Time{}
}

// concat is where a part of a concatenated message belongs: its reference, the number of
// parts and its position (1-based).
type concat struct {
	ref          uint16
	total, index byte
}

// splitUDH separates the user data header of a short message (esm_class UDHI) from the text
// and finds the concatenation information element (8-bit 0x00 or 16-bit 0x08 reference,
// 3GPP TS 23.040 9.2.3.24.1 and .8). Without UDHI, the sar_* TLVs (section 5.3.2.22-24) may
// carry the same information.
func splitUDH(p *pdu.PDU, sm []byte) ([]byte, *concat) {
	var c *concat
	if p.ESMClass&esmUDHI != 0 && len(sm) > 0 && int(sm[0]) < len(sm) {
		ies := sm[1 : 1+int(sm[0])]
		sm = sm[1+int(sm[0]):]
		for len(ies) >= 2 && int(ies[1])+2 <= len(ies) {
			v := ies[2 : 2+int(ies[1])]
			switch {
			case ies[0] == 0x00 && len(v) == 3:
				c = &concat{ref: uint16(v[0]), total: v[1], index: v[2]}
			case ies[0] == 0x08 && len(v) == 4:
				c = &concat{ref: binary.BigEndian.Uint16(v), total: v[2], index: v[3]}
			}
			ies = ies[2+len(v):]
		}
	} else {
		ref, ok1 := p.Get(pdu.TagSarMsgRefNum)
		total, ok2 := p.Get(pdu.TagSarTotalSegments)
		seq, ok3 := p.Get(pdu.TagSarSegmentSeqnum)
		if ok1 && ok2 && ok3 && len(ref) == 2 && len(total) == 1 && len(seq) == 1 {
			c = &concat{ref: binary.BigEndian.Uint16(ref), total: total[0], index: seq[0]}
		}
	}
	if c != nil && (c.total < 2 || c.index < 1 || c.index > c.total) {
		c = nil // a single part, or nonsense: take the text as it is
	}
	return sm, c
}

// reassembler collects the parts of concatenated mobile-originated messages. It holds at most
// maxMessages incomplete messages, dropping the oldest beyond, and forgets one whose parts
// did not all arrive within timeout.
type reassembler struct {
	mu          sync.Mutex
	timeout     time.Duration
	maxMessages int
	pending     map[partsKey]*partial
	now         func() time.Time
}

type partsKey struct {
	from, to string
	ref      uint16
	total    byte
}

type partial struct {
	started time.Time
	coding  byte
	parts   map[byte][]byte
}

func newReassembler(timeout time.Duration, maxMessages int) *reassembler {
	return &reassembler{timeout: timeout, maxMessages: maxMessages, pending: map[partsKey]*partial{}, now: time.Now}
}

// add records one part; when it completes its message it returns the message's octets in
// order and true. The parts stay until remove (after the Handler took the message), so that
// a last part the SMSC delivers again after a Handler error completes the message again.
// dropped counts incomplete messages given up (timed out or pushed out).
func (r *reassembler) add(from, to string, c concat, coding byte, body []byte) (key partsKey, whole []byte, done bool, dropped int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	var oldest *partsKey
	for k, p := range r.pending {
		if now.Sub(p.started) > r.timeout {
			delete(r.pending, k)
			dropped++
		} else if oldest == nil || p.started.Before(r.pending[*oldest].started) {
			k := k
			oldest = &k
		}
	}
	k := partsKey{from, to, c.ref, c.total}
	p := r.pending[k]
	if p == nil {
		if len(r.pending) >= r.maxMessages && oldest != nil {
			delete(r.pending, *oldest)
			dropped++
		}
		p = &partial{started: now, coding: coding, parts: map[byte][]byte{}}
		r.pending[k] = p
	}
	p.parts[c.index] = body
	if len(p.parts) < int(c.total) {
		return k, nil, false, dropped
	}
	for i := byte(1); i <= c.total; i++ {
		whole = append(whole, p.parts[i]...)
	}
	return k, whole, true, dropped
}

// remove forgets a message the Handler took.
func (r *reassembler) remove(k partsKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.pending, k)
}
