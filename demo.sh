#!/bin/sh
# demo.sh: from a fresh Debian 12 machine to a running recalld: install
# what is missing, build, start a private PostgreSQL under ./var/pg, migrate,
# and run `recalld serve` in the foreground (Ctrl-C stops both).
set -eu
cd "$(dirname "$0")"
top=$(pwd)
port=${DEMO_PORT:-8080}

sh ./tests/deps.sh
if [ ! -x ./recalld ] || [ ! -f Makefile ]; then
	autoreconf -fi >/dev/null
	./configure -q
fi
make -j"$(nproc 2>/dev/null || echo 2)" >/dev/null

mkdir -p var/pg
url=$(sh ./tests/pg-harness.sh ensure "$top/var/pg")
export RECALLD_DATABASE_URL="$url"
export RECALLD_DATABASE_MIGRATIONS="$top/sql"
export RECALLD_HTTP_LISTEN="127.0.0.1:$port"

stop() {
	sh ./tests/pg-harness.sh stop "$top/var/pg" 2>/dev/null || true
}
trap stop EXIT INT TERM

./recalld migrate
cat <<MSG

recalld is starting on http://127.0.0.1:$port (PostgreSQL in ./var/pg).
From another shell:
  curl -s http://127.0.0.1:$port/healthz
  curl -s http://127.0.0.1:$port/readyz
  curl -s http://127.0.0.1:$port/metrics
Ctrl-C stops recalld and the demo database (rm -rf var/ forgets it).

MSG
./recalld serve
