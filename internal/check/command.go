package check

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/campaign-exporter/campaign_exporter/collector"
	"github.com/campaign-exporter/campaign_exporter/internal/config"
	"github.com/campaign-exporter/campaign_exporter/internal/server"
	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/exporter-toolkit/web"
)

// ExitHelp documents the exit codes, for --help and the README.
const ExitHelp = "Exit codes, as Nagios plugins: 0 every status PASS, INFO or GOOD; 1 the worst is WARNING or SLOW; " +
	"2 a check is FAIL; 3 (UNKNOWN) the database cannot be reached, a collector fails, a status is outside the known set, or the check cannot run or deliver its output."

// Output says where a check's report goes.
type Output struct {
	Format  string // one of Formats
	File    string // "": stdout
	PushURL string // "": no push
	PushJob string
}

// Command runs the check command: one check against the database of dsn,
// or against target of configFile, its report written as out says. It
// returns the exit code; problems that stop it are written to stderr.
func Command(ctx context.Context, o Options, configFile, target string, out Output, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "campaign_exporter check: %v\n", err)
		return ExitUnknown
	}
	if target != "" {
		if configFile == "" {
			return fail(errors.New("--target needs --config.file"))
		}
		f, err := config.Load(configFile, collector.Names())
		if err != nil {
			return fail(err)
		}
		spec, ok := find(f, target)
		if !ok {
			return fail(fmt.Errorf("--target %q is not in %s", target, configFile))
		}
		o.Config, o.Pool = server.TargetSettings(o.Config, o.Pool, spec)
		o.DSN, o.Target = spec.DSN, spec.Name
		o.Logger = log.With(o.Logger, "target", spec.Name)
	} else if o.DSN == "" {
		return fail(errors.New("no database: set DATA_SOURCE_NAME or --db.dsn-file, or --config.file with --target"))
	}

	r, err := Run(ctx, o)
	if err != nil {
		return fail(err)
	}
	if out.PushURL != "" {
		if err := Push(out.PushURL, out.PushJob, o.Target, r); err != nil {
			r.Errors = append(r.Errors, Error{"push", err.Error()})
		}
	}
	var buf bytes.Buffer
	if err := Write(&buf, r, out.Format); err != nil {
		return fail(err)
	}
	if out.File == "" {
		if _, err := stdout.Write(buf.Bytes()); err != nil {
			return fail(err)
		}
	} else if err := WriteFile(out.File, buf.Bytes()); err != nil {
		return fail(fmt.Errorf("--output.file: %w", err))
	}
	return r.ExitCode()
}

func find(f *config.File, name string) (config.Target, bool) {
	for _, t := range f.Targets {
		if t.Name == name {
			return t, true
		}
	}
	return config.Target{}, false
}

// ValidateConfig is the check-config command: it loads configFile and
// webConfigFile as the server does at start (without connecting to any
// database) and returns 0 when both are valid, else 1 with the server's
// messages on stderr.
func ValidateConfig(configFile, webConfigFile string, cfg collector.Config, po collector.PoolOptions, stdout, stderr io.Writer) int {
	if configFile == "" && webConfigFile == "" {
		fmt.Fprintln(stderr, "campaign_exporter check-config: nothing to check: give --config.file, --web.config.file or both")
		return 1
	}
	code := 0
	if configFile != "" {
		// The server's own loader: the same validation and messages, and
		// pools that are built but never connect.
		t, err := server.NewTargets(configFile, cfg, po, 0, prometheus.NewRegistry(), log.NewNopLogger())
		if err != nil {
			fmt.Fprintf(stderr, "campaign_exporter check-config: %v\n", err)
			code = 1
		} else {
			t.Close()
			fmt.Fprintf(stdout, "%s: valid\n", configFile)
		}
	}
	if webConfigFile != "" {
		if err := web.Validate(webConfigFile); err != nil {
			fmt.Fprintf(stderr, "campaign_exporter check-config: %s: %v\n", webConfigFile, err)
			code = 1
		} else {
			fmt.Fprintf(stdout, "%s: valid\n", webConfigFile)
		}
	}
	return code
}
