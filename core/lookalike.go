package core

import (
	"slices"
	"strings"
)

// lookAlikeKey is looser than NameKey: separators and digits are dropped,
// so "alice", "alice_", "a.lice" and "alice2" resemble each other. Such
// names may be online together, but their messages then show whose key
// each one logged in with.
func lookAlikeKey(nameKey string) string {
	loose := strings.Map(func(r rune) rune {
		if strings.ContainsRune("-_.", r) || r >= '0' && r <= '9' {
			return -1
		}
		return r
	}, nameKey)
	if loose == "" {
		return nameKey
	}
	return loose
}

// lookAddLocked counts u's current name among the names online and marks
// every holder of a resembling name, u included, as a look-alike.
func (h *Hub) lookAddLocked(u *user) {
	if h.looks == nil {
		h.looks = map[string][]*user{}
	}
	key := lookAlikeKey(u.nameKey)
	group := append(h.looks[key], u)
	h.looks[key] = group
	markLookAlikes(group)
}

// lookDropLocked forgets u's current name, before a rename or when u
// leaves; a name left alone is no longer marked.
func (h *Hub) lookDropLocked(u *user) {
	key := lookAlikeKey(u.nameKey)
	group := slices.DeleteFunc(h.looks[key], func(x *user) bool { return x == u })
	u.lookAlike = false
	if len(group) == 0 {
		delete(h.looks, key)
		return
	}
	h.looks[key] = group
	markLookAlikes(group)
}

func markLookAlikes(group []*user) {
	for _, x := range group {
		x.lookAlike = len(group) > 1
	}
}

// Author is how a message's author is shown: the name, followed by the
// key tag (or "no key") while someone online has a resembling name.
func (m Member) Author() string {
	switch {
	case !m.LookAlike:
		return m.Name
	case m.KeyTag == "":
		return m.Name + " [no key]"
	}
	return m.Name + " [key " + m.KeyTag + "]"
}
