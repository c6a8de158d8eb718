/*
 * test_failover.c: a primary with a synchronous streaming standby, the
 * daemon given both hosts (target_session_attrs=read-write), answers
 * posted by several clients while the primary is lost (immediate stop)
 * and the standby promoted. /readyz comes back within 10 s of the
 * promotion, requests in the gap are refused (503) rather than left
 * hanging, and every answer that got its 200 is on the new primary,
 * exactly once, the clients' retries of refused answers included.
 */
#include "autoconf.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "apitest.h"
#include "cktest.h"
#include "pgtest.h"
#include "util.h"

enum { KIDS = 3, EACH = 40 };

static char admin[128], other[128];

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long
post_answer(long long prompt, const char *how)
{
	char buf[256];

	snprintf(buf, sizeof buf, "{\"prompt_id\": %lld, %s}", prompt, how);
	return apitest_json("POST", admin, buf, NULL, "/v1/responses");
}

/*
 * One client: answers its prompts in order, each retried after a refusal
 * until it is acknowledged, and writes the acknowledged ones to fd, with
 * the longest wait of a refused request.
 */
static int
client(int fd, const long long *ids, const char *const *how, int n)
{
	long long worst = 0;
	int refused = 0;

	apitest_http_reset();
	for (int i = 0; i < n; i++) {
		long long deadline = now_ms() + 60000;

		for (;;) {
			long long t0 = now_ms();
			long st = post_answer(ids[i], how[i]);

			if (st == 200)
				break;
			if (now_ms() - t0 > worst)
				worst = now_ms() - t0;
			refused++;
			if (st != 503 && st != 0)
				return 2;	/* neither served nor unavailable */
			if (now_ms() > deadline)
				return 3;
			usleep(100 * 1000);
		}
		dprintf(fd, "ack %lld\n", ids[i]);
		usleep(20 * 1000);	/* spread the answers over the failover */
	}
	dprintf(fd, "refused %d worst_ms %lld\n", refused, worst);
	return 0;
}

START_TEST(test_failover_loses_no_answer)
{
	long long ids[KIDS * EACH];
	const char *how[KIDS * EACH];
	pid_t pids[KIDS];
	int fds[2], failures = 0, acked = 0, refused = 0;
	long long worst = 0, promoted, ready_after = -1;
	char line[128];
	FILE *in;

	for (int i = 0; i < KIDS * EACH; i++) {
		ids[i] = apitest_sql_int("SELECT prompt_id FROM prompt WHERE school_id = 1 AND"
		    " answered_at IS NULL ORDER BY prompt_id OFFSET %d LIMIT 1", i);
		ck_assert_int_gt(ids[i], 0);
		how[i] = apitest_sql_int("SELECT (q.kind = 'mcq')::int FROM prompt p JOIN question q"
		    " USING (school_id, question_id) WHERE p.prompt_id = %lld", ids[i]) ?
		    "\"answer\": 1" : "\"answer\": \"no idea\"";
	}
	apitest_db_close();	/* the primary is about to go */
	ck_assert_int_eq(pipe(fds), 0);
	for (int k = 0; k < KIDS; k++) {
		fflush(NULL);
		pids[k] = fork();
		ck_assert(pids[k] >= 0);
		if (pids[k] == 0) {
			close(fds[0]);
			_exit(client(fds[1], ids + k * EACH, how + k * EACH, EACH));
		}
	}
	close(fds[1]);
	usleep(400 * 1000);	/* answers are flowing */
	ck_assert(pgtest_crash());
	usleep(300 * 1000);	/* the gap: clients are refused meanwhile */
	ck_assert(pgtest_promote());
	promoted = now_ms();
	while (now_ms() - promoted < 30000) {
		long st;
		json_t *j = api_call("GET", "/readyz", NULL, NULL, NULL, &st, NULL, NULL);

		json_decref(j);
		if (st == 200) {
			ready_after = now_ms() - promoted;
			break;
		}
		usleep(50 * 1000);
	}
	in = fdopen(fds[0], "r");
	while (fgets(line, sizeof line, in) != NULL) {
		int r;
		long long w;

		if (strncmp(line, "ack ", 4) == 0)
			acked++;
		else if (sscanf(line, "refused %d worst_ms %lld", &r, &w) == 2) {
			refused += r;
			worst = w > worst ? w : worst;
		}
	}
	fclose(in);
	for (int k = 0; k < KIDS; k++) {
		int st;

		if (waitpid(pids[k], &st, 0) != pids[k] || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failures++;
	}
	fprintf(stderr, "failover: /readyz 200 %lld ms after promotion; %d answers acknowledged,"
	    " %d requests refused in the gap, the slowest refusal took %lld ms\n",
	    ready_after, acked, refused, worst);
	ck_assert_int_eq(failures, 0);
	ck_assert_int_ge(ready_after, 0);
	ck_assert_int_le(ready_after, 10000);
	ck_assert_int_eq(acked, KIDS * EACH);
	ck_assert_int_gt(refused, 0);	/* the failover did happen under the clients */
	/* Every acknowledged answer is on the new primary, exactly once. */
	apitest_db_open(pgtest_both());
	ck_assert_int_eq(apitest_sql_int("SELECT (NOT pg_is_in_recovery())::int"), 1);
	{
		char *list = xstrdup("");

		for (int i = 0; i < KIDS * EACH; i++) {
			char *s = xasprintf("%s%s%lld", list, i ? "," : "", ids[i]);

			free(list);
			list = s;
		}
		ck_assert_int_eq(apitest_sql_int("SELECT count(DISTINCT prompt_id) FROM review"
		    " WHERE school_id = 1 AND prompt_id IN (%s)", list), KIDS * EACH);
		ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM review"
		    " WHERE school_id = 1 AND prompt_id IN (%s)", list), KIDS * EACH);
		ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM prompt WHERE school_id = 1"
		    " AND answered_at IS NOT NULL AND prompt_id IN (%s)", list), KIDS * EACH);
		free(list);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("failover");
	TCase *tc = tcase_create("failover");

	/* Commits must wait for the standby: no test-speed shortcuts here. */
	setenv("PG_DURABLE", "1", 1);
	pgtest_start();
	pgtest_standby();
	apitest_env(pgtest_both(), "5s");
	setenv("RECALLD_CLOCK_MODE", "manual", 1);
	setenv("RECALLD_CLOCK_START", "2026-09-21T06:00:00Z", 1);
	setenv("RECALLD_DATABASE_CONNECT_TIMEOUT", "2s", 1);
	CKTEST_MUST(apitest_two_schools("A", "B", admin, other, sizeof admin));
	CKTEST_MUST(apitest_import_demo(true));
	apitest_db_open(pgtest_both());
	CKTEST_MUST(apitest_teach_demo_cells());
	if (!apitest_daemon_start()) {
		apitest_daemon_dump_log();
		return EXIT_FAILURE;
	}
	CKTEST_MUST(apitest_set_clock(admin, "2026-09-21T15:30:00Z"));	/* Monday 16:30 in London */
	CKTEST_MUST(apitest_wait_sql(KIDS * EACH, 20000, "SELECT count(*) FROM prompt"));

	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_failover_loses_no_answer);
	suite_add_tcase(s, tc);
	return apitest_finish(cktest_run(s));	/* the standby goes with pgtest too */
}
