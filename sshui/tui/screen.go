package tui

import (
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
)

// segment is a piece of one screen row: styled text exactly as many cells
// wide as the layout gives it, starting at column col.
type segment struct {
	col  int
	text string
}

// frame is one whole screen: rows of segments that tile each row. Rows
// top to bottom-1 may scroll as a block: their segment number scrollSeg
// (the chat column) is what scrolling moves into view.
type frame struct {
	w, h        int
	rows        [][]segment
	top, bottom int
	scrollSeg   int
	buf         *frameBuf // the buffer it was laid out in, if any
}

// frameBuf holds the rows of one frame. A screen keeps the one shown,
// whose rows the next frame is compared with; the next frame is laid out
// in one lent by frameRows, and the shown one goes back once it is
// replaced. Frames reuse memory instead of making garbage, and a session
// holds one buffer rather than two.
type frameBuf struct {
	segs []segment
	rows [][]segment
}

var frameRows = sync.Pool{New: func() any { return new(frameBuf) }}

// screen writes frames to one client's terminal. It keeps the frame the
// terminal shows, so each new frame costs only its difference: changed
// segments are rewritten in place and new chat lines arrive by scrolling
// the chat rows with a scroll region, instead of repainting every line.
// A frame is written at once, in writes of at most maxWrite bytes.
type screen struct {
	out   io.Writer
	asker Asker // nil: never asks the terminal anything
	shown frame // rows nil until the first frame
	bell  bool
	err   error     // the first failed write; nothing is written after it
	front *frameBuf // the buffer holding the shown rows, if any
}

// back lends a buffer for laying out the next frame; draw keeps it.
func (s *screen) back() *frameBuf { return frameRows.Get().(*frameBuf) }

// Entering the screen also turns on bracketed paste, so that a paste
// arrives marked as one and is never taken for keys (see PasteMsg).
const (
	enterScreen = "\x1b[?1049h\x1b[?25l\x1b[?2004h"
	leaveScreen = "\x1b[?2004l\x1b[?1049l\x1b[?25h"
	clearScreen = "\x1b[m\x1b[H\x1b[2J"
)

// maxWrite caps one write of a frame. The SSH library keeps, for each
// session, buffers as large as the largest write it was handed (the
// channel's packet, the cipher's output): one whole-screen frame would
// make every session hold three copies of a screen for good. A new chat
// message, the frame that matters for speed, is a fraction of it.
const maxWrite = 1024

func newScreen(out io.Writer, asker Asker) *screen {
	return &screen{out: out, asker: asker}
}

// frameBufs lends the bytes of a frame while it is written, so idle
// sessions hold no buffer.
var frameBufs = sync.Pool{New: func() any { return new([]byte) }}

// ring sounds the terminal bell once, after the next frame.
func (s *screen) ring() { s.bell = true }

// draw brings the terminal to frame f.
func (s *screen) draw(f frame) {
	if s.err != nil {
		return
	}
	buf := frameBufs.Get().(*[]byte)
	defer frameBufs.Put(buf)
	b := (*buf)[:0]
	defer func() { *buf = b[:0] }()
	if s.shown.rows == nil {
		b = append(b, enterScreen...)
	}
	if s.shown.rows == nil || s.shown.w != f.w || s.shown.h != f.h {
		b = append(b, clearScreen...)
		s.shown = frame{w: f.w, h: f.h, rows: make([][]segment, f.h)}
	} else {
		b = append(b, "\x1b[m"...)
		b = s.scroll(b, f)
	}
	start := len(b)
	for r, row := range f.rows {
		b = s.drawRow(b, r, row)
	}
	// Every shown row is now f's: the buffer of the rows shown before is
	// free.
	if s.front != nil {
		frameRows.Put(s.front)
	}
	s.front = f.buf
	if len(b) == start && !s.bell {
		return
	}
	if s.bell {
		b = append(b, '\a')
		s.bell = false
	}
	if s.asker != nil {
		b = append(b, s.asker.Question(time.Now())...)
	}
	s.shown.top, s.shown.bottom, s.shown.scrollSeg = f.top, f.bottom, f.scrollSeg
	s.err = s.write(b)
}

// write sends b in pieces of at most maxWrite bytes, back to back.
func (s *screen) write(b []byte) error {
	for len(b) > 0 {
		n := min(len(b), maxWrite)
		if _, err := s.out.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// close gives the client its own screen back.
func (s *screen) close() {
	if s.err == nil && s.shown.rows != nil {
		_, s.err = io.WriteString(s.out, "\x1b[m"+leaveScreen)
	}
}

// drawRow writes the segments of row r that differ from what is shown;
// a row whose layout changed is written whole. A row the terminal shows
// blank (cleared, or scrolled into view) needs none of a segment's
// trailing blank cells, nor any segment that is blank altogether.
func (s *screen) drawRow(b []byte, r int, row []segment) []byte {
	old := s.shown.rows[r]
	same := len(old) == len(row)
	for i := 0; same && i < len(row); i++ {
		same = old[i].col == row[i].col
	}
	next := -1 // the column the cursor is at after the last write
	for i, seg := range row {
		text := seg.text
		if old == nil {
			text = withoutBlankTail(text)
			if text == "" {
				continue
			}
		} else if same && old[i].text == seg.text {
			continue
		}
		if seg.col != next {
			b = moveTo(b, r, seg.col)
		}
		b = append(b, text...)
		next = -1
		if len(text) == len(seg.text) && i+1 < len(row) {
			next = row[i+1].col
		}
	}
	s.shown.rows[r] = row
	return b
}

// withoutBlankTail is text without the spaces that end it in the
// terminal's default colours: those after its last escape sequence, when
// that one resets the colours, or all of them in text without any. Every
// segment ends in the default colours, so text without escapes starts in
// them too.
func withoutBlankTail(text string) string {
	end := len(text)
	for end > 0 && text[end-1] == ' ' {
		end--
	}
	if end == len(text) {
		return text
	}
	if esc := strings.LastIndexByte(text[:end], '\x1b'); esc >= 0 {
		last := text[esc:]
		if !strings.HasPrefix(last, "\x1b[0m") && !strings.HasPrefix(last, "\x1b[m") {
			return text
		}
	}
	return text[:end]
}

// scroll moves the shown chat rows up when f's chat column is the shown
// one moved up by some lines, and that is cheaper than rewriting rows.
func (s *screen) scroll(b []byte, f frame) []byte {
	top, bottom := f.top, f.bottom
	if bottom-top < 2 || top != s.shown.top || bottom != s.shown.bottom || f.scrollSeg != s.shown.scrollSeg {
		return b
	}
	chat := func(rows [][]segment, r int) (string, bool) {
		row := rows[r]
		if f.scrollSeg >= len(row) {
			return "", false
		}
		return row[f.scrollSeg].text, true
	}
	changed := 0
	for r := top; r < bottom; r++ {
		n, ok1 := chat(f.rows, r)
		o, ok2 := chat(s.shown.rows, r)
		if !ok1 || !ok2 {
			return b
		}
		if n != o {
			changed++
		}
	}
	for k := 1; k < changed; k++ {
		match := true
		for r := top; match && r < bottom-k; r++ {
			n, _ := chat(f.rows, r)
			o, _ := chat(s.shown.rows, r+k)
			match = n == o
		}
		if !match {
			continue
		}
		b = append(b, "\x1b["...)
		b = strconv.AppendInt(b, int64(top+1), 10)
		b = append(b, ';')
		b = strconv.AppendInt(b, int64(bottom), 10)
		b = append(b, "r\x1b["...)
		b = strconv.AppendInt(b, int64(k), 10)
		b = append(b, "S\x1b[r"...)
		rows := s.shown.rows
		copy(rows[top:bottom-k], rows[top+k:bottom])
		for r := bottom - k; r < bottom; r++ {
			rows[r] = nil
		}
		return b
	}
	return b
}

// moveTo positions the cursor at row r, column c (both from 0).
func moveTo(b []byte, r, c int) []byte {
	b = append(b, "\x1b["...)
	b = strconv.AppendInt(b, int64(r+1), 10)
	if c > 0 {
		b = append(b, ';')
		b = strconv.AppendInt(b, int64(c+1), 10)
	}
	return append(b, 'H')
}
