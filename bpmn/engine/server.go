package engine

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/camunda/zeebe/clients/go/v8/pkg/pb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	_ "google.golang.org/grpc/encoding/gzip" // Camunda's Node SDK compresses calls with gzip; a Zeebe gateway accepts them
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Limits of the gateway endpoint, as a Zeebe gateway applies them.
const (
	// MaxMessageSize is the largest request accepted, after decompression: Zeebe's gateway
	// default (zeebe.gateway.network.maxMessageSize, 4MB). Larger calls fail with ResourceExhausted.
	MaxMessageSize = 4 << 20
	// MaxConcurrentStreams bounds the calls in flight on one connection; clients queue the rest.
	// It also bounds the handlers an HTTP/2 rapid reset can start.
	MaxConcurrentStreams = 1000
	// MinKeepAliveInterval is the shortest client ping interval tolerated (Zeebe's
	// minKeepAliveInterval, 30s); the Zeebe Go client pings every 45 s by default.
	MinKeepAliveInterval = 30 * time.Second
)

// Server is a running gateway endpoint of an Engine.
type Server struct {
	grpc     *grpc.Server
	listener net.Listener
	done     chan struct{}
	once     sync.Once
}

// Addr returns the address the server listens on, e.g. "127.0.0.1:41234".
func (s *Server) Addr() string { return s.listener.Addr().String() }

// Close stops the server at once, ending open calls (long polls included). It is safe to call
// more than once.
func (s *Server) Close() error {
	s.once.Do(func() {
		s.grpc.Stop()
		<-s.done
	})
	return nil
}

// ServeOption changes how Serve serves the gateway API.
type ServeOption func(*[]grpc.ServerOption)

// RequireBasicAuth makes the gateway refuse every call that does not carry the gRPC metadata
// "authorization: Basic base64(username:password)" with code Unauthenticated, as a Camunda
// 8.8 gateway with basic authentication does. The messages never repeat what was sent.
func RequireBasicAuth(username, password string) ServeOption {
	want := []byte("Basic " + base64.StdEncoding.EncodeToString([]byte(username+":"+password)))
	check := func(ctx context.Context) error {
		md, _ := metadata.FromIncomingContext(ctx)
		got := md.Get("authorization")
		switch {
		case len(got) == 0:
			return status.Error(codes.Unauthenticated, "this gateway requires basic authentication: send the metadata authorization: Basic base64(username:password)")
		case !strings.HasPrefix(got[0], "Basic "):
			return status.Error(codes.Unauthenticated, "this gateway requires basic authentication, but the authorization metadata is of another scheme (an OAuth token?)")
		case subtle.ConstantTimeCompare([]byte(got[0]), want) != 1:
			return status.Error(codes.Unauthenticated, "invalid credentials: wrong username or password")
		}
		return nil
	}
	return func(opts *[]grpc.ServerOption) {
		*opts = append(*opts,
			grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
				if err := check(ctx); err != nil {
					return nil, err
				}
				return next(ctx, req)
			}),
			grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, next grpc.StreamHandler) error {
				if err := check(ss.Context()); err != nil {
					return err
				}
				return next(srv, ss)
			}))
	}
}

// Serve listens on addr ("127.0.0.1:0" picks a free port) and serves the Zeebe gateway API
// until ctx ends or Close is called.
func (e *Engine) Serve(ctx context.Context, addr string, options ...ServeOption) (*Server, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dev engine: listen on %s: %w", addr, err)
	}
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(MaxMessageSize),
		grpc.MaxConcurrentStreams(MaxConcurrentStreams),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: MinKeepAliveInterval, PermitWithoutStream: true}),
	}
	for _, o := range options {
		o(&opts)
	}
	gs := grpc.NewServer(opts...)
	pb.RegisterGatewayServer(gs, &gateway{e: e, addr: lis.Addr()})
	s := &Server{grpc: gs, listener: lis, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if err := gs.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			e.log.Error("dev engine gateway stopped", "err", err)
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
			_ = s.Close()
		case <-s.done:
		}
	}()
	e.log.Warn("Zeebe dev engine started: an in-memory development engine for local runs and tests, not for production",
		"address", s.Addr(), "gatewayVersion", GatewayVersion)
	return s, nil
}

// gateway maps the gRPC API onto the engine. Request validation that Zeebe's gateway does
// happens here; state-dependent rejections come from the engine.
type gateway struct {
	pb.UnimplementedGatewayServer
	e    *Engine
	addr net.Addr
}

var _ pb.GatewayServer = (*gateway)(nil)

func (g *gateway) ActivateJobs(req *pb.ActivateJobsRequest, stream pb.Gateway_ActivateJobsServer) error {
	switch {
	case req.Type == "":
		return status.Error(codes.InvalidArgument, "Expected to activate jobs for a non-empty type, but none given")
	case req.Worker == "":
		return status.Error(codes.InvalidArgument, "Expected to activate jobs for a non-empty worker name, but none given")
	case req.MaxJobsToActivate < 1:
		return status.Errorf(codes.InvalidArgument, "Expected to activate at least 1 job, but %d requested", req.MaxJobsToActivate)
	case req.Timeout < 1:
		return status.Errorf(codes.InvalidArgument, "Expected to activate jobs with a timeout of at least 1 ms, but %d given", req.Timeout)
	}
	wait := time.Duration(req.RequestTimeout) * time.Millisecond
	if req.RequestTimeout == 0 {
		wait = DefaultLongPollTimeout
	}
	jobs, err := g.e.pollJobs(stream.Context(), req, wait)
	if err != nil || len(jobs) == 0 {
		return err
	}
	g.e.log.Debug("jobs activated", "type", req.Type, "worker", req.Worker, "count", len(jobs))
	return stream.Send(&pb.ActivateJobsResponse{Jobs: jobs})
}

func (g *gateway) CompleteJob(_ context.Context, req *pb.CompleteJobRequest) (*pb.CompleteJobResponse, error) {
	vars, err := parseVariables("variables", req.Variables)
	if err != nil {
		return nil, err
	}
	return &pb.CompleteJobResponse{}, g.e.completeJob(req.JobKey, vars)
}

func (g *gateway) FailJob(_ context.Context, req *pb.FailJobRequest) (*pb.FailJobResponse, error) {
	vars, err := parseVariables("variables", req.Variables)
	if err != nil {
		return nil, err
	}
	backoff := time.Duration(req.RetryBackOff) * time.Millisecond
	return &pb.FailJobResponse{}, g.e.failJob(req.JobKey, req.Retries, req.ErrorMessage, backoff, vars)
}

func (g *gateway) ThrowError(_ context.Context, req *pb.ThrowErrorRequest) (*pb.ThrowErrorResponse, error) {
	vars, err := parseVariables("variables", req.Variables)
	if err != nil {
		return nil, err
	}
	return &pb.ThrowErrorResponse{}, g.e.throwError(req.JobKey, req.ErrorCode, req.ErrorMessage, vars)
}

func (g *gateway) UpdateJobRetries(_ context.Context, req *pb.UpdateJobRetriesRequest) (*pb.UpdateJobRetriesResponse, error) {
	return &pb.UpdateJobRetriesResponse{}, g.e.updateJobRetries(req.JobKey, req.Retries)
}

func (g *gateway) ResolveIncident(_ context.Context, req *pb.ResolveIncidentRequest) (*pb.ResolveIncidentResponse, error) {
	return &pb.ResolveIncidentResponse{}, g.e.resolveIncident(req.IncidentKey)
}

func (g *gateway) DeployResource(_ context.Context, req *pb.DeployResourceRequest) (*pb.DeployResourceResponse, error) {
	resources := make([]Resource, len(req.Resources))
	for i, r := range req.Resources {
		resources[i] = Resource{Name: r.Name, Content: r.Content}
	}
	key, deployed, err := g.e.Deploy(resources...)
	if err != nil {
		return nil, err
	}
	resp := &pb.DeployResourceResponse{Key: key}
	for _, d := range deployed {
		resp.Deployments = append(resp.Deployments, &pb.Deployment{Metadata: &pb.Deployment_Process{Process: d.metadata()}})
	}
	return resp, nil
}

func (g *gateway) DeployProcess(_ context.Context, req *pb.DeployProcessRequest) (*pb.DeployProcessResponse, error) {
	resources := make([]Resource, len(req.Processes))
	for i, r := range req.Processes {
		resources[i] = Resource{Name: r.Name, Content: r.Definition}
	}
	key, deployed, err := g.e.Deploy(resources...)
	if err != nil {
		return nil, err
	}
	resp := &pb.DeployProcessResponse{Key: key}
	for _, d := range deployed {
		resp.Processes = append(resp.Processes, d.metadata())
	}
	return resp, nil
}

func (d DeployedProcess) metadata() *pb.ProcessMetadata {
	return &pb.ProcessMetadata{BpmnProcessId: d.BpmnProcessID, Version: d.Version, ProcessDefinitionKey: d.ProcessDefinitionKey, ResourceName: d.ResourceName}
}

func (g *gateway) CreateProcessInstance(_ context.Context, req *pb.CreateProcessInstanceRequest) (*pb.CreateProcessInstanceResponse, error) {
	vars, err := checkCreate(req)
	if err != nil {
		return nil, err
	}
	s, err := g.e.createInstance(req.ProcessDefinitionKey, req.BpmnProcessId, req.Version, vars)
	if err != nil {
		return nil, err
	}
	return &pb.CreateProcessInstanceResponse{
		ProcessDefinitionKey: s.ProcessDefinitionKey, BpmnProcessId: s.BpmnProcessID,
		Version: s.Version, ProcessInstanceKey: s.ProcessInstanceKey,
	}, nil
}

func checkCreate(req *pb.CreateProcessInstanceRequest) (map[string]any, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "Expected a create process instance request, but none given")
	}
	if len(req.StartInstructions) > 0 {
		return nil, status.Error(codes.InvalidArgument, "start instructions are not supported by the dev engine")
	}
	return parseVariables("variables", req.Variables)
}

func (g *gateway) CreateProcessInstanceWithResult(ctx context.Context, req *pb.CreateProcessInstanceWithResultRequest) (*pb.CreateProcessInstanceWithResultResponse, error) {
	vars, err := checkCreate(req.Request)
	if err != nil {
		return nil, err
	}
	timeout := time.Duration(req.RequestTimeout) * time.Millisecond
	if req.RequestTimeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	r := req.Request
	s, result, err := g.e.createInstanceWithResult(ctx, r.ProcessDefinitionKey, r.BpmnProcessId, r.Version, vars, timeout, req.FetchVariables)
	if err != nil {
		return nil, err
	}
	return &pb.CreateProcessInstanceWithResultResponse{
		ProcessDefinitionKey: s.ProcessDefinitionKey, BpmnProcessId: s.BpmnProcessID,
		Version: s.Version, ProcessInstanceKey: s.ProcessInstanceKey, Variables: mustJSON(result),
	}, nil
}

func (g *gateway) CancelProcessInstance(_ context.Context, req *pb.CancelProcessInstanceRequest) (*pb.CancelProcessInstanceResponse, error) {
	return &pb.CancelProcessInstanceResponse{}, g.e.cancelInstance(req.ProcessInstanceKey)
}

func (g *gateway) SetVariables(_ context.Context, req *pb.SetVariablesRequest) (*pb.SetVariablesResponse, error) {
	vars, err := parseVariables("variables", req.Variables)
	if err != nil {
		return nil, err
	}
	key, err := g.e.setVariables(req.ElementInstanceKey, vars, req.Local)
	if err != nil {
		return nil, err
	}
	return &pb.SetVariablesResponse{Key: key}, nil
}

func (g *gateway) PublishMessage(_ context.Context, req *pb.PublishMessageRequest) (*pb.PublishMessageResponse, error) {
	vars, err := parseVariables("variables", req.Variables)
	if err != nil {
		return nil, err
	}
	ttl := time.Duration(req.TimeToLive) * time.Millisecond
	key, err := g.e.publishMessage(req.Name, req.CorrelationKey, req.MessageId, ttl, vars)
	if err != nil {
		return nil, err
	}
	return &pb.PublishMessageResponse{Key: key}, nil
}

func (g *gateway) Topology(context.Context, *pb.TopologyRequest) (*pb.TopologyResponse, error) {
	host, portStr, _ := net.SplitHostPort(g.addr.String())
	port, _ := strconv.Atoi(portStr)
	return &pb.TopologyResponse{
		Brokers: []*pb.BrokerInfo{{
			NodeId: 0, Host: host, Port: int32(port), Version: GatewayVersion,
			Partitions: []*pb.Partition{{
				PartitionId: 1,
				Role:        pb.Partition_LEADER,
				Health:      pb.Partition_HEALTHY,
			}},
		}},
		ClusterSize:       1,
		PartitionsCount:   1,
		ReplicationFactor: 1,
		GatewayVersion:    GatewayVersion,
	}, nil
}
