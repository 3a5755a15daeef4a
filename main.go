// Command campaign_exporter exports the health, attribution-quality and
// holiday-integrity checks of a PostgreSQL campaign-attribution system,
// with its table and index statistics, as Prometheus metrics.
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/campaign-exporter/campaign_exporter/collector"
	"github.com/campaign-exporter/campaign_exporter/internal/server"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
	sloggokit "github.com/tjhop/slog-gokit"
)

const exporterName = "campaign_exporter"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", exporterName, err)
		os.Exit(1)
	}
}

func run(args []string) error {
	app := kingpin.New(exporterName, "Prometheus exporter for the PostgreSQL campaign-attribution system.")
	var (
		webFlags      = kingpinflag.AddFlags(app, ":9817")
		metricsPath   = app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").String()
		configFile    = app.Flag("config.file", "Multi-target config file: its targets are served on /probe?target=NAME.").String()
		dsnFile       = app.Flag("db.dsn-file", "File holding the data source name; else the DATA_SOURCE_NAME environment variable.").String()
		maxConns      = app.Flag("db.max-connections", "Most connections open to the database at once.").Default("3").Int32()
		stmtTimeout   = collector.DurationFlag(app, "db.statement-timeout", "statement_timeout of the exporter's sessions.", "30s")
		lockTimeout   = collector.DurationFlag(app, "db.lock-timeout", "lock_timeout of the exporter's sessions.", "2s")
		simple        = app.Flag("db.simple-protocol", "Use the simple query protocol (no prepared statements), for pgbouncer in transaction mode.").Bool()
		scrapeMax     = collector.DurationFlag(app, "scrape.timeout", "Longest a scrape may take, even if Prometheus allows more.", "30s")
		scrapeOffset  = collector.DurationFlag(app, "scrape.timeout-offset", "Kept back from Prometheus's scrape timeout header.", "500ms")
		logLevel      = app.Flag("log.level", "Only log messages with the given severity or above: debug, info, warn, error.").Default("info").Enum("debug", "info", "warn", "error")
		logFormat     = app.Flag("log.format", "Output format of log messages: logfmt or json.").Default("logfmt").Enum("logfmt", "json")
		collectorFlag = collector.AddFlags(app)
	)
	app.Version(version.Print(exporterName))
	app.HelpFlag.Short('h')
	if _, err := app.Parse(args); err != nil {
		return err
	}

	baseLogger := newLogger(*logLevel, *logFormat)
	logger := log.With(baseLogger, "ts", log.DefaultTimestampUTC, "caller", log.DefaultCaller)
	cfg, err := collectorFlag.Config()
	if err != nil {
		return err
	}
	if *scrapeMax <= 0 {
		return fmt.Errorf("--scrape.timeout must be positive, got %s", *scrapeMax)
	}
	poolOpts := collector.PoolOptions{MaxConns: *maxConns, StatementTimeout: *stmtTimeout, LockTimeout: *lockTimeout, SimpleProtocol: *simple}
	timeouts := server.Timeouts{Max: *scrapeMax, Offset: *scrapeOffset}
	base := prometheus.NewRegistry()
	base.MustRegister(
		versioncollector.NewCollector(exporterName),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	mux := http.NewServeMux()

	// The single database of DATA_SOURCE_NAME on /metrics; with a config
	// file it is optional, and /metrics then shows the exporter's own metrics.
	dsn, err := dataSourceName(*dsnFile)
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
		mux.Handle(*metricsPath, server.ScrapeHandler(exp, base, timeouts, logger))
	case *configFile != "" && errors.Is(err, errNoDSN):
		mux.Handle(*metricsPath, promhttp.HandlerFor(base, promhttp.HandlerOpts{}))
	default:
		return err
	}

	if *configFile != "" {
		targets, err := server.NewTargets(*configFile, cfg, poolOpts, *scrapeMax, base, logger)
		if err != nil {
			return err
		}
		defer targets.Close()
		mux.Handle("/probe", server.ProbeHandler(targets, timeouts, logger))
		mux.Handle("/-/reload", server.ReloadHandler(targets, logger))
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
	if *metricsPath != "/" {
		landing, err := web.NewLandingPage(web.LandingConfig{
			Name:        exporterName,
			Description: "Prometheus exporter for the PostgreSQL campaign-attribution system",
			Version:     version.Info(),
			Links:       []web.LandingLinks{{Address: *metricsPath, Text: "Metrics"}},
		})
		if err != nil {
			return err
		}
		mux.Handle("/", landing)
	}

	level.Info(logger).Log("msg", "starting "+exporterName, "version", version.Info(), "collectors", strings.Join(enabled(cfg), ","))
	srv := &http.Server{Handler: mux}
	slogger := bridgeSlog(baseLogger)
	if err := web.ListenAndServe(srv, webFlags, slogger); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// dataSourceName reads the DSN from file, else from DATA_SOURCE_NAME.
func dataSourceName(file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
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
