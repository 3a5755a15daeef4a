// Package exportertest runs the campaign_exporter binary for tests and
// benchmarks and reads what it serves: the binary built once per test
// process (or $EXPORTER_BIN), started on a free loopback port with its
// output kept and stopped when the test ends, and its text exposition
// parsed with expfmt into metric families.
//
// The functions taking a testing.TB fail it and must be called from the
// test's goroutine. Binary, Command, Launch, FreeAddrErr and Parse need no
// test, for programs such as internal/bench.
package exportertest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/campaign-exporter/campaign_exporter/internal/pgtest"
)

// EnvBinary names a prebuilt exporter to use instead of building one.
const EnvBinary = "EXPORTER_BIN"

var built struct {
	once sync.Once
	dir  string // removed by Main
	path string
	err  error
}

// Binary is the exporter to run: $EXPORTER_BIN if set, else the
// repository's main package built once per process (a build per test would
// cost a link each).
func Binary() (string, error) {
	if path := os.Getenv(EnvBinary); path != "" {
		fi, err := os.Stat(path)
		switch {
		case err != nil:
			return "", fmt.Errorf("%s: %w", EnvBinary, err)
		case fi.IsDir() || fi.Mode()&0o111 == 0:
			return "", fmt.Errorf("%s=%s is not an executable file", EnvBinary, path)
		}
		return path, nil
	}
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "campaign_exporter_test")
		if err != nil {
			built.err = err
			return
		}
		built.dir = dir
		built.path = filepath.Join(dir, "campaign_exporter")
		cmd := exec.Command("go", "build", "-o", built.path, ".")
		cmd.Dir = pgtest.RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("%s is not set and go build failed: %v\n%s", EnvBinary, err, out)
		}
	})
	return built.path, built.err
}

// Build is Binary, failing tb if there is none.
func Build(tb testing.TB) string {
	tb.Helper()
	path, err := Binary()
	if err != nil {
		tb.Fatal(err)
	}
	return path
}

// Main runs m's tests, then removes the binary they built. Call it from
// TestMain: os.Exit(exportertest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	RemoveBuilt()
	return code
}

// RemoveBuilt removes the binary Binary built, if it built one; a program
// that is not a test calls it when done with the binary.
func RemoveBuilt() {
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
}
