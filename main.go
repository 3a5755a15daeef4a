// Command campaign_exporter exports the health, attribution-quality and
// holiday-integrity checks of a PostgreSQL campaign-attribution system,
// with its table and index statistics, as Prometheus metrics.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/campaign-exporter/campaign_exporter/collector"
	"github.com/campaign-exporter/campaign_exporter/internal/check"
	"github.com/campaign-exporter/campaign_exporter/internal/config"
	"github.com/campaign-exporter/campaign_exporter/internal/server"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
	sloggokit "github.com/tjhop/slog-gokit"
)

const exporterName = "campaign_exporter"

func main() {
	code, err := run(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", exporterName, err)
	}
	os.Exit(code)
}

// run parses args and runs the command they name, the server by default.
// It returns the process's exit code.
func run(args []string) (int, error) {
	app := kingpin.New(exporterName, "Prometheus exporter for the PostgreSQL campaign-attribution system.")
	app.Command("serve", "Serve the metrics over HTTP (the default command).").Default()
	checkCmd := app.Command("check", "Run the enabled collectors once against the database of DATA_SOURCE_NAME, --db.dsn-file or --config.file's --target, "+
		"with the server's read-only sessions, timeouts and --collector.* flags and no cache, print a report and exit. "+check.ExitHelp)
	var (
		checkTarget  = checkCmd.Flag("target", "Check this target of --config.file instead of DATA_SOURCE_NAME or --db.dsn-file.").String()
		checkTimeout = collector.DurationFlag(checkCmd, "check.timeout", "Longest the check may take; collectors still running then fail.", "60s")
		checkOutput  = checkCmd.Flag("output", "Report format: table (the maintenance guide's tables and a summary line), json (one document), prom (the metrics, for node_exporter's textfile collector) or nagios (a plugin's output).").Default("table").Enum(check.Formats...)
		checkFile    = checkCmd.Flag("output.file", "Write the report to this file, atomically (a temporary file renamed over it), instead of standard output.").String()
		pushURL      = checkCmd.Flag("push.url", "Also push the metrics to this Pushgateway, e.g. http://pushgateway:9091.").String()
		pushJob      = checkCmd.Flag("push.job", "The job label of the pushed metrics (grouped by target too with --target).").Default("campaign_check").String()
	)
	configCmd := app.Command("check-config", "Validate --config.file and --web.config.file as the server would at start, without contacting any database, and exit: 0 when valid, 1 otherwise.")
	var (
		webFlags       = kingpinflag.AddFlags(app, ":9817")
		metricsPath    = app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").String()
		lifecycleSet   bool
		lifecycle      = app.Flag("web.enable-lifecycle", "Serve POST /-/reload. Default: on when --web.config.file protects the port, else off.").IsSetByUser(&lifecycleSet).Bool()
		webMaxConns    = app.Flag("web.max-connections", "Most HTTP connections served at once per listen address; more wait their turn.").Default("64").Int()
		readHeader     = collector.DurationFlag(app, "web.read-header-timeout", "Close a connection whose request headers take longer than this.", "10s")
		configFile     = app.Flag("config.file", "Multi-target config file: its targets are served on /probe?target=NAME.").String()
		dsnFile        = app.Flag("db.dsn-file", "File holding the data source name; else the DATA_SOURCE_NAME environment variable.").String()
		maxConns       = app.Flag("db.max-connections", "Most connections open to one database at once.").Default("2").Int32()
		maxConnsTotal  = app.Flag("db.max-connections-total", "Most connections open across all targets at once (0: no bound).").Default("20").Int()
		maxConnsHost   = app.Flag("db.max-connections-per-host", "Most connections open to one server address across all targets at once (0: no bound).").Default("10").Int()
		idleTimeout    = collector.DurationFlag(app, "db.idle-timeout", "Close a database connection unused this long.", "30s")
		stmtTimeout    = collector.DurationFlag(app, "db.statement-timeout", "statement_timeout of the exporter's sessions (0: none).", "30s")
		lockTimeout    = collector.DurationFlag(app, "db.lock-timeout", "lock_timeout of the exporter's sessions (0: none).", "2s")
		parallel       = app.Flag("db.parallel-workers", "max_parallel_workers_per_gather of the exporter's sessions: server processes a query may add beyond the connection bounds (0: none).").Default("0").Int()
		simple         = app.Flag("db.simple-protocol", "Use the simple query protocol (no prepared statements), for pgbouncer in transaction mode.").Bool()
		scrapeMax      = collector.DurationFlag(app, "scrape.timeout", "Longest a scrape may take, even if Prometheus allows more.", "30s")
		scrapeOffset   = collector.DurationFlag(app, "scrape.timeout-offset", "Kept back from Prometheus's scrape timeout header.", "500ms")
		logLevel       = app.Flag("log.level", "Only log messages with the given severity or above: debug, info, warn, error.").Default("info").Enum("debug", "info", "warn", "error")
		logFormat      = app.Flag("log.format", "Output format of log messages: logfmt or json.").Default("logfmt").Enum("logfmt", "json")
		collectorFlags = collector.AddFlags(app)
	)
	app.Version(version.Print(exporterName))
	app.HelpFlag.Short('h')
	command, err := app.Parse(args)
	// A check that cannot start is UNKNOWN to Nagios, not WARNING.
	failCode := 1
	if c, _ := app.ParseContext(args); c != nil && c.SelectedCommand == checkCmd {
		failCode = check.ExitUnknown
	}
	if err != nil {
		return failCode, err
	}
	if err := validateFlags(*metricsPath, *scrapeMax, *scrapeOffset, *idleTimeout, *stmtTimeout, *lockTimeout, *maxConnsTotal, *maxConnsHost, *webMaxConns, *readHeader); err != nil {
		return failCode, err
	}
	if err := collector.ValidateParallelWorkers(*parallel); err != nil {
		return failCode, err
	}
	if command == checkCmd.FullCommand() && *checkTimeout <= 0 {
		return failCode, fmt.Errorf("--check.timeout must be positive, got %s", *checkTimeout)
	}
	if !lifecycleSet {
		*lifecycle = *webFlags.WebConfigFile != ""
	}

	baseLogger := newLogger(*logLevel, *logFormat)
	logger := log.With(baseLogger, "ts", log.DefaultTimestampUTC, "caller", log.DefaultCaller)
	cfg, err := collectorFlags.Config()
	if err != nil {
		return failCode, err
	}
	poolOpts := collector.PoolOptions{
		MaxConns: *maxConns, StatementTimeout: *stmtTimeout, LockTimeout: *lockTimeout, IdleTimeout: *idleTimeout,
		SimpleProtocol: *simple, Limiter: collector.NewConnLimiter(*maxConnsTotal, *maxConnsHost),
		ParallelWorkers: *parallel,
	}
	switch command {
	case configCmd.FullCommand():
		return check.ValidateConfig(*configFile, *webFlags.WebConfigFile, cfg, poolOpts, os.Stdout, os.Stderr), nil
	case checkCmd.FullCommand():
		dsn, err := dataSourceName(*dsnFile)
		if err != nil && *checkTarget == "" {
			return check.ExitUnknown, err
		}
		opts := check.Options{DSN: dsn, Config: cfg, Pool: poolOpts, Timeout: *checkTimeout, Logger: logger, Version: exporterName}
		out := check.Output{Format: *checkOutput, File: *checkFile, PushURL: *pushURL, PushJob: *pushJob}
		return check.Command(context.Background(), opts, *configFile, *checkTarget, out, os.Stdout, os.Stderr), nil
	}
	if err := serve(logger, baseLogger, cfg, poolOpts, serveFlags{
		web: webFlags, metricsPath: *metricsPath, lifecycle: *lifecycle, webMaxConns: *webMaxConns, readHeader: *readHeader,
		configFile: *configFile, dsnFile: *dsnFile, maxConnsTotal: *maxConnsTotal, scrapeMax: *scrapeMax, scrapeOffset: *scrapeOffset,
	}); err != nil {
		return 1, err
	}
	return 0, nil
}

// serveFlags are the flags only the server reads.
type serveFlags struct {
	web                     *web.FlagConfig
	metricsPath             string
	lifecycle               bool
	webMaxConns             int
	readHeader              time.Duration
	configFile, dsnFile     string
	maxConnsTotal           int
	scrapeMax, scrapeOffset time.Duration
}

// serve runs the HTTP server until it fails or is stopped.
func serve(logger, baseLogger log.Logger, cfg collector.Config, poolOpts collector.PoolOptions, f serveFlags) error {
	timeouts := server.Timeouts{Max: f.scrapeMax, Offset: f.scrapeOffset}
	base := prometheus.NewRegistry()
	base.MustRegister(versioncollector.NewCollector(exporterName))
	// The exporter's own metrics are gathered at most once a second (and
	// whenever its HTTP counters or a reload change them): gathering them
	// costs more than serving a cached scrape.
	runtimeReg := prometheus.NewRegistry()
	runtimeReg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	own := prometheus.Gatherers{server.NewSampledGatherer(base, time.Second), server.NewSampledGatherer(runtimeReg, time.Second)}
	httpMetrics := server.NewMetrics(base, logger)
	mux := http.NewServeMux()
	var targets *server.Targets
	metricsText := "the database's metrics and the exporter's own"

	// The single database of DATA_SOURCE_NAME on /metrics; with a config
	// file it is optional, and /metrics then shows the exporter's own metrics.
	dsn, err := dataSourceName(f.dsnFile)
	switch {
	case err == nil:
		pool, err := collector.NewPool(dsn, poolOpts)
		if err != nil {
			return err
		}
		defer pool.Close()
		exp, err := collector.New(pool, cfg, logger)
		if err != nil {
			return err
		}
		mux.Handle(f.metricsPath, server.ScrapeHandler(exp, own, timeouts, httpMetrics))
	case f.configFile != "" && errors.Is(err, errNoDSN):
		mux.Handle(f.metricsPath, server.ScrapeHandler(nil, own, timeouts, httpMetrics))
		metricsText = "the exporter's own metrics (the databases' are on each target's probe)"
	default:
		return err
	}

	if f.configFile != "" {
		targets, err = server.NewTargets(f.configFile, cfg, poolOpts, f.scrapeMax, base, logger)
		if err != nil {
			return err
		}
		defer targets.Close()
		mux.Handle("/probe", server.ProbeHandler(targets, timeouts, httpMetrics))
		mux.Handle("/sd", server.SDHandler(targets))
		if f.lifecycle {
			mux.Handle("/-/reload", server.ReloadHandler(targets, logger))
		}
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		go func() {
			for range hup {
				if err := targets.Reload(); err != nil {
					level.Error(logger).Log("msg", "reload failed; keeping the previous config", "err", err)
				}
			}
		}()
	}
	mux.Handle("/-/healthy", server.OK("Healthy"))
	mux.Handle("/-/ready", server.OK("Ready"))
	if f.metricsPath != "/" {
		mux.Handle("/", server.Landing(server.LandingOptions{
			Name:               exporterName,
			Description:        "Prometheus exporter for the PostgreSQL campaign-attribution system",
			Version:            version.Info(),
			MetricsPath:        f.metricsPath,
			MetricsDescription: metricsText,
			Reload:             f.lifecycle && targets != nil,
		}, targets))
	}

	level.Info(logger).Log("msg", "starting "+exporterName, "version", version.Info(), "collectors", strings.Join(enabled(cfg), ","), "lifecycle", f.lifecycle)
	srv := &http.Server{
		Handler: mux,
		// Slow or idle clients must not hold sockets for long: headers
		// arrive within the read-header timeout, and an idle keep-alive
		// connection (Prometheus reuses one per target) closes after two
		// usual scrape intervals.
		ReadHeaderTimeout: f.readHeader,
		ReadTimeout:       f.readHeader + 5*time.Second,
		WriteTimeout:      f.scrapeMax + 15*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          httpMetrics.ServerErrorLog(),
	}
	if err := server.ListenAndServe(srv, f.web, webConnections(f.webMaxConns, f.maxConnsTotal, logger), bridgeSlog(baseLogger)); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// validateFlags rejects values that would fail every scrape or quietly do
// something else than written.
func validateFlags(metricsPath string, scrapeMax, scrapeOffset, idle, stmt, lock time.Duration, total, perHost, webConns int, readHeader time.Duration) error {
	switch {
	case readHeader <= 0:
		return fmt.Errorf("--web.read-header-timeout must be positive, got %s", readHeader)
	case scrapeMax <= 0:
		return fmt.Errorf("--scrape.timeout must be positive, got %s", scrapeMax)
	case scrapeOffset < 0:
		return fmt.Errorf("--scrape.timeout-offset must not be negative, got %s", scrapeOffset)
	case idle <= 0:
		return fmt.Errorf("--db.idle-timeout must be positive, got %s", idle)
	case total < 0 || perHost < 0:
		return errors.New("--db.max-connections-total and --db.max-connections-per-host must not be negative")
	case webConns < 1:
		return fmt.Errorf("--web.max-connections must be at least 1, got %d", webConns)
	}
	if err := collector.ValidateTimeout("db.statement-timeout", stmt); err != nil {
		return err
	}
	if err := collector.ValidateTimeout("db.lock-timeout", lock); err != nil {
		return err
	}
	return validateTelemetryPath(metricsPath)
}

// reservedPaths are served by the exporter itself.
var reservedPaths = []string{"/probe", "/sd", "/-/reload", "/-/healthy", "/-/ready"}

func validateTelemetryPath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("--web.telemetry-path must start with /, got %q", p)
	}
	if slices.Contains(reservedPaths, p) {
		return fmt.Errorf("--web.telemetry-path %s is taken by the exporter's own endpoint", p)
	}
	return nil
}

// webConnections lowers the per-listener connection bound to what the
// process's file limit leaves after the database connections and a margin
// for files and listeners.
func webConnections(want, dbTotal int, logger log.Logger) int {
	limit, ok := server.FileLimit()
	if !ok {
		return want
	}
	fit := int(min(limit, 1<<20)) - dbTotal - 32
	if fit < want {
		fit = max(fit, 4)
		level.Warn(logger).Log("msg", "open-file limit is low; serving fewer HTTP connections at once", "limit", limit, "web_max_connections", fit)
		return fit
	}
	return want
}

// dataSourceName reads the DSN from file, else from DATA_SOURCE_NAME.
func dataSourceName(file string) (string, error) {
	if file != "" {
		b, err := config.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--db.dsn-file: %w", err)
		}
		dsn := strings.TrimSpace(string(b))
		if dsn == "" {
			return "", fmt.Errorf("--db.dsn-file %s is empty", file)
		}
		return dsn, nil
	}
	if dsn := os.Getenv("DATA_SOURCE_NAME"); dsn != "" {
		return dsn, nil
	}
	return "", errNoDSN
}

var errNoDSN = errors.New("no database: set DATA_SOURCE_NAME, --db.dsn-file or --config.file")

func newLogger(lvl, format string) log.Logger {
	w := log.NewSyncWriter(os.Stderr)
	var logger log.Logger
	if format == "json" {
		logger = log.NewJSONLogger(w)
	} else {
		logger = log.NewLogfmtLogger(w)
	}
	return level.NewFilter(logger, level.Allow(level.ParseDefault(lvl, level.InfoValue())))
}

// bridgeSlog gives exporter-toolkit, which logs with slog, the go-kit
// logger: one log stream, with go-kit's "ts" key for slog's "time".
func bridgeSlog(base log.Logger) *slog.Logger {
	renamed := log.LoggerFunc(func(kv ...any) error {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == slog.TimeKey {
				kv[i] = "ts"
				if t, ok := kv[i+1].(time.Time); ok {
					kv[i+1] = t.UTC().Format(time.RFC3339Nano)
				}
			}
		}
		return base.Log(kv...)
	})
	return slog.New(sloggokit.NewGoKitHandler(renamed, slog.LevelDebug))
}

func enabled(cfg collector.Config) []string {
	var names []string
	for _, n := range collector.Names() {
		if _, ok := cfg.Collectors[n]; ok {
			names = append(names, n)
		}
	}
	return names
}
