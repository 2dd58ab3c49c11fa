/* test_sync.c: Semaphore, BoundedSemaphore and Event semantics, through the op table. */
#include <stdlib.h>
#include <string.h>

#include "check_util.h"

static session *a, *b, *c;

static void setup(void)
{
	h_setup();
	a = h_session();
	b = h_session();
	c = h_session();
}

START_TEST(a_semaphore_counts_permits)
{
	EXPECT_OK(a, "{\"op\":\"semaphore.acquire\",\"name\":\"S\"}",
		  "{\"acquired\":true,\"value\":0}");
	EXPECT_OK(b, "{\"op\":\"semaphore.acquire\",\"name\":\"S\",\"block\":false}",
		  "{\"acquired\":false}");
	EXPECT_OK(b, "{\"op\":\"semaphore.release\",\"name\":\"S\"}", "null"); /* anyone may */
	EXPECT_OK(b, "{\"op\":\"semaphore.release\",\"name\":\"S\",\"n\":2}", "null");
	EXPECT_OK(a, "{\"op\":\"semaphore.value\",\"name\":\"S\"}", "3"); /* unbounded grows */
	EXPECT_ERR(a, "{\"op\":\"semaphore.create\",\"name\":\"S\",\"value\":3}", "exists");
	EXPECT_OK(a, "{\"op\":\"semaphore.create\",\"name\":\"S\"}", "false");
}
END_TEST

START_TEST(a_bounded_semaphore_refuses_extra_releases)
{
	EXPECT_OK(a, "{\"op\":\"semaphore.create\",\"name\":\"B\",\"value\":3,\"bounded\":true}",
		  "true");
	EXPECT_OK(a, "{\"op\":\"semaphore.acquire\",\"name\":\"B\",\"n\":2}",
		  "{\"acquired\":true,\"value\":1}");
	EXPECT_ERR(a, "{\"op\":\"semaphore.release\",\"name\":\"B\",\"n\":3}", "value_error");
	EXPECT_OK(a, "{\"op\":\"semaphore.release\",\"name\":\"B\",\"n\":2}", "null");
	EXPECT_ERR(a, "{\"op\":\"semaphore.release\",\"name\":\"B\"}", "value_error");
	EXPECT_ERR(a, "{\"op\":\"semaphore.acquire\",\"name\":\"B\",\"n\":4}", "value_error");
	EXPECT_OK(a, "{\"op\":\"semaphore.value\",\"name\":\"B\"}", "3");
}
END_TEST

START_TEST(waiters_are_served_in_order_without_overtaking)
{
	EXPECT_OK(a, "{\"op\":\"semaphore.create\",\"name\":\"S\",\"value\":2}", "true");
	EXPECT_OK(a, "{\"op\":\"semaphore.acquire\",\"name\":\"S\",\"n\":2}",
		  "{\"acquired\":true,\"value\":0}");
	int wb = h_send(b, "{\"op\":\"semaphore.acquire\",\"name\":\"S\",\"n\":2}");
	int wc = h_send(c, "{\"op\":\"semaphore.acquire\",\"name\":\"S\"}");
	EXPECT_OK(a, "{\"op\":\"semaphore.release\",\"name\":\"S\"}", "null");
	ck_assert_ptr_null(h_reply(wb));
	ck_assert_ptr_null(h_reply(wc)); /* one permit is free, but b came first */
	EXPECT_OK(a, "{\"op\":\"semaphore.release\",\"name\":\"S\"}", "null");
	ck_assert(h_same(h_reply(wb), "{\"acquired\":true,\"value\":0}"));
	ck_assert_ptr_null(h_reply(wc));
	EXPECT_OK(b, "{\"op\":\"semaphore.release\",\"name\":\"S\"}", "null");
	ck_assert(h_same(h_reply(wc), "{\"acquired\":true,\"value\":0}"));
}
END_TEST

START_TEST(permits_come_back_when_their_session_ends)
{
	EXPECT_OK(a, "{\"op\":\"semaphore.create\",\"name\":\"S\",\"value\":3,\"bounded\":true}",
		  "true");
	EXPECT_OK(a, "{\"op\":\"semaphore.acquire\",\"name\":\"S\",\"n\":2}",
		  "{\"acquired\":true,\"value\":1}");
	json_t *sessions = h_result(h_call(c, "{\"op\":\"sessions\"}"));
	json_t *held = json_array_get(json_object_get(json_array_get(sessions, 0), "holding"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(held, "kind")), "semaphore");
	ck_assert_int_eq(json_integer_value(json_object_get(held, "permits")), 2);
	int wb = h_send(b, "{\"op\":\"semaphore.acquire\",\"name\":\"S\",\"n\":2}");
	int dead = h_send(c, "{\"op\":\"semaphore.acquire\",\"name\":\"S\",\"n\":3}");
	sess_close(c);
	ck_assert_ptr_null(h_reply(dead));
	sess_close(a);
	ck_assert(h_same(h_reply(wb), "{\"acquired\":true,\"value\":1}"));
	session *d = h_session();
	EXPECT_OK(d, "{\"op\":\"semaphore.value\",\"name\":\"S\"}", "1");
	sess_close(b);
	EXPECT_OK(d, "{\"op\":\"semaphore.value\",\"name\":\"S\"}", "3");
}
END_TEST

START_TEST(a_bounded_semaphore_stays_bounded_whoever_releases)
{
	EXPECT_OK(a, "{\"op\":\"semaphore.create\",\"name\":\"B\",\"value\":1,\"bounded\":true}",
		  "true");
	EXPECT_OK(a, "{\"op\":\"semaphore.acquire\",\"name\":\"B\"}",
		  "{\"acquired\":true,\"value\":0}");
	EXPECT_OK(b, "{\"op\":\"semaphore.release\",\"name\":\"B\"}", "null"); /* a's permit */
	EXPECT_OK(c, "{\"op\":\"semaphore.value\",\"name\":\"B\"}", "1");
	sess_close(a); /* it holds nothing any more: gives back nothing */
	EXPECT_OK(c, "{\"op\":\"semaphore.value\",\"name\":\"B\"}", "1");
	EXPECT_OK(c, "{\"op\":\"semaphore.acquire\",\"name\":\"B\"}",
		  "{\"acquired\":true,\"value\":0}");
	EXPECT_OK(b, "{\"op\":\"semaphore.acquire\",\"name\":\"B\",\"block\":false}",
		  "{\"acquired\":false}");
	/* the same in the other order of ends: the releaser ends before the holder */
	EXPECT_OK(b, "{\"op\":\"semaphore.release\",\"name\":\"B\"}", "null");
	sess_close(b);
	sess_close(c);
	session *d = h_session();
	EXPECT_OK(d, "{\"op\":\"semaphore.value\",\"name\":\"B\"}", "1");
	EXPECT_ERR(d, "{\"op\":\"semaphore.release\",\"name\":\"B\"}", "value_error");
}
END_TEST

START_TEST(a_timed_semaphore_acquire_answers_false)
{
	EXPECT_OK(a, "{\"op\":\"semaphore.create\",\"name\":\"S\",\"value\":0}", "true");
	int w = h_send(b, "{\"op\":\"semaphore.acquire\",\"name\":\"S\",\"timeout\":0.1}");
	h_run(0.05);
	ck_assert_ptr_null(h_reply(w));
	h_run(0.1);
	ck_assert(h_same(h_reply(w), "{\"acquired\":false}"));
}
END_TEST

/* The oldest waiter timing out lets those behind it be served at once, not at the next
 * release. */
START_TEST(a_timed_out_first_waiter_lets_the_next_be_served)
{
	EXPECT_OK(a, "{\"op\":\"semaphore.acquire\",\"name\":\"S\"}",
		  "{\"acquired\":true,\"value\":0}");
	int wb =
		h_send(b, "{\"op\":\"semaphore.acquire\",\"name\":\"S\",\"n\":2,\"timeout\":0.05}");
	int wc = h_send(c, "{\"op\":\"semaphore.acquire\",\"name\":\"S\"}");
	EXPECT_OK(a, "{\"op\":\"semaphore.release\",\"name\":\"S\"}", "null");
	ck_assert_ptr_null(h_reply(wc));
	h_run(0.1);
	ck_assert(h_same(h_reply(wb), "{\"acquired\":false}"));
	ck_assert(h_same(h_reply(wc), "{\"acquired\":true,\"value\":0}"));
}
END_TEST

START_TEST(a_first_waiter_that_goes_away_lets_the_next_be_served)
{
	EXPECT_OK(a, "{\"op\":\"semaphore.acquire\",\"name\":\"S\"}",
		  "{\"acquired\":true,\"value\":0}");
	h_send(b, "{\"op\":\"semaphore.acquire\",\"name\":\"S\",\"n\":2}");
	int wc = h_send(c, "{\"op\":\"semaphore.acquire\",\"name\":\"S\"}");
	EXPECT_OK(a, "{\"op\":\"semaphore.release\",\"name\":\"S\"}", "null");
	ck_assert_ptr_null(h_reply(wc));
	sess_close(b);
	ck_assert(h_same(h_reply(wc), "{\"acquired\":true,\"value\":0}"));
}
END_TEST

START_TEST(bad_semaphore_requests)
{
	EXPECT_ERR(a, "{\"op\":\"semaphore.create\",\"name\":\"S\",\"value\":-1}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"semaphore.create\",\"name\":\"S\",\"bounded\":1}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"semaphore.acquire\",\"name\":\"S\",\"n\":0}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"semaphore.release\",\"name\":\"S\",\"n\":\"1\"}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"event.set\",\"name\":\"S\"}", "wrong_type");
}
END_TEST

START_TEST(an_event_wakes_every_waiter)
{
	int w1 = h_send(a, "{\"op\":\"event.wait\",\"name\":\"E\"}");
	int w2 = h_send(b, "{\"op\":\"event.wait\",\"name\":\"E\",\"timeout\":30}");
	ck_assert_ptr_null(h_reply(w1));
	EXPECT_OK(c, "{\"op\":\"event.is_set\",\"name\":\"E\"}", "false");
	EXPECT_OK(c, "{\"op\":\"event.set\",\"name\":\"E\"}", "null");
	ck_assert(h_same(h_reply(w1), "true"));
	ck_assert(h_same(h_reply(w2), "true"));
	EXPECT_OK(a, "{\"op\":\"event.wait\",\"name\":\"E\"}", "true");
	EXPECT_OK(c, "{\"op\":\"event.clear\",\"name\":\"E\"}", "null");
	EXPECT_OK(a, "{\"op\":\"event.wait\",\"name\":\"E\",\"timeout\":0}", "false");
	int w3 = h_send(a, "{\"op\":\"event.wait\",\"name\":\"E\",\"timeout\":0.1}");
	h_run(0.15);
	ck_assert(h_same(h_reply(w3), "false"));
}
END_TEST

START_TEST(an_event_waiter_that_goes_away_is_withdrawn)
{
	h_send(a, "{\"op\":\"event.wait\",\"name\":\"E\"}");
	sess_close(a);
	json_t *st = h_result(h_call(b, "{\"op\":\"stat\",\"name\":\"E\"}"));
	ck_assert_int_eq(json_integer_value(json_object_get(st, "waiters")), 0);
	EXPECT_OK(b, "{\"op\":\"event.set\",\"name\":\"E\"}", "null");
}
END_TEST

#define BWAIT "{\"op\":\"barrier.wait\",\"name\":\"B\"}"

START_TEST(a_barrier_lets_everyone_go_when_all_arrive)
{
	EXPECT_OK(a, "{\"op\":\"barrier.create\",\"name\":\"B\",\"parties\":3}", "true");
	for (int round = 0; round < 2; round++) {
		int wa = h_send(a, BWAIT), wb = h_send(b, BWAIT);
		ck_assert_ptr_null(h_reply(wa));
		json_t *st = h_result(h_call(c, "{\"op\":\"stat\",\"name\":\"B\"}"));
		ck_assert_int_eq(json_integer_value(json_object_get(st, "n_waiting")), 2);
		EXPECT_OK(c, BWAIT, "2");
		ck_assert(h_same(h_reply(wa), "0"));
		ck_assert(h_same(h_reply(wb), "1"));
	}
}
END_TEST

START_TEST(a_timeout_breaks_the_barrier_until_reset)
{
	EXPECT_OK(a, "{\"op\":\"barrier.create\",\"name\":\"B\",\"parties\":3}", "true");
	int wa = h_send(a, "{\"op\":\"barrier.wait\",\"name\":\"B\",\"timeout\":0.1}");
	int wb = h_send(b, BWAIT);
	h_run(0.05);
	ck_assert_ptr_null(h_reply(wa));
	h_run(0.1);
	ck_assert_str_eq(h_code(h_reply(wa)), "broken_barrier");
	ck_assert_str_eq(h_code(h_reply(wb)), "broken_barrier");
	EXPECT_ERR(c, BWAIT, "broken_barrier");
	json_t *st = h_result(h_call(c, "{\"op\":\"stat\",\"name\":\"B\"}"));
	ck_assert(json_is_true(json_object_get(st, "broken")));
	EXPECT_OK(c, "{\"op\":\"barrier.reset\",\"name\":\"B\"}", "null");
	h_send(a, BWAIT);
	h_send(b, BWAIT);
	EXPECT_OK(c, BWAIT, "2");
}
END_TEST

START_TEST(a_party_that_goes_away_breaks_the_round)
{
	EXPECT_OK(a, "{\"op\":\"barrier.create\",\"name\":\"B\",\"parties\":3,\"timeout\":30}",
		  "true");
	int wa = h_send(a, BWAIT);
	h_send(b, BWAIT);
	sess_close(b);
	ck_assert_str_eq(h_code(h_reply(wa)), "broken_barrier");
	EXPECT_ERR(c, BWAIT, "broken_barrier"); /* not a silent trip with a dead member */
}
END_TEST

START_TEST(abort_reset_and_bad_barrier_requests)
{
	EXPECT_ERR(a, BWAIT, "not_found");
	EXPECT_ERR(a, "{\"op\":\"barrier.create\",\"name\":\"B\"}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"barrier.create\",\"name\":\"B\",\"parties\":0}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"barrier.create\",\"name\":\"B\",\"parties\":2,\"timeout\":-1}",
		   "bad_argument");
	EXPECT_OK(a, "{\"op\":\"barrier.create\",\"name\":\"B\",\"parties\":2}", "true");
	EXPECT_OK(a, "{\"op\":\"barrier.create\",\"name\":\"B\",\"parties\":2}", "false");
	EXPECT_ERR(a, "{\"op\":\"barrier.create\",\"name\":\"B\",\"parties\":3}", "exists");
	int wa = h_send(a, BWAIT);
	EXPECT_OK(b, "{\"op\":\"barrier.reset\",\"name\":\"B\"}", "null");
	ck_assert_str_eq(h_code(h_reply(wa)), "broken_barrier");
	wa = h_send(a, BWAIT);
	EXPECT_OK(b, "{\"op\":\"barrier.abort\",\"name\":\"B\"}", "null");
	ck_assert_str_eq(h_code(h_reply(wa)), "broken_barrier");
	EXPECT_ERR(b, BWAIT, "broken_barrier");
	EXPECT_OK(b, "{\"op\":\"barrier.reset\",\"name\":\"B\"}", "null");
	EXPECT_ERR(b, "{\"op\":\"barrier.wait\",\"name\":\"B\",\"timeout\":0}", "broken_barrier");
	EXPECT_OK(b, "{\"op\":\"barrier.reset\",\"name\":\"B\"}", "null");
	EXPECT_OK(a,
		  "{\"op\":\"batch\",\"ops\":[{\"op\":\"barrier.wait\",\"name\":\"B\",\"timeout\":"
		  "0}]}",
		  "[{\"ok\":false,\"error\":\"broken_barrier\",\"message\":"
		  "\"barrier 'B' broke: not all parties had arrived\"}]");
	EXPECT_OK(b, "{\"op\":\"barrier.reset\",\"name\":\"B\"}", "null");
	int w = h_send(a, BWAIT);
	EXPECT_OK(b,
		  "{\"op\":\"batch\",\"ops\":[{\"op\":\"barrier.wait\",\"name\":\"B\",\"timeout\":"
		  "0}]}",
		  "[{\"ok\":true,\"result\":1}]");
	ck_assert(h_same(h_reply(w), "0"));
}
END_TEST

#define CV_ACQ "{\"op\":\"condition.acquire\",\"name\":\"C\"}"
#define CV_WAIT "{\"op\":\"condition.wait\",\"name\":\"C\"}"
#define CV_NOTIFY "{\"op\":\"condition.notify\",\"name\":\"C\"}"
#define CV_REL "{\"op\":\"condition.release\",\"name\":\"C\"}"

static void make_condition(const char *lock_op)
{
	char req[128];
	snprintf(req, sizeof req, "{\"op\":\"%s\",\"name\":\"L\",\"block\":false}", lock_op);
	h_call(c, req); /* creates the lock of the wanted kind, then lets it go */
	snprintf(req, sizeof req, "{\"op\":\"%s\",\"name\":\"L\"}",
		 strncmp(lock_op, "rlock", 5) ? "lock.release" : "rlock.release");
	EXPECT_OK(c, req, "null");
	EXPECT_OK(a, "{\"op\":\"condition.create\",\"name\":\"C\",\"lock\":\"L\"}", "true");
}

START_TEST(wait_releases_the_lock_and_takes_it_back_when_notified)
{
	make_condition("lock.acquire");
	EXPECT_OK(a, CV_ACQ, "{\"acquired\":true,\"fence\":2,\"count\":1}");
	int w = h_send(a, CV_WAIT);
	ck_assert_ptr_null(h_reply(w));
	EXPECT_OK(b, CV_ACQ, "{\"acquired\":true,\"fence\":3,\"count\":1}"); /* it was released */
	EXPECT_OK(b, CV_NOTIFY, "1");
	ck_assert_ptr_null(h_reply(w)); /* notified, but b still holds the lock */
	EXPECT_OK(b, CV_REL, "null");
	ck_assert(h_same(h_reply(w), "{\"notified\":true,\"fence\":4,\"count\":1}"));
	EXPECT_OK(c, "{\"op\":\"lock.locked\",\"name\":\"L\"}", "true");
	EXPECT_OK(a, CV_REL, "null");
}
END_TEST

START_TEST(a_timed_out_wait_still_takes_the_lock_back)
{
	make_condition("lock.acquire");
	EXPECT_OK(a, CV_ACQ, "{\"acquired\":true,\"fence\":2,\"count\":1}");
	int w = h_send(a, "{\"op\":\"condition.wait\",\"name\":\"C\",\"timeout\":0.1}");
	h_run(0.15);
	ck_assert(h_same(h_reply(w), "{\"notified\":false,\"fence\":3,\"count\":1}"));
	EXPECT_OK(a, "{\"op\":\"condition.wait\",\"name\":\"C\",\"timeout\":0}",
		  "{\"notified\":false,\"fence\":4,\"count\":1}");
}
END_TEST

START_TEST(a_condition_waiter_that_goes_away_never_keeps_the_lock)
{
	make_condition("lock.acquire");
	session *d = h_session();
	EXPECT_OK(a, CV_ACQ, "{\"acquired\":true,\"fence\":2,\"count\":1}");
	h_send(a, CV_WAIT);
	EXPECT_OK(d, CV_ACQ, "{\"acquired\":true,\"fence\":3,\"count\":1}");
	h_send(d, CV_WAIT); /* d waits too: parked on the condition, lock free */
	EXPECT_OK(b, CV_ACQ, "{\"acquired\":true,\"fence\":4,\"count\":1}");
	EXPECT_OK(b, "{\"op\":\"condition.notify_all\",\"name\":\"C\"}", "2");
	sess_close(a); /* notified, queued for the lock: withdrawn */
	sess_close(d);
	EXPECT_OK(b, CV_REL, "null");
	EXPECT_OK(c, "{\"op\":\"lock.locked\",\"name\":\"L\"}", "false");
	int w = h_send(c, "{\"op\":\"stat\",\"name\":\"C\"}");
	ck_assert_int_eq(json_integer_value(json_object_get(h_result(h_reply(w)), "waiters")), 0);
}
END_TEST

START_TEST(an_rlock_condition_restores_the_count)
{
	make_condition("rlock.acquire");
	EXPECT_OK(a, CV_ACQ, "{\"acquired\":true,\"fence\":2,\"count\":1}");
	EXPECT_OK(a, CV_ACQ, "{\"acquired\":true,\"fence\":2,\"count\":2}");
	int w = h_send(a, CV_WAIT);
	EXPECT_OK(b, CV_ACQ, "{\"acquired\":true,\"fence\":3,\"count\":1}");
	EXPECT_OK(b, "{\"op\":\"condition.notify\",\"name\":\"C\",\"n\":5}", "1");
	EXPECT_OK(b, CV_REL, "null");
	ck_assert(h_same(h_reply(w), "{\"notified\":true,\"fence\":4,\"count\":2}"));
	EXPECT_OK(a, CV_REL, "null");
	EXPECT_OK(a, CV_REL, "null");
	EXPECT_ERR(a, CV_REL, "not_locked");
}
END_TEST

START_TEST(bad_condition_requests)
{
	EXPECT_ERR(a, CV_WAIT, "not_found");
	EXPECT_ERR(a, "{\"op\":\"condition.create\",\"name\":\"C\"}", "bad_argument");
	EXPECT_OK(a, "{\"op\":\"dict.set\",\"name\":\"D\",\"key\":1,\"value\":1}", "null");
	EXPECT_ERR(a, "{\"op\":\"condition.create\",\"name\":\"C\",\"lock\":\"D\"}", "wrong_type");
	EXPECT_OK(a, "{\"op\":\"condition.create\",\"name\":\"C\",\"lock\":\"L\"}", "true");
	EXPECT_OK(a, "{\"op\":\"condition.create\",\"name\":\"C\",\"lock\":\"L\"}", "false");
	EXPECT_ERR(a, "{\"op\":\"condition.create\",\"name\":\"C\",\"lock\":\"M\"}", "exists");
	EXPECT_ERR(a, CV_WAIT, "not_owner");
	EXPECT_ERR(a, CV_NOTIFY, "not_owner");
	EXPECT_OK(b, CV_ACQ, "{\"acquired\":true,\"fence\":1,\"count\":1}");
	EXPECT_ERR(a, CV_WAIT, "not_owner");
	EXPECT_ERR(a, CV_REL, "not_owner");
	EXPECT_ERR(b, "{\"op\":\"condition.notify\",\"name\":\"C\",\"n\":-1}", "bad_argument");
	EXPECT_ERR(b, "{\"op\":\"batch\",\"ops\":[{\"op\":\"condition.wait\",\"name\":\"C\"}]}",
		   "bad_argument");
	EXPECT_OK(b,
		  "{\"op\":\"batch\",\"ops\":[{\"op\":\"condition.wait\",\"name\":\"C\","
		  "\"timeout\":0}]}",
		  "[{\"ok\":false,\"error\":\"bad_argument\","
		  "\"message\":\"condition.wait cannot be part of a batch\"}]");
	EXPECT_OK(b, "{\"op\":\"lock.locked\",\"name\":\"L\"}", "true"); /* still b's */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sync");
	TCase *tc = tcase_create("sync");
	tcase_add_checked_fixture(tc, setup, h_teardown);
	tcase_add_test(tc, a_semaphore_counts_permits);
	tcase_add_test(tc, a_bounded_semaphore_refuses_extra_releases);
	tcase_add_test(tc, waiters_are_served_in_order_without_overtaking);
	tcase_add_test(tc, permits_come_back_when_their_session_ends);
	tcase_add_test(tc, a_bounded_semaphore_stays_bounded_whoever_releases);
	tcase_add_test(tc, a_timed_semaphore_acquire_answers_false);
	tcase_add_test(tc, a_timed_out_first_waiter_lets_the_next_be_served);
	tcase_add_test(tc, a_first_waiter_that_goes_away_lets_the_next_be_served);
	tcase_add_test(tc, bad_semaphore_requests);
	tcase_add_test(tc, an_event_wakes_every_waiter);
	tcase_add_test(tc, an_event_waiter_that_goes_away_is_withdrawn);
	tcase_add_test(tc, a_barrier_lets_everyone_go_when_all_arrive);
	tcase_add_test(tc, a_timeout_breaks_the_barrier_until_reset);
	tcase_add_test(tc, a_party_that_goes_away_breaks_the_round);
	tcase_add_test(tc, abort_reset_and_bad_barrier_requests);
	tcase_add_test(tc, wait_releases_the_lock_and_takes_it_back_when_notified);
	tcase_add_test(tc, a_timed_out_wait_still_takes_the_lock_back);
	tcase_add_test(tc, a_condition_waiter_that_goes_away_never_keeps_the_lock);
	tcase_add_test(tc, an_rlock_condition_restores_the_count);
	tcase_add_test(tc, bad_condition_requests);
	suite_add_tcase(s, tc);
	return run_suite(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
