package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// printLoadTable prints, per endpoint, each hub's median req/s, p50 and p99 over the rounds,
// and the gohub/JupyterHub ratio against the endpoint's target.
func printLoadTable(w io.Writer, o options, sides []*side, eps []endpoint, res [][][]result) {
	pin := "not pinned"
	if o.pin {
		pin = "hubs on CPU 0, load on CPU 1"
	}
	fmt.Fprintf(w, "\nREST API, %d users, SQLite, hub-generated admin token, %d connections, %s per run, median of %d interleaved runs\n",
		o.users+1, o.concurrency, o.duration, o.rounds)
	fmt.Fprintf(w, "%s; %s\n", machine(), pin)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "endpoint\thub\tversion\treq/s\tp50\tp99\tbytes/resp\terrors\t")
	for e, ep := range eps {
		rps := make([]float64, len(sides))
		for s, sd := range sides {
			var xs []float64
			var p50, p99 []time.Duration
			errs, ok := 0, 0
			var bytes int64
			for _, r := range res[e][s] {
				ok += r.OK
				bytes += r.Bytes
				xs = append(xs, r.RPS())
				p50 = append(p50, r.Quantile(0.50))
				p99 = append(p99, r.Quantile(0.99))
				errs += r.Errors
			}
			rps[s] = median(xs)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f\t%s\t%s\t%d\t%d\t\n", ep.Name, sd.hub.Name, sd.version, rps[s],
				fmtDur(median(p50)), fmtDur(median(p99)), bytes/int64(max(ok, 1)), errs)
		}
		if len(sides) == 2 && rps[0] > 0 {
			// The median of each round's ratio: both hubs in a round ran back to back, so a busy
			// machine moves both, and their ratio holds better than the ratio of the medians.
			var ratios []float64
			for i := range res[e][0] {
				if a := res[e][0][i].RPS(); a > 0 {
					ratios = append(ratios, res[e][1][i].RPS()/a)
				}
			}
			ratio := median(ratios)
			verdict := "below target"
			if ratio >= ep.Target {
				verdict = "meets target"
			}
			fmt.Fprintf(tw, "%s\tgohub/JupyterHub\t\t%.1f×\t\t\t\t(target ≥ %.0f×: %s)\n", ep.Name, ratio, ep.Target, verdict)
		}
	}
	tw.Flush()
}

// fmtDur prints a latency with three significant digits.
func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	}
}
