package smpp

import (
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/smpp/pdu"
)

func TestParseReceipt(t *testing.T) {
	text := "id:0123abc sub:001 dlvrd:001 submit date:2611292210 done date:2611292211 stat:DELIVRD err:000 text:Hello"
	r := parseReceipt(&pdu.PDU{ESMClass: 0x04}, text)
	want := Receipt{MessageID: "0123abc", Stat: "DELIVRD", Err: "000", Done: time.Date(2026, 11, 29, 22, 11, 0, 0, time.UTC)}
	if r == nil || *r != want {
		t.Fatalf("receipt %+v, want %+v", r, want)
	}
	// The TLVs win over the text (some SMSCs write the id in decimal there).
	p := &pdu.PDU{ESMClass: 0x04, TLVs: []pdu.TLV{{Tag: pdu.TagReceiptedMessageID, Value: []byte("7B\x00")}, {Tag: pdu.TagMessageState, Value: []byte{5}}}}
	r = parseReceipt(p, "id:123 stat:DELIVRD err:001")
	if r == nil || r.MessageID != "7B" || r.Stat != "UNDELIV" || r.Err != "001" {
		t.Fatalf("receipt with TLVs %+v", r)
	}
	// The TLV alone makes a receipt, whatever esm_class says.
	if r := parseReceipt(&pdu.PDU{TLVs: p.TLVs[:1]}, ""); r == nil || r.MessageID != "7B" {
		t.Fatalf("receipted_message_id alone: %+v", r)
	}
	if r := parseReceipt(&pdu.PDU{}, "id:1 stat:DELIVRD"); r != nil {
		t.Fatalf("an MO that reads like a receipt became one: %+v", r)
	}
}

func TestSplitUDH(t *testing.T) {
	cases := []struct {
		name string
		p    pdu.PDU
		sm   []byte
		want *concat
		body string
	}{
		{"8-bit reference", pdu.PDU{ESMClass: 0x40}, []byte{5, 0, 3, 0x2A, 3, 2, 'h', 'i'}, &concat{0x2A, 3, 2}, "hi"},
		{"16-bit reference after another IE", pdu.PDU{ESMClass: 0x40}, []byte{9, 0x0A, 1, 0, 8, 4, 0x12, 0x34, 2, 1, 'h'}, &concat{0x1234, 2, 1}, "h"},
		{"no UDHI", pdu.PDU{}, []byte{5, 0, 3, 1, 2, 1}, nil, "\x05\x00\x03\x01\x02\x01"},
		{"sar TLVs", pdu.PDU{TLVs: []pdu.TLV{{Tag: pdu.TagSarMsgRefNum, Value: []byte{0, 9}}, {Tag: pdu.TagSarTotalSegments, Value: []byte{2}}, {Tag: pdu.TagSarSegmentSeqnum, Value: []byte{2}}}}, []byte("x"), &concat{9, 2, 2}, "x"},
		{"index out of range", pdu.PDU{ESMClass: 0x40}, []byte{5, 0, 3, 1, 2, 3, 'x'}, nil, "x"},
		{"UDH length past the end", pdu.PDU{ESMClass: 0x40}, []byte{9, 0, 3}, nil, "\x09\x00\x03"},
	}
	for _, c := range cases {
		body, got := splitUDH(&c.p, c.sm)
		if string(body) != c.body || (got == nil) != (c.want == nil) || (got != nil && *got != *c.want) {
			t.Errorf("%s: body %q concat %+v, want %q %+v", c.name, body, got, c.body, c.want)
		}
	}
}

func TestReassembler(t *testing.T) {
	now := time.Unix(0, 0)
	r := newReassembler(time.Minute, 2)
	r.now = func() time.Time { return now }
	if _, _, done, _ := r.add("a", "b", concat{1, 2, 2}, 0, []byte("lo")); done {
		t.Fatal("done after one part of two")
	}
	_, whole, done, _ := r.add("a", "b", concat{1, 2, 1}, 0, []byte("hel"))
	if !done || string(whole) != "hello" {
		t.Fatalf("%q %v", whole, done)
	}
	// Until remove, the last part delivered again (after a Handler error) completes it again.
	key, whole, done, _ := r.add("a", "b", concat{1, 2, 1}, 0, []byte("hel"))
	if !done || string(whole) != "hello" {
		t.Fatalf("again: %q %v", whole, done)
	}
	r.remove(key)
	// Bounded: a third incomplete message pushes the oldest out.
	r.add("a", "b", concat{2, 2, 1}, 0, []byte("x"))
	now = now.Add(time.Second)
	r.add("a", "b", concat{3, 2, 1}, 0, []byte("y"))
	now = now.Add(time.Second)
	if _, _, _, dropped := r.add("a", "b", concat{4, 2, 1}, 0, []byte("z")); dropped != 1 {
		t.Fatalf("dropped %d, want 1", dropped)
	}
	if _, _, done, _ := r.add("a", "b", concat{2, 2, 2}, 0, []byte("x")); done {
		t.Fatal("the pushed-out message completed")
	}
	// Timeout: parts older than a minute are forgotten.
	now = now.Add(2 * time.Minute)
	if _, _, _, dropped := r.add("c", "d", concat{5, 2, 1}, 0, nil); dropped != 2 {
		t.Fatalf("dropped %d, want 2 timed out (the re-added ref 2 pushed ref 3 out)", dropped)
	}
	if len(r.pending) != 1 {
		t.Fatalf("%d pending", len(r.pending))
	}
}

// FuzzDeliver: whatever a deliver_sm's short message and TLVs hold, decoding it never panics.
func FuzzDeliver(f *testing.F) {
	f.Add(byte(0x40), byte(0), []byte{5, 0, 3, 1, 2, 1, 'h', 'i'}, []byte{})
	f.Add(byte(0x04), byte(8), []byte("id:1 stat:DELIVRD done date:2611292211"), []byte{0x00, 0x1e, 0x00, 0x02, '1', 0})
	f.Fuzz(func(t *testing.T, esm, coding byte, sm, tlvs []byte) {
		p := &pdu.PDU{ESMClass: esm, DataCoding: coding}
		for len(tlvs) >= 3 {
			n := min(int(tlvs[2]), len(tlvs)-3)
			p.TLVs = append(p.TLVs, pdu.TLV{Tag: uint16(tlvs[0])<<8 | uint16(tlvs[1]), Value: tlvs[3 : 3+n]})
			tlvs = tlvs[3+n:]
		}
		body, c := splitUDH(p, sm)
		if c != nil && (c.index < 1 || c.index > c.total) {
			t.Fatalf("part %+v out of range", c)
		}
		parseReceipt(p, decodeText(body, coding))
	})
}
