package server

import (
	"fmt"
	"net/http"
	"reflect"
	"sync"
	"time"

	"github.com/campaign-exporter/campaign_exporter/collector"
	"github.com/campaign-exporter/campaign_exporter/internal/config"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
)

// Targets serves the databases of a config file on /probe, each with its
// own bounded pool and caches, and swaps in a new file on reload without
// dropping scrapes in flight.
type Targets struct {
	path   string
	base   collector.Config
	pool   collector.PoolOptions
	grace  time.Duration // how long a replaced pool stays open for scrapes in flight
	logger log.Logger

	reloadMu sync.Mutex // one reload at a time
	mu       sync.RWMutex
	byName   map[string]*target

	lastOK, lastSuccess prometheus.Gauge
}

type target struct {
	spec config.Target
	pool *collector.Pool
	exp  *collector.Exporter
}

// NewTargets loads path; an invalid file is an error (start-up stops).
func NewTargets(path string, base collector.Config, pool collector.PoolOptions, grace time.Duration, reg prometheus.Registerer, logger log.Logger) (*Targets, error) {
	t := &Targets{
		path: path, base: base, pool: pool, grace: grace, logger: logger, byName: map[string]*target{},
		lastOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "campaign_exporter_config_last_reload_successful",
			Help: "1 when the last load of the config file succeeded.",
		}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "campaign_exporter_config_last_reload_success_timestamp_seconds",
			Help: "When the config file was last loaded successfully.",
		}),
	}
	if err := t.Reload(); err != nil {
		return nil, err
	}
	reg.MustRegister(t.lastOK, t.lastSuccess)
	return t, nil
}

// Reload reads the file again. On error the old targets stay in service.
// Unchanged targets keep their pools and caches; replaced ones are closed
// after the grace period, when scrapes that still use them have ended.
func (t *Targets) Reload() error {
	t.reloadMu.Lock()
	defer t.reloadMu.Unlock()
	err := t.reload()
	defer ownChanged()
	if err != nil {
		t.lastOK.Set(0)
		return err
	}
	t.lastOK.Set(1)
	t.lastSuccess.SetToCurrentTime()
	return nil
}

func (t *Targets) reload() error {
	f, err := config.Load(t.path, collector.Names())
	if err != nil {
		return err
	}
	t.mu.RLock()
	old := t.byName
	t.mu.RUnlock()

	next := make(map[string]*target, len(f.Targets))
	var created []*target
	for _, spec := range f.Targets {
		if cur, ok := old[spec.Name]; ok && sameTarget(cur.spec, spec) {
			// The same pool and caches; the labels may have changed.
			next[spec.Name] = &target{spec: spec, pool: cur.pool, exp: cur.exp}
			continue
		}
		tg, err := t.build(spec)
		if err != nil {
			for _, c := range created {
				c.pool.Close()
			}
			return fmt.Errorf("%s: %w", t.path, err)
		}
		created = append(created, tg)
		next[spec.Name] = tg
	}

	t.mu.Lock()
	t.byName = next
	t.mu.Unlock()
	for name, tg := range old {
		if nt := next[name]; nt == nil || nt.pool != tg.pool {
			time.AfterFunc(t.grace, tg.pool.Close)
		}
	}
	level.Info(t.logger).Log("msg", "loaded config file", "file", t.path, "targets", len(next))
	return nil
}

// sameTarget tells whether a reload leaves a target's database side as it
// was: its place in the file (a comment added above it, say) and its
// discovery labels do not count.
func sameTarget(a, b config.Target) bool {
	a.Line, b.Line = 0, 0
	a.Labels, b.Labels = nil, nil
	return reflect.DeepEqual(a, b)
}

func (t *Targets) build(spec config.Target) (*target, error) {
	cfg, po := TargetSettings(t.base, t.pool, spec)
	pool, err := collector.NewPool(spec.DSN, po)
	if err != nil {
		// Never the DSN itself: it may hold a password.
		return nil, fmt.Errorf("line %d: target %q: %w", spec.Line, spec.Name, err)
	}
	exp, err := collector.New(pool, cfg, log.With(t.logger, "target", spec.Name))
	if err != nil {
		pool.Close()
		return nil, err
	}
	return &target{spec: spec, pool: pool, exp: exp}, nil
}

// Close closes every target's pool.
func (t *Targets) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tg := range t.byName {
		tg.pool.Close()
	}
	t.byName = map[string]*target{}
}

func (t *Targets) lookup(name string) (*collector.Exporter, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	tg, ok := t.byName[name]
	if !ok {
		return nil, false
	}
	return tg.exp, true
}

// ProbeHandler serves /probe?target=NAME for the configured targets only:
// never a DSN or host from the request. Unknown names are a 400 that does
// not echo the input.
func ProbeHandler(targets *Targets, to Timeouts, m *Metrics) http.Handler {
	caches := &probeCaches{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !readOnlyMethod(w, r) {
			return
		}
		name := r.URL.Query().Get("target")
		if name == "" {
			http.Error(w, "missing target parameter", http.StatusBadRequest)
			return
		}
		exp, ok := targets.lookup(name)
		if !ok {
			http.Error(w, "unknown target: not in the config file", http.StatusBadRequest)
			return
		}
		serve(w, r, exp, nil, to, m, caches.of(exp))
	})
}

// ReloadHandler reloads the config file on POST.
func ReloadHandler(targets *Targets, logger log.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "use POST to reload", http.StatusMethodNotAllowed)
			return
		}
		if err := targets.Reload(); err != nil {
			level.Error(logger).Log("msg", "reload failed; keeping the previous config", "err", err)
			// The details (paths, YAML, parameter names) go to the log only:
			// the caller learns that it failed, not what the file holds.
			http.Error(w, "reload failed; the previous config stays in use; see the exporter's log", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "config reloaded")
	})
}
