package exportertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// client is the tests' default: no keep-alive, so an idle connection of
// the test's neither holds a goroutine in the exporter nor a file.
var client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// Do sends one request with header through c (nil: a client without
// keep-alive) and returns the status, headers and body. It fails tb if no
// response comes.
func Do(tb testing.TB, c *http.Client, method, url string, header http.Header) (int, http.Header, string) {
	tb.Helper()
	code, hdr, body, err := send(c, method, url, header)
	if err != nil {
		tb.Fatal(err)
	}
	return code, hdr, string(body)
}

// Scrape GETs path (such as "/metrics" or "/probe?target=a") with header
// and parses the answer, failing tb, with the process's log, unless it is
// a 200 with a valid text exposition.
func (p *Process) Scrape(tb testing.TB, path string, header http.Header) Metrics {
	tb.Helper()
	code, _, body, err := send(nil, http.MethodGet, p.URL+path, header)
	if err != nil {
		tb.Fatalf("scrape: %v\n%s", err, p.Log())
	}
	if code != http.StatusOK {
		tb.Fatalf("scrape %s: %d\n%s\n%s", path, code, body, p.Log())
	}
	m, err := Parse(bytes.NewReader(body))
	if err != nil {
		tb.Fatalf("scrape %s: %v\n%s", path, err, body)
	}
	return m
}

func send(c *http.Client, method, url string, header http.Header) (int, http.Header, []byte, error) {
	if c == nil {
		c = client
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, nil)
	if err != nil {
		return 0, nil, nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%s %s: %w", method, url, err)
	}
	return resp.StatusCode, resp.Header, b, nil
}

// WaitReady polls url until it answers 200, and fails if the process exits
// or timeout passes first.
func (p *Process) WaitReady(url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited before it was ready: %v", p.cmd.Path, p.err)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				cancel()
				return nil
			}
			err = errors.New(resp.Status)
		}
		cancel()
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready at %s within %s: %v", p.cmd.Path, url, timeout, last)
}
