/* test_pool_scale.c: a pool under loads one client can send, through a real brokerd: a
 * worker of 1000 functions asking for work 2,000 times past 100,000 queued tasks of another
 * function, tasks coming in while 2,000 such workers are parked, and 100,000 parked
 * single-task pool.result requests answered by a terminate or one by one. Another client's
 * ping is answered meanwhile. A daemon that scans the queue or the parked workers per request
 * takes minutes here: the test's timeout is the failure, no timing is asserted. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "rawsp.h"
#include "run_suite.h"

#define FUNCS 1000       /* functions each worker serves: f0 .. f999 */
#define QUEUED 100000    /* tasks of "nobody" queued for the first test */
#define REQUESTS 2000    /* pool.work requests, sent in one go on one connection */
#define BATCH 25000      /* tasks per pool.submit */
#define REPLY_MS 60000   /* longer than the test's timeout: that one fails first */
#define FETCHER_CONNS 25 /* clients of parked single-task pool.result requests */
#define PER_CONN 4000    /* each parks one for each of its tasks */
#define FETCHERS (FETCHER_CONNS * PER_CONN)
#define WINDOW 4000 /* requests sent before their replies are read */
#define STATS 40000 /* stat requests past QUEUED tasks */

static struct daemon d;
static brk_client *c;
static struct sp s; /* the workers' connection */
static struct sp fetchers[FETCHER_CONNS];

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

/* call_ok: sp_call of req on sp, which must answer ok; its result (owned by the caller). */
static json_t *call_ok(struct sp *sp, const char *req)
{
	char *body = sp_call(sp, req, REPLY_MS);
	ck_assert_ptr_nonnull(body);
	json_t *r = json_loads(body, 0, NULL);
	free(body);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_null(json_object_get(r, "error"));
	json_t *result = json_incref(json_object_get(r, "result"));
	json_decref(r);
	return result;
}

/* park_fetchers: FETCHER_CONNS clients submit PER_CONN tasks of "f" each and park a
 * pool.result for each (a connection parks at most 4,096), the last task's first, so that
 * the first task done is awaited by the newest request. */
static void park_fetchers(void)
{
	char req[128];
	for (int k = 0; k < FETCHER_CONNS; k++) {
		json_t *tasks = json_array();
		for (int i = 0; i < PER_CONN; i++)
			json_array_append_new(tasks, json_pack("{s:s}", "func", "f"));
		json_t *sub = json_pack("{s:s, s:s, s:o}", "op", "pool.submit", "name", "p",
					"tasks", tasks);
		char *text = json_dumps(sub, JSON_COMPACT);
		json_decref(sub);
		ck_assert_int_eq(sp_dial(&fetchers[k], d.url, NULL), 0);
		json_decref(call_ok(&fetchers[k], text));
		free(text);
	}
	for (int k = FETCHER_CONNS - 1; k >= 0; k--) {
		struct sp *f = &fetchers[k];
		for (int id = (k + 1) * PER_CONN; id > k * PER_CONN; id--) {
			snprintf(req, sizeof req,
				 "{\"op\":\"pool.result\",\"name\":\"p\",\"tasks\":[%d]}", id);
			ck_assert_int_eq(sp_send(f, 0x80000000u | f->next_id++, req, strlen(req)),
					 0);
		}
		json_decref(call_ok(f, "{\"op\":\"ping\"}")); /* taken in order: all parked */
	}
	ck_assert_int_eq(stat_count(c, "p", "fetchers"), FETCHERS);
}

/* expect_outcomes: PER_CONN replies on each fetcher connection, each one outcome of a task
 * of that connection, ok with its id as result, or failed with error; each task once. */
static void expect_outcomes(const char *error)
{
	char *seen = calloc(FETCHERS + 1, 1);
	for (int k = 0; k < FETCHER_CONNS; k++) {
		for (int i = 0; i < PER_CONN; i++) {
			uint32_t id;
			char *body = NULL;
			size_t len = 0;
			ck_assert_int_eq(sp_recv(&fetchers[k], &id, &body, &len, REPLY_MS), 1);
			json_t *r = json_loadb(body, len, 0, NULL);
			free(body);
			json_t *outs = json_object_get(r, "result");
			json_t *out = json_array_get(outs, 0);
			json_int_t task = json_integer_value(json_object_get(out, "task"));
			ck_assert_int_eq(json_array_size(outs), 1);
			ck_assert(task > k * PER_CONN && task <= (k + 1) * PER_CONN && !seen[task]);
			seen[task] = 1;
			if (error)
				ck_assert_str_eq(json_string_value(json_object_get(out, "error")),
						 error);
			else
				ck_assert_int_eq(json_integer_value(json_object_get(out, "result")),
						 task);
			json_decref(r);
		}
		sp_close(&fetchers[k]);
	}
	free(seen);
	ck_assert_int_eq(stat_count(c, "p", "fetchers"), 0);
}

START_TEST(terminate_answers_100000_parked_single_task_results)
{
	park_fetchers();
	json_t *req = brk_request_new("pool.terminate", "p", NULL);
	ck_assert_int_eq(brk_call(c, req, NULL), BRK_OK);
	json_decref(req);
	ck_assert_int_eq(brk_ping(c), BRK_OK);
	expect_outcomes("terminated");
}
END_TEST

START_TEST(tasks_done_one_by_one_answer_100000_parked_single_task_results)
{
	struct sp wk;
	char req[160];
	park_fetchers();
	ck_assert_int_eq(sp_dial(&wk, d.url, NULL), 0);
	/* one worker: each pool.work answers the task before and takes the next, in id order */
	for (int from = 1; from <= FETCHERS; from += WINDOW) {
		int to = from + WINDOW - 1 < FETCHERS ? from + WINDOW - 1 : FETCHERS;
		for (int id = from; id <= to; id++) {
			if (id == 1)
				snprintf(req, sizeof req,
					 "{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":[\"f\"]}");
			else
				snprintf(req, sizeof req,
					 "{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":[\"f\"],"
					 "\"done\":{\"task\":%d,\"result\":%d}}",
					 id - 1, id - 1);
			ck_assert_int_eq(sp_send(&wk, 0x80000000u | (uint32_t)id, req, strlen(req)),
					 0);
		}
		for (int id = from; id <= to; id++) {
			uint32_t rid;
			char *body = NULL;
			size_t len = 0;
			ck_assert_int_eq(sp_recv(&wk, &rid, &body, &len, REPLY_MS), 1);
			ck_assert_ptr_nonnull(strstr(body, "\"task\""));
			free(body);
		}
	}
	wk.next_id = FETCHERS + 1;
	snprintf(req, sizeof req, "{\"op\":\"pool.done\",\"name\":\"p\",\"task\":%d,\"result\":%d}",
		 FETCHERS, FETCHERS);
	json_decref(call_ok(&wk, req));
	ck_assert_int_eq(brk_ping(c), BRK_OK);
	expect_outcomes(NULL);
	sp_close(&wk);
}
END_TEST

START_TEST(stat_past_100000_queued_tasks_and_one_running)
{
	const char *req = "{\"op\":\"stat\",\"name\":\"p\"}";
	submit("f", 1);
	json_decref(call_ok(&s, "{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":[\"f\"]}"));
	submit("nobody", QUEUED - 1); /* max_tasks is QUEUED */
	for (int from = 0; from < STATS; from += WINDOW) {
		for (int i = from; i < from + WINDOW; i++)
			ck_assert_int_eq(sp_send(&s, 0x80000000u | s.next_id++, req, strlen(req)),
					 0);
		for (int i = from; i < from + WINDOW; i++) {
			uint32_t id;
			json_t *r = reply_new(&id);
			json_t *running = json_object_get(json_object_get(r, "result"), "running");
			ck_assert_int_eq(json_array_size(running), 1);
			json_decref(r);
		}
	}
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
	ADD(tc, terminate_answers_100000_parked_single_task_results);
	ADD(tc, stat_past_100000_queued_tasks_and_one_running);
	ADD(tc, tasks_done_one_by_one_answer_100000_parked_single_task_results);
	suite_add_tcase(suite, tc);
	return run_suite(suite) ? EXIT_FAILURE : EXIT_SUCCESS;
}
