package engine

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camunda/zeebe/clients/go/v8/pkg/pb"
	"github.com/camunda/zeebe/clients/go/v8/pkg/zbc"
	"github.com/twilio-connector/twilio-connector/test/wait"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
)

// gzipClient connects to the engine with calls compressed by gzip, as Camunda's Node SDK sends
// them. It uses grpc's legacy per-connection compressor on purpose: grpc.UseCompressor("gzip")
// would need this test to import google.golang.org/grpc/encoding/gzip, which registers the codec
// for the server too and so would hide a server that does not register it.
func gzipClient(t *testing.T, te *testEngine) zbc.Client {
	t.Helper()
	client, err := zbc.NewClient(&zbc.ClientConfig{
		GatewayAddress: te.addr, UsePlaintextConnection: true,
		DialOpts: []grpc.DialOption{grpc.WithCompressor(grpc.NewGZIPCompressor()), grpc.WithDecompressor(grpc.NewGZIPDecompressor())},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// publish publishes a message whose variables document is size bytes long.
func publish(t *testing.T, client zbc.Client, size int) error {
	t.Helper()
	doc := `{"blob":"` + strings.Repeat("x", size-len(`{"blob":""}`)) + `"}`
	cmd, err := client.NewPublishMessageCommand().MessageName("big").CorrelationKey("k").VariablesFromString(doc)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cmd.Send(ctxFor(t, 10*time.Second))
	return err
}

func TestGzipCompressedCallsAreAccepted(t *testing.T) {
	te := startEngine(t)
	client := gzipClient(t, te)
	resp, err := client.NewTopologyCommand().Send(ctxFor(t, 5*time.Second))
	if err != nil {
		t.Fatalf("gzip-compressed Topology: %v", err)
	}
	if resp.GatewayVersion != GatewayVersion {
		t.Fatalf("gateway version %q, want %q", resp.GatewayVersion, GatewayVersion)
	}
	if err := publish(t, client, 1<<20); err != nil {
		t.Fatalf("gzip-compressed PublishMessage of 1 MB: %v", err)
	}
}

func TestMessagesOverMaxMessageSizeAreRefused(t *testing.T) {
	te := startEngine(t)
	// The request adds a few bytes of protobuf framing and the other fields to the document.
	if err := publish(t, te.client, MaxMessageSize-1024); err != nil {
		t.Fatalf("a message just under %d bytes: %v", MaxMessageSize, err)
	}
	wantCode(t, publish(t, te.client, MaxMessageSize+1), codes.ResourceExhausted)
	// The limit holds after decompression: 4 MB of one letter compress to a few kilobytes.
	wantCode(t, publish(t, gzipClient(t, te), MaxMessageSize+1), codes.ResourceExhausted)
}

func TestConcurrentCallsPerConnectionAreBounded(t *testing.T) {
	te := startEngine(t)
	conn, err := grpc.NewClient(te.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	gw := pb.NewGatewayClient(conn)
	ctx, cancel := context.WithCancel(context.Background())
	var calls sync.WaitGroup
	defer func() { cancel(); calls.Wait() }()
	// Long polls on one connection, more than the limit; the client queues those over it.
	const extra = 10
	for range MaxConcurrentStreams + extra {
		calls.Go(func() {
			stream, err := gw.ActivateJobs(ctx, &pb.ActivateJobsRequest{Type: "bounded", Worker: "w", MaxJobsToActivate: 1, Timeout: 1000, RequestTimeout: 60000})
			if err == nil {
				_, _ = stream.Recv()
			}
		})
	}
	polls := func() int {
		te.mu.Lock()
		defer te.mu.Unlock()
		return te.waitingPolls
	}
	wait.Until(t, 20*time.Second, "the long polls to reach the engine", func() bool { return polls() >= MaxConcurrentStreams })
	// Without the limit the last calls reach the engine within milliseconds; give them time to.
	time.Sleep(300 * time.Millisecond)
	if n := polls(); n != MaxConcurrentStreams {
		t.Fatalf("%d long polls in the engine from one connection, want at most %d", n, MaxConcurrentStreams)
	}
}

// TestGRPCOutsideKnownAdvisories fails when go.mod moves google.golang.org/grpc back inside the
// ranges of GHSA-m425-mq94-257g (HTTP/2 rapid reset, fixed in 1.58.3) or GHSA-hrxh-6v49-42gf
// (fixed in 1.82.1). It reads go.mod since test binaries carry no dependency versions.
func TestGRPCOutsideKnownAdvisories(t *testing.T) {
	const module, fixed = "google.golang.org/grpc", "v1.82.1"
	data, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	version := ""
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
		switch {
		case len(f) >= 2 && f[0] == module && f[1] == "=>", len(f) >= 3 && f[1] == module && f[0] == "replace":
			t.Fatalf("go.mod replaces %s: check the replacement against the advisories, then adapt this test", module)
		case len(f) >= 2 && f[0] == module:
			version = f[1]
		}
	}
	if version == "" {
		t.Fatalf("go.mod requires no %s", module)
	}
	if versionLess(version, fixed) {
		t.Fatalf("go.mod requires %s %s, inside published advisories: raise it to %s or later", module, version, fixed)
	}
}

// versionLess compares module versions vMAJOR.MINOR.PATCH[-pre]; a pre-release sorts before its
// release.
func versionLess(a, b string) bool {
	na, preA := splitVersion(a)
	nb, preB := splitVersion(b)
	for i := range na {
		if na[i] != nb[i] {
			return na[i] < nb[i]
		}
	}
	return preA && !preB
}

func splitVersion(v string) (nums [3]int, pre bool) {
	core, _, pre := strings.Cut(strings.TrimPrefix(v, "v"), "-")
	for i, part := range strings.SplitN(core, ".", 3) {
		nums[i], _ = strconv.Atoi(part)
	}
	return nums, pre
}

func TestVersionLess(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"v1.58.2", "v1.82.1", true},
		{"v1.82.0", "v1.82.1", true},
		{"v1.82.1-dev", "v1.82.1", true},
		{"v1.82.1", "v1.82.1", false},
		{"v1.85.0", "v1.82.1", false},
		{"v2.0.0", "v1.82.1", false},
	} {
		if got := versionLess(c.a, c.b); got != c.want {
			t.Errorf("versionLess(%s, %s) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
