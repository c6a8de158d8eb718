#!/bin/sh
# deps.sh: install the Debian packages recalld builds, tests and demos with,
# only those missing. Used by demo.sh, and by test.sh as `deps.sh --test`,
# which adds what only the tests need: chromium for the dashboard's browser
# test (tests/browser.sh), node and npm for its playwright-core when there
# is no node yet, and clang with libFuzzer for `make fuzz` (clang-14 only
# recommends libclang-rt-14-dev, which holds libFuzzer; zip makes the
# roster harness's seeds), and what tests/package.sh builds and checks the
# Debian package with (debhelper, dpkg-dev, lintian; groff-base lets
# tests/cli.sh check the man pages' formatting).
set -eu
pkgs="build-essential autoconf automake libtool pkg-config ca-certificates curl
libevent-dev libpq-dev libcurl4-openssl-dev libjansson-dev libssl-dev
libinih-dev check libcsv-dev libzip-dev libutf8proc-dev libcjose-dev libsystemd-dev postgresql postgresql-contrib"
if [ "${1:-}" = --test ]; then
	pkgs="$pkgs chromium fonts-dejavu-core clang libclang-rt-14-dev zip
debhelper dpkg-dev lintian groff-base"
	command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || pkgs="$pkgs nodejs npm"
fi
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
sudo=
[ "$(id -u)" = 0 ] || sudo=sudo
$sudo apt-get update -qq
# The postgresql package must not start a system cluster we do not use.
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
