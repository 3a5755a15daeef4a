package grafana

import (
	"testing"
)

func TestLayout(t *testing.T) {
	size := func(title string, w, h int) *Panel { return NewPanel("stat", title, "").Size(w, h) }
	rows := []*Row{
		NewRow("First",
			size("wide", 16, 9),
			size("beside, top", 8, 4),
			size("beside, below", 8, 5), // fills the hole under its neighbour
			size("left", 12, 8),
			size("right", 12, 8),
		),
		NewRow("Second", size("full", 24, 3)),
		NewRow("Empty"),
		NewRow("Third", size("a", 6, 2), size("b", 20, 2)), // b does not fit beside a
	}
	panels, err := Layout(rows...)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		title string
		pos   GridPos
	}{
		{"First", GridPos{H: 1, W: 24, X: 0, Y: 0}},
		{"wide", GridPos{H: 9, W: 16, X: 0, Y: 1}},
		{"beside, top", GridPos{H: 4, W: 8, X: 16, Y: 1}},
		{"beside, below", GridPos{H: 5, W: 8, X: 16, Y: 5}},
		{"left", GridPos{H: 8, W: 12, X: 0, Y: 10}},
		{"right", GridPos{H: 8, W: 12, X: 12, Y: 10}},
		{"Second", GridPos{H: 1, W: 24, X: 0, Y: 18}},
		{"full", GridPos{H: 3, W: 24, X: 0, Y: 19}},
		{"Empty", GridPos{H: 1, W: 24, X: 0, Y: 22}},
		{"Third", GridPos{H: 1, W: 24, X: 0, Y: 23}},
		{"a", GridPos{H: 2, W: 6, X: 0, Y: 24}},
		{"b", GridPos{H: 2, W: 20, X: 0, Y: 26}},
	}
	if len(panels) != len(want) {
		t.Fatalf("%d panels, want %d", len(panels), len(want))
	}
	for i, w := range want {
		var title string
		var pos GridPos
		var id int
		switch p := panels[i].(type) {
		case *Row:
			title, pos, id = p.Title, p.GridPos, p.ID
		case *Panel:
			title, pos, id = p.Title, p.GridPos, p.ID
		}
		if title != w.title || pos != w.pos || id != i+1 {
			t.Errorf("panel %d: %q id %d at %+v, want %q id %d at %+v", i, title, id, pos, w.title, i+1, w.pos)
		}
	}

	for _, bad := range []*Panel{size("too wide", 25, 1), size("flat", 4, 0), NewPanel("stat", "unsized", "")} {
		if _, err := Layout(NewRow("r", bad)); err == nil {
			t.Errorf("Layout accepted %q at %dx%d", bad.Title, bad.GridPos.W, bad.GridPos.H)
		}
	}
}

func TestNewPanelTargets(t *testing.T) {
	p := NewPanel("table", "t", "d",
		Query{Expr: "a", Legend: "l"},
		Query{Expr: "b", Instant: true},
		Query{Expr: "c", Table: true})
	want := []Target{
		{Datasource: PrometheusVariable, RefID: "A", Expr: "a", LegendFormat: "l", Range: true, EditorMode: "code"},
		{Datasource: PrometheusVariable, RefID: "B", Expr: "b", Instant: true, EditorMode: "code"},
		{Datasource: PrometheusVariable, RefID: "C", Expr: "c", Instant: true, EditorMode: "code", Format: "table"},
	}
	if len(p.Targets) != len(want) {
		t.Fatalf("%d targets, want %d", len(p.Targets), len(want))
	}
	for i := range want {
		if p.Targets[i] != want[i] {
			t.Errorf("target %d = %+v, want %+v", i, p.Targets[i], want[i])
		}
	}
	if p.Datasource != PrometheusVariable {
		t.Errorf("panel datasource %+v", p.Datasource)
	}
}
