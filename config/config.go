// Package config reads Parley's TOML config file into the settings of the
// core and of the server process around it. Every key is optional: what a
// file leaves out keeps its default, and a key the reader does not know is
// an error, so a typo is never silently ignored.
package config

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"parley/core"
)

// Config is everything a config file sets.
type Config struct {
	Core   core.Config
	Server Server
}

// Server holds the settings of the process rather than of the chat.
type Server struct {
	SSHAddr    string // where the SSH server listens
	HTTPAddr   string // where the HTTP server listens; "" turns it off
	HostKeyDir string // folder of the SSH host keys, created if missing
	// ShutdownGrace is how long users are warned before the server stops.
	ShutdownGrace time.Duration
	// IdleTimeout is how long an SSH connection whose peer stopped
	// answering keepalives is kept; quiet but connected users stay.
	IdleTimeout time.Duration
}

// Default returns the settings Parley runs with when no file is given.
func Default() Config {
	return Config{
		Core: core.DefaultConfig(),
		Server: Server{
			SSHAddr:       ":2222",
			HTTPAddr:      ":8080",
			HostKeyDir:    "hostkeys",
			ShutdownGrace: 5 * time.Second,
			IdleTimeout:   2 * time.Minute,
		},
	}
}

//go:embed default.toml
var defaultFile string

// DefaultFile is a commented config file that sets every key to its default.
func DefaultFile() string { return defaultFile }

// Load reads and validates the config file at path.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("cannot read config file: %w", err)
	}
	return Parse(path, data)
}

// Parse reads a config file's content on top of the defaults and validates
// the result. name is the file's name for error messages. The error, if
// any, is an Errors listing every problem found, in line order.
func Parse(name string, data []byte) (Config, error) {
	var doc map[string]any
	if _, err := toml.Decode(string(data), &doc); err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return Config{}, Errors{{File: name, Line: perr.Position.Line, Msg: perr.Message}}
		}
		return Config{}, Errors{{File: name, Msg: err.Error()}}
	}
	r := &reader{file: name, lines: keyLines(string(data))}
	cfg := Default()
	r.document(newTable(r, "", -1, doc), &cfg)
	if len(r.errs) == 0 {
		if err := cfg.Core.Validate(); err != nil {
			var serr *core.SettingError
			switch {
			case errors.As(err, &serr) && r.lines.find(serr.Key, serr.Room) == 0:
				r.fail(serr.Key, serr.Room, "%s (%s is not set in this file, so its default applies)", err, serr.Key)
			case serr != nil:
				r.fail(serr.Key, serr.Room, "%s", err)
			default:
				r.fail("", -1, "%s", err)
			}
		}
	}
	if len(r.errs) > 0 {
		sort.SliceStable(r.errs, func(i, j int) bool { return r.errs[i].Line < r.errs[j].Line })
		return Config{}, r.errs
	}
	return cfg, nil
}

// Error is one problem in a config file.
type Error struct {
	File string
	// Line is where the problem is, from 1; 0 when the file does not set
	// the key concerned (a default that clashes with another setting).
	Line int
	Key  string // dotted key concerned, "" for a syntax error
	Msg  string
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	return loc + ": " + e.Msg
}

// Errors is every problem found in one config file.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}
