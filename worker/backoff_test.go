package worker

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camunda/zeebe/clients/go/v8/pkg/entities"
	"github.com/camunda/zeebe/clients/go/v8/pkg/pb"
	zworker "github.com/camunda/zeebe/clients/go/v8/pkg/worker"
	"github.com/camunda/zeebe/clients/go/v8/pkg/zbc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// overloadedGateway answers ActivateJobs with RESOURCE_EXHAUSTED while overloaded, else with
// no jobs, and counts the calls.
type overloadedGateway struct {
	pb.UnimplementedGatewayServer
	overloaded atomic.Bool
	calls      atomic.Int64
}

func (g *overloadedGateway) ActivateJobs(_ *pb.ActivateJobsRequest, s pb.Gateway_ActivateJobsServer) error {
	g.calls.Add(1)
	if g.overloaded.Load() {
		return status.Error(codes.ResourceExhausted, "backpressure")
	}
	return s.Send(&pb.ActivateJobsResponse{})
}

// countActivations runs a job worker polling every 5 ms for d and returns how often it called
// ActivateJobs.
func countActivations(t *testing.T, g *overloadedGateway, d time.Duration, opts ...grpc.DialOption) int64 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	pb.RegisterGatewayServer(srv, g)
	go srv.Serve(ln)
	defer srv.Stop()
	client, err := zbc.NewClient(&zbc.ClientConfig{GatewayAddress: ln.Addr().String(), UsePlaintextConnection: true, DialOpts: opts})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	g.calls.Store(0)
	w := client.NewJobWorker().JobType("t").Handler(func(zworker.JobClient, entities.Job) {}).
		PollInterval(5 * time.Millisecond).RequestTimeout(50 * time.Millisecond).Open()
	time.Sleep(d)
	n := g.calls.Load()
	w.Close()
	return n
}

// While the gateway pushes back, the worker backs off instead of polling every interval, and
// it recovers on its own when the gateway does.
func TestActivationBacksOffUnderBackpressure(t *testing.T) {
	g := &overloadedGateway{}
	g.overloaded.Store(true)
	plain := countActivations(t, g, time.Second)
	backedOff := countActivations(t, g, time.Second, ActivationBackoff(20*time.Millisecond, 400*time.Millisecond))
	t.Logf("ActivateJobs calls in 1s of RESOURCE_EXHAUSTED: %d without backoff, %d with", plain, backedOff)
	if backedOff*4 > plain {
		t.Fatalf("with backoff %d calls, without %d: expected at least 4 times fewer", backedOff, plain)
	}
	b := &activationBackoff{base: 20 * time.Millisecond, max: 400 * time.Millisecond}
	for i := 0; i < 10; i++ {
		b.observe(status.Error(codes.Unavailable, "down"))
	}
	if w := b.wait(); w <= 0 || w > 400*time.Millisecond {
		t.Fatalf("wait after failures = %v", w)
	}
	b.observe(nil)
	if w := b.wait(); w > 0 {
		t.Fatalf("a success must reset the backoff, wait = %v", w)
	}
	// Credentials refused while running (a password changed) are not retried every interval.
	b.observe(status.Error(codes.Unauthenticated, "invalid credentials"))
	if w := b.wait(); w <= 0 {
		t.Fatalf("no backoff after UNAUTHENTICATED, wait = %v", w)
	}
}
