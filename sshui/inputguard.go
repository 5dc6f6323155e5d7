package sshui

import (
	"bytes"
	"io"
	"unicode/utf8"
)

// Bubble Tea's input parser keeps an unfinished sequence and re-reads it
// with every further read: a run of characters without a space, or a
// bracketed paste that never ends, grows its buffer without bound and
// costs quadratic time (a 200 KB line took seconds of CPU). inputGuard
// sits between the SSH channel and the parser and makes every read
// short, which tells the parser the input is complete so it never holds
// anything back; it cuts reads at character boundaries and removes
// bracketed-paste markers, whose start would otherwise make the parser
// wait for an end forever. Pastes then arrive as typed text. It also
// takes out the terminal's answers to the probe's questions, which are
// not keys, even when one is split across reads.
type inputGuard struct {
	r     io.Reader
	probe *terminalProbe // nil: no questions are asked
	buf   [256]byte
	head  []byte // read from r but not yet returned
}

var (
	pasteStart = []byte("\x1b[200~")
	pasteEnd   = []byte("\x1b[201~")
)

func (g *inputGuard) Read(p []byte) (int, error) {
	if len(p) < 2 {
		return g.r.Read(p)
	}
	limit := min(len(p)-1, len(g.buf))
	for {
		if len(g.head) > 0 {
			n := g.cut(limit)
			if n > 0 {
				copy(p, g.head[:n])
				g.head = g.head[n:]
				return n, nil
			}
		}
		// Too little held back to return: read more after it.
		held := copy(g.buf[:], g.head)
		n, err := g.r.Read(g.buf[held:])
		if n == 0 && err != nil {
			if held > 0 {
				copy(p, g.buf[:held])
				g.head = nil
				return held, nil
			}
			return 0, err
		}
		g.head = g.strip(g.buf[:held+n])
	}
}

// cut says how many held bytes can go out now: at most limit, ending on a
// character boundary and short of what may be the beginning of a paste
// marker or of a cursor report.
func (g *inputGuard) cut(limit int) int {
	end := g.complete()
	n := min(end, limit)
	if n < end {
		cut := n
		for cut > 0 && !utf8.RuneStart(g.head[cut]) {
			cut--
		}
		if cut > 0 {
			return cut
		}
		// Not UTF-8 at all: let the parser reject it.
	}
	return n
}

// complete says how many held bytes are whole input: all but a tail that
// may be the start of a character, a paste marker or a cursor report.
func (g *inputGuard) complete() int {
	h := g.head
	n := len(h)
	for i := n - 1; i >= max(0, n-utf8.UTFMax+1); i-- {
		if utf8.RuneStart(h[i]) {
			if !utf8.FullRune(h[i:]) {
				return i
			}
			break
		}
	}
	for k := len(pasteStart) - 1; k >= 3; k-- {
		if bytes.HasSuffix(h, pasteStart[:k]) {
			return n - k
		}
	}
	// A lone ESC or "ESC [" is a key too (Esc, Alt+[): it waits only
	// while an answer is due, which comes within moments.
	from := max(0, n-maxReport)
	if i := bytes.LastIndexByte(h[from:], 0x1b); i >= 0 {
		i += from
		if _, partial := scanReport(h[i:]); partial && (n-i >= 3 || g.probe.awaiting()) {
			return i
		}
	}
	return n
}

// strip removes paste markers and cursor position reports from b, in
// place, telling the probe of each report; again until none is left, as
// taking one out may join the pieces of another.
func (g *inputGuard) strip(b []byte) []byte {
	for bytes.IndexByte(b, 0x1b) >= 0 {
		out := b[:0]
		for i := 0; i < len(b); {
			if b[i] == 0x1b {
				if n, _ := scanReport(b[i:]); n > 0 {
					g.probe.answered()
					i += n
					continue
				}
				if bytes.HasPrefix(b[i:], pasteStart) || bytes.HasPrefix(b[i:], pasteEnd) {
					i += len(pasteStart)
					continue
				}
			}
			out = append(out, b[i])
			i++
		}
		if len(out) == len(b) {
			break
		}
		b = out
	}
	return b
}

// maxReport is the longest cursor position report scanReport accepts.
const maxReport = 2 + 2*(reportDigits+1)

// reportDigits caps the digits of a row or column in a report.
const reportDigits = 5

// scanReport reads a cursor position report, ESC [ row ; col R, at the
// start of b: its length if b starts with a whole one, else whether b
// ends inside what could still become one.
func scanReport(b []byte) (n int, partial bool) {
	if len(b) == 0 || b[0] != 0x1b {
		return 0, false
	}
	if len(b) == 1 {
		return 0, true
	}
	if b[1] != '[' {
		return 0, false
	}
	i := 2
	for _, end := range [...]byte{';', 'R'} {
		start := i
		for i < len(b) && i-start < reportDigits && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		switch {
		case i == len(b):
			return 0, true
		case i == start || b[i] != end:
			return 0, false
		}
		i++
	}
	return i, false
}
