package logguard

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"
)

// A 100 KB value, in any attribute, a group or the message, makes a
// short line that says how long it was; short values are untouched.
func TestLongValuesAreClipped(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(Clip(slog.NewJSONHandler(&out, nil))).With("conn", strings.Repeat("c", 100_000))
	long := strings.Repeat("é", 50_000) // 100 KB, two bytes a character
	log.Info(long, "login", long, "term", []byte(long), "err", errors.New(long),
		slog.Group("peer", "name", long), "short", "kept", "n", 7)
	line := out.String()
	if len(line) > 2000 {
		t.Fatalf("a record with 100 KB values is %d bytes long", len(line))
	}
	if !utf8.ValidString(line) {
		t.Fatal("a value was cut inside a character")
	}
	for _, want := range []string{`"short":"kept"`, `"n":7`, "(100000 bytes)"} {
		if !strings.Contains(line, want) {
			t.Fatalf("the record lacks %s:\n%s", want, line)
		}
	}
}
