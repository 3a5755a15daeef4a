package collector

// The registry: each collector file registers its collector in init, and
// the flags and per-target configuration select and tune them by name.

import (
	"sort"
	"time"
)

// Options are collector-specific settings (the --collector.NAME.OPTION flags).
type Options struct {
	// TableStatsTables and IndexUsageTables name the tables reported on.
	TableStatsTables []string
	IndexUsageTables []string
	// BackupRetention is how old a dim_date_backup row may get before it
	// counts as expired.
	BackupRetention time.Duration
}

// perScrape is the default minimum interval of the cheap collectors: fresh
// on every scrape at any usual scrape interval, while scrapes closer than
// this (Prometheus replicas in HA pairs, several dashboards) share one run,
// so the database's load does not grow with the number of scrapers.
const perScrape = 5 * time.Second

// DefaultTables are the tables monitored unless configured otherwise.
var DefaultTables = []string{"campaigns", "dim_date", "holidays", "orders", "dim_date_backup"}

type factory struct {
	name            string
	enabledDefault  bool
	intervalDefault time.Duration
	build           func(Options) Collector
}

// factories is filled by each collector file's init and never changed after.
var factories = map[string]factory{}

func registerCollector(name string, enabledByDefault bool, minInterval time.Duration, build func(Options) Collector) {
	if _, dup := factories[name]; dup {
		panic("collector registered twice: " + name)
	}
	factories[name] = factory{name, enabledByDefault, minInterval, build}
}

// Names lists every registered collector, sorted.
func Names() []string {
	names := make([]string, 0, len(factories))
	for n := range factories {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Settings tune one enabled collector.
type Settings struct {
	// MinInterval: a successful run's data is served from cache until it is
	// this old. 0 runs on every scrape.
	MinInterval time.Duration
	// Timeout bounds one run; 0 leaves only the scrape's deadline.
	Timeout time.Duration
}

// Config selects and tunes the collectors of one target.
type Config struct {
	Collectors map[string]Settings // the enabled ones
	Options    Options
}

// DefaultConfig enables the collectors that are on by default, with their
// default intervals.
func DefaultConfig() Config {
	c := Config{Collectors: map[string]Settings{}, Options: DefaultOptions()}
	for _, f := range factories {
		if f.enabledDefault {
			c.Collectors[f.name] = Settings{MinInterval: f.intervalDefault}
		}
	}
	return c
}

// DefaultOptions are the collector options' defaults.
func DefaultOptions() Options {
	return Options{TableStatsTables: DefaultTables, IndexUsageTables: DefaultTables, BackupRetention: 30 * 24 * time.Hour}
}

// DefaultMinInterval is a collector's built-in minimum interval.
func DefaultMinInterval(name string) time.Duration { return factories[name].intervalDefault }
