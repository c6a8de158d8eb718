/*
 * test_fsrs.c: sched/fsrs against the reference ts-fsrs, through the
 * vectors of tests/data/fsrs_vectors.csv (made by tests/fsrs-vectors/
 * gen.mjs), and unit tests of what the vectors do not show: validation,
 * same-day reviews, clamps, interval order, fuzz.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cktest.h"
#include "fsrs.h"

#define REL_TOL 1e-6

typedef struct vset {
	int id;
	double retention;
	int max_interval;
	size_t ngiven;
	double given[FSRS_NPARAMS];
	double effective[FSRS_NPARAMS];
} vset;

typedef struct vreview {
	int set;
	long card;
	long long t;
	int rating;
	unsigned elapsed;
	double r, s, d;
	unsigned ivl;
	int line;
} vreview;

typedef struct vfuzz {
	unsigned max_interval, interval, elapsed, lo, hi;
} vfuzz;

static vset *sets;
static size_t nsets;
static vreview *reviews;
static size_t nreviews, capreviews;
static vfuzz *fuzzes;
static size_t nfuzzes, capfuzzes;
static char load_error[4200];

static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n)) == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	return p;
}

/* A space-separated list of at most FSRS_NPARAMS numbers. */
static size_t
parse_list(char *s, double *v)
{
	size_t n = 0;
	char *end;

	while (n < FSRS_NPARAMS) {
		v[n] = strtod(s, &end);
		if (end == s)
			break;
		n++;
		s = end;
	}
	return n;
}

/* The next comma-separated field of *p, or NULL past the last. */
static char *
next_field(char **p)
{
	char *f = *p, *c;

	if (f == NULL)
		return NULL;
	if ((c = strchr(f, ',')) != NULL) {
		*c = '\0';
		*p = c + 1;
	} else
		*p = NULL;
	return f;
}

static bool
load_vectors(void)
{
	const char *srcdir = getenv("srcdir");
	char path[4096], line[8192];
	FILE *fp;
	int lineno = 0;

	snprintf(path, sizeof(path), "%s/tests/data/fsrs_vectors.csv",
	    srcdir != NULL ? srcdir : ".");
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(load_error, sizeof(load_error), "cannot open %s", path);
		return false;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		if (line[0] == 'P') {
			vset *v;
			char *f[6], *p = line;

			for (int i = 0; i < 6; i++)
				f[i] = next_field(&p);
			if (f[5] == NULL)
				goto bad;
			sets = xrealloc(sets, (nsets + 1) * sizeof(*sets));
			v = &sets[nsets++];
			v->id = atoi(f[1]);
			v->retention = strtod(f[2], NULL);
			v->max_interval = atoi(f[3]);
			v->ngiven = parse_list(f[4], v->given);
			if (parse_list(f[5], v->effective) != FSRS_NPARAMS ||
			    v->id != (int)nsets - 1)
				goto bad;
		} else if (line[0] == 'R') {
			vreview *r;

			if (nreviews == capreviews) {
				capreviews = capreviews ? 2 * capreviews : 4096;
				reviews = xrealloc(reviews,
				    capreviews * sizeof(*reviews));
			}
			r = &reviews[nreviews];
			if (sscanf(line, "R,%d,%ld,%lld,%d,%u,%lf,%lf,%lf,%u",
			    &r->set, &r->card, &r->t, &r->rating, &r->elapsed,
			    &r->r, &r->s, &r->d, &r->ivl) != 9 ||
			    r->set < 0 || (size_t)r->set >= nsets)
				goto bad;
			r->line = lineno;
			nreviews++;
		} else if (line[0] == 'F') {
			vfuzz *z;

			if (nfuzzes == capfuzzes) {
				capfuzzes = capfuzzes ? 2 * capfuzzes : 256;
				fuzzes = xrealloc(fuzzes,
				    capfuzzes * sizeof(*fuzzes));
			}
			z = &fuzzes[nfuzzes];
			if (sscanf(line, "F,%u,%u,%u,%u,%u", &z->max_interval,
			    &z->interval, &z->elapsed, &z->lo, &z->hi) != 5)
				goto bad;
			nfuzzes++;
		} else if (line[0] != '#')
			goto bad;
	}
	fclose(fp);
	if (nsets == 0 || nreviews < 1000 || nfuzzes == 0) {
		snprintf(load_error, sizeof(load_error), "%s: too few vectors",
		    path);
		return false;
	}
	return true;
bad:
	snprintf(load_error, sizeof(load_error), "%s:%d: bad line", path,
	    lineno);
	fclose(fp);
	return false;
}

static bool
close_enough(double got, double want)
{
	return got == want || fabs(got - want) <= REL_TOL * fabs(want);
}

static fsrs_model *
model_for(const vset *v)
{
	double w[FSRS_NPARAMS];
	char err[256];
	fsrs_model *m;

	ck_assert_msg(fsrs_params_from(v->given, v->ngiven, w, err,
	    sizeof(err)), "set %d: %s", v->id, err);
	m = fsrs_model_new(w, v->retention, v->max_interval, err, sizeof(err));
	ck_assert_msg(m != NULL, "set %d: %s", v->id, err);
	return m;
}

START_TEST(test_vectors_loaded)
{
	ck_assert_msg(load_error[0] == '\0', "%s", load_error);
}
END_TEST

START_TEST(test_vectors_params)
{
	ck_assert_msg(load_error[0] == '\0', "%s", load_error);
	for (size_t i = 0; i < nsets; i++) {
		const vset *v = &sets[i];
		double w[FSRS_NPARAMS];
		char err[256];

		ck_assert_msg(fsrs_params_from(v->given, v->ngiven, w, err,
		    sizeof(err)), "set %d: %s", v->id, err);
		for (int k = 0; k < FSRS_NPARAMS; k++)
			ck_assert_msg(w[k] == v->effective[k],
			    "set %d (%zu given): w[%d] = %.17g, reference %.17g",
			    v->id, v->ngiven, k, w[k], v->effective[k]);
	}
	/* The defaults are the reference's. */
	for (int k = 0; k < FSRS_NPARAMS; k++)
		ck_assert(fsrs_default_params()[k] == sets[0].effective[k]);
}
END_TEST

START_TEST(test_vectors_reviews)
{
	fsrs_model *m = NULL;
	fsrs_state st = { 0 }, quiet = { 0 }, fuzzed = { 0 };
	long card = -1;
	long long prev_t = 0;
	int set = -1;

	ck_assert_msg(load_error[0] == '\0', "%s", load_error);
	for (size_t i = 0; i < nreviews; i++) {
		const vreview *v = &reviews[i];
		uint32_t ivl, fivl;
		double r;

		if (v->set != set) {
			fsrs_model_free(m);
			set = v->set;
			m = model_for(&sets[set]);
		}
		if (v->card != card) {
			card = v->card;
			st = quiet = fuzzed = (fsrs_state){ 0 };
			ck_assert_msg(v->elapsed == 0, "line %d", v->line);
			r = 0;
		} else {
			ck_assert_msg(fsrs_utc_day_diff(prev_t, v->t) ==
			    v->elapsed, "line %d: %lld days from %lld to %lld,"
			    " reference %u", v->line,
			    (long long)fsrs_utc_day_diff(prev_t, v->t), prev_t,
			    v->t, v->elapsed);
			r = fsrs_retrievability(m, st.stability, v->elapsed);
		}
		prev_t = v->t;
		ck_assert_msg(close_enough(r, v->r), "line %d: R %.17g, "
		    "reference %.17g", v->line, r, v->r);

		fsrs_review(m, &st, v->elapsed, (fsrs_rating)v->rating, &ivl);
		ck_assert_msg(close_enough(st.stability, v->s), "line %d: S "
		    "%.17g, reference %.17g", v->line, st.stability, v->s);
		ck_assert_msg(close_enough(st.difficulty, v->d), "line %d: D "
		    "%.17g, reference %.17g", v->line, st.difficulty, v->d);
		ck_assert_msg(ivl == v->ivl, "line %d: interval %u, reference "
		    "%u", v->line, ivl, v->ivl);

		/* Without an interval, or with fuzz, the state is the same. */
		fsrs_review(m, &quiet, v->elapsed, (fsrs_rating)v->rating, NULL);
		fsrs_review_fuzzed(m, &fuzzed, v->elapsed,
		    (fsrs_rating)v->rating, i, &fivl);
		ck_assert(memcmp(&st, &quiet, sizeof(st)) == 0);
		ck_assert(memcmp(&st, &fuzzed, sizeof(st)) == 0);
		/* Keep the reference's state so one miss does not cascade. */
		st.stability = v->s;
		st.difficulty = v->d;
		quiet = fuzzed = st;
	}
	fsrs_model_free(m);
}
END_TEST

START_TEST(test_vectors_fuzz_range)
{
	ck_assert_msg(load_error[0] == '\0', "%s", load_error);
	for (size_t i = 0; i < nfuzzes; i++) {
		const vfuzz *z = &fuzzes[i];
		fsrs_model *m;
		uint32_t lo, hi;
		char err[256];

		m = fsrs_model_new(NULL, 0.9, (int)z->max_interval, err,
		    sizeof(err));
		ck_assert_msg(m != NULL, "%s", err);
		fsrs_fuzz_range(m, z->interval, z->elapsed, &lo, &hi);
		ck_assert_msg(lo == z->lo && hi == z->hi, "interval %u elapsed "
		    "%u max %u: [%u, %u], reference [%u, %u]", z->interval,
		    z->elapsed, z->max_interval, lo, hi, z->lo, z->hi);
		fsrs_model_free(m);
	}
}
END_TEST

/* err holds a message that mentions want. */
static void
assert_rejected(bool ok, const char *err, const char *want)
{
	ck_assert_msg(!ok, "accepted, expected \"%s\"", want);
	ck_assert_msg(strstr(err, want) != NULL, "message \"%s\" lacks \"%s\"",
	    err, want);
}

START_TEST(test_bad_params)
{
	double v[FSRS_NPARAMS + 1], w[FSRS_NPARAMS];
	char err[256];
	fsrs_model *m;

	memcpy(v, fsrs_default_params(), sizeof(w));
	v[FSRS_NPARAMS] = 0.5;
	ck_assert(fsrs_params_from(v, 21, w, err, sizeof(err)));
	ck_assert(fsrs_params_from(v, 19, w, err, sizeof(err)));
	assert_rejected(fsrs_params_from(v, 20, w, err, sizeof(err)), err,
	    "got 20");
	assert_rejected(fsrs_params_from(v, 22, w, err, sizeof(err)), err,
	    "got 22");
	assert_rejected(fsrs_params_from(v, 0, w, err, sizeof(err)), err,
	    "got 0");

	v[7] = NAN;
	assert_rejected(fsrs_params_from(v, 21, w, err, sizeof(err)), err,
	    "w[7] is not a finite number");
	v[7] = INFINITY;
	assert_rejected(fsrs_params_from(v, 21, w, err, sizeof(err)), err,
	    "w[7] is not a finite number");
	v[7] = 0.001;
	v[3] = 100.5;
	assert_rejected(fsrs_params_from(v, 21, w, err, sizeof(err)), err,
	    "w[3] = 100.5 is outside its range [0.001, 100]");
	v[3] = 8;
	v[20] = 0.05;
	assert_rejected(fsrs_params_from(v, 21, w, err, sizeof(err)), err,
	    "w[20] = 0.05");
	v[20] = 0.8;	/* bounds are inclusive */
	ck_assert(fsrs_params_from(v, 21, w, err, sizeof(err)));
	v[4] = 0.99;
	assert_rejected(fsrs_params_from(v, 21, w, err, sizeof(err)), err,
	    "w[4] = 0.98999999999999999");

	/* fsrs_model_new checks the same, and retention and max interval. */
	v[4] = 6;
	v[19] = -0.1;
	m = fsrs_model_new(v, 0.9, 365, err, sizeof(err));
	assert_rejected(m != NULL, err, "w[19]");
	v[19] = 0.1;
	m = fsrs_model_new(v, 0.9, 365, NULL, 0);	/* err is optional */
	ck_assert(m != NULL);
	fsrs_model_free(m);
	const double bad_r[] = { 0, 1, -0.5, 1.5, NAN, INFINITY };
	for (size_t i = 0; i < sizeof(bad_r) / sizeof(bad_r[0]); i++) {
		m = fsrs_model_new(NULL, bad_r[i], 365, err, sizeof(err));
		assert_rejected(m != NULL, err, "retention");
	}
	m = fsrs_model_new(NULL, 0.9, 0, err, sizeof(err));
	assert_rejected(m != NULL, err, "maximum interval 0");
	m = fsrs_model_new(NULL, 0.9, -3, err, sizeof(err));
	assert_rejected(m != NULL, err, "maximum interval -3");
	m = fsrs_model_new(NULL, 0.999, 1, err, sizeof(err));
	ck_assert(m != NULL);
	fsrs_model_free(m);

	/* From text. */
	ck_assert(fsrs_params_parse("0.212,1.2931,2.3065,8.2956,6.4133,0.8334,"
	    "3.0194,0.001,1.8722,0.1666,0.796,1.4835,0.0614,0.2629,1.6483,"
	    "0.6014,1.8729,0.5425,0.0912,0.0658,0.1542", w, err, sizeof(err)));
	ck_assert(memcmp(w, fsrs_default_params(), sizeof(w)) == 0);
	ck_assert(fsrs_params_parse(" 1, 2 ,3,4,5,0.5,1,0.1,1,0.1,1,1,0.1,0.1,"
	    "1,0.5,2", w, err, sizeof(err)));
	assert_rejected(fsrs_params_parse("1,2,3", w, err, sizeof(err)), err,
	    "got 3");
	assert_rejected(fsrs_params_parse("1,2,x", w, err, sizeof(err)), err,
	    "parameter 2 is not a number");
	assert_rejected(fsrs_params_parse("", w, err, sizeof(err)), err,
	    "parameter 0 is not a number");
	assert_rejected(fsrs_params_parse("1,,2", w, err, sizeof(err)), err,
	    "parameter 1 is not a number");
	assert_rejected(fsrs_params_parse("1,2,", w, err, sizeof(err)), err,
	    "parameter 2 is not a number");
	assert_rejected(fsrs_params_parse("1;2", w, err, sizeof(err)), err,
	    "unexpected ';'");
	assert_rejected(fsrs_params_parse("1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,"
	    "1,1,1,1,1", w, err, sizeof(err)), err, "more than 21");
	assert_rejected(fsrs_params_parse("nan,1,1", w, err, sizeof(err)), err,
	    "got 3");
}
END_TEST

static fsrs_model *
default_model(int max_interval)
{
	char err[256];
	fsrs_model *m = fsrs_model_new(NULL, 0.9, max_interval, err,
	    sizeof(err));

	ck_assert_msg(m != NULL, "%s", err);
	return m;
}

START_TEST(test_same_day)
{
	fsrs_model *m = default_model(36500);
	fsrs_state st = { 0 }, again;
	uint32_t ivl;
	double s;

	fsrs_review(m, &st, 0, FSRS_GOOD, &ivl);
	ck_assert(st.stability == fsrs_default_params()[2]);
	ck_assert_uint_eq(st.reps, 1);
	fsrs_review(m, &st, 10, FSRS_GOOD, &ivl);
	s = st.stability;
	/* Nothing was forgotten the same day: R = 1, so S stays put... */
	ck_assert(fsrs_retrievability(m, s, 0) == 1);
	double d = st.difficulty;
	fsrs_review(m, &st, 0, FSRS_EASY, &ivl);
	ck_assert(st.stability == s);
	/* ...but difficulty still moves (Easy makes it easier). */
	ck_assert(st.difficulty < d);
	/* A same-day Again never raises stability. */
	again = st;
	fsrs_review(m, &again, 0, FSRS_AGAIN, &ivl);
	ck_assert(again.stability <= s);
	ck_assert(again.difficulty > st.difficulty);
	ck_assert_uint_eq(again.lapses, 1);
	ck_assert_uint_eq(again.reps, 4);
	fsrs_model_free(m);
}
END_TEST

START_TEST(test_clamps)
{
	double lo[FSRS_NPARAMS], hi[FSRS_NPARAMS];
	static const double range_lo[FSRS_NPARAMS] = { 0.001, 0.001, 0.001,
	    0.001, 1, 0.001, 0.001, 0.001, 0, 0, 0.001, 0.001, 0.001, 0.001,
	    0, 0, 1, 0, 0, 0, 0.1 };
	static const double range_hi[FSRS_NPARAMS] = { 100, 100, 100, 100, 10,
	    4, 4, 0.75, 4.5, 0.8, 3.5, 5, 0.25, 0.9, 4, 1, 6, 2, 2, 0.8,
	    0.8 };
	char err[256];

	memcpy(lo, range_lo, sizeof(lo));
	memcpy(hi, range_hi, sizeof(hi));
	/* Again after Again with the smallest parameters: S hits its floor. */
	fsrs_model *m = fsrs_model_new(lo, 0.9, 36500, err, sizeof(err));
	ck_assert_msg(m != NULL, "%s", err);
	fsrs_state st = { 0 };
	uint32_t ivl;
	fsrs_review(m, &st, 0, FSRS_AGAIN, &ivl);
	ck_assert(st.stability == 0.1);	/* initial S is at least 0.1 */
	for (int i = 0; i < 20; i++) {
		fsrs_review(m, &st, 1, FSRS_AGAIN, &ivl);
		ck_assert(st.stability >= 0.001);
		ck_assert(st.difficulty >= 1 && st.difficulty <= 10);
		ck_assert_uint_ge(ivl, 1);
	}
	ck_assert(st.stability == 0.001);
	fsrs_model_free(m);

	/*
	 * With the largest parameters a first Again starts at D = 10, and
	 * Easy pulls D to its floor of 1 while S reaches its ceiling.
	 */
	m = fsrs_model_new(hi, 0.9, 36500, err, sizeof(err));
	ck_assert_msg(m != NULL, "%s", err);
	st = (fsrs_state){ 0 };
	fsrs_review(m, &st, 0, FSRS_AGAIN, &ivl);
	ck_assert(st.difficulty == 10);
	for (int i = 0; i < 30; i++) {
		fsrs_review(m, &st, ivl, i < 10 ? FSRS_AGAIN : FSRS_EASY, &ivl);
		ck_assert(st.stability >= 0.001 && st.stability <= 36500);
		ck_assert(st.difficulty >= 1 && st.difficulty <= 10);
	}
	ck_assert(st.difficulty == 1);
	ck_assert(st.stability == 36500);
	fsrs_model_free(m);

	/* The maximum interval caps every single interval... */
	m = default_model(30);
	ck_assert_uint_eq(fsrs_interval(m, 1e4), 30);
	ck_assert_uint_eq(fsrs_interval(m, 0.001), 1);
	ck_assert_uint_eq(fsrs_interval(m, 36500), 30);
	ck_assert_uint_eq(fsrs_model_max_interval(m), 30);
	/* ...but the order of ratings wins over it, as in the reference. */
	st = (fsrs_state){ .stability = 1000, .difficulty = 5, .reps = 5 };
	fsrs_state good = st;
	fsrs_review(m, &good, 100, FSRS_GOOD, &ivl);
	ck_assert_uint_ge(ivl, 30);
	ck_assert_uint_le(ivl, 32);
	fsrs_model_free(m);
	m = default_model(1);
	for (int g = FSRS_AGAIN; g <= FSRS_EASY; g++) {
		fsrs_state s1 = { 0 };
		fsrs_review(m, &s1, 0, (fsrs_rating)g, &ivl);
		ck_assert_uint_eq(ivl, (uint32_t)g);
	}
	fsrs_model_free(m);
}
END_TEST

START_TEST(test_interval_order)
{
	fsrs_model *m = default_model(36500);
	uint64_t x = 12345;

	for (int i = 0; i < 20000; i++) {
		fsrs_state st;
		uint32_t ivl[4];
		uint32_t elapsed;

		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		st.stability = 0.001 + (double)(x >> 40) / (1 << 24) * 400;
		st.difficulty = 1 + (double)((x >> 8) & 0xffff) / 65536 * 9;
		st.reps = (i % 50 == 0) ? 0 : 3;
		st.lapses = 0;
		if (st.reps == 0)
			st.stability = st.difficulty = 0;
		elapsed = (uint32_t)((x >> 20) % 1000);
		for (int g = FSRS_AGAIN; g <= FSRS_EASY; g++) {
			fsrs_state c = st;
			fsrs_review(m, &c, elapsed, (fsrs_rating)g, &ivl[g - 1]);
		}
		/* Strictly increasing: each rating at least a day more. */
		ck_assert_msg(ivl[0] < ivl[1] && ivl[1] < ivl[2] &&
		    ivl[2] < ivl[3], "S %g D %g t %u: %u %u %u %u",
		    st.stability, st.difficulty, elapsed, ivl[0], ivl[1],
		    ivl[2], ivl[3]);
	}
	fsrs_model_free(m);
}
END_TEST

START_TEST(test_fuzz)
{
	fsrs_model *m = default_model(36500);
	uint32_t lo, hi;

	/* Short intervals are never fuzzed. */
	for (uint64_t seed = 0; seed < 100; seed++) {
		ck_assert_uint_eq(fsrs_fuzz_interval(m, 1, 0, seed), 1);
		ck_assert_uint_eq(fsrs_fuzz_interval(m, 2, 0, seed), 2);
	}
	/* The reference's ranges, e.g. 100 days: delta 1+0.675+1.3+4 = 6.975. */
	fsrs_fuzz_range(m, 100, 0, &lo, &hi);
	ck_assert_uint_eq(lo, 93);
	ck_assert_uint_eq(hi, 107);
	fsrs_fuzz_range(m, 3, 0, &lo, &hi);
	ck_assert_uint_eq(lo, 2);
	ck_assert_uint_eq(hi, 4);
	fsrs_fuzz_range(m, 10, 9, &lo, &hi);	/* past the elapsed days */
	ck_assert_uint_eq(lo, 10);

	const uint32_t ivls[] = { 3, 5, 8, 21, 100, 365, 36500 };
	for (size_t k = 0; k < sizeof(ivls) / sizeof(ivls[0]); k++) {
		uint32_t seen_lo = UINT32_MAX, seen_hi = 0;

		fsrs_fuzz_range(m, ivls[k], 0, &lo, &hi);
		for (uint64_t seed = 0; seed < 4000; seed++) {
			uint32_t f = fsrs_fuzz_interval(m, ivls[k], 0, seed);

			/* Deterministic from the seed. */
			ck_assert_uint_eq(f, fsrs_fuzz_interval(m, ivls[k], 0,
			    seed));
			ck_assert_uint_ge(f, lo);
			ck_assert_uint_le(f, hi);
			if (f < seen_lo)
				seen_lo = f;
			if (f > seen_hi)
				seen_hi = f;
		}
		/* And it covers the whole range. */
		ck_assert_uint_eq(seen_lo, lo);
		ck_assert_uint_eq(seen_hi, hi);
	}
	/* Fuzzed reviews: same state, interval in the range, still ordered. */
	fsrs_state st = { .stability = 50, .difficulty = 5, .reps = 4 };
	for (uint64_t seed = 0; seed < 1000; seed++) {
		uint32_t iv[4], plain;

		for (int g = FSRS_AGAIN; g <= FSRS_EASY; g++) {
			fsrs_state a = st, b = st;

			fsrs_review_fuzzed(m, &a, 40, (fsrs_rating)g, seed,
			    &iv[g - 1]);
			fsrs_review(m, &b, 40, (fsrs_rating)g, &plain);
			ck_assert(memcmp(&a, &b, sizeof(a)) == 0);
			if (g == FSRS_GOOD) {
				fsrs_fuzz_range(m, plain, 40, &lo, &hi);
				ck_assert_uint_ge(iv[2], lo);
				ck_assert_uint_le(iv[2], hi);
			}
		}
		ck_assert(iv[0] < iv[1] && iv[1] < iv[2] && iv[2] < iv[3]);
	}
	fsrs_model_free(m);
}
END_TEST

START_TEST(test_retrievability)
{
	fsrs_model *m = default_model(36500);

	ck_assert(fsrs_retrievability(m, 0, 5) == 0);	/* never reviewed */
	ck_assert(fsrs_retrievability(m, 10, 0) == 1);
	ck_assert(fsrs_retrievability(m, 10, -3) == 1);
	ck_assert(fabs(fsrs_retrievability(m, 10, 10) - 0.9) < 1e-7);
	ck_assert(fabs(fsrs_retrievability(m, 3.5, 3.5) - 0.9) < 1e-7);
	ck_assert(fsrs_retrievability(m, 10, 20) < 0.9);
	ck_assert(fsrs_retrievability(m, 10, 20) > fsrs_retrievability(m, 10,
	    21));
	/* At the interval for the desired retention, R is about that. */
	ck_assert(fabs(fsrs_retrievability(m, 100, fsrs_interval(m, 100)) -
	    0.9) < 0.005);
	ck_assert(fsrs_model_retention(m) == 0.9);
	ck_assert(fsrs_model_params(m)[20] == 0.1542);
	fsrs_model_free(m);
}
END_TEST

START_TEST(test_day_diff)
{
	const int64_t day = 86400, t0 = 1740787200;	/* 2025-03-01 */

	ck_assert_int_eq(fsrs_utc_day_diff(t0, t0), 0);
	ck_assert_int_eq(fsrs_utc_day_diff(t0, t0 + day - 1), 0);
	ck_assert_int_eq(fsrs_utc_day_diff(t0 + day - 1, t0 + day), 1);
	ck_assert_int_eq(fsrs_utc_day_diff(t0 + 60, t0 + 2 * day - 60), 1);
	ck_assert_int_eq(fsrs_utc_day_diff(t0, t0 + 3650 * day), 3650);
	ck_assert_int_eq(fsrs_utc_day_diff(t0 + day, t0), -1);
	/* Before 1970: floor, not truncation. */
	ck_assert_int_eq(fsrs_utc_day_diff(-1, 0), 1);
	ck_assert_int_eq(fsrs_utc_day_diff(-day, -1), 0);
	ck_assert_int_eq(fsrs_utc_day_diff(-day - 1, -day), 1);
}
END_TEST

START_TEST(test_first_review)
{
	fsrs_model *m = default_model(36500);
	const double *w = fsrs_default_params();

	for (int g = FSRS_AGAIN; g <= FSRS_EASY; g++) {
		fsrs_state st = { 0 };
		uint32_t ivl;

		fsrs_review(m, &st, 123, (fsrs_rating)g, &ivl);	/* ignored */
		ck_assert(st.stability == fmax(w[g - 1], 0.1));
		ck_assert(st.difficulty >= 1 && st.difficulty <= 10);
		ck_assert_uint_eq(st.reps, 1);
		ck_assert_uint_eq(st.lapses, 0);	/* no lapse when new */
	}
	fsrs_model_free(m);
}
END_TEST

static Suite *
fsrs_suite(void)
{
	Suite *s = suite_create("fsrs");
	TCase *tc = tcase_create("vectors");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_vectors_loaded);
	tcase_add_test(tc, test_vectors_params);
	tcase_add_test(tc, test_vectors_reviews);
	tcase_add_test(tc, test_vectors_fuzz_range);
	suite_add_tcase(s, tc);

	tc = tcase_create("unit");
	tcase_add_test(tc, test_bad_params);
	tcase_add_test(tc, test_same_day);
	tcase_add_test(tc, test_clamps);
	tcase_add_test(tc, test_interval_order);
	tcase_add_test(tc, test_fuzz);
	tcase_add_test(tc, test_retrievability);
	tcase_add_test(tc, test_day_diff);
	tcase_add_test(tc, test_first_review);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	int failed;

	load_vectors();
	failed = cktest_run(fsrs_suite());
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
