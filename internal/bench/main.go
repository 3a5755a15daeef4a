// Command bench measures the exporter on a real PostgreSQL, against a
// scratch database of demo data it creates and drops itself:
//
//	go run ./internal/bench          the comparison (make bench): the same
//	                                 SQL run directly with pgx (the floor),
//	                                 the exporter as shipped and with caching
//	                                 off, side by side in one run
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

	rounds   int           // compare: uncached scrapes measured per side
	cached   int           // compare: cached scrapes measured per config
	window   time.Duration // compare: length of each executions window
	interval time.Duration // compare: each scraper's scrape interval in the windows
	conc     int           // compare: concurrency of the throughput run
	loadN    int           // compare: scrapes of the throughput run
	parts    string        // compare: which parts to run
}

func main() {
	var o options
	flag.BoolVar(&o.load, "load", false, "run the load test instead of the comparison")
	flag.Float64Var(&o.scale, "scale", 1, "demo data scale (1: about 100k orders)")
	flag.DurationVar(&o.duration, "duration", 60*time.Second, "load: how long to scrape")
	flag.IntVar(&o.scrapers, "scrapers", 200, "load: concurrent scrapers")
	flag.DurationVar(&o.minIntv, "min-interval", 10*time.Second, "load: min interval of the expensive collectors (attribution, performance, inventory, orders)")
	flag.IntVar(&o.rounds, "rounds", 100, "compare: uncached scrapes measured for the exporter and each floor")
	flag.IntVar(&o.cached, "cached", 1000, "compare: cached scrapes measured per config")
	flag.DurationVar(&o.window, "window", 30*time.Second, "compare: length of each database-executions window")
	flag.DurationVar(&o.interval, "interval", time.Second, "compare: each scraper's scrape interval in the executions windows")
	flag.IntVar(&o.conc, "concurrency", 32, "compare: concurrent scrapers of the throughput run")
	flag.StringVar(&o.parts, "parts", "all", "compare: comma-separated parts to run: latency, cached, memory, executions, all")
	flag.IntVar(&o.loadN, "throughput-scrapes", 5000, "compare: scrapes of the throughput run, per config")
	flag.Parse()

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
