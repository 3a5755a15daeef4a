package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/campaign-exporter/campaign_exporter/collector"
)

// expensive are the collectors cached by default (min interval > 0).
func expensive() []string {
	var out []string
	for _, n := range collector.Names() {
		if collector.DefaultMinInterval(n) > 0 {
			out = append(out, n)
		}
	}
	return out
}

// intervalArgs sets every collector's min interval to d.
func intervalArgs(d time.Duration) []string {
	var args []string
	for _, n := range collector.Names() {
		args = append(args, fmt.Sprintf("--collector.%s.min-interval=%s", n, d))
	}
	return args
}

// checked scrapes once and fails unless the answer is 200 with up 1 and
// every collector successful.
func checked(ctx context.Context, p *process) (time.Duration, error) {
	r := scrape(ctx, p.url, true)
	if r.err != nil {
		return 0, r.err
	}
	if r.status != 200 || !r.up {
		return 0, fmt.Errorf("scrape: status %d, up %v\n%s", r.status, r.up, p.logs())
	}
	if f := failingCollectors(r.body); len(f) > 0 {
		return 0, fmt.Errorf("scrape: collectors failing: %v\n%s", f, p.logs())
	}
	return r.took, nil
}

// badScrape says why a scrape is not 200 with up 1 and every collector
// successful, or "".
func badScrape(r scrapeResult) string {
	switch {
	case r.err != nil:
		return r.err.Error()
	case r.status != 200:
		return fmt.Sprintf("status %d", r.status)
	case !r.up:
		return "up 0"
	}
	if f := failingCollectors(r.body); len(f) > 0 {
		return fmt.Sprintf("collectors failing: %v", f)
	}
	return ""
}

// closedLoop runs n scrapes from conc scrapers back to back and returns
// the latencies and how long it took.
func closedLoop(ctx context.Context, p *process, conc, n int) ([]time.Duration, time.Duration, error) {
	var next atomic.Int64
	lat := make([]time.Duration, n)
	var bad atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) || ctx.Err() != nil {
					return
				}
				r := scrape(ctx, p.url, false)
				if r.err != nil || r.status != 200 || !r.up {
					bad.Add(1)
				}
				lat[i] = r.took
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	if b := bad.Load(); b > 0 {
		return nil, 0, fmt.Errorf("%d of %d scrapes not answered 200 with up 1", b, n)
	}
	return lat, took, nil
}

type window struct {
	config   string
	scrapers int
	scrapes  int64
	bad      int64  // scrapes not 200 with up 1 and every collector successful
	firstBad string // why the first of them was
	calls    map[string]int64
	cpu      time.Duration
	rss      int64
}

// execWindow runs a fresh exporter with args for length, scraped by
// scrapers each every interval (staggered, as Prometheus replicas), then
// stops it and counts the check functions' executions in the database.
func execWindow(ctx context.Context, bin string, db *scratch, config string, args []string, scrapers int, interval, length time.Duration) (window, error) {
	w := window{config: config, scrapers: scrapers}
	before, err := db.calls(ctx)
	if err != nil {
		return w, err
	}
	p, err := startExporter(bin, db.dsn, args...)
	if err != nil {
		return w, err
	}
	cpu0 := p.cpu()
	wctx, cancel := context.WithTimeout(ctx, length)
	var scrapes, bad atomic.Int64
	var firstBad atomic.Value
	var wg sync.WaitGroup
	for i := range scrapers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-time.After(interval * time.Duration(i) / time.Duration(scrapers)):
			case <-wctx.Done():
				return
			}
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for {
				r := scrape(wctx, p.url, true)
				if wctx.Err() != nil {
					return
				}
				scrapes.Add(1)
				if why := badScrape(r); why != "" {
					if bad.Add(1) == 1 {
						firstBad.Store(why)
					}
				}
				select {
				case <-tick.C:
				case <-wctx.Done():
					return
				}
			}
		}()
	}
	wg.Wait()
	cancel()
	w.cpu, w.rss = p.cpu()-cpu0, p.rss()
	p.stop()
	if err := ctx.Err(); err != nil {
		return w, err
	}
	if err := db.waitNoSessions(ctx, exporterApp); err != nil {
		return w, err
	}
	after, err := db.calls(ctx)
	if err != nil {
		return w, err
	}
	w.calls = map[string]int64{}
	for _, f := range checkFunctions {
		w.calls[f] = after[f] - before[f]
	}
	w.scrapes, w.bad = scrapes.Load(), bad.Load()
	if why, ok := firstBad.Load().(string); ok {
		w.firstBad = why
		logf("%s, %d scrapers: %d incomplete scrapes; the first: %s", config, scrapers, w.bad, why)
	}
	return w, nil
}

// bench is one comparison run: the binary, the database, the exporters
// it started.
type bench struct {
	o     options
	bin   string
	db    *scratch
	procs []*process
}

func (b *bench) start(args ...string) (*process, error) {
	p, err := startExporter(b.bin, b.db.dsn, args...)
	if err == nil {
		b.procs = append(b.procs, p)
	}
	return p, err
}

func (b *bench) stopAll(ctx context.Context) error {
	for _, p := range b.procs {
		p.stop()
	}
	b.procs = nil
	return b.db.waitNoSessions(ctx, exporterApp)
}

func runCompare(ctx context.Context, o options) error {
	parts := map[string]bool{}
	for _, p := range strings.Split(o.parts, ",") {
		switch p = strings.TrimSpace(p); p {
		case "latency", "cached", "memory", "executions":
			parts[p] = true
		case "all":
			parts["latency"], parts["cached"], parts["memory"], parts["executions"] = true, true, true, true
		default:
			return fmt.Errorf("-parts: unknown part %q (latency, cached, memory, executions, all)", p)
		}
	}
	bin, db, cleanup, err := prepare(ctx, o.scale)
	if err != nil {
		return err
	}
	defer cleanup()
	b := &bench{o: o, bin: bin, db: db}
	defer func() {
		if err := b.stopAll(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "bench: stopping the exporters:", err)
		}
	}()

	var rep report
	if parts["latency"] {
		if rep.latency, err = b.latency(ctx); err != nil {
			return err
		}
	}
	if parts["cached"] {
		if rep.cached, err = b.cachedScrapes(ctx); err != nil {
			return err
		}
	}
	if parts["memory"] {
		if rep.memory, err = b.memory(ctx); err != nil {
			return err
		}
	}
	if parts["executions"] {
		if rep.windows, err = b.executions(ctx); err != nil {
			return err
		}
	}
	fmt.Println()
	fmt.Println(machine(db.version))
	fmt.Printf("data: demo generator at scale %g, %d orders; exporter pool 3 connections\n", o.scale, db.orders)
	rep.print(o)
	return nil
}

type latencyResult struct {
	seq, conc, exp []time.Duration
	cpu            time.Duration // exporter CPU per uncached scrape
	rss            int64
}

// latency: a scrape that reaches the database, the exporter with caching
// off against the floor, interleaved round by round (in a rotating order)
// so that the machine's noise falls on all three alike.
func (b *bench) latency(ctx context.Context) (*latencyResult, error) {
	logf("uncached scrapes against the floor: %d rounds", b.o.rounds)
	fl, err := newFloor(ctx, b.db.dsn)
	if err != nil {
		return nil, err
	}
	defer fl.close()
	pc, err := b.start(intervalArgs(0)...)
	if err != nil {
		return nil, err
	}
	r := &latencyResult{}
	var cpu time.Duration
	for i := -3; i < b.o.rounds; i++ { // 3 warm-up rounds
		var s, c, e time.Duration
		steps := []func() error{
			func() (err error) { s, err = fl.sequential(ctx); return err },
			func() (err error) { c, err = fl.concurrent(ctx); return err },
			func() (err error) {
				before := pc.cpu()
				e, err = checked(ctx, pc)
				cpu += pc.cpu() - before
				return err
			},
		}
		for k := range steps {
			if err := steps[(k+i+3)%len(steps)](); err != nil {
				return nil, err
			}
		}
		if i < 0 {
			cpu = 0
			continue
		}
		r.seq, r.conc, r.exp = append(r.seq, s), append(r.conc, c), append(r.exp, e)
	}
	r.cpu = cpu / time.Duration(b.o.rounds)
	r.rss = pc.rss()
	return r, b.stopAll(ctx)
}

type cachedResult struct {
	shipped, full       []time.Duration
	cpuShipped, cpuFull time.Duration
	rssShipped, rssFull int64
}

// cachedScrapes: warm scrapes, as shipped (the expensive collectors cached,
// the cheap ones still reaching the database) and fully cached, one
// scraper, interleaved.
func (b *bench) cachedScrapes(ctx context.Context) (*cachedResult, error) {
	logf("cached scrapes: %d each, shipped and fully cached", b.o.cached)
	pb, err := b.start()
	if err != nil {
		return nil, err
	}
	pa, err := b.start(intervalArgs(time.Hour)...)
	if err != nil {
		return nil, err
	}
	r := &cachedResult{}
	for i := -1; i < b.o.cached; i++ {
		if i == 0 {
			pb.cpuMark, pa.cpuMark = pb.cpu(), pa.cpu()
		}
		s, err := checked(ctx, pb)
		if err != nil {
			return nil, err
		}
		f, err := checked(ctx, pa)
		if err != nil {
			return nil, err
		}
		if i >= 0 {
			r.shipped, r.full = append(r.shipped, s), append(r.full, f)
		}
	}
	r.cpuShipped = (pb.cpu() - pb.cpuMark) / time.Duration(b.o.cached)
	r.cpuFull = (pa.cpu() - pa.cpuMark) / time.Duration(b.o.cached)
	r.rssShipped, r.rssFull = pb.rss(), pa.rss()
	return r, b.stopAll(ctx)
}

type memoryResult struct {
	rss100, rss10k, rssConc int64
	shipped, full           []time.Duration
	tookShipped, tookFull   time.Duration
	cpuShipped, cpuFull     time.Duration
}

// memory: a fresh shipped exporter scraped by two scrapers (a Prometheus
// HA pair), RSS after 100 and after 10,000 scrapes; then throughput, conc
// scrapers back to back, shipped and fully cached.
func (b *bench) memory(ctx context.Context) (*memoryResult, error) {
	logf("memory: 10,000 scrapes from 2 scrapers; throughput: %d scrapes from %d scrapers", b.o.loadN, b.o.conc)
	pt, err := b.start()
	if err != nil {
		return nil, err
	}
	r := &memoryResult{}
	if _, _, err := closedLoop(ctx, pt, 2, 100); err != nil {
		return nil, err
	}
	r.rss100 = pt.rss()
	if _, _, err := closedLoop(ctx, pt, 2, 9900); err != nil {
		return nil, err
	}
	r.rss10k = pt.rss()
	pt.cpuMark = pt.cpu()
	if r.shipped, r.tookShipped, err = closedLoop(ctx, pt, b.o.conc, b.o.loadN); err != nil {
		return nil, err
	}
	r.cpuShipped = (pt.cpu() - pt.cpuMark) / time.Duration(b.o.loadN)
	r.rssConc = pt.rss()
	pa, err := b.start(intervalArgs(time.Hour)...)
	if err != nil {
		return nil, err
	}
	if _, err := checked(ctx, pa); err != nil {
		return nil, err
	}
	pa.cpuMark = pa.cpu()
	if r.full, r.tookFull, err = closedLoop(ctx, pa, b.o.conc, b.o.loadN); err != nil {
		return nil, err
	}
	r.cpuFull = (pa.cpu() - pa.cpuMark) / time.Duration(b.o.loadN)
	return r, b.stopAll(ctx)
}

// executions: database executions per minute under 2 and 10 scrapers.
func (b *bench) executions(ctx context.Context) ([]window, error) {
	var windows []window
	for _, cfg := range []struct {
		name string
		args []string
	}{{"(b) shipped", nil}, {"(c) caching off", intervalArgs(0)}} {
		for _, n := range []int{2, 10} {
			logf("executions window: %s, %d scrapers every %s, %s", cfg.name, n, b.o.interval, b.o.window)
			w, err := execWindow(ctx, b.bin, b.db, cfg.name, cfg.args, n, b.o.interval, b.o.window)
			if err != nil {
				return nil, err
			}
			windows = append(windows, w)
		}
	}
	return windows, nil
}

type report struct {
	latency *latencyResult
	cached  *cachedResult
	memory  *memoryResult
	windows []window
}

type target struct {
	name, measured, ratio string
	ok                    bool
}

func (rep report) print(o options) {
	var targets []target
	if l, c := rep.latency, rep.cached; l != nil || c != nil {
		if l == nil {
			l = &latencyResult{}
		}
		if c == nil {
			c = &cachedResult{}
		}
		fmt.Printf("\nScrape latency, one scraper (ms): %d uncached rounds interleaved; %d cached scrapes\n", len(l.exp), len(c.full))
		tw := newTable()
		fmt.Fprintln(tw, "side\tmedian\tp99\tmax\tmedian vs conc. floor\tp99 vs conc. floor\tmedian vs seq. floor\tCPU ms/scrape\tRSS MB")
		var sSeq, sConc stats
		row := func(name string, s stats, cpu string, rss string) {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, ms(s.median), ms(s.p99), ms(s.max),
				ratio(s.median, sConc.median), ratio(s.p99, sConc.p99), ratio(s.median, sSeq.median), cpu, rss)
		}
		if len(l.exp) > 0 {
			sSeq, sConc = summarize(l.seq), summarize(l.conc)
			sExp := summarize(l.exp)
			row("(a) floor: same SQL, sequential, 1 conn", sSeq, "", "")
			row("(a) floor: same SQL, concurrent, 3 conns", sConc, "", "")
			row("(c) exporter, caching off (uncached scrape)", sExp, ms(l.cpu), mb(l.rss))
			targets = append(targets,
				target{"uncached scrape within 10% of the concurrent floor (median)", ms(sExp.median) + " vs " + ms(sConc.median) + " ms",
					ratio(sExp.median, sConc.median), float64(sExp.median) <= 1.10*float64(sConc.median)},
				target{"uncached scrape within 10% of the concurrent floor (p99)", ms(sExp.p99) + " vs " + ms(sConc.p99) + " ms",
					ratio(sExp.p99, sConc.p99), float64(sExp.p99) <= 1.10*float64(sConc.p99)})
		}
		if len(c.full) > 0 {
			sShip, sFull := summarize(c.shipped), summarize(c.full)
			row("(b) exporter as shipped, warm", sShip, ms(c.cpuShipped), mb(c.rssShipped))
			row("exporter fully cached (all min-interval 1h)", sFull, ms(c.cpuFull), mb(c.rssFull))
			targets = append(targets, target{"fully cached scrape under 2ms (median)", ms(sFull.median) + " ms", "", sFull.median < 2*time.Millisecond})
		}
		tw.Flush()
	}
	if m := rep.memory; m != nil {
		sShip, sFull := summarize(m.shipped), summarize(m.full)
		fmt.Printf("\nThroughput, %d concurrent scrapers back to back on loopback\n", o.conc)
		tw := newTable()
		fmt.Fprintln(tw, "exporter\tscrapes\tscrapes/s\tmedian ms\tp99 ms\tCPU ms/scrape")
		fmt.Fprintf(tw, "(b) as shipped (expensive collectors cached)\t%d\t%.0f\t%s\t%s\t%s\n", sShip.n, float64(sShip.n)/m.tookShipped.Seconds(), ms(sShip.median), ms(sShip.p99), ms(m.cpuShipped))
		fmt.Fprintf(tw, "fully cached\t%d\t%.0f\t%s\t%s\t%s\n", sFull.n, float64(sFull.n)/m.tookFull.Seconds(), ms(sFull.median), ms(sFull.p99), ms(m.cpuFull))
		tw.Flush()
		fmt.Printf("VmRSS of (b), 2 scrapers: after 100 scrapes %s MB, after 10,000 scrapes %s MB (%s); after the %d-scraper run %s MB\n",
			mb(m.rss100), mb(m.rss10k), ratio(time.Duration(m.rss10k), time.Duration(m.rss100)), o.conc, mb(m.rssConc))
		targets = append(targets, target{"RSS flat over 10,000 scrapes (within 10%)", mb(m.rss100) + " -> " + mb(m.rss10k) + " MB",
			ratio(time.Duration(m.rss10k), time.Duration(m.rss100)), float64(m.rss10k) <= 1.1*float64(m.rss100)})
	}
	if ws := rep.windows; len(ws) == 4 {
		fmt.Printf("\nDatabase executions of the check functions per minute (each scraper every %s, staggered; window %s; fresh exporter; counted by track_functions)\n", o.interval, o.window)
		tw := newTable()
		head := []string{"config", "scrapers", "scrapes/min", "incomplete"}
		head = append(head, checkFunctions...)
		head = append(head, "all checks", "exporter CPU s/min", "RSS MB")
		fmt.Fprintln(tw, strings.Join(head, "\t"))
		perMin := func(n int64) float64 { return float64(n) * float64(time.Minute) / float64(o.window) }
		all := func(w window) (n int64) {
			for _, f := range checkFunctions {
				n += w.calls[f]
			}
			return n
		}
		cachedChecks := func(w window) int64 {
			return w.calls["check_attribution_quality"] + w.calls["monitor_system_performance"]
		}
		for _, w := range ws {
			row := []string{w.config, fmt.Sprint(w.scrapers), fmt.Sprintf("%.0f", perMin(w.scrapes)), fmt.Sprint(w.bad)}
			for _, f := range checkFunctions {
				row = append(row, fmt.Sprintf("%.0f", perMin(w.calls[f])))
			}
			row = append(row, fmt.Sprintf("%.0f", perMin(all(w))), fmt.Sprintf("%.2f", w.cpu.Seconds()*float64(time.Minute)/float64(o.window)), mb(w.rss))
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
		tw.Flush()
		b2, b10, c10 := ws[0], ws[1], ws[3]
		targets = append(targets,
			target{"cached checks' executions independent of scrapers ((b) 2 vs 10)", fmt.Sprintf("%d vs %d runs", cachedChecks(b2), cachedChecks(b10)), "",
				cachedChecks(b10) <= cachedChecks(b2)+1},
			target{">=10x fewer executions than (c) at 10 scrapers: cached checks (attribution, performance)", fmt.Sprintf("%d vs %d runs", cachedChecks(b10), cachedChecks(c10)),
				ratioN(cachedChecks(c10), cachedChecks(b10)), cachedChecks(c10) >= 10*max(cachedChecks(b10), 1)},
			target{">=10x fewer executions than (c) at 10 scrapers: all checks", fmt.Sprintf("%d vs %d runs", all(b10), all(c10)),
				ratioN(all(c10), all(b10)), all(c10) >= 10*max(all(b10), 1)})
	}
	var maxRSS int64
	if c := rep.cached; c != nil {
		maxRSS = max(maxRSS, c.rssShipped, c.rssFull)
	}
	if m := rep.memory; m != nil {
		maxRSS = max(maxRSS, m.rss10k)
	}
	for _, w := range rep.windows {
		maxRSS = max(maxRSS, w.rss)
	}
	if maxRSS > 0 {
		targets = append(targets, target{"RSS under 30 MB (up to 10 scrapers; largest seen)", mb(maxRSS) + " MB", "", maxRSS < 30<<20})
	}
	fmt.Println("\nTargets")
	tw := newTable()
	for _, t := range targets {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.name, t.measured, t.ratio, verdict(t.ok))
	}
	tw.Flush()
}

func ratioN(a, b int64) string {
	if b == 0 {
		return fmt.Sprintf("%d/0", a)
	}
	return fmt.Sprintf("%.1fx", float64(a)/float64(b))
}
