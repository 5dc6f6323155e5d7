package core

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// cheapPasswords makes new room passwords cost bcrypt's minimum, so
// that tests under the race detector need not wait for real hashing.
func cheapPasswords(h *Hub) {
	h.mu.Lock()
	h.passwordCost = bcrypt.MinCost
	h.mu.Unlock()
}

// pollUntil polls cond (a state another goroutine reaches) with a bound.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// The gate runs workers at once, queues queue more and refuses the rest
// at once with a clear message; the queued one runs once a worker is free.
func TestPasswordGateQueuesThenRefuses(t *testing.T) {
	g := newPasswordGate(1, 1, bcrypt.MinCost)
	release := make(chan struct{})
	var wg sync.WaitGroup
	ran := make(chan int, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.run(func() { <-release; ran <- i }); err != nil {
				t.Errorf("run %d: %v", i, err)
			}
		}()
		pollUntil(t, fmt.Sprintf("run %d admitted", i), func() bool { return len(g.admitted) == i+1 })
	}
	if err := g.run(func() { t.Error("a third run went through a full gate") }); !errors.Is(err, ErrPasswordsBusy) {
		t.Fatalf("a third run: %v", err)
	}
	if len(g.running) != 1 {
		t.Fatalf("%d running at once, want 1", len(g.running))
	}
	close(release)
	wg.Wait()
	if len(ran) != 2 {
		t.Fatalf("%d runs done, want 2", len(ran))
	}
}

// Creating password rooms costs a bcrypt hash each: one user may have
// password_checks_per_minute of them, and so may one address shared by
// several users; then they are refused, and others still chat.
func TestPasswordRoomsAreLimitedPerUserAndAddress(t *testing.T) {
	h, clock := newClockHub(t, func(c *Config) { c.Limits.PasswordChecks = 3 })
	cheapPasswords(h)
	bob := connectFrom(t, h, "bob", "192.0.2.1:1")
	carol := connectFrom(t, h, "carol", "192.0.2.1:2")
	mallory := connectFrom(t, h, "mallory", "198.51.100.7:1")
	mallory2 := connectFrom(t, h, "mallory2", "198.51.100.7:2")
	for i := range 3 {
		clock.Add(time.Second) // within the message rate
		if err := mallory.Input(fmt.Sprintf("/join #m%d secret", i)); err != nil {
			t.Fatalf("password room %d: %v", i, err)
		}
	}
	clock.Add(time.Second)
	if err := mallory.Input("/join #m3 secret"); err == nil || !strings.Contains(err.Error(), "too many room passwords") {
		t.Fatalf("a fourth password room: %v", err)
	}
	if err := mallory2.Input("/join #n0 secret"); err == nil || !strings.Contains(err.Error(), "from your address") {
		t.Fatalf("another user from the same address: %v", err)
	}
	if h.roomExists("m3") || h.roomExists("n0") {
		t.Fatal("a refused room was created")
	}
	if err := mallory.Input("/join #plain"); err != nil {
		t.Fatalf("a room without a password: %v", err)
	}
	if err := bob.Input("/join #ours secret"); err != nil {
		t.Fatalf("a user from another address: %v", err)
	}
	if err := carol.Input("/join #ours secret"); err != nil {
		t.Fatalf("joining with the right password: %v", err)
	}
	if err := carol.Input("hello"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, bob, "carol's message", message("hello"))
	clock.Add(time.Minute)
	if err := mallory.Input("/join #m3 secret"); err != nil {
		t.Fatalf("a password room a minute later: %v", err)
	}
}

// When the server's password queue is full, a room password is refused
// at once with a clear message, and nothing is created.
func TestPasswordRoomRefusedWhenTheServerIsBusy(t *testing.T) {
	h := newTestHub(t, func(c *Config) { c.Limits.PasswordWorkers, c.Limits.PasswordQueue = 1, 0 })
	cheapPasswords(h)
	owner := connect(t, h, "owner")
	if err := owner.Input("/join #vault secret"); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	gate := h.passwords
	h.mu.Unlock()
	release := make(chan struct{})
	done := make(chan error)
	go func() { done <- gate.run(func() { <-release }) }()
	pollUntil(t, "the worker taken", func() bool { return len(gate.running) == 1 })

	guest := connect(t, h, "guest")
	for _, line := range []string{"/join #new secret", "/join #vault secret"} {
		if err := guest.Input(line); !errors.Is(err, ErrPasswordsBusy) {
			t.Errorf("%s with the queue full: %v", line, err)
		}
	}
	if h.roomExists("new") {
		t.Fatal("a room was created without its password hash")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := guest.Input("/join #vault secret"); err != nil {
		t.Fatalf("once the queue is free: %v", err)
	}
}

func (h *Hub) roomExists(name string) bool {
	h.mu.Lock()
	defer h.unlock()
	return h.convs["#"+name] != nil
}
