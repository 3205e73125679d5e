// Package smpp is a small SMPP 3.4 client (ESME): one bind_transceiver session per
// connection that submits short messages (GSM 03.38 or UCS-2, split into concatenated parts
// when long), receives deliver_sm (mobile-originated messages and delivery receipts), keeps
// the link alive with enquire_link and reconnects with backoff. It knows nothing of providers,
// Zeebe or triggers.
//
// Texts go as GSM 03.38 in unpacked septets (data_coding 0, one septet per octet, as SMSCs
// expect over SMPP) when every character is in the default alphabet or its extension table,
// else as UCS-2 (data_coding 8); see coding.go. A deliver_sm_resp is sent after the Handler
// returns; for a concatenated mobile-originated message, the parts before the last are
// answered once kept in memory (holding their answers back would stall SMSCs that wait for
// them before sending the next part), so a crash while parts are pending loses them.
package smpp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Config describes one SMSC connection.
type Config struct {
	Address    string // host:port of the SMSC
	SystemID   string // bind system_id
	Password   string // bind password (never logged nor put in errors)
	SystemType string // bind system_type, often empty

	TLS       bool        // dial with TLS (tls.Config{ServerName: host})
	TLSConfig *tls.Config // optional override of the TLS configuration (tests)

	SourceTON, SourceNPI byte // source_addr_ton / source_addr_npi of submit_sm
	DestTON, DestNPI     byte // dest_addr_ton / dest_addr_npi of submit_sm

	Window      int           // unacknowledged submit_sm at once (default 10)
	MaxTPS      float64       // submit_sm per second, 0 = unpaced
	EnquireLink time.Duration // enquire_link interval when idle (default 30s)
	Logger      *slog.Logger  // default slog.Default()
	Name        string        // connection name, used in errors and logs

	// ResponseTimeout bounds the wait for a response to submit_sm, enquire_link and the bind,
	// and how long Submit waits for a session to be bound (default 30s).
	ResponseTimeout time.Duration
}

// Deliver is one deliver_sm, already decoded to UTF-8. A concatenated mobile-originated
// message is reassembled before the Handler sees it.
type Deliver struct {
	From, To, Text string
	Receipt        *Receipt // non-nil for a delivery receipt
}

// Receipt is a delivery receipt (esm_class 0x04): the id of the submitted message it is about
// (receipted_message_id TLV, else the id: field of the text), its final state ("DELIVRD",
// "UNDELIV", ... from stat:, or the message_state TLV), the err: field and the done date.
type Receipt struct {
	MessageID, Stat, Err string
	Done                 time.Time
}

// Handler receives each deliver_sm. The deliver_sm_resp is sent only after it returns: nil
// answers status 0, an error answers ESME_RX_T_APPN (0x64, temporary) so that the SMSC
// delivers the message again later.
type Handler func(ctx context.Context, d Deliver) error

// Submitted is the result of one Submit: the message_id of each part, in order.
type Submitted struct {
	MessageIDs []string
	Parts      int
	DataCoding byte // 0 (GSM 03.38) or 8 (UCS-2)
}

// ErrNotBound is returned (wrapped, with the last bind or dial error) when no session is bound.
var ErrNotBound = errors.New("smpp: not bound")

// ErrUncertain is returned (wrapped) when a submit_sm was written but no response came (timeout,
// or the connection was lost after the write): the SMSC may or may not have accepted it, so the
// package never sends it again by itself.
var ErrUncertain = errors.New("smpp: submit_sm got no response, the message may or may not have been accepted")

// StatusError is a non-zero command_status in a response.
type StatusError struct {
	Command string // e.g. "submit_sm", "bind_transceiver"
	Status  uint32
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("smpp: %s answered %s (0x%08X)", e.Command, e.Name(), e.Status)
}

// Name is the status's name in the SMPP 3.4 specification (section 5.1.3), e.g. "ESME_RTHROTTLED".
func (e *StatusError) Name() string { return StatusName(e.Status) }

// Retryable reports whether the same request may succeed later: ESME_RTHROTTLED (0x58) and
// ESME_RMSGQFUL (0x14).
func (e *StatusError) Retryable() bool {
	return e.Status == StatusThrottled || e.Status == StatusMsgQFull
}
