package worker

import (
	"context"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// activateJobsMethod is the gateway RPC the Zeebe client's job poller calls.
const activateJobsMethod = "/gateway_protocol.Gateway/ActivateJobs"

// Backoff bounds of job activation while the gateway is unavailable or overloaded.
const (
	DefaultActivationBackoff    = 100 * time.Millisecond
	DefaultMaxActivationBackoff = 10 * time.Second
)

// ActivationBackoff makes job activation back off while the gateway answers UNAVAILABLE,
// RESOURCE_EXHAUSTED or UNAUTHENTICATED: the Zeebe client's poller would otherwise call again
// every poll interval, adding load to an overloaded or recovering cluster, or logging a refused
// password several times a second. Each failure doubles the wait
// before the next ActivateJobs (with jitter, up to max); a successful answer resets it. Pass
// the option in zbc.ClientConfig.DialOpts.
func ActivationBackoff(base, max time.Duration) grpc.DialOption {
	b := &activationBackoff{base: base, max: max}
	return grpc.WithChainStreamInterceptor(b.intercept)
}

type activationBackoff struct {
	base, max time.Duration

	mu       sync.Mutex
	failures int
	until    time.Time
}

func (b *activationBackoff) intercept(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string,
	streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	if method != activateJobsMethod {
		return streamer(ctx, desc, cc, method, opts...)
	}
	if wait := b.wait(); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
	s, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		b.observe(err)
		return nil, err
	}
	return &observedStream{ClientStream: s, b: b}, nil
}

func (b *activationBackoff) wait() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return time.Until(b.until)
}

// observe records an answer: a backing-off code extends the wait, anything else resets it.
func (b *activationBackoff) observe(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch status.Code(err) {
	case codes.Unavailable, codes.ResourceExhausted, codes.Unauthenticated:
		b.failures++
		d := b.base << min(b.failures-1, 20)
		if d > b.max || d <= 0 {
			d = b.max
		}
		b.until = time.Now().Add(d/2 + rand.N(d/2+1))
	default:
		b.failures, b.until = 0, time.Time{}
	}
}

type observedStream struct {
	grpc.ClientStream
	b *activationBackoff
}

func (s *observedStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != io.EOF {
		s.b.observe(err)
	}
	return err
}
