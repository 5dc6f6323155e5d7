package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"

	"parley/internal/testkit"
)

// An operator named in the config file bans a user through the built
// binary; after a restart, the banned key is still refused, because the
// ban was written next to the host keys.
func TestBanSurvivesARestartOfTheBinary(t *testing.T) {
	opKey, bobKey := testkit.NewKey(t), testkit.NewKey(t)
	keys := filepath.Join(t.TempDir(), "keys")
	cfg := writeFile(t, "parley.toml", fmt.Sprintf("operators = [%q]\n[server]\nshutdown_grace = \"0s\"\n", ssh.FingerprintSHA256(opKey.PublicKey())))
	args := []string{"--config", cfg, "--ssh-addr", "127.0.0.1:0", "--http-addr", "", "--hostkey-dir", keys}

	first := startServer(t, nil, args...)
	olga := testkit.DialWith(t, first.sshAddr, testkit.SignerLogin("olga", opKey), 100, 30)
	bob := testkit.DialWith(t, first.sshAddr, testkit.SignerLogin("bob", bobKey), 100, 30)
	olga.WaitFor("bob joined")
	bob.TypeLine("/ban olga")
	bob.WaitFor("only operators can use /ban")
	olga.TypeLine("/ban bob 7d spam")
	bob.WaitFor("banned by olga for 7d: spam")
	bob.WaitEnded()
	if code, _ := first.stop(t); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	fi, err := os.Stat(filepath.Join(keys, "bans.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the ban file: %v, mode %v", err, fi)
	}

	second := startServer(t, nil, args...)
	again := testkit.DialWith(t, second.sshAddr, testkit.SignerLogin("bob", bobKey), 100, 30)
	again.WaitFor("you are banned from this server until")
	again.WaitFor(": spam")
	again.WaitEnded()
	second.waitLog(t, "ssh session refused: banned")
}
