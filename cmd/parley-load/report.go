package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// row is one line of the report: how to show a figure, and its number for
// the ratio column (ok false when it has none).
type row struct {
	name  string
	show  func(r *Result) string
	value func(r *Result) (v float64, ok bool)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func durationRow(name string, f func(r *Result) time.Duration) row {
	return row{name, func(r *Result) string { return ms(f(r)) }, func(r *Result) (float64, bool) { return float64(f(r)), f(r) > 0 }}
}

func numberRow(name, format string, f func(r *Result) float64, server bool) row {
	return row{
		name,
		func(r *Result) string {
			if server && !r.ServerMeasured {
				return "n/a"
			}
			return fmt.Sprintf(format, f(r))
		},
		func(r *Result) (float64, bool) { return f(r), (!server || r.ServerMeasured) && f(r) > 0 },
	}
}

func textRow(name string, f func(r *Result) string) row {
	return row{name, f, func(*Result) (float64, bool) { return 0, false }}
}

func reportRows(idle, stalled bool) []row {
	rows := []row{
		textRow("sessions (reading + stalled)", func(r *Result) string { return fmt.Sprintf("%d + %d", r.Sessions+r.WS, r.Stalled) }),
		textRow("of which WebSocket clients", func(r *Result) string { return fmt.Sprint(r.WS) }),
		textRow("connected / failed", func(r *Result) string { return fmt.Sprintf("%d / %d", r.Connected, r.ConnectFailed) }),
		durationRow("connect p50", func(r *Result) time.Duration { return r.Connect.P50 }),
		durationRow("connect p99", func(r *Result) time.Duration { return r.Connect.P99 }),
		durationRow("connect p99, handshake only", func(r *Result) time.Duration { return r.Opened.P99 }),
		numberRow("tool CPU while connecting, % of one core", "%.1f%%", func(r *Result) float64 { return 100 * r.ToolConnectCPUShare }, false),
	}
	if !idle {
		rows = append(rows,
			textRow("senders × tokens sent", func(r *Result) string { return fmt.Sprintf("%d × %d", r.Senders, r.Messages) }),
			textRow("delivered / expected", func(r *Result) string {
				return fmt.Sprintf("%d / %d (%.2f%%)", r.Delivered, r.Expected, 100*r.DeliveryRatio())
			}),
			durationRow("fan-out p50", func(r *Result) time.Duration { return r.Fanout.P50 }),
			durationRow("fan-out p90", func(r *Result) time.Duration { return r.Fanout.P90 }),
			durationRow("fan-out p99", func(r *Result) time.Duration { return r.Fanout.P99 }),
			durationRow("fan-out max", func(r *Result) time.Duration { return r.Fanout.Max }),
			numberRow("deliveries per second", "%.0f", func(r *Result) float64 { return r.DeliveriesPerSec }, false),
			numberRow("bytes per session per message", "%.1f", func(r *Result) float64 { return r.BytesPerSessionPerMessage }, false),
			numberRow("server CPU-s per 1,000 deliveries", "%.4f", func(r *Result) float64 { return r.ServerCPUPer1000 }, true),
			textRow("WebSocket resyncs (fell behind)", func(r *Result) string { return fmt.Sprint(r.Resyncs) }),
		)
		if stalled {
			rows = append(rows,
				textRow("before the stalled joined: delivered", func(r *Result) string {
					return fmt.Sprintf("%d / %d (%.2f%%)", r.Unstalled.Delivered, r.Unstalled.Expected, 100*r.Unstalled.DeliveryRatio())
				}),
				durationRow("before the stalled joined: fan-out p99", func(r *Result) time.Duration { return r.Unstalled.Fanout.P99 }),
				numberRow("fan-out p99 with / without the stalled", "%.2f×", func(r *Result) float64 {
					return float64(r.Fanout.P99) / float64(max(1, r.Unstalled.Fanout.P99))
				}, false),
			)
		}
	} else {
		rows = append(rows,
			numberRow("bytes per session during idle", "%.1f", func(r *Result) float64 { return float64(r.WindowBytes) / float64(max(1, r.Sessions+r.WS)) }, false),
		)
	}
	return append(rows,
		numberRow("server CPU, % of one core", "%.2f%%", func(r *Result) float64 { return 100 * r.ServerCPUShare }, true),
		numberRow("server RSS per session (KiB)", "%.1f", func(r *Result) float64 { return r.ServerRSSPerSession / 1024 }, true),
		numberRow("server RSS growth per session (KiB)", "%.1f", func(r *Result) float64 { return r.ServerRSSDeltaPerSession / 1024 }, true),
		numberRow("tool CPU, % of one core", "%.1f%%", func(r *Result) float64 { return 100 * r.ToolCPUShare }, false),
		textRow("measured window", func(r *Result) string { return r.Window.Round(time.Millisecond).String() }),
		textRow("reading sessions disconnected", func(r *Result) string {
			if r.DisconnectReason != "" {
				return fmt.Sprintf("%d (first: %s)", r.Disconnected, r.DisconnectReason)
			}
			return fmt.Sprint(r.Disconnected)
		}),
	)
}

// nodeRows break a run over several nodes down by node, and give what
// NATS delivered to each node per chat message, for as many nodes as the
// results have; a result with fewer shows blanks.
func nodeRows(results []*Result) []row {
	nodes, conns := 0, 0
	for _, r := range results {
		nodes, conns = max(nodes, len(r.Nodes)), max(conns, len(r.NATS))
	}
	var rows []row
	for i := range nodes {
		node := func(f func(r *Result, n NodeResult) string) func(r *Result) string {
			return func(r *Result) string {
				if i >= len(r.Nodes) {
					return ""
				}
				return f(r, r.Nodes[i])
			}
		}
		rows = append(rows,
			textRow(fmt.Sprintf("node %d: reading sessions", i+1), node(func(_ *Result, n NodeResult) string { return fmt.Sprint(n.Sessions) })),
			textRow(fmt.Sprintf("node %d: delivered", i+1), node(func(_ *Result, n NodeResult) string { return fmt.Sprint(n.Delivered) })),
			textRow(fmt.Sprintf("node %d: fan-out p99", i+1), node(func(_ *Result, n NodeResult) string { return ms(n.Fanout.P99) })),
			textRow(fmt.Sprintf("node %d: server CPU-s per 1,000 deliveries", i+1), node(func(r *Result, n NodeResult) string {
				if !r.ServerMeasured {
					return "n/a"
				}
				return fmt.Sprintf("%.4f", n.ServerCPUPer1000)
			})),
		)
	}
	for i := range conns {
		conn := func(f func(r *Result, n NATSNode) string) func(r *Result) string {
			return func(r *Result) string {
				if i >= len(r.NATS) {
					return ""
				}
				return f(r, r.NATS[i])
			}
		}
		perMessage := func(r *Result, msgs int64) string {
			return fmt.Sprintf("%.2f (%d)", float64(msgs)/float64(max(1, r.Messages)), msgs)
		}
		rows = append(rows,
			textRow(fmt.Sprintf("NATS connection %d", i+1), conn(func(_ *Result, n NATSNode) string { return fmt.Sprintf("%q", n.Name) })),
			textRow(fmt.Sprintf("NATS connection %d: msgs per chat message, all", i+1), conn(func(r *Result, n NATSNode) string { return perMessage(r, n.Msgs) })),
			textRow(fmt.Sprintf("NATS connection %d: msgs per chat message, busiest subscription", i+1), conn(func(r *Result, n NATSNode) string { return perMessage(r, n.BusiestSubMsgs) })),
		)
	}
	return rows
}

// printReport writes the load's description, then the table of results.
func printReport(w io.Writer, cfg Config, results []*Result) {
	if len(results) == 0 {
		return
	}
	if cfg.Idle > 0 {
		fmt.Fprintf(w, "idle %s, %d sessions + %d WebSocket clients, PTY %dx%d\n", cfg.Idle, cfg.Sessions, cfg.WS, cfg.Width, cfg.Height)
	} else {
		fmt.Fprintf(w, "load: %d sessions + %d WebSocket clients, %d stalled, %d senders × %g tokens/s for %s, PTY %dx%d, connect %g/s\n",
			cfg.Sessions, cfg.WS, cfg.Stalled, cfg.Senders, cfg.Rate, cfg.Duration, cfg.Width, cfg.Height, cfg.ConnectRate)
	}
	printTable(w, results, cfg.Idle > 0, cfg.Stalled > 0 && cfg.Idle == 0)
}

// printTable writes one column per run and, for two runs, the ratio of
// the second to the first.
func printTable(w io.Writer, results []*Result, idle, stalled bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := []string{"metric"}
	for _, r := range results {
		header = append(header, r.Label)
	}
	ratio := len(results) == 2
	if ratio {
		header = append(header, results[1].Label+" / "+results[0].Label)
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, rw := range append(reportRows(idle, stalled), nodeRows(results)...) {
		cells := []string{rw.name}
		for _, r := range results {
			cells = append(cells, rw.show(r))
		}
		if ratio {
			a, okA := rw.value(results[0])
			b, okB := rw.value(results[1])
			if okA && okB {
				cells = append(cells, fmt.Sprintf("%.2f×", b/a))
			} else {
				cells = append(cells, "")
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	tw.Flush()
}
