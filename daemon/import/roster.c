/* roster.c: a OneRoster CSV set into an import plan. */
#include "autoconf.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <zip.h>

#include "csvtab.h"
#include "plan.h"
#include "roster.h"
#include "sbuf.h"
#include "util.h"

enum rfile {
	RF_MANIFEST,
	RF_ORGS,
	RF_SESSIONS,
	RF_COURSES,
	RF_CLASSES,
	RF_ROLES,
	RF_USERS,
	RF_ENROLLMENTS,
	RF_N
};

/* In report order; key is the manifest property that gives the mode. */
static const struct {
	const char *name;
	const char *key;
} rfiles[RF_N] = {
	{ "manifest.csv", NULL },
	{ "orgs.csv", "file.orgs" },
	{ "academicSessions.csv", "file.academicSessions" },
	{ "courses.csv", "file.courses" },
	{ "classes.csv", "file.classes" },
	{ "roles.csv", "file.roles" },
	{ "users.csv", "file.users" },
	{ "enrollments.csv", "file.enrollments" },
};

enum mode { MODE_ABSENT, MODE_BULK, MODE_DELTA };

enum role { ROLE_NONE, ROLE_PUPIL, ROLE_TEACHER, ROLE_GUARDIAN, ROLE_OTHER, ROLE_BAD };

/* Schema limits (sql/0002_school_data.sql), in characters. */
#define MAX_ID		200
#define MAX_TITLE	200
#define MAX_NAME	100
#define MAX_YEAR	20
#define MAX_EMAIL	254

struct input {
	char *buf;
	size_t len;
	bool present;
};

/* One (class, user) enrollment after duplicates are merged. */
struct pair {
	int row;		/* first row, for the origin */
	bool active;
	enum role role;
};

struct roster {
	plan *p;
	char school[24];
	const char *now;
	enum mode mode[RF_N];
	csvtab *t[RF_N];
	/* The file parsed with its columns: ids absent from it are unknown. */
	bool usable[RF_N];
	/* sourcedId -> first row, per file. */
	csvtab_map *ids[RF_N];
	/* users.csv: role and deletion per row, for the enrollment checks. */
	enum role *urole;
	bool *udel;
	/* classes.csv: deletion per row. */
	bool *cdel;
	/* roles.csv: userSourcedId -> role (+ 16 when primary). */
	csvtab_map *roles;
};

/* The SQL. $1 is always the school, and the now parameter is updated_at. */

/* Two imports of one school take turns: bulk deactivation reads the whole school. */
static const char sql_lock[] =
    "SELECT pg_advisory_xact_lock(1919247724, ($1::bigint % 2147483647)::integer)";

static const char sql_course_upsert[] =
    "INSERT INTO course (school_id, external_id, name, active, updated_at)"
    " VALUES ($1::bigint, $2, $3, true, $4::timestamptz)"
    " ON CONFLICT (school_id, external_id) DO UPDATE"
    " SET name = EXCLUDED.name, active = true, updated_at = EXCLUDED.updated_at"
    " WHERE (course.name, course.active) IS DISTINCT FROM (EXCLUDED.name, true)";
static const char sql_course_delete[] =
    "UPDATE course SET active = false, updated_at = $3::timestamptz"
    " WHERE school_id = $1::bigint AND external_id = $2 AND active";
static const char sql_course_bulk[] =
    "UPDATE course SET active = false, updated_at = $2::timestamptz"
    " WHERE school_id = $1::bigint AND active"
    " AND external_id NOT IN (SELECT unnest($3::text[]))";

/*
 * course_id is nullable, so a course that is not there must not become
 * NULL: -1 is never an id, and the foreign key refuses it.
 */
static const char sql_class_upsert[] =
    "INSERT INTO class (school_id, external_id, name, course_id, active, updated_at)"
    " VALUES ($1::bigint, $2, $3, COALESCE((SELECT course_id FROM course"
    "  WHERE school_id = $1::bigint AND external_id = $4), -1), true, $5::timestamptz)"
    " ON CONFLICT (school_id, external_id) DO UPDATE"
    " SET name = EXCLUDED.name, course_id = EXCLUDED.course_id, active = true,"
    "  updated_at = EXCLUDED.updated_at"
    " WHERE (class.name, class.course_id, class.active)"
    "  IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.course_id, true)";
static const char sql_class_delete[] =
    "UPDATE class SET active = false, updated_at = $3::timestamptz"
    " WHERE school_id = $1::bigint AND external_id = $2 AND active";
static const char sql_class_bulk[] =
    "UPDATE class SET active = false, updated_at = $2::timestamptz"
    " WHERE school_id = $1::bigint AND active"
    " AND external_id NOT IN (SELECT unnest($3::text[]))";

static const char sql_pupil_upsert[] =
    "INSERT INTO pupil (school_id, external_id, given_name, family_name, year_group,"
    "  active, updated_at)"
    " VALUES ($1::bigint, $2, $3, $4, $5, $6::boolean, $7::timestamptz)"
    " ON CONFLICT (school_id, external_id) DO UPDATE"
    " SET given_name = EXCLUDED.given_name, family_name = EXCLUDED.family_name,"
    "  year_group = EXCLUDED.year_group, active = EXCLUDED.active,"
    "  updated_at = EXCLUDED.updated_at"
    " WHERE (pupil.given_name, pupil.family_name, pupil.year_group, pupil.active)"
    "  IS DISTINCT FROM (EXCLUDED.given_name, EXCLUDED.family_name,"
    "  EXCLUDED.year_group, EXCLUDED.active)";
static const char sql_pupil_delete[] =
    "UPDATE pupil SET active = false, updated_at = $3::timestamptz"
    " WHERE school_id = $1::bigint AND external_id = $2 AND active";
static const char sql_pupil_bulk[] =
    "UPDATE pupil SET active = false, updated_at = $2::timestamptz"
    " WHERE school_id = $1::bigint AND active"
    " AND external_id NOT IN (SELECT unnest($3::text[]))";

static const char sql_teacher_upsert[] =
    "INSERT INTO teacher (school_id, external_id, given_name, family_name, email,"
    "  active, updated_at)"
    " VALUES ($1::bigint, $2, $3, $4, $5, $6::boolean, $7::timestamptz)"
    " ON CONFLICT (school_id, external_id) DO UPDATE"
    " SET given_name = EXCLUDED.given_name, family_name = EXCLUDED.family_name,"
    "  email = EXCLUDED.email, active = EXCLUDED.active,"
    "  updated_at = EXCLUDED.updated_at"
    " WHERE (teacher.given_name, teacher.family_name, teacher.email, teacher.active)"
    "  IS DISTINCT FROM (EXCLUDED.given_name, EXCLUDED.family_name,"
    "  EXCLUDED.email, EXCLUDED.active)";
static const char sql_teacher_delete[] =
    "UPDATE teacher SET active = false, updated_at = $3::timestamptz"
    " WHERE school_id = $1::bigint AND external_id = $2 AND active";
static const char sql_teacher_bulk[] =
    "UPDATE teacher SET active = false, updated_at = $2::timestamptz"
    " WHERE school_id = $1::bigint AND active"
    " AND external_id NOT IN (SELECT unnest($3::text[]))";

/* A class or user that resolves to nothing is NULL: NOT NULL refuses it. */
static const char sql_class_pupil_upsert[] =
    "INSERT INTO class_pupil (school_id, class_id, pupil_id, active, updated_at)"
    " VALUES ($1::bigint,"
    "  (SELECT class_id FROM class WHERE school_id = $1::bigint AND external_id = $2),"
    "  (SELECT pupil_id FROM pupil WHERE school_id = $1::bigint AND external_id = $3),"
    "  true, $4::timestamptz)"
    " ON CONFLICT (school_id, class_id, pupil_id) DO UPDATE"
    " SET active = true, updated_at = EXCLUDED.updated_at WHERE NOT class_pupil.active";
static const char sql_class_pupil_delete[] =
    "UPDATE class_pupil SET active = false, updated_at = $4::timestamptz"
    " WHERE school_id = $1::bigint AND active"
    " AND class_id = (SELECT class_id FROM class WHERE school_id = $1::bigint"
    "  AND external_id = $2)"
    " AND pupil_id = (SELECT pupil_id FROM pupil WHERE school_id = $1::bigint"
    "  AND external_id = $3)";
static const char sql_class_pupil_bulk[] =
    "UPDATE class_pupil SET active = false, updated_at = $2::timestamptz"
    " WHERE school_id = $1::bigint AND active AND (class_id, pupil_id) NOT IN ("
    "  SELECT c.class_id, u.pupil_id FROM unnest($3::text[], $4::text[]) AS f (c, u)"
    "  JOIN class c ON c.school_id = $1::bigint AND c.external_id = f.c"
    "  JOIN pupil u ON u.school_id = $1::bigint AND u.external_id = f.u)";

static const char sql_class_teacher_upsert[] =
    "INSERT INTO class_teacher (school_id, class_id, teacher_id, active, updated_at)"
    " VALUES ($1::bigint,"
    "  (SELECT class_id FROM class WHERE school_id = $1::bigint AND external_id = $2),"
    "  (SELECT teacher_id FROM teacher WHERE school_id = $1::bigint AND external_id = $3),"
    "  true, $4::timestamptz)"
    " ON CONFLICT (school_id, class_id, teacher_id) DO UPDATE"
    " SET active = true, updated_at = EXCLUDED.updated_at WHERE NOT class_teacher.active";
static const char sql_class_teacher_delete[] =
    "UPDATE class_teacher SET active = false, updated_at = $4::timestamptz"
    " WHERE school_id = $1::bigint AND active"
    " AND class_id = (SELECT class_id FROM class WHERE school_id = $1::bigint"
    "  AND external_id = $2)"
    " AND teacher_id = (SELECT teacher_id FROM teacher WHERE school_id = $1::bigint"
    "  AND external_id = $3)";
static const char sql_class_teacher_bulk[] =
    "UPDATE class_teacher SET active = false, updated_at = $2::timestamptz"
    " WHERE school_id = $1::bigint AND active AND (class_id, teacher_id) NOT IN ("
    "  SELECT c.class_id, u.teacher_id FROM unnest($3::text[], $4::text[]) AS f (c, u)"
    "  JOIN class c ON c.school_id = $1::bigint AND c.external_id = f.c"
    "  JOIN teacher u ON u.school_id = $1::bigint AND u.external_id = f.u)";

/*
 * Guardians, for the weekly digest.guardian: only their sourcedId and the
 * pupils linked to them (agentSourcedIds, on either side) are kept.
 */
static const char sql_guardian_upsert[] =
    "INSERT INTO guardian (school_id, external_id, active, updated_at)"
    " VALUES ($1::bigint, $2, $3::boolean, $4::timestamptz)"
    " ON CONFLICT (school_id, external_id) DO UPDATE"
    " SET active = EXCLUDED.active, updated_at = EXCLUDED.updated_at"
    " WHERE guardian.active IS DISTINCT FROM EXCLUDED.active";
static const char sql_guardian_delete[] =
    "UPDATE guardian SET active = false, updated_at = $3::timestamptz"
    " WHERE school_id = $1::bigint AND external_id = $2 AND active";
static const char sql_guardian_bulk[] =
    "UPDATE guardian SET active = false, updated_at = $2::timestamptz"
    " WHERE school_id = $1::bigint AND active"
    " AND external_id NOT IN (SELECT unnest($3::text[]))";
/* A bulk users.csv says every link there is: the old ones go first. */
static const char sql_links_clear[] =
    "DELETE FROM guardian_pupil WHERE school_id = $1::bigint";
/* A link to someone the school does not have is no link: it is left out. */
static const char sql_links_add[] =
    "INSERT INTO guardian_pupil (school_id, guardian_id, pupil_id)"
    " SELECT $1::bigint, g.guardian_id, p.pupil_id FROM unnest($2::text[], $3::text[]) AS f (g, p)"
    " JOIN guardian g ON g.school_id = $1::bigint AND g.external_id = f.g"
    " JOIN pupil p ON p.school_id = $1::bigint AND p.external_id = f.p"
    " ON CONFLICT DO NOTHING";

/* Roles of OneRoster 1.1 and 1.2 that recalld has no use for. */
static const char *const other_roles[] = {
	"administrator", "aide", "counselor", "districtAdministrator",
	"principal", "proctor", "siteAdministrator", "systemAdministrator",
};

static enum role
parse_role(const char *s)
{
	if (*s == '\0')
		return ROLE_NONE;
	if (strcasecmp(s, "student") == 0)
		return ROLE_PUPIL;
	if (strcasecmp(s, "teacher") == 0)
		return ROLE_TEACHER;
	if (strcasecmp(s, "guardian") == 0 || strcasecmp(s, "parent") == 0 ||
	    strcasecmp(s, "relative") == 0)
		return ROLE_GUARDIAN;
	if (strncmp(s, "ext:", 4) == 0)
		return ROLE_OTHER;
	for (size_t i = 0; i < nitems(other_roles); i++)
		if (strcasecmp(s, other_roles[i]) == 0)
			return ROLE_OTHER;
	return ROLE_BAD;
}

static const char *
role_word(enum role r)
{
	return r == ROLE_PUPIL ? "student" : r == ROLE_TEACHER ? "teacher" :
	    r == ROLE_GUARDIAN ? "guardian" : "other";
}

static const char *
fname(enum rfile f)
{
	return rfiles[f].name;
}

/* NULL for an empty optional field: SQL NULL, not ''. */
static const char *
opt(const char *s)
{
	return *s != '\0' ? s : NULL;
}

/*
 * The columns a file must have; reports every missing one at once.
 * idx receives each column's index.
 */
static bool
need_cols(struct roster *r, enum rfile f, const char *const *names, int n, int *idx)
{
	char missing[512] = "";
	size_t used = 0;
	bool ok = true;

	for (int i = 0; i < n; i++) {
		idx[i] = csvtab_col(r->t[f], names[i]);
		if (idx[i] < 0) {
			used += (size_t)snprintf(missing + used, used < sizeof missing ?
			    sizeof missing - used : 0, "%s%s", ok ? "" : ", ", names[i]);
			if (used >= sizeof missing)
				used = sizeof missing - 1;
			ok = false;
		}
	}
	if (!ok)
		plan_reject(r->p, fname(f), csvtab_header_line(r->t[f]),
		    "missing required column(s): %s", missing);
	return ok;
}

/* YYYY-MM-DD, optionally followed by a time: enough to catch shifted columns. */
static bool
date_ok(const char *s)
{
	static const char pat[] = "dddd-dd-dd";

	for (int i = 0; i < 10; i++)
		if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i])
			return false;
	return s[10] == '\0' || s[10] == 'T' || s[10] == ' ';
}

/* Columns every data file has, first in each file's index array. */
#define BASE_COLS	"sourcedId", "status", "dateLastModified"
enum { C_ID, C_STATUS, C_DATE, C_BASE };

/*
 * The checks every row shares: field count, sourcedId (present, short
 * enough, not a duplicate), status and dateLastModified. *del: the row is
 * tobedeleted. Returns false when the row is rejected.
 */
static bool
base_row(struct roster *r, enum rfile f, int row, const int *col, bool *del)
{
	csvtab *t = r->t[f];
	unsigned long line = csvtab_line(t, row);
	const char *id = csvtab_get(t, row, col[C_ID]);
	const char *st = csvtab_get(t, row, col[C_STATUS]);
	const char *date = csvtab_get(t, row, col[C_DATE]);
	long first;
	bool ok = true;

	*del = false;
	if (csvtab_nfields(t, row) != csvtab_ncols(t)) {
		/* Known all the same, so references to it do not pile up problems. */
		if (*id != '\0')
			(void)csvtab_map_put(r->ids[f], id, row);
		plan_reject(r->p, fname(f), line, "%d fields, the header has %d (an "
		    "unquoted comma?)", csvtab_nfields(t, row), csvtab_ncols(t));
		return false;
	}
	if (*id == '\0') {
		plan_reject(r->p, fname(f), line, "missing sourcedId");
		ok = false;
	} else if (csvtab_too_long(id, MAX_ID)) {
		plan_reject(r->p, fname(f), line, "sourcedId longer than %d characters",
		    MAX_ID);
		ok = false;
	} else if ((first = csvtab_map_put(r->ids[f], id, row)) >= 0) {
		plan_reject(r->p, fname(f), line, "duplicate sourcedId '%s' (first on "
		    "line %lu)", id, csvtab_line(t, (int)first));
		ok = false;
	}
	if (strcasecmp(st, "tobedeleted") == 0 || strcasecmp(st, "inactive") == 0) {
		*del = true;
	} else if (*st != '\0' && strcasecmp(st, "active") != 0) {
		plan_reject(r->p, fname(f), line, "status '%s' is not active or "
		    "tobedeleted", st);
		ok = false;
	}
	if (*date != '\0' && !date_ok(date)) {
		plan_reject(r->p, fname(f), line, "dateLastModified '%s' is not an "
		    "ISO 8601 date", date);
		ok = false;
	}
	return ok;
}

static enum mode
parse_mode(const char *s, bool *ok)
{
	*ok = true;
	if (strcasecmp(s, "bulk") == 0)
		return MODE_BULK;
	if (strcasecmp(s, "delta") == 0)
		return MODE_DELTA;
	if (strcasecmp(s, "absent") == 0)
		return MODE_ABSENT;
	*ok = false;
	return MODE_ABSENT;
}

/* manifest.csv: versions and the mode of each file. */
static bool
read_manifest(struct roster *r)
{
	static const char *const names[] = { "propertyName", "value" };
	csvtab *t = r->t[RF_MANIFEST];
	csvtab_map *seen = csvtab_map_new();
	int col[2];
	bool have_manifest = false, have_or = false;

	if (!need_cols(r, RF_MANIFEST, names, 2, col)) {
		csvtab_map_free(seen);
		return false;
	}
	for (int row = 0; row < csvtab_nrows(t); row++) {
		const char *k = csvtab_get(t, row, col[0]);
		const char *v = csvtab_get(t, row, col[1]);
		unsigned long line = csvtab_line(t, row);
		long first;

		if ((first = csvtab_map_put(seen, k, row)) >= 0) {
			plan_reject(r->p, fname(RF_MANIFEST), line, "property '%s' given "
			    "twice (first on line %lu)", k, csvtab_line(t, (int)first));
			continue;
		}
		if (strcmp(k, "manifest.version") == 0) {
			have_manifest = true;
			if (strcmp(v, "1.0") != 0)
				plan_reject(r->p, fname(RF_MANIFEST), line,
				    "manifest.version '%s': only 1.0 is known", v);
		} else if (strcmp(k, "oneroster.version") == 0) {
			have_or = true;
			if (strcmp(v, "1.2") != 0 && strcmp(v, "1.1") != 0)
				plan_reject(r->p, fname(RF_MANIFEST), line,
				    "oneroster.version '%s': expected 1.2 (or 1.1)", v);
		} else if (strncmp(k, "file.", 5) == 0) {
			bool ok;
			enum mode m = parse_mode(v, &ok);

			if (!ok) {
				plan_reject(r->p, fname(RF_MANIFEST), line, "%s '%s' is "
				    "not bulk, delta or absent", k, v);
				continue;
			}
			for (int f = 0; f < RF_N; f++)
				if (rfiles[f].key != NULL && strcasecmp(k, rfiles[f].key) == 0)
					r->mode[f] = m;
		}
	}
	csvtab_map_free(seen);
	if (!have_manifest)
		plan_reject(r->p, fname(RF_MANIFEST), 0, "no manifest.version property");
	if (!have_or)
		plan_reject(r->p, fname(RF_MANIFEST), 0, "no oneroster.version property");
	return true;
}

/* A truncated file is not the whole truth: its ids are no reference. */
static bool
usable(const struct roster *r, enum rfile f)
{
	return csvtab_error(r->t[f], NULL) == NULL;
}

/* orgs.csv, academicSessions.csv: checked so a broken set is noticed, not stored. */
static void
check_only(struct roster *r, enum rfile f)
{
	static const char *const names[] = { BASE_COLS };
	int col[C_BASE];
	bool del;

	if (!need_cols(r, f, names, C_BASE, col))
		return;
	r->usable[f] = usable(r, f);
	for (int row = 0; row < csvtab_nrows(r->t[f]); row++)
		if (base_row(r, f, row, col, &del))
			plan_accept(r->p, fname(f));
}

static void
add_bulk(struct roster *r, enum rfile f, const char *sql, struct sbuf *keep)
{
	const char *params[3] = { r->school, r->now, sbuf_arr_end(keep) };

	plan_add(r->p, fname(f), 0, NULL, sql, 3, params);
}

static void
do_courses(struct roster *r)
{
	static const char *const names[] = { BASE_COLS, "title" };
	const enum rfile f = RF_COURSES;
	csvtab *t = r->t[f];
	struct sbuf keep = { 0 };
	int col[C_BASE + 1];

	if (!need_cols(r, f, names, (int)nitems(names), col))
		return;
	r->usable[f] = usable(r, f);
	for (int row = 0; row < csvtab_nrows(t); row++) {
		const char *id = csvtab_get(t, row, col[C_ID]);
		const char *title = csvtab_get(t, row, col[C_BASE]);
		unsigned long line = csvtab_line(t, row);
		bool del, ok = base_row(r, f, row, col, &del);

		if (ok && !del && *title == '\0') {
			plan_reject(r->p, fname(f), line, "course '%s' has no title", id);
			ok = false;
		} else if (ok && csvtab_too_long(title, MAX_TITLE)) {
			plan_reject(r->p, fname(f), line, "title longer than %d characters",
			    MAX_TITLE);
			ok = false;
		}
		if (!ok)
			continue;
		plan_accept(r->p, fname(f));
		if (!del) {
			const char *params[] = { r->school, id, title, r->now };

			plan_add(r->p, fname(f), line, NULL, sql_course_upsert, 4, params);
			sbuf_arr_text(&keep, id);
		} else if (r->mode[f] == MODE_DELTA) {
			const char *params[] = { r->school, id, r->now };

			plan_add(r->p, fname(f), line, NULL, sql_course_delete, 3, params);
		}
	}
	if (r->mode[f] == MODE_BULK)
		add_bulk(r, f, sql_course_bulk, &keep);
	sbuf_free(&keep);
}

/*
 * Whether an id referenced from another file must be in file f. In bulk
 * mode the file is the whole truth; otherwise the row may be in the
 * database already, and the statement will say if it is not.
 */
static bool
must_be_in_file(const struct roster *r, enum rfile f)
{
	return r->mode[f] == MODE_BULK && r->usable[f];
}

static void
do_classes(struct roster *r)
{
	static const char *const names[] = { BASE_COLS, "title", "courseSourcedId" };
	const enum rfile f = RF_CLASSES;
	csvtab *t = r->t[f];
	struct sbuf keep = { 0 };
	int col[C_BASE + 2];

	if (!need_cols(r, f, names, (int)nitems(names), col))
		return;
	r->usable[f] = usable(r, f);
	r->cdel = xcalloc((size_t)csvtab_nrows(t) + 1, sizeof *r->cdel);
	for (int row = 0; row < csvtab_nrows(t); row++) {
		const char *id = csvtab_get(t, row, col[C_ID]);
		const char *title = csvtab_get(t, row, col[C_BASE]);
		const char *course = csvtab_get(t, row, col[C_BASE + 1]);
		unsigned long line = csvtab_line(t, row);
		bool del, ok = base_row(r, f, row, col, &del);

		r->cdel[row] = del;
		if (ok && !del) {
			if (*title == '\0') {
				plan_reject(r->p, fname(f), line, "class '%s' has no title", id);
				ok = false;
			} else if (csvtab_too_long(title, MAX_TITLE)) {
				plan_reject(r->p, fname(f), line, "title longer than %d "
				    "characters", MAX_TITLE);
				ok = false;
			}
			if (*course == '\0') {
				plan_reject(r->p, fname(f), line, "class '%s' has no "
				    "courseSourcedId", id);
				ok = false;
			} else if (must_be_in_file(r, RF_COURSES) &&
			    csvtab_map_get(r->ids[RF_COURSES], course) < 0) {
				plan_reject(r->p, fname(f), line, "unknown course '%s': not "
				    "in courses.csv", course);
				ok = false;
			}
		}
		if (!ok)
			continue;
		plan_accept(r->p, fname(f));
		if (!del) {
			const char *params[] = { r->school, id, title, course, r->now };
			char *hint = xasprintf("class '%s': no course '%s' in courses.csv "
			    "or in the database", id, course);

			plan_add(r->p, fname(f), line, hint, sql_class_upsert, 5, params);
			free(hint);
			sbuf_arr_text(&keep, id);
		} else if (r->mode[f] == MODE_DELTA) {
			const char *params[] = { r->school, id, r->now };

			plan_add(r->p, fname(f), line, NULL, sql_class_delete, 3, params);
		}
	}
	if (r->mode[f] == MODE_BULK)
		add_bulk(r, f, sql_class_bulk, &keep);
	sbuf_free(&keep);
}

/* roles.csv (OneRoster 1.2): a user's role when users.csv has none. */
static void
do_roles(struct roster *r)
{
	static const char *const names[] = { BASE_COLS, "userSourcedId", "role" };
	const enum rfile f = RF_ROLES;
	csvtab *t = r->t[f];
	int col[C_BASE + 2], ctype;

	if (!need_cols(r, f, names, (int)nitems(names), col))
		return;
	r->usable[f] = usable(r, f);
	ctype = csvtab_col(t, "roleType");
	r->roles = csvtab_map_new();
	for (int row = 0; row < csvtab_nrows(t); row++) {
		const char *user = csvtab_get(t, row, col[C_BASE]);
		const char *role = csvtab_get(t, row, col[C_BASE + 1]);
		bool primary = strcasecmp(csvtab_get(t, row, ctype), "primary") == 0;
		unsigned long line = csvtab_line(t, row);
		enum role ro = parse_role(role);
		long have;
		bool del;

		if (!base_row(r, f, row, col, &del))
			continue;
		if (*user == '\0') {
			plan_reject(r->p, fname(f), line, "missing userSourcedId");
			continue;
		}
		if (ro == ROLE_BAD || ro == ROLE_NONE) {
			plan_reject(r->p, fname(f), line, "unknown role '%s'", role);
			continue;
		}
		plan_accept(r->p, fname(f));
		if (del)
			continue;
		/* A user's primary role wins over the others; else the first. */
		have = csvtab_map_put(r->roles, user, ro + (primary ? 16 : 0));
		if (have >= 0 && have < 16 && primary)
			csvtab_map_set(r->roles, user, ro + 16);
	}
}

/*
 * agentSourcedIds of a user, a comma list: for a guardian their pupils,
 * for a pupil their guardians; each a (guardian, pupil) pair.
 */
static void
add_links(const char *agents, const char *id, bool guardian, struct sbuf *g, struct sbuf *p)
{
	char *list = xstrdup(agents), *save = NULL;

	for (char *a = strtok_r(list, ",", &save); a != NULL; a = strtok_r(NULL, ",", &save)) {
		while (*a == ' ')
			a++;
		a[strcspn(a, " ")] = '\0';
		if (*a == '\0')
			continue;
		sbuf_arr_text(g, guardian ? id : a);
		sbuf_arr_text(p, guardian ? a : id);
	}
	free(list);
}

static void
do_users(struct roster *r)
{
	static const char *const names[] = { BASE_COLS, "givenName", "familyName" };
	enum { C_GIVEN = C_BASE, C_FAMILY };
	const enum rfile f = RF_USERS;
	csvtab *t = r->t[f];
	struct sbuf keep_p = { 0 }, keep_t = { 0 }, keep_g = { 0 }, link_g = { 0 }, link_p = { 0 };
	int col[C_BASE + 2], crole, cgrades, cemail, cenabled, cagents;

	if (!need_cols(r, f, names, (int)nitems(names), col))
		return;
	crole = csvtab_col(t, "role");
	if (crole < 0 && r->roles == NULL) {
		plan_reject(r->p, fname(f), csvtab_header_line(t), "missing required "
		    "column(s): role (or a roles.csv listed in the manifest)");
		return;
	}
	cgrades = csvtab_col(t, "grades");
	cemail = csvtab_col(t, "email");
	cenabled = csvtab_col(t, "enabledUser");
	cagents = csvtab_col(t, "agentSourcedIds");
	r->usable[f] = usable(r, f);
	r->urole = xcalloc((size_t)csvtab_nrows(t) + 1, sizeof *r->urole);
	r->udel = xcalloc((size_t)csvtab_nrows(t) + 1, sizeof *r->udel);
	for (int row = 0; row < csvtab_nrows(t); row++) {
		const char *id = csvtab_get(t, row, col[C_ID]);
		const char *given = csvtab_get(t, row, col[C_GIVEN]);
		const char *family = csvtab_get(t, row, col[C_FAMILY]);
		const char *grades = csvtab_get(t, row, cgrades);
		const char *email = csvtab_get(t, row, cemail);
		const char *rolestr = csvtab_get(t, row, crole);
		unsigned long line = csvtab_line(t, row);
		bool del, ok = base_row(r, f, row, col, &del);
		bool enabled = strcasecmp(csvtab_get(t, row, cenabled), "false") != 0;
		enum role role;

		if (crole >= 0) {
			role = parse_role(rolestr);
		} else {
			long v = csvtab_map_get(r->roles, id);

			role = v < 0 ? ROLE_NONE : (enum role)(v % 16);
			rolestr = v < 0 ? "" : role_word(role);
		}
		r->urole[row] = role;
		r->udel[row] = del;
		if (role == ROLE_BAD) {
			plan_reject(r->p, fname(f), line, "unknown role '%s'", rolestr);
			ok = false;
		} else if (role == ROLE_NONE && !del) {
			plan_reject(r->p, fname(f), line, crole >= 0 ? "user '%s' has no "
			    "role" : "user '%s' has no role in roles.csv", id);
			ok = false;
		}
		if (csvtab_too_long(given, MAX_NAME) || csvtab_too_long(family, MAX_NAME)) {
			plan_reject(r->p, fname(f), line, "a name longer than %d characters",
			    MAX_NAME);
			ok = false;
		}
		if (role == ROLE_PUPIL && csvtab_too_long(grades, MAX_YEAR)) {
			plan_reject(r->p, fname(f), line, "grades longer than %d characters",
			    MAX_YEAR);
			ok = false;
		}
		if (role == ROLE_TEACHER && csvtab_too_long(email, MAX_EMAIL)) {
			plan_reject(r->p, fname(f), line, "email longer than %d characters",
			    MAX_EMAIL);
			ok = false;
		}
		if (!ok)
			continue;
		if (role == ROLE_OTHER) {
			plan_skip(r->p, fname(f), line, "role '%s' is not imported "
			    "(only students, teachers and guardians)", rolestr);
			continue;
		}
		plan_accept(r->p, fname(f));
		if (!del && (role == ROLE_PUPIL || role == ROLE_GUARDIAN))
			add_links(csvtab_get(t, row, cagents), id, role == ROLE_GUARDIAN, &link_g,
			    &link_p);
		if (role == ROLE_GUARDIAN) {
			const char *params[] = { r->school, id, del ? "false" :
			    enabled ? "true" : "false", r->now };

			if (del && r->mode[f] == MODE_DELTA) {
				const char *dp[] = { r->school, id, r->now };

				plan_add(r->p, fname(f), line, NULL, sql_guardian_delete, 3, dp);
			} else if (!del) {
				plan_add(r->p, fname(f), line, NULL, sql_guardian_upsert, 4, params);
				sbuf_arr_text(&keep_g, id);
			}
			continue;
		}
		if (del) {
			const char *params[] = { r->school, id, r->now };

			if (r->mode[f] != MODE_DELTA)
				continue;	/* the bulk statement deactivates it */
			if (role != ROLE_TEACHER)
				plan_add(r->p, fname(f), line, NULL, sql_pupil_delete, 3, params);
			if (role != ROLE_PUPIL)
				plan_add(r->p, fname(f), line, NULL, sql_teacher_delete, 3,
				    params);
			continue;
		}
		if (role == ROLE_PUPIL) {
			const char *params[] = { r->school, id, opt(given), opt(family),
			    opt(grades), enabled ? "true" : "false", r->now };

			plan_add(r->p, fname(f), line, NULL, sql_pupil_upsert, 7, params);
			sbuf_arr_text(&keep_p, id);
		} else {
			const char *params[] = { r->school, id, opt(given), opt(family),
			    opt(email), enabled ? "true" : "false", r->now };

			plan_add(r->p, fname(f), line, NULL, sql_teacher_upsert, 7, params);
			sbuf_arr_text(&keep_t, id);
		}
	}
	if (r->mode[f] == MODE_BULK) {
		const char *params[1] = { r->school };

		add_bulk(r, f, sql_pupil_bulk, &keep_p);
		add_bulk(r, f, sql_teacher_bulk, &keep_t);
		add_bulk(r, f, sql_guardian_bulk, &keep_g);
		plan_add(r->p, fname(f), 0, NULL, sql_links_clear, 1, params);
	}
	{
		const char *params[3] = { r->school, sbuf_arr_end(&link_g), sbuf_arr_end(&link_p) };

		plan_add(r->p, fname(f), 0, NULL, sql_links_add, 3, params);
	}
	sbuf_free(&keep_p);
	sbuf_free(&keep_t);
	sbuf_free(&keep_g);
	sbuf_free(&link_g);
	sbuf_free(&link_p);
}

/*
 * The in-memory reference checks of one enrollment. Returns 1 to import,
 * 0 to skip (with a note), -1 rejected.
 */
static int
check_enrollment(struct roster *r, unsigned long line, const char *class,
    const char *user, enum role role)
{
	const char *file = fname(RF_ENROLLMENTS);
	long crow = csvtab_map_get(r->ids[RF_CLASSES], class);
	long urow = csvtab_map_get(r->ids[RF_USERS], user);
	int verdict = 1;

	if (crow < 0 && must_be_in_file(r, RF_CLASSES)) {
		plan_reject(r->p, file, line, "unknown class '%s': not in classes.csv",
		    class);
		verdict = -1;
	}
	if (urow < 0 && must_be_in_file(r, RF_USERS)) {
		plan_reject(r->p, file, line, "unknown user '%s': not in users.csv", user);
		verdict = -1;
	}
	if (urow >= 0 && r->urole != NULL && r->urole[urow] != role &&
	    r->urole[urow] != ROLE_NONE && r->urole[urow] != ROLE_BAD) {
		plan_reject(r->p, file, line, "user '%s' is not a %s in users.csv but "
		    "enrolled as one", user, role_word(role));
		verdict = -1;
	}
	if (verdict < 0)
		return verdict;
	/* Deleted in this very set: the enrollment goes with it. */
	if ((urow >= 0 && r->udel != NULL && r->udel[urow]) ||
	    (crow >= 0 && r->cdel != NULL && r->cdel[crow])) {
		plan_skip(r->p, file, line, "the %s is tobedeleted: enrollment not "
		    "imported", urow >= 0 && r->udel != NULL && r->udel[urow] ? "user" :
		    "class");
		return 0;
	}
	return 1;
}

static void
emit_enrollments(struct roster *r, struct pair *pairs, size_t npairs)
{
	const enum rfile f = RF_ENROLLMENTS;
	csvtab *t = r->t[f];
	struct sbuf kc_p = { 0 }, ku_p = { 0 }, kc_t = { 0 }, ku_t = { 0 };
	int ccls = csvtab_col(t, "classSourcedId"), cusr = csvtab_col(t, "userSourcedId");
	int cid = csvtab_col(t, "sourcedId");

	for (size_t i = 0; i < npairs; i++) {
		const struct pair *pr = &pairs[i];
		const char *class = csvtab_get(t, pr->row, ccls);
		const char *user = csvtab_get(t, pr->row, cusr);
		const char *params[] = { r->school, class, user, r->now };
		unsigned long line = csvtab_line(t, pr->row);
		bool pupil = pr->role == ROLE_PUPIL;

		if (pr->active) {
			char *hint = xasprintf("enrollment '%s': class '%s' or %s '%s' is "
			    "in neither the files nor the database",
			    csvtab_get(t, pr->row, cid), class, pupil ? "pupil" : "teacher",
			    user);

			plan_add(r->p, fname(f), line, hint, pupil ? sql_class_pupil_upsert :
			    sql_class_teacher_upsert, 4, params);
			free(hint);
			sbuf_arr_text(pupil ? &kc_p : &kc_t, class);
			sbuf_arr_text(pupil ? &ku_p : &ku_t, user);
		} else if (r->mode[f] == MODE_DELTA) {
			plan_add(r->p, fname(f), line, NULL, pupil ? sql_class_pupil_delete :
			    sql_class_teacher_delete, 4, params);
		}
	}
	if (r->mode[f] == MODE_BULK) {
		const char *pp[] = { r->school, r->now, sbuf_arr_end(&kc_p), sbuf_arr_end(&ku_p) };
		const char *pt[] = { r->school, r->now, sbuf_arr_end(&kc_t), sbuf_arr_end(&ku_t) };

		plan_add(r->p, fname(f), 0, NULL, sql_class_pupil_bulk, 4, pp);
		plan_add(r->p, fname(f), 0, NULL, sql_class_teacher_bulk, 4, pt);
	}
	sbuf_free(&kc_p);
	sbuf_free(&ku_p);
	sbuf_free(&kc_t);
	sbuf_free(&ku_t);
}

static void
do_enrollments(struct roster *r)
{
	static const char *const names[] = { BASE_COLS, "classSourcedId",
	    "userSourcedId", "role" };
	enum { C_CLASS = C_BASE, C_USER, C_ROLE };
	const enum rfile f = RF_ENROLLMENTS;
	csvtab *t = r->t[f];
	csvtab_map *seen;
	struct pair *pairs;
	size_t npairs = 0;
	int col[C_BASE + 3];

	if (!need_cols(r, f, names, (int)nitems(names), col))
		return;
	r->usable[f] = usable(r, f);
	seen = csvtab_map_new();
	pairs = xcalloc((size_t)csvtab_nrows(t) + 1, sizeof *pairs);
	for (int row = 0; row < csvtab_nrows(t); row++) {
		const char *class = csvtab_get(t, row, col[C_CLASS]);
		const char *user = csvtab_get(t, row, col[C_USER]);
		const char *rolestr = csvtab_get(t, row, col[C_ROLE]);
		unsigned long line = csvtab_line(t, row);
		enum role role = parse_role(rolestr);
		bool del, ok = base_row(r, f, row, col, &del);
		char *key;
		long have;

		if (*class == '\0' || *user == '\0') {
			plan_reject(r->p, fname(f), line, "missing %s", *class == '\0' ?
			    "classSourcedId" : "userSourcedId");
			ok = false;
		}
		if (role == ROLE_BAD || role == ROLE_NONE) {
			plan_reject(r->p, fname(f), line, role == ROLE_NONE ? "missing "
			    "role" : "unknown role '%s'", rolestr);
			ok = false;
		}
		if (!ok)
			continue;
		if (role == ROLE_OTHER) {
			plan_skip(r->p, fname(f), line, "role '%s' is not imported "
			    "(only students and teachers)", rolestr);
			continue;
		}
		/* Skipped (0) rows are noted; in bulk mode they end up inactive. */
		if (!del && check_enrollment(r, line, class, user, role) <= 0)
			continue;
		plan_accept(r->p, fname(f));
		/*
		 * One (class, user) may come twice, say a pupil who left and came
		 * back under a new enrollment: active if any row is.
		 */
		key = xasprintf("%c%s\x1f%s", role == ROLE_PUPIL ? 'p' : 't', class, user);
		have = csvtab_map_put(seen, key, (long)npairs);
		free(key);
		if (have >= 0) {
			pairs[have].active = pairs[have].active || !del;
			continue;
		}
		pairs[npairs].row = row;
		pairs[npairs].active = !del;
		pairs[npairs].role = role;
		npairs++;
	}
	emit_enrollments(r, pairs, npairs);
	free(pairs);
	csvtab_map_free(seen);
}

/* Which files are there, in which mode; parse and check their headers. */
static void
open_files(struct roster *r, struct input *in)
{
	bool any = false;

	for (int f = RF_MANIFEST + 1; f < RF_N; f++) {
		unsigned long line;
		const char *e, *dup;

		if (r->mode[f] == MODE_ABSENT) {
			if (in[f].present)
				plan_note(r->p, fname(f), 0, "ignored: the manifest does "
				    "not list it as bulk or delta");
			continue;
		}
		plan_file(r->p, fname(f));
		if (f != RF_ORGS && f != RF_SESSIONS && f != RF_ROLES)
			any = true;
		if (!in[f].present) {
			plan_reject(r->p, fname(f), 0, "missing: the manifest lists it "
			    "as %s", r->mode[f] == MODE_BULK ? "bulk" : "delta");
			continue;
		}
		r->t[f] = csvtab_parse(in[f].buf, in[f].len);
		if ((e = csvtab_error(r->t[f], &line)) != NULL)
			plan_reject(r->p, fname(f), line, "%s", e);
		if ((dup = csvtab_dup_header(r->t[f])) != NULL)
			plan_reject(r->p, fname(f), csvtab_header_line(r->t[f]),
			    "column '%s' appears twice in the header", dup);
	}
	if (!any)
		plan_reject(r->p, fname(RF_MANIFEST), 0, "nothing to import: no courses, "
		    "classes, users or enrollments file is bulk or delta");
}

static void
build(struct roster *r, struct input *in)
{
	const char *e;
	unsigned long line;
	const char *params[] = { r->school };

	if (!in[RF_MANIFEST].present) {
		plan_reject(r->p, fname(RF_MANIFEST), 0, "missing: a OneRoster CSV set "
		    "has a manifest.csv naming its files");
		return;
	}
	r->t[RF_MANIFEST] = csvtab_parse(in[RF_MANIFEST].buf, in[RF_MANIFEST].len);
	if ((e = csvtab_error(r->t[RF_MANIFEST], &line)) != NULL) {
		plan_reject(r->p, fname(RF_MANIFEST), line, "%s", e);
		return;
	}
	if (!read_manifest(r))
		return;
	open_files(r, in);
	plan_add(r->p, NULL, 0, NULL, sql_lock, 1, params);
	for (int f = 0; f < RF_N; f++)
		r->ids[f] = csvtab_map_new();
	/* In dependency order: a file's references are checked against earlier ones. */
	if (r->t[RF_ORGS] != NULL)
		check_only(r, RF_ORGS);
	if (r->t[RF_SESSIONS] != NULL)
		check_only(r, RF_SESSIONS);
	if (r->t[RF_COURSES] != NULL)
		do_courses(r);
	if (r->t[RF_CLASSES] != NULL)
		do_classes(r);
	if (r->t[RF_ROLES] != NULL)
		do_roles(r);
	if (r->t[RF_USERS] != NULL)
		do_users(r);
	if (r->t[RF_ENROLLMENTS] != NULL)
		do_enrollments(r);
}

static plan *
parse(struct input *in, int64_t school_id, const char *now_iso, plan *p)
{
	struct roster r = { 0 };

	r.p = p;
	r.now = now_iso;
	snprintf(r.school, sizeof r.school, "%" PRId64, school_id);
	build(&r, in);
	for (int f = 0; f < RF_N; f++) {
		csvtab_free(r.t[f]);
		csvtab_map_free(r.ids[f]);
	}
	csvtab_map_free(r.roles);
	free(r.urole);
	free(r.udel);
	free(r.cdel);
	return p;
}

static void
free_inputs(struct input *in)
{
	for (int f = 0; f < RF_N; f++)
		free(in[f].buf);
}

/* The file a name is, ASCII case aside (exports vary: Users.csv). */
static int
match_name(const char *base)
{
	for (int f = 0; f < RF_N; f++)
		if (strcasecmp(base, rfiles[f].name) == 0)
			return f;
	return -1;
}

static bool
read_path(const char *path, struct input *in, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "rb");
	struct stat st;
	size_t got;

	if (fp == NULL)
		return util_err(err, errlen, "%s: %s", path, strerror(errno));
	if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(fp);
		return util_err(err, errlen, "%s: not a regular file", path);
	}
	if ((unsigned long long)st.st_size > ROSTER_FILE_MAX) {
		fclose(fp);
		return util_err(err, errlen, "%s: larger than %lu bytes", path,
		    ROSTER_FILE_MAX);
	}
	in->buf = xmalloc((size_t)st.st_size + 1);
	got = fread(in->buf, 1, (size_t)st.st_size, fp);
	if (ferror(fp)) {
		fclose(fp);
		return util_err(err, errlen, "%s: read error", path);
	}
	fclose(fp);
	in->len = got;
	in->present = true;
	return true;
}

bool
roster_parse_dir(const char *dir, int64_t school_id, const char *now_iso,
    plan **out, char *err, size_t errlen)
{
	struct input in[RF_N] = { { 0 } };
	DIR *d = opendir(dir);
	struct dirent *de;
	plan *p = NULL;
	char *path;
	bool ok;

	*out = NULL;
	if (d == NULL)
		return util_err(err, errlen, "%s: %s", dir, strerror(errno));
	p = plan_new();
	while ((de = readdir(d)) != NULL) {
		int f = match_name(de->d_name);

		if (f < 0)
			continue;
		if (in[f].present) {
			plan_reject(p, fname(f), 0, "two files named like %s in %s",
			    fname(f), dir);
			continue;
		}
		path = xasprintf("%s/%s", dir, de->d_name);
		ok = read_path(path, &in[f], err, errlen);
		free(path);
		if (!ok)
			goto fail;
	}
	closedir(d);
	*out = parse(in, school_id, now_iso, p);
	free_inputs(in);
	return true;
fail:
	closedir(d);
	free_inputs(in);
	plan_free(p);
	return false;
}

/* Read entry i of a zip into in, or say in the report why not. */
static void
read_entry(zip_t *za, zip_uint64_t i, enum rfile f, struct input *in, plan *p)
{
	zip_stat_t st;
	zip_file_t *zf;
	zip_int64_t got;

	if (zip_stat_index(za, i, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE)) {
		plan_reject(p, fname(f), 0, "cannot read it from the zip: %s",
		    zip_strerror(za));
		return;
	}
	if (st.size > ROSTER_FILE_MAX) {
		plan_reject(p, fname(f), 0, "larger than %lu bytes unzipped",
		    ROSTER_FILE_MAX);
		return;
	}
	if ((zf = zip_fopen_index(za, i, 0)) == NULL) {
		plan_reject(p, fname(f), 0, "cannot read it from the zip: %s",
		    zip_strerror(za));
		return;
	}
	in->buf = xmalloc((size_t)st.size + 1);
	got = zip_fread(zf, in->buf, st.size);
	if (got < 0 || (zip_uint64_t)got != st.size) {
		plan_reject(p, fname(f), 0, "cannot read it from the zip: %s",
		    got < 0 ? zip_file_strerror(zf) : "short read");
		zip_fclose(zf);
		free(in->buf);
		in->buf = NULL;
		return;
	}
	zip_fclose(zf);
	in->len = (size_t)got;
	in->present = true;
}

bool
roster_parse_zip(const void *buf, size_t len, int64_t school_id,
    const char *now_iso, plan **out, char *err, size_t errlen)
{
	struct input in[RF_N] = { { 0 } };
	zip_error_t ze;
	zip_source_t *src;
	zip_t *za;
	zip_int64_t n;
	plan *p;

	*out = NULL;
	zip_error_init(&ze);
	if ((src = zip_source_buffer_create(buf, len, 0, &ze)) == NULL) {
		util_err(err, errlen, "zip: %s", zip_error_strerror(&ze));
		zip_error_fini(&ze);
		return false;
	}
	if ((za = zip_open_from_source(src, ZIP_RDONLY, &ze)) == NULL) {
		util_err(err, errlen, "not a readable zip archive: %s",
		    zip_error_strerror(&ze));
		zip_source_free(src);
		zip_error_fini(&ze);
		return false;
	}
	zip_error_fini(&ze);
	p = plan_new();
	n = zip_get_num_entries(za, 0);
	for (zip_int64_t i = 0; i < n; i++) {
		const char *name = zip_get_name(za, (zip_uint64_t)i, 0), *base;
		int f;

		/* Folders, and the resource forks macOS adds under __MACOSX/. */
		if (name == NULL || *name == '\0' || name[strlen(name) - 1] == '/' ||
		    strncmp(name, "__MACOSX/", 9) == 0)
			continue;
		base = strrchr(name, '/');
		base = base != NULL ? base + 1 : name;
		if ((f = match_name(base)) < 0)
			continue;
		if (in[f].present) {
			plan_reject(p, fname(f), 0, "two files named %s in the zip (%s is "
			    "the second)", fname(f), name);
			continue;
		}
		read_entry(za, (zip_uint64_t)i, (enum rfile)f, &in[f], p);
	}
	zip_discard(za);	/* read-only: nothing to write back */
	*out = parse(in, school_id, now_iso, p);
	free_inputs(in);
	return true;
}
