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
	ws, _, err := d.DialContext(ctx, "ws://"+cfg.WSTargets[s.node]+"/ws", nil)
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

// welcomeFrame and resyncFrame are the parts of those server messages
// the tool looks at.
type welcomeFrame struct {
	Type string `json:"type"`
}

type resyncFrame struct {
	Convs []struct {
		History []struct {
			Text string `json:"text"`
		} `json:"history"`
	} `json:"convs"`
}

// read takes frames until the connection ends. Only frames holding this
// run's token prefix are looked into, so the tool's cost per frame stays
// small; a token is seen when the frame holding it has been read.
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
		frame, at := buf.Bytes(), time.Now()
		s.bytes.Add(int64(len(frame)))
		if s.connected == 0 {
			var f welcomeFrame
			if json.Unmarshal(frame, &f) == nil && f.Type == "welcome" {
				s.sawText()
			}
			continue
		}
		if bytes.Contains(frame, prefix) {
			l.scan(frame, at)
		}
	}
}

// scan finds the tokens of a message event, or of the history a resync
// brings to a client that fell behind (what its page would then show),
// read at the time at.
func (l *wsLink) scan(frame []byte, at time.Time) {
	s := l.s
	found := func(id int) { s.foundAt(id, at) }
	typ, _ := stringField(frame, "type")
	switch string(typ) {
	case "message":
		if text, ok := stringField(frame, "text"); ok {
			tokensIn(string(text), s.run.prefix, found)
		}
	case "resync":
		var f resyncFrame
		if err := json.Unmarshal(frame, &f); err != nil {
			return
		}
		s.run.resyncs.Add(1)
		for _, c := range f.Convs {
			for _, m := range c.History {
				tokensIn(m.Text, s.run.prefix, found)
			}
		}
	}
}

// stringField is the raw value of the first string field named key in a
// JSON object, without decoding the rest: a message event has one "type"
// and one "text" (docs/protocol.md), and decoding every frame with
// encoding/json cost the tool more than reading it. The value is left
// escaped: tokens are letters and digits, which JSON never needs to
// escape, so the raw text holds exactly the tokens the decoded one does
// (a server escaping them anyway would lose deliveries, never add any).
func stringField(frame []byte, key string) ([]byte, bool) {
	pat := make([]byte, 0, len(key)+5)
	pat = append(append(append(pat, '"'), key...), `":"`...)
	i := bytes.Index(frame, pat)
	if i < 0 {
		return nil, false
	}
	rest := frame[i+len(pat):]
	for j := 0; j < len(rest); j++ {
		switch rest[j] {
		case '\\':
			j++ // the escaped character, a quote perhaps
		case '"':
			return rest[:j], true
		}
	}
	return nil, false
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
