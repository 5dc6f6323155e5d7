package core

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// ErrPasswordsBusy refuses a room password when the server's queue of
// passwords to hash or check is full.
var ErrPasswordsBusy = errors.New("the server is busy checking room passwords: try again in a moment")

// passwordGate bounds the bcrypt work of the whole server: at most
// workers hashes run at once, at most queue more wait for a turn, and
// anything beyond is refused at once. bcrypt is slow on purpose, so
// without it a few clients creating password rooms take every core.
type passwordGate struct {
	workers, queue int
	cost           int           // bcrypt cost of new hashes
	admitted       chan struct{} // running or waiting: workers+queue slots
	running        chan struct{} // running: workers slots
}

func newPasswordGate(workers, queue, cost int) *passwordGate {
	return &passwordGate{
		workers:  workers,
		queue:    queue,
		cost:     cost,
		admitted: make(chan struct{}, workers+queue),
		running:  make(chan struct{}, workers),
	}
}

// run does f in its turn, or refuses with ErrPasswordsBusy.
func (g *passwordGate) run(f func()) error {
	select {
	case g.admitted <- struct{}{}:
	default:
		return ErrPasswordsBusy
	}
	defer func() { <-g.admitted }()
	g.running <- struct{}{}
	defer func() { <-g.running }()
	f()
	return nil
}

// compare reports whether password is the one hash was made from.
func (g *passwordGate) compare(hash, password string) (match bool, err error) {
	err = g.run(func() { match = bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil })
	return match, err
}

// hash makes the bcrypt hash of a new room's password.
func (g *passwordGate) hash(password string) (hash string, err error) {
	if gateErr := g.run(func() {
		var b []byte
		b, err = bcrypt.GenerateFromPassword([]byte(password), g.cost)
		hash = string(b)
	}); gateErr != nil {
		return "", gateErr
	}
	return hash, err
}

// passwordWorkLocked counts one bcrypt hash or check for u, refusing it
// once u or u's address asked for password_checks_per_minute in the last
// minute, and returns the gate to run it through. A reload that changes
// the gate's size takes effect for the next password.
func (h *Hub) passwordWorkLocked(u *user) (*passwordGate, error) {
	l := h.cfg.Limits
	now := h.now()
	addr := h.addrWindowLocked(u.ip, "password ")
	if full, wait := u.passwords.full(now, l.PasswordChecks); full {
		h.watch.refused(RefusedPasswordRate)
		return nil, fmt.Errorf("too many room passwords: try again in %s", roundUp(wait))
	}
	if addr != nil {
		if full, wait := addr.full(now, l.PasswordChecks); full {
			h.watch.refused(RefusedPasswordRate)
			return nil, fmt.Errorf("too many room passwords from your address: try again in %s", roundUp(wait))
		}
		addr.add(now)
	}
	u.passwords.add(now)
	if g := h.passwords; g == nil || g.workers != l.PasswordWorkers || g.queue != l.PasswordQueue {
		h.passwords = newPasswordGate(l.PasswordWorkers, l.PasswordQueue, h.passwordCost)
	}
	return h.passwords, nil
}
