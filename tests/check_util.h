/* check_util.h: shorthands shared by the unit test files. */
#ifndef TEST_CHECK_UTIL_H
#define TEST_CHECK_UTIL_H

#include <check.h>

#include "harness.h"
#include "run_suite.h"

/* EXPECT_OK: req from s succeeds at once with the JSON result expect. */
#define EXPECT_OK(s, req, expect)                                                                  \
	do {                                                                                       \
		json_t *r_ = h_call((s), (req));                                                   \
		char *got_ = json_dumps(json_object_get(r_, "result"), JSON_ENCODE_ANY);           \
		ck_assert_msg(h_same(r_, (expect)), "%s: got %s, want %s", (req), got_, (expect)); \
		free(got_);                                                                        \
	} while (0)

/* EXPECT_ERR: req from s fails at once with the wire error code. */
#define EXPECT_ERR(s, req, code) ck_assert_str_eq(h_code(h_call((s), (req))), (code))

#endif
