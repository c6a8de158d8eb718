// validate.cjs: holds recorded exchanges (RECALLD_API_RECORD, written by
// tests/apitest.c) to api/openapi.yaml. Every /v1 request must go to a
// documented operation, its status must be documented, a JSON answer must
// match that status's schema (Draft 2020-12, as OpenAPI 3.1), and a request
// body that was accepted must match the operation's requestBody. Prints
// each mismatch once and exits 1 if there was any.
//
// With WEBHOOKS (RECALLD_WEBHOOK_RECORD's lines, tests/rcvtest.c), every
// delivery in the generic JSON format must match its event's `webhooks`
// entry, and every event type must have one.
//
//   node tests/openapi/validate.cjs api/openapi.yaml ROUTES RECORDS [WEBHOOKS]
'use strict';
const fs = require('fs');
const YAML = require('yaml');
const Ajv2020 = require('ajv/dist/2020').default;
const addFormats = require('ajv-formats').default;
const { matchRoute, parseRoutes, readRecords } = require('./routes.cjs');

const [specFile, routesFile, recordsFile, webhooksFile] = process.argv.slice(2);
const doc = YAML.parse(fs.readFileSync(specFile, 'utf8'));
const routes = parseRoutes(fs.readFileSync(routesFile, 'utf8'));
const records = fs.existsSync(recordsFile) ? readRecords(recordsFile) : [];
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
ajv.addSchema({ $id: 'doc', components: doc.components });

// Local references point into the document registered as "doc".
function rebase(s) {
  if (Array.isArray(s)) return s.map(rebase);
  if (s && typeof s === 'object') {
    const o = {};
    for (const [k, v] of Object.entries(s))
      o[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? 'doc' + v : rebase(v);
    return o;
  }
  return s;
}
function deref(x) {
  while (x && x.$ref) x = x.$ref.split('/').slice(1).reduce((o, k) => o[k], doc);
  return x;
}
const compiled = new Map();
function check(schema, value) {
  const key = JSON.stringify(schema);
  if (!compiled.has(key)) compiled.set(key, ajv.compile(rebase(schema)));
  const v = compiled.get(key);
  return v(value) ? null : ajv.errorsText(v.errors, { separator: '; ' });
}

const problems = new Set();
let checked = 0;
for (const rec of records) {
  const path = rec.path.split('?')[0];
  if (!path.startsWith('/v1/') && path !== '/v1') continue;
  const route = matchRoute(routes, rec);
  if (!route) continue;	/* no such route: the router's 404/405, not an operation */
  const where = `${rec.method} ${route.pattern}`;
  const op = doc.paths && doc.paths[route.pattern] && doc.paths[route.pattern][rec.method.toLowerCase()];
  if (!op) { problems.add(`${where}: not in the document`); continue; }
  const resp = deref(op.responses && op.responses[String(rec.status)]);
  if (!resp) { problems.add(`${where}: status ${rec.status} is not documented`); continue; }
  checked++;
  const ctype = (rec.content_type || '').split(';')[0].trim();
  if (resp.content) {
    const media = resp.content[ctype];
    if (!media) {
      problems.add(`${where} ${rec.status}: content type "${ctype}" is not documented`);
    } else if (media.schema && /json/.test(ctype)) {
      const err = check(media.schema, rec.response);
      if (err) problems.add(`${where} ${rec.status}: ${err}: ${JSON.stringify(rec.response).slice(0, 300)}`);
    }
  } else if (rec.response !== null && ctype !== '') {
    problems.add(`${where} ${rec.status}: a ${ctype} body that the document does not describe`);
  }
  const body = op.requestBody && deref(op.requestBody).content &&
    deref(op.requestBody).content['application/json'];
  if (rec.status < 300 && rec.request !== null && body && body.schema) {
    const err = check(body.schema, rec.request);
    if (err) problems.add(`${where} request: ${err}: ${JSON.stringify(rec.request).slice(0, 300)}`);
  }
}
let events = 0;
if (webhooksFile && fs.existsSync(webhooksFile)) {
  for (const l of fs.readFileSync(webhooksFile, 'utf8').split('\n').filter(Boolean)) {
    let b;
    try { b = JSON.parse(JSON.parse(l).body); } catch (e) { continue; }
    if (!b || typeof b !== 'object' || typeof b.type !== 'string' || !('data' in b)) continue;
    const hook = doc.webhooks && doc.webhooks[b.type] && doc.webhooks[b.type].post;
    if (!hook) { problems.add(`webhook ${b.type}: not in the document's webhooks`); continue; }
    events++;
    const err = check(deref(hook.requestBody).content['application/json'].schema, b);
    if (err) problems.add(`webhook ${b.type}: ${err}: ${JSON.stringify(b).slice(0, 300)}`);
  }
}
for (const p of problems) console.log(`not ok - ${p}`);
console.log(`${checked} answers and ${events} webhook deliveries checked against ${specFile}, ${problems.size} mismatches`);
process.exit(problems.size ? 1 : 0);
