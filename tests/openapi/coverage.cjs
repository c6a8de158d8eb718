// coverage.cjs: the router table and api/openapi.yaml agree: every /v1
// route is documented with its roles (x-roles), and every documented
// operation is a route.
//
//   node tests/openapi/coverage.cjs api/openapi.yaml ROUTES
'use strict';
const fs = require('fs');
const YAML = require('yaml');
const { parseRoutes } = require('./routes.cjs');

const [specFile, routesFile] = process.argv.slice(2);
const doc = YAML.parse(fs.readFileSync(specFile, 'utf8'));
const routes = parseRoutes(fs.readFileSync(routesFile, 'utf8')).filter((r) => r.pattern.startsWith('/v1'));
const methods = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
let bad = 0;
const fail = (m) => { console.log(`not ok - ${m}`); bad++; };
for (const r of routes) {
  const op = doc.paths[r.pattern] && doc.paths[r.pattern][r.method.toLowerCase()];
  if (!op) { fail(`${r.method} ${r.pattern}: a route of the daemon that api/openapi.yaml does not describe`); continue; }
  const want = r.roles === 'public' || r.roles === '-' ? [] : r.roles.split(',');
  const got = op['x-roles'] || [];
  if (want.slice().sort().join() !== got.slice().sort().join())
    fail(`${r.method} ${r.pattern}: x-roles [${got}] but the daemon takes [${want}]`);
  if (!want.length && !(Array.isArray(op.security) && op.security.length === 0))
    fail(`${r.method} ${r.pattern}: takes no token, so its security must be []`);
}
for (const [path, item] of Object.entries(doc.paths))
  for (const m of methods)
    if (item[m] && !routes.some((r) => r.pattern === path && r.method.toLowerCase() === m))
      fail(`${m.toUpperCase()} ${path}: documented but not a route of the daemon`);
console.log(`${routes.length} /v1 routes, ${bad} mismatches`);
process.exit(bad ? 1 : 0);
