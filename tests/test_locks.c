/* test_locks.c: locks against a real brokerd and worker processes: the fault matrix
 * (holders and waiters SIGKILLed), contention with an exact count, and the ticket sale. */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* read_line_int: the next number a worker printed. */
static long read_line_int(int fd)
{
	char buf[32] = {0};
	size_t n = 0;
	while (n + 1 < sizeof buf && read(fd, buf + n, 1) == 1 && buf[n] != '\n')
		n++;
	return atol(buf);
}

static bool locked(const char *name)
{
	bool is;
	ck_assert_int_eq(brk_lock_locked(c, name, BRK_LOCK, &is), BRK_OK);
	return is;
}

START_TEST(a_killed_holder_hands_the_lock_to_the_next_waiter)
{
	int out_a, out_b;
	ck_assert(!locked("L"));
	pid_t holder = spawn_worker(&d, &out_a, "lock", "L", "-1", NULL);
	ck_assert_int_eq(read_line_int(out_a), 1);
	pid_t next = spawn_worker(&d, &out_b, "lock", "L", "0", NULL);
	wait_stat(c, "L", "waiters", 1);
	kill(holder, SIGKILL);
	ck_assert_int_eq(child_exit(holder), 128 + SIGKILL);
	ck_assert_int_eq(read_line_int(out_b), 2); /* granted, with the next fencing token */
	ck_assert_int_eq(child_exit(next), 0);
	ck_assert(!locked("L")); /* nothing stays held */
	close(out_a);
	close(out_b);
}
END_TEST

START_TEST(a_killed_waiter_is_never_granted)
{
	bool acquired;
	uint64_t fence;
	ck_assert_int_eq(brk_lock_acquire(c, "L", BRK_LOCK, 0, &acquired, &fence), BRK_OK);
	ck_assert(acquired);
	pid_t waiter = spawn_worker(&d, NULL, "lock", "L", "-1", NULL);
	wait_stat(c, "L", "waiters", 1);
	kill(waiter, SIGKILL);
	child_exit(waiter);
	wait_stat(c, "L", "waiters", 0);
	ck_assert_int_eq(brk_lock_release(c, "L", BRK_LOCK), BRK_OK);
	ck_assert(!locked("L"));
	ck_assert_int_eq(brk_lock_acquire(c, "L", BRK_LOCK, 0, &acquired, &fence), BRK_OK);
	ck_assert(acquired);
	ck_assert_uint_eq(fence, 2); /* the dead waiter never got a grant */
}
END_TEST

START_TEST(an_rlock_and_errors_through_libbroker)
{
	bool acquired;
	uint64_t fence;
	ck_assert_int_eq(brk_lock_acquire(c, "R", BRK_RLOCK, 0, &acquired, &fence), BRK_OK);
	ck_assert_int_eq(brk_lock_acquire(c, "R", BRK_RLOCK, 0, &acquired, &fence), BRK_OK);
	ck_assert(acquired);
	brk_client *other = daemon_client(&d);
	ck_assert_int_eq(brk_lock_acquire(other, "R", BRK_RLOCK, 0.1, &acquired, NULL), BRK_OK);
	ck_assert(!acquired);
	ck_assert_int_eq(brk_lock_release(other, "R", BRK_RLOCK), BRK_ENOTOWNER);
	ck_assert_int_eq(brk_lock_release(c, "R", BRK_RLOCK), BRK_OK);
	ck_assert_int_eq(brk_lock_release(c, "R", BRK_RLOCK), BRK_OK);
	ck_assert_int_eq(brk_lock_release(c, "R", BRK_RLOCK), BRK_ENOTLOCKED);
	ck_assert_int_eq(brk_lock_acquire(c, "R", BRK_LOCK, 0, &acquired, NULL), BRK_EWRONGTYPE);
	brk_close(other);
}
END_TEST

START_TEST(contended_increments_under_a_lock_are_exact)
{
	enum { P = 4, K = 100 };
	pid_t pid[P];
	char k[8];
	snprintf(k, sizeof k, "%d", K);
	for (int i = 0; i < P; i++)
		pid[i] = spawn_worker(&d, NULL, "incr", "L", "counter", k, NULL);
	for (int i = 0; i < P; i++)
		ck_assert_int_eq(child_exit(pid[i]), 0);
	json_t *key = json_string("n"), *n = NULL;
	ck_assert_int_eq(brk_dict_get(c, "counter", key, &n), BRK_OK);
	ck_assert_int_eq(json_integer_value(n), P * K);
	json_decref(key);
	json_decref(n);
	ck_assert(!locked("L"));
}
END_TEST

START_TEST(one_ticket_a_hundred_buyers_exactly_one_succeeds)
{
	enum { N = 100 };
	int out[N];
	pid_t pid[N];
	json_t *key = json_string("tickets"), *one = json_integer(1), *left = NULL;
	ck_assert_int_eq(brk_dict_set(c, "shop", key, one), BRK_OK);
	for (int i = 0; i < N; i++)
		pid[i] = spawn_worker(&d, &out[i], "buy", "L", "shop", NULL);
	int bought = 0;
	for (int i = 0; i < N; i++) {
		char buf[16] = {0};
		if (read(out[i], buf, sizeof buf - 1) > 0 && !strcmp(buf, "bought\n"))
			bought++;
		close(out[i]);
		ck_assert_int_eq(child_exit(pid[i]), 0);
	}
	ck_assert_int_eq(bought, 1);
	ck_assert_int_eq(brk_dict_get(c, "shop", key, &left), BRK_OK);
	ck_assert_int_eq(json_integer_value(left), 0);
	json_decref(key);
	json_decref(one);
	json_decref(left);
}
END_TEST

START_TEST(stat_and_sessions_show_the_holder_and_waiters)
{
	int out;
	pid_t holder = spawn_worker(&d, &out, "lock", "L", "-1", NULL);
	ck_assert_int_eq(read_line_int(out), 1);
	pid_t waiter = spawn_worker(&d, NULL, "lock", "L", "0", NULL);
	wait_stat(c, "L", "waiters", 1);
	json_t *st = NULL, *sessions = NULL;
	ck_assert_int_eq(brk_stat(c, "L", &st), BRK_OK);
	json_t *h = json_object_get(st, "holder");
	ck_assert_int_eq(json_integer_value(json_object_get(h, "pid")), holder);
	ck_assert_int_eq(json_integer_value(json_object_get(h, "fence")), 1);
	ck_assert_uint_eq(json_array_size(json_object_get(st, "waiting")), 1);
	ck_assert_int_eq(brk_sessions(c, &sessions), BRK_OK);
	size_t i;
	json_t *s;
	int holders = 0;
	json_array_foreach (sessions, i, s) {
		json_t *held = json_array_get(json_object_get(s, "holding"), 0);
		if (held && json_integer_value(json_object_get(s, "pid")) == holder &&
		    !strcmp(json_string_value(json_object_get(held, "object")), "L"))
			holders++;
	}
	ck_assert_int_eq(holders, 1);
	kill(holder, SIGKILL);
	child_exit(holder);
	ck_assert_int_eq(child_exit(waiter), 0);
	close(out);
	json_decref(st);
	json_decref(sessions);
}
END_TEST

START_TEST(permits_of_a_killed_holder_come_back)
{
	int out;
	char buf[8] = {0};
	size_t value;
	ck_assert_int_eq(brk_semaphore_create(c, "S", 3, true), BRK_OK);
	pid_t holder = spawn_worker(&d, &out, "permits", "S", "2", NULL);
	ck_assert_int_gt(read(out, buf, sizeof buf - 1), 0);
	ck_assert_int_eq(brk_semaphore_value(c, "S", &value), BRK_OK);
	ck_assert_uint_eq(value, 1);
	bool acquired;
	ck_assert_int_eq(brk_semaphore_acquire(c, "S", 2, 0, &acquired), BRK_OK);
	ck_assert(!acquired);
	kill(holder, SIGKILL);
	child_exit(holder);
	ck_assert_int_eq(brk_semaphore_acquire(c, "S", 3, 10, &acquired), BRK_OK);
	ck_assert(acquired); /* all three: the dead holder's two came back */
	ck_assert_int_eq(brk_semaphore_release(c, "S", 3), BRK_OK);
	ck_assert_int_eq(brk_semaphore_release(c, "S", 1), BRK_EVALUE);
	close(out);
}
END_TEST

START_TEST(an_event_releases_waiting_processes)
{
	pid_t w1 = spawn_worker(&d, NULL, "ewait", "go", NULL);
	pid_t w2 = spawn_worker(&d, NULL, "ewait", "go", NULL);
	ck_assert_int_eq(brk_event_clear(c, "go"), BRK_OK);
	wait_stat(c, "go", "waiters", 2);
	bool set = true;
	ck_assert_int_eq(brk_event_wait(c, "go", 0.05, &set), BRK_OK);
	ck_assert(!set);
	ck_assert_int_eq(brk_event_set(c, "go"), BRK_OK);
	ck_assert_int_eq(child_exit(w1), 0);
	ck_assert_int_eq(child_exit(w2), 0);
	ck_assert_int_eq(brk_event_is_set(c, "go", &set), BRK_OK);
	ck_assert(set);
}
END_TEST

START_TEST(a_barrier_across_processes_breaks_when_a_party_is_killed)
{
	long index;
	ck_assert_int_eq(brk_barrier_create(c, "B", 3, -1), BRK_OK);
	int o1, o2;
	pid_t p1 = spawn_worker(&d, &o1, "bwait", "B", NULL);
	pid_t p2 = spawn_worker(&d, &o2, "bwait", "B", NULL);
	wait_stat(c, "B", "n_waiting", 2);
	ck_assert_int_eq(brk_barrier_wait(c, "B", 5, &index), BRK_OK);
	ck_assert_int_eq(index, 2);
	ck_assert_int_eq(child_exit(p1), 0);
	ck_assert_int_eq(child_exit(p2), 0);
	ck_assert_int_eq(read_line_int(o1) + read_line_int(o2), 0 + 1);
	close(o1);
	close(o2);
	pid_t survivor = spawn_worker(&d, NULL, "bwait", "B", NULL);
	pid_t victim = spawn_worker(&d, NULL, "bwait", "B", NULL);
	wait_stat(c, "B", "n_waiting", 2);
	kill(victim, SIGKILL);
	child_exit(victim);
	ck_assert_int_eq(child_exit(survivor), BRK_EBROKEN);
	ck_assert_int_eq(brk_barrier_wait(c, "B", 1, &index), BRK_EBROKEN);
	ck_assert_int_eq(brk_barrier_reset(c, "B"), BRK_OK);
	ck_assert_int_eq(brk_barrier_abort(c, "B"), BRK_OK);
	ck_assert_int_eq(brk_barrier_wait(c, "B", 1, &index), BRK_EBROKEN);
}
END_TEST

START_TEST(condition_waiters_killed_anywhere_leave_the_lock_free)
{
	bool acquired, notified;
	long woken;
	ck_assert_int_eq(brk_condition_create(c, "C", "L"), BRK_OK);
	/* killed while parked in wait: the lock it released stays free */
	pid_t v1 = spawn_worker(&d, NULL, "cwait", "C", NULL);
	wait_stat(c, "C", "waiters", 1);
	ck_assert(!locked("L"));
	kill(v1, SIGKILL);
	child_exit(v1);
	wait_stat(c, "C", "waiters", 0);
	/* killed after a notify, while queued to take the lock back */
	pid_t v2 = spawn_worker(&d, NULL, "cwait", "C", NULL);
	wait_stat(c, "C", "waiters", 1);
	ck_assert_int_eq(brk_condition_acquire(c, "C", 5, &acquired), BRK_OK);
	ck_assert_int_eq(brk_condition_notify(c, "C", 1, &woken), BRK_OK);
	ck_assert_int_eq(woken, 1);
	wait_stat(c, "L", "waiters", 1);
	kill(v2, SIGKILL);
	child_exit(v2);
	wait_stat(c, "L", "waiters", 0);
	ck_assert_int_eq(brk_condition_release(c, "C"), BRK_OK);
	ck_assert(!locked("L"));
	/* and a live one is notified and gets the lock back */
	int out;
	pid_t live = spawn_worker(&d, &out, "cwait", "C", NULL);
	wait_stat(c, "C", "waiters", 1);
	ck_assert_int_eq(brk_condition_acquire(c, "C", 5, &acquired), BRK_OK);
	ck_assert_int_eq(brk_condition_notify_all(c, "C", &woken), BRK_OK);
	ck_assert_int_eq(brk_condition_release(c, "C"), BRK_OK);
	ck_assert_int_eq(read_line_int(out), 1);
	ck_assert_int_eq(child_exit(live), 0);
	close(out);
	ck_assert_int_eq(brk_condition_wait(c, "C", 0, &notified), BRK_ENOTOWNER);
}
END_TEST

struct producer {
	const char *url;
};

static void *produce_later(void *arg)
{
	brk_client *p = NULL;
	bool acquired;
	json_t *k = json_string("ready"), *v = json_true();
	if (brk_connect(((struct producer *)arg)->url, NULL, &p) == BRK_OK) {
		for (int i = 0; i < 3; i++) { /* two notifies with nothing ready, then ready */
			brk_condition_acquire(p, "C", BRK_FOREVER, &acquired);
			if (i == 2)
				brk_dict_set(p, "state", k, v);
			brk_condition_notify_all(p, "C", NULL);
			brk_condition_release(p, "C");
			usleep(20000);
		}
		brk_close(p);
	}
	json_decref(k);
	json_decref(v);
	return NULL;
}

static bool is_ready(void *arg)
{
	json_t *k = json_string("ready"), *no = json_false(), *v = NULL;
	bool ready = brk_dict_get_default(arg, "state", k, no, &v) == BRK_OK && json_is_true(v);
	json_decref(k);
	json_decref(no);
	json_decref(v);
	return ready;
}

START_TEST(wait_for_loops_until_the_predicate_holds)
{
	bool acquired, satisfied;
	pthread_t t;
	struct producer p = {d.url};
	ck_assert_int_eq(brk_condition_create(c, "C", "L"), BRK_OK);
	ck_assert_int_eq(brk_condition_acquire(c, "C", 5, &acquired), BRK_OK);
	pthread_create(&t, NULL, produce_later, &p);
	ck_assert_int_eq(brk_condition_wait_for(c, "C", is_ready, c, 10, &satisfied), BRK_OK);
	ck_assert(satisfied);
	ck_assert_int_eq(brk_condition_release(c, "C"), BRK_OK);
	pthread_join(t, NULL);
	ck_assert_int_eq(brk_condition_acquire(c, "C", 5, &acquired), BRK_OK);
	ck_assert_int_eq(brk_dict_clear(c, "state"), BRK_OK);
	ck_assert_int_eq(brk_condition_wait_for(c, "C", is_ready, c, 0.1, &satisfied), BRK_OK);
	ck_assert(!satisfied);
	ck_assert_int_eq(brk_condition_release(c, "C"), BRK_OK);
}
END_TEST

START_TEST(a_hung_holder_loses_its_lock_when_the_lease_lapses)
{
	int fds[2];
	char line[128] = {0};
	ck_assert_int_eq(pipe(fds), 0);
	pid_t hung = test_fork(); /* holds for 1 s on a 0.2 s lease, then tries to release */
	if (hung == 0) {
		dup2(fds[1], STDOUT_FILENO);
		execl(BROKERCTL_BIN, BROKERCTL_BIN, "--url", d.url, "lock", "acquire", "L",
		      "--lease", "0.2", "--hold", "1", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	ck_assert_int_gt(read(fds[0], line, sizeof line - 1), 0);
	close(fds[0]);
	bool acquired;
	uint64_t fence;
	ck_assert_int_eq(brk_lock_acquire(c, "L", BRK_LOCK, 5, &acquired, &fence), BRK_OK);
	ck_assert(acquired);
	ck_assert_uint_eq(fence, 2);
	ck_assert_int_eq(child_exit(hung), 1); /* its release was refused: lease_expired */
	ck_assert(locked("L"));                /* and did not touch our hold */
	ck_assert_int_eq(brk_lock_release(c, "L", BRK_LOCK), BRK_OK);
	ck_assert_int_eq(brk_lock_acquire_lease(c, "L", BRK_LOCK, 0, 0.05, &acquired, NULL),
			 BRK_OK);
	usleep(200000);
	ck_assert_int_eq(brk_lock_release(c, "L", BRK_LOCK), BRK_ELEASE);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("locks");
	TCase *tc = tcase_create("locks");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, a_killed_holder_hands_the_lock_to_the_next_waiter);
	tcase_add_test(tc, a_killed_waiter_is_never_granted);
	tcase_add_test(tc, an_rlock_and_errors_through_libbroker);
	tcase_add_test(tc, contended_increments_under_a_lock_are_exact);
	tcase_add_test(tc, one_ticket_a_hundred_buyers_exactly_one_succeeds);
	tcase_add_test(tc, stat_and_sessions_show_the_holder_and_waiters);
	tcase_add_test(tc, permits_of_a_killed_holder_come_back);
	tcase_add_test(tc, an_event_releases_waiting_processes);
	tcase_add_test(tc, a_barrier_across_processes_breaks_when_a_party_is_killed);
	tcase_add_test(tc, condition_waiters_killed_anywhere_leave_the_lock_free);
	tcase_add_test(tc, wait_for_loops_until_the_predicate_holds);
	tcase_add_test(tc, a_hung_holder_loses_its_lock_when_the_lease_lapses);
	suite_add_tcase(s, tc);
	return run_suite(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
