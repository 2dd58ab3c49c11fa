/* run_suite.h: runs a Check suite; every test program's main ends with it. */
#ifndef TEST_RUN_SUITE_H
#define TEST_RUN_SUITE_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* ADD: adds a test unless $TEST_ONLY names another one. */
#define ADD(tc, t)                                       \
	do {                                             \
		const char *only_ = getenv("TEST_ONLY"); \
		if (!only_ || !strcmp(only_, #t))        \
			tcase_add_test((tc), t);         \
	} while (0)

/* run_suite: runs suite (and frees it) and returns the number of failed tests. */
static inline int run_suite(Suite *suite)
{
	SRunner *sr = srunner_create(suite);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed;
}

#endif
