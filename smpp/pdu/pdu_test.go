package pdu

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// h turns a spaced hex layout into bytes.
func h(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

// The layouts below are written field by field from the PDU tables of SMPP v3.4.
var layouts = []struct {
	name  string
	bytes []byte
	pdu   PDU
}{
	{
		// 4.1.5 bind_transceiver: system_id "esme", password "pw", system_type "", interface_version
		// 0x34, addr_ton 1, addr_npi 1, address_range "".
		"bind_transceiver",
		h(`0000001d 00000009 00000000 00000001  65736d6500 707700 00 34 01 01 00`),
		PDU{Command: BindTransceiver, Seq: 1, SystemID: "esme", Password: "pw", InterfaceVersion: 0x34, AddrTON: 1, AddrNPI: 1},
	},
	{
		// 4.1.6 bind_transceiver_resp: system_id "SMSC", then the sc_interface_version TLV (5.3.2.25).
		"bind_transceiver_resp",
		h(`0000001a 80000009 00000000 00000001  534d534300  0210 0001 34`),
		PDU{Command: BindTransceiverResp, Seq: 1, SystemID: "SMSC", TLVs: []TLV{{TagSCInterfaceVersion, []byte{0x34}}}},
	},
	{
		// 4.1.6: the body is left out when the bind failed, here with ESME_RINVPASWD 0x0E.
		"bind_transceiver_resp error",
		h(`00000010 80000009 0000000e 00000001`),
		PDU{Command: BindTransceiverResp, Status: 0x0E, Seq: 1},
	},
	{"unbind (4.2.1)", h(`00000010 00000006 00000000 00000007`), PDU{Command: Unbind, Seq: 7}},
	{"unbind_resp (4.2.2)", h(`00000010 80000006 00000000 00000007`), PDU{Command: UnbindResp, Seq: 7}},
	{"enquire_link (4.11.1)", h(`00000010 00000015 00000000 7fffffff`), PDU{Command: EnquireLink, Seq: 0x7fffffff}},
	{"enquire_link_resp (4.11.2)", h(`00000010 80000015 00000000 00000002`), PDU{Command: EnquireLinkResp, Seq: 2}},
	{"generic_nack (4.3.1), ESME_RINVCMDID", h(`00000010 80000000 00000003 00000009`), PDU{Command: GenericNack, Status: 3, Seq: 9}},
	{
		// 4.4.1 submit_sm: service_type "", source 1/1 "4711", dest 1/1 "49151", esm_class 0x40
		// (UDHI), protocol_id 0, priority_flag 0, schedule_delivery_time "", validity_period "",
		// registered_delivery 1, replace_if_present_flag 0, data_coding 0, sm_default_msg_id 0,
		// sm_length 8, short_message UDH 05 00 03 2a 02 01 + "Hi".
		"submit_sm",
		h(`00000032 00000004 00000000 00000003
		   00 01 01 3437313100 01 01 343931353100 40 00 00 00 00 01 00 00 00
		   08 0500032a02014869`),
		PDU{Command: SubmitSM, Seq: 3, SourceTON: 1, SourceNPI: 1, SourceAddr: "4711", DestTON: 1, DestNPI: 1, DestAddr: "49151",
			ESMClass: 0x40, RegisteredDelivery: 1, ShortMessage: h(`0500032a02014869`)},
	},
	{
		// 4.4.2 submit_sm_resp: message_id "ab12".
		"submit_sm_resp",
		h(`00000015 80000004 00000000 00000003  6162313200`),
		PDU{Command: SubmitSMResp, Seq: 3, MessageID: "ab12"},
	},
	{
		// 4.4.2: no body when command_status is not 0, here ESME_RTHROTTLED 0x58.
		"submit_sm_resp throttled",
		h(`00000010 80000004 00000058 00000003`),
		PDU{Command: SubmitSMResp, Status: 0x58, Seq: 3},
	},
	{
		// 4.6.1 deliver_sm, a delivery receipt: esm_class 0x04, data_coding 0, short_message
		// "id:7", then receipted_message_id "7" (5.3.2.12), message_state 2 DELIVERED (5.3.2.35)
		// and an unknown TLV 0x1400 that is kept.
		"deliver_sm receipt",
		h(`0000003f 00000005 00000000 00000004
		   00 01 01 343931353100 00 00 3437313100 04 00 00 00 00 00 00 00 00
		   04 69643a37
		   001e 0002 3700  0427 0001 02  1400 0002 abcd`),
		PDU{Command: DeliverSM, Seq: 4, SourceTON: 1, SourceNPI: 1, SourceAddr: "49151", DestAddr: "4711", ESMClass: 0x04,
			ShortMessage: []byte("id:7"),
			TLVs:         []TLV{{TagReceiptedMessageID, []byte("7\x00")}, {TagMessageState, []byte{2}}, {0x1400, h(`abcd`)}}},
	},
	{
		// 4.6.2 deliver_sm_resp: message_id unused, a lone NUL; status ESME_RX_T_APPN 0x64.
		"deliver_sm_resp",
		h(`00000011 80000005 00000064 00000004 00`),
		PDU{Command: DeliverSMResp, Status: 0x64, Seq: 4},
	},
	{
		// A command we do not decode (query_sm 0x00000003, 4.8.1) keeps its body.
		"unknown command",
		h(`00000013 00000003 00000000 00000005 616200`),
		PDU{Command: 3, Seq: 5, Body: h(`616200`)},
	},
}

func TestLayouts(t *testing.T) {
	for _, c := range layouts {
		t.Run(c.name, func(t *testing.T) {
			got, err := Decode(c.bytes)
			if err != nil {
				t.Fatal(err)
			}
			norm := func(p *PDU) *PDU {
				q := *p
				if len(q.ShortMessage) == 0 {
					q.ShortMessage = nil
				}
				if len(q.Body) == 0 {
					q.Body = nil
				}
				return &q
			}
			if !reflect.DeepEqual(norm(got), norm(&c.pdu)) {
				t.Fatalf("decoded\n%+v\nwant\n%+v", got, c.pdu)
			}
			if !strings.Contains(c.name, "error") && !strings.Contains(c.name, "throttled") {
				enc, err := c.pdu.Encode()
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(enc, c.bytes) {
					t.Fatalf("encoded\n% x\nwant\n% x", enc, c.bytes)
				}
			}
			r, err := Read(bytes.NewReader(c.bytes))
			if err != nil || !reflect.DeepEqual(r, got) {
				t.Fatalf("Read: %+v, %v", r, err)
			}
		})
	}
}

func TestRefused(t *testing.T) {
	// submit_sm's 16 octets of mandatory fields before sm_length, all empty or zero (4.4.1).
	empty := strings.Repeat("00 ", 16)
	cases := []struct {
		name, want string
		bytes      []byte
	}{
		{"short header", "below the header", h(`0000000f 00000015 00000000`)},
		{"length mismatch", "command_length 17 but 16", h(`00000011 00000015 00000000 00000001`)},
		{"enquire_link with a body", "1 octets after the body", h(`00000011 00000015 00000000 00000001 00`)},
		{"system_id without NUL", "system_id has no terminating NUL", h(`00000014 00000009 00000000 00000001 61626364`)},
		{"system_id too long", "system_id is 16 octets, above its maximum of 15", append(h(`00000021 00000009 00000000 00000001`), "0123456789abcdef\x00"...)},
		{"sm_length past the end", "short_message: 5 octets announced, 2 left", h(`00000023 00000004 00000000 00000001` + empty + `05 6869`)},
		{"sm_length above 254", "sm_length 255 above 254", append(h(`00000120 00000004 00000000 00000001`+empty+`ff`), make([]byte, 255)...)},
		{"TLV cut short", "optional parameter cut short", h(`00000014 80000004 00000000 00000001 00 001e 00`)},
		{"TLV value past the end", "optional parameter 0x001E: 9 octets announced, 5 left", h(`0000001a 80000004 00000000 00000001 00 001e 0009 6162 6364 65`)},
	}
	for _, c := range cases {
		p, err := Decode(c.bytes)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: decoded %+v, %v; want an error with %q", c.name, p, err, c.want)
		}
	}
}

func TestReadRefusesHugeLengthBeforeReading(t *testing.T) {
	// Only the header is there: Read must refuse on command_length alone, not wait for 1 MiB.
	_, err := Read(bytes.NewReader(h(`00100000 00000004 00000000 00000001`)))
	if !errors.Is(err, ErrTooLong) {
		t.Fatalf("err %v, want ErrTooLong", err)
	}
}

func TestEncodeRefusesLongFields(t *testing.T) {
	for name, p := range map[string]PDU{
		"password":      {Command: BindTransceiver, Password: "123456789"},
		"source_addr":   {Command: SubmitSM, SourceAddr: strings.Repeat("1", 21)},
		"short_message": {Command: SubmitSM, ShortMessage: make([]byte, 255)},
		"NUL":           {Command: SubmitSM, DestAddr: "12\x003"},
	} {
		if _, err := p.Encode(); err == nil {
			t.Errorf("%s: encoded, want an error", name)
		}
	}
}

func TestResponse(t *testing.T) {
	if r := (&PDU{Command: SubmitSM, Seq: 5}).Response(0); r.Command != SubmitSMResp || r.Seq != 5 {
		t.Fatalf("%+v", r)
	}
	if r := (&PDU{Command: 0x103, Seq: 6}).Response(3); r.Command != GenericNack || r.Status != 3 || r.Seq != 6 {
		t.Fatalf("%+v", r)
	}
}

// FuzzDecode: the decoder never panics, and what it accepts encodes to octets that decode to
// the same PDU.
func FuzzDecode(f *testing.F) {
	for _, c := range layouts {
		f.Add(c.bytes)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Decode(b)
		if err != nil {
			return
		}
		enc, err := p.Encode()
		if err != nil {
			t.Fatalf("decoded %+v but cannot encode it: %v", p, err)
		}
		q, err := Decode(enc)
		if err != nil {
			t.Fatalf("re-decoding % x: %v", enc, err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("round trip changed the PDU:\n%+v\n%+v", p, q)
		}
		if _, err := Read(bytes.NewReader(b)); err != nil {
			t.Fatalf("Decode accepted what Read refuses: %v", err)
		}
	})
}
