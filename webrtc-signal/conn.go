package webrtcsignal

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"parley/core"
)

// conn is one browser tab: a chat session (after hello) or the browser of
// a terminal user's call (after attach). The connection's goroutine
// reads; one writer goroutine writes everything, from the session's outbox
// and from the direct queue (replies and call signaling).
type conn struct {
	srv    *Server
	ws     *websocket.Conn
	cork   *corkConn // ws's connection
	ip     string
	sess   *core.Session // nil for a call-only connection
	direct directQueue

	quit       chan struct{}
	stopOnce   sync.Once
	closeCode  int
	closeText  string
	writerDone chan struct{}

	tokens float64 // frame rate bucket
	last   time.Time

	pace flushPacer // used by the writer only
}

type attachedOut struct {
	Type string     `json:"type"` // "attached"
	Self memberJSON `json:"self"`
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	ip := s.clientIP(r)
	release, err := s.admit(ip)
	if err != nil {
		status := http.StatusTooManyRequests
		if errors.Is(err, core.ErrDraining) {
			status = http.StatusServiceUnavailable
		}
		http.Error(w, err.Error(), status)
		return
	}
	cw := &corkingWriter{ResponseWriter: w}
	ws, err := s.upgrader.Upgrade(cw, r, nil)
	if err != nil {
		release()
		return // the upgrader has answered (403 for a foreign origin)
	}
	c := &conn{
		srv:        s,
		ws:         ws,
		cork:       cw.conn,
		ip:         ip,
		direct:     newDirectQueue(s.cfg.SendQueue),
		quit:       make(chan struct{}),
		writerDone: make(chan struct{}),
		tokens:     float64(s.cfg.FrameBurst),
		last:       time.Now(),
	}
	// The connection goes on in a goroutine of its own, so the HTTP
	// server's goroutine ends and frees its request, buffers and stack.
	go func() {
		defer release()
		c.run()
	}()
}

// deliver queues msg for the writer; a browser that lets the queue fill is
// too slow and is dropped. It never blocks.
func (c *conn) deliver(msg any) {
	if !c.direct.push(msg) {
		c.stop(websocket.ClosePolicyViolation, "too slow: your connection fell behind")
	}
}

// stop asks the writer to flush, send a close frame and end the connection.
func (c *conn) stop(code int, text string) {
	c.stopOnce.Do(func() {
		if len(text) > 120 { // a close frame's reason must stay short
			text = strings.ToValidUTF8(text[:120], "")
		}
		c.closeCode, c.closeText = code, text
		close(c.quit)
	})
}

func (c *conn) run() {
	cfg := c.srv.cfg
	c.ws.SetReadLimit(cfg.ReadLimit)
	c.ws.SetReadDeadline(time.Now().Add(cfg.HelloTimeout))
	first, err := c.open()
	if err != nil {
		c.ws.SetWriteDeadline(time.Now().Add(cfg.WriteWait))
		c.ws.WriteJSON(textOut{Type: "error", Text: err.Error()})
		c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "refused"), time.Now().Add(cfg.WriteWait))
		c.ws.Close()
		return
	}
	// Registered before the browser hears it is in, so a call placed to
	// it at once finds it. The first messages go out before the writer
	// starts, so they always come first.
	c.srv.register(c)
	if c.writeAll(first) {
		go c.writer()
		c.read()
	} else {
		close(c.writerDone)
	}
	c.stop(websocket.CloseNormalClosure, "")
	<-c.writerDone
	c.ws.Close()
	c.srv.calls.detach(c)
	if c.sess != nil {
		// The user stays for a while, for the tab to resume it; a session
		// another tab took is left alone.
		c.sess.Detach(c.srv.cfg.ResumeGrace)
	}
	c.srv.unregister(c)
}

// closeTakenOver is the close code of a connection whose user another tab
// resumed: the page must not reconnect by itself, or the two would take
// the user from each other forever.
const closeTakenOver = 4000

// open handles the first frame, which must be hello, resume or attach,
// and returns the answer.
func (c *conn) open() ([]any, error) {
	typ, data, err := c.ws.ReadMessage()
	if err != nil {
		return nil, fmt.Errorf("no hello within %s", c.srv.cfg.HelloTimeout)
	}
	if typ != websocket.TextMessage {
		return nil, errors.New("only text frames are accepted")
	}
	msg, err := decode(data, c.srv.cfg.MaxSDP)
	if err != nil {
		return nil, err
	}
	switch m := msg.(type) {
	case helloMsg:
		return c.connect(m.Name, m.Resumable)
	case resumeMsg:
		sess, err := c.srv.hub.Resume(m.Secret, c.connectInfo(""))
		if errors.Is(err, core.ErrNotResumable) {
			return c.connect(m.Name, true) // the page tells the user their old code is gone
		}
		if err != nil {
			return nil, err
		}
		c.sess = sess
		w := c.welcome()
		w.Resumed = true
		return []any{w, c.resync(0)}, nil
	case attachMsg:
		self, err := c.srv.calls.openLink(m.Token, c)
		if err != nil {
			return nil, err
		}
		return []any{attachedOut{Type: "attached", Self: self}}, nil
	}
	return nil, errors.New("the first message must be hello or attach")
}

// connect starts a new chat user who would like to be called name.
func (c *conn) connect(name string, resumable bool) ([]any, error) {
	sess, err := c.srv.hub.Connect(c.connectInfo(name))
	if err != nil {
		return nil, err
	}
	c.sess = sess
	w := c.welcome()
	if resumable {
		w.Resume = sess.ResumeSecret()
	}
	return []any{w}, nil
}

func (c *conn) connectInfo(name string) core.ConnectInfo {
	return core.ConnectInfo{
		LoginName: name,
		Transport: core.Web,
		IP:        c.ip,
		Disconnect: func(reason string) {
			code := websocket.CloseNormalClosure
			if reason == core.ReasonTakenOver {
				code = closeTakenOver
			}
			c.stop(code, reason)
		},
	}
}

func (c *conn) welcome() welcomeOut {
	s := c.sess
	return welcomeOut{
		Type:     "welcome",
		Self:     memberJSON{ID: s.ID(), Name: s.Name(), Transport: core.Web},
		Code:     s.Code(),
		Welcome:  s.Welcome(),
		Commands: commandList(s.Commands()),
		Rooms:    toRooms(s.Rooms()),
	}
}

// allowFrame applies the frame rate limit.
func (c *conn) allowFrame() bool {
	now := time.Now()
	c.tokens += now.Sub(c.last).Seconds() * c.srv.cfg.FrameRate
	c.last = now
	if burst := float64(c.srv.cfg.FrameBurst); c.tokens > burst {
		c.tokens = burst
	}
	if c.tokens < 1 {
		return false
	}
	c.tokens--
	return true
}

// errFrameFlood ends the reading of a connection over the frame limit.
var errFrameFlood = errors.New("too many frames")

// countFrame counts a frame against the limit; over it, the connection
// is told why and closed.
func (c *conn) countFrame() error {
	if c.allowFrame() {
		return nil
	}
	c.stop(websocket.ClosePolicyViolation, "too many messages: slow down")
	return errFrameFlood
}

func (c *conn) read() {
	cfg := c.srv.cfg
	alive := func() { c.ws.SetReadDeadline(time.Now().Add(cfg.PongWait)) }
	alive()
	// Control frames count toward the frame limit too: answering pings
	// costs as much as reading messages, and a browser sending nothing
	// but pings must not escape the limit.
	c.ws.SetPongHandler(func(string) error {
		if err := c.countFrame(); err != nil {
			return err
		}
		alive()
		return nil
	})
	c.ws.SetPingHandler(func(data string) error {
		if err := c.countFrame(); err != nil {
			return err
		}
		alive()
		err := c.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(cfg.WriteWait))
		if err != nil && !errors.Is(err, websocket.ErrCloseSent) {
			return err
		}
		return nil
	})
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		alive()
		if c.countFrame() != nil {
			return
		}
		if typ != websocket.TextMessage {
			c.stop(websocket.CloseUnsupportedData, "only text frames are accepted")
			return
		}
		msg, err := decode(data, cfg.MaxSDP)
		if err != nil {
			c.deliver(textOut{Type: "error", Text: err.Error()})
			continue
		}
		c.handle(msg)
	}
}

// errorText is the user-facing text of err, "" for none.
func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (c *conn) handle(msg clientMessage) {
	if c.srv.calls.act(c, msg) {
		return
	}
	if c.sess == nil {
		c.deliver(textOut{Type: "error", Text: "this connection carries a call only"})
		return
	}
	switch m := msg.(type) {
	case inputMsg:
		c.deliver(resultOut{Type: "result", ID: m.ID, Error: errorText(c.sess.Input(m.Text))})
	case switchMsg:
		c.deliver(resultOut{Type: "result", ID: m.ID, Error: errorText(c.sess.Switch(m.Conv))})
	case joinMsg:
		c.deliver(resultOut{Type: "result", ID: m.ID, Error: errorText(c.sess.Join(m.Room, m.Password))})
	case dmMsg:
		c.deliver(resultOut{Type: "result", ID: m.ID, Error: errorText(c.sess.DM(m.Name))})
	case leaveMsg:
		c.deliver(resultOut{Type: "result", ID: m.ID, Error: errorText(c.sess.Leave(m.Conv))})
	case openCodeMsg:
		c.deliver(resultOut{Type: "result", ID: m.ID, Error: errorText(c.sess.OpenCode(m.Code))})
	case callInviteMsg:
		c.deliver(resultOut{Type: "result", ID: m.ID, Error: errorText(c.sess.Video(m.Conv))})
	case membersMsg:
		c.deliver(membersOut{Type: "members", Conv: m.Conv, Members: toMembers(c.sess.Members(m.Conv))})
	case roomsMsg:
		c.deliver(roomsOut{Type: "rooms", Rooms: toRooms(c.sess.Rooms())})
	default:
		c.deliver(textOut{Type: "error", Text: "already connected"})
	}
}

func (c *conn) writer() {
	defer close(c.writerDone)
	ping := time.NewTicker(c.srv.cfg.PingInterval)
	defer ping.Stop()
	var ready, ended <-chan struct{}
	if c.sess != nil {
		ready, ended = c.sess.Outbox().Ready(), c.sess.Outbox().Done()
	}
	c.pace.interval = c.srv.cfg.FlushInterval
	for {
		select {
		case <-ready:
			if wait := c.pace.wait(time.Now()); wait > 0 {
				time.Sleep(wait) // events that come meanwhile go out in the same write
			}
			if !c.burst(c.flushOutbox) {
				c.ws.Close()
				return
			}
		case <-c.direct.ready:
			if !c.burst(c.writeDirect) {
				c.ws.Close()
				return
			}
		case <-ping.C:
			if c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.srv.cfg.WriteWait)) != nil {
				c.ws.Close()
				return
			}
		case <-ended:
			ended = nil
			c.stop(websocket.CloseNormalClosure, "session ended")
		case <-c.quit:
			c.finish()
			return
		}
	}
}

// finish writes what is still queued and a close frame, then gives the
// browser a moment to answer it before the reader gives up.
func (c *conn) finish() {
	if !c.burst(func() bool { return (c.sess == nil || c.flushOutbox()) && c.writeDirect() }) {
		c.ws.Close()
		return
	}
	deadline := time.Now().Add(c.srv.cfg.WriteWait)
	c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(c.closeCode, c.closeText), deadline)
	// The net.Conn's own deadline: safe beside the reader goroutine.
	c.ws.UnderlyingConn().SetReadDeadline(time.Now().Add(2 * time.Second))
}

// flushPacer spaces a browser's writes of chat events. A few go out at
// once, so that two messages close together are not held back; past
// flushBurst in a row, at most one goes out per interval and the events
// that come meanwhile gather for it. A busy room's churn (thousands of
// members coming and going) so costs each browser a bounded number of
// wake-ups and system calls.
type flushPacer struct {
	interval time.Duration
	credit   float64   // writes that may go out at once
	last     time.Time // when credit was last counted; zero before the first write
}

// flushBurst is how many writes of chat events may go out back to back.
const flushBurst = 4

// wait is how long a write due at now must wait, which it takes from the
// credit.
func (p *flushPacer) wait(now time.Time) time.Duration {
	if p.last.IsZero() || p.interval <= 0 {
		p.credit = flushBurst
	} else if now.After(p.last) {
		p.credit = min(flushBurst, p.credit+float64(now.Sub(p.last))/float64(p.interval))
	}
	p.last = now
	if p.credit >= 1 {
		p.credit--
		return 0
	}
	wait := time.Duration((1 - p.credit) * float64(p.interval))
	p.credit, p.last = 0, now.Add(wait)
	return wait
}

// writeDirect writes the messages waiting in the direct queue.
func (c *conn) writeDirect() bool { return c.writeAll(c.direct.take()) }

// burst runs write with the connection corked, so that the frames it
// writes leave together.
func (c *conn) burst(write func() bool) bool {
	c.cork.cork()
	ok := write()
	return c.cork.uncork() == nil && ok
}

func (c *conn) writeAll(ms []any) bool {
	for _, m := range ms {
		if !c.write(m) {
			return false
		}
	}
	return true
}

func (c *conn) write(m any) bool {
	c.ws.SetWriteDeadline(time.Now().Add(c.srv.cfg.WriteWait))
	return c.ws.WriteJSON(m) == nil
}

// writeShared writes a frame encoded once for all its recipients.
func (c *conn) writeShared(pm *websocket.PreparedMessage) bool {
	c.ws.SetWriteDeadline(time.Now().Add(c.srv.cfg.WriteWait))
	return c.ws.WritePreparedMessage(pm) == nil
}

// flushOutbox writes the session's waiting events; after missed events it
// sends the whole state again instead.
func (c *conn) flushOutbox() bool {
	for _, ev := range c.sess.Outbox().Drain() {
		if pm := c.srv.frames.frame(ev); pm != nil {
			if !c.writeShared(pm) {
				return false
			}
			continue
		}
		var m any
		if ev.Kind == core.EventMissed {
			m = c.resync(ev.N)
		} else {
			m = fromEvent(ev)
		}
		if m != nil && !c.write(m) {
			return false
		}
	}
	return true
}

func (c *conn) resync(missed int) resyncOut {
	v := c.sess.Snapshot()
	out := resyncOut{Type: "resync", Missed: missed, Current: v.Current, Convs: make([]viewJSON, 0, len(v.Convs))}
	for i := range v.Convs {
		out.Convs = append(out.Convs, toView(&v.Convs[i]))
	}
	return out
}
