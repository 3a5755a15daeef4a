#!/usr/bin/env bash
# Serves the demo database with the exporter, in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."

PGADMIN=${PGADMIN:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
DEMO_DB=${DEMO_DB:-campaign_demo}
DEMO_LISTEN=${DEMO_LISTEN:-:9817}

# with_db DSN NAME: the DSN pointed at database NAME, its parameters (a
# socket's host=, sslmode) kept; URL or key=value form.
with_db() {
  case $1 in
  postgres://* | postgresql://*) printf '%s\n' "$1" | sed -E "s#^(postgres(ql)?://[^/?]*)(/[^?]*)?#\\1/$2#" ;;
  *) printf '%s dbname=%s\n' "$1" "$2" ;;
  esac
}
DATA_SOURCE_NAME=$(with_db "$PGADMIN" "$DEMO_DB")
export DATA_SOURCE_NAME
port=${DEMO_LISTEN##*:}

cat <<MSG

campaign_exporter is serving the $DEMO_DB database:
  http://localhost:$port/metrics
  curl -s http://localhost:$port/metrics | grep -E '^campaign_(up|health_check_status|holiday_integrity_issues)'
Stop it with Ctrl-C.

MSG
exec ./campaign_exporter --web.listen-address="$DEMO_LISTEN" "$@"
