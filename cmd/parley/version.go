package main

import (
	"runtime/debug"
	"strings"
)

// version names the build: module version, VCS revision when the binary
// was built from a checkout, and the Go release.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "parley (unknown version)"
	}
	parts := []string{"parley", info.Main.Version}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if modified == "true" {
			rev += "-modified"
		}
		parts = append(parts, "rev "+rev)
	}
	return strings.Join(append(parts, info.GoVersion), " ")
}
