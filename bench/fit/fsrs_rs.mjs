// fsrs_rs.mjs: the fsrs-rs optimizer (npm @open-spaced-repetition/binding)
// on a seq2seq file, for bench_fit.sh. Items are built as fsrs-rs builds
// them (one per review after a card's first, with the card's history), in
// file order, and cut as its TimeSeriesSplit cuts them: six parts, fold k
// trained on parts 1..k and tested on part k+1.
//
//   node fsrs_rs.mjs FILE.tsv OUT_DIR [RECALLD_FOLD_WEIGHTS]
//
// Writes OUT_DIR/fsrs_rs_folds.txt (one line of weights per fold) and
// prints JSON: fit time on all items, fsrs-rs's own time-series evaluation,
// and, given recalld's fold weights, fsrs-rs's evaluator applied to the
// held-out parts with recalld's, fsrs-rs's and the default weights.
import fs from 'node:fs';
import { computeParameters, evaluateWithTimeSeriesSplits, FSRSBinding,
  FSRSBindingItem, FSRSBindingReview } from '@open-spaced-repetition/binding';

const [file, outDir, recalldFolds] = process.argv.slice(2);
const rows = fs.readFileSync(file, 'utf8').trim().split('\n').slice(1);
const items = [];
for (const row of rows) {
  const [th, rh, dts, ys] = row.split('\t').map((c) => c.split(',').map(Number));
  const reviews = th.map((t, i) => new FSRSBindingReview(rh[i], t));
  for (let i = 1; i < th.length; i++) items.push(new FSRSBindingItem(reviews.slice(0, i + 1)));
  // The last review's rating is not in the file, only its outcome; the
  // rating of the review predicted does not enter the prediction.
  const last = new FSRSBindingReview(ys[ys.length - 1] ? 3 : 1, dts[dts.length - 1]);
  items.push(new FSRSBindingItem([...reviews, last]));
}
const opts = { enableShortTerm: false };
const FOLDS = 5;
const seg = Math.floor(items.length / (FOLDS + 1));
const folds = [];
for (let k = 0; k < FOLDS; k++) {
  const start = (k + 1) * seg, end = k === FOLDS - 1 ? items.length : (k + 2) * seg;
  folds.push({ train: items.slice(0, start), test: items.slice(start, end) });
}
const foldWeights = [];
for (const f of folds) foldWeights.push(await computeParameters(f.train, opts));
fs.writeFileSync(`${outDir}/fsrs_rs_folds.txt`, foldWeights.map((w) => w.join(',')).join('\n') + '\n');

let t0 = process.hrtime.bigint();
const all = await computeParameters(items, opts);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const own = await evaluateWithTimeSeriesSplits(items, opts);

// fsrs-rs's evaluator (FSRS.evaluate) on each held-out part, averaged
// by the part's size, for any per-fold weights.
function byFsrsRs(weightsPerFold) {
  let ll = 0, rmse = 0, n = 0;
  folds.forEach((f, k) => {
    const e = new FSRSBinding(weightsPerFold[k]).evaluate(f.test);
    ll += e.logLoss * f.test.length; rmse += e.rmseBins * f.test.length; n += f.test.length;
  });
  return { log_loss: ll / n, rmse_bins: rmse / n };
}
const out = {
  items: items.length, fit_seconds_all: seconds, weights_all: all,
  own_time_series_evaluation: { log_loss: own.logLoss, rmse_bins: own.rmseBins },
};
if (recalldFolds) {
  const rw = fs.readFileSync(recalldFolds, 'utf8').trim().split('\n').map((l) => l.split(',').map(Number));
  const defaults = [0.212, 1.2931, 2.3065, 8.2956, 6.4133, 0.8334, 3.0194, 0.001, 1.8722, 0.1666,
    0.796, 1.4835, 0.0614, 0.2629, 1.6483, 0.6014, 1.8729, 0.5425, 0.0912, 0.0658, 0.1542];
  out.fsrs_rs_evaluator = {
    recalld: byFsrsRs(rw), fsrs_rs: byFsrsRs(foldWeights), default: byFsrsRs(folds.map(() => defaults)),
  };
}
console.log(JSON.stringify(out));
