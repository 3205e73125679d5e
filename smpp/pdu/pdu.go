// Package pdu encodes and decodes the SMPP 3.4 PDUs an ESME in transceiver mode needs:
// bind_transceiver(_resp), unbind(_resp), enquire_link(_resp), submit_sm(_resp),
// deliver_sm(_resp) and generic_nack. Another command decodes to a PDU with its raw body, so
// that the session can answer it with generic_nack. Section numbers in comments refer to the
// SMPP v3.4 specification, issue 1.2.
package pdu

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Command ids (section 5.1.2.1). A response's id is its request's with bit 31 set.
const (
	GenericNack         uint32 = 0x80000000
	BindTransceiver     uint32 = 0x00000009
	BindTransceiverResp uint32 = 0x80000009
	Unbind              uint32 = 0x00000006
	UnbindResp          uint32 = 0x80000006
	EnquireLink         uint32 = 0x00000015
	EnquireLinkResp     uint32 = 0x80000015
	SubmitSM            uint32 = 0x00000004
	SubmitSMResp        uint32 = 0x80000004
	DeliverSM           uint32 = 0x00000005
	DeliverSMResp       uint32 = 0x80000005

	respBit uint32 = 0x80000000
)

// HeaderLen is the length of the PDU header (section 3.2): command_length, command_id,
// command_status and sequence_number, four octets each, big-endian.
const HeaderLen = 16

// MaxLen bounds command_length: the specification sets no maximum, and the largest PDU we
// expect (a submit_sm with a 64 KiB message_payload TLV) stays below it. A longer PDU is
// refused before its body is read.
const MaxLen = 64 * 1024

// Maximum lengths of C-Octet strings, without the terminating NUL (section 4: the tables of
// each PDU give them with the NUL).
const (
	MaxSystemID     = 15 // system_id 16
	MaxPassword     = 8  // password 9
	MaxSystemType   = 12 // system_type 13
	MaxAddressRange = 40 // address_range 41
	MaxServiceType  = 5  // service_type 6
	MaxAddr         = 20 // source_addr, destination_addr 21
	MaxTime         = 16 // schedule_delivery_time, validity_period 17
	MaxMessageID    = 64 // message_id 65
	MaxShortMessage = 254
)

// Optional parameter tags (section 5.3.2).
const (
	TagReceiptedMessageID uint16 = 0x001E
	TagSarMsgRefNum       uint16 = 0x020C
	TagSarTotalSegments   uint16 = 0x020E
	TagSarSegmentSeqnum   uint16 = 0x020F
	TagMessagePayload     uint16 = 0x0424
	TagMessageState       uint16 = 0x0427
	TagSCInterfaceVersion uint16 = 0x0210
)

// TLV is one optional parameter (section 3.2.4.1): tag, length, value.
type TLV struct {
	Tag   uint16
	Value []byte
}

// PDU is one decoded PDU. Only the fields of its command are used; the others stay zero.
type PDU struct {
	Command, Status, Seq uint32

	// bind_transceiver (section 4.1.5); SystemID also in bind_transceiver_resp (4.1.6).
	SystemID, Password, SystemType string
	InterfaceVersion               byte
	AddrTON, AddrNPI               byte
	AddressRange                   string

	// submit_sm (4.4.1) and deliver_sm (4.6.1).
	ServiceType                          string
	SourceTON, SourceNPI                 byte
	SourceAddr                           string
	DestTON, DestNPI                     byte
	DestAddr                             string
	ESMClass, ProtocolID, PriorityFlag   byte
	ScheduleDeliveryTime, ValidityPeriod string
	RegisteredDelivery, ReplaceIfPresent byte
	DataCoding, SMDefaultMsgID           byte
	ShortMessage                         []byte

	// submit_sm_resp (4.4.2), deliver_sm_resp (4.6.2, unused there: empty).
	MessageID string

	// Optional parameters after the mandatory ones, in order, unknown ones included.
	TLVs []TLV

	// Body is the raw body of a command this package does not know.
	Body []byte
}

var names = map[uint32]string{
	GenericNack: "generic_nack", BindTransceiver: "bind_transceiver", BindTransceiverResp: "bind_transceiver_resp",
	Unbind: "unbind", UnbindResp: "unbind_resp", EnquireLink: "enquire_link", EnquireLinkResp: "enquire_link_resp",
	SubmitSM: "submit_sm", SubmitSMResp: "submit_sm_resp", DeliverSM: "deliver_sm", DeliverSMResp: "deliver_sm_resp",
}

// Name is the command's name in the specification, or "command 0x…".
func Name(command uint32) string {
	if n, ok := names[command]; ok {
		return n
	}
	return fmt.Sprintf("command 0x%08X", command)
}

// Known reports whether the package decodes the command's body.
func Known(command uint32) bool { _, ok := names[command]; return ok }

// IsResponse reports whether command is a response (bit 31 set, section 5.1.2.1).
func IsResponse(command uint32) bool { return command&respBit != 0 }

// Response returns an empty response to p with status: same sequence number, command id with
// bit 31 set, generic_nack for a command the package does not know (section 4.3).
func (p *PDU) Response(status uint32) *PDU {
	if !Known(p.Command) || IsResponse(p.Command) {
		return &PDU{Command: GenericNack, Status: status, Seq: p.Seq}
	}
	return &PDU{Command: p.Command | respBit, Status: status, Seq: p.Seq}
}

// Get returns the value of the first TLV with tag.
func (p *PDU) Get(tag uint16) ([]byte, bool) {
	for _, t := range p.TLVs {
		if t.Tag == tag {
			return t.Value, true
		}
	}
	return nil, false
}

// ErrTooLong is returned for a command_length above MaxLen.
var ErrTooLong = errors.New("smpp pdu: command_length above the 64 KiB limit")

// Read reads one PDU from r. An io.EOF before the first octet is returned as is.
func Read(r io.Reader) (*PDU, error) {
	var h [HeaderLen]byte
	if _, err := io.ReadFull(r, h[:4]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(h[:4])
	if n < HeaderLen {
		return nil, fmt.Errorf("smpp pdu: command_length %d is below the header's 16 octets", n)
	}
	if n > MaxLen {
		return nil, fmt.Errorf("%w (%d)", ErrTooLong, n)
	}
	b := make([]byte, n)
	copy(b, h[:4])
	if _, err := io.ReadFull(r, b[4:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return Decode(b)
}

// Decode decodes one whole PDU, header included; b must be exactly command_length long.
func Decode(b []byte) (*PDU, error) {
	if len(b) < HeaderLen {
		return nil, fmt.Errorf("smpp pdu: %d octets, below the header's 16", len(b))
	}
	if len(b) > MaxLen {
		return nil, fmt.Errorf("%w (%d)", ErrTooLong, len(b))
	}
	if n := binary.BigEndian.Uint32(b); int(n) != len(b) {
		return nil, fmt.Errorf("smpp pdu: command_length %d but %d octets", n, len(b))
	}
	p := &PDU{
		Command: binary.BigEndian.Uint32(b[4:]),
		Status:  binary.BigEndian.Uint32(b[8:]),
		Seq:     binary.BigEndian.Uint32(b[12:]),
	}
	d := decoder{b: b[HeaderLen:]}
	switch p.Command {
	case GenericNack, Unbind, UnbindResp, EnquireLink, EnquireLinkResp:
		// header only (sections 4.3.1, 4.2, 4.11)
	case BindTransceiver:
		p.SystemID = d.cstring("system_id", MaxSystemID)
		p.Password = d.cstring("password", MaxPassword)
		p.SystemType = d.cstring("system_type", MaxSystemType)
		p.InterfaceVersion = d.byte("interface_version")
		p.AddrTON = d.byte("addr_ton")
		p.AddrNPI = d.byte("addr_npi")
		p.AddressRange = d.cstring("address_range", MaxAddressRange)
	case BindTransceiverResp:
		// The body may be missing when command_status is not 0 (section 4.1.6).
		if !d.empty() {
			p.SystemID = d.cstring("system_id", MaxSystemID)
			p.TLVs = d.tlvs()
		}
	case SubmitSM, DeliverSM:
		p.ServiceType = d.cstring("service_type", MaxServiceType)
		p.SourceTON = d.byte("source_addr_ton")
		p.SourceNPI = d.byte("source_addr_npi")
		p.SourceAddr = d.cstring("source_addr", MaxAddr)
		p.DestTON = d.byte("dest_addr_ton")
		p.DestNPI = d.byte("dest_addr_npi")
		p.DestAddr = d.cstring("destination_addr", MaxAddr)
		p.ESMClass = d.byte("esm_class")
		p.ProtocolID = d.byte("protocol_id")
		p.PriorityFlag = d.byte("priority_flag")
		p.ScheduleDeliveryTime = d.cstring("schedule_delivery_time", MaxTime)
		p.ValidityPeriod = d.cstring("validity_period", MaxTime)
		p.RegisteredDelivery = d.byte("registered_delivery")
		p.ReplaceIfPresent = d.byte("replace_if_present_flag")
		p.DataCoding = d.byte("data_coding")
		p.SMDefaultMsgID = d.byte("sm_default_msg_id")
		n := d.byte("sm_length")
		if n > MaxShortMessage && d.err == nil {
			d.err = fmt.Errorf("sm_length %d above %d", n, MaxShortMessage)
		}
		p.ShortMessage = d.octets("short_message", int(n))
		p.TLVs = d.tlvs()
	case SubmitSMResp, DeliverSMResp:
		// The body of submit_sm_resp is not returned when command_status is not 0 (4.4.2).
		if !d.empty() {
			p.MessageID = d.cstring("message_id", MaxMessageID)
			p.TLVs = d.tlvs()
		}
	default:
		p.Body = bytes.Clone(d.b)
		d.b = nil
	}
	if d.err == nil && !d.empty() {
		d.err = fmt.Errorf("%d octets after the body", len(d.b))
	}
	if d.err != nil {
		return nil, fmt.Errorf("smpp pdu: %s (sequence %d): %w", Name(p.Command), p.Seq, d.err)
	}
	return p, nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) empty() bool { return len(d.b) == 0 }

func (d *decoder) byte(field string) byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 1 {
		d.err = fmt.Errorf("%s missing", field)
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// cstring reads a C-Octet String (section 3.1): octets up to a NUL, at most max before it.
func (d *decoder) cstring(field string, max int) string {
	if d.err != nil {
		return ""
	}
	i := bytes.IndexByte(d.b, 0)
	if i < 0 {
		d.err = fmt.Errorf("%s has no terminating NUL", field)
		return ""
	}
	if i > max {
		d.err = fmt.Errorf("%s is %d octets, above its maximum of %d", field, i, max)
		return ""
	}
	s := string(d.b[:i])
	d.b = d.b[i+1:]
	return s
}

func (d *decoder) octets(field string, n int) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) < n {
		d.err = fmt.Errorf("%s: %d octets announced, %d left", field, n, len(d.b))
		return nil
	}
	v := bytes.Clone(d.b[:n])
	d.b = d.b[n:]
	return v
}

// tlvs reads optional parameters up to the end of the body (section 3.2.4.1).
func (d *decoder) tlvs() []TLV {
	var out []TLV
	for d.err == nil && len(d.b) > 0 {
		if len(d.b) < 4 {
			d.err = fmt.Errorf("optional parameter cut short: %d octets left", len(d.b))
			return nil
		}
		tag := binary.BigEndian.Uint16(d.b)
		n := int(binary.BigEndian.Uint16(d.b[2:]))
		d.b = d.b[4:]
		v := d.octets(fmt.Sprintf("optional parameter 0x%04X", tag), n)
		out = append(out, TLV{Tag: tag, Value: v})
	}
	return out
}

// Encode returns p's octets, header included. It fails when a field is longer than its
// maximum or a C-Octet String contains NUL.
func (p *PDU) Encode() ([]byte, error) {
	e := encoder{b: make([]byte, HeaderLen, 64)}
	switch p.Command {
	case GenericNack, Unbind, UnbindResp, EnquireLink, EnquireLinkResp:
	case BindTransceiver:
		e.cstring("system_id", p.SystemID, MaxSystemID)
		e.cstring("password", p.Password, MaxPassword)
		e.cstring("system_type", p.SystemType, MaxSystemType)
		e.b = append(e.b, p.InterfaceVersion, p.AddrTON, p.AddrNPI)
		e.cstring("address_range", p.AddressRange, MaxAddressRange)
	case BindTransceiverResp:
		e.cstring("system_id", p.SystemID, MaxSystemID)
		e.tlvs(p.TLVs)
	case SubmitSM, DeliverSM:
		e.cstring("service_type", p.ServiceType, MaxServiceType)
		e.b = append(e.b, p.SourceTON, p.SourceNPI)
		e.cstring("source_addr", p.SourceAddr, MaxAddr)
		e.b = append(e.b, p.DestTON, p.DestNPI)
		e.cstring("destination_addr", p.DestAddr, MaxAddr)
		e.b = append(e.b, p.ESMClass, p.ProtocolID, p.PriorityFlag)
		e.cstring("schedule_delivery_time", p.ScheduleDeliveryTime, MaxTime)
		e.cstring("validity_period", p.ValidityPeriod, MaxTime)
		e.b = append(e.b, p.RegisteredDelivery, p.ReplaceIfPresent, p.DataCoding, p.SMDefaultMsgID)
		if len(p.ShortMessage) > MaxShortMessage && e.err == nil {
			e.err = fmt.Errorf("short_message is %d octets, above %d", len(p.ShortMessage), MaxShortMessage)
		}
		e.b = append(e.b, byte(len(p.ShortMessage)))
		e.b = append(e.b, p.ShortMessage...)
		e.tlvs(p.TLVs)
	case SubmitSMResp, DeliverSMResp:
		e.cstring("message_id", p.MessageID, MaxMessageID)
		e.tlvs(p.TLVs)
	default:
		e.b = append(e.b, p.Body...)
	}
	if e.err == nil && len(e.b) > MaxLen {
		e.err = ErrTooLong
	}
	if e.err != nil {
		return nil, fmt.Errorf("smpp pdu: encoding %s: %w", Name(p.Command), e.err)
	}
	binary.BigEndian.PutUint32(e.b, uint32(len(e.b)))
	binary.BigEndian.PutUint32(e.b[4:], p.Command)
	binary.BigEndian.PutUint32(e.b[8:], p.Status)
	binary.BigEndian.PutUint32(e.b[12:], p.Seq)
	return e.b, nil
}

type encoder struct {
	b   []byte
	err error
}

func (e *encoder) cstring(field, s string, max int) {
	if e.err == nil && len(s) > max {
		e.err = fmt.Errorf("%s is %d octets, above its maximum of %d", field, len(s), max)
	}
	if e.err == nil && bytes.IndexByte([]byte(s), 0) >= 0 {
		e.err = fmt.Errorf("%s contains NUL", field)
	}
	e.b = append(append(e.b, s...), 0)
}

func (e *encoder) tlvs(ts []TLV) {
	for _, t := range ts {
		if len(t.Value) > 0xFFFF && e.err == nil {
			e.err = fmt.Errorf("optional parameter 0x%04X is %d octets", t.Tag, len(t.Value))
			return
		}
		e.b = binary.BigEndian.AppendUint16(e.b, t.Tag)
		e.b = binary.BigEndian.AppendUint16(e.b, uint16(len(t.Value)))
		e.b = append(e.b, t.Value...)
	}
}
