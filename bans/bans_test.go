package bans

import (
	"bytes"
	"encoding/base64"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"parley/core"
)

var (
	t0     = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	bobKey = "SHA256:" + base64.RawStdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
)

func open(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hostkeys", FileName)
	s := open(t, path) // a missing file (and folder) is an empty list
	if got := s.List(t0); len(got) != 0 {
		t.Fatalf("a new store lists %v", got)
	}
	forGood := core.Ban{Fingerprint: bobKey, Prefix: netip.MustParsePrefix("2001:db8:1:2::/64"), Name: "bob", Reason: "spam", By: "olga", Since: t0}
	timed := core.Ban{Prefix: netip.MustParsePrefix("192.0.2.7/32"), Name: "eve", By: "olga", Since: t0, Until: t0.Add(time.Hour)}
	for _, b := range []core.Ban{forGood, timed} {
		if err := s.Add(b, t0); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("ban file mode %o, want 600", fi.Mode().Perm())
	}

	again := open(t, path)
	got := again.List(t0)
	if len(got) != 2 || got[0] != forGood || got[1] != timed {
		t.Fatalf("after reopening:\n%+v\nwant\n%+v", got, []core.Ban{forGood, timed})
	}
	if b, ok := again.Check("", netip.MustParseAddr("2001:db8:1:2::99"), t0); !ok || b.Name != "bob" {
		t.Errorf("the /64 is not banned after reopening: %v %+v", ok, b)
	}
	if _, ok := again.Check(bobKey, netip.Addr{}, t0); !ok {
		t.Error("bob's key is not banned after reopening")
	}

	removed, err := again.Remove(core.BanTarget{Fingerprint: bobKey}, t0)
	if err != nil || len(removed) != 1 || removed[0].Name != "bob" {
		t.Fatalf("remove: %v %+v", err, removed)
	}
	if got := open(t, path).List(t0); len(got) != 1 || got[0].Name != "eve" {
		t.Errorf("after unbanning bob the file holds %+v", got)
	}
	if removed, err := again.Remove(core.BanTarget{Fingerprint: bobKey}, t0); err != nil || len(removed) != 0 {
		t.Errorf("removing twice: %v %+v", err, removed)
	}
}

func TestTimedBansExpire(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s := open(t, path)
	ip := netip.MustParseAddr("192.0.2.7")
	if err := s.Add(core.Ban{Prefix: netip.PrefixFrom(ip, 32), Name: "eve", By: "olga", Since: t0, Until: t0.Add(time.Hour)}, t0); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Check("", ip, t0.Add(59*time.Minute)); !ok {
		t.Fatal("eve is not banned within the hour")
	}
	later := t0.Add(time.Hour)
	if _, ok := s.Check("", ip, later); ok {
		t.Fatal("eve is still banned after the hour")
	}
	if got := s.List(later); len(got) != 0 {
		t.Fatalf("expired bans are listed: %+v", got)
	}
	// The next write forgets the expired ban.
	if err := s.Add(core.Ban{Fingerprint: bobKey, Name: "bob", By: "olga", Since: later}, later); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "eve") || !strings.Contains(string(data), "bob") {
		t.Errorf("the file after expiry holds:\n%s", data)
	}
}

// A write replaces the file in one step and leaves no temporary file; a
// write that fails changes nothing and leaves nothing behind either.
func TestWritesAreAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	s := open(t, path)
	if err := s.Add(core.Ban{Fingerprint: bobKey, Name: "bob", By: "olga", Since: t0}, t0); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 || entries[0].Name() != FileName {
		t.Errorf("the folder holds %v, want only %s", entries, FileName)
	}

	// A folder where the file should be makes the final rename fail,
	// whoever runs the test (root ignores read-only modes).
	blocked := filepath.Join(t.TempDir(), FileName)
	if err := os.MkdirAll(filepath.Join(blocked, "in-the-way"), 0o700); err != nil {
		t.Fatal(err)
	}
	b := &Store{path: blocked, set: s.List(t0)}
	err := b.Add(core.Ban{Prefix: netip.MustParsePrefix("192.0.2.7/32"), Name: "eve", By: "olga", Since: t0}, t0)
	if err == nil || !strings.Contains(err.Error(), "writing the ban file") {
		t.Fatalf("a write that cannot rename: %v", err)
	}
	if _, ok := b.Check("", netip.MustParseAddr("192.0.2.7"), t0); ok {
		t.Error("a ban that could not be saved is in force")
	}
	if _, ok := b.Check(bobKey, netip.Addr{}, t0); !ok {
		t.Error("a failed write lost the bans already there")
	}
	if entries, _ := os.ReadDir(filepath.Dir(blocked)); len(entries) != 1 {
		t.Errorf("a failed write left %v behind", entries)
	}
	if _, err := b.Remove(core.BanTarget{Fingerprint: bobKey}, t0); err == nil {
		t.Error("an unban that could not be saved reported success")
	}
	if _, ok := b.Check(bobKey, netip.Addr{}, t0); !ok {
		t.Error("an unban that could not be saved lifted the ban")
	}
}

func TestDamagedFileIsRefused(t *testing.T) {
	for name, content := range map[string]string{
		"not json":         "{bans: [",
		"wrong version":    `{"version": 9, "bans": []}`,
		"bad fingerprint":  `{"version": 1, "bans": [{"fingerprint": "SHA256:nope", "name": "x", "by": "y", "since": "2026-01-01T00:00:00Z"}]}`,
		"bad address":      `{"version": 1, "bans": [{"ip": "300.1.1.1/32", "name": "x", "by": "y", "since": "2026-01-01T00:00:00Z"}]}`,
		"empty ban":        `{"version": 1, "bans": [{"name": "x", "by": "y", "since": "2026-01-01T00:00:00Z"}]}`,
		"escape in reason": `{"version": 1, "bans": [{"ip": "192.0.2.7/32", "name": "x", "by": "y", "reason": "\u001b]0;pwned\u0007", "since": "2026-01-01T00:00:00Z"}]}`,
		"C1 in reason":     `{"version": 1, "bans": [{"ip": "192.0.2.7/32", "name": "x", "by": "y", "reason": "\u009b2J", "since": "2026-01-01T00:00:00Z"}]}`,
		"bidi in name":     `{"version": 1, "bans": [{"ip": "192.0.2.7/32", "name": "a\u202eb", "by": "y", "since": "2026-01-01T00:00:00Z"}]}`,
		"newline in by":    `{"version": 1, "bans": [{"ip": "192.0.2.7/32", "name": "x", "by": "y\nz", "since": "2026-01-01T00:00:00Z"}]}`,
	} {
		path := filepath.Join(t.TempDir(), FileName)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Open(path)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v, want an error naming the file", name, err)
		}
	}
}

// The file is small, readable JSON that an operator may edit by hand.
func TestFileFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s := open(t, path)
	if err := s.Add(core.Ban{Prefix: netip.MustParsePrefix("192.0.2.7/32"), Name: "eve", Reason: "spam", By: "olga", Since: t0}, t0); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "version": 1,
  "bans": [
    {
      "ip": "192.0.2.7/32",
      "name": "eve",
      "reason": "spam",
      "by": "olga",
      "since": "2026-01-01T12:00:00Z"
    }
  ]
}
`
	if string(data) != want {
		t.Errorf("the file reads:\n%s\nwant:\n%s", data, want)
	}
}
