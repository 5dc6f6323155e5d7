package config

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary files to the reader: it must never panic, a
// file it accepts must be one the core accepts too, and every error must
// name the file and a line that exists.
func FuzzParse(f *testing.F) {
	f.Add([]byte(DefaultFile()))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.toml", data)
		if err == nil {
			if verr := cfg.Core.Validate(); verr != nil {
				t.Fatalf("accepted a config the core refuses: %v", verr)
			}
			return
		}
		var errs Errors
		if !errors.As(err, &errs) || len(errs) == 0 {
			t.Fatalf("error of type %T: %v", err, err)
		}
		lines := strings.Count(string(data), "\n") + 1
		for _, e := range errs {
			if e.File != "fuzz.toml" || e.Line < 0 || e.Line > lines || e.Msg == "" {
				t.Fatalf("bad error %+v for a file of %d lines", e, lines)
			}
		}
	})
}
