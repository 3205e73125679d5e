package smpp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twilio-connector/twilio-connector/smpp/pdu"
)

const (
	defaultWindow          = 10
	defaultEnquireLink     = 30 * time.Second
	defaultResponseTimeout = 30 * time.Second
	backoffMin             = 500 * time.Millisecond
	backoffMax             = 30 * time.Second
	unbindWait             = 2 * time.Second
	maxDeliverWorkers      = 32 // deliver_sm handled at once; beyond, ESME_RTHROTTLED
	reassemblyTimeout      = 5 * time.Minute
	reassemblyMax          = 256 // incomplete concatenated messages kept
)

// Session is one bind_transceiver session that reconnects by itself until Close. Its methods
// are safe for concurrent use.
type Session struct {
	cfg     Config
	h       Handler
	log     *slog.Logger
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{} // the bind loop has ended
	closing atomic.Bool

	window  chan struct{} // one token per outstanding submit_sm
	workers chan struct{} // one token per deliver_sm in its Handler
	ref     atomic.Uint32 // concatenation reference of the last long message
	reasm   *reassembler

	paceMu sync.Mutex
	paceAt time.Time // earliest time of the next submit_sm under MaxTPS

	mu      sync.Mutex
	conn    *conn         // the bound connection, nil while not bound
	changed chan struct{} // closed (and replaced) when a connection is bound or a bind refused
	reason  error         // why not bound, wrapping ErrNotBound
	refused bool          // the last bind was refused by the SMSC (not a network error)
}

// Open starts the bind/reconnect loop in the background and returns at once.
func Open(cfg Config, h Handler) *Session {
	if cfg.Window <= 0 {
		cfg.Window = defaultWindow
	}
	if cfg.EnquireLink <= 0 {
		cfg.EnquireLink = defaultEnquireLink
	}
	if cfg.ResponseTimeout <= 0 {
		cfg.ResponseTimeout = defaultResponseTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Session{
		cfg: cfg, h: h, ctx: ctx, cancel: cancel, done: make(chan struct{}),
		log:     cfg.Logger.With("connection", cfg.Name, "address", cfg.Address),
		window:  make(chan struct{}, cfg.Window),
		workers: make(chan struct{}, maxDeliverWorkers),
		reasm:   newReassembler(reassemblyTimeout, reassemblyMax),
		changed: make(chan struct{}),
		reason:  fmt.Errorf("%w: connection %q: binding to %s", ErrNotBound, cfg.Name, cfg.Address),
	}
	go s.run()
	return s
}

// run binds, serves the connection until it is lost, and binds again after a backoff, until
// Close.
func (s *Session) run() {
	defer close(s.done)
	failures := 0
	for s.ctx.Err() == nil {
		c, err := s.bind()
		if err != nil {
			failures++
			var se *StatusError
			s.setUnbound(err, errors.As(err, &se) || errors.Is(err, errConfig))
			s.log.Warn("smpp bind failed", "error", err)
		} else {
			failures = 0
			s.log.Info("smpp bound", "system_id", s.cfg.SystemID)
			s.setBound(c)
			stop := context.AfterFunc(s.ctx, func() { c.close(errors.New("session closed")) })
			err := c.serve()
			stop()
			s.setUnbound(fmt.Errorf("%w: connection %q to %s lost: %w", ErrNotBound, s.cfg.Name, s.cfg.Address, err), false)
			if s.closing.Load() {
				return
			}
			s.log.Warn("smpp connection lost", "error", err)
			failures = 1
		}
		select {
		case <-time.After(backoff(failures)):
		case <-s.ctx.Done():
		}
	}
}

// backoff is the wait before the next bind: 0.5s doubling up to 30s, ±20% jitter.
func backoff(failures int) time.Duration {
	d := backoffMin
	for i := 1; i < failures && d < backoffMax; i++ {
		d *= 2
	}
	d = min(d, backoffMax)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

func (s *Session) setBound(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conn, s.reason, s.refused = c, nil, false
	s.wake()
}

func (s *Session) setUnbound(reason error, refused bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conn, s.reason, s.refused = nil, reason, refused
	if refused {
		s.wake() // a waiting Submit gets the refusal now, not "not bound" at its deadline
	}
}

// wake wakes every current() waiting for a state change; s.mu is held.
func (s *Session) wake() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// bind dials the SMSC and binds as a transceiver (section 4.1.5).
func (s *Session) bind() (*conn, error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.ResponseTimeout)
	defer cancel()
	nc, err := (&net.Dialer{}).DialContext(ctx, "tcp", s.cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("%w: connection %q: %w", ErrNotBound, s.cfg.Name, err)
	}
	if s.cfg.TLS {
		tc := s.cfg.TLSConfig
		if tc == nil {
			host, _, _ := net.SplitHostPort(s.cfg.Address)
			tc = &tls.Config{ServerName: host}
		}
		tlsConn := tls.Client(nc, tc)
		if err := tlsConn.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("%w: connection %q: TLS handshake with %s: %w", ErrNotBound, s.cfg.Name, s.cfg.Address, err)
		}
		nc = tlsConn
	}
	c := newConn(s, nc)
	req := &pdu.PDU{Command: pdu.BindTransceiver, SystemID: s.cfg.SystemID, Password: s.cfg.Password,
		SystemType: s.cfg.SystemType, InterfaceVersion: 0x34}
	req.Seq = c.nextSeq()
	b, err := req.Encode()
	if err != nil {
		nc.Close()
		// Only lengths can be wrong here; the message names the field, never its value.
		return nil, fmt.Errorf("%w: connection %q: %w: %w", ErrNotBound, s.cfg.Name, errConfig, err)
	}
	deadline, _ := ctx.Deadline()
	nc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Now()) }) // Close during the bind
	defer stop()
	resp, err := c.exchangeDirect(b)
	nc.SetDeadline(time.Time{})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("%w: connection %q: bind_transceiver to %s: %w", ErrNotBound, s.cfg.Name, s.cfg.Address, err)
	}
	if resp.Command != pdu.BindTransceiverResp && resp.Status == StatusOK {
		resp.Status = StatusInvCmdID // a generic_nack: the SMSC does not know bind_transceiver
	}
	if resp.Status != StatusOK {
		nc.Close()
		se := &StatusError{Command: "bind_transceiver", Status: resp.Status}
		hint := ""
		switch resp.Status {
		case StatusInvPaswd, StatusInvSysID, StatusBindFail:
			hint = ": check system_id and password"
		}
		return nil, fmt.Errorf("%w: connection %q: bind as system_id %q refused: %w%s", ErrNotBound, s.cfg.Name, s.cfg.SystemID, se, hint)
	}
	return c, nil
}

// Bound returns nil when the session is bound now, else the reason (wrapping ErrNotBound); it
// waits until ctx is done for a bind in progress, and not at all when the SMSC refused the
// last bind.
func (s *Session) Bound(ctx context.Context) error {
	_, err := s.current(ctx)
	return err
}

// current returns the bound connection, waiting for one as Bound does.
func (s *Session) current(ctx context.Context) (*conn, error) {
	for {
		s.mu.Lock()
		c, ch, reason, refused := s.conn, s.changed, s.reason, s.refused
		s.mu.Unlock()
		if c != nil {
			return c, nil
		}
		if refused {
			return nil, reason
		}
		select {
		case <-ch:
		case <-ctx.Done():
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.conn != nil {
				return s.conn, nil
			}
			return nil, s.reason // the latest reason, not the one when the wait began
		case <-s.ctx.Done():
			return nil, fmt.Errorf("%w: connection %q is closed", ErrNotBound, s.cfg.Name)
		}
	}
}

// Close unbinds, closes the connection and stops reconnecting.
func (s *Session) Close() error {
	if s.closing.Swap(true) {
		<-s.done
		return nil
	}
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	if c != nil {
		ctx, cancel := context.WithTimeout(context.Background(), unbindWait)
		if _, err := c.request(ctx, &pdu.PDU{Command: pdu.Unbind}); err != nil {
			s.log.Debug("smpp unbind", "error", err)
		}
		cancel()
	}
	s.cancel() // closes the connection, bound or binding
	<-s.done
	return nil
}

// Submit sends text from → to as one submit_sm, or as concatenated submit_sm with a user data
// header (05 00 03 ref count seq, esm_class 0x40) when it is too long for one, and waits for
// their responses. Parts go one after the other; on an error the result holds the ids of the
// parts accepted before it. A part without response (timeout, connection lost after the
// write) gives ErrUncertain and is never sent again by the package.
func (s *Session) Submit(ctx context.Context, from, to, text string) (Submitted, error) {
	parts, coding := split(text)
	res := Submitted{Parts: len(parts), DataCoding: coding}
	if len(parts) > 255 {
		return res, fmt.Errorf("smpp connection %q: text needs %d parts, above the 255 a concatenated message can have", s.cfg.Name, len(parts))
	}
	var udh []byte
	if len(parts) > 1 {
		udh = []byte{0x05, 0x00, 0x03, byte(s.ref.Add(1)), byte(len(parts)), 0}
	}
	for i, part := range parts {
		p := &pdu.PDU{Command: pdu.SubmitSM,
			SourceTON: s.cfg.SourceTON, SourceNPI: s.cfg.SourceNPI, SourceAddr: from,
			DestTON: s.cfg.DestTON, DestNPI: s.cfg.DestNPI, DestAddr: to,
			RegisteredDelivery: 1, DataCoding: coding, ShortMessage: part}
		if udh != nil {
			udh[5] = byte(i + 1)
			p.ESMClass = esmUDHI
			p.ShortMessage = append(append([]byte(nil), udh...), part...)
		}
		id, err := s.submitOne(ctx, p)
		if err != nil {
			where := ""
			if len(parts) > 1 {
				where = fmt.Sprintf(" part %d of %d", i+1, len(parts))
			}
			return res, fmt.Errorf("smpp connection %q: submit_sm%s to %s: %w", s.cfg.Name, where, to, err)
		}
		res.MessageIDs = append(res.MessageIDs, id)
	}
	return res, nil
}

func (s *Session) submitOne(ctx context.Context, p *pdu.PDU) (string, error) {
	if _, err := p.Encode(); err != nil {
		return "", err // an address too long: the message names the field
	}
	wctx, cancel := context.WithTimeout(ctx, s.cfg.ResponseTimeout)
	defer cancel()
	select {
	case s.window <- struct{}{}:
	case <-wctx.Done():
		return "", fmt.Errorf("waiting for a free slot in the window of %d: %w", s.cfg.Window, wctx.Err())
	}
	defer func() { <-s.window }()
	if err := s.pace(ctx); err != nil {
		return "", err
	}
	for {
		c, err := s.current(wctx)
		if err != nil {
			return "", err
		}
		resp, err := c.request(ctx, p)
		if errors.Is(err, errNotSent) {
			// The connection went away before the write: wait for the next one.
			select {
			case <-time.After(50 * time.Millisecond): // until run has noticed
			case <-wctx.Done():
			}
			continue
		}
		if err != nil {
			return "", fmt.Errorf("%w (%w)", ErrUncertain, err)
		}
		if resp.Command == pdu.GenericNack && resp.Status == StatusOK {
			resp.Status = StatusInvCmdID // a generic_nack is a refusal whatever its status says
		}
		if resp.Status != StatusOK {
			return "", &StatusError{Command: "submit_sm", Status: resp.Status}
		}
		return resp.MessageID, nil
	}
}

// pace waits for the next submit_sm slot under MaxTPS.
func (s *Session) pace(ctx context.Context) error {
	if s.cfg.MaxTPS <= 0 {
		return nil
	}
	s.paceMu.Lock()
	now := time.Now()
	at := now
	if s.paceAt.After(now) {
		at = s.paceAt
	}
	s.paceAt = at.Add(time.Duration(float64(time.Second) / s.cfg.MaxTPS))
	s.paceMu.Unlock()
	t := time.NewTimer(at.Sub(now))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// deliver answers one deliver_sm: a receipt or a whole message goes to the Handler and the
// response follows its return; a part of a concatenated message is answered once kept.
func (s *Session) deliver(c *conn, p *pdu.PDU) {
	status := StatusOK
	defer func() {
		c.send(p.Response(status))
	}()
	sm := p.ShortMessage
	if len(sm) == 0 {
		if payload, ok := p.Get(pdu.TagMessagePayload); ok {
			sm = payload
		}
	}
	body, part := splitUDH(p, sm)
	if part != nil {
		key, whole, done, dropped := s.reasm.add(p.SourceAddr, p.DestAddr, *part, p.DataCoding, body)
		if dropped > 0 {
			s.log.Warn("smpp incomplete concatenated messages dropped (parts missing or too many pending)", "count", dropped)
		}
		if !done {
			return
		}
		defer func() {
			if status == StatusOK {
				s.reasm.remove(key)
			}
		}()
		body = whole
	}
	text := decodeText(body, p.DataCoding)
	d := Deliver{From: p.SourceAddr, To: p.DestAddr, Text: text, Receipt: parseReceipt(p, text)}
	if s.h == nil {
		return
	}
	if err := s.h(s.ctx, d); err != nil {
		s.log.Warn("smpp deliver_sm not taken, the SMSC will deliver it again", "error", err)
		status = StatusXTAppn
	}
}

var (
	errNotSent = errors.New("connection closed before the request was written")
	// errConfig marks a bind that cannot succeed with this Config (a field too long).
	errConfig = errors.New("invalid configuration")
)

// conn is one bound (or binding) TCP connection.
type conn struct {
	s  *Session
	nc net.Conn
	r  *bufio.Reader

	wmu sync.Mutex // one PDU written at a time
	seq atomic.Uint32

	mu      sync.Mutex
	pending map[uint32]chan *pdu.PDU
	closed  chan struct{}
	err     error
	lastIn  atomic.Int64 // unix nanoseconds of the last PDU read
}

func newConn(s *Session, nc net.Conn) *conn {
	return &conn{s: s, nc: nc, r: bufio.NewReader(nc), pending: map[uint32]chan *pdu.PDU{}, closed: make(chan struct{})}
}

// nextSeq returns the next sequence number, 1…0x7FFFFFFF (section 3.2: the top bit is not
// used).
func (c *conn) nextSeq() uint32 {
	for {
		n := c.seq.Add(1) & 0x7FFFFFFF
		if n != 0 {
			return n
		}
	}
}

// exchangeDirect writes b and reads its response, before serve runs (the bind).
func (c *conn) exchangeDirect(b []byte) (*pdu.PDU, error) {
	if _, err := c.nc.Write(b); err != nil {
		return nil, err
	}
	for {
		p, err := pdu.Read(c.r)
		if err != nil {
			return nil, err
		}
		if pdu.IsResponse(p.Command) {
			return p, nil
		}
		// An SMSC may send enquire_link before answering the bind.
		if p.Command == pdu.EnquireLink {
			c.send(p.Response(StatusOK))
		}
	}
}

func (c *conn) close(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.closed:
		return
	default:
	}
	c.err = err
	close(c.closed)
	c.nc.Close()
}

// send writes p, for responses and requests alike.
func (c *conn) send(p *pdu.PDU) error {
	b, err := p.Encode()
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.nc.SetWriteDeadline(time.Now().Add(c.s.cfg.ResponseTimeout))
	if _, err := c.nc.Write(b); err != nil {
		c.close(fmt.Errorf("writing %s: %w", pdu.Name(p.Command), err))
		return err
	}
	return nil
}

// request sends p with a new sequence number and waits for its response. errNotSent means
// nothing was written; after any other error the request may or may not have been carried out.
func (c *conn) request(ctx context.Context, p *pdu.PDU) (*pdu.PDU, error) {
	q := *p
	q.Seq = c.nextSeq()
	ch := make(chan *pdu.PDU, 1)
	c.mu.Lock()
	select {
	case <-c.closed:
		c.mu.Unlock()
		return nil, errNotSent
	default:
	}
	c.pending[q.Seq] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, q.Seq)
		c.mu.Unlock()
	}()
	if err := c.send(&q); err != nil {
		return nil, fmt.Errorf("writing it failed: %w", err)
	}
	t := time.NewTimer(c.s.cfg.ResponseTimeout)
	defer t.Stop()
	select {
	case r := <-ch:
		return r, nil
	case <-c.closed:
		return nil, fmt.Errorf("connection lost after the write: %w", c.err)
	case <-t.C:
		return nil, fmt.Errorf("no response within %v", c.s.cfg.ResponseTimeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// serve reads PDUs until the connection is lost or closed and keeps it alive with
// enquire_link; it returns why it ended.
func (c *conn) serve() error {
	c.lastIn.Store(time.Now().UnixNano())
	go c.keepAlive()
	for {
		p, err := pdu.Read(c.r)
		if err != nil {
			c.close(fmt.Errorf("reading: %w", err))
			break
		}
		c.lastIn.Store(time.Now().UnixNano())
		if pdu.IsResponse(p.Command) {
			c.mu.Lock()
			ch := c.pending[p.Seq]
			delete(c.pending, p.Seq)
			c.mu.Unlock()
			if ch != nil {
				ch <- p
			} else {
				c.s.log.Debug("smpp response without request (late or unknown)", "command", pdu.Name(p.Command), "sequence", p.Seq)
			}
			continue
		}
		switch p.Command {
		case pdu.EnquireLink:
			c.send(p.Response(StatusOK))
		case pdu.Unbind:
			c.send(p.Response(StatusOK))
			c.close(errors.New("the SMSC unbound"))
		case pdu.DeliverSM:
			select {
			case c.s.workers <- struct{}{}:
				go func() {
					defer func() { <-c.s.workers }()
					c.s.deliver(c, p)
				}()
			default:
				c.send(p.Response(StatusThrottled))
			}
		default:
			c.send(&pdu.PDU{Command: pdu.GenericNack, Status: StatusInvCmdID, Seq: p.Seq})
		}
	}
	<-c.closed
	return c.err
}

// keepAlive sends enquire_link when nothing was read for the interval (section 4.11), and
// closes the connection when it gets no answer.
func (c *conn) keepAlive() {
	every := c.s.cfg.EnquireLink
	t := time.NewTicker(every / 2)
	defer t.Stop()
	for {
		select {
		case <-c.closed:
			return
		case <-t.C:
		}
		if time.Since(time.Unix(0, c.lastIn.Load())) < every {
			continue
		}
		_, err := c.request(context.Background(), &pdu.PDU{Command: pdu.EnquireLink})
		if errors.Is(err, errNotSent) {
			return
		}
		if err != nil {
			c.close(fmt.Errorf("enquire_link got no answer: %w", err))
			return
		}
	}
}
