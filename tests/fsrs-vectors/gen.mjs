// gen.mjs: test vectors for sched/fsrs.c from the reference ts-fsrs.
//
// Run by hand, never in CI (it needs npm), and commit the output:
//   cd tests/fsrs-vectors && npm install && node gen.mjs > ../data/fsrs_vectors.csv
//
// The same seed gives the same file. Every review goes through the
// reference exactly as recalld means it:
//   fsrs(generatorParameters({ w, request_retention, maximum_interval,
//       enable_fuzz: false, enable_short_term: false })).next(card, now, rating)
// starting from createEmptyCard.
//
// Output (CSV, lines starting with # are comments), three kinds of row:
//   P,set,retention,max_interval,given_w,effective_w
//       a parameter set; given_w is what was passed (17, 19 or 21 numbers,
//       space-separated), effective_w the 21 the reference ended up using.
//   R,set,card,unix_seconds,rating,elapsed_days,retrievability,stability,difficulty,interval_days
//       one review, a card's reviews in order, cards numbered from 0 across
//       the file; elapsed_days as the reference counts it (UTC calendar
//       days, 0 for a first review), retrievability the forgetting curve
//       the reference applies just before the review (0 for a first
//       review), then the card's stability, difficulty and scheduled days
//       after it.
//   F,max_interval,interval,elapsed_days,min_ivl,max_ivl
//       the reference's fuzz range get_fuzz_range(interval, elapsed, max).
// Numbers are JavaScript's shortest round-trip form.

import {
	createEmptyCard, default_w, fsrs, generatorParameters, get_fuzz_range,
	CLAMP_PARAMETERS, dateDiffInDays, State,
} from 'ts-fsrs';
import { readFileSync } from 'node:fs';

const SEED = 20250301;
const version = JSON.parse(readFileSync(
	new URL('./node_modules/ts-fsrs/package.json', import.meta.url))).version;

// The reference logs when it migrates 17/19 parameters; keep stdout clean.
console.debug = () => {};

// A counter hashed by a 32-bit finalizer: small, seedable, good enough.
function rng(seed) {
	let s = seed >>> 0;
	return () => {
		s = (s + 0x9e3779b9) >>> 0;
		let z = s;
		z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
		z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
		z ^= z >>> 16;
		return (z >>> 0) / 4294967296;
	};
}
const rand = rng(SEED);
const randint = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
const pick = (a) => a[Math.floor(rand() * a.length)];
const gauss = () => {
	const u = 1 - rand(), v = rand();
	return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
};
// 8 significant digits, as a fitted vector would carry.
const tidy = (x) => Number(x.toPrecision(8));

const ranges = CLAMP_PARAMETERS(2, false);
const inRange = (x, i) => Math.min(Math.max(x, ranges[i][0]), ranges[i][1]);

// Parameter sets: [w or undefined, retention, maximum interval, cards].
const sets = [
	[undefined, 0.9, 36500, 260],
	[undefined, 0.8, 36500, 60],
	[undefined, 0.95, 36500, 60],
	[undefined, 0.9, 365, 50],
	[undefined, 0.9, 30, 50],
	[undefined, 0.9, 1, 30],
	[undefined, 0.85, 7, 30],
];
// Defaults perturbed as fitted vectors differ from them.
for (let k = 0; k < 8; k++) {
	const w = default_w.map((x, i) => tidy(inRange(x * Math.exp(0.35 * gauss()), i)));
	sets.push([w, pick([0.8, 0.9, 0.95]), pick([36500, 3650, 180]), 50]);
}
// Anywhere in the valid ranges.
for (let k = 0; k < 3; k++) {
	const w = ranges.map(([lo, hi]) => tidy(lo + rand() * (hi - lo)));
	sets.push([w, pick([0.8, 0.9, 0.95]), pick([36500, 365]), 40]);
}
// The corners: every parameter at its lower, then upper, bound.
sets.push([ranges.map(([lo]) => lo), 0.9, 36500, 40]);
sets.push([ranges.map(([, hi]) => hi), 0.9, 36500, 40]);
// Older vectors the reference migrates: FSRS-5 (19) and FSRS-4.5 (17).
sets.push([[0.40255, 1.18385, 3.173, 15.69105, 7.1949, 0.5345, 1.4604,
	0.0046, 1.54575, 0.1192, 1.01925, 1.9395, 0.11, 0.29605, 2.2698,
	0.2315, 2.9898, 0.51655, 0.6621], 0.9, 36500, 40]);
sets.push([[0.4872, 1.4003, 3.7145, 13.8206, 5.1618, 1.2298, 0.8975,
	0.031, 1.6474, 0.1367, 1.0461, 2.1072, 0.0793, 0.3246, 1.587,
	0.2272, 2.8755], 0.9, 36500, 40]);
sets.push([[0.5, 0.5, 3, 3, 5.9, 0.00175, 0.001, 0.01, 1, 0.1, 1, 2, 0.1,
	0.3, 1.5, 0.2, 2], 0.9, 36500, 20]);

const out = [];
out.push(`# fsrs_vectors.csv: made by tests/fsrs-vectors/gen.mjs from ts-fsrs ${version} ` +
	`(enable_short_term false, enable_fuzz false), seed ${SEED}; do not edit`);
out.push('# P,set,retention,max_interval,given_w,effective_w');
out.push('# R,set,card,unix_seconds,rating,elapsed_days,retrievability,stability,difficulty,interval_days');
out.push('# F,max_interval,interval,elapsed_days,min_ivl,max_ivl');

const DAY = 86400;
let card_no = 0, reviews = 0;

function ratingsFor(mode) {
	switch (mode) {
	case 'good': return () => 3;
	case 'again': return () => 1;
	case 'school': return () => (rand() < 0.25 ? 1 : 3);
	case 'uniform': return () => randint(1, 4);
	default: return () => {
		const x = rand();
		return x < 0.15 ? 1 : x < 0.3 ? 2 : x < 0.85 ? 3 : 4;
	};
	}
}

function gap(scheduled) {
	const x = rand();
	if (x < 0.08)
		return 0;				// the same second
	if (x < 0.22)
		return randint(60, 600 * 60);		// later the same day, or past midnight
	if (x < 0.55)					// about when it was due
		return Math.round(scheduled * DAY * (0.5 + rand())) + randint(0, DAY);
	if (x < 0.75)
		return randint(1, 5) * DAY + randint(-3600 * 6, 3600 * 6);
	if (x < 0.85)
		return randint(365, 3650) * DAY + randint(0, DAY);	// years
	return randint(0, 60 * DAY);
}

sets.forEach(([w, retention, max_ivl, ncards], set) => {
	const params = { request_retention: retention, maximum_interval: max_ivl,
		enable_fuzz: false, enable_short_term: false };
	if (w !== undefined)
		params.w = w;
	const f = fsrs(generatorParameters(params));
	const given = (w ?? default_w).join(' ');
	out.push(`P,${set},${retention},${max_ivl},${given},${f.parameters.w.join(' ')}`);

	for (let c = 0; c < ncards; c++, card_no++) {
		const n = 1 + Math.floor(40 * rand() ** 2);
		const next_rating = ratingsFor(pick(['mixed', 'mixed', 'mixed',
			'uniform', 'school', 'good', 'again']));
		// Some cards start before 1970: days count from their own midnight.
		let t = randint(Date.UTC(1960, 0, 1) / 1000, Date.UTC(2030, 0, 1) / 1000);
		let card = createEmptyCard(new Date(t * 1000));
		for (let i = 0; i < n; i++) {
			if (i > 0)
				t += gap(card.scheduled_days);
			const now = new Date(t * 1000);
			const rating = next_rating();
			const elapsed = card.state === State.New ? 0 :
				dateDiffInDays(card.last_review, now);
			const r = card.state === State.New ? 0 :
				f.forgetting_curve(elapsed, card.stability);
			const item = f.next(card, now, rating);
			if (item.log.elapsed_days !== elapsed)
				throw new Error(`elapsed ${item.log.elapsed_days} != ${elapsed}`);
			card = item.card;
			out.push(`R,${set},${card_no},${t},${rating},${elapsed},${r},` +
				`${card.stability},${card.difficulty},${card.scheduled_days}`);
			reviews++;
		}
	}
});

for (const max_ivl of [36500, 100, 10, 3]) {
	for (let k = 0; k < 60; k++) {
		const interval = pick([randint(1, 30), randint(1, 400), randint(1, 40000)]);
		const elapsed = pick([0, randint(0, 2 * interval), interval, interval - 1]);
		if (elapsed < 0)
			continue;
		const { min_ivl, max_ivl: hi } = get_fuzz_range(interval, elapsed, max_ivl);
		out.push(`F,${max_ivl},${interval},${elapsed},${min_ivl},${hi}`);
	}
}

process.stdout.write(out.join('\n') + '\n');
process.stderr.write(`${sets.length} parameter sets, ${card_no} cards, ${reviews} reviews\n`);
