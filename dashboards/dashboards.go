// Package dashboards ships the Grafana dashboards for campaign_exporter and
// helpers to extract and run their PromQL queries in tests. The dashboards
// are written in Go (internal/campaignsystem, on the small typed model of
// internal/grafana) and generated into JSON by `go generate ./...`.
package dashboards

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
)

//go:generate go run ./internal/gen

// CampaignSystem is the Grafana dashboard for the campaign system, generated
// from internal/campaignsystem by go generate: edit the Go, not the JSON.
//
//go:embed campaign-system.json
var CampaignSystem []byte

// Query is one PromQL target of a dashboard panel.
type Query struct {
	PanelID    int    // id of the panel holding the target
	PanelTitle string // title of that panel
	RefID      string // the target's refId
	Expr       string // the PromQL expression, with Grafana variables unexpanded
	Instant    bool   // true when the target asks for an instant query only
}

type target struct {
	RefID   string `json:"refId"`
	Expr    string `json:"expr"`
	Instant bool   `json:"instant"`
	Range   *bool  `json:"range"`
}

type panel struct {
	ID      int      `json:"id"`
	Title   string   `json:"title"`
	Targets []target `json:"targets"`
	Panels  []panel  `json:"panels"` // children of a collapsed row
}

// Queries returns every panel target's expression, in dashboard order,
// including those of panels nested in collapsed rows.
func Queries(dashboardJSON []byte) ([]Query, error) {
	var d struct {
		Panels []panel `json:"panels"`
	}
	if err := json.Unmarshal(dashboardJSON, &d); err != nil {
		return nil, fmt.Errorf("parse dashboard: %w", err)
	}
	var out []Query
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				if t.Expr == "" {
					continue
				}
				out = append(out, Query{
					PanelID:    p.ID,
					PanelTitle: p.Title,
					RefID:      t.RefID,
					Expr:       t.Expr,
					Instant:    t.Instant && (t.Range == nil || !*t.Range),
				})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out, nil
}

// builtinDefaults are used for Grafana's interval variables that vars does
// not set.
var builtinDefaults = map[string]string{
	"__rate_interval": "1m",
	"__interval":      "15s",
	"__range":         "1h",
}

var variableRE = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(?::[^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// Substitute expands Grafana template variables in expr: $name, ${name} and
// ${name:format} (the format is ignored) take their value from vars, keyed
// by the name without "$". $__rate_interval, $__interval and $__range
// default to 1m, 15s and 1h when vars does not set them. Unknown variables
// are left as they are.
func Substitute(expr string, vars map[string]string) string {
	return variableRE.ReplaceAllStringFunc(expr, func(m string) string {
		sub := variableRE.FindStringSubmatch(m)
		name := sub[1]
		if name == "" {
			name = sub[2]
		}
		if v, ok := vars[name]; ok {
			return v
		}
		if v, ok := builtinDefaults[name]; ok {
			return v
		}
		return m
	})
}
