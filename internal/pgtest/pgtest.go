// Package pgtest gives each test a fresh database on a real PostgreSQL server,
// with the reference schema applied, and drops it when the test ends.
//
// The server is named by CAMPAIGN_TEST_DSN (a DSN of a role allowed to create
// databases); without it, the local server at 127.0.0.1:5432 as user postgres.
// make test sets it to a throwaway cluster when that server is not usable
// (scripts/pg-throwaway.sh): a Unix-socket DSN, postgres://u:pw@/db?host=/dir&port=N,
// where the socket trusts every role and 127.0.0.1:N asks for passwords.
// Without a reachable server the tests fail, saying how to get one.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// EnvDSN names the environment variable holding the admin DSN of the test server.
const EnvDSN = "CAMPAIGN_TEST_DSN"

const defaultDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// DB is one test's private database.
type DB struct {
	Name string
	// DSN connects to the database as the admin role.
	DSN string
	// Pool is an admin connection pool on the database.
	Pool *pgxpool.Pool
}

// AdminDSN is the DSN of the test server's maintenance database.
func AdminDSN() string {
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		return dsn
	}
	return defaultDSN
}

// RepoRoot is the repository's top directory (where go.mod is).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// SchemaFiles lists schema/*.sql in the order they are applied, without
// exporter-role.sql, which a DBA runs separately.
func SchemaFiles() ([]string, error) {
	files, err := filepath.Glob(filepath.Join(RepoRoot(), "schema", "*.sql"))
	if err != nil {
		return nil, err
	}
	out := files[:0]
	for _, f := range files {
		if filepath.Base(f) != "exporter-role.sql" {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out, nil
}

// New creates a database with the reference schema applied.
func New(tb testing.TB) *DB {
	tb.Helper()
	db := NewEmpty(tb)
	files, err := SchemaFiles()
	if err != nil || len(files) == 0 {
		tb.Fatalf("pgtest: no schema files found under %s/schema (%v)", RepoRoot(), err)
	}
	for _, f := range files {
		db.ApplyFile(tb, f)
	}
	return db
}

// adminTimeout bounds creating and dropping a test database. Each forces a
// checkpoint, which on a loaded shared machine with many tests in parallel
// has taken over 30 seconds; the bound is there to end a hung server, not
// to time the tests.
const adminTimeout = 2 * time.Minute

// NewEmpty creates an empty database.
func NewEmpty(tb testing.TB) *DB {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	admin, err := pgx.Connect(ctx, AdminDSN())
	if err != nil {
		tb.Fatalf("pgtest: cannot reach the test PostgreSQL server: %v\n"+
			"Run the tests with make test, which starts a throwaway server when "+
			"none is given, or point %s at a role that may create databases.", err, EnvDSN)
	}
	defer admin.Close(ctx)

	name := "campaign_test_" + randomSuffix()
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	cfg, err := pgx.ParseConfig(AdminDSN())
	if err != nil {
		tb.Fatalf("pgtest: parse %s: %v", EnvDSN, err)
	}
	dsn := withDatabase(AdminDSN(), name)
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		tb.Fatalf("pgtest: connect to %s on %s: %v", name, cfg.Host, err)
	}
	db := &DB{Name: name, DSN: dsn, Pool: pool}
	tb.Cleanup(func() { db.drop(tb) })
	return db
}

func (db *DB) drop(tb testing.TB) {
	db.Pool.Close()
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	admin, err := pgx.Connect(ctx, AdminDSN())
	if err != nil {
		tb.Errorf("pgtest: drop %s: %v", db.Name, err)
		return
	}
	defer admin.Close(ctx)
	// FORCE ends sessions a test left behind (PostgreSQL 13+).
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+db.Name+" WITH (FORCE)"); err != nil {
		tb.Errorf("pgtest: drop %s: %v", db.Name, err)
	}
}

// ApplyFile runs a SQL file (a path relative to the repository root, or
// absolute) in one simple-protocol round trip, as psql -f would.
func (db *DB) ApplyFile(tb testing.TB, path string) {
	tb.Helper()
	if !filepath.IsAbs(path) {
		path = filepath.Join(RepoRoot(), path)
	}
	sql, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	if err := db.ExecScript(string(sql)); err != nil {
		tb.Fatalf("pgtest: apply %s: %v", filepath.Base(path), err)
	}
}

// ExecScript runs a multi-statement script on one connection.
func (db *DB) ExecScript(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	_, err = conn.Conn().PgConn().Exec(ctx, sql).ReadAll()
	return err
}

// Exec runs one statement, failing the test on error.
func (db *DB) Exec(tb testing.TB, sql string, args ...any) {
	tb.Helper()
	if _, err := db.Pool.Exec(context.Background(), sql, args...); err != nil {
		tb.Fatalf("pgtest: %s: %v", firstLine(sql), err)
	}
}

// QueryRow scans one row, failing the test on error.
func (db *DB) QueryRow(tb testing.TB, sql string, dest []any, args ...any) {
	tb.Helper()
	if err := db.Pool.QueryRow(context.Background(), sql, args...).Scan(dest...); err != nil {
		tb.Fatalf("pgtest: %s: %v", firstLine(sql), err)
	}
}

// DSNAs is the database's DSN for another role (no password: the test server
// trusts local connections, or its socket), for least-privilege tests.
func (db *DB) DSNAs(role string) string {
	cfg, err := pgx.ParseConfig(db.DSN)
	if err != nil {
		panic(err)
	}
	u := url.URL{Scheme: "postgres", User: url.User(role), Host: fmt.Sprintf("%s:%d", cfg.Host, cfg.Port), Path: "/" + db.Name, RawQuery: "sslmode=disable"}
	if isSocket(cfg.Host) {
		u.Host = ""
		u.RawQuery = fmt.Sprintf("host=%s&port=%d&sslmode=disable", url.PathEscape(cfg.Host), cfg.Port)
	}
	return u.String()
}

// isSocket tells a Unix-socket directory from a TCP host.
func isSocket(host string) bool { return strings.HasPrefix(host, "/") }

// withDatabase points a URL or keyword/value DSN at another database.
func withDatabase(dsn, name string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + name
		return u.String()
	}
	return dsn + " dbname=" + name
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + "…"
	}
	return s
}

func sleepBriefly() { time.Sleep(5 * time.Millisecond) }

// DSNVia is the database's admin DSN with host and port replaced by addr
// (a Proxy's), for fault tests. A socket's host and port parameters go, so
// that the connection takes addr over TCP.
func (db *DB) DSNVia(addr string) string {
	u, err := url.Parse(db.DSN)
	if err != nil {
		panic(err)
	}
	u.Host = addr
	q := u.Query()
	if isSocket(q.Get("host")) {
		q.Del("host")
		q.Del("port")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// TargetAddr is the test server's TCP host:port. For a server reached through
// a Unix socket, the same port on 127.0.0.1, where the throwaway cluster
// also listens (with passwords).
func (db *DB) TargetAddr() string {
	cfg, err := pgx.ParseConfig(db.DSN)
	if err != nil {
		panic(err)
	}
	host := cfg.Host
	if isSocket(host) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, fmt.Sprint(cfg.Port))
}

// FlushStats makes the statistics of the writes done so far visible in
// pg_stat_* views: backends report them when they exit, so it closes the
// admin pool's sessions and waits for them to end.
func (db *DB) FlushStats(tb testing.TB) {
	tb.Helper()
	db.Pool.Reset()
	for i := 0; ; i++ {
		var n int
		db.QueryRow(tb, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`, []any{&n})
		if n == 0 {
			return
		}
		if i == 500 {
			tb.Fatalf("pgtest: %d sessions still open on %s", n, db.Name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// SlowHealthCheck replaces check_campaign_system_health() with a test-only
// version that sleeps first and then returns the original's rows, to show
// deadlines, cancellation and shared runs.
func (db *DB) SlowHealthCheck(tb testing.TB, seconds float64) {
	tb.Helper()
	if err := db.ExecScript(fmt.Sprintf(`
ALTER FUNCTION check_campaign_system_health() RENAME TO check_campaign_system_health_orig;
CREATE FUNCTION check_campaign_system_health() RETURNS TABLE(check_name text, status text, details text)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_sleep(%g);
    RETURN QUERY SELECT * FROM check_campaign_system_health_orig();
END $$;`, seconds)); err != nil {
		tb.Fatalf("pgtest: slow health check: %v", err)
	}
}

// Querier is what Values reads from: a pool, a connection or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Values runs sql and returns every row's values and the result's columns,
// failing t, with the statement, on any error.
func Values(t testing.TB, q Querier, sql string, args ...any) ([][]any, []pgconn.FieldDescription) {
	t.Helper()
	rows, err := q.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer rows.Close()
	var all [][]any
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		all = append(all, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return all, rows.FieldDescriptions()
}
