package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"
)

// Server is a Service listening on a loopback address.
type Server struct {
	*Service
	srv  *http.Server
	ln   net.Listener
	stop func() bool
}

// Start starts the demo service with default options on addr (e.g.
// "127.0.0.1:0" for a free port). It stops when ctx ends or Close is called.
func Start(ctx context.Context, addr string) (*Server, error) {
	return StartWith(ctx, addr, Options{})
}

// StartWith starts a service with the given options on addr, which must be
// a loopback address: the demo has an unauthenticated admin API.
func StartWith(ctx context.Context, addr string, o Options) (*Server, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("demo address %q: %w; expected host:port such as 127.0.0.1:0", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("demo address %q is not loopback; the demo serves an open admin API, so it listens on 127.0.0.1 or ::1 only", addr)
	}
	svc, err := New(o)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	s := &Server{Service: svc, ln: ln,
		srv: &http.Server{Handler: svc, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}}
	go s.srv.Serve(ln) // returns ErrServerClosed after Close
	// The callback must not read s.stop: a ctx already done runs it at once,
	// before AfterFunc has returned the stop function.
	s.stop = context.AfterFunc(ctx, func() { s.shutdown() })
	return s, nil
}

// URL is the service's base URL, e.g. http://127.0.0.1:38411.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Addr is the address the service listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops the service, letting requests in flight finish for up to 5s.
func (s *Server) Close() error {
	s.stop()
	return s.shutdown()
}

func (s *Server) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.srv.Close()
	}
	return err
}
