/*
 * cktest.h: running a Check suite in this process (no fork), as the
 * black-box suites must: one daemon, one database and one HTTP connection
 * serve all their tests. Returns how many tests failed.
 */
#ifndef RECALLD_CKTEST_H
#define RECALLD_CKTEST_H

#include <check.h>

static inline int
cktest_run_nofork(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed;
}

#endif
