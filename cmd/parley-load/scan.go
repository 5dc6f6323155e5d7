package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// Tokens are what senders type: a prefix of "tk" and three letters drawn
// for the run, then seven digits, the token's id. The drawn letters keep a
// run from counting tokens of an earlier run that a server still shows
// from its history; they are never 't', so the prefix cannot overlap
// itself and a failed match only needs to restart at a 't'.
const (
	tokenDigits = 7
	maxTokens   = 10_000_000
	tagLetters  = "abcdefghijklmnopqrsuvwxyz"
)

// newTokenPrefix draws the prefix of one run's tokens.
func newTokenPrefix() string {
	b := []byte("tk...")
	for i := 2; i < len(b); i++ {
		b[i] = tagLetters[rand.IntN(len(tagLetters))]
	}
	return string(b)
}

func token(prefix string, id int) string { return fmt.Sprintf("%s%0*d", prefix, tokenDigits, id) }

// scanner watches one session's output stream the way a terminal receives
// it: escape sequences are parsed, not shown, and tokens are looked for in
// the printed characters. Styling (SGR) may sit inside a token; anything
// that moves the cursor or is a control character ends a partial match, so
// text from two places of the screen is never joined into a false token.
// It also answers the queries a real terminal answers (primary device
// attributes, cursor position, colours), so a server that asks does not
// wait for a timeout.
type scanner struct {
	parser  *ansi.Parser
	prefix  string
	matched int // characters of a token matched so far
	id      int
	printed bool // a printable character has been seen
	found   func(id int)
	reply   func(b []byte)
}

func newScanner(prefix string, found func(id int), reply func(b []byte)) *scanner {
	sc := &scanner{parser: ansi.NewParser(), prefix: prefix, found: found, reply: reply}
	sc.parser.SetParamsSize(16)
	sc.parser.SetDataSize(256)
	sc.parser.SetHandler(ansi.Handler{
		Print:     sc.print,
		Execute:   func(byte) { sc.matched = 0 },
		HandleCsi: sc.csi,
		HandleEsc: func(ansi.Cmd) { sc.matched = 0 },
		HandleOsc: sc.osc,
		HandleDcs: func(ansi.Cmd, ansi.Params, []byte) { sc.matched = 0 },
	})
	return sc
}

// Write feeds output bytes; a sequence may be split across calls.
func (sc *scanner) Write(b []byte) {
	for _, c := range b {
		sc.parser.Advance(c)
	}
}

func (sc *scanner) print(r rune) {
	sc.printed = true
	switch {
	case sc.matched < len(sc.prefix):
		switch {
		case r == rune(sc.prefix[sc.matched]):
			sc.matched++
			sc.id = 0
		case r == rune(sc.prefix[0]):
			sc.matched = 1
		default:
			sc.matched = 0
		}
	case r >= '0' && r <= '9':
		sc.id = sc.id*10 + int(r-'0')
		sc.matched++
		if sc.matched == len(sc.prefix)+tokenDigits {
			sc.found(sc.id)
			sc.matched = 0
		}
	case r == rune(sc.prefix[0]):
		sc.matched = 1
	default:
		sc.matched = 0
	}
}

func (sc *scanner) csi(cmd ansi.Cmd, params ansi.Params) {
	final := cmd.Final()
	if final == 'm' {
		return
	}
	sc.matched = 0
	switch {
	case final == 'c' && cmd.Prefix() == 0 && cmd.Intermediate() == 0:
		sc.reply([]byte("\x1b[?62;22c"))
	case final == 'n' && cmd.Prefix() == 0:
		if p, _, _ := params.Param(0, 0); p == 6 {
			sc.reply([]byte("\x1b[1;1R"))
		}
	}
}

func (sc *scanner) osc(cmd int, data []byte) {
	sc.matched = 0
	if (cmd == 10 || cmd == 11) && bytes.HasSuffix(data, []byte(";?")) {
		colour := "ffff/ffff/ffff"
		if cmd == 11 {
			colour = "0000/0000/0000"
		}
		sc.reply(fmt.Appendf(nil, "\x1b]%d;rgb:%s\x1b\\", cmd, colour))
	}
}

// tokensIn calls found for every token of the run in text, a message as
// the server sent it.
func tokensIn(text, prefix string, found func(id int)) {
	for {
		i := strings.Index(text, prefix)
		if i < 0 {
			return
		}
		text = text[i+len(prefix):]
		id, n := 0, 0
		for n < tokenDigits && n < len(text) && text[n] >= '0' && text[n] <= '9' {
			id = id*10 + int(text[n]-'0')
			n++
		}
		if n == tokenDigits {
			found(id)
		}
		text = text[n:]
	}
}
