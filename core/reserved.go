package core

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// reservation is a name bound to the SSH keys that may hold it.
type reservation struct {
	name string          // as configured
	keys map[string]bool // SHA256 fingerprints
}

// reservations indexes the configured reserved names by NameKey, so that
// a case, width or confusable variant of a reserved name is reserved too.
func reservations(reserved map[string][]string) map[string]reservation {
	out := make(map[string]reservation, len(reserved))
	for name, fps := range reserved {
		r := reservation{name: name, keys: map[string]bool{}}
		for _, fp := range fps {
			r.keys[fp] = true
		}
		out[NameKey(name)] = r
	}
	return out
}

// checkReserved validates Config.Reserved: valid names, none reserved
// twice under two spellings, each bound to at least one fingerprint.
func checkReserved(reserved map[string][]string, nameCells int) error {
	names := make([]string, 0, len(reserved))
	for name := range reserved {
		names = append(names, name)
	}
	sort.Strings(names)
	byKey := map[string]string{}
	for _, name := range names {
		clean, err := CleanName(name, nameCells)
		if err != nil {
			return fmt.Errorf("reserved: %w", err)
		}
		if clean != name {
			return fmt.Errorf("reserved: write %q in its composed form %q", name, clean)
		}
		if other, dup := byKey[NameKey(name)]; dup {
			return fmt.Errorf("reserved: %s and %s are the same name", other, name)
		}
		byKey[NameKey(name)] = name
		if len(reserved[name]) == 0 {
			return fmt.Errorf("reserved: %s needs at least one key fingerprint", name)
		}
		for _, fp := range reserved[name] {
			if err := checkFingerprint(fp); err != nil {
				return fmt.Errorf("reserved: %s: %w", name, err)
			}
		}
	}
	return nil
}

// reservedLocked refuses name to a session authenticated with
// fingerprint ("" for none) unless it is one of the name's keys.
func (h *Hub) reservedLocked(name, fingerprint string) error {
	return reservedFor(h.reserved, name, fingerprint)
}

func reservedFor(reserved map[string]reservation, name, fingerprint string) error {
	r, ok := reserved[NameKey(name)]
	if !ok || (fingerprint != "" && r.keys[fingerprint]) {
		return nil
	}
	if name != r.name {
		return fmt.Errorf("the name %s looks like %s, which is reserved for its owner's SSH key", name, r.name)
	}
	return fmt.Errorf("the name %s is reserved for its owner's SSH key", name)
}

// renameReserved gives a new random name, with the reason, to every
// local user whose name a reloaded config reserved to other keys.
func (h *Hub) renameReserved() {
	h.mu.Lock()
	var due []*user
	for _, u := range h.users {
		if h.isLocal(u) && !u.leaving && h.reservedLocked(u.name, u.fingerprint) != nil {
			due = append(due, u)
		}
	}
	h.unlock()
	for _, u := range due {
		h.renameRandomly(u)
	}
}

// renameRandomly gives u a random free name and tells u why.
func (h *Hub) renameRandomly(u *user) {
	h.mu.Lock()
	cfg, dir := h.cfg, h.dir
	h.unlock()
	ctx, cancel := context.WithTimeout(context.Background(), directoryTimeout)
	defer cancel()
	name, _, err := h.claimName(ctx, dir, cfg, "", u.fingerprint, h.owner(u.id))
	if err != nil {
		return // the name stays: an operator's reload is no reason to cut anyone off
	}
	h.mu.Lock()
	defer h.unlock()
	why := h.reservedLocked(u.name, u.fingerprint)
	if u.leaving || why == nil {
		h.releases = append(h.releases, release{ClaimName, NameKey(name), h.owner(u.id)})
		return
	}
	h.releases = append(h.releases, release{ClaimName, u.nameKey, h.owner(u.id)})
	h.commitLocked(Entry{Kind: EntryRename, User: u.id, Text: name})
	h.pushLocked(u, Event{Kind: EventNotice, Text: fmt.Sprintf("%s: you are %s now", why, name)})
}

// keyTagLen is how much of a fingerprint KeyTag shows: 8 base64
// characters, 48 bits, too many to match by generating keys.
const keyTagLen = 8

// KeyTag is the short tag shown next to the name of a user who logged in
// with an SSH key: the start of the key's SHA256 fingerprint, "" for none.
// Two people with the same-looking name but different keys (or no key)
// show different tags, so an impersonator is visible.
func KeyTag(fingerprint string) string {
	fp, ok := strings.CutPrefix(fingerprint, "SHA256:")
	if !ok || len(fp) < keyTagLen {
		return ""
	}
	return fp[:keyTagLen]
}
