package core

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestOnReadyCallsForQueuedEventsAndTheEnd checks that a transport told
// through OnReady hears of events already waiting, of each new one, and
// of the session's end, and that Drain can be called from the callback.
func TestOnReadyCallsForQueuedEventsAndTheEnd(t *testing.T) {
	h := newTestHub(t)
	alice := connect(t, h, "alice")
	bob := connect(t, h, "bob")
	var calls atomic.Int32
	var drained []Event
	bob.Outbox().OnReady(func() {
		calls.Add(1)
		drained = append(drained, bob.Outbox().Drain()...)
	})
	if calls.Load() != 1 || len(drained) == 0 {
		t.Fatalf("the welcome events were waiting: want one call at once that drains them, got %d calls, %d events", calls.Load(), len(drained))
	}
	drained = nil
	if err := alice.Input("hello bob"); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range drained {
		found = found || (ev.Kind == EventMessage && ev.Msg.Text == "hello bob")
	}
	if calls.Load() < 2 || !found {
		t.Fatalf("a message to bob's room: want a call that drains it, got %d calls, events %v", calls.Load(), drained)
	}
	before := calls.Load()
	bob.Close("bye")
	select {
	case <-bob.Outbox().Done():
	default:
		t.Fatal("the outbox is not done after Close")
	}
	if calls.Load() <= before {
		t.Fatal("the session's end made no call")
	}
	late := calls.Load()
	var again atomic.Int32
	bob.Outbox().OnReady(func() { again.Add(1) })
	if again.Load() != 1 {
		t.Fatalf("OnReady on an ended session: want one call at once, got %d", again.Load())
	}
	if calls.Load() != late {
		t.Fatal("the replaced callback was still called")
	}
}

// DrainInto gives what Drain would, missed events told, and a consumer
// that hands its buffer back makes no garbage per event; a big burst's
// memory is let go.
func TestDrainIntoReusesMemory(t *testing.T) {
	o := newOutbox(3)
	now := time.Now()
	for i := 0; i < 5; i++ {
		o.push(Event{Kind: EventNotice, N: i}, now)
	}
	buf := o.DrainInto(nil)
	if len(buf) != 4 || buf[2].N != 2 || buf[3].Kind != EventMissed || buf[3].N != 2 {
		t.Fatalf("a full queue drained into %+v; want its 3 events and 2 missed", buf)
	}
	if evs := o.DrainInto(buf); len(evs) != 0 {
		t.Fatalf("an empty queue drained into %d events", len(evs))
	}
	buf = KeepEvents(buf)
	allocs := testing.AllocsPerRun(100, func() {
		o.push(Event{Kind: EventNotice, N: 7}, now)
		buf = o.DrainInto(buf)
		if len(buf) != 1 || buf[0].N != 7 {
			t.Fatalf("drained %+v", buf)
		}
		buf = KeepEvents(buf)
	})
	if allocs != 0 {
		t.Fatalf("a push and a drain into a kept buffer made %v allocations", allocs)
	}
	if KeepEvents(make([]Event, 0, KeptEvents+1)) != nil {
		t.Fatal("a buffer bigger than KeptEvents was kept")
	}
}
