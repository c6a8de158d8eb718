// replay_ts.mjs: what `recalld replay` does, written on the reference
// ts-fsrs, for bench/bench_replay.sh. Reads the simple CSV of
// bench/gen_reviews.mjs (no quoted fields) on stdin, writes the same
// columns as recalld replay on stdout.
//
//   node bench/replay_ts.mjs < reviews.csv > states.csv
//
// Needs ts-fsrs: `cd tests/fsrs-vectors && npm install`.

import { createInterface } from 'node:readline';

const ts = await import('ts-fsrs').catch(() =>
	import(new URL('../tests/fsrs-vectors/node_modules/ts-fsrs/dist/index.mjs', import.meta.url)));
const { createEmptyCard, fsrs, generatorParameters, State } = ts;

const f = fsrs(generatorParameters({ request_retention: 0.9, maximum_interval: 36500,
	enable_fuzz: false, enable_short_term: false }));
const cards = new Map();
const out = ['card_id,review_time,rating,elapsed_days,retrievability,stability,difficulty,interval_days'];
let first = true;

for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
	if (first) {
		first = false;
		continue;
	}
	if (line === '')
		continue;
	const [id, time, rating] = line.split(',');
	const now = /^-?\d+$/.test(time) ? new Date(Number(time) * 1000) : new Date(time);
	let card = cards.get(id) ?? createEmptyCard(now);
	const r = card.state === State.New ? 0 : null;
	const item = f.next(card, now, Number(rating));
	const elapsed = item.log.elapsed_days;
	const R = r ?? f.forgetting_curve(elapsed, card.stability);
	card = item.card;
	cards.set(id, card);
	out.push(`${id},${time},${rating},${elapsed},${R},${card.stability},${card.difficulty},${card.scheduled_days}`);
	if (out.length >= 10000) {
		process.stdout.write(out.join('\n') + '\n');
		out.length = 0;
	}
}
process.stdout.write(out.join('\n') + '\n');
