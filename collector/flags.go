package collector

import (
	"fmt"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
)

// Flags holds the parsed --collector.* flags.
type Flags struct {
	enabled     map[string]*bool
	minInterval map[string]*time.Duration
	timeout     map[string]*time.Duration
	tableStats  *string
	indexUsage  *string
	retention   *time.Duration
}

// AddFlags defines --[no-]collector.NAME, --collector.NAME.min-interval,
// --collector.NAME.timeout and the collectors' own options on app.
func AddFlags(app *kingpin.Application) *Flags {
	f := &Flags{enabled: map[string]*bool{}, minInterval: map[string]*time.Duration{}, timeout: map[string]*time.Duration{}}
	for _, name := range Names() {
		fac := factories[name]
		state := "disabled"
		if fac.enabledDefault {
			state = "enabled"
		}
		f.enabled[name] = app.Flag("collector."+name, fmt.Sprintf("Enable the %s collector (default: %s).", name, state)).
			Default(fmt.Sprint(fac.enabledDefault)).Bool()
		f.minInterval[name] = DurationFlag(app, "collector."+name+".min-interval",
			fmt.Sprintf("Serve the %s collector's data from cache until it is this old; 0 runs it on every scrape.", name),
			fac.intervalDefault.String())
		f.timeout[name] = DurationFlag(app, "collector."+name+".timeout",
			fmt.Sprintf("Bound one run of the %s collector; 0 leaves only the scrape's deadline.", name), "0s")
	}
	tables := strings.Join(DefaultTables, ",")
	f.tableStats = app.Flag("collector.table_stats.tables", "Comma-separated tables whose statistics are reported.").Default(tables).String()
	f.indexUsage = app.Flag("collector.index_usage.tables", "Comma-separated tables whose indexes are reported.").Default(tables).String()
	f.retention = DurationFlag(app, "collector.maintenance.backup-retention", "Age past which a dim_date_backup row counts as expired.", "720h")
	return f
}

// Config is the collector configuration the flags describe.
func (f *Flags) Config() (Config, error) {
	c := Config{Collectors: map[string]Settings{}}
	for name, on := range f.enabled {
		if *f.minInterval[name] < 0 || *f.timeout[name] < 0 {
			return c, fmt.Errorf("collector %s: negative duration", name)
		}
		if *on {
			c.Collectors[name] = Settings{MinInterval: *f.minInterval[name], Timeout: *f.timeout[name]}
		}
	}
	var err error
	if c.Options.TableStatsTables, err = splitTables("collector.table_stats.tables", *f.tableStats); err != nil {
		return c, err
	}
	if c.Options.IndexUsageTables, err = splitTables("collector.index_usage.tables", *f.indexUsage); err != nil {
		return c, err
	}
	if *f.retention <= 0 {
		return c, fmt.Errorf("--collector.maintenance.backup-retention must be positive, got %s", *f.retention)
	}
	c.Options.BackupRetention = *f.retention
	return c, nil
}

func splitTables(flag, s string) ([]string, error) {
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--%s names no table", flag)
	}
	return out, nil
}

// Flagger is where flags are defined: a kingpin application or command.
type Flagger interface {
	Flag(name, help string) *kingpin.FlagClause
}

// DurationFlag defines a duration flag whose parse error names the flag
// (kingpin's own does not).
func DurationFlag(app Flagger, name, help, def string) *time.Duration {
	d := new(time.Duration)
	app.Flag(name, help).Default(def).SetValue(namedDuration{name, d})
	return d
}

type namedDuration struct {
	name string
	d    *time.Duration
}

func (n namedDuration) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("--%s: %q is not a duration such as 30s or 5m", n.name, s)
	}
	*n.d = d
	return nil
}

func (n namedDuration) String() string { return n.d.String() }
