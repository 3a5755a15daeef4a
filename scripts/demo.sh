#!/usr/bin/env bash
# Serves the demo database with the exporter, in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."

PGADMIN=${PGADMIN:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
DEMO_DB=${DEMO_DB:-campaign_demo}
DEMO_LISTEN=${DEMO_LISTEN:-:9817}

base=${PGADMIN%%\?*}
export DATA_SOURCE_NAME="${base%/*}/$DEMO_DB?sslmode=disable"
port=${DEMO_LISTEN##*:}

cat <<MSG

campaign_exporter is serving the $DEMO_DB database:
  http://localhost:$port/metrics
  curl -s http://localhost:$port/metrics | grep -E '^campaign_(up|health_check_status|holiday_integrity_issues)'
Stop it with Ctrl-C.

MSG
exec ./campaign_exporter --web.listen-address="$DEMO_LISTEN" "$@"
