package core

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
)

// crockford is Crockford's base32 alphabet: no I, L, O or U, so a code
// read aloud or copied by hand survives.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// CodeLen is the length of a user code: 8 characters, 40 random bits.
const CodeLen = 8

// newCode draws a code from r (crypto/rand in production).
func newCode(r io.Reader) (string, error) {
	var b [5]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", err
	}
	v := uint64(b[0])<<32 | uint64(b[1])<<24 | uint64(b[2])<<16 | uint64(b[3])<<8 | uint64(b[4])
	out := make([]byte, CodeLen)
	for i := CodeLen - 1; i >= 0; i-- {
		out[i] = crockford[v&31]
		v >>= 5
	}
	return string(out), nil
}

// NormalizeCode turns what a person typed into a canonical code, or ""
// if it cannot be one. Case is ignored, hyphens and spaces are dropped,
// and the look-alikes O, I and L read as 0, 1 and 1, as Crockford intends.
func NormalizeCode(s string) string {
	if len(s) > 2*CodeLen {
		return ""
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch r {
		case '-', ' ':
			continue
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		if r > 0x7f || !strings.ContainsRune(crockford, r) {
			return ""
		}
		b.WriteRune(r)
	}
	if b.Len() != CodeLen {
		return ""
	}
	return b.String()
}

// joinCode reads a bare word given to /join as a code, or "" when it is a
// word: a word spelt with O, I or L and no digit ("projects") is a room
// name, though NormalizeCode would read it as a code.
func joinCode(s string) string {
	code := NormalizeCode(s)
	if code != "" && strings.ContainsAny(strings.ToUpper(s), "OIL") && !strings.ContainsAny(s, "0123456789") {
		return ""
	}
	return code
}

// noCodeError is a code that no one online holds.
type noCodeError struct{ typed string }

func (e noCodeError) Error() string {
	return "no one online has the code " + strings.ToUpper(strings.ToValidUTF8(e.typed, "?"))
}

// roomHint adds to a code no one holds that /join takes a room too, with
// a #, in case a room was meant.
func roomHint(err error, typed string) error {
	var nc noCodeError
	if errors.As(err, &nc) {
		return fmt.Errorf("%w; for a room of that name, type /join #%s", err, strings.ToLower(strings.ToValidUTF8(typed, "?")))
	}
	return err
}

var defaultRand io.Reader = rand.Reader

// OpenCode opens a private chat with the holder of the code typed, and
// never anything else: text that is not a code, once spaces and dashes
// are dropped and look-alikes read as NormalizeCode reads them, is
// refused with a reason, where /join would take it for a room.
func (s *Session) OpenCode(typed string) error {
	code := NormalizeCode(typed)
	if code == "" {
		return fmt.Errorf("%q is not a code: a code has %d letters and digits, such as 7KQ2 M9XD", clipTyped(typed), CodeLen)
	}
	return s.openByCode(code, typed, "")
}

// clipTyped shortens what someone typed for an error message.
func clipTyped(s string) string {
	s = strings.ToValidUTF8(s, "?")
	if r := []rune(s); len(r) > 24 {
		s = string(r[:24]) + "…"
	}
	return s
}
