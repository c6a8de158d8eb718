/*
 * lti.cjs: recalld launched from an LMS (LTI 1.3), against the platform
 * double of tests/lti/platform.cjs (its own keys, its own JOSE library).
 * Registers it (`recalld lti add`) for the demo school and for a second
 * school; every kind of bad launch is refused with a page and changes
 * nothing; then in Debian's chromium a pupil launched from the course
 * answers a question in place, a teacher lands on the class's dashboard,
 * and a teacher from a course recalld does not know links it to a class;
 * the pupil's recall of each unit reaches the course's gradebook (AGS),
 * and again after the gradebook was down for a while.
 *
 * Environment (browser.sh sets it): RECALLD, RECALLD_BASE, SCHOOL,
 * OTHER_SCHOOL, PUPIL and TEACHER (roster sourcedIds), SECTION (the class's
 * sourcedId), PGURL, ADMIN_TOKEN, CHROMIUM, ARTIFACTS, NODE_PATH.
 */
'use strict';

const path = require('path');
const { execFileSync } = require('child_process');
const { load, checks, launch } = require('./common.cjs');
const { startPlatform, LTI } = require('../lti/platform.cjs');

const t = checks('lti.cjs');
const { ok } = t;
const { chromium } = load('playwright-core', 'lti.cjs');
const jose = load('jose', 'lti.cjs');
const RECALLD = t.env('RECALLD');
const BASE = t.env('RECALLD_BASE');
const SCHOOL = t.env('SCHOOL');
const OTHER = t.env('OTHER_SCHOOL');
const PUPIL = t.env('PUPIL');
const TEACHER = t.env('TEACHER');
const SECTION = t.env('SECTION');
const PGURL = t.env('PGURL');
const ARTIFACTS = t.env('ARTIFACTS');
const CHROMIUM = t.env('CHROMIUM');
const ADMIN = t.env('ADMIN_TOKEN');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
async function waitFor(pred, ms) {
	for (const end = Date.now() + ms; Date.now() < end; await sleep(200))
		if (pred())
			return true;
	return pred();
}

/* The pupil's first open question on their page, answered in place. */
async function answerFirst(page) {
	const form = page.locator('form').first();
	if (await form.locator('input[type="radio"]').count() > 0)
		await form.locator('input[type="radio"]').first().check();
	else if (await form.locator('input[type="text"], textarea').count() > 0)
		await form.locator('input[type="text"], textarea').first().fill('nucleus');
	await form.locator('button[type="submit"], input[type="submit"]').first().click();
	await page.waitForURL((u) => u.pathname.startsWith('/a/'));
	return page.locator('h1').first().textContent();
}

function psql(sql) {
	return execFileSync('psql', ['-X', '-At', PGURL, '-c', sql], { encoding: 'utf8' }).trim();
}

function recalld(args) {
	return execFileSync(RECALLD, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/* What a launch may change: none of it moves on a refused one. */
function counts() {
	return psql('SELECT (SELECT count(*) FROM lti_user) || \',\' || (SELECT count(*) FROM pupil)' +
	    ' || \',\' || (SELECT count(*) FROM teacher) || \',\' || (SELECT count(*) FROM lti_context)' +
	    ' || \',\' || (SELECT count(*) FROM signin_code) || \',\' || (SELECT count(*) FROM api_token)');
}

function b64url(o) {
	return Buffer.from(JSON.stringify(o)).toString('base64url');
}

t.run(async () => {
	const p = await startPlatform({ tool: BASE, port: Number(process.env.PLATFORM_PORT || 0) });
	const reg = (school, dep) => recalld(['lti', 'add', '--school', school, '--issuer', p.issuer,
	    '--client-id', p.clientId, '--deployment-id', dep, '--auth-url', p.issuer + '/auth',
	    '--token-url', p.issuer + '/token', '--jwks-url', p.issuer + '/jwks', '--name', 'Test LMS']);
	const shown = reg(SCHOOL, p.deploymentId);
	ok(shown.includes(`${BASE}/lti/${SCHOOL}/login`) && shown.includes(`${BASE}/lti/jwks`),
	    'lti add prints the login, launch and JWKS URLs', shown);
	reg(OTHER, 'deployment-other');

	const jwks = await (await fetch(`${BASE}/lti/jwks`)).json();
	const key = jwks.keys && jwks.keys[0];
	ok(key && key.kty === 'RSA' && key.alg === 'RS256' && key.use === 'sig' && !key.d &&
	    Buffer.from(key.n, 'base64url').length >= 256, '/lti/jwks publishes the tool\'s RSA public key (2048 bits or more), no private part',
	    JSON.stringify(jwks).slice(0, 300));

	const S = { learner: [p.ROLE.learner], instructor: [p.ROLE.instructor] };
	p.addUser('pupil', { sub: 'lms-pupil-1', roles: S.learner, sourcedid: PUPIL, given_name: 'Pupil' });
	p.addUser('teacher', { sub: 'lms-teacher-1', roles: S.instructor, sourcedid: TEACHER });
	p.addUser('stranger', { sub: 'lms-stranger', roles: S.learner, sourcedid: 'not-in-the-roster' });
	const target = `${BASE}/lti/${SCHOOL}/launch`;

	/* The course's membership in the LMS (NRPS): the class less one pupil, plus one new, and its teacher. */
	const classPupils = psql(`SELECT string_agg(p.external_id, ' ' ORDER BY p.pupil_id) FROM pupil p
	    JOIN class_pupil cp ON cp.school_id = p.school_id AND cp.pupil_id = p.pupil_id AND cp.active
	    JOIN class c ON c.school_id = cp.school_id AND c.class_id = cp.class_id
	    WHERE p.school_id = ${SCHOOL} AND c.external_id = '${SECTION}'`).split(' ');
	const leaver = classPupils.find((x) => x !== PUPIL);
	const leaverReviews = psql(`SELECT count(*) FROM review r JOIN pupil p ON p.school_id = r.school_id
	    AND p.pupil_id = r.pupil_id WHERE p.school_id = ${SCHOOL} AND p.external_id = '${leaver}'`);
	const members = classPupils.filter((x) => x !== leaver).map((x) => ({ status: 'Active',
	    user_id: x === PUPIL ? 'lms-pupil-1' : 'lms-' + x, lis_person_sourcedid: x, roles: [p.ROLE.learner] }));
	members.push({ status: 'Active', user_id: 'lms-newcomer', lis_person_sourcedid: 'newcomer-from-lms',
	    name: 'Not Kept', roles: [p.ROLE.learner] });
	members.push({ status: 'Active', user_id: 'lms-teacher-1', lis_person_sourcedid: TEACHER, roles: [p.ROLE.instructor] });
	p.members.set('lms-course-8a', members);
	p.contexts.set('default', { context: 'lms-course-8a', title: '8A Science', section: SECTION, target });
	p.contexts.set('unlinked', { context: 'lms-course-new', title: 'A new course', target });

	/* The login by hand: recalld's redirect to the platform, its state, nonce and cookie. */
	async function login(school, o = {}) {
		const q = new URLSearchParams({ iss: p.issuer, login_hint: o.hint || 'pupil',
		    target_link_uri: `${BASE}/lti/${school}/launch`, lti_message_hint: 'default',
		    client_id: p.clientId, lti_deployment_id: o.dep || p.deploymentId });
		const r = await fetch(`${BASE}/lti/${school}/login?${q}`, { redirect: 'manual' });
		const loc = r.headers.get('location') || '';
		const u = loc ? new URL(loc) : null;
		const setCookie = r.headers.get('set-cookie') || '';
		const cookie = setCookie.split(';')[0];
		return { status: r.status, text: r.status === 302 ? '' : await r.text(), loc, setCookie,
		    state: u && u.searchParams.get('state'), nonce: u && u.searchParams.get('nonce'), cookie };
	}
	async function post(school, form, cookie) {
		const r = await fetch(`${BASE}/lti/${school}/launch`, { method: 'POST', redirect: 'manual',
		    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...(cookie ? { Cookie: cookie } : {}) },
		    body: new URLSearchParams(form).toString() });
		return { status: r.status, text: await r.text(), loc: r.headers.get('location') };
	}
	const good = (l, hint = 'pupil') => p.claims(hint, 'default', l.nonce);

	const l0 = await login(SCHOOL);
	const auth = l0.loc.startsWith(p.issuer + '/auth?') ? new URL(l0.loc).searchParams : null;
	ok(l0.status === 302 && auth && auth.get('scope') === 'openid' && auth.get('response_type') === 'id_token' &&
	    auth.get('response_mode') === 'form_post' && auth.get('client_id') === p.clientId &&
	    auth.get('redirect_uri') === target && auth.get('login_hint') === 'pupil' && l0.state && l0.nonce &&
	    /HttpOnly/.test(l0.setCookie) && l0.cookie.startsWith('recalld_lti='),
	    'the login redirects to the platform\'s auth URL with state, nonce, form_post and a browser cookie', l0.loc);

	const before = counts();
	const bad = [];
	const refuse = async (what, make, want, wantStatus) => {
		const l = await login(SCHOOL);
		const form = await make(l);
		const r = await post(form.school || SCHOOL, { id_token: form.token, state: form.state || l.state },
		    form.cookie !== undefined ? form.cookie : l.cookie);
		const fine = (wantStatus ? r.status === wantStatus : r.status >= 400 && r.status < 500) &&
		    want.test(r.text) && /<h1>/.test(r.text);
		ok(fine, `refused with a page: ${what}`, `${r.status} ${r.text.replace(/\s+/g, ' ').slice(0, 400)}`);
		bad.push(what);
	};
	const other = await p.randomKey();
	await refuse('a bad signature', async (l) => ({ token: await p.sign(good(l), { key: other }) }),
	    /signature does not verify/, 401);
	await refuse('an unknown kid', async (l) => ({ token: await p.sign(good(l), { key: other, kid: 'not-a-key' }) }),
	    /no RS256 key with the id_token&#39;s kid|no RS256 key with the id_token's kid/, 401);
	await refuse('alg none', async (l) => ({ token: b64url({ alg: 'none', typ: 'JWT' }) + '.' +
	    b64url({ iss: p.issuer, aud: p.clientId, ...good(l) }) + '.' }), /no signature|only RS256/, 400);
	await refuse('HS256 keyed with the platform\'s public key', async (l) => ({
		token: await new jose.SignJWT({ iss: p.issuer, aud: p.clientId, ...good(l),
		    iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 300,
		    [LTI + 'version']: '1.3.0', [LTI + 'deployment_id']: p.deploymentId })
		    .setProtectedHeader({ alg: 'HS256', kid: p.kid }).sign(p.hmacKeyFromPublic()) }), /HS256/, 400);
	await refuse('an expired token', async (l) => ({ token: await p.sign({ ...good(l),
	    iat: Math.floor(Date.now() / 1000) - 900, exp: Math.floor(Date.now() / 1000) - 600 }) }), /expired/, 401);
	await refuse('a wrong aud', async (l) => ({ token: await p.sign({ ...good(l), aud: 'another-tool' }) }),
	    /not for this tool/, 401);
	await refuse('a nonce not of this login', async (l) => ({ token: await p.sign({ ...good(l), nonce: p.nonce() }) }),
	    /nonce/, 401);
	await refuse('a wrong state', async (l) => ({ token: await p.sign(good(l)), state: 'x'.repeat(43) }),
	    /state is unknown/, 401);
	await refuse('an unknown deployment', async (l) => ({ token: await p.sign({ ...good(l),
	    [LTI + 'deployment_id']: 'deployment-unknown' }) }), /deployment_id/, 401);
	await refuse('another school\'s deployment', async (l) => ({ token: await p.sign({ ...good(l),
	    [LTI + 'deployment_id']: 'deployment-other' }) }), /deployment_id/, 401);
	await refuse('this school\'s state at another school\'s URL', async (l) => ({ token: await p.sign(good(l)),
	    school: OTHER }), /state is unknown/, 401);
	await refuse('no roles claim', async (l) => ({ token: await p.sign({ ...good(l), [LTI + 'roles']: undefined }) }),
	    /roles/, 401);
	await refuse('no message_type', async (l) => ({ token: await p.sign({ ...good(l), [LTI + 'message_type']: undefined }) }),
	    /message_type/, 401);
	await refuse('a version other than 1.3.0', async (l) => ({ token: await p.sign({ ...good(l), [LTI + 'version']: '1.1' }) }),
	    /1\.3\.0/, 401);
	await refuse('a huge token', async () => ({ token: 'a'.repeat(40000) }), /could not be read|longer than/);
	await refuse('a malformed token', async () => ({ token: 'abc.def' }), /three parts/, 400);
	await refuse('no cookie (a frame that blocks them)', async (l) => ({ token: await p.sign(good(l)), cookie: null }),
	    /new tab/, 401);
	await refuse('a launch from another browser', async (l) => ({ token: await p.sign(good(l)),
	    cookie: 'recalld_lti=' + 'A'.repeat(43) }), /another browser/, 401);
	await refuse('someone the roster does not know', async (l) => ({ token: await p.sign(p.claims('stranger', 'default', l.nonce)) }),
	    /does not know you/, 403);
	const l1 = await login(OTHER, { dep: p.deploymentId });
	ok(l1.status === 400 && /not registered/.test(l1.text), 'a login for another school\'s deployment is refused', l1.status);
	ok(counts() === before, `the ${bad.length} refused launches changed nothing`, `${before} -> ${counts()}`);

	/* Dynamic Registration: the other school's admin gives the LMS a one-time URL. */
	const regOut = recalld(['lti', 'register-link', '--school', OTHER]);
	const regUrl = (regOut.match(/http\S+\/lti\/register\?\S+/) || [''])[0];
	const regQ = `&openid_configuration=${encodeURIComponent(p.issuer + '/.well-known/openid-configuration')}` +
	    '&registration_token=reg-token-xyz';
	const rg = await fetch(regUrl + regQ);
	const rgText = await rg.text();
	const dyn = p.registrations[0] || {};
	ok(rg.status === 200 && /recalld is registered/.test(rgText) &&
	    /script-src 'sha256-/.test(rg.headers.get('content-security-policy') || '') &&
	    dyn.initiate_login_uri === `${BASE}/lti/${OTHER}/login` && dyn.jwks_uri === `${BASE}/lti/jwks` &&
	    /lti-ags\/scope\/score/.test(dyn.scope || ''),
	    'dynamic registration: recalld reads the LMS\'s configuration and registers itself', `${rg.status} ${rgText.slice(0, 200)} ${JSON.stringify(dyn).slice(0, 300)} ${JSON.stringify(p.refused)}`);
	ok(psql(`SELECT deployment_ids::text FROM lti_platform WHERE school_id = ${OTHER} AND client_id = 'dyn-client-1'`) === '{dyn-deployment-1}',
	    'the platform is kept with the client and deployment ids the LMS gave');
	const rg2 = await fetch(regUrl + regQ);
	ok(rg2.status === 401 && /used or has expired/.test(await rg2.text()), 'the registration link works once');
	{
		const q = new URLSearchParams({ iss: p.issuer, login_hint: 'stranger', target_link_uri: `${BASE}/lti/${OTHER}/launch`,
		    client_id: 'dyn-client-1', lti_deployment_id: 'dyn-deployment-1' });
		const r = await fetch(`${BASE}/lti/${OTHER}/login?${q}`, { redirect: 'manual' });
		const loc = new URL(r.headers.get('location') || 'http://x/');
		const tok = await p.sign({ ...p.claims('stranger', 'default', loc.searchParams.get('nonce')),
		    aud: 'dyn-client-1', [LTI + 'deployment_id']: 'dyn-deployment-1' });
		const l = await post(OTHER, { id_token: tok, state: loc.searchParams.get('state') },
		    (r.headers.get('set-cookie') || '').split(';')[0]);
		ok(r.status === 302 && loc.searchParams.get('client_id') === 'dyn-client-1' && l.status === 403 &&
		    /does not know you/.test(l.text), 'a launch through the registered client passes every check',
		    `${r.status} ${l.status}`);
	}

	/* A good launch, then the same again: the second is a replay. */
	const lg = await login(SCHOOL);
	const tok = await p.sign(good(lg));
	const r1 = await post(SCHOOL, { id_token: tok, state: lg.state }, lg.cookie);
	ok(r1.status === 303 && /\/p\//.test(r1.loc || ''), 'a pupil\'s launch lands on their own page', `${r1.status} ${r1.loc}`);
	const after = counts();
	const r2 = await post(SCHOOL, { id_token: tok, state: lg.state }, lg.cookie);
	ok(r2.status === 401 && counts() === after, 'the same launch again (a replayed nonce) is refused', r2.status);

	/* The LMS rotates its key: recalld fetches its JWKS again on the new kid (first while it is down). */
	await p.rotateKey();
	p.jwksDown = true;
	psql(`UPDATE lti_platform SET jwks_fetched_at = now() - interval '1 minute' WHERE school_id = ${SCHOOL}`);
	const beforeKeys = counts();
	const ld = await login(SCHOOL);
	const rd = await post(SCHOOL, { id_token: await p.sign(good(ld)), state: ld.state }, ld.cookie);
	ok(rd.status === 502 && /could not fetch the LMS/.test(rd.text) && counts() === beforeKeys,
	    'with the LMS\'s keys unreachable, the launch is refused with a page and changes nothing', rd.status);
	p.jwksDown = false;
	psql(`UPDATE lti_platform SET jwks_fetched_at = now() - interval '1 minute' WHERE school_id = ${SCHOOL}`);
	const lr = await login(SCHOOL);
	const rr = await post(SCHOOL, { id_token: await p.sign(good(lr)), state: lr.state }, lr.cookie);
	ok(rr.status === 303 && psql(`SELECT jwks::text FROM lti_platform WHERE school_id = ${SCHOOL}
	    AND client_id = '${p.clientId}'`).includes('lms-key-2'),
	    'after the LMS rotates its key, a launch under the new kid fetches its keys again and passes', rr.status);

	/* In the browser: the pupil answers in place. */
	const browser = await launch(chromium, CHROMIUM, 'lti.cjs');
	const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
	const page = await ctx.newPage();
	page.on('pageerror', (e) => t.errors.push(String(e)));
	await page.goto(`${p.issuer}/start?user=pupil&school=${SCHOOL}`);
	await page.waitForURL((u) => u.pathname.startsWith('/p/'));
	ok(await page.getByRole('heading', { name: 'Today\'s questions' }).count() === 1,
	    'the pupil launched from the course sees today\'s questions');
	ok(await page.locator('form').count() > 0, 'a question is open to answer');
	const said = await answerFirst(page);
	ok(/^(Right!|Not quite\.|Thank you|Your answer is saved)/.test(said), 'the answer, given in the LMS\'s launch, gives its feedback', said);
	await page.screenshot({ path: path.join(ARTIFACTS, 'lti-pupil-feedback.png'), fullPage: true });

	/* Inside the LMS's page: the tool in a frame (lti.frame_ancestors names the LMS). */
	await page.goto(`${p.issuer}/course?user=pupil&school=${SCHOOL}`);
	const frame = page.frameLocator('#tool');
	await frame.getByRole('heading', { name: 'Today\'s questions' }).waitFor({ timeout: 15000 });
	ok(true, 'in the LMS\'s frame the pupil lands on their page');
	await page.screenshot({ path: path.join(ARTIFACTS, 'lti-pupil-framed.png'), fullPage: true });
	await page.goto(`${p.issuer}/course?user=teacher&school=${SCHOOL}`);
	await frame.locator('#class-select').waitFor({ timeout: 15000 });
	await page.waitForFunction(() => {
		const f = document.getElementById('tool');
		const d = f && f.contentDocument;
		return d && d.getElementById('app') && !d.getElementById('app').hidden;
	}, null, { timeout: 15000 }).catch(() => null);
	ok(await frame.locator('#class-select').inputValue() ===
	    psql(`SELECT class_id FROM class WHERE school_id = ${SCHOOL} AND external_id = '${SECTION}'`),
	    'in the LMS\'s frame the teacher lands on the class\'s dashboard, signed in (no cookie needed)');
	await page.screenshot({ path: path.join(ARTIFACTS, 'lti-teacher-framed.png'), fullPage: true });

	/* The teacher lands on the dashboard of the course's class, signed in. */
	await page.goto(`${p.issuer}/start?user=teacher&school=${SCHOOL}`);
	await page.waitForURL((u) => u.pathname.startsWith('/dashboard/'));
	await page.waitForFunction(() => !document.getElementById('app').hidden, null, { timeout: 15000 });
	const cls = psql(`SELECT class_id FROM class WHERE school_id = ${SCHOOL} AND external_id = '${SECTION}'`);
	ok(await page.locator('#class-select').inputValue() === cls, 'the teacher\'s launch opens the dashboard on the course\'s class',
	    await page.locator('#class-select').inputValue());
	ok(!(await page.evaluate(() => location.hash.includes('signin'))), 'the sign-in code left the address bar');
	await page.screenshot({ path: path.join(ARTIFACTS, 'lti-teacher.png'), fullPage: true });

	/* A course recalld does not know: the teacher links it to a class once. */
	await page.goto(`${p.issuer}/start?user=teacher&school=${SCHOOL}&msg=unlinked`);
	await page.getByRole('heading', { name: 'Which class is this course?' }).waitFor();
	const choice = page.locator('input[name="class"]').first();
	const chosen = await choice.getAttribute('value');
	await choice.check();
	await page.getByRole('button', { name: 'Link this course' }).click();
	await page.waitForURL((u) => u.pathname.startsWith('/dashboard/'));
	ok(psql(`SELECT class_id FROM lti_context WHERE school_id = ${SCHOOL} AND context_id = 'lms-course-new'`) === chosen,
	    'the teacher linked the new course to the class chosen');

	/* Deep linking: the teacher places one unit's recall check in the course. */
	p.contexts.set('deeplink', { message_type: 'LtiDeepLinkingRequest', context: 'lms-course-8a',
	    title: '8A Science', section: SECTION, target });
	await page.goto(`${p.issuer}/start?user=teacher&school=${SCHOOL}&msg=deeplink`);
	await page.getByRole('heading', { name: 'Add recalld to your course' }).waitFor();
	const unitChoice = page.locator('input[name="choice"][value^="unit-"]').first();
	const unitId = (await unitChoice.getAttribute('value')).slice(5);
	await unitChoice.check();
	await page.getByRole('button', { name: 'Add to the course' }).click();
	await page.getByRole('button', { name: 'Add it to the course' }).click();
	await page.getByRole('heading', { name: 'Added to the course' }).waitFor();
	const dl = p.deepLinks[0] || {};
	const items = dl['https://purl.imsglobal.org/spec/lti-dl/claim/content_items'] || [];
	ok(items.length === 1 && items[0].type === 'ltiResourceLink' && items[0].url === target &&
	    items[0].custom && items[0].custom.unit === unitId && items[0].lineItem &&
	    items[0].lineItem.resourceId === unitId && items[0].lineItem.tag === 'recalld' &&
	    dl['https://purl.imsglobal.org/spec/lti-dl/claim/data'] === 'opaque-dl-data-42',
	    'deep linking returns a signed ltiResourceLink to the unit\'s check, with its line item and the platform\'s data',
	    JSON.stringify(dl) + ' refused: ' + JSON.stringify(p.refused));
	/* a pupil launched from that link lands on that unit of their page */
	p.contexts.set('unitcheck', { context: 'lms-course-8a', title: '8A Science', section: SECTION, target,
	    link: 'link-unit', extra: { [LTI + 'custom']: { unit: unitId } } });
	{
		const q = new URLSearchParams({ iss: p.issuer, login_hint: 'pupil', target_link_uri: target,
		    lti_message_hint: 'unitcheck', client_id: p.clientId, lti_deployment_id: p.deploymentId });
		const r = await fetch(`${BASE}/lti/${SCHOOL}/login?${q}`, { redirect: 'manual' });
		const loc = new URL(r.headers.get('location'));
		const l = await post(SCHOOL, { id_token: await p.sign(p.claims('pupil', 'unitcheck', loc.searchParams.get('nonce'))),
		    state: loc.searchParams.get('state') }, (r.headers.get('set-cookie') || '').split(';')[0]);
		ok(l.status === 303 && (l.loc || '').endsWith(`#unit-${unitId}`), 'a launch of the unit\'s check lands on that unit',
		    l.loc);
	}
	const again = await fetch(`${BASE}/lti/${SCHOOL}/deep-link`, { method: 'POST', redirect: 'manual',
	    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
	    body: 'code=rcs_forged&choice=practice' });
	ok(again.status === 400, 'a forged deep-linking form is refused', again.status);

	/* Mastery into the course's gradebook (AGS): the flag job queues, the outbox sends. */
	const sub = 'lms-pupil-1';
	const mine = () => p.scores.filter((x) => x.score.userId === sub);
	ok(await waitFor(() => mine().length > 0, 40000), 'the pupil\'s recall reached the LMS gradebook',
	    'refused: ' + JSON.stringify(p.refused));
	const first = mine()[0];
	if (first) {
		const unit = psql(`SELECT name FROM unit WHERE school_id = ${SCHOOL} AND unit_id = ${Number(first.lineitem.resourceId) || 0}`);
		ok(first.lineitem.label === 'Recall: ' + unit && first.lineitem.tag === 'recalld' && first.lineitem.scoreMaximum === 100,
		    'its line item is "Recall: <unit>", resourceId the unit, tag recalld', JSON.stringify(first.lineitem));
		ok(first.score.scoreMaximum === 100 && first.score.scoreGiven >= 0 && first.score.scoreGiven <= 100 &&
		    first.score.gradingProgress === 'FullyGraded' && /^(Emerging|Developing|Secure|Mastery): /.test(first.score.comment) &&
		    /To reach|highest level/.test(first.score.comment) && !isNaN(Date.parse(first.score.timestamp)),
		    'the score is the unit\'s recall out of 100, fully graded, with the level and what the next needs', JSON.stringify(first.score));
		ok(p.lineitems.filter((l) => l.resourceId === first.lineitem.resourceId && l.context === first.lineitem.context).length === 1,
		    'one line item per unit, found again rather than made twice');
	}
	ok(psql(`SELECT count(*) FROM delivery WHERE school_id = ${SCHOOL} AND event_type = 'lti.score' AND status = 'delivered'`) >= 1,
	    'the scores went through the outbox (delivered deliveries)');

	/* The gradebook goes down; another answer; its score arrives once it is back. */
	const before2 = mine().length;
	p.agsDown = true;
	const moved = await fetch(`${BASE}/v1/admin/clock`, { method: 'POST', headers: {
	    Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' },
	    body: JSON.stringify({ now: '2026-10-19T15:35:00Z' }) });
	ok(moved.status === 200, 'the clock moves on five minutes', moved.status);
	await page.goto(`${p.issuer}/start?user=pupil&school=${SCHOOL}`);
	await page.waitForURL((u) => u.pathname.startsWith('/p/'));
	const said2 = await answerFirst(page);
	ok(/^(Right!|Not quite\.|Thank you|Your answer is saved)/.test(said2), 'a second answer is taken', said2);
	ok(await waitFor(() => p.agsDownHits > 0, 40000), 'the score is tried while the gradebook is down');
	await sleep(500);
	p.agsDown = false;
	/* the retry is due 5 s later on recalld's clock, a manual one here */
	await fetch(`${BASE}/v1/admin/clock`, { method: 'POST', headers: {
	    Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' },
	    body: JSON.stringify({ now: '2026-10-19T15:36:00Z' }) });
	ok(await waitFor(() => mine().length > before2, 30000), 'and arrives once it is back (the outbox retried)',
	    `${before2} -> ${mine().length}; down hits ${p.agsDownHits}`);
	const retried = psql(`SELECT count(*) FROM delivery d WHERE d.school_id = ${SCHOOL} AND d.event_type = 'lti.score'
	    AND d.status = 'delivered' AND EXISTS (SELECT 1 FROM delivery_attempt a WHERE a.school_id = d.school_id
	    AND a.delivery_id = d.delivery_id AND a.http_status = 503)`);
	ok(Number(retried) >= 1, 'a delivery shows its failed attempt (503) and then its delivery', retried);

	/* The roster from the course (NRPS): synced on the first launch, two members a page. */
	ok(await waitFor(() => psql(`SELECT count(*) FROM lti_context WHERE school_id = ${SCHOOL}
	    AND context_id = 'lms-course-8a' AND nrps_synced_at IS NOT NULL`) === '1', 30000),
	    'the course\'s membership was synced after the launch', psql(`SELECT nrps_report FROM lti_context
	    WHERE context_id = 'lms-course-8a'`));
	ok(p.nrpsPages >= Math.ceil(members.length / 2), 'every page of it was read (Link rel="next")', p.nrpsPages);
	ok(psql(`SELECT count(*) FROM pupil p JOIN class_pupil cp ON cp.school_id = p.school_id
	    AND cp.pupil_id = p.pupil_id AND cp.active JOIN class c ON c.school_id = cp.school_id
	    AND c.class_id = cp.class_id WHERE p.school_id = ${SCHOOL} AND p.external_id = 'newcomer-from-lms'
	    AND c.external_id = '${SECTION}' AND p.given_name IS NULL`) === '1',
	    'a pupil who joined the course is added to the class (with no name kept)');
	ok(psql(`SELECT cp.active FROM class_pupil cp JOIN pupil p ON p.school_id = cp.school_id
	    AND p.pupil_id = cp.pupil_id JOIN class c ON c.school_id = cp.school_id AND c.class_id = cp.class_id
	    WHERE p.school_id = ${SCHOOL} AND p.external_id = '${leaver}' AND c.external_id = '${SECTION}'`) === 'f',
	    'a pupil who left the course is made inactive in the class', leaver);
	ok(psql(`SELECT count(*) FROM review r JOIN pupil p ON p.school_id = r.school_id AND p.pupil_id = r.pupil_id
	    WHERE p.school_id = ${SCHOOL} AND p.external_id = '${leaver}'`) === leaverReviews &&
	    psql(`SELECT active FROM pupil WHERE school_id = ${SCHOOL} AND external_id = '${leaver}'`) === 't',
	    'and keeps their answers and their place in the school');
	const report = JSON.parse(psql(`SELECT nrps_report FROM lti_context WHERE school_id = ${SCHOOL}
	    AND context_id = 'lms-course-8a'`) || '{}');
	ok(report.applied === true && JSON.stringify(report).includes('memberships'),
	    'the sync keeps a report in the import\'s format', JSON.stringify(report).slice(0, 400));
	await browser.close();
	await p.close();
});
