/*
 * fit_cmd.c: `recalld fit`: FSRS-6 weights fitted to review histories
 * (sched/fit.h), from a file or from a school's answers in PostgreSQL, and
 * their held-out evaluation; with --record, the weekly fit job's work: the
 * fit, the adoption rule and the fsrs_fit record, in one transaction.
 */
#include "autoconf.h"

#include <csv.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "cli.h"
#include "fit.h"
#include "fit_cmd.h"
#include "replay.h"

#define FOLDS 5			/* fsrs-rs's TimeSeriesSplit: 6 parts, 5 folds */
#define HELDOUT_SHARE 0.2	/* the fit job's held-out part: the latest 20% */
#define LINE_MAX_LEN (1024 * 1024)

static const char fit_usage[] =
"usage: recalld fit [--format replay|seq2seq] [--evaluate] [--against FILE]\n"
"                   [--seed N] [--json] < REVIEWS\n"
"       recalld [-c FILE] fit --school ID [--evaluate] [--json]\n"
"       recalld [-c FILE] fit --school ID --record [--at TIME]\n"
"\n"
"Fits the 21 FSRS-6 weights to review histories by minimising the log loss of\n"
"predicted recall (the fsrs-rs method, exact gradients) and prints them.\n"
"\n"
"  --format F   replay: CSV card_id,review_time,rating (as `recalld replay`);\n"
"               seq2seq: the srs-benchmark / fsrs-optimizer TSV with columns\n"
"               t_history, r_history, delta_ts, ys. Found from the header when\n"
"               not given.\n"
"  --evaluate   also a time-series split (5 folds: fit on the earlier reviews,\n"
"               predict the later): log loss, RMSE(bins) and AUC of the fitted\n"
"               weights beside the defaults'\n"
"  --against F  evaluate these weights too (one line of 21 numbers, or one per\n"
"               fold) on the same split\n"
"  --school ID  the school's answers from the database, streamed\n"
"  --record     fit the school, compare on its latest 20% of answers with the\n"
"               weights in use, adopt only if better and not pinned, record\n"
"               the fit in fsrs_fit (what the weekly job runs)\n"
"  --at TIME    the time recorded (the daemon passes its clock)\n"
"  --json       one JSON object instead of text\n"
"\n"
"Exit status: 0 done, 1 database or memory, 2 bad input or usage.\n";

struct fit_args {
	const char *format, *against, *school, *at;
	const char *lease, *lease_ms;	/* the fit job's lease, renewed when recording */
	bool evaluate, json, record;
	uint64_t seed;
};

/* ---- reading: seq2seq ---- */

static int
parse_list(char *s, long *v, int max, char **end)
{
	int n = 0;

	for (;;) {
		char *e;

		errno = 0;
		if (n == max)
			return -1;
		v[n] = strtol(s, &e, 10);
		if (e == s || errno != 0)
			return -1;
		n++;
		if (*e != ',') {
			*end = e;
			return n;
		}
		s = e + 1;
	}
}

/*
 * One card a row. The key of a review is the running count of predictable
 * reviews before it, in file order: the order fsrs-rs's time-series split
 * cuts, since the format carries no dates.
 */
static int
read_seq2seq(FILE *in, fit_data *d, char *err, size_t errlen)
{
	char *line = malloc(LINE_MAX_LEN);
	enum { NMAX = 4096 };
	long *v = malloc(4 * NMAX * sizeof(long));
	unsigned long long lineno = 1;
	int64_t key = 0;
	int rc = 2;

	if (line == NULL || v == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = 1;
		goto out;
	}
	if (fgets(line, LINE_MAX_LEN, in) == NULL ||
	    strncmp(line, "t_history\tr_history\tdelta_ts\tys", 31) != 0) {
		snprintf(err, errlen, "line 1: expected the header "
		    "t_history<TAB>r_history<TAB>delta_ts<TAB>ys");
		goto out;
	}
	while (fgets(line, LINE_MAX_LEN, in) != NULL) {
		long *th = v, *rh = v + NMAX, *dt = v + 2 * NMAX, *ys = v + 3 * NMAX;
		char *p = line, *e;
		int n[4];
		char msg[160];

		lineno++;
		if (line[0] == '\n' || line[0] == '\0')
			continue;
		for (int c = 0; c < 4; c++) {
			n[c] = parse_list(p, v + c * NMAX, NMAX, &e);
			if (n[c] < 0 || *e != (c < 3 ? '\t' : '\n') ||
			    (c == 3 && e[1] != '\0')) {
				if (n[c] >= 0 && c == 3 && *e == '\0')
					break;	/* last line without newline */
				snprintf(err, errlen, "line %llu: column %d is "
				    "not a list of whole numbers", lineno,
				    c + 1);
				goto out;
			}
			p = e + 1;
		}
		if (n[1] != n[0] || n[2] != n[0] || n[3] != n[0]) {
			snprintf(err, errlen, "line %llu: the four lists differ "
			    "in length", lineno);
			goto out;
		}
		if (!fit_data_card(d)) {
			snprintf(err, errlen, "out of memory");
			rc = 1;
			goto out;
		}
		for (int i = 0; i <= n[0]; i++) {
			bool last = i == n[0];
			long t = i == 0 ? 0 : last ? dt[i - 1] : th[i];
			int r = last ? 0 : (int)rh[i];

			if (t < 0 || t > 1000000 || (!last && (r < 1 || r > 4)) ||
			    (i > 0 && ys[i - 1] != 0 && ys[i - 1] != 1)) {
				snprintf(err, errlen, "line %llu: review %d: "
				    "%s", lineno, i + 1, t < 0 ?
				    "time goes backwards (a negative gap)" :
				    t > 1000000 ? "a gap beyond 1,000,000 days" :
				    (!last && (r < 1 || r > 4)) ?
				    "a rating other than 1, 2, 3 or 4" :
				    "an outcome other than 0 or 1");
				goto out;
			}
			if (!last && i > 0 && (r > 1) != (ys[i - 1] == 1)) {
				snprintf(err, errlen, "line %llu: review %d: "
				    "rating %d disagrees with outcome %ld",
				    lineno, i + 1, r, ys[i - 1]);
				goto out;
			}
			if (!fit_data_review(d, (uint32_t)t, r,
			    i > 0 && ys[i - 1] == 1, key, msg, sizeof msg)) {
				snprintf(err, errlen, "line %llu: %s", lineno,
				    msg);
				goto out;
			}
			key += i > 0 && t > 0;
		}
	}
	if (ferror(in)) {
		snprintf(err, errlen, "reading: %s", strerror(errno));
		rc = 1;
		goto out;
	}
	rc = 0;
out:
	free(line);
	free(v);
	return rc;
}

/* ---- reading: replay CSV ---- */

struct row {
	char *id;
	int64_t t;
	int rating;
	unsigned long long line;
};

struct csvread {
	struct row *rows;
	size_t n, cap;
	char *field[3];
	size_t nfield;
	unsigned long long line;
	bool header, failed;
	char *err;
	size_t errlen;
};

static void
csv_on_field(void *s, size_t len, void *data)
{
	struct csvread *c = data;

	if (c->nfield < 3 && !c->failed) {
		c->field[c->nfield] = strndup(s, len);
		if (c->field[c->nfield] == NULL)
			c->failed = true;
	}
	c->nfield++;
}

static void
csv_on_row(int term, void *data)
{
	struct csvread *c = data;
	int32_t ns;
	struct row *r;

	(void)term;
	c->line++;
	if (c->failed)
		goto out;
	if (c->nfield != 3) {
		snprintf(c->err, c->errlen, "line %llu: expected 3 columns "
		    "(card_id,review_time,rating), got %zu", c->line, c->nfield);
		c->failed = true;
		goto out;
	}
	if (!c->header) {
		c->header = true;
		if (strcmp(c->field[0], "card_id") != 0 ||
		    strcmp(c->field[1], "review_time") != 0 ||
		    strcmp(c->field[2], "rating") != 0) {
			snprintf(c->err, c->errlen, "line 1: expected the header "
			    "card_id,review_time,rating");
			c->failed = true;
		}
		goto out;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 4096;
		struct row *nr = realloc(c->rows, cap * sizeof(*nr));

		if (nr == NULL) {
			snprintf(c->err, c->errlen, "out of memory");
			c->failed = true;
			goto out;
		}
		c->rows = nr;
		c->cap = cap;
	}
	r = &c->rows[c->n];
	if (!replay_parse_time(c->field[1], strlen(c->field[1]), &r->t, &ns)) {
		snprintf(c->err, c->errlen, "line %llu: review_time '%.40s' is "
		    "neither Unix seconds nor ISO 8601", c->line, c->field[1]);
		c->failed = true;
		goto out;
	}
	if (strlen(c->field[2]) != 1 || c->field[2][0] < '1' ||
	    c->field[2][0] > '4') {
		snprintf(c->err, c->errlen, "line %llu: rating '%.20s' is not "
		    "1, 2, 3 or 4", c->line, c->field[2]);
		c->failed = true;
		goto out;
	}
	r->rating = c->field[2][0] - '0';
	r->id = c->field[0];
	r->line = c->line;
	c->field[0] = NULL;
	c->n++;
out:
	for (size_t i = 0; i < 3; i++) {
		free(c->field[i]);
		c->field[i] = NULL;
	}
	c->nfield = 0;
}

static int
cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

static int
read_replay(FILE *in, fit_data *d, char *err, size_t errlen)
{
	struct csvread c = { .err = err, .errlen = errlen };
	struct csv_parser p;
	char buf[64 * 1024];
	size_t n;
	int rc = 2;

	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
		snprintf(err, errlen, "out of memory");
		return 1;
	}
	while (!c.failed && (n = fread(buf, 1, sizeof buf, in)) > 0)
		if (csv_parse(&p, buf, n, csv_on_field, csv_on_row, &c) != n &&
		    !c.failed) {
			snprintf(err, errlen, "line %llu: %s", c.line + 1,
			    csv_strerror(csv_error(&p)));
			c.failed = true;
		}
	if (!c.failed && csv_fini(&p, csv_on_field, csv_on_row, &c) != 0) {
		snprintf(err, errlen, "line %llu: %s", c.line + 1,
		    csv_strerror(csv_error(&p)));
		c.failed = true;
	}
	csv_free(&p);
	if (c.failed)
		goto out;
	if (!c.header) {
		snprintf(err, errlen, "empty input: expected the header "
		    "card_id,review_time,rating");
		goto out;
	}
	/* Each card's reviews together, in file order; time must not go back. */
	qsort(c.rows, c.n, sizeof(*c.rows), cmp_row);
	for (size_t i = 0; i < c.n; i++) {
		struct row *r = &c.rows[i];
		bool first = i == 0 || strcmp(r->id, c.rows[i - 1].id) != 0;
		int64_t days = first ? 0 :
		    fsrs_utc_day_diff(c.rows[i - 1].t, r->t);
		char msg[160];

		if (!first && r->t < c.rows[i - 1].t) {
			snprintf(err, errlen, "line %llu: time goes backwards "
			    "for card '%.60s' (line %llu was later)", r->line,
			    r->id, c.rows[i - 1].line);
			goto out;
		}
		if ((first && !fit_data_card(d)) ||
		    !fit_data_review(d, (uint32_t)days, r->rating, r->rating > 1,
		    r->t, msg, sizeof msg)) {
			snprintf(err, errlen, "line %llu: %s", r->line,
			    first ? "out of memory" : msg);
			rc = 1;
			goto out;
		}
	}
	rc = 0;
out:
	for (size_t i = 0; i < c.n; i++)
		free(c.rows[i].id);
	for (size_t i = 0; i < 3; i++)
		free(c.field[i]);
	free(c.rows);
	return rc;
}

/* ---- reading: a school's answers ---- */

/*
 * Streamed in single-row mode in the index's order (school, pupil,
 * question, time): one pupil x question is one card; only the compact
 * review array is held.
 */
static int
read_school(PGconn *pg, const char *school, const char *course, fit_data *d,
    char *err, size_t errlen)
{
	/* course NULL: the whole school */
	const char *sql = "SELECT r.pupil_id, r.question_id, "
	    "floor(extract(epoch FROM r.reviewed_at))::bigint, r.elapsed_days, r.rating "
	    "FROM review r WHERE r.school_id = $1 AND ($2::bigint IS NULL OR EXISTS ("
	    " SELECT 1 FROM question q JOIN unit u ON u.school_id = q.school_id"
	    "  AND u.unit_id = q.unit_id WHERE q.school_id = r.school_id"
	    "  AND q.question_id = r.question_id AND u.course_id = $2::bigint)) "
	    "ORDER BY r.school_id, r.pupil_id, r.question_id, r.reviewed_at";
	const char *p[2] = { school, course };
	long long pp = -1, pq = -1;
	PGresult *res;
	int rc = 0;

	if (!PQsendQueryParams(pg, sql, 2, NULL, p, NULL, NULL, 0) ||
	    !PQsetSingleRowMode(pg)) {
		snprintf(err, errlen, "reading answers: %s", PQerrorMessage(pg));
		return 1;
	}
	while ((res = PQgetResult(pg)) != NULL) {
		ExecStatusType st = PQresultStatus(res);

		if (st == PGRES_SINGLE_TUPLE && rc == 0) {
			long long pu = atoll(PQgetvalue(res, 0, 0));
			long long qu = atoll(PQgetvalue(res, 0, 1));
			long long t = atoll(PQgetvalue(res, 0, 2));
			long days = atol(PQgetvalue(res, 0, 3));
			int rating = atoi(PQgetvalue(res, 0, 4));
			char msg[160];

			if ((pu != pp || qu != pq) && !fit_data_card(d)) {
				snprintf(err, errlen, "out of memory");
				rc = 1;
			} else if (!fit_data_review(d, days < 0 ? 0 :
			    (uint32_t)days, rating, rating > 1, t, msg,
			    sizeof msg)) {
				snprintf(err, errlen, "answers: %s", msg);
				rc = 1;
			}
			pp = pu;
			pq = qu;
		} else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK &&
		    rc == 0) {
			snprintf(err, errlen, "reading answers: %s",
			    PQresultErrorMessage(res));
			rc = 1;
		}
		PQclear(res);
	}
	return rc;
}

/* ---- evaluation ---- */

/*
 * fsrs-rs's time-series split: the predictable reviews in key order cut
 * into six parts; fold k fits on parts 1..k and predicts part k + 1.
 */
static void
split_keys(const fit_data *d, int64_t b[FOLDS + 2])
{
	for (int k = 0; k <= FOLDS; k++)
		b[k] = fit_data_split_key(d, (double)k / (FOLDS + 1));
	b[0] = INT64_MIN;
	b[FOLDS + 1] = INT64_MAX;
}

static int
read_against(const char *path, double w[FOLDS][FSRS_NPARAMS], char *err,
    size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[4096], msg[200];
	int n = 0;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (n < FOLDS && fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		if (!fsrs_params_parse(line, w[n], msg, sizeof msg)) {
			snprintf(err, errlen, "%s: line %d: %s", path, n + 1, msg);
			fclose(f);
			return -1;
		}
		n++;
	}
	fclose(f);
	if (n != 1 && n != FOLDS) {
		snprintf(err, errlen, "%s: expected 1 or %d lines of weights, "
		    "got %d", path, FOLDS, n);
		return -1;
	}
	for (int k = n; k < FOLDS; k++)
		memcpy(w[k], w[0], sizeof(w[0]));
	return 0;
}

static json_t *
metrics_json(const fit_metrics *m)
{
	return json_pack("{s:I, s:f, s:f, s:o}", "reviews", (json_int_t)m->n,
	    "log_loss", m->log_loss, "rmse_bins", m->rmse_bins, "auc",
	    isnan(m->auc) ? json_null() : json_real(m->auc));
}

static json_t *
weights_json(const double *w)
{
	json_t *a = json_array();

	for (int i = 0; i < FSRS_NPARAMS; i++)
		json_array_append_new(a, json_real(w[i]));
	return a;
}

static void
print_weights(const char *label, const double *w)
{
	printf("%s", label);
	for (int i = 0; i < FSRS_NPARAMS; i++)
		printf("%s%.4f", i ? ", " : "", w[i]);
	printf("\n");
}

static double
seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	    (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Fit every fold and pool their held-out predictions. */
static int
evaluate(const fit_data *d, const fit_opts *base, const struct fit_args *a,
    json_t *out)
{
	double fw[FOLDS][FSRS_NPARAMS], aw[FOLDS][FSRS_NPARAMS];
	fit_fold ff[FOLDS], df[FOLDS], af[FOLDS];
	fit_metrics mf, md, ma;
	int64_t b[FOLDS + 2];
	char err[300];
	json_t *folds = json_array();

	if (a->against != NULL && read_against(a->against, aw, err,
	    sizeof err) != 0) {
		fprintf(stderr, "recalld fit: %s\n", err);
		json_decref(folds);
		return 2;
	}
	split_keys(d, b);
	for (int k = 0; k < FOLDS; k++) {
		fit_opts o = *base;

		o.train_before = b[k + 1];
		if (!fit_run(d, NULL, &o, fw[k], err, sizeof err)) {
			fprintf(stderr, "recalld fit: fold %d: %s\n", k + 1, err);
			json_decref(folds);
			return 2;
		}
		json_array_append_new(folds, weights_json(fw[k]));
		ff[k] = (fit_fold){ fw[k], b[k + 1], b[k + 2] };
		df[k] = (fit_fold){ fsrs_default_params(), b[k + 1], b[k + 2] };
		af[k] = (fit_fold){ aw[k], b[k + 1], b[k + 2] };
	}
	if (!fit_evaluate(d, ff, FOLDS, &mf) ||
	    !fit_evaluate(d, df, FOLDS, &md) ||
	    (a->against != NULL && !fit_evaluate(d, af, FOLDS, &ma))) {
		fprintf(stderr, "recalld fit: too few reviews to evaluate\n");
		json_decref(folds);
		return 2;
	}
	if (a->json) {
		json_t *e = json_pack("{s:s, s:i, s:o, s:o, s:o}", "split",
		    "time series (fsrs-rs TimeSeriesSplit)", "folds", FOLDS,
		    "fold_weights", folds, "fitted", metrics_json(&mf),
		    "default", metrics_json(&md));

		if (a->against != NULL)
			json_object_set_new(e, "against", metrics_json(&ma));
		json_object_set_new(out, "evaluation", e);
		return 0;
	}
	json_decref(folds);
	printf("\ntime-series split: %d folds, %zu held-out reviews\n"
	    "weights    log_loss  rmse_bins  auc\n", FOLDS, mf.n);
	printf("fitted     %.4f    %.4f     %.4f\n", mf.log_loss, mf.rmse_bins,
	    mf.auc);
	printf("default    %.4f    %.4f     %.4f\n", md.log_loss, md.rmse_bins,
	    md.auc);
	if (a->against != NULL)
		printf("against    %.4f    %.4f     %.4f\n", ma.log_loss,
		    ma.rmse_bins, ma.auc);
	return 0;
}

/* ---- the fit job's record ---- */

#define CAL_BINS 10
#define CAL_DAYS 90

static json_t *
bins_json(const fit_data *d, const double *w, int64_t from)
{
	fit_bin b[CAL_BINS];
	json_t *a = json_array();

	fit_calibration(d, w, from, INT64_MAX, b, CAL_BINS);
	for (int i = 0; i < CAL_BINS; i++)
		json_array_append_new(a, json_pack("{s:f, s:f, s:I, s:o, s:o}",
		    "from", (double)i / CAL_BINS, "to", (double)(i + 1) / CAL_BINS,
		    "reviews", (json_int_t)b[i].n,
		    "mean_predicted", b[i].n ? json_real(b[i].mean_predicted) : json_null(),
		    "share_recalled", b[i].n ? json_real(b[i].share_recalled) : json_null()));
	return a;
}

/*
 * Predicted against recalled over the CAL_DAYS of answers before `at`, for
 * the weights in use and the defaults: the school's reviews are keyed by
 * Unix time, so the window is a key range.
 */
static char *
calibration_text(const fit_data *d, const double *in_use, const char *at)
{
	int64_t now = (int64_t)time(NULL), from;
	int32_t ns;
	json_t *j;
	char *s;

	if (at != NULL)
		(void)replay_parse_time(at, strlen(at), &now, &ns);
	from = now - (int64_t)CAL_DAYS * 86400;
	j = json_pack("{s:i, s:o, s:o}", "days", CAL_DAYS, "in_use",
	    bins_json(d, in_use, from), "default", bins_json(d, fsrs_default_params(), from));
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

static void
weights_text(const double *w, char *buf, size_t len)
{
	size_t o = 0;

	o += (size_t)snprintf(buf + o, len - o, "{");
	for (int i = 0; i < FSRS_NPARAMS && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%.17g", i ? "," : "",
		    w[i]);
	if (o < len)
		snprintf(buf + o, len - o, "}");
}

static void
num_text(double v, char *buf, size_t len)
{
	if (isfinite(v))
		snprintf(buf, len, "%.17g", v);
	else
		buf[0] = '\0';
}

/* What one fit decided. */
struct fit_outcome {
	double w[FSRS_NPARAMS];
	bool adopted;
	long long fit_id;
};

/*
 * Fit d (a school's answers, or one course's) on all but its latest
 * answers, starting from start; compare with cur, the weights in use for
 * them, on those latest; decide (never adopted while pinned) and record
 * the fit in fsrs_fit. 0, or 1 (printed).
 */
static int
fit_one(PGconn *pg, const struct fit_args *a, const fit_data *d, const fit_opts *base,
    const double *start, const double *cur, bool pinned, const char *course,
    struct fit_outcome *r)
{
	fit_metrics mo = { 0 }, mn = { 0 };
	char err[300], reason[300], wold[1024], wnew[1024];
	char num[6][32], nrev[24], ntrain[24], nheld[24], secs[32], *cal;
	size_t n = fit_data_items(d, INT64_MIN, INT64_MAX);
	fit_opts o = *base;
	struct timespec t0;
	PGresult *res;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	o.train_before = fit_data_split_key(d, 1 - HELDOUT_SHARE);
	if (!fit_run(d, start, &o, r->w, err, sizeof err)) {
		fprintf(stderr, "recalld fit: %s\n", err);
		return 1;
	}
	{
		fit_fold fo = { cur, o.train_before, INT64_MAX };
		fit_fold fn = { r->w, o.train_before, INT64_MAX };

		if (!fit_evaluate(d, &fo, 1, &mo) || !fit_evaluate(d, &fn, 1, &mn))
			mo.n = mn.n = 0;
	}
	r->adopted = fit_adopt(&mo, &mn, reason, sizeof reason);
	if (r->adopted && pinned) {
		r->adopted = false;
		snprintf(reason + strlen(reason), sizeof reason - strlen(reason),
		    "; not adopted: an admin pinned the weights in use");
	}
	weights_text(cur, wold, sizeof wold);
	weights_text(r->w, wnew, sizeof wnew);
	num_text(mo.log_loss, num[0], 32);
	num_text(mo.rmse_bins, num[1], 32);
	num_text(mo.auc, num[2], 32);
	num_text(mn.log_loss, num[3], 32);
	num_text(mn.rmse_bins, num[4], 32);
	num_text(mn.auc, num[5], 32);
	snprintf(nrev, sizeof nrev, "%zu", n);
	snprintf(ntrain, sizeof ntrain, "%zu", n - mn.n);
	snprintf(nheld, sizeof nheld, "%zu", mn.n);
	snprintf(secs, sizeof secs, "%.3f", seconds_since(&t0));
	cal = calibration_text(d, r->adopted ? r->w : cur, a->at);
	{
		const char *p[18] = { a->school, a->at, nrev, ntrain, nheld, wold,
		    wnew, num[0][0] ? num[0] : NULL, num[1][0] ? num[1] : NULL,
		    num[2][0] ? num[2] : NULL, num[3][0] ? num[3] : NULL,
		    num[4][0] ? num[4] : NULL, num[5][0] ? num[5] : NULL,
		    r->adopted ? "t" : "f", reason, secs, cal != NULL ? cal : "{}", course };

		res = cli_exec(pg, "INSERT INTO fsrs_fit (school_id, fitted_at, "
		    "reviews, train_reviews, heldout_reviews, previous_weights, "
		    "weights, old_log_loss, old_rmse_bins, old_auc, new_log_loss, "
		    "new_rmse_bins, new_auc, adopted, reason, seconds, calibration, course_id) "
		    "VALUES ($1, coalesce($2::timestamptz, now()), $3, $4, $5, $6, $7, "
		    "$8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING fit_id",
		    18, p, "recording the fit");
	}
	free(cal);
	if (res == NULL)
		return 1;
	r->fit_id = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

static bool
exec_ok(PGconn *pg, const char *sql, int n, const char *const *p, const char *what)
{
	PGresult *res = cli_exec(pg, sql, n, p, what);

	PQclear(res);
	return res != NULL;
}

/*
 * The fit job's work for one school, in one transaction: the school's fit
 * (adopted: its course weights, fitted beside the old ones, go), then each
 * course with enough answers of its own, fitted from the school's weights
 * with the school's forgetting curve held. The school's row is locked so
 * that an admin's pin or reset in between is not overwritten.
 */
static int
record(PGconn *pg, const struct fit_args *a, const fit_data *d,
    const fit_opts *base, size_t min_reviews, json_t *out)
{
	const char *p1[1] = { a->school };
	char mr[24], err[400], wtext[1024];
	double cur[FSRS_NPARAMS], in_use[FSRS_NPARAMS];
	size_t n = fit_data_items(d, INT64_MIN, INT64_MAX);
	struct fit_outcome so;
	PGresult *res = NULL, *courses = NULL;
	json_t *jc = json_array();
	bool pinned;
	int rc = 1;

	if (n < min_reviews) {
		json_object_set_new(out, "skipped", json_sprintf("%zu answers, "
		    "fewer than fsrs.min_reviews_to_fit (%zu)", n, min_reviews));
		json_decref(jc);
		return 0;
	}
	if (!exec_ok(pg, "BEGIN", 0, NULL, "fit") ||
	    !exec_ok(pg, "INSERT INTO school_fsrs (school_id) SELECT school_id "
	    "FROM school WHERE school_id = $1 ON CONFLICT DO NOTHING", 1, p1,
	    "reading the school's weights"))
		goto out;
	res = cli_exec(pg, "SELECT coalesce(array_to_string(weights, ','), ''), "
	    "pinned FROM school_fsrs WHERE school_id = $1 FOR UPDATE", 1, p1,
	    "reading the school's weights");
	if (res == NULL)
		goto out;
	if (PQntuples(res) != 1) {
		fprintf(stderr, "recalld fit: no school %s\n", a->school);
		rc = 2;
		goto out;
	}
	if (PQgetvalue(res, 0, 0)[0] == '\0')
		memcpy(cur, fsrs_default_params(), sizeof(cur));
	else if (!fsrs_params_parse(PQgetvalue(res, 0, 0), cur, err, sizeof err)) {
		fprintf(stderr, "recalld fit: the school's weights: %s\n", err);
		goto out;
	}
	pinned = PQgetvalue(res, 0, 1)[0] == 't';
	PQclear(res);
	res = NULL;
	if (a->lease != NULL) {
		/* the job's lease, renewed in this transaction: lost, nothing is recorded */
		const char *p[3] = { a->school, a->lease, a->lease_ms != NULL ? a->lease_ms : "60000" };

		if (!exec_ok(pg, "SELECT recalld_lease_renew($1::bigint, 'fsrs_fit', $2, "
		    "$3::bigint)", 3, p, "renewing the fit job's lease"))
			goto out;
	}
	if (fit_one(pg, a, d, base, NULL, cur, pinned, NULL, &so) != 0)
		goto out;
	memcpy(in_use, so.adopted ? so.w : cur, sizeof(in_use));
	if (so.adopted) {
		const char *p[2] = { a->school, wtext };

		weights_text(so.w, wtext, sizeof wtext);
		if (!exec_ok(pg, "UPDATE school_fsrs SET weights = $2, updated_at = now() "
		    "WHERE school_id = $1", 2, p, "adopting the weights") ||
		    !exec_ok(pg, "DELETE FROM course_fsrs WHERE school_id = $1", 1, p1,
		    "dropping the courses' weights"))
			goto out;
	}
	json_object_set_new(out, "fit_id", json_integer(so.fit_id));
	json_object_set_new(out, "adopted", json_boolean(so.adopted));
	json_object_set_new(out, "weights", weights_json(so.w));

	/* Courses with enough answers of their own. */
	snprintf(mr, sizeof mr, "%zu", min_reviews);
	{
		const char *p[2] = { a->school, mr };

		courses = cli_exec(pg, "SELECT u.course_id, coalesce((SELECT array_to_string("
		    " cf.weights, ',') FROM course_fsrs cf WHERE cf.school_id = u.school_id"
		    " AND cf.course_id = u.course_id), '') FROM review r"
		    " JOIN question q ON q.school_id = r.school_id AND q.question_id = r.question_id"
		    " JOIN unit u ON u.school_id = q.school_id AND u.unit_id = q.unit_id"
		    " WHERE r.school_id = $1 AND r.elapsed_days > 0 GROUP BY u.school_id, u.course_id"
		    " HAVING count(*) >= $2::bigint ORDER BY u.course_id", 2, p,
		    "finding the courses to fit");
	}
	if (courses == NULL)
		goto out;
	for (int i = 0; i < PQntuples(courses); i++) {
		const char *course = PQgetvalue(courses, i, 0);
		double ccur[FSRS_NPARAMS];
		struct fit_outcome co;
		fit_data *cd = fit_data_new();
		fit_opts o = *base;
		int r;

		if (cd == NULL)
			goto out;
		if (PQgetvalue(courses, i, 1)[0] == '\0' ||
		    !fsrs_params_parse(PQgetvalue(courses, i, 1), ccur, err, sizeof err))
			memcpy(ccur, in_use, sizeof(ccur));
		o.hold_decay = true;
		r = read_school(pg, a->school, course, cd, err, sizeof err);
		if (r != 0)
			fprintf(stderr, "recalld fit: course %s: %s\n", course, err);
		else
			r = fit_one(pg, a, cd, &o, in_use, ccur, pinned, course, &co);
		fit_data_free(cd);
		if (r != 0)
			goto out;
		if (co.adopted) {
			const char *p[4] = { a->school, course, wtext, a->at };

			weights_text(co.w, wtext, sizeof wtext);
			if (!exec_ok(pg, "INSERT INTO course_fsrs (school_id, course_id, weights,"
			    " updated_at) VALUES ($1, $2, $3, coalesce($4::timestamptz, now()))"
			    " ON CONFLICT (school_id, course_id) DO UPDATE SET weights ="
			    " EXCLUDED.weights, updated_at = EXCLUDED.updated_at", 4, p,
			    "adopting a course's weights"))
				goto out;
		}
		json_array_append_new(jc, json_pack("{s:I, s:I, s:b}", "course_id",
		    (json_int_t)atoll(course), "fit_id", (json_int_t)co.fit_id, "adopted",
		    co.adopted));
	}
	if (!exec_ok(pg, "COMMIT", 0, NULL, "fit"))
		goto out;
	json_object_set_new(out, "courses", jc);
	jc = NULL;
	rc = 0;
out:
	json_decref(jc);
	PQclear(courses);
	PQclear(res);
	if (rc != 0)
		PQclear(PQexec(pg, "ROLLBACK"));
	return rc;
}

/* ---- the subcommand ---- */

static int
parse_args(int argc, char **argv, struct fit_args *a)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "evaluate", no_argument, NULL, 'e' },
		{ "against", required_argument, NULL, 'a' },
		{ "seed", required_argument, NULL, 'S' },
		{ "school", required_argument, NULL, 's' },
		{ "record", no_argument, NULL, 'r' },
		{ "at", required_argument, NULL, 't' },
		{ "lease", required_argument, NULL, 'L' },
		{ "lease-ms", required_argument, NULL, 'M' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	*a = (struct fit_args){ .seed = 42 };
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'f': a->format = optarg; break;
		case 'e': a->evaluate = true; break;
		case 'a': a->against = optarg; break;
		case 'S': a->seed = strtoull(optarg, NULL, 10); break;
		case 's': a->school = optarg; break;
		case 'r': a->record = true; break;
		case 't': a->at = optarg; break;
		case 'L': a->lease = optarg; break;
		case 'M': a->lease_ms = optarg; break;
		case 'j': a->json = true; break;
		case 'h': fputs(fit_usage, stdout); return 0;
		default: fputs(fit_usage, stderr); return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "recalld fit: unexpected argument '%s'\n",
		    argv[optind]);
		return CLI_EXIT_USAGE;
	}
	if (a->format != NULL && strcmp(a->format, "replay") != 0 &&
	    strcmp(a->format, "seq2seq") != 0) {
		fprintf(stderr, "recalld fit: --format is replay or seq2seq\n");
		return CLI_EXIT_USAGE;
	}
	if (a->record && a->school == NULL) {
		fprintf(stderr, "recalld fit: --record needs --school\n");
		return CLI_EXIT_USAGE;
	}
	if (a->school != NULL && a->format != NULL) {
		fprintf(stderr, "recalld fit: --format is for a file on stdin, "
		    "not --school\n");
		return CLI_EXIT_USAGE;
	}
	return -1;
}

/* The input's format from its first bytes, which stay to be read. */
static const char *
sniff(FILE *in)
{
	int c = getc(in);

	if (c == EOF)
		return NULL;
	ungetc(c, in);
	return c == 't' ? "seq2seq" : "replay";
}

static int
run(int argc, char **argv, const struct config *cfg)
{
	struct fit_args a;
	char err[400] = "", school[24];
	fit_data *d = NULL;
	json_t *out = json_object();
	PGconn *pg = NULL;
	fit_opts o;
	struct timespec t0;
	double w[FSRS_NPARAMS];
	int rc = parse_args(argc, argv, &a);

	if (rc >= 0)
		goto done;
	rc = 1;
	if ((d = fit_data_new()) == NULL)
		goto done;
	fit_opts_init(&o);
	o.seed = a.seed;
	if (a.school != NULL) {
		if (!cli_parse_id(a.school, "--school", school, sizeof school)) {
			rc = CLI_EXIT_USAGE;
			goto done;
		}
		a.school = school;
		if ((pg = cli_connect_db(cfg)) == NULL)
			goto done;
		rc = read_school(pg, school, NULL, d, err, sizeof err);
	} else {
		const char *f = a.format != NULL ? a.format : sniff(stdin);

		if (f == NULL) {
			snprintf(err, sizeof err, "empty input: give reviews on "
			    "stdin (--help shows the formats)");
			rc = 2;
		} else if (strcmp(f, "seq2seq") == 0)
			rc = read_seq2seq(stdin, d, err, sizeof err);
		else
			rc = read_replay(stdin, d, err, sizeof err);
	}
	if (rc != 0) {
		fprintf(stderr, "recalld fit: %s\n", err);
		goto done;
	}
	json_object_set_new(out, "cards", json_integer((json_int_t)fit_data_cards(d)));
	json_object_set_new(out, "reviews", json_integer((json_int_t)fit_data_reviews(d)));
	json_object_set_new(out, "predictable", json_integer(
	    (json_int_t)fit_data_items(d, INT64_MIN, INT64_MAX)));
	if (a.record) {
		rc = record(pg, &a, d, &o, (size_t)cfg->fsrs_min_reviews_to_fit, out);
		if (rc == 0) {
			char *s = json_dumps(out, JSON_COMPACT);

			puts(s != NULL ? s : "{}");
			free(s);
		}
		goto done;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!fit_run(d, NULL, &o, w, err, sizeof err)) {
		fprintf(stderr, "recalld fit: %s\n", err);
		rc = 2;
		goto done;
	}
	json_object_set_new(out, "seconds", json_real(seconds_since(&t0)));
	json_object_set_new(out, "weights", weights_json(w));
	if (!a.json) {
		printf("reviews: %zu in %zu cards, %zu predictable; fitted in "
		    "%.2f s\n", fit_data_reviews(d), fit_data_cards(d),
		    fit_data_items(d, INT64_MIN, INT64_MAX), seconds_since(&t0));
		print_weights("weights: ", w);
	}
	rc = a.evaluate ? evaluate(d, &o, &a, out) : 0;
	if (rc == 0 && a.json) {
		char *s = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(17));

		puts(s != NULL ? s : "{}");
		free(s);
	}
done:
	json_decref(out);
	fit_data_free(d);
	if (pg != NULL)
		PQfinish(pg);
	return rc;
}

int
fit_cmd_run(int argc, char **argv, const char *config_path, bool config_given)
{
	struct fit_args a;
	int rc;

	/* A file on stdin needs no configuration; --school does. */
	if ((rc = parse_args(argc, argv, &a)) >= 0)
		return rc;
	if (a.school == NULL)
		return run(argc, argv, NULL);
	return cli_with_config(argc, argv, config_path, config_given, run);
}
