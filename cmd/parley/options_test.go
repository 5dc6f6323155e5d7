package main

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

// Each setting comes from the first source that has it: flag, then
// environment, then config file, then default.
func TestPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "parley.toml")
	err := os.WriteFile(file, []byte(`[server]
ssh_addr = "127.0.0.1:1001"
http_addr = "127.0.0.1:1002"
hostkey_dir = "file-keys"
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	type want struct{ ssh, http, keys string }
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want want
	}{
		{"defaults", nil, nil, want{":2222", ":8080", "hostkeys"}},
		{"file over defaults", []string{"--config", file}, nil,
			want{"127.0.0.1:1001", "127.0.0.1:1002", "file-keys"}},
		{"config file from the environment", nil, map[string]string{"PARLEY_CONFIG": file},
			want{"127.0.0.1:1001", "127.0.0.1:1002", "file-keys"}},
		{"environment over file", []string{"--config", file},
			map[string]string{"PARLEY_SSH_ADDR": "127.0.0.1:2001", "PARLEY_HTTP_ADDR": "", "PARLEY_HOSTKEY_DIR": "env-keys"},
			want{"127.0.0.1:2001", "", "env-keys"}},
		{"flags over environment", []string{"--config", file, "--ssh-addr", "127.0.0.1:3001", "--hostkey-dir=flag-keys"},
			map[string]string{"PARLEY_SSH_ADDR": "127.0.0.1:2001", "PARLEY_HTTP_ADDR": "127.0.0.1:2002", "PARLEY_HOSTKEY_DIR": "env-keys"},
			want{"127.0.0.1:3001", "127.0.0.1:2002", "flag-keys"}},
		{"flag equal to the default still wins", []string{"--config", file, "--ssh-addr", ":2222"}, nil,
			want{":2222", "127.0.0.1:1002", "file-keys"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := parseOptions(tc.args, env(tc.env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := opts.settings()
			if err != nil {
				t.Fatal(err)
			}
			got := want{cfg.Server.SSHAddr, cfg.Server.HTTPAddr, cfg.Server.HostKeyDir}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--log-format", "yaml"}, nil, "yaml"},
		{nil, map[string]string{"PARLEY_LOG_FORMAT": "yaml"}, "yaml"},
		{[]string{"serve"}, nil, "unexpected argument"},
		{[]string{"--ssh-addr"}, nil, "needs an argument"},
	} {
		_, err := parseOptions(tc.args, env(tc.env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: got %v, want an error about %q", tc.args, tc.env, err, tc.want)
		}
	}
	if _, err := parseOptions([]string{"--help"}, env(nil), io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: %v", err)
	}
}

func TestEmptySSHAddrIsRefused(t *testing.T) {
	opts, err := parseOptions(nil, env(map[string]string{"PARLEY_SSH_ADDR": ""}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := opts.settings(); err == nil {
		t.Fatal("an empty SSH address was accepted")
	}
}
