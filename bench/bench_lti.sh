#!/bin/sh
# bench_lti.sh: LTI 1.3 launches per second (the OIDC login, recalld's
# check of the platform's RS256 id_token, the launch recorded and the
# pupil's landing page: bench/lti/launch_bench.cjs) beside the ceiling of
# one RS256 check, `openssl speed rsa2048` verifications per second on one
# core, in the same run. Then bench/bench_idtoken (`make bench`): the
# check of an id_token alone (parse, key, RS256, claims) beside OpenSSL's
# RS256 verify alone. Target: at least 25% of the ceiling. The platform
# double signing the id_tokens runs on the same machine and is counted
# against recalld. Run by hand, never in CI. Needs node and jose (npm ci
# --prefix build-node, as test.sh does; or NODE_PATH).
#
#   RECALLD=build/recalld bench/bench_lti.sh     [PUPILS=1000 DURATION=10 CONNS=8]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
RECALLD=${RECALLD:-$top/recalld}
PUPILS=${PUPILS:-1000}
DURATION=${DURATION:-10}
CONNS=${CONNS:-8}
PORT=${PORT:-18184}

. "$here/common.sh"
need node
need openssl
NODE_PATH=${NODE_PATH:-$top/build-node/node_modules}
[ -f "$NODE_PATH/jose/package.json" ] || { echo "bench_lti.sh: no jose in $NODE_PATH" >&2; exit 1; }
export NODE_PATH
export RECALLD_SECRETS_KEY_FILE="$tmp/secrets.key" RECALLD_LTI_ALLOW_PRIVATE=true
export RECALLD_HTTP_PUBLIC_URL="http://127.0.0.1:$PORT"
"$RECALLD" keys init >/dev/null
school=$("$RECALLD" school create --name "Bench School" --tz UTC)
psql -X -q "$url" -c "INSERT INTO pupil (school_id, external_id, updated_at)
	SELECT $school, 'p' || g, now() FROM generate_series(1, $PUPILS) g; ANALYZE pupil;"
serve_start

# The ceiling: one core verifying RSA-2048 signatures (what each launch needs once).
ceiling=$(openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ { print $(NF) }')
# CPU time (clock ticks) of recalld and of every postgres process, before and after.
ticks() { for q in "$@"; do awk '{ print $14 + $15 }' "/proc/$q/stat" 2>/dev/null; done | awk '{ t += $1 } END { print t + 0 }'; }
pgpids() { pgrep -d ' ' -f "postgres" || true; }
r0=$(ticks "$pid"); g0=$(ticks $(pgpids))
out=$(RECALLD_BASE="http://127.0.0.1:$PORT" SCHOOL="$school" PUPILS="$PUPILS" CONNS="$CONNS" \
    DURATION="$DURATION" RECALLD="$RECALLD" LANDING="${LANDING:-1}" node "$here/lti/launch_bench.cjs")
r1=$(ticks "$pid"); g1=$(ticks $(pgpids))
hz=$(getconf CLK_TCK)
echo "$out" >&2
# The load generator (node: the client and the platform signing each
# id_token) shares the machine and saturates first; recalld's own CPU per
# launch says what one core of recalld would carry.
echo "$out" | awk -v c="$ceiling" -v conns="$CONNS" -v rt=$((r1 - r0)) -v gt=$((g1 - g0)) -v hz="$hz" '{
	match($0, /"per_second":[0-9.]+/); s = substr($0, RSTART + 13, RLENGTH - 13)
	match($0, /"launches":[0-9]+/); n = substr($0, RSTART + 11, RLENGTH - 11)
	match($0, /"p99_ms":[0-9.]+/); p = substr($0, RSTART + 9, RLENGTH - 9)
	rms = 1000 * rt / hz / n; gms = 1000 * gt / hz / n
	printf "launches %.0f/s end to end (p99 %.0f ms, %d at once); recalld %.3f ms CPU a launch" \
	    " (%.0f launches per core-second), PostgreSQL %.3f ms;" \
	    " openssl rsa2048 verify %.0f/s on one core; end to end/ceiling = %.1f%%," \
	    " recalld per core/ceiling = %.1f%% (target >= 25%%)\n", s, p, conns, rms, 1000 / rms, gms, c,
	    100 * s / c, 100 * (1000 / rms) / c }'
# The check alone: what a launch costs beyond its requests and its database.
idt=${BENCH_IDTOKEN:-$(dirname "$RECALLD")/bench/bench_idtoken}
if [ -x "$idt" ]; then
	checks=$("$idt")
	echo "$checks"
	echo "$checks" | awk -v c="$ceiling" '{ printf "id_token checks/openssl speed rsa2048 verify" \
	    " = %.1f%% (target >= 25%%)\n", 100 * $3 / c }'
else
	echo "(run make bench for bench/bench_idtoken: the id_token check alone beside its ceiling)"
fi
