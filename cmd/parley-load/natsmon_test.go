package main

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"parley/cluster/embedded"
)

// The counts come from the NATS server's own monitoring: what it delivered
// to each named connection in all and on its busiest subscription, between
// two samples.
func TestNATSCountsWhatTheServerDeliveredByConnection(t *testing.T) {
	srv, err := embedded.Start(embedded.Settings{Name: "load", ClientListen: "127.0.0.1:0", MonitorListen: "127.0.0.1:0", StoreDir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	monitors := []string{srv.MonitorAddr().String()}
	reader, err := nats.Connect(srv.ClientURL(), nats.Name("parley reader"))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	busy, err := reader.SubscribeSync("chat")
	if err != nil {
		t.Fatal(err)
	}
	quiet, err := reader.SubscribeSync("other")
	if err != nil {
		t.Fatal(err)
	}
	// The server has the subscriptions before anything is published.
	if err := reader.Flush(); err != nil {
		t.Fatal(err)
	}
	writer, err := nats.Connect(srv.ClientURL(), nats.Name("parley writer"))
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	send := func(subject string, n int, sub *nats.Subscription) {
		for range n {
			if err := writer.Publish(subject, []byte("x")); err != nil {
				t.Fatal(err)
			}
		}
		for range n {
			if _, err := sub.NextMsg(10 * time.Second); err != nil {
				t.Fatal(err)
			}
		}
	}
	send("chat", 3, busy) // before the window
	before, err := sampleNATS(monitors)
	if err != nil {
		t.Fatal(err)
	}
	send("chat", 7, busy)
	send("other", 2, quiet)
	after, err := sampleNATS(monitors)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]NATSNode{}
	for _, n := range after.since(before) {
		got[n.Name] = n
	}
	if r := got["parley reader"]; r.Msgs != 9 || r.BusiestSubMsgs != 7 {
		t.Errorf("reader: %+v, want 9 messages, 7 on the busiest subscription", r)
	}
	if w := got["parley writer"]; w.Msgs != 0 {
		t.Errorf("writer: %+v, want nothing delivered", w)
	}
}
