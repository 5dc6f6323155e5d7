package sshui

import (
	"bytes"
	"io"
	"unicode/utf8"

	"parley/sshui/tui"
)

// Bubble Tea's input parser keeps an unfinished sequence and re-reads it
// with every further read: a run of characters without a space, or a
// bracketed paste that never ends, grows its buffer without bound and
// costs quadratic time (a 200 KB line took seconds of CPU). inputGuard
// sits between the SSH channel and the parser and makes every read
// short, which tells the parser the input is complete so it never holds
// anything back; it cuts reads at character boundaries. A bracketed paste
// never reaches the parser, which would turn its words into keys ("end",
// "ctrl+c"): the guard takes it out whole and hands it to paste, in its
// place among the keys, keeping at most pasteMax bytes of it. It also
// takes out the terminal's answers to the probe's questions, which are
// not keys, even when one is split across reads.
type inputGuard struct {
	r        io.Reader
	probe    *terminalProbe     // nil: no questions are asked
	paste    func(tui.PasteMsg) // nil: pastes are dropped
	pasteMax int                // the bytes of a paste kept; 0 means none
	buf      [256]byte
	head     []byte // read from r but not yet returned

	pasting bool   // inside a paste: head goes to pasted
	pasted  []byte // the paste so far
	tooLong bool   // the paste outgrew pasteMax; the rest is dropped
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
		if g.pasting {
			g.takePaste()
		}
		if !g.pasting && len(g.head) > 0 {
			lim := limit
			switch i, start := nextMarker(g.head); {
			case i == 0 && start:
				g.pasting = true
				g.head = g.head[len(pasteStart):]
				continue
			case i == 0:
				g.head = g.head[len(pasteEnd):] // the end of no paste
				continue
			case i > 0:
				lim = min(lim, i)
			}
			n := g.cut(lim)
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
			if held > 0 && !g.pasting { // an unfinished paste is dropped
				copy(p, g.buf[:held])
				g.head = nil
				return held, nil
			}
			return 0, err
		}
		g.head = g.strip(g.buf[:held+n])
	}
}

// nextMarker finds the first paste marker in b: its index (-1 if none)
// and whether it starts a paste.
func nextMarker(b []byte) (int, bool) {
	i, j := bytes.Index(b, pasteStart), bytes.Index(b, pasteEnd)
	switch {
	case i < 0:
		return j, false
	case j < 0 || i < j:
		return i, true
	}
	return j, false
}

// takePaste moves the held bytes into the paste up to its end marker,
// keeping back what may be the start of that marker, and hands over the
// paste once it is whole.
func (g *inputGuard) takePaste() {
	end := bytes.Index(g.head, pasteEnd)
	if end < 0 {
		n := len(g.head) - partialSuffix(g.head, pasteEnd)
		g.keep(g.head[:n])
		g.head = g.head[n:]
		return
	}
	g.keep(g.head[:end])
	g.head = g.head[end+len(pasteEnd):]
	msg := tui.PasteMsg{Text: string(g.pasted), TooLong: g.tooLong}
	g.pasting, g.pasted, g.tooLong = false, nil, false
	if g.paste != nil {
		g.paste(msg)
	}
}

// keep adds b to the paste, or drops it and the paste with it once the
// paste outgrows pasteMax.
func (g *inputGuard) keep(b []byte) {
	if g.tooLong || len(g.pasted)+len(b) > g.pasteMax {
		g.tooLong, g.pasted = true, nil
		return
	}
	g.pasted = append(g.pasted, b...)
}

// partialSuffix is the length of the longest end of b that begins marker
// without being all of it.
func partialSuffix(b, marker []byte) int {
	for k := min(len(b), len(marker)-1); k > 0; k-- {
		if bytes.HasSuffix(b, marker[:k]) {
			return k
		}
	}
	return 0
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
	if k := max(partialSuffix(h, pasteStart), partialSuffix(h, pasteEnd)); k >= 3 {
		return n - k
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

// strip removes cursor position reports from b, in place, telling the
// probe of each report; again until none is left, as taking one out may
// join the pieces of another.
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
