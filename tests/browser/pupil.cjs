/*
 * pupil.cjs: a pupil's own page in Debian's chromium (playwright-core),
 * checked by axe-core for WCAG 2.2 AA: the page on a phone, at 200% zoom
 * and by keyboard alone; answering a question in place and reading the
 * feedback (checked too); the answer page of a question on its own.
 * Screenshots go to ARTIFACTS. Run by tests/browser.sh with PUPIL_URL (a
 * progress_url the demo's batches carried) and CHROMIUM.
 */
'use strict';

const fs = require('fs');
const path = require('path');

const { load, checks, launch } = require('./common.cjs');

const { chromium } = load('playwright-core', 'pupil.cjs');
load('axe-core', 'pupil.cjs');
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const t = checks('pupil.cjs');
const { env, ok, errors } = t;
const PUPIL_URL = env('PUPIL_URL');
const ARTIFACTS = env('ARTIFACTS');
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');

/* axe-core's WCAG 2.2 A and AA rules on the page as it is now. */
async function axe(page, what) {
	await page.addScriptTag({ content: axeSource });
	const r = await page.evaluate(async () => {
		// eslint-disable-next-line no-undef
		const res = await axe.run(document, { runOnly: { type: 'tag',
		    values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } });
		return { violations: res.violations.map((v) => v.id + ': ' + v.help + ' (' +
		    v.nodes.map((x) => x.target.join(' ')).slice(0, 3).join(', ') + ')'),
		    passes: res.passes.length };
	});
	ok(r.violations.length === 0, 'axe-core: no WCAG 2.2 AA violation on ' + what +
	    ' (' + r.passes + ' rules passed)', r.violations.join('\n'));
}

async function main() {
	const browser = await launch(chromium, CHROMIUM, 'pupil.cjs');
	/* bypassCSP: the page allows no script, axe-core must still be let in */
	const context = await browser.newContext({ viewport: { width: 390, height: 844 },
	    bypassCSP: true, isMobile: true, hasTouch: true });
	const page = await context.newPage();
	/* a browser's own favicon request aside, nothing the page loads may fail */
	page.on('console', (m) => {
		if (m.type() === 'error' && !/^Failed to load resource/.test(m.text()))
			errors.push(m.text());
	});
	page.on('response', (r) => {
		if (r.status() >= 400 && !r.url().endsWith('/favicon.ico') &&
		    !r.url().includes('/a/') && !r.url().includes('/p/'))
			errors.push(r.status() + ' ' + r.url());
	});
	page.on('pageerror', (e) => errors.push(String(e)));

	let res = await page.goto(PUPIL_URL);
	ok(res.status() === 200, 'the pupil\'s link opens their page', String(res.status()));
	ok(/^Hello, /.test(await page.locator('h1').first().textContent()), 'it greets the pupil');
	const units = await page.locator('section[aria-labelledby="units-h"] h3').count();
	ok(units > 0, 'it lists the pupil\'s units', String(units));
	const levels = await page.locator('p.level strong').allTextContents();
	ok(levels.length === units && levels.every((l) => /^(Emerging|Developing|Secure|Mastery)$/.test(l)),
	    'each unit shows the pupil\'s level', levels.join(', '));
	ok(await page.locator('section[aria-labelledby="units-h"] svg[role="img"]').count() === units,
	    'each unit has its chart, with a text alternative');
	const needs = await page.getByText(/you need: /).count();
	ok(needs > 0, 'what the next level needs is said');
	ok(await page.evaluate(() => document.querySelectorAll('script').length) === 0,
	    'the page has no script');
	await page.screenshot({ path: path.join(ARTIFACTS, 'pupil-page.png'), fullPage: true });
	console.log('# screenshot: ' + path.resolve(path.join(ARTIFACTS, 'pupil-page.png')));
	await axe(page, 'the pupil\'s page');

	/* 200% zoom: a 390 px phone at 200% is 195 CSS px wide; nothing scrolls sideways */
	await page.setViewportSize({ width: 195, height: 422 });
	const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
	ok(wide <= 1, 'at 200% zoom nothing needs scrolling sideways', wide + ' px too wide');
	await page.screenshot({ path: path.join(ARTIFACTS, 'pupil-page-200.png'), fullPage: true });
	await page.setViewportSize({ width: 390, height: 844 });

	/* keyboard alone: answer the first question in place */
	const forms = await page.locator('form').count();
	ok(forms > 0, 'today\'s questions are answerable on the page', String(forms));
	const action = await page.locator('form').first().getAttribute('action');
	const radio = await page.locator('form').first().locator('input[type="radio"]').count();
	await page.keyboard.press('Tab');
	let tabs = 0;
	while (tabs++ < 20 && !(await page.evaluate(() => !!document.activeElement &&
	    !!document.activeElement.closest('form'))))
		await page.keyboard.press('Tab');
	ok(tabs <= 20, 'the first question is reached with Tab');
	if (radio > 0) {
		await page.keyboard.press('Space');
		await page.keyboard.press('Tab');
		await page.keyboard.press('Enter');
	} else {
		await page.keyboard.type('nucleus');
		await page.keyboard.press('Enter');
	}
	await page.waitForURL((u) => u.pathname.startsWith('/a/'));
	const said = await page.locator('h1').first().textContent();
	ok(/^(Right!|Not quite\.)$/.test(said), 'the answer gives its feedback', said);
	ok(await page.getByText(/Your level for|You moved (up|down)/).count() > 0,
	    'the feedback names the level');
	await page.screenshot({ path: path.join(ARTIFACTS, 'pupil-feedback.png'), fullPage: true });
	await axe(page, 'the feedback page');
	await page.getByRole('link', { name: /See all your units/ }).click();
	await page.waitForURL((u) => u.pathname.startsWith('/p/'));
	ok(await page.locator(`form[action="${action}"]`).count() === 0,
	    'back on the page, the answered question is gone from today\'s');

	/* the answer page of one question on its own */
	const other = await page.locator('form').first().getAttribute('action');
	if (other) {
		res = await page.goto(new URL(other, PUPIL_URL).toString());
		ok(res.status() === 200, 'a question\'s answer page opens');
		await axe(page, 'the answer page');
	}
	ok(errors.length === 0, 'no script errors', errors.join('\n'));
	await browser.close();
}

t.run(main);
