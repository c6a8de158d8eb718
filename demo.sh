#!/bin/sh
# demo.sh: from a fresh Debian 12 machine to a running recalld with a demo
# school: install what is missing, build, start a private PostgreSQL under
# ./var/pg, migrate, load the demo school through the real imports (88
# pupils, 6 teachers, 6 classes, 3 courses, 317 questions), mark the first
# units taught and simulate four weeks of answers (tests/demo/simulate.sh,
# shared with the browser test), make tokens, register a local webhook sink
# that prints what is pushed, and run `recalld serve` on a demo clock set to
# a school day afternoon, so the first daily batches arrive at once; then
# print the teachers' dashboard address and a sign-in link for the demo
# teacher (Ctrl-C stops it all).
set -eu
cd "$(dirname "$0")"
top=$(pwd)
port=${DEMO_PORT:-8080}
sinkport=${DEMO_SINK_PORT:-$((port + 1))}
# The demo's school day: Monday 19 October 2026, 16:30 in London, after four
# weeks of simulated answers (units were taught on Friday 18 September).
prompt_time=2026-10-19T15:30:00Z

sh ./tests/deps.sh
# An out-of-tree build, like test.sh's, so the two never get in each other's way.
[ -x ./configure ] || autoreconf -fi >/dev/null
mkdir -p build-demo
[ -f build-demo/Makefile ] || (cd build-demo && ../configure -q)
make -C build-demo -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
make -C build-demo tests/receiver >/dev/null
RECALLD="$top/build-demo/recalld"
export RECALLD
recalld() { "$RECALLD" "$@"; }

mkdir -p var/pg
url=$(sh ./tests/pg-harness.sh ensure "$top/var/pg")
export RECALLD_DATABASE_URL="$url"
export RECALLD_DATABASE_MIGRATIONS="$top/sql"
export RECALLD_HTTP_LISTEN="127.0.0.1:$port"
export RECALLD_HTTP_PUBLIC_URL="http://127.0.0.1:$port"
# A demo clock: time moves only when told (POST /v1/admin/clock).
export RECALLD_CLOCK_MODE=manual RECALLD_CLOCK_START=2026-09-21T06:00:00Z
# The sink is on this machine: let webhooks go to loopback.
export RECALLD_WEBHOOKS_ALLOW_PRIVATE=true
# The teachers' dashboard, straight from the source tree.
export RECALLD_DASHBOARD_DIR="$top/api/dashboard"
base="http://127.0.0.1:$port"
pid=
sink=

stop() {
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	[ -n "$sink" ] && kill -TERM "$sink" 2>/dev/null || true
	sh ./tests/pg-harness.sh stop "$top/var/pg" 2>/dev/null || true
}
trap stop EXIT
trap 'exit 130' INT TERM

recalld migrate >/dev/null

# Webhook secrets are sealed in the database under this key file, as in production.
export RECALLD_SECRETS_KEY_FILE="$top/var/secrets.key"
[ -f var/secrets.key ] || "$RECALLD" keys init >/dev/null

# The demo school is made once; later runs reuse it (rm -rf var/ to start over).
if [ ! -f var/demo.env ]; then
	sh ./tests/demo/simulate.sh school >var/demo.env.new
	echo "link_key=$(head -c 32 /dev/urandom | base64)" >>var/demo.env.new
	mv var/demo.env.new var/demo.env
	fresh=yes
else
	fresh=no
fi
. ./var/demo.env
export RECALLD_RESPONSES_LINK_KEY="$link_key"

"$RECALLD" serve 2>var/recalld.log &
pid=$!
for i in $(seq 1 100); do
	curl -fs "$base/readyz" >/dev/null 2>&1 && break
	sleep 0.1
done
curl -fs "$base/readyz" >/dev/null || { cat var/recalld.log; echo "recalld did not start" >&2; exit 1; }

api() {	# api METHOD PATH [JSON]
	if [ $# -ge 3 ]; then
		curl -fsS -X "$1" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' -d "$3" "$base$2"
	else
		curl -fsS -X "$1" -H "Authorization: Bearer $admin" "$base$2"
	fi
}
# id_of PATH EXTERNAL_ID: the id of the object with that external id
id_of() {
	api GET "$1?external_id=$2" | sed -n 's/^{"items":\[{"id": *\([0-9]*\).*/\1/p'
}

if [ "$fresh" = yes ]; then
	# The first units taught, then four weeks of school days with answers;
	# 8A Science stops answering its science units after two weeks.
	school=$school admin=$admin integration=$integration \
	    sh ./tests/demo/simulate.sh weeks "$base"
	# The sink: every event recalld pushes from now on is printed below.
	secret=$(api POST /v1/endpoints "{\"url\": \"http://127.0.0.1:$sinkport/recalld\", \"format\": \"json\"}" |
	    sed -n 's/.*"secret": *"\([^"]*\)".*/\1/p')
	echo "sink_secret=$secret" >>var/demo.env
	teacher=$(id_of /v1/teachers teacher-01)
	teacher_token=$(recalld token create --school "$school" --role teacher --teacher "$teacher" --name "Joy Okafor (demo)")
	echo "teacher=$teacher_token" >>var/demo.env
	. ./var/demo.env
fi

sci8a=$(id_of /v1/classes class-8a-sci)
teacher_id=$(id_of /v1/teachers teacher-01)
build-demo/tests/receiver --port "$sinkport" --secret "$sink_secret" --print &
sink=$!
sleep 0.3
# It is a school day afternoon: the prompt time (16:00 in London) has come.
# The clock is kept in the database: a later run may find it moved on already.
api POST /v1/admin/clock "{\"now\": \"$prompt_time\"}" >/dev/null 2>&1 ||
	echo "(the demo clock is past $prompt_time already: it stays where the last run left it)"
sleep 2
# A sign-in link is single-use: a new one on every run.
signin=$(recalld token link --school "$school" --teacher "$teacher_id" | grep -o 'http[^ ]*#signin=[^ ]*' | head -n 1)
# One 8A Science pupil's own page: the progress_url of their latest batch.
pupil_page=$(psql -X -At "$url" -c "SELECT d.payload::jsonb #>> '{data,progress_url}'
    FROM delivery d JOIN class_pupil cp ON cp.school_id = d.school_id
     AND cp.pupil_id = (d.payload::jsonb #>> '{data,pupil,id}')::bigint
    JOIN class k ON k.school_id = cp.school_id AND k.class_id = cp.class_id
    WHERE d.school_id = $school AND d.event_type = 'prompt.batch'
     AND k.external_id = 'class-8a-sci' ORDER BY d.delivery_id DESC LIMIT 1" 2>/dev/null)

cat <<MSG

recalld is running on $base with the demo school (id $school):
$(api GET "/v1/classes?limit=10" | grep -o '"name": *"[^"]*"' | sed 's/"name": *"\(.*\)"/  class \1/')

Tokens (also in var/demo.env):
  admin        $admin
  integration  $integration
  teacher      $teacher   (Joy Okafor, 8A Science)

The teachers' dashboard is at $base/dashboard/
Sign in as Joy Okafor (8A Science, whose class has flags) with this link, in
a browser on this machine (it works once, for 24 hours):
  $signin
For a new link (or --admin instead of --teacher for the whole school):
  RECALLD_DATABASE_URL='$url' RECALLD_HTTP_PUBLIC_URL=$base \\
    build-demo/recalld token link --school $school --teacher $teacher_id
or paste the teacher token above into the dashboard's sign-in form.

Above: today's daily batches pushed to the local sink (one per pupil of the
classes with taught units), each question with its prompt_id and answer link,
and the link to the pupil's own page (progress_url). One 8A Science pupil's
page: their questions for today, answerable in place, and each unit with
their level, what it means and what the next level needs (open it in a
browser; it works for two weeks):
  ${pupil_page:-(none yet: move the clock to a school day's prompt time)}

The school's LMS (LTI 1.3): what its administrator pastes into Moodle or
Canvas for this school (then \`recalld lti add\` with the LMS's own values;
see the README's "The school's LMS" section):
$(RECALLD_HTTP_PUBLIC_URL=$base build-demo/recalld lti show --school "$school" 2>/dev/null | sed -n '1,6s/^/  /p')

Answer one from the shell (the reply is the feedback; the sink shows the
response.feedback event), or open its answer link in a browser:
  curl -s -H "Authorization: Bearer $integration" -H 'Content-Type: application/json' \\
       -d '{"prompt_id": 1, "answer": 2}' $base/v1/responses
  ("answer" is the choice's number from 0 for multiple choice, else the text.)

Move the demo clock to the next school day's prompt time for the next batches:
  curl -s -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \\
       -d '{"now": "2026-10-20T15:30:00Z"}' $base/v1/admin/clock

Teachers see which topics a class is forgetting or has stopped practising.
The demo simulated four weeks of answers, but 8A Science stopped answering
its science units after two weeks: most of the class had reached Secure on
"Cells and organisation" and has fallen since, and "The particle model" is
flagged not practised, with each pupil's last answer on it (2 October). Look
at the class as its teacher, Joy Okafor, would (or sign in to the dashboard
above):
  curl -s -H "Authorization: Bearer $teacher" $base/v1/classes/$sci8a/flags
  curl -s -H "Authorization: Bearer $teacher" $base/v1/classes/$sci8a/mastery

Try, from another shell:
  curl -s $base/readyz
  curl -s -H "Authorization: Bearer $admin" "$base/v1/classes"
  curl -s -H "Authorization: Bearer $admin" "$base/v1/questions?limit=2"
  curl -s -H "Authorization: Bearer $teacher" "$base/v1/pupils?limit=3"
  curl -s -H "Authorization: Bearer $admin" -H 'Content-Type: text/csv' \\
       --data-binary @tests/demo/questions.csv "$base/v1/import/questions"
  curl -s $base/metrics | head

Log: var/recalld.log. Ctrl-C stops recalld and the demo database.
MSG
wait "$pid"
