#!/bin/sh
# test.sh: from a fresh Debian 12 machine to the whole test suite, twice:
# a plain build through `make distcheck` (which runs `make check` on the
# distributed tarball), then a build with AddressSanitizer and
# UndefinedBehaviorSanitizer running `make check` again.
# Needs root or sudo only to install missing packages.
set -eu
cd "$(dirname "$0")"
top=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)

sh ./tests/deps.sh

autoreconf -fi >/dev/null

log="$top/build-test.log"
: >"$log"
status=0

echo "== plain build: make distcheck (includes make check)"
mkdir -p build-plain
(cd build-plain && ../configure -q && make -j"$jobs" >/dev/null &&
	make -j"$jobs" distcheck VERBOSE=1 DISTCHECK_CONFIGURE_FLAGS=-q) 2>&1 | tee -a "$log" |
	grep -E '^(PASS|FAIL|ERROR|XFAIL|XPASS|SKIP|# [A-Z]+:)|not ok|archives ready' || true
grep -q 'archives ready for distribution' "$log" || status=1

echo "== sanitized build: ASan + UBSan, make check"
mkdir -p build-asan
(cd build-asan && ../configure -q --enable-sanitizers && make -j"$jobs" >/dev/null &&
	make -j"$jobs" check VERBOSE=1) >"$top/build-asan.log" 2>&1 || status=1
grep -E '^(PASS|FAIL|ERROR|XPASS|SKIP|# [A-Z]+:)|not ok' "$top/build-asan.log" || true
cat "$top/build-asan.log" >>"$log"
if [ $status != 0 ]; then
	echo "== failures (full log in build-test.log)"
	grep -E -B2 -A30 '^(FAIL|ERROR):|not ok|runtime error|AddressSanitizer|LeakSanitizer' "$log" | head -300
fi

pass=$(sed -n 's/^# PASS: *//p' "$log" | awk '{s += $1} END {print s + 0}')
fail=$(sed -n 's/^# \(FAIL\|ERROR\|XPASS\): *//p' "$log" | awk '{s += $1} END {print s + 0}')
[ "$status" = 0 ] || [ "$fail" != 0 ] || fail=1
echo "$pass passed, $fail failed"
[ "$status" = 0 ] && [ "$fail" = 0 ]
