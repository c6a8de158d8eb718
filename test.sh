#!/bin/sh
# test.sh: from a fresh Debian 12 machine to the whole test suite, twice:
# a plain build through `make distcheck` (which runs `make check` on the
# distributed tarball), then a build with AddressSanitizer and
# UndefinedBehaviorSanitizer running `make check` again; then `make fuzz`
# and a short fixed run of every libFuzzer harness on its seed corpus
# (tests/fuzz/run.sh, FUZZ_RUNS per harness). Both make check runs include
# the dashboard's browser test (tests/browser.sh: Debian's chromium driven
# by playwright-core, which npm installs into build-node/ from
# tests/browser/package-lock.json); its screenshots are kept in
# build-artifacts/plain and build-artifacts/asan. As root, the Debian
# package too (tests/package.sh: build it, lintian, install it here, run it,
# purge it; the .deb is kept in build-artifacts/deb).
# Needs root or sudo only to install missing packages, and the npm registry
# once for playwright-core and the OpenAPI tooling (tests/openapi).
set -eu
cd "$(dirname "$0")"
top=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)

sh ./tests/deps.sh --test

# playwright-core for the browser test, outside the source tree so that
# `make distcheck`'s read-only copy of it finds it too. Never a browser
# download: the test runs /usr/bin/chromium.
mkdir -p build-node
if ! cmp -s tests/browser/package-lock.json build-node/package-lock.json ||
    [ ! -f build-node/node_modules/playwright-core/package.json ]; then
	cp tests/browser/package.json tests/browser/package-lock.json build-node/
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix build-node --no-audit --no-fund \
	    --loglevel=error >/dev/null || { echo "npm ci of tests/browser failed" >&2; exit 1; }
fi
RECALLD_NODE_PATH="$top/build-node/node_modules"
export RECALLD_NODE_PATH
# ajv, yaml and @redocly/cli, which hold the API and its webhooks to
# api/openapi.yaml (tests/openapi.sh, and every black-box suite's answers).
mkdir -p build-node/openapi
if ! cmp -s tests/openapi/package-lock.json build-node/openapi/package-lock.json ||
    [ ! -f build-node/openapi/node_modules/ajv/package.json ]; then
	cp tests/openapi/package.json tests/openapi/package-lock.json build-node/openapi/
	npm ci --prefix build-node/openapi --no-audit --no-fund --loglevel=error >/dev/null ||
		{ echo "npm ci of tests/openapi failed" >&2; exit 1; }
fi
RECALLD_OPENAPI_NODE_PATH="$top/build-node/openapi/node_modules"
export RECALLD_OPENAPI_NODE_PATH

autoreconf -fi >/dev/null

log="$top/build-test.log"
: >"$log"
status=0

echo "== plain build: make distcheck (includes make check)"
RECALLD_BROWSER_ARTIFACTS="$top/build-artifacts/plain"
export RECALLD_BROWSER_ARTIFACTS
mkdir -p build-plain
(cd build-plain && ../configure -q && make -j"$jobs" all bench >/dev/null &&
	make -j"$jobs" distcheck VERBOSE=1 DISTCHECK_CONFIGURE_FLAGS=-q) 2>&1 | tee -a "$log" |
	grep -E '^(PASS|FAIL|ERROR|XFAIL|XPASS|SKIP|# [A-Z]+:)|not ok|archives ready' || true
grep -q 'archives ready for distribution' "$log" || status=1

echo "== Debian package: build, lintian, install, migrate, serve, purge"
if [ "$(id -u)" = 0 ]; then
	sh tests/package.sh "$top" "$top/build-artifacts/deb" >"$top/build-package.log" 2>&1 || status=1
	grep -E '^(not ok|Bail out)|passed, .* failed$' "$top/build-package.log" || true
	# Counted as one suite's results, like make check's.
	sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/# PASS: \1\n# FAIL: \2/p' \
		"$top/build-package.log" >>"$log"
	cat "$top/build-package.log" >>"$log"
else
	echo "SKIP: tests/package.sh installs a package: run test.sh as root"
fi

echo "== sanitized build: ASan + UBSan, make check"
RECALLD_BROWSER_ARTIFACTS="$top/build-artifacts/asan"
mkdir -p build-asan
(cd build-asan && ../configure -q --enable-sanitizers && make -j"$jobs" >/dev/null &&
	make -j"$jobs" check VERBOSE=1) >"$top/build-asan.log" 2>&1 || status=1
grep -E '^(PASS|FAIL|ERROR|XPASS|SKIP|# [A-Z]+:)|not ok' "$top/build-asan.log" || true
cat "$top/build-asan.log" >>"$log"

echo "== fuzz harnesses: make fuzz, ${FUZZ_RUNS:-2000} runs each"
(cd build-asan && FUZZ_RUNS=${FUZZ_RUNS:-2000} sh "$top/tests/fuzz/run.sh") >"$top/build-fuzz.log" 2>&1 ||
	status=1
grep -E '^(PASS|FAIL):' "$top/build-fuzz.log" || true
cat "$top/build-fuzz.log" >>"$log"
if [ $status != 0 ]; then
	echo "== failures (full log in build-test.log)"
	grep -E -B2 -A30 '^(FAIL|ERROR):|not ok|runtime error|AddressSanitizer|LeakSanitizer|libFuzzer: deadly' "$log" | head -300
fi

for d in plain asan; do
	if ls "$top/build-artifacts/$d"/*.png >/dev/null 2>&1; then
		echo "browser test screenshots ($d): build-artifacts/$d/"
	fi
done
pass=$(sed -n 's/^# PASS: *//p' "$log" | awk '{s += $1} END {print s + 0}')
fail=$(sed -n 's/^# \(FAIL\|ERROR\|XPASS\): *//p' "$log" | awk '{s += $1} END {print s + 0}')
# Each fuzz harness counts as one test.
pass=$((pass + $(grep -c '^PASS: fuzz_' "$top/build-fuzz.log" || true)))
fail=$((fail + $(grep -c '^FAIL: ' "$top/build-fuzz.log" || true)))
[ "$status" = 0 ] || [ "$fail" != 0 ] || fail=1
echo "$pass passed, $fail failed"
[ "$status" = 0 ] && [ "$fail" = 0 ]
