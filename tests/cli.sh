#!/bin/sh
# cli.sh: the recalld command line: help, version, config errors (exit 2).
set -u
RECALLD=${RECALLD:-./recalld}
. "${srcdir:-.}/tests/tap.sh"
tmp=$(mktemp -d /tmp/recalld-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

expect() {	# expect CODE DESCRIPTION CMD...: exit code, output in $tmp/out
	want=$1 desc=$2
	shift 2
	"$@" >"$tmp/out" 2>&1
	got=$?
	if [ "$got" = "$want" ]; then ok "$desc"; else not_ok "$desc (exit $got, want $want)"; cat "$tmp/out"; fi
}
has() {	# has TEXT DESCRIPTION: $tmp/out contains TEXT
	if grep -qF -- "$1" "$tmp/out"; then ok "$2"; else not_ok "$2 (no '$1')"; cat "$tmp/out"; fi
}
hasnt() {
	if grep -qF -- "$1" "$tmp/out"; then not_ok "$2 ('$1' present)"; cat "$tmp/out"; else ok "$2"; fi
}

expect 0 "--version" "$RECALLD" --version
has "recalld " "--version prints the name"
expect 0 "--help" "$RECALLD" --help
has "check-config" "--help lists subcommands"
expect 2 "no subcommand is a usage error" "$RECALLD"
expect 2 "unknown subcommand" "$RECALLD" frobnicate
has "no subcommand 'frobnicate'" "unknown subcommand is named"
expect 2 "unknown option" "$RECALLD" --frob
for c in serve migrate check-config replay fit simulate help; do
	expect 0 "help $c" "$RECALLD" help "$c"
	expect 0 "$c --help" "$RECALLD" "$c" --help
done
# lti: bad arguments exit 2 before any database is reached.
expect 2 "lti without a command" "$RECALLD" lti
expect 2 "lti add without --school" "$RECALLD" lti add --issuer https://lms.example
expect 2 "lti add without a deployment" "$RECALLD" lti add --school 1 --issuer https://lms.example --client-id c \
    --auth-url https://lms.example/auth --token-url https://lms.example/token --jwks-url https://lms.example/jwks
has "--deployment-id" "lti add: names what is missing"
expect 2 "lti add: a URL that is not http(s)" "$RECALLD" lti add --school 1 --issuer https://lms.example --client-id c \
    --deployment-id d --auth-url ftp://lms.example/auth --token-url https://lms.example/token --jwks-url https://lms.example/jwks
has "--auth-url must be an http(s) URL" "lti add: names the bad URL"
expect 2 "lti remove without --platform" "$RECALLD" lti remove --school 1
expect 2 "lti register-link: a ttl out of range" "$RECALLD" lti register-link --school 1 --ttl 30d
has "--ttl must be a duration" "lti register-link: says what is wrong"
expect 0 "lti --help" "$RECALLD" lti --help
has "rotate-key" "lti --help lists rotate-key"
expect 2 "help of an unknown subcommand" "$RECALLD" help nope
expect 2 "serve takes no arguments" "$RECALLD" serve extra

# fit: reviews on stdin, no configuration read; bad input exits 2, saying why.
fit_in() {	# fit_in WANT DESC TEXT [ARGS...]: TEXT on stdin
	want=$1 desc=$2 text=$3
	shift 3
	printf '%b' "$text" > "$tmp/in"
	expect "$want" "$desc" sh -c 'r=$0 in=$1; shift; "$r" fit "$@" < "$in"' "$RECALLD" "$tmp/in" "$@"
}
revs='card_id,review_time,rating\n'
k=0
for c in a b c d e f g h i j; do
	k=$((k + 1))
	for d in 0 2 5 11 23; do
		revs="${revs}$c,$((1767254400 + (d + k) * 86400)),$(( (d + k) % 4 + 1 ))\n"
	done
done
fit_in 2 "fit: empty input" ""
has "empty input" "fit: empty input is named"
fit_in 2 "fit: a rating of 5" 'card_id,review_time,rating\na,2026-01-01T08:00:00Z,3\na,2026-01-05T08:00:00Z,5\n'
has "line 3: rating '5' is not 1, 2, 3 or 4" "fit: the bad rating's line is named"
fit_in 2 "fit: a malformed row" 'card_id,review_time,rating\na,2026-01-01T08:00:00Z\n'
has "line 2: expected 3 columns" "fit: the malformed row is named"
fit_in 2 "fit: a time that is not a time" 'card_id,review_time,rating\na,yesterday,3\n'
fit_in 2 "fit: time going backwards" 'card_id,review_time,rating\na,2026-01-05T08:00:00Z,3\nb,2026-01-01T08:00:00Z,3\na,2026-01-01T08:00:00Z,3\n'
has "line 4: time goes backwards for card 'a'" "fit: going back in time is named"
fit_in 2 "fit: a wrong header" 'card,when,grade\na,2026-01-01T08:00:00Z,3\n'
fit_in 2 "fit: nothing predictable" 'card_id,review_time,rating\na,2026-01-01T08:00:00Z,3\n'
has "no review to fit" "fit: too little data is said"
fit_in 2 "fit: seq2seq with a bad rating" 't_history\tr_history\tdelta_ts\tys\n0,3\t3,7\t3,5\t1,1\n' --format seq2seq
has "line 2: review 2: a rating other than 1, 2, 3 or 4" "fit: seq2seq's bad line is named"
fit_in 2 "fit: seq2seq with lists of different lengths" 't_history\tr_history\tdelta_ts\tys\n0,3\t3\t3,5\t1,1\n'
fit_in 2 "fit: an unknown format" "$revs" --format csv
fit_in 0 "fit: a replay CSV" "$revs"
has "weights: " "fit: prints the weights"
fit_in 0 "fit: --json" "$revs" --json
check "fit: --json gives 21 weights" "python3 -c 'import json,sys; assert len(json.load(open(sys.argv[1]))[\"weights\"]) == 21' '$tmp/out'"
cp "$tmp/out" "$tmp/fit1"
fit_in 0 "fit: the same input again" "$revs" --json
check "fit: the same input gives the same weights" 'python3 -c "import json,sys; a,b=(json.load(open(f)) for f in sys.argv[1:]); sys.exit(a[\"weights\"] != b[\"weights\"])" "$tmp/out" "$tmp/fit1"'

# simulate: without a school, the defaults; a retention out of range exits 2.
expect 0 "simulate with the defaults" "$RECALLD" simulate
check "simulate prints a row per retention from 0.75 to 0.97" '[ "$(grep -c "^0\.[0-9][0-9] " "$tmp/out")" = 9 ]'
expect 2 "simulate: a retention out of range" "$RECALLD" simulate --retention 2
has "out of range" "simulate: says what is out of range"
expect 2 "simulate: pupils out of range" "$RECALLD" simulate --pupils 0

# check-config: a missing default file is fine, every key has a default.
expect 0 "check-config with defaults" env -u RECALLD_DATABASE_URL "$RECALLD" check-config
has "pool_size = 4" "defaults printed"

printf '[database]\nurl = host=db user=r password=hunter2 dbname=recalld\npool_size = 6\n' >"$tmp/good.conf"
expect 0 "check-config with a file" "$RECALLD" -c "$tmp/good.conf" check-config
has "pool_size = 6" "file value printed"
hasnt "hunter2" "password masked"
expect 0 "-c after the subcommand" "$RECALLD" check-config -c "$tmp/good.conf"
has "pool_size = 6" "-c after the subcommand is read"

printf '[log]\nlevel = info\n\n[database]\npool_sz = 3\n' >"$tmp/typo.conf"
expect 2 "typo in a key exits 2" "$RECALLD" -c "$tmp/typo.conf" check-config
has "typo.conf:5:" "the error names the file and line"
has "pool_sz" "the error names the key"

printf '[http]\nmax_body = huge\n' >"$tmp/bad.conf"
expect 2 "bad value exits 2" "$RECALLD" -c "$tmp/bad.conf" check-config
has "bad.conf:2:" "bad value names the line"

printf '[http\nlisten = x\n' >"$tmp/syntax.conf"
expect 2 "syntax error exits 2" "$RECALLD" -c "$tmp/syntax.conf" check-config
has "syntax.conf:1:" "syntax error names the line"

expect 2 "a given file that is missing" "$RECALLD" -c "$tmp/none.conf" check-config
expect 2 "bad environment value" env RECALLD_DATABASE_POOL_SIZE=zero "$RECALLD" check-config
has "RECALLD_DATABASE_POOL_SIZE" "env error names the variable"
expect 0 "environment overrides" env RECALLD_HTTP_LISTEN=127.0.0.1:9 "$RECALLD" -c "$tmp/good.conf" check-config
has "listen = 127.0.0.1:9" "env value printed"

# What serve refuses, check-config refuses too (exit 2, naming the key).
refused() {	# refused NAME KEY CONFIG-TEXT
	printf "$3" >"$tmp/$1.conf"
	expect 2 "check-config refuses $1" "$RECALLD" -c "$tmp/$1.conf" check-config
	has "$2" "check-config names $2 for $1"
	expect 2 "serve refuses $1" env RECALLD_DATABASE_STARTUP_WAIT=0 "$RECALLD" -c "$tmp/$1.conf" serve
	has "$2" "serve names $2 for $1"
}
refused link-key-not-base64 responses.link_key '[responses]\nlink_key = not*base64\n'
refused link-key-short responses.link_key '[responses]\nlink_key = c2hvcnQ=\n'
refused clock-start clock.start '[clock]\nmode = manual\nstart = yesterday\n'
refused listen-no-port http.listen '[http]\nlisten = 127.0.0.1\n'
refused listen-bad http.listen '[http]\nlisten = 999.1.1.1:99999\n'
refused database-url database.url '[database]\nurl = host=db dbname\n'
refused duplicate-key "duplicate-key.conf:4:" '[http]\nlisten = 127.0.0.1:1\n[http]\nlisten = 127.0.0.1:2\n'
has "listen" "a duplicate key is named"
# Secrets at rest: serve refuses a key file that is missing or open to
# others, before it waits for any database; keys init makes one, 0600, and
# never writes over one.
printf '[secrets]\nkey_file = %s\n' "$tmp/secrets.key" >"$tmp/keys.conf"
expect 2 "serve refuses a missing secrets.key_file" \
	env RECALLD_DATABASE_STARTUP_WAIT=0 "$RECALLD" -c "$tmp/keys.conf" serve
has "recalld keys init" "and says how to make one"
expect 0 "keys init makes the key file" "$RECALLD" -c "$tmp/keys.conf" keys init
check "the key file is readable by its owner only ($(stat -c %a "$tmp/secrets.key" 2>&1))" \
	'[ "$(stat -c %a "$tmp/secrets.key")" = 600 ]'
cp "$tmp/secrets.key" "$tmp/secrets.key.first"
expect 2 "keys init never writes over a key file" "$RECALLD" -c "$tmp/keys.conf" keys init
has "exists already" "and says why"
check "the first key is still there" 'cmp -s "$tmp/secrets.key" "$tmp/secrets.key.first"'
chmod 644 "$tmp/secrets.key"
expect 2 "serve refuses a key file open to others" \
	env RECALLD_DATABASE_STARTUP_WAIT=0 "$RECALLD" -c "$tmp/keys.conf" serve
has "chmod 600" "and says what to do"
chmod 600 "$tmp/secrets.key"
printf 'abcd1234 c2hvcnQ=\n' >"$tmp/bad.key"
chmod 600 "$tmp/bad.key"
expect 2 "serve refuses a malformed key file" env RECALLD_DATABASE_STARTUP_WAIT=0 \
	RECALLD_SECRETS_KEY_FILE="$tmp/bad.key" "$RECALLD" serve
has "is not 32 bytes of base64" "and names what is wrong"
hasnt "c2hvcnQ" "without quoting the key"
expect 2 "a bad key from the environment is refused" env RECALLD_CLOCK_START=yesterday "$RECALLD" check-config
has "clock.start" "the environment's bad key is named"

# The example configuration shipped with recalld documents every key and is valid.
expect 0 "the example configuration is valid" "$RECALLD" -c "${srcdir:-.}/systemd/recalld.conf" check-config
# section.key pairs: what check-config prints against what the example sets.
pairs() { awk '/^\[[a-z_]+\]/ { s = substr($1, 2, length($1) - 2); next }
	s != "" && /^[a-z_]+ =/ { print s "." $1 }' "$@" | sort -u; }
env -u RECALLD_DATABASE_URL "$RECALLD" check-config 2>/dev/null | pairs >"$tmp/keys"
pairs "${srcdir:-.}/systemd/recalld.conf" >"$tmp/example-keys"
nkeys=$(wc -l <"$tmp/keys")
nlines=$(env -u RECALLD_DATABASE_URL "$RECALLD" check-config 2>/dev/null | grep -c '^[^#[].* = \{0,1\}')
missing=$(comm -23 "$tmp/keys" "$tmp/example-keys" | tr '\n' ' ')
if [ "$nkeys" = 0 ] || [ "$nkeys" != "$nlines" ]; then
	not_ok "check-config's keys not read ($nkeys section.key pairs of $nlines key lines)"
elif [ -z "$missing" ]; then ok "the example configuration has every key ($nkeys)"
else not_ok "keys missing from the example: $missing"; fi

# The man pages: recalld.conf(5) against the configuration table as
# check-config sees it (keys, defaults, SIGHUP), recalld(8) against the
# subcommand table. RECALLD_MAN_DIR: pages elsewhere (the installed ones).
mandir=${RECALLD_MAN_DIR:-${top_builddir:-.}/man}
cat_man() {	# cat_man NAME: the page's roff source, escapes undone
	if [ -f "$mandir/$1" ]; then cat "$mandir/$1"; else zcat "$mandir/$1.gz"; fi |
		sed -e 's/\\-/-/g' -e 's/\\e/\\/g' -e 's/\\&//g'
}
if ! cat_man recalld.conf.5 >"$tmp/conf.5" 2>/dev/null || ! cat_man recalld.8 >"$tmp/recalld.8" 2>/dev/null; then
	not_ok "man pages not found in $mandir"
else
	awk '/^\.SS \[/ { s = substr($2, 2, length($2) - 2); next }
		/^\.BI "[a-z_]+ = "/ { split($0, q, "\""); k = q[2]; sub(/ = $/, "", k); key = s "." k; print key }' \
		"$tmp/conf.5" | sort >"$tmp/man-keys"
	if [ -s "$tmp/man-keys" ] && cmp -s "$tmp/man-keys" "$tmp/keys"; then
		ok "recalld.conf(5) has every key and no other ($(wc -l <"$tmp/man-keys"))"
	else
		not_ok "recalld.conf(5) and check-config list different keys"; diff "$tmp/man-keys" "$tmp/keys"
	fi
	# The defaults the page states, loaded as a file, give the defaults.
	awk '/^\.SS \[/ { print "[" substr($2, 2, length($2) - 2) "]"; next }
		/^\.BI "[a-z_]+ = "/ { split($0, q, "\""); print q[2] q[4] }' "$tmp/conf.5" >"$tmp/man-defaults.conf"
	env -u RECALLD_DATABASE_URL "$RECALLD" -c /dev/null check-config 2>&1 | grep -v '^# effective' >"$tmp/defaults.out"
	env -u RECALLD_DATABASE_URL "$RECALLD" -c "$tmp/man-defaults.conf" check-config 2>&1 |
		grep -v '^# effective' >"$tmp/man-defaults.out"
	if [ -s "$tmp/defaults.out" ] && cmp -s "$tmp/defaults.out" "$tmp/man-defaults.out"; then
		ok "recalld.conf(5)'s defaults are the daemon's"
	else
		not_ok "recalld.conf(5)'s defaults differ from the daemon's"; diff "$tmp/defaults.out" "$tmp/man-defaults.out"
	fi
	# Which keys SIGHUP reloads: check-config says "(SIGHUP reloads)" in the comment.
	awk '/^\[[a-z_]+\]/ { s = substr($1, 2, length($1) - 2); next }
		/^#/ { r = /\(SIGHUP reloads\)$/ ? "reload" : "restart"; next }
		s != "" && /^[a-z_]+ =/ { print s "." $1, r }' "$tmp/defaults.out" | sort >"$tmp/reload"
	awk '/^\.SS \[/ { s = substr($2, 2, length($2) - 2); next }
		/^\.BI "[a-z_]+ = "/ { split($0, q, "\""); k = q[2]; sub(/ = $/, "", k); key = s "." k; next }
		/^SIGHUP reloads it/ { print key, "reload" }
		/^A change needs a restart/ { print key, "restart" }' "$tmp/conf.5" | sort >"$tmp/man-reload"
	if [ -s "$tmp/reload" ] && cmp -s "$tmp/reload" "$tmp/man-reload"; then
		ok "recalld.conf(5) says which keys SIGHUP reloads ($(grep -c ' reload$' "$tmp/reload"))"
	else
		not_ok "recalld.conf(5) and the table disagree on SIGHUP"; diff "$tmp/reload" "$tmp/man-reload"
	fi
	missing=
	for c in $("$RECALLD" --help | awk '/^subcommands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }'); do
		grep -q "^\.SS $c\( \|$\)" "$tmp/recalld.8" || missing="$missing $c"
	done
	ncmd=$("$RECALLD" --help | awk '/^subcommands:/ { on = 1; next } on && /^  [a-z]/' | wc -l)
	if [ "$ncmd" -gt 0 ] && [ -z "$missing" ]; then ok "recalld(8) documents every subcommand ($ncmd)"
	else not_ok "recalld(8) lacks subcommands:$missing"; fi
	codes=$(awk '/^\.SH / { on = ($0 == ".SH EXIT STATUS"); next } on && /^\.B [0-9]+$/ { print $2 }' "$tmp/recalld.8" | tr '\n' ' ')
	check_codes="0 1 2 "
	if [ "$codes" = "$check_codes" ]; then ok "recalld(8) documents exit statuses $codes"
	else not_ok "recalld(8)'s exit statuses are '$codes', want '$check_codes'"; fi
	if command -v groff >/dev/null 2>&1; then
		for p in recalld.8 recalld.conf.5; do
			if [ -f "$mandir/$p" ]; then w=$(groff -man -ww -z "$mandir/$p" 2>&1); else w=$(zcat "$mandir/$p.gz" | groff -man -ww -z 2>&1); fi
			if [ -z "$w" ]; then ok "groff formats $p without a warning"; else not_ok "groff warns on $p: $w"; fi
		done
	fi
fi

tap_done
