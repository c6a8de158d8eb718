/*
 * common.cjs: what the browser tests share: playwright-core (from
 * NODE_PATH, as browser.sh sets it), their environment, the TAP-like
 * checks, Debian's chromium launched headless, and the run's end.
 */
'use strict';

const fs = require('fs');

function load(name, what) {
	try {
		return require(name);
	} catch (e) {
		console.error(what + ': ' + name + ' is missing (NODE_PATH=' + (process.env.NODE_PATH || '') +
		    '): run `npm ci --prefix build-node` with tests/browser/package*.json, as test.sh does');
		process.exit(1);
	}
}

/* One test script's checks: ok() prints a line each and counts failures. */
function checks(script) {
	const t = { n: 0, failed: 0, errors: [] };

	t.env = (k, d) => {
		const v = process.env[k] || d;
		if (v === undefined) {
			console.error(script + ': ' + k + ' is not set');
			process.exit(1);
		}
		return v;
	};
	t.ok = (cond, what, extra) => {
		t.n++;
		if (cond) {
			console.log('ok ' + t.n + ' - ' + what);
		} else {
			t.failed++;
			console.log('not ok ' + t.n + ' - ' + what +
			    (extra ? '\n#   ' + String(extra).replace(/\n/g, '\n#   ') : ''));
		}
		return cond;
	};
	/* Run main, print the totals, exit 0 only when every check passed. */
	t.run = (main) => {
		const started = Date.now();
		main().then(() => {
			console.log('# ' + t.n + ' checks, ' + t.failed + ' failed, ' +
			    ((Date.now() - started) / 1000).toFixed(1) + ' s in the browser');
			process.exit(t.failed ? 1 : 0);
		}, (e) => {
			console.log('not ok - ' + (e && e.stack || e));
			console.log('# errors in the page: ' + t.errors.join('; '));
			process.exit(1);
		});
	};
	return t;
}

/* Debian's chromium, headless, quiet (never a downloaded browser). */
async function launch(chromium, executablePath, script) {
	if (!fs.existsSync(executablePath)) {
		console.error(script + ': no browser at ' + executablePath + ' (apt-get install chromium)');
		process.exit(1);
	}
	return chromium.launch({
		executablePath,
		headless: true,
		args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
		    '--disable-background-networking', '--no-first-run', '--disable-extensions',
		    '--disable-component-update', '--disable-sync', '--metrics-recording-only']
	});
}

module.exports = { load, checks, launch };
