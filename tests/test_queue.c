/* test_queue.c: queue semantics through the real op table, with a fake transport. */
#include <stdlib.h>
#include <time.h>

#include "check_util.h"

static session *a, *b, *c;

/* waiters: the daemon-wide count of parked requests, from "info". */
static json_int_t waiters(session *s)
{
	json_t *info = h_result(h_call(s, "{\"op\":\"info\"}"));
	return json_integer_value(json_object_get(info, "waiters"));
}

static void setup(void)
{
	h_setup();
	a = h_session();
	b = h_session();
	c = h_session();
}

START_TEST(fifo_lifo_priority_order)
{
	EXPECT_OK(a, "{\"op\":\"queue.create\",\"name\":\"f\"}", "true");
	EXPECT_OK(a, "{\"op\":\"queue.create\",\"name\":\"l\",\"kind\":\"lifo\"}", "true");
	EXPECT_OK(a, "{\"op\":\"queue.create\",\"name\":\"p\",\"kind\":\"priority\"}", "true");
	for (int i = 1; i <= 3; i++) {
		char req[128];
		snprintf(req, sizeof req, "{\"op\":\"queue.put\",\"name\":\"f\",\"value\":%d}", i);
		EXPECT_OK(a, req, "null");
		snprintf(req, sizeof req, "{\"op\":\"queue.put\",\"name\":\"l\",\"value\":%d}", i);
		EXPECT_OK(a, req, "null");
	}
	EXPECT_OK(a, "{\"op\":\"queue.put\",\"name\":\"p\",\"value\":\"b1\",\"priority\":2}",
		  "null");
	EXPECT_OK(a, "{\"op\":\"queue.put\",\"name\":\"p\",\"value\":\"a\",\"priority\":-1.5}",
		  "null");
	EXPECT_OK(a, "{\"op\":\"queue.put\",\"name\":\"p\",\"value\":\"b2\",\"priority\":2}",
		  "null");
	EXPECT_OK(a, "{\"op\":\"queue.put\",\"name\":\"p\",\"value\":\"z\"}", "null");
	EXPECT_OK(a, "{\"op\":\"queue.put\",\"name\":\"p\",\"value\":\"b3\",\"priority\":2}",
		  "null");
	const char *fifo[] = {"1", "2", "3"}, *lifo[] = {"3", "2", "1"};
	const char *prio[] = {"\"a\"", "\"z\"", "\"b1\"", "\"b2\"", "\"b3\""};
	for (int i = 0; i < 3; i++) {
		EXPECT_OK(a, "{\"op\":\"queue.get\",\"name\":\"f\"}", fifo[i]);
		EXPECT_OK(a, "{\"op\":\"queue.get_nowait\",\"name\":\"l\"}", lifo[i]);
	}
	for (int i = 0; i < 5; i++)
		EXPECT_OK(a, "{\"op\":\"queue.get\",\"name\":\"p\"}", prio[i]);
	EXPECT_ERR(a, "{\"op\":\"queue.get_nowait\",\"name\":\"p\"}", "empty");
}
END_TEST

START_TEST(priority_keeps_fifo_among_equals_at_scale)
{
	char req[128];
	EXPECT_OK(a, "{\"op\":\"queue.create\",\"name\":\"p\",\"kind\":\"priority\"}", "true");
	for (int i = 0; i < 500; i++) {
		snprintf(req, sizeof req,
			 "{\"op\":\"queue.put\",\"name\":\"p\",\"value\":%d,\"priority\":%d}", i,
			 i % 3);
		EXPECT_OK(a, req, "null");
	}
	for (int prio = 0; prio < 3; prio++)
		for (int i = prio; i < 500; i += 3) {
			char want[16];
			snprintf(want, sizeof want, "%d", i);
			EXPECT_OK(a, "{\"op\":\"queue.get\",\"name\":\"p\"}", want);
		}
}
END_TEST

START_TEST(bounded_queue_sizes)
{
	EXPECT_OK(a, "{\"op\":\"queue.create\",\"name\":\"q\",\"maxsize\":2}", "true");
	EXPECT_OK(a, "{\"op\":\"queue.empty\",\"name\":\"q\"}", "true");
	EXPECT_OK(a, "{\"op\":\"queue.put\",\"name\":\"q\",\"value\":1}", "null");
	EXPECT_OK(a, "{\"op\":\"queue.put_nowait\",\"name\":\"q\",\"value\":2}", "null");
	EXPECT_OK(a, "{\"op\":\"queue.full\",\"name\":\"q\"}", "true");
	EXPECT_OK(a, "{\"op\":\"queue.qsize\",\"name\":\"q\"}", "2");
	EXPECT_ERR(a, "{\"op\":\"queue.put_nowait\",\"name\":\"q\",\"value\":3}", "full");
	EXPECT_ERR(a, "{\"op\":\"queue.put\",\"name\":\"q\",\"value\":3,\"block\":false}", "full");
	EXPECT_ERR(a, "{\"op\":\"queue.put\",\"name\":\"q\",\"value\":3,\"timeout\":0}", "full");
	EXPECT_OK(a, "{\"op\":\"queue.empty\",\"name\":\"q\"}", "false");
	EXPECT_OK(a, "{\"op\":\"queue.create\",\"name\":\"u\",\"maxsize\":-4}", "true");
	EXPECT_OK(a, "{\"op\":\"queue.full\",\"name\":\"u\"}", "false");
}
END_TEST

START_TEST(create_is_idempotent_but_checked)
{
	EXPECT_OK(a, "{\"op\":\"queue.create\",\"name\":\"q\",\"kind\":\"lifo\",\"maxsize\":3}",
		  "true");
	EXPECT_OK(b, "{\"op\":\"queue.create\",\"name\":\"q\",\"kind\":\"lifo\",\"maxsize\":3}",
		  "false");
	EXPECT_ERR(b, "{\"op\":\"queue.create\",\"name\":\"q\",\"kind\":\"fifo\",\"maxsize\":3}",
		   "exists");
	EXPECT_ERR(b, "{\"op\":\"queue.create\",\"name\":\"q\",\"kind\":\"lifo\"}", "exists");
	EXPECT_ERR(a, "{\"op\":\"queue.create\",\"name\":\"x\",\"kind\":\"heap\"}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"queue.create\",\"name\":\"x\",\"maxsize\":\"3\"}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"stat\",\"name\":\"x\"}", "not_found");
	/* ops that change a missing queue (or wait on it) create a default one; ops that only
	 * look, or would not wait, never do: a reader cannot fill the object table */
	static const char *const looks[] = {
		"{\"op\":\"queue.qsize\",\"name\":\"auto\"}",
		"{\"op\":\"queue.empty\",\"name\":\"auto\"}",
		"{\"op\":\"queue.full\",\"name\":\"auto\"}",
		"{\"op\":\"queue.get\",\"name\":\"auto\",\"timeout\":0}",
		"{\"op\":\"queue.get_nowait\",\"name\":\"auto\"}",
		"{\"op\":\"queue.join\",\"name\":\"auto\",\"timeout\":0}",
		"{\"op\":\"queue.task_done\",\"name\":\"auto\"}",
		"{\"op\":\"event.is_set\",\"name\":\"auto\"}",
		"{\"op\":\"event.wait\",\"name\":\"auto\",\"timeout\":0}",
		"{\"op\":\"event.clear\",\"name\":\"auto\"}",
		"{\"op\":\"lock.locked\",\"name\":\"auto\"}",
		"{\"op\":\"lock.release\",\"name\":\"auto\"}",
		"{\"op\":\"rlock.locked\",\"name\":\"auto\"}",
		"{\"op\":\"semaphore.value\",\"name\":\"auto\"}",
	};
	for (size_t i = 0; i < sizeof looks / sizeof *looks; i++)
		h_call(a, looks[i]);
	EXPECT_ERR(a, "{\"op\":\"stat\",\"name\":\"auto\"}", "not_found");
	EXPECT_OK(a, "{\"op\":\"queue.qsize\",\"name\":\"auto\"}", "0");
	EXPECT_OK(a, "{\"op\":\"queue.empty\",\"name\":\"auto\"}", "true");
	EXPECT_OK(a, "{\"op\":\"queue.full\",\"name\":\"auto\"}", "false");
	EXPECT_ERR(a, "{\"op\":\"queue.get_nowait\",\"name\":\"auto\"}", "empty");
	EXPECT_ERR(a, "{\"op\":\"queue.task_done\",\"name\":\"auto\"}", "value_error");
	EXPECT_OK(a, "{\"op\":\"queue.join\",\"name\":\"auto\"}", "null");
	EXPECT_OK(a, "{\"op\":\"event.is_set\",\"name\":\"auto\"}", "false");
	EXPECT_OK(a, "{\"op\":\"lock.locked\",\"name\":\"auto\"}", "false");
	EXPECT_OK(a, "{\"op\":\"semaphore.value\",\"name\":\"auto\"}", "1");
	EXPECT_OK(a, "{\"op\":\"queue.put\",\"name\":\"auto\",\"value\":1}", "null");
	json_t *st = h_result(h_call(a, "{\"op\":\"stat\",\"name\":\"auto\"}"));
	ck_assert_str_eq(json_string_value(json_object_get(st, "kind")), "fifo");
}
END_TEST

START_TEST(bad_arguments)
{
	EXPECT_ERR(a, "{\"op\":\"queue.put\",\"name\":\"q\"}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"queue.put\",\"name\":\"q\",\"value\":1,\"priority\":1}",
		   "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"queue.get\",\"name\":\"q\",\"timeout\":-1}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"queue.get\",\"name\":\"q\",\"timeout\":8.9e100}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"queue.join\",\"name\":\"q\",\"timeout\":1e9}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"queue.get\",\"name\":\"q\",\"timeout\":\"1\"}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"queue.get\",\"name\":\"q\",\"block\":\"no\"}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"queue.get\",\"name\":\"q\",\"timout\":1}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"queue.get_nowait\",\"name\":\"q\",\"timeout\":1}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"queue.get\"}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"queue.get\",\"name\":7}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"queue.get\",\"name\":\"\"}", "bad_argument");
	EXPECT_OK(a, "{\"op\":\"dict.set\",\"name\":\"d\",\"key\":1,\"value\":1}", "null");
	EXPECT_ERR(a, "{\"op\":\"queue.put\",\"name\":\"d\",\"value\":1}", "wrong_type");
	EXPECT_ERR(a, "{\"op\":\"queue.create\",\"name\":\"d\"}", "wrong_type");
}
END_TEST

START_TEST(parked_get_is_served_by_a_later_put)
{
	int g = h_send(a, "{\"op\":\"queue.get\",\"name\":\"q\"}");
	ck_assert_ptr_null(h_reply(g));
	json_t *st = h_result(h_call(c, "{\"op\":\"stat\",\"name\":\"q\"}"));
	ck_assert_uint_eq(json_array_size(json_object_get(st, "getters")), 1);
	EXPECT_OK(b, "{\"op\":\"queue.put\",\"name\":\"q\",\"value\":{\"job\":1}}", "null");
	ck_assert(h_same(h_reply(g), "{\"job\":1}"));
	EXPECT_OK(c, "{\"op\":\"queue.qsize\",\"name\":\"q\"}", "0");
	EXPECT_ERR(c, "{\"op\":\"queue.join\",\"name\":\"q\",\"timeout\":0}", "timeout");
}
END_TEST

START_TEST(getters_are_served_in_arrival_order)
{
	session *s[5];
	int g[5];
	for (int i = 0; i < 5; i++) {
		s[i] = h_session();
		g[i] = h_send(s[i], "{\"op\":\"queue.get\",\"name\":\"q\",\"timeout\":60}");
	}
	for (int i = 0; i < 5; i++) {
		char req[96], want[8];
		snprintf(req, sizeof req, "{\"op\":\"queue.put\",\"name\":\"q\",\"value\":%d}", i);
		EXPECT_OK(a, req, "null");
		snprintf(want, sizeof want, "%d", i);
		ck_assert(h_same(h_reply(g[i]), want));
		for (int j = i + 1; j < 5; j++)
			ck_assert_ptr_null(h_reply(g[j]));
	}
}
END_TEST

START_TEST(putters_wait_in_order_on_a_full_queue)
{
	EXPECT_OK(a, "{\"op\":\"queue.create\",\"name\":\"q\",\"maxsize\":1}", "true");
	EXPECT_OK(a, "{\"op\":\"queue.put\",\"name\":\"q\",\"value\":0}", "null");
	int p1 = h_send(b, "{\"op\":\"queue.put\",\"name\":\"q\",\"value\":1}");
	int p2 = h_send(c, "{\"op\":\"queue.put\",\"name\":\"q\",\"value\":2}");
	ck_assert_ptr_null(h_reply(p1));
	ck_assert_ptr_null(h_reply(p2));
	EXPECT_OK(a, "{\"op\":\"queue.get\",\"name\":\"q\"}", "0");
	ck_assert_str_eq(h_code(h_reply(p1)), "ok");
	ck_assert_ptr_null(h_reply(p2));
	EXPECT_OK(a, "{\"op\":\"queue.get\",\"name\":\"q\"}", "1");
	ck_assert_str_eq(h_code(h_reply(p2)), "ok");
	EXPECT_OK(a, "{\"op\":\"queue.get\",\"name\":\"q\"}", "2");
	EXPECT_OK(a, "{\"op\":\"queue.qsize\",\"name\":\"q\"}", "0");
}
END_TEST

START_TEST(timeouts_answer_after_not_before)
{
	EXPECT_OK(a, "{\"op\":\"queue.create\",\"name\":\"q\",\"maxsize\":1}", "true");
	int g = h_send(b, "{\"op\":\"queue.get\",\"name\":\"e\",\"timeout\":0.2}");
	EXPECT_OK(a, "{\"op\":\"queue.put\",\"name\":\"q\",\"value\":0}", "null");
	int p = h_send(c, "{\"op\":\"queue.put\",\"name\":\"q\",\"value\":1,\"timeout\":0.3}");
	h_run(0.1);
	ck_assert_ptr_null(h_reply(g));
	ck_assert_ptr_null(h_reply(p));
	h_run(0.15);
	ck_assert_str_eq(h_code(h_reply(g)), "empty");
	ck_assert_ptr_null(h_reply(p));
	h_run(0.1);
	ck_assert_str_eq(h_code(h_reply(p)), "full");
	EXPECT_OK(a, "{\"op\":\"queue.qsize\",\"name\":\"q\"}", "1");
	ck_assert_int_eq(waiters(a), 0);
}
END_TEST

START_TEST(join_waits_for_every_task_done)
{
	EXPECT_OK(a, "{\"op\":\"queue.join\",\"name\":\"q\"}", "null");
	EXPECT_ERR(a, "{\"op\":\"queue.task_done\",\"name\":\"q\"}", "value_error");
	EXPECT_OK(a, "{\"op\":\"queue.put\",\"name\":\"q\",\"value\":1}", "null");
	EXPECT_OK(a, "{\"op\":\"queue.put\",\"name\":\"q\",\"value\":2}", "null");
	int j1 = h_send(b, "{\"op\":\"queue.join\",\"name\":\"q\"}");
	int j2 = h_send(c, "{\"op\":\"queue.join\",\"name\":\"q\",\"timeout\":0.1}");
	EXPECT_ERR(a, "{\"op\":\"queue.join\",\"name\":\"q\",\"timeout\":0}", "timeout");
	h_run(0.15);
	ck_assert_str_eq(h_code(h_reply(j2)), "timeout");
	EXPECT_OK(a, "{\"op\":\"queue.get\",\"name\":\"q\"}", "1");
	EXPECT_OK(a, "{\"op\":\"queue.task_done\",\"name\":\"q\"}", "null");
	ck_assert_ptr_null(h_reply(j1));
	EXPECT_OK(a, "{\"op\":\"queue.get\",\"name\":\"q\"}", "2");
	EXPECT_OK(a, "{\"op\":\"queue.task_done\",\"name\":\"q\"}", "null");
	ck_assert_str_eq(h_code(h_reply(j1)), "ok");
	EXPECT_ERR(a, "{\"op\":\"queue.task_done\",\"name\":\"q\"}", "value_error");
}
END_TEST

START_TEST(a_closed_session_never_takes_or_adds_an_item)
{
	EXPECT_OK(a, "{\"op\":\"queue.create\",\"name\":\"full\",\"maxsize\":1}", "true");
	EXPECT_OK(a, "{\"op\":\"queue.put\",\"name\":\"full\",\"value\":\"kept\"}", "null");
	h_send(b, "{\"op\":\"queue.get\",\"name\":\"q\"}");
	h_send(b, "{\"op\":\"queue.put\",\"name\":\"full\",\"value\":\"ghost\"}");
	sess_close(b);
	ck_assert_int_eq(waiters(a), 0);
	EXPECT_OK(c, "{\"op\":\"queue.put\",\"name\":\"q\",\"value\":7}", "null");
	EXPECT_OK(c, "{\"op\":\"queue.get_nowait\",\"name\":\"q\"}", "7");
	EXPECT_OK(c, "{\"op\":\"queue.get_nowait\",\"name\":\"full\"}", "\"kept\"");
	EXPECT_ERR(c, "{\"op\":\"queue.get_nowait\",\"name\":\"full\"}", "empty");
}
END_TEST

START_TEST(an_item_skips_a_getter_known_gone)
{
	int dead = h_send(b, "{\"op\":\"queue.get\",\"name\":\"q\"}");
	int live = h_send(c, "{\"op\":\"queue.get\",\"name\":\"q\"}");
	h_kill(dead);
	EXPECT_OK(a, "{\"op\":\"queue.put\",\"name\":\"q\",\"value\":5}", "null");
	ck_assert_ptr_null(h_reply(dead));
	ck_assert(h_same(h_reply(live), "5"));
}
END_TEST

START_TEST(delete_answers_waiters)
{
	int g = h_send(b, "{\"op\":\"queue.get\",\"name\":\"q\"}");
	EXPECT_OK(a, "{\"op\":\"del\",\"name\":\"q\"}", "true");
	ck_assert_str_eq(h_code(h_reply(g)), "deleted");
	EXPECT_ERR(a, "{\"op\":\"del\",\"name\":\"q\"}", "not_found");
}
END_TEST

/* delivery: the delivery id of a reply (0 if none). */
static json_int_t delivery(const json_t *reply)
{
	return json_integer_value(json_object_get(reply, "delivery"));
}

static void put_values(session *s, const char *queue, int from, int to)
{
	for (int i = from; i <= to; i++) {
		char req[96];
		snprintf(req, sizeof req, "{\"op\":\"queue.put\",\"name\":\"%s\",\"value\":%d}",
			 queue, i);
		EXPECT_OK(s, req, "null");
	}
}

static json_int_t stat_int(session *s, const char *name, const char *field)
{
	char req[96];
	snprintf(req, sizeof req, "{\"op\":\"stat\",\"name\":\"%s\"}", name);
	return json_integer_value(json_object_get(h_result(h_call(s, req)), field));
}

START_TEST(unconfirmed_items_go_back_to_the_front_when_the_session_ends)
{
	put_values(a, "q", 1, 3);
	json_t *r = h_call(b, "{\"op\":\"queue.get\",\"name\":\"q\",\"confirm\":true}");
	ck_assert(h_same(r, "1"));
	ck_assert_int_gt(delivery(r), 0);
	r = h_call(b, "{\"op\":\"queue.get_nowait\",\"name\":\"q\",\"confirm\":true}");
	ck_assert(h_same(r, "2"));
	json_t *sessions = h_result(h_call(a, "{\"op\":\"sessions\"}"));
	json_t *mine = json_array_get(sessions, 1);
	json_t *held = json_object_get(mine, "holding");
	ck_assert_uint_eq(json_array_size(held), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(held, 0), "kind")),
			 "delivery");
	sess_close(b);
	EXPECT_OK(a, "{\"op\":\"queue.get\",\"name\":\"q\"}", "1");
	EXPECT_OK(a, "{\"op\":\"queue.get\",\"name\":\"q\"}", "2");
	EXPECT_OK(a, "{\"op\":\"queue.get\",\"name\":\"q\"}", "3");
	ck_assert_int_eq(stat_int(a, "q", "unfinished"), 3); /* redelivery is not a new put */
}
END_TEST

START_TEST(confirmed_items_stay_taken)
{
	put_values(a, "q", 1, 3);
	char req[128];
	json_int_t d1 =
		delivery(h_call(b, "{\"op\":\"queue.get\",\"name\":\"q\",\"confirm\":true}"));
	json_int_t d2 =
		delivery(h_call(b, "{\"op\":\"queue.get\",\"name\":\"q\",\"confirm\":true}"));
	ck_assert_int_ne(d1, d2);
	snprintf(req, sizeof req, "{\"op\":\"ack\",\"ack\":[%lld]}", (long long)d1);
	EXPECT_OK(b, req, "null");
	snprintf(req, sizeof req, "{\"op\":\"queue.qsize\",\"name\":\"q\",\"ack\":[%lld,%lld,999]}",
		 (long long)d2, (long long)d1);
	EXPECT_OK(b, req, "1"); /* piggybacked; repeated and unknown ids are ignored */
	sess_close(b);
	EXPECT_OK(a, "{\"op\":\"queue.get_nowait\",\"name\":\"q\"}", "3");
	EXPECT_ERR(a, "{\"op\":\"queue.get_nowait\",\"name\":\"q\"}", "empty");
}
END_TEST

START_TEST(unconfirmed_items_keep_their_place_in_lifo_and_priority_queues)
{
	EXPECT_OK(a, "{\"op\":\"queue.create\",\"name\":\"l\",\"kind\":\"lifo\"}", "true");
	put_values(a, "l", 1, 3);
	EXPECT_OK(b, "{\"op\":\"queue.get\",\"name\":\"l\",\"confirm\":true}", "3");
	EXPECT_OK(a, "{\"op\":\"queue.create\",\"name\":\"p\",\"kind\":\"priority\"}", "true");
	EXPECT_OK(a, "{\"op\":\"queue.put\",\"name\":\"p\",\"value\":\"a\",\"priority\":1}",
		  "null");
	EXPECT_OK(a, "{\"op\":\"queue.put\",\"name\":\"p\",\"value\":\"b\",\"priority\":2}",
		  "null");
	EXPECT_OK(b, "{\"op\":\"queue.get\",\"name\":\"p\",\"confirm\":true}", "\"a\"");
	EXPECT_OK(a, "{\"op\":\"queue.put\",\"name\":\"p\",\"value\":\"c\",\"priority\":1}",
		  "null");
	sess_close(b);
	EXPECT_OK(a, "{\"op\":\"queue.get\",\"name\":\"l\"}", "3");
	EXPECT_OK(a, "{\"op\":\"queue.get\",\"name\":\"l\"}", "2");
	EXPECT_OK(a, "{\"op\":\"queue.get\",\"name\":\"p\"}", "\"a\"");
	EXPECT_OK(a, "{\"op\":\"queue.get\",\"name\":\"p\"}", "\"c\"");
	EXPECT_OK(a, "{\"op\":\"queue.get\",\"name\":\"p\"}", "\"b\"");
}
END_TEST

START_TEST(an_unconfirmed_item_goes_to_a_waiting_getter)
{
	put_values(a, "q", 7, 7);
	EXPECT_OK(b, "{\"op\":\"queue.get\",\"name\":\"q\",\"confirm\":true}", "7");
	int g = h_send(c, "{\"op\":\"queue.get\",\"name\":\"q\",\"confirm\":true}");
	ck_assert_ptr_null(h_reply(g));
	sess_close(b);
	ck_assert(h_same(h_reply(g), "7"));
	ck_assert_int_gt(delivery(h_reply(g)), 0); /* and c must confirm it in turn */
	sess_close(c);
	EXPECT_OK(a, "{\"op\":\"queue.get_nowait\",\"name\":\"q\"}", "7");
}
END_TEST

START_TEST(a_parked_confirming_getter_gets_a_delivery_id)
{
	int g = h_send(b, "{\"op\":\"queue.get\",\"name\":\"q\",\"confirm\":true}");
	int plain = h_send(c, "{\"op\":\"queue.get\",\"name\":\"q\"}");
	put_values(a, "q", 1, 2);
	ck_assert_int_gt(delivery(h_reply(g)), 0);
	ck_assert_int_eq(delivery(h_reply(plain)), 0);
	sess_close(c); /* took 2 without confirming: gone for good, as it asked */
	sess_close(b);
	EXPECT_OK(a, "{\"op\":\"queue.get_nowait\",\"name\":\"q\"}", "1");
	EXPECT_ERR(a, "{\"op\":\"queue.get_nowait\",\"name\":\"q\"}", "empty");
}
END_TEST

START_TEST(an_unconfirmed_item_of_a_deleted_queue_is_dropped)
{
	put_values(a, "q", 1, 1);
	EXPECT_OK(b, "{\"op\":\"queue.get\",\"name\":\"q\",\"confirm\":true}", "1");
	EXPECT_OK(a, "{\"op\":\"del\",\"name\":\"q\"}", "true");
	EXPECT_OK(a, "{\"op\":\"dict.set\",\"name\":\"q\",\"key\":1,\"value\":1}", "null");
	sess_close(b);
	EXPECT_OK(a, "{\"op\":\"dict.len\",\"name\":\"q\"}", "1");
}
END_TEST

START_TEST(bad_confirmations_are_errors)
{
	EXPECT_ERR(a, "{\"op\":\"ack\",\"ack\":5}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"ack\",\"ack\":[1.5]}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"ping\",\"ack\":[\"1\"]}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"queue.get\",\"name\":\"q\",\"confirm\":1}", "bad_argument");
	EXPECT_OK(a, "{\"op\":\"ack\",\"ack\":[]}", "null");
	EXPECT_OK(a, "{\"op\":\"ack\"}", "null");
}
END_TEST

START_TEST(batched_gets_carry_delivery_ids)
{
	put_values(a, "q", 1, 2);
	json_t *r =
		h_result(h_call(b, "{\"op\":\"batch\",\"ops\":["
				   "{\"op\":\"queue.get_nowait\",\"name\":\"q\",\"confirm\":true},"
				   "{\"op\":\"queue.get\",\"name\":\"q\",\"block\":false}]}"));
	ck_assert_int_gt(delivery(json_array_get(r, 0)), 0);
	ck_assert_int_eq(delivery(json_array_get(r, 1)), 0);
	sess_close(b);
	EXPECT_OK(a, "{\"op\":\"queue.qsize\",\"name\":\"q\"}", "1");
}
END_TEST

/* batch_of: runs n copies of the op text one as a single batch from s; its results. */
static json_t *batch_of(session *s, const char *one, size_t n)
{
	json_t *ops = json_array(), *op = json_loads(one, 0, NULL);
	for (size_t i = 0; i < n; i++)
		json_array_append(ops, op);
	json_t *req = json_pack("{s:s, s:o}", "op", "batch", "ops", ops);
	char *text = json_dumps(req, JSON_COMPACT);
	json_t *results = h_result(h_call(s, text));
	ck_assert_uint_eq(json_array_size(results), n);
	free(text);
	json_decref(req);
	json_decref(op);
	return results;
}

static double seconds_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* 30,000 deliveries confirmed newest first in one request: each confirmation is a lookup,
 * not a scan of what the session holds (that took seconds: quadratic). */
START_TEST(thirty_thousand_confirmations_in_one_request)
{
	enum { N = 30000, PER_BATCH = 3000 };
	json_t *ids = json_array(), *newest_first = json_array(), *r;
	size_t i;
	for (int round = 0; round < N / PER_BATCH; round++) {
		batch_of(a, "{\"op\":\"queue.put_nowait\",\"name\":\"q\",\"value\":1}", PER_BATCH);
		json_t *got =
			batch_of(b, "{\"op\":\"queue.get_nowait\",\"name\":\"q\",\"confirm\":true}",
				 PER_BATCH);
		json_array_foreach (got, i, r) {
			ck_assert_int_gt(delivery(r), 0);
			json_array_append_new(ids, json_integer(delivery(r)));
		}
	}
	json_t *mine = json_array_get(h_result(h_call(a, "{\"op\":\"sessions\"}")), 1);
	ck_assert_uint_eq(json_array_size(json_object_get(mine, "holding")), N);
	for (i = N; i-- > 0;)
		json_array_append(newest_first, json_array_get(ids, i));
	json_decref(ids);
	json_t *req = json_pack("{s:s, s:o}", "op", "ack", "ack", newest_first);
	char *text = json_dumps(req, JSON_COMPACT);
	double t0 = seconds_now();
	EXPECT_OK(b, text, "null");
	double took = seconds_now() - t0;
	ck_assert_msg(took < 2.0, "30000 confirmations took %.3f s", took);
	mine = json_array_get(h_result(h_call(a, "{\"op\":\"sessions\"}")), 1);
	ck_assert_uint_eq(json_array_size(json_object_get(mine, "holding")), 0);
	sess_close(b); /* nothing goes back: every item was confirmed */
	EXPECT_OK(a, "{\"op\":\"queue.qsize\",\"name\":\"q\"}", "0");
	free(text);
	json_decref(req);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("queue");
	TCase *tc = tcase_create("queue");
	tcase_add_checked_fixture(tc, setup, h_teardown);
	tcase_add_test(tc, fifo_lifo_priority_order);
	tcase_add_test(tc, priority_keeps_fifo_among_equals_at_scale);
	tcase_add_test(tc, bounded_queue_sizes);
	tcase_add_test(tc, create_is_idempotent_but_checked);
	tcase_add_test(tc, bad_arguments);
	tcase_add_test(tc, parked_get_is_served_by_a_later_put);
	tcase_add_test(tc, getters_are_served_in_arrival_order);
	tcase_add_test(tc, putters_wait_in_order_on_a_full_queue);
	tcase_add_test(tc, timeouts_answer_after_not_before);
	tcase_add_test(tc, join_waits_for_every_task_done);
	tcase_add_test(tc, a_closed_session_never_takes_or_adds_an_item);
	tcase_add_test(tc, an_item_skips_a_getter_known_gone);
	tcase_add_test(tc, delete_answers_waiters);
	tcase_add_test(tc, unconfirmed_items_go_back_to_the_front_when_the_session_ends);
	tcase_add_test(tc, confirmed_items_stay_taken);
	tcase_add_test(tc, unconfirmed_items_keep_their_place_in_lifo_and_priority_queues);
	tcase_add_test(tc, an_unconfirmed_item_goes_to_a_waiting_getter);
	tcase_add_test(tc, a_parked_confirming_getter_gets_a_delivery_id);
	tcase_add_test(tc, an_unconfirmed_item_of_a_deleted_queue_is_dropped);
	tcase_add_test(tc, bad_confirmations_are_errors);
	tcase_add_test(tc, batched_gets_carry_delivery_ids);
	tcase_add_test(tc, thirty_thousand_confirmations_in_one_request);
	suite_add_tcase(s, tc);
	return run_suite(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
