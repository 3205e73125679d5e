package engine

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/camunda/zeebe/clients/go/v8/pkg/pb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// With RequireBasicAuth, unary calls and streams (job activation) need the right credentials,
// and a refusal says why without repeating what was sent.
func TestRequireBasicAuth(t *testing.T) {
	e := New(Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := e.Serve(ctx, "127.0.0.1:0", RequireBasicAuth("demo", "right-pw"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	conn, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	gw := pb.NewGatewayClient(conn)
	basic := func(userPass string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(userPass)) }
	for _, c := range []struct {
		name, authorization string
		want                codes.Code
		wantMsg             string
	}{
		{"none", "", codes.Unauthenticated, "requires basic authentication"},
		{"wrong password", basic("demo:wrong-pw"), codes.Unauthenticated, "wrong username or password"},
		{"wrong user", basic("admin:right-pw"), codes.Unauthenticated, "wrong username or password"},
		{"bearer token", "Bearer abc.def", codes.Unauthenticated, "another scheme"},
		{"right", basic("demo:right-pw"), codes.OK, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if c.authorization != "" {
				cctx = metadata.AppendToOutgoingContext(cctx, "authorization", c.authorization)
			}
			_, unaryErr := gw.Topology(cctx, &pb.TopologyRequest{})
			stream, err := gw.ActivateJobs(cctx, &pb.ActivateJobsRequest{Type: "t", Worker: "w", MaxJobsToActivate: 1, Timeout: 1000, RequestTimeout: 10})
			if err == nil {
				_, err = stream.Recv()
			}
			if err == io.EOF {
				err = nil
			}
			for call, err := range map[string]error{"Topology": unaryErr, "ActivateJobs": err} {
				if status.Code(err) != c.want || !strings.Contains(status.Convert(err).Message(), c.wantMsg) {
					t.Errorf("%s: %v, want %v with %q", call, err, c.want, c.wantMsg)
				}
				if strings.Contains(status.Convert(err).Message(), "pw") {
					t.Errorf("%s: the refusal repeats the credentials: %v", call, err)
				}
			}
		})
	}
}
