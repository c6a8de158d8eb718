/*
 * test_answers.c: answers in, over real HTTP against the real daemon on
 * the manual clock: grading, FSRS state and review written once, repeats
 * answered with the first result, 404/410/422 changing nothing, concurrent
 * answers through the group commit, the answer page, and SIGKILL losing
 * no answer that got its 200.
 */
#include "autoconf.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "apitest.h"
#include "cktest.h"
#include "pgtest.h"
#include "util.h"

static char admin[128], other[128];
static char conninfo[512];

static long
post_answer(const char *token, long long prompt, const char *answer_json, json_t **body)
{
	char buf[256];

	snprintf(buf, sizeof buf, "{\"prompt_id\": %lld, %s}", prompt, answer_json);
	return apitest_json("POST", token, buf, body, "/v1/responses");
}



/* The mcq prompt number n (0-based) of Monday's batches, and its right index. */
static long long
mcq_prompt(int n, int *right)
{
	long long id = apitest_sql_int("SELECT p.prompt_id FROM prompt p JOIN question q USING"
	    " (school_id, question_id) WHERE p.school_id = 1 AND q.kind = 'mcq' AND p.answered_at IS NULL"
	    " ORDER BY p.prompt_id OFFSET %d LIMIT 1", n);
	*right = (int)apitest_sql_int("SELECT q.correct_choice FROM prompt p JOIN question q USING"
	    " (school_id, question_id) WHERE p.school_id = 1 AND p.prompt_id = %lld", id);
	return id;
}

START_TEST(test_right_then_repeat)
{
	int right;
	long long p = mcq_prompt(0, &right);
	long long reviews = apitest_sql_int("SELECT count(*) FROM review");
	char ans[64];
	json_t *b = NULL, *b2 = NULL;

	snprintf(ans, sizeof ans, "\"answer\": %d, \"latency_ms\": 4000", right);
	ck_assert_int_eq(post_answer(admin, p, ans, &b), 200);
	ck_assert(json_is_true(json_object_get(b, "correct")));
	ck_assert_int_eq(json_integer_value(json_object_get(b, "rating")), 3);
	ck_assert(json_is_string(json_object_get(b, "correct_answer")));
	ck_assert(json_is_string(json_object_get(b, "level")));
	ck_assert(json_is_string(json_object_get(b, "next_level_needs")));
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM review"), reviews + 1);
	ck_assert_int_eq(apitest_sql_int("SELECT m.reps FROM memory_state m JOIN prompt p USING"
	    " (school_id, pupil_id, question_id) WHERE p.prompt_id = %lld", p), 1);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM delivery WHERE event_type ="
	    " 'response.feedback' AND payload::jsonb #>> '{data,feedback,prompt_id}' = '%lld'", p), 1);
	/* the same prompt again, even with another answer: the first result, no review */
	snprintf(ans, sizeof ans, "\"answer\": %d", (right + 1) % 3);
	ck_assert_int_eq(post_answer(admin, p, ans, &b2), 200);
	ck_assert(json_equal(b, b2));
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM review"), reviews + 1);
	json_decref(b);
	json_decref(b2);
}
END_TEST

START_TEST(test_wrong_is_again)
{
	int right;
	long long p = mcq_prompt(0, &right);
	char ans[64];
	json_t *b = NULL;

	snprintf(ans, sizeof ans, "\"answer\": %d", right == 0 ? 1 : 0);
	ck_assert_int_eq(post_answer(admin, p, ans, &b), 200);
	ck_assert(json_is_false(json_object_get(b, "correct")));
	ck_assert_int_eq(json_integer_value(json_object_get(b, "rating")), 1);
	ck_assert_int_eq(apitest_sql_int("SELECT rating FROM review WHERE prompt_id = %lld", p), 1);
	json_decref(b);
}
END_TEST

START_TEST(test_refusals_change_nothing)
{
	int right;
	long long p = mcq_prompt(0, &right);
	long long reviews = apitest_sql_int("SELECT count(*) FROM review");
	char *before = apitest_sql("SELECT md5(string_agg(m::text, ',' ORDER BY m::text)) FROM memory_state m");

	ck_assert_int_eq(post_answer(admin, 99999999, "\"answer\": 0", NULL), 404);
	ck_assert_int_eq(post_answer(other, p, "\"answer\": 0", NULL), 404);	/* another school's prompt */
	ck_assert_int_eq(post_answer(admin, p, "\"answer\": 17", NULL), 422);	/* no such choice */
	ck_assert_int_eq(post_answer(admin, p, "\"answer\": \"not one of them\"", NULL), 422);
	ck_assert_int_eq(post_answer(admin, p, "\"answer\": 0, \"rating\": 3", NULL), 422);
	ck_assert_int_eq(post_answer(admin, p, "\"rating\": 3", NULL), 422);	/* mcq is graded here */
	ck_assert_int_eq(post_answer(admin, p, "\"answer\": [1]", NULL), 422);
	ck_assert_int_eq(post_answer(admin, p, "\"answer\": 0, \"answered_at\": \"2030-01-01T00:00:00Z\"", NULL), 422);
	ck_assert_int_eq(post_answer(admin, p, "\"answer\": 0, \"colour\": 1", NULL), 422);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM review"), reviews);
	{
		char *after = apitest_sql("SELECT md5(string_agg(m::text, ',' ORDER BY m::text)) FROM memory_state m");
		ck_assert_str_eq(before, after);
		free(after);
	}
	free(before);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM prompt WHERE prompt_id = %lld"
	    " AND answered_at IS NULL", p), 1);
}
END_TEST

/* Many answers at once share transactions and all land, each once. */
START_TEST(test_concurrent_answers)
{
	enum { KIDS = 4, EACH = 10 };
	long long reviews = apitest_sql_int("SELECT count(*) FROM review");
	long long ids[KIDS * EACH];
	const char *how[KIDS * EACH];
	pid_t pids[KIDS];
	int failures = 0;

	for (int i = 0; i < KIDS * EACH; i++) {
		ids[i] = apitest_sql_int("SELECT prompt_id FROM prompt WHERE school_id = 1 AND"
		    " answered_at IS NULL ORDER BY prompt_id OFFSET %d LIMIT 1", i);
		how[i] = apitest_sql_int("SELECT (q.kind = 'mcq')::int FROM prompt p JOIN question q"
		    " USING (school_id, question_id) WHERE p.prompt_id = %lld", ids[i]) ?
		    "\"answer\": 1" : "\"answer\": \"no idea\"";
	}
	for (int k = 0; k < KIDS; k++) {
		fflush(NULL);
		pids[k] = fork();
		ck_assert(pids[k] >= 0);
		if (pids[k] == 0) {
			int bad = 0;

			apitest_http_reset();
			/*
			 * Each child posts its share, and one of another child's too;
			 * between them another school's token posts the same prompts,
			 * so groups gather two schools' answers (one transaction each).
			 */
			for (int i = 0; i < EACH; i++) {
				json_t *b = NULL;
				long st;

				if (post_answer(other, ids[k * EACH + i], how[k * EACH + i], NULL) != 404)
					bad++;
				st = post_answer(admin, ids[k * EACH + i], how[k * EACH + i], &b);
				if (st != 200) {
					char *d = json_dumps(b, 0);
					fprintf(stderr, "child %d: prompt %lld: %ld %s\n", k, ids[k * EACH + i], st, d ? d : "");
					free(d);
					bad++;
				}
				json_decref(b);
			}
			if (post_answer(admin, ids[((k + 1) % KIDS) * EACH], how[((k + 1) % KIDS) * EACH],
			    NULL) != 200)
				bad++;
			_exit(bad == 0 ? 0 : 1);
		}
	}
	for (int k = 0; k < KIDS; k++) {	/* all of them, before any assertion */
		int st;
		if (waitpid(pids[k], &st, 0) != pids[k] || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failures++;
	}
	ck_assert_int_eq(failures, 0);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM review"), reviews + KIDS * EACH);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM (SELECT prompt_id FROM review"
	    " GROUP BY prompt_id HAVING count(*) > 1) x"), 0);
}
END_TEST

START_TEST(test_answer_page)
{
	static const char pick[] = " FROM delivery d JOIN prompt p ON p.school_id = d.school_id"
	    "  AND p.prompt_id = (d.payload::jsonb #>> '{data,prompts,0,prompt_id}')::bigint"
	    " WHERE d.event_type = 'prompt.batch' AND p.answered_at IS NULL ORDER BY d.delivery_id LIMIT 1";
	char *url = apitest_sql("SELECT d.payload::jsonb #>> '{data,prompts,0,answer_url}'%s", pick);
	long long prompt = apitest_sql_int("SELECT p.prompt_id%s", pick);
	const char *path;
	long status = 0;
	char *raw = NULL;

	ck_assert(url != NULL && strstr(url, "/a/") != NULL);
	path = strstr(url, "/a/");
	json_decref(api_call("GET", path, NULL, NULL, NULL, &status, &raw, NULL));
	ck_assert_int_eq(status, 200);
	ck_assert(strstr(raw, "<form") != NULL);
	free(raw);
	raw = NULL;
	json_decref(api_call("POST", path, NULL, "application/x-www-form-urlencoded",
	    apitest_sql_int("SELECT (q.kind = 'mcq')::int FROM prompt p JOIN question q"
	    " USING (school_id, question_id) WHERE p.prompt_id = %lld", prompt) ?
	    "choice=0&t=1" : "answer=nucleus&t=1", &status, &raw, NULL));
	ck_assert_int_eq(status, 200);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM review WHERE prompt_id = %lld", prompt), 1);
	free(raw);
	raw = NULL;
	/* a tampered link is not a prompt */
	url[strlen(url) - 2] = url[strlen(url) - 2] == 'A' ? 'B' : 'A';
	json_decref(api_call("GET", strstr(url, "/a/"), NULL, NULL, NULL, &status, &raw, NULL));
	ck_assert_int_eq(status, 404);
	free(raw);
	free(url);
}
END_TEST

/* Every answer that got its 200 survives a SIGKILL of the daemon. */
START_TEST(test_sigkill_loses_nothing)
{
	long long before = apitest_sql_int("SELECT count(*) FROM review");
	int ok = 0;

	for (int i = 0; i < 15; i++) {
		long long p = apitest_sql_int("SELECT prompt_id FROM prompt WHERE school_id = 1 AND"
		    " answered_at IS NULL ORDER BY prompt_id LIMIT 1");
		if (post_answer(admin, p, apitest_sql_int("SELECT (q.kind = 'mcq')::int FROM prompt p"
		    " JOIN question q USING (school_id, question_id) WHERE p.prompt_id = %lld", p) ?
		    "\"answer\": 0" : "\"answer\": \"no idea\"", NULL) == 200)
			ok++;
	}
	apitest_daemon_kill9();
	ck_assert(apitest_daemon_start());
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM review"), before + ok);
	ck_assert_int_eq(ok, 15);
}
END_TEST

/*
 * Without responses.link_key, the key signing answer links is the
 * database's, sealed under the key file: a link sent before the restart
 * above still opens, and the stored key is sealed text, not the key.
 */
START_TEST(test_link_survives_restart)
{
	char *url = apitest_sql("SELECT d.payload::jsonb #>> '{data,prompts,0,answer_url}'"
	    " FROM delivery d JOIN prompt p ON p.school_id = d.school_id"
	    "  AND p.prompt_id = (d.payload::jsonb #>> '{data,prompts,0,prompt_id}')::bigint"
	    " WHERE d.event_type = 'prompt.batch' AND p.answered_at IS NULL"
	    " ORDER BY d.delivery_id LIMIT 1");
	char *kid = apitest_sql("SELECT split_part(sealed, ':', 2) FROM link_key");
	long status = 0;
	char *raw = NULL;

	ck_assert(url != NULL && strstr(url, "/a/") != NULL);
	json_decref(api_call("GET", strstr(url, "/a/"), NULL, NULL, NULL, &status, &raw, NULL));
	ck_assert_int_eq(status, 200);
	ck_assert(strstr(raw, "<form") != NULL);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM link_key WHERE sealed LIKE 'enc1:%%'"
	    " AND previous_sealed IS NULL"), 1);
	ck_assert_int_eq(strlen(kid), 8);
	free(kid);
	free(raw);
	raw = NULL;

	/* a new key (after a leak, say): links already sent still open after the restart */
	{
		char *before = apitest_sql("SELECT sealed FROM link_key"), *out = NULL;

		ck_assert_int_eq(apitest_recalld(&out, "keys", "new-link-key", (char *)NULL), 0);
		free(out);
		ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM link_key WHERE"
		    " previous_sealed = '%s' AND sealed <> previous_sealed", before), 1);
		free(before);
		ck_assert_int_eq(apitest_daemon_stop(), 0);
		ck_assert(apitest_daemon_start());
		json_decref(api_call("GET", strstr(url, "/a/"), NULL, NULL, NULL, &status, &raw, NULL));
		ck_assert_int_eq(status, 200);
		free(raw);
	}
	free(url);
}
END_TEST

struct retry {
	long long prompt;
	const char *answer;
	long status;
};

static bool
answered(void *arg)
{
	struct retry *r = arg;

	return (r->status = post_answer(admin, r->prompt, r->answer, NULL)) != 503;
}

/*
 * PostgreSQL down: an answer is refused with 503 problem+json and leaves
 * nothing; once it is back, the same answer goes in, once.
 */
START_TEST(test_database_down)
{
	int right;
	long long p = mcq_prompt(0, &right);
	long long before = apitest_sql_int("SELECT count(*) FROM review");
	char ans[64];
	json_t *b = NULL;
	long st;

	snprintf(ans, sizeof ans, "\"answer\": %d", right);
	apitest_db_close();
	pgtest_stop();
	st = post_answer(admin, p, ans, &b);
	ck_assert_int_eq(st, 503);
	ck_assert_str_eq(json_string_value(json_object_get(b, "type")),
	    "/problems/database-unavailable");
	json_decref(b);
	pgtest_resume();
	apitest_db_open(conninfo);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM review"), before);
	/* the pool reconnects with backoff (at most 2 s between tries) */
	{
		struct retry r = { p, ans, 0 };

		apitest_wait(answered, &r, 10000);
		ck_assert_int_eq(r.status, 200);
	}
	ck_assert_int_eq(post_answer(admin, p, ans, NULL), 200);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM review"), before + 1);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM review WHERE prompt_id = %lld", p), 1);
}
END_TEST

/* Past the end of its day and the late limit, a prompt answers 410. */
START_TEST(test_expired)
{
	long long p = apitest_sql_int("SELECT prompt_id FROM prompt WHERE school_id = 1 AND"
	    " answered_at IS NULL ORDER BY prompt_id LIMIT 1");
	long long reviews = apitest_sql_int("SELECT count(*) FROM review");

	ck_assert(apitest_set_clock(admin, "2026-09-22T06:00:00Z"));	/* Monday's prompts ended 23:00Z, +6 h late limit */
	ck_assert_int_eq(post_answer(admin, p, "\"correct\": true", NULL), 410);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM review"), reviews);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("answers");
	TCase *tc = tcase_create("answers");
	int failed;

	snprintf(conninfo, sizeof conninfo, "%s", pgtest_start());
	apitest_env(conninfo, "5s");
	/* no responses.link_key: links are signed with the database's sealed key (sql/0028) */
	CKTEST_MUST(apitest_demo_answering(conninfo, admin, other, sizeof admin));
	if (!apitest_daemon_start()) {
		apitest_daemon_dump_log();
		return EXIT_FAILURE;
	}
	CKTEST_MUST(apitest_set_clock(admin, "2026-09-21T15:30:00Z"));	/* Monday 16:30 in London: batches */
	CKTEST_MUST(apitest_wait_sql(60, 10000, "SELECT count(*) FROM batch"));

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_right_then_repeat);
	tcase_add_test(tc, test_wrong_is_again);
	tcase_add_test(tc, test_refusals_change_nothing);
	tcase_add_test(tc, test_concurrent_answers);
	tcase_add_test(tc, test_answer_page);
	tcase_add_test(tc, test_sigkill_loses_nothing);
	tcase_add_test(tc, test_link_survives_restart);
	tcase_add_test(tc, test_database_down);
	tcase_add_test(tc, test_expired);
	suite_add_tcase(s, tc);
	failed = cktest_run_nofork(s);
	return apitest_finish(failed);
}
