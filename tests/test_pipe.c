/* test_pipe.c: pipes between real processes through a real brokerd and libbroker: the
 * classic producer and consumer, one-way misuse, maxlength, full directions, holders killed
 * with SIGKILL, 100,000 messages exchanged, and a receiver killed right after a message was
 * handed to it. Children never call Check (test_fork); they report by exit status. */
#include <check.h>
#include <pthread.h>
#include <signal.h>
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

/* child: runs fn in a forked process, which exits with fn's status. */
static pid_t child(int (*fn)(void))
{
	pid_t pid = test_fork();
	if (pid == 0)
		_exit(fn());
	return pid;
}

/* child_client: a client of d in a child (no Check there); NULL if it cannot connect. */
static brk_client *child_client(void)
{
	brk_client *x = NULL;
	return brk_connect(d.url, NULL, &x) == BRK_OK ? x : NULL;
}

/* end_count: the integer field of pipe name's end e in stat, or the length of an array. */
static long end_count(const char *name, const char *e, const char *field)
{
	json_t *st = NULL;
	ck_assert_int_eq(brk_stat(c, name, &st), BRK_OK);
	json_t *v = json_object_get(json_object_get(json_object_get(st, "ends"), e), field);
	long n = json_is_array(v) ? (long)json_array_size(v) : (long)json_integer_value(v);
	json_decref(st);
	return n;
}

/* wait_end: waits (up to 10 s) until end_count(name, e, field) == want. */
static void wait_end(const char *name, const char *e, const char *field, long want)
{
	long got = -1;
	struct timespec nap = {0, 5000000};
	for (int i = 0; i < 2000 && (got = end_count(name, e, field)) != want; i++)
		nanosleep(&nap, NULL);
	ck_assert_msg(got == want, "%s end %s %s: %ld, want %ld", name, e, field, got, want);
}

static void send_int(brk_pipe_end end, long v, brk_err want)
{
	json_t *j = json_integer(v);
	ck_assert_int_eq(brk_pipe_send(c, "p", end, j, 10), want);
	json_decref(j);
}

static void recv_int(brk_pipe_end end, long want)
{
	json_t *v = NULL;
	ck_assert_int_eq(brk_pipe_recv(c, "p", end, 10, &v), BRK_OK);
	ck_assert_int_eq(json_integer_value(v), want);
	json_decref(v);
}

/* ---- the classic example ---- */

static int producer(void)
{
	brk_client *x = child_client();
	if (!x)
		return 10;
	for (int i = 0; i < 5; i++) {
		json_t *v = json_pack("{s:i, s:s}", "n", i, "text", "hello");
		brk_err err = brk_pipe_send(x, "p", BRK_PIPE_B, v, 10);
		json_decref(v);
		if (err)
			return 20 + i;
	}
	if (brk_pipe_close(x, "p", BRK_PIPE_B) != BRK_OK)
		return 30;
	brk_close(x);
	return 0;
}

START_TEST(a_producer_sends_five_and_closes_the_consumer_gets_five_then_eof)
{
	json_t *v = NULL;
	ck_assert_int_eq(brk_pipe_create(c, "p", false, 0, 0), BRK_OK);
	/* the consumer is there first: its receive waits for the producer */
	ck_assert_int_eq(brk_pipe_open(c, "p", BRK_PIPE_A), BRK_OK);
	pid_t pid = child(producer);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(brk_pipe_recv(c, "p", BRK_PIPE_A, 10, &v), BRK_OK);
		ck_assert_int_eq(json_integer_value(json_object_get(v, "n")), i);
		ck_assert_str_eq(json_string_value(json_object_get(v, "text")), "hello");
		json_decref(v);
	}
	ck_assert_int_eq(brk_pipe_recv(c, "p", BRK_PIPE_A, 10, &v), BRK_EEOF);
	ck_assert_int_eq(brk_pipe_recv(c, "p", BRK_PIPE_A, 0, &v), BRK_EEOF);
	ck_assert_int_eq(child_exit(pid), 0);
	bool ready = false;
	ck_assert_int_eq(brk_pipe_poll(c, "p", BRK_PIPE_A, 0, &ready), BRK_OK);
	ck_assert(ready); /* EOF is ready */
}
END_TEST

/* ---- misuse and limits ---- */

START_TEST(one_way_misuse_is_wrong_end)
{
	json_t *one = json_integer(1), *v = NULL;
	bool ready;
	ck_assert_int_eq(brk_pipe_create(c, "p", false, 0, 0), BRK_OK);
	ck_assert_int_eq(brk_pipe_send(c, "p", BRK_PIPE_A, one, 0), BRK_EWRONGEND);
	ck_assert_ptr_nonnull(strstr(brk_last_error(), "only receives"));
	ck_assert_int_eq(brk_pipe_recv(c, "p", BRK_PIPE_B, 0, &v), BRK_EWRONGEND);
	ck_assert_int_eq(brk_pipe_poll(c, "p", BRK_PIPE_B, 0, &ready), BRK_EWRONGEND);
	ck_assert_int_eq(brk_pipe_send_bytes(c, "p", BRK_PIPE_A, "x", 1, 0), BRK_EWRONGEND);
	ck_assert_int_eq(brk_pipe_send(c, "p", BRK_PIPE_B, one, 0), BRK_OK);
	ck_assert_int_eq(brk_pipe_recv(c, "p", BRK_PIPE_A, 0, &v), BRK_OK);
	ck_assert_int_eq(json_integer_value(v), 1);
	json_decref(v);
	ck_assert_int_eq(brk_pipe_create(c, "p", true, 0, 0), BRK_EEXISTS);
	ck_assert_int_eq(brk_pipe_open(c, "p", (brk_pipe_end)2), BRK_EINVAL);
	json_decref(one);
}
END_TEST

START_TEST(maxlength_too_small_leaves_the_message_in_place)
{
	const char data[] = "0123456789\0\xff";
	void *got = NULL;
	size_t len = 0;
	json_t *v = NULL;
	ck_assert_int_eq(brk_pipe_send_bytes(c, "p", BRK_PIPE_A, data, sizeof data, 0), BRK_OK);
	ck_assert_int_eq(brk_pipe_recv_bytes(c, "p", BRK_PIPE_B, 4, 0, &got, &len), BRK_ETOOLONG);
	ck_assert_int_eq(brk_pipe_recv(c, "p", BRK_PIPE_B, 0, &v), BRK_ETYPE); /* bytes: stays */
	ck_assert_int_eq(brk_pipe_recv_bytes(c, "p", BRK_PIPE_B, sizeof data, 0, &got, &len),
			 BRK_OK);
	ck_assert_uint_eq(len, sizeof data);
	ck_assert_mem_eq(got, data, sizeof data);
	free(got);
	/* a JSON value received as bytes is its JSON text */
	json_t *obj = json_pack("{s:[i,b]}", "k", 1, 1);
	ck_assert_int_eq(brk_pipe_send(c, "p", BRK_PIPE_A, obj, 0), BRK_OK);
	ck_assert_int_eq(brk_pipe_recv_bytes(c, "p", BRK_PIPE_B, BRK_ANY_LENGTH, 0, &got, &len),
			 BRK_OK);
	ck_assert_str_eq(got, "{\"k\":[1,true]}");
	free(got);
	json_decref(obj);
	ck_assert_int_eq(brk_pipe_send_bytes(c, "p", BRK_PIPE_A, "", 0, 0), BRK_OK);
	ck_assert_int_eq(brk_pipe_recv_bytes(c, "p", BRK_PIPE_B, 0, 0, &got, &len), BRK_OK);
	ck_assert_uint_eq(len, 0);
	free(got);
}
END_TEST

START_TEST(a_full_direction_parks_and_times_out)
{
	ck_assert_int_eq(brk_pipe_create(c, "p", true, 2, 0), BRK_OK);
	send_int(BRK_PIPE_A, 1, BRK_OK);
	send_int(BRK_PIPE_A, 2, BRK_OK);
	json_t *three = json_integer(3);
	ck_assert_int_eq(brk_pipe_send(c, "p", BRK_PIPE_A, three, 0), BRK_EFULL);
	double t0 = test_now();
	ck_assert_int_eq(brk_pipe_send(c, "p", BRK_PIPE_A, three, 0.3), BRK_EFULL);
	double took = test_now() - t0;
	ck_assert_msg(took >= 0.3 && took < 5, "the send waited %.3f s", took);
	ck_assert_int_eq(end_count("p", "a", "senders"), 0);
	recv_int(BRK_PIPE_B, 1);
	ck_assert_int_eq(brk_pipe_send(c, "p", BRK_PIPE_A, three, 0), BRK_OK);
	recv_int(BRK_PIPE_B, 2);
	recv_int(BRK_PIPE_B, 3);
	json_decref(three);
}
END_TEST

/* ---- a holder killed ---- */

static int holder_of_a(void)
{
	brk_client *x = child_client();
	if (!x)
		return 10;
	for (int i = 1; i <= 3; i++) {
		json_t *v = json_integer(i);
		brk_err err = brk_pipe_send(x, "p", BRK_PIPE_A, v, 10);
		json_decref(v);
		if (err)
			return 20 + i;
	}
	for (;;)
		pause(); /* killed here, holding end a */
}

struct parked_send {
	pthread_t t;
	brk_err rc;
	double took;
};

static void *send_forever(void *arg)
{
	struct parked_send *ps = arg;
	json_t *v = json_integer(99);
	double t0 = test_now();
	ps->rc = brk_pipe_send(c, "p", BRK_PIPE_B, v, BRK_FOREVER);
	ps->took = test_now() - t0;
	json_decref(v);
	return NULL;
}

START_TEST(sigkill_of_a_holder_gives_eof_after_the_buffer_and_breaks_a_parked_send)
{
	struct parked_send ps;
	ck_assert_int_eq(brk_pipe_create(c, "p", true, 3, 0), BRK_OK);
	pid_t pid = child(holder_of_a);
	wait_end("p", "b", "buffered", 3);
	for (int i = 0; i < 3; i++) /* fill the direction toward a, which never receives */
		send_int(BRK_PIPE_B, 10 + i, BRK_OK);
	ck_assert_int_eq(pthread_create(&ps.t, NULL, send_forever, &ps), 0);
	wait_end("p", "b", "senders", 1);
	double t0 = test_now();
	kill(pid, SIGKILL);
	ck_assert_int_eq(pthread_join(ps.t, NULL), 0);
	ck_assert_int_eq(ps.rc, BRK_EBROKENPIPE);
	ck_assert_msg(test_now() - t0 < 2, "the parked send broke after %.3f s", test_now() - t0);
	ck_assert_int_eq(child_exit(pid), 128 + SIGKILL);
	for (int i = 1; i <= 3; i++)
		recv_int(BRK_PIPE_B, i);
	json_t *v = NULL;
	ck_assert_int_eq(brk_pipe_recv(c, "p", BRK_PIPE_B, BRK_FOREVER, &v), BRK_EEOF);
	send_int(BRK_PIPE_B, 4, BRK_EBROKENPIPE);
	json_t *st = NULL;
	ck_assert_int_eq(brk_stat(c, "p", &st), BRK_OK);
	json_t *a = json_object_get(json_object_get(st, "ends"), "a");
	ck_assert_str_eq(json_string_value(json_object_get(a, "state")), "closed");
	ck_assert(json_is_null(json_object_get(a, "holder")));
	json_decref(st);
}
END_TEST

START_TEST(a_receiver_gets_eof_when_its_peer_dies)
{
	json_t *v = NULL;
	ck_assert_int_eq(brk_pipe_create(c, "p", true, 0, 0), BRK_OK);
	pid_t pid = child(holder_of_a);
	wait_end("p", "b", "buffered", 3);
	for (int i = 1; i <= 3; i++)
		recv_int(BRK_PIPE_B, i);
	kill(pid, SIGKILL);
	ck_assert_int_eq(brk_pipe_recv(c, "p", BRK_PIPE_B, 10, &v), BRK_EEOF);
	ck_assert_int_eq(child_exit(pid), 128 + SIGKILL);
}
END_TEST

/* ---- 100,000 messages, both ways at once ---- */

/* 100,000 messages exchanged: 50,000 each way, both ways at once (each is a round trip to
 * brokerd; more would take half a minute under ASan on a 2-core machine). */
enum { EXCHANGE = 50000 };

struct sender {
	brk_client *x;
	brk_pipe_end end;
	brk_err rc;
};

static void *send_all(void *arg)
{
	struct sender *s = arg;
	for (long i = 0; i < EXCHANGE && !s->rc; i++) {
		json_t *v = json_integer(i);
		s->rc = brk_pipe_send(s->x, "x", s->end, v, 30);
		json_decref(v);
	}
	return NULL;
}

/* exchange: sends 0..EXCHANGE-1 from end on one thread while receiving the other end's
 * on this one; each must arrive exactly once and in order, and nothing more. */
static int exchange(brk_pipe_end end)
{
	struct sender s = {child_client(), end, BRK_OK};
	pthread_t t;
	if (!s.x || brk_pipe_open(s.x, "x", end) != BRK_OK)
		return 10;
	if (pthread_create(&t, NULL, send_all, &s) != 0)
		return 11;
	for (long i = 0; i < EXCHANGE; i++) {
		json_t *v = NULL;
		if (brk_pipe_recv(s.x, "x", end, 30, &v) != BRK_OK)
			return 12;
		long got = (long)json_integer_value(v);
		json_decref(v);
		if (got != i)
			return got < i ? 13 : 14; /* a duplicate, or a loss */
	}
	pthread_join(t, NULL);
	json_t *v = NULL;
	brk_err after = brk_pipe_recv(s.x, "x", end, 0, &v); /* empty, or eof if the peer closed */
	json_decref(v);
	if (after == BRK_OK)
		return 15; /* a message more than was sent */
	if (s.rc || brk_pipe_close(s.x, "x", end) != BRK_OK)
		return 16;
	brk_close(s.x);
	return 0;
}

static int exchange_a(void)
{
	return exchange(BRK_PIPE_A);
}

static int exchange_b(void)
{
	return exchange(BRK_PIPE_B);
}

START_TEST(two_processes_exchange_100000_messages_both_ways)
{
	ck_assert_int_eq(brk_pipe_create(c, "x", true, 0, 0), BRK_OK);
	pid_t pa = child(exchange_a), pb = child(exchange_b);
	ck_assert_int_eq(child_exit(pa), 0);
	ck_assert_int_eq(child_exit(pb), 0);
	ck_assert_int_eq(end_count("x", "a", "buffered"), 0);
	ck_assert_int_eq(end_count("x", "b", "buffered"), 0);
}
END_TEST

/* ---- a receiver killed holding a message ---- */

static int receiver_of_b(void)
{
	brk_client *x = child_client();
	json_t *v = NULL;
	if (!x || brk_pipe_open(x, "p", BRK_PIPE_B) != BRK_OK)
		return 10;
	if (brk_pipe_recv(x, "p", BRK_PIPE_B, 30, &v) != BRK_OK)
		return 11;
	for (;;)
		pause(); /* killed before its next call, which would confirm the message */
}

START_TEST(a_receiver_killed_right_after_a_message_was_sent_to_it_loses_nothing)
{
	ck_assert_int_eq(brk_pipe_open(c, "p", BRK_PIPE_A), BRK_OK);
	for (int round = 0; round < 20; round++) {
		pid_t pid = child(receiver_of_b);
		wait_end("p", "b", "receivers", 1);
		send_int(BRK_PIPE_A, round, BRK_OK); /* handed to the parked receiver */
		kill(pid, SIGKILL);
		ck_assert_int_eq(child_exit(pid), 128 + SIGKILL);
		wait_sessions(c, 1);
		ck_assert_int_eq(brk_pipe_open(c, "p", BRK_PIPE_B), BRK_OK); /* take the end over */
		json_t *v = NULL;
		ck_assert_int_eq(brk_pipe_recv(c, "p", BRK_PIPE_B, 0, &v), BRK_OK);
		ck_assert_int_eq(json_integer_value(v), round);
		json_decref(v);
		ck_assert_int_eq(brk_pipe_recv(c, "p", BRK_PIPE_B, 0, &v), BRK_EEMPTY);
		ck_assert_int_eq(brk_pipe_close(c, "p", BRK_PIPE_B), BRK_OK);
	}
}
END_TEST

/* ---- holders across processes ---- */

static int opener_of_a(void)
{
	brk_client *x = child_client();
	if (!x)
		return 10;
	if (brk_pipe_open(x, "p", BRK_PIPE_A) != BRK_OK)
		return 11;
	printf("%llu\n", (unsigned long long)brk_session_id(x));
	fflush(stdout);
	for (;;)
		pause();
}

START_TEST(an_end_held_by_another_process_names_it)
{
	int fds[2];
	char line[64] = "";
	ck_assert_int_eq(pipe(fds), 0);
	pid_t pid = test_fork();
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		_exit(opener_of_a());
	}
	close(fds[1]);
	FILE *f = fdopen(fds[0], "r");
	ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	char want[96];
	snprintf(want, sizeof want, "held by session %s (pid %d)", line, (int)pid);
	ck_assert_int_eq(brk_pipe_open(c, "p", BRK_PIPE_A), BRK_EHELD);
	ck_assert_msg(strstr(brk_last_error(), want), "%s", brk_last_error());
	ck_assert_int_eq(brk_pipe_close(c, "p", BRK_PIPE_A), BRK_EHELD);
	kill(pid, SIGKILL);
	ck_assert_int_eq(child_exit(pid), 128 + SIGKILL);
	wait_sessions(c, 1);
	json_t *one = json_integer(1);
	ck_assert_int_eq(brk_pipe_send(c, "p", BRK_PIPE_A, one, 0), BRK_ECLOSED);
	ck_assert_int_eq(brk_pipe_open(c, "p", BRK_PIPE_A), BRK_OK);
	ck_assert_int_eq(brk_pipe_send(c, "p", BRK_PIPE_A, one, 0), BRK_OK);
	json_decref(one);
	recv_int(BRK_PIPE_B, 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pipe");
	TCase *tc = tcase_create("pipe");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	ADD(tc, a_producer_sends_five_and_closes_the_consumer_gets_five_then_eof);
	ADD(tc, one_way_misuse_is_wrong_end);
	ADD(tc, maxlength_too_small_leaves_the_message_in_place);
	ADD(tc, a_full_direction_parks_and_times_out);
	ADD(tc, sigkill_of_a_holder_gives_eof_after_the_buffer_and_breaks_a_parked_send);
	ADD(tc, a_receiver_gets_eof_when_its_peer_dies);
	ADD(tc, two_processes_exchange_100000_messages_both_ways);
	ADD(tc, a_receiver_killed_right_after_a_message_was_sent_to_it_loses_nothing);
	ADD(tc, an_end_held_by_another_process_names_it);
	suite_add_tcase(s, tc);
	return run_suite(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
