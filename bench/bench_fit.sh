#!/bin/sh
# bench_fit.sh: `recalld fit` beside the fsrs-rs optimizer on the same data
# and the same time-series split, in one run. Run by hand, never in CI.
#
#   RECALLD=path/to/recalld bench/bench_fit.sh [FILE.tsv]
#
# FILE defaults to ../shared/data/anki-one-user/seq2seq.tsv (evaluation
# data that stays outside the repository). fsrs-rs is the npm package
# @open-spaced-repetition/binding, installed into bench/fit/node_modules on
# first use (only this benchmark uses it).
#
# Both optimizers fit fold k of fsrs-rs's TimeSeriesSplit (the reviews in
# file order cut into six parts; fit parts 1..k, predict part k+1), and
# both sets of fold weights are scored twice: by recalld's evaluator
# (srs-benchmark's log loss, RMSE(bins), AUC over all held-out reviews)
# and by fsrs-rs's own (FSRS.evaluate on each held-out part). Speed is
# reviews fitted per second on the whole file, each optimizer's own clock.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
RECALLD=${RECALLD:-$top/recalld}
file=${1:-$top/../shared/data/anki-one-user/seq2seq.tsv}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

[ -r "$file" ] || { echo "bench_fit: cannot read $file" >&2; exit 1; }
command -v node >/dev/null || { echo "bench_fit: node is not installed" >&2; exit 1; }
if [ ! -d "$here/fit/node_modules/@open-spaced-repetition/binding" ]; then
	(cd "$here/fit" && npm install --no-audit --no-fund --silent) >&2
fi

"$RECALLD" fit --evaluate --json < "$file" > "$tmp/recalld.json"
python3 - "$tmp" <<'PY'
import json, sys
d = json.load(open(sys.argv[1] + "/recalld.json"))
with open(sys.argv[1] + "/recalld_folds.txt", "w") as f:
    for w in d["evaluation"]["fold_weights"]:
        f.write(",".join(repr(x) for x in w) + "\n")
PY
node "$here/fit/fsrs_rs.mjs" "$file" "$tmp" "$tmp/recalld_folds.txt" > "$tmp/fsrs_rs.json"
"$RECALLD" fit --evaluate --json --against "$tmp/fsrs_rs_folds.txt" < "$file" > "$tmp/against.json"

python3 - "$tmp" <<'PY'
import json, sys
t = sys.argv[1]
r = json.load(open(t + "/recalld.json"))
a = json.load(open(t + "/against.json"))["evaluation"]
f = json.load(open(t + "/fsrs_rs.json"))
e = f["fsrs_rs_evaluator"]
n = r["predictable"]
print(f"data: {r['reviews']} reviews in {r['cards']} cards, {n} predictable; "
      f"time-series split, 5 folds, {a['fitted']['reviews']} held-out reviews")
print()
print("scored by recalld's evaluator (srs-benchmark metrics)")
print(f"  {'weights':10} {'log_loss':>9} {'rmse_bins':>10} {'auc':>7}")
for name, m in (("recalld", a["fitted"]), ("fsrs-rs", a["against"]), ("default", a["default"])):
    print(f"  {name:10} {m['log_loss']:9.4f} {m['rmse_bins']:10.4f} {m['auc']:7.4f}")
print()
print("scored by fsrs-rs's evaluator (FSRS.evaluate per held-out part)")
print(f"  {'weights':10} {'log_loss':>9} {'rmse_bins':>10}")
for name, key in (("recalld", "recalld"), ("fsrs-rs", "fsrs_rs"), ("default", "default")):
    print(f"  {name:10} {e[key]['log_loss']:9.4f} {e[key]['rmse_bins']:10.4f}")
o = f["own_time_series_evaluation"]
print(f"  (fsrs-rs evaluateWithTimeSeriesSplits, its own pooled figure: "
      f"{o['log_loss']:.4f} / {o['rmse_bins']:.4f})")
print()
rs, fs = r["seconds"], f["fit_seconds_all"]
print("speed, fitting all reviews once")
print(f"  recalld  {rs:7.3f} s  {n / rs:12,.0f} reviews/s")
print(f"  fsrs-rs  {fs:7.3f} s  {f['items'] / fs:12,.0f} reviews/s   (ratio {fs / rs:.1f}x)")
ok = (a["fitted"]["log_loss"] <= a["against"]["log_loss"] and
      a["fitted"]["rmse_bins"] <= a["against"]["rmse_bins"])
print()
print("recalld " + ("meets" if ok else "DOES NOT meet") +
      " fsrs-rs's held-out log loss and RMSE(bins) on this split")
PY
