#!/bin/sh
# browser.sh: the teacher dashboard in a real browser against real
# everything: a throwaway PostgreSQL, recalld on a manual clock, the demo
# school and its three weeks of answers (tests/demo/simulate.sh, as in the
# demo: 8A Science stops answering its science units, so it is flagged),
# and the C webhook receiver. tests/browser/dashboard.cjs then signs in as
# the demo teacher with a sign-in link and drives Debian's chromium through
# playwright-core: flags, a re-check, marking a unit taught, a pupil's
# progress, the page at 360 px. Screenshots go to tests/browser-artifacts/
# under the build directory (or RECALLD_BROWSER_ARTIFACTS).
#
# Needs chromium (/usr/bin/chromium, or RECALLD_CHROMIUM), node, and
# playwright-core where node finds it (RECALLD_NODE_PATH, as test.sh sets
# it). Without them the test fails: it never skips.
set -u
RECALLD=${RECALLD:-./recalld}
srcdir=${srcdir:-.}
receiver=${RECALLD_RECEIVER:-./tests/receiver}
harness="$srcdir/tests/pg-harness.sh"
chromium=${RECALLD_CHROMIUM:-/usr/bin/chromium}
artifacts=${RECALLD_BROWSER_ARTIFACTS:-$(pwd)/tests/browser-artifacts}
started=$(date +%s)

die() { echo "browser.sh: $*" >&2; exit 1; }

# What the browser needs, first: a missing piece is a failure, loudly.
[ -x "$chromium" ] || die "no chromium at $chromium: install it (apt-get install chromium, or sh tests/deps.sh --test)"
command -v node >/dev/null 2>&1 || die "no node: install it (apt-get install nodejs npm, or sh tests/deps.sh --test)"
node_path=
for d in ${RECALLD_NODE_PATH:-} "$srcdir/build-node/node_modules" "$srcdir/tests/browser/node_modules"; do
	if [ -f "$d/playwright-core/package.json" ]; then
		node_path=$(cd "$d" && pwd)
		break
	fi
done
[ -f "$node_path/axe-core/axe.min.js" ] && [ -f "$node_path/jose/package.json" ] || node_path=
[ -n "$node_path" ] || die "playwright-core, axe-core or jose not found (RECALLD_NODE_PATH=${RECALLD_NODE_PATH:-unset}):
  cp tests/browser/package.json tests/browser/package-lock.json build-node/ && npm ci --prefix build-node
  then RECALLD_NODE_PATH=\$PWD/build-node/node_modules (test.sh does this)"
[ -x "$receiver" ] || die "no webhook receiver at $receiver (make tests/receiver)"
[ -x "$RECALLD" ] || die "no recalld at $RECALLD"

tmp=$(mktemp -d /tmp/recalld-browser.XXXXXX)
pgdir=$(mktemp -d /tmp/recalld-pg.XXXXXX)	# its own: the server user must reach it
pid=
rx=

cleanup() {
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ -n "$rx" ] && kill -TERM "$rx" 2>/dev/null && wait "$rx" 2>/dev/null
	sh "$harness" destroy "$pgdir" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "browser.sh: $*" >&2
	[ -f "$tmp/serve.log" ] && { echo "--- recalld's log (last 40 lines):" >&2; tail -n 40 "$tmp/serve.log" >&2; }
	exit 1
}

url=$(sh "$harness" start "$pgdir") || fail "cannot start PostgreSQL"
export RECALLD_DATABASE_URL="$url"
export RECALLD_DATABASE_MIGRATIONS="${RECALLD_SQL:-$srcdir/sql}"
export RECALLD_DASHBOARD_DIR="$srcdir/api/dashboard"
export RECALLD_CLOCK_MODE=manual RECALLD_CLOCK_START=2026-09-21T06:00:00Z
export RECALLD_WEBHOOKS_ALLOW_PRIVATE=true RECALLD_LTI_ALLOW_PRIVATE=true
# Scores reach the LMS gradebook soon after answers, each change again.
export RECALLD_FLAGS_DEBOUNCE=1s RECALLD_LTI_SCORE_INTERVAL=0s
RECALLD_RESPONSES_LINK_KEY=$(head -c 32 /dev/urandom | base64)
export RECALLD_RESPONSES_LINK_KEY
# The LTI tool's key is kept sealed (recalld lti add makes it).
export RECALLD_SECRETS_KEY_FILE="$tmp/secrets.key"
"$RECALLD" keys init >/dev/null || fail "recalld keys init failed"
export RECALLD_SERVE_SHUTDOWN_TIMEOUT=5s
export RECALLD
"$RECALLD" migrate >"$tmp/migrate.log" 2>&1 || { cat "$tmp/migrate.log" >&2; fail "migrate failed"; }

# The demo school, before the daemon starts (as demo.sh makes it).
sh "$srcdir/tests/demo/simulate.sh" school >"$tmp/school.env" || fail "the demo school could not be made"
. "$tmp/school.env"
export school admin integration

# recalld on a free port: a few tries from a per-process base. The LTI
# platform double (tests/lti/platform.cjs) takes the port after recalld's,
# and recalld lets its pages frame recalld's (lti.frame_ancestors).
port=$((20000 + ($$ * 7) % 20000))
for try in 1 2 3 4 5 6 7 8; do
	base="http://127.0.0.1:$port"
	RECALLD_HTTP_LISTEN="127.0.0.1:$port" RECALLD_HTTP_PUBLIC_URL="$base" \
	    RECALLD_LTI_FRAME_ANCESTORS="http://127.0.0.1:$((port + 1))" \
	    "$RECALLD" serve >"$tmp/serve.log" 2>&1 &
	pid=$!
	i=0
	while [ $i -lt 150 ] && ! curl -fs -o /dev/null "$base/readyz"; do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	curl -fs -o /dev/null "$base/readyz" && break
	kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=
	port=$((port + 11))
done
[ -n "$pid" ] || fail "recalld did not start"
echo "# recalld on $base"

api() {	# api METHOD PATH [JSON]
	if [ $# -ge 3 ]; then
		curl -fsS -X "$1" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
		    -d "$3" "$base$2"
	else
		curl -fsS -X "$1" -H "Authorization: Bearer $admin" "$base$2"
	fi
}
id_of() {	# id_of PATH EXTERNAL_ID
	api GET "$1?external_id=$2" | sed -n 's/^{"items":\[{"id": *\([0-9]*\).*/\1/p'
}

t0=$(date +%s)
sh "$srcdir/tests/demo/simulate.sh" weeks "$base" || fail "the three simulated weeks failed"
echo "# three weeks simulated in $(($(date +%s) - t0)) s"

# The receiver: a first one finds a free port; the endpoint made for that
# port gives the secret; a second one on the same port verifies with it.
"$receiver" --port 0 --port-file "$tmp/rx.port" >/dev/null 2>&1 &
rx=$!
i=0
while [ ! -s "$tmp/rx.port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
rxport=$(cat "$tmp/rx.port" 2>/dev/null)
kill -TERM "$rx" 2>/dev/null; wait "$rx" 2>/dev/null; rx=
[ -n "$rxport" ] || fail "the receiver did not start"
secret=$(api POST /v1/endpoints "{\"url\": \"http://127.0.0.1:$rxport/recalld\", \"format\": \"json\"}" |
    sed -n 's/.*"secret": *"\([^"]*\)".*/\1/p')
[ -n "$secret" ] || fail "no webhook endpoint"
: >"$tmp/rx.log"
"$receiver" --port "$rxport" --secret "$secret" --log "$tmp/rx.log" >/dev/null 2>&1 &
rx=$!
i=0
until curl -fs -o /dev/null -X POST "http://127.0.0.1:$rxport/_control"; do
	i=$((i + 1))
	{ [ $i -le 100 ] && kill -0 "$rx" 2>/dev/null; } || fail "the receiver did not start on port $rxport"
	sleep 0.05
done

# Monday 12 October, 16:30 in London: the day's batches and flags.
api POST /v1/admin/clock '{"now": "2026-10-19T15:30:00Z"}' >/dev/null || fail "cannot move the clock"
class=$(id_of /v1/classes class-8a-sci)
teacher=$(id_of /v1/teachers teacher-01)
[ -n "$class" ] && [ -n "$teacher" ] || fail "no class-8a-sci or teacher-01 in the demo school"
i=0
until [ "$(psql -X -At "$url" -c "SELECT count(*) FROM flag WHERE school_id = $school
    AND class_id = $class AND status <> 'none'")" -gt 0 ] 2>/dev/null; do
	i=$((i + 1))
	[ $i -le 100 ] || fail "8A Science has no flags after three weeks"
	sleep 0.1
done
link=$(RECALLD_HTTP_PUBLIC_URL="$base" "$RECALLD" token link --school "$school" --teacher "$teacher" --ttl 1h 2>"$tmp/link.err" |
    grep -o 'http[^ ]*#signin=[^ ]*' | head -n 1)
[ -n "$link" ] || { cat "$tmp/link.err" >&2; fail "recalld token link gave no sign-in link"; }
echo "# sign-in link: ${link%%#*}#signin=…"

mkdir -p "$artifacts" || fail "cannot make $artifacts"
rm -f "$artifacts"/*.png
t0=$(date +%s)
RECALLD_BASE="$base" SIGNIN_LINK="$link" ADMIN_TOKEN="$admin" CLASS_ID="$class" \
    RX_LOG="$tmp/rx.log" ARTIFACTS="$artifacts" CHROMIUM="$chromium" NODE_PATH="$node_path" \
    node "$srcdir/tests/browser/dashboard.cjs"
status=$?
echo "# browser steps: $(($(date +%s) - t0)) s; whole test: $(($(date +%s) - started)) s"
[ $status = 0 ] || fail "the dashboard's browser test failed (screenshots in $artifacts)"

# A pupil's own page: the progress_url of a 8A Science pupil's batch today,
# one with questions still open.
pupil_url=$(psql -X -At "$url" -c "SELECT d.payload::jsonb #>> '{data,progress_url}'
    FROM delivery d WHERE d.school_id = $school AND d.event_type = 'prompt.batch'
    AND d.payload::jsonb #>> '{data,local_date}' = '2026-10-19'
    AND EXISTS (SELECT 1 FROM prompt p WHERE p.school_id = d.school_id AND p.answered_at IS NULL
     AND p.pupil_id = (d.payload::jsonb #>> '{data,pupil,id}')::bigint
     AND p.expires_at > '2026-10-19T15:30:00Z')
    AND EXISTS (SELECT 1 FROM class_pupil cp WHERE cp.school_id = d.school_id
     AND cp.class_id = $class AND cp.pupil_id = (d.payload::jsonb #>> '{data,pupil,id}')::bigint)
    ORDER BY d.delivery_id LIMIT 1")
[ -n "$pupil_url" ] || fail "no pupil's page link in today's batches"
PUPIL_URL="$pupil_url" ARTIFACTS="$artifacts" CHROMIUM="$chromium" NODE_PATH="$node_path" \
    node "$srcdir/tests/browser/pupil.cjs" || fail "the pupil page's browser test failed (screenshots in $artifacts)"

# LTI 1.3: the platform double registered for the demo school and another;
# an 8A Science pupil with questions still open is launched from the course.
other=$("$RECALLD" school create --name "Other School") || fail "no second school"
lti_pupil=$(psql -X -At "$url" -c "SELECT pu.external_id FROM pupil pu
    JOIN class_pupil cp ON cp.school_id = pu.school_id AND cp.pupil_id = pu.pupil_id
    WHERE pu.school_id = $school AND cp.class_id = $class AND pu.active
    AND (SELECT count(*) FROM prompt p WHERE p.school_id = pu.school_id AND p.pupil_id = pu.pupil_id
     AND p.answered_at IS NULL AND p.expires_at > '2026-10-19T15:30:00Z') >= 2
    ORDER BY pu.pupil_id DESC LIMIT 1")
[ -n "$lti_pupil" ] || fail "no 8A Science pupil with two questions open"
RECALLD_BASE="$base" SCHOOL="$school" OTHER_SCHOOL="$other" PUPIL="$lti_pupil" TEACHER=teacher-01 ADMIN_TOKEN="$admin" \
    SECTION=class-8a-sci PGURL="$url" RECALLD_HTTP_PUBLIC_URL="$base" ARTIFACTS="$artifacts" \
    PLATFORM_PORT=$((port + 1)) \
    CHROMIUM="$chromium" NODE_PATH="$node_path" node "$srcdir/tests/browser/lti.cjs" ||
	fail "the LTI launch test failed (screenshots in $artifacts)"
# recalld stops cleanly (and, under ASan, without leaks).
kill -TERM "$pid"
wait "$pid"
code=$?
pid=
[ $code = 0 ] || fail "recalld exited $code on SIGTERM"
! grep -q 'runtime error\|AddressSanitizer\|LeakSanitizer' "$tmp/serve.log" ||
	fail "recalld reported a sanitizer error"
exit 0
