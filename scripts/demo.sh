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
# as_exporter DSN: the DSN as the least-privilege role campaign_exporter
# (schema/exporter-role.sql), without the admin's password.
as_exporter() {
  case $1 in
  postgres://* | postgresql://*) printf '%s\n' "$1" | sed -E 's#^(postgres(ql)?://)([^@/?]*@)?#\1campaign_exporter@#' ;;
  *) printf '%s user=campaign_exporter\n' "$(printf '%s\n' "$1" | sed -E 's/(^| )password=[^ ]*//g')" ;;
  esac
}
admin_dsn=$(with_db "$PGADMIN" "$DEMO_DB")
# Serve as a real deployment does, through the exporter's role, where it
# can log in without a password (trust or a socket); else as the admin.
DATA_SOURCE_NAME=$(as_exporter "$admin_dsn")
if psql "$DATA_SOURCE_NAME" -w -qAt -c 'SELECT 1' >/dev/null 2>&1; then
  role="the least-privilege role campaign_exporter"
else
  DATA_SOURCE_NAME=$admin_dsn
  role="PGADMIN's role (campaign_exporter cannot log in without a password on this server)"
fi
export DATA_SOURCE_NAME
port=${DEMO_LISTEN##*:}

cat <<MSG

campaign_exporter is serving the $DEMO_DB database as $role:
  http://localhost:$port/metrics
  curl -s http://localhost:$port/metrics | grep -E '^campaign_(up|health_check_status|holiday_integrity_issues)'
Stop it with Ctrl-C.

MSG
exec ./campaign_exporter --web.listen-address="$DEMO_LISTEN" "$@"
