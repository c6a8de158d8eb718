/* plan.c: import plans: statements with origins, the report, the run. */
#include "autoconf.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "util.h"

/*
 * Statements per pipeline sync. One sync per chunk bounds what is in
 * flight and lets a failure stop the sending early; inside BEGIN a sync
 * does not commit, so the chunks still form one transaction.
 */
#define PLAN_CHUNK	1000
/* Names of a run's prepared statements on the caller's connection. */
#define PLAN_PREP_FMT	"recalld_plan_%d"

struct stmt {
	const char *sql;
	int prep;		/* its prepared statement while running */
	int nparams;
	int file;		/* index into files, or -1 */
	unsigned long line;
	char *hint;
	char **params;		/* one block: the pointers, then the strings */
};

struct pfile {
	char *name;
	long accepted;
	long skipped;
};

struct entry {
	int file;		/* index into files, or -1 */
	unsigned long line;
	char *text;
};

struct plan {
	struct stmt *s;
	int n, cap;
	struct pfile *files;
	int nfiles;
	struct entry *rej;
	int nrej, caprej;
	long rej_total;
	struct entry *notes;
	int nnotes, capnotes;
	long notes_total;
	bool applied;
};

plan *
plan_new(void)
{
	return xcalloc(1, sizeof(plan));
}

void
plan_free(plan *p)
{
	if (p == NULL)
		return;
	for (int i = 0; i < p->n; i++) {
		free(p->s[i].hint);
		free(p->s[i].params);
	}
	free(p->s);
	for (int i = 0; i < p->nfiles; i++)
		free(p->files[i].name);
	free(p->files);
	for (int i = 0; i < p->nrej; i++)
		free(p->rej[i].text);
	free(p->rej);
	for (int i = 0; i < p->nnotes; i++)
		free(p->notes[i].text);
	free(p->notes);
	free(p);
}

static int
file_index(plan *p, const char *file)
{
	if (file == NULL)
		return -1;
	for (int i = 0; i < p->nfiles; i++)
		if (strcmp(p->files[i].name, file) == 0)
			return i;
	p->files = xreallocarray(p->files, (size_t)p->nfiles + 1, sizeof *p->files);
	p->files[p->nfiles].name = xstrdup(file);
	p->files[p->nfiles].accepted = 0;
	p->files[p->nfiles].skipped = 0;
	return p->nfiles++;
}

void
plan_add(plan *p, const char *file, unsigned long line, const char *hint,
    const char *sql, int nparams, const char *const *params)
{
	struct stmt *s;
	size_t size = (size_t)nparams * sizeof(char *);
	char *q;

	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 256;
		p->s = xreallocarray(p->s, (size_t)p->cap, sizeof *p->s);
	}
	s = &p->s[p->n++];
	s->sql = sql;
	s->nparams = nparams;
	s->file = file_index(p, file);
	s->line = line;
	s->hint = hint != NULL ? xstrdup(hint) : NULL;
	/* One allocation per statement: a roster has tens of thousands. */
	for (int i = 0; i < nparams; i++)
		if (params[i] != NULL)
			size += strlen(params[i]) + 1;
	s->params = xmalloc(size);
	q = (char *)(s->params + nparams);
	for (int i = 0; i < nparams; i++) {
		if (params[i] == NULL) {
			s->params[i] = NULL;
			continue;
		}
		size_t len = strlen(params[i]) + 1;

		memcpy(q, params[i], len);
		s->params[i] = q;
		q += len;
	}
}

int
plan_count(const plan *p)
{
	return p->n;
}

const char *
plan_sql(const plan *p, int i)
{
	return p->s[i].sql;
}

int
plan_nparams(const plan *p, int i)
{
	return p->s[i].nparams;
}

const char *const *
plan_params(const plan *p, int i)
{
	return (const char *const *)p->s[i].params;
}

const char *
plan_origin_file(const plan *p, int i)
{
	return p->s[i].file >= 0 ? p->files[p->s[i].file].name : NULL;
}

unsigned long
plan_origin_line(const plan *p, int i)
{
	return p->s[i].line;
}

void
plan_file(plan *p, const char *file)
{
	(void)file_index(p, file);
}

void
plan_accept(plan *p, const char *file)
{
	p->files[file_index(p, file)].accepted++;
}

long
plan_accepted(const plan *p, const char *file)
{
	for (int i = 0; i < p->nfiles; i++)
		if (strcmp(p->files[i].name, file) == 0)
			return p->files[i].accepted;
	return 0;
}

static void
add_entry(struct entry **v, int *n, int *cap, int max, long *total, int file,
    unsigned long line, const char *fmt, va_list ap)
{
	(*total)++;
	if (*n >= max)
		return;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*v = xreallocarray(*v, (size_t)*cap, sizeof **v);
	}
	(*v)[*n].file = file;
	(*v)[*n].line = line;
	(*v)[*n].text = xvasprintf(fmt, ap);
	(*n)++;
}

void
plan_note(plan *p, const char *file, unsigned long line, const char *fmt, ...)
{
	va_list ap;
	int f = file_index(p, file);

	va_start(ap, fmt);
	add_entry(&p->notes, &p->nnotes, &p->capnotes, PLAN_NOTES_MAX, &p->notes_total,
	    f, line, fmt, ap);
	va_end(ap);
}

void
plan_skip(plan *p, const char *file, unsigned long line, const char *fmt, ...)
{
	va_list ap;
	int f = file_index(p, file);

	p->files[f].skipped++;
	va_start(ap, fmt);
	add_entry(&p->notes, &p->nnotes, &p->capnotes, PLAN_NOTES_MAX, &p->notes_total,
	    f, line, fmt, ap);
	va_end(ap);
}

void
plan_reject(plan *p, const char *file, unsigned long line, const char *fmt, ...)
{
	va_list ap;
	int f = file_index(p, file);

	va_start(ap, fmt);
	add_entry(&p->rej, &p->nrej, &p->caprej, PLAN_REJECTED_MAX, &p->rej_total,
	    f, line, fmt, ap);
	va_end(ap);
}

int
plan_nrejected(const plan *p)
{
	return p->rej_total > 0x7fffffffL ? 0x7fffffff : (int)p->rej_total;
}

int
plan_first_error(PGresult *const *results, int n)
{
	for (int i = 0; i < n; i++)
		if (results[i] != NULL && PQresultStatus(results[i]) == PGRES_FATAL_ERROR)
			return i;
	return -1;
}

/* The first line of a libpq message, without "ERROR:  ". */
static char *
first_line(const char *msg)
{
	size_t n;

	if (msg == NULL)
		msg = "unknown error";
	if (strncmp(msg, "ERROR:  ", 8) == 0)
		msg += 8;
	n = strcspn(msg, "\n");
	while (n > 0 && (msg[n - 1] == ' ' || msg[n - 1] == '\r'))
		n--;
	return xstrndup(msg, n);
}

void
plan_fail(plan *p, int i, const char *message)
{
	char *m = first_line(message);

	if (i < 0 || i >= p->n)
		plan_reject(p, NULL, 0, "the database: %s", m);
	else if (p->s[i].hint != NULL)
		plan_reject(p, plan_origin_file(p, i), p->s[i].line, "%s (the database "
		    "said: %s)", p->s[i].hint, m);
	else
		plan_reject(p, plan_origin_file(p, i), p->s[i].line, "the database "
		    "refused this row: %s", m);
	free(m);
}

void
plan_set_applied(plan *p, bool applied)
{
	p->applied = applied;
}

bool
plan_applied(const plan *p)
{
	return p->applied;
}

static bool
simple(PGconn *pg, const char *sql, char *err, size_t errlen)
{
	PGresult *res = PQexec(pg, sql);
	bool ok = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok)
		util_err(err, errlen, "%s: %s", sql, res != NULL ?
		    PQresultErrorMessage(res) : PQerrorMessage(pg));
	PQclear(res);
	return ok;
}

/* "users.csv:14: reason" for err, from the last report entry. */
static void
fail_message(const plan *p, char *err, size_t errlen)
{
	const struct entry *e;

	if (p->nrej == 0) {
		util_err(err, errlen, "import failed");
		return;
	}
	e = &p->rej[p->nrej - 1];
	if (e->file < 0)
		util_err(err, errlen, "%s", e->text);
	else if (e->line > 0)
		util_err(err, errlen, "%s:%lu: %s", p->files[e->file].name, e->line, e->text);
	else
		util_err(err, errlen, "%s: %s", p->files[e->file].name, e->text);
}

/*
 * Send statements [start, end) and a sync; read their results. Returns
 * false when the connection broke (err set); *failed is the index of the
 * first refused statement (its message in *msg), or left alone.
 */
static bool
run_chunk(PGconn *pg, const plan *p, int start, int end, int *failed, char **msg,
    char *err, size_t errlen)
{
	PGresult *res;
	char name[32];

	for (int i = start; i < end; i++) {
		const struct stmt *s = &p->s[i];

		snprintf(name, sizeof name, PLAN_PREP_FMT, s->prep);
		if (!PQsendQueryPrepared(pg, name, s->nparams,
		    (const char *const *)s->params, NULL, NULL, 0))
			return util_err(err, errlen, "sending a statement: %s",
			    PQerrorMessage(pg));
	}
	if (!PQpipelineSync(pg))
		return util_err(err, errlen, "pipeline sync: %s", PQerrorMessage(pg));
	for (int i = start; i < end; i++) {
		/* A statement's results, then NULL. */
		while ((res = PQgetResult(pg)) != NULL) {
			if (PQresultStatus(res) == PGRES_FATAL_ERROR && *failed < 0) {
				*failed = i;
				*msg = xstrdup(PQresultErrorMessage(res));
			}
			PQclear(res);
		}
		if (PQstatus(pg) != CONNECTION_OK)
			return util_err(err, errlen, "connection lost: %s", PQerrorMessage(pg));
	}
	res = PQgetResult(pg);
	if (res == NULL || PQresultStatus(res) != PGRES_PIPELINE_SYNC) {
		PQclear(res);
		return util_err(err, errlen, "pipeline out of step: %s", PQerrorMessage(pg));
	}
	PQclear(res);
	return true;
}

/*
 * A plan repeats a handful of statements thousands of times: parse and
 * plan each once. Sets *nprep to how many are prepared (to deallocate);
 * false after a failure, which is in the report and err.
 */
static bool
prepare_all(PGconn *pg, plan *p, int *nprep, char *err, size_t errlen)
{
	const char **distinct = NULL;
	char name[32];
	PGresult *res;
	bool ok = true;

	*nprep = 0;
	for (int i = 0; i < p->n && ok; i++) {
		int j = 0;

		while (j < *nprep && distinct[j] != p->s[i].sql)
			j++;
		p->s[i].prep = j;
		if (j < *nprep)
			continue;
		snprintf(name, sizeof name, PLAN_PREP_FMT, j);
		res = PQprepare(pg, name, p->s[i].sql, p->s[i].nparams, NULL);
		if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
			plan_fail(p, i, res != NULL ? PQresultErrorMessage(res) :
			    PQerrorMessage(pg));
			fail_message(p, err, errlen);
			ok = false;
		} else {
			distinct = xreallocarray(distinct, (size_t)*nprep + 1,
			    sizeof *distinct);
			distinct[(*nprep)++] = p->s[i].sql;
		}
		PQclear(res);
	}
	free(distinct);
	return ok;
}

/* Prepared statements outlive transactions: drop ours, whatever happened. */
static void
deallocate_all(PGconn *pg, int nprep)
{
	char sql[64];

	for (int i = 0; i < nprep && PQstatus(pg) == CONNECTION_OK; i++) {
		snprintf(sql, sizeof sql, "DEALLOCATE " PLAN_PREP_FMT, i);
		PQclear(PQexec(pg, sql));
	}
}

static bool
run_prepared(PGconn *pg, plan *p, bool commit, int *nprep, char *err, size_t errlen)
{
	int failed = -1;
	char *msg = NULL;
	bool broken = false;

	if (!simple(pg, "BEGIN", err, errlen)) {
		plan_fail(p, -1, err);
		return false;
	}
	if (!prepare_all(pg, p, nprep, err, errlen)) {
		PQclear(PQexec(pg, "ROLLBACK"));
		return false;
	}
	if (PQenterPipelineMode(pg) != 1) {
		util_err(err, errlen, "cannot enter pipeline mode: %s", PQerrorMessage(pg));
		plan_fail(p, -1, err);
		PQclear(PQexec(pg, "ROLLBACK"));
		return false;
	}
	for (int start = 0; start < p->n && failed < 0 && !broken; start += PLAN_CHUNK) {
		int end = p->n - start > PLAN_CHUNK ? start + PLAN_CHUNK : p->n;

		broken = !run_chunk(pg, p, start, end, &failed, &msg, err, errlen);
	}
	if (broken || PQexitPipelineMode(pg) != 1) {
		if (!broken)
			util_err(err, errlen, "cannot leave pipeline mode: %s",
			    PQerrorMessage(pg));
		/* The server rolls the transaction back when the caller hangs up. */
		plan_fail(p, -1, err);
		free(msg);
		return false;
	}
	if (failed >= 0) {
		plan_fail(p, failed, msg);
		free(msg);
		fail_message(p, err, errlen);
		PQclear(PQexec(pg, "ROLLBACK"));
		return false;
	}
	if (!commit)
		return simple(pg, "ROLLBACK", err, errlen);
	if (!simple(pg, "COMMIT", err, errlen)) {
		/* A deferred check or a lost connection: nothing was applied. */
		plan_fail(p, -1, err);
		return false;
	}
	p->applied = true;
	return true;
}

static bool
run(PGconn *pg, plan *p, bool commit, char *err, size_t errlen)
{
	int nprep = 0;
	bool ok;

	p->applied = false;
	if (p->rej_total > 0)
		return util_err(err, errlen, "%ld problem(s) in the input: nothing applied",
		    p->rej_total);
	ok = run_prepared(pg, p, commit, &nprep, err, errlen);
	deallocate_all(pg, nprep);
	return ok;
}

bool
plan_exec(PGconn *pg, plan *p, char *err, size_t errlen)
{
	return run(pg, p, true, err, errlen);
}

bool
plan_check(PGconn *pg, plan *p, char *err, size_t errlen)
{
	return run(pg, p, false, err, errlen);
}

static int
cmp_entry(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a;
	const struct entry *y = *(const struct entry *const *)b;
	/* Files in report order, whole-run problems (-1) last. */
	unsigned fx = (unsigned)x->file, fy = (unsigned)y->file;

	if (fx != fy)
		return fx < fy ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x < y ? -1 : x > y;	/* same array: keeps the order found */
}

/*
 * Entries by file and line: problems are found file by file and pass by
 * pass (a malformed record ends a file before its rows are checked), but
 * a person reads the report alongside the file. Caller frees.
 */
static const struct entry **
sorted(const struct entry *v, int n)
{
	const struct entry **o = xcalloc((size_t)n + 1, sizeof *o);

	for (int i = 0; i < n; i++)
		o[i] = &v[i];
	qsort(o, (size_t)n, sizeof *o, cmp_entry);
	return o;
}

static json_t *
entry_json(const plan *p, const struct entry *e, const char *key)
{
	return json_pack("{s:o, s:I, s:s}",
	    "file", e->file >= 0 ? json_string(p->files[e->file].name) : json_null(),
	    "line", (json_int_t)e->line, key, e->text);
}

json_t *
plan_report_json(const plan *p)
{
	json_t *acc = json_object(), *skip = json_object(), *rej = json_array(),
	    *notes = json_array(), *o;
	const struct entry **sr = sorted(p->rej, p->nrej), **sn = sorted(p->notes, p->nnotes);

	for (int i = 0; i < p->nfiles; i++) {
		json_object_set_new(acc, p->files[i].name,
		    json_integer(p->files[i].accepted));
		if (p->files[i].skipped > 0)
			json_object_set_new(skip, p->files[i].name,
			    json_integer(p->files[i].skipped));
	}
	for (int i = 0; i < p->nrej; i++)
		json_array_append_new(rej, entry_json(p, sr[i], "reason"));
	for (int i = 0; i < p->nnotes; i++)
		json_array_append_new(notes, entry_json(p, sn[i], "note"));
	free(sr);
	free(sn);
	o = json_pack("{s:o, s:o, s:o, s:o, s:b}", "accepted", acc, "skipped", skip,
	    "rejected", rej, "notes", notes, "applied", p->applied);
	if (p->rej_total > p->nrej)
		json_object_set_new(o, "rejected_more",
		    json_integer(p->rej_total - p->nrej));
	if (p->notes_total > p->nnotes)
		json_object_set_new(o, "notes_more", json_integer(p->notes_total - p->nnotes));
	return o;
}

static void
print_entry(const plan *p, const struct entry *e, const char *what, FILE *fp)
{
	if (e->file < 0)
		fprintf(fp, "%s: %s\n", what, e->text);
	else if (e->line > 0)
		fprintf(fp, "%s: %s:%lu: %s\n", what, p->files[e->file].name, e->line, e->text);
	else
		fprintf(fp, "%s: %s: %s\n", what, p->files[e->file].name, e->text);
}

void
plan_report_print(const plan *p, FILE *fp)
{
	const struct entry **sr = sorted(p->rej, p->nrej), **sn = sorted(p->notes, p->nnotes);

	for (int i = 0; i < p->nfiles; i++) {
		fprintf(fp, "%s: %ld accepted", p->files[i].name, p->files[i].accepted);
		if (p->files[i].skipped > 0)
			fprintf(fp, ", %ld skipped", p->files[i].skipped);
		fputc('\n', fp);
	}
	for (int i = 0; i < p->nnotes; i++)
		print_entry(p, sn[i], "note", fp);
	if (p->notes_total > p->nnotes)
		fprintf(fp, "note: ... and %ld more notes\n", p->notes_total - p->nnotes);
	for (int i = 0; i < p->nrej; i++)
		print_entry(p, sr[i], "rejected", fp);
	free(sr);
	free(sn);
	if (p->rej_total > p->nrej)
		fprintf(fp, "rejected: ... and %ld more problems\n", p->rej_total - p->nrej);
	if (p->applied)
		fprintf(fp, "applied: every row above is in the database\n");
	else if (p->rej_total > 0)
		fprintf(fp, "not applied: %ld problem(s), nothing was changed\n",
		    p->rej_total);
	else
		fprintf(fp, "not applied: nothing was changed\n");
}
