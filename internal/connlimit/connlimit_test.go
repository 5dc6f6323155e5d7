package connlimit

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"parley/internal/testkit"
)

// dialFrom connects to addr from the local address ip (any 127.0.0.0/8
// address is this machine's on Linux).
func dialFrom(t *testing.T, ip, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: testkit.WaitLimit}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedByServer reports whether the server closed c (a read ends in
// EOF or a reset) within the test's wait limit.
func closedByServer(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(testkit.WaitLimit))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

func serveHTTP(t *testing.T, ln net.Listener, h http.Handler) string {
	t.Helper()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	testkit.Serve(t, ln, srv.Serve, srv.Shutdown)
	return ln.Addr().String()
}

func hello() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte("hello"))
	})
}

// Connections past the per-address cap are closed at once, those of
// other addresses are served, and a closed connection frees its slot.
func TestConnectionsPerAddressAndInTotal(t *testing.T) {
	var refused atomic.Int32
	ln := Listen(testkit.Listen(t), Limits{PerAddress: 3, Total: 5,
		Exempt:  []netip.Prefix{netip.MustParsePrefix("127.0.0.9/32")},
		Refused: func(netip.Addr, string) { refused.Add(1) }})
	addr := serveHTTP(t, ln, hello())

	var held []net.Conn
	for range 3 {
		held = append(held, dialFrom(t, "127.0.0.2", addr))
	}
	testkit.Eventually(t, "three connections open", func() bool { return ln.Open() == 3 })
	if !closedByServer(dialFrom(t, "127.0.0.2", addr)) {
		t.Fatal("a fourth connection from one address was kept")
	}
	get := func(ip string) error {
		c := dialFrom(t, ip, addr)
		defer c.Close()
		c.SetDeadline(time.Now().Add(testkit.WaitLimit))
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
			return err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	if err := get("127.0.0.3"); err != nil {
		t.Fatalf("another address is not served: %v", err)
	}
	held[0].Close()
	testkit.Eventually(t, "a slot freed", func() bool { return ln.Open() == 2 })
	if err := get("127.0.0.2"); err != nil {
		t.Fatalf("a closed connection did not free its slot: %v", err)
	}
	// The server counts that connection until it has seen it close.
	testkit.Eventually(t, "the served connection gone", func() bool { return ln.Open() == 2 })
	// Exempt from the per-address cap, not from the total.
	for range 3 {
		held = append(held, dialFrom(t, "127.0.0.9", addr))
	}
	testkit.Eventually(t, "the total reached", func() bool { return ln.Open() == 5 })
	if !closedByServer(dialFrom(t, "127.0.0.4", addr)) {
		t.Fatal("a connection past the total was kept")
	}
	if refused.Load() != 2 {
		t.Fatalf("%d refusals reported, want 2", refused.Load())
	}
}

// A request announcing a body and sending a few bytes of it is cut off
// at the deadline; a page request on another connection is answered.
func TestSlowBodiesAreCutOff(t *testing.T) {
	addr := serveHTTP(t, testkit.Listen(t), BodyDeadline(hello(), 300*time.Millisecond))
	var slow []net.Conn
	for range 5 {
		c := dialFrom(t, "127.0.0.2", addr)
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc")
		slow = append(slow, c)
	}
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello" {
		t.Fatalf("page: %q", body)
	}
	for i, c := range slow {
		if !closedByServer(c) {
			t.Fatalf("slow request %d still open", i)
		}
	}
}

// Upgrades and long event streams keep no deadline.
func TestRequestsWithoutABodyKeepNoDeadline(t *testing.T) {
	streamed := make(chan struct{})
	h := BodyDeadline(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(time.Second):
			close(streamed)
		}
	}), 50*time.Millisecond)
	addr := serveHTTP(t, testkit.Listen(t), h)
	ctx, cancel := context.WithTimeout(context.Background(), testkit.WaitLimit)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	select {
	case <-streamed:
	default:
		t.Fatal("a stream without a request body was cut off")
	}
}

func TestPrefix(t *testing.T) {
	for in, want := range map[string]string{"192.0.2.7": "192.0.2.7/32", "2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64"} {
		if got := Prefix(netip.MustParseAddr(in)).String(); !strings.EqualFold(got, want) {
			t.Errorf("Prefix(%s) = %s, want %s", in, got, want)
		}
	}
}
