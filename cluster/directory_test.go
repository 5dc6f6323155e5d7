package cluster

import (
	"errors"
	"sync"
	"testing"

	"parley/cluster/natstest"

	"parley/core"
)

// Eight claims of one name from two nodes at once: exactly one wins, and
// the winner claiming again still holds it.
func TestClaimRaceHasOneWinner(t *testing.T) {
	noLeaks(t)
	srv := natstest.Embedded(t)
	a := connect(t, testSettings("a", srv.ClientURL()))
	b := connect(t, testSettings("b", srv.ClientURL()))
	ctx := ctxT(t)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners []core.Owner
		taken   int
	)
	for i := range 8 {
		d, node := a.Directory(), "a"
		if i%2 == 1 {
			d, node = b.Directory(), "b"
		}
		o := core.Owner{Node: node, Incarnation: "i1", User: uint64(i + 1)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := d.Claim(ctx, core.ClaimName, "alice", o)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				winners = append(winners, o)
			case errors.Is(err, core.ErrTaken):
				taken++
			default:
				t.Errorf("claim: %v", err)
			}
		}()
	}
	wg.Wait()
	if len(winners) != 1 || taken != 7 {
		t.Fatalf("%d winners (%v) and %d refusals, want 1 and 7", len(winners), winners, taken)
	}
	if err := a.Directory().Claim(ctx, core.ClaimName, "alice", winners[0]); err != nil {
		t.Fatalf("the winner claiming again: %v", err)
	}
	if err := a.Directory().Claim(ctx, core.ClaimCode, "alice", core.Owner{Node: "a", User: 99}); err != nil {
		t.Fatalf("a code is not a name: %v", err)
	}
}

// A release by an owner that no longer holds the claim — from the same
// process or from a reaper elsewhere — never removes the newer holder.
func TestStaleReleaseKeepsNewerHolder(t *testing.T) {
	noLeaks(t)
	srv := natstest.Embedded(t)
	a := connect(t, testSettings("a", srv.ClientURL()))
	b := connect(t, testSettings("b", srv.ClientURL()))
	ctx := ctxT(t)
	old := core.Owner{Node: "a", Incarnation: "i1", User: 1}
	newer := core.Owner{Node: "b", Incarnation: "i1", User: 2}
	if err := a.Directory().Claim(ctx, core.ClaimCode, "ABCD2345", old); err != nil {
		t.Fatal(err)
	}
	if err := a.Directory().Release(ctx, core.ClaimCode, "ABCD2345", old); err != nil {
		t.Fatal(err)
	}
	if err := b.Directory().Claim(ctx, core.ClaimCode, "ABCD2345", newer); err != nil {
		t.Fatalf("claiming a released code: %v", err)
	}
	if err := a.Directory().Release(ctx, core.ClaimCode, "ABCD2345", old); err != nil {
		t.Fatal(err)
	}
	if err := b.Directory().Release(ctx, core.ClaimCode, "ABCD2345", old); err != nil {
		t.Fatal(err)
	}
	err := a.Directory().Claim(ctx, core.ClaimCode, "ABCD2345", core.Owner{Node: "a", Incarnation: "i1", User: 3})
	if !errors.Is(err, core.ErrTaken) {
		t.Fatalf("after stale releases a third claim got %v, want core.ErrTaken: the newer holder lost it", err)
	}
}

// A claim moved to another node's owner (a user's session moved) is the
// new owner's: the old owner can neither move nor release it, the end of
// the old node's incarnation leaves it, and the new owner releases it.
func TestMovedClaimBelongsToTheNewNode(t *testing.T) {
	noLeaks(t)
	srv := natstest.Embedded(t)
	a := connect(t, testSettings("a", srv.ClientURL()))
	b := connect(t, testSettings("b", srv.ClientURL()))
	ctx := ctxT(t)
	onA := core.Owner{Node: "a", Incarnation: "i1", User: 7}
	onB := core.Owner{Node: "b", Incarnation: "i1", User: 7}
	if err := a.Directory().Claim(ctx, core.ClaimName, "alice", onA); err != nil {
		t.Fatal(err)
	}
	if err := b.Directory().Move(ctx, core.ClaimName, "alice", onA, onB); err != nil {
		t.Fatalf("moving alice from a to b: %v", err)
	}
	if err := a.Directory().Move(ctx, core.ClaimName, "alice", onA, core.Owner{Node: "c", User: 7}); !errors.Is(err, core.ErrTaken) {
		t.Fatalf("moving again from the old owner: %v, want core.ErrTaken", err)
	}
	if err := a.Directory().Move(ctx, core.ClaimName, "nobody", onA, onB); !errors.Is(err, core.ErrTaken) {
		t.Fatalf("moving a name no one holds: %v, want core.ErrTaken", err)
	}
	if err := a.Directory().Release(ctx, core.ClaimName, "alice", onA); err != nil {
		t.Fatal(err)
	}
	if _, err := a.dir.releaseIncarnation(ctx, "a", "i1"); err != nil {
		t.Fatal(err)
	}
	other := core.Owner{Node: "a", Incarnation: "i2", User: 8}
	if err := a.Directory().Claim(ctx, core.ClaimName, "alice", other); !errors.Is(err, core.ErrTaken) {
		t.Fatalf("after the old owner let go, claiming the moved name got %v, want core.ErrTaken", err)
	}
	if err := b.Directory().Release(ctx, core.ClaimName, "alice", onB); err != nil {
		t.Fatal(err)
	}
	if err := a.Directory().Claim(ctx, core.ClaimName, "alice", other); err != nil {
		t.Fatalf("the new owner released alice, yet: %v", err)
	}
}

// IDs from two nodes taking blocks at once never repeat, and none is 0.
func TestNewIDUniqueAcrossNodes(t *testing.T) {
	noLeaks(t)
	srv := natstest.Embedded(t)
	a := connect(t, testSettings("a", srv.ClientURL()))
	b := connect(t, testSettings("b", srv.ClientURL()))
	ctx := ctxT(t)
	const each = 3 * idBlock
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = map[uint64]bool{}
	)
	for _, d := range []*Directory{a.Directory(), b.Directory(), a.Directory()} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				id, err := d.NewID(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[id] || id == 0 || id >= maxID {
					t.Errorf("ID %d repeated or out of range", id)
				}
				seen[id] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 3*each {
		t.Fatalf("%d distinct IDs, want %d", len(seen), 3*each)
	}
}

// Names are claimed whatever characters they hold: NATS keys allow few.
func TestClaimAnyName(t *testing.T) {
	noLeaks(t)
	srv := natstest.Embedded(t)
	a := connect(t, testSettings("a", srv.ClientURL()))
	ctx := ctxT(t)
	o := core.Owner{Node: "a", Incarnation: "i1", User: 1}
	for _, name := range []string{"ålice", "a.b", "*", ">", "with space", "Ωmega", "a/b"} {
		if err := a.Directory().Claim(ctx, core.ClaimName, name, o); err != nil {
			t.Fatalf("claiming %q: %v", name, err)
		}
		if err := a.Directory().Claim(ctx, core.ClaimName, name, core.Owner{Node: "a", Incarnation: "i1", User: 2}); !errors.Is(err, core.ErrTaken) {
			t.Fatalf("claiming %q twice: %v, want core.ErrTaken", name, err)
		}
	}
}
