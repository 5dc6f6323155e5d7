package webrtcsignal

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"parley/core"
)

func TestEveryCoreEventHasAMessage(t *testing.T) {
	msg := &core.Message{Seq: 3, Conv: "#lobby", Time: time.UnixMilli(1_700_000_000_000), Kind: core.Action, From: core.Member{ID: 2, Name: "ann", Transport: "ssh"}, Text: "<b>waves</b>"}
	view := &core.ConvView{ID: "@1-2", Kind: core.Private, Title: "ann", Partner: msg.From, MemberCount: 2, History: []*core.Message{msg}}
	for _, tc := range []struct {
		ev   core.Event
		want string
	}{
		{core.Event{Kind: core.EventMessage, Msg: msg}, `{"type":"message","msg":{"seq":3,"conv":"#lobby","time":1700000000000,"kind":"action","from":{"id":2,"name":"ann","transport":"ssh"},"text":"\u003cb\u003ewaves\u003c/b\u003e"}}`},
		{core.Event{Kind: core.EventConvOpened, View: view}, `"type":"conv-opened","view":{"id":"@1-2","kind":"private","title":"ann","partner":{"id":2`},
		{core.Event{Kind: core.EventConvClosed, Conv: "#x", Text: "you left"}, `{"type":"conv-closed","conv":"#x","text":"you left"}`},
		{core.Event{Kind: core.EventCurrent}, `{"type":"current","conv":""}`},
		{core.Event{Kind: core.EventMemberJoined, Conv: "#x", Member: msg.From}, `{"type":"member-joined","conv":"#x","member":{"id":2,"name":"ann","transport":"ssh"}}`},
		{core.Event{Kind: core.EventMemberLeft, Conv: "#x", Member: msg.From, Msg: msg}, `"type":"member-left","conv":"#x"`},
		{core.Event{Kind: core.EventRenamed, Conv: "#x", Member: msg.From, Text: "anne"}, `"old":"anne"`},
		{core.Event{Kind: core.EventMemberCount, Conv: "#x", N: 5000}, `{"type":"member-count","conv":"#x","count":5000}`},
		{core.Event{Kind: core.EventSelf, Member: msg.From}, `{"type":"self","self":{"id":2,"name":"ann","transport":"ssh"}}`},
		{core.Event{Kind: core.EventInfo, Text: "Rooms"}, `{"type":"info","title":"Rooms","lines":[]}`},
		{core.Event{Kind: core.EventNotice, Text: "hi"}, `{"type":"notice","text":"hi"}`},
		{core.Event{Kind: core.EventClosing, Text: "bye"}, `{"type":"closing","text":"bye"}`},
	} {
		b, err := json.Marshal(fromEvent(tc.ev))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), tc.want) {
			t.Errorf("event %d: %s, want %s in it", tc.ev.Kind, b, tc.want)
		}
	}
	if fromEvent(core.Event{Kind: core.EventMissed, N: 3}) != nil {
		t.Fatal("missed events are the connection's to resynchronise")
	}
}

func TestResyncCarriesTheWholeState(t *testing.T) {
	hub, err := core.NewHub(core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Stop()
	s, err := hub.Connect(core.ConnectInfo{LoginName: "ann", Transport: "web"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close("")
	if err := s.Input("before the gap"); err != nil {
		t.Fatal(err)
	}
	out := (&conn{sess: s}).resync(7)
	if out.Missed != 7 || out.Current != "#lobby" || len(out.Convs) != 1 || out.Convs[0].History[len(out.Convs[0].History)-1].Text != "before the gap" {
		t.Fatalf("resync %+v", out)
	}
}
