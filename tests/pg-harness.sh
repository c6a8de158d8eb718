#!/bin/sh
# pg-harness.sh: a throwaway PostgreSQL cluster for the tests.
#   pg-harness.sh start DIR    initdb in DIR, start, create database recalld;
#                              prints the libpq connection string
#   pg-harness.sh stop DIR     stop the server (fast), keep the data
#   pg-harness.sh resume DIR   start the stopped server again
#   pg-harness.sh destroy DIR  stop and remove DIR
#   pg-harness.sh ensure DIR   start, or resume, whichever DIR needs (the demo)
#   pg-harness.sh standby DIR PRIMARY_DIR
#                              a streaming standby of PRIMARY_DIR's server in
#                              DIR (pg_basebackup -R), started; prints its
#                              connection string. The primary then waits for
#                              it on every commit (synchronous_standby_names)
#   pg-harness.sh crash DIR    stop at once, as a lost machine would (immediate)
#   pg-harness.sh promote DIR  promote DIR's standby to primary
# Unix socket only (in DIR), so clusters never collide on a TCP port. As
# root, the server runs as the postgres system user (initdb refuses root).
set -eu
cmd=${1:?usage: pg-harness.sh start|stop|resume|destroy DIR}
dir=${2:?usage: pg-harness.sh start|stop|resume|destroy DIR}
port=5432

bindir=${PG_BINDIR:-}
if [ -z "$bindir" ]; then
	bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
	echo "pg-harness: no PostgreSQL server binaries (apt-get install postgresql)" >&2
	exit 1
fi

as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# Tests trade durability for speed; PG_DURABLE=1 (benchmarks) keeps the defaults.
pg_start() {
	fast="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	[ "${PG_DURABLE:-0}" = 1 ] && fast=""
	as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-k $dir -p $port -c listen_addresses='' $fast -c max_connections=200" \
		start >/dev/null
}

case "$cmd" in
start)
	mkdir -p "$dir"
	if [ "$(id -u)" = 0 ]; then
		id postgres >/dev/null 2>&1 || { echo "pg-harness: no postgres user" >&2; exit 1; }
		chown postgres "$dir"
		chmod 755 "$dir"
	fi
	as_owner "$bindir/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 \
		--locale=C --no-sync >"$dir/initdb.log" 2>&1 || {
		cat "$dir/initdb.log" >&2
		exit 1
	}
	pg_start
	"$bindir/psql" -X -q -h "$dir" -p $port -U postgres -d postgres \
		-c "CREATE DATABASE recalld" >/dev/null
	echo "host=$dir port=$port user=postgres dbname=recalld"
	;;
stop)
	as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
	;;
resume)
	pg_start
	;;
ensure)
	if [ -f "$dir/data/PG_VERSION" ]; then
		[ -f "$dir/data/postmaster.pid" ] || pg_start
		echo "host=$dir port=$port user=postgres dbname=recalld"
	else
		exec "$0" start "$dir"
	fi
	;;
standby)
	primary=${3:?usage: pg-harness.sh standby DIR PRIMARY_DIR}
	mkdir -p "$dir"
	if [ "$(id -u)" = 0 ]; then
		chown postgres "$dir"
		chmod 755 "$dir"
	fi
	as_owner "$bindir/pg_basebackup" -h "$primary" -p $port -U postgres -D "$dir/data" \
		-R -X stream -c fast --no-sync >"$dir/basebackup.log" 2>&1 || {
		cat "$dir/basebackup.log" >&2
		exit 1
	}
	pg_start
	"$bindir/psql" -X -q -h "$primary" -p $port -U postgres -d postgres \
		-c "ALTER SYSTEM SET synchronous_standby_names = '*'" -c "SELECT pg_reload_conf()" >/dev/null
	echo "host=$dir port=$port user=postgres dbname=recalld"
	;;
crash)
	as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
	;;
promote)
	as_owner "$bindir/pg_ctl" -D "$dir/data" -w promote >/dev/null
	;;
destroy)
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
	;;
*)
	echo "pg-harness: unknown command $cmd" >&2
	exit 2
	;;
esac
