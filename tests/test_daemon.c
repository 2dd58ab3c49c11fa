/* test_daemon.c: a real brokerd driven by libbroker and worker processes: delivery,
 * blocking and timeouts, fairness, clients killed while parked, bad input, limits and
 * shutdown. */
#include <check.h>
#include <math.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "run_suite.h"

static struct daemon d;
static brk_client *c;

static void setup(void)
{
	daemon_open(&d, &c);
}

static void teardown(void)
{
	daemon_shut(&d, c);
}

static void put_int(const char *name, long v)
{
	json_t *j = json_integer(v);
	ck_assert_int_eq(brk_queue_put(c, name, j, BRK_FOREVER), BRK_OK);
	json_decref(j);
}

START_TEST(ping_and_info)
{
	json_t *info = NULL;
	ck_assert_int_eq(brk_ping(c), BRK_OK);
	/* daemon_start's probe client has closed, but brokerd learns of it asynchronously */
	wait_sessions(c, 1);
	ck_assert_int_eq(brk_info(c, &info), BRK_OK);
	json_t *l = json_array_get(json_object_get(info, "listeners"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(l, "url")), d.url);
	ck_assert_int_eq(json_integer_value(json_object_get(l, "max_message")), 16 << 20);
	ck_assert_int_eq(json_integer_value(json_object_get(info, "sessions")), 1);
	ck_assert_uint_gt(brk_session_id(c), 0);
	json_decref(info);
}
END_TEST

START_TEST(producers_and_consumers_deliver_each_item_once)
{
	enum { PRODUCERS = 3, CONSUMERS = 3, EACH = 300 };
	int out[CONSUMERS], seen[PRODUCERS * EACH] = {0};
	pid_t cons[CONSUMERS], prod[PRODUCERS];
	for (int i = 0; i < CONSUMERS; i++)
		cons[i] = spawn_worker(&d, &out[i], "consume", "work", NULL);
	for (int i = 0; i < PRODUCERS; i++) {
		char from[16];
		snprintf(from, sizeof from, "%d", i * EACH);
		prod[i] = spawn_worker(&d, NULL, "produce", "work", from, "300", NULL);
	}
	for (int i = 0; i < PRODUCERS; i++)
		ck_assert_int_eq(child_exit(prod[i]), 0);
	json_t *stop = json_null();
	for (int i = 0; i < CONSUMERS; i++)
		ck_assert_int_eq(brk_queue_put(c, "work", stop, BRK_FOREVER), BRK_OK);
	int total = 0;
	for (int i = 0; i < CONSUMERS; i++) {
		FILE *f = fdopen(out[i], "r");
		int v;
		while (fscanf(f, "%d", &v) == 1) {
			ck_assert(v >= 0 && v < PRODUCERS * EACH);
			seen[v]++;
			total++;
		}
		fclose(f);
		ck_assert_int_eq(child_exit(cons[i]), 0);
	}
	ck_assert_int_eq(total, PRODUCERS * EACH);
	for (int v = 0; v < PRODUCERS * EACH; v++)
		ck_assert_msg(seen[v] == 1, "item %d delivered %d times", v, seen[v]);
	size_t left;
	ck_assert_int_eq(brk_queue_qsize(c, "work", &left), BRK_OK);
	ck_assert_uint_eq(left, 0);
}
END_TEST

START_TEST(timeouts_end_waits_after_not_before)
{
	json_t *v = NULL;
	double t0 = test_now();
	ck_assert_int_eq(brk_queue_get(c, "empty", 0.3, &v), BRK_EEMPTY);
	double waited = test_now() - t0;
	ck_assert_msg(waited >= 0.3 && waited < 5, "get waited %.3f s", waited);
	ck_assert_int_eq(brk_queue_create(c, "one", BRK_FIFO, 1), BRK_OK);
	put_int("one", 1);
	json_t *two = json_integer(2);
	t0 = test_now();
	ck_assert_int_eq(brk_queue_put(c, "one", two, 0.3), BRK_EFULL);
	waited = test_now() - t0;
	ck_assert_msg(waited >= 0.3 && waited < 5, "put waited %.3f s", waited);
	ck_assert_int_eq(brk_queue_put(c, "one", two, 0), BRK_EFULL);
	ck_assert_int_eq(brk_queue_get(c, "empty", 0, &v), BRK_EEMPTY);
	ck_assert_str_eq(brk_last_error(), "queue 'empty' is empty");
	json_decref(two);
}
END_TEST

START_TEST(a_parked_get_is_served_by_another_process)
{
	ck_assert_int_eq(brk_queue_create(c, "q", BRK_FIFO, 0), BRK_OK);
	int out;
	pid_t getter = spawn_worker(&d, &out, "get", "q", "10", NULL);
	wait_stat(c, "q", "getters", 1);
	json_t *v = json_pack("{s:i}", "job", 42);
	ck_assert_int_eq(brk_queue_put(c, "q", v, BRK_FOREVER), BRK_OK);
	json_decref(v);
	char buf[64] = {0};
	ck_assert_int_gt(read(out, buf, sizeof buf - 1), 0);
	close(out);
	ck_assert_str_eq(buf, "{\"job\": 42}\n");
	ck_assert_int_eq(child_exit(getter), 0);
}
END_TEST

START_TEST(parked_getters_are_served_first_come_first_served)
{
	enum { N = 4 };
	int out[N];
	pid_t pid[N];
	ck_assert_int_eq(brk_queue_create(c, "q", BRK_FIFO, 0), BRK_OK);
	for (int i = 0; i < N; i++) {
		pid[i] = spawn_worker(&d, &out[i], "get", "q", "30", NULL);
		wait_stat(c, "q", "getters", i + 1);
	}
	for (int i = 0; i < N; i++)
		put_int("q", 100 + i);
	for (int i = 0; i < N; i++) {
		char buf[32] = {0};
		ck_assert_int_gt(read(out[i], buf, sizeof buf - 1), 0);
		close(out[i]);
		ck_assert_int_eq(atoi(buf), 100 + i);
		ck_assert_int_eq(child_exit(pid[i]), 0);
	}
}
END_TEST

START_TEST(join_returns_when_every_task_is_done)
{
	put_int("q", 1);
	put_int("q", 2);
	pid_t joiner = spawn_worker(&d, NULL, "join", "q", "30", NULL);
	wait_stat(c, "q", "joiners", 1);
	json_t *v = NULL;
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(brk_queue_get(c, "q", 0, &v), BRK_OK);
		json_decref(v);
		ck_assert_int_eq(stat_count(c, "q", "joiners"), 1);
		ck_assert_int_eq(brk_queue_task_done(c, "q"), BRK_OK);
	}
	ck_assert_int_eq(child_exit(joiner), 0);
	ck_assert_int_eq(brk_queue_task_done(c, "q"), BRK_EVALUE);
	ck_assert_int_eq(brk_queue_join(c, "q", 0), BRK_OK);
	put_int("q", 3);
	ck_assert_int_eq(brk_queue_join(c, "q", 0.2), BRK_ETIMEOUT);
}
END_TEST

START_TEST(a_getter_killed_while_parked_does_not_take_the_next_item)
{
	ck_assert_int_eq(brk_queue_create(c, "q", BRK_FIFO, 0), BRK_OK);
	pid_t victim = spawn_worker(&d, NULL, "get", "q", "60", NULL);
	wait_stat(c, "q", "getters", 1);
	kill(victim, SIGKILL);
	ck_assert_int_eq(child_exit(victim), 128 + SIGKILL);
	wait_stat(c, "q", "getters", 0);
	wait_sessions(c, 1);
	json_t *v = json_string("precious"), *got = NULL;
	ck_assert_int_eq(brk_queue_put(c, "q", v, BRK_FOREVER), BRK_OK);
	ck_assert_int_eq(brk_queue_get(c, "q", 0, &got), BRK_OK);
	ck_assert(json_equal(got, v));
	json_decref(v);
	json_decref(got);
}
END_TEST

START_TEST(a_putter_killed_while_parked_adds_nothing)
{
	ck_assert_int_eq(brk_queue_create(c, "q", BRK_FIFO, 1), BRK_OK);
	put_int("q", 1);
	pid_t victim = spawn_worker(&d, NULL, "put", "q", "\"ghost\"", "60", NULL);
	wait_stat(c, "q", "putters", 1);
	kill(victim, SIGKILL);
	child_exit(victim);
	wait_stat(c, "q", "putters", 0);
	json_t *got = NULL;
	ck_assert_int_eq(brk_queue_get(c, "q", 0, &got), BRK_OK);
	ck_assert_int_eq(json_integer_value(got), 1);
	json_decref(got);
	ck_assert_int_eq(brk_queue_get(c, "q", 0, &got), BRK_EEMPTY);
	ck_assert_int_eq(stat_count(c, "q", "unfinished"), 1);
}
END_TEST

/* raw_exchange: sends text on a bare nng REQ socket; the reply's error code or "ok",
 * or "none" if no reply came within 2 s. */
static const char *raw_exchange(nng_socket s, const void *text, size_t len, char *code, size_t size)
{
	nng_msg *m;
	nng_msg_alloc(&m, 0);
	nng_msg_append(m, text, len);
	if (nng_sendmsg(s, m, 0) != 0 || nng_recvmsg(s, &m, 0) != 0) {
		snprintf(code, size, "none");
		return code;
	}
	json_t *r = json_loadb(nng_msg_body(m), nng_msg_len(m), 0, NULL);
	const char *e = json_string_value(json_object_get(r, "error"));
	snprintf(code, size, "%s", json_is_true(json_object_get(r, "ok")) ? "ok" : e ? e : "?");
	json_decref(r);
	nng_msg_free(m);
	return code;
}

START_TEST(bad_input_gets_clear_errors_and_the_daemon_keeps_serving)
{
	nng_socket s;
	char code[64];
	ck_assert_int_eq(nng_req0_open(&s), 0);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 2000);
	ck_assert_int_eq(nng_dial(s, d.url, NULL, 0), 0);
	const char *cases[][2] = {
		{"not json at all", "bad_request"},
		{"{\"op\":\"queue.put\",\"name\":\"q\",\"value\":", "bad_request"},
		{"[\"queue.get\"]", "bad_request"},
		{"{\"op\":\"queue.teleport\",\"name\":\"q\"}", "unknown_op"},
		{"{\"op\":\"queue.put\",\"name\":\"q\"}", "bad_argument"},
		{"{\"op\":\"queue.get\",\"name\":\"q\",\"timeout\":\"soon\"}", "bad_argument"},
		{"{\"op\":\"dict.set\",\"name\":\"q\",\"key\":1,\"value\":2}", "wrong_type"},
		{"{\"op\":\"dict.get\",\"name\":\"d\",\"key\":{\"a\":1}}", "bad_argument"},
		{"{\"op\":\"ping\"}", "ok"},
	};
	ck_assert_int_eq(brk_queue_create(c, "q", BRK_FIFO, 0), BRK_OK);
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		ck_assert_str_eq(
			raw_exchange(s, cases[i][0], strlen(cases[i][0]), code, sizeof code),
			cases[i][1]);
	const char binary[] = {'\xff', '\0', '\x01', '{'};
	ck_assert_str_eq(raw_exchange(s, binary, sizeof binary, code, sizeof code), "bad_request");
	nng_close(s);
	ck_assert_int_eq(brk_ping(c), BRK_OK);
}
END_TEST

START_TEST(oversized_requests_are_refused_and_the_daemon_keeps_serving)
{
	brk_close(c);
	ck_assert_int_eq(daemon_stop(&d), 0);
	const char *const small[] = {"--max-message", "1K", NULL};
	daemon_start(&d, small);
	c = daemon_client(&d);
	ck_assert_uint_eq(brk_max_message(c), 1024);
	char big[2048];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	json_t *k = json_string("k"), *v = json_string(big);
	ck_assert_int_eq(brk_dict_set(c, "d", k, v), BRK_ETOOBIG);
	ck_assert_ptr_nonnull(strstr(brk_last_error(), "over brokerd's limit of 1024 bytes"));
	/* A client that skips the check gets too_big, read from the length header alone (the
	 * body is skipped unread), and its connection goes on serving it. */
	nng_socket s;
	char code[16], raw[4096];
	ck_assert_int_eq(nng_req0_open(&s), 0);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 1000);
	ck_assert_int_eq(nng_dial(s, d.url, NULL, 0), 0);
	int n = snprintf(raw, sizeof raw,
			 "{\"op\":\"dict.set\",\"name\":\"d\",\"key\":\"k\",\"value\":\"%s\"}",
			 big);
	ck_assert_str_eq(raw_exchange(s, raw, (size_t)n, code, sizeof code), "too_big");
	ck_assert_str_eq(raw_exchange(s, "{\"op\":\"ping\"}", 13, code, sizeof code), "ok");
	nng_close(s);
	ck_assert_int_eq(brk_ping(c), BRK_OK);
	size_t len = 9;
	ck_assert_int_eq(brk_dict_len(c, "d", &len), BRK_OK);
	ck_assert_uint_eq(len, 0);
	json_decref(k);
	json_decref(v);
}
END_TEST

START_TEST(sigterm_answers_parked_clients_and_exits_zero)
{
	enum { N = 3 };
	pid_t pid[N];
	ck_assert_int_eq(brk_queue_create(c, "q", BRK_FIFO, 0), BRK_OK);
	for (int i = 0; i < N; i++)
		pid[i] = spawn_worker(&d, NULL, "get", "q", "-1", NULL);
	wait_stat(c, "q", "getters", N);
	brk_close(c);
	c = NULL;
	kill(d.pid, SIGTERM);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(child_exit(pid[i]), BRK_ESHUTDOWN);
	ck_assert_int_eq(child_exit(d.pid), 0);
	d.pid = 0;
}
END_TEST

struct hammer {
	brk_client *c;
	int index;
	int failures;
};

static void *hammer(void *arg)
{
	struct hammer *h = arg;
	for (int i = 0; i < 200; i++) {
		json_t *k = json_pack("[ii]", h->index, i), *v = json_integer(i), *got = NULL;
		json_t *key = json_integer(h->index * 1000 + i);
		if (brk_dict_set(h->c, "shared", key, v) ||
		    brk_dict_get(h->c, "shared", key, &got) || json_integer_value(got) != i)
			h->failures++;
		json_decref(k);
		json_decref(v);
		json_decref(key);
		json_decref(got);
	}
	return NULL;
}

START_TEST(threads_share_one_client)
{
	enum { T = 8 };
	pthread_t th[T];
	struct hammer h[T];
	for (int i = 0; i < T; i++) {
		h[i] = (struct hammer){c, i, 0};
		pthread_create(&th[i], NULL, hammer, &h[i]);
	}
	for (int i = 0; i < T; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(h[i].failures, 0);
	}
	size_t len;
	ck_assert_int_eq(brk_dict_len(c, "shared", &len), BRK_OK);
	ck_assert_uint_eq(len, T * 200);
}
END_TEST

static void *blocking_get(void *arg)
{
	json_t *v = NULL;
	brk_err err = brk_queue_get(arg, "many", 30, &v);
	json_decref(v);
	return (void *)(long)err;
}

START_TEST(more_than_64_blocking_calls_on_one_client)
{
	enum { T = 70 };
	pthread_t th[T];
	ck_assert_int_eq(brk_queue_create(c, "many", BRK_FIFO, 0), BRK_OK);
	for (int i = 0; i < T; i++)
		pthread_create(&th[i], NULL, blocking_get, c);
	brk_client *other = daemon_client(&d);
	wait_stat(other, "many", "getters", 64);
	for (int i = 0; i < T; i++) {
		json_t *v = json_integer(i);
		ck_assert_int_eq(brk_queue_put(other, "many", v, BRK_FOREVER), BRK_OK);
		json_decref(v);
	}
	for (int i = 0; i < T; i++) {
		void *rc;
		pthread_join(th[i], &rc);
		ck_assert_int_eq((long)rc, BRK_OK);
	}
	brk_close(other);
}
END_TEST

START_TEST(batches_are_atomic_and_in_order)
{
	json_t *ops = json_array(), *results = NULL, *r = NULL;
	for (int i = 0; i < 64; i++)
		json_array_append_new(
			ops, brk_request_new("queue.put", "b",
					     json_pack("{s:i, s:b}", "value", i, "block", 0)));
	json_array_append_new(ops, brk_request_new("queue.qsize", "b", NULL));
	json_array_append_new(ops,
			      brk_request_new("queue.get", "b", json_pack("{s:b}", "block", 0)));
	json_array_append_new(ops,
			      brk_request_new("dict.get", "nodict", json_pack("{s:i}", "key", 1)));
	ck_assert_int_eq(brk_batch(c, ops, &results), BRK_OK);
	ck_assert_uint_eq(json_array_size(results), 67);
	ck_assert_int_eq(brk_batch_result(results, 64, &r), BRK_OK);
	ck_assert_int_eq(json_integer_value(r), 64);
	ck_assert_int_eq(brk_batch_result(results, 65, &r), BRK_OK);
	ck_assert_int_eq(json_integer_value(r), 0);
	ck_assert_int_eq(brk_batch_result(results, 66, &r), BRK_EKEY);
	ck_assert_int_eq(brk_batch_result(results, 67, &r), BRK_EINVAL);
	json_decref(results);
	json_array_append_new(ops, brk_request_new("queue.get", "b", NULL));
	ck_assert_int_eq(brk_batch(c, ops, &results), BRK_EBADARG);
	ck_assert_ptr_null(results);
	json_decref(ops);
}
END_TEST

START_TEST(connect_failures_are_reported)
{
	brk_client *x = NULL;
	ck_assert_int_eq(brk_connect("ipc:///nonexistent/brokerd.sock", NULL, &x), BRK_ECONNECT);
	ck_assert_ptr_null(x);
	ck_assert_ptr_nonnull(strstr(brk_last_error(), "ipc:///nonexistent/brokerd.sock"));
	ck_assert_int_eq(brk_connect("bogus://x", NULL, &x), BRK_EINVAL);
}
END_TEST

START_TEST(a_second_daemon_on_the_same_address_fails_cleanly)
{
	char out[256];
	char *argv[] = {BROKERD_BIN, "--listen", d.url, NULL};
	ck_assert_int_eq(run_tool(argv, out, sizeof out), 1);
	ck_assert_int_eq(brk_ping(c), BRK_OK);
}
END_TEST

START_TEST(a_stale_socket_file_is_reused_after_a_crash)
{
	brk_close(c);
	c = NULL;
	kill(d.pid, SIGKILL);
	child_exit(d.pid);
	char path[160];
	snprintf(path, sizeof path, "%s/b.sock", d.dir);
	ck_assert_int_eq(access(path, F_OK), 0);
	d.pid = spawn((char *[]){BROKERD_BIN, "--listen", d.url, NULL});
	brk_client *x = connect_when_up(d.url);
	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(brk_ping(x), BRK_OK);
	c = x;
}
END_TEST

START_TEST(an_item_received_but_not_confirmed_returns_when_the_client_goes)
{
	put_int("q", 1);
	put_int("q", 2);
	nng_socket s;
	char reply[256];
	ck_assert_int_eq(nng_req0_open(&s), 0);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 2000);
	ck_assert_int_eq(nng_dial(s, d.url, NULL, 0), 0);
	const char get[] = "{\"op\":\"queue.get\",\"name\":\"q\",\"confirm\":true}";
	nng_msg *m;
	nng_msg_alloc(&m, 0);
	nng_msg_append(m, get, strlen(get));
	ck_assert_int_eq(nng_sendmsg(s, m, 0), 0);
	ck_assert_int_eq(nng_recvmsg(s, &m, 0), 0);
	snprintf(reply, sizeof reply, "%.*s", (int)nng_msg_len(m), (char *)nng_msg_body(m));
	nng_msg_free(m);
	ck_assert_str_eq(reply, "{\"ok\":true,\"result\":1,\"delivery\":1}");
	wait_sessions(c, 2);
	nng_close(s); /* gone without confirming */
	wait_sessions(c, 1);
	json_t *v = NULL;
	ck_assert_int_eq(brk_queue_get(c, "q", 0, &v), BRK_OK);
	ck_assert_int_eq(json_integer_value(v), 1);
	json_decref(v);
}
END_TEST

START_TEST(libbroker_confirms_what_it_received)
{
	put_int("q", 1);
	put_int("q", 2);
	int out;
	pid_t pid = spawn_worker(&d, &out, "get", "q", "5", NULL);
	ck_assert_int_eq(child_exit(pid), 0);
	close(out);
	wait_sessions(c, 1);
	size_t n;
	ck_assert_int_eq(brk_queue_qsize(c, "q", &n), BRK_OK);
	ck_assert_uint_eq(n, 1);
	/* and within one client, each next call confirms the items before it */
	json_t *v = NULL, *sessions = NULL;
	ck_assert_int_eq(brk_queue_get(c, "q", 0, &v), BRK_OK);
	json_decref(v);
	ck_assert_int_eq(brk_sessions(c, &sessions), BRK_OK);
	ck_assert_int_eq(json_array_size(json_object_get(json_array_get(sessions, 0), "holding")),
			 0);
	json_decref(sessions);
}
END_TEST

START_TEST(an_item_put_as_its_parked_getter_is_killed_is_never_lost)
{
	/* No waiting for brokerd to notice the death: the put races it. Whichever wins, the
	 * item must end up back in the queue. */
	ck_assert_int_eq(brk_queue_create(c, "race", BRK_FIFO, 0), BRK_OK);
	for (int round = 0; round < 20; round++) {
		pid_t victim = spawn_worker(&d, NULL, "get", "race", "60", NULL);
		wait_stat(c, "race", "getters", 1);
		kill(victim, SIGKILL);
		put_int("race", round);
		ck_assert_int_eq(child_exit(victim), 128 + SIGKILL);
		wait_sessions(c, 1);
		json_t *v = NULL;
		ck_assert_int_eq(brk_queue_get(c, "race", 0, &v), BRK_OK);
		ck_assert_int_eq(json_integer_value(v), round);
		json_decref(v);
	}
}
END_TEST

static void teardown_maybe_stopped(void)
{
	brk_close(c);
	if (d.pid > 0)
		ck_assert_int_eq(daemon_stop(&d), 0);
	else
		rmdir(d.dir);
}

int main(void)
{
	Suite *s = suite_create("daemon");
	TCase *tc = tcase_create("daemon");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, ping_and_info);
	tcase_add_test(tc, producers_and_consumers_deliver_each_item_once);
	tcase_add_test(tc, timeouts_end_waits_after_not_before);
	tcase_add_test(tc, a_parked_get_is_served_by_another_process);
	tcase_add_test(tc, parked_getters_are_served_first_come_first_served);
	tcase_add_test(tc, join_returns_when_every_task_is_done);
	tcase_add_test(tc, a_getter_killed_while_parked_does_not_take_the_next_item);
	tcase_add_test(tc, a_putter_killed_while_parked_adds_nothing);
	tcase_add_test(tc, bad_input_gets_clear_errors_and_the_daemon_keeps_serving);
	tcase_add_test(tc, oversized_requests_are_refused_and_the_daemon_keeps_serving);
	tcase_add_test(tc, threads_share_one_client);
	tcase_add_test(tc, more_than_64_blocking_calls_on_one_client);
	tcase_add_test(tc, batches_are_atomic_and_in_order);
	tcase_add_test(tc, connect_failures_are_reported);
	tcase_add_test(tc, a_second_daemon_on_the_same_address_fails_cleanly);
	tcase_add_test(tc, an_item_received_but_not_confirmed_returns_when_the_client_goes);
	tcase_add_test(tc, libbroker_confirms_what_it_received);
	tcase_add_test(tc, an_item_put_as_its_parked_getter_is_killed_is_never_lost);
	suite_add_tcase(s, tc);
	TCase *stops = tcase_create("stops");
	tcase_set_timeout(stops, 60);
	tcase_add_checked_fixture(stops, setup, teardown_maybe_stopped);
	tcase_add_test(stops, sigterm_answers_parked_clients_and_exits_zero);
	tcase_add_test(stops, a_stale_socket_file_is_reused_after_a_crash);
	suite_add_tcase(s, stops);
	return run_suite(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
