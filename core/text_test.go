package core

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCleanMessage(t *testing.T) {
	for _, tc := range []struct {
		name, in, want, err string
	}{
		{"plain", "hello there", "hello there", ""},
		{"emoji with joiner", "family 👨‍👩‍👧", "family 👨‍👩‍👧", ""},
		{"NFC", "e\u0301", "\u00e9", ""},
		{"three marks", "x\u0301\u0302\u0303", "x\u0301\u0302\u0303", ""},
		{"zalgo", "x\u0301\u0302\u0303\u0304", "", "combining marks"},
		{"escape", "hi \x1b[2J", "", "control character"},
		{"bell", "ding\a", "", "control character"},
		{"C1 CSI", "x\u009b31m", "", "control character"},
		{"DEL", "x\x7f", "", "control character"},
		{"bidi override", "abc\u202edcb", "", "bidirectional"},
		{"bidi isolate", "\u2066x", "", "bidirectional"},
		{"zero width space", "a\u200bb", "", "invisible"},
		{"newline", "one\ntwo", "", "single line"},
		{"tab", "a\tb", "", "tabs"},
		{"invalid utf8", "a\xffb", "", "UTF-8"},
		{"private use", "a\ue000", "", "cannot be shown"},
		{"blank", "   ", "", "nothing to send"},
		{"long", strings.Repeat("a", 501), "", "too long"},
		{"huge", strings.Repeat("a", 200_000), "", "too long"},
		{"limit exactly", strings.Repeat("é", 500), strings.Repeat("é", 500), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CleanMessage(tc.in, 500)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("CleanMessage(%q) = %q, %v; want error containing %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("CleanMessage(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestCleanName(t *testing.T) {
	ok := []string{"alice", "Bob_2", "jean-luc", "zoë", "名前", "a.b"}
	for _, n := range ok {
		if _, err := CleanName(n, 24); err != nil {
			t.Errorf("CleanName(%q): %v", n, err)
		}
	}
	bad := map[string]string{
		"":                         "empty",
		"two words":                "no spaces",
		"-lead":                    "must start with a letter or digit, not '-'",
		".lead":                    "must start with a letter or digit, not '.'",
		"a\u200db":                 "invisible",
		"a\u202eb":                 "bidirectional",
		"x\x1b":                    "control",
		"#room":                    "not allowed",
		"/cmd":                     "not allowed",
		strings.Repeat("w", 25):    "too long",
		strings.Repeat("名", 13):    "too long",
		"Parley":                   "reserved",
		"ＡＤＭＩＮ":                    "reserved",
		"emoji😀":                   "not allowed",
		strings.Repeat("x", 10000): "too long",
		"alice\ufe0f":              "invisible",
		"alice\u034f":              "invisible",
		"alice\u180b":              "invisible",
		"alice\U000e0100":          "invisible",
		"\u3164alice":              "invisible",
		"\u3164":                   "invisible",
		"\uffa0x":                  "invisible",
		"a\u00adb":                 "invisible",
	}
	for n, want := range bad {
		if _, err := CleanName(n, 24); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CleanName(%q) = %v; want error containing %q", n, err, want)
		}
	}
}

func TestNameKeyCollisions(t *testing.T) {
	same := [][]string{
		{"bob", "BOB", "ｂｏｂ", "bоb", "Bob"},
		{"alice", "ALICE", "аlice", "aIice", "AIICE", "a1ice"},
		{"marie", "rnarie", "RNarie", "Marie"},
		{"mike", "rnike"},
		{"ivan", "Ivan", "lvan", "IVAN"},
	}
	for _, group := range same {
		for _, n := range group[1:] {
			if NameKey(n) != NameKey(group[0]) {
				t.Errorf("NameKey(%q) = %q, NameKey(%q) = %q: want equal", n, NameKey(n), group[0], NameKey(group[0]))
			}
		}
	}
	if NameKey("bob") == NameKey("rob") || NameKey("marie") == NameKey("maria") {
		t.Error("distinct names collide")
	}
}

func TestCleanRoomName(t *testing.T) {
	for in, want := range map[string]string{"#Lobby": "lobby", "go-lang": "go-lang", "x_1": "x_1"} {
		if got, err := CleanRoomName(in); err != nil || got != want {
			t.Errorf("CleanRoomName(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"#", "", "a b", "ünï", strings.Repeat("r", 33), "#a#b"} {
		if _, err := CleanRoomName(in); err == nil {
			t.Errorf("CleanRoomName(%q) accepted", in)
		}
	}
}

func TestCodes(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		c, err := newCode(defaultRand)
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != CodeLen || NormalizeCode(c) != c {
			t.Fatalf("code %q is not canonical", c)
		}
		seen[c] = true
	}
	if len(seen) < 999 {
		t.Fatalf("only %d distinct codes in 1000 draws", len(seen))
	}
	for in, want := range map[string]string{
		"abcd-efgh": "ABCDEFGH",
		"o1il 2345": "01112345",
		"ABCDEFGH":  "ABCDEFGH",
		"ABCDEFG":   "",
		"ABCDEFGHJ": "",
		"ABCDEFGU":  "",
		"ÀBCDEFGH":  "",
	} {
		if got := NormalizeCode(in); got != want {
			t.Errorf("NormalizeCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzCleanMessage(f *testing.F) {
	for _, s := range []string{"hello", "e\u0301\u0302", "\x1b[31mred", "\u009b2J", "a\u202eb", "👨‍👩‍👧", "\xff", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := CleanMessage(in, 500)
		if err != nil {
			return
		}
		if !utf8.ValidString(out) || utf8.RuneCountInString(out) > 500 {
			t.Fatalf("accepted %q as %q", in, out)
		}
		for _, r := range out {
			if r < 0x20 || (r >= 0x7f && r <= 0x9f) || isBidiControl(r) || r == '\u200b' {
				t.Fatalf("accepted %q with U+%04X", in, r)
			}
		}
		if again, err := CleanMessage(out, 500); err != nil || again != out {
			t.Fatalf("not idempotent: %q → %q → %q, %v", in, out, again, err)
		}
	})
}

func FuzzCleanName(f *testing.F) {
	for _, s := range []string{"alice", "ｂｏｂ", "bоb", "a\u200db", "名前", "x-y_z.w", "",
		"alice\ufe0f", "alice\u034f", "alice\u180b", "alice\U000e0100", "\u3164alice", "\u3164", "aIice", "rnarie"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := CleanName(in, 24)
		if err != nil {
			return
		}
		if Width(out) > 24 || strings.ContainsAny(out, " #/:@") {
			t.Fatalf("accepted %q as %q", in, out)
		}
		for _, r := range out {
			if isInvisible(r) {
				t.Fatalf("accepted %q with the invisible U+%04X", in, r)
			}
		}
		if again, err := CleanName(out, 24); err != nil || again != out {
			t.Fatalf("not idempotent: %q → %q → %q, %v", in, out, again, err)
		}
		if key := NameKey(out); key == "" || key != NameKey(out) {
			t.Fatalf("unstable or empty key for %q", out)
		}
	})
}
