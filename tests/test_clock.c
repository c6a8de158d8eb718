/* test_clock.c: ISO parsing and the manual clock. */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "cktest.h"

#include "clock.h"

START_TEST(test_parse)
{
	int64_t us;
	char buf[40];

	ck_assert(clock_parse_iso("2026-09-07T06:00:00Z", &us));
	ck_assert_int_eq(us, INT64_C(1788760800) * 1000000);
	ck_assert(clock_parse_iso("2026-09-07T07:00:00+01:00", &us));
	ck_assert_int_eq(us, INT64_C(1788760800) * 1000000);
	ck_assert(clock_parse_iso("2026-09-07T06:00:00.25Z", &us));
	ck_assert_int_eq(us % 1000000, 250000);
	ck_assert(clock_parse_iso("1788760800", &us));
	ck_assert_int_eq(us, INT64_C(1788760800) * 1000000);
	clock_format_iso(INT64_C(1788760800) * 1000000 + 5, buf, sizeof buf);
	ck_assert_str_eq(buf, "2026-09-07T06:00:00.000005Z");
	ck_assert(!clock_parse_iso("2026-02-31T00:00:00Z", &us));
	ck_assert(!clock_parse_iso("2026-09-07 6:00", &us));
	ck_assert(!clock_parse_iso("2026-09-07T06:00:00", &us));	/* no zone: ambiguous */
	ck_assert(!clock_parse_iso("", &us));
	ck_assert(!clock_parse_iso("2026-13-01T00:00:00Z", &us));
}
END_TEST

static int calls;

static void
changed(void *arg)
{
	calls += *(int *)arg;
}

START_TEST(test_manual)
{
	int one = 1;

	ck_assert(!clock_is_manual());
	ck_assert(!clock_set(1));	/* system time is not set */
	clock_set_manual(INT64_C(1000) * 1000000);
	clock_subscribe(changed, &one);
	ck_assert(clock_is_manual());
	ck_assert_int_eq(clock_now_us(), INT64_C(1000) * 1000000);
	ck_assert(clock_set(INT64_C(2000) * 1000000));
	ck_assert_int_eq(clock_now_us(), INT64_C(2000) * 1000000);
	ck_assert_int_eq(calls, 1);
	ck_assert(!clock_set(INT64_C(1500) * 1000000));	/* never backwards */
	ck_assert_int_eq(calls, 1);
	clock_unsubscribe_all();
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("clock");
	TCase *tc = tcase_create("clock");
	int failed;

	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_manual);
	suite_add_tcase(s, tc);
	failed = cktest_run_nofork(s);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
