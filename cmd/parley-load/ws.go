package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// wsLink is a session's WebSocket to the server's /ws endpoint, speaking
// the browser protocol (docs/protocol.md). Its reader takes every frame
// and looks for tokens in the message events, as a page would show them.
type wsLink struct {
	s  *session
	ws *websocket.Conn

	wmu    sync.Mutex
	nextID uint32 // of input messages; guarded by wmu
}

// wsWriteBound bounds one frame the tool writes.
const wsWriteBound = 10 * time.Second

// dialWS opens the WebSocket and says hello with the session's name. The
// session counts as connected when its welcome arrives.
func dialWS(s *session) (*wsLink, error) {
	cfg := s.run.cfg
	ctx, cancel := context.WithDeadline(context.Background(), s.started.Add(cfg.ConnectTimeout))
	defer cancel()
	d := websocket.Dialer{HandshakeTimeout: cfg.ConnectTimeout, ReadBufferSize: 4096, WriteBufferSize: 1024}
	ws, _, err := d.DialContext(ctx, "ws://"+cfg.WSTarget+"/ws", nil)
	if err != nil {
		return nil, err
	}
	l := &wsLink{s: s, ws: ws}
	ws.SetWriteDeadline(time.Now().Add(wsWriteBound))
	hello := struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}{"hello", s.run.loginName(s.idx)}
	if err := ws.WriteJSON(hello); err != nil {
		ws.Close()
		return nil, err
	}
	go l.read()
	return l, nil
}

// serverFrame is the part of a server message the tool looks at.
type serverFrame struct {
	Type string `json:"type"`
	Msg  struct {
		Text string `json:"text"`
	} `json:"msg"`
	Convs []struct {
		History []struct {
			Text string `json:"text"`
		} `json:"history"`
	} `json:"convs"`
}

// read takes frames until the connection ends. Only frames holding this
// run's token prefix are decoded, so the tool's cost per frame stays small.
func (l *wsLink) read() {
	s := l.s
	prefix := []byte(s.run.prefix)
	var buf bytes.Buffer
	for {
		_, r, err := l.ws.NextReader()
		if err == nil {
			buf.Reset()
			_, err = buf.ReadFrom(r)
		}
		if err != nil {
			s.stop(err)
			return
		}
		frame := buf.Bytes()
		s.bytes.Add(int64(len(frame)))
		if s.connected == 0 {
			var f serverFrame
			if json.Unmarshal(frame, &f) == nil && f.Type == "welcome" {
				s.sawText()
			}
			continue
		}
		if bytes.Contains(frame, prefix) {
			l.scan(frame)
		}
	}
}

// scan finds the tokens of a message event, or of the history a resync
// brings to a client that fell behind (what its page would then show).
func (l *wsLink) scan(frame []byte) {
	var f serverFrame
	if err := json.Unmarshal(frame, &f); err != nil {
		return
	}
	prefix := l.s.run.prefix
	switch f.Type {
	case "message":
		tokensIn(f.Msg.Text, prefix, l.s.found)
	case "resync":
		l.s.run.resyncs.Add(1)
		for _, c := range f.Convs {
			for _, m := range c.History {
				tokensIn(m.Text, prefix, l.s.found)
			}
		}
	}
}

// send types line as an input message.
func (l *wsLink) send(line string) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.nextID++
	in := struct {
		Type string `json:"type"`
		ID   uint32 `json:"id"`
		Text string `json:"text"`
	}{"input", l.nextID, line}
	l.ws.SetWriteDeadline(time.Now().Add(wsWriteBound))
	if err := l.ws.WriteJSON(in); err != nil {
		return fmt.Errorf("websocket: %w", err)
	}
	return nil
}

func (l *wsLink) close() { l.ws.Close() }
