package webrtcsignal

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// corkConn is a browser's connection with its writes held back while
// corked: the frames of one burst of events leave in one system call
// instead of one each, and the socket's deadline is set once for them.
// Writes from other goroutines (gorilla answers pings and close frames
// from the reader) keep their order, as every frame is one Write under mu.
type corkConn struct {
	net.Conn
	mu       sync.Mutex
	corked   bool
	buf      *[]byte // from corkBuffers, while something is held
	deadline time.Time
}

// corkLimit bounds what one connection holds back; past it the burst goes
// out in several writes.
const corkLimit = 32 << 10

// corkBuffers lends buffers to corked connections, so an idle browser
// holds none.
var corkBuffers = sync.Pool{New: func() any { b := make([]byte, 0, corkLimit); return &b }}

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.corked {
		return c.Conn.Write(p)
	}
	if c.buf != nil && len(*c.buf)+len(p) > corkLimit {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
	}
	if len(p) > corkLimit {
		c.Conn.SetWriteDeadline(c.deadline)
		return c.Conn.Write(p)
	}
	if c.buf == nil {
		c.buf = corkBuffers.Get().(*[]byte)
	}
	*c.buf = append(*c.buf, p...)
	return len(p), nil
}

// SetWriteDeadline applies to the next write that reaches the socket.
func (c *corkConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.corked {
		c.deadline = t
		return nil
	}
	return c.Conn.SetWriteDeadline(t)
}

// cork starts holding writes back.
func (c *corkConn) cork() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

// uncork sends what was held back and writes through again.
func (c *corkConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.flushLocked()
	if c.buf != nil {
		*c.buf = (*c.buf)[:0]
		corkBuffers.Put(c.buf)
		c.buf = nil
	}
	c.corked = false
	return err
}

func (c *corkConn) flushLocked() error {
	if c.buf == nil || len(*c.buf) == 0 {
		return nil
	}
	c.Conn.SetWriteDeadline(c.deadline)
	_, err := c.Conn.Write(*c.buf)
	*c.buf = (*c.buf)[:0]
	return err
}

// corkingWriter hands the upgrader a corkConn when it hijacks the
// connection.
type corkingWriter struct {
	http.ResponseWriter
	conn *corkConn
}

func (w *corkingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("the connection cannot be taken over")
	}
	c, brw, err := h.Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn = &corkConn{Conn: c}
	return w.conn, brw, nil
}
