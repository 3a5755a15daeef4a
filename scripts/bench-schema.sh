#!/usr/bin/env bash
# Times the check functions of schema/ on demo data of a given size, next to
# the floor: one aggregate over orders, measured in the same run.
#
#   scripts/bench-schema.sh [ORDER_COUNT ...]      (default: 1000000 10000000)
#
# CAMPAIGN_BENCH_DSN names the server (default: the local one as postgres);
# CAMPAIGN_BENCH_RUNS the timed runs per query (default 5, after one warm-up).
# Works in a scratch database, campaign_bench, created afresh and dropped at
# the end. Each query runs through the same timing function (plpgsql EXECUTE,
# clock_timestamp), so the ratios compare like with like.
set -euo pipefail

dsn=${CAMPAIGN_BENCH_DSN:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
runs=${CAMPAIGN_BENCH_RUNS:-5}
if [ $# -gt 0 ]; then counts=("$@"); else counts=(1000000 10000000); fi
root=$(cd "$(dirname "$0")/.." && pwd)
db=campaign_bench
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

# with_db DSN NAME: the DSN pointed at database NAME (URL or key=value form).
with_db() {
	case $1 in
	postgres://* | postgresql://*) printf '%s\n' "$1" | sed -E "s#^(postgres(ql)?://[^/?]*)(/[^?]*)?#\\1/$2#" ;;
	*) printf '%s dbname=%s\n' "$1" "$2" ;;
	esac
}
bench_dsn=$(with_db "$dsn" "$db")

admin() { psql "$dsn" -X -q -v ON_ERROR_STOP=1 "$@"; }
bench() { psql "$bench_dsn" -X -q -v ON_ERROR_STOP=1 "$@"; }

for n in "${counts[@]}"; do
	case $n in '' | *[!0-9]*)
		echo "order counts must be whole numbers, got '$n'" >&2
		exit 2
		;;
	esac
done

admin -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
verdicts=$(mktemp)
trap 'admin -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true; rm -f "$verdicts"' EXIT

for f in "$root"/schema/[0-9]*.sql "$root/testdata/demo/generate.sql"; do
	bench -f "$f"
done

# The timing function lives in the database for the run (the database is
# dropped afterwards). Rounds run every query once, interleaved, so that load
# from elsewhere hits all queries alike (the order rotates); one warm-up
# round, then the median of $runs rounds per query.
bench <<'SQL'
CREATE FUNCTION bench_median_ms(queries text[], runs integer) RETURNS SETOF numeric
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    i  integer;
    ms numeric[] := array_fill(NULL::numeric, ARRAY[runs, cardinality(queries)]);
BEGIN
    FOR r IN 0..runs LOOP
        -- Each round starts at another query, so none always runs first.
        FOR k IN 0..cardinality(queries) - 1 LOOP
            i := (r + k) % cardinality(queries) + 1;
            t0 := clock_timestamp();
            EXECUTE queries[i];
            IF r > 0 THEN
                ms[r][i] := interval_to_ms(clock_timestamp() - t0);
            END IF;
        END LOOP;
    END LOOP;
    FOR i IN 1..cardinality(queries) LOOP
        RETURN NEXT (SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms[r][i])::numeric, 1)
                     FROM generate_series(1, runs) AS r);
    END LOOP;
END
$$;
SQL

echo "server: $(bench -At -c "SELECT current_setting('server_version') || ', max_parallel_workers_per_gather=' || current_setting('max_parallel_workers_per_gather') || ', jit=' || current_setting('jit') || ', shared_buffers=' || current_setting('shared_buffers')")"
echo "median of $runs runs; ratio = median / baseline median"
echo
printf '%-10s | %-60s | %12s | %8s\n' orders function "median ms" ratio
printf '%s\n' "-----------+--------------------------------------------------------------+--------------+---------"

baseline="SELECT sum(total_amount) FROM orders WHERE status IN ('paid','processing','shipped','delivered','completed')"
for n in "${counts[@]}"; do
	start=$(date +%s)
	bench -At -c "SELECT campaign_demo_generate($n / 100000.0)" >/dev/null
	bench -c "VACUUM (ANALYZE) orders" -c "ANALYZE"
	echo "# $n orders generated and vacuumed in $(($(date +%s) - start)) s"
	rows=$(
		bench -At -F '|' <<SQL
WITH q(ord, label, query) AS (VALUES
    (1, 'baseline: sum(total_amount) of revenue orders', \$q\$$baseline\$q\$),
    (2, 'check_campaign_system_health()', 'SELECT * FROM check_campaign_system_health()'),
    (3, 'check_holiday_data_integrity()', 'SELECT * FROM check_holiday_data_integrity()'),
    (4, 'check_attribution_quality()', 'SELECT * FROM check_attribution_quality()'),
    (5, 'monitor_system_performance()', 'SELECT * FROM monitor_system_performance()'),
    (6, 'count(*) FROM revenue_attribution_analysis', 'SELECT count(*) FROM revenue_attribution_analysis')
), t AS (
    SELECT q.ord, q.label, m.ms
    FROM q
    JOIN bench_median_ms((SELECT array_agg(query ORDER BY ord) FROM q), $runs) WITH ORDINALITY AS m(ms, ord) USING (ord)
)
SELECT label, ms, round(ms / nullif((SELECT ms FROM t WHERE ord = 1), 0), 2)
FROM t ORDER BY ord;
SQL
	)
	while IFS='|' read -r q ms ratio; do
		printf '%-10s | %-60s | %12s | %8s\n' "$n" "$q" "$ms" "$ratio"
		if [ "$q" = 'check_attribution_quality()' ]; then printf '%s %s\n' "$n" "$ratio" >>"$verdicts"; fi
	done <<<"$rows"
done

# Campaign Overlaps at growing campaign counts: a linear-ish sweep grows ~10x
# per 10x campaigns, a self-join ~100x. The campaign trigger is disabled for
# the bulk load (it is not what is measured here).
echo
printf '%-10s | %-60s | %12s | %8s\n' campaigns function "median ms" "x prev"
printf '%s\n' "-----------+--------------------------------------------------------------+--------------+---------"
prev=""
for c in 1000 10000 100000; do
	ms=$(bench -At <<SQL
ALTER TABLE campaigns DISABLE TRIGGER update_campaign_in_dim_date_v2_trigger;
TRUNCATE campaigns;
SELECT setseed(0.5);
INSERT INTO campaigns (campaign_name, start_date, end_date, attribution_weight)
SELECT 'bench ' || i, s, s + floor(random() * 60)::integer, 1
FROM (SELECT i, DATE '2022-01-01' + floor(random() * 1800)::integer AS s FROM generate_series(1, $c) AS i) AS x;
ALTER TABLE campaigns ENABLE TRIGGER update_campaign_in_dim_date_v2_trigger;
ANALYZE campaigns;
SELECT bench_median_ms(ARRAY['SELECT * FROM check_campaign_system_health()'], $runs);
SQL
	)
	ms=$(printf '%s\n' "$ms" | tail -n 1)
	ratio="-"
	[ -n "$prev" ] && ratio=$(awk -v a="$ms" -v b="$prev" 'BEGIN { printf "%.1f", a / b }')
	printf '%-10s | %-60s | %12s | %8s\n' "$c" "check_campaign_system_health()" "$ms" "$ratio"
	prev=$ms
done

# The goal: check_attribution_quality() within 1.5x the baseline at every
# size measured.
echo
missed=0
while read -r n ratio; do
	if awk -v r="$ratio" 'BEGIN { exit !(r <= 1.5) }'; then v=MET; else v=MISSED; missed=1; fi
	printf 'check_attribution_quality() at most 1.5x the baseline at %s orders: %sx %s\n' "$n" "$ratio" "$v"
done <"$verdicts"
exit $missed
