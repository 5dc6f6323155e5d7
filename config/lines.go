package config

import (
	"strconv"
	"strings"
)

// lineIndex knows on which line each key of a config file is set, so that
// an error found after decoding can still point at its line. The TOML
// library keeps key positions to itself (and for an array of tables only
// the last entry's), so the file is scanned here. The scan runs only on
// files the library has parsed, so it need only tell table headers,
// assignments and multi-line strings apart.
type lineIndex struct {
	entries []keyLine
}

type keyLine struct {
	key  string // dotted: "limits.history", "rooms.name", "rooms"
	room int    // index of the [[rooms]] entry the key is in, or -1
	line int
}

func keyLines(src string) *lineIndex {
	idx := &lineIndex{}
	var table string
	room, rooms := -1, 0
	closing := "" // delimiter of the multi-line string being skipped
	for n, line := range strings.Split(src, "\n") {
		if closing != "" {
			if strings.Contains(line, closing) {
				closing = ""
			}
			continue
		}
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "[["):
			keys, _ := parseKey(t[2:])
			table, room = strings.Join(keys, "."), -1
			if table == "rooms" {
				room = rooms
				rooms++
			}
			idx.add(table, room, n+1)
		case strings.HasPrefix(t, "["):
			keys, _ := parseKey(t[1:])
			table, room = strings.Join(keys, "."), -1
			idx.add(table, room, n+1)
		default:
			keys, rest := parseKey(t)
			if len(keys) == 0 || !strings.HasPrefix(rest, "=") {
				continue
			}
			key := strings.Join(keys, ".")
			if table != "" {
				key = table + "." + key
			}
			idx.add(key, room, n+1)
			closing = openMultiline(strings.TrimSpace(rest[1:]))
		}
	}
	return idx
}

func (idx *lineIndex) add(key string, room, line int) {
	idx.entries = append(idx.entries, keyLine{key, room, line})
}

// find returns the line of key (in the given [[rooms]] entry when room is
// not -1). A key the file does not set is looked for in its room, then in
// its enclosing tables; 0 means the file has nothing to point at.
func (idx *lineIndex) find(key string, room int) int {
	if l := idx.lookup(key, room); l > 0 {
		return l
	}
	if room >= 0 {
		if l := idx.lookup("rooms", room); l > 0 {
			return l
		}
	}
	for i := strings.LastIndex(key, "."); i > 0; i = strings.LastIndex(key, ".") {
		key = key[:i]
		if l := idx.lookup(key, -1); l > 0 {
			return l
		}
	}
	return 0
}

func (idx *lineIndex) lookup(key string, room int) int {
	for _, e := range idx.entries {
		if e.key == key && (room < 0 || e.room == room) {
			return e.line
		}
	}
	return 0
}

// parseKey reads a dotted TOML key (bare or quoted parts) from the start
// of s and returns its parts and what follows, without leading spaces.
func parseKey(s string) (parts []string, rest string) {
	for {
		s = strings.TrimLeft(s, " \t")
		var part string
		switch {
		case strings.HasPrefix(s, `"`):
			end := closingQuote(s)
			if end < 0 {
				return nil, s
			}
			part = s[:end+1]
			if u, err := strconv.Unquote(part); err == nil {
				part = u
			}
			s = s[end+1:]
		case strings.HasPrefix(s, "'"):
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return nil, s
			}
			part, s = s[1:end+1], s[end+2:]
		default:
			end := strings.IndexFunc(s, func(r rune) bool { return !isBareKeyRune(r) })
			if end < 0 {
				end = len(s)
			}
			if end == 0 {
				return nil, s
			}
			part, s = s[:end], s[end:]
		}
		parts = append(parts, part)
		s = strings.TrimLeft(s, " \t")
		if !strings.HasPrefix(s, ".") {
			return parts, s
		}
		s = s[1:]
	}
}

// closingQuote is the index of the quote that ends the basic string at
// the start of s, or -1.
func closingQuote(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

func isBareKeyRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-'
}

// openMultiline returns the delimiter of a multi-line string that value
// opens and does not close on the same line, or "".
func openMultiline(value string) string {
	for _, delim := range []string{`"""`, `'''`} {
		if strings.HasPrefix(value, delim) && !strings.Contains(value[len(delim):], delim) {
			return delim
		}
	}
	return ""
}
