package server

import (
	"github.com/campaign-exporter/campaign_exporter/collector"
	"github.com/campaign-exporter/campaign_exporter/internal/config"
)

// TargetSettings is what a config file's target runs with: the flags'
// collectors and pool options with the target's overrides applied. The
// server and the check command both build targets with it.
func TargetSettings(base collector.Config, pool collector.PoolOptions, spec config.Target) (collector.Config, collector.PoolOptions) {
	cfg := collector.Config{Collectors: map[string]collector.Settings{}, Options: base.Options}
	for name, s := range base.Collectors {
		cfg.Collectors[name] = s
	}
	if spec.Collectors != nil {
		cfg.Collectors = map[string]collector.Settings{}
		for _, name := range spec.Collectors {
			s, ok := base.Collectors[name]
			if !ok {
				s = collector.Settings{MinInterval: collector.DefaultMinInterval(name)}
			}
			cfg.Collectors[name] = s
		}
	}
	for name, d := range spec.MinInterval {
		if s, ok := cfg.Collectors[name]; ok {
			s.MinInterval = d
			cfg.Collectors[name] = s
		}
	}
	if spec.MaxConnections > 0 {
		pool.MaxConns = spec.MaxConnections
	}
	return cfg, pool
}
