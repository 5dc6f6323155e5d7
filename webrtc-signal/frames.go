package webrtcsignal

import (
	"encoding/json"
	"sync"

	"github.com/gorilla/websocket"

	"parley/core"
)

// frameCache shares the encoded frame of an event among its recipients.
// A message posted to a room of 5,000 browsers is encoded once, not 5,000
// times; the cache keeps the most recent events only, so a browser that
// drains late just encodes its own copy.
type frameCache struct {
	mu    sync.Mutex
	byKey map[frameKey]*sharedFrame
	ring  []frameKey // insertion order, for eviction
	next  int        // the ring slot to fill (and evict) next
}

// frameKey is every field of an event that fromEvent reads for the kinds
// that are shared, so equal keys always make equal frames. These kinds
// carry nothing about the recipient, and their Message is immutable (a
// core guarantee); its pointer tells one posting from another.
type frameKey struct {
	kind   core.EventKind // 0 for a free slot of the ring
	conv   string
	member core.Member
	text   string
	msg    *core.Message
	n      int
}

// sharedFrame is one event's frame, encoded by whichever recipient's
// writer gets to it first.
type sharedFrame struct {
	once sync.Once
	pm   *websocket.PreparedMessage // nil if the event could not be encoded
}

// frameCacheSize is how many recent events keep their frame: far more
// than a room produces while its members' writers drain it.
const frameCacheSize = 1024

func newFrameCache() *frameCache {
	return &frameCache{byKey: make(map[frameKey]*sharedFrame, frameCacheSize), ring: make([]frameKey, frameCacheSize)}
}

// sharedKey is the cache key of ev, or false for an event whose frame is
// made for one recipient (views, notices, command output…).
func sharedKey(ev core.Event) (frameKey, bool) {
	switch ev.Kind {
	case core.EventMessage, core.EventRenamed:
		if ev.Msg != nil {
			return frameKey{kind: ev.Kind, conv: ev.Conv, member: ev.Member, text: ev.Text, msg: ev.Msg}, true
		}
	case core.EventMemberJoined, core.EventMemberLeft:
		return frameKey{kind: ev.Kind, conv: ev.Conv, member: ev.Member, msg: ev.Msg}, true
	case core.EventMemberCount:
		return frameKey{kind: ev.Kind, conv: ev.Conv, n: ev.N}, true
	}
	return frameKey{}, false
}

// frame returns the shared frame of ev, or nil when ev is not shared.
func (fc *frameCache) frame(ev core.Event) *websocket.PreparedMessage {
	key, ok := sharedKey(ev)
	if !ok {
		return nil
	}
	fc.mu.Lock()
	f := fc.byKey[key]
	if f == nil {
		f = &sharedFrame{}
		if old := fc.ring[fc.next]; old.kind != 0 {
			delete(fc.byKey, old)
		}
		fc.byKey[key] = f
		fc.ring[fc.next] = key
		fc.next = (fc.next + 1) % len(fc.ring)
	}
	fc.mu.Unlock()
	f.once.Do(func() {
		data, err := json.Marshal(fromEvent(ev))
		if err == nil {
			f.pm, _ = websocket.NewPreparedMessage(websocket.TextMessage, data)
		}
	})
	return f.pm
}
