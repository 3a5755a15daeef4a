//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/campaign-exporter/campaign_exporter/internal/exportertest"
)

// exporterDown is the alert of an exporter Prometheus cannot scrape.
var exporterDown = crit("CampaignExporterDown", nil)

// singleExporter is a single-database exporter (DATA_SOURCE_NAME, the
// default mode), scraped directly in job campaign, that the exporter_down
// case kills and starts again on the same address. Whichever process runs
// last is stopped when the test that made it ends.
type singleExporter struct {
	bin, addr, dsn string

	mu sync.Mutex
	p  *exportertest.Process
}

func newSingleExporter(t *testing.T, bin, dsn string) *singleExporter {
	t.Helper()
	s := &singleExporter{bin: bin, addr: freeAddr(t), dsn: dsn}
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.p != nil {
			if t.Failed() {
				t.Logf("----- single exporter output -----\n%s----- end -----", s.p.Log())
			}
			s.p.Stop()
		}
	})
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	return s
}

// start runs the exporter and waits until it answers.
func (s *singleExporter) start() error {
	args := append([]string{"--web.listen-address=" + s.addr, "--log.level=info"}, cachedEvery1s()...)
	cmd := exec.Command(s.bin, args...)
	cmd.Env = append(os.Environ(), "DATA_SOURCE_NAME="+s.dsn)
	cmd.SysProcAttr = sysProcAttr()
	p, err := exportertest.Launch(cmd, s.addr)
	if err != nil {
		return err
	}
	if err := p.WaitReady("http://"+s.addr+"/", 30*time.Second); err != nil {
		p.Stop()
		return err
	}
	s.mu.Lock()
	s.p = p
	s.mu.Unlock()
	return nil
}

// crash kills the exporter as a crash would (no clean shutdown) and waits
// until it is gone.
func (s *singleExporter) crash(t *testing.T) {
	s.mu.Lock()
	p := s.p
	s.mu.Unlock()
	p.Signal(t, syscall.SIGKILL)
	p.Stop() // waits for the exit
}

// exerciseExporterDown: the exporter crashes, which pages the on-call
// engineer; started again (the runbook's repair, what a service manager
// does), the alert resolves.
func exerciseExporterDown(t *testing.T, s *singleExporter, hook *webhook) {
	s.crash(t)
	crashed := time.Now()
	hook.waitFor(t, alertTimeout, "firing "+exporterDown.String(), isJobNotification(jobName, s.addr, exporterDown, "firing"))
	t.Logf("%s fired %s after the crash", exporterDown, time.Since(crashed).Round(100*time.Millisecond))

	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	hook.waitFor(t, alertTimeout, "resolved "+exporterDown.String(), isJobNotification(jobName, s.addr, exporterDown, "resolved"))
	t.Logf("%s resolved %s after the restart", exporterDown, time.Since(restarted).Round(100*time.Millisecond))
}
