/*
 * fsrs.c: FSRS-6 as ts-fsrs 5.4 computes it with enable_short_term = false
 * (its LongTermScheduler): every review is a long-term review, a same-day
 * repeat included.
 *
 * Matching the reference to the last digit means copying its arithmetic,
 * not just its formulas: it rounds most intermediate results to 8 decimals
 * with Math.round (halves go up), and the order of the multiplications
 * below is the order of its source, since floating point is not
 * associative. Build without -ffast-math and without FMA contraction
 * (-std=c11 already turns contraction off in GCC).
 */
#include "fsrs.h"
#include "err.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define S_MIN 1e-3	/* stability floor of the reference */
#define S_MAX 36500.0	/* stability ceiling */
#define INIT_S_MAX 100.0

static const double default_w[FSRS_NPARAMS] = {
	0.212, 1.2931, 2.3065, 8.2956, 6.4133, 0.8334, 3.0194, 0.001,
	1.8722, 0.1666, 0.796, 1.4835, 0.0614, 0.2629, 1.6483, 0.6014,
	1.8729, 0.5425, 0.0912, 0.0658, 0.1542,
};

/*
 * The reference's CLAMP_PARAMETERS with enable_short_term = false and one
 * relearning step (its defaults), under which w17 and w18 may reach 2 and
 * w19 may be 0.
 */
static const double param_range[FSRS_NPARAMS][2] = {
	{ S_MIN, INIT_S_MAX }, { S_MIN, INIT_S_MAX }, { S_MIN, INIT_S_MAX },
	{ S_MIN, INIT_S_MAX }, { 1, 10 }, { 0.001, 4 }, { 0.001, 4 },
	{ 0.001, 0.75 }, { 0, 4.5 }, { 0, 0.8 }, { 0.001, 3.5 },
	{ 0.001, 5 }, { 0.001, 0.25 }, { 0.001, 0.9 }, { 0, 4 }, { 0, 1 },
	{ 1, 6 }, { 0, 2 }, { 0, 2 }, { 0, 0.8 }, { 0.1, 0.8 },
};

struct fsrs_model {
	double w[FSRS_NPARAMS];
	double retention;
	uint32_t max_interval;
	double decay;		/* -w20 */
	double factor;		/* makes R = 0.9 when t = S */
	double ivl_mod;		/* interval / stability at the retention */
	double exp_w8;
	double d0_easy;		/* initial difficulty of Easy, unclamped */
	/* A first review depends on the rating alone: computed once. */
	double init_s[4];
	double init_d[4];
	uint32_t init_ivl[4];
};

/*
 * JavaScript's Math.round: nearest integer, halves towards +infinity.
 * Without branches on the data: whether a value rounds up is a coin toss
 * the branch predictor always loses, and it is on the hot path.
 */
static inline double
js_round(double x)
{
	double r;

	if (!(fabs(x) < 0x1p52))	/* already whole (or not finite) */
		return x;
	r = (double)(int64_t)x;		/* exact here; towards zero */
	r -= (double)(r > x);		/* floor */
	return r + (double)(x - r >= 0.5);
}

/* The reference's roundTo(x, 8). */
static inline double
round8(double x)
{
	return js_round(x * 1e8) / 1e8;
}

/* Math.min(Math.max(v, lo), hi) for the finite values met here. */
static inline double
clampd(double v, double lo, double hi)
{
	v = v < lo ? lo : v;
	return v > hi ? hi : v;
}

/*
 * +x.toFixed(8) for x >= 0: unlike round8 it rounds the exact binary value
 * (halves up), so find the fraction exactly with one fma.
 */
static double
js_to_fixed8(double x)
{
	double n = floor(x * 1e8);
	double d = fma(x, 1e8, -n);

	if (d < 0) {
		n -= 1;
		d += 1;
	} else if (d >= 1) {
		n += 1;
		d -= 1;
	}
	if (d >= 0.5)
		n += 1;
	return n / 1e8;
}

const double *
fsrs_default_params(void)
{
	return default_w;
}

void
fsrs_param_bounds(int i, double *lo, double *hi)
{
	*lo = param_range[i][0];
	*hi = param_range[i][1];
}

static bool
check_params(const double *v, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(v[i])) {
			sched_err(err, errlen, "FSRS parameter w[%zu] is not a "
			    "finite number", i);
			return false;
		}
		if (v[i] < param_range[i][0] || v[i] > param_range[i][1]) {
			sched_err(err, errlen, "FSRS parameter w[%zu] = %.17g is "
			    "outside its range [%g, %g]", i, v[i],
			    param_range[i][0], param_range[i][1]);
			return false;
		}
	}
	return true;
}

bool
fsrs_params_from(const double *v, size_t n, double w[FSRS_NPARAMS],
    char *err, size_t errlen)
{
	if (n != 17 && n != 19 && n != 21) {
		sched_err(err, errlen, "expected 21 FSRS-6 parameters (or 19 of "
		    "FSRS-5, 17 of FSRS-4.5), got %zu", n);
		return false;
	}
	if (!check_params(v, n, err, errlen))
		return false;
	for (size_t i = 0; i < n; i++)
		w[i] = v[i];
	if (n == 19) {
		/* FSRS-5 had no w19 and a fixed decay of 0.5. */
		w[19] = 0;
		w[20] = 0.5;
	} else if (n == 17) {
		/* FSRS-4.5 to 6, as migrateParameters, then clipped again. */
		w[4] = clampd(js_to_fixed8(v[5] * 2 + v[4]), 1, 10);
		w[5] = clampd(js_to_fixed8(log(v[5] * 3 + 1) / 3), 0.001, 4);
		w[6] = clampd(js_to_fixed8(v[6] + 0.5), 0.001, 4);
		w[17] = w[18] = w[19] = 0;
		w[20] = 0.5;
	}
	return true;
}

bool
fsrs_params_parse(const char *s, double w[FSRS_NPARAMS], char *err,
    size_t errlen)
{
	double v[FSRS_NPARAMS];
	size_t n = 0;
	const char *p = s;

	for (;;) {
		char *end;

		while (*p == ' ' || *p == '\t')
			p++;
		if (n == FSRS_NPARAMS) {
			sched_err(err, errlen, "more than %d FSRS parameters",
			    FSRS_NPARAMS);
			return false;
		}
		v[n] = strtod(p, &end);	/* overflow gives inf: rejected */
		if (end == p) {
			sched_err(err, errlen, "FSRS parameter %zu is not a "
			    "number", n);
			return false;
		}
		p = end;
		while (*p == ' ' || *p == '\t')
			p++;
		n++;
		if (*p == '\0')
			break;
		if (*p != ',') {
			sched_err(err, errlen, "FSRS parameter %zu: unexpected "
			    "'%c'", n - 1, *p);
			return false;
		}
		p++;
	}
	return fsrs_params_from(v, n, w, err, errlen);
}

/* The interval of one rating before the ratings are put in order. */
static inline uint32_t
raw_interval(const fsrs_model *m, double s)
{
	double x = js_round(s * m->ivl_mod);

	if (x < 1)
		x = 1;
	if (x > m->max_interval)
		x = m->max_interval;
	return (uint32_t)x;
}

uint32_t
fsrs_interval(const fsrs_model *m, double stability)
{
	return raw_interval(m, stability);
}

/*
 * The reference's ordering: Again <= Hard - 1, Good >= Hard + 1,
 * Easy >= Good + 1, even beyond the maximum interval.
 */
static uint32_t
order_intervals(const uint32_t ivl[4], fsrs_rating rating)
{
	uint32_t a, h, g, e;

	a = ivl[0] < ivl[1] ? ivl[0] : ivl[1];
	if (rating == FSRS_AGAIN)
		return a;
	h = ivl[1] > a + 1 ? ivl[1] : a + 1;
	if (rating == FSRS_HARD)
		return h;
	g = ivl[2] > h + 1 ? ivl[2] : h + 1;
	if (rating == FSRS_GOOD)
		return g;
	e = ivl[3] > g + 1 ? ivl[3] : g + 1;
	return e;
}

static inline double
init_difficulty(const double *w, int g)
{
	return round8(w[4] - exp((g - 1) * w[5]) + 1);
}

fsrs_model *
fsrs_model_new(const double *w, double retention, int max_interval_days,
    char *err, size_t errlen)
{
	fsrs_model *m;

	if (w == NULL)
		w = default_w;
	if (!check_params(w, FSRS_NPARAMS, err, errlen))
		return NULL;
	if (!(retention > 0 && retention < 1)) {
		sched_err(err, errlen, "desired retention %g is not between 0 and "
		    "1 (exclusive)", retention);
		return NULL;
	}
	if (max_interval_days < 1) {
		sched_err(err, errlen, "maximum interval %d days is below 1",
		    max_interval_days);
		return NULL;
	}
	if ((m = malloc(sizeof(*m))) == NULL) {
		sched_err(err, errlen, "out of memory");
		return NULL;
	}
	for (int i = 0; i < FSRS_NPARAMS; i++)
		m->w[i] = w[i];
	m->retention = retention;
	m->max_interval = (uint32_t)max_interval_days;
	m->decay = -w[20];
	m->factor = round8(exp(pow(m->decay, -1) * log(0.9)) - 1);
	m->ivl_mod = round8((pow(retention, 1 / m->decay) - 1) / m->factor);
	m->exp_w8 = exp(w[8]);
	m->d0_easy = init_difficulty(w, FSRS_EASY);

	uint32_t ivl[4];
	for (int g = 1; g <= 4; g++) {
		m->init_s[g - 1] = fmax(w[g - 1], 0.1);
		m->init_d[g - 1] = clampd(init_difficulty(w, g), 1, 10);
		ivl[g - 1] = raw_interval(m, m->init_s[g - 1]);
	}
	for (int g = 1; g <= 4; g++)
		m->init_ivl[g - 1] = order_intervals(ivl, (fsrs_rating)g);
	return m;
}

void
fsrs_model_free(fsrs_model *m)
{
	free(m);
}

const double *
fsrs_model_params(const fsrs_model *m)
{
	return m->w;
}

double
fsrs_model_retention(const fsrs_model *m)
{
	return m->retention;
}

uint32_t
fsrs_model_max_interval(const fsrs_model *m)
{
	return m->max_interval;
}

/* forgetting_curve; the caller guarantees stability > 0. */
static inline double
forgetting_curve(const fsrs_model *m, double t, double s)
{
	return round8(pow(1 + m->factor * t / s, m->decay));
}

double
fsrs_retrievability(const fsrs_model *m, double stability, double elapsed_days)
{
	/* A card never reviewed has nothing to recall (get_retrievability). */
	if (!(stability > 0))
		return 0;
	if (!(elapsed_days > 0))
		elapsed_days = 0;
	return forgetting_curve(m, elapsed_days, stability);
}

int64_t
fsrs_utc_day_diff(int64_t from_unix, int64_t to_unix)
{
	/* Floor division: days before 1970 count from their own midnight. */
	int64_t a = from_unix / 86400 - (from_unix % 86400 < 0);
	int64_t b = to_unix / 86400 - (to_unix % 86400 < 0);

	return b - a;
}

void
fsrs_fuzz_range(const fsrs_model *m, uint32_t interval, uint32_t elapsed_days,
    uint32_t *min_ivl, uint32_t *max_ivl)
{
	static const double ranges[3][3] = {
		/* start, end, factor */
		{ 2.5, 7, 0.15 },
		{ 7, 20, 0.1 },
		{ 20, INFINITY, 0.05 },
	};
	double ivl = interval, delta = 1, lo, hi;

	for (int i = 0; i < 3; i++)
		delta += ranges[i][2] *
		    fmax(fmin(ivl, ranges[i][1]) - ranges[i][0], 0);
	ivl = fmin(ivl, m->max_interval);
	lo = fmax(2, js_round(ivl - delta));
	hi = fmin(js_round(ivl + delta), m->max_interval);
	if (ivl > elapsed_days)
		lo = fmax(lo, (double)elapsed_days + 1);
	lo = fmin(lo, hi);
	*min_ivl = (uint32_t)lo;
	*max_ivl = (uint32_t)hi;
}

/* splitmix64 to a uniform double in [0, 1): small, good, seedable. */
static double
seed_uniform(uint64_t seed)
{
	uint64_t z = seed + 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (double)(z >> 11) * 0x1.0p-53;
}

/* apply_fuzz with a uniform draw u in [0, 1), or none when u < 0. */
static inline uint32_t
fuzz_with(const fsrs_model *m, uint32_t interval, uint32_t elapsed_days,
    double u)
{
	uint32_t lo, hi;

	if (u < 0 || interval < 3)
		return interval;
	fsrs_fuzz_range(m, interval, elapsed_days, &lo, &hi);
	return (uint32_t)floor(u * (double)(hi - lo + 1) + lo);
}

uint32_t
fsrs_fuzz_interval(const fsrs_model *m, uint32_t interval,
    uint32_t elapsed_days, uint64_t seed)
{
	return fuzz_with(m, interval, elapsed_days, seed_uniform(seed));
}

/* next_recall_stability with its penalty/bonus already folded into k. */
static inline double
recall_stability(double s, double k)
{
	return round8(clampd(s * (1 + k), S_MIN, S_MAX));
}

/* next_state for Again: the post-lapse stability, never above s. */
static inline double
again_stability(const fsrs_model *m, double d, double s, double r)
{
	const double *w = m->w;
	double sf;

	sf = round8(clampd(w[11] * pow(d, -w[12]) * (pow(s + 1, w[13]) - 1) *
	    exp((1 - r) * w[14]), S_MIN, S_MAX));
	return clampd(round8(s), S_MIN, sf);
}

static inline double
next_difficulty(const fsrs_model *m, double d, int g)
{
	const double *w = m->w;
	double delta = -w[6] * (g - 3);
	double nd = d + round8(delta * (10 - d) / 9);

	return clampd(round8(w[7] * m->d0_easy + (1 - w[7]) * nd), 1, 10);
}

/*
 * One review. The interval of a rating depends on those of the ratings
 * below it (the reference puts all four in order), so those stabilities
 * are computed too, but only as far as the answer needs them. Inlined
 * into its two callers, so that the unfuzzed one carries no fuzz.
 */
static inline __attribute__((always_inline)) void
review(const fsrs_model *m, fsrs_state *st, uint32_t elapsed_days,
    fsrs_rating rating, bool fuzz, uint64_t seed, uint32_t *interval_days)
{
	const double *w = m->w;
	double u = fuzz ? seed_uniform(seed) : -1;
	double s = st->stability, d = st->difficulty;
	double r, base, ns[4];
	uint32_t ivl[4];
	int g = rating;

	if (st->reps == 0) {
		st->stability = m->init_s[g - 1];
		st->difficulty = m->init_d[g - 1];
		st->reps = 1;
		if (interval_days == NULL)
			return;
		if (!fuzz) {
			*interval_days = m->init_ivl[g - 1];
			return;
		}
		for (int i = 0; i < 4; i++)
			ivl[i] = fuzz_with(m, raw_interval(m, m->init_s[i]), 0,
			    u);
		*interval_days = order_intervals(ivl, rating);
		return;
	}

	if (elapsed_days == 0) {
		/*
		 * The same day: R = round8(1^decay) = 1, so the growth term
		 * exp(0) - 1 is 0 whatever pow(s, -w9) is; no need for either.
		 */
		r = 1;
		base = 0;
	} else {
		r = forgetting_curve(m, elapsed_days, s);
		/* Shared by Hard, Good and Easy; in the reference's order. */
		base = m->exp_w8 * (11 - d) * pow(s, -w[9]) *
		    (exp((1 - r) * w[10]) - 1);
	}
	ns[1] = recall_stability(s, base * w[15]);
	if (g >= FSRS_GOOD)
		ns[2] = recall_stability(s, base);
	if (g == FSRS_EASY)
		ns[3] = recall_stability(s, base * w[16]);

	if (interval_days != NULL) {
		ivl[1] = fuzz_with(m, raw_interval(m, ns[1]), elapsed_days, u);
		for (int i = 2; i < g; i++)	/* Good, Easy */
			ivl[i] = fuzz_with(m, raw_interval(m, ns[i]),
			    elapsed_days, u);
		/*
		 * Again's interval matters to Hard and above only when it
		 * reaches Hard's. Its stability is at most
		 * max(round8(s), S_MIN) < max(s + 1e-8, S_MIN): that bound
		 * often spares the lapse formula.
		 */
		if (g == FSRS_AGAIN || fuzz ||
		    raw_interval(m, (s + 1e-8 > S_MIN ? s + 1e-8 : S_MIN)) >=
		    ivl[1]) {
			ns[0] = again_stability(m, d, s, r);
			ivl[0] = fuzz_with(m, raw_interval(m, ns[0]),
			    elapsed_days, u);
		} else
			ivl[0] = 0;
		*interval_days = order_intervals(ivl, rating);
	} else if (g == FSRS_AGAIN)
		ns[0] = again_stability(m, d, s, r);

	st->stability = ns[g - 1];
	st->difficulty = next_difficulty(m, d, g);
	st->reps++;
	if (g == FSRS_AGAIN)
		st->lapses++;
}

void
fsrs_review(const fsrs_model *m, fsrs_state *st, uint32_t elapsed_days,
    fsrs_rating rating, uint32_t *interval_days)
{
	review(m, st, elapsed_days, rating, false, 0, interval_days);
}

void
fsrs_review_fuzzed(const fsrs_model *m, fsrs_state *st, uint32_t elapsed_days,
    fsrs_rating rating, uint64_t seed, uint32_t *interval_days)
{
	review(m, st, elapsed_days, rating, true, seed, interval_days);
}
