package config

import (
	"strings"
	"testing"
)

const fp = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"

var guarded = `
operators = ["` + fp + `"]
[reserved]
alice = ["` + fp + `"]
[[rooms]]
name = "lobby"
[[rooms]]
name = "ops"
password_hash = "$2a$04$8Kq9b7Y3oX1lG6g0s7W8be7r0Vg7cYy1xg5Xc3m9H2Gk1Qw6p1Z2S"
`

func mustParse(t *testing.T, src string) Config {
	t.Helper()
	cfg, err := Parse("test.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// An empty file, or one cut short, would silently drop every room,
// password, operator and reserved name on SIGHUP: it is refused, saying
// what it would remove, unless it says reload_may_clear = true.
func TestReloadThatClearsEverythingIsRefused(t *testing.T) {
	running := mustParse(t, guarded)
	err := CheckReload(running, mustParse(t, ""))
	if err == nil {
		t.Fatal("an empty file was accepted")
	}
	for _, want := range []string{"every room but #lobby", "every room password", "every operator", "every reserved name", "reload_may_clear = true"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not say %q: %v", want, err)
		}
	}
	cut := guarded[:strings.Index(guarded, "[reserved]")]
	if err := CheckReload(running, mustParse(t, cut)); err == nil || !strings.Contains(err.Error(), "every reserved name") || strings.Contains(err.Error(), "operator") {
		t.Errorf("a file cut before [reserved]: %v", err)
	}
	if err := CheckReload(running, mustParse(t, "reload_may_clear = true\n")); err != nil {
		t.Errorf("a file that says so: %v", err)
	}
	if err := CheckReload(mustParse(t, ""), mustParse(t, "")); err != nil {
		t.Errorf("nothing to lose: %v", err)
	}
	if err := CheckReload(running, mustParse(t, strings.Replace(guarded, `name = "ops"`, `name = "staff"`, 1))); err != nil {
		t.Errorf("a renamed room: %v", err)
	}
}

// Each reload's log line says what changed, never a secret.
func TestReloadChangesAreListed(t *testing.T) {
	running := mustParse(t, guarded)
	next := mustParse(t, strings.Replace(guarded, `name = "ops"`, `name = "staff"`, 1)+"[limits]\nhistory = 7\n")
	got := strings.Join(ReloadChanges(running, next), "; ")
	want := "room #staff added; room #ops removed; limit History: 100 → 7"
	if got != want {
		t.Fatalf("changes: %q, want %q", got, want)
	}
	if n := ReloadChanges(running, running); len(n) != 0 {
		t.Fatalf("no change listed as %q", n)
	}
	cleared := strings.Join(ReloadChanges(running, mustParse(t, "reload_may_clear = true\n")), "; ")
	for _, want := range []string{"room #ops removed", "operators: 0 added, 1 removed", "name alice no longer reserved"} {
		if !strings.Contains(cleared, want) {
			t.Errorf("clearing everything: %q lacks %q", cleared, want)
		}
	}
	if strings.Contains(cleared, fp) || strings.Contains(cleared, "$2a$") {
		t.Errorf("a secret in the log: %q", cleared)
	}
}
