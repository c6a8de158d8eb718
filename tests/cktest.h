/*
 * cktest.h: what the suites share around Check: set-up steps that run in
 * main(), outside any test, and running the suite (forked, or in this
 * process as the black-box suites must).
 */
#ifndef RECALLD_CKTEST_H
#define RECALLD_CKTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

/* A set-up step that fails ends main() loudly: "test_x: set-up failed: step". */
#define CKTEST_MUST(x) do { if (!(x)) { cktest_setup_failed(__FILE__, #x); \
	return EXIT_FAILURE; } } while (0)

static inline void
cktest_setup_failed(const char *file, const char *step)
{
	const char *base = strrchr(file, '/');

	base = base != NULL ? base + 1 : file;
	fprintf(stderr, "%.*s: set-up failed: %s\n", (int)strcspn(base, "."), base, step);
}

/* Run the suite, each test in a child of its own; returns how many failed. */
static inline int
cktest_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed;
}

/*
 * The same without forking, as the black-box suites must: one daemon,
 * one database and one HTTP connection serve all their tests.
 */
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
