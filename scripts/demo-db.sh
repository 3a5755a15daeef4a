#!/usr/bin/env bash
# Creates (or refreshes) the demo database: the reference schema, demo data
# and a couple of injected faults, so the FAIL and WARNING paths show.
#   PGADMIN     DSN of a role that may create databases
#   DEMO_DB     database name (default campaign_demo)
#   DEMO_SCALE  demo data scale; 1 is about 100k orders
set -euo pipefail
cd "$(dirname "$0")/.."

PGADMIN=${PGADMIN:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
DEMO_DB=${DEMO_DB:-campaign_demo}
DEMO_SCALE=${DEMO_SCALE:-1}

case "$DEMO_DB" in *[!a-z0-9_]*|"") echo "DEMO_DB must match [a-z0-9_]+" >&2; exit 2;; esac
command -v psql >/dev/null || { echo "psql not found: install PostgreSQL's client (apt-get install postgresql-client)" >&2; exit 1; }

psql_admin() { psql "$PGADMIN" -v ON_ERROR_STOP=1 -qAt "$@"; }
# with_db DSN NAME: the DSN pointed at database NAME, its parameters (a
# socket's host=, sslmode) kept; URL or key=value form.
with_db() {
  case $1 in
  postgres://* | postgresql://*) printf '%s\n' "$1" | sed -E "s#^(postgres(ql)?://[^/?]*)(/[^?]*)?#\\1/$2#" ;;
  *) printf '%s dbname=%s\n' "$1" "$2" ;;
  esac
}
db_dsn=$(with_db "$PGADMIN" "$DEMO_DB")

echo "demo: recreating database $DEMO_DB"
psql_admin -c "DROP DATABASE IF EXISTS $DEMO_DB WITH (FORCE)" -c "CREATE DATABASE $DEMO_DB"

for f in $(ls schema/*.sql | grep -v exporter-role.sql | sort); do
  psql "$db_dsn" -v ON_ERROR_STOP=1 -q -f "$f"
done
psql "$db_dsn" -v ON_ERROR_STOP=1 -q -f schema/exporter-role.sql
psql "$db_dsn" -v ON_ERROR_STOP=1 -q -f testdata/demo/generate.sql -f testdata/demo/faults.sql

echo "demo: generating data at scale $DEMO_SCALE"
psql "$db_dsn" -v ON_ERROR_STOP=1 -qAt -c "SELECT campaign_demo_generate($DEMO_SCALE)"
echo "demo: injecting faults (an orphaned campaign_id, an unsynced holiday)"
psql "$db_dsn" -v ON_ERROR_STOP=1 -qAt \
  -c "SELECT campaign_fault_orphan_campaign()" \
  -c "SELECT campaign_fault_unsynced_holiday()" >/dev/null
psql "$db_dsn" -v ON_ERROR_STOP=1 -q -c "SELECT * FROM check_campaign_system_health()"
echo "demo: database $DEMO_DB ready: $db_dsn"
