// Command bench measures the exporter on a real PostgreSQL, against a
// scratch database of demo data it creates and drops itself:
//
//	go run ./internal/bench          the comparison (make bench): a fully
//	                                 cached scrape against the floor of
//	                                 serving its bytes (a static Go handler),
//	                                 an uncached scrape against its slowest
//	                                 query alone, memory, and the attribution
//	                                 check against one aggregate; it prints
//	                                 the goals and exits 1 if one is missed
//	go run ./internal/bench -load    the load test (make load): many
//	                                 concurrent scrapers for a while
//
// Everything runs on loopback. Timings are printed with ratios against
// baselines measured in the same run, never compared with fixed numbers
// from elsewhere: the machine may be slow and shared. The admin DSN is
// CAMPAIGN_TEST_DSN, else postgres@127.0.0.1:5432; EXPORTER_BIN names a
// built exporter, else it is built with go build.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

type options struct {
	load     bool
	scale    float64
	duration time.Duration // load: how long
	scrapers int           // load: concurrent scrapers
	minIntv  time.Duration // load: min interval of the expensive collectors

	rounds      int           // compare: one-client scrapes per side for latency
	throughput  time.Duration // compare: each closed-loop throughput run
	rssScrapes  int           // compare: scrapes over which RSS must stay flat
	uncached    int           // compare: uncached scrape rounds
	checkRounds int           // compare: rounds of the attribution check

	serveStatic string   // the floor process: serve this file
	listen      string   // the floor process: on this address
	headers     []string // the floor process: with these headers
}

type headerFlag struct{ v *[]string }

func (h headerFlag) String() string     { return "" }
func (h headerFlag) Set(s string) error { *h.v = append(*h.v, s); return nil }

func main() {
	var o options
	flag.BoolVar(&o.load, "load", false, "run the load test instead of the comparison")
	flag.Float64Var(&o.scale, "scale", 10, "demo data scale (10: 1M orders, as the issue measured; 1: 100k)")
	flag.DurationVar(&o.duration, "duration", 60*time.Second, "load: how long to scrape")
	flag.IntVar(&o.scrapers, "scrapers", 200, "load: concurrent scrapers")
	flag.DurationVar(&o.minIntv, "min-interval", 10*time.Second, "load: min interval of the expensive collectors (attribution, performance, inventory, orders)")
	flag.IntVar(&o.rounds, "rounds", 3000, "compare: one-client scrapes of each side for the latency columns")
	flag.DurationVar(&o.throughput, "throughput", 2*time.Second, "compare: length of each closed-loop throughput run")
	flag.IntVar(&o.rssScrapes, "rss-scrapes", 100000, "compare: scrapes over which the exporter's RSS must stay flat")
	flag.IntVar(&o.uncached, "uncached", 10, "compare: uncached scrapes, each next to its queries alone")
	flag.IntVar(&o.checkRounds, "check-rounds", 7, "compare: runs of check_attribution_quality() and of the baseline")
	flag.StringVar(&o.serveStatic, "serve-static", "", "internal: serve this file as the floor")
	flag.StringVar(&o.listen, "listen", "", "internal: the floor's address")
	flag.Var(headerFlag{&o.headers}, "header", "internal: a header of the floor's response, Name: value")
	flag.Parse()

	if o.serveStatic != "" {
		if err := serveStatic(o.serveStatic, o.listen, o.headers); err != nil {
			fmt.Fprintln(os.Stderr, "bench floor:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if o.load {
		err = runLoad(ctx, o)
	} else {
		err = runCompare(ctx, o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// machine describes where the numbers come from.
func machine(pgVersion string) string {
	model := "unknown"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	return fmt.Sprintf("machine: nproc %d, %s, %s/%s, %s; PostgreSQL %s",
		runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH, runtime.Version(), pgVersion)
}

// percentile of sorted durations, nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

type stats struct {
	n                int
	median, p99, max time.Duration
}

func summarize(d []time.Duration) stats {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s) == 0 {
		return stats{}
	}
	return stats{len(s), percentile(s, 0.5), percentile(s, 0.99), s[len(s)-1]}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }

func ratio(a, b time.Duration) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", float64(a)/float64(b))
}

func mb(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }

func newTable() *tabwriter.Writer { return tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0) }

func verdict(ok bool) string {
	if ok {
		return "MET"
	}
	return "MISSED"
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
