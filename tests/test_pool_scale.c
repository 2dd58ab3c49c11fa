/* test_pool_scale.c: a pool under loads one client can send, through a real brokerd: a
 * worker of 1000 functions asking for work 2,000 times past 100,000 queued tasks of another
 * function, and tasks coming in while 2,000 such workers are parked. Another client's ping
 * is answered meanwhile. A daemon that scans the queue or the parked workers per request
 * takes minutes here: the test's timeout is the failure, no timing is asserted. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "rawsp.h"
#include "run_suite.h"

#define FUNCS 1000     /* functions each worker serves: f0 .. f999 */
#define QUEUED 100000  /* tasks of "nobody" queued for the first test */
#define REQUESTS 2000  /* pool.work requests, sent in one go on one connection */
#define BATCH 25000    /* tasks per pool.submit */
#define REPLY_MS 60000 /* longer than the test's timeout: that one fails first */

static struct daemon d;
static brk_client *c;
static struct sp s; /* the workers' connection */

static void setup(void)
{
	daemon_open(&d, &c);
	ck_assert_int_eq(sp_dial(&s, d.url, NULL), 0);
}

static void teardown(void)
{
	sp_close(&s);
	daemon_shut(&d, c);
}

/* work_request_new: the text of a pool.work serving f0 .. f999 (none of them "nobody") with
 * timeout (JSON text: "0", or "null" for none); malloc'ed. */
static char *work_request_new(const char *timeout)
{
	json_t *funcs = json_array();
	char name[16];
	for (int i = 0; i < FUNCS; i++) {
		snprintf(name, sizeof name, "f%d", i);
		json_array_append_new(funcs, json_string(name));
	}
	json_t *req = json_pack("{s:s, s:s, s:o, s:o}", "op", "pool.work", "name", "p", "funcs",
				funcs, "timeout", json_loads(timeout, JSON_DECODE_ANY, NULL));
	char *text = json_dumps(req, JSON_COMPACT);
	ck_assert_ptr_nonnull(text);
	json_decref(req);
	return text;
}

/* send_work: REQUESTS copies of the pool.work text req on s, without waiting, under the
 * request ids 1 .. REQUESTS. */
static void send_work(const char *req)
{
	for (uint32_t i = 1; i <= REQUESTS; i++)
		ck_assert_int_eq(sp_send(&s, 0x80000000u | i, req, strlen(req)), 0);
	s.next_id = REQUESTS + 1; /* sp_call's ids follow */
}

/* reply_new: the next reply on s (its request id into *id), as JSON. */
static json_t *reply_new(uint32_t *id)
{
	char *body = NULL;
	size_t len = 0;
	ck_assert_int_eq(sp_recv(&s, id, &body, &len, REPLY_MS), 1);
	json_t *r = json_loadb(body, len, 0, NULL);
	ck_assert_ptr_nonnull(r);
	free(body);
	return r;
}

/* submit: n tasks of func, BATCH at a time, from c. */
static void submit(const char *func, int n)
{
	for (int done = 0; done < n; done += BATCH) {
		json_t *tasks = json_array();
		for (int i = done; i < n && i < done + BATCH; i++)
			json_array_append_new(tasks, json_pack("{s:s}", "func", func));
		json_t *req =
			brk_request_new("pool.submit", "p", json_pack("{s:o}", "tasks", tasks));
		ck_assert_int_eq(brk_call(c, req, NULL), BRK_OK);
		json_decref(req);
	}
}

START_TEST(work_past_100000_queued_tasks_of_a_function_nobody_serves)
{
	char *req = work_request_new("0");
	submit("nobody", QUEUED);
	send_work(req);
	ck_assert_int_eq(brk_ping(c), BRK_OK); /* another client, while those are worked through */
	for (int i = 0; i < REQUESTS; i++) {
		uint32_t id;
		json_t *r = reply_new(&id);
		ck_assert_str_eq(json_string_value(json_object_get(r, "error")), "empty");
		json_decref(r);
	}
	ck_assert_int_eq(stat_count(c, "p", "queued"), QUEUED);
	free(req);
}
END_TEST

START_TEST(tasks_come_in_while_2000_workers_of_1000_functions_are_parked)
{
	char *req = work_request_new("null");
	uint32_t id;
	send_work(req);
	/* one connection's requests are taken in order: once ping is answered, all are parked */
	char *pong = sp_call(&s, "{\"op\":\"ping\"}", REPLY_MS);
	ck_assert_ptr_nonnull(pong);
	free(pong);
	for (int i = 0; i < 4; i++) {
		submit("nobody", 5000); /* 5000 tasks none of the 2,000 workers serves */
		ck_assert_int_eq(brk_ping(c), BRK_OK);
	}
	/* a task one of them serves goes to the oldest, at once */
	submit("f999", 1);
	json_t *r = reply_new(&id);
	ck_assert_uint_eq(id, 0x80000000u | 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r, "result"), "task")),
			 20001);
	json_decref(r);
	submit("f0", 1);
	r = reply_new(&id);
	ck_assert_uint_eq(id, 0x80000000u | 2);
	json_decref(r);
	free(req);
}
END_TEST

int main(void)
{
	Suite *suite = suite_create("pool_scale");
	TCase *tc = tcase_create("pool_scale");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	ADD(tc, work_past_100000_queued_tasks_of_a_function_nobody_serves);
	ADD(tc, tasks_come_in_while_2000_workers_of_1000_functions_are_parked);
	suite_add_tcase(suite, tc);
	return run_suite(suite) ? EXIT_FAILURE : EXIT_SUCCESS;
}
