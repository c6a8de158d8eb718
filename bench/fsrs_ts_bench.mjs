// fsrs_ts_bench.mjs: the workload of bench/bench_fsrs.c in the reference
// ts-fsrs, updates per second on one core.
//
//   node bench/fsrs_ts_bench.mjs [CARDS [REVIEWS]]   (default 20000 x 20)
//
// Needs ts-fsrs: `cd tests/fsrs-vectors && npm install` (found there, or
// wherever node finds 'ts-fsrs'). Same generator and seed as the C program,
// so the checksum of intervals matches it for the same CARDS and REVIEWS.
// Timed: f.next(card, now, rating), the reference's call for one review,
// with the Date objects made beforehand. Also timed, for information: the
// bare memory-state step next_state() plus next_interval(), without the
// scheduler's card objects.

const ts = await import('ts-fsrs').catch(() =>
	import(new URL('../tests/fsrs-vectors/node_modules/ts-fsrs/dist/index.mjs', import.meta.url)));
const { createEmptyCard, fsrs, generatorParameters } = ts;

const cards = Number(process.argv[2] ?? 20000);
const reviews = Number(process.argv[3] ?? 20);
const n = cards * reviews;

let s = 20250301;
function nextU32() {
	s = (s + 0x9e3779b9) >>> 0;
	let z = s;
	z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
	z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
	return (z ^ (z >>> 16)) >>> 0;
}
const rating = new Uint8Array(n), elapsed = new Uint32Array(n);
for (let i = 0; i < n; i++) {
	const x = nextU32() / 4294967296, y = nextU32() / 4294967296;
	rating[i] = x < 0.15 ? 1 : x < 0.3 ? 2 : x < 0.85 ? 3 : 4;
	if (i % reviews === 0 || y < 0.1)
		elapsed[i] = 0;
	else if (y < 0.7)
		elapsed[i] = 1 + nextU32() % 30;
	else if (y < 0.95)
		elapsed[i] = 30 + nextU32() % 370;
	else
		elapsed[i] = 365 + nextU32() % 3650;
}
// Whole days apart from noon UTC: the calendar days are the elapsed days.
const dates = new Array(n);
for (let c = 0, i = 0; c < cards; c++) {
	let t = Date.UTC(2020, 0, 1, 12);
	for (let k = 0; k < reviews; k++, i++) {
		t += elapsed[i] * 864e5;
		dates[i] = new Date(t);
	}
}

const f = fsrs(generatorParameters({ request_retention: 0.9, maximum_interval: 36500,
	enable_fuzz: false, enable_short_term: false }));

function runNext() {
	let sum = 0;
	const t0 = process.hrtime.bigint();
	for (let c = 0, i = 0; c < cards; c++) {
		let card = createEmptyCard(dates[i]);
		for (let k = 0; k < reviews; k++, i++) {
			card = f.next(card, dates[i], rating[i]).card;
			sum += card.scheduled_days;
		}
	}
	return [n / (Number(process.hrtime.bigint() - t0) / 1e9), sum];
}

// The algorithm alone: memory state and the chosen rating's own interval.
function runState() {
	let sum = 0;
	const t0 = process.hrtime.bigint();
	for (let c = 0, i = 0; c < cards; c++) {
		let st = null;
		for (let k = 0; k < reviews; k++, i++) {
			const r = st === null ? undefined : f.forgetting_curve(elapsed[i], st.stability);
			st = f.next_state(st, elapsed[i], rating[i], r);
			sum += f.next_interval(st.stability, elapsed[i]);
		}
	}
	return [n / (Number(process.hrtime.bigint() - t0) / 1e9), sum];
}

let best = 0, checksum = 0, bestState = 0;
for (let run = 0; run < 3; run++) {
	const [rate, sum] = runNext();
	if (rate > best)
		best = rate;
	checksum = sum;
	const [rs] = runState();
	if (rs > bestState)
		bestState = rs;
}
console.log(`ts-fsrs next(): ${n} updates, ${best.toFixed(0)} updates/s, checksum ${checksum}`);
console.log(`ts-fsrs next_state()+next_interval() alone: ${bestState.toFixed(0)} updates/s`);
