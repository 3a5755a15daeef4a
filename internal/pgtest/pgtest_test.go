package pgtest

import (
	"context"
	"testing"
)

func TestNewEmptyCreatesAndDrops(t *testing.T) {
	var name string
	t.Run("inner", func(t *testing.T) {
		db := NewEmpty(t)
		name = db.Name
		var got string
		db.QueryRow(t, "SELECT current_database()", []any{&got})
		if got != db.Name {
			t.Fatalf("connected to %q, want %q", got, db.Name)
		}
	})
	db := NewEmpty(t)
	var n int
	if err := db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("database %s still exists after its test ended", name)
	}
}

func TestWithDatabase(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:p%40ss@h:5432/postgres?sslmode=disable": "postgres://u:p%40ss@h:5432/x?sslmode=disable",
		"host=h user=u": "host=h user=u dbname=x",
	} {
		if got := withDatabase(in, "x"); got != want {
			t.Errorf("withDatabase(%q) = %q, want %q", in, got, want)
		}
	}
}
