package core

import (
	"strings"
	"testing"
	"time"
)

func TestConnGuard(t *testing.T) {
	l := DefaultLimits()
	l.ConnsPerIP, l.NewConnsPerMinute = 2, 3
	g, err := NewConnGuard(l)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	g.now = clock.Now

	r1, err := g.Admit("192.0.2.7:5000")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Admit("192.0.2.7:5001"); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Admit("192.0.2.7:5002"); err == nil || !strings.Contains(err.Error(), "at most 2 at once") {
		t.Fatalf("third concurrent connection: %v", err)
	}
	if _, err := g.Admit("192.0.2.8:5000"); err != nil {
		t.Fatalf("another address is limited too: %v", err)
	}
	r1()
	r1()
	r3, err := g.Admit("192.0.2.7:5003")
	if err != nil {
		t.Fatalf("a released slot was not freed: %v", err)
	}
	r3()
	if _, err := g.Admit("192.0.2.7:5004"); err == nil || !strings.Contains(err.Error(), "new connections") {
		t.Fatalf("fourth new connection in a minute: %v", err)
	}
	// IPv6 addresses in one /64 share their limits.
	for i, a := range []string{"[2001:db8::1]:1", "[2001:db8::2]:1"} {
		if _, err := g.Admit(a); err != nil {
			t.Fatalf("v6 %d: %v", i, err)
		}
	}
	if _, err := g.Admit("[2001:db8::3]:1"); err == nil {
		t.Fatal("a /64 was not limited as one client")
	}
	if _, err := g.Admit("[2001:db8:0:1::3]:1"); err != nil {
		t.Fatalf("the next /64 is another client: %v", err)
	}
	for i := 0; i < 100; i++ {
		if _, err := g.Admit("127.0.0.1:1"); err != nil {
			t.Fatalf("loopback is exempt by default: %v", err)
		}
	}
	clock.Add(time.Minute)
	if _, err := g.Admit("192.0.2.8:5000"); err != nil {
		t.Fatalf("a minute later: %v", err)
	}
}

func TestExemptIPsAreValidated(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Limits.ExemptIPs = []string{"10.0.0.0/8", "not-an-ip"}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "not-an-ip") {
		t.Fatalf("bad exempt_ips: %v", err)
	}
}
