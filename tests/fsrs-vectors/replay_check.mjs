// replay_check.mjs: `recalld replay` against the reference ts-fsrs.
//
// Run by hand (needs npm install here first):
//   node replay_check.mjs PATH/TO/recalld [--rows N] [--cards N] [--seed N]
//
// Makes a random review log (interleaved cards, ISO 8601 times with and
// without fractions and offsets, Unix seconds, same-second and same-day
// repeats, gaps of years, ids that need CSV quoting), replays it through
// ts-fsrs exactly as gen.mjs does, runs `PATH replay` on it under a few
// option sets, and compares every column: ids, times, ratings, elapsed days
// and intervals exactly, retrievability, stability and difficulty to 1e-6
// relative. Exits 1 on any difference.

import { createEmptyCard, fsrs, generatorParameters, default_w, State } from 'ts-fsrs';
import { execFileSync } from 'node:child_process';

const args = process.argv.slice(2);
const bin = args[0];
if (!bin) {
	console.error('usage: node replay_check.mjs PATH/TO/recalld [--rows N] [--cards N] [--seed N]');
	process.exit(2);
}
const opt = (name, def) => {
	const i = args.indexOf(name);
	return i >= 0 ? Number(args[i + 1]) : def;
};
const ROWS = opt('--rows', 30000), CARDS = opt('--cards', 2000), SEED = opt('--seed', 7);

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
const pad = (n, w = 2) => String(n).padStart(w, '0');

// How a time in microseconds is written: a text that means exactly it.
function formatTime(us) {
	const ms = Math.floor(us / 1000), d = new Date(ms);
	const base = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-` +
		`${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:` +
		`${pad(d.getUTCSeconds())}`;
	const kind = randint(0, 3);
	if (us % 1e6 === 0 && kind === 0)
		return String(us / 1e6);
	if (us % 1e6 === 0 && kind === 1)
		return base + 'Z';
	if (us % 1e6 === 0 && kind === 2)
		return base + '+00:00';
	if (us % 1000 === 0)
		return `${base}.${pad(d.getUTCMilliseconds(), 3)}Z`;
	// Microseconds, which the reference's Date drops.
	return `${base}.${pad(d.getUTCMilliseconds(), 3)}${pad(((us % 1000) + 1000) % 1000, 3)}Z`;
}

const csvField = (s) => /[",\n\r]|^[ \t]|[ \t]$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;

function parseCsv(text) {
	const rows = [];
	let row = [], f = '', i = 0, q = false;
	while (i < text.length) {
		const c = text[i++];
		if (q) {
			if (c === '"') {
				if (text[i] === '"') { f += '"'; i++; } else q = false;
			} else f += c;
		} else if (c === '"') q = true;
		else if (c === ',') { row.push(f); f = ''; }
		else if (c === '\n') { row.push(f); rows.push(row); row = []; f = ''; }
		else f += c;
	}
	if (f !== '' || row.length) { row.push(f); rows.push(row); }
	return rows;
}

// The log: per card a time line, then all rows merged by time.
const rows = [];
for (let c = 0; c < CARDS; c++) {
	const id = c % 97 === 0 ? `pupil ${c}, q"${c}"` : c % 2 ? `c${c}` : String(100000 + c);
	let us = randint(Date.UTC(1965, 0, 1) / 1000, Date.UTC(2035, 0, 1) / 1000) * 1e6;
	const n = Math.max(1, Math.round((ROWS / CARDS) * 2 * rand()));
	for (let k = 0; k < n; k++) {
		if (k > 0) {
			const x = rand();
			us += 1e6 * (x < 0.1 ? 0 : x < 0.25 ? randint(1, 10 * 3600) :
				x < 0.85 ? randint(0, 60 * 86400) : randint(365, 4000) * 86400);
			const y = rand();	// now and then, a fraction of a second
			us += y < 0.1 ? randint(0, 999) * 1000 : y < 0.2 ? randint(0, 999999) : 0;
		}
		rows.push({ id, text: formatTime(us), t: Math.floor(us / 1000), us,
			rating: randint(1, 4), seq: rows.length });
	}
}
rows.sort((a, b) => a.us - b.us || a.seq - b.seq);
const input = 'card_id,review_time,rating\n' +
	rows.map((r) => `${csvField(r.id)},${r.text},${r.rating}`).join('\n') + '\n';

const optionSets = [
	{ args: [] },
	{ args: ['--retention', '0.8', '--max-interval', '365'], retention: 0.8, max: 365 },
	{ args: ['--retention=0.95', '--max-interval=7'], retention: 0.95, max: 7 },
	{ args: ['--params', '0.3,1.1,2.5,9,6,0.7,2.5,0.01,1.6,0.2,0.9,1.5,0.07,0.3,1.7,0.5,2,0.5,0.1,0.1,0.3'],
		w: [0.3, 1.1, 2.5, 9, 6, 0.7, 2.5, 0.01, 1.6, 0.2, 0.9, 1.5, 0.07, 0.3, 1.7, 0.5, 2, 0.5, 0.1, 0.1, 0.3] },
];

let failures = 0;
const close = (a, b) => a === b || Math.abs(a - b) <= 1e-6 * Math.abs(b);
for (const os of optionSets) {
	const f = fsrs(generatorParameters({ w: os.w ?? default_w,
		request_retention: os.retention ?? 0.9, maximum_interval: os.max ?? 36500,
		enable_fuzz: false, enable_short_term: false }));
	const cards = new Map();
	const want = rows.map((r) => {
		let card = cards.get(r.id) ?? createEmptyCard(new Date(r.t));
		const now = new Date(r.t);
		const first = card.state === State.New;
		const item = f.next(card, now, r.rating);
		const elapsed = item.log.elapsed_days;
		const R = first ? 0 : f.forgetting_curve(elapsed, card.stability);
		card = item.card;
		cards.set(r.id, card);
		return [r.id, r.text, String(r.rating), elapsed, R, card.stability,
			card.difficulty, card.scheduled_days];
	});

	const t0 = process.hrtime.bigint();
	let out;
	try {
		out = execFileSync(bin, ['replay', ...os.args],
			{ input, maxBuffer: 1 << 30, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
	} catch (e) {
		console.error(`${bin} replay ${os.args.join(' ')} failed (exit ${e.status}): ${e.stderr}`);
		process.exit(1);
	}
	const secs = Number(process.hrtime.bigint() - t0) / 1e9;
	const got = parseCsv(out);
	const header = got.shift().join(',');
	let bad = 0, maxrel = 0;
	if (header !== 'card_id,review_time,rating,elapsed_days,retrievability,stability,difficulty,interval_days') {
		console.error(`header: ${header}`);
		bad++;
	}
	if (got.length !== want.length) {
		console.error(`${got.length} rows out, ${want.length} expected`);
		bad++;
	}
	for (let i = 0; i < Math.min(got.length, want.length) && bad < 10; i++) {
		const g = got[i], w = want[i];
		const same = g[0] === w[0] && g[1] === w[1] && g[2] === w[2] &&
			Number(g[3]) === w[3] && Number(g[7]) === w[7] &&
			[4, 5, 6].every((k) => close(Number(g[k]), w[k]));
		for (const k of [4, 5, 6])
			if (w[k] !== 0)
				maxrel = Math.max(maxrel, Math.abs(Number(g[k]) - w[k]) / Math.abs(w[k]));
		if (!same) {
			console.error(`row ${i + 2}: got ${JSON.stringify(g)}\n        want ${JSON.stringify(w)}`);
			bad++;
		}
	}
	console.log(`${os.args.join(' ') || '(defaults)'}: ${want.length} rows, ` +
		`${bad ? 'MISMATCH' : 'identical'} (max relative difference ${maxrel.toExponential(2)}), ` +
		`replay took ${secs.toFixed(3)} s`);
	failures += bad;
}
process.exit(failures ? 1 : 0);
