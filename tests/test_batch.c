/* test_batch.c: daily batch selection rules (sched/batch.h). */
#include <check.h>
#include <stdlib.h>

#include "batch.h"
#include "cktest.h"
#include "fsrs.h"

#define TODAY 20000

static fsrs_model *model;
static batch_selector *sel;
static batch_settings set;

static void
setup(void)
{
	model = fsrs_model_new(NULL, 0.9, 36500, NULL, 0);
	ck_assert_ptr_nonnull(model);
	sel = batch_selector_new();
	ck_assert_ptr_nonnull(sel);
	set = batch_settings_default();
}

static void
teardown(void)
{
	batch_selector_free(sel);
	fsrs_model_free(model);
}

/* A reviewed question: stability, days since the review, days overdue. */
static batch_candidate
rev(int64_t qid, int64_t unit, double stability, int32_t ago, int32_t overdue)
{
	batch_candidate c = {
		.question_id = qid,
		.unit_id = unit,
		.course_id = 1,
		.state = { .stability = stability, .difficulty = 5, .reps = 2 },
		.last_review_day = TODAY - ago,
		.due_day = TODAY - overdue,
		.taught_day = TODAY - 100,
		.question_order = (int32_t)qid,
		.exam_day = BATCH_NO_DAY,
	};
	return c;
}

/* An unseen question of a unit taught on a day. */
static batch_candidate
unseen(int64_t qid, int64_t unit, int32_t taught_day, int32_t order)
{
	batch_candidate c = {
		.question_id = qid,
		.unit_id = unit,
		.course_id = 1,
		.taught_day = taught_day,
		.question_order = order,
		.exam_day = BATCH_NO_DAY,
	};
	return c;
}

static size_t
run(const batch_candidate *c, size_t n, batch_pick *out, size_t cap)
{
	size_t got = 99;

	ck_assert(batch_select(sel, model, &set, TODAY, c, n, out, cap, &got));
	return got;
}

static uint32_t
count_unit(const batch_candidate *c, const batch_pick *p, size_t n,
    int64_t unit)
{
	uint32_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (c[p[i].index].unit_id == unit)
			k++;
	return k;
}

static bool
picked(const batch_pick *p, size_t n, int64_t qid)
{
	for (size_t i = 0; i < n; i++)
		if (p[i].question_id == qid)
			return true;
	return false;
}

START_TEST(test_defaults)
{
	batch_settings d = batch_settings_default();
	char err[64];

	ck_assert_uint_eq(d.max_per_day, 5);
	ck_assert_uint_eq(d.new_per_day, 2);
	ck_assert_int_eq(d.first_retrieval_delay_days, 1);
	ck_assert_int_eq(d.exam_window_days, 42);
	ck_assert(batch_settings_valid(&d, err, sizeof(err)));
	d.first_retrieval_delay_days = -1;
	ck_assert(!batch_settings_valid(&d, err, sizeof(err)));
	ck_assert_str_eq(err, "first_retrieval_delay_days must be >= 0");
	d = batch_settings_default();
	d.exam_window_days = -1;
	ck_assert(!batch_settings_valid(&d, NULL, 0));
	ck_assert_str_eq(batch_reason_name(BATCH_DUE), "due");
	ck_assert_str_eq(batch_reason_name(BATCH_NEW), "new");
	ck_assert_str_eq(batch_reason_name(BATCH_EXAM), "exam");
	ck_assert_str_eq(batch_reason_name(BATCH_EARLY), "early");
	ck_assert_uint_eq(d.min_per_day, 0);
	ck_assert_str_eq(batch_reason_name((batch_reason)0), "?");
}
END_TEST

START_TEST(test_no_candidates)
{
	batch_pick out[5];

	ck_assert_uint_eq(run(NULL, 0, out, 5), 0);
}
END_TEST

START_TEST(test_bad_args)
{
	batch_candidate c[1] = { rev(1, 1, 5, 10, 1) };
	batch_pick out[5];
	size_t got = 7;

	ck_assert(!batch_select(NULL, model, &set, TODAY, c, 1, out, 5, &got));
	ck_assert_uint_eq(got, 0);
	ck_assert(!batch_select(sel, NULL, &set, TODAY, c, 1, out, 5, &got));
	ck_assert(!batch_select(sel, model, NULL, TODAY, c, 1, out, 5, &got));
	ck_assert(!batch_select(sel, model, &set, TODAY, NULL, 1, out, 5,
	    &got));
	ck_assert(!batch_select(sel, model, &set, TODAY, c, 1, NULL, 5, &got));
	ck_assert(!batch_select(sel, model, &set, TODAY, c, 1, out, 5, NULL));
	/* Nothing to write into: a valid, empty batch. */
	ck_assert(batch_select(sel, model, &set, TODAY, c, 1, NULL, 0, &got));
	ck_assert_uint_eq(got, 0);
	batch_selector_free(NULL);
}
END_TEST

START_TEST(test_cap_zero)
{
	batch_candidate c[3] = { rev(1, 1, 5, 10, 1), rev(2, 2, 5, 10, 1),
	    unseen(3, 3, TODAY - 5, 1) };
	batch_pick out[5];

	set.max_per_day = 0;
	ck_assert_uint_eq(run(c, 3, out, 5), 0);
}
END_TEST

START_TEST(test_out_cap_limits)
{
	batch_candidate c[4] = { rev(1, 1, 5, 10, 1), rev(2, 2, 5, 11, 1),
	    rev(3, 3, 5, 12, 1), rev(4, 4, 5, 13, 1) };
	batch_pick out[2];

	ck_assert_uint_eq(run(c, 4, out, 2), 2);
	/* The two longest since review have the lowest recall. */
	ck_assert(picked(out, 2, 4));
	ck_assert(picked(out, 2, 3));
}
END_TEST

START_TEST(test_due_by_lowest_recall)
{
	/* Same gap, different stabilities: lower stability = lower recall. */
	batch_candidate c[4] = { rev(1, 1, 20, 10, 0), rev(2, 2, 2, 10, 3),
	    rev(3, 3, 8, 10, 1), rev(4, 4, 50, 10, 0) };
	batch_pick out[5];
	size_t n = run(c, 4, out, 5);

	ck_assert_uint_eq(n, 4);
	ck_assert_int_eq(out[0].question_id, 2);
	ck_assert_int_eq(out[1].question_id, 3);
	ck_assert_int_eq(out[2].question_id, 1);
	ck_assert_int_eq(out[3].question_id, 4);
	for (size_t i = 0; i < n; i++) {
		const batch_candidate *q = &c[out[i].index];

		ck_assert_int_eq(out[i].reason, BATCH_DUE);
		ck_assert_int_eq(q->question_id, out[i].question_id);
		ck_assert_double_eq(out[i].recall, fsrs_retrievability(model,
		    q->state.stability, 10));
		if (i > 0)
			ck_assert(out[i - 1].recall <= out[i].recall);
	}
}
END_TEST

START_TEST(test_not_due_excluded)
{
	batch_candidate c[3] = { rev(1, 1, 5, 3, -1), rev(2, 2, 5, 3, 0),
	    rev(3, 3, 1, 3, -10) };
	batch_pick out[5];
	size_t n = run(c, 3, out, 5);

	/* Due today is due; due tomorrow is not, whatever its recall. */
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(out[0].question_id, 2);
}
END_TEST

START_TEST(test_everything_overdue)
{
	batch_candidate c[40];
	batch_pick out[5];
	size_t n;

	/* 4 units x 10, unit 1 holding the lowest recalls. */
	for (int i = 0; i < 40; i++)
		c[i] = rev(i + 1, i / 10 + 1, 1.0 + i, 60, 30);
	n = run(c, 40, out, 5);
	ck_assert_uint_eq(n, 5);
	ck_assert_uint_eq(count_unit(c, out, n, 1), 3);	/* ceil(5/2) */
	ck_assert_uint_eq(count_unit(c, out, n, 2), 2);
	/* The three weakest of unit 1, then the two weakest of unit 2. */
	for (int64_t q = 1; q <= 3; q++)
		ck_assert(picked(out, n, q));
	ck_assert(picked(out, n, 11));
	ck_assert(picked(out, n, 12));
}
END_TEST

START_TEST(test_one_unit_relaxes_cap)
{
	batch_candidate c[10];
	batch_pick out[5];
	size_t n;

	for (int i = 0; i < 10; i++)
		c[i] = rev(i + 1, 7, 1.0 + i, 30, 5);
	n = run(c, 10, out, 5);
	ck_assert_uint_eq(n, 5);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(out[i].question_id, (int64_t)i + 1);
}
END_TEST

START_TEST(test_cap_fills_from_capped_unit)
{
	batch_candidate c[11];
	batch_pick out[5];
	size_t n;

	/* Unit 1: 10 weak questions; unit 2: one strong one. */
	for (int i = 0; i < 10; i++)
		c[i] = rev(i + 1, 1, 1.0 + i, 30, 5);
	c[10] = rev(100, 2, 90, 30, 0);
	n = run(c, 11, out, 5);
	ck_assert_uint_eq(n, 5);
	ck_assert(picked(out, n, 100));
	/* 3 by the cap, the 4th only because nothing else was left. */
	ck_assert_uint_eq(count_unit(c, out, n, 1), 4);
	for (int64_t q = 1; q <= 4; q++)
		ck_assert(picked(out, n, q));
}
END_TEST

START_TEST(test_unit_cap_small_max)
{
	batch_candidate c[6];
	batch_pick out[8];
	size_t n;

	for (int i = 0; i < 3; i++) {
		c[i] = rev(i + 1, 1, 1.0 + i, 30, 5);		/* weak */
		c[i + 3] = rev(i + 11, 2, 20.0 + i, 30, 5);
	}
	set.max_per_day = 4;	/* cap 2 */
	n = run(c, 6, out, 8);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(count_unit(c, out, n, 1), 2);
	ck_assert_uint_eq(count_unit(c, out, n, 2), 2);
	set.max_per_day = 1;	/* cap 1 */
	n = run(c, 6, out, 8);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(out[0].question_id, 1);
	set.max_per_day = 3;	/* cap 2 */
	n = run(c, 6, out, 8);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(count_unit(c, out, n, 1), 2);
}
END_TEST

START_TEST(test_interleaved_order)
{
	batch_candidate c[3] = { rev(1, 1, 1, 30, 5), rev(2, 1, 2, 30, 5),
	    rev(3, 2, 50, 30, 5) };
	batch_pick out[5];
	size_t n = run(c, 3, out, 5);

	/* Priority 1, 2, 3, but unit 1 twice in a row is avoided. */
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(out[0].question_id, 1);
	ck_assert_int_eq(out[1].question_id, 3);
	ck_assert_int_eq(out[2].question_id, 2);
}
END_TEST

START_TEST(test_new_per_day)
{
	batch_candidate c[8];
	batch_pick out[5];
	size_t n;
	int news = 0;

	for (int i = 0; i < 8; i++)
		c[i] = unseen(i + 1, 1 + i % 4, TODAY - 10, i);
	n = run(c, 8, out, 5);
	ck_assert_uint_eq(n, 2);
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(out[i].reason, BATCH_NEW);
		ck_assert_double_eq(out[i].recall, 0.0);
		news++;
	}
	ck_assert_int_eq(news, 2);
	set.new_per_day = 0;
	ck_assert_uint_eq(run(c, 8, out, 5), 0);
	set.new_per_day = 10;	/* more than max: max wins */
	ck_assert_uint_eq(run(c, 8, out, 5), 5);
}
END_TEST

START_TEST(test_new_fill_after_due)
{
	batch_candidate c[7] = {
		unseen(10, 3, TODAY - 5, 1), unseen(11, 3, TODAY - 5, 2),
		unseen(12, 3, TODAY - 5, 3),
		rev(1, 1, 5, 20, 1), rev(2, 2, 5, 20, 1), rev(3, 1, 3, 20, 1),
		rev(4, 2, 50, 20, -5),	/* not due */
	};
	batch_pick out[5];
	size_t n = run(c, 7, out, 5), due = 0, fresh = 0;

	ck_assert_uint_eq(n, 5);
	for (size_t i = 0; i < n; i++) {
		if (out[i].reason == BATCH_DUE)
			due++;
		if (out[i].reason == BATCH_NEW)
			fresh++;
	}
	ck_assert_uint_eq(due, 3);
	ck_assert_uint_eq(fresh, 2);
	ck_assert(picked(out, n, 10));
	ck_assert(picked(out, n, 11));
	ck_assert(!picked(out, n, 4));

	/* Four due: only one slot left for new ones. */
	c[6] = rev(4, 2, 50, 20, 0);
	n = run(c, 7, out, 5);
	ck_assert_uint_eq(n, 5);
	ck_assert(picked(out, n, 4));
	ck_assert(picked(out, n, 10));
	ck_assert(!picked(out, n, 11));
}
END_TEST

START_TEST(test_new_respects_unit_cap)
{
	/* Unit 1 has 3 due (its cap); its new questions yield to unit 2's. */
	batch_candidate c[7] = {
		rev(1, 1, 2, 20, 1), rev(2, 1, 3, 20, 1), rev(3, 1, 4, 20, 1),
		unseen(10, 1, TODAY - 30, 1), unseen(11, 1, TODAY - 30, 2),
		unseen(20, 2, TODAY - 5, 1), unseen(21, 2, TODAY - 5, 2),
	};
	batch_pick out[5];
	size_t n = run(c, 7, out, 5);

	ck_assert_uint_eq(n, 5);
	ck_assert(picked(out, n, 20));
	ck_assert(picked(out, n, 21));
	ck_assert(!picked(out, n, 10));
	ck_assert_uint_eq(count_unit(c, out, n, 1), 3);
}
END_TEST

START_TEST(test_first_retrieval_delay)
{
	batch_candidate c[1];
	batch_pick out[5];

	c[0] = unseen(1, 1, TODAY, 1);		/* taught today */
	ck_assert_uint_eq(run(c, 1, out, 5), 0);
	c[0] = unseen(1, 1, TODAY - 1, 1);	/* taught yesterday */
	ck_assert_uint_eq(run(c, 1, out, 5), 1);
	set.first_retrieval_delay_days = 3;
	c[0] = unseen(1, 1, TODAY - 2, 1);
	ck_assert_uint_eq(run(c, 1, out, 5), 0);
	c[0] = unseen(1, 1, TODAY - 3, 1);
	ck_assert_uint_eq(run(c, 1, out, 5), 1);
	set.first_retrieval_delay_days = 0;
	c[0] = unseen(1, 1, TODAY, 1);
	ck_assert_uint_eq(run(c, 1, out, 5), 1);
	c[0] = unseen(1, 1, TODAY + 1, 1);	/* not taught yet */
	ck_assert_uint_eq(run(c, 1, out, 5), 0);
	c[0] = unseen(1, 1, BATCH_NO_DAY, 1);
	ck_assert_uint_eq(run(c, 1, out, 5), 0);
}
END_TEST

START_TEST(test_untaught_reviewed_not_scheduled)
{
	/* A diagnostic answered before teaching: due, but unit not taught. */
	batch_candidate c[1] = { rev(1, 1, 1, 30, 5) };
	batch_pick out[5];

	c[0].taught_day = BATCH_NO_DAY;
	ck_assert_uint_eq(run(c, 1, out, 5), 0);
	c[0].taught_day = TODAY;	/* taught today: due reviews go ahead */
	ck_assert_uint_eq(run(c, 1, out, 5), 1);
}
END_TEST

START_TEST(test_new_order)
{
	/*
	 * Unit 2 taught before unit 1; q 30 was added to unit 2 after
	 * teaching (high order) and still comes before unit 1. Same order
	 * in one unit falls back to the question id.
	 */
	batch_candidate c[5] = {
		unseen(10, 1, TODAY - 3, 1), unseen(11, 1, TODAY - 3, 2),
		unseen(30, 2, TODAY - 20, 99), unseen(21, 2, TODAY - 20, 5),
		unseen(20, 2, TODAY - 20, 5),
	};
	batch_pick out[8];
	size_t n;

	set.new_per_day = 5;
	set.max_per_day = 8;	/* unit cap 4: no cap effect here */
	n = run(c, 5, out, 8);
	ck_assert_uint_eq(n, 5);
	/* Priority: 20, 21, 30 (unit 2), 10, 11 (unit 1); interleaved. */
	ck_assert_int_eq(out[0].question_id, 20);
	ck_assert_int_eq(out[1].question_id, 10);
	ck_assert_int_eq(out[2].question_id, 21);
	ck_assert_int_eq(out[3].question_id, 11);
	ck_assert_int_eq(out[4].question_id, 30);
	set.new_per_day = 1;
	n = run(c, 5, out, 8);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(out[0].question_id, 20);
}
END_TEST

START_TEST(test_added_after_teaching)
{
	/*
	 * The pupil has reviewed the unit's first questions; a question added
	 * to the bank later is a first retrieval like any other, right away.
	 */
	batch_candidate c[3] = { rev(1, 1, 40, 2, -20), rev(2, 1, 40, 2, -20),
	    unseen(3, 1, TODAY - 60, 3) };
	batch_pick out[5];
	size_t n = run(c, 3, out, 5);

	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(out[0].question_id, 3);
	ck_assert_int_eq(out[0].reason, BATCH_NEW);
}
END_TEST

START_TEST(test_exam_priority)
{
	/*
	 * Course 2 has its exam in 10 days: window opened 32 days ago.
	 * q 20: last reviewed 40 days ago, not due, strong: exam pick.
	 * q 21: reviewed exactly when the window opened: not exam, not due.
	 * q 1, 2: due in course 1 with lower recall than q 20.
	 */
	batch_candidate c[4] = { rev(1, 1, 2, 20, 1), rev(2, 1, 3, 20, 1),
	    rev(20, 2, 400, 40, -50), rev(21, 2, 400, 32, -50) };
	batch_pick out[5];
	size_t n;

	c[2].course_id = c[3].course_id = 2;
	c[2].exam_day = c[3].exam_day = TODAY + 10;
	set.max_per_day = 2;
	n = run(c, 4, out, 5);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(out[0].question_id, 20);
	ck_assert_int_eq(out[0].reason, BATCH_EXAM);
	ck_assert(out[0].recall > out[1].recall);
	ck_assert_int_eq(out[1].question_id, 1);
	ck_assert_int_eq(out[1].reason, BATCH_DUE);
	set.max_per_day = 5;
	n = run(c, 4, out, 5);
	ck_assert_uint_eq(n, 3);
	ck_assert(!picked(out, n, 21));
}
END_TEST

START_TEST(test_exam_window_edges)
{
	batch_candidate c[1] = { rev(1, 1, 400, 100, -50) };
	batch_pick out[5];

	c[0].exam_day = TODAY + 42;		/* window opens today */
	ck_assert_uint_eq(run(c, 1, out, 5), 1);
	ck_assert_int_eq(out[0].reason, BATCH_EXAM);
	c[0].exam_day = TODAY + 43;		/* not yet */
	ck_assert_uint_eq(run(c, 1, out, 5), 0);
	c[0].exam_day = TODAY;			/* exam day itself */
	ck_assert_uint_eq(run(c, 1, out, 5), 1);
	c[0].exam_day = TODAY - 1;		/* over */
	ck_assert_uint_eq(run(c, 1, out, 5), 0);
	/* A due question of the exam course reviewed in the window: due. */
	c[0] = rev(1, 1, 5, 10, 1);
	c[0].exam_day = TODAY + 5;
	ck_assert_uint_eq(run(c, 1, out, 5), 1);
	ck_assert_int_eq(out[0].reason, BATCH_DUE);
	/* Unseen questions of an exam course stay new (new_per_day). */
	c[0] = unseen(1, 1, TODAY - 10, 1);
	c[0].exam_day = TODAY + 5;
	ck_assert_uint_eq(run(c, 1, out, 5), 1);
	ck_assert_int_eq(out[0].reason, BATCH_NEW);
	set.exam_window_days = 0;		/* only on the exam day */
	c[0] = rev(1, 1, 400, 1, -50);
	c[0].exam_day = TODAY;
	ck_assert_uint_eq(run(c, 1, out, 5), 1);
	ck_assert_int_eq(out[0].reason, BATCH_EXAM);
}
END_TEST

START_TEST(test_exam_ordered_by_recall_and_capped)
{
	batch_candidate c[8];
	batch_pick out[5];
	size_t n;

	/* 6 exam questions in unit 5 and 2 due questions in unit 1. */
	for (int i = 0; i < 6; i++) {
		c[i] = rev(i + 1, 5, 100.0 - i, 60, -10);
		c[i].exam_day = TODAY + 7;
	}
	c[6] = rev(50, 1, 1, 30, 1);
	c[7] = rev(51, 1, 2, 30, 1);
	n = run(c, 8, out, 5);
	ck_assert_uint_eq(n, 5);
	/* Unit 5 capped at 3: its lowest recalls (least stable) first. */
	ck_assert_uint_eq(count_unit(c, out, n, 5), 3);
	ck_assert(picked(out, n, 6));
	ck_assert(picked(out, n, 5));
	ck_assert(picked(out, n, 4));
	ck_assert(picked(out, n, 50));
	ck_assert(picked(out, n, 51));
}
END_TEST

START_TEST(test_deterministic_ties)
{
	batch_candidate a[6], b[6];
	batch_pick oa[5], ob[5];
	size_t na, nb;

	/* Identical states in distinct units: order by question id. */
	for (int i = 0; i < 6; i++)
		a[i] = rev(60 - i * 10, i + 1, 5, 10, 1);
	for (int i = 0; i < 6; i++)
		b[i] = a[(i * 5 + 2) % 6];	/* a permutation */
	na = run(a, 6, oa, 5);
	nb = run(b, 6, ob, 5);
	ck_assert_uint_eq(na, 5);
	ck_assert_uint_eq(nb, 5);
	for (size_t i = 0; i < na; i++) {
		ck_assert_int_eq(oa[i].question_id, (int64_t)(10 + 10 * i));
		ck_assert_int_eq(ob[i].question_id, oa[i].question_id);
	}
}
END_TEST

START_TEST(test_review_after_today)
{
	batch_candidate c[1] = { rev(1, 1, 5, -2, 0) };	/* clock skew */
	batch_pick out[5];

	ck_assert_uint_eq(run(c, 1, out, 5), 1);
	ck_assert_double_eq(out[0].recall, 1.0);
}
END_TEST

START_TEST(test_selector_reuse_grows)
{
	enum { N = 1000 };
	batch_candidate *c = calloc(N, sizeof(*c));
	batch_pick out[5];
	size_t n;

	ck_assert_ptr_nonnull(c);
	/* A zeroed row: unseen, its unit taught on day 0. */
	ck_assert_uint_eq(run(c, 1, out, 5), 1);
	for (int i = 0; i < N; i++)
		c[i] = rev(i + 1, i % 13, 1.0 + (i * 7919) % 97, 40, 1);
	n = run(c, N, out, 5);
	ck_assert_uint_eq(n, 5);
	n = run(c, 10, out, 5);		/* smaller again on the same scratch */
	ck_assert_uint_eq(n, 5);
	free(c);
}
END_TEST

/* min_per_day: few due, so not-due reviewed questions top up, lowest recall first. */
START_TEST(test_min_per_day_tops_up)
{
	batch_candidate c[6] = {
		rev(1, 10, 5.0, 2, 0),		/* due today */
		rev(2, 10, 30.0, 2, -20),	/* not due, recall high */
		rev(3, 20, 4.0, 3, -1),		/* not due, recall lowest */
		rev(4, 20, 2.0, 0, -2),		/* reviewed today: never again today */
		unseen(5, 20, TODAY + 5, 1),	/* not taught yet */
		rev(6, 10, 10.0, 5, -3),	/* not due, recall between */
	};
	batch_pick out[8];
	size_t n;
	bool seen[7] = { false };

	n = run(c, 6, out, 8);		/* 0: today's behaviour */
	ck_assert_uint_eq(n, 1);
	set.min_per_day = 3;
	n = run(c, 6, out, 8);
	ck_assert_uint_eq(n, 3);
	for (size_t i = 0; i < n; i++) {
		seen[out[i].question_id] = true;
		ck_assert_int_eq(out[i].reason, out[i].question_id == 1 ? BATCH_DUE : BATCH_EARLY);
	}
	ck_assert(seen[1] && seen[3] && seen[6]);
	set.min_per_day = 10;		/* all that may be asked, and no more */
	n = run(c, 6, out, 8);
	ck_assert_uint_eq(n, 4);
	set.max_per_day = 2;		/* the floor never passes max_per_day */
	n = run(c, 6, out, 8);
	ck_assert_uint_eq(n, 2);
}
END_TEST

/* New questions past their delay that new_per_day left out come first in the top-up. */
START_TEST(test_min_per_day_new_first)
{
	batch_candidate c[4] = {
		unseen(1, 10, TODAY - 3, 1),
		unseen(2, 10, TODAY - 3, 2),
		unseen(3, 10, TODAY, 3),	/* taught today: not yet (delay 1) */
		rev(4, 20, 30.0, 2, -20),
	};
	batch_pick out[8];
	size_t n;

	set.new_per_day = 1;
	set.min_per_day = 3;
	n = run(c, 4, out, 8);
	ck_assert_uint_eq(n, 3);
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_ne(out[i].question_id, 3);
		ck_assert_int_eq(out[i].reason, out[i].question_id == 4 ? BATCH_EARLY : BATCH_NEW);
	}
}
END_TEST

/* An early review of a remembered question still lengthens its interval. */
START_TEST(test_early_review_grows_interval)
{
	fsrs_state st = { .stability = 20.0, .difficulty = 5.0, .reps = 3 };
	uint32_t before = fsrs_interval(model, st.stability), after = 0;

	/* Five days into a twenty-day interval, answered right. */
	fsrs_review(model, &st, 5, FSRS_GOOD, &after);
	ck_assert_uint_gt(after, before);
	ck_assert_double_gt(st.stability, 20.0);
}
END_TEST

static Suite *
batch_suite(void)
{
	Suite *s = suite_create("batch");
	TCase *tc = tcase_create("select");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_no_candidates);
	tcase_add_test(tc, test_bad_args);
	tcase_add_test(tc, test_cap_zero);
	tcase_add_test(tc, test_out_cap_limits);
	tcase_add_test(tc, test_due_by_lowest_recall);
	tcase_add_test(tc, test_not_due_excluded);
	tcase_add_test(tc, test_everything_overdue);
	tcase_add_test(tc, test_one_unit_relaxes_cap);
	tcase_add_test(tc, test_cap_fills_from_capped_unit);
	tcase_add_test(tc, test_unit_cap_small_max);
	tcase_add_test(tc, test_interleaved_order);
	tcase_add_test(tc, test_new_per_day);
	tcase_add_test(tc, test_new_fill_after_due);
	tcase_add_test(tc, test_new_respects_unit_cap);
	tcase_add_test(tc, test_first_retrieval_delay);
	tcase_add_test(tc, test_untaught_reviewed_not_scheduled);
	tcase_add_test(tc, test_new_order);
	tcase_add_test(tc, test_added_after_teaching);
	tcase_add_test(tc, test_exam_priority);
	tcase_add_test(tc, test_exam_window_edges);
	tcase_add_test(tc, test_exam_ordered_by_recall_and_capped);
	tcase_add_test(tc, test_deterministic_ties);
	tcase_add_test(tc, test_review_after_today);
	tcase_add_test(tc, test_min_per_day_tops_up);
	tcase_add_test(tc, test_min_per_day_new_first);
	tcase_add_test(tc, test_early_review_grows_interval);
	tcase_add_test(tc, test_selector_reuse_grows);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	int failed;

	failed = cktest_run(batch_suite());
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
