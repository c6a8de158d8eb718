// draft.cjs: a developer's tool, not a test. Drafts OpenAPI entries for
// /v1 routes from the router table (`recalld serve --routes`) and from
// exchanges the black-box suites recorded (RECALLD_API_RECORD=FILE make
// check): response and request schemas inferred from what was seen, strict
// (additionalProperties: false), path and query parameters, roles. Routes
// already in api/openapi.yaml are kept as they are; only missing ones are
// added, for a person to read, name and describe before committing.
//
// With WEBHOOKS (RECALLD_WEBHOOK_RECORD's lines, from tests/rcvtest.c),
// it drafts the `webhooks` entry of every event type not yet described.
//
//   node tests/openapi/draft.cjs api/openapi.yaml ROUTES RECORDS [WEBHOOKS] > new.yaml
'use strict';
const fs = require('fs');
const YAML = require('yaml');
const { matchRoute, parseRoutes, readRecords } = require('./routes.cjs');
const { infer, merge } = require('./schema.cjs');

function paramSchema(name) {
  if (name === 'limit') return { type: 'integer', minimum: 1 };
  if (name === 'id' || (name.endsWith('_id') && name !== 'external_id'))
    return { type: 'integer', minimum: 1 };
  if (name === 'date') return { type: 'string', format: 'date' };
  return { type: 'string' };
}

const [specFile, routesFile, recordsFile, webhooksFile] = process.argv.slice(2);
// The document as it is, comments kept; new entries are set into it.
const ydoc = YAML.parseDocument(fs.readFileSync(specFile, 'utf8'));
const doc = ydoc.toJS();
if (!ydoc.get('paths')) ydoc.set('paths', ydoc.createNode({}));
ydoc.get('paths').flow = false;	/* "paths: {}" would print every entry in flow style */
const routes = parseRoutes(fs.readFileSync(routesFile, 'utf8')).filter((r) => r.pattern.startsWith('/v1'));
const records = readRecords(recordsFile);
doc.paths = doc.paths || {};
for (const r of routes) {
  const m = r.method.toLowerCase();
  const path = r.pattern;
  if (doc.paths[path] && doc.paths[path][m]) continue;
  const seen = records.filter((x) => x.method === r.method && matchRoute(routes, x) === r);
  const op = { operationId: (m + path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+/g, '_')),
    summary: 'TODO', 'x-roles': r.roles === 'public' ? [] : r.roles.split(',') };
  if (r.roles === 'public') op.security = [];
  const params = [];
  for (const p of path.matchAll(/\{([^}]+)\}/g))
    params.push({ name: p[1], in: 'path', required: true, schema: paramSchema(p[1]) });
  const query = new Set();
  for (const x of seen) {
    const q = x.path.split('?')[1];
    if (q) for (const kv of q.split('&')) query.add(decodeURIComponent(kv.split('=')[0]));
  }
  for (const q of [...query].sort())
    params.push({ name: q, in: 'query', required: false, schema: paramSchema(q) });
  if (params.length) op.parameters = params;
  let body = null;
  for (const x of seen)
    if (x.status < 300 && x.request && typeof x.request === 'object')
      body = body ? merge(body, infer(x.request)) : infer(x.request);
  if (body) op.requestBody = { required: true, content: { 'application/json': { schema: body } } };
  op.responses = {};
  const byStatus = {};
  for (const x of seen) (byStatus[x.status] = byStatus[x.status] || []).push(x);
  for (const st of Object.keys(byStatus).sort()) {
    const xs = byStatus[st];
    if (Number(st) >= 400) {
      op.responses[st] = { $ref: `#/components/responses/Problem` };
      continue;
    }
    let s = null;
    for (const x of xs) if (x.response !== null) s = s ? merge(s, infer(x.response)) : infer(x.response);
    const ct = (xs[0].content_type || 'application/json').split(';')[0];
    op.responses[st] = s ? { description: 'TODO', content: { [ct]: { schema: s } } }
      : { description: 'TODO' };
  }
  if (!Object.keys(op.responses).length) op.responses['200'] = { description: 'TODO (never seen in the tests)' };
  doc.paths[path] = doc.paths[path] || {};
  doc.paths[path][m] = op;
  ydoc.setIn(['paths', path, m], ydoc.createNode(op));
}
if (webhooksFile) {
  const events = {};
  for (const l of fs.readFileSync(webhooksFile, 'utf8').split('\n').filter(Boolean)) {
    const rec = JSON.parse(l);
    let b;
    try { b = JSON.parse(rec.body); } catch (e) { continue; }
    /* the generic JSON format only: Slack and Teams bodies are the chat's */
    if (!b || typeof b !== 'object' || typeof b.type !== 'string' || !('data' in b)) continue;
    events[b.type] = events[b.type] ? merge(events[b.type], infer(b)) : infer(b);
  }
  if (!ydoc.get('webhooks')) ydoc.set('webhooks', ydoc.createNode({}));
  for (const [type, schema] of Object.entries(events).sort()) {
    if (doc.webhooks && doc.webhooks[type]) continue;
    schema.properties.type = { const: type };
    ydoc.setIn(['webhooks', type], ydoc.createNode({ post: {
      operationId: 'event_' + type.replace(/[^A-Za-z0-9]+/g, '_'),
      summary: 'TODO', security: [],
      parameters: [{ $ref: '#/components/parameters/WebhookId' },
        { $ref: '#/components/parameters/WebhookTimestamp' },
        { $ref: '#/components/parameters/WebhookSignature' }],
      requestBody: { required: true, content: { 'application/json': { schema } } },
      responses: { '200': { description: 'Received: any 2xx' },
        '410': { description: 'Gone: the endpoint is disabled at once' } } } }));
  }
}
process.stdout.write(ydoc.toString({ lineWidth: 100 }));
