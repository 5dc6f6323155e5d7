package testkit

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"
)

// Listen opens a listener on a free loopback port.
func Listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// Serve runs serve on ln until the test ends, then calls shutdown and
// fails the test unless both went well. A server that says it was closed
// (http.ErrServerClosed) went well.
func Serve(t testing.TB, ln net.Listener, serve func(net.Listener) error, shutdown func(context.Context) error) {
	t.Helper()
	served := make(chan error, 1)
	go func() { served <- serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
}
