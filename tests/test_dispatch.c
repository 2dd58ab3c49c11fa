/* test_dispatch.c: the envelope, malformed input, batches and the admin ops. */
#include <stdio.h>
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

/* ---- cancel ---- */

/* cancel: s cancels request n (by its transport id); the result's "cancelled". When n is
 * answered, its reply must have gone out before the cancel's. */
static bool cancel(session *s, int n)
{
	char req[96];
	snprintf(req, sizeof req, "{\"op\":\"cancel\",\"request\":%u}", h_id(n));
	int c = h_send(s, req);
	json_t *r = h_result(h_reply(c));
	ck_assert_int_ge(h_order(n), 0);
	ck_assert_int_lt(h_order(n), h_order(c));
	return json_is_true(json_object_get(r, "cancelled"));
}

static json_int_t info_waiters(void)
{
	json_t *info = h_result(h_call(a, "{\"op\":\"info\"}"));
	return json_integer_value(json_object_get(info, "waiters"));
}

/* held: how many things session number i (0: a, the oldest) holds, from "sessions". */
static size_t held(size_t i)
{
	json_t *list = h_result(h_call(a, "{\"op\":\"sessions\"}"));
	return json_array_size(json_object_get(json_array_get(list, i), "holding"));
}

START_TEST(cancel_a_parked_get_and_put)
{
	session *b = h_session();
	int g = h_send(b, "{\"op\":\"queue.get\",\"name\":\"q\",\"confirm\":true}");
	ck_assert_ptr_null(h_reply(g));
	ck_assert(cancel(b, g));
	ck_assert_str_eq(h_code(h_reply(g)), "cancelled");
	ck_assert_int_eq(info_waiters(), 0);
	EXPECT_OK(a, "{\"op\":\"queue.put\",\"name\":\"q\",\"value\":7}", "null");
	EXPECT_OK(a, "{\"op\":\"queue.qsize\",\"name\":\"q\"}", "1"); /* nobody took it */
	ck_assert_uint_eq(held(1), 0);
	ck_assert(!cancel(b, g)); /* answered already */
	EXPECT_OK(a, "{\"op\":\"queue.create\",\"name\":\"f\",\"maxsize\":1}", "true");
	EXPECT_OK(a, "{\"op\":\"queue.put\",\"name\":\"f\",\"value\":1}", "null");
	int p = h_send(b, "{\"op\":\"queue.put\",\"name\":\"f\",\"value\":2}");
	ck_assert(cancel(b, p));
	ck_assert_str_eq(h_code(h_reply(p)), "cancelled");
	EXPECT_OK(a, "{\"op\":\"queue.get\",\"name\":\"f\"}", "1");
	EXPECT_ERR(a, "{\"op\":\"queue.get_nowait\",\"name\":\"f\"}",
		   "empty"); /* 2 never went in */
}
END_TEST

START_TEST(cancel_a_parked_lock_acquire)
{
	session *b = h_session();
	EXPECT_OK(a, "{\"op\":\"lock.acquire\",\"name\":\"L\"}",
		  "{\"acquired\":true,\"fence\":1,\"count\":1}");
	int w = h_send(b, "{\"op\":\"lock.acquire\",\"name\":\"L\"}");
	ck_assert(cancel(b, w));
	ck_assert_str_eq(h_code(h_reply(w)), "cancelled");
	EXPECT_OK(a, "{\"op\":\"lock.release\",\"name\":\"L\"}", "null");
	EXPECT_OK(a, "{\"op\":\"lock.locked\",\"name\":\"L\"}", "false"); /* not granted to b */
	ck_assert_uint_eq(held(1), 0);
}
END_TEST

START_TEST(cancel_a_parked_semaphore_acquire)
{
	session *b = h_session(), *c = h_session();
	EXPECT_OK(a, "{\"op\":\"semaphore.acquire\",\"name\":\"S\"}",
		  "{\"acquired\":true,\"value\":0}");
	int wb = h_send(b, "{\"op\":\"semaphore.acquire\",\"name\":\"S\",\"n\":2}");
	int wc = h_send(c, "{\"op\":\"semaphore.acquire\",\"name\":\"S\"}");
	EXPECT_OK(a, "{\"op\":\"semaphore.release\",\"name\":\"S\"}", "null");
	ck_assert_ptr_null(h_reply(wc)); /* behind b, which wants 2 */
	ck_assert(cancel(b, wb));
	ck_assert_str_eq(h_code(h_reply(wb)), "cancelled");
	ck_assert(h_same(h_reply(wc), "{\"acquired\":true,\"value\":0}")); /* b no longer first */
	ck_assert_uint_eq(held(1), 0);
	ck_assert_uint_eq(held(2), 1);
	int wb2 = h_send(b, "{\"op\":\"semaphore.acquire\",\"name\":\"S\"}");
	ck_assert(cancel(b, wb2));
	EXPECT_OK(c, "{\"op\":\"semaphore.release\",\"name\":\"S\"}", "null");
	EXPECT_OK(a, "{\"op\":\"semaphore.value\",\"name\":\"S\"}", "1"); /* b took nothing */
}
END_TEST

START_TEST(cancel_a_condition_wait)
{
	session *b = h_session();
	EXPECT_OK(a, "{\"op\":\"condition.create\",\"name\":\"C\",\"lock\":\"L\"}", "true");
	h_call(b, "{\"op\":\"condition.acquire\",\"name\":\"C\"}");
	int w = h_send(b, "{\"op\":\"condition.wait\",\"name\":\"C\"}");
	ck_assert(cancel(b, w)); /* waiting for a notify */
	ck_assert_str_eq(h_code(h_reply(w)), "cancelled");
	EXPECT_OK(a, "{\"op\":\"lock.locked\",\"name\":\"L\"}", "false"); /* not taken back */
	h_call(a, "{\"op\":\"condition.acquire\",\"name\":\"C\"}");
	EXPECT_OK(a, "{\"op\":\"condition.notify\",\"name\":\"C\"}", "0");
	EXPECT_OK(a, "{\"op\":\"condition.release\",\"name\":\"C\"}", "null");
	h_call(b, "{\"op\":\"condition.acquire\",\"name\":\"C\"}");
	w = h_send(b, "{\"op\":\"condition.wait\",\"name\":\"C\"}");
	h_call(a, "{\"op\":\"condition.acquire\",\"name\":\"C\"}");
	EXPECT_OK(a, "{\"op\":\"condition.notify\",\"name\":\"C\"}", "1");
	ck_assert(cancel(b, w)); /* notified, queued to take the lock back */
	ck_assert_str_eq(h_code(h_reply(w)), "cancelled");
	EXPECT_OK(a, "{\"op\":\"condition.release\",\"name\":\"C\"}", "null");
	EXPECT_OK(a, "{\"op\":\"lock.locked\",\"name\":\"L\"}", "false");
	ck_assert_uint_eq(held(1), 0);
}
END_TEST

/* A cancelled barrier wait counts the party as gone, as a timeout or a client going away
 * does: the round can no longer complete, so the barrier breaks for the others. */
START_TEST(cancel_a_barrier_wait_breaks_the_barrier)
{
	session *b = h_session(), *c = h_session();
	EXPECT_OK(a, "{\"op\":\"barrier.create\",\"name\":\"B\",\"parties\":3}", "true");
	int wa = h_send(a, "{\"op\":\"barrier.wait\",\"name\":\"B\"}");
	int wb = h_send(b, "{\"op\":\"barrier.wait\",\"name\":\"B\"}");
	ck_assert(cancel(b, wb));
	ck_assert_str_eq(h_code(h_reply(wb)), "cancelled");
	ck_assert_str_eq(h_code(h_reply(wa)), "broken_barrier");
	EXPECT_ERR(c, "{\"op\":\"barrier.wait\",\"name\":\"B\"}", "broken_barrier");
	json_t *st = h_result(h_call(a, "{\"op\":\"stat\",\"name\":\"B\"}"));
	ck_assert(json_is_true(json_object_get(st, "broken")));
	ck_assert_int_eq(json_integer_value(json_object_get(st, "n_waiting")), 0);
}
END_TEST

START_TEST(cancel_finds_only_the_sessions_own_parked_requests)
{
	session *b = h_session();
	int g = h_send(b, "{\"op\":\"queue.get\",\"name\":\"q\"}");
	char req[96];
	snprintf(req, sizeof req, "{\"op\":\"cancel\",\"request\":%u}", h_id(g));
	EXPECT_OK(a, req, "{\"cancelled\":false}"); /* another session's */
	ck_assert_ptr_null(h_reply(g));
	EXPECT_OK(b, "{\"op\":\"cancel\",\"request\":0}", "{\"cancelled\":false}");
	EXPECT_OK(b, "{\"op\":\"cancel\",\"request\":4294967295}", "{\"cancelled\":false}");
	int e = h_send(b, "{\"op\":\"event.wait\",\"name\":\"E\"}");
	EXPECT_OK(a, "{\"op\":\"queue.put\",\"name\":\"q\",\"value\":1}", "null");
	ck_assert(!cancel(b, g)); /* answered with the item */
	ck_assert(cancel(b, e));
	EXPECT_OK(a, "{\"op\":\"batch\",\"ops\":[{\"op\":\"cancel\",\"request\":1}]}",
		  "[{\"ok\":true,\"result\":{\"cancelled\":false}}]");
}
END_TEST

/* A session with many parked requests cancels them all, newest first, in one batch: each
 * is found by its id (a lookup), answered cancelled before the batch's reply. */
START_TEST(cancel_many_parked_requests_in_one_batch)
{
	enum { N = 2000 };
	session *b = h_session();
	int first = h_send(b, "{\"op\":\"queue.get\",\"name\":\"q\"}");
	for (int i = 1; i < N; i++)
		h_send(b, i % 2 ? "{\"op\":\"queue.get\",\"name\":\"q\"}"
				: "{\"op\":\"event.wait\",\"name\":\"e\"}");
	ck_assert_int_eq(info_waiters(), N);
	json_t *ops = json_array();
	for (int i = N; i-- > 0;)
		json_array_append_new(ops, json_pack("{s:s, s:I}", "op", "cancel", "request",
						     (json_int_t)h_id(first + i)));
	json_t *req = json_pack("{s:s, s:o}", "op", "batch", "ops", ops);
	char *text = json_dumps(req, JSON_COMPACT);
	int n = h_send(b, text);
	json_t *results = h_result(h_reply(n));
	for (int i = 0; i < N; i++) {
		ck_assert(h_same(json_array_get(results, (size_t)i), "{\"cancelled\":true}"));
		ck_assert_str_eq(h_code(h_reply(first + i)), "cancelled");
		ck_assert_int_lt(h_order(first + i), h_order(n));
	}
	ck_assert_int_eq(h_order(first + N - 1), h_order(first) - (N - 1)); /* newest first */
	ck_assert_int_eq(info_waiters(), 0);
	EXPECT_OK(a, "{\"op\":\"queue.put\",\"name\":\"q\",\"value\":1}", "null");
	EXPECT_OK(a, "{\"op\":\"queue.qsize\",\"name\":\"q\"}", "1");
	free(text);
	json_decref(req);
}
END_TEST

START_TEST(bad_cancel_requests)
{
	EXPECT_ERR(a, "{\"op\":\"cancel\"}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"cancel\",\"request\":\"1\"}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"cancel\",\"request\":1.5}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"cancel\",\"request\":null}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"cancel\",\"request\":-1}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"cancel\",\"request\":4294967296}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"cancel\",\"request\":1,\"name\":\"q\"}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"cancel\",\"request\":1,\"id\":1}", "bad_argument");
}
END_TEST

/* The item and the cancel race: whichever comes first wins, and the getter is answered
 * exactly once either way (the harness aborts on a second answer). */
START_TEST(a_put_before_the_cancel_wins)
{
	session *b = h_session();
	int g = h_send(b, "{\"op\":\"queue.get\",\"name\":\"q\"}");
	EXPECT_OK(a, "{\"op\":\"queue.put\",\"name\":\"q\",\"value\":\"x\"}", "null");
	ck_assert(!cancel(b, g));
	ck_assert(h_same(h_reply(g), "\"x\""));
	EXPECT_OK(a, "{\"op\":\"queue.qsize\",\"name\":\"q\"}", "0");
}
END_TEST

START_TEST(a_cancel_before_the_put_wins)
{
	session *b = h_session();
	int g = h_send(b, "{\"op\":\"queue.get\",\"name\":\"q\"}");
	ck_assert(cancel(b, g));
	EXPECT_OK(a, "{\"op\":\"queue.put\",\"name\":\"q\",\"value\":\"x\"}", "null");
	ck_assert_str_eq(h_code(h_reply(g)), "cancelled");
	EXPECT_OK(a, "{\"op\":\"queue.get_nowait\",\"name\":\"q\"}", "\"x\"");
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
	tcase_add_test(tc, cancel_a_parked_get_and_put);
	tcase_add_test(tc, cancel_a_parked_lock_acquire);
	tcase_add_test(tc, cancel_a_parked_semaphore_acquire);
	tcase_add_test(tc, cancel_a_condition_wait);
	tcase_add_test(tc, cancel_a_barrier_wait_breaks_the_barrier);
	tcase_add_test(tc, cancel_finds_only_the_sessions_own_parked_requests);
	tcase_add_test(tc, cancel_many_parked_requests_in_one_batch);
	tcase_add_test(tc, bad_cancel_requests);
	tcase_add_test(tc, a_put_before_the_cancel_wins);
	tcase_add_test(tc, a_cancel_before_the_put_wins);
	suite_add_tcase(s, tc);
	return run_suite(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
