/*
 * app.js: recalld's teacher dashboard. Plain JavaScript, no build step and
 * no third-party code; the page's Content-Security-Policy allows only this
 * file and app.css, so nothing here uses inline styles, innerHTML or eval.
 *
 * Sign-in: a token pasted into the form, or a single-use sign-in link
 * (/dashboard/#signin=CODE) exchanged at POST /v1/auth/signin. The token is
 * kept in sessionStorage (recalld.token), never in the URL.
 */
'use strict';

(function () {
	var TOKEN_KEY = 'recalld.token';
	var CLASS_KEY = 'recalld.class';
	var SORT_KEY = 'recalld.sort';
	var SVG_NS = 'http://www.w3.org/2000/svg';
	var LEVELS = ['emerging', 'developing', 'secure', 'mastery'];
	var LEVEL_NAME = { emerging: 'Emerging', developing: 'Developing', secure: 'Secure', mastery: 'Mastery' };
	var LEVEL_LETTER = { emerging: 'E', developing: 'D', secure: 'S', mastery: 'M' };
	/* Lines of the progress chart: Okabe-Ito colours (yellow left out: too
	 * pale on white), each with its own dash pattern and marker. */
	var SERIES = [
		{ colour: '#0072B2', dash: '', marker: 'circle' },
		{ colour: '#D55E00', dash: '8 4', marker: 'square' },
		{ colour: '#009E73', dash: '2 4', marker: 'diamond' },
		{ colour: '#CC79A7', dash: '10 4 2 4', marker: 'triangle' },
		{ colour: '#000000', dash: '4 3', marker: 'circle' },
		{ colour: '#E69F00', dash: '', marker: 'square' },
		{ colour: '#56B4E9', dash: '8 4', marker: 'diamond' }
	];

	var state = {
		me: null,
		classes: [],
		classId: null,
		gen: 0,		/* a class's load; answers for an older one are dropped */
		chartGen: 0,
		flags: null,
		mastery: null,
		units: null,
		progress: null,
		pupilId: null,
		sort: 'name'
	};

	function $(id) {
		return document.getElementById(id);
	}

	/* el('p', {className: 'x', onclick: f}, 'text', child...) */
	function el(tag, props) {
		var node = document.createElement(tag);
		var k;

		for (k in props || {}) {
			if (!Object.prototype.hasOwnProperty.call(props, k) || props[k] == null || props[k] === false)
				continue;
			if (k === 'className')
				node.className = props[k];
			else if (k === 'text')
				node.textContent = props[k];
			else if (k.slice(0, 2) === 'on')
				node.addEventListener(k.slice(2), props[k]);
			else if (props[k] === true)
				node.setAttribute(k, '');
			else
				node.setAttribute(k, String(props[k]));
		}
		for (var i = 2; i < arguments.length; i++)
			append(node, arguments[i]);
		return node;
	}

	function append(node, kid) {
		if (kid == null || kid === false)
			return;
		if (Array.isArray(kid))
			kid.forEach(function (k) { append(node, k); });
		else
			node.appendChild(typeof kid === 'object' ? kid : document.createTextNode(String(kid)));
	}

	function svg(tag, attrs) {
		var node = document.createElementNS(SVG_NS, tag);

		for (var k in attrs || {})
			if (attrs[k] != null)
				node.setAttribute(k, String(attrs[k]));
		for (var i = 2; i < arguments.length; i++) {
			var kid = arguments[i];
			if (kid == null)
				continue;
			node.appendChild(typeof kid === 'object' ? kid : document.createTextNode(String(kid)));
		}
		return node;
	}

	function clear(node) {
		while (node.firstChild)
			node.removeChild(node.firstChild);
		return node;
	}

	function show(node, on) {
		node.hidden = !on;
	}

	/* ---- words and numbers ---- */

	function plural(n, one, many) {
		return n + ' ' + (n === 1 ? one : (many || one + 's'));
	}

	function pct(x) {
		return x == null || isNaN(x) ? '–' : Math.round(x * 100) + '%';
	}

	function sentence(s) {
		s = String(s).trim();
		if (!s)
			return s;
		s = s.charAt(0).toUpperCase() + s.slice(1);
		return /[.!?]$/.test(s) ? s : s + '.';
	}

	function parseDate(s) {
		var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(s || '');
		return m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])) : null;
	}

	var longDate = new Intl.DateTimeFormat('en-GB',
	    { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
	var shortDate = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' });
	var fullDate = new Intl.DateTimeFormat('en-GB',
	    { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });

	function fmtDate(s, fmt) {
		var d = parseDate(s);
		return d ? (fmt || longDate).format(d) : '';
	}

	function today() {
		return state.me && state.me.school && state.me.school.local_date ?
		    state.me.school.local_date : new Date().toISOString().slice(0, 10);
	}

	function pupilName(p) {
		var name = [p.given_name, p.family_name].filter(Boolean).join(' ');
		return name || p.external_id || 'Pupil ' + p.id;
	}

	function pupilSortKey(p) {
		return ((p.family_name || '') + '\u0000' + (p.given_name || '') + '\u0000' +
		    (p.external_id || '')).toLowerCase();
	}

	/* ---- the API ---- */

	function ApiError(status, problem, message) {
		this.status = status;
		this.problem = problem;
		this.message = message;
	}
	ApiError.prototype = Object.create(Error.prototype);

	function problemText(status, p) {
		if (p && typeof p === 'object' && (p.title || p.detail)) {
			var s = p.title ? String(p.title) : '';
			if (p.detail)
				s += (s ? ': ' : '') + p.detail;
			if (Array.isArray(p.errors) && p.errors.length)
				s = sentence(s) + ' ' + p.errors.map(function (e) {
					return sentence((e.field ? e.field + ' ' : '') + (e.detail || 'is not valid'));
				}).join(' ');
			return sentence(s);
		}
		if (status >= 500)
			return 'The server had a problem (HTTP ' + status + '). Try again in a moment.';
		return 'The server refused the request (HTTP ' + status + ').';
	}

	function api(method, path, body, opts) {
		var headers = { Accept: 'application/json, application/problem+json' };
		var token = sessionStorage.getItem(TOKEN_KEY);
		var init;

		opts = opts || {};
		if (token && !opts.anonymous)
			headers.Authorization = 'Bearer ' + token;
		init = { method: method, headers: headers, cache: 'no-store', credentials: 'omit' };
		if (body !== undefined) {
			headers['Content-Type'] = 'application/json';
			init.body = JSON.stringify(body);
		}
		return fetch(path, init).then(function (res) {
			return res.text().then(function (text) {
				var data = null;
				if (text) {
					try {
						data = JSON.parse(text);
					} catch (e) {
						data = null;
					}
				}
				if (res.ok)
					return data;
				if (res.status === 401 && !opts.anonymous && !opts.quiet)
					signedOut('Your session has ended or the token is no longer valid. Please sign in again.');
				throw new ApiError(res.status, data, problemText(res.status, data));
			});
		}, function () {
			throw new ApiError(0, null, 'The server could not be reached. Check the connection and try again.');
		});
	}

	/* ---- status line ---- */

	var statusTimer = null, statusClear = null;

	/* The status line: what a button did, or why it could not. Done and
	 * in-progress lines go after a while; problems stay until the next. */
	function setStatus(text, error, keep) {
		var s = $('status');
		clearTimeout(statusTimer);
		clearTimeout(statusClear);
		s.className = 'status' + (error ? ' error' : text ? ' ok' : '');
		/* A change of text is what a screen reader announces. */
		s.textContent = '';
		statusTimer = setTimeout(function () { s.textContent = text || ''; }, 30);
		if (text && !error && !keep)
			statusClear = setTimeout(function () { s.textContent = ''; }, 20000);
	}

	/* ---- sign-in and sign-out ---- */

	function showSignin(message) {
		state.me = null;
		state.gen++;
		show($('loading'), false);
		show($('app'), false);
		show($('signout'), false);
		$('who').textContent = '';
		show($('signin'), true);
		var msg = $('signin-msg');
		msg.textContent = message || '';
		show(msg, !!message);
		$('token').value = '';
		document.title = 'Sign in: recalld';
	}

	function signedOut(message) {
		sessionStorage.removeItem(TOKEN_KEY);
		showSignin(message);
	}

	function signinWithCode(code) {
		return api('POST', '/v1/auth/signin', { code: code }, { anonymous: true }).then(function (r) {
			if (!r || typeof r.token !== 'string')
				throw new ApiError(0, null, 'The server did not give a token for this link.');
			sessionStorage.setItem(TOKEN_KEY, r.token);
		}, function (e) {
			/* The server's own words when it has them; else ours. */
			if (e.problem && e.problem.detail)
				throw e;
			var why = e.status === 410 ? 'This sign-in link has already been used or has expired.' :
			    e.status ? 'This sign-in link is not valid.' : e.message;
			throw new ApiError(e.status, e.problem, why +
			    (e.status ? ' Ask for a new link, or paste a token below.' : ''));
		});
	}

	function onSigninSubmit(ev) {
		ev.preventDefault();
		var token = $('token').value.trim();
		if (!token)
			return;
		sessionStorage.setItem(TOKEN_KEY, token);
		start(true);
	}

	function onSignout() {
		var btn = $('signout');
		btn.disabled = true;
		api('POST', '/v1/auth/signout', undefined, { quiet: true }).catch(function () { return null; })
		    .then(function () {
			btn.disabled = false;
			sessionStorage.removeItem(TOKEN_KEY);
			sessionStorage.removeItem(CLASS_KEY);
			showSignin('You have signed out.');
			$('token').focus();
		});
	}

	/* ---- start: who am I, which classes ---- */

	function start(fromForm) {
		show($('signin'), false);
		show($('loading'), true);
		return api('GET', '/v1/me', undefined, { quiet: true }).then(function (me) {
			if (!me || me.role === 'integration') {
				signedOut('That token belongs to an integration (a bot or the LMS), not a teacher. ' +
				    'Sign in with a teacher or admin token.');
				return;
			}
			state.me = me;
			renderWho();
			show($('model'), me.role === 'admin');
			if (me.role === 'admin')
				loadModel();
			return loadClasses().then(function () {
				if (fromForm)
					$('class-select').focus();
			});
		}, function (e) {
			if (e.status === 401)
				signedOut(fromForm ? 'That token was not accepted. Check it and try again.' :
				    'Your session has ended. Please sign in again.');
			else
				signedOut(e.message);
		});
	}

	function renderWho() {
		var me = state.me, who = $('who'), school = me.school || {};
		var name = me.teacher ? [me.teacher.given_name, me.teacher.family_name].filter(Boolean).join(' ') :
		    me.role === 'admin' ? 'School admin' : me.role;
		clear(who);
		append(who, [el('span', { className: 'name', text: name }), ' ',
		    el('span', { className: 'school', text: school.name || '' })]);
		$('today').textContent = school.local_date ? 'School day: ' + fmtDate(school.local_date, fullDate) : '';
		show($('signout'), true);
		document.title = 'Dashboard: ' + (school.name || 'recalld');
	}

	function loadClasses() {
		var items = [];

		function page(cursor) {
			return api('GET', '/v1/classes?limit=200' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''))
			    .then(function (r) {
				items = items.concat(r.items || []);
				if (r.next_cursor && items.length < 2000)
					return page(r.next_cursor);
				return items;
			});
		}
		return page(null).then(function (list) {
			list.sort(function (a, b) {
				return (b.active !== false) - (a.active !== false) ||
				    a.name.localeCompare(b.name, 'en', { numeric: true });
			});
			state.classes = list;
			show($('loading'), false);
			show($('app'), true);
			var sel = clear($('class-select'));
			list.forEach(function (k) {
				append(sel, el('option', { value: k.id, text: k.name + (k.active === false ? ' (inactive)' : '') }));
			});
			show($('no-classes'), list.length === 0);
			sel.disabled = list.length === 0;
			if (!list.length) {
				show($('class-view'), false);
				return;
			}
			var want = sessionStorage.getItem(CLASS_KEY);
			var pick = list.filter(function (k) { return String(k.id) === want; })[0] || list[0];
			sel.value = String(pick.id);
			return selectClass(pick.id);
		}, function (e) {
			if (e.status === 401)
				return;
			show($('loading'), false);
			show($('app'), true);
			show($('class-view'), false);
			setStatus('Your classes could not be loaded. ' + e.message, true);
		});
	}

	function className() {
		var k = state.classes.filter(function (c) { return String(c.id) === String(state.classId); })[0];
		return k ? k.name : 'this class';
	}

	function selectClass(id) {
		state.classId = String(id);
		state.pupilId = null;
		sessionStorage.setItem(CLASS_KEY, state.classId);
		setStatus('');
		show($('class-view'), true);
		return loadClass();
	}

	/* Loads everything of the class at once; each section shows its own
	 * problem if its request fails. */
	function loadClass() {
		var gen = ++state.gen, base = '/v1/classes/' + encodeURIComponent(state.classId);

		$('class-view').setAttribute('aria-busy', 'true');
		var progressPath = base + '/progress' + (state.pupilId ? '?pupil_id=' + encodeURIComponent(state.pupilId) : '');
		return Promise.all([
			api('GET', base + '/flags').then(ok, bad),
			api('GET', base + '/mastery').then(ok, bad),
			api('GET', base + '/units').then(ok, bad),
			api('GET', progressPath).then(ok, bad)
		]).then(function (r) {
			if (gen !== state.gen)
				return;
			$('class-view').removeAttribute('aria-busy');
			state.flags = r[0];
			state.mastery = r[1];
			state.units = r[2];
			state.progress = r[3];
			renderFlags();
			renderGrid();
			renderUnits();
			renderChart();
		});
	}

	function ok(data) {
		return { data: data };
	}

	function bad(e) {
		return { error: e };
	}

	function sectionProblem(node, what, r) {
		clear(node);
		append(node, el('p', { className: 'problem', text: what + ' could not be loaded. ' + r.error.message }));
	}

	/* ---- flags ---- */

	function flagReasons(f) {
		var out = [];
		(f.reasons || []).forEach(function (r) {
			if (r === 'low_recall') {
				if (f.status === 'forgotten')
					out.push('The class\u2019s predicted recall is down to ' + pct(f.class_recall) + '.');
				else
					out.push('The class\u2019s predicted recall (' + pct(f.class_recall) + ' now) will fall to ' +
					    pct(f.class_recall_ahead) + ' within ' + plural(f.horizon_days || 7, 'day') + '.');
			} else if (r === 'fallen') {
				out.push(plural(f.fallen || 0, 'pupil') + ' fell back from Secure or Mastery.');
			} else if (r === 'unanswered') {
				out.push((f.unanswered || 0) + ' of ' + plural(f.class_pupils || 0, 'pupil') +
				    ' left every question on this unit unanswered for ' +
				    plural(f.unanswered_days || 10, 'school day') + ' or more, so their levels rest on ' +
				    'old answers: recalld cannot tell what they still remember.');
			} else {
				out.push(sentence(String(r).replace(/_/g, ' ')));
			}
		});
		return out.join(' ');
	}

	/* Whose last answers a not-practised flag rests on, oldest first (at most five named). */
	function lastAnswers(f) {
		var rows = f.last_answers || [];
		if (!rows.length)
			return '';
		var named = rows.slice(0, 5).map(function (a) {
			return pupilName(a.pupil || {}) + ' (' + (a.last_answered_on ? fmtDate(a.last_answered_on, shortDate) :
			    'never') + ')';
		});
		return 'Last answers on this unit: ' + named.join(', ') +
		    (rows.length > 5 ? ' and ' + plural(rows.length - 5, 'more pupil') : '') + '.';
	}

	var FLAG = {
		forgotten: { cls: 'forgotten', badge: 'Forgotten', verb: ' are forgetting it.', since: 'Flagged since ' },
		not_practised: { cls: 'not-practised', badge: 'Not practised', verb: ' have stopped answering it.',
		    since: 'Not practised since ' },
		at_risk: { cls: 'at-risk', badge: 'At risk', verb: ' are losing it.', since: 'At risk since ' }
	};

	function flagKind(status) {
		return FLAG[status] || FLAG.at_risk;
	}

	/* "2 units are being forgotten by 11 of 28 pupils": the pupils are counted
	 * once across the units (the grid's behind_flags); without the grid, the
	 * largest unit's count. */
	function flagHeadline(items) {
		var count = function (st) { return items.filter(function (f) { return f.status === st; }).length; };
		var forgotten = count('forgotten'), idle = count('not_practised');
		var risk = items.length - forgotten - idle;
		var grid = state.mastery && state.mastery.data, behind = grid && grid.behind_flags;
		var units, who;

		if (behind && behind.units === items.length) {
			who = behind.pupils + ' of ' + plural(behind.class_pupils, 'pupil');
		} else {
			who = 'up to ' + Math.max.apply(null, items.map(function (f) { return f.pupils || 0; })) +
			    ' of ' + plural(items[0].class_pupils || 0, 'pupil');
		}
		units = function (n) { return n === 1 ? '1 unit is' : n + ' units are'; };
		var parts = [];
		if (forgotten)
			parts.push([forgotten, 'being forgotten']);
		if (idle)
			parts.push([idle, 'not being practised']);
		if (risk)
			parts.push([risk, forgotten || idle ? 'at risk' : 'at risk of being forgotten']);
		var text = units(parts[0][0]) + ' ' + parts[0][1];
		for (var i = 1; i < parts.length; i++)
			text += (i === parts.length - 1 ? ' and ' : ', ') + parts[i][0] + ' ' + parts[i][1];
		return text + (parts.length > 1 ? ', by ' : ' by ') + who + '.';
	}

	function renderFlags() {
		var list = clear($('flags')), head = $('flags-headline'), r = state.flags;

		head.className = 'headline';
		$('flags-asof').textContent = '';
		if (r.error) {
			head.textContent = '';
			sectionProblem(list, 'The flags', r);
			return;
		}
		var items = r.data.items || [];
		if (r.data.as_of)
			$('flags-asof').textContent = 'Worked out ' + fmtDate(r.data.as_of) + ' at ' +
			    String(r.data.as_of).slice(11, 16) + ' UTC.';
		if (!items.length) {
			head.className = 'headline calm';
			head.textContent = 'No forgotten, unpractised or at-risk units. Nothing to re-teach for now.';
			return;
		}
		head.className = 'headline alarm';
		head.textContent = flagHeadline(items);
		items.forEach(function (f) {
			var unit = f.unit || {}, kind = flagKind(f.status);
			var hid = 'flag-' + unit.id, last = lastAnswers(f);
			append(list, el('li', { className: 'flag ' + kind.cls, 'aria-labelledby': hid },
				el('h3', { id: hid },
				    el('span', { className: 'badge', text: kind.badge }), ' ',
				    el('span', { className: 'unit', text: unit.name })),
				el('p', { className: 'count' },
				    el('strong', { text: (f.pupils || 0) + ' of ' + plural(f.class_pupils || 0, 'pupil') }),
				    kind.verb),
				el('p', { text: flagReasons(f) }),
				last ? el('p', { className: 'evidence', text: last }) : null,
				el('p', { className: 'dates' },
				    f.since ? kind.since + fmtDate(f.since) + '.' : '',
				    f.retaught_on ? ' Re-taught ' + fmtDate(f.retaught_on) + '.' : ''),
				el('div', { className: 'actions' },
				    el('button', { type: 'button', 'aria-label': 'Mark ' + unit.name + ' re-taught today',
					onclick: function (ev) { markRetaught(ev.currentTarget, unit); } }, 'Mark re-taught'),
				    el('button', { type: 'button', className: 'secondary',
					'aria-label': 'Push a re-check of ' + unit.name + ' to the class',
					onclick: function (ev) { pushCheck(ev.currentTarget, unit, 'recheck'); } }, 'Push a re-check'))));
		});
	}

	function busy(btn, on) {
		btn.disabled = on;
		if (on)
			btn.setAttribute('aria-busy', 'true');
		else
			btn.removeAttribute('aria-busy');
	}

	function unitPath(unit, what) {
		return '/v1/classes/' + encodeURIComponent(state.classId) + '/units/' +
		    encodeURIComponent(unit.id) + '/' + what;
	}

	function markRetaught(btn, unit) {
		var date = today();
		busy(btn, true);
		setStatus('Marking ' + unit.name + ' re-taught…');
		api('POST', unitPath(unit, 'retaught'), { date: date }).then(function (r) {
			setStatus(unit.name + ' marked re-taught on ' + fmtDate((r && r.retaught_on) || date) + '.');
			return loadClass();
		}, function (e) {
			busy(btn, false);
			setStatus(unit.name + ' could not be marked re-taught. ' + e.message, true);
		});
	}

	function pushCheck(btn, unit, kind) {
		var what = kind === 'recheck' ? 'Re-check' : 'Diagnostic check';
		busy(btn, true);
		setStatus('Pushing a ' + what.toLowerCase() + ' of ' + unit.name + '…');
		api('POST', unitPath(unit, 'checks'), { kind: kind }).then(function (r) {
			busy(btn, false);
			var n = r && typeof r.pupils === 'number' ? r.pupils : null;
			setStatus(what + ' of ' + unit.name + ' pushed to ' +
			    (n == null ? 'the class' : plural(n, 'pupil')) +
			    (r && r.expires_at ? '; open until ' + fmtDate(r.expires_at) : '') + '.');
		}, function (e) {
			busy(btn, false);
			setStatus('The ' + what.toLowerCase() + ' of ' + unit.name + ' could not be pushed. ' + e.message, true);
		});
	}

	/* ---- the class x unit grid ---- */

	function renderLegend() {
		var ul = clear($('legend'));
		LEVELS.forEach(function (l) {
			append(ul, el('li', null, el('span', { className: 'cell lv-' + l, 'aria-hidden': 'true', text: LEVEL_LETTER[l] }),
			    ' ' + LEVEL_NAME[l]));
		});
		append(ul, el('li', null, el('span', { className: 'cell lv-secure stale', 'aria-hidden': 'true', text: 'S?' }),
		    ' Unconfirmed: no recent answer on the unit'));
	}

	/* A level resting on old answers: what the cell says instead of a plain level. */
	function cellEvidence(c) {
		var bits = [];
		bits.push(c.last_answered_on ? 'last answered ' + fmtDate(c.last_answered_on, shortDate) : 'never answered');
		if (c.answered_share != null)
			bits.push(pct(c.answered_share) + ' of recent prompts answered');
		bits.push(plural(c.reviews || 0, 'answer') + ' in all');
		return bits.join(', ');
	}

	function weakness(p) {
		var lowest = 4, recall = 2;
		(p.units || []).forEach(function (c) {
			var lv = LEVELS.indexOf(c.level);
			if (lv < lowest || (lv === lowest && (c.recall || 0) < recall)) {
				lowest = lv;
				recall = c.recall || 0;
			}
		});
		return [lowest, recall];
	}

	function renderGrid() {
		var table = clear($('grid')), empty = $('grid-empty'), wrap = $('grid-wrap'), r = state.mastery;

		if (r.error) {
			show(wrap, false);
			show(empty, true);
			empty.className = 'problem';
			empty.textContent = 'The mastery grid could not be loaded. ' + r.error.message;
			return;
		}
		empty.className = 'empty';
		var units = r.data.units || [], pupils = (r.data.pupils || []).slice();
		if (!units.length || !pupils.length) {
			show(wrap, false);
			show(empty, true);
			empty.textContent = !units.length ? 'No units taught yet: mark the first one below.' :
			    'No pupils in this class yet. They appear here once the roster lists them.';
			return;
		}
		show(wrap, true);
		show(empty, false);
		if (state.sort === 'weakest')
			pupils.sort(function (a, b) {
				var x = weakness(a), y = weakness(b);
				return x[0] - y[0] || x[1] - y[1] || pupilSortKey(a).localeCompare(pupilSortKey(b));
			});
		else
			pupils.sort(function (a, b) { return pupilSortKey(a).localeCompare(pupilSortKey(b)); });

		append(table, el('caption', { className: 'vh',
		    text: 'Level and predicted recall of each pupil of ' + className() + ' in each taught unit, sorted by ' +
			(state.sort === 'weakest' ? 'weakest unit first' : 'name') + '.' }));
		var head = el('tr', null, el('th', { scope: 'col', className: 'corner', text: 'Pupil' }));
		units.forEach(function (u) {
			append(head, el('th', { scope: 'col' }, el('span', { className: 'uname', text: u.name }),
			    u.taught_on ? el('span', { className: 'sub', text: 'taught ' + fmtDate(u.taught_on, shortDate) }) : null));
		});
		append(table, el('thead', null, head));
		var body = el('tbody');
		pupils.forEach(function (p) {
			var name = pupilName(p), byUnit = {};
			(p.units || []).forEach(function (c) { byUnit[c.unit_id] = c; });
			var selected = String(state.pupilId) === String(p.id);
			var tr = el('tr', { className: selected ? 'selected' : null },
			    el('th', { scope: 'row' }, el('button', { type: 'button', className: 'pupil',
				'aria-pressed': selected ? 'true' : 'false', 'data-pupil': p.id,
				title: 'Show ' + name + '\u2019s progress over time',
				onclick: function () { selectPupil(p.id); } }, name)));
			units.forEach(function (u) {
				var c = byUnit[u.id];
				if (!c) {
					append(tr, el('td', { className: 'cell none', text: '–', title: name + ', ' + u.name + ': no data' }));
					return;
				}
				var lv = LEVELS.indexOf(c.level) >= 0 ? c.level : 'emerging';
				/* A stale level is unconfirmed: "S?" and said in words, not a plain Secure. */
				var levelName = LEVEL_NAME[lv] + (c.stale ? ' (unconfirmed)' : '');
				var full = name + ', ' + u.name + ': ' + levelName + ', predicted recall ' + pct(c.recall) +
				    (c.questions ? ' (' + (c.reviewed || 0) + ' of ' + plural(c.questions, 'question') + ' reviewed)' : '') +
				    '; ' + cellEvidence(c) +
				    (c.stale ? '; no answer on this unit for weeks, so this level is not confirmed' : '') +
				    (c.behind_flag ? '; one of the pupils behind this unit’s flag' : '');
				/* "!" marks the pupils behind a flag, in text, not only colour. */
				append(tr, el('td', { className: 'cell lv-' + lv + (c.stale ? ' stale' : '') +
				    (c.behind_flag ? ' behind' : ''), title: full },
				    el('span', { 'aria-hidden': 'true' }, el('b', { text: LEVEL_LETTER[lv] + (c.stale ? '?' : '') }),
				        ' ' + pct(c.recall) + (c.behind_flag ? ' !' : '')),
				    el('span', { className: 'vh', text: levelName + ', ' + pct(c.recall) +
				        (c.behind_flag ? ', behind the flag' : '') })));
			});
			append(body, tr);
		});
		append(table, body);
		var foot = el('tr', null, el('th', { scope: 'row', text: 'Secure or above' }));
		units.forEach(function (u) {
			var lv = u.levels || {}, n = pupils.length;
			var secure = (lv.secure || 0) + (lv.mastery || 0);
			append(foot, el('td', { className: 'sum', title: u.name + ': ' + secure + ' of ' + n +
			    ' pupils Secure or above; class recall ' + pct(u.class_recall),
			    text: secure + ' of ' + n }));
		});
		append(table, el('tfoot', null, foot));
	}

	function onSort() {
		state.sort = $('grid-sort').value;
		sessionStorage.setItem(SORT_KEY, state.sort);
		if (state.mastery)
			renderGrid();
	}

	/* ---- progress over time ---- */

	function selectPupil(id) {
		state.pupilId = id == null ? null : String(id);
		markSelectedRow();
		var gen = ++state.chartGen;
		var path = '/v1/classes/' + encodeURIComponent(state.classId) + '/progress' +
		    (state.pupilId ? '?pupil_id=' + encodeURIComponent(state.pupilId) : '');
		$('chart').setAttribute('aria-busy', 'true');
		return api('GET', path).then(ok, bad).then(function (r) {
			if (gen !== state.chartGen)
				return;
			$('chart').removeAttribute('aria-busy');
			state.progress = r;
			renderChart();
			var h = $('chart-h');
			if (h.scrollIntoView)
				h.scrollIntoView({ block: 'start' });
			h.focus({ preventScroll: true });
		});
	}

	function markSelectedRow() {
		Array.prototype.forEach.call(document.querySelectorAll('#grid button.pupil'), function (b) {
			var on = String(b.getAttribute('data-pupil')) === String(state.pupilId);
			b.setAttribute('aria-pressed', on ? 'true' : 'false');
			b.closest('tr').className = on ? 'selected' : '';
		});
	}

	function unitNames() {
		var names = {};
		var add = function (u) { if (u && u.id != null) names[u.id] = u.name; };
		if (state.units && state.units.data)
			(state.units.data.items || []).forEach(add);
		if (state.mastery && state.mastery.data)
			(state.mastery.data.units || []).forEach(add);
		if (state.progress && state.progress.data)
			(state.progress.data.units || []).forEach(add);
		return names;
	}

	function renderChart() {
		var box = clear($('chart')), legend = clear($('chart-legend')), table = clear($('chart-table'));
		var empty = $('chart-empty'), sub = $('chart-sub'), r = state.progress;
		var tableBox = $('chart-table-box');

		show($('chart-class'), !!state.pupilId);
		show($('chart-view'), !!state.pupilId);
		empty.className = 'empty';
		if (r.error) {
			show(empty, true);
			show(tableBox, false);
			empty.className = 'problem';
			empty.textContent = 'The progress chart could not be loaded. ' + r.error.message;
			sub.textContent = '';
			return;
		}
		var d = r.data, weeks = d.weeks || [], names = unitNames(), pupil = state.pupilId ? d.pupil : null;
		var series, title, yTicks, yMax, fmtValue;

		if (state.pupilId && pupil) {
			title = pupilName(pupil) + ': level in each unit, week by week';
			sub.textContent = 'The level of ' + pupilName(pupil) + ' in each taught unit (Emerging to Mastery), week by week.';
			series = (pupil.units || []).map(function (u) {
				return { name: names[u.id] || 'Unit ' + u.id, values: (u.levels || []).map(function (l) {
					var i = LEVELS.indexOf(l);
					return i < 0 ? null : i;
				}) };
			});
			yMax = 3;
			yTicks = LEVELS.map(function (l, i) { return { v: i, label: LEVEL_NAME[l] }; });
			fmtValue = function (v) { return v == null ? 'not taught' : LEVEL_NAME[LEVELS[v]]; };
		} else {
			title = className() + ': share of pupils at Secure or above, week by week';
			sub.textContent = 'The share of the class at Secure or Mastery in each taught unit, week by week.';
			series = (d.units || []).map(function (u) {
				return { name: u.name, values: u.secure_share || [] };
			});
			yMax = 1;
			yTicks = [0, 0.25, 0.5, 0.75, 1].map(function (v) { return { v: v, label: pct(v) }; });
			fmtValue = function (v) { return v == null ? 'not taught' : pct(v); };
		}
		var anyValue = series.some(function (s) { return s.values.some(function (v) { return v != null; }); });
		if (!series.length || !weeks.length || !anyValue) {
			show(empty, true);
			show(tableBox, false);
			empty.textContent = 'No units taught yet: mark the first one below. The chart starts a week after.';
			return;
		}
		show(empty, false);
		show(tableBox, true);
		drawChart(box, title, weeks, series, yTicks, yMax, fmtValue, !!pupil);
		series.forEach(function (s, i) {
			var st = SERIES[i % SERIES.length];
			var last = s.values.length ? s.values[s.values.length - 1] : null;
			append(legend, el('li', null, swatch(st), el('span', { text: s.name }),
			    el('span', { className: 'now', text: ' ' + fmtValue(last) + ' now' })));
		});
		append(table, el('caption', { text: title + ' (– : not taught yet)' }));
		var head = el('tr', null, el('th', { scope: 'col', text: 'As of' }));
		series.forEach(function (s) { append(head, el('th', { scope: 'col', text: s.name })); });
		append(table, el('thead', null, head));
		var body = el('tbody');
		weeks.forEach(function (w, wi) {
			var tr = el('tr', null, el('th', { scope: 'row', text: fmtDate(w) }));
			series.forEach(function (s) {
				var v = s.values[wi];
				append(tr, el('td', { text: v == null ? '–' : fmtValue(v) }));
			});
			append(body, tr);
		});
		append(table, body);
	}

	/*
	 * What the selected pupil sees on their own page, read-only, in a new
	 * tab: opened at once (a later window.open would be blocked), then sent
	 * to the hour-long link the API makes.
	 */
	function openPupilView() {
		var w = window.open('about:blank', '_blank');
		if (w)
			w.opener = null;
		api('POST', '/v1/pupils/' + encodeURIComponent(state.pupilId) + '/view-link', {}).then(function (r) {
			if (w)
				w.location.href = r.url;
			else
				window.location.href = r.url;
		}, function (e) {
			if (w)
				w.close();
			setStatus('The pupil\'s page could not be opened. ' + e.message, true);
		});
	}

	/* The admin's calibration chart: GET /v1/school/fsrs. */
	function loadModel() {
		api('GET', '/v1/school/fsrs', undefined, { quiet: true }).then(renderModel, function (e) {
			var empty = $('model-empty');
			show(empty, true);
			empty.className = 'problem';
			empty.textContent = 'The memory model could not be loaded. ' + e.message;
		});
	}

	function renderModel(m) {
		var cal = m.calibration || {}, fit = (m.fits || [])[0], sub = $('model-sub');
		var series = [
			{ name: 'As scheduled, last ' + (cal.days || 90) + ' days', bins: cal.as_scheduled || [] },
			{ name: 'FSRS-6 defaults, at the last fit', bins: (cal.latest_fit || {})['default'] || [] }
		].map(function (s) {
			s.bins = s.bins.filter(function (b) { return b.reviews > 0; });
			return s;
		});
		var source = m.source === 'fitted' ? 'weights fitted to your pupils\' answers' :
		    m.source === 'pinned' ? 'weights an admin pinned' : 'FSRS-6\'s default weights';
		sub.textContent = 'recalld schedules with ' + source + '. ' + (fit ? 'Last fit ' +
		    fmtDate(fit.fitted_at.slice(0, 10)) + ' on ' + fit.reviews + ' answers: ' +
		    sentence(fit.reason) : 'No fit yet: one is made once the school has enough answers.');
		var box = clear($('model-chart')), table = clear($('model-table'));
		var any = series.some(function (s) { return s.bins.length > 0; });
		show($('model-empty'), !any);
		show($('model-table-box'), any);
		if (!any) {
			$('model-empty').className = 'empty';
			$('model-empty').textContent = 'No answers to compare yet.';
			return;
		}
		var W = 320, P = 40, S = W - 2 * P;
		var chart = svg('svg', { viewBox: '0 0 ' + W + ' ' + W, role: 'img', width: W, height: W,
		    'aria-label': 'Predicted recall against the share recalled; the table below has the figures' });
		append(chart, svg('line', { x1: P, y1: P + S, x2: P + S, y2: P, stroke: '#767676',
		    'stroke-dasharray': '4 3' }));
		append(chart, svg('line', { x1: P, y1: P + S, x2: P + S, y2: P + S, stroke: '#333' }));
		append(chart, svg('line', { x1: P, y1: P, x2: P, y2: P + S, stroke: '#333' }));
		[0, 0.5, 1].forEach(function (v) {
			append(chart, svg('text', { x: P + v * S, y: P + S + 16, 'text-anchor': 'middle',
			    'font-size': 12 }, pct(v)));
			append(chart, svg('text', { x: P - 6, y: P + S - v * S + 4, 'text-anchor': 'end',
			    'font-size': 12 }, pct(v)));
		});
		append(chart, svg('text', { x: P + S / 2, y: W - 4, 'text-anchor': 'middle', 'font-size': 12 },
		    'predicted'));
		series.forEach(function (s, i) {
			var st = SERIES[i % SERIES.length];
			s.bins.forEach(function (b) {
				var x = P + b.mean_predicted * S, y = P + S - b.share_recalled * S;
				append(chart, i === 0 ? svg('circle', { cx: x, cy: y, r: 5, fill: st.colour }) :
				    svg('rect', { x: x - 4, y: y - 4, width: 8, height: 8, fill: 'none',
				    stroke: st.colour, 'stroke-width': 2 }));
			});
		});
		append(box, chart);
		append(table, el('caption', { text: 'Predicted recall against the share recalled' }));
		append(table, el('thead', null, el('tr', null, el('th', { scope: 'col', text: 'Answers of' }),
		    el('th', { scope: 'col', text: 'Predicted' }), el('th', { scope: 'col', text: 'Recalled' }),
		    el('th', { scope: 'col', text: 'Answers' }))));
		var body = el('tbody');
		series.forEach(function (s) {
			s.bins.forEach(function (b) {
				append(body, el('tr', null, el('th', { scope: 'row', text: s.name }),
				    el('td', { text: pct(b.mean_predicted) }), el('td', { text: pct(b.share_recalled) }),
				    el('td', { text: String(b.reviews) })));
			});
		});
		append(table, body);
	}

	function swatch(st) {
		return svg('svg', { width: 34, height: 14, viewBox: '0 0 34 14', 'aria-hidden': 'true', focusable: 'false', 'class': 'swatch' },
		    svg('line', { x1: 1, y1: 7, x2: 33, y2: 7, stroke: st.colour, 'stroke-width': 3,
			'stroke-dasharray': st.dash || null }),
		    marker(st, 17, 7, 4));
	}

	function marker(st, x, y, r) {
		var common = { fill: st.colour, stroke: '#ffffff', 'stroke-width': 1 };
		var m;
		if (st.marker === 'square')
			m = svg('rect', { x: x - r, y: y - r, width: 2 * r, height: 2 * r });
		else if (st.marker === 'diamond')
			m = svg('path', { d: 'M' + x + ' ' + (y - r - 1) + 'L' + (x + r + 1) + ' ' + y + 'L' + x + ' ' +
			    (y + r + 1) + 'L' + (x - r - 1) + ' ' + y + 'Z' });
		else if (st.marker === 'triangle')
			m = svg('path', { d: 'M' + x + ' ' + (y - r - 1) + 'L' + (x + r + 1) + ' ' + (y + r) + 'L' +
			    (x - r - 1) + ' ' + (y + r) + 'Z' });
		else
			m = svg('circle', { cx: x, cy: y, r: r });
		for (var k in common)
			m.setAttribute(k, common[k]);
		return m;
	}

	var plotSeq = 0;

	function drawChart(box, title, weeks, series, yTicks, yMax, fmtValue, levels) {
		/* Drawn at the box's width, so that its text is never scaled down. */
		var W = Math.round(Math.max(280, Math.min(1200, box.clientWidth || 640)));
		var H = W < 480 ? 240 : 300, L = levels ? 86 : 48, R = 14, T = 14, B = 42;
		var pw = W - L - R, ph = H - T - B, n = weeks.length;
		var x = function (i) { return L + (n === 1 ? pw / 2 : i * pw / (n - 1)); };
		var y = function (v) { return T + ph - v / yMax * ph; };
		var id = 'plot-' + (++plotSeq) + '-';
		var root = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img', 'class': 'plot',
		    'aria-labelledby': id + 't ' + id + 'd', preserveAspectRatio: 'xMidYMid meet' });
		var last = series.map(function (s) {
			for (var i = s.values.length - 1; i >= 0; i--)
				if (s.values[i] != null)
					return s.name + ' ' + fmtValue(s.values[i]);
			return s.name + ' not taught';
		});
		root.appendChild(svg('title', { id: id + 't' }, title));
		root.appendChild(svg('desc', { id: id + 'd' }, plural(series.length, 'unit') + ' over ' + plural(n, 'week') +
		    ', ' + fmtDate(weeks[0]) + ' to ' + fmtDate(weeks[n - 1]) + '. Latest: ' + last.join('; ') +
		    '. The same numbers are in the table below the chart.'));

		var grid = svg('g', { 'class': 'axis' });
		yTicks.forEach(function (t) {
			grid.appendChild(svg('line', { x1: L, x2: W - R, y1: y(t.v), y2: y(t.v), 'class': 'gridline' }));
			grid.appendChild(svg('text', { x: L - 6, y: y(t.v) + 4, 'text-anchor': 'end' }, t.label));
		});
		var every = Math.max(1, Math.ceil(n / Math.max(2, Math.floor(pw / 64))));
		weeks.forEach(function (w, i) {
			if ((n - 1 - i) % every !== 0)
				return;
			grid.appendChild(svg('line', { x1: x(i), x2: x(i), y1: T + ph, y2: T + ph + 5, 'class': 'tick' }));
			var anchor = n > 1 && i === 0 ? 'start' : n > 1 && i === n - 1 ? 'end' : 'middle';
			grid.appendChild(svg('text', { x: x(i) + (anchor === 'start' ? -4 : anchor === 'end' ? 4 : 0),
			    y: T + ph + 19, 'text-anchor': anchor }, fmtDate(w, shortDate)));
		});
		grid.appendChild(svg('line', { x1: L, x2: W - R, y1: T + ph, y2: T + ph, 'class': 'baseline' }));
		grid.appendChild(svg('line', { x1: L, x2: L, y1: T, y2: T + ph, 'class': 'baseline' }));
		grid.appendChild(svg('text', { x: L + pw / 2, y: H - 4, 'text-anchor': 'middle', 'class': 'label' }, 'Week'));
		root.appendChild(grid);

		/* Lines on the same value would hide each other: a few pixels apart. */
		var spread = levels ? 4 : 2.5;
		series.forEach(function (s, si) {
			var st = SERIES[si % SERIES.length];
			var off = spread ? (si - (series.length - 1) / 2) * Math.min(spread, 24 / series.length) : 0;
			var g = svg('g', { 'class': 'series' });
			var d = '', pen = false;
			s.values.forEach(function (v, i) {
				if (v == null) {
					pen = false;
					return;
				}
				d += (pen ? 'L' : 'M') + x(i).toFixed(1) + ' ' + (y(v) + off).toFixed(1);
				pen = true;
			});
			if (d)
				g.appendChild(svg('path', { d: d, fill: 'none', stroke: st.colour, 'stroke-width': 2.5,
				    'stroke-dasharray': st.dash || null, 'stroke-linejoin': 'round', 'stroke-linecap': 'round' }));
			s.values.forEach(function (v, i) {
				if (v == null)
					return;
				var m = marker(st, x(i), y(v) + off, 4);
				m.appendChild(svg('title', null, s.name + ', ' + fmtDate(weeks[i]) + ': ' + fmtValue(v)));
				g.appendChild(m);
			});
			root.appendChild(g);
		});
		box.appendChild(root);
	}

	/* ---- units of the course ---- */

	var unitSeq = 0;

	function renderUnits() {
		var list = clear($('units')), empty = $('units-empty'), course = $('units-course'), r = state.units;

		empty.className = 'empty';
		course.textContent = '';
		if (r.error) {
			show(empty, true);
			empty.className = 'problem';
			empty.textContent = 'The units could not be loaded. ' + r.error.message;
			return;
		}
		var items = r.data.items || [];
		if (!items.length) {
			show(empty, true);
			empty.textContent = 'This class\u2019s course has no units yet. They come with the question bank import.';
			return;
		}
		var courses = {};
		items.forEach(function (u) { if (u.course) courses[u.course.id] = u.course.name; });
		var names = Object.keys(courses).map(function (k) { return courses[k]; });
		var taught = items.filter(function (u) { return u.taught_on; }).length;
		course.textContent = (names.length ? 'Course: ' + names.join(', ') + '. ' : '') +
		    taught + ' of ' + plural(items.length, 'unit') + ' taught.';
		show(empty, taught === 0);
		if (taught === 0)
			empty.textContent = 'No units taught yet: mark the first one below when the class has finished it.';
		items.forEach(function (u) {
			var seq = ++unitSeq, dateId = 'taught-date-' + seq, hid = 'unit-' + seq;
			var status = [];
			if (u.taught_on)
				status.push('Taught ' + fmtDate(u.taught_on) + '.');
			else
				status.push('Not taught yet.');
			if (u.retaught_on)
				status.push('Re-taught ' + fmtDate(u.retaught_on) + '.');
			if (u.questions != null)
				status.push(plural(u.questions, 'question') + '.');
			var badge = u.flag === 'forgotten' ? el('span', { className: 'badge forgotten', text: 'Forgotten' }) :
			    u.flag === 'not_practised' ? el('span', { className: 'badge not-practised', text: 'Not practised' }) :
			    u.flag === 'at_risk' ? el('span', { className: 'badge at-risk', text: 'At risk' }) :
			    u.taught_on ? el('span', { className: 'badge taught', text: 'Taught' }) : null;
			var li = el('li', { className: 'unit' + (u.taught_on ? ' taught' : ''), 'aria-labelledby': hid },
			    el('h3', { id: hid }, el('span', { text: u.name }), badge ? ' ' : null, badge),
			    el('p', { className: 'help', text: status.join(' ') }));
			if (!u.taught_on) {
				var input = el('input', { id: dateId, type: 'date', value: today(), max: today(), required: true });
				var form = el('form', { className: 'mark', onsubmit: function (ev) {
					ev.preventDefault();
					markTaught(form, u, input.value);
				} },
				    el('label', { 'for': dateId }, 'Taught on', el('span', { className: 'vh', text: ' (' + u.name + ')' })),
				    input,
				    el('button', { type: 'submit', 'aria-label': 'Mark ' + u.name + ' taught' }, 'Mark taught'));
				append(li, el('div', { className: 'actions' }, form,
				    el('button', { type: 'button', className: 'secondary',
					'aria-label': 'Push a diagnostic check of ' + u.name + ' to the class',
					onclick: function (ev) { pushCheck(ev.currentTarget, u, 'diagnostic'); } },
					'Push a diagnostic check')));
			}
			append(li, levelsEditor(u, seq));
			append(list, li);
		});
	}

	/*
	 * What each level looks like in this unit, in the teacher's words
	 * (PUT /v1/units/{id}/levels): loaded when opened, shown to pupils on
	 * their page beside the school's own descriptor.
	 */
	function levelsEditor(u, seq) {
		var LEVEL_KEYS = ['emerging', 'developing', 'secure', 'mastery'];
		var fields = {}, loaded = false;
		var form = el('form', { className: 'levels', onsubmit: function (ev) {
			ev.preventDefault();
			var body = {};
			LEVEL_KEYS.forEach(function (k) {
				var v = fields[k].value.trim();
				body[k] = v === '' ? null : v;
			});
			var btn = form.querySelector('button');
			busy(btn, true);
			api('PUT', '/v1/units/' + encodeURIComponent(u.id) + '/levels', body).then(function () {
				setStatus('What each level looks like in ' + u.name + ' is saved: pupils see it on their page.');
			}, function (e) {
				setStatus('Not saved. ' + e.message, true);
			}).then(function () { busy(btn, false); });
		} });
		LEVEL_KEYS.forEach(function (k, i) {
			var id = 'lv-' + seq + '-' + k;
			fields[k] = el('textarea', { id: id, maxLength: 300, rows: 2 });
			append(form, [el('label', { 'for': id }, LEVEL_NAME[LEVELS[i]] + ' in this unit looks like',
			    el('span', { className: 'vh', text: ' (' + u.name + ')' })), fields[k]]);
		});
		append(form, el('button', { type: 'submit' }, 'Save the levels'));
		var box = el('details', { className: 'levels-box' },
		    el('summary', null, 'What each level looks like in this unit'),
		    el('p', { className: 'help', text: 'Plain words, up to 300 characters each; empty: pupils see only ' +
			'the school\u2019s description of the level.' }), form);
		box.addEventListener('toggle', function () {
			if (!box.open || loaded)
				return;
			loaded = true;
			api('GET', '/v1/units/' + encodeURIComponent(u.id) + '/levels', undefined, { quiet: true }).then(function (r) {
				LEVEL_KEYS.forEach(function (k) {
					var lv = (r.levels || {})[k] || {};
					fields[k].value = lv.unit || '';
					fields[k].placeholder = lv.school || '';
				});
			}, function () { loaded = false; });
		});
		return box;
	}

	function markTaught(form, unit, date) {
		var btn = form.querySelector('button');
		if (!/^\d{4}-\d{2}-\d{2}$/.test(date || '')) {
			setStatus('Choose the date ' + unit.name + ' was taught.', true);
			return;
		}
		if (date > today()) {
			setStatus('The date ' + unit.name + ' was taught cannot be after today.', true);
			return;
		}
		busy(btn, true);
		setStatus('Marking ' + unit.name + ' taught…');
		api('POST', unitPath(unit, 'taught'), { date: date }).then(function (r) {
			setStatus(unit.name + ' marked taught on ' + fmtDate((r && r.taught_on) || date) +
			    '. Its questions start in the next daily batch.');
			return loadClass();
		}, function (e) {
			busy(btn, false);
			setStatus(unit.name + ' could not be marked taught. ' + e.message, true);
		});
	}

	/* ---- start-up ---- */

	/* #signin=CODE: a sign-in link. Whoever was signed in in this tab is
	 * replaced by the link's teacher. */
	function signinFromHash() {
		var m = /(?:^#|&)signin=([^&]*)/.exec(location.hash || '');
		/* an LMS launch names the class of its course */
		var cls = /(?:^#|&)class=([0-9]+)/.exec(location.hash || '');
		var code;

		if (!m)
			return false;
		/* The code leaves the address bar (and history) at once. */
		history.replaceState(null, '', location.pathname + location.search);
		try {
			code = decodeURIComponent(m[1]);
		} catch (e) {
			code = m[1];
		}
		sessionStorage.removeItem(TOKEN_KEY);
		if (cls)
			sessionStorage.setItem(CLASS_KEY, cls[1]);
		state.gen++;
		show($('signin'), false);
		show($('app'), false);
		show($('loading'), true);
		signinWithCode(code).then(function () { start(false); }, function (e) { signedOut(e.message); });
		return true;
	}

	function boot() {
		renderLegend();
		$('signin-form').addEventListener('submit', onSigninSubmit);
		$('signout').addEventListener('click', onSignout);
		$('class-select').addEventListener('change', function (ev) { selectClass(ev.target.value); });
		$('grid-sort').addEventListener('change', onSort);
		$('chart-class').addEventListener('click', function () { selectPupil(null); });
		$('chart-view').addEventListener('click', openPupilView);
		var resized = null, lastWidth = window.innerWidth;
		window.addEventListener('resize', function () {
			clearTimeout(resized);
			resized = setTimeout(function () {
				if (window.innerWidth !== lastWidth && state.progress && !$('class-view').hidden) {
					lastWidth = window.innerWidth;
					renderChart();
				}
			}, 150);
		});
		var sort = sessionStorage.getItem(SORT_KEY);
		if (sort === 'name' || sort === 'weakest')
			state.sort = sort;
		$('grid-sort').value = state.sort;

		/* A sign-in link opened in a tab that has the dashboard already. */
		window.addEventListener('hashchange', signinFromHash);
		if (signinFromHash())
			return;
		if (sessionStorage.getItem(TOKEN_KEY))
			start(false);
		else
			showSignin();
	}

	if (document.readyState === 'loading')
		document.addEventListener('DOMContentLoaded', boot);
	else
		boot();
})();
