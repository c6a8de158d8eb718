#!/bin/sh
# simulate.sh: the demo school and its first four weeks, shared by demo.sh
# and tests/browser.sh.
#
#   simulate.sh school
#       creates "Northfield Academy (demo)" through the real imports (the
#       OneRoster roster and question bank next to this script) with an admin
#       and an integration token; prints `school=ID`, `admin=TOKEN` and
#       `integration=TOKEN` lines for the caller to keep. Needs only the
#       database (RECALLD_DATABASE_URL, migrated).
#   simulate.sh weeks BASE_URL
#       against a recalld serving BASE_URL on a manual clock: marks each
#       class's first units taught on Friday 18 September 2026, then lets
#       four weeks of school days pass (21 September to 16 October), each
#       day's batches answered right about four times in five (the same
#       answers on every run), except that 8A Science stops answering its
#       science units after two weeks, so its teacher sees them flagged.
#       Needs $school, $admin and $integration (from `simulate.sh school`)
#       and RECALLD_DATABASE_URL in the environment, psql and curl.
#
# RECALLD names the recalld binary (default: recalld on PATH).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
RECALLD=${RECALLD:-recalld}
url=${RECALLD_DATABASE_URL:?simulate.sh: set RECALLD_DATABASE_URL}

# The school days the demo's classes answer; the demo's "today" is the
# Monday after, 19 October 2026.
history="2026-09-21 2026-09-22 2026-09-23 2026-09-24 2026-09-25 2026-09-28 2026-09-29
2026-09-30 2026-10-01 2026-10-02 2026-10-05 2026-10-06 2026-10-07 2026-10-08 2026-10-09
2026-10-12 2026-10-13 2026-10-14 2026-10-15 2026-10-16"
taught_on=2026-09-18
# 8A Science answers its science units for its first two weeks only.
sci8a_days=10
# Each class has finished its course's first two units.
taught="class-8a-sci:sci-cells class-8a-sci:sci-particles class-8b-sci:sci-cells
class-8a-hist:hist-norman-conquest class-8c-hist:hist-norman-conquest
class-8a-fr:fr-greetings class-8a-fr:fr-family class-8b-fr:fr-greetings"

school() {
	school=$("$RECALLD" school create --name "Northfield Academy (demo)" --tz Europe/London)
	"$RECALLD" import roster "$here/roster" --school "$school" >/dev/null
	"$RECALLD" import questions "$here/questions.csv" --school "$school" >/dev/null
	admin=$("$RECALLD" token create --school "$school" --role admin --name "demo admin")
	integration=$("$RECALLD" token create --school "$school" --role integration \
	    --name "demo integration")
	printf 'school=%s\nadmin=%s\nintegration=%s\n' "$school" "$admin" "$integration"
}

weeks() {
	base=${1:?usage: simulate.sh weeks BASE_URL}
	: "${school:?simulate.sh: set school}" "${admin:?simulate.sh: set admin}"
	: "${integration:?simulate.sh: set integration}"
	api() {	# api METHOD PATH [JSON]
		if [ $# -ge 3 ]; then
			curl -fsS -X "$1" -H "Authorization: Bearer $admin" \
			    -H 'Content-Type: application/json' -d "$3" "$base$2"
		else
			curl -fsS -X "$1" -H "Authorization: Bearer $admin" "$base$2"
		fi
	}
	id_of() {	# id_of PATH EXTERNAL_ID
		api GET "$1?external_id=$2" | sed -n 's/^{"items":\[{"id": *\([0-9]*\).*/\1/p'
	}
	# Four new questions a day (of the five), so that in four weeks pupils
	# meet most of their units' questions and the grid shows every level.
	api PATCH /v1/school '{"new_per_day": 4}' >/dev/null
	for pair in $taught; do
		class=$(id_of /v1/classes "${pair%%:*}")
		unit=$(id_of /v1/units "${pair#*:}")
		api POST "/v1/classes/$class/units/$unit/taught" "{\"date\": \"$taught_on\"}" >/dev/null
	done
	cfg=$(mktemp)
	trap 'rm -f "$cfg" "$cfg.codes"' EXIT
	printf 'simulating four weeks of answers' >&2
	day=0
	for d in $history; do
		api POST /v1/admin/clock "{\"now\": \"${d}T15:30:00Z\"}" >/dev/null
		i=0
		while [ "$(psql -X -At "$url" -c "SELECT batches_done_for >= '$d'
		    FROM school WHERE school_id = $school")" != t ]; do
			i=$((i + 1))
			[ $i -le 300 ] || { echo "simulate.sh: no batches for $d" >&2; exit 1; }
			sleep 0.1
		done
		day=$((day + 1))
		# One curl for the day's answers (one connection, kept alive): a
		# curl config of one request per prompt. setseed makes the same
		# answers right or wrong on every run; the bodies come out escaped
		# for the config's quoted strings.
		psql -X -At "$url" -c "SELECT setseed($day / 100.0)" -c "
		    SELECT replace(replace(json_build_object('prompt_id', p.prompt_id,
		      'answer', CASE WHEN random() < 0.8 THEN
		        CASE q.kind WHEN 'mcq' THEN to_json(q.correct_choice)
		          ELSE to_json(coalesce(q.accepted_answers->>0, 'yes')) END
		        ELSE to_json('no idea'::text) END)::text, '\\', '\\\\'), '\"', '\\\"')
		    FROM prompt p JOIN batch b USING (school_id, batch_id)
		    JOIN question q ON q.school_id = p.school_id AND q.question_id = p.question_id
		    CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM class_pupil cp JOIN class k
		        USING (school_id, class_id) WHERE cp.pupil_id = p.pupil_id
		        AND k.external_id = 'class-8a-sci' AND q.unit_id IN (SELECT unit_id FROM unit
		        WHERE external_id IN ('sci-cells', 'sci-particles'))) AS sci8a) x
		    WHERE p.school_id = $school AND b.local_date = '$d' AND p.answered_at IS NULL
		      AND q.kind IN ('mcq', 'short') AND ($day <= $sci8a_days OR NOT sci8a)
		    ORDER BY p.prompt_id" |
		{ sep=
		while read -r body; do
			[ -n "$body" ] || continue
			[ -z "$sep" ] || echo next
			sep=yes
			printf 'url = "%s/v1/responses"\nheader = "Authorization: Bearer %s"\n' \
			    "$base" "$integration"
			printf 'header = "Content-Type: application/json"\ndata = "%s"\n' "$body"
			echo 'output = "/dev/null"'
			echo 'write-out = "%{http_code}\\n"'
		done; } >"$cfg"
		# 200, or 422 for "no idea" to a multiple-choice question; any other
		# status means recalld is in trouble: say so.
		[ ! -s "$cfg" ] || curl -sS -K "$cfg" >"$cfg.codes" || true
		bad=$(grep -cv '^\(200\|422\)$' "$cfg.codes" 2>/dev/null || true)
		if [ "${bad:-0}" -gt 0 ]; then
			echo >&2
			echo "simulate.sh: $bad answers on $d refused: $(sort "$cfg.codes" | uniq -c |
			    tr -s ' \n' '  ')" >&2
		fi
		rm -f "$cfg.codes"
		printf '.' >&2
	done
	echo >&2
}

case ${1:-} in
school) school ;;
weeks) shift; weeks "$@" ;;
*) echo "usage: simulate.sh school | simulate.sh weeks BASE_URL" >&2; exit 2 ;;
esac
