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
// wait for an end forever. Pastes then arrive as typed text.
type inputGuard struct {
	r    io.Reader
	buf  [256]byte
	head []byte // read from r but not yet returned
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
		g.head = stripPasteMarkers(g.buf[:held+n])
	}
}

// cut says how many held bytes can go out now: at most limit, ending on a
// character boundary and short of a possible paste marker's beginning.
func (g *inputGuard) cut(limit int) int {
	n := min(len(g.head), limit)
	if n < len(g.head) {
		cut := n
		for cut > 0 && !utf8.RuneStart(g.head[cut]) {
			cut--
		}
		if cut == 0 {
			return n // not UTF-8 at all: let the parser reject it
		}
		return cut
	}
	// Everything fits: hold back only an unfinished character, or a tail
	// that may start a marker.
	for i := n - 1; i >= max(0, n-utf8.UTFMax+1); i-- {
		if utf8.RuneStart(g.head[i]) {
			if !utf8.FullRune(g.head[i:n]) {
				return i
			}
			break
		}
	}
	for k := len(pasteStart) - 1; k >= 3; k-- {
		if n >= k && bytes.HasSuffix(g.head, pasteStart[:k]) {
			return n - k
		}
	}
	return n
}

func stripPasteMarkers(b []byte) []byte {
	if !bytes.Contains(b, pasteStart[:3]) {
		return b
	}
	b = bytes.ReplaceAll(b, pasteStart, nil)
	return bytes.ReplaceAll(b, pasteEnd, nil)
}
