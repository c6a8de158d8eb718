// schema.cjs: JSON Schemas inferred from examples (draft.cjs): the
// narrowest schema every example fits, strict about unknown members.
'use strict';

function infer(v) {
  if (v === null) return { type: 'null' };
  if (Array.isArray(v)) {
    let items = null;
    for (const x of v) items = items ? merge(items, infer(x)) : infer(x);
    return { type: 'array', items: items || {} };
  }
  switch (typeof v) {
    case 'boolean': return { type: 'boolean' };
    case 'number': return { type: Number.isInteger(v) ? 'integer' : 'number' };
    case 'string': return { type: 'string' };
    default: {
      const properties = {};
      for (const k of Object.keys(v)) properties[k] = infer(v[k]);
      return { type: 'object', properties, required: Object.keys(v),
        additionalProperties: false };
    }
  }
}

function types(s) { return Array.isArray(s.type) ? s.type : s.type ? [s.type] : []; }

function merge(a, b) {
  if (!a.type) return b;
  if (!b.type) return a;
  const ta = new Set(types(a)), tb = types(b);
  for (const t of tb) ta.add(t);
  if (ta.has('integer') && ta.has('number')) ta.delete('integer');
  const out = {};
  const t = [...ta];
  out.type = t.length === 1 ? t[0] : t;
  if (ta.has('object')) {
    const pa = a.properties || {}, pb = b.properties || {};
    out.properties = {};
    for (const k of new Set([...Object.keys(pa), ...Object.keys(pb)]))
      out.properties[k] = pa[k] && pb[k] ? merge(pa[k], pb[k]) : (pa[k] || pb[k]);
    const ra = types(a).includes('object') ? a.required || [] : null;
    const rb = types(b).includes('object') ? b.required || [] : null;
    out.required = ra && rb ? ra.filter((k) => rb.includes(k)) : (ra || rb);
    out.additionalProperties = false;
  }
  if (ta.has('array')) {
    const ia = a.items, ib = b.items;
    out.items = ia && ib ? merge(ia, ib) : (ia || ib || {});
  }
  return out;
}

module.exports = { infer, merge };
