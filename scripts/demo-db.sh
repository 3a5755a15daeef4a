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

# masked DSN: the DSN without its password, to print.
masked() { printf '%s\n' "$1" | sed -E 's#(://[^:/@]*):[^@]*@#\1:***@#; s#password=[^ &]*#password=***#g'; }
echo "demo: PGADMIN=$(masked "$PGADMIN") DEMO_DB=$DEMO_DB DEMO_SCALE=$DEMO_SCALE (override any of them on make's command line)"

# The demo drops only a database it made itself, marked by this comment.
marker='campaign_exporter demo database: make demo drops and recreates it'
existing=$(psql_admin -c "SELECT 'exists:' || coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = '$DEMO_DB'")
if [ -n "$existing" ]; then
  if [ "${existing#exists:}" != "$marker" ]; then
    echo "demo: database $DEMO_DB exists and was not made by make demo; refusing to drop it." >&2
    echo "demo: choose another name (make demo DEMO_DB=campaign_demo2) or drop it yourself." >&2
    exit 1
  fi
  echo "demo: recreating database $DEMO_DB (made by an earlier make demo)"
  psql_admin -c "DROP DATABASE $DEMO_DB WITH (FORCE)"
else
  echo "demo: creating database $DEMO_DB"
fi
psql_admin -c "CREATE DATABASE $DEMO_DB" -c "COMMENT ON DATABASE $DEMO_DB IS '$marker'"

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
# Settle the generator's dead rows and statistics, as autovacuum would in
# time (it may be off on a test server).
psql "$db_dsn" -v ON_ERROR_STOP=1 -q -c "VACUUM (ANALYZE)"
psql "$db_dsn" -v ON_ERROR_STOP=1 -q -c "SELECT * FROM check_campaign_system_health()"
echo "demo: database $DEMO_DB ready: $(masked "$db_dsn")"
