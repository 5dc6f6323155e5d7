package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// compareMain prints two runs saved with --json side by side, with the
// ratio of the second to the first and the latency the second adds: a
// single server and a cluster measured in one sitting, for instance. Of
// each file it takes the last run, the target's (a file written with
// --baseline holds the baseline's run first).
func compareMain(args []string, stdout io.Writer) error {
	if len(args) != 2 {
		return errors.New("usage: parley-load compare FIRST.json SECOND.json")
	}
	var results []*Result
	for _, name := range args {
		b, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		var rs []*Result
		if err := json.Unmarshal(b, &rs); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if len(rs) == 0 {
			return fmt.Errorf("%s: no runs", name)
		}
		results = append(results, rs[len(rs)-1])
	}
	a, b := results[0], results[1]
	if a.Label == b.Label {
		a.Label, b.Label = args[0], args[1]
	}
	printTable(stdout, results, a.Senders == 0, a.Unstalled != nil)
	if a.Senders > 0 && b.Senders > 0 {
		fmt.Fprintf(stdout, "fan-out latency %s adds to %s: p50 %s, p90 %s, p99 %s\n", b.Label, a.Label,
			signedMS(b.Fanout.P50-a.Fanout.P50), signedMS(b.Fanout.P90-a.Fanout.P90), signedMS(b.Fanout.P99-a.Fanout.P99))
	}
	return nil
}

func signedMS(d time.Duration) string {
	if d >= 0 {
		return "+" + ms(d)
	}
	return ms(d)
}
