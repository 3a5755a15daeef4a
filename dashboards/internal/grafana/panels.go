package grafana

// ReduceOptions reduce a series to one value: its last non-null one.
type ReduceOptions struct {
	Calcs  []string `json:"calcs"`
	Fields string   `json:"fields"`
	Values bool     `json:"values"`
}

var lastNotNull = ReduceOptions{Calcs: []string{"lastNotNull"}}

// StatOptions are the options of a stat panel.
type StatOptions struct {
	ReduceOptions     ReduceOptions `json:"reduceOptions"`
	ColorMode         string        `json:"colorMode"`
	GraphMode         string        `json:"graphMode"`
	JustifyMode       string        `json:"justifyMode"`
	Orientation       string        `json:"orientation"`
	TextMode          string        `json:"textMode"`
	WideLayout        bool          `json:"wideLayout"`
	ShowPercentChange bool          `json:"showPercentChange"`
}

// Stat colour modes.
const (
	StatBackground = "background" // the value's threshold colours the panel
	StatValue      = "value"      // ... colours the number
	StatPlain      = "none"       // no threshold colour
)

// Stat is a stat panel showing the last value of each series of q, in
// unit, coloured by thresholds in colorMode. A range query draws a
// sparkline; noValue is what it says when there is no data.
func Stat(title, description string, unit Unit, colorMode, noValue string, thresholds *Thresholds, q Query) *Panel {
	p := NewPanel("stat", title, description, q)
	p.FieldConfig.Defaults = FieldDefaults{
		Unit: unit, Mappings: []Mapping{}, Thresholds: thresholds, Color: ColorByThresholds, NoValue: noValue,
	}
	p.FieldConfig.Overrides = []Override{}
	graph := "none"
	if !q.Instant {
		graph = "area"
	}
	p.Options = &StatOptions{
		ReduceOptions: lastNotNull, ColorMode: colorMode, GraphMode: graph,
		JustifyMode: "auto", Orientation: "auto", TextMode: "auto", WideLayout: true,
	}
	return p
}

// WithNames makes a stat panel show each series' name beside its value.
func (p *Panel) WithNames() *Panel {
	p.Options.(*StatOptions).TextMode = "value_and_name"
	return p
}

// NoValue sets what the panel shows when it has no data.
func (p *Panel) NoValue(text string) *Panel {
	p.FieldConfig.Defaults.NoValue = text
	return p
}

// Mappings sets the panel's value mappings.
func (p *Panel) Mappings(m ...Mapping) *Panel {
	p.FieldConfig.Defaults.Mappings = m
	return p
}

// Decimals fixes the number of decimals shown.
func (p *Panel) Decimals(n int) *Panel {
	p.FieldConfig.Defaults.Decimals = &n
	return p
}

// Min fixes the minimum of the panel's scale.
func (p *Panel) Min(v float64) *Panel {
	p.FieldConfig.Defaults.Min = &v
	return p
}

// Max fixes the maximum of the panel's scale.
func (p *Panel) Max(v float64) *Panel {
	p.FieldConfig.Defaults.Max = &v
	return p
}

// MinInterval sets the panel's minimum query interval, which Grafana takes
// as the scrape interval when it computes $__rate_interval.
func (p *Panel) MinInterval(iv string) *Panel {
	p.Interval = iv
	return p
}

// Legend is a time series or state timeline legend.
type Legend struct {
	ShowLegend  bool      `json:"showLegend"`
	DisplayMode string    `json:"displayMode"`
	Placement   string    `json:"placement"`
	Calcs       *[]string `json:"calcs,omitempty"`
}

// Tooltip is a panel's tooltip.
type Tooltip struct {
	Mode string `json:"mode"`
	Sort string `json:"sort"`
}

// TimeSeriesOptions are the options of a time series panel.
type TimeSeriesOptions struct {
	Legend  Legend  `json:"legend"`
	Tooltip Tooltip `json:"tooltip"`
}

// TimeSeriesCustom is the time series field configuration.
type TimeSeriesCustom struct {
	DrawStyle         string          `json:"drawStyle"`
	LineWidth         int             `json:"lineWidth"`
	FillOpacity       int             `json:"fillOpacity"`
	GradientMode      string          `json:"gradientMode"`
	ShowPoints        string          `json:"showPoints"`
	PointSize         int             `json:"pointSize"`
	SpanNulls         bool            `json:"spanNulls"`
	LineInterpolation string          `json:"lineInterpolation"`
	AxisPlacement     string          `json:"axisPlacement"`
	AxisLabel         string          `json:"axisLabel"`
	AxisSoftMin       int             `json:"axisSoftMin"`
	Stacking          Stacking        `json:"stacking"`
	ThresholdsStyle   ThresholdsStyle `json:"thresholdsStyle"`
}

// Stacking is a time series' stacking.
type Stacking struct {
	Mode  string `json:"mode"`
	Group string `json:"group"`
}

// ThresholdsStyle says how a time series draws its thresholds.
type ThresholdsStyle struct {
	Mode string `json:"mode"`
}

// TimeSeries is a time series panel of range queries qs in unit, lines
// from zero up, every series in the tooltip. thresholds, when not nil, are
// drawn as lines; otherwise the steps are a plain green base.
func TimeSeries(title, description string, unit Unit, thresholds *Thresholds, qs ...Query) *Panel {
	for i := range qs {
		qs[i].Instant = false
	}
	p := NewPanel("timeseries", title, description, qs...)
	style := "line"
	if thresholds == nil {
		thresholds, style = Steps("green"), "off"
	}
	p.FieldConfig.Defaults = FieldDefaults{
		Unit: unit, Mappings: []Mapping{}, Thresholds: thresholds, Color: ColorPalette,
		Custom: &TimeSeriesCustom{
			DrawStyle: "line", LineWidth: 1, FillOpacity: 10, GradientMode: "none", ShowPoints: "never",
			PointSize: 4, LineInterpolation: "linear", AxisPlacement: "auto",
			Stacking: Stacking{Mode: "none", Group: "A"}, ThresholdsStyle: ThresholdsStyle{Mode: style},
		},
	}
	p.FieldConfig.Overrides = []Override{}
	p.Options = &TimeSeriesOptions{
		Legend:  Legend{ShowLegend: true, DisplayMode: "list", Placement: "bottom", Calcs: &[]string{}},
		Tooltip: Tooltip{Mode: "multi", Sort: "desc"},
	}
	return p
}

// AxisLabel labels a time series panel's y axis.
func (p *Panel) AxisLabel(label string) *Panel {
	p.FieldConfig.Defaults.Custom.(*TimeSeriesCustom).AxisLabel = label
	return p
}

// StateTimelineOptions are the options of a state timeline panel.
type StateTimelineOptions struct {
	MergeValues bool    `json:"mergeValues"`
	ShowValue   string  `json:"showValue"`
	AlignValue  string  `json:"alignValue"`
	RowHeight   float64 `json:"rowHeight"`
	Legend      Legend  `json:"legend"`
	Tooltip     Tooltip `json:"tooltip"`
}

// StateTimelineCustom is the state timeline field configuration.
type StateTimelineCustom struct {
	LineWidth   int `json:"lineWidth"`
	FillOpacity int `json:"fillOpacity"`
}

// StateTimeline is a state timeline of range query q, whose values the
// mapping names and colours.
func StateTimeline(title, description string, thresholds *Thresholds, mapping Mapping, q Query) *Panel {
	q.Instant = false
	p := NewPanel("state-timeline", title, description, q)
	p.FieldConfig.Defaults = FieldDefaults{
		Unit: UnitNone, Mappings: []Mapping{mapping}, Thresholds: thresholds, Color: ColorByThresholds,
		Custom: &StateTimelineCustom{LineWidth: 0, FillOpacity: 80},
	}
	p.FieldConfig.Overrides = []Override{}
	p.Options = &StateTimelineOptions{
		MergeValues: true, ShowValue: "auto", AlignValue: "center", RowHeight: 0.9,
		Legend:  Legend{ShowLegend: false, DisplayMode: "list", Placement: "bottom"},
		Tooltip: Tooltip{Mode: "single", Sort: "none"},
	}
	return p
}

// BarGaugeOptions are the options of a bar gauge panel.
type BarGaugeOptions struct {
	ReduceOptions ReduceOptions `json:"reduceOptions"`
	Orientation   string        `json:"orientation"`
	DisplayMode   string        `json:"displayMode"`
	ValueMode     string        `json:"valueMode"`
	NamePlacement string        `json:"namePlacement"`
	ShowUnfilled  bool          `json:"showUnfilled"`
	Sizing        string        `json:"sizing"`
	MinVizHeight  int           `json:"minVizHeight"`
	MinVizWidth   int           `json:"minVizWidth"`
	MaxVizHeight  int           `json:"maxVizHeight"`
}

// BarGauge is a horizontal bar gauge of instant query q from zero, coloured
// by thresholds.
func BarGauge(title, description string, unit Unit, thresholds *Thresholds, q Query) *Panel {
	q.Instant = true
	p := NewPanel("bargauge", title, description, q)
	p.FieldConfig.Defaults = FieldDefaults{
		Unit: unit, Mappings: []Mapping{}, Thresholds: thresholds, Color: ColorByThresholds,
	}
	p.Min(0)
	p.FieldConfig.Overrides = []Override{}
	p.Options = &BarGaugeOptions{
		ReduceOptions: lastNotNull, Orientation: "horizontal", DisplayMode: "gradient", ValueMode: "color",
		NamePlacement: "auto", ShowUnfilled: true, Sizing: "auto", MinVizHeight: 16, MinVizWidth: 8, MaxVizHeight: 300,
	}
	return p
}

// TableOptions are the options of a table panel.
type TableOptions struct {
	ShowHeader bool        `json:"showHeader"`
	CellHeight string      `json:"cellHeight"`
	Footer     TableFooter `json:"footer"`
	SortBy     []SortBy    `json:"sortBy"`
}

// TableFooter is a table's (hidden) footer.
type TableFooter struct {
	Show      bool     `json:"show"`
	Reducer   []string `json:"reducer"`
	CountRows bool     `json:"countRows"`
	Fields    string   `json:"fields"`
}

// SortBy is a table's initial sort.
type SortBy struct {
	DisplayName string `json:"displayName"`
	Desc        bool   `json:"desc"`
}

// TableCustom is the table field configuration.
type TableCustom struct {
	Align       string      `json:"align"`
	CellOptions CellOptions `json:"cellOptions"`
	Inspect     bool        `json:"inspect"`
	Filterable  bool        `json:"filterable"`
}

// CellOptions say how a table cell is drawn.
type CellOptions struct {
	Type string `json:"type"`
	Mode string `json:"mode,omitempty"`
}

// Column is a column of a Table: the label or value (by its "Value #refId"
// name) it shows, under a header.
type Column struct {
	Field, Header string
}

// Col is a Column.
func Col(field, header string) Column { return Column{Field: field, Header: header} }

// Organize is the options of the organize transformation.
type Organize struct {
	ExcludeByName map[string]bool   `json:"excludeByName"`
	IndexByName   map[string]int    `json:"indexByName"`
	RenameByName  map[string]string `json:"renameByName"`
}

// Table is a table of instant queries qs in table format, in unit unless
// overridden, showing columns in order and hiding excluded; the queries'
// results are merged into one row per label set when there are several.
func Table(title, description string, unit Unit, columns []Column, excluded []string, qs ...Query) *Panel {
	for i := range qs {
		qs[i].Table = true
	}
	p := NewPanel("table", title, description, qs...)
	p.FieldConfig.Defaults = FieldDefaults{
		Unit: unit, Mappings: []Mapping{}, Thresholds: Steps("green"), Color: ColorByThresholds,
		Custom: &TableCustom{Align: "auto", CellOptions: CellOptions{Type: "auto"}},
	}
	p.FieldConfig.Overrides = []Override{}
	p.Options = &TableOptions{
		ShowHeader: true, CellHeight: "sm",
		Footer: TableFooter{Reducer: []string{"sum"}},
		SortBy: []SortBy{},
	}
	org := Organize{ExcludeByName: map[string]bool{}, IndexByName: map[string]int{}, RenameByName: map[string]string{}}
	for _, name := range excluded {
		org.ExcludeByName[name] = true
	}
	for i, c := range columns {
		org.IndexByName[c.Field] = i
		org.RenameByName[c.Field] = c.Header
	}
	if len(qs) > 1 {
		p.Transformations = append(p.Transformations, Transformation{ID: "merge", Options: struct{}{}})
	}
	p.Transformations = append(p.Transformations, Transformation{ID: "organize", Options: org})
	return p
}

// SortBy sets a table's initial sort on the column headed header.
func (p *Panel) SortBy(header string, desc bool) *Panel {
	p.Options.(*TableOptions).SortBy = []SortBy{{DisplayName: header, Desc: desc}}
	return p
}

// Override adds field overrides.
func (p *Panel) Override(o ...Override) *Panel {
	p.FieldConfig.Overrides = append(p.FieldConfig.Overrides, o...)
	return p
}

// UnitOf overrides a field's unit.
func UnitOf(u Unit) Property { return Property{ID: "unit", Value: u} }

// ThresholdsOf overrides a field's thresholds.
func ThresholdsOf(t *Thresholds) Property { return Property{ID: "thresholds", Value: t} }

// MappingsOf overrides a field's value mappings.
func MappingsOf(m ...Mapping) Property { return Property{ID: "mappings", Value: m} }

// CellsOf overrides how a table column's cells are drawn: "color-text",
// "color-background", ...
func CellsOf(cellType, mode string) Property {
	return Property{ID: "custom.cellOptions", Value: CellOptions{Type: cellType, Mode: mode}}
}
