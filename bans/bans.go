// Package bans keeps the operators' bans in a small JSON file, so that
// they hold across restarts. It is the only state Parley writes besides
// its host keys, and sits next to them by default.
//
// Every change rewrites the whole file atomically (a temporary file in
// the same folder, synced, then renamed over the old one, mode 0600), so
// a crash leaves either the old list or the new one, never half of it.
package bans

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"parley/core"
)

// FileName is the ban file's name inside the host key folder.
const FileName = "bans.json"

// formatVersion is written into the file; a file of another version is
// refused rather than misread.
const formatVersion = 1

// Store is a core.BanList kept in a file.
type Store struct {
	path string
	mu   sync.Mutex
	set  core.BanSet
}

var _ core.BanList = (*Store)(nil)

type fileFormat struct {
	Version int      `json:"version"`
	Bans    []record `json:"bans"`
}

type record struct {
	Fingerprint string    `json:"fingerprint,omitempty"`
	IP          string    `json:"ip,omitempty"` // a prefix: 192.0.2.7/32, 2001:db8::/64
	Name        string    `json:"name"`
	Reason      string    `json:"reason,omitempty"`
	By          string    `json:"by"`
	Since       time.Time `json:"since"`
	Until       time.Time `json:"until,omitzero"`
}

// Open reads the ban file at path. A missing file is an empty list (it is
// created on the first ban); a file that cannot be read or understood is
// an error naming it, so a damaged list is never silently replaced.
func Open(path string) (*Store, error) {
	s := &Store{path: path, set: core.BanSet{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ban file: %w", err)
	}
	var f fileFormat
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("ban file %s is damaged (%v): fix or remove it", path, err)
	}
	if f.Version != formatVersion {
		return nil, fmt.Errorf("ban file %s has format version %d; this Parley reads version %d", path, f.Version, formatVersion)
	}
	for i, r := range f.Bans {
		b, err := r.ban()
		if err != nil {
			return nil, fmt.Errorf("ban file %s, ban %d: %w: fix or remove it", path, i+1, err)
		}
		s.set = append(s.set, b)
	}
	return s, nil
}

// maxTextChars bounds the texts of a ban: the most a message may have.
const maxTextChars = 10000

func (r record) ban() (core.Ban, error) {
	b := core.Ban{Name: r.Name, Reason: r.Reason, By: r.By, Since: r.Since, Until: r.Until}
	// The reason reaches the banned user's terminal and the names reach
	// the operators': a hand edit is checked like anything a user types.
	for _, f := range []struct{ key, text string }{{"reason", r.Reason}, {"name", r.Name}, {"by", r.By}} {
		if _, err := core.CleanMessage(f.text, maxTextChars); err != nil && !errors.Is(err, core.ErrEmpty) {
			return b, fmt.Errorf("bad %s: %w", f.key, err)
		}
	}
	if r.Fingerprint != "" {
		t, err := core.ParseBanTarget(r.Fingerprint)
		if err != nil || t.Fingerprint == "" {
			return b, fmt.Errorf("bad fingerprint %q", r.Fingerprint)
		}
		b.Fingerprint = t.Fingerprint
	}
	if r.IP != "" {
		p, err := netip.ParsePrefix(r.IP)
		if err != nil {
			return b, fmt.Errorf("bad address prefix %q", r.IP)
		}
		b.Prefix = p.Masked()
	}
	if b.Fingerprint == "" && !b.Prefix.IsValid() {
		return b, errors.New("neither a fingerprint nor an address")
	}
	return b, nil
}

func toRecord(b core.Ban) record {
	r := record{Fingerprint: b.Fingerprint, Name: b.Name, Reason: b.Reason, By: b.By, Since: b.Since, Until: b.Until}
	if b.Prefix.IsValid() {
		r.IP = b.Prefix.String()
	}
	return r
}

// Path is the file the store writes.
func (s *Store) Path() string { return s.path }

// Check implements core.BanList.
func (s *Store) Check(fingerprint string, ip netip.Addr, now time.Time) (core.Ban, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.set.Find(fingerprint, ip, now)
}

// Add implements core.BanList: it writes the list without the expired
// bans and with b.
func (s *Store) Add(b core.Ban, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := append(s.set.Active(now), b)
	if err := s.write(next); err != nil {
		return err
	}
	s.set = next
	return nil
}

// Remove implements core.BanList.
func (s *Store) Remove(t core.BanTarget, now time.Time) ([]core.Ban, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept, removed := s.set.Active(now).Without(t)
	if len(removed) == 0 {
		return nil, nil
	}
	if err := s.write(kept); err != nil {
		return nil, err
	}
	s.set = kept
	return removed, nil
}

// List implements core.BanList.
func (s *Store) List(now time.Time) []core.Ban {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.set.Active(now)
}

// write replaces the file with set: a temporary file in the same folder,
// synced, renamed over the old one, and the folder synced.
func (s *Store) write(set core.BanSet) error {
	f := fileFormat{Version: formatVersion, Bans: make([]record, len(set))}
	for i, b := range set {
		f.Bans[i] = toRecord(b)
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("ban file folder: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(s.path)+".*")
	if err != nil {
		return fmt.Errorf("writing the ban file: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), s.path)
	}
	if err != nil {
		return fmt.Errorf("writing the ban file: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// MarshalBan encodes one ban as the file stores it: a cluster keeps its
// shared ban list in the same form.
func MarshalBan(b core.Ban) ([]byte, error) { return json.Marshal(toRecord(b)) }

// UnmarshalBan decodes one ban that MarshalBan encoded, with the checks a
// ban read from the file gets.
func UnmarshalBan(data []byte) (core.Ban, error) {
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return core.Ban{}, err
	}
	return r.ban()
}
