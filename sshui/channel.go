package sshui

import (
	"errors"
	"net"
	"sync/atomic"
	"time"

	"github.com/charmbracelet/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// shellChannel is one SSH session channel as Parley serves it.
//
// Parley answers a session's requests itself rather than through the SSH
// library's session type, which would need two more goroutines per
// session to be safe: one screening its requests (it grants agent
// forwarding and keeps every environment variable without bound) and
// one draining its window changes (it blocks its request loop on them).
// Here the one goroutine reading the requests grants only what a
// terminal chat needs and puts window changes straight into the
// session's window box. Writes go straight to the channel too: the
// library's emulated PTY copies every write twice to turn \n into \r\n,
// and Parley never writes a bare \n to a terminal.
type shellChannel struct {
	gossh.Channel
	conn   *gossh.ServerConn
	ctx    ssh.Context
	input  *earlyInput
	env    []string // the environment kept: COLORTERM at most
	exited atomic.Bool
}

// ptyRequest is the payload of a "pty-req" request (RFC 4254 6.2).
type ptyRequest struct {
	Term                         string
	Columns, Rows, Width, Height uint32
	Modes                        string
}

// windowChange is the payload of a "window-change" request (RFC 4254 6.7).
type windowChange struct {
	Columns, Rows, Width, Height uint32
}

// serveChannel accepts a session channel and answers its requests until
// it closes. A shell (or a command: Parley runs the chat either way) is
// served by its own goroutine; this one goes on reading requests, so a
// session stuck writing to a client that stopped reading still learns
// when its channel closes. Of the environment only COLORTERM, once, is
// kept (for colours); subsystems (sftp), agent and X11 forwarding and
// anything unknown are refused.
func (s *Server) serveChannel(conn *gossh.ServerConn, nc gossh.NewChannel, ctx ssh.Context) {
	ch, reqs, err := nc.Accept()
	if err != nil {
		return
	}
	sc := &shellChannel{Channel: ch, conn: conn, ctx: ctx}
	sc.input = newEarlyInput(ch, s.cfg.EarlyInputBytes, func() { ch.Close() })
	// A channel that has not started its shell in time is closed: until
	// then it holds memory and a goroutine and serves no one.
	noShell := time.AfterFunc(s.cfg.ShellTimeout, func() { ch.Close() })
	var box *windowBox // from the PTY request on
	started := false
	defer func() {
		noShell.Stop()
		if box != nil {
			box.close()
		}
	}()
	for req := range reqs {
		ok := false
		switch req.Type {
		case "pty-req":
			var p ptyRequest
			if box == nil && !started && gossh.Unmarshal(req.Payload, &p) == nil {
				w, h := clampWindow(int(p.Columns), int(p.Rows), s.cfg.MaxWidth, s.cfg.MaxHeight)
				box = newWindowBox(p.Term, w, h, s.cfg.ResizeInterval)
				ok = true
			}
		case "window-change":
			var win windowChange
			if box != nil && gossh.Unmarshal(req.Payload, &win) == nil {
				box.set(clampWindow(int(win.Columns), int(win.Rows), s.cfg.MaxWidth, s.cfg.MaxHeight))
				ok = true
			}
		case "env":
			var kv struct{ Name, Value string }
			if !started && sc.env == nil && gossh.Unmarshal(req.Payload, &kv) == nil && kv.Name == "COLORTERM" {
				sc.env = []string{"COLORTERM=" + kv.Value}
				ok = true
			}
		case "shell", "exec":
			ok = !started
		}
		if req.WantReply {
			_ = req.Reply(ok, nil)
		}
		if ok && (req.Type == "shell" || req.Type == "exec") {
			started = true
			noShell.Stop()
			sc.input.start()
			go s.runShell(sc, box)
		}
	}
}

// runShell serves the session, then ends the channel with its exit status.
func (s *Server) runShell(sc *shellChannel, box *windowBox) {
	func() {
		defer s.recoverPanic("session")
		s.serveSession(sc, box)
	}()
	_ = sc.Exit(0)
}

// Read reads the input, typed-ahead keys first.
func (c *shellChannel) Read(p []byte) (int, error) { return c.input.Read(p) }

func (c *shellChannel) User() string         { return c.conn.User() }
func (c *shellChannel) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }
func (c *shellChannel) Environ() []string    { return c.env }

// PublicKey is the key the connection authenticated with, nil for a
// keyless login: the SSH library records it only once authentication
// has succeeded, from the method that succeeded.
func (c *shellChannel) PublicKey() ssh.PublicKey {
	pk, _ := c.ctx.Value(ssh.ContextKeyPublicKey).(ssh.PublicKey)
	return pk
}

// Exit sends the exit status and closes the channel, once.
func (c *shellChannel) Exit(code int) error {
	if !c.exited.CompareAndSwap(false, true) {
		return errors.New("sshui: exit sent already")
	}
	status := struct{ Status uint32 }{uint32(code)}
	_, err := c.SendRequest("exit-status", false, gossh.Marshal(&status))
	if err != nil {
		return err
	}
	return c.Close()
}
