/*
 * fit.c: FSRS-6 weight fitting and evaluation (see fit.h for the method).
 */
#include "fit.h"
#include "err.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NP FSRS_NPARAMS
#define S_MIN 1e-3
#define S_MAX 36500.0
#define P_MIN 1e-4		/* predictions are clipped as srs-benchmark does */
#define P_MAX (1 - 1e-4)
#define PRETRAIN_MIN 20		/* second reviews needed to fit a first rating */
#define PRETRAIN_PENALTY 2.0	/* pulls a thinly supported initial stability
				 * towards its start, in squared log units */

typedef struct review {
	int64_t key;
	uint32_t delta;
	uint8_t rating;		/* 0: outcome only */
	uint8_t recalled;
} review;

struct fit_data {
	review *rv;
	size_t nrv, caprv;
	size_t *card;		/* index of each card's first review */
	size_t ncard, capcard;
};

/*
 * How far the weights may move from where they start, per weight, when
 * reviews are few: a rough spread of the weights fitted to many users
 * (larger: freer). The penalty is sum(((w - start) / spread)^2).
 */
static const double spread[NP] = {
	6.4, 9.7, 17.6, 27.9, 0.57, 0.28, 0.6, 0.12, 0.39, 0.18, 0.33,
	0.3, 0.09, 0.16, 0.57, 0.25, 1.03, 0.31, 0.32, 0.14, 0.27,
};

/*
 * The weights gradient descent moves: all but w17..w19, which the
 * long-term model recalld schedules with does not use. The initial
 * stabilities start from their pre-fit and move with the rest (holding
 * them, as fsrs-rs does, predicted held-out reviews worse on real data).
 */
static bool
trained(int i, const fit_opts *o)
{
	return i <= 16 || (i == 20 && !o->hold_decay);
}

fit_data *
fit_data_new(void)
{
	return calloc(1, sizeof(fit_data));
}

void
fit_data_free(fit_data *d)
{
	if (d == NULL)
		return;
	free(d->rv);
	free(d->card);
	free(d);
}

static bool
grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 1024;
	void *q;

	if (need <= *cap)
		return true;
	while (n < need)
		n *= 2;
	if ((q = realloc(*p, n * size)) == NULL)
		return false;
	*p = q;
	*cap = n;
	return true;
}

bool
fit_data_card(fit_data *d)
{
	if (!grow((void **)&d->card, &d->capcard, d->ncard + 1,
	    sizeof(*d->card)))
		return false;
	d->card[d->ncard++] = d->nrv;
	return true;
}

bool
fit_data_review(fit_data *d, uint32_t delta_days, int rating, bool recalled,
    int64_t key, char *err, size_t errlen)
{
	size_t first;
	review *r;

	if (d->ncard == 0) {
		sched_err(err, errlen, "a review before any card");
		return false;
	}
	if (rating < 0 || rating > 4) {
		sched_err(err, errlen, "rating %d is not 1 to 4", rating);
		return false;
	}
	first = d->card[d->ncard - 1];
	if (d->nrv > first) {
		const review *prev = &d->rv[d->nrv - 1];

		if (prev->rating == 0) {
			sched_err(err, errlen, "a review after one without a "
			    "rating (only a card's last may lack one)");
			return false;
		}
		if (key < prev->key) {
			sched_err(err, errlen, "time goes backwards within a card");
			return false;
		}
	} else if (rating == 0) {
		sched_err(err, errlen, "a card's first review needs a rating");
		return false;
	}
	if (!grow((void **)&d->rv, &d->caprv, d->nrv + 1, sizeof(*d->rv))) {
		sched_err(err, errlen, "out of memory");
		return false;
	}
	r = &d->rv[d->nrv++];
	r->key = key;
	r->delta = d->nrv - 1 == first ? 0 : delta_days;
	r->rating = (uint8_t)rating;
	r->recalled = rating > 1 || (rating == 0 && recalled);
	return true;
}

size_t
fit_data_cards(const fit_data *d)
{
	return d->ncard;
}

size_t
fit_data_reviews(const fit_data *d)
{
	return d->nrv;
}

static size_t
card_end(const fit_data *d, size_t c)
{
	return c + 1 < d->ncard ? d->card[c + 1] : d->nrv;
}

/* Predictable: not a card's first review, and not on the same day. */
static bool
predictable(const fit_data *d, size_t c, size_t i)
{
	return i > d->card[c] && d->rv[i].delta > 0;
}

size_t
fit_data_items(const fit_data *d, int64_t from_key, int64_t to_key)
{
	size_t n = 0;

	for (size_t c = 0; c < d->ncard; c++)
		for (size_t i = d->card[c]; i < card_end(d, c); i++)
			n += predictable(d, c, i) && d->rv[i].key >= from_key &&
			    d->rv[i].key < to_key;
	return n;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The keys of the predictable reviews before `before`, sorted; NULL on OOM. */
static int64_t *
sorted_keys(const fit_data *d, int64_t before, size_t *n)
{
	size_t k = 0;
	int64_t *keys;

	*n = fit_data_items(d, INT64_MIN, before);
	if ((keys = malloc((*n ? *n : 1) * sizeof(*keys))) == NULL)
		return NULL;
	for (size_t c = 0; c < d->ncard; c++)
		for (size_t i = d->card[c]; i < card_end(d, c); i++)
			if (predictable(d, c, i) && d->rv[i].key < before)
				keys[k++] = d->rv[i].key;
	qsort(keys, *n, sizeof(*keys), cmp_i64);
	return keys;
}

int64_t
fit_data_split_key(const fit_data *d, double share)
{
	size_t n, at;
	int64_t *keys = sorted_keys(d, INT64_MAX, &n), key;

	if (keys == NULL || n == 0) {
		free(keys);
		return INT64_MAX;
	}
	share = share < 0 ? 0 : share > 1 ? 1 : share;
	at = (size_t)(share * (double)n);
	key = at >= n ? keys[n - 1] + 1 : keys[at];
	free(keys);
	return key;
}

void
fit_opts_init(fit_opts *o)
{
	o->seed = 42;
	o->epochs = 5;
	o->batch_items = 512;
	o->learning_rate = 0.04;
	o->gamma = 1;
	o->train_before = INT64_MAX;
	o->recency = true;
	o->hold_decay = false;
}

/* ---- the model with its derivatives ---- */

/* Per-weights constants of the forgetting curve and their derivatives. */
typedef struct curve {
	double decay;		/* -w20 */
	double factor;		/* 0.9^(1/decay) - 1: R = 0.9 at t = S */
	double dfactor;		/* d factor / d w20 */
	double d0_easy;		/* w4 - exp(3 w5) + 1 */
} curve;

static void
curve_init(curve *k, const double *w)
{
	double c = -w[20];

	k->decay = c;
	k->factor = exp(log(0.9) / c) - 1;
	/* d/dc of exp(ln 0.9 / c) is (f + 1)(-ln 0.9 / c^2); dc/dw20 = -1 */
	k->dfactor = (k->factor + 1) * log(0.9) / (c * c);
	k->d0_easy = w[4] - exp(3 * w[5]) + 1;
}

/* R(t, s) and, when dr is given, its gradient from ds and w20. */
static double
recall(const curve *k, double t, double s, const double *ds, double *dr)
{
	double u = 1 + k->factor * t / s;
	double r = pow(u, k->decay);

	if (dr != NULL) {
		double rs = k->decay * r / u * (-k->factor * t / (s * s));
		double rw = r * (-log(u) + k->decay / u * (t / s) * k->dfactor);

		for (int j = 0; j < NP; j++)
			dr[j] = rs * ds[j];
		dr[20] += rw;
	}
	return r;
}

/* Memory state of one card with d(state)/d(weights). */
typedef struct mem {
	double s, d;
	double ds[NP], dd[NP];
	unsigned reps, lapses;
} mem;

static void
mem_first(mem *m, const double *w, int g, bool grad)
{
	double e = exp((g - 1) * w[5]);

	m->s = w[g - 1];
	m->d = w[4] - e + 1;
	m->reps = 1;
	m->lapses = 0;
	if (grad) {
		memset(m->ds, 0, sizeof(m->ds));
		memset(m->dd, 0, sizeof(m->dd));
		m->ds[g - 1] = 1;
		m->dd[4] = 1;
		m->dd[5] = -(g - 1) * e;
	}
	/* The scheduler's max(w, 0.1) and difficulty clamp: flat outside. */
	if (m->s < 0.1) {
		m->s = 0.1;
		if (grad)
			memset(m->ds, 0, sizeof(m->ds));
	}
	if (m->d < 1 || m->d > 10) {
		m->d = m->d < 1 ? 1 : 10;
		if (grad)
			memset(m->dd, 0, sizeof(m->dd));
	}
}

/* One later review (rating g, t days after the previous one). */
static void
mem_next(mem *m, const double *w, const curve *k, double t, int g, bool grad)
{
	double r, dr[NP], ns, nds[NP], nd, ndd[NP];

	if (t > 0)
		r = recall(k, t, m->s, m->ds, grad ? dr : NULL);
	else {
		r = 1;
		if (grad)
			memset(dr, 0, sizeof(dr));
	}

	if (g == 1) {
		double D = pow(m->d, -w[12]), Sp = pow(m->s + 1, w[13]);
		double M = Sp - 1, X = exp((1 - r) * w[14]);
		double sf = w[11] * D * M * X;

		if (grad) {
			for (int j = 0; j < NP; j++) {
				double dD = D * (-w[12] / m->d * m->dd[j]);
				double dM = Sp * (w[13] / (m->s + 1) *
				    m->ds[j]);
				double dX = X * (-w[14] * dr[j]);

				nds[j] = w[11] * (dD * M * X + D * dM * X +
				    D * M * dX);
			}
			nds[11] += D * M * X;
			nds[12] += w[11] * D * -log(m->d) * M * X;
			nds[13] += w[11] * D * Sp * log(m->s + 1) * X;
			nds[14] += w[11] * D * M * X * (1 - r);
		}
		if (sf < S_MIN || sf > S_MAX) {
			sf = sf < S_MIN ? S_MIN : S_MAX;
			if (grad)
				memset(nds, 0, sizeof(nds));
		}
		/* The post-lapse stability never exceeds the one before. */
		if (sf < m->s)
			ns = sf;
		else {
			ns = m->s;
			if (grad)
				memcpy(nds, m->ds, sizeof(nds));
		}
		m->lapses += t > 0;
	} else {
		double E = exp(w[8]), A = 11 - m->d, P = pow(m->s, -w[9]);
		double Xq = exp((1 - r) * w[10]), Q = Xq - 1;
		double h = g == 2 ? w[15] : 1, b = g == 4 ? w[16] : 1;
		double base = E * A * P * Q, kk = base * h * b;

		ns = m->s * (1 + kk);
		if (grad) {
			for (int j = 0; j < NP; j++) {
				double dP = P * (-w[9] / m->s * m->ds[j]);
				double dQ = Xq * (-w[10] * dr[j]);
				double dk = h * b * (-E * P * Q * m->dd[j] +
				    E * A * Q * dP + E * A * P * dQ);

				nds[j] = (1 + kk) * m->ds[j] + m->s * dk;
			}
			nds[8] += m->s * kk;
			nds[9] += m->s * kk * -log(m->s);
			nds[10] += m->s * h * b * E * A * P * Xq * (1 - r);
			if (g == 2)
				nds[15] += m->s * base * b;
			if (g == 4)
				nds[16] += m->s * base * h;
		}
		if (ns < S_MIN || ns > S_MAX) {
			ns = ns < S_MIN ? S_MIN : S_MAX;
			if (grad)
				memset(nds, 0, sizeof(nds));
		}
	}

	/* Difficulty: linear damping, then mean reversion to D0(Easy). */
	{
		double delta = -w[6] * (g - 3);
		double lin = m->d + delta * (10 - m->d) / 9;

		nd = w[7] * k->d0_easy + (1 - w[7]) * lin;
		if (grad) {
			for (int j = 0; j < NP; j++) {
				double dlin = m->dd[j] - delta * m->dd[j] / 9;

				ndd[j] = (1 - w[7]) * dlin;
			}
			ndd[6] += (1 - w[7]) * -(g - 3) * (10 - m->d) / 9;
			ndd[7] += k->d0_easy - lin;
			ndd[4] += w[7];
			ndd[5] += w[7] * -3 * exp(3 * w[5]);
		}
		if (nd < 1 || nd > 10) {
			nd = nd < 1 ? 1 : 10;
			if (grad)
				memset(ndd, 0, sizeof(ndd));
		}
	}

	m->s = ns;
	m->d = nd;
	if (grad) {
		memcpy(m->ds, nds, sizeof(nds));
		memcpy(m->dd, ndd, sizeof(ndd));
	}
	m->reps++;
}

/* What a pass over cards collects about each predicted review. */
typedef struct sink {
	double loss;
	size_t n;
	double wsum;		/* sum of the reviews' weights */
	/* Recency weights: the sorted keys of the reviews fitted, or NULL. */
	const int64_t *keys;
	size_t nkeys;
	double *grad;		/* summed gradient of the loss, or NULL */
	void (*each)(void *arg, double p, bool y, const mem *m, double t);
	void *arg;
} sink;

/*
 * The weight of a review in the fit: later reviews count more, as fsrs-rs
 * weighs them (0.25 for the earliest to 1 for the latest, cubic in the
 * review's rank), since a school's next reviews are more like its latest.
 */
static double
recency(const int64_t *keys, size_t n, int64_t key)
{
	size_t lo = 0, hi = n;
	double x;

	while (lo < hi) {	/* the first key >= key */
		size_t mid = lo + (hi - lo) / 2;

		if (keys[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	x = n > 1 ? (double)lo / (double)(n - 1) : 1;
	return 0.25 + 0.75 * x * x * x;
}

/*
 * Walk card c; predicted reviews with from <= key < to go to the sink.
 * Reviews from `to` on cannot matter to the sink, so the walk stops there.
 */
static void
card_pass(const fit_data *d, size_t c, const double *w, const curve *k,
    int64_t from, int64_t to, sink *out)
{
	bool grad = out->grad != NULL;
	size_t i = d->card[c], end = card_end(d, c);
	mem m;

	if (i >= end || d->rv[i].key >= to)
		return;
	mem_first(&m, w, d->rv[i].rating, grad);
	for (i++; i < end && d->rv[i].key < to; i++) {
		const review *rv = &d->rv[i];
		double t = rv->delta;

		if (t > 0 && rv->key >= from) {
			double dr[NP];
			double p = recall(k, t, m.s, m.ds, grad ? dr : NULL);
			bool y = rv->recalled;
			bool clipped = p < P_MIN || p > P_MAX;

			double wt = out->keys != NULL ?
			    recency(out->keys, out->nkeys, rv->key) : 1;

			if (clipped)
				p = p < P_MIN ? P_MIN : P_MAX;
			out->loss -= wt * (y ? log(p) : log(1 - p));
			out->n++;
			out->wsum += wt;
			if (grad && !clipped) {
				double dl = wt * (y ? -1 / p : 1 / (1 - p));

				for (int j = 0; j < NP; j++)
					out->grad[j] += dl * dr[j];
			}
			if (out->each != NULL)
				out->each(out->arg, p, y, &m, t);
		}
		if (rv->rating == 0)
			break;
		mem_next(&m, w, k, t, rv->rating, grad);
	}
}

double
fit_loss(const fit_data *d, const double w[NP], int64_t before_key,
    double grad[NP], size_t *n)
{
	sink out = { .grad = grad };
	curve k;

	curve_init(&k, w);
	if (grad != NULL)
		memset(grad, 0, NP * sizeof(double));
	for (size_t c = 0; c < d->ncard; c++)
		card_pass(d, c, w, &k, INT64_MIN, before_key, &out);
	if (n != NULL)
		*n = out.n;
	return out.loss;
}

/* ---- pre-fitting the initial stabilities ---- */

typedef struct obs {
	uint32_t t;
	uint8_t y;
} obs;

static int
cmp_obs(const void *a, const void *b)
{
	const obs *x = a, *y = b;

	return (x->t > y->t) - (x->t < y->t);
}

/* Log loss of the grouped second reviews at initial stability s. */
static double
pre_loss(const curve *k, const obs *o, size_t n, double x, double x0)
{
	double s = exp(x), loss = 0;

	for (size_t i = 0; i < n; i++) {
		double p = recall(k, o[i].t, s, NULL, NULL);

		p = p < P_MIN ? P_MIN : p > P_MAX ? P_MAX : p;
		loss -= o[i].y ? log(p) : log(1 - p);
	}
	return loss + PRETRAIN_PENALTY * (x - x0) * (x - x0);
}

/*
 * Fit w0..w3: for each first rating, the stability that best predicts the
 * second reviews (golden-section search on log S); a rating with too few
 * of them is scaled from its start like the ratings that have enough;
 * finally the four are put in order (Again <= Hard <= Good <= Easy).
 */
static bool
pretrain(const fit_data *d, double *w, int64_t before)
{
	obs *o[4] = { NULL };
	size_t n[4] = { 0 }, cap[4] = { 0 };
	double ratio = 0, lo, hi;
	int nfit = 0;
	bool ok = false, fitted[4] = { false };
	curve k;

	curve_init(&k, w);
	for (size_t c = 0; c < d->ncard; c++) {
		size_t i = d->card[c];
		int g;

		if (i + 1 >= card_end(d, c))
			continue;
		g = d->rv[i].rating - 1;
		if (d->rv[i + 1].delta == 0 || d->rv[i + 1].key >= before)
			continue;
		if (!grow((void **)&o[g], &cap[g], n[g] + 1, sizeof(obs)))
			goto out;
		o[g][n[g]].t = d->rv[i + 1].delta;
		o[g][n[g]++].y = d->rv[i + 1].recalled;
	}
	for (int g = 0; g < 4; g++) {
		double a, b, x0 = log(w[g]), gr = (sqrt(5) - 1) / 2;

		if (n[g] < PRETRAIN_MIN)
			continue;
		qsort(o[g], n[g], sizeof(obs), cmp_obs);	/* cache order */
		fsrs_param_bounds(g, &lo, &hi);
		a = log(lo > 0.1 ? lo : 0.1);
		b = log(hi);
		for (int it = 0; it < 80; it++) {
			double c1 = b - gr * (b - a), c2 = a + gr * (b - a);

			if (pre_loss(&k, o[g], n[g], c1, x0) <
			    pre_loss(&k, o[g], n[g], c2, x0))
				b = c2;
			else
				a = c1;
		}
		ratio += (a + b) / 2 - x0;
		w[g] = exp((a + b) / 2);
		fitted[g] = true;
		nfit++;
	}
	if (nfit > 0)
		for (int g = 0; g < 4; g++)
			if (!fitted[g])
				w[g] *= exp(ratio / nfit);
	for (int g = 1; g < 4; g++)
		if (w[g] < w[g - 1])
			w[g] = w[g - 1];
	for (int g = 0; g < 4; g++) {
		fsrs_param_bounds(g, &lo, &hi);
		w[g] = w[g] < lo ? lo : w[g] > hi ? hi : w[g];
	}
	ok = true;
out:
	for (int g = 0; g < 4; g++)
		free(o[g]);
	return ok;
}

/* ---- gradient descent ---- */

static uint64_t
splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
clip(double *w)
{
	for (int i = 0; i < NP; i++) {
		double lo, hi;

		fsrs_param_bounds(i, &lo, &hi);
		w[i] = w[i] < lo ? lo : w[i] > hi ? hi : w[i];
	}
}

bool
fit_run(const fit_data *d, const double *start, const fit_opts *o,
    double w_out[NP], char *err, size_t errlen)
{
	double w[NP], w0[NP], mom[NP] = { 0 }, vel[NP] = { 0 };
	size_t total = fit_data_items(d, INT64_MIN, o->train_before);
	size_t *order = NULL, ncard = 0, steps, step = 0, nkeys = 0;
	int64_t *keys = NULL;
	uint64_t rng = o->seed;
	bool ok = false;

	if (start == NULL)
		start = fsrs_default_params();
	memcpy(w, start, sizeof(w));
	clip(w);
	if (total == 0) {
		sched_err(err, errlen, "no review to fit: every card needs a "
		    "later review on another day");
		return false;
	}
	if (!pretrain(d, w, o->train_before))
		goto nomem;
	memcpy(w0, w, sizeof(w0));

	/* The cards with something to fit. */
	order = malloc((d->ncard ? d->ncard : 1) * sizeof(*order));
	keys = o->recency ? sorted_keys(d, o->train_before, &nkeys) : NULL;
	if (order == NULL || (o->recency && keys == NULL))
		goto nomem;
	for (size_t c = 0; c < d->ncard; c++) {
		bool any = false;

		for (size_t i = d->card[c]; !any && i < card_end(d, c) &&
		    d->rv[i].key < o->train_before; i++)
			any = predictable(d, c, i);
		if (any)
			order[ncard++] = c;
	}
	steps = (size_t)o->epochs * ((total + o->batch_items - 1) /
	    o->batch_items);

	for (int ep = 0; ep < o->epochs; ep++) {
		size_t at = 0;

		/* Fisher-Yates with the seeded generator: deterministic. */
		for (size_t i = ncard; i > 1; i--) {
			size_t j = (size_t)(splitmix(&rng) % i), t = order[i - 1];

			order[i - 1] = order[j];
			order[j] = t;
		}
		while (at < ncard) {
			double g[NP] = { 0 }, lr;
			sink out = { .grad = g, .keys = keys, .nkeys = nkeys };
			curve k;

			curve_init(&k, w);
			while (at < ncard && out.n < o->batch_items)
				card_pass(d, order[at++], w, &k, INT64_MIN,
				    o->train_before, &out);
			if (out.n == 0)
				break;
			lr = o->learning_rate * 0.5 *
			    (1 + cos(3.14159265358979323846 * (double)(step < steps ? step :
			    steps) / (double)steps));
			step++;
			for (int j = 0; j < NP; j++) {
				double gj, mh, vh;

				if (!trained(j, o))
					continue;
				/* Mean loss plus this batch's share of the
				 * penalty: over an epoch they sum to
				 * (loss + gamma * penalty) / total. */
				gj = g[j] / out.wsum + o->gamma * 2 *
				    (w[j] - w0[j]) / (spread[j] * spread[j]) /
				    (double)total;
				mom[j] = 0.9 * mom[j] + 0.1 * gj;
				vel[j] = 0.999 * vel[j] + 0.001 * gj * gj;
				mh = mom[j] / (1 - pow(0.9, (double)step));
				vh = vel[j] / (1 - pow(0.999, (double)step));
				w[j] -= lr * mh / (sqrt(vh) + 1e-8);
			}
			clip(w);
		}
	}
	memcpy(w_out, w, sizeof(w));
	ok = true;
	goto out;
nomem:
	sched_err(err, errlen, "out of memory");
out:
	free(order);
	free(keys);
	return ok;
}

/* ---- evaluation ---- */

/* srs-benchmark's bins: log-spaced elapsed days, review number, lapses. */
#define BIN_T 24
#define BIN_I 24
#define BIN_L 24

typedef struct evalacc {
	double (*py)[2];	/* prediction, outcome */
	size_t n, cap;
	bool oom;
	double (*bin)[3];	/* [BIN_T*BIN_I*BIN_L]: n, sum p, sum y */
} evalacc;

static int
log_bin(double x, double base, int max)
{
	int b = (int)floor(log(x) / log(base));

	return b < 0 ? 0 : b >= max ? max - 1 : b;
}

static void
eval_each(void *arg, double p, bool y, const mem *m, double t)
{
	evalacc *a = arg;
	int bt = log_bin(t, 3.62, BIN_T);
	int bi = log_bin(m->reps + 1, 1.89, BIN_I);
	int bl = m->lapses == 0 ? 0 : 1 + log_bin(m->lapses, 1.73, BIN_L - 1);
	double *b = a->bin[(bt * BIN_I + bi) * BIN_L + bl];

	b[0] += 1;
	b[1] += p;
	b[2] += y;
	if (!grow((void **)&a->py, &a->cap, a->n + 1, sizeof(*a->py))) {
		a->oom = true;
		return;
	}
	a->py[a->n][0] = p;
	a->py[a->n++][1] = y;
}

static int
cmp_pair(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Area under the ROC curve by ranks (Mann-Whitney), ties averaged. */
static double
auc(double (*pr)[2], size_t n)
{
	double ranks = 0, pos = 0;
	size_t i = 0;

	for (size_t j = 0; j < n; j++)
		pos += pr[j][1];
	if (pos == 0 || pos == (double)n)
		return NAN;
	qsort(pr, n, sizeof(*pr), cmp_pair);
	while (i < n) {
		size_t j = i;
		double ones = 0;

		while (j < n && pr[j][0] == pr[i][0])
			ones += pr[j++][1];
		/* ranks i+1..j share their mean */
		ranks += ones * ((double)(i + 1 + j) / 2);
		i = j;
	}
	return (ranks - pos * (pos + 1) / 2) / (pos * ((double)n - pos));
}

bool
fit_evaluate(const fit_data *d, const fit_fold *folds, size_t nfolds,
    fit_metrics *out)
{
	evalacc a = { 0 };
	sink s = { .each = eval_each, .arg = &a };
	double se = 0;
	bool ok = false;
	curve k;

	a.bin = calloc(BIN_T * BIN_I * BIN_L, sizeof(*a.bin));
	if (a.bin == NULL)
		return false;
	for (size_t f = 0; f < nfolds; f++) {
		curve_init(&k, folds[f].w);
		for (size_t c = 0; c < d->ncard && !a.oom; c++)
			card_pass(d, c, folds[f].w, &k, folds[f].from_key,
			    folds[f].to_key, &s);
	}
	if (a.oom || s.n == 0)
		goto out;
	for (size_t b = 0; b < BIN_T * BIN_I * BIN_L; b++) {
		double n = a.bin[b][0], diff;

		if (n == 0)
			continue;
		diff = a.bin[b][1] / n - a.bin[b][2] / n;
		se += n * diff * diff;
	}
	out->n = s.n;
	out->log_loss = s.loss / (double)s.n;
	out->rmse_bins = sqrt(se / (double)s.n);
	out->auc = auc(a.py, a.n);
	ok = true;
out:
	free(a.py);
	free(a.bin);
	return ok;
}

typedef struct calacc {
	fit_bin *bins;
	size_t nbins;
} calacc;

static void
cal_each(void *arg, double p, bool y, const mem *m, double t)
{
	calacc *a = arg;
	size_t b = (size_t)(p * (double)a->nbins);

	(void)m;
	(void)t;
	if (b >= a->nbins)
		b = a->nbins - 1;
	a->bins[b].n++;
	a->bins[b].mean_predicted += p;
	a->bins[b].share_recalled += y;
}

void
fit_calibration(const fit_data *d, const double w[NP], int64_t from_key,
    int64_t to_key, fit_bin *bins, size_t nbins)
{
	calacc a = { bins, nbins };
	sink s = { .each = cal_each, .arg = &a };
	curve k;

	memset(bins, 0, nbins * sizeof(*bins));
	curve_init(&k, w);
	for (size_t c = 0; c < d->ncard; c++)
		card_pass(d, c, w, &k, from_key, to_key, &s);
	for (size_t b = 0; b < nbins; b++)
		if (bins[b].n > 0) {
			bins[b].mean_predicted /= (double)bins[b].n;
			bins[b].share_recalled /= (double)bins[b].n;
		}
}

bool
fit_adopt(const fit_metrics *current, const fit_metrics *fitted,
    char *reason, size_t reasonlen)
{
	if (fitted->n == 0 || !isfinite(fitted->log_loss)) {
		sched_err(reason, reasonlen, "no held-out review to compare on");
		return false;
	}
	if (fitted->log_loss < current->log_loss) {
		sched_err(reason, reasonlen, "held-out log loss %.4f beats the "
		    "current weights' %.4f on %zu reviews", fitted->log_loss,
		    current->log_loss, fitted->n);
		return true;
	}
	sched_err(reason, reasonlen, "held-out log loss %.4f does not beat the "
	    "current weights' %.4f on %zu reviews; kept the current weights",
	    fitted->log_loss, current->log_loss, fitted->n);
	return false;
}
