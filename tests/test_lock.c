/* test_lock.c: Lock and RLock semantics and their ties to sessions, through the op table. */
#include <stdlib.h>

#include "check_util.h"

static session *a, *b, *c;

static void setup(void)
{
	h_setup();
	a = h_session();
	b = h_session();
	c = h_session();
}

static json_int_t fence(const json_t *reply)
{
	json_t *r = h_result(reply);
	ck_assert(json_is_true(json_object_get(r, "acquired")));
	return json_integer_value(json_object_get(r, "fence"));
}

static json_t *stat_of(session *s, const char *name)
{
	char req[96];
	snprintf(req, sizeof req, "{\"op\":\"stat\",\"name\":\"%s\"}", name);
	return h_result(h_call(s, req));
}

#define ACQUIRE "{\"op\":\"lock.acquire\",\"name\":\"L\"}"
#define RELEASE "{\"op\":\"lock.release\",\"name\":\"L\"}"

START_TEST(acquire_release_and_fencing_tokens)
{
	EXPECT_OK(a, "{\"op\":\"lock.locked\",\"name\":\"L\"}", "false");
	ck_assert_int_eq(fence(h_call(a, ACQUIRE)), 1);
	EXPECT_OK(b, "{\"op\":\"lock.locked\",\"name\":\"L\"}", "true");
	EXPECT_ERR(b, RELEASE, "not_owner");
	EXPECT_OK(a, RELEASE, "null");
	EXPECT_ERR(a, RELEASE, "not_locked");
	ck_assert_int_eq(fence(h_call(b, ACQUIRE)), 2);
	EXPECT_OK(a, "{\"op\":\"lock.acquire\",\"name\":\"L\",\"block\":false}",
		  "{\"acquired\":false}");
	EXPECT_OK(a, "{\"op\":\"lock.acquire\",\"name\":\"L\",\"timeout\":0}",
		  "{\"acquired\":false}");
	EXPECT_OK(b, RELEASE, "null");
	ck_assert_int_eq(fence(h_call(c, ACQUIRE)), 3);
}
END_TEST

START_TEST(waiters_are_granted_in_arrival_order)
{
	fence(h_call(a, ACQUIRE));
	int wb = h_send(b, ACQUIRE), wc = h_send(c, ACQUIRE);
	ck_assert_ptr_null(h_reply(wb));
	json_t *waiting = json_object_get(stat_of(a, "L"), "waiting");
	ck_assert_uint_eq(json_array_size(waiting), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(waiting, 0), "session")),
			 (json_int_t)b->id);
	EXPECT_OK(a, RELEASE, "null");
	ck_assert_int_eq(fence(h_reply(wb)), 2);
	ck_assert_ptr_null(h_reply(wc));
	EXPECT_OK(b, RELEASE, "null");
	ck_assert_int_eq(fence(h_reply(wc)), 3);
}
END_TEST

START_TEST(a_timed_acquire_answers_false_after_its_timeout)
{
	fence(h_call(a, ACQUIRE));
	int w = h_send(b, "{\"op\":\"lock.acquire\",\"name\":\"L\",\"timeout\":0.2}");
	h_run(0.1);
	ck_assert_ptr_null(h_reply(w));
	h_run(0.15);
	ck_assert(h_same(h_reply(w), "{\"acquired\":false}"));
	EXPECT_OK(a, RELEASE, "null");
	EXPECT_OK(a, "{\"op\":\"lock.locked\",\"name\":\"L\"}", "false");
}
END_TEST

START_TEST(a_holder_that_goes_away_hands_the_lock_on)
{
	fence(h_call(a, ACQUIRE));
	json_t *sessions = h_result(h_call(b, "{\"op\":\"sessions\"}"));
	json_t *held = json_object_get(json_array_get(sessions, 0), "holding");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(held, 0), "kind")),
			 "lock");
	json_t *holder = json_object_get(stat_of(b, "L"), "holder");
	ck_assert_int_eq(json_integer_value(json_object_get(holder, "session")), (json_int_t)a->id);
	int w = h_send(b, ACQUIRE);
	sess_close(a);
	ck_assert_int_eq(fence(h_reply(w)), 2);
	holder = json_object_get(stat_of(c, "L"), "holder");
	ck_assert_int_eq(json_integer_value(json_object_get(holder, "session")), (json_int_t)b->id);
}
END_TEST

START_TEST(a_waiter_that_goes_away_is_never_granted)
{
	fence(h_call(a, ACQUIRE));
	h_send(b, ACQUIRE);
	int dead = h_send(c, ACQUIRE);
	sess_close(b);
	h_kill(dead);
	EXPECT_OK(a, RELEASE, "null");
	ck_assert_ptr_null(h_reply(dead));
	EXPECT_OK(a, "{\"op\":\"lock.locked\",\"name\":\"L\"}", "false");
	ck_assert_int_eq(json_integer_value(json_object_get(stat_of(a, "L"), "waiters")), 0);
}
END_TEST

START_TEST(a_lock_is_not_reentrant_an_rlock_is)
{
	fence(h_call(a, ACQUIRE));
	EXPECT_OK(a, "{\"op\":\"lock.acquire\",\"name\":\"L\",\"timeout\":0}",
		  "{\"acquired\":false}");
	EXPECT_OK(a, "{\"op\":\"rlock.acquire\",\"name\":\"R\"}",
		  "{\"acquired\":true,\"fence\":2,\"count\":1}"); /* tokens are daemon-wide */
	EXPECT_OK(a, "{\"op\":\"rlock.acquire\",\"name\":\"R\"}",
		  "{\"acquired\":true,\"fence\":2,\"count\":2}");
	int w = h_send(b, "{\"op\":\"rlock.acquire\",\"name\":\"R\"}");
	EXPECT_ERR(b, "{\"op\":\"rlock.release\",\"name\":\"R\"}", "not_owner");
	EXPECT_OK(a, "{\"op\":\"rlock.release\",\"name\":\"R\"}", "null");
	ck_assert_ptr_null(h_reply(w));
	EXPECT_OK(a, "{\"op\":\"rlock.locked\",\"name\":\"R\"}", "true");
	EXPECT_OK(a, "{\"op\":\"rlock.release\",\"name\":\"R\"}", "null");
	ck_assert(h_same(h_reply(w), "{\"acquired\":true,\"fence\":3,\"count\":1}"));
	EXPECT_ERR(a, "{\"op\":\"rlock.release\",\"name\":\"R\"}", "not_owner");
}
END_TEST

START_TEST(an_rlock_held_twice_is_released_whole_when_its_session_ends)
{
	EXPECT_OK(a, "{\"op\":\"rlock.acquire\",\"name\":\"R\"}",
		  "{\"acquired\":true,\"fence\":1,\"count\":1}");
	EXPECT_OK(a, "{\"op\":\"rlock.acquire\",\"name\":\"R\"}",
		  "{\"acquired\":true,\"fence\":1,\"count\":2}");
	int w = h_send(b, "{\"op\":\"rlock.acquire\",\"name\":\"R\"}");
	sess_close(a);
	ck_assert(h_same(h_reply(w), "{\"acquired\":true,\"fence\":2,\"count\":1}"));
}
END_TEST

START_TEST(deleting_a_held_lock)
{
	fence(h_call(a, ACQUIRE));
	int w = h_send(b, ACQUIRE);
	EXPECT_OK(c, "{\"op\":\"del\",\"name\":\"L\"}", "true");
	ck_assert_str_eq(h_code(h_reply(w)), "deleted");
	json_t *sessions = h_result(h_call(c, "{\"op\":\"sessions\"}"));
	ck_assert_uint_eq(json_array_size(json_object_get(json_array_get(sessions, 0), "holding")),
			  0);
	ck_assert_int_eq(fence(h_call(b, ACQUIRE)), 2); /* a new lock; tokens do not restart */
	sess_close(a);
	EXPECT_OK(c, "{\"op\":\"lock.locked\",\"name\":\"L\"}", "true");
}
END_TEST

/* Fencing tokens come from one daemon-wide counter: a lock deleted and made again (or any
 * other lock) never hands out a token at or below one given before. */
START_TEST(fencing_tokens_never_repeat_across_delete_and_recreate)
{
	json_int_t f1 = fence(h_call(a, ACQUIRE));
	EXPECT_OK(a, RELEASE, "null");
	EXPECT_OK(a, "{\"op\":\"del\",\"name\":\"L\"}", "true");
	json_int_t f2 = fence(h_call(b, ACQUIRE));
	ck_assert_int_gt(f2, f1);
	json_int_t f3 = fence(h_call(a, "{\"op\":\"rlock.acquire\",\"name\":\"R\"}"));
	ck_assert_int_gt(f3, f2);
	EXPECT_OK(a, "{\"op\":\"del\",\"name\":\"R\"}", "true");
	EXPECT_OK(a, "{\"op\":\"del\",\"name\":\"L\"}", "true");
	json_int_t f4 = fence(h_call(c, ACQUIRE));
	ck_assert_int_gt(f4, f3);
	json_t *st = stat_of(c, "L");
	ck_assert_int_eq(json_integer_value(json_object_get(st, "fence")), f4);
	/* session ids are daemon-wide too: a new session never takes an old one's id */
	uint64_t old_id = a->id;
	sess_close(a);
	a = h_session();
	ck_assert_uint_gt(a->id, old_id);
	ck_assert_uint_gt(a->id, c->id);
}
END_TEST

START_TEST(bad_lock_requests)
{
	EXPECT_OK(a, "{\"op\":\"rlock.locked\",\"name\":\"R\"}", "false");
	EXPECT_ERR(a, "{\"op\":\"rlock.release\",\"name\":\"R\"}", "not_locked");
	EXPECT_ERR(a, "{\"op\":\"stat\",\"name\":\"R\"}", "not_found"); /* looking made none */
	EXPECT_OK(a, "{\"op\":\"rlock.acquire\",\"name\":\"R\"}",
		  "{\"acquired\":true,\"fence\":1,\"count\":1}");
	EXPECT_ERR(a, "{\"op\":\"lock.acquire\",\"name\":\"R\"}", "wrong_type");
	EXPECT_ERR(a, "{\"op\":\"dict.len\",\"name\":\"R\"}", "wrong_type");
	EXPECT_ERR(a, "{\"op\":\"lock.acquire\",\"name\":\"L\",\"timeout\":-2}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"lock.release\"}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"batch\",\"ops\":[{\"op\":\"lock.acquire\",\"name\":\"L\"}]}",
		   "bad_argument");
	EXPECT_OK(a,
		  "{\"op\":\"batch\",\"ops\":[{\"op\":\"lock.acquire\",\"name\":\"L\",\"block\":"
		  "false},"
		  "{\"op\":\"lock.release\",\"name\":\"L\"}]}",
		  "[{\"ok\":true,\"result\":{\"acquired\":true,\"fence\":2,\"count\":1}},"
		  "{\"ok\":true,\"result\":null}]");
	/* confirming deliveries never lets go of a lock, whatever ids are named */
	ck_assert_int_eq(fence(h_call(a, ACQUIRE)), 3);
	EXPECT_OK(a, "{\"op\":\"ack\",\"ack\":[1,2,3]}", "null");
	EXPECT_OK(b, "{\"op\":\"lock.locked\",\"name\":\"L\"}", "true");
}
END_TEST

START_TEST(a_lapsed_lease_releases_the_lock)
{
	EXPECT_OK(a, "{\"op\":\"lock.acquire\",\"name\":\"L\",\"lease\":0.1}",
		  "{\"acquired\":true,\"fence\":1,\"count\":1}");
	json_t *holder = json_object_get(stat_of(c, "L"), "holder");
	ck_assert(json_real_value(json_object_get(holder, "lease_left")) > 0);
	int w = h_send(b, "{\"op\":\"lock.acquire\",\"name\":\"L\",\"lease\":0.2}");
	h_run(0.05);
	ck_assert_ptr_null(h_reply(w)); /* not before the lease lapses */
	h_run(0.1);
	ck_assert_int_eq(fence(h_reply(w)), 2);
	EXPECT_ERR(a, RELEASE, "lease_expired"); /* the hung holder learns it lost the lock */
	EXPECT_ERR(a, RELEASE, "not_owner");
	json_t *sessions = h_result(h_call(c, "{\"op\":\"sessions\"}"));
	ck_assert_uint_eq(json_array_size(json_object_get(json_array_get(sessions, 0), "holding")),
			  0);
	h_run(0.2); /* b's own lease lapses too */
	EXPECT_OK(c, "{\"op\":\"lock.locked\",\"name\":\"L\"}", "false");
	EXPECT_ERR(b, RELEASE, "lease_expired");
	EXPECT_ERR(b, RELEASE, "not_locked");
}
END_TEST

START_TEST(a_release_in_time_keeps_the_lease_quiet)
{
	EXPECT_OK(a, "{\"op\":\"lock.acquire\",\"name\":\"L\",\"lease\":0.1}",
		  "{\"acquired\":true,\"fence\":1,\"count\":1}");
	EXPECT_OK(a, RELEASE, "null");
	EXPECT_OK(b, ACQUIRE, "{\"acquired\":true,\"fence\":2,\"count\":1}");
	h_run(0.15);
	EXPECT_OK(c, "{\"op\":\"lock.locked\",\"name\":\"L\"}", "true"); /* b has no lease */
	EXPECT_ERR(a, "{\"op\":\"lock.acquire\",\"name\":\"L\",\"lease\":0}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"lock.acquire\",\"name\":\"L\",\"lease\":\"1\"}", "bad_argument");
	EXPECT_OK(a, "{\"op\":\"del\",\"name\":\"L\"}", "true");
	EXPECT_OK(a, "{\"op\":\"lock.acquire\",\"name\":\"L\",\"lease\":0.05}",
		  "{\"acquired\":true,\"fence\":3,\"count\":1}"); /* not 1: daemon-wide */
	EXPECT_OK(a, "{\"op\":\"del\",\"name\":\"L\"}", "true");  /* deleting clears the lease */
	h_run(0.1);
	EXPECT_OK(a, "{\"op\":\"ping\"}", "\"pong\"");
}
END_TEST

/* ---- owners within a session (PROTOCOL.md "Owners within a session") ---- */

#define LOCK_OP(op, owner) "{\"op\":\"lock." op "\",\"name\":\"L\",\"owner\":" #owner "}"
#define RLOCK_OP(op, owner) "{\"op\":\"rlock." op "\",\"name\":\"R\",\"owner\":" #owner "}"

START_TEST(a_lock_held_by_one_owner_is_not_held_by_another)
{
	fence(h_call(a, LOCK_OP("acquire", 1)));
	EXPECT_OK(a, "{\"op\":\"lock.acquire\",\"name\":\"L\",\"owner\":2,\"block\":false}",
		  "{\"acquired\":false}");
	EXPECT_ERR(a, LOCK_OP("release", 2), "not_owner");
	EXPECT_ERR(a, RELEASE, "not_owner"); /* no owner is owner 0 */
	json_t *holder = json_object_get(stat_of(a, "L"), "holder");
	ck_assert_int_eq(json_integer_value(json_object_get(holder, "owner")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(holder, "session")), (json_int_t)a->id);
	int w = h_send(a, LOCK_OP("acquire", 2)); /* parks, as another session would */
	ck_assert_ptr_null(h_reply(w));
	json_t *waiting = json_object_get(stat_of(a, "L"), "waiting");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(waiting, 0), "owner")),
			 2);
	EXPECT_OK(a, LOCK_OP("release", 1), "null");
	ck_assert_int_eq(fence(h_reply(w)), 2);
	EXPECT_ERR(a, LOCK_OP("release", 1), "not_owner");
	EXPECT_OK(a, LOCK_OP("release", 2), "null");
	EXPECT_ERR(a, LOCK_OP("release", 2), "not_locked");
}
END_TEST

START_TEST(an_rlock_is_reentrant_only_for_its_owner)
{
	EXPECT_OK(a, RLOCK_OP("acquire", 1), "{\"acquired\":true,\"fence\":1,\"count\":1}");
	EXPECT_OK(a, RLOCK_OP("acquire", 1), "{\"acquired\":true,\"fence\":1,\"count\":2}");
	int w = h_send(a, RLOCK_OP("acquire", 2));
	ck_assert_ptr_null(h_reply(w));
	EXPECT_ERR(a, RLOCK_OP("release", 2), "not_owner");
	EXPECT_OK(a, RLOCK_OP("release", 1), "null");
	ck_assert_ptr_null(h_reply(w)); /* owner 1 still holds it once */
	EXPECT_OK(a, RLOCK_OP("release", 1), "null");
	ck_assert(h_same(h_reply(w), "{\"acquired\":true,\"fence\":2,\"count\":1}"));
	EXPECT_OK(a, RLOCK_OP("acquire", 2), "{\"acquired\":true,\"fence\":2,\"count\":2}");
	json_t *sessions = h_result(h_call(b, "{\"op\":\"sessions\"}"));
	json_t *hold = json_array_get(json_object_get(json_array_get(sessions, 0), "holding"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(hold, "owner")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(hold, "count")), 2);
}
END_TEST

#define CV(op, owner) "{\"op\":\"condition." op "\",\"name\":\"C\",\"owner\":" #owner "}"

START_TEST(a_condition_belongs_to_the_owner_holding_its_lock)
{
	EXPECT_OK(a, "{\"op\":\"condition.create\",\"name\":\"C\",\"lock\":\"L\"}", "true");
	fence(h_call(a, CV("acquire", 1)));
	EXPECT_ERR(a, CV("wait", 2), "not_owner");
	EXPECT_ERR(a, CV("notify", 2), "not_owner");
	EXPECT_ERR(a, "{\"op\":\"condition.wait\",\"name\":\"C\"}", "not_owner");
	int w = h_send(a, CV("wait", 1));
	ck_assert_ptr_null(h_reply(w));
	fence(h_call(b, CV("acquire", 7))); /* another session, any owner */
	EXPECT_OK(b, CV("notify", 7), "1");
	EXPECT_OK(b, CV("release", 7), "null");
	ck_assert(h_same(h_reply(w), "{\"notified\":true,\"fence\":3,\"count\":1}"));
	EXPECT_ERR(a, CV("release", 2), "not_owner"); /* taken back by owner 1, not another */
	EXPECT_OK(a, CV("notify", 1), "0");
	EXPECT_OK(a, CV("release", 1), "null");
}
END_TEST

START_TEST(a_semaphore_may_be_released_by_any_owner_of_the_session)
{
	EXPECT_OK(a, "{\"op\":\"semaphore.create\",\"name\":\"S\",\"value\":2}", "true");
	EXPECT_OK(a, "{\"op\":\"semaphore.acquire\",\"name\":\"S\",\"owner\":1}",
		  "{\"acquired\":true,\"value\":1}");
	EXPECT_OK(a, "{\"op\":\"semaphore.acquire\",\"name\":\"S\",\"owner\":3}",
		  "{\"acquired\":true,\"value\":0}");
	json_t *holders = json_object_get(stat_of(a, "S"), "holders");
	ck_assert_uint_eq(json_array_size(holders), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(holders, 1), "owner")),
			 3);
	EXPECT_OK(a, "{\"op\":\"semaphore.release\",\"name\":\"S\",\"owner\":2}", "null");
	EXPECT_OK(a, "{\"op\":\"semaphore.release\",\"name\":\"S\",\"owner\":3}", "null");
	holders = json_object_get(stat_of(a, "S"), "holders");
	ck_assert_uint_eq(json_array_size(holders), 0); /* the session holds nothing any more */
	sess_close(a);
	EXPECT_OK(b, "{\"op\":\"semaphore.value\",\"name\":\"S\"}",
		  "2"); /* not counted back twice */
}
END_TEST

START_TEST(a_closed_session_releases_what_every_owner_held)
{
	fence(h_call(a, LOCK_OP("acquire", 1)));
	fence(h_call(a, RLOCK_OP("acquire", 2)));
	EXPECT_OK(a, "{\"op\":\"semaphore.acquire\",\"name\":\"S\",\"owner\":3}",
		  "{\"acquired\":true,\"value\":0}");
	int wl = h_send(b, ACQUIRE), wr = h_send(b, "{\"op\":\"rlock.acquire\",\"name\":\"R\"}");
	int ws = h_send(b, "{\"op\":\"semaphore.acquire\",\"name\":\"S\"}");
	sess_close(a);
	fence(h_reply(wl));
	fence(h_reply(wr));
	ck_assert(h_same(h_reply(ws), "{\"acquired\":true,\"value\":0}"));
}
END_TEST

START_TEST(a_lapsed_lease_is_reported_to_its_owner_only)
{
	EXPECT_OK(a, "{\"op\":\"lock.acquire\",\"name\":\"L\",\"owner\":1,\"lease\":0.05}",
		  "{\"acquired\":true,\"fence\":1,\"count\":1}");
	h_run(0.1);
	EXPECT_ERR(a, LOCK_OP("release", 2), "not_locked");
	EXPECT_ERR(a, LOCK_OP("release", 1), "lease_expired");
	EXPECT_ERR(a, LOCK_OP("release", 1), "not_locked");
}
END_TEST

/* Many owners of one session hold permits of one semaphore (each a hold of its own, found
 * by (session, owner) without a scan); the session's end gives every permit back. */
START_TEST(many_owners_hold_permits_until_the_session_ends)
{
	enum { OWNERS = 2000 };
	EXPECT_OK(a, "{\"op\":\"semaphore.create\",\"name\":\"S\",\"value\":3000}", "true");
	json_t *ops = json_array();
	for (int i = 1; i <= OWNERS; i++)
		json_array_append_new(ops,
				      json_pack("{s:s, s:s, s:i, s:b}", "op", "semaphore.acquire",
						"name", "S", "owner", i, "block", 0));
	json_t *req = json_pack("{s:s, s:o}", "op", "batch", "ops", ops);
	char *text = json_dumps(req, JSON_COMPACT);
	json_t *results = h_result(h_call(a, text));
	ck_assert(
		h_same(json_array_get(results, OWNERS - 1), "{\"acquired\":true,\"value\":1000}"));
	EXPECT_OK(a, "{\"op\":\"semaphore.acquire\",\"name\":\"S\",\"owner\":7}",
		  "{\"acquired\":true,\"value\":999}"); /* owner 7's hold grows */
	json_t *holders = json_object_get(stat_of(a, "S"), "holders");
	ck_assert_uint_eq(json_array_size(holders), OWNERS);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(holders, 6), "permits")),
			 2);
	sess_close(a);
	EXPECT_OK(b, "{\"op\":\"semaphore.value\",\"name\":\"S\"}", "3000");
	free(text);
	json_decref(req);
}
END_TEST

START_TEST(bad_owners)
{
	EXPECT_ERR(a, LOCK_OP("acquire", -1), "bad_argument");
	EXPECT_ERR(a, LOCK_OP("acquire", 1.5), "bad_argument");
	EXPECT_ERR(a, LOCK_OP("acquire", "1"), "bad_argument");
	EXPECT_ERR(a, LOCK_OP("acquire", null), "bad_argument");
	EXPECT_ERR(a, LOCK_OP("acquire", 9007199254740993), "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"queue.get\",\"name\":\"q\",\"owner\":1}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"ping\",\"owner\":1}", "bad_argument");
	EXPECT_ERR(a,
		   "{\"op\":\"batch\",\"ops\":[{\"op\":\"lock.locked\",\"name\":\"L\","
		   "\"owner\":-2}]}",
		   "bad_argument");
	EXPECT_OK(a, LOCK_OP("locked", 5), "false");
	EXPECT_OK(a, "{\"op\":\"semaphore.value\",\"name\":\"S\",\"owner\":0}", "1");
	fence(h_call(a, LOCK_OP("acquire", 9007199254740992)));
	json_t *hello = h_result(h_call(a, "{\"op\":\"hello\"}"));
	ck_assert(json_is_true(json_object_get(hello, "owners")));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lock");
	TCase *tc = tcase_create("lock");
	tcase_add_checked_fixture(tc, setup, h_teardown);
	tcase_add_test(tc, acquire_release_and_fencing_tokens);
	tcase_add_test(tc, waiters_are_granted_in_arrival_order);
	tcase_add_test(tc, a_timed_acquire_answers_false_after_its_timeout);
	tcase_add_test(tc, a_holder_that_goes_away_hands_the_lock_on);
	tcase_add_test(tc, a_waiter_that_goes_away_is_never_granted);
	tcase_add_test(tc, a_lock_is_not_reentrant_an_rlock_is);
	tcase_add_test(tc, an_rlock_held_twice_is_released_whole_when_its_session_ends);
	tcase_add_test(tc, deleting_a_held_lock);
	tcase_add_test(tc, fencing_tokens_never_repeat_across_delete_and_recreate);
	tcase_add_test(tc, bad_lock_requests);
	tcase_add_test(tc, a_lapsed_lease_releases_the_lock);
	tcase_add_test(tc, a_release_in_time_keeps_the_lease_quiet);
	tcase_add_test(tc, a_lock_held_by_one_owner_is_not_held_by_another);
	tcase_add_test(tc, an_rlock_is_reentrant_only_for_its_owner);
	tcase_add_test(tc, a_condition_belongs_to_the_owner_holding_its_lock);
	tcase_add_test(tc, a_semaphore_may_be_released_by_any_owner_of_the_session);
	tcase_add_test(tc, a_closed_session_releases_what_every_owner_held);
	tcase_add_test(tc, a_lapsed_lease_is_reported_to_its_owner_only);
	tcase_add_test(tc, many_owners_hold_permits_until_the_session_ends);
	tcase_add_test(tc, bad_owners);
	suite_add_tcase(s, tc);
	return run_suite(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
