/* test_dispatch.c: the envelope, malformed input, batches and the admin ops. */
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "dispatch.h"
#include "wait.h"

static session *a;

static void setup(void)
{
	h_setup();
	a = h_session();
}

START_TEST(malformed_requests_get_clear_errors)
{
	EXPECT_ERR(a, "{\"op\":", "bad_request");
	EXPECT_ERR(a, "", "bad_request");
	EXPECT_ERR(a, "[1,2]", "bad_request");
	EXPECT_ERR(a, "\"ping\"", "bad_request");
	EXPECT_ERR(a, "{}", "bad_request");
	EXPECT_ERR(a, "{\"op\":5}", "bad_request");
	EXPECT_ERR(a, "{\"op\":\"ping\",\"op\":\"info\"}", "bad_request");
	EXPECT_ERR(a, "{\"op\":\"fly\"}", "unknown_op");
	EXPECT_ERR(a, "{\"op\":\"ping\",\"name\":\"x\"}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"ping\",\"extra\":1}", "bad_argument");
	json_t *r = h_call(a, "{\"op\":\"fly\"}");
	ck_assert_str_eq(json_string_value(json_object_get(r, "message")), "unknown op 'fly'");
	char name[300] = "{\"op\":\"stat\",\"name\":\"";
	memset(name + strlen(name), 'x', 256);
	strcpy(name + strlen(name), "\"}");
	EXPECT_ERR(a, name, "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"stat\",\"name\":\"a\\u0000b\"}",
		   "bad_request"); /* no NUL in JSON text */
	EXPECT_OK(a, "{\"op\":\"ping\"}", "\"pong\"");
}
END_TEST

START_TEST(batch_runs_in_order_with_one_result_each)
{
	EXPECT_OK(a,
		  "{\"op\":\"batch\",\"ops\":["
		  "{\"op\":\"queue.put\",\"name\":\"q\",\"value\":1,\"block\":false},"
		  "{\"op\":\"queue.put_nowait\",\"name\":\"q\",\"value\":2},"
		  "{\"op\":\"dict.set\",\"name\":\"d\",\"key\":\"n\",\"value\":2},"
		  "{\"op\":\"dict.get\",\"name\":\"d\",\"key\":\"missing\"},"
		  "{\"op\":\"queue.get\",\"name\":\"q\",\"timeout\":0},"
		  "{\"op\":\"queue.qsize\",\"name\":\"q\"}]}",
		  "[{\"ok\":true,\"result\":null},{\"ok\":true,\"result\":null},"
		  "{\"ok\":true,\"result\":null,\"version\":1},"
		  "{\"ok\":false,\"error\":\"key_error\",\"message\":\"key \\\"missing\\\" not in "
		  "'d'\",\"version\":1},"
		  "{\"ok\":true,\"result\":1},{\"ok\":true,\"result\":1}]");
	EXPECT_OK(a, "{\"op\":\"batch\",\"ops\":[]}", "[]");
}
END_TEST

START_TEST(a_bad_batch_runs_nothing)
{
	EXPECT_ERR(a,
		   "{\"op\":\"batch\",\"ops\":[{\"op\":\"dict.set\",\"name\":\"d\",\"key\":1,"
		   "\"value\":1},"
		   "{\"op\":\"queue.get\",\"name\":\"q\"}]}",
		   "bad_argument");
	EXPECT_ERR(a,
		   "{\"op\":\"batch\",\"ops\":[{\"op\":\"dict.set\",\"name\":\"d\",\"key\":1,"
		   "\"value\":1},"
		   "{\"op\":\"nope\"}]}",
		   "unknown_op");
	EXPECT_ERR(a, "{\"op\":\"batch\",\"ops\":[{\"op\":\"batch\",\"ops\":[]}]}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"batch\",\"ops\":[{\"op\":\"queue.join\",\"name\":\"q\"}]}",
		   "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"batch\",\"ops\":{}}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"batch\",\"ops\":[5]}", "bad_request");
	EXPECT_ERR(a, "{\"op\":\"batch\"}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"stat\",\"name\":\"d\"}", "not_found");
	json_t *r = h_call(a, "{\"op\":\"batch\",\"ops\":[{\"op\":\"ping\"},{\"op\":\"queue.get\","
			      "\"name\":\"q\"}]}");
	ck_assert_str_eq(
		json_string_value(json_object_get(r, "message")),
		"ops[1]: queue.get would wait; in a batch pass \"block\": false or \"timeout\": 0");
}
END_TEST

START_TEST(batch_size_is_limited)
{
	size_t n = 4097;
	char *req = malloc(n * 16 + 64), *p = req;
	p += sprintf(p, "{\"op\":\"batch\",\"ops\":[");
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s{\"op\":\"ping\"}", i ? "," : "");
	strcpy(p, "]}");
	EXPECT_ERR(a, req, "bad_argument");
	free(req);
}
END_TEST

START_TEST(admin_ops_describe_the_daemon)
{
	EXPECT_OK(a,
		  "{\"op\":\"queue.create\",\"name\":\"jobs\",\"kind\":\"priority\",\"maxsize\":5}",
		  "true");
	EXPECT_OK(a, "{\"op\":\"dict.set\",\"name\":\"conf\",\"key\":1,\"value\":1}", "null");
	EXPECT_OK(a, "{\"op\":\"ls\"}",
		  "[{\"name\":\"jobs\",\"type\":\"queue\",\"size\":0,\"waiters\":0},"
		  "{\"name\":\"conf\",\"type\":\"dict\",\"size\":1,\"waiters\":0}]");
	EXPECT_OK(a, "{\"op\":\"ls\",\"prefix\":\"co\"}",
		  "[{\"name\":\"conf\",\"type\":\"dict\",\"size\":1,\"waiters\":0}]");
	session *b = h_session();
	h_send(b, "{\"op\":\"queue.get\",\"name\":\"jobs\",\"timeout\":30}");
	json_t *st = h_result(h_call(a, "{\"op\":\"stat\",\"name\":\"jobs\"}"));
	ck_assert_str_eq(json_string_value(json_object_get(st, "kind")), "priority");
	ck_assert_int_eq(json_integer_value(json_object_get(st, "maxsize")), 5);
	ck_assert_int_eq(json_integer_value(json_object_get(st, "waiters")), 1);
	json_t *g = json_array_get(json_object_get(st, "getters"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(g, "session")), (json_int_t)b->id);
	json_t *info = h_result(h_call(a, "{\"op\":\"info\"}"));
	ck_assert_int_eq(json_integer_value(json_object_get(info, "sessions")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(info, "objects")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(info, "waiters")), 1);
	ck_assert_int_gt(
		json_integer_value(json_object_get(json_object_get(info, "memory"), "rss")), 0);
	json_t *sessions = h_result(h_call(a, "{\"op\":\"sessions\"}"));
	ck_assert_uint_eq(json_array_size(sessions), 2);
	json_t *waiting = json_object_get(json_array_get(sessions, 1), "waiting");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(waiting, 0), "op")),
			 "queue.get");
	json_t *hello = h_result(h_call(a, "{\"op\":\"hello\"}"));
	ck_assert_int_eq(json_integer_value(json_object_get(hello, "session")), (json_int_t)a->id);
	ck_assert_int_eq(json_integer_value(json_object_get(hello, "max_value")), 1 << 20);
	ck_assert_int_eq(json_integer_value(json_object_get(hello, "max_depth")), 32);
	ck_assert_int_eq(json_integer_value(json_object_get(hello, "max_elements")), 1000000);
}
END_TEST

START_TEST(shutdown_answers_parked_and_refuses_new)
{
	session *b = h_session();
	int g = h_send(b, "{\"op\":\"queue.get\",\"name\":\"q\"}");
	int j = h_send(b, "{\"op\":\"queue.join\",\"name\":\"q\",\"timeout\":10}");
	EXPECT_OK(a, "{\"op\":\"queue.put\",\"name\":\"q\",\"value\":1}", "null"); /* serves g */
	j = h_send(b, "{\"op\":\"queue.join\",\"name\":\"q\",\"timeout\":10}");
	int g2 = h_send(b, "{\"op\":\"queue.get\",\"name\":\"q\"}");
	dispatch_set_shutting_down();
	wait_complete_all(BRK_ESHUTDOWN, "brokerd is shutting down");
	ck_assert(h_same(h_reply(g), "1"));
	ck_assert_str_eq(h_code(h_reply(j)), "shutting_down");
	ck_assert_str_eq(h_code(h_reply(g2)), "shutting_down");
	EXPECT_ERR(a, "{\"op\":\"ping\"}", "shutting_down");
	ck_assert_uint_eq(wait_count(), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dispatch");
	TCase *tc = tcase_create("dispatch");
	tcase_add_checked_fixture(tc, setup, h_teardown);
	tcase_add_test(tc, malformed_requests_get_clear_errors);
	tcase_add_test(tc, batch_runs_in_order_with_one_result_each);
	tcase_add_test(tc, a_bad_batch_runs_nothing);
	tcase_add_test(tc, batch_size_is_limited);
	tcase_add_test(tc, admin_ops_describe_the_daemon);
	tcase_add_test(tc, shutdown_answers_parked_and_refuses_new);
	suite_add_tcase(s, tc);
	return run_suite(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
