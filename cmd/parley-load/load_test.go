package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const testPrefix = "tkabc"

// scan feeds chunks to a fresh scanner and returns the token ids found and
// the query answers written back.
func scan(chunks ...string) (ids []int, replies string) {
	var out bytes.Buffer
	sc := newScanner(testPrefix, func(id int) { ids = append(ids, id) }, func(b []byte) { out.Write(b) })
	for _, c := range chunks {
		sc.Write([]byte(c))
	}
	return ids, out.String()
}

func TestScannerFindsTokensThroughStylingAndSplitWrites(t *testing.T) {
	ids, _ := scan(
		"\x1b[2J\x1b[1;1Halice: "+token(testPrefix, 42)+"\r\n",
		"bob: \x1b[38;5;2mtkab\x1b[1mc00\x1b[0m00", "007 ttkabc0000009",
		"\x1b[3", "1mtkabc0000", "123\x1b[0m", "tkxyz0000005",
	)
	want := []int{42, 7, 9, 123}
	if len(ids) != len(want) {
		t.Fatalf("found %v, want %v", ids, want)
	}
	for i := range want {
		if ids[i] != want[i] {
			t.Fatalf("found %v, want %v", ids, want)
		}
	}
}

func TestScannerDoesNotJoinTextFromTwoPlaces(t *testing.T) {
	for _, stream := range []string{
		"tkabc000\x1b[5;1H0001",        // cursor moved between the halves
		"tkabc000\r\n0001",             // a new line between them
		"tkabc000\x1b]0;title\x070001", // an OSC between them
		"tkabc00x00001",
		"tkab0000001",
	} {
		if ids, _ := scan(stream); len(ids) != 0 {
			t.Errorf("%q: found %v, want nothing", stream, ids)
		}
	}
}

func TestScannerAnswersTerminalQueries(t *testing.T) {
	_, replies := scan("\x1b[c", "\x1b]11;?\x07", "\x1b[6n", "\x1b[>c")
	for _, want := range []string{"\x1b[?62;22c", "\x1b]11;rgb:0000/0000/0000\x1b\\", "\x1b[1;1R"} {
		if !strings.Contains(replies, want) {
			t.Errorf("replies %q lack %q", replies, want)
		}
	}
	if strings.Count(replies, "c") != 1 {
		t.Errorf("secondary device attributes were answered: %q", replies)
	}
}

func TestTokensInFindsWholeTokensOnly(t *testing.T) {
	var ids []int
	tokensIn("tkabc0000042 and tkabc12 then xtkabc0000007tkabc0000009 tkabc000000", testPrefix, func(id int) { ids = append(ids, id) })
	if len(ids) != 3 || ids[0] != 42 || ids[1] != 7 || ids[2] != 9 {
		t.Fatalf("found %v, want [42 7 9]", ids)
	}
}

func TestConfigRefusesNonLoopbackTargets(t *testing.T) {
	cfg := DefaultConfig()
	for _, target := range []string{"192.0.2.1:22", "[2001:db8::1]:22", "no-port"} {
		cfg.Targets = []string{target}
		if err := cfg.Validate(); err == nil {
			t.Errorf("target %q accepted", target)
		}
		cfg.Targets = []string{"127.0.0.1:22", target}
		if err := cfg.Validate(); err == nil {
			t.Errorf("target %q accepted as a second node", target)
		}
	}
	cfg.Targets = []string{"127.0.0.1:22"}
	if err := cfg.Validate(); err != nil {
		t.Errorf("loopback refused: %v", err)
	}
	cfg.NATSMonitors = []string{"192.0.2.1:8222"}
	if err := cfg.Validate(); err == nil {
		t.Error("non-loopback NATS monitor accepted")
	}
	cfg.NATSMonitors = nil
	cfg.WS, cfg.WSTargets = 10, []string{"192.0.2.1:80"}
	if err := cfg.Validate(); err == nil {
		t.Error("non-loopback WebSocket target accepted")
	}
	cfg.WSTargets = nil
	if err := cfg.Validate(); err == nil {
		t.Error("WebSocket clients without --ws-target accepted")
	}
	cfg.WS = 0
	cfg.Senders = cfg.Sessions + 1
	if err := cfg.Validate(); err == nil {
		t.Error("more senders than sessions accepted")
	}
}

// The nodes of a cluster are listed in one order for every flag: lists of
// different lengths cannot say which address and process go together.
func TestConfigRefusesNodeListsThatDoNotMatch(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Targets = []string{"127.0.0.1:2221", "127.0.0.1:2222"}
	cfg.ServerPIDs = []int{1}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "--server-pid") {
		t.Errorf("one pid for two nodes: %v", err)
	}
	cfg.ServerPIDs = []int{1, 2}
	cfg.WSTargets = []string{"127.0.0.1:8081"}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "--ws-target") {
		t.Errorf("one WebSocket target for two nodes: %v", err)
	}
	cfg.WSTargets = append(cfg.WSTargets, "127.0.0.1:8082")
	if err := cfg.Validate(); err != nil {
		t.Errorf("two nodes refused: %v", err)
	}
}

// Senders, readers and stalled sessions are each dealt round-robin, so
// that every node has its share of each.
func TestSessionsAreDealtToNodesInTurn(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Targets = []string{"a", "b", "c"}
	cfg.WSTargets = []string{"a", "b", "c"}
	cfg.Sessions, cfg.WS, cfg.Stalled = 4, 4, 2
	var got []int
	for idx := range cfg.readers() + cfg.Stalled {
		got = append(got, cfg.nodeOf(idx))
	}
	want := []int{0, 1, 2, 0 /* WebSocket: */, 0, 1, 2, 0 /* stalled SSH: */, 1, 2}
	if !slices.Equal(got, want) {
		t.Fatalf("nodes %v, want %v", got, want)
	}
}

func TestFlagsReadCommaSeparatedNodes(t *testing.T) {
	var stderr bytes.Buffer
	err := loadMain([]string{"--target", "127.0.0.1:1,127.0.0.1:2", "--server-pid", "10,x"}, io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), `"x" is not a process id`) {
		t.Errorf("bad pid: %v", err)
	}
	err = loadMain([]string{"--target", "127.0.0.1:1,,127.0.0.1:2"}, io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), "empty address") {
		t.Errorf("empty address: %v", err)
	}
	var targets []string
	var pids []int
	if err := listFlag(&targets)("127.0.0.1:1, 127.0.0.1:2"); err != nil || !slices.Equal(targets, []string{"127.0.0.1:1", "127.0.0.1:2"}) {
		t.Errorf("targets %q, %v", targets, err)
	}
	if err := pidsFlag(&pids)("10,11"); err != nil || !slices.Equal(pids, []int{10, 11}) {
		t.Errorf("pids %v, %v", pids, err)
	}
}

// smokeConfig is a small load that finishes in seconds.
func smokeConfig(t *testing.T, target string) Config {
	cfg := DefaultConfig()
	cfg.Label = t.Name()
	if target != "" {
		cfg.Targets = []string{target}
	}
	cfg.Sessions = 50
	cfg.Senders = 5
	cfg.Rate = 2
	cfg.Duration = 3 * time.Second
	cfg.ConnectRate = 200
	cfg.Settle = 30 * time.Second
	cfg.Drain = 30 * time.Second
	cfg.ConnectTimeout = 30 * time.Second
	cfg.Log = testLog{t}
	return cfg
}

type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func startBaselineInProcess(t *testing.T) string {
	t.Helper()
	srv, ln, err := listenBaseline("127.0.0.1:0", 0)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return ln.Addr().String()
}

// checkComplete asserts that every token reached every other session.
func checkComplete(t *testing.T, res *Result, err error, sessions int) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if res.Connected != sessions || res.ConnectFailed != 0 {
		t.Fatalf("connected %d, failed %d, want %d connected", res.Connected, res.ConnectFailed, sessions)
	}
	if res.Messages == 0 || res.SendErrors != 0 {
		t.Fatalf("sent %d tokens with %d send errors", res.Messages, res.SendErrors)
	}
	if res.Delivered != res.Expected || res.Expected != int64(res.Messages)*int64(res.Sessions+res.WS-1) {
		t.Fatalf("delivered %d of %d expected (%d tokens, %d sessions, %d readers stuck)",
			res.Delivered, res.Expected, res.Messages, res.Sessions, res.StuckReaders)
	}
	if res.Disconnected != 0 {
		t.Fatalf("%d sessions were disconnected", res.Disconnected)
	}
	if res.Fanout.N != int(res.Delivered) || res.Connect.N != res.Sessions+res.WS {
		t.Fatalf("latency samples: %d fan-out, %d connect", res.Fanout.N, res.Connect.N)
	}
}

func TestSmokeBaselineDeliversEverything(t *testing.T) {
	cfg := smokeConfig(t, startBaselineInProcess(t))
	res, err := Run(cfg)
	checkComplete(t, res, err, cfg.Sessions)
	if res.BytesPerSessionPerMessage < float64(len(token(testPrefix, 0))) {
		t.Errorf("%.1f bytes per session per message: less than a token", res.BytesPerSessionPerMessage)
	}
}

func TestSmokeBaselineWithStalledSessions(t *testing.T) {
	cfg := smokeConfig(t, startBaselineInProcess(t))
	cfg.Stalled = 3
	res, err := Run(cfg)
	checkComplete(t, res, err, cfg.Sessions+cfg.Stalled)
	before := res.Unstalled
	if before == nil {
		t.Fatal("no measurement before the stalled sessions connected")
	}
	if before.Messages != res.Messages || before.Delivered != before.Expected || before.Expected != res.Expected {
		t.Fatalf("before the stalled: delivered %d of %d (%d tokens)", before.Delivered, before.Expected, before.Messages)
	}
}

func TestIdleRunMeasuresNoTraffic(t *testing.T) {
	cfg := smokeConfig(t, startBaselineInProcess(t))
	cfg.Sessions = 10
	cfg.Idle = time.Second
	res, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Connected != cfg.Sessions || res.WindowBytes != 0 || res.Window < cfg.Idle {
		t.Fatalf("connected %d, %d bytes in a %s window", res.Connected, res.WindowBytes, res.Window)
	}
}

func TestRunFailsWhenNothingListens(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := smokeConfig(t, addr)
	cfg.Sessions = 3
	cfg.Senders = 2
	cfg.ConnectTimeout = 2 * time.Second
	res, err := Run(cfg)
	if err == nil {
		t.Fatal("Run succeeded with nothing listening")
	}
	if res == nil || res.ConnectFailed != 3 {
		t.Fatalf("err %v, result %+v: want 3 failed connections", err, res)
	}
}

// compare reads two runs saved with --json and sets the second beside the
// first, with their ratio and the latency the second adds.
func TestCompareSetsTwoSavedRunsSideBySide(t *testing.T) {
	dir := t.TempDir()
	save := func(name string, rs ...*Result) string {
		b, err := json.Marshal(rs)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	single := save("single.json", &Result{Label: "baseline", Senders: 5}, &Result{Label: "target", Senders: 5, Messages: 10, Fanout: Percentiles{P50: 10 * time.Millisecond, P99: 20 * time.Millisecond}})
	cluster := save("cluster.json", &Result{Label: "target", Senders: 5, Messages: 10, Fanout: Percentiles{P50: 12 * time.Millisecond, P99: 30 * time.Millisecond},
		Nodes: []NodeResult{{Sessions: 4}, {Sessions: 5}}, NATS: []NATSNode{{Name: "parley node1", Msgs: 12, BusiestSubMsgs: 10}}})
	var out bytes.Buffer
	if err := compareMain([]string{single, cluster}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1.50×", "p50 +2.0 ms", "p99 +10.0 ms", "node 2: reading sessions", `"parley node1"`, "1.00 (10)", "1.20 (12)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if err := compareMain([]string{single}, &out); err == nil {
		t.Error("one file accepted")
	}
}
