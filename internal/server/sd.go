package server

import (
	"encoding/json"
	"net/http"
	"sort"
)

// sdGroup is one entry of Prometheus's HTTP service discovery format.
type sdGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// SDHandler serves /sd: the configured targets in Prometheus's http_sd
// format, one group per target with its labels, as of the last reload, so
// that prometheus.yml names no target by hand. Each target's address is its
// name; the scrape configuration relabels it into /probe's target parameter.
func SDHandler(targets *Targets) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !readOnlyMethod(w, r) {
			return
		}
		targets.mu.RLock()
		groups := make([]sdGroup, 0, len(targets.byName))
		for name, tg := range targets.byName {
			labels := map[string]string{}
			for k, v := range tg.spec.Labels {
				labels[k] = v
			}
			groups = append(groups, sdGroup{Targets: []string{name}, Labels: labels})
		}
		targets.mu.RUnlock()
		sort.Slice(groups, func(i, j int) bool { return groups[i].Targets[0] < groups[j].Targets[0] })
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(groups)
	})
}
