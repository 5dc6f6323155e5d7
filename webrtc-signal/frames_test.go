package webrtcsignal

import (
	"testing"
	"time"

	"parley/core"
)

func messageEvent(text string) core.Event {
	m := &core.Message{Seq: 1, Conv: "#lobby", Time: time.Now(), Kind: core.Text, From: core.Member{ID: 3, Name: "ann", Transport: "web"}, Text: text}
	return core.Event{Kind: core.EventMessage, Conv: m.Conv, Msg: m}
}

func TestSharedFramesAreEncodedOncePerEvent(t *testing.T) {
	fc := newFrameCache()
	ev := messageEvent("hello")
	first := fc.frame(ev)
	if first == nil {
		t.Fatal("a message event got no shared frame")
	}
	if again := fc.frame(ev); again != first {
		t.Error("the same event was encoded twice")
	}
	if other := fc.frame(messageEvent("hello")); other == first {
		t.Error("two postings with the same text share one frame")
	}
	joined := core.Event{Kind: core.EventMemberJoined, Conv: "#lobby", Member: core.Member{ID: 4, Name: "ben"}, Msg: ev.Msg}
	if fc.frame(joined) == first {
		t.Error("a join notice shares the frame of the message it points to")
	}
	// A join or leave without a notice, and a member count, are the same
	// for every member of the room too.
	left := core.Event{Kind: core.EventMemberLeft, Conv: "#lobby", Member: core.Member{ID: 4, Name: "ben"}}
	count := core.Event{Kind: core.EventMemberCount, Conv: "#lobby", N: 5000}
	for _, ev := range []core.Event{left, count} {
		if f := fc.frame(ev); f == nil || fc.frame(ev) != f {
			t.Errorf("event kind %d is not shared", ev.Kind)
		}
	}
	if fc.frame(count) == fc.frame(core.Event{Kind: core.EventMemberCount, Conv: "#lobby", N: 5001}) {
		t.Error("two counts share a frame")
	}
}

func TestFramesForOneRecipientAreNotShared(t *testing.T) {
	fc := newFrameCache()
	view := &core.ConvView{ID: "#lobby", Kind: core.Room, Title: "#lobby"}
	for _, ev := range []core.Event{
		{Kind: core.EventConvOpened, Conv: "#lobby", View: view},
		{Kind: core.EventCurrent, Conv: "#lobby"},
		{Kind: core.EventNotice, Text: "muted"},
		{Kind: core.EventInfo, Text: "help", Lines: []string{"/quit"}},
		{Kind: core.EventSelf, Member: core.Member{ID: 4, Name: "ben"}},
		{Kind: core.EventMissed, N: 3},
	} {
		if fc.frame(ev) != nil {
			t.Errorf("event kind %d got a shared frame", ev.Kind)
		}
	}
}

func TestFrameCacheStaysBounded(t *testing.T) {
	fc := newFrameCache()
	oldest := messageEvent("first")
	first := fc.frame(oldest)
	for range frameCacheSize {
		fc.frame(messageEvent("more"))
	}
	if len(fc.byKey) != frameCacheSize {
		t.Fatalf("%d frames kept, want %d", len(fc.byKey), frameCacheSize)
	}
	if again := fc.frame(oldest); again == nil || again == first {
		t.Error("the oldest frame was not evicted and encoded again")
	}
}
