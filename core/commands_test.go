package core

import (
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		line, cmd, args, err string
	}{
		{"/join ABCD1234", "join", "ABCD1234", ""},
		{"/JOIN  #go  secret ", "join", "#go  secret", ""},
		{":join #go", "join", "#go", ""},
		{":q", "home", "", ""},
		{"/close", "leave", "", ""},
		{":close", "leave", "", ""},
		{":chat", "chatroom", "", ""},
		{":listall", "listall", "", ""},
		{"  /list", "list", "", ""},
		{"/me waves", "me", "waves", ""},
		{"hello", "", "", ""},
		{":) smile", "", "", ""},
		{":joinx", "", "", ""},
		{"//not a command", "", "", ""},
		{"/frobnicate now", "", "", "unknown command /frobnicate: type /help"},
		{"/", "", "", "unknown command"},
		{"/" + strings.Repeat("x", 5000), "", "", "too long"},
	} {
		cmd, args, err := ParseCommand(tc.line)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseCommand(%.20q) error = %v, want %q", tc.line, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseCommand(%q): %v", tc.line, err)
			continue
		}
		name := ""
		if cmd != nil {
			name = cmd.Name
		}
		if name != tc.cmd || args != tc.args {
			t.Errorf("ParseCommand(%q) = %q %q, want %q %q", tc.line, name, args, tc.cmd, tc.args)
		}
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	names := map[string]bool{}
	for _, c := range Commands() {
		if c.Help == "" {
			t.Errorf("/%s has no help", c.Name)
		}
		for _, spelling := range append([]string{"/" + c.Name}, c.Aliases...) {
			if names[spelling] {
				t.Errorf("%s is registered twice", spelling)
			}
			names[spelling] = true
		}
	}
	for _, chatsock := range []string{":join", ":list", ":listall", ":rooms", ":close", ":quit", ":help", ":dm", ":chat", ":q"} {
		if !names[chatsock] {
			t.Errorf("chatsock alias %s is missing", chatsock)
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"/join ABCD1234", ":q", "//x", "/", ":", "/me  waves ", "/\xff", "hello"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cmd, args, err := ParseCommand(line)
		if err != nil && cmd != nil {
			t.Fatalf("both a command and an error for %q", line)
		}
		if cmd == nil && args != "" {
			t.Fatalf("arguments without a command for %q", line)
		}
		if cmd != nil && !strings.Contains(line, args) {
			t.Fatalf("arguments %q are not from %q", args, line)
		}
	})
}
