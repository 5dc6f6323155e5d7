package core

import (
	"strings"
	"testing"
)

// The invisible and look-alike spellings an attacker tried against a
// reserved name online are all refused, at login and by /name.
func TestReservedNameInvisibleVariants(t *testing.T) {
	h := newTestHub(t, func(c *Config) { c.Reserved = map[string][]string{"alice": {aliceKey}, "marie": {otherKey}} })
	connectKeyed(t, h, "alice", aliceKey)
	for _, login := range []string{
		"alice\ufe0f", "alice\u034f", "alice\u180b", "alice\U000e0100", "\u3164alice", "\u3164", "aIice", "rnarie",
	} {
		s := connectKeyed(t, h, login, "")
		if s.Name() == login || NameKey(s.Name()) == NameKey("alice") || NameKey(s.Name()) == NameKey("marie") {
			t.Errorf("login %q got the name %q", login, s.Name())
		}
		if err := s.Input("/name " + login); err == nil {
			t.Errorf("/name %q accepted", login)
		}
	}
}

// When two people online have names that resemble each other, their
// messages say whose key each logged in with; once one of them leaves,
// the other's messages go back to the plain name.
func TestLookAlikeMessagesCarryTheKeyTag(t *testing.T) {
	h := newTestHub(t)
	alice := connectKeyed(t, h, "alice", aliceKey)
	if err := alice.Input("before"); err != nil {
		t.Fatal(err)
	}
	if ev := waitFor(t, alice, "before", message("before")); ev.Msg.From.LookAlike {
		t.Fatal("alice alone is marked a look-alike")
	}
	mimic := connectKeyed(t, h, "a.lice_2", "")
	for _, s := range []*Session{alice, mimic} {
		text := "from " + s.Name()
		if err := s.Input(text); err != nil {
			t.Fatal(err)
		}
		from := waitFor(t, alice, text, message(text)).Msg.From
		if !from.LookAlike {
			t.Errorf("%s's message is not marked while a look-alike is online", s.Name())
		}
		if (from.KeyTag == "") != (s == mimic) {
			t.Errorf("%s's message shows the key tag %q", s.Name(), from.KeyTag)
		}
	}
	if err := mimic.Input("/name bob"); err != nil {
		t.Fatal(err)
	}
	if err := alice.Input("after"); err != nil {
		t.Fatal(err)
	}
	if ev := waitFor(t, alice, "after", message("after")); ev.Msg.From.LookAlike || !strings.HasPrefix(aliceKey, "SHA256:"+ev.Msg.From.KeyTag) {
		t.Fatalf("after the rename alice's message is %+v", ev.Msg.From)
	}
}
