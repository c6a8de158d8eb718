/* test_mastery.c: mastery levels and what the next one needs. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cktest.h"
#include "fsrs.h"
#include "mastery.h"

#define DAY 20000

static fsrs_model *model;
static mastery_thresholds th;

static void
setup(void)
{
	model = fsrs_model_new(NULL, 0.9, 36500, NULL, 0);
	ck_assert_ptr_nonnull(model);
	th = mastery_thresholds_default();
}

static void
teardown(void)
{
	fsrs_model_free(model);
}

/* Reviewed ago days before DAY with a stability; ago 0 gives recall 1. */
static mastery_item
seen(double stability, int32_t ago)
{
	mastery_item it = {
		.state = { .stability = stability, .difficulty = 5, .reps = 3 },
		.last_review_day = DAY - ago,
	};
	return it;
}

static mastery_item
unseen(void)
{
	mastery_item it = { .last_review_day = 0 };
	return it;
}

static mastery_result
assess(const mastery_item *items, size_t n)
{
	mastery_result r;

	memset(&r, 0xa5, sizeof(r));	/* everything must be written */
	mastery_assess(model, &th, items, n, DAY, &r);
	return r;
}

static const char *
render(const mastery_next *next)
{
	static char buf[128];
	int len = mastery_next_render(next, buf, sizeof(buf));

	ck_assert_int_eq(len, (int)strlen(buf));
	return buf;
}

START_TEST(test_defaults_and_validation)
{
	mastery_thresholds t = mastery_thresholds_default();
	char err[80];

	ck_assert_double_eq(t.min_coverage, 0.5);
	ck_assert_double_eq(t.developing_recall, 0.5);
	ck_assert_double_eq(t.secure_recall, 0.8);
	ck_assert_double_eq(t.secure_share, 0.8);
	ck_assert_double_eq(t.durable_days, 30.0);
	ck_assert_double_eq(t.durable_share, 0.8);
	ck_assert(mastery_thresholds_valid(&t, err, sizeof(err)));
	t.secure_share = 1.01;
	ck_assert(!mastery_thresholds_valid(&t, err, sizeof(err)));
	ck_assert_str_eq(err, "secure_share must be in [0, 1]");
	t = mastery_thresholds_default();
	t.developing_recall = NAN;
	ck_assert(!mastery_thresholds_valid(&t, NULL, 0));
	t = mastery_thresholds_default();
	t.durable_days = 0.0;
	ck_assert(!mastery_thresholds_valid(&t, err, sizeof(err)));
	t = mastery_thresholds_default();
	t.min_coverage = -0.1;
	ck_assert(!mastery_thresholds_valid(&t, err, sizeof(err)));
	ck_assert(!mastery_thresholds_valid(NULL, err, sizeof(err)));
}
END_TEST

START_TEST(test_level_names)
{
	static const char *names[] = { "emerging", "developing", "secure",
	    "mastery" };
	mastery_level l;

	ck_assert_int_eq(MASTERY_NLEVELS, 4);
	for (int i = 0; i < MASTERY_NLEVELS; i++) {
		ck_assert_str_eq(mastery_level_name((mastery_level)i),
		    names[i]);
		ck_assert(mastery_level_parse(names[i], &l));
		ck_assert_int_eq(l, i);
	}
	ck_assert_str_eq(mastery_level_name((mastery_level)4), "?");
	ck_assert(!mastery_level_parse("Secure", &l));
	ck_assert(!mastery_level_parse("", &l));
	ck_assert(!mastery_level_parse(NULL, &l));
}
END_TEST

START_TEST(test_empty_unit)
{
	mastery_result r = assess(NULL, 0);

	ck_assert_int_eq(r.level, MASTERY_EMERGING);
	ck_assert_uint_eq(r.n_questions, 0);
	ck_assert_uint_eq(r.n_reviewed, 0);
	ck_assert_double_eq(r.coverage, 0.0);
	ck_assert_double_eq(r.mean_recall, 0.0);
	ck_assert_double_eq(r.mean_recall_seen, 0.0);
	ck_assert_int_eq(r.next.target, MASTERY_DEVELOPING);
	ck_assert_int_eq(r.next.kind, MASTERY_NEED_QUESTIONS);
	ck_assert_str_eq(render(&r.next), "questions: this unit has none yet");
}
END_TEST

START_TEST(test_all_unseen)
{
	mastery_item it[4] = { unseen(), unseen(), unseen(), unseen() };
	mastery_result r = assess(it, 4);

	ck_assert_int_eq(r.level, MASTERY_EMERGING);
	ck_assert_double_eq(r.coverage, 0.0);
	ck_assert_double_eq(r.mean_recall, 0.0);
	ck_assert_uint_eq(r.n_secure, 0);
	ck_assert_int_eq(r.next.kind, MASTERY_NEED_CORRECT);
	ck_assert_uint_eq(r.next.count, 2);
	ck_assert_str_eq(render(&r.next),
	    "2 more questions answered correctly");
}
END_TEST

START_TEST(test_developing_exactly_half)
{
	/* Two of four recalled today (recall exactly 1), two unseen. */
	mastery_item it[4] = { seen(3, 0), unseen(), seen(3, 0), unseen() };
	mastery_result r = assess(it, 4);

	ck_assert_double_eq(r.coverage, 0.5);
	ck_assert_double_eq(r.mean_recall, 0.5);
	ck_assert_double_eq(r.mean_recall_seen, 1.0);
	ck_assert_int_eq(r.level, MASTERY_DEVELOPING);
	ck_assert_int_eq(r.next.target, MASTERY_SECURE);
	ck_assert_int_eq(r.next.kind, MASTERY_NEED_CORRECT);
	ck_assert_uint_eq(r.next.count, 2);	/* 4 of 4 for >= 80% */
}
END_TEST

START_TEST(test_emerging_just_below_half)
{
	/* Reviewed yesterday: recall just under 1, mean just under 0.5. */
	mastery_item it[4] = { seen(3, 1), unseen(), seen(3, 0), unseen() };
	mastery_result r = assess(it, 4);

	ck_assert(r.mean_recall < 0.5 && r.mean_recall > 0.45);
	ck_assert_double_eq(r.coverage, 0.5);
	ck_assert_int_eq(r.level, MASTERY_EMERGING);
	ck_assert_uint_eq(r.next.count, 1);
	ck_assert_str_eq(render(&r.next), "1 more question answered correctly");
}
END_TEST

START_TEST(test_emerging_low_coverage)
{
	/* Stricter evidence: 2 of 4 reviewed is not enough for 0.75. */
	mastery_item it[4] = { seen(3, 0), seen(3, 0), unseen(), unseen() };
	mastery_result r;

	th.min_coverage = 0.75;
	r = assess(it, 4);
	ck_assert_double_eq(r.mean_recall, 0.5);
	ck_assert_int_eq(r.level, MASTERY_EMERGING);
	ck_assert_uint_eq(r.next.count, 1);
	th.min_coverage = 0.5;
	r = assess(it, 4);
	ck_assert_int_eq(r.level, MASTERY_DEVELOPING);
}
END_TEST

START_TEST(test_emerging_low_recall)
{
	/* All four reviewed, long ago: recall about 0.3 each. */
	mastery_item it[4] = { seen(1, 2500), seen(1, 2500), seen(1, 2500),
	    seen(1, 2500) };
	mastery_result r = assess(it, 4);
	double r1 = fsrs_retrievability(model, 1, 2500);

	ck_assert(r1 > 0.2 && r1 < 1.0 / 3);	/* what the counts rely on */
	ck_assert_double_eq(r.coverage, 1.0);
	ck_assert_double_eq_tol(r.mean_recall, r1, 1e-12);
	ck_assert_int_eq(r.level, MASTERY_EMERGING);
	/* 4 r1 + 2 (1 - r1) >= 2 but 4 r1 + (1 - r1) < 2. */
	ck_assert_uint_eq(r.next.count, 2);
}
END_TEST

START_TEST(test_next_for_mean_lowest_first)
{
	/*
	 * Recalls 0 (unseen), r1, r1, 1, 1, 1; a mean of 0.9 needs 5.4:
	 * unseen first (+1), then the two r1 ones (+0.7 each): 3 questions.
	 */
	mastery_item it[6] = { seen(3, 0), seen(1, 2500), unseen(),
	    seen(3, 0), seen(1, 2500), seen(3, 0) };
	mastery_result r;

	th.developing_recall = 0.9;
	r = assess(it, 6);
	ck_assert_int_eq(r.level, MASTERY_EMERGING);
	ck_assert_uint_eq(r.next.count, 3);
	th.developing_recall = 0.8;	/* 4.8: unseen + one r1 */
	r = assess(it, 6);
	ck_assert_uint_eq(r.next.count, 2);
}
END_TEST

START_TEST(test_secure_exactly_80)
{
	mastery_item it[5] = { seen(3, 0), seen(3, 0), seen(3, 0), seen(3, 0),
	    unseen() };
	mastery_result r = assess(it, 5);

	ck_assert_double_eq(r.share_secure, 0.8);
	ck_assert_int_eq(r.level, MASTERY_SECURE);
	ck_assert_int_eq(r.next.target, MASTERY_MASTERY);
	ck_assert_int_eq(r.next.kind, MASTERY_NEED_SPACED);
	ck_assert_uint_eq(r.next.count, 4);
	ck_assert_uint_eq(r.next.gap_days, 30);
	ck_assert_str_eq(render(&r.next),
	    "4 more questions recalled after a gap of 30 days");
	it[3] = unseen();	/* 3 of 5 = 60% */
	r = assess(it, 5);
	ck_assert_int_eq(r.level, MASTERY_DEVELOPING);
	ck_assert_uint_eq(r.next.count, 1);
}
END_TEST

START_TEST(test_secure_recall_boundary)
{
	/* Default 0.8: stability 10 crosses 0.8 between 33 and 34 days. */
	mastery_item it[1] = { seen(10, 33) };
	double r33 = fsrs_retrievability(model, 10, 33);
	double r34 = fsrs_retrievability(model, 10, 34);
	mastery_result r;

	ck_assert(r33 >= 0.8 && r34 < 0.8);
	r = assess(it, 1);
	ck_assert_uint_eq(r.n_secure, 1);
	ck_assert_int_eq(r.level, MASTERY_SECURE);
	it[0] = seen(10, 34);
	r = assess(it, 1);
	ck_assert_uint_eq(r.n_secure, 0);
	ck_assert_int_eq(r.level, MASTERY_DEVELOPING);
	/* A threshold equal to the recall is met; one ulp above is not. */
	th.secure_recall = r34;
	r = assess(it, 1);
	ck_assert_uint_eq(r.n_secure, 1);
	th.secure_recall = nextafter(r34, 1.0);
	r = assess(it, 1);
	ck_assert_uint_eq(r.n_secure, 0);
}
END_TEST

START_TEST(test_unseen_never_secure)
{
	mastery_item it[2] = { unseen(), seen(3, 0) };
	mastery_result r;

	th.secure_recall = 0.0;
	r = assess(it, 2);
	ck_assert_uint_eq(r.n_secure, 1);
}
END_TEST

START_TEST(test_mastery_durable_boundary)
{
	mastery_item it[5] = { seen(30, 0), seen(30, 0), seen(45, 0),
	    seen(30, 0), seen(5, 0) };
	mastery_result r = assess(it, 5);

	ck_assert_uint_eq(r.n_durable, 4);
	ck_assert_double_eq(r.share_durable, 0.8);
	ck_assert_int_eq(r.level, MASTERY_MASTERY);
	ck_assert_int_eq(r.next.kind, MASTERY_NEED_NONE);
	ck_assert_int_eq(r.next.target, MASTERY_MASTERY);
	ck_assert_str_eq(render(&r.next),
	    "nothing more: keep recalling to hold Mastery");
	it[0] = seen(nextafter(30.0, 0.0), 0);	/* just under 30 days */
	r = assess(it, 5);
	ck_assert_uint_eq(r.n_durable, 3);
	ck_assert_int_eq(r.level, MASTERY_SECURE);
	ck_assert_uint_eq(r.next.count, 1);
	ck_assert_str_eq(render(&r.next),
	    "1 more question recalled after a gap of 30 days");
}
END_TEST

START_TEST(test_durable_without_secure)
{
	/* Stable but not recalled for a long time: recall low, not Secure. */
	mastery_item it[2] = { seen(40, 400), seen(40, 400) };
	mastery_result r = assess(it, 2);

	ck_assert_uint_eq(r.n_durable, 2);
	ck_assert_uint_eq(r.n_secure, 0);
	ck_assert_int_eq(r.level, MASTERY_DEVELOPING);
	ck_assert_uint_eq(r.next.count, 2);
}
END_TEST

START_TEST(test_share_boundaries_exhaustive)
{
	/*
	 * k of n recalled today, the rest unseen: Secure exactly when
	 * k / n >= 0.8, and "N more" reaches the bar exactly.
	 */
	mastery_item it[60];

	for (uint32_t n = 1; n <= 60; n++) {
		for (uint32_t k = 0; k <= n; k++) {
			mastery_result r;
			bool dev, sec;

			for (uint32_t i = 0; i < n; i++)
				it[i] = i < k ? seen(3, 0) : unseen();
			r = assess(it, n);
			dev = (double)k / n >= 0.5;
			sec = (double)k / n >= 0.8;
			ck_assert_int_eq(r.level, sec ? MASTERY_SECURE :
			    dev ? MASTERY_DEVELOPING : MASTERY_EMERGING);
			if (r.level == MASTERY_SECURE)
				continue;
			/* Adding count is enough, count - 1 is not. */
			ck_assert_uint_gt(r.next.count, 0);
			ck_assert((double)(k + r.next.count) / n >=
			    (dev ? 0.8 : 0.5));
			ck_assert((double)(k + r.next.count - 1) / n <
			    (dev ? 0.8 : 0.5));
		}
	}
}
END_TEST

START_TEST(test_clock_skew)
{
	mastery_item it[1] = { seen(3, -5) };	/* reviewed "after" DAY */
	mastery_result r = assess(it, 1);

	ck_assert_double_eq(r.mean_recall, 1.0);
}
END_TEST

/*
 * A pupil who keeps practising: each review on its due day (today for one
 * overdue), answered right. Memories two days old that are Secure today
 * but would fall below within a week unreviewed stay Secure; unseen items
 * stay unseen; a horizon before the first review changes nothing.
 */
START_TEST(test_project_practised)
{
	mastery_item items[5], alone[5];
	mastery_result r;
	int32_t until = DAY + 7;

	for (int i = 0; i < 5; i++)
		items[i] = seen(1.0, 2);	/* due yesterday: overdue */
	memcpy(alone, items, sizeof items);
	ck_assert_int_eq(assess(items, 5).level, MASTERY_SECURE);
	mastery_assess(model, &th, alone, 5, until, &r);
	ck_assert_int_lt(r.level, MASTERY_SECURE);	/* left alone: fallen */

	mastery_project_practised(model, items, 5, DAY, until);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_gt(items[i].last_review_day, DAY);	/* today, then more */
		ck_assert_int_le(items[i].last_review_day, until);
		ck_assert_uint_ge(items[i].state.reps, 5);
		ck_assert(items[i].state.stability > 1.0);
		/* and the next one falls past the horizon */
		ck_assert_int_gt(items[i].last_review_day +
		    (int32_t)fsrs_interval(model, items[i].state.stability), until);
	}
	mastery_assess(model, &th, items, 5, until, &r);
	ck_assert_int_ge(r.level, MASTERY_SECURE);

	/* unseen stays unseen */
	items[0] = unseen();
	mastery_project_practised(model, items, 1, DAY, until);
	ck_assert_uint_eq(items[0].state.reps, 0);
	ck_assert_int_eq(items[0].last_review_day, 0);

	/* nothing due before the horizon: unchanged */
	for (int i = 0; i < 5; i++)
		items[i] = alone[i] = seen(30.0, 0);
	mastery_project_practised(model, items, 5, DAY, DAY + 7);
	ck_assert_mem_eq(items, alone, sizeof items);
}
END_TEST

START_TEST(test_render)
{
	mastery_next nx = { .target = MASTERY_MASTERY,
	    .kind = MASTERY_NEED_SPACED, .count = 2, .gap_days = 21 };
	char small[8];

	ck_assert_str_eq(render(&nx),
	    "2 more questions recalled after a gap of 3 weeks");
	nx.gap_days = 7;
	nx.count = 1;
	ck_assert_str_eq(render(&nx),
	    "1 more question recalled after a gap of 1 week");
	nx.gap_days = 1;
	ck_assert_str_eq(render(&nx),
	    "1 more question recalled after a gap of 1 day");
	nx.gap_days = 10;
	ck_assert_str_eq(render(&nx),
	    "1 more question recalled after a gap of 10 days");
	nx.kind = MASTERY_NEED_CORRECT;
	nx.count = 3;
	ck_assert_str_eq(render(&nx), "3 more questions answered correctly");
	/* Cut short: NUL-terminated, returns the length it needed. */
	ck_assert_int_eq(mastery_next_render(&nx, small, sizeof(small)), 35);
	ck_assert_str_eq(small, "3 more ");
	nx.kind = (mastery_need_kind)99;
	ck_assert_str_eq(render(&nx), "?");
}
END_TEST

/* Each level in a pupil's words, from the school's own thresholds. */
START_TEST(test_describe)
{
	mastery_thresholds t = mastery_thresholds_default();
	char buf[400];

	mastery_level_describe(MASTERY_SECURE, &t, buf, sizeof buf);
	ck_assert_ptr_nonnull(strstr(buf, "at least 8 in 10 of this unit's questions"));
	mastery_level_describe(MASTERY_MASTERY, &t, buf, sizeof buf);
	ck_assert_ptr_nonnull(strstr(buf, "for a month or more"));
	mastery_level_describe(MASTERY_DEVELOPING, &t, buf, sizeof buf);
	ck_assert_ptr_nonnull(strstr(buf, "at least half of this unit's questions"));
	t.secure_share = 0.9;
	t.durable_days = 14;
	mastery_level_describe(MASTERY_MASTERY, &t, buf, sizeof buf);
	ck_assert_ptr_nonnull(strstr(buf, "9 in 10"));
	ck_assert_ptr_nonnull(strstr(buf, "for 2 weeks or more"));
	ck_assert_int_lt(mastery_level_describe(MASTERY_EMERGING, &t, buf, sizeof buf),
	    (int)sizeof buf);
}
END_TEST

static Suite *
mastery_suite(void)
{
	Suite *s = suite_create("mastery");
	TCase *tc = tcase_create("assess");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults_and_validation);
	tcase_add_test(tc, test_level_names);
	tcase_add_test(tc, test_empty_unit);
	tcase_add_test(tc, test_all_unseen);
	tcase_add_test(tc, test_developing_exactly_half);
	tcase_add_test(tc, test_emerging_just_below_half);
	tcase_add_test(tc, test_emerging_low_coverage);
	tcase_add_test(tc, test_emerging_low_recall);
	tcase_add_test(tc, test_next_for_mean_lowest_first);
	tcase_add_test(tc, test_secure_exactly_80);
	tcase_add_test(tc, test_secure_recall_boundary);
	tcase_add_test(tc, test_unseen_never_secure);
	tcase_add_test(tc, test_mastery_durable_boundary);
	tcase_add_test(tc, test_durable_without_secure);
	tcase_add_test(tc, test_share_boundaries_exhaustive);
	tcase_add_test(tc, test_clock_skew);
	tcase_add_test(tc, test_render);
	tcase_add_test(tc, test_describe);
	tcase_add_test(tc, test_project_practised);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	int failed;

	failed = cktest_run(mastery_suite());
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
