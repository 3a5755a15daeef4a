package collector

// What a failed run means: an object missing from the database (a
// configuration problem, logged as such), a lost connection (retried once
// on a fresh one), or rows that would make the same series twice.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// IsMissingObject tells whether err is PostgreSQL reporting that a function,
// table, column or schema the query needs does not exist.
func IsMissingObject(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code {
	case "42883", "42P01", "42703", "3F000": // undefined function, table, column, schema
		return true
	}
	return false
}

// retryIfLost runs fn, and once more if it failed because a pooled
// connection had died (server restart, backends terminated, network cut).
// Its siblings likely died too, so the pool is reset first (connections in
// use close when released) and the retry connects afresh. Every query only
// reads, so running one twice is safe.
func retryIfLost[T any](ctx context.Context, db Querier, fn func() (T, error)) (T, error) {
	v, err := fn()
	if err == nil || ctx.Err() != nil || !IsConnectionLost(err) {
		return v, err
	}
	if p, ok := db.(interface{ Reset() }); ok {
		p.Reset()
	}
	return fn()
}

// IsConnectionLost tells whether err means the connection, not the query,
// failed: the server ended the session or the network dropped it.
func IsConnectionLost(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// admin_shutdown (pg_terminate_backend, fast shutdown), crash_shutdown
		return pgErr.Code == "57P01" || pgErr.Code == "57P02"
	}
	var netErr net.Error
	return pgconn.SafeToRetry(err) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.As(err, &netErr)
}

// checkDuplicates rejects a run that would emit the same series twice (a
// check function returning one check name on two rows, say): the registry
// would otherwise fail the whole scrape.
func checkDuplicates(metrics []prometheus.Metric) error {
	seen := make(map[string]struct{}, len(metrics))
	var pb dto.Metric
	for _, metric := range metrics {
		pb.Reset()
		if err := metric.Write(&pb); err != nil {
			return err
		}
		var key strings.Builder
		key.WriteString(metric.Desc().String())
		for _, lp := range pb.GetLabel() {
			key.WriteString("\xff" + lp.GetName() + "=" + lp.GetValue())
		}
		if _, dup := seen[key.String()]; dup {
			return fmt.Errorf("duplicate series %s: the query returned the same row key twice", key.String())
		}
		seen[key.String()] = struct{}{}
	}
	return nil
}
