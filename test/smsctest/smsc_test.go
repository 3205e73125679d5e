package smsctest

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"
)

// pdu builds a PDU by hand (SMPP 3.4 section 3.2: command_length, command_id, command_status,
// sequence_number, then the body), independent of package smpp.
func pdu(id, seq uint32, body ...[]byte) []byte {
	b := bytes.Join(body, nil)
	out := binary.BigEndian.AppendUint32(nil, uint32(16+len(b)))
	out = binary.BigEndian.AppendUint32(out, id)
	out = binary.BigEndian.AppendUint32(out, 0)
	out = binary.BigEndian.AppendUint32(out, seq)
	return append(out, b...)
}

func cstr(s string) []byte { return append([]byte(s), 0) }

// roundTrip writes p and reads one PDU back: its command_id, status and body.
func roundTrip(t *testing.T, c net.Conn, p []byte) (uint32, uint32, []byte) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(p); err != nil {
		t.Fatal(err)
	}
	var h [16]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, binary.BigEndian.Uint32(h[:])-16)
	if _, err := io.ReadFull(c, body); err != nil {
		t.Fatal(err)
	}
	return binary.BigEndian.Uint32(h[4:]), binary.BigEndian.Uint32(h[8:]), body
}

func bind(sysID, pw string) []byte {
	// bind_transceiver 0x00000009 (section 4.1.1): system_id, password, system_type,
	// interface_version 0x34, addr_ton, addr_npi, address_range.
	return pdu(0x09, 1, cstr(sysID), cstr(pw), cstr(""), []byte{0x34, 0, 0}, cstr(""))
}

func submit(seq uint32, esm, dc byte, sm []byte) []byte {
	// submit_sm 0x00000004 (section 4.4.1).
	return pdu(0x04, seq, cstr(""), []byte{1, 1}, cstr("4711"), []byte{1, 1}, cstr("+4915100000"),
		[]byte{esm, 0, 0}, cstr(""), cstr(""), []byte{0, 0, dc, 0, byte(len(sm))}, sm)
}

func TestBindSubmitMessages(t *testing.T) {
	s := Start(t)
	c, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if id, st, _ := roundTrip(t, c, bind(s.SystemID, "wrong")); id != 0x80000009 || st != 0x0E {
		t.Fatalf("wrong password: command 0x%x status 0x%x, want bind_transceiver_resp ESME_RINVPASWD", id, st)
	}
	c.Close()
	c, err = net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, st, _ := roundTrip(t, c, bind(s.SystemID, s.Password)); st != 0 {
		t.Fatalf("bind: status 0x%x", st)
	}
	// "Hi" in two parts, GSM 03.38 unpacked; then one UCS-2 "€".
	if _, st, body := roundTrip(t, c, submit(2, 0x40, 0, []byte{5, 0, 3, 9, 2, 2, 'i'})); st != 0 || len(body) < 2 {
		t.Fatalf("submit: status 0x%x body %q", st, body)
	}
	s.Throttle(1, ESME_RTHROTTLED)
	if _, st, _ := roundTrip(t, c, submit(3, 0x40, 0, []byte{5, 0, 3, 9, 2, 1, 'H'})); st != ESME_RTHROTTLED {
		t.Fatalf("throttled submit: status 0x%x", st)
	}
	roundTrip(t, c, submit(4, 0x40, 0, []byte{5, 0, 3, 9, 2, 1, 'H'}))
	roundTrip(t, c, submit(5, 0, 8, []byte{0x20, 0xAC}))
	s.WaitSubmits(4, 10*time.Second) // the events reach us after the answers
	got := s.Messages()
	if len(got) != 2 || got[0].Text != "Hi" || got[0].Parts != 2 || got[1].Text != "€" || got[1].DataCoding != 8 {
		t.Fatalf("messages %+v, want Hi (2 parts) and €", got)
	}
	if b := s.Binds(); len(b) != 2 || b[0].Status != 0x0E || b[1].Status != 0 {
		t.Fatalf("binds %+v", b)
	}
}
