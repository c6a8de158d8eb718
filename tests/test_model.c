/*
 * test_model.c: the school's memory model, black-box against the real
 * daemon: the weekly fit job fits the demo school (answers made from
 * known weights that forget faster than FSRS-6's defaults) on the demo
 * clock, records the fit, adopts weights that predict better, and shows
 * it all at GET /v1/school/fsrs with calibration; an admin pins weights
 * (a later fit then records but never replaces them) or goes back to the
 * defaults; bad weights, a teacher, another school: refused, nothing
 * changed; the workload simulator answers per retention.
 */
#include "autoconf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "apitest.h"
#include "cktest.h"
#include "fsrs.h"
#include "pgtest.h"
#include "sbuf.h"
#include "util.h"

#define CLOCK "2026-09-21T06:00:00Z"

static char admin[128], other[128], teacher[128];
static char conninfo[512];
static long long nreviews;

/* xorshift64*: the same answers on every run. */
static uint64_t rng = 88172645463325252ULL;

static double
uniform(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (double)((rng * 0x2545F4914F6CDD1DULL) >> 11) * 0x1.0p-53;
}

/*
 * Six months of answers of the demo school's pupils to 30 of its
 * questions, drawn from weights that forget faster than the defaults:
 * each review when the true recall falls to a random target, right with
 * the true recall. Written straight to the review table: what is tested
 * is what the fit makes of a school's answers, not how they arrived.
 */
static bool
make_answers(void)
{
	double truth[2][FSRS_NPARAMS];
	fsrs_model *m[2];
	char *pupils, *questions, *p, *q, *psave = NULL;
	struct sbuf sql = { 0 };
	char row[256];
	int rows = 0;
	const int64_t start = 1772323200;	/* 2026-03-01 */

	/*
	 * Two courses that forget alike (one w20) but learn differently: the
	 * first's memories grow slowly after each success, the second's fast.
	 */
	for (int c = 0; c < 2; c++) {
		memcpy(truth[c], fsrs_default_params(), sizeof(truth[c]));
		truth[c][0] = 0.4; truth[c][1] = 0.8; truth[c][2] = 1.2; truth[c][3] = 3.0;
		truth[c][8] = c == 0 ? 1.0 : 2.3;
		truth[c][20] = 0.35;
		if ((m[c] = fsrs_model_new(truth[c], 0.9, 36500, NULL, 0)) == NULL)
			return false;
	}
	pupils = apitest_sql("SELECT string_agg(pupil_id::text, ' ' ORDER BY pupil_id) FROM pupil"
	    " WHERE school_id = 1");
	/* 15 questions of each of the first two courses, as "course:question" */
	questions = apitest_sql("SELECT string_agg(k || ':' || question_id, ' ' ORDER BY k, question_id)"
	    " FROM (SELECT dense_rank() OVER (ORDER BY u.course_id) - 1 AS k, q.question_id,"
	    "  row_number() OVER (PARTITION BY u.course_id ORDER BY q.question_id) AS n"
	    "  FROM question q JOIN unit u USING (school_id, unit_id) WHERE q.school_id = 1) x"
	    " WHERE k < 2 AND n <= 15");
	for (p = strtok_r(pupils, " ", &psave); p != NULL; p = strtok_r(NULL, " ", &psave)) {
		char *qs = xstrdup(questions), *save = NULL;

		for (q = strtok_r(qs, " ", &save); q != NULL; q = strtok_r(NULL, " ", &save)) {
			fsrs_model *mc = m[q[0] - '0'];
			fsrs_state st = { 0 };
			int64_t day = (int64_t)(uniform() * 30);

			for (int i = 0; i < 7 && day < 200; i++) {
				uint32_t t = 0;
				double r = 0;
				int g;

				if (i > 0) {
					double target = 0.55 + 0.4 * uniform();

					while (t < 150 && fsrs_retrievability(mc, st.stability,
					    t + 1) > target)
						t++;
					t++;
					r = fsrs_retrievability(mc, st.stability, t);
					g = uniform() < r ? 3 : 1;
				} else
					g = uniform() < 0.7 ? 3 : 1;
				day += t;
				if (day >= 200)
					break;
				if (rows % 1000 == 0)
					sbuf_str(&sql, "INSERT INTO review (school_id, pupil_id,"
					    " question_id, reviewed_at, rating, correct, elapsed_days,"
					    " retrievability, stability, difficulty) VALUES ");
				snprintf(row, sizeof row, "%s(1, %s, %s, to_timestamp(%lld), %d, %s,"
				    " %u, %.6f, %.6f, 5)", rows % 1000 ? "," : "", p, q + 2,
				    (long long)(start + day * 86400 + 36000), g, g > 1 ? "true" :
				    "false", t, r, st.stability > 0 ? st.stability : 1);
				sbuf_str(&sql, row);
				fsrs_review(mc, &st, t, (fsrs_rating)g, NULL);
				if (++rows % 1000 == 0) {
					if (!apitest_sql_ok("%s", sbuf_text(&sql)))
						return false;
					sbuf_reset(&sql);
				}
			}
		}
		free(qs);
	}
	if (rows % 1000 && !apitest_sql_ok("%s", sbuf_text(&sql)))
		return false;
	sbuf_free(&sql);
	free(pupils);
	free(questions);
	nreviews = rows;
	fsrs_model_free(m[0]);
	fsrs_model_free(m[1]);
	return rows > 0;
}

static json_t *
get_fsrs(const char *token, long want)
{
	json_t *j = NULL;
	long st = apitest_json("GET", token, NULL, &j, "/v1/school/fsrs");

	ck_assert_msg(st == want, "GET /v1/school/fsrs: %ld, want %ld", st, want);
	return j;
}

static bool
fits_at_least(void *arg)
{
	return apitest_sql_int("SELECT count(*) FROM fsrs_fit WHERE school_id = 1") >=
	    *(long long *)arg;
}

START_TEST(test_fit_job_on_demo_school)
{
	json_t *j, *fit, *cal;
	long long one = 1, predictable;

	/* at start the job finds the school due and fits it in a child process */
	ck_assert_msg(apitest_wait(fits_at_least, &one, 60000), "no fit was recorded");
	ck_assert(apitest_wait_job_idle("fsrs_fit", 30000));
	/* answers on one day after another are what the fit predicts */
	predictable = apitest_sql_int("SELECT count(*) FROM review WHERE school_id = 1"
	    " AND elapsed_days > 0 AND (pupil_id, question_id, reviewed_at) NOT IN"
	    " (SELECT pupil_id, question_id, min(reviewed_at) FROM review WHERE school_id = 1"
	    " GROUP BY 1, 2)");
	j = get_fsrs(admin, 200);
	fit = NULL;
	for (size_t i = 0; i < json_array_size(json_object_get(j, "fits")); i++)
		if (json_is_null(json_object_get(json_array_get(json_object_get(j, "fits"), i),
		    "course_id")))
			fit = json_array_get(json_object_get(j, "fits"), i);
	ck_assert_ptr_nonnull(fit);
	ck_assert_int_eq(apitest_jint(fit, "reviews"), predictable);
	ck_assert_int_eq(apitest_jint(fit, "train_reviews") + apitest_jint(fit, "heldout_reviews"),
	    predictable);
	/* recorded at the demo clock's time, not the machine's */
	ck_assert_str_eq(apitest_jstr(fit, "fitted_at"), "2026-09-21T06:00:00+00:00");
	ck_assert_int_eq(json_array_size(json_object_get(fit, "weights")), 21);
	/* weights that forget faster than the defaults: the fit beats them and is used */
	ck_assert_msg(json_is_true(json_object_get(fit, "adopted")), "not adopted: %s",
	    apitest_jstr(fit, "reason"));
	ck_assert(json_number_value(json_object_get(json_object_get(fit, "fitted_heldout"),
	    "log_loss")) < json_number_value(json_object_get(json_object_get(fit,
	    "previous_heldout"), "log_loss")));
	ck_assert_str_eq(apitest_jstr(j, "source"), "fitted");
	ck_assert(json_equal(json_object_get(j, "weights"), json_object_get(fit, "weights")));
	/* the first initial stability the answers were made with is well below the default's */
	ck_assert(json_number_value(json_array_get(json_object_get(j, "weights"), 2)) < 2.0);
	/* calibration: the fit's, for the weights in use and the defaults, ten bins each */
	cal = json_object_get(json_object_get(j, "calibration"), "latest_fit");
	ck_assert_int_eq(json_array_size(json_object_get(cal, "in_use")), 10);
	ck_assert_int_eq(json_array_size(json_object_get(cal, "default")), 10);
	ck_assert(json_is_array(json_object_get(json_object_get(j, "calibration"),
	    "as_scheduled")));
	/*
	 * Each course has answers enough of its own: fitted too, from the
	 * school's weights with the school's forgetting curve (w20) held;
	 * courses that learn this differently get weights of their own.
	 */
	ck_assert_int_eq(apitest_sql_int("SELECT count(DISTINCT course_id) FROM fsrs_fit"
	    " WHERE school_id = 1 AND course_id IS NOT NULL"), 2);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM fsrs_fit f, school_fsrs s"
	    " WHERE f.school_id = 1 AND s.school_id = 1 AND f.course_id IS NOT NULL"
	    " AND f.weights[21] = s.weights[21]"), 2);
	ck_assert_int_eq(json_array_size(json_object_get(j, "courses")), 2);
	ck_assert(json_number_value(json_array_get(json_object_get(json_array_get(
	    json_object_get(j, "courses"), 0), "weights"), 8)) < json_number_value(
	    json_array_get(json_object_get(json_array_get(json_object_get(j, "courses"), 1),
	    "weights"), 8)));
	/* the next fit is a week later on the school's clock */
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM school_fsrs WHERE school_id = 1"
	    " AND fit_due = '2026-09-28T06:00:00Z'"), 1);
	/* schools without answers: looked at, nothing to fit, nothing recorded */
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM fsrs_fit WHERE school_id <> 1"), 0);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM school_fsrs WHERE school_id = 2"
	    " AND fit_due = '2026-09-28T06:00:00Z'"), 1);
	/* every job now schedules with the school's own weights */
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM school_fsrs WHERE school_id = 1"
	    " AND weights IS NOT NULL"), 1);
	json_decref(j);
}
END_TEST

START_TEST(test_pin_and_defaults)
{
	const char *w = "[0.3,0.7,1.1,2.9,6.4133,0.8334,3.0194,0.001,1.3,0.1666,0.796,1.4835,"
	    "0.0614,0.2629,1.6483,0.6014,1.8729,0.5425,0.0912,0.0658,0.35]";
	char body[512];
	json_t *j = NULL, *before;
	long long fits, two;
	long st;

	/* refusals first: nothing may change */
	before = get_fsrs(admin, 200);
	st = apitest_json("PUT", admin, "{\"weights\": [1, 2, 3]}", &j, "/v1/school/fsrs");
	ck_assert_int_eq(st, 422);
	ck_assert(apitest_field_error(j, "weights"));
	json_decref(j);
	st = apitest_json("PUT", admin, "{\"weights\": [0.3,0.7,1.1,2.9,6.4133,0.8334,3.0194,"
	    "0.001,1.3,0.1666,0.796,1.4835,0.0614,0.2629,1.6483,0.6014,1.8729,0.5425,0.0912,"
	    "0.0658,5]}", &j, "/v1/school/fsrs");
	ck_assert_int_eq(st, 422);	/* w20 outside its range */
	ck_assert(apitest_field_error(j, "weights"));
	json_decref(j);
	st = apitest_json("PUT", admin, "{\"weights\": \"fast\", \"pinned\": 1}", &j,
	    "/v1/school/fsrs");
	ck_assert_int_eq(st, 422);
	ck_assert(apitest_field_error(j, "weights") && apitest_field_error(j, "pinned"));
	json_decref(j);
	st = apitest_json("PUT", admin, "{\"speed\": 2}", &j, "/v1/school/fsrs");
	ck_assert_int_eq(st, 422);
	json_decref(j);
	snprintf(body, sizeof body, "{\"weights\": %s}", w);
	st = apitest_json("PUT", teacher, body, &j, "/v1/school/fsrs");
	ck_assert_int_eq(st, 403);
	json_decref(j);
	ck_assert_int_eq(apitest_json("GET", teacher, NULL, &j, "/v1/school/fsrs/simulate"), 403);
	json_decref(j);
	j = get_fsrs(admin, 200);
	ck_assert(json_equal(json_object_get(j, "weights"), json_object_get(before, "weights")));
	json_decref(j);
	json_decref(before);
	/* another school's admin sees its own model: defaults, no fits */
	j = get_fsrs(other, 200);
	ck_assert_str_eq(apitest_jstr(j, "source"), "default");
	ck_assert_int_eq(json_array_size(json_object_get(j, "fits")), 0);
	json_decref(j);

	/* pinned by hand: the courses' weights, fitted beside the old ones, go */
	st = apitest_json("PUT", admin, body, &j, "/v1/school/fsrs");
	ck_assert_int_eq(st, 200);
	ck_assert_str_eq(apitest_jstr(j, "source"), "pinned");
	ck_assert_int_eq(json_array_size(json_object_get(j, "courses")), 0);
	ck_assert(json_is_true(json_object_get(j, "pinned")));
	ck_assert(fabs(json_number_value(json_array_get(json_object_get(j, "weights"), 20)) -
	    0.35) < 1e-12);
	json_decref(j);
	/* a fit now: recorded, never adopted while pinned */
	fits = apitest_sql_int("SELECT count(*) FROM fsrs_fit WHERE school_id = 1");
	ck_assert_int_eq(apitest_json("POST", admin, "{}", &j, "/v1/school/fsrs/fit"), 202);
	json_decref(j);
	two = fits + 1;
	ck_assert_msg(apitest_wait(fits_at_least, &two, 60000), "the asked-for fit never came");
	ck_assert(apitest_wait_job_idle("fsrs_fit", 30000));
	j = get_fsrs(admin, 200);
	ck_assert_str_eq(apitest_jstr(j, "source"), "pinned");
	ck_assert(fabs(json_number_value(json_array_get(json_object_get(j, "weights"), 20)) -
	    0.35) < 1e-12);
	/* the new fits (the school's and each course's): none adopted */
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM fsrs_fit WHERE school_id = 1"
	    " AND fit_id > (SELECT max(fit_id) FROM fsrs_fit WHERE school_id = 1) - 3 AND adopted"), 0);
	ck_assert_int_eq(json_array_size(json_object_get(j, "courses")), 0);
	{
		json_t *school_fit = NULL;

		for (size_t i = json_array_size(json_object_get(j, "fits")); i-- > 0;)
			if (json_is_null(json_object_get(json_array_get(json_object_get(j, "fits"),
			    i), "course_id")))
				school_fit = json_array_get(json_object_get(j, "fits"), i);
		ck_assert_ptr_nonnull(school_fit);
		ck_assert(json_is_false(json_object_get(school_fit, "adopted")));
		ck_assert_ptr_nonnull(strstr(apitest_jstr(school_fit, "reason"), "pinned"));
	}
	json_decref(j);
	/* back to FSRS-6's defaults */
	st = apitest_json("PUT", admin, "{\"weights\": null}", &j, "/v1/school/fsrs");
	ck_assert_int_eq(st, 200);
	ck_assert_str_eq(apitest_jstr(j, "source"), "default");
	ck_assert(json_is_false(json_object_get(j, "pinned")));
	ck_assert(fabs(json_number_value(json_array_get(json_object_get(j, "weights"), 0)) -
	    fsrs_default_params()[0]) < 1e-12);
	json_decref(j);
}
END_TEST

START_TEST(test_simulator)
{
	json_t *j = NULL, *rows;
	double first, last;

	ck_assert_int_eq(apitest_json("GET", admin, NULL, &j, "/v1/school/fsrs/simulate"), 200);
	rows = json_object_get(j, "rows");
	ck_assert_int_eq(json_array_size(rows), 9);
	first = json_number_value(json_object_get(json_array_get(rows, 0), "prompts_per_day"));
	last = json_number_value(json_object_get(json_array_get(rows, 8), "prompts_per_day"));
	/* a higher retention costs more prompts a day, within the school's cap */
	ck_assert_msg(first < last, "0.75: %g prompts a day, 0.97: %g", first, last);
	ck_assert(last <= apitest_jint(j, "max_per_day") + 1e-9);
	json_decref(j);
	ck_assert_int_eq(apitest_json("GET", admin, NULL, &j,
	    "/v1/school/fsrs/simulate?retention=0.9"), 200);
	ck_assert_int_eq(json_array_size(json_object_get(j, "rows")), 1);
	json_decref(j);
	ck_assert_int_eq(apitest_json("GET", admin, NULL, &j,
	    "/v1/school/fsrs/simulate?retention=2"), 422);
	ck_assert(apitest_field_error(j, "retention"));
	json_decref(j);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("model");
	TCase *tc = tcase_create("model");
	int failed;

	snprintf(conninfo, sizeof conninfo, "%s", pgtest_start());
	apitest_env(conninfo, "5s");
	setenv("RECALLD_CLOCK_MODE", "manual", 1);
	setenv("RECALLD_CLOCK_START", CLOCK, 1);
	setenv("RECALLD_FSRS_MIN_REVIEWS_TO_FIT", "500", 1);
	CKTEST_MUST(apitest_two_schools("A", "B", admin, other, sizeof admin));
	CKTEST_MUST(apitest_import_demo(true));
	apitest_db_open(conninfo);
	CKTEST_MUST(make_answers());
	CKTEST_MUST(apitest_teacher_token(teacher, sizeof teacher,
	    "SELECT min(teacher_id)::text FROM teacher WHERE school_id = 1"));
	if (!apitest_daemon_start()) {
		apitest_daemon_dump_log();
		return EXIT_FAILURE;
	}
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_fit_job_on_demo_school);
	tcase_add_test(tc, test_pin_and_defaults);
	tcase_add_test(tc, test_simulator);
	suite_add_tcase(s, tc);
	failed = cktest_run_nofork(s);
	return apitest_finish(failed);
}
