package cluster

import (
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"parley/bans"
	"parley/cluster/natstest"
	"parley/core"
)

var (
	mallory     = "SHA256:" + "uDX4kTg3LWwyvt6m7sMOsdkTuyi+yAFd1pO2IWTbpZs"
	malloryAddr = netip.MustParseAddr("192.0.2.7")
)

// A ban made on one node refuses the key on every node; lifting it
// anywhere lifts it everywhere.
func TestBansReachEveryNode(t *testing.T) {
	noLeaks(t)
	srv := natstest.Embedded(t)
	a, _ := start(t, testSettings("a", srv.ClientURL()))
	b, _ := start(t, testSettings("b", srv.ClientURL()))
	now := time.Now()
	ban := core.Ban{Fingerprint: mallory, Name: "mallory", Reason: "spam", By: "op", Since: now}
	if err := a.Bans().Add(ban, now); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Bans().Check(mallory, netip.Addr{}, now); !ok {
		t.Fatal("the node that banned does not refuse at once")
	}
	waitFor(t, "b to refuse the banned key", func() bool {
		got, banned := b.Bans().Check(mallory, netip.Addr{}, now)
		return banned && got.Reason == "spam"
	})
	removed, err := b.Bans().Remove(core.BanTarget{Fingerprint: mallory}, now)
	if err != nil || len(removed) != 1 {
		t.Fatalf("Remove = %v, %v; want the one ban", removed, err)
	}
	waitFor(t, "a to lift the ban", func() bool {
		_, banned := a.Bans().Check(mallory, netip.Addr{}, now)
		return !banned
	})
}

// A single node's ban file is imported once: a node started later with
// the same file does not bring back a ban lifted meanwhile.
func TestBanFileImportedOnce(t *testing.T) {
	noLeaks(t)
	srv := natstest.Embedded(t)
	path := filepath.Join(t.TempDir(), bans.FileName)
	store, err := bans.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ipBan := core.Ban{Prefix: netip.PrefixFrom(malloryAddr, 32), Name: "mallory", By: "op", Since: now}
	if err := store.Add(ipBan, now); err != nil {
		t.Fatal(err)
	}
	s := testSettings("a", srv.ClientURL())
	s.ImportBans = path
	a := connect(t, s)
	if _, ok := a.Bans().Check("", malloryAddr, now); !ok {
		t.Fatal("the imported ban does not hold")
	}
	if got := a.Bans().List(now); len(got) != 1 || got[0].Prefix != ipBan.Prefix || got[0].Name != "mallory" {
		t.Fatalf("List = %+v", got)
	}
	if _, err := a.Bans().Remove(core.BanTarget{Prefix: ipBan.Prefix}, now); err != nil {
		t.Fatal(err)
	}
	s.Node = "b"
	b := connect(t, s)
	if _, ok := b.Bans().Check("", malloryAddr, now); ok {
		t.Fatal("the ban file was imported a second time")
	}
}

// A ban written into the bucket by hand is checked like one in the ban
// file: its reason reaches the banned user's terminal.
func TestHandWrittenBansAreChecked(t *testing.T) {
	noLeaks(t)
	srv := natstest.Embedded(t)
	a := connect(t, testSettings("a", srv.ClientURL()))
	ctx := ctxT(t)
	// The good one goes second: once it holds, the bad one was read.
	for _, w := range []struct{ key, value string }{
		{"ban.bad", `{"fingerprint":"` + mallory + `","name":"m","by":"op","reason":"\u001b]0;owned\u0007","since":"2026-01-01T00:00:00Z"}`},
		{"ban.good", `{"ip":"192.0.2.7/32","name":"m","by":"op","reason":"spam","since":"2026-01-01T00:00:00Z"}`},
	} {
		if _, err := a.bans.kv.Put(ctx, w.key, []byte(w.value)); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	waitFor(t, "the good ban to hold", func() bool {
		_, ok := a.Bans().Check("", malloryAddr, now)
		return ok
	})
	if _, ok := a.Bans().Check(mallory, netip.Addr{}, now); ok {
		t.Fatal("a ban with a terminal escape in its reason was taken")
	}
}
