//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/campaign-exporter/campaign_exporter/internal/pgtest"
)

// binary returns the path of a pinned tool or of the exporter: the
// environment variable env if set, else fallback (relative to the repository
// root) if it exists. It fails the test, saying how to get it, otherwise.
func binary(t *testing.T, env, fallback, how string) string {
	t.Helper()
	path := os.Getenv(env)
	source := env
	if path == "" {
		if fallback == "" {
			return ""
		}
		path = filepath.Join(pgtest.RepoRoot(), fallback)
		source = "default " + fallback
	}
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		t.Fatalf("%s (%s) is missing: %v\n%s", path, source, err, how)
	case fi.IsDir() || fi.Mode()&0o111 == 0:
		t.Fatalf("%s (%s) is not an executable file\n%s", path, source, how)
	}
	return path
}

// exporterBinary is $EXPORTER_BIN, or the exporter built into the test's
// temporary directory.
func exporterBinary(t *testing.T) string {
	t.Helper()
	if p := binary(t, "EXPORTER_BIN", "", ""); p != "" {
		return p
	}
	path := filepath.Join(t.TempDir(), "campaign_exporter")
	cmd := exec.Command("go", "build", "-o", path, ".")
	cmd.Dir = pgtest.RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("EXPORTER_BIN is not set and go build failed: %v\n%s", err, out)
	}
	return path
}

// freeAddr is a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// syncBuffer collects a process's output.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is a child process started by the test.
type proc struct {
	name   string
	cmd    *exec.Cmd
	output syncBuffer
	exited chan struct{} // closed when the process has ended
	err    error         // its Wait error, once exited is closed
}

// start runs bin with args. The process is stopped when the test ends (and
// killed if the test binary dies first, on Linux); its output is printed
// only if the test failed.
func start(t *testing.T, name, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = &p.output
	p.cmd.Stderr = &p.output
	p.cmd.SysProcAttr = sysProcAttr()
	// Registered first so it runs last, with the complete output.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("----- %s output -----\n%s----- end of %s output -----", name, p.output.String(), name)
		}
	})
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(p.stop)
	return p
}

// stop ends the process: SIGTERM, then SIGKILL after 10s.
func (p *proc) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// waitReady polls url until it answers 200, failing the test if the process
// exits or 30s pass.
func (p *proc) waitReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			t.Fatalf("%s exited before it was ready: %v", p.name, p.err)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				cancel()
				return
			}
			err = errors.New(resp.Status)
		}
		cancel()
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s not ready at %s within 30s: %v", p.name, url, last)
}
