package worker

import (
	"context"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// LongPolls lets Stop end the Zeebe client's pending ActivateJobs long polls at once. The
// client's job poller calls the gateway with a context of its own that nothing cancels, and
// its Close waits for the call to end: up to CONNECTOR_REQUEST_TIMEOUT (10 s by default) for
// an idle worker. Pass DialOption in zbc.ClientConfig.DialOpts and the LongPolls in Options;
// Stop then cancels the calls (a long poll that has activated nothing loses nothing) and
// refuses new ones.
type LongPolls struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// NewLongPolls returns LongPolls for one client.
func NewLongPolls() *LongPolls {
	ctx, cancel := context.WithCancel(context.Background())
	return &LongPolls{ctx: ctx, cancel: cancel}
}

// DialOption ties every ActivateJobs call of the client to l.
func (l *LongPolls) DialOption() grpc.DialOption {
	return grpc.WithChainStreamInterceptor(l.intercept)
}

// Cancel ends the pending ActivateJobs calls and makes later ones fail at once.
func (l *LongPolls) Cancel() { l.cancel() }

func (l *LongPolls) intercept(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string,
	streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	if method != activateJobsMethod {
		return streamer(ctx, desc, cc, method, opts...)
	}
	if l.ctx.Err() != nil {
		return nil, status.Error(codes.Canceled, "job activation stopped: the worker is stopping")
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(l.ctx, cancel)
	release := sync.OnceFunc(func() { stop(); cancel() })
	s, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		release()
		return nil, err
	}
	return &releasedStream{ClientStream: s, release: release}, nil
}

// releasedStream releases the call's registration once the stream has ended (the poller reads
// every stream until an error or io.EOF).
type releasedStream struct {
	grpc.ClientStream
	release func()
}

func (s *releasedStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		s.release()
	}
	return err
}
