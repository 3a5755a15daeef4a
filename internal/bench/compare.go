package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/campaign-exporter/campaign_exporter/collector"
)

// intervalArgs sets every collector's min interval to d.
func intervalArgs(d time.Duration) []string {
	var args []string
	for _, n := range collector.Names() {
		args = append(args, fmt.Sprintf("--collector.%s.min-interval=%s", n, d))
	}
	return args
}

// noCollectorArgs disables every collector.
func noCollectorArgs() []string {
	var args []string
	for _, n := range collector.Names() {
		args = append(args, "--no-collector."+n)
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

// loop runs scrapes of url from conc clients back to back, n in all (or,
// with n 0, for d), and returns their latencies and how long it took.
func loop(ctx context.Context, url string, conc, n int, d time.Duration) ([]time.Duration, time.Duration, error) {
	lctx := ctx
	if n == 0 {
		var cancel context.CancelFunc
		lctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	var next, bad atomic.Int64
	lats := make([][]time.Duration, conc)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if n > 0 && next.Add(1) > int64(n) {
					return
				}
				r := scrape(lctx, url, false)
				if lctx.Err() != nil {
					return // cut short by the end of the run: not counted
				}
				if r.err != nil || r.status != 200 || !r.up {
					bad.Add(1)
				}
				lats[c] = append(lats[c], r.took)
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	if b := bad.Load(); b > 0 {
		return nil, 0, fmt.Errorf("%s: %d scrapes not answered 200 with up 1", url, b)
	}
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	return all, took, nil
}

// side is one thing scraped: the exporter in a configuration, or the floor.
type side struct {
	name string
	p    *process
	lat  []time.Duration // one client, interleaved with the other sides
	// scrapes and seconds of the closed-loop runs, by clients
	n    map[int]int
	secs map[int]float64
}

func (s *side) rate(clients int) float64 {
	if s.secs[clients] == 0 {
		return 0
	}
	return float64(s.n[clients]) / s.secs[clients]
}

type goal struct {
	name, measured, ratio string
	ok                    bool
}

func runCompare(ctx context.Context, o options) error {
	bin, db, cleanup, err := prepare(ctx, o.scale)
	if err != nil {
		return err
	}
	defer cleanup()
	tmp, err := os.MkdirTemp("", "campaign_bench_floor")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var procs []*process
	stopAll := func() {
		for _, p := range procs {
			p.stop()
		}
		procs = nil
	}
	defer stopAll()
	start := func(args ...string) (*process, error) {
		p, err := startExporter(bin, db.dsn, args...)
		if err == nil {
			procs = append(procs, p)
		}
		return p, err
	}

	// The three sides, default flags but for the collectors.
	cached, err := start(intervalArgs(time.Hour)...)
	if err != nil {
		return err
	}
	if _, err := checked(ctx, cached); err != nil {
		return err
	}
	body, header, err := capture(ctx, cached.url)
	if err != nil {
		return err
	}
	lines, err := countLines(body, header.Get("Content-Encoding"))
	if err != nil {
		return err
	}
	floor, err := startFloor(tmp, body, header)
	if err != nil {
		return err
	}
	procs = append(procs, floor)
	bare, err := start(noCollectorArgs()...)
	if err != nil {
		return err
	}
	enc := header.Get("Content-Encoding")
	if enc == "" {
		enc = "uncompressed"
	}
	sides := []*side{
		{name: fmt.Sprintf("campaign_exporter, fully cached (%.1f kB %s, %d lines)", float64(len(body))/1000, enc, lines), p: cached},
		{name: "the same bytes from a static Go handler (the floor)", p: floor},
		{name: "campaign_exporter, every collector disabled", p: bare},
	}
	for _, s := range sides {
		s.n, s.secs = map[int]int{}, map[int]float64{}
		if _, _, err := loop(ctx, s.p.url, 1, 200, 0); err != nil { // warm-up
			return err
		}
	}

	// Latency: one client, the sides in turn, the order rotating each round.
	logf("latency: %d scrapes of each side, interleaved", o.rounds)
	for i := range o.rounds {
		for k := range sides {
			s := sides[(i+k)%len(sides)]
			r := scrape(ctx, s.p.url, false)
			if r.err != nil || r.status != 200 || !r.up {
				return fmt.Errorf("%s: status %d, up %v, %v", s.name, r.status, r.up, r.err)
			}
			s.lat = append(s.lat, r.took)
		}
	}

	// Throughput: closed loops of 1 and 8 clients, the sides in turn, twice.
	logf("throughput: 1 and 8 clients, %s per side and run, 2 runs", o.throughput)
	for rep := range 2 {
		for k := range sides {
			s := sides[(rep+k)%len(sides)]
			for _, c := range []int{1, 8} {
				lat, took, err := loop(ctx, s.p.url, c, 0, o.throughput)
				if err != nil {
					return err
				}
				s.n[c] += len(lat)
				s.secs[c] += took.Seconds()
			}
		}
	}

	// Memory of the fully cached exporter: flat over many scrapes, and per
	// concurrent scrape.
	logf("memory: %d scrapes from 8 clients; then 1 to 200 concurrent clients", o.rssScrapes)
	if _, _, err := loop(ctx, cached.url, 8, o.rssScrapes/10, 0); err != nil {
		return err
	}
	rssTenth := cached.rss()
	if _, _, err := loop(ctx, cached.url, 8, o.rssScrapes-o.rssScrapes/10, 0); err != nil {
		return err
	}
	rssAll := cached.rss()
	stopAll()
	client.CloseIdleConnections()
	// Up to 200 connections at once: above the default of 64, the clients
	// past it would wait for a keep-alive connection to close.
	wide, err := start(append(intervalArgs(time.Hour), "--web.max-connections=256")...)
	if err != nil {
		return err
	}
	if _, err := checked(ctx, wide); err != nil {
		return err
	}
	concLevels := []int{1, 50, 100, 200}
	rssAt := map[int]int64{}
	for _, c := range concLevels {
		if _, _, err := loop(ctx, wide.url, c, max(2000, 20*c), 0); err != nil {
			return err
		}
		rssAt[c] = wide.rss()
	}
	stopAll()
	client.CloseIdleConnections()

	// A first, uncached scrape against the slowest query alone on the same
	// kind of pool, interleaved round by round.
	logf("uncached scrapes against the slowest query alone: %d rounds", o.uncached)
	uncached, err := start(intervalArgs(0)...)
	if err != nil {
		return err
	}
	al, err := newAlone(db.dsn)
	if err != nil {
		return err
	}
	defer al.close()
	var scr, slow, sum, tog []time.Duration
	slowName := map[string]int{}
	for i := -1; i < o.uncached; i++ {
		t, err := checked(ctx, uncached)
		if err != nil {
			return err
		}
		w, name, all, err := al.slowest(ctx)
		if err != nil {
			return err
		}
		g, err := al.together(ctx)
		if err != nil {
			return err
		}
		if i >= 0 {
			scr, slow, sum, tog = append(scr, t), append(slow, w), append(sum, all), append(tog, g)
			slowName[name]++
		}
	}
	stopAll()
	al.close()
	// The very first scrape of fresh exporters (connections opened too),
	// for reference.
	var firsts []time.Duration
	for range 3 {
		p, err := start()
		if err != nil {
			return err
		}
		t, err := checked(ctx, p)
		if err != nil {
			return err
		}
		firsts = append(firsts, t)
		stopAll()
	}
	if err := db.waitNoSessions(ctx, exporterApp); err != nil {
		return err
	}

	// check_attribution_quality() against one sequential aggregate over
	// orders, interleaved.
	logf("check_attribution_quality() against one sequential aggregate: %d rounds", o.checkRounds)
	baseline, check, err := db.attributionCheck(ctx, o.checkRounds)
	if err != nil {
		return err
	}

	// The report.
	fmt.Println()
	fmt.Println(machine(db.version))
	fmt.Printf("data: demo generator at scale %g, %d orders; default flags; keep-alive HTTP clients on loopback; every row measured in this run\n\n", o.scale, db.orders)
	fl := sides[1]
	flStats := summarize(fl.lat)
	tw := newTable()
	fmt.Fprintln(tw, "what\tp50 ms\tp99 ms\tscrapes/s 1 client\tscrapes/s 8 clients\tp50 / p99 vs floor")
	for _, s := range sides {
		st := summarize(s.lat)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f\t%.0f\t%s / %s\n", s.name, ms(st.median), ms(st.p99), s.rate(1), s.rate(8),
			ratio(st.median, flStats.median), ratio(st.p99, flStats.p99))
	}
	tw.Flush()
	fmt.Println("(sql_exporter: not installed here; its row is left out)")

	var goals []goal
	cs := summarize(sides[0].lat)
	goals = append(goals,
		goal{"fully cached scrape p50 at most 2x the floor", ms(cs.median) + " vs " + ms(flStats.median) + " ms", ratio(cs.median, flStats.median), float64(cs.median) <= 2*float64(flStats.median)},
		goal{"fully cached scrape p99 at most 3x the floor", ms(cs.p99) + " vs " + ms(flStats.p99) + " ms", ratio(cs.p99, flStats.p99), float64(cs.p99) <= 3*float64(flStats.p99)},
		goal{"at least 5,000 scrapes/s with 8 clients (fully cached)", fmt.Sprintf("%.0f/s", sides[0].rate(8)), fmt.Sprintf("%.2fx floor", sides[0].rate(8)/max(fl.rate(8), 1)), sides[0].rate(8) >= 5000},
	)

	fmt.Printf("\nMemory of the fully cached exporter (VmRSS): after %d scrapes %s MB, after %d %s MB\n", o.rssScrapes/10, mb(rssTenth), o.rssScrapes, mb(rssAll))
	tw = newTable()
	fmt.Println("a fresh fully cached exporter with --web.max-connections=256, after 2,000 scrapes (20 per client at 200) at each level:")
	fmt.Fprintln(tw, "concurrent clients\tVmRSS MB\tMB per client over 1")
	for _, c := range concLevels {
		per := "-"
		if c > 1 {
			per = fmt.Sprintf("%.3f", float64(rssAt[c]-rssAt[1])/float64(c-1)/(1<<20))
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", c, mb(rssAt[c]), per)
	}
	tw.Flush()
	var worstPer float64
	for _, c := range concLevels[1:] {
		worstPer = max(worstPer, float64(rssAt[c]-rssAt[1])/float64(c-1)/(1<<20))
	}
	goals = append(goals,
		goal{fmt.Sprintf("RSS flat over %d scrapes (within 5%% from scrape %d)", o.rssScrapes, o.rssScrapes/10), mb(rssTenth) + " -> " + mb(rssAll) + " MB",
			ratio(time.Duration(rssAll), time.Duration(rssTenth)), float64(rssAll) <= 1.05*float64(rssTenth)},
		goal{"RSS growth at most 0.1 MB per concurrent scrape, up to 200", fmt.Sprintf("%.3f MB at most", worstPer), "", worstPer <= 0.1},
	)

	sScr, sSlow := summarize(scr), summarize(slow)
	fmt.Printf("\nUncached scrape (every collector's min interval 0) against its slowest query alone on the exporter's kind of pool, %d rounds interleaved\n", len(scr))
	tw = newTable()
	fmt.Fprintln(tw, "what\tmedian ms\tp99 ms")
	fmt.Fprintf(tw, "slowest query alone (%s)\t%s\t%s\n", names(slowName), ms(sSlow.median), ms(sSlow.p99))
	fmt.Fprintf(tw, "every query alone, one after another (the sum)\t%s\t%s\n", ms(summarize(sum).median), ms(summarize(sum).p99))
	fmt.Fprintf(tw, "every query at once on that pool (3 connections), without the exporter\t%s\t%s\n", ms(summarize(tog).median), ms(summarize(tog).p99))
	fmt.Fprintf(tw, "campaign_exporter, uncached scrape\t%s\t%s\n", ms(sScr.median), ms(sScr.p99))
	fmt.Fprintf(tw, "campaign_exporter, first scrape after start (3 fresh processes)\t%s\t%s\n", ms(summarize(firsts).median), ms(summarize(firsts).max))
	tw.Flush()
	fmt.Printf("uncached scrape vs every query at once without the exporter: %s (median)\n", ratio(sScr.median, summarize(tog).median))
	goals = append(goals, goal{"uncached scrape within 1.10x of its slowest query alone (median)", ms(sScr.median) + " vs " + ms(sSlow.median) + " ms",
		ratio(sScr.median, sSlow.median), float64(sScr.median) <= 1.10*float64(sSlow.median)})

	sBase, sCheck := summarize(baseline), summarize(check)
	fmt.Printf("\ncheck_attribution_quality() against one sequential aggregate over orders (index scans off for it), %d rounds interleaved, %d orders\n", len(check), db.orders)
	tw = newTable()
	fmt.Fprintln(tw, "query\tmedian ms\tvs baseline")
	fmt.Fprintf(tw, "baseline: %s\t%s\t1.00x\n", baselineSQL, ms(sBase.median))
	fmt.Fprintf(tw, "SELECT * FROM check_attribution_quality()\t%s\t%s\n", ms(sCheck.median), ratio(sCheck.median, sBase.median))
	tw.Flush()
	goals = append(goals, goal{fmt.Sprintf("check_attribution_quality() at most 1.5x one sequential aggregate (%d orders)", db.orders),
		ms(sCheck.median) + " vs " + ms(sBase.median) + " ms", ratio(sCheck.median, sBase.median), float64(sCheck.median) <= 1.5*float64(sBase.median)})

	fmt.Println("\nGoals")
	tw = newTable()
	missed := 0
	for _, g := range goals {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", g.name, g.measured, g.ratio, verdict(g.ok))
		if !g.ok {
			missed++
		}
	}
	tw.Flush()
	if missed > 0 {
		return fmt.Errorf("%d of %d goals missed", missed, len(goals))
	}
	return nil
}

func names(m map[string]int) string {
	var out []string
	for n, c := range m {
		out = append(out, fmt.Sprintf("%s %d", n, c))
	}
	return strings.Join(out, ", ")
}

// countLines counts the lines of an exposition as sent.
func countLines(body []byte, encoding string) (int, error) {
	var r io.Reader = bytes.NewReader(body)
	if encoding == "gzip" {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return 0, err
		}
		r = zr
	} else if encoding != "" {
		return 0, errors.New("unexpected Content-Encoding " + encoding)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return 0, err
	}
	return bytes.Count(b, []byte("\n")), nil
}

// expensive are the collectors cached by default for longer than a scrape
// interval.
func expensive() []string {
	var out []string
	for _, n := range collector.Names() {
		if collector.DefaultMinInterval(n) > 0 {
			out = append(out, n)
		}
	}
	return out
}
