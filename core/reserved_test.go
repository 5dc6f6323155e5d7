package core

import (
	"errors"
	"strings"
	"testing"
)

const (
	aliceKey = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"
	otherKey = "SHA256:Xh0tJ3QOHkq3y0x6mXvYbWjXw4qfKzGm0s2d3Xo7QeA"
)

func connectKeyed(t *testing.T, h *Hub, login, fingerprint string) *Session {
	t.Helper()
	s, err := h.Connect(ConnectInfo{LoginName: login, Transport: "ssh", IP: "192.0.2.1", Fingerprint: fingerprint})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close("") })
	return s
}

// A reserved name, and every case, width or confusable variant of it, is
// held only by a session that logged in with one of the name's keys: at
// login the others get another name and a notice saying why, and /name
// refuses them with the reason.
func TestReservedNamesNeedTheirKey(t *testing.T) {
	h := newTestHub(t, func(c *Config) { c.Reserved = map[string][]string{"alice": {aliceKey}} })
	for _, tc := range []struct{ login, key string }{
		{"alice", ""}, {"alice", otherKey}, {"ALICE", ""}, {"ａｌｉｃｅ", otherKey}, {"аlice", ""}, {"a1ice", otherKey},
	} {
		s := connectKeyed(t, h, tc.login, tc.key)
		if NameKey(s.Name()) == NameKey("alice") {
			t.Errorf("login %q with key %q got the name %s", tc.login, tc.key, s.Name())
		}
		notice := waitFor(t, s, "the reason", func(ev Event) bool { return ev.Kind == EventNotice })
		if !strings.Contains(notice.Text, "reserved for its owner's SSH key") || !strings.Contains(notice.Text, "you are "+s.Name()) {
			t.Errorf("login %q: notice %q", tc.login, notice.Text)
		}
		err := s.Input("/name " + tc.login)
		if err == nil || !strings.Contains(err.Error(), "reserved for its owner's SSH key") {
			t.Errorf("/name %s by key %q: %v", tc.login, tc.key, err)
		}
	}
	owner := connectKeyed(t, h, "alice", aliceKey)
	if owner.Name() != "alice" {
		t.Fatalf("the owner's key got %s", owner.Name())
	}
	if err := owner.Input("/name alice-away"); err != nil {
		t.Fatal(err)
	}
	if err := owner.Input("/name Alice"); err != nil {
		t.Fatalf("the owner may take a variant of the reserved name: %v", err)
	}
}

// The key tag tells two same-looking names apart in /list, /listall and
// /whois, and travels with the member to every transport.
func TestKeyTagsShowWhoIsWho(t *testing.T) {
	h := newTestHub(t, func(c *Config) { c.Reserved = map[string][]string{"alice": {aliceKey}} })
	alice := connectKeyed(t, h, "alice", aliceKey)
	impostor := connectKeyed(t, h, "alicee", otherKey)
	guest := connectKeyed(t, h, "alicia", "")
	if got := KeyTag(aliceKey); got != "uNiVztks" {
		t.Fatalf("KeyTag = %q", got)
	}
	if KeyTag("") != "" || KeyTag("MD5:aa:bb") != "" {
		t.Fatal("a tag without a SHA256 key")
	}
	var tags []string
	for _, m := range guest.Members("#lobby") {
		tags = append(tags, m.Name+"="+m.KeyTag)
	}
	if got := strings.Join(tags, " ") + " "; !strings.Contains(got, "alice=uNiVztks ") || !strings.Contains(got, "alicee=Xh0tJ3QO ") || !strings.Contains(got, "alicia= ") {
		t.Fatalf("members: %s", got)
	}

	if err := guest.Input("/list"); err != nil {
		t.Fatal(err)
	}
	list := strings.Join(info(t, guest, "in #lobby").Lines, "\n")
	for _, want := range []string{"alice  [ssh, key uNiVztks]", "alicee  [ssh, key Xh0tJ3QO]", "alicia (you)  [ssh]"} {
		if !strings.Contains(list, want) {
			t.Errorf("/list lacks %q:\n%s", want, list)
		}
	}
	if err := guest.Input("/listall"); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(info(t, guest, "online").Lines, "\n")
	if !strings.Contains(all, "alice [key uNiVztks] — #lobby") || !strings.Contains(all, "alicee [key Xh0tJ3QO] — #lobby") {
		t.Errorf("/listall:\n%s", all)
	}

	for _, tc := range []struct{ who, want string }{
		{"alice", "key " + aliceKey + " (tag uNiVztks), the key the name alice is reserved for"},
		{"alicee", "key " + otherKey + " (tag Xh0tJ3QO)"},
		{"alicia", "logged in without a key: anyone could use this name"},
	} {
		if err := impostor.Input("/whois " + tc.who); err != nil {
			t.Fatal(err)
		}
		got := info(t, impostor, tc.who)
		if lines := strings.Join(got.Lines, "\n"); !strings.Contains(lines, "connected by ssh\n"+tc.want) {
			t.Errorf("/whois %s:\n%s", tc.who, lines)
		}
	}
	if err := alice.Input("/whois nobody"); err == nil || !strings.Contains(err.Error(), "no one called nobody") {
		t.Errorf("/whois of no one: %v", err)
	}
}

func TestReservedConfigIsChecked(t *testing.T) {
	for _, tc := range []struct {
		reserved map[string][]string
		want     string
	}{
		{map[string][]string{"alice": {}}, "needs at least one key fingerprint"},
		{map[string][]string{"alice": {"SHA256:short"}}, "not an SSH key fingerprint"},
		{map[string][]string{"alice": {aliceKey}, "ALICE": {otherKey}}, "are the same name"},
		{map[string][]string{"no spaces": {aliceKey}}, "no spaces"},
	} {
		cfg := DefaultConfig()
		cfg.Reserved = tc.reserved
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.reserved, err, tc.want)
		}
		var se *SettingError
		if err != nil && (!errors.As(err, &se) || se.Key != "reserved") {
			t.Errorf("%v: not a setting error about reserved: %v", tc.reserved, err)
		}
	}
}

// A reload that reserves a name someone else holds renames that user,
// with the reason, so the owner can take it at once.
func TestReloadRenamesWhoHoldsANewlyReservedName(t *testing.T) {
	h := newTestHub(t)
	squatter := connectKeyed(t, h, "Alice", otherKey)
	cfg := DefaultConfig()
	cfg.Reserved = map[string][]string{"alice": {aliceKey}}
	if err := h.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	notice := waitFor(t, squatter, "the reason", func(ev Event) bool { return ev.Kind == EventNotice })
	if NameKey(squatter.Name()) == NameKey("alice") || !strings.Contains(notice.Text, "looks like alice, which is reserved") {
		t.Fatalf("after the reload the squatter is %s, told %q", squatter.Name(), notice.Text)
	}
	if owner := connectKeyed(t, h, "alice", aliceKey); owner.Name() != "alice" {
		t.Fatalf("the owner got %s", owner.Name())
	}
}
