/* test_fit.c: FSRS-6 weight fitting (sched/fit.h). */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cktest.h"
#include "fit.h"
#include "fsrs.h"

/* xorshift64*: the tests' own generator, seeded, so every run is the same. */
static uint64_t rng_state;

static double
uniform(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (double)((rng_state * 0x2545F4914F6CDD1DULL) >> 11) * 0x1.0p-53;
}

/* Random histories of random length, gaps 0..40 days (same-day ones too). */
static fit_data *
random_data(size_t cards, uint64_t seed)
{
	fit_data *d = fit_data_new();
	int64_t key = 0;
	char err[128];

	rng_state = seed;
	ck_assert_ptr_nonnull(d);
	for (size_t c = 0; c < cards; c++) {
		int n = 2 + (int)(uniform() * 10);

		ck_assert(fit_data_card(d));
		for (int i = 0; i < n; i++) {
			int r = 1 + (int)(uniform() * 4);
			uint32_t t = i == 0 ? 0 : (uint32_t)(uniform() * 41);

			ck_assert_msg(fit_data_review(d, t, r, r > 1, key++, err,
			    sizeof err), "%s", err);
		}
	}
	return d;
}

/* Weights inside the clamps, away from their edges and from the kinks. */
static void
random_weights(double w[FSRS_NPARAMS])
{
	const double *def = fsrs_default_params();

	for (int i = 0; i < FSRS_NPARAMS; i++) {
		double lo, hi;

		fsrs_param_bounds(i, &lo, &hi);
		w[i] = def[i] * (0.8 + 0.4 * uniform());
		if (w[i] < lo + 0.01 * (hi - lo))
			w[i] = lo + 0.01 * (hi - lo);
		if (w[i] > hi - 0.01 * (hi - lo))
			w[i] = hi - 0.01 * (hi - lo);
	}
}

START_TEST(test_gradient_exact)
{
	for (uint64_t seed = 1; seed <= 5; seed++) {
		fit_data *d = random_data(300, seed);
		double w[FSRS_NPARAMS], g[FSRS_NPARAMS];

		random_weights(w);
		fit_loss(d, w, INT64_MAX, g, NULL);
		for (int j = 0; j < FSRS_NPARAMS; j++) {
			double wp[FSRS_NPARAMS], wm[FSRS_NPARAMS], h, fd;

			memcpy(wp, w, sizeof(w));
			memcpy(wm, w, sizeof(w));
			/* big enough that rounding in a sum of ~1,000 losses stays
			 * far below 1e-6 of the derivative */
			h = 1e-5 * fmax(fabs(w[j]), 1);
			wp[j] += h;
			wm[j] -= h;
			fd = (fit_loss(d, wp, INT64_MAX, NULL, NULL) -
			    fit_loss(d, wm, INT64_MAX, NULL, NULL)) / (2 * h);
			ck_assert_msg(fabs(g[j] - fd) <= 1e-6 * fmax(fabs(fd), 1),
			    "seed %llu w%d: gradient %.12g, central difference "
			    "%.12g", (unsigned long long)seed, j, g[j], fd);
		}
		fit_data_free(d);
	}
}
END_TEST

/*
 * Reviews drawn from a known model: each card reviewed when the true
 * model's recall falls to a random target, each outcome a coin with the
 * true recall. Ratings: Again on a lapse, else Hard/Good/Easy at random.
 */
static fit_data *
synthetic(const double *w, size_t cards, uint64_t seed)
{
	fsrs_model *m = fsrs_model_new(w, 0.9, 36500, NULL, 0);
	fit_data *d = fit_data_new();
	int64_t day = 0;
	char err[128];

	ck_assert_ptr_nonnull(m);
	rng_state = seed;
	for (size_t c = 0; c < cards; c++) {
		fsrs_state st = { 0 };
		int64_t at = day++;
		int n = 4 + (int)(uniform() * 8);

		ck_assert(fit_data_card(d));
		for (int i = 0; i < n; i++) {
			uint32_t t = 0;
			int r;

			if (i > 0) {
				double target = 0.6 + 0.35 * uniform(), p;

				/* the gap at which recall falls to target */
				while (fsrs_retrievability(m, st.stability, t + 1) >
				    target && t < 3000)
					t++;
				t++;
				p = fsrs_retrievability(m, st.stability, t);
				r = uniform() < p ? 2 + (int)(uniform() * 3) : 1;
			} else
				r = 1 + (int)(uniform() * 4);
			at += t;
			ck_assert_msg(fit_data_review(d, t, r, r > 1, at, err,
			    sizeof err), "%s", err);
			fsrs_review(m, &st, t, (fsrs_rating)r, NULL);
		}
	}
	fsrs_model_free(m);
	return d;
}

START_TEST(test_recovers_known_weights)
{
	double truth[FSRS_NPARAMS], got[FSRS_NPARAMS];
	fit_data *train, *fresh;
	fit_opts o;
	fit_fold ft, fg, fdft;
	fit_metrics mt, mg, md;
	char err[128];

	memcpy(truth, fsrs_default_params(), sizeof(truth));
	/* A school that forgets faster than Anki users and starts lower. */
	truth[0] = 0.5; truth[1] = 0.9; truth[2] = 1.5; truth[3] = 4.0;
	truth[8] = 1.4; truth[9] = 0.25; truth[20] = 0.3;
	train = synthetic(truth, 4000, 7);
	fresh = synthetic(truth, 2000, 8);
	fit_opts_init(&o);
	ck_assert_msg(fit_run(train, NULL, &o, got, err, sizeof err), "%s", err);
	ft = (fit_fold){ truth, INT64_MIN, INT64_MAX };
	fg = (fit_fold){ got, INT64_MIN, INT64_MAX };
	fdft = (fit_fold){ fsrs_default_params(), INT64_MIN, INT64_MAX };
	ck_assert(fit_evaluate(fresh, &ft, 1, &mt));
	ck_assert(fit_evaluate(fresh, &fg, 1, &mg));
	ck_assert(fit_evaluate(fresh, &fdft, 1, &md));
	/* On unseen reviews the fit predicts almost as well as the truth... */
	ck_assert_msg(mg.log_loss < mt.log_loss + 0.005,
	    "fitted %.4f, true weights %.4f", mg.log_loss, mt.log_loss);
	/* ...and clearly better than the defaults it started from. */
	ck_assert_msg(mg.log_loss < md.log_loss - 0.01,
	    "fitted %.4f, defaults %.4f", mg.log_loss, md.log_loss);
	ck_assert_msg(mg.rmse_bins < 0.03, "RMSE(bins) %.4f", mg.rmse_bins);
	/* Predictions, not weights: several weight sets predict alike. */
	{
		fit_bin bt[10], bg[10];

		fit_calibration(fresh, truth, INT64_MIN, INT64_MAX, bt, 10);
		fit_calibration(fresh, got, INT64_MIN, INT64_MAX, bg, 10);
		for (int b = 0; b < 10; b++)
			if (bg[b].n > 200)
				ck_assert_msg(fabs(bg[b].mean_predicted -
				    bg[b].share_recalled) < 0.05, "bin %d: "
				    "predicted %.3f, recalled %.3f", b,
				    bg[b].mean_predicted, bg[b].share_recalled);
	}
	fit_data_free(train);
	fit_data_free(fresh);
}
END_TEST

static void
assert_in_bounds(const double *w)
{
	for (int i = 0; i < FSRS_NPARAMS; i++) {
		double lo, hi;

		fsrs_param_bounds(i, &lo, &hi);
		ck_assert_msg(w[i] >= lo && w[i] <= hi, "w%d = %g outside "
		    "[%g, %g]", i, w[i], lo, hi);
	}
}

START_TEST(test_never_leaves_clamps)
{
	/* Extreme histories push weights hard against their limits. */
	for (int kind = 0; kind < 3; kind++) {
		fit_data *d = fit_data_new();
		double w[FSRS_NPARAMS];
		fit_opts o;
		char err[128];

		for (int c = 0; c < 500; c++) {
			ck_assert(fit_data_card(d));
			for (int i = 0; i < 6; i++) {
				/* 0: remembered after years; 1: forgotten after a
				 * day; 2: alternating */
				int r = i == 0 ? 3 : kind == 0 ? 4 : kind == 1 ? 1 :
				    1 + 3 * (i % 2);
				uint32_t t = i == 0 ? 0 : kind == 0 ? 900 : 1;

				ck_assert(fit_data_review(d, t, r, r > 1, c * 10 + i,
				    err, sizeof err));
			}
		}
		fit_opts_init(&o);
		o.learning_rate = 0.5;	/* big steps: the clip must hold */
		ck_assert_msg(fit_run(d, NULL, &o, w, err, sizeof err), "%s", err);
		assert_in_bounds(w);
		fit_data_free(d);
	}
}
END_TEST

START_TEST(test_deterministic)
{
	fit_data *d = random_data(500, 3);
	double a[FSRS_NPARAMS], b[FSRS_NPARAMS], c[FSRS_NPARAMS];
	fit_opts o;
	char err[128];

	fit_opts_init(&o);
	ck_assert(fit_run(d, NULL, &o, a, err, sizeof err));
	ck_assert(fit_run(d, NULL, &o, b, err, sizeof err));
	ck_assert(memcmp(a, b, sizeof(a)) == 0);
	o.seed = 43;
	ck_assert(fit_run(d, NULL, &o, c, err, sizeof err));
	ck_assert(memcmp(a, c, sizeof(a)) != 0);	/* the seed matters */
	fit_data_free(d);
}
END_TEST

START_TEST(test_adoption_rule)
{
	fit_metrics cur = { 1000, 0.30, 0.03, 0.7 }, better = { 1000, 0.29, 0.02, 0.7 };
	fit_metrics worse = { 1000, 0.31, 0.01, 0.8 }, none = { 0, NAN, NAN, NAN };
	char why[200];

	ck_assert(fit_adopt(&cur, &better, why, sizeof why));
	ck_assert_ptr_nonnull(strstr(why, "beats"));
	/* Log loss decides, even when another figure looks better. */
	ck_assert(!fit_adopt(&cur, &worse, why, sizeof why));
	ck_assert_ptr_nonnull(strstr(why, "kept the current weights"));
	ck_assert(!fit_adopt(&cur, &cur, why, sizeof why));	/* a tie keeps */
	ck_assert(!fit_adopt(&cur, &none, why, sizeof why));
}
END_TEST

START_TEST(test_split_and_metrics)
{
	fit_data *d = random_data(400, 11);
	size_t all = fit_data_items(d, INT64_MIN, INT64_MAX), n;
	int64_t cut = fit_data_split_key(d, 0.75);
	const double *w = fsrs_default_params();
	fit_fold f = { w, INT64_MIN, INT64_MAX };
	fit_metrics m;
	double loss = fit_loss(d, w, INT64_MAX, NULL, &n);

	ck_assert_uint_eq(n, all);
	/* about three quarters before the cut */
	ck_assert_uint_le(fit_data_items(d, INT64_MIN, cut), all * 3 / 4 + 1);
	ck_assert_uint_ge(fit_data_items(d, INT64_MIN, cut), all * 3 / 4 - 1);
	ck_assert(fit_evaluate(d, &f, 1, &m));
	ck_assert_uint_eq(m.n, all);
	ck_assert_double_eq_tol(m.log_loss, loss / (double)n, 1e-12);
	ck_assert(m.auc > 0.4 && m.auc < 0.9);
	ck_assert(m.rmse_bins > 0 && m.rmse_bins < 1);
	/* Two folds of one range each pool to the same figures. */
	{
		fit_fold two[2] = { { w, INT64_MIN, cut }, { w, cut, INT64_MAX } };
		fit_metrics m2;

		ck_assert(fit_evaluate(d, two, 2, &m2));
		ck_assert_uint_eq(m2.n, m.n);
		ck_assert_double_eq_tol(m2.log_loss, m.log_loss, 1e-12);
		ck_assert_double_eq_tol(m2.auc, m.auc, 1e-12);
	}
	fit_data_free(d);
}
END_TEST

START_TEST(test_auc_by_hand)
{
	/* Four second reviews at gaps 1, 2, 3, 4 days: recall falls with the
	 * gap; remembered at 1 and 3, forgotten at 2 and 4. Of the four
	 * (remembered, forgotten) pairs, (1,2), (1,4), (3,4) rank right and
	 * (3,2) wrong: AUC 3/4. */
	fit_data *d = fit_data_new();
	const double *w = fsrs_default_params();
	fit_fold f = { w, INT64_MIN, INT64_MAX };
	fit_metrics m;
	char err[64];

	for (int i = 1; i <= 4; i++) {
		ck_assert(fit_data_card(d));
		ck_assert(fit_data_review(d, 0, 3, true, i, err, sizeof err));
		ck_assert(fit_data_review(d, (uint32_t)i, i % 2 ? 3 : 1, i % 2,
		    i, err, sizeof err));
	}
	ck_assert(fit_evaluate(d, &f, 1, &m));
	ck_assert_double_eq_tol(m.auc, 0.75, 1e-12);
	fit_data_free(d);
}
END_TEST

START_TEST(test_bad_input)
{
	fit_data *d = fit_data_new();
	double w[FSRS_NPARAMS];
	fit_opts o;
	char err[128];

	ck_assert(!fit_data_review(d, 0, 3, true, 0, err, sizeof err));
	ck_assert(fit_data_card(d));
	ck_assert(!fit_data_review(d, 0, 0, true, 0, err, sizeof err));
	ck_assert(!fit_data_review(d, 0, 5, true, 0, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "rating 5"));
	ck_assert(fit_data_review(d, 0, 3, true, 10, err, sizeof err));
	ck_assert(!fit_data_review(d, 2, 3, true, 9, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "backwards"));
	ck_assert(fit_data_review(d, 2, 0, false, 12, err, sizeof err));
	ck_assert(!fit_data_review(d, 2, 3, true, 13, err, sizeof err));
	fit_data_free(d);

	/* Nothing predictable: a clear refusal, not a fit. */
	d = fit_data_new();
	ck_assert(fit_data_card(d));
	ck_assert(fit_data_review(d, 0, 3, true, 0, err, sizeof err));
	ck_assert(fit_data_review(d, 0, 3, true, 0, err, sizeof err));
	fit_opts_init(&o);
	ck_assert(!fit_run(d, NULL, &o, w, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "no review to fit"));
	fit_data_free(d);
}
END_TEST

static Suite *
fit_suite(void)
{
	Suite *s = suite_create("fit");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_gradient_exact);
	tcase_add_test(tc, test_recovers_known_weights);
	tcase_add_test(tc, test_never_leaves_clamps);
	tcase_add_test(tc, test_deterministic);
	tcase_add_test(tc, test_adoption_rule);
	tcase_add_test(tc, test_split_and_metrics);
	tcase_add_test(tc, test_auc_by_hand);
	tcase_add_test(tc, test_bad_input);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return cktest_run(fit_suite()) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
