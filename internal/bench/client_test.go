package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/campaign-exporter/campaign_exporter/collector"

	"github.com/campaign-exporter/campaign_exporter/internal/exportertest"
)

// proc is a server process under test (the exporter or the floor), with
// what the bench reads of it from /proc.
type proc struct{ *exportertest.Process }

// start runs cmd, which serves HTTP on addr, and waits until it accepts
// connections. It is stopped when the benchmark ends, if not before.
func start(tb testing.TB, addr string, cmd *exec.Cmd) proc {
	tb.Helper()
	return proc{exportertest.StartCmd(tb, cmd, addr)}
}

// procStat reads /proc/PID/status's VmRSS (bytes) and /proc/PID/stat's
// CPU time (user + system).
func (p proc) rss() int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid()))
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func (p proc) cpu() time.Duration {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Pid()))
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	// utime and stime, fields 14 and 15 of the line, in USER_HZ (100/s).
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// selfCPU is this process's CPU time so far: the load generator's.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// scraper is one keep-alive client speaking HTTP/1.1 on a raw connection,
// as Prometheus does (Accept-Encoding: gzip, one connection per target).
// net/http's client costs the generator several times what a cached scrape
// costs the server, in goroutines and allocations per request: on two cores
// it was the bottleneck of the throughput runs.
type scraper struct {
	addr string
	c    net.Conn
	r    *bufio.Reader
	buf  []byte
}

var request = []byte("GET /metrics HTTP/1.1\r\nHost: bench\r\nUser-Agent: campaign_bench\r\nAccept-Encoding: gzip\r\n\r\n")

// get scrapes once and returns the status and the body, which is valid
// until the next get.
func (s *scraper) get() (int, []byte, error) {
	if s.c == nil {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			return 0, nil, err
		}
		s.c, s.r = c, bufio.NewReaderSize(c, 64<<10)
	}
	status, body, keep, err := s.roundTrip()
	if err != nil || !keep {
		s.close()
	}
	return status, body, err
}

func (s *scraper) roundTrip() (status int, body []byte, keep bool, err error) {
	if _, err := s.c.Write(request); err != nil {
		return 0, nil, false, err
	}
	line, err := s.r.ReadSlice('\n')
	if err != nil {
		return 0, nil, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, nil, false, fmt.Errorf("bad status line %q", line)
	}
	status, _ = strconv.Atoi(string(line[9:12]))
	length, keep := -1, true
	for {
		h, err := s.r.ReadSlice('\n')
		if err != nil {
			return 0, nil, false, err
		}
		k, v, _ := bytes.Cut(bytes.TrimSpace(h), []byte(":"))
		switch {
		case len(k) == 0:
			if length < 0 {
				return 0, nil, false, errors.New("response without Content-Length")
			}
			s.buf = slices.Grow(s.buf[:0], length)[:length]
			_, err := io.ReadFull(s.r, s.buf)
			return status, s.buf, keep && err == nil, err
		case bytes.EqualFold(k, []byte("Content-Length")):
			length, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		case bytes.EqualFold(k, []byte("Connection")):
			keep = !bytes.EqualFold(bytes.TrimSpace(v), []byte("close"))
		}
	}
}

func (s *scraper) close() {
	if s.c != nil {
		s.c.Close()
		s.c = nil
	}
}

// run is the outcome of a closed loop of scrapes.
type run struct {
	lat       []time.Duration
	took      time.Duration
	clientCPU time.Duration // the generator's
}

func (r run) rate() float64 { return float64(len(r.lat)) / r.took.Seconds() }

// loop scrapes addr from conc clients back to back, n scrapes in all, or
// with n 0 for d. Any answer but 200 fails the benchmark.
func loop(tb testing.TB, addr string, conc, n int, d time.Duration) run {
	tb.Helper()
	var next, bad atomic.Int64
	var firstErr atomic.Value
	lats := make([][]time.Duration, conc)
	var wg sync.WaitGroup
	cpu0, start := selfCPU(), time.Now()
	end := start.Add(d)
	for c := range conc {
		wg.Go(func() {
			s := &scraper{addr: addr}
			defer s.close()
			for {
				if n > 0 && next.Add(1) > int64(n) || n == 0 && !time.Now().Before(end) {
					return
				}
				t := time.Now()
				status, _, err := s.get()
				lats[c] = append(lats[c], time.Since(t))
				if err != nil || status != http.StatusOK {
					bad.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("status %d, %v", status, err))
				}
			}
		})
	}
	wg.Wait()
	r := run{took: time.Since(start), clientCPU: selfCPU() - cpu0}
	if b := bad.Load(); b > 0 {
		tb.Fatalf("%s: %d scrapes failed, first: %v", addr, b, firstErr.Load())
	}
	for _, l := range lats {
		r.lat = append(r.lat, l...)
	}
	return r
}

// checkClient decodes gzip itself, for the checked scrapes.
var checkClient = &http.Client{Timeout: 2 * time.Minute}

// checked scrapes the exporter once and fails the benchmark unless it
// answers 200 with campaign_up 1 and no collector failing. It returns the
// decoded body and how long the scrape took.
func checked(tb testing.TB, p proc) (string, time.Duration) {
	tb.Helper()
	body, took, err := scrapeChecked(p)
	if err != nil {
		tb.Fatal(err)
	}
	return body, took
}

func scrapeChecked(p proc) (string, time.Duration, error) {
	t := time.Now()
	resp, err := checkClient.Get(p.URL + "/metrics")
	if err != nil {
		return "", 0, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(t)
	body := string(b)
	if err != nil || resp.StatusCode != http.StatusOK {
		return "", 0, fmt.Errorf("scrape: status %d, %v", resp.StatusCode, err)
	}
	m, err := exportertest.Parse(strings.NewReader(body))
	if err != nil {
		return "", 0, fmt.Errorf("scrape: %w", err)
	}
	if up, ok := m.Value("campaign_up", nil); !ok || up != 1 {
		return "", 0, fmt.Errorf("scrape: campaign_up not 1")
	}
	if failing := exportertest.Failing(m.Series(), collector.Names()); len(failing) > 0 {
		return "", 0, fmt.Errorf("scrape: collectors failing: %v", failing)
	}
	return body, took, nil
}

// percentile of durations, nearest rank.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(d))
	return s[min(max(int(float64(len(s))*p+0.5)-1, 0), len(s)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
