package core

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// testFingerprint is a well-formed key fingerprint, different per seed.
func testFingerprint(seed byte) string {
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(bytes.Repeat([]byte{seed}, 32))
}

var opKey = testFingerprint(1)

// newModHub is a hub on a fake clock where opKey is an operator.
func newModHub(t *testing.T) (*Hub, *fakeClock) {
	t.Helper()
	return newClockHub(t, func(c *Config) { c.Operators = []string{opKey} })
}

func connectAs(t *testing.T, h *Hub, login, fingerprint, ip string) *Session {
	t.Helper()
	s, err := h.Connect(ConnectInfo{LoginName: login, Transport: "ssh", IP: ip, Fingerprint: fingerprint})
	if err != nil {
		t.Fatalf("%s: %v", login, err)
	}
	t.Cleanup(func() { s.Close("") })
	return s
}

func mustInput(t *testing.T, s *Session, line string) {
	t.Helper()
	if err := s.Input(line); err != nil {
		t.Fatalf("%s: %s: %v", s.Name(), line, err)
	}
}

func notice(t *testing.T, s *Session, text string) Event {
	t.Helper()
	return waitFor(t, s, "notice "+text, func(ev Event) bool { return ev.Kind == EventNotice && strings.Contains(ev.Text, text) })
}

func TestOnlyOperatorsModerate(t *testing.T) {
	h, _ := newModHub(t)
	op := connectAs(t, h, "olga", opKey, "192.0.2.1")
	bob := connectAs(t, h, "bob", testFingerprint(2), "192.0.2.2")
	guest := connectAs(t, h, "guest", "", "192.0.2.3")
	if !op.Operator() || bob.Operator() || guest.Operator() {
		t.Fatalf("operator flags: olga %v, bob %v, guest %v", op.Operator(), bob.Operator(), guest.Operator())
	}
	for _, line := range []string{"/kick olga", "/ban olga", "/unban 192.0.2.1", "/bans", "/mute olga", "/unmute olga"} {
		word := strings.Fields(line)[0]
		err := bob.Input(line)
		if err == nil || err.Error() != "only operators can use "+word {
			t.Errorf("bob: %s: %v", line, err)
		}
	}
	if err := bob.Input("/motd hello"); err == nil || !strings.Contains(err.Error(), "only operators can set") {
		t.Errorf("bob set the message of the day: %v", err)
	}

	mustInput(t, bob, "/help")
	help := info(t, bob, "Commands")
	if strings.Contains(help.Text, "operator") || strings.Contains(strings.Join(help.Lines, "\n"), "/kick") {
		t.Errorf("a user's help shows operator commands:\n%s\n%s", help.Text, strings.Join(help.Lines, "\n"))
	}
	mustInput(t, op, "/help")
	help = info(t, op, "you are an operator")
	if !strings.Contains(strings.Join(help.Lines, "\n"), "@ /kick NAME [reason]") {
		t.Errorf("an operator's help lacks the marked /kick:\n%s", strings.Join(help.Lines, "\n"))
	}
	for _, c := range bob.Commands() {
		if c.Operator {
			t.Errorf("bob may use /%s", c.Name)
		}
	}
	if len(op.Commands()) != len(Commands()) {
		t.Errorf("an operator may use %d of %d commands", len(op.Commands()), len(Commands()))
	}
	// An operator cannot act on another operator, nor on themselves.
	connectAs(t, h, "otto", opKey, "192.0.2.4")
	for _, line := range []string{"/kick otto", "/ban otto", "/mute otto", "/kick olga"} {
		if err := op.Input(line); err == nil {
			t.Errorf("olga: %s was accepted", line)
		}
	}
}

func TestKick(t *testing.T) {
	h, _ := newModHub(t)
	op := connectAs(t, h, "olga", opKey, "192.0.2.1")
	bob := connectAs(t, h, "bob", "", "192.0.2.2")
	carol := connectAs(t, h, "carol", "", "192.0.2.3")
	mustInput(t, op, "/kick bob stop spamming")
	closing := waitFor(t, bob, "closing", func(ev Event) bool { return ev.Kind == EventClosing })
	if closing.Text != "kicked by olga: stop spamming" {
		t.Errorf("bob reads %q", closing.Text)
	}
	select {
	case <-bob.Outbox().Done():
	case <-time.After(5 * time.Second):
		t.Fatal("bob's session did not end")
	}
	waitFor(t, carol, "bob's departure", func(ev Event) bool {
		return ev.Kind == EventMemberLeft && ev.Msg.Text == "bob left (kicked by olga: stop spamming)"
	})
	notice(t, op, "olga kicked bob: stop spamming")
	if err := op.Input("/kick nobody"); err == nil || !strings.Contains(err.Error(), "no one called nobody") {
		t.Errorf("kicking no one: %v", err)
	}
	// Kicked, not banned: bob may come back.
	connectAs(t, h, "bob", "", "192.0.2.2")
}

func TestBanByKeyAndAddressExpires(t *testing.T) {
	h, clock := newModHub(t)
	op := connectAs(t, h, "olga", opKey, "192.0.2.1")
	bobKey := testFingerprint(2)
	bob := connectAs(t, h, "bob", bobKey, "2001:db8:1:2::7")
	second := connectAs(t, h, "bob2", "", "2001:db8:1:2::8") // same /64
	mustInput(t, op, "/ban bob 2h flooding the lobby")
	closing := waitFor(t, bob, "closing", func(ev Event) bool { return ev.Kind == EventClosing })
	if closing.Text != "banned by olga for 2h: flooding the lobby" {
		t.Errorf("bob reads %q", closing.Text)
	}
	waitFor(t, second, "closing", func(ev Event) bool { return ev.Kind == EventClosing })
	notice(t, op, "olga banned bob ("+bobKey+" and 2001:db8:1:2::/64) for 2h: flooding the lobby")

	refused := func(fp, ip string) *BannedError {
		t.Helper()
		_, err := h.Connect(ConnectInfo{LoginName: "again", Transport: "ssh", IP: ip, Fingerprint: fp})
		var be *BannedError
		if !errors.As(err, &be) || !errors.Is(err, ErrBanned) {
			t.Fatalf("key %q from %s: %v, want a ban", fp, ip, err)
		}
		return be
	}
	be := refused(bobKey, "198.51.100.9") // the key, from elsewhere
	if be.Reason != "flooding the lobby" || !be.Until.Equal(clock.Now().Add(2*time.Hour)) {
		t.Errorf("ban error %+v", be)
	}
	if !strings.Contains(be.Error(), "banned from this server until 2026-01-01 14:00 UTC: flooding the lobby") {
		t.Errorf("ban error reads %q", be.Error())
	}
	refused("", "2001:db8:1:2:ffff::1")               // the /64, keyless
	refused(testFingerprint(3), "2001:db8:1:2::abcd") // the /64, another key
	connectAs(t, h, "neighbour", "", "2001:db8:1:3::1")
	connectAs(t, h, "otto", opKey, "2001:db8:1:2::9") // operators are never refused

	mustInput(t, op, "/bans")
	list := info(t, op, "1 bans")
	if !strings.Contains(list.Lines[0], "bob  "+bobKey+" and 2001:db8:1:2::/64  until 2026-01-01 14:00 UTC, 2h0m0s left, by olga: flooding the lobby") {
		t.Errorf("/bans shows %q", list.Lines)
	}

	clock.Add(2*time.Hour + time.Second)
	connectAs(t, h, "bob", bobKey, "2001:db8:1:2::7")
	mustInput(t, op, "/bans")
	if list := info(t, op, "0 bans"); list.Lines[0] != "no one is banned" {
		t.Errorf("/bans after expiry shows %q", list.Lines)
	}
}

func TestBanForGoodAndUnban(t *testing.T) {
	h, _ := newModHub(t)
	op := connectAs(t, h, "olga", opKey, "127.0.0.1")
	bob := connectAs(t, h, "bob", "", "192.0.2.2")
	mustInput(t, op, "/ban bob")
	if ev := waitFor(t, bob, "closing", func(ev Event) bool { return ev.Kind == EventClosing }); ev.Text != "banned by olga for good" {
		t.Errorf("bob reads %q", ev.Text)
	}
	_, err := h.Connect(ConnectInfo{LoginName: "bob", Transport: "web", IP: "192.0.2.2"})
	var be *BannedError
	if !errors.As(err, &be) || !be.Until.IsZero() || err.Error() != "you are banned from this server" {
		t.Fatalf("reconnect: %v", err)
	}
	for line, want := range map[string]string{
		"/unban 192.0.2.3":    "no ban matches 192.0.2.3",
		"/unban bob":          "neither a key fingerprint",
		"/unban SHA256:short": "not an SSH key fingerprint",
		"/unban":              "usage",
	} {
		if err := op.Input(line); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", line, err, want)
		}
	}
	mustInput(t, op, "/unban 192.0.2.2")
	notice(t, op, "olga lifted the ban on bob (192.0.2.2)")
	connectAs(t, h, "bob", "", "192.0.2.2")

	// A keyless user on an exempt address cannot be banned: it would not hold.
	connectAs(t, h, "local", "", "127.0.0.1")
	if err := op.Input("/ban local"); err == nil || !strings.Contains(err.Error(), "/kick them instead") {
		t.Errorf("banning a keyless loopback user: %v", err)
	}
}

// failingBans is a ban list whose file cannot be written.
type failingBans struct{ MemoryBans }

func (f *failingBans) Add(Ban, time.Time) error { return errors.New("disk full") }

func TestBanThatCannotBeSavedBansNoOne(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	cfg := DefaultConfig()
	cfg.Operators = []string{opKey}
	h, err := NewHub(cfg, WithClock(clock.Now), WithBans(&failingBans{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Stop)
	op := connectAs(t, h, "olga", opKey, "192.0.2.1")
	connectAs(t, h, "bob", "", "192.0.2.2")
	if err := op.Input("/ban bob"); err == nil || !strings.Contains(err.Error(), "no one was banned: disk full") {
		t.Fatalf("/ban with a failing list: %v", err)
	}
	if users, _, _ := h.Counts(); users != 2 {
		t.Errorf("%d users online, want bob still there", users)
	}
}

func TestMuteAndUnmute(t *testing.T) {
	h, clock := newModHub(t)
	op := connectAs(t, h, "olga", opKey, "192.0.2.1")
	bobKey := testFingerprint(2)
	bob := connectAs(t, h, "bob", bobKey, "192.0.2.2")
	carol := connectAs(t, h, "carol", "", "192.0.2.3")
	mustInput(t, op, "/mute bob")
	notice(t, bob, "olga muted you for 10m")
	waitFor(t, carol, "mute notice", message("bob was muted by olga for 10m"))
	err := bob.Input("hello?")
	if err == nil || err.Error() != "you were muted by olga: 10m0s left" {
		t.Fatalf("muted bob's message: %v", err)
	}
	// Reconnecting does not lift it.
	bob.Close("")
	bob = connectAs(t, h, "bob", bobKey, "192.0.2.99")
	if err := bob.Input("/me waves"); err == nil || !strings.Contains(err.Error(), "muted by olga") {
		t.Fatalf("reconnected bob: %v", err)
	}
	mustInput(t, op, "/unmute bob")
	notice(t, bob, "olga unmuted you")
	mustInput(t, bob, "back")
	waitFor(t, carol, "bob's message", message("back"))
	if err := op.Input("/unmute bob"); err == nil || !strings.Contains(err.Error(), "not muted") {
		t.Errorf("unmuting twice: %v", err)
	}
	if err := op.Input("/mute bob soon"); err == nil || !strings.Contains(err.Error(), "not a duration") {
		t.Errorf("a bad duration: %v", err)
	}
	mustInput(t, op, "/mute bob 30s")
	if err := bob.Input("x"); err == nil {
		t.Fatal("bob talks while muted for 30s")
	}
	clock.Add(31 * time.Second)
	mustInput(t, bob, "free again")
}

func TestMotd(t *testing.T) {
	h, _ := newClockHub(t, func(c *Config) { c.Operators = []string{opKey}; c.Motd = "maintenance at 18:00" })
	op := connectAs(t, h, "olga", opKey, "192.0.2.1")
	bob := connectAs(t, h, "bob", "", "192.0.2.2")
	if w := bob.Welcome(); !strings.HasSuffix(w, "\n\nMessage of the day: maintenance at 18:00") {
		t.Errorf("welcome reads %q", w)
	}
	mustInput(t, bob, "/motd")
	if got := info(t, bob, "Message of the day"); got.Lines[0] != "maintenance at 18:00" {
		t.Errorf("/motd shows %q", got.Lines)
	}
	mustInput(t, op, "/motd new rules: be kind")
	notice(t, bob, "message of the day: new rules: be kind")
	notice(t, op, "olga set the message of the day")
	if bob.Motd() != "new rules: be kind" || !strings.HasSuffix(connectAs(t, h, "carol", "", "192.0.2.3").Welcome(), "new rules: be kind") {
		t.Errorf("motd %q", bob.Motd())
	}
	if err := op.Input("/motd bad\x1b[31m"); err == nil {
		t.Error("an escape sequence was accepted in the message of the day")
	}
	mustInput(t, op, "/motd -")
	if bob.Welcome() != DefaultConfig().Welcome {
		t.Errorf("after clearing, welcome reads %q", bob.Welcome())
	}
	// A reload keeps what the operator set unless the file's motd changed.
	cfg := DefaultConfig()
	cfg.Operators = []string{opKey}
	cfg.Motd = "maintenance at 18:00"
	if err := h.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	if bob.Motd() != "" {
		t.Errorf("a reload with the same motd replaced the operator's: %q", bob.Motd())
	}
	cfg.Motd = "maintenance moved to 19:00"
	if err := h.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	if bob.Motd() != "maintenance moved to 19:00" {
		t.Errorf("a reload with a new motd: %q", bob.Motd())
	}
}

func TestOperatorConfigIsValidated(t *testing.T) {
	for _, fp := range []string{"SHA256:abc", "MD5:aa:bb", testFingerprint(1) + "x", "sha256:" + testFingerprint(1)[7:]} {
		cfg := DefaultConfig()
		cfg.Operators = []string{fp}
		var se *SettingError
		if err := cfg.Validate(); !errors.As(err, &se) || se.Key != "operators" {
			t.Errorf("operator %q: %v", fp, err)
		}
	}
	cfg := DefaultConfig()
	cfg.Motd = "two\nlines"
	if err := cfg.Validate(); err == nil {
		t.Error("a two-line motd was accepted")
	}
}

func TestBanTargets(t *testing.T) {
	ban := Ban{Fingerprint: testFingerprint(2), Prefix: netip.MustParsePrefix("2001:db8::/64")}
	for target, want := range map[string]bool{
		testFingerprint(2): true,
		testFingerprint(3): false,
		"2001:db8::5":      true,
		"2001:db8::/64":    true,
		"2001:db8:0:1::5":  false,
		"2001:db8::/48":    false,
		"::ffff:192.0.2.1": false,
		"192.0.2.1/32":     false,
	} {
		tg, err := ParseBanTarget(target)
		if err != nil {
			t.Errorf("%s: %v", target, err)
			continue
		}
		if tg.Matches(ban) != want {
			t.Errorf("%s matches %v, want %v", target, !want, want)
		}
	}
	v4 := Ban{Prefix: netip.MustParsePrefix("192.0.2.1/32")}
	if tg, _ := ParseBanTarget("::ffff:192.0.2.1"); !tg.Matches(v4) {
		t.Error("an IPv4-mapped address does not match its IPv4 ban")
	}
	if v4.Target() != "192.0.2.1" {
		t.Errorf("target reads %q", v4.Target())
	}
	for d, want := range map[string]time.Duration{"30m": 30 * time.Minute, "2h": 2 * time.Hour, "7d": 7 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "1h30m": 90 * time.Minute} {
		if got, ok := parseModerationTime(d); !ok || got != want {
			t.Errorf("%s: %v %v", d, got, ok)
		}
	}
	for _, bad := range []string{"", "d", "soon", "-5m", "0h", "5", "1.5d", "99999999999d"} {
		if _, ok := parseModerationTime(bad); ok {
			t.Errorf("%q read as a duration", bad)
		}
	}
}

func TestObserverSeesModeration(t *testing.T) {
	h, r := newObservedHub(t, func(c *Config) { c.Operators = []string{opKey} })
	op := connectAs(t, h, "olga", opKey, "192.0.2.1")
	connectAs(t, h, "bob", "", "192.0.2.2")
	connectAs(t, h, "carol", "", "192.0.2.3")
	mustInput(t, op, "/mute carol 5m")
	if err := op.Input("/kick bob"); err != nil {
		t.Fatal(err)
	}
	mustInput(t, op, "/ban carol 1d rude")
	_, err := h.Connect(ConnectInfo{LoginName: "carol", Transport: "web", IP: "192.0.2.3"})
	if !errors.Is(err, ErrBanned) {
		t.Fatalf("carol's return: %v", err)
	}
	mustInput(t, op, "/motd hi")
	for _, want := range []string{
		"10 >carol ssh  olga muted carol for 5m",
		"10 >bob ssh  olga kicked bob",
		"10 >carol ssh  olga banned carol (192.0.2.3) for 1d: rude",
		"10 > ssh  olga set the message of the day",
	} {
		if !r.has(want) {
			t.Errorf("the monitor lacks %q; it has:\n%s", want, strings.Join(r.lines(), "\n"))
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ends[EndKicked] != 1 || r.ends[EndBanned] != 1 || r.refused[RefusedBanned] != 1 {
		t.Errorf("ends %v, refusals %v", r.ends, r.refused)
	}
	for _, ev := range r.monitor {
		if ev.Kind == MonitorModeration && ev.Operator != "olga" {
			t.Errorf("moderation event without its operator: %+v", ev)
		}
	}
}
