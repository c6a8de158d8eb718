#!/bin/sh
# package.sh SRCDIR [ARTIFACTS]: the Debian package, end to end, on this
# machine (as root; test.sh runs it). Builds recalld_*.deb from a copy of
# SRCDIR with dpkg-buildpackage, checks its file list and lintian, installs
# it with dpkg, runs the installed binary with the packaged configuration
# (check-config, migrate with the built-in SQL against a throwaway cluster,
# serve by the unit's own ExecStart line as the recalld user, /readyz and
# the dashboard), then removes and purges it: the configuration and state
# go, the database stays. The machine is left as it was found: the recalld
# user, which a purge keeps by Debian's rule, is deleted again if this test
# made it. The .deb is copied to ARTIFACTS when given.
set -u
src=$(cd "${1:?usage: package.sh SRCDIR [ARTIFACTS]}" && pwd)
artifacts=${2:-}
harness="$src/tests/pg-harness.sh"
. "$src/tests/tap.sh"
pid=
installed=0

bail() { echo "Bail out! $1"; exit 1; }

[ "$(id -u)" = 0 ] || bail "package.sh installs a package: run it as root"
for c in dpkg-buildpackage dh lintian setpriv curl; do
	command -v "$c" >/dev/null 2>&1 || bail "no $c (tests/deps.sh --test installs it)"
done
dpkg-query -W -f='${Status}' recalld 2>/dev/null | grep -q 'installed\|config-files' &&
	bail "a recalld package is installed already; this test would remove it"
[ -e /etc/recalld ] && bail "/etc/recalld exists; this test would remove it"
[ -e /var/lib/recalld ] && bail "/var/lib/recalld exists; this test would remove it"
had_user=0
id recalld >/dev/null 2>&1 && had_user=1
had_group=0
getent group recalld >/dev/null 2>&1 && had_group=1

tmp=$(mktemp -d /tmp/recalld-package.XXXXXX)
chmod 755 "$tmp"
pgdir="$tmp/pg"
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ "$installed" = 1 ] && dpkg --purge recalld >/dev/null 2>&1
	# Neither existed before (checked above): whatever a failed purge left.
	dpkg-statoverride --remove /etc/recalld/recalld.conf >/dev/null 2>&1
	rm -rf /etc/recalld /var/lib/recalld
	[ "$had_user" = 0 ] && id recalld >/dev/null 2>&1 && userdel recalld 2>/dev/null
	[ "$had_group" = 0 ] && getent group recalld >/dev/null 2>&1 && groupdel recalld 2>/dev/null
	sh "$harness" destroy "$pgdir" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Build from a copy: dpkg-buildpackage writes into the tree and beside it.
mkdir "$tmp/build" "$tmp/build/recalld"
if [ -e "$src/.git" ] && command -v git >/dev/null 2>&1; then
	git -C "$src" ls-files -z --cached --others --exclude-standard | (cd "$src" && xargs -0 tar -cf -) |
		tar -C "$tmp/build/recalld" -xf -
else
	(cd "$src" && tar --exclude='./build-*' --exclude=./var --exclude=./.git -cf - .) |
		tar -C "$tmp/build/recalld" -xf -
fi
version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
arch=$(dpkg --print-architecture)
deb="$tmp/build/recalld_${version}_${arch}.deb"
start=$(date +%s)
(cd "$tmp/build/recalld" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc 2>/dev/null || echo 2)" \
	dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1
code=$?
check "dpkg-buildpackage -us -uc -b builds recalld_${version}_${arch}.deb ($(($(date +%s) - start)) s)" \
	'[ $code = 0 ] && [ -f "$deb" ]'
[ -f "$deb" ] || { tail -40 "$tmp/build.log"; bail "no package"; }
[ -n "$artifacts" ] && mkdir -p "$artifacts" && cp "$deb" "$artifacts/"

# The file list, exactly: what recalld needs and nothing by accident.
{
	cat <<-EOF
	/etc/recalld/recalld.conf
	/lib/systemd/system/recalld.service
	/usr/bin/recalld
	/usr/lib/sysusers.d/recalld.conf
	/usr/lib/tmpfiles.d/recalld.conf
	/usr/share/doc/recalld/DATA-PROTECTION.md.gz
	/usr/share/doc/recalld/README.md.gz
	/usr/share/doc/recalld/changelog.gz
	/usr/share/doc/recalld/citus/distribute.sql
	/usr/share/doc/recalld/copyright
	/usr/share/doc/recalld/examples/recalld.conf
	/usr/share/doc/recalld/openapi.yaml
	/usr/share/man/man5/recalld.conf.5.gz
	/usr/share/man/man8/recalld.8.gz
	EOF
	for f in "$src"/sql/[0-9][0-9][0-9][0-9]_*.sql; do echo "/usr/share/recalld/sql/${f##*/}"; done
	for f in "$src"/api/dashboard/*; do echo "/usr/share/recalld/dashboard/${f##*/}"; done
} | sort >"$tmp/want-files"
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' | sort >"$tmp/files"
if cmp -s "$tmp/want-files" "$tmp/files"; then ok "the package holds exactly the $(wc -l <"$tmp/files") expected files"
else not_ok "the package's file list differs (- expected, + found)"; diff "$tmp/want-files" "$tmp/files"; fi
dpkg-deb -f "$deb" Package Version Architecture >"$tmp/fields"
check "the control fields name recalld $version $arch" \
	'grep -qx "Package: recalld" "$tmp/fields" && grep -qx "Version: $version" "$tmp/fields"'
dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles >"$tmp/conffiles" 2>/dev/null
check "/etc/recalld/recalld.conf is a conffile" 'grep -qx /etc/recalld/recalld.conf "$tmp/conffiles"'
check "the packaged configuration is the commented example" \
	'dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./etc/recalld/recalld.conf | cmp -s - "$src/systemd/recalld.conf"'

# lintian: no error; warnings are shown (README says which are expected).
lintian --fail-on error "$tmp/build/recalld_${version}_${arch}.changes" >"$tmp/lintian.log" 2>&1
code=$?
check "lintian reports no error ($(grep -c '^E:' "$tmp/lintian.log") errors, $(grep -c '^W:' "$tmp/lintian.log") warnings)" \
	'[ $code = 0 ] && ! grep -q "^E:" "$tmp/lintian.log"'
grep '^[EW]:' "$tmp/lintian.log"

# Install as an administrator would (its dependencies are the build's).
installed=1
dpkg -i "$deb" >"$tmp/install.log" 2>&1
check "dpkg -i installs it" '[ $? = 0 ]' || cat "$tmp/install.log"
check "installing started nothing and enabled nothing" \
	'! pgrep -f "^/usr/bin/recalld " >/dev/null && [ ! -e /etc/systemd/system/multi-user.target.wants/recalld.service ]'
check "/usr/bin/recalld --version is $version" '[ "$(/usr/bin/recalld --version)" = "recalld $version" ]'
check "the recalld system user exists" \
	'[ "$(id -u recalld)" -lt 1000 ] && [ "$(getent passwd recalld | cut -d: -f6)" = /var/lib/recalld ]'
check "its state directory /var/lib/recalld belongs to it" '[ "$(stat -c %U:%a /var/lib/recalld)" = recalld:750 ]'
check "the configuration is root's, readable by the recalld group only" \
	'[ "$(stat -c %U:%G:%a /etc/recalld/recalld.conf)" = root:recalld:640 ]'
check "the secrets key file was made, the recalld user's alone" \
	'[ "$(stat -c %U:%a /var/lib/recalld/secrets.key)" = recalld:600 ]'

# The installed binary, as the recalld user, with a clean environment.
# setpriv execs (runuser would stay as the parent): $! is the daemon itself.
as_recalld() { setpriv --reuid=recalld --regid=recalld --init-groups env -i PATH=/usr/bin:/bin "$@"; }
as_recalld /usr/bin/recalld -c /etc/recalld/recalld.conf check-config >"$tmp/check.log" 2>&1
check "check-config accepts the packaged configuration" '[ $? = 0 ] && grep -q "^pool_size = 4" "$tmp/check.log"'
# The installed man pages against the installed binary (tests/cli.sh's checks).
mkdir "$tmp/man"
cp /usr/share/man/man8/recalld.8.gz /usr/share/man/man5/recalld.conf.5.gz "$tmp/man/"
RECALLD=/usr/bin/recalld RECALLD_MAN_DIR="$tmp/man" srcdir="$src" sh "$src/tests/cli.sh" >"$tmp/cli.log" 2>&1
check "tests/cli.sh passes on the installed binary and man pages" '[ $? = 0 ]' || grep 'not ok' "$tmp/cli.log"

url=$(sh "$harness" start "$pgdir") || bail "cannot start PostgreSQL"
as_recalld RECALLD_DATABASE_URL="$url" /usr/bin/recalld -c /etc/recalld/recalld.conf migrate >"$tmp/migrate.log" 2>&1
check "migrate with the built-in SQL only" '[ $? = 0 ] && grep -q "applied 0001_init.sql" "$tmp/migrate.log"'
as_recalld RECALLD_DATABASE_URL="$url" /usr/bin/recalld -c /etc/recalld/recalld.conf migrate --status >"$tmp/status.log" 2>&1
check "migrate --status: current, from the migrations built into recalld" \
	'[ $? = 0 ] && grep -q "^the migrations built into recalld: $(ls "$src"/sql/[0-9]*.sql | wc -l)$" "$tmp/status.log"'

# serve, started by the unit's own command line (systemd may not run here).
unit=/lib/systemd/system/recalld.service
execstart=$(sed -n 's/^ExecStart=//p' "$unit")
check "the unit runs as the recalld user: $(grep -c '^User=recalld$' "$unit") User= line" 'grep -qx "User=recalld" "$unit"'
check "the unit's ExecStart is the packaged binary and configuration" \
	'[ "$execstart" = "/usr/bin/recalld -c /etc/recalld/recalld.conf serve" ]'
port=$((20000 + $$ % 20000))
for try in 1 2 3 4 5; do
	# shellcheck disable=SC2086 # the unit's line, split as systemd splits it
	# Not through as_recalld: a function in the background is a subshell.
	setpriv --reuid=recalld --regid=recalld --init-groups env -i PATH=/usr/bin:/bin \
		RECALLD_DATABASE_URL="$url" RECALLD_HTTP_LISTEN="127.0.0.1:$port" \
		RECALLD_DATABASE_STARTUP_WAIT=5s $execstart >"$tmp/serve.log" 2>&1 &
	pid=$!
	for i in $(seq 100); do
		s=$(curl -s -o "$tmp/body" -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/readyz")
		[ "$s" = 200 ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	[ "$s" = 200 ] && break
	kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=
	port=$((port + 11))
done
check "serve by ExecStart as recalld: GET /readyz 200" '[ "$s" = 200 ] && grep -q ready "$tmp/body"'
[ "$s" = 200 ] || cat "$tmp/serve.log"
s=$(curl -s -o "$tmp/body" -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/dashboard/")
check "the installed binary serves the dashboard (GET /dashboard/ $s)" \
	'[ "$s" = 200 ] && cmp -s "$tmp/body" "$src/api/dashboard/index.html"'
if [ -n "$pid" ]; then
	kill -TERM "$pid"
	wait "$pid"
	code=$?
	pid=
	check "serve stops on SIGTERM with exit 0 (exit $code)" '[ $code = 0 ]'
fi

# Remove keeps the configuration; purge takes it and the state, not the database.
dpkg -r recalld >"$tmp/remove.log" 2>&1
check "dpkg -r removes it" '[ $? = 0 ] && [ ! -e /usr/bin/recalld ] && [ ! -e "$unit" ]' || cat "$tmp/remove.log"
check "remove keeps the configuration" '[ -f /etc/recalld/recalld.conf ]'
dpkg -P recalld >"$tmp/purge.log" 2>&1
check "dpkg -P purges it" '[ $? = 0 ] && ! dpkg-query -W recalld >/dev/null 2>&1' || cat "$tmp/purge.log"
installed=0
check "purge removed /etc/recalld and /var/lib/recalld" '[ ! -e /etc/recalld ] && [ ! -e /var/lib/recalld ]'
check "purge removed the configuration's statoverride" '! dpkg-statoverride --list /etc/recalld/recalld.conf >/dev/null'
nsql=$(ls "$src"/sql/[0-9]*.sql | wc -l)
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
applied=$("$bindir/psql" -X -At -d "$url" -c "SELECT count(*) FROM schema_migrations" 2>&1)
check "the database is untouched by the purge ($applied of $nsql migrations)" '[ "$applied" = "$nsql" ]'

tap_done
