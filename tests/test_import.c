/* test_import.c: roster and question imports on a real PostgreSQL: all or nothing. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <zip.h>

#include "cktest.h"
#include "csvtab.h"
#include "log.h"
#include "pgtest.h"
#include "plan.h"
#include "qbank.h"
#include "roster.h"
#include "util.h"

#define NOW1 "2025-10-01T08:00:00Z"
#define NOW2 "2025-10-02T08:00:00Z"
#define NOW3 "2025-10-03T08:00:00Z"

static const char *const school_tables[] = {
	"course", "class", "pupil", "teacher", "class_pupil", "class_teacher",
	"unit", "question", "question_version", "memory_state", "guardian", "guardian_pupil",
};

static char *
src(const char *rel)
{
	return xstrdup(pgtest_srcpath(rel));
}

/* A fresh database, migrated, with schools 1 and 2. */
static PGconn *
fresh_db(const char *name)
{
	PGconn *pg = pgtest_migrated_db(name, NULL);

	pgtest_exec(pg, "INSERT INTO school (school_id, name, created_at) VALUES "
	    "(1, 'Hillside', '2025-09-01Z'), (2, 'Riverside', '2025-09-01Z')");
	return pg;
}

static void
assert_value(PGconn *pg, const char *sql, const char *want)
{
	char *got = pgtest_text(pg, "%s", sql);

	ck_assert_msg(strcmp(got, want) == 0, "%s: got '%s', want '%s'", sql, got, want);
	free(got);
}

/* Every row of a school's tables, as one digest: any change shows. */
static char *
school_sum(PGconn *pg, int school)
{
	char *all = xstrdup(""), *q, *v, *next;

	for (size_t i = 0; i < nitems(school_tables); i++) {
		q = xasprintf("SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY "
		    "t::text), '')) FROM %s t WHERE school_id = %d", school_tables[i],
		    school);
		v = pgtest_text(pg, "%s", q);
		next = xasprintf("%s%s=%s ", all, school_tables[i], v);
		free(all);
		free(q);
		free(v);
		all = next;
	}
	return all;
}

static bool
report_has(const plan *p, const char *file, unsigned long line, const char *needle)
{
	json_t *o = plan_report_json(p), *rej = json_object_get(o, "rejected"), *e;
	size_t i;
	bool found = false;

	json_array_foreach(rej, i, e) {
		const char *f = json_string_value(json_object_get(e, "file"));
		const char *r = json_string_value(json_object_get(e, "reason"));

		if (f != NULL && strcmp(f, file) == 0 &&
		    (unsigned long)json_integer_value(json_object_get(e, "line")) == line &&
		    strstr(r, needle) != NULL)
			found = true;
	}
	if (!found) {
		char *s = json_dumps(o, JSON_INDENT(1));
		fprintf(stderr, "report lacks %s:%lu %s:\n%s\n", file, line, needle, s);
		free(s);
	}
	json_decref(o);
	return found;
}

static plan *
roster_dir(const char *rel, int school, const char *now)
{
	char *dir = src(rel), err[512];
	plan *p = NULL;

	ck_assert_msg(roster_parse_dir(dir, school, now, &p, err, sizeof err), "%s", err);
	free(dir);
	return p;
}

/* A set outside the source tree (a test's own temporary directory). */
static plan *
roster_abs(const char *dir, int school, const char *now)
{
	char err[512];
	plan *p = NULL;

	ck_assert_msg(roster_parse_dir(dir, school, now, &p, err, sizeof err), "%s", err);
	return p;
}

static void
import_ok(PGconn *pg, plan *p)
{
	char err[1024];

	if (plan_nrejected(p) > 0)
		plan_report_print(p, stderr);
	ck_assert_int_eq(plan_nrejected(p), 0);
	ck_assert_msg(plan_exec(pg, p, err, sizeof err), "%s", err);
	ck_assert(plan_applied(p));
	plan_free(p);
}

static void
import_roster(PGconn *pg, const char *rel, int school, const char *now)
{
	import_ok(pg, roster_dir(rel, school, now));
}

static plan *
questions(const char *rel, int school, const char *now)
{
	char *path = src(rel), err[512], *buf = NULL;
	size_t len = 0, cap = 0, got;
	FILE *fp = fopen(path, "rb");
	plan *p = NULL;

	ck_assert_msg(fp != NULL, "%s", path);
	do {
		if (cap - len < 4096)
			buf = xrealloc(buf, cap = cap * 2 + 8192);
		got = fread(buf + len, 1, cap - len, fp);
		len += got;
	} while (got > 0);
	fclose(fp);
	ck_assert(qbank_parse(buf, len, strrchr(path, '/') + 1, school, now, &p, err,
	    sizeof err));
	free(buf);
	free(path);
	return p;
}

/* The CSV reader alone: what real exports look like. */
START_TEST(test_csvtab)
{
	static const char good[] = "\xef\xbb\xbfid, Name ,note\r\n"
	    "1,\"Smith, Jo\",\"two\r\nlines\"\r\n"
	    "\r\n"
	    "2,\"say \"\"hi\"\"\",\r\n"
	    ",,\r\n"
	    "3,Zoë,last";
	static const char bad[] = "a,b\n1,2\n3,\"x\ny\"z\n4,5\n";
	static const char latin1[] = "a,b\n1,caf\xe9\n";
	csvtab *t = csvtab_parse(good, sizeof good - 1);
	unsigned long line;

	ck_assert_msg(csvtab_error(t, &line) == NULL, "%s", csvtab_error(t, NULL));
	ck_assert_int_eq(csvtab_ncols(t), 3);
	ck_assert_int_eq(csvtab_col(t, "name"), 1);
	ck_assert_int_eq(csvtab_col(t, "ID"), 0);
	ck_assert_int_eq(csvtab_nrows(t), 3);
	ck_assert_str_eq(csvtab_get(t, 0, 1), "Smith, Jo");
	ck_assert_str_eq(csvtab_get(t, 0, 2), "two\r\nlines");
	ck_assert_str_eq(csvtab_get(t, 1, 1), "say \"hi\"");
	ck_assert_int_eq((int)csvtab_line(t, 1), 5);
	ck_assert_int_eq((int)csvtab_line(t, 2), 7);
	ck_assert_str_eq(csvtab_get(t, 2, 2), "last");
	ck_assert_int_eq((int)csvtab_utf8_len(csvtab_get(t, 2, 1)), 3);
	ck_assert_str_eq(csvtab_get(t, 2, 7), "");
	csvtab_free(t);

	t = csvtab_parse(bad, sizeof bad - 1);
	ck_assert(csvtab_error(t, &line) != NULL);
	ck_assert_int_eq((int)line, 3);
	ck_assert_int_eq(csvtab_nrows(t), 1);
	csvtab_free(t);
	t = csvtab_parse(latin1, sizeof latin1 - 1);
	ck_assert(strstr(csvtab_error(t, &line), "UTF-8") != NULL);
	ck_assert_int_eq((int)line, 2);
	csvtab_free(t);
	t = csvtab_parse("", 0);
	ck_assert(strstr(csvtab_error(t, &line), "empty") != NULL);
	csvtab_free(t);
}
END_TEST

START_TEST(test_roster_good)
{
	PGconn *pg = fresh_db("imp_good");
	plan *p = roster_dir("tests/roster/good", 1, NOW1);
	char *before, *after;

	ck_assert_int_eq(plan_nrejected(p), 0);
	ck_assert_int_eq(plan_accepted(p, "users.csv"), 12);	/* 9 pupils, 2 teachers, 1 guardian */
	ck_assert_int_eq(plan_accepted(p, "enrollments.csv"), 17);
	ck_assert_int_eq(plan_accepted(p, "classes.csv"), 3);
	ck_assert_int_eq(plan_accepted(p, "courses.csv"), 2);
	import_ok(pg, p);
	assert_value(pg, "SELECT count(*) FROM pupil WHERE school_id = 1 AND active", "9");
	assert_value(pg, "SELECT count(*) FROM teacher WHERE school_id = 1 AND active", "2");
	assert_value(pg, "SELECT count(*) FROM course WHERE school_id = 1", "2");
	assert_value(pg, "SELECT count(*) FROM class WHERE school_id = 1", "3");
	assert_value(pg, "SELECT count(*) FROM class_pupil WHERE school_id = 1 AND active", "14");
	assert_value(pg, "SELECT count(*) FROM class_teacher WHERE school_id = 1 AND active", "3");
	/* Quoted commas, UTF-8, optional names, the course reference. */
	assert_value(pg, "SELECT name FROM course WHERE external_id = 'crs-maths'",
	    "Maths, Year 9");
	assert_value(pg, "SELECT family_name FROM teacher WHERE external_id = 't-2'",
	    "Smith, Jr");
	assert_value(pg, "SELECT given_name FROM pupil WHERE external_id = 's-03'", "Chloé");
	assert_value(pg, "SELECT given_name FROM pupil WHERE external_id = 's-02'", "NULL");
	assert_value(pg, "SELECT year_group FROM pupil WHERE external_id = 's-01'", "09");
	assert_value(pg, "SELECT email FROM teacher WHERE external_id = 't-1'",
	    "j.okafor@hillside.example");
	assert_value(pg, "SELECT co.external_id FROM class c JOIN course co USING "
	    "(school_id, course_id) WHERE c.external_id = 'cls-9a-bi'", "crs-bio");
	assert_value(pg, "SELECT count(*) FROM pupil WHERE external_id = 'g-1'", "0");
	/* a guardian: their sourcedId only (no name, no email), linked to two pupils */
	assert_value(pg, "SELECT count(*) FROM guardian WHERE external_id = 'g-1' AND active", "1");
	assert_value(pg, "SELECT string_agg(p.external_id, ',' ORDER BY p.external_id)"
	    " FROM guardian_pupil gp JOIN pupil p USING (school_id, pupil_id)", "s-01,s-02");
	assert_value(pg, "SELECT count(*) FROM class_pupil cp JOIN pupil p USING "
	    "(school_id, pupil_id) JOIN class c USING (school_id, class_id) "
	    "WHERE p.external_id = 's-01' AND cp.active", "2");

	/* Again, later: nothing changes, not even updated_at. */
	before = school_sum(pg, 1);
	import_roster(pg, "tests/roster/good", 1, NOW2);
	after = school_sum(pg, 1);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	PQfinish(pg);
}
END_TEST

START_TEST(test_roster_delta)
{
	PGconn *pg = fresh_db("imp_delta");
	plan *p;

	import_roster(pg, "tests/roster/good", 1, NOW1);
	p = roster_dir("tests/roster/delta", 1, NOW2);
	ck_assert_int_eq(plan_accepted(p, "users.csv"), 2);
	import_ok(pg, p);
	assert_value(pg, "SELECT count(*) FROM pupil WHERE school_id = 1", "10");
	assert_value(pg, "SELECT count(*) FROM pupil WHERE school_id = 1 AND active", "9");
	assert_value(pg, "SELECT active FROM pupil WHERE external_id = 's-09'", "f");
	assert_value(pg, "SELECT updated_at = '" NOW2 "' FROM pupil WHERE external_id = 's-09'",
	    "t");
	assert_value(pg, "SELECT active FROM pupil WHERE external_id = 's-10'", "t");
	assert_value(pg, "SELECT name FROM class WHERE external_id = 'cls-9b-ma'",
	    "9B Mathematics");
	assert_value(pg, "SELECT co.external_id FROM class c JOIN course co USING "
	    "(school_id, course_id) WHERE c.external_id = 'cls-9b-ma'", "crs-maths");
	/* The new pupil is enrolled in a class that was only in the database. */
	assert_value(pg, "SELECT count(*) FROM class_pupil cp JOIN pupil p USING "
	    "(school_id, pupil_id) JOIN class c USING (school_id, class_id) "
	    "WHERE p.external_id = 's-10' AND c.external_id = 'cls-9b-ma' AND cp.active", "1");
	/* Delta: everything else as it was. */
	assert_value(pg, "SELECT count(*) FROM pupil WHERE updated_at <> '" NOW1 "' "
	    "AND external_id NOT IN ('s-09', 's-10')", "0");
	assert_value(pg, "SELECT count(*) FROM class_pupil WHERE active", "15");
	assert_value(pg, "SELECT count(*) FROM class WHERE updated_at <> '" NOW1 "'", "1");
	PQfinish(pg);
}
END_TEST

START_TEST(test_roster_broken)
{
	PGconn *pg = fresh_db("imp_broken");
	char *before, *after, *dir, err[1024];
	plan *p;

	import_roster(pg, "tests/roster/good", 1, NOW1);
	before = school_sum(pg, 1);

	p = roster_dir("tests/roster/broken", 1, NOW2);
	/* Every problem, not just the first. */
	ck_assert(report_has(p, "users.csv", 6, "unknown role 'robot'"));
	ck_assert(report_has(p, "users.csv", 8, "malformed CSV"));
	ck_assert(report_has(p, "enrollments.csv", 5, "unknown class 'cls-nowhere'"));
	ck_assert(!plan_exec(pg, p, err, sizeof err));
	ck_assert(!plan_applied(p));
	plan_free(p);

	/*
	 * Fine in memory, refused by the database: a delta enrollment names
	 * a class that exists nowhere. The new pupil of the same set must
	 * not land either.
	 */
	dir = pgtest_tmp_dir("import");
	pgtest_write_file(dir, "manifest.csv", "propertyName,value\nmanifest.version,1.0\n"
	    "oneroster.version,1.2\nfile.users,delta\nfile.enrollments,delta\n");
	pgtest_write_file(dir, "users.csv", "sourcedId,status,dateLastModified,role,givenName,"
	    "familyName\ns-50,active,,student,Kim,Lo\n");
	pgtest_write_file(dir, "enrollments.csv", "sourcedId,status,dateLastModified,"
	    "classSourcedId,userSourcedId,role\ne-50,,,cls-9a-ma,s-50,student\n"
	    "e-51,,,cls-gone,s-50,student\n");
	ck_assert(roster_parse_dir(dir, 1, NOW2, &p, err, sizeof err));
	ck_assert_int_eq(plan_nrejected(p), 0);
	ck_assert(!plan_exec(pg, p, err, sizeof err));
	ck_assert_msg(strstr(err, "enrollments.csv:3") != NULL, "%s", err);
	ck_assert(report_has(p, "enrollments.csv", 3, "cls-gone"));
	plan_free(p);

	/* No manifest at all. */
	pgtest_write_file(dir, "manifest.csv", "");
	ck_assert(roster_parse_dir(dir, 1, NOW2, &p, err, sizeof err));
	ck_assert(report_has(p, "manifest.csv", 1, "empty file"));
	plan_free(p);

	after = school_sum(pg, 1);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	pgtest_rm_dir(dir);
	PQfinish(pg);
}
END_TEST

/* Missing columns and files, bad statuses, duplicates, long fields. */
START_TEST(test_roster_structure)
{
	char *dir = pgtest_tmp_dir("import"), err[512], *longname;
	plan *p;

	ck_assert(!roster_parse_dir("/nonexistent/roster", 1, NOW1, &p, err, sizeof err));
	ck_assert(p == NULL);
	ck_assert(roster_parse_dir(dir, 1, NOW1, &p, err, sizeof err));
	ck_assert(report_has(p, "manifest.csv", 0, "missing"));
	plan_free(p);

	pgtest_write_file(dir, "manifest.csv", "propertyName,value\nmanifest.version,1.0\n"
	    "oneroster.version,1.2\nfile.users,bulk\nfile.classes,bulk\n"
	    "file.courses,sideways\n");
	longname = xasprintf("sourcedId,status,dateLastModified,role,givenName,"
	    "familyName\nu1,active,,student,A,B\nu1,active,,student,C,D\n"
	    ",active,,student,E,F\nu3,retired,,student,G,H\nu4,,yesterday,teacher,I,J\n"
	    "u5,,,student,%0150d,K\n", 0);
	pgtest_write_file(dir, "users.csv", longname);
	free(longname);
	ck_assert(roster_parse_dir(dir, 1, NOW1, &p, err, sizeof err));
	ck_assert(report_has(p, "manifest.csv", 6, "not bulk, delta or absent"));
	ck_assert(report_has(p, "classes.csv", 0, "missing"));
	ck_assert(report_has(p, "users.csv", 3, "duplicate sourcedId 'u1'"));
	ck_assert(report_has(p, "users.csv", 4, "missing sourcedId"));
	ck_assert(report_has(p, "users.csv", 5, "status 'retired'"));
	ck_assert(report_has(p, "users.csv", 6, "dateLastModified"));
	ck_assert(report_has(p, "users.csv", 7, "longer than 100"));
	plan_free(p);

	pgtest_write_file(dir, "users.csv", "sourcedId,status,role,givenName\nu1,,student,A\n");
	pgtest_write_file(dir, "manifest.csv", "propertyName,value\nmanifest.version,1.0\n"
	    "oneroster.version,1.2\nfile.users,bulk\n");
	ck_assert(roster_parse_dir(dir, 1, NOW1, &p, err, sizeof err));
	ck_assert(report_has(p, "users.csv", 1, "dateLastModified, familyName"));
	plan_free(p);
	pgtest_rm_dir(dir);
}
END_TEST

static void
zip_add_file(zip_t *za, const char *name, const char *path)
{
	zip_source_t *s = zip_source_file(za, path, 0, -1);

	ck_assert(s != NULL);
	ck_assert(zip_file_add(za, name, s, ZIP_FL_OVERWRITE) >= 0);
}

START_TEST(test_roster_zip)
{
	static const char *const files[] = { "manifest.csv", "orgs.csv",
	    "academicSessions.csv", "courses.csv", "classes.csv", "users.csv",
	    "enrollments.csv" };
	PGconn *a = fresh_db("imp_zip_a"), *b;
	char *dir = pgtest_tmp_dir("import"), *zpath = xasprintf("%s/roster.zip", dir), err[512];
	char *buf, *sa, *sb;
	zip_t *za;
	int zerr;
	struct stat st;
	FILE *fp;
	plan *p;

	/* Files under a folder, as zipping a folder does. */
	za = zip_open(zpath, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
	ck_assert(za != NULL);
	ck_assert(zip_dir_add(za, "export", 0) >= 0);
	for (size_t i = 0; i < nitems(files); i++) {
		char *in = xasprintf("tests/roster/good/%s", files[i]);
		char *path = src(in), *name = xasprintf("export/%s", files[i]);

		zip_add_file(za, name, path);
		free(in);
		free(path);
		free(name);
	}
	ck_assert(zip_close(za) == 0);
	ck_assert(stat(zpath, &st) == 0);
	buf = xmalloc((size_t)st.st_size);
	fp = fopen(zpath, "rb");
	ck_assert(fread(buf, 1, (size_t)st.st_size, fp) == (size_t)st.st_size);
	fclose(fp);

	import_roster(a, "tests/roster/good", 1, NOW1);
	b = fresh_db("imp_zip_b");
	ck_assert(roster_parse_zip(buf, (size_t)st.st_size, 1, NOW1, &p, err, sizeof err));
	import_ok(b, p);
	sa = school_sum(a, 1);
	sb = school_sum(b, 1);
	ck_assert_str_eq(sa, sb);

	/* Not a zip at all. */
	ck_assert(!roster_parse_zip("hello", 5, 1, NOW1, &p, err, sizeof err));
	ck_assert(p == NULL);
	free(sa);
	free(sb);
	free(buf);
	free(zpath);
	pgtest_rm_dir(dir);
	PQfinish(a);
	PQfinish(b);
}
END_TEST

START_TEST(test_questions)
{
	PGconn *pg = fresh_db("imp_questions");
	char *before, *after, *mem;
	plan *p;

	import_roster(pg, "tests/roster/good", 1, NOW1);
	p = questions("tests/questions/good.csv", 1, NOW1);
	ck_assert_int_eq(plan_accepted(p, "good.csv"), 8);
	import_ok(pg, p);
	assert_value(pg, "SELECT count(*) FROM course WHERE school_id = 1", "4");
	assert_value(pg, "SELECT count(*) FROM unit WHERE school_id = 1", "3");
	assert_value(pg, "SELECT count(*) FROM question WHERE school_id = 1", "8");
	assert_value(pg, "SELECT name FROM course WHERE external_id = 'maths-9'",
	    "Maths, Year 9");
	assert_value(pg, "SELECT string_agg(external_id || ':' || position, ',' ORDER BY "
	    "external_id) FROM unit", "u-alg:2,u-cell:1,u-mult:1");
	assert_value(pg, "SELECT correct_choice FROM question WHERE external_id = 'q-001'", "1");
	/* An answer by number counts from 1. */
	assert_value(pg, "SELECT correct_choice FROM question WHERE external_id = 'q-002'", "2");
	assert_value(pg, "SELECT choices::text FROM question WHERE external_id = 'q-005'",
	    "[\"x = 3\", \"x = 4\", \"x = 7\"]");
	assert_value(pg, "SELECT accepted_answers::text FROM question WHERE "
	    "external_id = 'q-003'", "[\"12\", \"twelve\"]");
	assert_value(pg, "SELECT explanation FROM question WHERE external_id = 'q-004'",
	    "Picture an array of dots:\nturn it a quarter turn.");
	assert_value(pg, "SELECT active FROM question WHERE external_id = 'q-008'", "f");
	assert_value(pg, "SELECT fast_ms || '/' || slow_ms FROM question WHERE "
	    "external_id = 'q-001'", "4000/20000");
	assert_value(pg, "SELECT count(*) FROM question WHERE version <> 1", "0");

	/* A pupil's memory of q-002: it must survive the new version. */
	pgtest_exec(pg, "INSERT INTO memory_state SELECT 1, p.pupil_id, q.question_id, 3.5, "
	    "5.0, 2, 0, '2025-10-01T10:00:00Z', '2025-10-01', '2025-10-05' FROM pupil p, "
	    "question q WHERE p.school_id = 1 AND p.external_id = 's-01' AND "
	    "q.school_id = 1 AND q.external_id = 'q-002'");
	mem = pgtest_text(pg, "SELECT md5(string_agg(m::text, '|')) FROM memory_state m");

	/* The same file again: nothing written at all. */
	before = school_sum(pg, 1);
	import_ok(pg, questions("tests/questions/good.csv", 1, NOW2));
	after = school_sum(pg, 1);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);

	/* One prompt changed: version 2, the old text kept. */
	import_ok(pg, questions("tests/questions/changed.csv", 1, NOW3));
	assert_value(pg, "SELECT version FROM question WHERE external_id = 'q-002'", "2");
	assert_value(pg, "SELECT prompt FROM question WHERE external_id = 'q-002'",
	    "Which of these numbers is prime?");
	assert_value(pg, "SELECT count(*) FROM question_version", "1");
	assert_value(pg, "SELECT v.version || ':' || v.prompt || ':' || (v.replaced_at = '"
	    NOW3 "') FROM question_version v JOIN question q USING (school_id, question_id) "
	    "WHERE q.external_id = 'q-002'", "1:Which of these is a prime number?:true");
	assert_value(pg, "SELECT count(*) FROM question WHERE version = 1", "7");
	assert_value(pg, "SELECT count(*) FROM question WHERE updated_at = '" NOW3 "'", "1");
	assert_value(pg, "SELECT md5(string_agg(m::text, '|')) FROM memory_state m", mem);
	free(mem);

	/* And again: still version 2. */
	import_ok(pg, questions("tests/questions/changed.csv", 1, NOW3));
	assert_value(pg, "SELECT version FROM question WHERE external_id = 'q-002'", "2");
	assert_value(pg, "SELECT count(*) FROM question_version", "1");
	PQfinish(pg);
}
END_TEST

START_TEST(test_questions_bad)
{
	PGconn *pg = fresh_db("imp_qbad");
	char *before, *after, err[1024];
	const char *csv;
	plan *p;

	import_ok(pg, questions("tests/questions/good.csv", 1, NOW1));
	before = school_sum(pg, 1);
	p = questions("tests/questions/bad.csv", 1, NOW2);
	ck_assert(report_has(p, "bad.csv", 5, "kind 'essay'"));
	ck_assert(report_has(p, "bad.csv", 6, "answer '6' is not one of the choices"));
	ck_assert(report_has(p, "bad.csv", 7, "fewer than 2"));
	ck_assert(report_has(p, "bad.csv", 8, "empty prompt"));
	ck_assert(report_has(p, "bad.csv", 9, "unit_order 'first'"));
	ck_assert(report_has(p, "bad.csv", 10, "duplicate question_id 'q-001'"));
	ck_assert(report_has(p, "bad.csv", 11, "'Marseille'"));
	ck_assert(report_has(p, "bad.csv", 12, "active 'maybe'"));
	ck_assert(report_has(p, "bad.csv", 12, "fast_ms 500 is not below slow_ms 100"));
	ck_assert_int_eq(plan_nrejected(p), 9);
	ck_assert(!plan_exec(pg, p, err, sizeof err));
	plan_free(p);

	/* Good in memory, refused by the database: a new course without a name. */
	csv = "course_id,unit_id,unit_name,question_id,kind,prompt\n"
	    "maths-9,u-mult,,q-100,self,Fine\n"
	    "nameless,u-new,New unit,q-101,self,Where is my course name?\n";
	ck_assert(qbank_parse(csv, strlen(csv), "q.csv", 1, NOW2, &p, err, sizeof err));
	ck_assert_int_eq(plan_nrejected(p), 0);
	ck_assert(!plan_exec(pg, p, err, sizeof err));
	ck_assert(report_has(p, "q.csv", 3, "course 'nameless' is new"));
	plan_free(p);

	/* Disagreeing rows, a missing column, malformed CSV. */
	csv = "course_id,unit_id,unit_name,question_id,kind,prompt,answer\n"
	    "maths-9,u-mult,Times,q-200,short,A?,a\n"
	    "maths-9,u-mult,Tables,q-201,short,B?,b\n"
	    "bio-9,u-mult,,q-202,short,C?,c\n"
	    "bio-9,u-x,,q-203,short,\"D?,d\n";
	ck_assert(qbank_parse(csv, strlen(csv), "q.csv", 1, NOW2, &p, err, sizeof err));
	ck_assert(report_has(p, "q.csv", 3, "unit_name 'Tables' differs from 'Times'"));
	ck_assert(report_has(p, "q.csv", 4, "unit 'u-mult' is in course 'maths-9'"));
	ck_assert(report_has(p, "q.csv", 5, "malformed CSV"));
	plan_free(p);
	csv = "course_id,question_id,kind\nmaths-9,q-1,self\n";
	ck_assert(qbank_parse(csv, strlen(csv), "q.csv", 1, NOW2, &p, err, sizeof err));
	ck_assert(report_has(p, "q.csv", 1, "missing required column(s): unit_id, prompt"));
	plan_free(p);

	after = school_sum(pg, 1);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	PQfinish(pg);
}
END_TEST

START_TEST(test_two_schools)
{
	PGconn *pg = fresh_db("imp_two");
	char *one, *again, *dir, *cmd;

	import_roster(pg, "tests/roster/good", 1, NOW1);
	import_ok(pg, questions("tests/questions/good.csv", 1, NOW1));
	one = school_sum(pg, 1);

	/* The same ids in school 2 are other rows. */
	import_roster(pg, "tests/roster/good", 2, NOW2);
	import_ok(pg, questions("tests/questions/changed.csv", 2, NOW2));
	import_roster(pg, "tests/roster/delta", 2, NOW2);
	assert_value(pg, "SELECT count(*) FROM pupil WHERE school_id = 2", "10");
	assert_value(pg, "SELECT count(*) FROM question WHERE school_id = 2", "8");

	/* A bulk set without s-01 deactivates s-01 in school 2 only. */
	dir = pgtest_tmp_dir("import");
	cmd = xasprintf("cp '%s'/*.csv '%s'/ && sed -i '/s-01/d; /^from 8C/d' "
	    "'%s/users.csv' '%s/enrollments.csv'", pgtest_srcpath("tests/roster/good"), dir, dir, dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	import_ok(pg, roster_abs(dir, 2, NOW3));
	assert_value(pg, "SELECT active FROM pupil WHERE school_id = 2 AND "
	    "external_id = 's-01'", "f");
	assert_value(pg, "SELECT count(*) FROM class_pupil cp JOIN pupil p USING "
	    "(school_id, pupil_id) WHERE cp.school_id = 2 AND p.external_id = 's-01' "
	    "AND cp.active", "0");
	/* The delta's s-10 is not in this bulk set either. */
	assert_value(pg, "SELECT active FROM pupil WHERE school_id = 2 AND "
	    "external_id = 's-10'", "f");
	assert_value(pg, "SELECT active FROM pupil WHERE school_id = 1 AND "
	    "external_id = 's-01'", "t");

	again = school_sum(pg, 1);
	ck_assert_str_eq(one, again);
	free(one);
	free(again);
	pgtest_rm_dir(dir);
	PQfinish(pg);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("import");
	TCase *tc = tcase_create("import");
	int failed;

	log_set_level(LOG_LEVEL_WARN);
	pgtest_start();
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_csvtab);
	tcase_add_test(tc, test_roster_good);
	tcase_add_test(tc, test_roster_delta);
	tcase_add_test(tc, test_roster_broken);
	tcase_add_test(tc, test_roster_structure);
	tcase_add_test(tc, test_roster_zip);
	tcase_add_test(tc, test_questions);
	tcase_add_test(tc, test_questions_bad);
	tcase_add_test(tc, test_two_schools);
	suite_add_tcase(s, tc);
	failed = cktest_run(s);
	pgtest_destroy();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
