//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/campaign-exporter/campaign_exporter/internal/exportertest"
	"github.com/campaign-exporter/campaign_exporter/internal/pgtest"
)

// binary returns the path of a pinned tool: the environment variable env if
// set, else fallback (relative to the repository root) if it exists. It
// fails the test, saying how to get it, otherwise.
func binary(t *testing.T, env, fallback, how string) string {
	t.Helper()
	path := os.Getenv(env)
	source := env
	if path == "" {
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

// TestMain removes the exporter the tests built, if they built one.
func TestMain(m *testing.M) { os.Exit(exportertest.Main(m)) }

// exporterBinary is $EXPORTER_BIN, or the exporter built once for the run.
func exporterBinary(t *testing.T) string {
	t.Helper()
	return exportertest.Build(t)
}

// freeAddr is a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	return exportertest.FreeAddr(t)
}

// proc is a child process started by the test.
type proc struct {
	*exportertest.Process
	name string
}

// start runs bin with args. The process is stopped when the test ends (and
// killed if the test binary dies first, on Linux); its output is printed
// only if the test failed.
func start(t *testing.T, name, bin string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = sysProcAttr()
	p := &proc{name: name}
	// Registered first so it runs last, with the complete output.
	t.Cleanup(func() {
		if t.Failed() && p.Process != nil {
			t.Logf("----- %s output -----\n%s----- end of %s output -----", name, p.Log(), name)
		}
	})
	p.Process = exportertest.StartCmd(t, cmd, "")
	return p
}

// waitReady polls url until it answers 200, failing the test if the process
// exits or 30s pass.
func (p *proc) waitReady(t *testing.T, url string) {
	t.Helper()
	if err := p.WaitReady(url, 30*time.Second); err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
}
