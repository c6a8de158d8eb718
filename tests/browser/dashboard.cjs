/*
 * dashboard.cjs: the teacher dashboard in a real browser, run by
 * tests/browser.sh against a real recalld, PostgreSQL and webhook receiver.
 * playwright-core drives Debian's chromium (never a downloaded browser).
 *
 * Environment (set by browser.sh):
 *   RECALLD_BASE       http://127.0.0.1:PORT
 *   SIGNIN_LINK        a `recalld token link` sign-in link for Joy Okafor
 *   ADMIN_TOKEN        the school's admin token, for checking through the API
 *   CLASS_ID           8A Science's id
 *   RX_LOG             the receiver's JSON-lines log
 *   ARTIFACTS          where the screenshots go
 *   CHROMIUM           the browser (default /usr/bin/chromium)
 *
 * Exits 0 when every step passed, 1 otherwise; prints a TAP-like line per
 * step and the screenshots' paths.
 */
'use strict';

const fs = require('fs');
const path = require('path');

const { load, checks, launch } = require('./common.cjs');

const { chromium } = load('playwright-core', 'dashboard.cjs');
const t = checks('dashboard.cjs');
const { env, ok, errors } = t;
const BASE = env('RECALLD_BASE');
const LINK = env('SIGNIN_LINK');
const ADMIN = env('ADMIN_TOKEN');
const CLASS_ID = env('CLASS_ID');
const RX_LOG = env('RX_LOG');
const ARTIFACTS = env('ARTIFACTS');
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');

let shot = 0;

async function screenshot(page, name, opts) {
	const file = path.join(ARTIFACTS, String(++shot).padStart(2, '0') + '-' + name + '.png');
	await page.screenshot(Object.assign({ path: file, fullPage: true }, opts || {}));
	console.log('# screenshot: ' + path.resolve(file));
}

async function api(method, p, body) {
	const res = await fetch(BASE + p, {
		method,
		headers: Object.assign({ Authorization: 'Bearer ' + ADMIN },
		    body ? { 'Content-Type': 'application/json' } : {}),
		body: body ? JSON.stringify(body) : undefined
	});
	const text = await res.text();
	let data = null;
	try {
		data = text ? JSON.parse(text) : null;
	} catch (e) {
		data = text;
	}
	return { status: res.status, data };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* The receiver's log: one JSON line per delivery. */
function received() {
	let text = '';
	try {
		text = fs.readFileSync(RX_LOG, 'utf8');
	} catch (e) {
		return [];
	}
	return text.split('\n').filter(Boolean).map((l) => {
		try {
			const rec = JSON.parse(l);
			rec.event = JSON.parse(rec.body);
			return rec;
		} catch (e) {
			return null;
		}
	}).filter(Boolean);
}

async function waitFor(fn, ms) {
	const end = Date.now() + ms;
	for (;;) {
		const v = await fn();
		if (v || Date.now() > end)
			return v;
		await sleep(200);
	}
}

/* Every input, select and textarea has an accessible name; every button a name. */
function unlabelled() {
	const out = [];
	const named = (e) => (e.labels && Array.from(e.labels).some((l) => l.textContent.trim())) ||
	    (e.getAttribute('aria-label') || '').trim() ||
	    (e.getAttribute('aria-labelledby') || '').split(/\s+/).some((id) => {
		    const t = id && document.getElementById(id);
		    return t && t.textContent.trim();
	    });
	document.querySelectorAll('input, select, textarea').forEach((e) => {
		if (e.type !== 'hidden' && !named(e))
			out.push(e.outerHTML.slice(0, 120));
	});
	document.querySelectorAll('button').forEach((e) => {
		if (!e.textContent.trim() && !named(e))
			out.push(e.outerHTML.slice(0, 120));
	});
	return out;
}

async function main() {
	fs.mkdirSync(ARTIFACTS, { recursive: true });
	const browser = await launch(chromium, CHROMIUM, 'dashboard.cjs');
	try {
		await run(browser);
	} catch (e) {
		for (const c of browser.contexts())
			for (const p of c.pages())
				await screenshot(p, 'failure').catch(() => null);
		throw e;
	} finally {
		await browser.close();
	}
}

async function run(browser) {
	const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-GB',
	    timezoneId: 'Europe/London', reducedMotion: 'reduce' });
	context.setDefaultTimeout(20000);
	const page = await context.newPage();
	page.on('pageerror', (e) => errors.push('page error: ' + e.message));
	page.on('console', (m) => {
		if (m.type() === 'error' || /Content.Security.Policy/i.test(m.text()))
			errors.push('console ' + m.type() + ': ' + m.text());
	});

	/* 1. Sign in with the single-use link. */
	const t0 = Date.now();	/* the "under a minute", as a figure */
	await page.goto(LINK);
	await page.locator('#class-select').waitFor({ state: 'visible' });
	ok(!/signin=/.test(page.url()), 'the sign-in code is gone from the address bar', page.url());
	const token = await page.evaluate(() => sessionStorage.getItem('recalld.token'));
	ok(/^rcl_/.test(token || ''), 'the token is kept in sessionStorage', token);
	ok(/Joy Okafor/.test(await page.locator('#who').textContent()), 'the header names the teacher');
	await screenshot(page, 'signed-in');

	/* 2. Pick 8A Science. */
	const options = await page.locator('#class-select option').allTextContents();
	ok(await page.locator('#class-select option[value="' + CLASS_ID + '"]').count() === 1,
	    'the class select lists the teacher\'s classes', options.join(', '));
	await page.selectOption('#class-select', String(CLASS_ID));
	await page.waitForFunction(() => !document.querySelector('#class-view').hasAttribute('aria-busy') &&
	    document.querySelector('#flags-headline').textContent.trim() !== '');
	ok(await page.evaluate(() => sessionStorage.getItem('recalld.class')) === String(CLASS_ID),
	    'the class choice is remembered');
	await screenshot(page, 'class');

	/* 3. Its flags: the science units it stopped answering. */
	const headline = (await page.locator('#flags-headline').textContent()).trim();
	ok(/\d+ units? (is|are) being forgotten( and \d+ not being practised,)? by \d+ of 30 pupils/.test(headline),
	    'the headline says how many units are being forgotten (or not practised) by how many pupils', headline);
	const flags = page.locator('#flags > li');
	const nflags = await flags.count();
	const flagText = nflags ? await flags.first().textContent() : '';
	ok(nflags >= 1 && /(Cells and organisation|The particle model)/.test(flagText) &&
	    /\d+ of \d+ pupils/.test(flagText) && /since/i.test(flagText),
	    'a flagged science unit shows its pupils and since when', flagText);
	/* 3b. The unit the class stopped answering is not practised, with its evidence and the same actions. */
	const idle = page.locator('#flags > li.not-practised');
	const idleText = (await idle.count()) ? await idle.first().textContent() : '';
	ok(/Not practised/i.test(idleText) && /unanswered for 10 school days/.test(idleText) &&
	    /Last answers on this unit: .*\(2 Oct\)/.test(idleText) && /Not practised since/.test(idleText),
	    'a not-practised unit says in plain words what it rests on, with last answers', idleText);
	ok((await idle.first().getByRole('button', { name: /re-check/i }).count()) === 1 &&
	    (await idle.first().getByRole('button', { name: /re-taught/i }).count()) === 1,
	    'a not-practised unit has the re-check and re-taught actions');
	await page.locator('#flags').scrollIntoViewIfNeeded();
	await screenshot(page, 'flags', { fullPage: false });

	/* 4. Push a re-check: the receiver gets a prompt.batch of kind recheck. */
	const before = received().length;
	await flags.first().getByRole('button', { name: /re-check/i }).click();
	await page.waitForFunction(() => /Re-check of .* pushed to \d+ pupils?/.test(
	    document.querySelector('#status').textContent), null, { timeout: 30000 }).catch(() => null);
	const status4 = await page.locator('#status').textContent();
	ok(/Re-check of .* pushed to \d+ pupils?/.test(status4), 'the status line confirms the re-check', status4);
	const recheck = await waitFor(() => received().slice(before).find((r) => r.valid &&
	    r.type === 'prompt.batch' && r.event.data && r.event.data.kind === 'recheck'), 30000);
	ok(!!recheck, 'a signed prompt.batch of kind recheck reaches the receiver',
	    received().slice(before).map((r) => r.type + ' ' + r.valid).slice(0, 5).join('; '));
	console.log('# from opening the sign-in link to the re-check pushed: ' +
	    ((Date.now() - t0) / 1000).toFixed(1) + ' s of browser time (a script, not a person)');
	await screenshot(page, 'recheck-pushed', { fullPage: false });

	/* 4b. Mark the flagged unit re-taught, from the keyboard alone: Tab to
	 * its button (sequential focus, as a keyboard user would), then Enter. */
	const flagUnit = (await flags.first().locator('h3 .unit').textContent()).trim();
	const retaughtBtn = flags.first().getByRole('button', { name: /re-taught/i });
	await page.locator('#class-select').focus();
	let reached = false;
	for (let i = 0; i < 40 && !reached; i++) {
		await page.keyboard.press('Tab');
		reached = await retaughtBtn.evaluate((b) => b === document.activeElement);
	}
	ok(reached, 'Tab from the class select reaches "Mark re-taught"');
	const outline = await retaughtBtn.evaluate((b) => {
		const cs = getComputedStyle(b);
		return cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2 ? cs.outlineStyle + ' ' + cs.outlineWidth : '';
	});
	ok(outline !== '', 'the focused button shows a visible focus outline', outline);
	await page.keyboard.press('Enter');
	await page.waitForFunction((u) => document.querySelector('#status').textContent.indexOf(u) >= 0 &&
	    /re-taught/i.test(document.querySelector('#status').textContent), flagUnit).catch(() => null);
	const taught4 = await api('GET', '/v1/classes/' + CLASS_ID + '/taught');
	const units4 = await api('GET', '/v1/classes/' + CLASS_ID + '/units');
	const fu = units4.data && (units4.data.items || []).find((u) => u.name === flagUnit);
	const trow = fu && (taught4.data.items || []).find((t) => String(t.unit_id) === String(fu.id));
	ok(trow && trow.retaught_on === '2026-10-19', 'GET /v1/classes/{id}/taught shows ' + flagUnit +
	    ' re-taught today', JSON.stringify(trow));
	await page.waitForFunction(() => !document.querySelector('#class-view').hasAttribute('aria-busy'));

	/* 5. Mark the next unit taught, on a chosen date. */
	const untaught = page.locator('#units li').filter({ has: page.locator('form.mark') }).first();
	const unitName = (await untaught.locator('h3 span').first().textContent()).trim();
	const date = untaught.locator('input[type=date]');
	const dateId = await date.getAttribute('id');
	ok(await page.locator('label[for="' + dateId + '"]').count() === 1, 'the taught date has a label');
	await date.fill('2026-10-09');
	await untaught.getByRole('button', { name: /Mark .* taught/ }).click();
	await page.waitForFunction((u) => document.querySelector('#status').textContent.indexOf(u + ' marked taught') >= 0,
	    unitName).catch(() => null);
	ok((await page.locator('#status').textContent()).indexOf(unitName + ' marked taught on') >= 0,
	    'the status line confirms the unit marked taught', await page.locator('#status').textContent());
	const units = await api('GET', '/v1/classes/' + CLASS_ID + '/units');
	const unitId = units.data && (units.data.items || []).find((u) => u.name === unitName);
	const taught = await api('GET', '/v1/classes/' + CLASS_ID + '/taught');
	const items = taught.data && (taught.data.items || taught.data);
	const row = Array.isArray(items) && unitId && items.find((t) =>
	    String(t.unit_id != null ? t.unit_id : (t.unit && t.unit.id)) === String(unitId.id));
	ok(taught.status === 200 && row && /^2026-10-09/.test(row.taught_on),
	    'GET /v1/classes/{id}/taught shows ' + unitName + ' taught on 2026-10-09', JSON.stringify(taught).slice(0, 400));
	await page.waitForFunction(() => !document.querySelector('#class-view').hasAttribute('aria-busy'));
	await page.locator('#units').scrollIntoViewIfNeeded();
	await screenshot(page, 'unit-taught', { fullPage: false });
	await screenshot(page, 'dashboard-1280');

	/* 6. A pupil's progress, opened from the keyboard. */
	const pupil = page.locator('#grid tbody button.pupil').first();
	const pupilName = (await pupil.textContent()).trim();
	await pupil.focus();
	await page.keyboard.press('Enter');
	await page.waitForFunction((nm) => document.querySelector('#chart-sub').textContent.indexOf(nm) >= 0 &&
	    document.querySelector('#chart svg.plot'), pupilName).catch(() => null);
	const chart = await page.evaluate(() => {
		const s = document.querySelector('#chart svg.plot');
		return s ? { paths: s.querySelectorAll('g.series path').length, role: s.getAttribute('role'),
		    title: (s.querySelector('title') || {}).textContent } : null;
	});
	ok(chart && chart.paths > 0 && chart.role === 'img' && chart.title.indexOf(pupilName) >= 0,
	    'the pupil\'s progress chart is an SVG with lines and a title', JSON.stringify(chart));
	ok(await page.locator('#chart-table tbody tr').count() > 0, 'the chart has a table alternative');
	ok(await page.evaluate(() => document.activeElement && document.activeElement.id === 'chart-h'),
	    'focus moves to the chart');
	await screenshot(page, 'pupil-progress', { fullPage: false });

	/* The grid sorted by weakest unit: each pupil's lowest level, then recall. */
	await page.selectOption('#grid-sort', 'weakest');
	const order = await page.evaluate(() => Array.from(document.querySelectorAll('#grid tbody tr')).map((tr) => {
		const cells = Array.from(tr.querySelectorAll('td.cell:not(.none)')).map((td) => {
			const m = /^([EDSM])\?? (\d+)%/.exec(td.textContent.trim());
			return m ? 'EDSM'.indexOf(m[1]) * 1000 + +m[2] : 99999;
		});
		return Math.min.apply(null, cells);
	}));
	ok(order.length > 1 && order.every((v, i) => i === 0 || order[i - 1] <= v + 1),
	    'sorting by weakest unit puts the weakest pupils first', order.join(' '));
	await page.selectOption('#grid-sort', 'name');

	/* 6b. Levels resting on old answers are unconfirmed: with a 10-school-day
	 * evidence window, 8A Science's last answers (2 October) are too old. */
	const staleCells = async (days) => {
		const r = await api('PATCH', '/v1/school', { mastery_evidence_days: days });
		await page.reload();
		await page.waitForFunction(() => !document.querySelector('#class-view').hidden &&
		    !document.querySelector('#class-view').hasAttribute('aria-busy') &&
		    document.querySelectorAll('#grid td.cell').length > 0);
		return Object.assign({ status: r.status }, await page.evaluate(() => {
			const cells = document.querySelectorAll('#grid td.cell.stale');
			const c = cells[0];
			return { n: cells.length, text: c ? c.textContent : '', title: c ? c.title : '' };
		}));
	};
	const stale = await staleCells(10);
	ok(stale.status === 200 && stale.n > 0 && /^[EDSM]\? /.test(stale.text) && /unconfirmed/.test(stale.text) &&
	    /last answered 2 Oct/.test(stale.title), 'levels resting on old answers show as unconfirmed',
	    JSON.stringify(stale));
	await page.locator('#grid-wrap').scrollIntoViewIfNeeded();
	await screenshot(page, 'stale-cells', { fullPage: false });
	const fresh = await staleCells(20);
	ok(fresh.status === 200 && fresh.n === 0, 'with the default 20 school days they are plain levels again',
	    JSON.stringify(fresh));

	/* 6c. What each level looks like in a unit, in the teacher's words. */
	{
		const box = page.locator('details.levels-box').first();
		await box.locator('summary').click();
		const area = box.locator('textarea').first();
		await area.waitFor({ state: 'visible' });
		await page.waitForFunction(() => {
			const t = document.querySelector('details.levels-box textarea');
			return t && t.placeholder.length > 0;
		});
		ok(/this unit/.test(await area.getAttribute('placeholder')),
		    'the level editor shows the school\'s own description as a hint');
		await area.fill('You can name the parts of a cell');
		await box.getByRole('button', { name: 'Save the levels' }).click();
		await page.locator('#status').filter({ hasText: 'is saved' }).waitFor();
		const units = await api('GET', '/v1/classes/' + CLASS_ID + '/units');
		const first = units.data && units.data.items && units.data.items[0];
		const lv = first ? await api('GET', '/v1/units/' + first.id + '/levels') : { data: null };
		const saved = lv.data && lv.data.levels && lv.data.levels.emerging.unit;
		ok(saved === 'You can name the parts of a cell', 'a unit\'s level descriptor is saved from the dashboard',
		    JSON.stringify(lv));
	}

	/* 7. At 360 px: nothing overflows but the grid's own scroller; every control labelled. */
	await page.setViewportSize({ width: 360, height: 780 });
	await page.reload();
	await page.waitForFunction(() => !document.querySelector('#class-view').hidden &&
	    !document.querySelector('#class-view').hasAttribute('aria-busy') &&
	    document.querySelector('#chart svg.plot'));
	const widths = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth,
	    body: document.body.scrollWidth,
	    wide: Array.from(document.querySelectorAll('main *')).filter((e) =>
		e.getBoundingClientRect().right > 361 && !e.closest('.scroll') && e.getClientRects().length)
		.slice(0, 5).map((e) => e.tagName + '#' + e.id + '.' + e.className) }));
	ok(widths.doc <= 360, 'at 360 px the page is no wider than the screen (scrollWidth ' + widths.doc + ')',
	    JSON.stringify(widths));
	const grid = await page.evaluate(() => {
		const w = document.querySelector('#grid-wrap');
		return { scroll: w.scrollWidth, client: w.clientWidth, overflow: getComputedStyle(w).overflowX };
	});
	ok(grid.overflow === 'auto' && grid.client <= 360, 'the grid scrolls inside its own container', JSON.stringify(grid));
	const bad = await page.evaluate(unlabelled);
	ok(bad.length === 0, 'every input, select and button has an accessible name', bad.join('\n'));
	await screenshot(page, 'narrow-360');
	await page.evaluate(() => window.scrollTo(0, 0));
	await screenshot(page, 'narrow-360-top', { fullPage: false });
	for (const part of ['grid', 'chart', 'units']) {
		await page.evaluate((id) => document.getElementById(id).scrollIntoView(), part + '-h');
		await screenshot(page, 'narrow-360-' + part, { fullPage: false });
	}

	ok(errors.length === 0, 'no script errors or CSP violations in the page', errors.join('\n'));
	errors.length = 0;

	/* 8. Sign out; the used link does not sign in again. */
	await page.setViewportSize({ width: 1280, height: 900 });
	await page.getByRole('button', { name: 'Sign out' }).click();
	await page.locator('#signin-form').waitFor({ state: 'visible' });
	ok(await page.evaluate(() => sessionStorage.getItem('recalld.token')) === null, 'sign-out clears the token');
	await page.goto(LINK);
	await page.locator('#signin-msg').waitFor({ state: 'visible' });
	const msg = await page.locator('#signin-msg').textContent();
	ok(/already (been )?used|has been used|expired|not valid/i.test(msg), 'a used sign-in link says so', msg);
	await screenshot(page, 'link-used');

	/* 9. A pasted admin token: the whole school's classes. */
	await page.fill('#token', ADMIN);
	await page.getByRole('button', { name: 'Sign in' }).click();
	await page.locator('#class-select').waitFor({ state: 'visible' });
	const all = await page.locator('#class-select option').count();
	ok(all === 6, 'an admin token pasted into the form sees the school\'s 6 classes', String(all));
	/* An admin sees how well the model predicts the school's pupils. */
	await page.locator('#model-sub').filter({ hasText: 'recalld schedules with' }).waitFor();
	ok(await page.locator('#model').isVisible(), 'an admin sees the memory model\'s calibration');
	const points = await page.locator('#model-chart svg circle').count();
	ok(points > 0, 'the calibration chart has points for the demo\'s answers', String(points));

	/* The browser logs the 410 of the used link; nothing else. */
	const more = errors.filter((e) => !/Failed to load resource: .* 410/.test(e));
	ok(more.length === 0, 'no script errors after signing out', more.join('\n'));
	await context.close();
}

t.run(main);
