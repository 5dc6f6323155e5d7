package webrtcsignal

import "testing"

func TestDirectQueueIsBoundedAndSignals(t *testing.T) {
	q := newDirectQueue(2)
	if !q.push("a") || !q.push("b") {
		t.Fatal("the queue refused messages below its bound")
	}
	if q.push("c") {
		t.Fatal("the queue took a message past its bound")
	}
	select {
	case <-q.ready:
	default:
		t.Fatal("no signal for waiting messages")
	}
	if got := q.take(); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("took %v, want [a b] in order", got)
	}
	if q.items != nil || !q.push("d") {
		t.Fatal("the queue kept its memory or stayed full after a take")
	}
}
