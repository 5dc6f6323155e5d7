package sshui

import (
	"path/filepath"
	"strings"
	"testing"

	"parley/bans"
	"parley/core"
	"parley/internal/testkit"

	gossh "golang.org/x/crypto/ssh"
)

// moderatedServer runs a server whose operator logs in with opKey and
// whose bans live in banFile.
func moderatedServer(t *testing.T, opKey gossh.Signer, banFile string) *testServer {
	t.Helper()
	store, err := bans.Open(banFile)
	if err != nil {
		t.Fatal(err)
	}
	operators := func(c *core.Config) { c.Operators = []string{gossh.FingerprintSHA256(opKey.PublicKey())} }
	return startServer(t, operators, nil, core.WithBans(store))
}

// An operator, recognised by the key they log in with, kicks and bans;
// the banned key is refused on return, also by a restarted server that
// reads the same ban file; an ordinary user's /kick is refused.
func TestOperatorKicksAndBansOverSSH(t *testing.T) {
	opKey, bobKey := testkit.NewKey(t), testkit.NewKey(t)
	banFile := filepath.Join(t.TempDir(), bans.FileName)
	ts := moderatedServer(t, opKey, banFile)

	olga := testkit.DialWith(t, ts.addr, testkit.SignerLogin("olga", opKey), 100, 30)
	olga.WaitFor("#lobby · 1 member")
	bob := testkit.DialWith(t, ts.addr, testkit.SignerLogin("bob", bobKey), 100, 30)
	bob.WaitFor("#lobby · 2 members")
	carol := testkit.Dial(t, ts.addr, "carol", 100, 30)
	carol.WaitFor("#lobby · 3 members")

	carol.TypeLine("/kick bob")
	carol.WaitFor("only operators can use /kick")
	carol.Press(testkit.CtrlU) // a refused line stays in the input, to fix
	carol.TypeLine("/help")
	if s := carol.WaitFor("/quit"); strings.Contains(s, "/ban") || strings.Contains(s, "/kick") || strings.Contains(s, "you are an operator") {
		t.Errorf("carol's help shows operator commands:\n%s", s)
	}
	carol.Press(testkit.Esc)
	olga.TypeLine("/help")
	olga.WaitFor("you are an operator")
	olga.Press(testkit.Esc)

	olga.TypeLine("/kick carol be nice")
	carol.WaitFor("kicked by olga: be nice")
	carol.WaitEnded()
	olga.WaitFor("carol left (kicked by olga: be nice)")

	olga.TypeLine("/ban bob 1h spam")
	bob.WaitFor("banned by olga for 1h: spam")
	bob.WaitEnded()
	olga.WaitFor("olga banned bob (" + gossh.FingerprintSHA256(bobKey.PublicKey()) + ") for 1h: spam")

	refused := func(addr string) {
		t.Helper()
		again := testkit.DialWith(t, addr, testkit.SignerLogin("bob", bobKey), 100, 30)
		again.WaitFor("Parley: you are banned from this server until ")
		again.WaitFor(": spam")
		again.WaitEnded()
	}
	refused(ts.addr)

	restarted := moderatedServer(t, opKey, banFile)
	refused(restarted.addr)
	dave := testkit.Dial(t, restarted.addr, "dave", 100, 30) // another key from the same address
	dave.WaitFor("#lobby · 1 member")
}
