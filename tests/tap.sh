# tap.sh: sourced by the shell tests (cli.sh, daemon.sh, daemons.sh,
# openapi.sh, package.sh) for their TAP lines: ok, not_ok, check NAME
# EXPR (EXPR eval'd; false on failure), ms, and tap_done, their last line:
# "N passed, M failed", true when nothing failed.
fails=0
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; return 1; fi; }
ms() { date +%s%3N; }
tap_done() {
	echo "$((n - fails)) passed, $fails failed"
	[ "$fails" = 0 ]
}
