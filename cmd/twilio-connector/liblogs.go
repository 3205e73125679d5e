package main

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"strings"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/grpclog"
)

// routeLibraryLogs sends what the libraries log on their own through the connector's logger, so
// that CONNECTOR_LOG_FORMAT=json gives only JSON lines: the Zeebe client writes with the
// standard log package, gRPC with grpclog, go-redis with its own logger. Call it before any of
// them runs (grpclog's logger is not safe to replace later).
func routeLibraryLogs(logger *slog.Logger) {
	zeebe := logger.With("component", "zeebe-client")
	log.SetFlags(0)
	log.SetOutput(lineWriter(func(line string) {
		level := slog.LevelWarn
		if strings.Contains(line, "code = Canceled") { // a long poll ended by the shutdown
			level = slog.LevelDebug
		}
		zeebe.Log(context.Background(), level, line)
	}))
	grpclog.SetLoggerV2(grpcLogger{logger.With("component", "grpc")})
	redis.SetLogger(redisLogger{logger.With("component", "redis")})
}

// lineWriter calls emit with each line written (the standard logger writes one per call).
type lineWriter func(line string)

func (w lineWriter) Write(p []byte) (int, error) {
	for line := range bytes.SplitSeq(bytes.TrimRight(p, "\n"), []byte("\n")) {
		w(string(line))
	}
	return len(p), nil
}

// grpcLogger is a grpclog.LoggerV2 over slog. gRPC's own default prints only errors; its info
// and warnings (connection attempts, mostly) are debug here.
type grpcLogger struct{ log *slog.Logger }

func (g grpcLogger) emit(level slog.Level, msg string) {
	g.log.Log(context.Background(), level, strings.TrimSpace(msg))
}

func (g grpcLogger) Info(args ...any)   { g.emit(slog.LevelDebug, fmt.Sprint(args...)) }
func (g grpcLogger) Infoln(args ...any) { g.emit(slog.LevelDebug, fmt.Sprintln(args...)) }
func (g grpcLogger) Infof(format string, args ...any) {
	g.emit(slog.LevelDebug, fmt.Sprintf(format, args...))
}
func (g grpcLogger) Warning(args ...any)   { g.emit(slog.LevelDebug, fmt.Sprint(args...)) }
func (g grpcLogger) Warningln(args ...any) { g.emit(slog.LevelDebug, fmt.Sprintln(args...)) }
func (g grpcLogger) Warningf(format string, args ...any) {
	g.emit(slog.LevelDebug, fmt.Sprintf(format, args...))
}
func (g grpcLogger) Error(args ...any)   { g.emit(slog.LevelWarn, fmt.Sprint(args...)) }
func (g grpcLogger) Errorln(args ...any) { g.emit(slog.LevelWarn, fmt.Sprintln(args...)) }
func (g grpcLogger) Errorf(format string, args ...any) {
	g.emit(slog.LevelWarn, fmt.Sprintf(format, args...))
}
func (g grpcLogger) Fatal(args ...any)                 { g.fatal(fmt.Sprint(args...)) }
func (g grpcLogger) Fatalln(args ...any)               { g.fatal(fmt.Sprintln(args...)) }
func (g grpcLogger) Fatalf(format string, args ...any) { g.fatal(fmt.Sprintf(format, args...)) }
func (g grpcLogger) V(l int) bool                      { return g.log.Enabled(context.Background(), slog.LevelDebug) }

func (g grpcLogger) fatal(msg string) {
	g.emit(slog.LevelError, msg)
	os.Exit(1)
}

// redisLogger is go-redis's logger over slog: it reports connection trouble.
type redisLogger struct{ log *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.log.Log(ctx, slog.LevelWarn, strings.TrimSpace(fmt.Sprintf(format, v...)))
}
