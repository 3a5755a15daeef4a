// Package grafana is a small typed model of the Grafana dashboard JSON
// (schema version 39) that the campaign dashboards use, with a computed grid
// layout.
//
// It is a builder of our own rather than github.com/grafana/grafana-foundation-sdk/go
// (v0.0.22): that SDK's package for the classic dashboard JSON, the format
// the Helm chart ships and Grafana users import, is deprecated in favour of
// the v2 resource format; it sets schema version 42 rather than the 39
// this dashboard is written for; and its automatic layout cannot stack two
// panels beside a taller one, so positions would be written by hand again.
// The dashboards need five panel types and a few dozen fields, which a few
// structs describe exactly.
package grafana

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// SchemaVersion is the dashboard schema version the model follows.
const SchemaVersion = 39

// GridWidth is the number of columns of Grafana's grid.
const GridWidth = 24

// Unit is a Grafana field unit.
type Unit string

// The units the dashboards use.
const (
	UnitNone       Unit = "none"
	UnitShort      Unit = "short"
	UnitSeconds    Unit = "s"
	UnitBytes      Unit = "bytes"
	UnitPercentOne Unit = "percentunit"
	UnitDateTime   Unit = "dateTimeAsIso"
	UnitBoolYesNo  Unit = "bool_yes_no"
)

// Datasource references a data source; the dashboards always use the
// Prometheus data source chosen by the ${datasource} variable.
type Datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// PrometheusVariable is the data source of every panel and query variable.
var PrometheusVariable = Datasource{Type: "prometheus", UID: "${datasource}"}

// Dashboard is a whole dashboard. Fields are in the order Grafana exports
// them.
type Dashboard struct {
	Annotations          Annotations `json:"annotations"`
	Description          string      `json:"description"`
	Editable             bool        `json:"editable"`
	FiscalYearStartMonth int         `json:"fiscalYearStartMonth"`
	GraphTooltip         int         `json:"graphTooltip"`
	ID                   *int        `json:"id"` // null: Grafana assigns it on import
	Links                []Link      `json:"links"`
	Panels               []any       `json:"panels"` // *Row and *Panel, laid out by Layout
	Refresh              string      `json:"refresh"`
	SchemaVersion        int         `json:"schemaVersion"`
	Tags                 []string    `json:"tags"`
	Templating           Templating  `json:"templating"`
	Time                 TimeRange   `json:"time"`
	Timepicker           struct{}    `json:"timepicker"`
	Timezone             string      `json:"timezone"`
	Title                string      `json:"title"`
	UID                  string      `json:"uid"`
	Version              int         `json:"version"`
	WeekStart            string      `json:"weekStart"`
}

// Annotations holds the dashboard's annotation queries.
type Annotations struct {
	List []Annotation `json:"list"`
}

// Annotation is an annotation query.
type Annotation struct {
	BuiltIn    int        `json:"builtIn"`
	Datasource Datasource `json:"datasource"`
	Enable     bool       `json:"enable"`
	Hide       bool       `json:"hide"`
	IconColor  string     `json:"iconColor"`
	Name       string     `json:"name"`
	Type       string     `json:"type"`
}

// BuiltInAnnotations is Grafana's own "Annotations & Alerts" query.
var BuiltInAnnotations = Annotations{List: []Annotation{{
	BuiltIn:    1,
	Datasource: Datasource{Type: "grafana", UID: "-- Grafana --"},
	Enable:     true,
	Hide:       true,
	IconColor:  "rgba(0, 211, 255, 1)",
	Name:       "Annotations & Alerts",
	Type:       "dashboard",
}}}

// Link is a dashboard link.
type Link struct {
	Title string `json:"title"`
	Type  string `json:"type"`
	URL   string `json:"url,omitempty"`
}

// TimeRange is the dashboard's default time range.
type TimeRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Templating holds the template variables.
type Templating struct {
	List []Variable `json:"list"`
}

// Variable is a template variable: a data source or a query variable.
type Variable struct {
	Name        string      `json:"name"`
	Label       string      `json:"label"`
	Type        string      `json:"type"`
	Datasource  *Datasource `json:"datasource,omitempty"`
	Definition  string      `json:"definition,omitempty"`
	Query       any         `json:"query"` // a plugin id, or a *VariableQuery
	Current     struct{}    `json:"current"`
	Options     []struct{}  `json:"options"`
	Refresh     int         `json:"refresh"`
	Regex       string      `json:"regex"`
	IncludeAll  bool        `json:"includeAll"`
	Multi       bool        `json:"multi"`
	Sort        *int        `json:"sort,omitempty"`
	Hide        int         `json:"hide"`
	SkipURLSync bool        `json:"skipUrlSync"`
}

// VariableQuery is the query of a Prometheus query variable.
type VariableQuery struct {
	QryType int    `json:"qryType"`
	Query   string `json:"query"`
	RefID   string `json:"refId"`
}

// DatasourceVariable is the variable choosing among the data sources of
// plugin pluginID.
func DatasourceVariable(name, label, pluginID string) Variable {
	return Variable{Name: name, Label: label, Type: "datasource", Query: pluginID, Options: []struct{}{}, Refresh: 1}
}

// QueryVariable is a multi-value variable, with All, whose values come from
// the Prometheus query query (label_values and the like), refreshed on
// time range change and sorted alphabetically.
func QueryVariable(name, label, query string) Variable {
	sortAlpha := 1
	return Variable{
		Name: name, Label: label, Type: "query",
		Datasource: &PrometheusVariable,
		Definition: query,
		Query:      &VariableQuery{QryType: 1, Query: query, RefID: "PrometheusVariableQueryEditor-VariableQuery"},
		Options:    []struct{}{},
		Refresh:    2, IncludeAll: true, Multi: true, Sort: &sortAlpha,
	}
}

// GridPos is a panel's place on the grid.
type GridPos struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

// Row is a row panel: a full-width heading over the panels that follow it.
type Row struct {
	Type      string   `json:"type"` // "row"
	ID        int      `json:"id"`
	Title     string   `json:"title"`
	Collapsed bool     `json:"collapsed"`
	GridPos   GridPos  `json:"gridPos"`
	Panels    []*Panel `json:"panels"` // children of a collapsed row; always empty here

	children []*Panel
}

// NewRow returns an expanded row holding panels, laid out in order.
func NewRow(title string, panels ...*Panel) *Row {
	return &Row{Type: "row", Title: title, Panels: []*Panel{}, children: panels}
}

// Panel is a visualisation panel.
type Panel struct {
	Type            string           `json:"type"`
	ID              int              `json:"id"`
	Title           string           `json:"title"`
	Description     string           `json:"description"`
	Datasource      Datasource       `json:"datasource"`
	GridPos         GridPos          `json:"gridPos"`
	FieldConfig     FieldConfig      `json:"fieldConfig"`
	Targets         []Target         `json:"targets"`
	Options         any              `json:"options"`
	Interval        string           `json:"interval,omitempty"` // min interval; see MinInterval
	Transformations []Transformation `json:"transformations,omitempty"`
}

// FieldConfig is a panel's field configuration.
type FieldConfig struct {
	Defaults  FieldDefaults `json:"defaults"`
	Overrides []Override    `json:"overrides"`
}

// FieldDefaults is the configuration every field of a panel starts with.
type FieldDefaults struct {
	Unit       Unit        `json:"unit"`
	Mappings   []Mapping   `json:"mappings"`
	Thresholds *Thresholds `json:"thresholds"`
	Color      *Color      `json:"color"`
	NoValue    string      `json:"noValue,omitempty"`
	Custom     any         `json:"custom,omitempty"`
	Decimals   *int        `json:"decimals,omitempty"`
	Min        *float64    `json:"min,omitempty"`
	Max        *float64    `json:"max,omitempty"`
}

// Color is a field colour scheme.
type Color struct {
	Mode string `json:"mode"`
}

// Colour schemes.
var (
	ColorByThresholds = &Color{Mode: "thresholds"}
	ColorPalette      = &Color{Mode: "palette-classic"}
)

// Thresholds are absolute threshold steps.
type Thresholds struct {
	Mode  string `json:"mode"`
	Steps []Step `json:"steps"`
}

// Step is a threshold step; the first has no value (from minus infinity).
type Step struct {
	Color string   `json:"color"`
	Value *float64 `json:"value"`
}

// Steps returns absolute thresholds: base from minus infinity, then each
// (value, colour) pair of more in order.
func Steps(base string, more ...Threshold) *Thresholds {
	t := &Thresholds{Mode: "absolute", Steps: []Step{{Color: base}}}
	for _, m := range more {
		v := m.Value
		t.Steps = append(t.Steps, Step{Color: m.Color, Value: &v})
	}
	return t
}

// Threshold is one step of Steps: from Value up, Color.
type Threshold struct {
	Value float64
	Color string
}

// At is a Threshold.
func At(value float64, color string) Threshold { return Threshold{Value: value, Color: color} }

// Mapping is a value mapping.
type Mapping struct {
	Type    string                  `json:"type"` // "value"
	Options map[string]MappingValue `json:"options"`
}

// MappingValue is what a mapped value displays.
type MappingValue struct {
	Text  string `json:"text"`
	Color string `json:"color"`
	Index int    `json:"index"`
}

// ValueText is one value of ValueMapping.
type ValueText struct {
	Text, Color string
}

// Text is a ValueText.
func Text(text, color string) ValueText { return ValueText{Text: text, Color: color} }

// ValueMapping maps the values 0, 1, ... to texts[0], texts[1], ...
func ValueMapping(texts ...ValueText) Mapping {
	m := Mapping{Type: "value", Options: map[string]MappingValue{}}
	for i, t := range texts {
		m.Options[fmt.Sprint(i)] = MappingValue{Text: t.Text, Color: t.Color, Index: i}
	}
	return m
}

// Override is a field override.
type Override struct {
	Matcher    Matcher    `json:"matcher"`
	Properties []Property `json:"properties"`
}

// Matcher selects the fields an override applies to.
type Matcher struct {
	ID      string `json:"id"`
	Options string `json:"options"`
}

// Property is one overridden field property.
type Property struct {
	ID    string `json:"id"`
	Value any    `json:"value"`
}

// ByName overrides the properties of the field named name.
func ByName(name string, props ...Property) Override {
	return Override{Matcher: Matcher{ID: "byName", Options: name}, Properties: props}
}

// Transformation is a data transformation.
type Transformation struct {
	ID      string `json:"id"`
	Options any    `json:"options"`
}

// Target is a Prometheus query of a panel.
type Target struct {
	Datasource   Datasource `json:"datasource"`
	RefID        string     `json:"refId"`
	Expr         string     `json:"expr"`
	LegendFormat string     `json:"legendFormat"`
	Range        bool       `json:"range"`
	Instant      bool       `json:"instant"`
	EditorMode   string     `json:"editorMode"`
	Format       string     `json:"format,omitempty"`
}

// Query is what a Target asks: an expression, its legend, and whether it
// is evaluated at one instant (stat values, tables) or over the range.
type Query struct {
	Expr, Legend string
	Instant      bool
	Table        bool // table format, for table panels; implies Instant
}

// NewPanel returns a panel of type typ on the ${datasource} data source
// whose targets are qs, with refIds A, B, ... in order.
func NewPanel(typ, title, description string, qs ...Query) *Panel {
	p := &Panel{Type: typ, Title: title, Description: description, Datasource: PrometheusVariable}
	for i, q := range qs {
		t := Target{
			Datasource:   PrometheusVariable,
			RefID:        string(rune('A' + i)),
			Expr:         q.Expr,
			LegendFormat: q.Legend,
			Instant:      q.Instant || q.Table,
			EditorMode:   "code",
		}
		t.Range = !t.Instant
		if q.Table {
			t.Format = "table"
		}
		p.Targets = append(p.Targets, t)
	}
	return p
}

// Size sets the panel's width and height in grid units; Layout places it.
func (p *Panel) Size(w, h int) *Panel {
	p.GridPos.W, p.GridPos.H = w, h
	return p
}

// Layout numbers the rows and panels from 1 in order and places them on the
// grid: each row spans the width below everything before it, and each
// panel goes to the highest free place its width fits under the row, the
// leftmost of equals (as Grafana floats panels up). No position is written
// by hand.
func Layout(rows ...*Row) ([]any, error) {
	var out []any
	id, top := 0, 0
	for _, r := range rows {
		id++
		r.ID = id
		r.GridPos = GridPos{H: 1, W: GridWidth, X: 0, Y: top}
		out = append(out, r)
		var floor [GridWidth]int // the lowest free y of each column
		for i := range floor {
			floor[i] = top + 1
		}
		bottom := top + 1
		for _, p := range r.children {
			id++
			p.ID = id
			w, h := p.GridPos.W, p.GridPos.H
			if w <= 0 || w > GridWidth || h <= 0 {
				return nil, fmt.Errorf("panel %q: size %dx%d does not fit a %d-column grid", p.Title, w, h, GridWidth)
			}
			bestX, bestY := 0, -1
			for x := 0; x+w <= GridWidth; x++ {
				y := 0
				for _, f := range floor[x : x+w] {
					y = max(y, f)
				}
				if bestY < 0 || y < bestY {
					bestX, bestY = x, y
				}
			}
			p.GridPos.X, p.GridPos.Y = bestX, bestY
			for x := bestX; x < bestX+w; x++ {
				floor[x] = bestY + h
			}
			bottom = max(bottom, bestY+h)
			out = append(out, p)
		}
		top = bottom
	}
	return out, nil
}

// Marshal returns the dashboard as indented JSON with a final newline,
// without HTML escaping (PromQL's <, > and & stay readable).
func Marshal(d *Dashboard) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
