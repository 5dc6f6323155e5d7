// Command parley runs the Parley chat server: an SSH server for terminal
// users and an HTTP server, around one in-memory chat core.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"parley/config"
	"parley/internal/logguard"
)

func main() {
	stops := make(chan os.Signal, 2)
	signal.Notify(stops, os.Interrupt, syscall.SIGTERM)
	reloads := make(chan os.Signal, 1)
	signal.Notify(reloads, syscall.SIGHUP)
	os.Exit(run(os.Args[1:], os.LookupEnv, os.Stdin, os.Stdout, os.Stderr, signals{stops, reloads}))
}

// signals are the ones the server acts on.
type signals struct {
	stop   <-chan os.Signal // SIGINT, SIGTERM: shut down; a second one: exit at once
	reload <-chan os.Signal // SIGHUP: read the config file again
}

// run is the whole program; it returns the exit code.
func run(args []string, lookupEnv func(string) (string, bool), stdin *os.File, stdout, stderr io.Writer, sigs signals) int {
	opts, err := parseOptions(args, lookupEnv, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		fmt.Fprintln(stderr, "parley:", err)
		return 2
	case opts.version:
		fmt.Fprintln(stdout, version())
		return 0
	case opts.hashPassword:
		return hashPassword(stdin, stdout, stderr)
	case opts.printDefault:
		fmt.Fprint(stdout, config.DefaultFile())
		return 0
	case opts.checkConfig != "":
		if _, err := config.Load(opts.checkConfig); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: ok\n", opts.checkConfig)
		return 0
	}
	cfg, err := opts.settings()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return serve(cfg, opts.settings, newLogger(opts.logFormat, stderr), stdout, sigs)
}

// newLogger writes records in format to w, every value clipped: some
// carry what clients sent (a login name, a TERM).
func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "json" {
		return slog.New(logguard.Clip(slog.NewJSONHandler(w, nil)))
	}
	return slog.New(logguard.Clip(slog.NewTextHandler(w, nil)))
}
