package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const exporterApp = "campaign_exporter" // its sessions' application_name

// exporterBinary is EXPORTER_BIN, or the exporter built into dir.
func exporterBinary(ctx context.Context, dir string) (string, error) {
	if bin := os.Getenv("EXPORTER_BIN"); bin != "" {
		return bin, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "campaign_exporter")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// process is a running exporter.
type process struct {
	url string
	cmd *exec.Cmd
	pid int

	mu     sync.Mutex
	stderr bytes.Buffer
}

type lockedWriter struct{ p *process }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	if w.p.stderr.Len() < 1<<20 {
		w.p.stderr.Write(b)
	}
	return len(b), nil
}

// startExporter runs the binary on a free loopback port and waits until it
// serves.
func startExporter(bin, dsn string, args ...string) (*process, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, append([]string{"--web.listen-address=" + addr, "--log.level=warn"}, args...)...)
	cmd.Env = append(os.Environ(), "DATA_SOURCE_NAME="+dsn)
	p := &process{url: "http://" + addr + "/metrics", cmd: cmd}
	cmd.Stdout = io.Discard
	cmd.Stderr = lockedWriter{p}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p.pid = cmd.Process.Pid
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return p, nil
		}
		if i == 500 {
			p.stop()
			return nil, fmt.Errorf("exporter did not start listening:\n%s", p.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *process) logs() string { p.mu.Lock(); defer p.mu.Unlock(); return p.stderr.String() }

// stop ends the process (its sessions end with it).
func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// cpu is the process's CPU time so far (user + system).
func (p *process) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid))
	if err != nil {
		return 0
	}
	// Fields after the parenthesized command: state is field 3; utime and
	// stime are fields 14 and 15, in clock ticks (USER_HZ, 100 on Linux).
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * (time.Second / 100)
}

// rss is the process's resident set size in bytes (VmRSS).
func (p *process) rss() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// client keeps one connection per concurrent scraper, as Prometheus does.
var client = &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024}}

// scrapeResult is one GET of /metrics.
type scrapeResult struct {
	took   time.Duration
	status int
	up     bool
	body   []byte
	err    error
}

var upLine = []byte("\ncampaign_up 1\n")

// scrape GETs url once; keepBody keeps the response for inspection.
func scrape(ctx context.Context, url string, keepBody bool) scrapeResult {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return scrapeResult{err: err}
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return scrapeResult{took: time.Since(start), err: err}
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	r := scrapeResult{took: time.Since(start), status: resp.StatusCode, err: err, up: bytes.Contains(body, upLine)}
	if keepBody {
		r.body = body
	}
	return r
}

// failingCollectors lists the collectors with success 0 in an exposition.
func failingCollectors(body []byte) []string {
	var out []string
	for _, line := range strings.Split(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, `campaign_collector_success{collector="`); ok && strings.HasSuffix(rest, " 0") {
			out = append(out, rest[:strings.IndexByte(rest, '"')])
		}
	}
	return out
}

// value of the series named exactly key ("name{labels}") in an exposition.
func value(body []byte, key string) (float64, bool) {
	i := bytes.Index(body, []byte("\n"+key+" "))
	if i < 0 {
		return 0, false
	}
	rest := body[i+len(key)+2:]
	if j := bytes.IndexByte(rest, '\n'); j >= 0 {
		rest = rest[:j]
	}
	v, err := strconv.ParseFloat(string(rest), 64)
	return v, err == nil
}

// prepare builds the exporter into a temporary directory and fills a
// scratch database with demo data at scale; cleanup removes both.
func prepare(ctx context.Context, scale float64) (bin string, db *scratch, cleanup func(), err error) {
	tmp, err := os.MkdirTemp("", "campaign_bench")
	if err != nil {
		return "", nil, nil, err
	}
	logf("building the exporter")
	if bin, err = exporterBinary(ctx, tmp); err == nil {
		db, err = newScratch(ctx, scale)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return "", nil, nil, err
	}
	return bin, db, func() { db.drop(); os.RemoveAll(tmp) }, nil
}
