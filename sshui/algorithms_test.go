package sshui

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"parley/internal/testkit"

	gossh "golang.org/x/crypto/ssh"
)

// The server names itself, and refuses the algorithms a modern client
// does without: NIST curves, SHA-1 key exchanges and MACs, MACs over
// the plaintext.
func TestOnlyModernAlgorithmsAndOurOwnBanner(t *testing.T) {
	ts := startServer(t, nil, nil)
	line, err := readVersion(dialRaw(t, ts.addr))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(line) != "SSH-2.0-Parley" {
		t.Fatalf("identification %q, want SSH-2.0-Parley", line)
	}
	login := func(kex, cipher, mac string) error {
		cfg := testkit.KeyLogin(t, "probe")
		cfg.Config = gossh.Config{KeyExchanges: []string{kex}, Ciphers: []string{cipher}, MACs: []string{mac}}
		c, err := gossh.Dial("tcp", ts.addr, cfg)
		if err == nil {
			c.Close()
		}
		return err
	}
	for _, tc := range []struct{ kex, cipher, mac string }{
		{"ecdh-sha2-nistp256", "aes128-gcm@openssh.com", "hmac-sha2-256-etm@openssh.com"},
		{"ecdh-sha2-nistp521", "aes128-gcm@openssh.com", "hmac-sha2-256-etm@openssh.com"},
		{"diffie-hellman-group14-sha1", "aes128-gcm@openssh.com", "hmac-sha2-256-etm@openssh.com"},
		{"diffie-hellman-group14-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256-etm@openssh.com"},
		{"curve25519-sha256", "aes128-ctr", "hmac-sha1"},
		{"curve25519-sha256", "aes128-ctr", "hmac-sha1-96"},
		{"curve25519-sha256", "aes128-ctr", "hmac-sha2-256"},
		{"curve25519-sha256", "aes128-cbc", "hmac-sha2-256-etm@openssh.com"},
	} {
		if login(tc.kex, tc.cipher, tc.mac) == nil {
			t.Errorf("a client offering only %s, %s, %s got in", tc.kex, tc.cipher, tc.mac)
		}
	}
	for _, tc := range []struct{ kex, cipher, mac string }{
		{"mlkem768x25519-sha256", "chacha20-poly1305@openssh.com", "hmac-sha2-256-etm@openssh.com"},
		{"curve25519-sha256", "aes256-gcm@openssh.com", "hmac-sha2-512-etm@openssh.com"},
		{"curve25519-sha256", "aes128-ctr", "hmac-sha2-256-etm@openssh.com"},
	} {
		if err := login(tc.kex, tc.cipher, tc.mac); err != nil {
			t.Errorf("a client offering %s, %s, %s was refused: %v", tc.kex, tc.cipher, tc.mac, err)
		}
	}
}

// The SSH clients people use log in with the default algorithms: each
// is run without a terminal and must get line mode's greeting, which
// comes only after a full handshake and login.
func TestCommonClientsAgreeOnAlgorithms(t *testing.T) {
	ts := startServer(t, nil, nil)
	host, port, _ := net.SplitHostPort(ts.addr)
	fingerprint := ts.srv.Fingerprint()
	clients := []struct {
		name, tool, pkg string
		args            []string
	}{
		{"OpenSSH", "ssh", "openssh-client", []string{"-T", "-F", "/dev/null", "-p", port, "-o", "StrictHostKeyChecking=no",
			"-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "PubkeyAuthentication=no",
			"-o", "PreferredAuthentications=keyboard-interactive", "guest@" + host}},
		{"PuTTY", "plink", "putty-tools", []string{"-batch", "-ssh", "-T", "-P", port, "-hostkey", fingerprint, "-l", "guest", host}},
		{"Dropbear", "dbclient", "dropbear-bin", []string{"-y", "-y", "-T", "-p", port, "guest@" + host}},
	}
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			path, err := exec.LookPath(c.tool)
			if err != nil {
				if os.Getenv("CI") == "true" {
					t.Fatalf("%s (Debian package %s) is required in CI", c.tool, c.pkg)
				}
				t.Skipf("%s (Debian package %s) is not installed", c.tool, c.pkg)
			}
			ctx, cancel := context.WithTimeout(context.Background(), testkit.WaitLimit)
			defer cancel()
			cmd := exec.CommandContext(ctx, path, c.args...)
			cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // no keys or known hosts of the machine
			out, _ := cmd.CombinedOutput()
			if !strings.Contains(string(out), "Parley: you are guest") {
				t.Fatalf("%s did not log in:\n%s", c.tool, out)
			}
		})
	}
}
