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

// The throwaway cluster of make test is reached through a Unix socket, and
// on the same port of 127.0.0.1 with a password.
func TestSocketDSNs(t *testing.T) {
	for _, tc := range []struct {
		dsn              string
		target, via, asR string // TargetAddr, DSNVia("127.0.0.1:7"), DSNAs("r")
	}{{
		dsn:    "postgres://postgres:pw@/x?host=/tmp/s%20d&port=5999&sslmode=disable",
		target: "127.0.0.1:5999",
		via:    "postgres://postgres:pw@127.0.0.1:7/x?sslmode=disable",
		asR:    "postgres://r@/x?host=%2Ftmp%2Fs%20d&port=5999&sslmode=disable",
	}, {
		dsn:    "postgres://postgres@127.0.0.1:5432/x?sslmode=disable",
		target: "127.0.0.1:5432",
		via:    "postgres://postgres@127.0.0.1:7/x?sslmode=disable",
		asR:    "postgres://r@127.0.0.1:5432/x?sslmode=disable",
	}} {
		db := &DB{Name: "x", DSN: tc.dsn}
		if got := db.TargetAddr(); got != tc.target {
			t.Errorf("%s: TargetAddr = %q, want %q", tc.dsn, got, tc.target)
		}
		if got := db.DSNVia("127.0.0.1:7"); got != tc.via {
			t.Errorf("%s: DSNVia = %q, want %q", tc.dsn, got, tc.via)
		}
		if got := db.DSNAs("r"); got != tc.asR {
			t.Errorf("%s: DSNAs = %q, want %q", tc.dsn, got, tc.asR)
		}
	}
}
