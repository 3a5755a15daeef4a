#!/usr/bin/env bash
# Runs a command with a PostgreSQL server named in an environment variable,
# starting a throwaway one when none is given and the local one is not usable.
#
#   scripts/pg-throwaway.sh VAR COMMAND [ARG...]
#   scripts/pg-throwaway.sh --check VAR    only tell whether it could (at once,
#                                          before a long build), exit 1 if not
#
# VAR is the variable the command reads the server's admin DSN from
# (CAMPAIGN_TEST_DSN for the tests, PGADMIN for the demo).
#
#   1. VAR set and not empty: the command runs with it, nothing else happens.
#   2. Otherwise, when the local server answers at 127.0.0.1:5432 as user
#      postgres without a password, as a superuser: VAR names it.
#   3. Otherwise a throwaway cluster: initdb into .pg/ (ignored by git),
#      trust on a Unix socket in that folder only, which is private to its
#      owner, and scram-sha-256 with a random password on a free loopback
#      port (for the tests that need TCP). It is stopped and removed when
#      the command ends or is interrupted. As root, the cluster runs as the
#      postgres system user (initdb refuses root).
#
# PostgreSQL's binaries are looked up through pg_config --bindir, PATH, then
# the newest of /usr/lib/postgresql/*/bin (Debian, Ubuntu) and Homebrew's
# postgresql@* kegs.
set -euo pipefail

check=""
if [ "${1:-}" = --check ]; then
	check=1
	shift
fi
if [ $# -lt $((check ? 1 : 2)) ]; then
	echo "usage: $0 VAR COMMAND [ARG...] | $0 --check VAR" >&2
	exit 2
fi
var=$1
shift
case $var in *[!A-Za-z0-9_]* | "") echo "pg-throwaway: bad variable name $var" >&2; exit 2 ;; esac
root=$(cd "$(dirname "$0")/.." && pwd)
default_dsn='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable'

say() { echo "pg-throwaway: $*" >&2; }
# proceed: runs the command in place of this script (or, with --check, says yes).
proceed() {
	[ -z "$check" ] || exit 0
	exec "$@"
}

# 1. A server given by the caller.
if [ -n "${!var:-}" ]; then
	proceed "$@"
fi

# find_bindir: the directory holding initdb, pg_ctl and postgres, or nothing.
find_bindir() {
	local d
	if command -v pg_config >/dev/null 2>&1; then
		d=$(pg_config --bindir 2>/dev/null || true)
		if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return; fi
	fi
	if d=$(command -v initdb 2>/dev/null) && [ -x "$(dirname "$d")/pg_ctl" ]; then
		dirname "$d"
		return
	fi
	for d in $(ls -d /usr/lib/postgresql/*/bin /opt/homebrew/opt/postgresql@*/bin /usr/local/opt/postgresql@*/bin 2>/dev/null | sort -V -r); do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return; fi
	done
}

install_hint() {
	local id=""
	[ -r /etc/os-release ] && id=$(. /etc/os-release && echo "${ID:-} ${ID_LIKE:-}")
	case "$(uname -s) $id" in
	Darwin*) echo "  brew install postgresql@17" ;;
	*debian* | *ubuntu*) echo "  sudo apt-get install -y postgresql" ;;
	*fedora* | *rhel* | *centos*) echo "  sudo dnf install -y postgresql-server" ;;
	*)
		echo "  Debian/Ubuntu: sudo apt-get install -y postgresql"
		echo "  Fedora:        sudo dnf install -y postgresql-server"
		echo "  macOS:         brew install postgresql@17"
		;;
	esac
}

bindir=$(find_bindir)
psql=""
if [ -n "$bindir" ] && [ -x "$bindir/psql" ]; then
	psql=$bindir/psql
elif command -v psql >/dev/null 2>&1; then
	psql=$(command -v psql)
fi

# --check needs no connection when a cluster can be made.
if [ -n "$check" ] && [ -n "$bindir" ] && { [ "$var" != PGADMIN ] || [ -n "$psql" ]; } &&
	{ [ "$(id -u)" != 0 ] || id postgres >/dev/null 2>&1; }; then
	exit 0
fi

# 2. The local server, when it is usable as is. A quick check: a refused
# connection or a password request fails at once.
if [ -n "$psql" ]; then
	if [ "$(PGCONNECT_TIMEOUT=3 "$psql" -X -w -qAt "$default_dsn" -c 'SHOW is_superuser' 2>/dev/null)" = on ]; then
		export "$var=$default_dsn"
		proceed "$@"
	fi
elif [ -z "$bindir" ] && [ "$var" = CAMPAIGN_TEST_DSN ] && (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
	# No client to check it with, but something listens: the tests (which need
	# no client) try it, as they always did.
	export "$var=$default_dsn"
	proceed "$@"
fi

# 3. A throwaway cluster.
if [ -z "$bindir" ]; then
	say "no server given in $var, none usable at 127.0.0.1:5432, and PostgreSQL's binaries (initdb, pg_ctl) are not installed. Install them with:"
	install_hint >&2
	exit 1
fi
if [ -z "$psql" ] && [ "$var" = PGADMIN ]; then
	say "psql is not installed; install PostgreSQL's client:"
	install_hint >&2
	exit 1
fi

# as_owner: runs a command as the cluster's owner (the postgres system user
# when we are root, since initdb and postgres refuse to run as root).
owner=""
if [ "$(id -u)" = 0 ]; then
	if ! id postgres >/dev/null 2>&1; then
		say "running as root, and initdb refuses root; there is no 'postgres' system user to run the throwaway cluster as. Run as a normal user, or create it (useradd --system --home-dir /var/lib/postgresql postgres)."
		exit 1
	fi
	owner=postgres
fi
[ -z "$check" ] || exit 0
as_owner() {
	if [ -z "$owner" ]; then
		"$@"
	elif command -v runuser >/dev/null 2>&1; then
		(cd / && runuser -u "$owner" -- "$@")
	else
		(cd / && su "$owner" -s /bin/sh -c '"$0" "$@"' -- "$@")
	fi
}

# Clusters whose wrapper died without stopping them (SIGKILL, a crash) are
# stopped and removed first.
state=$root/.pg
mkdir -p "$state"
for old in "$state"/run.*; do
	[ -d "$old" ] || continue
	pid=$(cat "$old/wrapper.pid" 2>/dev/null || true)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then continue; fi
	if [ -f "$old/data/postmaster.pid" ]; then
		as_owner "$bindir/pg_ctl" -D "$old/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$old"
done

# The cluster's folder: in .pg/ when its owner can reach it and a socket path
# there is short enough (at most 107 bytes), else in /tmp.
run=$(mktemp -d "$state/run.XXXXXX")
echo $$ >"$run/wrapper.pid"
[ -z "$owner" ] || chown "$owner" "$run"
if [ $((${#run} + 16)) -gt 100 ] || ! as_owner test -w "$run" -a -x "$run"; then
	rm -rf "$run"
	run=$(mktemp -d /tmp/campaign-pg.XXXXXX)
	[ -z "$owner" ] || chown "$owner" "$run"
	say "using $run ($state is out of reach of user ${owner:-$(id -un)} or too deep for a socket path)"
fi

cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	# Also a server that pg_ctl gave up waiting for.
	if [ -f "$run/data/postmaster.pid" ]; then
		as_owner "$bindir/pg_ctl" -D "$run/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
			as_owner "$bindir/pg_ctl" -D "$run/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$run"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

say "no server given in $var and none usable as is at 127.0.0.1:5432 (user postgres, no password): making a throwaway one"
password=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
(umask 077 && printf '%s\n' "$password" >"$run/pw")
[ -z "$owner" ] || chown "$owner" "$run/pw"
if ! as_owner "$bindir/initdb" -D "$run/data" -U postgres --pwfile="$run/pw" -E UTF8 --no-locale \
	--auth-local=trust --auth-host=scram-sha-256 -N >"$run/initdb.log" 2>&1; then
	say "initdb failed:"
	cat "$run/initdb.log" >&2
	exit 1
fi
rm -f "$run/pw"
# Trust on the socket (in the private folder) only; passwords over TCP.
printf '%s\n' 'local all all trust' 'host all all 127.0.0.1/32 scram-sha-256' >"$run/data/pg_hba.conf"

# A free loopback port: try a few random ones.
for attempt in 1 2 3 4 5 6 7 8; do
	port=$((49152 + (RANDOM * 32768 + RANDOM) % 16000))
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then continue; fi
	if as_owner "$bindir/pg_ctl" -D "$run/data" -l "$run/server.log" -w -t 60 -s \
		-o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$run'" \
		-o "-c password_encryption=scram-sha-256 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
		start >/dev/null 2>&1; then
		break
	fi
	if ! grep -q 'could not bind\|could not create any TCP/IP sockets\|already in use' "$run/server.log" 2>/dev/null || [ "$attempt" = 8 ]; then
		say "the throwaway server did not start:"
		cat "$run/server.log" >&2 2>/dev/null || true
		exit 1
	fi
	: >"$run/server.log"
done

dsn="postgres://postgres:$password@/postgres?host=$run&port=$port&sslmode=disable"
version=$("$bindir/pg_ctl" --version | sed -E 's/^[^0-9]*([0-9][0-9.]*).*/\1/')
say "started a throwaway PostgreSQL $version in $run, stopped when this command ends:"
say "  $var=$dsn"
export "$var=$dsn"
# The command runs as a child (not exec), so the trap stops the server after
# it; an interrupt reaches it too, through the terminal's process group.
rc=0
"$@" || rc=$?
exit "$rc"
