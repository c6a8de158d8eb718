/*
 * launch_bench.cjs: LTI launches per second against a running recalld:
 * each launch is the whole round a browser makes, the OIDC login
 * (recalld's redirect, its state, nonce and cookie), the platform's signed
 * id_token (tests/lti/platform.cjs signs it), the launch post (recalld
 * checks the token and records the launch) and the landing page (the
 * pupil's own page). CONNS launches run at once for DURATION seconds.
 *
 * Environment: RECALLD_BASE, SCHOOL, PUPILS, CONNS, DURATION, RECALLD
 * (for `recalld lti add`), NODE_PATH (jose); LANDING=0 leaves the landing
 * page out (to see what it costs).
 */
'use strict';

const path = require('path');
const { execFileSync } = require('child_process');
const { startPlatform } = require(path.join(__dirname, '..', '..', 'tests', 'lti', 'platform.cjs'));

const BASE = process.env.RECALLD_BASE;
const SCHOOL = process.env.SCHOOL;
const PUPILS = Number(process.env.PUPILS || 1000);
const CONNS = Number(process.env.CONNS || 8);
const DURATION = Number(process.env.DURATION || 10);

async function main() {
	const p = await startPlatform({ tool: BASE });
	execFileSync(process.env.RECALLD, ['lti', 'add', '--school', SCHOOL, '--issuer', p.issuer,
	    '--client-id', p.clientId, '--deployment-id', p.deploymentId, '--auth-url', p.issuer + '/auth',
	    '--token-url', p.issuer + '/token', '--jwks-url', p.issuer + '/jwks'], { stdio: 'ignore' });
	for (let i = 1; i <= PUPILS; i++)
		p.addUser('p' + i, { sub: 'sub-' + i, roles: [p.ROLE.learner], sourcedid: 'p' + i });
	p.contexts.set('default', { context: 'bench-course', title: 'Bench', target: `${BASE}/lti/${SCHOOL}/launch` });

	const launch = async (i) => {
		const q = new URLSearchParams({ iss: p.issuer, login_hint: 'p' + i,
		    target_link_uri: `${BASE}/lti/${SCHOOL}/launch`, client_id: p.clientId,
		    lti_deployment_id: p.deploymentId });
		const r1 = await fetch(`${BASE}/lti/${SCHOOL}/login?${q}`, { redirect: 'manual' });
		const loc = new URL(r1.headers.get('location'));
		const cookie = (r1.headers.get('set-cookie') || '').split(';')[0];
		await r1.arrayBuffer();
		const tok = await p.sign(p.claims('p' + i, 'default', loc.searchParams.get('nonce')));
		const r2 = await fetch(`${BASE}/lti/${SCHOOL}/launch`, { method: 'POST', redirect: 'manual',
		    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookie },
		    body: new URLSearchParams({ id_token: tok, state: loc.searchParams.get('state') }).toString() });
		await r2.arrayBuffer();
		if (r2.status !== 303)
			throw new Error('launch answered ' + r2.status);
		if (process.env.LANDING === '0')
			return;	/* an experiment: the launch without its landing page */
		const r3 = await fetch(r2.headers.get('location'));
		await r3.arrayBuffer();
		if (r3.status !== 200)
			throw new Error('landing page answered ' + r3.status);
	};
	/* warm up: the JWKS fetched, connections open */
	for (let i = 1; i <= 20; i++)
		await launch(i);
	let n = 0, next = 1;
	const end = Date.now() + DURATION * 1000;
	const started = Date.now();
	const lat = [];
	await Promise.all(Array.from({ length: CONNS }, async () => {
		while (Date.now() < end) {
			const i = 1 + (next++ % PUPILS);
			const t0 = process.hrtime.bigint();
			await launch(i);
			lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
			n++;
		}
	}));
	const secs = (Date.now() - started) / 1000;
	lat.sort((a, b) => a - b);
	console.log(JSON.stringify({ launches: n, seconds: secs, per_second: n / secs,
	    p50_ms: lat[Math.floor(lat.length / 2)], p99_ms: lat[Math.floor(lat.length * 0.99)] }));
	await p.close();
}

main().catch((e) => { console.error(e); process.exit(1); });
