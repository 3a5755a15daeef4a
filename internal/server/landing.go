package server

import (
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/prometheus/exporter-toolkit/web"
)

// LandingOptions describe the exporter on its landing page.
type LandingOptions struct {
	Name, Description, Version string
	MetricsPath                string
	// MetricsDescription says whose metrics MetricsPath serves.
	MetricsDescription string
	// Reload: POST /-/reload is served (--web.enable-lifecycle).
	Reload bool
}

// Landing serves the landing page: every endpoint the exporter serves and
// nothing else, with each configured target's /probe link as of the last
// reload (targets may be nil). The page is rendered again only when the
// target list changes, so a client fetching it costs no template run.
func Landing(o LandingOptions, targets *Targets) http.Handler {
	var (
		mu    sync.Mutex
		names string // the target list the page was rendered for
		page  http.Handler
	)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var list []string
		if targets != nil {
			list = targets.Names()
		}
		key := strings.Join(list, "\n")
		mu.Lock()
		if page == nil || key != names {
			p, err := renderLanding(o, targets != nil, list)
			if err != nil {
				mu.Unlock()
				http.Error(w, "landing page: "+err.Error(), http.StatusInternalServerError)
				return
			}
			page, names = p, key
		}
		h := page
		mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func renderLanding(o LandingOptions, multiTarget bool, targets []string) (http.Handler, error) {
	links := []web.LandingLinks{{Address: o.MetricsPath, Text: "Metrics", Description: o.MetricsDescription}}
	if multiTarget {
		links = append(links, web.LandingLinks{Address: "/sd", Text: "Service discovery", Description: "the targets in Prometheus's http_sd format"})
		for _, name := range targets {
			links = append(links, web.LandingLinks{Address: "/probe?target=" + name, Text: "Probe " + name, Description: "the metrics of target " + name})
		}
	}
	if o.Reload {
		links = append(links, web.LandingLinks{Address: "/-/reload", Text: "Reload", Description: "POST to reload the config file"})
	}
	links = append(links,
		web.LandingLinks{Address: "/-/healthy", Text: "Healthy"},
		web.LandingLinks{Address: "/-/ready", Text: "Ready"})
	return web.NewLandingPage(web.LandingConfig{
		Name: o.Name, Description: o.Description, Version: o.Version,
		Links: links, Profiling: "false",
	})
}

// Names lists the configured targets, sorted.
func (t *Targets) Names() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	names := make([]string, 0, len(t.byName))
	for n := range t.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
