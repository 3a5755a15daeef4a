// Package bench holds the exporter's benchmarks against the goals
// (make bench) and its load test (make load), as testing.B benchmarks on a
// real PostgreSQL holding demo data (internal/pgtest's server; -scale 10,
// the default, is 1M orders):
//
//	go test -run '^$' -bench Exporter -benchtime 1x ./internal/bench
//	go test -run '^$' -bench Load -benchtime 1x ./internal/bench -load.duration 60s
//
// Each benchmark measures what it compares in one run, interleaved, and
// reports one sub-benchmark line per row (b.ReportMetric); a missed goal
// fails the benchmark, so go test exits non-zero. Timings are only ever
// compared with a baseline of the same run: the machine may be slow and
// shared. EXPORTER_BIN names a built exporter, else it is built.
package bench
