// Command parley-load measures an SSH chat server under load: it opens many
// SSH sessions with a PTY on this machine (and, for Parley, WebSocket
// clients speaking its browser protocol), has a few of them type unique
// tokens at a fixed rate, and times how long each token takes to appear on
// every other session's terminal or page. With --baseline it first measures a bare
// SSH fan-out server under the same load, so the target is judged as a
// ratio to a baseline measured in the same run.
//
//	parley-load --target 127.0.0.1:2222 --server-pid PID --baseline
//	parley-load --ws-target 127.0.0.1:8080 --sessions 0 --ws 5000 --server-pid PID
//	parley-load --target 127.0.0.1:2221,127.0.0.1:2222,127.0.0.1:2223 --server-pid P1,P2,P3
//	parley-load compare single.json cluster.json
//	parley-load serve-baseline --addr 127.0.0.1:0
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	var err error
	switch {
	case len(os.Args) > 1 && os.Args[1] == "serve-baseline":
		err = serveBaselineMain(os.Args[2:])
	case len(os.Args) > 1 && os.Args[1] == "compare":
		err = compareMain(os.Args[2:], os.Stdout)
	default:
		err = loadMain(os.Args[1:], os.Stdout, os.Stderr)
	}
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "parley-load:", err)
		}
		os.Exit(1)
	}
}

func loadMain(args []string, stdout, stderr io.Writer) error {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("parley-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: parley-load [flags]                   measure a server (or a cluster's nodes) under load
       parley-load compare FIRST.json SECOND.json  set two runs saved with --json side by side
       parley-load serve-baseline [--addr ADDR]    serve the bare SSH baseline

`)
		fs.PrintDefaults()
	}
	fs.Func("target", "SSH address of the server under test (loopback only), e.g. 127.0.0.1:2222; for a cluster, its nodes' addresses, comma-separated: sessions are dealt to them in turn", listFlag(&cfg.Targets))
	fs.Func("ws-target", "HTTP address of the server under test, whose /ws endpoint the WebSocket clients open (loopback only), e.g. 127.0.0.1:8080; for a cluster, its nodes' addresses, comma-separated, in --target's order", listFlag(&cfg.WSTargets))
	fs.Func("server-pid", "PID of the server under test, to measure its CPU and memory; for a cluster, one per node, comma-separated, in --target's order", pidsFlag(&cfg.ServerPIDs))
	fs.Func("nats-monitor", "HTTP monitoring addresses of the cluster's NATS servers (loopback only), comma-separated: report the messages NATS delivered to each node per chat message", listFlag(&cfg.NATSMonitors))
	baseline := fs.Bool("baseline", false, "also run the same load against a bare SSH fan-out server started by this tool, and print ratios")
	fs.IntVar(&cfg.Sessions, "sessions", cfg.Sessions, "SSH sessions that read their output")
	fs.IntVar(&cfg.WS, "ws", 0, "WebSocket clients in the same room as the SSH sessions (needs --ws-target)")
	baselineSessions := fs.Int("baseline-sessions", 0, "SSH sessions of the baseline run (0: --sessions, or --ws when there are no SSH sessions)")
	fs.IntVar(&cfg.Senders, "senders", cfg.Senders, "sessions that type tokens (the first ones: SSH before WebSocket)")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "tokens per second per sender")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long the senders type")
	fs.Float64Var(&cfg.ConnectRate, "connect-rate", cfg.ConnectRate, "new connections per second")
	fs.IntVar(&cfg.Stalled, "stalled", 0, "extra SSH sessions that never read their output")
	fs.DurationVar(&cfg.Idle, "idle", 0, "instead of sending, measure this long with no traffic")
	fs.StringVar(&cfg.Join, "join", "", `line every target session types once connected, e.g. "/join #load" (none for the baseline)`)
	fs.StringVar(&cfg.User, "user", cfg.User, "login name prefix")
	fs.StringVar(&cfg.Term, "term", cfg.Term, "TERM of the PTYs")
	fs.IntVar(&cfg.Width, "width", cfg.Width, "PTY columns")
	fs.IntVar(&cfg.Height, "height", cfg.Height, "PTY rows")
	fs.DurationVar(&cfg.ConnectTimeout, "connect-timeout", cfg.ConnectTimeout, "longest wait for one session's first printed character")
	fs.DurationVar(&cfg.Quiet, "quiet", cfg.Quiet, "no output for this long means the room has settled after connecting")
	fs.DurationVar(&cfg.Settle, "settle", cfg.Settle, "longest wait for the room to settle")
	fs.DurationVar(&cfg.Drain, "drain", cfg.Drain, "longest wait for deliveries after the last token")
	fs.StringVar(&cfg.Label, "label", cfg.Label, "name of the server under test in the report and the JSON results")
	jsonOut := fs.String("json", "", "also write the results to this file as JSON")
	quiet := fs.Bool("q", false, "no progress lines")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if len(cfg.Targets) == 0 && len(cfg.WSTargets) == 0 && !*baseline {
		return errors.New("give --target, --ws-target, --baseline or several")
	}
	if !*quiet {
		cfg.Log = stderr
	}

	var results []*Result
	if *baseline {
		res, err := runBaseline(cfg, *baselineSessions)
		if res != nil {
			results = append(results, res)
		}
		if err != nil {
			return err
		}
	}
	if len(cfg.Targets) > 0 || len(cfg.WSTargets) > 0 {
		res, err := Run(cfg)
		if res != nil {
			results = append(results, res)
		}
		if err != nil {
			return err
		}
	}
	printReport(stdout, cfg, results)
	if *jsonOut != "" {
		b, err := json.MarshalIndent(results, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(*jsonOut, append(b, '\n'), 0o644)
	}
	return nil
}

// listFlag reads a comma-separated list of addresses.
func listFlag(to *[]string) func(string) error {
	return func(v string) error {
		*to = nil
		for a := range strings.SplitSeq(v, ",") {
			if a = strings.TrimSpace(a); a == "" {
				return fmt.Errorf("empty address in %q", v)
			}
			*to = append(*to, a)
		}
		return nil
	}
}

// pidsFlag reads a comma-separated list of process ids.
func pidsFlag(to *[]int) func(string) error {
	return func(v string) error {
		*to = nil
		for p := range strings.SplitSeq(v, ",") {
			pid, err := strconv.Atoi(strings.TrimSpace(p))
			if err != nil || pid <= 0 {
				return fmt.Errorf("%q is not a process id", p)
			}
			*to = append(*to, pid)
		}
		return nil
	}
}

// runBaseline starts the baseline server as a child process, so its CPU
// and memory are measured apart from the tool's, and runs cfg against it
// with SSH sessions only: sessions of them, or as many as cfg has readers.
func runBaseline(cfg Config, sessions int) (*Result, error) {
	child, err := startBaseline()
	if err != nil {
		return nil, err
	}
	defer child.stop()
	if sessions == 0 {
		sessions = cfg.Sessions
	}
	if sessions == 0 {
		sessions = cfg.WS
	}
	cfg.Label, cfg.Targets, cfg.ServerPIDs, cfg.Join = "baseline", []string{child.addr}, []int{child.pid}, ""
	cfg.Sessions, cfg.WS, cfg.WSTargets, cfg.NATSMonitors = sessions, 0, nil, nil
	return Run(cfg)
}

// serveBaselineMain is the baseline server's own command line. It prints
// "listening on ADDR" once ready and serves until SIGINT or SIGTERM.
func serveBaselineMain(args []string) error {
	fs := flag.NewFlagSet("parley-load serve-baseline", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "loopback address to listen on")
	queue := fs.Int("queue-lines", 0, "lines queued per session before dropping (0 = default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	srv, ln, err := listenBaseline(*addr, *queue)
	if err != nil {
		return err
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case <-sig:
		return srv.Close()
	case err := <-served:
		return err
	}
}
