/* qbank.c: the question bank CSV into an import plan (format in qbank.h). */
#include "autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "csvtab.h"
#include "plan.h"
#include "qbank.h"
#include "util.h"

/* Schema limits (sql/0002_school_data.sql) and our own, in characters. */
#define MAX_ID		200
#define MAX_NAME	200
#define MAX_PROMPT	2000
#define MAX_EXPLAIN	2000
#define MAX_CHOICE	500
#define MIN_CHOICES	2
#define MAX_CHOICES	10
#define MAX_ANSWERS	50
#define MAX_ORDER	100000
#define MAX_MS		3600000L	/* an hour: beyond is a typo */

enum col {
	C_COURSE, C_UNIT, C_QUESTION, C_KIND, C_PROMPT,	/* required */
	C_COURSE_NAME, C_UNIT_NAME, C_UNIT_ORDER, C_CHOICES, C_ANSWER,
	C_EXPLANATION, C_ACTIVE, C_FAST, C_SLOW, C_N
};
#define C_REQUIRED	(C_PROMPT + 1)

static const char *const col_names[C_N] = {
	"course_id", "unit_id", "question_id", "kind", "prompt",
	"course_name", "unit_name", "unit_order", "choices", "answer",
	"explanation", "active", "fast_ms", "slow_ms",
};

/* A course or unit as the rows describe it: the first row that says wins. */
struct thing {
	int row;		/* first row naming it */
	int name_row;		/* row that gave the name, or -1 */
	int order_row;		/* row that gave unit_order, or -1 */
	const char *course;	/* units: the course's id */
};

struct qbank {
	plan *p;
	const char *file;
	char school[24];
	const char *now;
	csvtab *t;
	int col[C_N];
	csvtab_map *courses, *units, *questions;
	struct thing *cs, *us;
	int ncs, nus;
};

/* Two imports of one school take turns (the same key as roster.c). */
static const char sql_lock[] =
    "SELECT pg_advisory_xact_lock(1919247724, ($1::bigint % 2147483647)::integer)";

/*
 * An empty name keeps the stored one; a new course without a name is NULL,
 * refused by NOT NULL. NOT NULL is checked before ON CONFLICT, hence the
 * lookup in VALUES rather than COALESCE in the UPDATE.
 */
static const char sql_course[] =
    "INSERT INTO course (school_id, external_id, name, active, updated_at)"
    " VALUES ($1::bigint, $2, COALESCE($3::text, (SELECT name FROM course"
    "  WHERE school_id = $1::bigint AND external_id = $2)), true, $4::timestamptz)"
    " ON CONFLICT (school_id, external_id) DO UPDATE"
    " SET name = EXCLUDED.name, updated_at = EXCLUDED.updated_at"
    " WHERE course.name IS DISTINCT FROM EXCLUDED.name";

static const char sql_unit[] =
    "INSERT INTO unit (school_id, course_id, external_id, name, position, active,"
    "  updated_at)"
    " VALUES ($1::bigint,"
    "  (SELECT course_id FROM course WHERE school_id = $1::bigint AND external_id = $2),"
    "  $3, COALESCE($4::text, (SELECT name FROM unit"
    "  WHERE school_id = $1::bigint AND external_id = $3)),"
    "  COALESCE($5::integer, (SELECT position FROM unit"
    "  WHERE school_id = $1::bigint AND external_id = $3), 0),"
    "  true, $6::timestamptz)"
    " ON CONFLICT (school_id, external_id) DO UPDATE"
    " SET course_id = EXCLUDED.course_id, name = EXCLUDED.name,"
    "  position = EXCLUDED.position, updated_at = EXCLUDED.updated_at"
    " WHERE (unit.course_id, unit.name, unit.position)"
    "  IS DISTINCT FROM (EXCLUDED.course_id, EXCLUDED.name, EXCLUDED.position)";

/*
 * Versioning in one statement: the CTE keeps the old content when the
 * content differs (both parts read the state before the statement), the
 * upsert bumps version under the same condition, and a row that changes
 * nothing at all is not written (updated_at included).
 */
#define Q_CONTENT_OLD	"(question.kind, question.prompt, question.choices," \
	" question.correct_choice, question.accepted_answers, question.explanation)"
#define Q_CONTENT_NEW	"(EXCLUDED.kind, EXCLUDED.prompt, EXCLUDED.choices," \
	" EXCLUDED.correct_choice, EXCLUDED.accepted_answers, EXCLUDED.explanation)"
static const char sql_question[] =
    "WITH old AS ("
    " INSERT INTO question_version (school_id, question_id, version, kind, prompt,"
    "  choices, correct_choice, accepted_answers, explanation, replaced_at)"
    " SELECT q.school_id, q.question_id, q.version, q.kind, q.prompt, q.choices,"
    "  q.correct_choice, q.accepted_answers, q.explanation, $12::timestamptz"
    " FROM question q WHERE q.school_id = $1::bigint AND q.external_id = $3"
    " AND (q.kind, q.prompt, q.choices, q.correct_choice, q.accepted_answers,"
    "  q.explanation) IS DISTINCT FROM ($4::text, $5::text, $6::jsonb, $7::integer,"
    "  $8::jsonb, $9::text)"
    " RETURNING 1)"
    " INSERT INTO question (school_id, unit_id, external_id, kind, prompt, choices,"
    "  correct_choice, accepted_answers, explanation, fast_ms, slow_ms, active,"
    "  version, updated_at)"
    " VALUES ($1::bigint,"
    "  (SELECT unit_id FROM unit WHERE school_id = $1::bigint AND external_id = $2),"
    "  $3, $4::text, $5::text, $6::jsonb, $7::integer, $8::jsonb, $9::text,"
    "  $10::integer, $11::integer, $13::boolean, 1, $12::timestamptz)"
    " ON CONFLICT (school_id, external_id) DO UPDATE"
    " SET unit_id = EXCLUDED.unit_id, kind = EXCLUDED.kind, prompt = EXCLUDED.prompt,"
    "  choices = EXCLUDED.choices, correct_choice = EXCLUDED.correct_choice,"
    "  accepted_answers = EXCLUDED.accepted_answers,"
    "  explanation = EXCLUDED.explanation, fast_ms = EXCLUDED.fast_ms,"
    "  slow_ms = EXCLUDED.slow_ms, active = EXCLUDED.active,"
    "  version = question.version + CASE WHEN " Q_CONTENT_OLD
    "   IS DISTINCT FROM " Q_CONTENT_NEW " THEN 1 ELSE 0 END,"
    "  updated_at = EXCLUDED.updated_at"
    " WHERE (question.unit_id, question.fast_ms, question.slow_ms, question.active)"
    "  IS DISTINCT FROM (EXCLUDED.unit_id, EXCLUDED.fast_ms, EXCLUDED.slow_ms,"
    "  EXCLUDED.active)"
    " OR " Q_CONTENT_OLD " IS DISTINCT FROM " Q_CONTENT_NEW;

static const char *
get(const struct qbank *q, int row, enum col c)
{
	return csvtab_get(q->t, row, q->col[c]);
}

static unsigned long
line_of(const struct qbank *q, int row)
{
	return csvtab_line(q->t, row);
}

/* Digits only, within [lo, hi]. */
static bool
parse_int(const char *s, long lo, long hi, long *out)
{
	long v = 0;

	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (*s - '0');
		if (v > hi)
			return false;
	}
	if (v < lo)
		return false;
	*out = v;
	return true;
}

/*
 * Split s at '|' into trimmed parts (pointers into a copy the caller
 * frees). Returns the count; stops counting at max + 1.
 */
static int
split_bar(const char *s, char **copy, char **parts, int max)
{
	char *p, *q;
	int n = 0;

	*copy = xstrdup(s);
	for (p = *copy; n <= max; p = q + 1) {
		char *end;

		q = strchr(p, '|');
		if (q != NULL)
			*q = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		end = p + strlen(p);
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		parts[n++] = p;
		if (q == NULL)
			break;
	}
	return n;
}

static char *
json_strings(char *const *parts, int n)
{
	json_t *a = json_array();
	char *s;

	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_string(parts[i]));
	s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	if (s == NULL)
		abort();	/* only out of memory: the strings are valid UTF-8 */
	return s;
}

/* Check choices and answer of an mcq row; *choices_json, *correct out. */
static bool
check_mcq(struct qbank *q, int row, char **choices_json, char *correct, size_t clen)
{
	char *parts[MAX_CHOICES + 1], *copy;
	const char *answer = get(q, row, C_ANSWER);
	unsigned long line = line_of(q, row);
	int n, found = -1;
	long num;
	bool ok = true;

	if (q->col[C_CHOICES] < 0 || *get(q, row, C_CHOICES) == '\0') {
		plan_reject(q->p, q->file, line, "an mcq question needs choices");
		return false;
	}
	n = split_bar(get(q, row, C_CHOICES), &copy, parts, MAX_CHOICES);
	if (n < MIN_CHOICES || n > MAX_CHOICES) {
		plan_reject(q->p, q->file, line, "%s choices: an mcq question has %d to %d, "
		    "separated by |", n > MAX_CHOICES ? "more than 10" : "fewer than 2",
		    MIN_CHOICES, MAX_CHOICES);
		free(copy);
		return false;
	}
	for (int i = 0; i < n && ok; i++) {
		if (*parts[i] == '\0') {
			plan_reject(q->p, q->file, line, "choice %d is empty", i + 1);
			ok = false;
		} else if (csvtab_too_long(parts[i], MAX_CHOICE)) {
			plan_reject(q->p, q->file, line, "choice %d is longer than %d "
			    "characters", i + 1, MAX_CHOICE);
			ok = false;
		}
		for (int j = 0; j < i && ok; j++)
			if (strcmp(parts[i], parts[j]) == 0) {
				plan_reject(q->p, q->file, line, "choices %d and %d are the "
				    "same", j + 1, i + 1);
				ok = false;
			}
	}
	if (ok) {
		char *acopy, *ap[2];

		/* The answer trimmed like the choices. */
		(void)split_bar(answer, &acopy, ap, 0);
		for (int i = 0; i < n && found < 0; i++)
			if (strcmp(ap[0], parts[i]) == 0)
				found = i;
		if (found < 0 && parse_int(ap[0], 1, n, &num))
			found = (int)num - 1;
		if (found < 0) {
			plan_reject(q->p, q->file, line, *ap[0] == '\0' ? "an mcq question "
			    "needs an answer: the right choice or its number" : "answer "
			    "'%s' is not one of the choices nor a choice's number", ap[0]);
			ok = false;
		}
		free(acopy);
	}
	if (ok) {
		*choices_json = json_strings(parts, n);
		snprintf(correct, clen, "%d", found);
	}
	free(copy);
	return ok;
}

static bool
check_short(struct qbank *q, int row, char **answers_json)
{
	char *parts[MAX_ANSWERS + 1], *copy;
	unsigned long line = line_of(q, row);
	int n;
	bool ok = true;

	if (*get(q, row, C_ANSWER) == '\0') {
		plan_reject(q->p, q->file, line, "a short question needs its accepted "
		    "answers, separated by |");
		return false;
	}
	n = split_bar(get(q, row, C_ANSWER), &copy, parts, MAX_ANSWERS);
	if (n > MAX_ANSWERS) {
		plan_reject(q->p, q->file, line, "more than %d accepted answers",
		    MAX_ANSWERS);
		ok = false;
	}
	for (int i = 0; i < n && ok; i++) {
		if (*parts[i] == '\0') {
			plan_reject(q->p, q->file, line, "accepted answer %d is empty", i + 1);
			ok = false;
		} else if (csvtab_too_long(parts[i], MAX_CHOICE)) {
			plan_reject(q->p, q->file, line, "accepted answer %d is longer than "
			    "%d characters", i + 1, MAX_CHOICE);
			ok = false;
		}
	}
	if (ok)
		*answers_json = json_strings(parts, n);
	free(copy);
	return ok;
}

/* A course or unit seen on row: first sight, or a check against it. */
static int
thing_at(csvtab_map *m, struct thing **v, int *n, const char *id, int row)
{
	long have = csvtab_map_put(m, id, *n);

	if (have >= 0)
		return (int)have;
	*v = xreallocarray(*v, (size_t)*n + 1, sizeof **v);
	(*v)[*n].row = row;
	(*v)[*n].name_row = -1;
	(*v)[*n].order_row = -1;
	(*v)[*n].course = NULL;
	return (*n)++;
}

/* Rows naming one course or unit must agree; the first that says wins. */
static bool
agree(struct qbank *q, int row, int *first, enum col c, const char *what,
    const char *id)
{
	const char *v = get(q, row, c);

	if (*v == '\0')
		return true;
	if (*first < 0) {
		*first = row;
		return true;
	}
	if (strcmp(v, get(q, *first, c)) == 0)
		return true;
	plan_reject(q->p, q->file, line_of(q, row), "%s '%s': %s '%s' differs from "
	    "'%s' on line %lu", what, id, col_names[c], v, get(q, *first, c),
	    line_of(q, *first));
	return false;
}

static bool
check_structure(struct qbank *q, int row)
{
	const char *course = get(q, row, C_COURSE), *unit = get(q, row, C_UNIT);
	unsigned long line = line_of(q, row);
	long order;
	struct thing *u;
	bool ok = true;
	int i;

	if (*course == '\0' || *unit == '\0') {
		plan_reject(q->p, q->file, line, "missing %s", *course == '\0' ?
		    "course_id" : "unit_id");
		return false;
	}
	if (csvtab_too_long(course, MAX_ID) || csvtab_too_long(unit, MAX_ID)) {
		plan_reject(q->p, q->file, line, "%s longer than %d characters",
		    csvtab_too_long(course, MAX_ID) ? "course_id" : "unit_id", MAX_ID);
		return false;
	}
	if (csvtab_too_long(get(q, row, C_COURSE_NAME), MAX_NAME) ||
	    csvtab_too_long(get(q, row, C_UNIT_NAME), MAX_NAME)) {
		plan_reject(q->p, q->file, line, "a course or unit name longer than %d "
		    "characters", MAX_NAME);
		ok = false;
	}
	if (*get(q, row, C_UNIT_ORDER) != '\0' &&
	    !parse_int(get(q, row, C_UNIT_ORDER), 0, MAX_ORDER, &order)) {
		plan_reject(q->p, q->file, line, "unit_order '%s' is not an integer from "
		    "0 to %d", get(q, row, C_UNIT_ORDER), MAX_ORDER);
		ok = false;
	}
	if (!ok)
		return false;
	i = thing_at(q->courses, &q->cs, &q->ncs, course, row);
	ok = agree(q, row, &q->cs[i].name_row, C_COURSE_NAME, "course", course);
	i = thing_at(q->units, &q->us, &q->nus, unit, row);
	u = &q->us[i];
	if (u->course == NULL) {
		u->course = course;
	} else if (strcmp(u->course, course) != 0) {
		plan_reject(q->p, q->file, line, "unit '%s' is in course '%s' on line %lu, "
		    "here in '%s'", unit, u->course, line_of(q, u->row), course);
		ok = false;
	}
	ok = agree(q, row, &u->name_row, C_UNIT_NAME, "unit", unit) && ok;
	ok = agree(q, row, &u->order_row, C_UNIT_ORDER, "unit", unit) && ok;
	return ok;
}

static void
do_row(struct qbank *q, int row, bool structure_ok)
{
	const char *id = get(q, row, C_QUESTION), *kind = get(q, row, C_KIND);
	const char *prompt = get(q, row, C_PROMPT), *expl = get(q, row, C_EXPLANATION);
	const char *active = get(q, row, C_ACTIVE), *fast = get(q, row, C_FAST);
	const char *slow = get(q, row, C_SLOW);
	unsigned long line = line_of(q, row);
	char *choices = NULL, *answers = NULL, correct[16] = "";
	const char *kinds[] = { "mcq", "short", "self", "external" }, *k = NULL;
	long first, vfast = 0, vslow = 0;
	bool ok = true;

	if (*id == '\0') {
		plan_reject(q->p, q->file, line, "missing question_id");
		ok = false;
	} else if (csvtab_too_long(id, MAX_ID)) {
		plan_reject(q->p, q->file, line, "question_id longer than %d characters",
		    MAX_ID);
		ok = false;
	} else if ((first = csvtab_map_put(q->questions, id, row)) >= 0) {
		plan_reject(q->p, q->file, line, "duplicate question_id '%s' (first on "
		    "line %lu)", id, line_of(q, (int)first));
		ok = false;
	}
	ok = structure_ok && ok;
	for (size_t i = 0; i < nitems(kinds); i++)
		if (strcasecmp(kind, kinds[i]) == 0)
			k = kinds[i];
	if (k == NULL) {
		plan_reject(q->p, q->file, line, "kind '%s' is not mcq, short, self or "
		    "external", kind);
		ok = false;
	}
	if (*prompt == '\0' || csvtab_too_long(prompt, MAX_PROMPT)) {
		plan_reject(q->p, q->file, line, *prompt == '\0' ? "empty prompt" :
		    "prompt longer than %d characters", MAX_PROMPT);
		ok = false;
	}
	if (csvtab_too_long(expl, MAX_EXPLAIN)) {
		plan_reject(q->p, q->file, line, "explanation longer than %d characters",
		    MAX_EXPLAIN);
		ok = false;
	}
	if (*active != '\0' && strcasecmp(active, "true") != 0 &&
	    strcasecmp(active, "false") != 0) {
		plan_reject(q->p, q->file, line, "active '%s' is not true or false", active);
		ok = false;
	}
	if ((*fast != '\0' && !parse_int(fast, 1, MAX_MS, &vfast)) ||
	    (*slow != '\0' && !parse_int(slow, 1, MAX_MS, &vslow))) {
		plan_reject(q->p, q->file, line, "fast_ms and slow_ms are whole "
		    "milliseconds from 1 to %ld", MAX_MS);
		ok = false;
	} else if (*fast != '\0' && *slow != '\0' && vfast >= vslow) {
		plan_reject(q->p, q->file, line, "fast_ms %ld is not below slow_ms %ld",
		    vfast, vslow);
		ok = false;
	}
	if (k != NULL && strcmp(k, "mcq") == 0) {
		ok = check_mcq(q, row, &choices, correct, sizeof correct) && ok;
	} else if (k != NULL) {
		if (*get(q, row, C_CHOICES) != '\0') {
			plan_reject(q->p, q->file, line, "choices are for mcq questions, "
			    "this one is %s", k);
			ok = false;
		}
		if (strcmp(k, "short") == 0) {
			ok = check_short(q, row, &answers) && ok;
		} else if (*get(q, row, C_ANSWER) != '\0') {
			plan_reject(q->p, q->file, line, "a %s question takes no answer: "
			    "leave it empty", k);
			ok = false;
		}
	}
	if (ok) {
		const char *params[] = { q->school, get(q, row, C_UNIT), id, k, prompt,
		    choices, *correct != '\0' ? correct : NULL, answers,
		    *expl != '\0' ? expl : NULL, *fast != '\0' ? fast : NULL,
		    *slow != '\0' ? slow : NULL, q->now,
		    strcasecmp(active, "false") == 0 ? "false" : "true" };

		plan_accept(q->p, q->file);
		plan_add(q->p, q->file, line, NULL, sql_question, 13, params);
	}
	free(choices);
	free(answers);
}

static void
build(struct qbank *q, const void *buf, size_t len)
{
	const char *e, *dup;
	unsigned long line;
	char missing[256] = "";
	size_t used = 0;
	char *sok;	/* per row: 0 malformed, 1 structure fine, 2 rejected */

	q->t = csvtab_parse(buf, len);
	if ((e = csvtab_error(q->t, &line)) != NULL)
		plan_reject(q->p, q->file, line, "%s", e);
	if (csvtab_ncols(q->t) == 0)
		return;
	if ((dup = csvtab_dup_header(q->t)) != NULL)
		plan_reject(q->p, q->file, csvtab_header_line(q->t), "column '%s' appears "
		    "twice in the header", dup);
	for (int c = 0; c < C_N; c++) {
		q->col[c] = csvtab_col(q->t, col_names[c]);
		if (c < C_REQUIRED && q->col[c] < 0)
			used += (size_t)snprintf(missing + used, sizeof missing - used,
			    "%s%s", used > 0 ? ", " : "", col_names[c]);
	}
	if (used > 0) {
		plan_reject(q->p, q->file, csvtab_header_line(q->t), "missing required "
		    "column(s): %s", missing);
		return;
	}
	{
		const char *params[] = { q->school };

		plan_add(q->p, NULL, 0, NULL, sql_lock, 1, params);
	}
	/* Courses and units first: the questions' statements need them. */
	sok = xcalloc((size_t)csvtab_nrows(q->t) + 1, sizeof *sok);
	for (int row = 0; row < csvtab_nrows(q->t); row++) {
		if (csvtab_nfields(q->t, row) != csvtab_ncols(q->t)) {
			plan_reject(q->p, q->file, line_of(q, row), "%d fields, the header "
			    "has %d (an unquoted comma?)", csvtab_nfields(q->t, row),
			    csvtab_ncols(q->t));
			continue;
		}
		sok[row] = check_structure(q, row) ? 1 : 2;
	}
	for (int i = 0; i < q->ncs; i++) {
		const struct thing *c = &q->cs[i];
		const char *id = get(q, c->row, C_COURSE);
		const char *name = c->name_row >= 0 ? get(q, c->name_row, C_COURSE_NAME) : NULL;
		const char *params[] = { q->school, id, name, q->now };
		char *hint = xasprintf("course '%s' is new: give its course_name", id);

		plan_add(q->p, q->file, line_of(q, c->row), hint, sql_course, 4, params);
		free(hint);
	}
	for (int i = 0; i < q->nus; i++) {
		const struct thing *u = &q->us[i];
		const char *id = get(q, u->row, C_UNIT);
		const char *params[] = { q->school, u->course, id,
		    u->name_row >= 0 ? get(q, u->name_row, C_UNIT_NAME) : NULL,
		    u->order_row >= 0 ? get(q, u->order_row, C_UNIT_ORDER) : NULL, q->now };
		char *hint = xasprintf("unit '%s' is new: give its unit_name", id);

		plan_add(q->p, q->file, line_of(q, u->row), hint, sql_unit, 6, params);
		free(hint);
	}
	for (int row = 0; row < csvtab_nrows(q->t); row++)
		if (sok[row] != 0)
			do_row(q, row, sok[row] == 1);
	free(sok);
}

bool
qbank_parse(const void *buf, size_t len, const char *name, int64_t school_id,
    const char *now_iso, plan **out, char *err, size_t errlen)
{
	struct qbank q = { 0 };

	q.p = plan_new();
	q.file = name != NULL ? name : "questions.csv";
	q.now = now_iso;
	snprintf(q.school, sizeof q.school, "%" PRId64, school_id);
	q.courses = csvtab_map_new();
	q.units = csvtab_map_new();
	q.questions = csvtab_map_new();
	plan_file(q.p, q.file);
	build(&q, buf, len);
	csvtab_free(q.t);
	csvtab_map_free(q.courses);
	csvtab_map_free(q.units);
	csvtab_map_free(q.questions);
	free(q.cs);
	free(q.us);
	*out = q.p;
	return true;
}
