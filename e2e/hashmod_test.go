//go:build e2e

package e2e

import (
	"crypto/md5"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/campaign-exporter/campaign_exporter/internal/pgtest"
)

// hashmodMarker is in the first line of README.md's sharding
// prometheus.yml, which the test runs as written.
const hashmodMarker = "# hashmod sharding"

// hashmodReplicas are the README's replica addresses, which the test
// replaces with its own replicas'.
var hashmodReplicas = []string{"campaign-exporter-0:9817", "campaign-exporter-1:9817"}

// hashmodTargets are the sharded targets: names whose hashmod 2 puts some
// on each replica (the test checks that it does).
var hashmodTargets = []string{"taipei", "kaohsiung", "taichung", "tainan", "hsinchu", "keelung"}

// TestHashmodSharding runs README.md's hashmod configuration with the real
// Prometheus over two exporter replicas that serve the same six targets:
// every target has exactly one up series, up and campaign_up 1, in job
// campaign, and is probed by the replica its hashmod names and never by
// the other; each replica gets at least one target.
func TestHashmodSharding(t *testing.T) {
	promBin := binary(t, "PROMETHEUS_BIN", ".tools/bin/prometheus", toolHint)
	expBin := exporterBinary(t)
	snippet := readmeYAML(t, hashmodMarker)

	// Prometheus's hashmod: the last 8 bytes of the source label's MD5,
	// big-endian, modulo the number of replicas.
	shardOf := map[string]int{}
	perShard := make([]int, len(hashmodReplicas))
	for _, name := range hashmodTargets {
		sum := md5.Sum([]byte(name))
		var h uint64
		for _, b := range sum[8:] {
			h = h<<8 | uint64(b)
		}
		shardOf[name] = int(h % uint64(len(hashmodReplicas)))
		perShard[shardOf[name]]++
	}
	if slices.Contains(perShard, 0) {
		t.Fatalf("the targets %v hash to the replicas %v: choose names that give every replica one", hashmodTargets, shardOf)
	}
	if want := fmt.Sprintf("modulus: %d ", len(hashmodReplicas)); !strings.Contains(snippet, want) {
		t.Fatalf("README.md's hashmod configuration has no %q:\n%s", want, snippet)
	}

	dbs := newClones(t, len(hashmodTargets))
	var cfg strings.Builder
	cfg.WriteString("targets:\n")
	for i, name := range hashmodTargets {
		fmt.Fprintf(&cfg, "  - name: %s\n    dsn: %q\n    max_connections: 1\n", name, dbs.dsn(dbs.names[i]))
	}
	cfgPath := filepath.Join(t.TempDir(), "exporter.yml")
	writeFile(t, cfgPath, cfg.String())

	// Each replica behind a tap that logs the probes it forwards.
	taps := make([]*probeTap, len(hashmodReplicas))
	for i := range hashmodReplicas {
		addr := freeAddr(t)
		p := start(t, fmt.Sprintf("exporter-%d", i), expBin, nil, "--web.listen-address="+addr, "--config.file="+cfgPath)
		p.waitReady(t, "http://"+addr+"/")
		taps[i] = newProbeTap(t, addr)
	}
	promCfg := snippet
	for i, placeholder := range hashmodReplicas {
		if !strings.Contains(promCfg, placeholder) {
			t.Fatalf("README.md's hashmod configuration does not name replica %s:\n%s", placeholder, snippet)
		}
		promCfg = strings.ReplaceAll(promCfg, placeholder, taps[i].addr())
	}
	prom := startPrometheusWith(t, promBin, fmt.Sprintf("global:\n  scrape_interval: %[1]s\n  scrape_timeout: %[1]s\n", scrapeInterval)+promCfg)

	// Several rounds in: every target up, once, where its hash says, and
	// its database reachable. (Over the last minute: on a loaded machine
	// one scrape may miss its deadline.)
	names := strings.Join(hashmodTargets, "|")
	eventually(t, 90*time.Second, func() error {
		if err := shardedTargets(prom, taps, shardOf); err != nil {
			return err
		}
		for name, shard := range shardOf {
			if n := taps[shard].counts()[name]; n < 3 {
				return fmt.Errorf("replica %d probed %s %d times, want 3 or more", shard, name, n)
			}
		}
		for expr, want := range map[string]int{
			fmt.Sprintf(`max_over_time(campaign_up{job=%q, instance=~%q}[1m]) == 1`, jobName, names): len(hashmodTargets),
			fmt.Sprintf(`max_over_time(up{job=%q}[1m]) == 1`, exporterJob):                           len(hashmodReplicas),
		} {
			if res, err := prom.query(expr); err != nil || len(res) != want {
				return fmt.Errorf("%s: %d results, want %d (%v)", expr, len(res), want, err)
			}
		}
		return nil
	})
	for i, tap := range taps {
		got := tap.counts()
		for _, name := range slices.Sorted(maps.Keys(got)) {
			if shardOf[name] != i {
				t.Errorf("replica %d was probed for %s %d times; %s hashes to replica %d", i, name, got[name], name, shardOf[name])
			}
		}
		t.Logf("replica %d probes: %v", i, got)
	}
	// Exactly one series of each per target, whatever the job.
	for _, expr := range []string{
		fmt.Sprintf(`count by (instance) (up{instance=~%q})`, names),
		fmt.Sprintf(`count by (instance) (last_over_time(campaign_up{instance=~%q}[1m]))`, names),
	} {
		res, err := prom.query(expr)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range res {
			if v, err := sampleValue(s.Value); err != nil || v != 1 {
				t.Errorf("%s: %s has %v series (%v), want 1", expr, s.Metric["instance"], s.Value[1], err)
			}
			got = append(got, s.Metric["instance"])
		}
		slices.Sort(got)
		if !slices.Equal(got, slices.Sorted(slices.Values(hashmodTargets))) {
			t.Errorf("%s: instances %v, want %v", expr, got, hashmodTargets)
		}
	}
}

// shardedTargets: job campaign has one active target per configured name,
// up, with instance its name, scraped at its shard's replica.
func shardedTargets(prom promAPI, taps []*probeTap, shardOf map[string]int) error {
	targets, err := prom.targets()
	if err != nil {
		return err
	}
	seen := map[string]int{}
	for _, tg := range targets {
		if tg.Labels["job"] != jobName {
			continue
		}
		name := tg.Labels["instance"]
		seen[name]++
		shard, ok := shardOf[name]
		if !ok {
			return fmt.Errorf("unexpected target %v", tg.Labels)
		}
		u, err := url.Parse(tg.ScrapeURL)
		if err != nil {
			return err
		}
		if u.Host != taps[shard].addr() || u.Query().Get("target") != name {
			return fmt.Errorf("%s is scraped at %s, want replica %d at %s", name, tg.ScrapeURL, shard, taps[shard].addr())
		}
		if tg.Health != "up" {
			return fmt.Errorf("%s: health %q, last error %q", name, tg.Health, tg.LastError)
		}
	}
	for name := range shardOf {
		if seen[name] != 1 {
			return fmt.Errorf("%s is %d active targets of job %s, want 1", name, seen[name], jobName)
		}
	}
	return nil
}

// probeTap is a reverse proxy in front of one exporter replica that counts
// the probes it forwards, by target: the replica's request log.
type probeTap struct {
	srv    *httptest.Server
	mu     sync.Mutex
	probes map[string]int
}

func newProbeTap(t *testing.T, backend string) *probeTap {
	t.Helper()
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: backend})
	tap := &probeTap{probes: map[string]int{}}
	tap.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/probe" {
			tap.mu.Lock()
			tap.probes[r.URL.Query().Get("target")]++
			tap.mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(tap.srv.Close)
	return tap
}

func (p *probeTap) addr() string { return p.srv.Listener.Addr().String() }

func (p *probeTap) counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.probes)
}

// readmeYAML is the first ```yaml block of README.md containing marker.
func readmeYAML(t *testing.T, marker string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(pgtest.RepoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile("(?s)```yaml\n(.*?)\n```").FindAllStringSubmatch(string(b), -1) {
		if strings.Contains(m[1], marker) {
			return m[1] + "\n"
		}
	}
	t.Fatalf("README.md has no yaml block containing %q", marker)
	return ""
}
