/*
 * platform.cjs: an LTI 1.3 platform (an LMS) for the tests, written from
 * the 1EdTech specifications (LTI Core 1.3 §5, its OIDC third-party login;
 * OpenID Connect Core 1.0) with its own JOSE library (npm jose), never
 * with recalld's code. It keeps its own RSA key, serves its JWKS, starts
 * logins, answers the authentication request with an id_token posted back
 * by an auto-submitting form (response_mode form_post), and lets a test
 * forge id_tokens for the refusals recalld must make.
 *
 *   const p = await startPlatform({ tool: 'http://127.0.0.1:8080', port: 0 });
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
	let jwk = { ...(await jose.exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
	const users = new Map();	/* login_hint -> claims of the user */
	const p = {
		clientId, deploymentId, privateKey, publicKey, kid, users,
		log: [],		/* authentication requests seen */
		jwksDown: false,
		contexts: new Map(),	/* lti_message_hint -> context claims and message */
		tokens: new Map(),	/* access token -> scopes */
		jtis: new Set(),	/* client assertions seen: each once */
		lineitems: [],		/* { id, context, scoreMaximum, label, resourceId, tag } */
		scores: [],		/* { lineitem, score } */
		refused: [],		/* why token or gradebook requests were refused */
		agsDown: false,
		deepLinks: [],		/* verified LtiDeepLinkingResponse claims */
		members: new Map(),	/* context id -> NRPS members */
		registrations: [],	/* tool registrations received (Dynamic Registration) */
		nrpsPages: 0,
		agsDownHits: 0,
	};
	const toolKeys = jose.createRemoteJWKSet(new URL(`${tool}/lti/jwks`));
	const AGS = 'https://purl.imsglobal.org/spec/lti-ags/scope/';
	const bearerOk = (req, scope) => {
		const m = /^Bearer (\S+)$/.exec(req.headers.authorization || '');
		const granted = m && p.tokens.get(m[1]);
		return !!granted && granted.includes(scope);
	};
	const deny = (res, code, why) => {
		p.refused.push(why);
		res.writeHead(code, { 'Content-Type': 'application/json' });
		res.end(JSON.stringify({ error: why }));
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
			.setProtectedHeader({ alg: o.alg || 'RS256', kid: o.kid || p.kid, typ: 'JWT' })
			.sign(o.key || p.privateKey);
	};

	/* The claims of a launch of user (a login_hint) with message hint. */
	p.claims = (hint, messageHint, nonce) => {
		const u = users.get(hint);
		const m = p.contexts.get(messageHint) || p.contexts.get('default');
		if (!u || !m)
			return null;
		if (m.message_type === 'LtiDeepLinkingRequest')
			return {
				sub: u.sub, nonce,
				[LTI + 'message_type']: 'LtiDeepLinkingRequest',
				[LTI + 'roles']: u.roles,
				[LTI + 'context']: { id: m.context, title: m.title },
				[LTI + 'lis']: { person_sourcedid: u.sourcedid, course_section_sourcedid: m.section },
				'https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings': {
					deep_link_return_url: `${p.issuer}/dl-return`,
					accept_types: ['ltiResourceLink'],
					accept_presentation_document_targets: ['iframe', 'window'],
					accept_multiple: false, data: 'opaque-dl-data-42' },
				'https://purl.imsglobal.org/spec/lti-ags/claim/endpoint': {
					scope: [AGS + 'lineitem', AGS + 'score'],
					lineitems: `${p.issuer}/ags/${encodeURIComponent(m.context)}/lineitems` },
			};
		return {
			sub: u.sub, nonce,
			[LTI + 'message_type']: m.message_type || 'LtiResourceLinkRequest',
			[LTI + 'roles']: u.roles,
			[LTI + 'target_link_uri']: m.target,
			[LTI + 'resource_link']: { id: m.link || 'link-1', title: 'Retrieval practice' },
			[LTI + 'context']: { id: m.context, label: m.label, title: m.title,
			    type: ['http://purl.imsglobal.org/vocab/lis/v2/course#CourseSection'] },
			[LTI + 'lis']: { person_sourcedid: u.sourcedid, course_section_sourcedid: m.section },
			'https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice': {
				context_memberships_url: `${p.issuer}/nrps/${encodeURIComponent(m.context)}`,
				service_versions: ['2.0'],
			},
			'https://purl.imsglobal.org/spec/lti-ags/claim/endpoint': {
				scope: [AGS + 'lineitem', AGS + 'score', AGS + 'result.readonly'],
				lineitems: `${p.issuer}/ags/${encodeURIComponent(m.context)}/lineitems`,
			},
			given_name: u.given_name,
			...(m.extra || {}),
		};
	};

	p.addUser = (hint, u) => users.set(hint, u);
	/* A new signing key under a new kid; the JWKS serves only it from now on. */
	p.rotateKey = async () => {
		const k = await jose.generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
		p.kid = 'lms-key-2';
		p.privateKey = k.privateKey;
		jwk = { ...(await jose.exportJWK(k.publicKey)), kid: p.kid, alg: 'RS256', use: 'sig' };
	};
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
			if (u.pathname === '/course') {
				/* a course page that shows the tool in a frame, as LMSs do */
				const q = new URLSearchParams(u.searchParams);
				res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
				return res.end(`<!DOCTYPE html><html lang="en"><head><title>Course</title></head><body>` +
				    `<h1>8A Science</h1><iframe id="tool" title="recalld" style="width:100%;height:900px"` +
				    ` src="/start?${esc(q.toString())}"></iframe></body></html>`);
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
			const nrps = /^\/nrps\/([^/]+)$/.exec(u.pathname);
			if (nrps && req.method === 'GET') {
				/* the context's membership (NRPS 2.0 §2), two members a page, Link rel="next" */
				if (!bearerOk(req, 'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly'))
					return deny(res, 401, 'no token with the NRPS scope');
				const context = decodeURIComponent(nrps[1]);
				const all = p.members.get(context) || [];
				const page = Number(u.searchParams.get('page') || '1');
				const size = 2;
				const headers = { 'Content-Type': 'application/vnd.ims.lti-nrps.v2.membershipcontainer+json' };
				if (page * size < all.length)
					headers.Link = `<${p.issuer}/nrps/${nrps[1]}?page=${page + 1}>; rel="next"`;
				p.nrpsPages++;
				res.writeHead(200, headers);
				return res.end(JSON.stringify({ id: `${p.issuer}${u.pathname}`, context: { id: context },
				    members: all.slice((page - 1) * size, page * size) }));
			}
			if (u.pathname === '/.well-known/openid-configuration') {
				/* the platform's configuration (LTI Dynamic Registration 1.0 §3.4) */
				res.writeHead(200, { 'Content-Type': 'application/json' });
				return res.end(JSON.stringify({ issuer: p.issuer,
				    authorization_endpoint: `${p.issuer}/auth`, token_endpoint: `${p.issuer}/token`,
				    jwks_uri: `${p.issuer}/jwks`, registration_endpoint: `${p.issuer}/register`,
				    scopes_supported: ['openid'], response_types_supported: ['id_token'],
				    id_token_signing_alg_values_supported: ['RS256'],
				    'https://purl.imsglobal.org/spec/lti-platform-configuration': {
					product_family_code: 'test-lms', version: '1.0',
					messages_supported: [{ type: 'LtiResourceLinkRequest' }, { type: 'LtiDeepLinkingRequest' }] } }));
			}
			if (u.pathname === '/register' && req.method === 'POST') {
				/* a tool's registration (Dynamic Registration §3.5), checked as a platform must */
				if ((req.headers.authorization || '') !== 'Bearer reg-token-xyz')
					return deny(res, 401, 'registration without the registration token');
				const r = JSON.parse(await readBody(req));
				const tc = r['https://purl.imsglobal.org/spec/lti-tool-configuration'] || {};
				if (r.application_type !== 'web' || !(r.response_types || []).includes('id_token') ||
				    !(r.grant_types || []).includes('implicit') || !(r.grant_types || []).includes('client_credentials') ||
				    typeof r.initiate_login_uri !== 'string' || !(r.redirect_uris || []).length ||
				    typeof r.jwks_uri !== 'string' || r.token_endpoint_auth_method !== 'private_key_jwt' ||
				    typeof tc.domain !== 'string' || typeof tc.target_link_uri !== 'string' || !Array.isArray(tc.claims))
					return deny(res, 400, 'malformed registration');
				p.registrations.push(r);
				res.writeHead(200, { 'Content-Type': 'application/json' });
				return res.end(JSON.stringify({ ...r, client_id: 'dyn-client-1',
				    'https://purl.imsglobal.org/spec/lti-tool-configuration': { ...tc, deployment_id: 'dyn-deployment-1' } }));
			}
			if (u.pathname === '/dl-return' && req.method === 'POST') {
				/* the tool's LtiDeepLinkingResponse (Deep Linking 2.0 §4.2), checked as a platform must */
				const q = new URLSearchParams(await readBody(req));
				try {
					const { payload } = await jose.jwtVerify(q.get('JWT') || '', toolKeys, {
						algorithms: ['RS256'], issuer: clientId, audience: p.issuer,
						requiredClaims: ['exp', 'iat', 'nonce'] });
					if (payload[LTI + 'message_type'] !== 'LtiDeepLinkingResponse' ||
					    payload[LTI + 'version'] !== '1.3.0' || payload[LTI + 'deployment_id'] !== deploymentId)
						throw new Error('not a deep-linking response of this deployment');
					p.deepLinks.push(payload);
				} catch (e) {
					p.refused.push('deep link: ' + (e.code || e.message));
					res.writeHead(400, { 'Content-Type': 'text/html' });
					return res.end('<!DOCTYPE html><title>Refused</title><h1>Refused</h1>');
				}
				res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
				return res.end('<!DOCTYPE html><html lang="en"><title>Added</title><h1>Added to the course</h1></html>');
			}
			if (u.pathname === '/token' && req.method === 'POST') {
				/* client credentials, the client authenticated by a signed JWT (RFC 7523 §2.2) */
				const q = new URLSearchParams(await readBody(req));
				if (q.get('grant_type') !== 'client_credentials' ||
				    q.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
					return deny(res, 400, 'unsupported grant or assertion type');
				let claims;
				try {
					({ payload: claims } = await jose.jwtVerify(q.get('client_assertion') || '', toolKeys, {
						algorithms: ['RS256'], issuer: clientId, subject: clientId,
						audience: `${p.issuer}/token`, requiredClaims: ['exp', 'iat', 'jti'] }));
				} catch (e) {
					return deny(res, 401, 'client assertion refused: ' + e.code);
				}
				if (p.jtis.has(claims.jti))
					return deny(res, 401, 'client assertion replayed');
				p.jtis.add(claims.jti);
				const scopes = (q.get('scope') || '').split(' ').filter((x) => x.startsWith(AGS) ||
				    x.includes('lti-nrps'));
				const tok = crypto.randomBytes(24).toString('hex');
				p.tokens.set(tok, scopes);
				res.writeHead(200, { 'Content-Type': 'application/json' });
				return res.end(JSON.stringify({ access_token: tok, token_type: 'Bearer', expires_in: 3600,
				    scope: scopes.join(' ') }));
			}
			const ags = /^\/ags\/([^/]+)\/lineitems(?:\/([0-9]+)(\/scores)?)?$/.exec(u.pathname);
			if (ags) {
				const context = decodeURIComponent(ags[1]);
				if (ags[3] && req.method === 'POST') {
					/* a score (AGS §3.4) */
					if (p.agsDown) {
						p.agsDownHits++;
						res.writeHead(503);
						return res.end();
					}
					if (!bearerOk(req, AGS + 'score'))
						return deny(res, 401, 'no token with the score scope');
					if ((req.headers['content-type'] || '') !== 'application/vnd.ims.lis.v1.score+json')
						return deny(res, 415, 'score content type');
					const item = p.lineitems.find((l) => l.context === context && l.n === Number(ags[2]));
					const score = JSON.parse(await readBody(req));
					if (!item || typeof score.userId !== 'string' || typeof score.timestamp !== 'string' ||
					    !['Initialized', 'Started', 'InProgress', 'Submitted', 'Completed'].includes(score.activityProgress) ||
					    !['FullyGraded', 'Pending', 'PendingManual', 'Failed', 'NotReady'].includes(score.gradingProgress) ||
					    (score.scoreGiven !== undefined && (typeof score.scoreMaximum !== 'number' || score.scoreGiven < 0)))
						return deny(res, 400, 'malformed score');
					p.scores.push({ lineitem: item, score });
					res.writeHead(204);
					return res.end();
				}
				if (!ags[2] && req.method === 'GET') {
					if (!bearerOk(req, AGS + 'lineitem'))
						return deny(res, 401, 'no token with the lineitem scope');
					const rid = u.searchParams.get('resource_id'), tag = u.searchParams.get('tag');
					const items = p.lineitems.filter((l) => l.context === context &&
					    (rid === null || l.resourceId === rid) && (tag === null || l.tag === tag))
					    .map(({ n, context: c, ...rest }) => rest);
					res.writeHead(200, { 'Content-Type': 'application/vnd.ims.lis.v2.lineitemcontainer+json' });
					return res.end(JSON.stringify(items));
				}
				if (!ags[2] && req.method === 'POST') {
					if (!bearerOk(req, AGS + 'lineitem'))
						return deny(res, 401, 'no token with the lineitem scope');
					const li = JSON.parse(await readBody(req));
					if (typeof li.label !== 'string' || !(li.scoreMaximum > 0))
						return deny(res, 400, 'malformed line item');
					const n = p.lineitems.length + 1;
					const item = { n, context, id: `${p.issuer}/ags/${encodeURIComponent(context)}/lineitems/${n}`,
					    scoreMaximum: li.scoreMaximum, label: li.label, resourceId: li.resourceId, tag: li.tag };
					p.lineitems.push(item);
					const { n: _n, context: _c, ...shown } = item;
					res.writeHead(201, { 'Content-Type': 'application/vnd.ims.lis.v2.lineitem+json' });
					return res.end(JSON.stringify(shown));
				}
			}
			res.writeHead(404);
			res.end();
		} catch (e) {
			res.writeHead(500);
			res.end(String(e && e.stack || e));
		}
	});
	await new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(opts.port || 0, '127.0.0.1', resolve);
	});
	p.port = server.address().port;
	p.issuer = `http://127.0.0.1:${p.port}`;
	p.close = () => new Promise((resolve) => server.close(resolve));
	p.randomKey = async () => (await jose.generateKeyPair('RS256', { modulusLength: 2048 })).privateKey;
	p.hmacKeyFromPublic = () => Buffer.from(JSON.stringify(jwk));
	p.nonce = () => crypto.randomBytes(16).toString('hex');
	return p;
}

module.exports = { startPlatform, LTI, ROLE };
