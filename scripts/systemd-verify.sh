#!/usr/bin/env bash
# Checks packaging/systemd: systemd-analyze verify of the unit, its
# hardening score (systemd-analyze security, offline), and that the flags of
# the unit and the sample environment file start the exporter. Run by
# `make systemd-verify` with BINARY, a built campaign_exporter.
#
# SYSTEMD_MAX_EXPOSURE: the highest exposure score accepted (0 best, 10 worst).
# VERIFY_DSN: the database the exporter is started against.
set -euo pipefail
cd "$(dirname "$0")/.."

BINARY=${BINARY:?BINARY is required}
MAX_EXPOSURE=${SYSTEMD_MAX_EXPOSURE:-2.0}
VERIFY_DSN=${VERIFY_DSN:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
unit=packaging/systemd/campaign_exporter.service
env=packaging/systemd/campaign_exporter.default

fail() { echo "systemd-verify: FAIL: $*" >&2; exit 1; }

tmp=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# The unit as installed, but with the binary under test: verify checks the
# ExecStart binary exists.
sed "s|/usr/local/bin/campaign_exporter|$tmp/campaign_exporter|" "$unit" >"$tmp/campaign_exporter.service"
cp "$BINARY" "$tmp/campaign_exporter"

if command -v systemd-analyze >/dev/null; then
  # verify prints warnings and exits 0 for some of them: any output fails.
  out=$(cd "$tmp" && SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no ./campaign_exporter.service 2>&1) || fail "systemd-analyze verify: $out"
  [ -z "$out" ] || fail "systemd-analyze verify: $out"
  echo "systemd-verify: ok: systemd-analyze verify"
  score=$(cd "$tmp" && systemd-analyze security --offline=yes --no-pager ./campaign_exporter.service 2>&1 | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
  [ -n "$score" ] || fail "no exposure score from systemd-analyze security"
  awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s <= m) }' || fail "exposure $score above $MAX_EXPOSURE"
  echo "systemd-verify: ok: exposure $score (at most $MAX_EXPOSURE)"
else
  echo "systemd-verify: systemd-analyze not found: unit not verified" >&2
  [ "${REQUIRE_SYSTEMD:-}" = yes ] && exit 1
fi

# Every hardening directive the unit promises is set.
for d in DynamicUser=yes ProtectSystem=strict NoNewPrivileges=yes Restart=on-failure \
         "LoadCredential=dsn:" "--db.dsn-file=%d/dsn" "CapabilityBoundingSet=" PrivateTmp=yes; do
  grep -q -- "$d" "$unit" || fail "$unit lacks $d"
done
if grep -Eq '^[^#]*(DATA_SOURCE_NAME|postgres://)' "$unit" "$env"; then
  fail "a DSN in the unit or the sample environment file"
fi

# The unit's flags with the sample's, as systemd would pass them, start the
# exporter (on a free port instead of 9817).
# shellcheck disable=SC1090
args=$(. "$env" && printf '%s' "$CAMPAIGN_EXPORTER_ARGS")
port=""
for p in $(seq 19918 20018); do
  if [ -z "$(ss -Hltn "sport = :$p")" ]; then port=$p; break; fi
done
[ -n "$port" ] || fail "no free port"
args=${args//:9817/:$port}
install -m 0600 /dev/null "$tmp/dsn"
printf '%s\n' "$VERIFY_DSN" >"$tmp/dsn"
# shellcheck disable=SC2086 # split like systemd splits $VAR
"$tmp/campaign_exporter" --db.dsn-file="$tmp/dsn" $args >"$tmp/log" 2>&1 &
pid=$!
for _ in $(seq 1 50); do
  curl -fsS "http://127.0.0.1:$port/-/healthy" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/log" >&2; fail "the exporter did not start with: $args"; }
  sleep 0.2
done
curl -fsS -o "$tmp/metrics" "http://127.0.0.1:$port/metrics" || { cat "$tmp/log" >&2; fail "scrape of /metrics failed"; }
grep -q '^campaign_up ' "$tmp/metrics" || fail "no campaign_up on /metrics"
echo "systemd-verify: ok: the exporter starts with the unit's and the sample's flags: $args"
