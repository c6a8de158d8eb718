/* test_flags.c: forgotten and at-risk flags per class x unit. */
#include <check.h>
#include <stdlib.h>

#include "cktest.h"
#include "flags.h"

#define TODAY 20000

static flags_thresholds th;

static void
setup(void)
{
	th = flags_thresholds_default();
}

/* A pupil with evidence whose level and recall stay the same for 7 days. */
static flags_pupil
steady(mastery_level level, double recall)
{
	flags_pupil p = {
		.previous = level,
		.now = level,
		.ahead = level,
		.recall_now = recall,
		.recall_ahead = recall,
		.evidence = true,
	};
	return p;
}

static flags_result
assess(const flags_pupil *p, size_t n, const flags_state *prev)
{
	flags_result r;

	flags_assess(&th, p, n, TODAY, prev, &r);
	return r;
}

START_TEST(test_defaults_and_validation)
{
	flags_thresholds t = flags_thresholds_default();
	char err[64];

	ck_assert_double_eq(t.recall, 0.7);
	ck_assert_double_eq(t.fallen_share, 0.3);
	ck_assert_int_eq(t.horizon_days, 7);
	ck_assert_double_eq(t.unanswered_share, 0.5);
	ck_assert_int_eq(t.unanswered_days, 10);
	ck_assert(flags_thresholds_valid(&t, err, sizeof(err)));
	t.recall = 1.5;
	ck_assert(!flags_thresholds_valid(&t, err, sizeof(err)));
	ck_assert_str_eq(err, "recall must be in [0, 1]");
	t = flags_thresholds_default();
	t.fallen_share = -0.1;
	ck_assert(!flags_thresholds_valid(&t, NULL, 0));
	t = flags_thresholds_default();
	t.horizon_days = 0;
	ck_assert(!flags_thresholds_valid(&t, err, sizeof(err)));
	ck_assert(!flags_thresholds_valid(NULL, err, sizeof(err)));
	t = flags_thresholds_default();
	t.unanswered_share = 1.01;
	ck_assert(!flags_thresholds_valid(&t, NULL, 0));
	t = flags_thresholds_default();
	t.unanswered_days = 0;
	ck_assert(!flags_thresholds_valid(&t, err, sizeof(err)));
	ck_assert_str_eq(err, "unanswered_days must be >= 1");
	ck_assert_str_eq(flags_status_name(FLAG_NONE), "none");
	ck_assert_str_eq(flags_status_name(FLAG_AT_RISK), "at_risk");
	ck_assert_str_eq(flags_status_name(FLAG_FORGOTTEN), "forgotten");
	ck_assert_str_eq(flags_status_name(FLAG_NOT_PRACTISED), "not_practised");
	ck_assert_str_eq(flags_status_name((flags_status)7), "?");
}
END_TEST

/* Statuses and reasons by name, both ways: what SQL and the JSON carry. */
START_TEST(test_names)
{
	flags_status st;
	unsigned bit;
	char buf[64];

	for (int i = FLAG_NONE; i <= FLAG_FORGOTTEN; i++) {
		ck_assert(flags_status_parse(flags_status_name((flags_status)i), &st));
		ck_assert_int_eq(st, i);
	}
	ck_assert(!flags_status_parse("Forgotten", &st));
	ck_assert(!flags_status_parse("?", &st));
	ck_assert(!flags_status_parse(NULL, &st));
	ck_assert_str_eq(flags_reason_name(FLAG_REASON_LOW_RECALL), "low_recall");
	ck_assert_str_eq(flags_reason_name(FLAG_REASON_FALLEN), "fallen");
	ck_assert(flags_reason_name(FLAG_REASONS_ALL) == NULL);
	ck_assert_str_eq(flags_reason_name(FLAG_REASON_UNANSWERED), "unanswered");
	ck_assert(flags_reason_name(8) == NULL);
	ck_assert(flags_reason_parse("fallen", &bit));
	ck_assert_uint_eq(bit, FLAG_REASON_FALLEN);
	ck_assert(!flags_reason_parse("none", &bit));
	ck_assert_int_eq(flags_reasons_json(0, buf, sizeof buf), 2);
	ck_assert_str_eq(buf, "[]");
	flags_reasons_json(FLAG_REASON_FALLEN, buf, sizeof buf);
	ck_assert_str_eq(buf, "[\"fallen\"]");
	ck_assert_int_eq(flags_reasons_json(FLAG_REASONS_ALL | 8, buf, sizeof buf), 36);
	ck_assert_str_eq(buf, "[\"low_recall\",\"fallen\",\"unanswered\"]");
	/* cut short: what it needed, and still a terminated string */
	ck_assert_int_eq(flags_reasons_json(FLAG_REASONS_ALL, buf, 5), 36);
	ck_assert_str_eq(buf, "[\"lo");
}
END_TEST

START_TEST(test_empty_class)
{
	flags_result r = assess(NULL, 0, NULL);

	ck_assert_int_eq(r.status, FLAG_NONE);
	ck_assert_uint_eq(r.reasons, 0);
	ck_assert_uint_eq(r.n_pupils, 0);
	ck_assert_double_eq(r.mean_recall, 0.0);
}
END_TEST

START_TEST(test_no_evidence)
{
	/* Unit just taught: nobody has been asked yet. Not forgotten. */
	flags_pupil p[3] = { steady(MASTERY_EMERGING, 0),
	    steady(MASTERY_EMERGING, 0), steady(MASTERY_EMERGING, 0) };
	flags_result r;

	for (int i = 0; i < 3; i++)
		p[i].evidence = false;
	r = assess(p, 3, NULL);
	ck_assert_int_eq(r.status, FLAG_NONE);
	ck_assert_uint_eq(r.n_pupils, 3);
	ck_assert_uint_eq(r.n_evidence, 0);
}
END_TEST

START_TEST(test_recall_boundary)
{
	flags_pupil p[2] = { steady(MASTERY_DEVELOPING, 0.6),
	    steady(MASTERY_SECURE, 0.8) };
	flags_result r = assess(p, 2, NULL);

	/* Mean exactly 0.7 is not below 0.7. */
	ck_assert_double_eq_tol(r.mean_recall, 0.7, 1e-15);
	p[0].recall_now = p[0].recall_ahead = 0.625;
	p[1].recall_now = p[1].recall_ahead = 0.775;
	r = assess(p, 2, NULL);
	ck_assert_double_eq(r.mean_recall, 0.7);
	ck_assert_int_eq(r.status, FLAG_NONE);
	ck_assert_uint_eq(r.reasons, 0);
	ck_assert_uint_eq(r.n_concerned, 0);

	p[0].recall_now = p[0].recall_ahead = 0.6;
	p[1].recall_now = p[1].recall_ahead = 0.79;
	r = assess(p, 2, NULL);
	ck_assert_int_eq(r.status, FLAG_FORGOTTEN);
	ck_assert_uint_eq(r.reasons, FLAG_REASON_LOW_RECALL);
	ck_assert_uint_eq(r.n_concerned, 1);	/* the pupil below 0.7 */
	ck_assert_uint_eq(r.n_fallen, 0);
	ck_assert_int_eq(r.since_day, TODAY);
}
END_TEST

START_TEST(test_mean_over_evidence_only)
{
	flags_pupil p[3] = { steady(MASTERY_SECURE, 0.9),
	    steady(MASTERY_SECURE, 0.8), steady(MASTERY_EMERGING, 0.0) };
	flags_result r;

	p[2].evidence = false;		/* joined late, never asked */
	r = assess(p, 3, NULL);
	ck_assert_int_eq(r.status, FLAG_NONE);
	ck_assert_uint_eq(r.n_evidence, 2);
	ck_assert_uint_eq(r.n_pupils, 3);
	ck_assert_double_eq_tol(r.mean_recall, 0.85, 1e-15);
}
END_TEST

START_TEST(test_fallen_share)
{
	flags_pupil p[10];
	flags_result r;

	for (int i = 0; i < 10; i++)
		p[i] = steady(MASTERY_SECURE, 0.9);
	/* Two of ten fell from Secure/Mastery: 20%, not flagged. */
	p[0].now = p[0].ahead = MASTERY_DEVELOPING;
	p[1].previous = MASTERY_MASTERY;
	p[1].now = p[1].ahead = MASTERY_EMERGING;
	/* Not falls: Mastery -> Secure, Developing -> Emerging. */
	p[2].previous = MASTERY_MASTERY;
	p[3].previous = MASTERY_DEVELOPING;
	p[3].now = p[3].ahead = MASTERY_EMERGING;
	r = assess(p, 10, NULL);
	ck_assert_int_eq(r.status, FLAG_NONE);
	ck_assert_uint_eq(r.n_fallen, 2);
	/* A third: exactly 30%. */
	p[4].now = p[4].ahead = MASTERY_DEVELOPING;
	r = assess(p, 10, NULL);
	ck_assert_int_eq(r.status, FLAG_FORGOTTEN);
	ck_assert_uint_eq(r.reasons, FLAG_REASON_FALLEN);
	ck_assert_uint_eq(r.n_fallen, 3);
	ck_assert_uint_eq(r.n_concerned, 3);
	ck_assert_double_eq_tol(r.mean_recall, 0.9, 1e-12);
}
END_TEST

START_TEST(test_fallen_counts_pupils_without_evidence)
{
	/* The share is of the whole class, evidence or not. */
	flags_pupil p[4] = { steady(MASTERY_SECURE, 0.9),
	    steady(MASTERY_SECURE, 0.9), steady(MASTERY_SECURE, 0.9),
	    steady(MASTERY_EMERGING, 0) };
	flags_result r;

	p[3].evidence = false;
	p[0].now = p[0].ahead = MASTERY_DEVELOPING;	/* 1 of 4: 25% */
	r = assess(p, 4, NULL);
	ck_assert_int_eq(r.status, FLAG_NONE);
	th.fallen_share = 0.25;
	r = assess(p, 4, NULL);
	ck_assert_int_eq(r.status, FLAG_FORGOTTEN);
}
END_TEST

START_TEST(test_zero_share_needs_a_fall)
{
	flags_pupil p[2] = { steady(MASTERY_SECURE, 0.9),
	    steady(MASTERY_SECURE, 0.9) };
	flags_result r;

	th.fallen_share = 0.0;
	r = assess(p, 2, NULL);
	ck_assert_int_eq(r.status, FLAG_NONE);
	p[1].now = MASTERY_DEVELOPING;
	r = assess(p, 2, NULL);
	ck_assert_int_eq(r.status, FLAG_FORGOTTEN);
}
END_TEST

START_TEST(test_both_reasons)
{
	flags_pupil p[3] = { steady(MASTERY_SECURE, 0.4),
	    steady(MASTERY_SECURE, 0.5), steady(MASTERY_DEVELOPING, 0.9) };
	flags_result r;

	p[0].now = p[0].ahead = MASTERY_DEVELOPING;
	r = assess(p, 3, NULL);
	ck_assert_int_eq(r.status, FLAG_FORGOTTEN);
	ck_assert_uint_eq(r.reasons,
	    FLAG_REASON_LOW_RECALL | FLAG_REASON_FALLEN);
	/* p0 fell and is low, p1 is low: 2 pupils, counted once each. */
	ck_assert_uint_eq(r.n_concerned, 2);
}
END_TEST

START_TEST(test_at_risk_recall)
{
	flags_pupil p[3] = { steady(MASTERY_SECURE, 0.85),
	    steady(MASTERY_SECURE, 0.8), steady(MASTERY_DEVELOPING, 0.75) };
	flags_result r;

	p[0].recall_ahead = 0.72;
	p[1].recall_ahead = 0.69;
	p[2].recall_ahead = 0.62;
	r = assess(p, 3, NULL);
	ck_assert_int_eq(r.status, FLAG_AT_RISK);
	ck_assert_uint_eq(r.reasons, FLAG_REASON_LOW_RECALL);
	ck_assert_uint_eq(r.n_concerned, 2);	/* below 0.7 in 7 days */
	ck_assert_double_eq_tol(r.mean_recall, 0.8, 1e-15);
	ck_assert_double_eq_tol(r.mean_recall_ahead, 0.6766666666666667,
	    1e-12);
	ck_assert_int_eq(r.since_day, TODAY);
}
END_TEST

START_TEST(test_at_risk_fall)
{
	flags_pupil p[3] = { steady(MASTERY_SECURE, 0.9),
	    steady(MASTERY_SECURE, 0.9), steady(MASTERY_MASTERY, 0.95) };
	flags_result r;

	p[0].ahead = MASTERY_DEVELOPING;	/* will drop below Secure */
	r = assess(p, 3, NULL);
	ck_assert_int_eq(r.status, FLAG_AT_RISK);
	ck_assert_uint_eq(r.reasons, FLAG_REASON_FALLEN);
	ck_assert_uint_eq(r.n_fallen, 1);
	ck_assert_uint_eq(r.n_concerned, 1);
}
END_TEST

/* One pupil at a time, as the grid asks: the same rule as n_concerned. */
START_TEST(test_pupil_concerned)
{
	flags_pupil p = steady(MASTERY_SECURE, 0.85), none = { 0 };

	ck_assert(!flags_pupil_concerned(&th, &p, false));
	p.recall_ahead = 0.69;
	ck_assert(!flags_pupil_concerned(&th, &p, false));
	ck_assert(flags_pupil_concerned(&th, &p, true));	/* below 0.7 in 7 days */
	p = steady(MASTERY_SECURE, 0.9);
	p.ahead = MASTERY_DEVELOPING;
	ck_assert(flags_pupil_concerned(&th, &p, true));	/* will have fallen */
	ck_assert(!flags_pupil_concerned(&th, &p, false));
	p = steady(MASTERY_DEVELOPING, 0.7);
	ck_assert(!flags_pupil_concerned(&th, &p, false));	/* the threshold is not below */
	none.recall_now = none.recall_ahead = 0.0;	/* no evidence: never low */
	ck_assert(!flags_pupil_concerned(&th, &none, false));
	none.previous = MASTERY_MASTERY;		/* but a fall counts without it */
	ck_assert(flags_pupil_concerned(&th, &none, false));
}
END_TEST

START_TEST(test_forgotten_beats_at_risk)
{
	flags_pupil p[1] = { steady(MASTERY_DEVELOPING, 0.6) };
	flags_result r = assess(p, 1, NULL);

	ck_assert_int_eq(r.status, FLAG_FORGOTTEN);
	/* Recovering within 7 days does not clear today's flag. */
	p[0].recall_ahead = 0.95;
	r = assess(p, 1, NULL);
	ck_assert_int_eq(r.status, FLAG_FORGOTTEN);
}
END_TEST

START_TEST(test_since_day)
{
	flags_pupil low[1] = { steady(MASTERY_DEVELOPING, 0.6) };
	flags_pupil risk[1] = { steady(MASTERY_SECURE, 0.8) };
	flags_pupil fine[1] = { steady(MASTERY_SECURE, 0.9) };
	flags_state none = { FLAG_NONE, TODAY - 50 };
	flags_state at_risk = { FLAG_AT_RISK, TODAY - 9 };
	flags_state forgotten = { FLAG_FORGOTTEN, TODAY - 4 };
	flags_result r;

	risk[0].recall_ahead = 0.6;

	r = assess(low, 1, &none);		/* new flag */
	ck_assert_int_eq(r.since_day, TODAY);
	r = assess(low, 1, NULL);
	ck_assert_int_eq(r.since_day, TODAY);
	r = assess(risk, 1, &at_risk);		/* same: keeps */
	ck_assert_int_eq(r.status, FLAG_AT_RISK);
	ck_assert_int_eq(r.since_day, TODAY - 9);
	r = assess(low, 1, &at_risk);		/* worse: keeps */
	ck_assert_int_eq(r.status, FLAG_FORGOTTEN);
	ck_assert_int_eq(r.since_day, TODAY - 9);
	r = assess(low, 1, &forgotten);		/* same: keeps */
	ck_assert_int_eq(r.since_day, TODAY - 4);
	r = assess(risk, 1, &forgotten);	/* better: starts anew */
	ck_assert_int_eq(r.status, FLAG_AT_RISK);
	ck_assert_int_eq(r.since_day, TODAY);
	r = assess(fine, 1, &forgotten);	/* cleared */
	ck_assert_int_eq(r.status, FLAG_NONE);
	ck_assert_int_eq(r.since_day, TODAY);
}
END_TEST

/* Practising: a review within the last horizon_days (7), counting today. */
START_TEST(test_practising)
{
	ck_assert(flags_practising(&th, 100, 100));
	ck_assert(flags_practising(&th, 93, 100));
	ck_assert(!flags_practising(&th, 92, 100));
	ck_assert(!flags_practising(&th, INT32_MIN, 100));
	ck_assert(!flags_practising(&th, INT32_MIN, INT32_MIN + 3));
}
END_TEST

START_TEST(test_from_mastery)
{
	mastery_result now = { .level = MASTERY_SECURE, .n_reviewed = 4,
	    .mean_recall = 0.6, .mean_recall_seen = 0.9 };
	mastery_result ahead = { .level = MASTERY_DEVELOPING, .n_reviewed = 4,
	    .mean_recall = 0.5, .mean_recall_seen = 0.75 };
	flags_pupil p = flags_pupil_from_mastery(MASTERY_MASTERY, &now,
	    &ahead);

	ck_assert_int_eq(p.previous, MASTERY_MASTERY);
	ck_assert_int_eq(p.now, MASTERY_SECURE);
	ck_assert_int_eq(p.ahead, MASTERY_DEVELOPING);
	ck_assert_double_eq(p.recall_now, 0.9);
	ck_assert_double_eq(p.recall_ahead, 0.75);
	ck_assert(p.evidence);
	now.n_reviewed = 0;
	p = flags_pupil_from_mastery(MASTERY_EMERGING, &now, &ahead);
	ck_assert(!p.evidence);
}
END_TEST

/* A pupil is not practising from unanswered_days school days after their last answer. */
START_TEST(test_pupil_unanswered)
{
	flags_answers a = { .last_answered_day = 90, .taught_day = 50, .window_start = 91,
	    .missed = 3 };

	ck_assert(flags_pupil_unanswered(&a));
	a.window_start = 90;		/* answered on the window's first day */
	ck_assert(!flags_pupil_unanswered(&a));
	a.window_start = 91;
	a.missed = 0;			/* not asked: nothing was left */
	ck_assert(!flags_pupil_unanswered(&a));
	a.missed = 1;
	a.last_answered_day = INT32_MIN;	/* never answered: from the taught day */
	ck_assert(flags_pupil_unanswered(&a));
	a.taught_day = 91;		/* taught inside the window: too soon to say */
	ck_assert(!flags_pupil_unanswered(&a));
	a.last_answered_day = 40;	/* an answer before the unit was (re)taught */
	ck_assert(!flags_pupil_unanswered(&a));
}
END_TEST

static flags_pupil
idle(void)
{
	flags_pupil p = steady(MASTERY_SECURE, 0.9);

	p.unanswered = true;
	return p;
}

/* Half the class (the default share) not practising flags it, and names them. */
START_TEST(test_not_practised_share)
{
	flags_pupil p[4] = { idle(), idle(), steady(MASTERY_SECURE, 0.9),
	    steady(MASTERY_SECURE, 0.9) };
	flags_state was = { FLAG_NOT_PRACTISED, TODAY - 3 };
	flags_result r = assess(p, 4, NULL);
	char buf[64];

	ck_assert_int_eq(r.status, FLAG_NOT_PRACTISED);
	ck_assert_uint_eq(r.reasons, FLAG_REASON_UNANSWERED);
	ck_assert_uint_eq(r.n_unanswered, 2);
	ck_assert_uint_eq(r.n_concerned, 2);
	ck_assert_int_eq(r.since_day, TODAY);
	ck_assert(flags_pupil_behind(&th, &p[0], r.status));
	ck_assert(!flags_pupil_behind(&th, &p[2], r.status));
	flags_reasons_json(r.reasons, buf, sizeof buf);
	ck_assert_str_eq(buf, "[\"unanswered\"]");
	r = assess(p, 4, &was);		/* held on: keeps since */
	ck_assert_int_eq(r.since_day, TODAY - 3);
	p[1].unanswered = false;	/* a quarter: not enough */
	r = assess(p, 4, &was);
	ck_assert_int_eq(r.status, FLAG_NONE);
	ck_assert_uint_eq(r.n_unanswered, 1);
	th.unanswered_share = 0.0;	/* a share of 0 still needs one pupil */
	p[0].unanswered = false;
	r = assess(p, 4, NULL);
	ck_assert_int_eq(r.status, FLAG_NONE);
}
END_TEST

/* Forgotten beats not practised, which beats at risk; reasons say all that holds now. */
START_TEST(test_not_practised_rank)
{
	flags_pupil p[2] = { idle(), idle() };
	flags_state risk = { FLAG_AT_RISK, TODAY - 5 };
	flags_result r;

	p[0].recall_ahead = p[1].recall_ahead = 0.5;	/* at risk too */
	r = assess(p, 2, &risk);
	ck_assert_int_eq(r.status, FLAG_NOT_PRACTISED);
	ck_assert_uint_eq(r.reasons, FLAG_REASON_UNANSWERED);
	ck_assert_int_eq(r.since_day, TODAY - 5);	/* worse than at risk: keeps */
	p[0].recall_now = p[1].recall_now = 0.5;	/* forgotten too */
	r = assess(p, 2, NULL);
	ck_assert_int_eq(r.status, FLAG_FORGOTTEN);
	ck_assert_uint_eq(r.reasons, FLAG_REASON_LOW_RECALL | FLAG_REASON_UNANSWERED);
	ck_assert_uint_eq(r.n_concerned, 2);		/* each pupil once */
	p[0] = idle();					/* recall fine, not practising */
	p[1] = steady(MASTERY_SECURE, 0.3);		/* answers, but low */
	th.unanswered_share = 0.6;			/* 1 of 2 is not enough for the reason */
	r = assess(p, 2, NULL);
	ck_assert_int_eq(r.status, FLAG_FORGOTTEN);
	ck_assert_uint_eq(r.reasons, FLAG_REASON_LOW_RECALL);
	ck_assert_uint_eq(r.n_unanswered, 1);
	ck_assert_uint_eq(r.n_concerned, 2);
	ck_assert(flags_pupil_behind(&th, &p[0], r.status) && flags_pupil_behind(&th, &p[1], r.status));
	ck_assert_int_eq(FLAG_AT_RISK < FLAG_NOT_PRACTISED, 1);
	ck_assert_int_eq(FLAG_NOT_PRACTISED < FLAG_FORGOTTEN, 1);
}
END_TEST

static Suite *
flags_suite(void)
{
	Suite *s = suite_create("flags");
	TCase *tc = tcase_create("assess");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_defaults_and_validation);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_empty_class);
	tcase_add_test(tc, test_no_evidence);
	tcase_add_test(tc, test_recall_boundary);
	tcase_add_test(tc, test_mean_over_evidence_only);
	tcase_add_test(tc, test_fallen_share);
	tcase_add_test(tc, test_fallen_counts_pupils_without_evidence);
	tcase_add_test(tc, test_zero_share_needs_a_fall);
	tcase_add_test(tc, test_both_reasons);
	tcase_add_test(tc, test_at_risk_recall);
	tcase_add_test(tc, test_at_risk_fall);
	tcase_add_test(tc, test_pupil_concerned);
	tcase_add_test(tc, test_forgotten_beats_at_risk);
	tcase_add_test(tc, test_since_day);
	tcase_add_test(tc, test_from_mastery);
	tcase_add_test(tc, test_practising);
	tcase_add_test(tc, test_pupil_unanswered);
	tcase_add_test(tc, test_not_practised_share);
	tcase_add_test(tc, test_not_practised_rank);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	int failed;

	failed = cktest_run(flags_suite());
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
