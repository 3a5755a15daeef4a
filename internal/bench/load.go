package main

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// runLoad scrapes the shipped exporter from o.scrapers concurrent scrapers,
// back to back, for o.duration, with the expensive collectors' min interval
// at o.minIntv, and checks: every scrape answered 200 with up 1; the
// exporter's sessions never over its pool bound (sampled every 100ms); each
// expensive collector run once per interval (counted in the database for
// the check functions, and from the exporter's last-success timestamps for
// all of them); memory flat (VmRSS at start, middle and end).
func runLoad(ctx context.Context, o options) error {
	bin, db, cleanup, err := prepare(ctx, o.scale)
	if err != nil {
		return err
	}
	defer cleanup()

	const bound = 3
	args := []string{fmt.Sprintf("--db.max-connections=%d", bound)}
	exp := expensive()
	for _, n := range exp {
		args = append(args, fmt.Sprintf("--collector.%s.min-interval=%s", n, o.minIntv))
	}
	before, err := db.calls(ctx)
	if err != nil {
		return err
	}
	p, err := startExporter(bin, db.dsn, args...)
	if err != nil {
		return err
	}
	defer p.stop()
	began := time.Now()
	if _, err := checked(ctx, p); err != nil {
		return err
	}
	rssStart, cpu0 := p.rss(), p.cpu()
	logf("load: %d scrapers for %s, expensive collectors every %s", o.scrapers, o.duration, o.minIntv)

	lctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	var wg sync.WaitGroup

	// Sessions on the server, every 100ms.
	var maxSessions, samples atomic.Int64
	var sampleErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-tick.C:
			}
			n, err := db.sessions(ctx, exporterApp)
			if err != nil {
				if sampleErr == nil {
					sampleErr = err
				}
				continue
			}
			samples.Add(1)
			if int64(n) > maxSessions.Load() {
				maxSessions.Store(int64(n))
			}
		}
	}()

	// RSS in the middle.
	var rssMid int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-lctx.Done():
		case <-time.After(o.duration / 2):
			rssMid = p.rss()
		}
	}()

	// One observer reads the expensive collectors' last-success timestamps
	// every 200ms: each new value is a run.
	runs := map[string]map[float64]bool{}
	for _, n := range exp {
		runs[n] = map[float64]bool{}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			r := scrape(lctx, p.url, true)
			if lctx.Err() != nil {
				return
			}
			for _, n := range exp {
				if v, ok := value(r.body, `campaign_collector_last_success_timestamp_seconds{collector="`+n+`"}`); ok {
					runs[n][v] = true
				}
			}
			select {
			case <-lctx.Done():
				return
			case <-tick.C:
			}
		}
	}()

	// The scrapers.
	var total, non200, errs, notUp atomic.Int64
	lats := make([][]time.Duration, o.scrapers)
	for i := range o.scrapers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lctx.Err() == nil {
				r := scrape(lctx, p.url, false)
				if lctx.Err() != nil {
					return // cut short by the end of the run, not counted
				}
				total.Add(1)
				switch {
				case r.err != nil:
					errs.Add(1)
				case r.status != 200:
					non200.Add(1)
				case !r.up:
					notUp.Add(1)
				}
				lats[i] = append(lats[i], r.took)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	elapsed := time.Since(began)
	rssEnd, cpu := p.rss(), p.cpu()-cpu0
	last := scrape(ctx, p.url, true)
	p.stop()
	if err := db.waitNoSessions(ctx, exporterApp); err != nil {
		return err
	}
	after, err := db.calls(ctx)
	if err != nil {
		return err
	}

	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	s := summarize(all)
	fmt.Println()
	fmt.Println(machine(db.version))
	fmt.Printf("load: %d concurrent scrapers back to back on loopback for %s; demo scale %g (%d orders); pool bound %d; expensive collectors' min interval %s\n\n",
		o.scrapers, o.duration, o.scale, db.orders, bound, o.minIntv)
	tw := newTable()
	fmt.Fprintln(tw, "scrapes\tper second\tnot 200\terrors\tup 0\tmedian ms\tp99 ms\tmax ms\texporter CPU s")
	fmt.Fprintf(tw, "%d\t%.0f\t%d\t%d\t%d\t%s\t%s\t%s\t%.1f\n", total.Load(), float64(total.Load())/o.duration.Seconds(),
		non200.Load(), errs.Load(), notUp.Load(), ms(s.median), ms(s.p99), ms(s.max), cpu.Seconds())
	tw.Flush()

	// Each cached collector should have run about once per interval over
	// the exporter's life (the warm-up scrape included).
	want := elapsed.Seconds() / o.minIntv.Seconds()
	lo, hi := int(math.Floor(want))-1, int(math.Ceil(want))+1
	fmt.Printf("\nruns of the expensive collectors over %.1fs (about %.1f intervals: want %d..%d)\n", elapsed.Seconds(), want, max(lo, 1), hi)
	tw = newTable()
	fmt.Fprintln(tw, "collector\tDB executions (track_functions)\tdistinct last-success timestamps\tok")
	dbFunc := map[string]string{"attribution": "check_attribution_quality", "performance": "monitor_system_performance"}
	runsOK := true
	for _, n := range exp {
		dbRuns := "-"
		count := len(runs[n])
		if f, ok := dbFunc[n]; ok {
			d := after[f] - before[f]
			dbRuns = fmt.Sprint(d)
			count = int(d)
		}
		ok := count >= max(lo, 1) && count <= hi
		runsOK = runsOK && ok
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", n, dbRuns, len(runs[n]), verdict(ok))
	}
	for _, f := range []string{"check_campaign_system_health", "check_holiday_data_integrity"} {
		fmt.Fprintf(tw, "%s (every scrape, shared while in flight)\t%d\t\t\n", f, after[f]-before[f])
	}
	tw.Flush()

	fmt.Printf("\nsessions on the server: at most %d in %d samples every 100ms (bound %d)\n", maxSessions.Load(), samples.Load(), bound)
	fmt.Printf("VmRSS: start %s MB, middle %s MB, end %s MB (end/middle %s)\n", mb(rssStart), mb(rssMid), mb(rssEnd), ratio(time.Duration(rssEnd), time.Duration(rssMid)))
	lastFailing := failingCollectors(last.body)
	fmt.Printf("first scrape after the %d scrapers hung up at once: status %d, up %v, failing collectors %v\n",
		o.scrapers, last.status, last.up, lastFailing)

	answered := non200.Load() == 0 && errs.Load() == 0 && notUp.Load() == 0 && total.Load() > 0
	sessionsOK := sampleErr == nil && maxSessions.Load() <= bound
	flat := rssMid > 0 && float64(rssEnd) <= 1.2*float64(rssMid)
	afterOK := last.err == nil && last.status == 200 && last.up && len(lastFailing) == 0
	fmt.Println("\nCriteria")
	tw = newTable()
	fmt.Fprintf(tw, "every scrape answered 200 with up 1\t%s\n", verdict(answered))
	fmt.Fprintf(tw, "sessions never over the pool bound\t%s\n", verdict(sessionsOK))
	fmt.Fprintf(tw, "each expensive collector once per interval\t%s\n", verdict(runsOK))
	fmt.Fprintf(tw, "memory flat (end within 20%% of middle)\t%s\n", verdict(flat))
	fmt.Fprintf(tw, "complete scrape right after the scrapers hang up\t%s\n", verdict(afterOK))
	tw.Flush()
	if sampleErr != nil {
		fmt.Println("sampling sessions:", sampleErr)
	}
	if !answered || !sessionsOK || !runsOK || !flat || !afterOK {
		return fmt.Errorf("load test: a criterion was missed")
	}
	return nil
}
