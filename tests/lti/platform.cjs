/*
 * platform.cjs: an LTI 1.3 platform (an LMS) for the tests, written from
 * the 1EdTech specifications (LTI Core 1.3 §5, its OIDC third-party login;
 * OpenID Connect Core 1.0) with its own JOSE library (npm jose), never
 * with recalld's code. It keeps its own RSA key, serves its JWKS, starts
 * logins, answers the authentication request with an id_token posted back
 * by an auto-submitting form (response_mode form_post), and lets a test
 * forge id_tokens for the refusals recalld must make.
 *
 *   const p = await startPlatform({ tool: 'http://127.0.0.1:8080' });
 *   p.issuer, p.clientId, p.deploymentId, p.addUser(hint, claims), p.sign(claims, opts)
 */
'use strict';

const http = require('http');
const crypto = require('crypto');
const { URL, URLSearchParams } = require('url');
const jose = require('jose');

const LTI = 'https://purl.imsglobal.org/spec/lti/claim/';
const ROLE = {
	learner: 'http://purl.imsglobal.org/vocab/lis/v2/membership#Learner',
	instructor: 'http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor',
};

function esc(s) {
	return String(s).replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';');
}

function readBody(req) {
	return new Promise((resolve) => {
		let b = '';
		req.on('data', (d) => { b += d; });
		req.on('end', () => resolve(b));
	});
}

async function startPlatform(opts) {
	const tool = opts.tool.replace(/\/+$/, '');
	const clientId = opts.clientId || 'recalld-at-test-lms';
	const deploymentId = opts.deploymentId || 'deployment-1';
	const { publicKey, privateKey } = await jose.generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
	const kid = 'lms-key-1';
	const jwk = { ...(await jose.exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
	const users = new Map();	/* login_hint -> claims of the user */
	const p = {
		clientId, deploymentId, privateKey, publicKey, kid, users,
		log: [],		/* authentication requests seen */
		jwksDown: false,
		contexts: new Map(),	/* lti_message_hint -> context claims and message */
	};

	/* A signed id_token: claims over the defaults; opts.key, opts.kid, opts.alg to forge. */
	p.sign = async (claims, o = {}) => {
		const now = Math.floor(Date.now() / 1000);
		const body = {
			iss: p.issuer, aud: clientId, iat: now, exp: now + 300,
			[LTI + 'version']: '1.3.0',
			[LTI + 'deployment_id']: deploymentId,
			...claims,
		};
		for (const k of Object.keys(body))
			if (body[k] === undefined)
				delete body[k];
		return new jose.SignJWT(body)
			.setProtectedHeader({ alg: o.alg || 'RS256', kid: o.kid || kid, typ: 'JWT' })
			.sign(o.key || privateKey);
	};

	/* The claims of a launch of user (a login_hint) with message hint. */
	p.claims = (hint, messageHint, nonce) => {
		const u = users.get(hint);
		const m = p.contexts.get(messageHint) || p.contexts.get('default');
		if (!u || !m)
			return null;
		return {
			sub: u.sub, nonce,
			[LTI + 'message_type']: m.message_type || 'LtiResourceLinkRequest',
			[LTI + 'roles']: u.roles,
			[LTI + 'target_link_uri']: m.target,
			[LTI + 'resource_link']: { id: m.link || 'link-1', title: 'Retrieval practice' },
			[LTI + 'context']: { id: m.context, label: m.label, title: m.title,
			    type: ['http://purl.imsglobal.org/vocab/lis/v2/course#CourseSection'] },
			[LTI + 'lis']: { person_sourcedid: u.sourcedid, course_section_sourcedid: m.section },
			given_name: u.given_name,
			...(m.extra || {}),
		};
	};

	p.addUser = (hint, u) => users.set(hint, u);
	p.ROLE = ROLE;
	p.LTI = LTI;

	const server = http.createServer(async (req, res) => {
		const u = new URL(req.url, p.issuer);
		try {
			if (u.pathname === '/jwks') {
				if (p.jwksDown) {
					res.writeHead(503);
					return res.end();
				}
				res.writeHead(200, { 'Content-Type': 'application/json' });
				return res.end(JSON.stringify({ keys: [jwk] }));
			}
			if (u.pathname === '/start') {
				/* What a course page's link does: third-party login initiation (LTI Core §5.1.1). */
				const school = u.searchParams.get('school');
				const q = new URLSearchParams({
					iss: p.issuer, login_hint: u.searchParams.get('user'),
					target_link_uri: `${tool}/lti/${school}/launch`,
					lti_message_hint: u.searchParams.get('msg') || 'default',
					client_id: clientId, lti_deployment_id: deploymentId,
				});
				res.writeHead(302, { Location: `${tool}/lti/${school}/login?${q}` });
				return res.end();
			}
			if (u.pathname === '/auth') {
				/* The authentication request (OIDC Core §3.1.2.1 as LTI Core §5.1.1.2 profiles it). */
				const q = req.method === 'POST' ? new URLSearchParams(await readBody(req)) : u.searchParams;
				const want = { scope: 'openid', response_type: 'id_token', response_mode: 'form_post',
				    prompt: 'none', client_id: clientId };
				p.log.push(Object.fromEntries(q));
				for (const k of Object.keys(want))
					if (q.get(k) !== want[k]) {
						res.writeHead(400);
						return res.end('bad ' + k);
					}
				const redirect = q.get('redirect_uri') || '';
				if (!/^https?:\/\/[^/]+\/lti\/[0-9]+\/launch$/.test(redirect) || !redirect.startsWith(tool) ||
				    !q.get('nonce') || !q.get('state')) {
					res.writeHead(400);
					return res.end('bad redirect_uri, nonce or state');
				}
				const claims = p.claims(q.get('login_hint'), q.get('lti_message_hint'), q.get('nonce'));
				if (!claims) {
					res.writeHead(400);
					return res.end('unknown user');
				}
				const idToken = await p.sign(claims);
				res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
				return res.end(`<!DOCTYPE html><html lang="en"><head><title>Launching</title></head>` +
				    `<body onload="document.forms[0].submit()"><form method="post" action="${esc(redirect)}">` +
				    `<input type="hidden" name="id_token" value="${esc(idToken)}">` +
				    `<input type="hidden" name="state" value="${esc(q.get('state'))}">` +
				    `<noscript><button>Continue</button></noscript></form></body></html>`);
			}
			res.writeHead(404);
			res.end();
		} catch (e) {
			res.writeHead(500);
			res.end(String(e && e.stack || e));
		}
	});
	await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
	p.port = server.address().port;
	p.issuer = `http://127.0.0.1:${p.port}`;
	p.close = () => new Promise((resolve) => server.close(resolve));
	p.randomKey = async () => (await jose.generateKeyPair('RS256', { modulusLength: 2048 })).privateKey;
	p.hmacKeyFromPublic = () => Buffer.from(JSON.stringify(jwk));
	p.nonce = () => crypto.randomBytes(16).toString('hex');
	return p;
}

module.exports = { startPlatform, LTI, ROLE };
