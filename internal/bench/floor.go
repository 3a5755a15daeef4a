package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// The floor of serving a scrape's bytes: this program run again with
// -serve-static, a static Go handler writing the bytes and headers the
// exporter answered a fully cached scrape with, in a process of its own
// as the exporter is.

// serveStatic serves file's bytes with headers ("Name: value") on addr
// until killed.
func serveStatic(file, addr string, headers []string) error {
	body, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	h := http.Header{}
	for _, kv := range headers {
		k, v, ok := strings.Cut(kv, ":")
		if !ok {
			return fmt.Errorf("-header %q: want Name: value", kv)
		}
		h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	return http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range h {
			w.Header()[k] = v
		}
		_, _ = w.Write(body)
	}))
}

// startFloor writes body to dir and serves it with header from a new
// process of this program.
func startFloor(dir string, body []byte, header http.Header) (*process, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	file := dir + "/floor-body"
	if err := os.WriteFile(file, body, 0o600); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	args := []string{"-serve-static=" + file, "-listen=" + addr}
	for k, vs := range header {
		switch k {
		case "Date", "Content-Length":
			continue
		}
		for _, v := range vs {
			args = append(args, "-header="+k+": "+v)
		}
	}
	cmd := exec.Command(self, args...)
	p := &process{url: "http://" + addr + "/metrics", cmd: cmd}
	cmd.Stderr = lockedWriter{p}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p.pid = cmd.Process.Pid
	return p, waitListening(p, addr)
}

func waitListening(p *process, addr string) error {
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
		if i == 500 {
			p.stop()
			return fmt.Errorf("%s did not start listening:\n%s", p.cmd.Path, p.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// capture GETs url as the benchmark's client does (Accept-Encoding: gzip,
// no Accept header), keeping the bytes as sent, still compressed.
func capture(ctx context.Context, url string) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept-Encoding", "gzip") // set by hand: the transport then leaves the body compressed
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("capture: status %d", resp.StatusCode)
	}
	return body, resp.Header, nil
}
