package collector

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
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
	// IdleTimeout closes a connection unused this long, so the exporter
	// does not sit on the server's connection slots between scrapes.
	IdleTimeout time.Duration
	// SimpleProtocol avoids prepared statements, for pgbouncer in
	// transaction mode.
	SimpleProtocol bool
	// Limiter, when set, bounds connections across every pool sharing it.
	Limiter *ConnLimiter
	// ParallelWorkers is max_parallel_workers_per_gather of the sessions.
	// Parallel workers are server processes outside the connection bounds,
	// taking cores from the database's own work: none by default.
	ParallelWorkers int
}

// DefaultPoolOptions are the flags' defaults.
var DefaultPoolOptions = PoolOptions{MaxConns: 2, StatementTimeout: 30 * time.Second, LockTimeout: 2 * time.Second, IdleTimeout: 30 * time.Second}

// maxParallelWorkers is PostgreSQL's own upper bound of
// max_parallel_workers_per_gather.
const maxParallelWorkers = 1024

// ValidateParallelWorkers rejects what PostgreSQL would refuse at connect.
func ValidateParallelWorkers(n int) error {
	if n < 0 || n > maxParallelWorkers {
		return fmt.Errorf("--db.parallel-workers must be between 0 and %d, got %d", maxParallelWorkers, n)
	}
	return nil
}

// ErrBadDSN reports a data source name that cannot be parsed. Its message
// never includes the DSN or any of its values, which may be secrets or
// paths.
var ErrBadDSN = errors.New("cannot parse the data source name")

// ValidateTimeout rejects what PostgreSQL would not honour as written: a
// negative value, or one below its millisecond resolution (which would
// silently become 0, no timeout at all).
func ValidateTimeout(flag string, d time.Duration) error {
	switch {
	case d < 0:
		return fmt.Errorf("--%s must not be negative, got %s", flag, d)
	case d > 0 && d < time.Millisecond:
		return fmt.Errorf("--%s must be 0 (no timeout) or at least 1ms, got %s", flag, d)
	}
	return nil
}

// Pool is the exporter's bounded pool of read-only sessions. Every
// connection is checked before it is reused: if anything it ran changed the
// session (read-only mode, timeouts, role, search_path), the connection is
// closed rather than reused, so a monitored function cannot switch off the
// exporter's safety for the queries that follow it. When the server refuses
// new connections (too many clients), the pool backs off to the
// connections it has instead of failing queries.
type Pool struct {
	pool    *pgxpool.Pool
	max     int
	tokens  chan struct{} // free query slots: fewer than max while backing off
	backoff time.Duration

	mu     sync.Mutex
	parked int // slots withheld after the server refused a connection
	debt   int // of those, still to take back as their holders release them

	baseline sync.Map // *pgx.Conn -> its session state right after connecting
	limiter  *ConnLimiter
}

// sessionStateSQL reads what a monitored function could change for the
// rest of the session. Every name is schema-qualified and nothing is
// concatenated: a function that puts its own schema before pg_catalog in
// search_path could otherwise answer for current_setting or || and hide
// what it changed.
const sessionStateSQL = `SELECT pg_catalog.current_setting('default_transaction_read_only'),
 pg_catalog.current_setting('statement_timeout'), pg_catalog.current_setting('lock_timeout'),
 current_user, pg_catalog.current_setting('search_path'),
 pg_catalog.current_setting('max_parallel_workers_per_gather')`

// sessionState is one reading of sessionStateSQL.
type sessionState [6]string

func readSessionState(ctx context.Context, c *pgx.Conn) (sessionState, error) {
	var st sessionState
	err := c.QueryRow(ctx, sessionStateSQL, pgx.QueryExecModeSimpleProtocol).Scan(&st[0], &st[1], &st[2], &st[3], &st[4], &st[5])
	return st, err
}

// NewPool makes a bounded pool of read-only sessions. It does not connect:
// the exporter starts even while the database is down.
func NewPool(dsn string, o PoolOptions) (*Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, badDSN(err)
	}
	if o.MaxConns < 1 {
		return nil, fmt.Errorf("max connections must be at least 1, got %d", o.MaxConns)
	}
	if err := ValidateParallelWorkers(o.ParallelWorkers); err != nil {
		return nil, err
	}
	for _, t := range []struct {
		flag string
		d    time.Duration
	}{{"db.statement-timeout", o.StatementTimeout}, {"db.lock-timeout", o.LockTimeout}} {
		if err := ValidateTimeout(t.flag, t.d); err != nil {
			return nil, err
		}
	}
	p := &Pool{max: int(o.MaxConns), tokens: make(chan struct{}, o.MaxConns), backoff: 30 * time.Second, limiter: o.Limiter}
	for range p.max {
		p.tokens <- struct{}{}
	}

	cfg.MaxConns = o.MaxConns
	cfg.MinConns = 0
	cfg.MaxConnIdleTime = o.IdleTimeout
	if cfg.MaxConnIdleTime <= 0 {
		cfg.MaxConnIdleTime = DefaultPoolOptions.IdleTimeout
	}
	// The idle timeout is enforced by the pool's health check: run it often
	// enough that idle connections go back soon after they expire.
	cfg.HealthCheckPeriod = min(time.Minute, max(time.Second, cfg.MaxConnIdleTime/3))
	rp := cfg.ConnConfig.RuntimeParams
	rp["application_name"] = "campaign_exporter"
	rp["default_transaction_read_only"] = "on"
	rp["statement_timeout"] = strconv.FormatInt(o.StatementTimeout.Milliseconds(), 10)
	rp["lock_timeout"] = strconv.FormatInt(o.LockTimeout.Milliseconds(), 10)
	rp["max_parallel_workers_per_gather"] = strconv.Itoa(o.ParallelWorkers)
	if o.SimpleProtocol {
		cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	}
	// On a cancelled context, ask the server to cancel the query at once
	// (pgx's default only closes the socket, leaving the query running);
	// give up on the socket 100ms later if the server does not answer.
	cfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, CancelRequestDelay: 0, DeadlineDelay: 100 * time.Millisecond}
	}
	if o.Limiter != nil {
		cfg.ConnConfig.DialFunc = o.Limiter.dialFunc(cfg.ConnConfig.DialFunc)
	}
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		state, err := readSessionState(ctx, c)
		if err != nil {
			return err
		}
		p.baseline.Store(c, state)
		return nil
	}
	cfg.BeforeClose = func(c *pgx.Conn) { p.baseline.Delete(c) }

	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, badDSN(err)
	}
	p.pool = pool
	if p.limiter != nil {
		p.limiter.register(p)
	}
	return p, nil
}

// badDSN keeps a parse error's reason only where it cannot hold a value of
// the DSN: pgconn's messages quote values (passwords, file paths).
func badDSN(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return ErrBadDSN
	}
	return fmt.Errorf("%w: %T", ErrBadDSN, err)
}

// sessionUnchanged tells whether c's session is as it was when it
// connected: by read, when the batch it came with got that far, else by
// reading the session now.
func (p *Pool) sessionUnchanged(c *pgx.Conn, read *sessionRead) bool {
	want, ok := p.baseline.Load(c)
	if !ok {
		return false
	}
	if read != nil && read.ok {
		return read.state == want
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	state, err := readSessionState(ctx, c)
	return err == nil && state == want
}

// sessionRead is a reading of sessionStateSQL sent in the same round trip
// as the statements it vouches for; ok once it has run.
type sessionRead struct {
	state sessionState
	ok    bool
}

// queueSessionRead appends a read of the session's state to b. Whatever
// it vouches for must have committed before it (b ends its transaction
// first): read inside that transaction, a SET LOCAL could show the
// connection's own value over a session-wide change that takes effect at
// the commit.
func queueSessionRead(b *pgx.Batch) *sessionRead {
	r := &sessionRead{}
	b.Queue(sessionStateSQL).QueryRow(func(row pgx.Row) error {
		st := &r.state
		r.ok = row.Scan(&st[0], &st[1], &st[2], &st[3], &st[4], &st[5]) == nil
		return nil
	})
	return r
}

// acquire takes a query slot, waiting for one within ctx.
func (p *Pool) acquire(ctx context.Context) error {
	select {
	case <-p.tokens:
		return nil
	default:
	}
	select {
	case <-p.tokens:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// release gives a query slot back, or withholds it while backing off.
func (p *Pool) release() {
	p.mu.Lock()
	if p.debt > 0 {
		p.debt--
		p.mu.Unlock()
		p.returnLater()
		return
	}
	p.mu.Unlock()
	p.tokens <- struct{}{}
}

// returnLater gives a withheld slot back after the backoff period.
func (p *Pool) returnLater() {
	time.AfterFunc(p.backoff, func() {
		p.mu.Lock()
		p.parked--
		p.mu.Unlock()
		p.tokens <- struct{}{}
	})
}

// IsTooManyConnections tells whether err is the server refusing a new
// connection for lack of slots (SQLSTATE 53300).
func IsTooManyConnections(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "53300"
}

// shrink withholds query slots so that no more queries run at once than
// the connections the pool has, after the server refused another. It
// reports whether the caller should retry: there is a live connection to
// wait for. Slots come back one per backoff period.
func (p *Pool) shrink() bool {
	live := int(p.pool.Stat().TotalConns())
	if live < 1 {
		return false
	}
	p.mu.Lock()
	park := p.max - live - p.parked
	if park > 0 {
		p.parked += park
		p.debt += park
	}
	// Withhold free slots now; the rest as their holders release them.
	for p.debt > 0 {
		select {
		case <-p.tokens:
			p.debt--
			p.returnLater()
			continue
		default:
		}
		break
	}
	p.mu.Unlock()
	return true
}

// connWaitKey carries a counter of the nanoseconds a run's queries spent
// getting a connection (see withConnWait).
type connWaitKey struct{}

// withConnWait returns a context whose queries add to w the time they
// spend getting a connection: waiting for a slot, for the limiter, or for
// a dial. The engine subtracts it from a run's duration to rank the runs
// of the next scrape by their own cost.
func withConnWait(ctx context.Context, w *atomic.Int64) context.Context {
	return context.WithValue(ctx, connWaitKey{}, w)
}

// conn takes a query slot and a connection. If the server refused a new
// connection while the pool has others, it backs off to those and waits
// for one of them.
func (p *Pool) conn(ctx context.Context) (*pgxpool.Conn, error) {
	if w, ok := ctx.Value(connWaitKey{}).(*atomic.Int64); ok {
		defer func(start time.Time) { w.Add(int64(time.Since(start))) }(time.Now())
	}
	for attempt := 0; ; attempt++ {
		if err := p.acquire(ctx); err != nil {
			return nil, err
		}
		c, err := p.pool.Acquire(withCaller(ctx))
		if err == nil {
			return c, nil
		}
		retry := attempt == 0 && IsTooManyConnections(err) && p.shrink()
		p.release()
		if !retry {
			return nil, err
		}
	}
}

// put returns c to the pool, closing it first if anything it ran changed
// its session, and frees the query slot. The check runs before the slot is
// freed, so the next query finds the connection idle; check is false only
// after what cannot change a session (a ping). read is the session as the
// batch c ran read it, or nil.
func (p *Pool) put(c *pgxpool.Conn, check bool, read *sessionRead) {
	pc := c.Conn()
	if check && !pc.IsClosed() && !pc.PgConn().IsBusy() && pc.PgConn().TxStatus() == 'I' && !p.sessionUnchanged(pc, read) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = pc.Close(ctx)
		cancel()
	}
	c.Release()
	p.release()
}

// putAfterBatch returns c after a batch that ended with queueSessionRead.
// A transaction the batch left open (a statement failed before its
// COMMIT, so the read never ran) is rolled back first: a query that fails
// on every scrape then keeps its session instead of costing a new one
// each time. A connection that cannot be rolled back is closed, never
// handed on mid-transaction.
func (p *Pool) putAfterBatch(c *pgxpool.Conn, read *sessionRead) {
	if pc := c.Conn().PgConn(); !pc.IsClosed() && !pc.IsBusy() && pc.TxStatus() != 'I' {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, _ = c.Exec(ctx, "ROLLBACK")
		cancel()
	}
	p.put(c, true, read)
}

// Query runs sql on a connection held until the rows are closed, as a
// batch (see SendBatch) of its own read-only transaction: one round trip
// with the check of the session. Read in a round trip of its own, the
// check cost every query a second one.
func (p *Pool) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	b, _ := LocalBatch(nil, sql, args...)
	br := p.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil { // BEGIN READ ONLY
		_ = br.Close()
		return nil, batchCause(err)
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, batchCause(err)
	}
	return &slotRows{Rows: rows, done: sync.OnceFunc(func() { _ = br.Close() })}, nil
}

// batchCause is err without pgx's "error preprocessing batch" wrapping (a
// statement the server could not prepare): the server's own error, as a
// query on its own reports it.
func batchCause(err error) error {
	var pe pgx.ErrPreprocessingBatch
	if errors.As(err, &pe) && pe.Unwrap() != nil {
		return pe.Unwrap()
	}
	return err
}

// QueryRow runs sql as Query does, and reads its first row on Scan.
func (p *Pool) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := p.Query(ctx, sql, args...)
	return firstRow{rows: rows, err: err}
}

// SendBatch runs b's statements in one round trip, followed by the check
// of the session, on a connection held until the results are closed. b
// must end any transaction it begins (see queueSessionRead).
func (p *Pool) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	c, err := p.conn(ctx)
	if err != nil {
		return pgx.FailedBatchResults(b, err)
	}
	// A copy of b's queue, so that the caller's batch stays as it was.
	checked := &pgx.Batch{QueuedQueries: slices.Clip(b.QueuedQueries)}
	read := queueSessionRead(checked)
	return &slotBatch{BatchResults: c.SendBatch(ctx, checked), done: sync.OnceFunc(func() { p.putAfterBatch(c, read) })}
}

// Ping checks that the database answers.
func (p *Pool) Ping(ctx context.Context) error {
	c, err := p.conn(ctx)
	if err != nil {
		return err
	}
	defer p.put(c, false, nil)
	return c.Ping(ctx)
}

// Reset closes every connection: idle ones now, those in use when
// released.
func (p *Pool) Reset() { p.pool.Reset() }

// Close closes the pool's connections, waiting for those in use.
func (p *Pool) Close() {
	if p.limiter != nil {
		p.limiter.unregister(p)
	}
	p.pool.Close()
}

// closeIdle closes the connections nobody is using, giving their slots
// back to the limiter.
func (p *Pool) closeIdle() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, c := range p.pool.AcquireAllIdle(ctx) {
		_ = c.Conn().Close(ctx)
		c.Release()
	}
}

// slotRows gives its connection back once the rows are done.
type slotRows struct {
	pgx.Rows
	done func()
}

func (r *slotRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.done()
	return false
}

func (r *slotRows) Close() {
	r.Rows.Close()
	r.done()
}

// firstRow is the first row of rows, as pgx's own QueryRow reads it.
type firstRow struct {
	rows pgx.Rows
	err  error
}

func (r firstRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}

// slotBatch gives its connection back once the results are closed.
type slotBatch struct {
	pgx.BatchResults
	done func()
}

func (b *slotBatch) Close() error {
	defer b.done()
	return batchCause(b.BatchResults.Close())
}

// ConnLimiter bounds the connections that every pool sharing it holds open,
// in total and per server address, so that an exporter of many targets
// never takes more of a server's connection slots than configured. A
// connection beyond the bound waits for a slot within its query's deadline;
// while it waits, other pools' idle connections are closed to make room.
type ConnLimiter struct {
	total   chan struct{}
	perHost int

	mu    sync.Mutex
	hosts map[string]chan struct{}
	pools map[*Pool]struct{}
	swept time.Time
}

// NewConnLimiter bounds connections to total across all pools and to
// perHost for any one server address; 0 means no bound of that kind.
func NewConnLimiter(total, perHost int) *ConnLimiter {
	l := &ConnLimiter{perHost: perHost, hosts: map[string]chan struct{}{}, pools: map[*Pool]struct{}{}}
	if total > 0 {
		l.total = make(chan struct{}, total)
	}
	return l
}

func (l *ConnLimiter) register(p *Pool) {
	l.mu.Lock()
	l.pools[p] = struct{}{}
	l.mu.Unlock()
}

func (l *ConnLimiter) unregister(p *Pool) {
	l.mu.Lock()
	delete(l.pools, p)
	l.mu.Unlock()
}

func (l *ConnLimiter) host(addr string) chan struct{} {
	if l.perHost <= 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	ch, ok := l.hosts[addr]
	if !ok {
		ch = make(chan struct{}, l.perHost)
		l.hosts[addr] = ch
	}
	return ch
}

// take puts a token in sem (a nil sem is no bound), waiting within ctx and
// closing other pools' idle connections while it waits.
func (l *ConnLimiter) take(ctx context.Context, sem chan struct{}) error {
	if sem == nil {
		return nil
	}
	select {
	case sem <- struct{}{}:
		return nil
	default:
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		l.sweep()
		select {
		case sem <- struct{}{}:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("waiting for a free database connection slot (--db.max-connections-total / --db.max-connections-per-host): %w", ctx.Err())
		case <-callerDone(ctx):
			return fmt.Errorf("waiting for a free database connection slot: the query that asked for it has ended")
		case <-tick.C:
		}
	}
}

// sweep closes every pool's idle connections, at most every 50ms.
func (l *ConnLimiter) sweep() {
	l.mu.Lock()
	if time.Since(l.swept) < 50*time.Millisecond {
		l.mu.Unlock()
		return
	}
	l.swept = time.Now()
	pools := make([]*Pool, 0, len(l.pools))
	for p := range l.pools {
		pools = append(pools, p)
	}
	l.mu.Unlock()
	for _, p := range pools {
		p.closeIdle()
	}
}

// callerKey carries the context of the query that asked for a connection.
// pgxpool dials with a context that keeps the caller's values but not its
// cancellation, so without it a dial waiting for a slot would outlive the
// scrape that wanted it, then connect for nobody.
type callerKey struct{}

func withCaller(ctx context.Context) context.Context {
	return context.WithValue(ctx, callerKey{}, ctx)
}

// callerDone is the Done channel of the query that asked for the dial in
// ctx (nil, never ready, when there is none).
func callerDone(ctx context.Context) <-chan struct{} {
	if c, ok := ctx.Value(callerKey{}).(context.Context); ok {
		return c.Done()
	}
	return nil
}

func (l *ConnLimiter) dialFunc(next pgconn.DialFunc) pgconn.DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host := l.host(addr)
		if err := l.take(ctx, l.total); err != nil {
			return nil, err
		}
		if err := l.take(ctx, host); err != nil {
			if l.total != nil {
				<-l.total
			}
			return nil, err
		}
		free := sync.OnceFunc(func() {
			if host != nil {
				<-host
			}
			if l.total != nil {
				<-l.total
			}
		})
		c, err := next(ctx, network, addr)
		if err != nil {
			free()
			return nil, err
		}
		return &limitedConn{Conn: c, free: free}, nil
	}
}

// limitedConn gives its limiter slot back when closed.
type limitedConn struct {
	net.Conn
	free func()
}

// slotLinger is how long a closed connection keeps its slot: the server
// ends the session a moment after the socket closes, and until then it
// still counts against the server's connection limit.
const slotLinger = 50 * time.Millisecond

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	time.AfterFunc(slotLinger, c.free)
	return err
}
