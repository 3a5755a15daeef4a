package collector

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PoolOptions bound the exporter's use of the database.
type PoolOptions struct {
	MaxConns         int32
	StatementTimeout time.Duration
	LockTimeout      time.Duration
	// SimpleProtocol avoids prepared statements, for pgbouncer in
	// transaction mode.
	SimpleProtocol bool
}

// DefaultPoolOptions are the flags' defaults.
var DefaultPoolOptions = PoolOptions{MaxConns: 3, StatementTimeout: 30 * time.Second, LockTimeout: 2 * time.Second}

// ErrBadDSN reports a data source name that cannot be parsed. Its message
// never includes the DSN, which may hold a password.
var ErrBadDSN = errors.New("cannot parse the data source name")

// NewPool makes a bounded pool of read-only sessions. It does not connect:
// the exporter starts even while the database is down.
func NewPool(dsn string, o PoolOptions) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		var pe *pgconn.ParseConfigError
		if errors.As(err, &pe) && pe.Unwrap() != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadDSN, pe.Unwrap())
		}
		return nil, ErrBadDSN
	}
	if o.MaxConns < 1 {
		return nil, fmt.Errorf("max connections must be at least 1, got %d", o.MaxConns)
	}
	cfg.MaxConns = o.MaxConns
	cfg.MinConns = 0
	cfg.MaxConnIdleTime = 5 * time.Minute
	rp := cfg.ConnConfig.RuntimeParams
	rp["application_name"] = "campaign_exporter"
	rp["default_transaction_read_only"] = "on"
	rp["statement_timeout"] = strconv.FormatInt(o.StatementTimeout.Milliseconds(), 10)
	rp["lock_timeout"] = strconv.FormatInt(o.LockTimeout.Milliseconds(), 10)
	if o.SimpleProtocol {
		cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	}
	// On a cancelled context, ask the server to cancel the query at once
	// (pgx's default only closes the socket, leaving the query running);
	// give up on the socket 100ms later if the server does not answer.
	cfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, CancelRequestDelay: 0, DeadlineDelay: 100 * time.Millisecond}
	}
	return pgxpool.NewWithConfig(context.Background(), cfg)
}
