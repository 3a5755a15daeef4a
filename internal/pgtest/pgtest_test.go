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
	db := &DB{Name: "x", DSN: "postgres://postgres:pw@/x?host=/tmp/s%20d&port=5999&sslmode=disable"}
	if got, want := db.TargetAddr(), "127.0.0.1:5999"; got != want {
		t.Errorf("TargetAddr = %q, want %q", got, want)
	}
	if got, want := db.DSNVia("127.0.0.1:7"), "postgres://postgres:pw@127.0.0.1:7/x?sslmode=disable"; got != want {
		t.Errorf("DSNVia = %q, want %q", got, want)
	}
	if got, want := db.DSNAs("r"), "postgres://r@/x?host=%2Ftmp%2Fs%20d&port=5999&sslmode=disable"; got != want {
		t.Errorf("DSNAs = %q, want %q", got, want)
	}
	tcp := &DB{Name: "x", DSN: "postgres://postgres@127.0.0.1:5432/x?sslmode=disable"}
	if got, want := tcp.TargetAddr(), "127.0.0.1:5432"; got != want {
		t.Errorf("TargetAddr = %q, want %q", got, want)
	}
	if got, want := tcp.DSNVia("127.0.0.1:7"), "postgres://postgres@127.0.0.1:7/x?sslmode=disable"; got != want {
		t.Errorf("DSNVia = %q, want %q", got, want)
	}
	if got, want := tcp.DSNAs("r"), "postgres://r@127.0.0.1:5432/x?sslmode=disable"; got != want {
		t.Errorf("DSNAs = %q, want %q", got, want)
	}
}
