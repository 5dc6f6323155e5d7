package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"parley/core"
)

// CheckReload refuses to replace running with next when next would take
// away every one of a kind of protection the server has: every room
// besides the default one, every room password, every operator or every
// reserved name. That is what an empty or cut-short file does, and a
// reload applies it without a restart; a file that means it says
// reload_may_clear = true.
func CheckReload(running, next Config) error {
	if next.ReloadMayClear {
		return nil
	}
	var lost []string
	r, n := running.Core, next.Core
	if extraRooms(r) > 0 && extraRooms(n) == 0 {
		lost = append(lost, "every room but #"+n.DefaultRoom)
	}
	if passwordRooms(r) > 0 && passwordRooms(n) == 0 {
		lost = append(lost, "every room password")
	}
	if len(r.Operators) > 0 && len(n.Operators) == 0 {
		lost = append(lost, "every operator")
	}
	if len(r.Reserved) > 0 && len(n.Reserved) == 0 {
		lost = append(lost, "every reserved name")
	}
	if len(lost) == 0 {
		return nil
	}
	return fmt.Errorf("the file would remove %s; if that is meant, set reload_may_clear = true in it", strings.Join(lost, ", "))
}

func extraRooms(c core.Config) int {
	n := 0
	for _, rc := range c.Rooms {
		if name, _ := core.CleanRoomName(rc.Name); name != c.DefaultRoom {
			n++
		}
	}
	return n
}

func passwordRooms(c core.Config) int {
	n := 0
	for _, rc := range c.Rooms {
		if rc.PasswordHash != "" {
			n++
		}
	}
	return n
}

// ReloadChanges says what replacing running with next changes in the
// chat, one short line each, for the log: rooms and their settings,
// operators and reserved names (by count and name, never a password hash
// or a fingerprint), limits, the welcome message and the motd.
func ReloadChanges(running, next Config) []string {
	r, n := running.Core, next.Core
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	before, after := roomsByName(r.Rooms), roomsByName(n.Rooms)
	for _, name := range sortedKeys(after) {
		was, ok := before[name]
		now := after[name]
		switch {
		case !ok:
			add("room #%s added", name)
		case was.PasswordHash != now.PasswordHash && now.PasswordHash == "":
			add("room #%s: password removed", name)
		case was.PasswordHash != now.PasswordHash:
			add("room #%s: password set", name)
		}
		if ok && (was.Description != now.Description || was.Hidden != now.Hidden || was.MaxMembers != now.MaxMembers) {
			add("room #%s: settings changed", name)
		}
	}
	for _, name := range sortedKeys(before) {
		if _, ok := after[name]; !ok {
			add("room #%s removed", name)
		}
	}
	if gained, lost := diff(r.Operators, n.Operators); gained+lost > 0 {
		add("operators: %d added, %d removed", gained, lost)
	}
	for _, name := range sortedKeys(n.Reserved) {
		if _, ok := r.Reserved[name]; !ok {
			add("name %s reserved", name)
		} else if !reflect.DeepEqual(r.Reserved[name], n.Reserved[name]) {
			add("name %s: keys changed", name)
		}
	}
	for _, name := range sortedKeys(r.Reserved) {
		if _, ok := n.Reserved[name]; !ok {
			add("name %s no longer reserved", name)
		}
	}
	lv, nv := reflect.ValueOf(r.Limits), reflect.ValueOf(n.Limits)
	for i := range lv.NumField() {
		if a, b := lv.Field(i).Interface(), nv.Field(i).Interface(); !reflect.DeepEqual(a, b) {
			add("limit %s: %v → %v", lv.Type().Field(i).Name, a, b)
		}
	}
	for _, s := range []struct {
		what     string
		was, now any
	}{
		{"default room", r.DefaultRoom, n.DefaultRoom},
		{"auto_join", r.AutoJoin, n.AutoJoin},
		{"allow_user_rooms", r.AllowUserRooms, n.AllowUserRooms},
		{"welcome message", r.Welcome, n.Welcome},
		{"motd", r.Motd, n.Motd},
	} {
		if s.was != s.now {
			add("%s changed", s.what)
		}
	}
	return out
}

func roomsByName(rooms []core.RoomConfig) map[string]core.RoomConfig {
	m := make(map[string]core.RoomConfig, len(rooms))
	for _, rc := range rooms {
		name, _ := core.CleanRoomName(rc.Name)
		m[name] = rc
	}
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// diff counts the entries of b missing from a, and of a missing from b.
func diff(a, b []string) (gained, lost int) {
	for _, x := range b {
		if !slices.Contains(a, x) {
			gained++
		}
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			lost++
		}
	}
	return gained, lost
}
