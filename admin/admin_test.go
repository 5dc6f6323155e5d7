package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"parley/core"
	"parley/internal/testkit"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

const testToken = "test-token-0123456789abcdef"

func TestMain(m *testing.M) {
	countsEvery = 100 * time.Millisecond
	os.Exit(m.Run())
}

type fixture struct {
	srv *Server
	hub *core.Hub
	url string
}

// newFixture starts an admin server observing a real hub, on 127.0.0.1:0.
func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	hub, err := core.NewHub(core.DefaultConfig(), core.WithObserver(srv))
	if err != nil {
		t.Fatal(err)
	}
	srv.Attach(hub)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.Close()
		ts.Close()
		hub.Stop()
	})
	return &fixture{srv: srv, hub: hub, url: ts.URL}
}

func (f *fixture) connect(t *testing.T, login string, transport core.Transport) *core.Session {
	t.Helper()
	s, err := f.hub.Connect(core.ConnectInfo{LoginName: login, Transport: transport, IP: "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close("") })
	return s
}

func get(t *testing.T, url, token string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// scrape reads /metrics through the Prometheus text parser.
func scrape(t *testing.T, f *fixture, token string) map[string]*dto.MetricFamily {
	t.Helper()
	resp := get(t, f.url+"/metrics", token)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return families
}

// value finds the sample of family name whose labels include want (a
// histogram's sample count), failing when there is none.
func value(t *testing.T, families map[string]*dto.MetricFamily, name string, want ...string) float64 {
	t.Helper()
	fam := families[name]
	if fam == nil {
		t.Fatalf("no metric %s", name)
	}
next:
	for _, m := range fam.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(want); i += 2 {
			if labels[want[i]] != want[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	t.Fatalf("no sample of %s with %v", name, want)
	return 0
}

func TestMetricsMoveWithRealSessions(t *testing.T) {
	f := newFixture(t, Options{Version: "1.2.3"})
	before := scrape(t, f, "")
	for _, m := range []struct {
		name   string
		labels []string
	}{
		{"parley_messages_total", []string{"kind", "text"}},
		{"parley_sessions", []string{"transport", "ssh"}},
		{"parley_users", nil},
		{"parley_fanout_duration_seconds", nil},
		{"parley_calls_total", []string{"stage", "ringing"}},
	} {
		if v := value(t, before, m.name, m.labels...); v != 0 {
			t.Errorf("%s%v is %v before anything happened", m.name, m.labels, v)
		}
	}

	alice, bob := f.connect(t, "alice", "ssh"), f.connect(t, "bob", "web")
	if err := alice.Input("hello metrics"); err != nil {
		t.Fatal(err)
	}
	if err := alice.Input("/me counts"); err != nil {
		t.Fatal(err)
	}
	if err := bob.Input("/join " + alice.Code()); err != nil {
		t.Fatal(err)
	}
	_ = bob.Input("/join 00000000")
	f.hub.ReportCall(core.CallRinging)

	after := scrape(t, f, "")
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"parley_messages_total", []string{"kind", "text"}, 1},
		{"parley_messages_total", []string{"kind", "action"}, 1},
		{"parley_messages_total", []string{"kind", "system"}, 3}, // two joins, the private chat's opening line
		{"parley_sessions", []string{"transport", "ssh"}, 1},
		{"parley_sessions", []string{"transport", "web"}, 1},
		{"parley_sessions_started_total", []string{"transport", "web"}, 1},
		{"parley_users", nil, 2},
		{"parley_rooms", nil, 1},
		{"parley_private_chats", nil, 1},
		{"parley_wrong_guesses_total", []string{"what", "code"}, 1},
		{"parley_calls_total", []string{"stage", "ringing"}, 1},
		{"parley_build_info", []string{"version", "1.2.3"}, 1},
	} {
		if got := value(t, after, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// alice's join reached nobody else; bob's join and both messages reached two.
	if n := value(t, after, "parley_fanout_duration_seconds"); n < 3 {
		t.Errorf("fan-out histogram has %v samples", n)
	}
	if n := value(t, after, "parley_fanout_recipients"); n < 3 {
		t.Errorf("recipients histogram has %v samples", n)
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "parley_uptime_seconds"} {
		if after[name] == nil {
			t.Errorf("no %s", name)
		}
	}

	bob.Close("")
	ended := scrape(t, f, "")
	if v := value(t, ended, "parley_sessions_ended_total", "transport", "web", "reason", "closed"); v != 1 {
		t.Errorf("web sessions ended: %v", v)
	}
	if v := value(t, ended, "parley_sessions", "transport", "web"); v != 0 {
		t.Errorf("web sessions after bob left: %v", v)
	}
}

func TestReadyzFlipsWhenDraining(t *testing.T) {
	f := newFixture(t, Options{})
	if resp := get(t, f.url+"/readyz", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz before draining: %s", resp.Status)
	}
	f.srv.SetDraining()
	resp := get(t, f.url+"/readyz", "")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body(t, resp), "draining") {
		t.Fatalf("/readyz while draining: %s", resp.Status)
	}
	if resp := get(t, f.url+"/healthz", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz while draining: %s", resp.Status)
	}
}

func TestTokenIsRequiredWhenConfigured(t *testing.T) {
	if _, err := New(Options{Token: "short"}); err == nil {
		t.Fatal("a short token was accepted")
	}
	f := newFixture(t, Options{Token: testToken})
	for _, path := range []string{"/metrics", "/monitor/events", "/debug/pprof/"} {
		resp := get(t, f.url+path, "")
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s without a token: %s", path, resp.Status)
		}
		resp.Body.Close()
		if resp := get(t, f.url+path, testToken+"x"); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s with a wrong token: %s", path, resp.Status)
		}
	}
	if resp := get(t, f.url+"/metrics", testToken); resp.StatusCode != http.StatusOK {
		t.Errorf("/metrics with the token: %s", resp.Status)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if resp := get(t, f.url+path, ""); resp.StatusCode != http.StatusOK {
			t.Errorf("%s should not need the token: %s", path, resp.Status)
		}
	}
	if resp := get(t, f.url+"/monitor", ""); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Errorf("/monitor without a token: %s to %q", resp.Status, resp.Header.Get("Location"))
	}

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.PostForm(f.url+"/login", url.Values{"token": {"wrong-token-0123456789"}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
		t.Errorf("sign-in with a wrong token: %s, cookies %v", resp.Status, resp.Cookies())
	}
	resp, err = noFollow.PostForm(f.url+"/login", url.Values{"token": {testToken}})
	if err != nil {
		t.Fatal(err)
	}
	cookies := resp.Cookies()
	if resp.StatusCode != http.StatusSeeOther || len(cookies) != 1 || !cookies[0].HttpOnly || strings.Contains(cookies[0].Value, testToken) {
		t.Fatalf("sign-in: %s, cookies %v", resp.Status, cookies)
	}
	req, _ := http.NewRequest(http.MethodGet, f.url+"/metrics", nil)
	req.AddCookie(cookies[0])
	if resp, err := noFollow.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("/metrics with the sign-in cookie: %v %v", resp, err)
	}
}

func TestPprofIndexAnswers(t *testing.T) {
	f := newFixture(t, Options{})
	resp := get(t, f.url+"/debug/pprof/", "")
	if text := body(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(text, "goroutine") {
		t.Fatalf("/debug/pprof/: %s", resp.Status)
	}
	resp = get(t, f.url+"/debug/pprof/goroutine?debug=1", "")
	if text := body(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(text, "goroutine profile") {
		t.Fatalf("goroutine profile: %s", resp.Status)
	}
}

// sse reads server-sent events from a live monitor stream.
type sse struct {
	resp *http.Response
	r    *bufio.Reader
}

func openFeed(t *testing.T, f *fixture) *sse {
	t.Helper()
	resp := get(t, f.url+"/monitor/events", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/monitor/events: %s", resp.Status)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return &sse{resp: resp, r: bufio.NewReader(resp.Body)}
}

// next returns the next event of kind, skipping others.
func (s *sse) next(t *testing.T, kind string) string {
	t.Helper()
	event := ""
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			t.Fatalf("monitor stream ended while waiting for %s: %v", kind, err)
		}
		line = strings.TrimSuffix(line, "\n")
		if v, ok := strings.CutPrefix(line, "event: "); ok {
			event = v
		}
		if v, ok := strings.CutPrefix(line, "data: "); ok && event == kind {
			return v
		}
	}
}

func TestMonitorStreamCarriesEventsAndCounts(t *testing.T) {
	f := newFixture(t, Options{})
	feed := openFeed(t, f)
	var c counts
	if err := json.Unmarshal([]byte(feed.next(t, "counts")), &c); err != nil || c.Viewers != 1 {
		t.Fatalf("first counts %+v: %v", c, err)
	}
	carol := f.connect(t, "carol", "web")
	var l line
	if err := json.Unmarshal([]byte(feed.next(t, "monitor")), &l); err != nil || l.Text != "carol connected (web)" || l.Kind != "session" {
		t.Fatalf("first line %+v: %v", l, err)
	}
	if err := json.Unmarshal([]byte(feed.next(t, "monitor")), &l); err != nil || l.Text != "carol joined #lobby" {
		t.Fatalf("second line %+v: %v", l, err)
	}
	if err := carol.Input("hi <b>there</b>"); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(feed.next(t, "monitor")), &l); err != nil || l.Text != "#lobby <carol> hi <b>there</b>" {
		t.Fatalf("message line %+v: %v", l, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for c.Users != 1 && time.Now().Before(deadline) {
		if err := json.Unmarshal([]byte(feed.next(t, "counts")), &c); err != nil {
			t.Fatal(err)
		}
	}
	if c.Users != 1 || c.Sessions["web"] != 1 || c.Rooms != 1 {
		t.Fatalf("counts never showed carol: %+v", c)
	}
}

func TestMonitorViewersAreCapped(t *testing.T) {
	f := newFixture(t, Options{MaxViewers: 1})
	first := openFeed(t, f)
	first.next(t, "counts")
	resp := get(t, f.url+"/monitor/events", "")
	if text := body(t, resp); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(text, "too many viewers") {
		t.Fatalf("second viewer: %s %q", resp.Status, text)
	}
	first.resp.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for f.srv.feed.viewerCount() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("a closed stream still counts as a viewer")
		}
		time.Sleep(10 * time.Millisecond)
	}
	openFeed(t, f).next(t, "counts")
}

func TestFeedDropsForSlowViewers(t *testing.T) {
	missed := 0
	fd := newFeed(2, 3, func() { missed++ })
	a, ok := fd.join()
	b, ok2 := fd.join()
	if !ok || !ok2 {
		t.Fatal("two viewers refused")
	}
	if _, ok := fd.join(); ok {
		t.Fatal("a third viewer was let in past the cap")
	}
	for i := 0; i < 5; i++ {
		fd.publish(core.MonitorEvent{Kind: core.MonitorPrivateOpened})
	}
	if len(a.events) != 3 || a.missed.Load() != 2 || b.missed.Load() != 2 || missed != 4 {
		t.Fatalf("queued %d, missed %d/%d, counted %d", len(a.events), a.missed.Load(), b.missed.Load(), missed)
	}
	fd.leave(a)
	if _, ok := fd.join(); !ok {
		t.Fatal("a place freed by a leaving viewer was not reused")
	}
}

func TestDescribe(t *testing.T) {
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		ev   core.MonitorEvent
		want string
	}{
		{core.MonitorEvent{Kind: core.MonitorJoined, Name: "ann"}, "ann joined a hidden room"},
		{core.MonitorEvent{Kind: core.MonitorLeft, Name: "ann", Room: "#go"}, "ann left #go"},
		{core.MonitorEvent{Kind: core.MonitorRenamed, Name: "anne", OldName: "ann"}, "ann is now anne"},
		{core.MonitorEvent{Kind: core.MonitorMessage, Name: "ann", Room: "#go", Text: "waves", MsgKind: core.Action}, "#go * ann waves"},
		{core.MonitorEvent{Kind: core.MonitorDisconnected, Name: "ann", Transport: "ssh", End: core.EndSlow}, "ann disconnected (ssh): too slow"},
		{core.MonitorEvent{Kind: core.MonitorDisconnected, Name: "ann", Transport: "ssh", End: core.EndFlood}, "ann disconnected (ssh): flooding"},
		{core.MonitorEvent{Kind: core.MonitorPrivateClosed}, "a private chat ended"},
		{core.MonitorEvent{Kind: core.MonitorCall, Call: core.CallAnswered}, "a video call: answered"},
		{core.MonitorEvent{Kind: core.MonitorDisconnected, Name: "bob", Transport: "web", End: core.EndBanned}, "bob disconnected (web): banned"},
		{core.MonitorEvent{Kind: core.MonitorModeration, Name: "bob", Operator: "olga", Text: "olga kicked bob: spam"}, "olga kicked bob: spam"},
	} {
		c.ev.Time = at
		got := describe(c.ev)
		if got.Text != c.want || got.Time != "2026-05-01T10:00:00Z" {
			t.Errorf("%+v: %+v, want %q", c.ev, got, c.want)
		}
	}
}

func TestStatsLineHasCountsButNoText(t *testing.T) {
	var logs testkit.Buffer
	f := newFixture(t, Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	alice, bob := f.connect(t, "alice", "ssh"), f.connect(t, "bob", "web")
	if err := alice.Input("very secret words"); err != nil {
		t.Fatal(err)
	}
	if err := bob.Input("/join " + alice.Code()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		f.srv.LogStats(ctx, 10*time.Millisecond)
		close(done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "\n") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	out := logs.String()
	first, _, _ := strings.Cut(out, "\n")
	var rec map[string]any
	if err := json.Unmarshal([]byte(first), &rec); err != nil {
		t.Fatalf("stats line %q: %v", first, err)
	}
	want := map[string]float64{"users": 2, "ssh": 1, "web": 1, "rooms": 1, "private_chats": 1, "messages": 4}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("stats %s = %v, want %v (%s)", k, rec[k], v, first)
		}
	}
	for _, secret := range []string{"secret", alice.Code(), bob.Code(), "alice", "bob"} {
		if strings.Contains(out, secret) {
			t.Errorf("the stats log shows %q: %s", secret, out)
		}
	}
}

func TestCloseEndsMonitorStreams(t *testing.T) {
	f := newFixture(t, Options{})
	feed := openFeed(t, f)
	feed.next(t, "counts")
	f.srv.Close()
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, feed.r)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the stream broke instead of ending: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close left a monitor stream open")
	}
	if resp := get(t, f.url+"/monitor/events", ""); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a stream opened after Close: %s", resp.Status)
	}
}
