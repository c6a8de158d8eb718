// routes.cjs: what draft.cjs and validate.cjs share: the router table
// (`recalld serve --routes`), the recorded exchanges, and which route
// template a recorded path is.
'use strict';
const fs = require('fs');

// "METHOD PATTERN ROLES" lines.
function parseRoutes(text) {
  return text.split('\n').filter(Boolean).map((l) => {
    const [method, pattern, roles] = l.split(' ');
    return { method, pattern, roles, segs: pattern.split('/') };
  });
}

// RECALLD_API_RECORD's JSON lines.
function readRecords(file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

// The route a recorded request went to: same method, same number of
// segments, literal segments equal; the most literal match wins, as in
// the daemon's router. null when none.
function matchRoute(routes, rec) {
  const segs = rec.path.split('?')[0].split('/');
  let best = null, bestLit = -1;
  for (const r of routes) {
    if (r.method !== rec.method || r.segs.length !== segs.length) continue;
    let lit = 0, ok = true;
    for (let i = 0; i < segs.length && ok; i++) {
      if (/^\{.+\}$/.test(r.segs[i])) ok = segs[i] !== '';
      else if (r.segs[i] === segs[i]) lit++;
      else ok = false;
    }
    if (ok && lit > bestLit) { best = r; bestLit = lit; }
  }
  return best;
}

module.exports = { parseRoutes, readRecords, matchRoute };
