// sqlcheck.cjs: is recalld's SQL ready for Citus (issue: scale-out)?
//
//   node sqlcheck.cjs --src DIR --build DIR --db CONNINFO --distribute FILE [--extra FILE.c]...
//
// 1. Every table of the migrated database is named once in distribute.sql:
//    distributed by school_id, a reference table, or the coordinator's own.
// 2. A distributed table has school_id leading its primary key, in each of
//    its unique constraints, and leading each foreign key to another
//    distributed table; a reference table refers to no distributed table.
// 3. Every SQL statement the daemon's C code holds (string literals after
//    the C preprocessor, adjacent ones joined) that touches a distributed
//    table pins one school with a school_id = $N filter (or inserts a row
//    whose school_id is a parameter), so that Citus routes it to one shard;
//    a row lock (FOR UPDATE/SHARE) on an unpinned one is reported as a
//    cross-shard lock. The known exceptions below say why each remains.
//
// Prints one line per statement checked or refused; exits 1 on any refusal.
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

// Statements that still span schools, each with its reason: the work left
// before recalld runs single-shard on Citus. An
// exception that matches no statement any more is itself an error.
const EXCEPTIONS = [
];

function args() {
	const a = { extra: [] };
	const v = process.argv.slice(2);
	for (let i = 0; i < v.length; i += 2) {
		const k = v[i].replace(/^--/, '');
		if (k === 'extra') a.extra.push(v[i + 1]);
		else a[k] = v[i + 1];
	}
	for (const k of ['src', 'build', 'db', 'distribute'])
		if (!a[k]) { console.error(`sqlcheck: --${k} is required`); process.exit(2); }
	return a;
}

function psql(db, sql) {
	const out = execFileSync('psql', ['-qAtX', '-F', '\t', '-d', db, '-c', sql], { encoding: 'utf8' });
	return out.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}

function catalog(db) {
	const tables = new Map();
	for (const [name, hasSchool] of psql(db, `
	    SELECT c.relname, EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
	      AND a.attname = 'school_id' AND NOT a.attisdropped)
	    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition`))
		tables.set(name, { hasSchool: hasSchool === 't', cons: [] });
	for (const [table, type, cols, ref] of psql(db, `
	    SELECT c.conrelid::regclass::text, c.contype,
	      (SELECT string_agg(a.attname, ',' ORDER BY k.i) FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
	        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n),
	      coalesce(c.confrelid::regclass::text, '')
	    FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
	    WHERE n.nspname = 'public' AND c.contype IN ('p', 'u', 'f')`))
		if (tables.has(table))
			tables.get(table).cons.push({ type, cols: cols.split(','), ref });
	return tables;
}

function distribution(file) {
	const text = fs.readFileSync(file, 'utf8');
	const kind = new Map();
	const seen = [];
	for (const m of text.matchAll(/create_distributed_table\('([a-z_0-9]+)',\s*'([a-z_]+)'/g)) {
		seen.push(m[1]);
		kind.set(m[1], m[2] === 'school_id' ? 'distributed' : 'wrong column ' + m[2]);
	}
	for (const m of text.matchAll(/create_reference_table\('([a-z_0-9]+)'\)/g)) {
		seen.push(m[1]);
		kind.set(m[1], 'reference');
	}
	for (const m of text.matchAll(/^-- coordinator: ([a-z_0-9]+)$/gm)) {
		seen.push(m[1]);
		kind.set(m[1], 'coordinator');
	}
	return { kind, seen };
}

// The C preprocessor's output, its string literals joined where adjacent.
function literals(file, cflags) {
	const text = execFileSync('cc', ['-E', '-P', '-DSYSCONFDIR=""', ...cflags, file],
	    { encoding: 'utf8', maxBuffer: 64 << 20 });
	const out = [];
	let cur = null, i = 0, lastEnd = -1;
	while (i < text.length) {
		const ch = text[i];
		if (ch === "'") {	// a character literal, '"' included
			i++;
			while (i < text.length && text[i] !== "'") i += text[i] === '\\' ? 2 : 1;
			i++;
			continue;
		}
		if (ch !== '"') { i++; continue; }
		let j = i + 1, s = '';
		while (j < text.length && text[j] !== '"') {
			if (text[j] === '\\') {
				const e = text[j + 1];
				s += e === 'n' || e === 't' ? ' ' : e;
				j += 2;
			} else s += text[j++];
		}
		if (cur !== null && /^\s*$/.test(text.slice(lastEnd, i))) cur += s;
		else {
			if (cur !== null) out.push(cur);
			cur = s;
		}
		lastEnd = j + 1;
		i = j + 1;
	}
	if (cur !== null) out.push(cur);
	return out;
}

function sources(src) {
	const files = [];
	const walk = (d) => {
		for (const e of fs.readdirSync(d, { withFileTypes: true })) {
			const p = path.join(d, e.name);
			if (e.isDirectory()) walk(p);
			else if (e.name.endsWith('.c')) files.push(p);
		}
	};
	walk(path.join(src, 'daemon'));
	walk(path.join(src, 'api'));
	return files.sort();
}

function includeDirs(src, build) {
	const dirs = [build];
	const walk = (d) => {
		dirs.push(d);
		for (const e of fs.readdirSync(d, { withFileTypes: true }))
			if (e.isDirectory()) walk(path.join(d, e.name));
	};
	for (const top of ['sched', 'daemon', 'api']) walk(path.join(src, top));
	return dirs.map((d) => '-I' + d);
}

const PINNED = [
	/\bschool_id\s*=\s*\(?\$\d+/,
	/\bINSERT INTO [a-z_]+(?: AS [a-z_]+)?\s*\(\s*school_id\b[^)]*\)\s*SELECT\s+\$\d+/,
	/\$\d+(::bigint)?\s*=\s*[a-z_]+\.school_id\b/,
	/\bINSERT INTO [a-z_]+(?: AS [a-z_]+)?\s*\(\s*school_id\b[^)]*\)\s*VALUES\s*\(\s*\$\d+/,
];
const LOCK = /\bFOR\s+(NO\s+KEY\s+UPDATE|UPDATE|SHARE|KEY\s+SHARE)\b/;

function main() {
	const a = args();
	const fail = [];
	const tables = catalog(a.db);
	const dist = distribution(a.distribute);

	// 1 and 2: the schema against distribute.sql
	for (const name of new Set(dist.seen))
		if (dist.seen.filter((n) => n === name).length > 1)
			fail.push(`distribute.sql names ${name} more than once`);
	for (const [name, t] of tables) {
		const k = dist.kind.get(name);
		if (k === undefined) {
			fail.push(`table ${name} is not in distribute.sql (distribute it by school_id,`
			    + ' or make it a reference table)');
			continue;
		}
		if (k.startsWith('wrong')) fail.push(`table ${name}: distributed by a ${k}`);
		if (k === 'distributed') {
			if (!t.hasSchool) fail.push(`table ${name} is distributed but has no school_id`);
			for (const c of t.cons) {
				const refKind = dist.kind.get(c.ref);
				if (c.type === 'p' && c.cols[0] !== 'school_id')
					fail.push(`table ${name}: primary key (${c.cols}) not led by school_id`);
				if (c.type === 'u' && !c.cols.includes('school_id'))
					fail.push(`table ${name}: unique (${c.cols}) without school_id`);
				if (c.type === 'f' && refKind === 'distributed' && c.cols[0] !== 'school_id')
					fail.push(`table ${name}: foreign key (${c.cols}) to ${c.ref} not led by school_id`);
			}
		}
		if (k === 'reference' || k === 'coordinator')
			for (const c of t.cons)
				if (c.type === 'f' && dist.kind.get(c.ref) === 'distributed')
					fail.push(`${k} table ${name} refers to distributed ${c.ref}`);
	}
	for (const name of dist.kind.keys())
		if (!tables.has(name)) fail.push(`distribute.sql names ${name}, which no migration makes`);

	// 3: the statements
	const distributed = new Set([...dist.kind].filter(([, k]) => k === 'distributed').map(([n]) => n));
	const cflags = [...(process.env.SQLCHECK_CFLAGS || '').split(/\s+/).filter(Boolean),
	    ...includeDirs(a.src, a.build)];
	const used = new Set();
	let checked = 0;
	for (const file of [...sources(a.src), ...a.extra]) {
		const rel = path.relative(a.src, file);
		for (const s of literals(file, cflags)) {
			if (!/^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b/.test(s)) continue;
			const touched = new Set();
			for (const m of s.matchAll(/\b(?:FROM|JOIN|UPDATE|INTO|USING)\s+(?:ONLY\s+)?([a-z_][a-z0-9_]*)/g))
				if (distributed.has(m[1])) touched.add(m[1]);
			if (touched.size === 0) continue;
			checked++;
			if (PINNED.some((re) => re.test(s))) continue;
			const ex = EXCEPTIONS.findIndex((e) => e.file === rel && s.includes(e.has));
			if (ex >= 0) {
				used.add(ex);
				console.log(`# still cross-shard: ${rel}: ${EXCEPTIONS[ex].why}`);
				continue;
			}
			fail.push(`${rel}: ${LOCK.test(s) ? 'a cross-shard row lock' : 'no school_id filter'}`
			    + ` on ${[...touched].join(', ')}: ${s.slice(0, 160)}`);
		}
	}
	EXCEPTIONS.forEach((e, i) => {
		if (!used.has(i)) fail.push(`exception "${e.has}" in ${e.file} matches no statement: remove it`);
	});
	console.log(`# ${tables.size} tables, ${distributed.size} distributed;`
	    + ` ${checked} statements on distributed tables checked`);
	for (const f of fail) console.log('REFUSED: ' + f);
	process.exit(fail.length > 0 ? 1 : 0);
}

main();
