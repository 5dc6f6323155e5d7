package core

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Ban keeps someone out: by the SSH key they authenticated with, by their
// address, or both. Addresses are banned by the prefix the connection
// guard counts them by: the address itself for IPv4, its /64 for IPv6.
type Ban struct {
	Fingerprint string       // "SHA256:…", or "" for none
	Prefix      netip.Prefix // invalid for none
	Name        string       // whom it was made for, as they were called
	Reason      string
	By          string // the operator's name
	Since       time.Time
	Until       time.Time // zero: permanent
}

// Active reports whether the ban still holds at now.
func (b Ban) Active(now time.Time) bool { return b.Until.IsZero() || now.Before(b.Until) }

// Covers reports whether the ban applies to a client with that key
// fingerprint ("" for none) and address (invalid for none).
func (b Ban) Covers(fingerprint string, ip netip.Addr) bool {
	if fingerprint != "" && b.Fingerprint == fingerprint {
		return true
	}
	return ip.IsValid() && b.Prefix.IsValid() && b.Prefix.Contains(ip.Unmap())
}

// Target describes what the ban applies to, as /bans shows it.
func (b Ban) Target() string {
	var parts []string
	if b.Fingerprint != "" {
		parts = append(parts, b.Fingerprint)
	}
	if b.Prefix.IsValid() {
		parts = append(parts, prefixText(b.Prefix))
	}
	return strings.Join(parts, " and ")
}

// prefixText shows a single address without its "/32".
func prefixText(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// BanTarget is what /unban names: a key fingerprint, or an address or
// prefix.
type BanTarget struct {
	Fingerprint string
	Prefix      netip.Prefix
}

// ParseBanTarget reads a key fingerprint ("SHA256:…"), an address or an
// address prefix.
func ParseBanTarget(s string) (BanTarget, error) {
	if strings.HasPrefix(s, "SHA256:") {
		if err := checkFingerprint(s); err != nil {
			return BanTarget{}, err
		}
		return BanTarget{Fingerprint: s}, nil
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		return BanTarget{Prefix: p.Masked()}, nil
	}
	if ip, ok := parseAddr(s); ok {
		return BanTarget{Prefix: netip.PrefixFrom(ip, ip.BitLen())}, nil
	}
	return BanTarget{}, fmt.Errorf("%q is neither a key fingerprint (SHA256:…) nor an address", strings.ToValidUTF8(s, "?"))
}

// Matches reports whether the ban is about the target: the same key, or
// an address inside (or a prefix equal to) the banned one.
func (t BanTarget) Matches(b Ban) bool {
	if t.Fingerprint != "" {
		return b.Fingerprint == t.Fingerprint
	}
	if !b.Prefix.IsValid() {
		return false
	}
	if t.Prefix.IsSingleIP() {
		return b.Prefix.Contains(t.Prefix.Addr())
	}
	return b.Prefix == t.Prefix
}

// checkFingerprint accepts an SSH SHA256 key fingerprint as ssh-keygen -l
// and ssh.FingerprintSHA256 print it.
func checkFingerprint(s string) error {
	raw, ok := strings.CutPrefix(s, "SHA256:")
	if b, err := base64.RawStdEncoding.DecodeString(raw); !ok || err != nil || len(b) != 32 {
		return fmt.Errorf("%q is not an SSH key fingerprint: expected SHA256: and 43 base64 characters, as ssh-keygen -lf KEY prints", strings.ToValidUTF8(s, "?"))
	}
	return nil
}

// BanSet is a list of bans with the rules every ban list shares.
type BanSet []Ban

// Find returns the first active ban that covers the client.
func (s BanSet) Find(fingerprint string, ip netip.Addr, now time.Time) (Ban, bool) {
	for _, b := range s {
		if b.Active(now) && b.Covers(fingerprint, ip) {
			return b, true
		}
	}
	return Ban{}, false
}

// Active returns the bans that still hold at now, in order.
func (s BanSet) Active(now time.Time) BanSet {
	out := BanSet{}
	for _, b := range s {
		if b.Active(now) {
			out = append(out, b)
		}
	}
	return out
}

// Without splits the set into the bans t does not match and those it does.
func (s BanSet) Without(t BanTarget) (kept, removed BanSet) {
	kept = BanSet{}
	for _, b := range s {
		if t.Matches(b) {
			removed = append(removed, b)
		} else {
			kept = append(kept, b)
		}
	}
	return kept, removed
}

// BanList holds the operators' bans. The hub asks Check on every connect
// (with its lock held: it must not block) and calls Add and Remove without
// the lock, so an implementation may write a file. now comes from the
// hub's clock; expired bans are never reported and may be forgotten.
type BanList interface {
	// Check returns the active ban covering the client, if any.
	Check(fingerprint string, ip netip.Addr, now time.Time) (Ban, bool)
	// Add records a ban; when it fails, nothing changed.
	Add(b Ban, now time.Time) error
	// Remove lifts every ban t matches and returns them; when it fails,
	// nothing changed.
	Remove(t BanTarget, now time.Time) ([]Ban, error)
	// List returns the active bans, oldest first.
	List(now time.Time) []Ban
}

// MemoryBans is a BanList that lasts until the process ends: the hub's
// default when no ban file is configured.
type MemoryBans struct {
	mu  sync.Mutex
	set BanSet
}

// Check implements BanList.
func (m *MemoryBans) Check(fingerprint string, ip netip.Addr, now time.Time) (Ban, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.set.Find(fingerprint, ip, now)
}

// Add implements BanList.
func (m *MemoryBans) Add(b Ban, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.set = append(m.set.Active(now), b)
	return nil
}

// Remove implements BanList.
func (m *MemoryBans) Remove(t BanTarget, now time.Time) ([]Ban, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	kept, removed := m.set.Active(now).Without(t)
	m.set = kept
	return removed, nil
}

// List implements BanList.
func (m *MemoryBans) List(now time.Time) []Ban {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.set.Active(now)
}

// ErrBanned is what Connect's error matches (errors.Is) when the client
// is banned; the error itself is a *BannedError.
var ErrBanned = errors.New("banned")

// BannedError refuses a banned client, saying why and until when.
type BannedError struct {
	Reason string
	Until  time.Time // zero: permanent
}

func (e *BannedError) Error() string {
	msg := "you are banned from this server"
	if !e.Until.IsZero() {
		msg += " until " + e.Until.UTC().Format("2006-01-02 15:04 MST")
	}
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

// Is makes errors.Is(err, ErrBanned) hold.
func (e *BannedError) Is(target error) bool { return target == ErrBanned }
