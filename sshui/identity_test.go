package sshui

import (
	"io"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"parley/core"
	"parley/internal/testkit"
)

// forgedSigner offers a victim's public key, which a client can do
// without holding the private key, and then sends a signature that
// proves nothing (a wrong algorithm), so the server goes on to the next
// authentication method.
type forgedSigner struct{ claimed gossh.PublicKey }

func (f forgedSigner) PublicKey() gossh.PublicKey { return f.claimed }

func (f forgedSigner) Sign(io.Reader, []byte) (*gossh.Signature, error) {
	return &gossh.Signature{Format: "ssh-rsa", Blob: []byte("forged")}, nil
}

// TestReservedNameNeedsTheProvenKey reserves alice to a key and logs in
// as alice over SSH: without a key, with another key, and offering
// alice's public key but then authenticating without it or with another
// key. None of them gets the name, each is told why; the key's holder
// then does, and everyone's key tag tells them apart in /list and in
// the members panel.
func TestReservedNameNeedsTheProvenKey(t *testing.T) {
	aliceKey, otherKey := testkit.NewKey(t), testkit.NewKey(t)
	ts := startServer(t, func(c *core.Config) {
		c.Reserved = map[string][]string{"alice": {gossh.FingerprintSHA256(aliceKey.PublicKey())}}
	}, nil)
	forged := forgedSigner{aliceKey.PublicKey()}
	offered := func(auth ...gossh.AuthMethod) *gossh.ClientConfig {
		cfg := testkit.KeylessLogin("alice")
		cfg.Auth = auth
		return cfg
	}
	for _, tc := range []struct {
		who string
		cfg *gossh.ClientConfig
	}{
		{"a guest", testkit.KeylessLogin("alice")},
		{"another key", testkit.SignerLogin("alice", otherKey)},
		{"alice's key offered, then no key", offered(append([]gossh.AuthMethod{gossh.PublicKeys(forged)}, testkit.KeylessLogin("alice").Auth...)...)},
		{"alice's key offered, then another key", offered(gossh.PublicKeys(forged, otherKey))},
	} {
		impostor := testkit.DialWith(t, ts.addr, tc.cfg, 100, 30)
		impostor.WaitFor("the name alice is reserved for its owner's SSH key")
		impostor.TypeLine("/name alice")
		impostor.WaitFor("> /name alice") // refused: the line is kept
		impostor.Press(testkit.CtrlU)
		impostor.TypeLine("/whois alice")
		impostor.WaitFor("no one called alice is online")
		impostor.Press(testkit.CtrlU)
		if strings.Contains(impostor.Screen(), "you are alice") {
			t.Fatalf("%s got the name alice", tc.who)
		}
	}

	alice := testkit.DialWith(t, ts.addr, testkit.SignerLogin("alice", aliceKey), 100, 40)
	tag, otherTag := core.KeyTag(gossh.FingerprintSHA256(aliceKey.PublicKey())), core.KeyTag(gossh.FingerprintSHA256(otherKey.PublicKey()))
	alice.WaitFor("#lobby · 5 members")
	alice.TypeLine("/list")
	list := alice.WaitFor("alice (you)  [ssh, key " + tag + "]")
	if n := strings.Count(list, "[ssh, key "+otherTag+"]"); n != 2 {
		t.Fatalf("/list shows the other key's tag %d times, want 2 (with another key; offered alice's, then another):\n%s", n, list)
	}
	if n := strings.Count(list, "[ssh]"); n != 2 {
		t.Fatalf("/list shows %d users without a key, want 2 (a guest; offered alice's, then no key):\n%s", n, list)
	}
	alice.Press(testkit.Esc)
	alice.Press(testkit.F2)
	alice.WaitFor(" " + otherTag)
}

// TestLookAlikeChatLinesShowTheKey: with alice (by key) and alice_ (no
// key) online together, each one's chat lines say whose key wrote them.
func TestLookAlikeChatLinesShowTheKey(t *testing.T) {
	aliceKey := testkit.NewKey(t)
	ts := startServer(t, nil, nil)
	alice := testkit.DialWith(t, ts.addr, testkit.SignerLogin("alice", aliceKey), 100, 30)
	alice.WaitFor("#lobby")
	mimic := testkit.DialWith(t, ts.addr, testkit.KeylessLogin("alice_"), 100, 30)
	mimic.WaitFor("#lobby · 2 members")
	mimic.TypeLine("it is me")
	alice.WaitFor("alice_ [no key]: it is me")
	alice.TypeLine("no, me")
	mimic.WaitFor("alice [key " + core.KeyTag(gossh.FingerprintSHA256(aliceKey.PublicKey())) + "]: no, me")
}
