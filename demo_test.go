package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/campaign-exporter/campaign_exporter/internal/pgtest"
)

// runDemoDB runs scripts/demo-db.sh for database name at a small scale.
func runDemoDB(t *testing.T, name string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "scripts/demo-db.sh")
	cmd.Env = append(os.Environ(), "PGADMIN="+pgtest.AdminDSN(), "DEMO_DB="+name, "DEMO_SCALE=0.01")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestDemoNeverDropsADatabaseItDidNotMake(t *testing.T) {
	if _, err := exec.LookPath("psql"); err != nil {
		t.Skip("psql not installed")
	}
	// Someone's database that happens to have the demo's name.
	theirs := pgtest.NewEmpty(t)
	theirs.Exec(t, `CREATE TABLE precious (x int); INSERT INTO precious VALUES (1)`)
	out, err := runDemoDB(t, theirs.Name)
	if err == nil || !strings.Contains(out, "was not made by make demo; refusing to drop it") {
		t.Fatalf("demo-db over a database it did not make: err %v, output:\n%s", err, out)
	}
	var n int
	theirs.QueryRow(t, `SELECT count(*) FROM precious`, []any{&n})
	if n != 1 {
		t.Errorf("their table has %d rows after the refused demo, want 1", n)
	}

	// The demo's own database is made, then remade by a second run.
	ours := pgtest.NewEmpty(t) // a fresh name, dropped when the test ends
	ours.Pool.Close()
	admin := pgtest.New(t)
	admin.Exec(t, "DROP DATABASE "+ours.Name+" WITH (FORCE)")
	for i := range 2 {
		if out, err := runDemoDB(t, ours.Name); err != nil {
			t.Fatalf("demo-db run %d on its own database: %v\n%s", i+1, err, out)
		}
	}
}
