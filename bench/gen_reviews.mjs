// gen_reviews.mjs: a random reviews CSV for bench/bench_replay.sh.
//
//   node bench/gen_reviews.mjs [ROWS [CARDS [SEED]]] > reviews.csv
//
// card_id,review_time,rating with ISO 8601 UTC times, cards interleaved in
// time order, gaps from the same minute to a year, ratings 15% Again, 15%
// Hard, 55% Good, 15% Easy. Ids never need CSV quoting.

const rows = Number(process.argv[2] ?? 1000000);
const cards = Number(process.argv[3] ?? 50000);
let s = Number(process.argv[4] ?? 1) >>> 0;

function rand() {
	s = (s + 0x9e3779b9) >>> 0;
	let z = s;
	z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
	z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
	return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
}

const card = new Uint32Array(rows), time = new Float64Array(rows);
const rating = new Uint8Array(rows);
const per = Math.ceil(rows / cards);
for (let c = 0, i = 0; c < cards && i < rows; c++) {
	let t = Date.UTC(2024, 8, 1) + Math.floor(rand() * 30 * 86400) * 1000;
	for (let k = 0; k < per && i < rows; k++, i++) {
		if (k > 0) {
			const x = rand();
			t += 1000 * Math.floor(x < 0.1 ? rand() * 3600 :
				x < 0.9 ? rand() * 30 * 86400 : rand() * 365 * 86400);
		}
		card[i] = c;
		time[i] = t;
		const r = rand();
		rating[i] = r < 0.15 ? 1 : r < 0.3 ? 2 : r < 0.85 ? 3 : 4;
	}
}
const order = new Uint32Array(rows).map((_, i) => i);
order.sort((a, b) => time[a] - time[b] || a - b);

const out = ['card_id,review_time,rating'];
const flush = () => { process.stdout.write(out.join('\n') + '\n'); out.length = 0; };
for (const i of order) {
	out.push(`pupil${card[i] % 997}-q${card[i]},${new Date(time[i]).toISOString().slice(0, 19)}Z,${rating[i]}`);
	if (out.length >= 10000)
		flush();
}
flush();
