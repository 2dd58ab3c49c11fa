/* test_client.c: libbroker's transport against a real brokerd: fork()ed children get
 * sessions of their own, threads share one connection, reconnecting reports a lost session,
 * tcp:// and tls+tcp:// addresses, and the interrupted hook. */
#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <openssl/ssl.h>
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

static json_t *holder_session(brk_client *x, const char *lock)
{
	json_t *st = NULL;
	ck_assert_int_eq(brk_stat(x, lock, &st), BRK_OK);
	json_t *s = json_incref(json_object_get(json_object_get(st, "holder"), "session"));
	json_decref(st);
	return s;
}

/* ---- fork ---- */

static atomic_bool busy_stop;
static bool in_child;

/* __lsan_is_turned_off: LeakSanitizer asks at exit. A child forked while another thread
 * of its parent was mid-call inherits what that thread held (its stack is not there to
 * scan), so a child's exit() would report those as leaks. */
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
	return in_child;
}

/* busy: keeps calling on the shared client, so that fork() happens while its mutex and
 * connection are in use by another thread. */
static void *busy(void *arg)
{
	json_t *k = json_string("busy"), *v = NULL;
	while (!atomic_load(&busy_stop)) {
		ck_assert_int_eq(brk_dict_get(arg, "d", k, &v), BRK_OK);
		json_decref(v);
	}
	json_decref(k);
	return NULL;
}

/* child_work: what each child does with the client it inherited; never returns. */
static void child_work(int i, int report, uint64_t parent_session)
{
	char key[32];
	bool acquired = true;
	uint64_t sid = 0;
	int ok = brk_ping(c) == BRK_OK; /* the first call: a new client, not session_lost */
	sid = brk_session_id(c);
	ok &= sid != parent_session && sid != 0;
	snprintf(key, sizeof key, "child-%d", i);
	json_t *k = json_string(key), *v = json_integer(i), *got = NULL;
	ok &= brk_dict_set(c, "d", k, v) == BRK_OK;
	ok &= brk_dict_get(c, "d", k, &got) == BRK_OK && json_integer_value(got) == i;
	ok &= brk_lock_acquire(c, "L", BRK_LOCK, 0, &acquired, NULL) == BRK_OK && !acquired;
	ok &= brk_lock_release(c, "L", BRK_LOCK) == BRK_ENOTOWNER;
	ok &= brk_session_id(c) == sid;
	json_decref(got);
	json_decref(k);
	json_decref(v);
	uint64_t line[2] = {(uint64_t)ok, sid};
	if (write(report, line, sizeof line) != sizeof line)
		_exit(3);
	if (i == 7)
		pause(); /* the parent SIGKILLs this one */
	if (i % 2)
		_exit(ok ? 0 : 1); /* no brk_close: the socket closes with the process */
	brk_close(c);
	exit(ok ? 0 : 1);
}

START_TEST(forked_children_get_sessions_of_their_own)
{
	enum { CHILDREN = 8 };
	int fds[2];
	bool acquired = false;
	pid_t pids[CHILDREN];
	pthread_t t;
	json_t *one = json_integer(1), *k = json_string("busy");
	ck_assert_int_eq(pipe(fds), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(brk_queue_put(c, "q", one, BRK_FOREVER), BRK_OK);
	ck_assert_int_eq(brk_dict_set(c, "d", k, one), BRK_OK);
	ck_assert_int_eq(brk_lock_acquire(c, "L", BRK_LOCK, 1, &acquired, NULL), BRK_OK);
	ck_assert(acquired);
	uint64_t parent = brk_session_id(c);
	atomic_store(&busy_stop, false);
	ck_assert_int_eq(pthread_create(&t, NULL, busy, c), 0);
	for (int i = 0; i < CHILDREN; i++) {
		pids[i] = test_fork();
		if (pids[i] == 0) {
			in_child = true;
			close(fds[0]);
			child_work(i, fds[1], parent);
		}
	}
	close(fds[1]);
	uint64_t seen[CHILDREN];
	for (int i = 0; i < CHILDREN; i++) {
		uint64_t line[2];
		ck_assert_int_eq(read(fds[0], line, sizeof line), sizeof line);
		ck_assert_msg(line[0] == 1, "a child's calls failed");
		seen[i] = line[1];
		for (int j = 0; j < i; j++)
			ck_assert_msg(seen[j] != seen[i], "two children share session %llu",
				      (unsigned long long)seen[i]);
	}
	close(fds[0]);
	kill(pids[7], SIGKILL);
	for (int i = 0; i < CHILDREN; i++)
		ck_assert_int_eq(child_exit(pids[i]), i == 7 ? 128 + SIGKILL : 0);
	atomic_store(&busy_stop, true);
	pthread_join(t, NULL);
	wait_sessions(c, 1);
	ck_assert_uint_eq(brk_session_id(c), parent);
	json_t *holder = holder_session(c, "L");
	ck_assert_int_eq(json_integer_value(holder), (json_int_t)parent);
	json_decref(holder);
	size_t n = 0, len = 0;
	ck_assert_int_eq(brk_queue_qsize(c, "q", &n), BRK_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(brk_dict_len(c, "d", &len), BRK_OK);
	ck_assert_uint_eq(len, 1 + CHILDREN);
	ck_assert_int_eq(brk_lock_release(c, "L", BRK_LOCK), BRK_OK);
	json_decref(one);
	json_decref(k);
}
END_TEST

START_TEST(a_child_drops_the_parents_unconfirmed_items)
{
	json_t *v = json_string("item"), *got = NULL;
	ck_assert_int_eq(brk_queue_put(c, "q", v, BRK_FOREVER), BRK_OK);
	ck_assert_int_eq(brk_queue_get(c, "q", 0, &got),
			 BRK_OK); /* unconfirmed until the next call */
	json_decref(got);
	pid_t pid = test_fork();
	if (pid == 0) {
		/* acking the parent's delivery here would confirm nothing (another session); the
		 * child's calls must simply work */
		int ok = brk_ping(c) == BRK_OK && brk_ping(c) == BRK_OK;
		_exit(ok ? 0 : 1);
	}
	ck_assert_int_eq(child_exit(pid), 0);
	ck_assert_int_eq(brk_ping(c), BRK_OK); /* confirms the item in the parent's session */
	size_t n = 9;
	ck_assert_int_eq(brk_queue_qsize(c, "q", &n), BRK_OK);
	ck_assert_uint_eq(n, 0);
	json_decref(v);
}
END_TEST

/* ---- threads ---- */

enum { THREADS = 8, CALLS = 2000 };

struct mixer {
	int t;
	int failures;
};

static void *mixed_calls(void *arg)
{
	struct mixer *m = arg;
	char key[16], mine[16], next[16];
	json_int_t last_set = -1, last_seen = -1;
	snprintf(key, sizeof key, "k%d", m->t);
	snprintf(mine, sizeof mine, "q%d", m->t);
	snprintf(next, sizeof next, "q%d", (m->t + 1) % THREADS);
	json_t *k = json_string(key);
	for (int j = 0; j < CALLS; j++) {
		json_t *v = json_integer((json_int_t)m->t * 1000000 + j), *got = NULL;
		brk_err err = BRK_OK;
		switch (j % 4) {
		case 0:
			err = brk_dict_set(c, "shared", k, v);
			last_set = json_integer_value(v);
			break;
		case 1:
			err = brk_dict_get(c, "shared", k, &got);
			m->failures += !err && json_integer_value(got) != last_set;
			break;
		case 2:
			err = brk_queue_put(c, next, v, BRK_FOREVER);
			break;
		case 3: /* often parks until the previous thread's put */
			err = brk_queue_get(c, mine, 10, &got);
			if (!err) {
				json_int_t x = json_integer_value(got);
				m->failures += x / 1000000 != (m->t + THREADS - 1) % THREADS;
				m->failures += x % 1000000 <= last_seen;
				last_seen = x % 1000000;
			}
			break;
		}
		m->failures += err != BRK_OK;
		json_decref(v);
		json_decref(got);
	}
	json_decref(k);
	return NULL;
}

START_TEST(threads_share_one_client_and_each_gets_its_own_replies)
{
	struct mixer m[THREADS];
	pthread_t t[THREADS];
	uint64_t session = brk_session_id(c);
	double t0 = test_now();
	for (int i = 0; i < THREADS; i++) {
		m[i] = (struct mixer){i, 0};
		ck_assert_int_eq(pthread_create(&t[i], NULL, mixed_calls, &m[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		ck_assert_msg(m[i].failures == 0, "thread %d: %d wrong replies", i, m[i].failures);
	}
	fprintf(stderr, "%d threads x %d calls on one client: %.2f s\n", THREADS, CALLS,
		test_now() - t0);
	ck_assert_uint_eq(brk_session_id(c), session);
	size_t len = 0;
	ck_assert_int_eq(brk_dict_len(c, "shared", &len), BRK_OK);
	ck_assert_uint_eq(len, THREADS);
}
END_TEST

/* ---- reconnecting ---- */

/* restart: stops brokerd with sig and starts a new one on the same address. */
static void restart(int sig)
{
	const char *argv[] = {BROKERD_BIN, "--listen", d.url, "--log-level", "error", NULL};
	kill(d.pid, sig);
	ck_assert_int_eq(child_exit(d.pid), sig == SIGTERM ? 0 : 128 + sig);
	d.pid = spawn((char *const *)argv);
	brk_client *probe = connect_when_up(d.url);
	ck_assert_ptr_nonnull(probe);
	brk_close(probe);
}

START_TEST(a_restart_loses_the_session_of_a_holder_once)
{
	bool acquired = false, locked = true;
	brk_client *idle = daemon_client(&d);
	ck_assert_int_eq(brk_lock_acquire(c, "L", BRK_LOCK, 1, &acquired, NULL), BRK_OK);
	ck_assert(acquired);
	uint64_t old = brk_session_id(c), old_idle = brk_session_id(idle);
	restart(SIGTERM);
	ck_assert_int_eq(brk_ping(idle), BRK_OK); /* held nothing: reconnects silently */
	ck_assert_uint_ne(brk_session_id(idle), old_idle);
	ck_assert_int_eq(brk_lock_locked(c, "L", BRK_LOCK, &locked), BRK_ESESSION);
	ck_assert_ptr_nonnull(strstr(brk_last_error(), "re-made"));
	ck_assert_uint_ne(brk_session_id(c), old);
	ck_assert_uint_gt(brk_session_id(c), 0);
	ck_assert_int_eq(brk_lock_locked(c, "L", BRK_LOCK, &locked), BRK_OK);
	ck_assert(!locked); /* a new daemon: nobody holds it */
	ck_assert_int_eq(brk_ping(c), BRK_OK);
	brk_close(idle);
}
END_TEST

static void *get_forever(void *arg)
{
	json_t *v = NULL;
	brk_err err = brk_queue_get(arg, "never", BRK_FOREVER, &v);
	json_decref(v);
	return (void *)(intptr_t)err;
}

START_TEST(a_call_in_flight_when_the_daemon_dies_fails_and_the_next_reports_it)
{
	pthread_t t;
	void *err;
	brk_client *watcher = daemon_client(&d);
	ck_assert_int_eq(brk_queue_create(c, "never", BRK_FIFO, 0), BRK_OK);
	ck_assert_int_eq(pthread_create(&t, NULL, get_forever, c), 0);
	wait_stat(watcher, "never", "getters", 1);
	brk_close(watcher);
	restart(SIGKILL); /* SIGTERM would answer the get with shutting_down */
	pthread_join(t, &err);
	ck_assert_int_eq((int)(intptr_t)err, BRK_EIO);
	ck_assert_int_eq(brk_ping(c), BRK_ESESSION);
	ck_assert_int_eq(brk_ping(c), BRK_OK);
}
END_TEST

struct loader {
	atomic_bool stop;
	atomic_int ok_after; /* calls that succeeded once the restart was over */
	atomic_bool restarted;
	atomic_int unexpected;
};

static void *load(void *arg)
{
	struct loader *l = arg;
	json_t *k = json_string("k"), *v = json_integer(1), *got = NULL;
	for (int i = 0; !atomic_load(&l->stop); i++) {
		brk_err err =
			i % 2 ? brk_dict_set(c, "d", k, v) : brk_queue_get(c, "q", 0.01, &got);
		json_decref(got);
		got = NULL;
		if (err == BRK_OK || err == BRK_EEMPTY)
			atomic_fetch_add(&l->ok_after, atomic_load(&l->restarted));
		else if (err != BRK_EIO && err != BRK_ESESSION && err != BRK_ECONNECT)
			atomic_fetch_add(&l->unexpected, 1);
	}
	json_decref(k);
	json_decref(v);
	return NULL;
}

START_TEST(threads_ride_out_a_daemon_killed_under_load)
{
	struct loader l = {0};
	pthread_t t[4];
	struct timespec nap = {0, 200 * 1000000L};
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, load, &l), 0);
	nanosleep(&nap, NULL);
	restart(SIGKILL);
	atomic_store(&l.restarted, true);
	nanosleep(&nap, NULL);
	atomic_store(&l.stop, true);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	ck_assert_int_eq(atomic_load(&l.unexpected), 0);
	ck_assert_int_gt(atomic_load(&l.ok_after), 0);
	ck_assert_int_eq(brk_ping(c), BRK_OK);
}
END_TEST

/* ---- addresses ---- */

START_TEST(tcp_addresses_by_ip_and_by_name)
{
	char listen[64], url[64];
	int port = free_tcp_port();
	char listen6[64];
	snprintf(listen, sizeof listen, "tcp://127.0.0.1:%d", port);
	snprintf(listen6, sizeof listen6, "tcp://[::1]:%d", port);
	const char *const extra[] = {"--listen", listen, "--listen", listen6, NULL};
	daemon_shut(&d, c);
	daemon_start(&d, extra);
	c = daemon_client(&d);
	const char *hosts[] = {"127.0.0.1", "localhost", "[::1]"};
	for (size_t i = 0; i < 3; i++) {
		brk_client *x = NULL;
		json_t *k = json_string("k"), *v = json_integer((json_int_t)i), *got = NULL;
		snprintf(url, sizeof url, "tcp://%s:%d", hosts[i], port);
		ck_assert_msg(brk_connect(url, NULL, &x) == BRK_OK, "%s: %s", url,
			      brk_last_error());
		ck_assert_uint_ne(brk_session_id(x), brk_session_id(c));
		ck_assert_int_eq(brk_dict_set(x, "d", k, v), BRK_OK);
		ck_assert_int_eq(brk_dict_get(c, "d", k, &got), BRK_OK);
		ck_assert(json_equal(got, v));
		brk_close(x);
		json_decref(k);
		json_decref(v);
		json_decref(got);
	}
}
END_TEST

START_TEST(bad_addresses_are_reported)
{
	brk_client *x = NULL;
	char url[64];
	ck_assert_int_eq(brk_connect("http://example.org/", NULL, &x), BRK_EINVAL);
	ck_assert_ptr_nonnull(strstr(brk_last_error(), "unknown address scheme"));
	ck_assert_int_eq(brk_connect("tcp://127.0.0.1", NULL, &x), BRK_EINVAL);
	snprintf(url, sizeof url, "tcp://127.0.0.1:%d", free_tcp_port());
	ck_assert_int_eq(brk_connect(url, NULL, &x), BRK_ECONNECT);
	ck_assert_ptr_nonnull(strstr(brk_last_error(), url));
	ck_assert_ptr_nonnull(strstr(brk_last_error(), "refused"));
	ck_assert_ptr_null(x);
}
END_TEST

/* tls_against_a_plain_listener: a TLS client meeting a plain tcp:// brokerd fails to
 * connect (never talks in the clear). TLS against a TLS brokerd waits for the daemon's
 * tls+tcp:// listener. */
START_TEST(tls_against_a_plain_listener_does_not_connect)
{
	char listen[64], url[64];
	int port = free_tcp_port();
	snprintf(listen, sizeof listen, "tcp://127.0.0.1:%d", port);
	const char *const extra[] = {"--listen", listen, NULL};
	daemon_shut(&d, c);
	daemon_start(&d, extra);
	c = daemon_client(&d);
	brk_options o = {.send_timeout = 2};
	brk_client *x = NULL;
	snprintf(url, sizeof url, "tls+tcp://127.0.0.1:%d", port);
	ck_assert_int_eq(brk_connect(url, &o, &x), BRK_ECONNECT);
	ck_assert_ptr_nonnull(strstr(brk_last_error(), "TLS"));
	ck_assert_int_eq(brk_ping(c), BRK_OK);
}
END_TEST

/* ---- the interrupted hook ---- */

static double interrupt_at;

static bool after_deadline(void *arg)
{
	(void)arg;
	return test_now() >= interrupt_at;
}

static brk_client *interruptible(void)
{
	brk_options o = {.interrupted = after_deadline};
	brk_client *x = NULL;
	ck_assert_int_eq(brk_connect(d.url, &o, &x), BRK_OK);
	return x;
}

/* The hook turns true after 100 ms: the parked get is withdrawn on the wire and answered
 * cancelled; the queue is left with no getter. */
START_TEST(an_interrupted_get_is_cancelled)
{
	brk_client *x = interruptible();
	json_t *v = NULL;
	double t0 = test_now();
	interrupt_at = t0 + 0.1;
	ck_assert_int_eq(brk_queue_get(x, "q", 30, &v), BRK_ECANCELLED);
	double took = test_now() - t0;
	ck_assert_msg(took >= 0.1 && took < 0.3, "cancelled after %.3f s", took);
	wait_stat(c, "q", "getters", 0);
	brk_close(x);
}
END_TEST

/* ---- cancel racing a delivery ---- */

static atomic_bool race_flag;

static bool race_hook(void *arg)
{
	(void)arg;
	return atomic_load(&race_flag);
}

static void on_usr1(int sig)
{
	(void)sig;
}

struct race_get {
	brk_client *x;
	brk_err rc;
	json_t *v;
};

static void *race_getter(void *arg)
{
	struct race_get *g = arg;
	g->rc = brk_queue_get(g->x, "race", 10, &g->v);
	return NULL;
}

/* One try: the getter parks; an item is put and the getter is interrupted (signal + hook)
 * at once, in either order. The item ends up with exactly one of them: the getter (its
 * call returns it), or the queue (the get was cancelled first). */
static bool race_once(brk_client *x, int i)
{
	struct race_get g = {.x = x};
	pthread_t t;
	json_t *item = json_integer(i), *left = NULL;
	atomic_store(&race_flag, false);
	ck_assert_int_eq(pthread_create(&t, NULL, race_getter, &g), 0);
	wait_stat(c, "race", "getters", 1);
	if (i % 2)
		atomic_store(&race_flag, true), pthread_kill(t, SIGUSR1);
	ck_assert_int_eq(brk_queue_put(c, "race", item, BRK_FOREVER), BRK_OK);
	atomic_store(&race_flag, true);
	pthread_kill(t, SIGUSR1);
	pthread_join(t, NULL);
	if (g.rc == BRK_OK) {
		ck_assert(json_equal(g.v, item));
		ck_assert_int_eq(brk_queue_get(c, "race", 0, &left), BRK_EEMPTY);
	} else {
		ck_assert_int_eq(g.rc, BRK_ECANCELLED);
		ck_assert_int_eq(brk_queue_get(c, "race", 0, &left), BRK_OK);
		ck_assert(json_equal(left, item));
	}
	json_decref(g.v);
	json_decref(left);
	json_decref(item);
	return g.rc == BRK_OK;
}

START_TEST(a_get_cancelled_as_its_item_arrives_delivers_it_exactly_once)
{
	struct sigaction sa = {.sa_handler = on_usr1}; /* no SA_RESTART: poll sees EINTR */
	sigaction(SIGUSR1, &sa, NULL);
	brk_options o = {.interrupted = race_hook};
	brk_client *x = NULL;
	ck_assert_int_eq(brk_connect(d.url, &o, &x), BRK_OK);
	int got = 0, tries = 1000;
	ck_assert_int_eq(brk_queue_create(c, "race", BRK_FIFO, 0), BRK_OK);
	for (int i = 0; i < tries; i++)
		got += race_once(x, i);
	printf("cancel race: %d of %d items reached the getter, %d stayed queued\n", got, tries,
	       tries - got);
	brk_close(x);
}
END_TEST

/* ---- locks belong to a thread ---- */

struct other {
	brk_client *x;
	const char *name;
	brk_lock_kind kind;
	double timeout;
	bool acquired;
	brk_err acquire_rc, release_rc;
	bool release;
};

static void *other_thread(void *arg)
{
	struct other *o = arg;
	o->acquire_rc = brk_lock_acquire(o->x, o->name, o->kind, o->timeout, &o->acquired, NULL);
	if (o->release)
		o->release_rc = brk_lock_release(o->x, o->name, o->kind);
	return NULL;
}

/* run_other: runs o on a second thread of the same client and waits for it. */
static void run_other(struct other *o)
{
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, other_thread, o), 0);
	pthread_join(t, NULL);
}

/* Python's threading rules, two threads sharing one client (one session): a Lock held by
 * one thread is not the other's to take or release; an RLock re-enters for its holder only
 * and passes to the other thread once fully released. */
START_TEST(locks_belong_to_the_thread_that_took_them)
{
	bool ok;
	ck_assert_int_eq(brk_lock_acquire(c, "L", BRK_LOCK, 0, &ok, NULL), BRK_OK);
	ck_assert(ok);
	struct other o = {.x = c, .name = "L", .kind = BRK_LOCK, .timeout = 0, .release = true};
	run_other(&o);
	ck_assert_int_eq(o.acquire_rc, BRK_OK);
	ck_assert(!o.acquired);
	ck_assert_int_eq(o.release_rc, BRK_ENOTOWNER);
	ck_assert_int_eq(brk_lock_release(c, "L", BRK_LOCK), BRK_OK);

	ck_assert_int_eq(brk_lock_acquire(c, "R", BRK_RLOCK, 0, &ok, NULL), BRK_OK);
	ck_assert_int_eq(brk_lock_acquire(c, "R", BRK_RLOCK, 0, &ok, NULL), BRK_OK);
	ck_assert(ok);
	struct other r = {.x = c, .name = "R", .kind = BRK_RLOCK, .timeout = 0.2, .release = true};
	run_other(&r);
	ck_assert(!r.acquired);
	ck_assert_int_eq(r.release_rc, BRK_ENOTOWNER);
	ck_assert_int_eq(brk_lock_release(c, "R", BRK_RLOCK), BRK_OK);
	run_other(&r); /* still held once */
	ck_assert(!r.acquired);
	ck_assert_int_eq(brk_lock_release(c, "R", BRK_RLOCK), BRK_OK);
	r.release = true;
	run_other(&r);
	ck_assert(r.acquired);
	ck_assert_int_eq(r.release_rc, BRK_OK);
}
END_TEST

/* ---- against a scripted REP0 peer ----
 * Client behaviour today's brokerd cannot show (it has no cancel op and takes no "owner")
 * is checked against a small peer on a thread: it parks queue.get until a queue.put or a
 * cancel, answers hello with "owners": true, and records every request it receives. */

struct peer {
	char dir[64], url[128];
	int lfd, fd;
	int hl;       /* frame header bytes: 9 for ipc, 8 for tcp */
	SSL_CTX *tls; /* tls+tcp: the server's context */
	SSL *ssl;
	pthread_t thread;
	const unsigned char *greeting; /* the 8 bytes it sends first */
	pthread_mutex_t mu;
	json_t *seen; /* requests received, each with "_id": its request id */
};

/* The one token the peer's hello takes; any other is refused with PEER_REFUSAL. */
#define PEER_TOKEN "peer-token-0123456789"
#define PEER_REFUSAL "no principal has this token"

static const unsigned char rep0[8] = {0, 'S', 'P', 0, 0, 0x31, 0, 0};
static const unsigned char req0[8] = {0, 'S', 'P', 0, 0, 0x30, 0, 0};

static bool peer_read(struct peer *p, void *buf, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = p->ssl ? SSL_read(p->ssl, (char *)buf + got, (int)(n - got))
				   : read(p->fd, (char *)buf + got, n - got);
		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

static bool peer_write(struct peer *p, const void *buf, size_t n)
{
	if (p->ssl)
		return SSL_write(p->ssl, buf, (int)n) == (int)n;
	return write(p->fd, buf, n) == (ssize_t)n;
}

static void peer_reply(struct peer *p, uint32_t id, const char *fmt, ...)
{
	char body[512];
	unsigned char frame[13 + sizeof body], *h = frame;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(body, sizeof body, fmt, ap);
	va_end(ap);
	uint64_t len = (uint64_t)n + 4;
	if (p->hl == 9)
		*h++ = 1;
	for (int i = 7; i >= 0; i--, len >>= 8)
		h[i] = (unsigned char)len;
	for (int i = 0; i < 4; i++)
		h[8 + i] = (unsigned char)(id >> (24 - 8 * i));
	memcpy(h + 12, body, (size_t)n);
	ck_assert(peer_write(p, frame, (size_t)(h - frame) + 12 + (size_t)n));
}

/* peer_serve: one request; parked is the id of a parked get (0: none). */
static void peer_serve(struct peer *p, uint32_t id, json_t *req, uint32_t *parked)
{
	const char *op = json_string_value(json_object_get(req, "op"));
	const char *token = json_string_value(json_object_get(req, "token"));
	if (!strcmp(op, "hello") && token && strcmp(token, PEER_TOKEN)) {
		peer_reply(p, id, "{\"ok\":false,\"error\":\"unauthorized\",\"message\":\"%s\"}",
			   PEER_REFUSAL);
	} else if (!strcmp(op, "hello")) {
		peer_reply(p, id, "{\"ok\":true,\"result\":{\"session\":7,\"owners\":true}}");
	} else if (!strcmp(op, "queue.get")) {
		*parked = id;
	} else if (!strcmp(op, "garble")) {
		peer_reply(p, id & 0x7fffffff, "{\"ok\":true,\"result\":null}"); /* top bit clear */
	} else if (!strcmp(op, "cancel")) {
		bool hit =
			*parked && json_integer_value(json_object_get(req, "request")) == *parked;
		peer_reply(p, id, "{\"ok\":true,\"result\":{\"cancelled\":%s}}",
			   hit ? "true" : "false");
		if (hit)
			peer_reply(p, *parked,
				   "{\"ok\":false,\"error\":\"cancelled\",\"message\":\"x\"}");
		if (hit)
			*parked = 0;
	} else {
		peer_reply(p, id, "{\"ok\":true,\"result\":{\"acquired\":true}}");
	}
}

/* peer_accept: the one connection, through TLS and the SP handshake. */
static bool peer_accept(struct peer *p)
{
	unsigned char hs[8];
	if ((p->fd = accept(p->lfd, NULL, NULL)) < 0)
		return false;
	if (p->tls && (!(p->ssl = SSL_new(p->tls)) || SSL_set_fd(p->ssl, p->fd) != 1 ||
		       SSL_accept(p->ssl) != 1))
		return false;
	return peer_write(p, p->greeting, 8) && peer_read(p, hs, 8) && !memcmp(hs, req0, 8);
}

/* peer_request: the next request frame, decoded; NULL at the end of the stream. */
static json_t *peer_request(struct peer *p, uint32_t *id)
{
	unsigned char hdr[13];
	uint64_t len = 0;
	if (!peer_read(p, hdr, (size_t)p->hl + 4))
		return NULL;
	for (int i = p->hl - 8; i < p->hl; i++)
		len = len << 8 | hdr[i];
	const unsigned char *ib = hdr + p->hl;
	*id = (uint32_t)ib[0] << 24 | (uint32_t)ib[1] << 16 | (uint32_t)ib[2] << 8 | ib[3];
	char *body = malloc(len - 4 + 1);
	json_t *req = peer_read(p, body, len - 4) ? json_loadb(body, len - 4, 0, NULL) : NULL;
	free(body);
	return req;
}

static void *peer_run(void *arg)
{
	struct peer *p = arg;
	uint32_t parked = 0, id;
	json_t *req;
	if (peer_accept(p))
		while ((req = peer_request(p, &id))) {
			json_object_set_new(req, "_id", json_integer(id));
			pthread_mutex_lock(&p->mu);
			json_array_append(p->seen, req);
			pthread_mutex_unlock(&p->mu);
			peer_serve(p, id, req, &parked);
			json_decref(req);
		}
	if (p->ssl)
		SSL_free(p->ssl);
	if (p->fd >= 0)
		close(p->fd);
	return NULL;
}

static void peer_listen_ipc(struct peer *p)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(p->dir, "/tmp/brokerd-peer-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(p->dir));
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/p.sock", p->dir);
	snprintf(p->url, sizeof p->url, "ipc://%s", sa.sun_path);
	p->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(p->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	p->hl = 9;
}

/* peer_listen_tls: on 127.0.0.1, reached as tls+tcp://host:PORT. */
static void peer_listen_tls(struct peer *p, const char *host, const char *cert, const char *key)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	p->lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(p->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(getsockname(p->lfd, (struct sockaddr *)&sa, &len), 0);
	snprintf(p->url, sizeof p->url, "tls+tcp://%s:%d", host, ntohs(sa.sin_port));
	p->hl = 8;
	ck_assert_ptr_nonnull(p->tls = SSL_CTX_new(TLS_server_method()));
	ck_assert_int_eq(SSL_CTX_use_certificate_file(p->tls, cert, SSL_FILETYPE_PEM), 1);
	ck_assert_int_eq(SSL_CTX_use_PrivateKey_file(p->tls, key, SSL_FILETYPE_PEM), 1);
}

static void peer_run_thread(struct peer *p, const unsigned char *greeting)
{
	ck_assert_int_eq(listen(p->lfd, 4), 0);
	p->fd = -1;
	p->greeting = greeting;
	p->seen = json_array();
	pthread_mutex_init(&p->mu, NULL);
	ck_assert_int_eq(pthread_create(&p->thread, NULL, peer_run, p), 0);
}

static void peer_start(struct peer *p, const unsigned char *greeting)
{
	memset(p, 0, sizeof *p);
	peer_listen_ipc(p);
	peer_run_thread(p, greeting);
}

/* peer_stop_keeping: peer_stop, keeping p->seen for the caller (to json_decref). */
static void peer_stop_keeping(struct peer *p)
{
	char path[160];
	shutdown(p->lfd, SHUT_RDWR);
	pthread_join(p->thread, NULL);
	close(p->lfd);
	if (*p->dir) {
		snprintf(path, sizeof path, "%s/p.sock", p->dir);
		unlink(path);
		rmdir(p->dir);
	}
	SSL_CTX_free(p->tls);
}

static void peer_stop(struct peer *p)
{
	peer_stop_keeping(p);
	json_decref(p->seen);
}

/* peer_find: the n-th request (0: first) the peer saw with op, or NULL. */
static json_t *peer_find(struct peer *p, const char *op, int n)
{
	size_t i;
	json_t *r, *found = NULL;
	pthread_mutex_lock(&p->mu);
	json_array_foreach (p->seen, i, r)
		if (!strcmp(json_string_value(json_object_get(r, "op")), op) && n-- == 0) {
			found = r;
			break;
		}
	pthread_mutex_unlock(&p->mu);
	return found;
}

/* ---- tokens, against the peer ---- */

/* token_file_new: a file in a fresh dir holding text, with mode; its path in out. */
static void token_file_new(char *out, size_t size, const char *text, mode_t mode)
{
	char dir[] = "/tmp/brokerd-token-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(out, size, "%s/token", dir);
	write_file(out, text, mode);
}

static void token_file_remove(const char *path)
{
	char dir[160];
	snprintf(dir, sizeof dir, "%s", path);
	*strrchr(dir, '/') = '\0';
	unlink(path);
	rmdir(dir);
}

/* peer_hello_token: connects to a fresh peer with o (NULL: defaults) and returns what brk_connect
 * did; *token (to free; may be NULL) is the "token" its hello carried, NULL for none. */
static brk_err peer_hello_token(const brk_options *o, char **token)
{
	struct peer p;
	brk_client *x = NULL;
	peer_start(&p, rep0);
	brk_err err = brk_connect(p.url, o, &x);
	brk_close(x);
	peer_stop_keeping(&p);
	json_t *hello = peer_find(&p, "hello", 0);
	const char *t = json_string_value(json_object_get(hello, "token"));
	*token = t ? strdup(t) : NULL;
	json_decref(p.seen);
	return err;
}

/* hello_token_is: a connect with o greets with want (NULL: no token member), and fails
 * as the peer refuses any token but PEER_TOKEN. */
static void hello_token_is(const brk_options *o, const char *want)
{
	char *got = NULL;
	brk_err refused = want && strcmp(want, PEER_TOKEN) ? BRK_EUNAUTHORIZED : BRK_OK;
	ck_assert_int_eq(peer_hello_token(o, &got), refused);
	if (want)
		ck_assert_str_eq(got ? got : "(none)", want);
	else
		ck_assert_msg(got == NULL, "hello carried a token: %s", got);
	free(got);
}

START_TEST(hello_carries_the_token_from_the_options_else_the_environment)
{
	char file[160], envfile[160];
	token_file_new(file, sizeof file, PEER_TOKEN " \t\r\nsecond line\n", 0600);
	token_file_new(envfile, sizeof envfile, "from-env-file-0123456\n", 0640);
	hello_token_is(NULL, NULL);
	hello_token_is(&(brk_options){.token = "option-token-0123456"}, "option-token-0123456");
	hello_token_is(&(brk_options){.token_file = file}, PEER_TOKEN);
	setenv("BROKERD_TOKEN_FILE", envfile, 1);
	hello_token_is(NULL, "from-env-file-0123456");
	setenv("BROKERD_TOKEN", "from-env-0123456789", 1);
	hello_token_is(NULL, "from-env-0123456789"); /* the env's token before its file */
	hello_token_is(&(brk_options){.token_file = file}, PEER_TOKEN); /* options first */
	hello_token_is(&(brk_options){.token = "t-0123456789abcdef", .token_file = file},
		       "t-0123456789abcdef");
	unsetenv("BROKERD_TOKEN");
	unsetenv("BROKERD_TOKEN_FILE");
	token_file_remove(file);
	token_file_remove(envfile);
}
END_TEST

START_TEST(a_refused_token_fails_connect_with_unauthorized_and_is_not_shown)
{
	char *sent = NULL;
	brk_options o = {.token = "wrong-token-0123456789"};
	ck_assert_int_eq(peer_hello_token(&o, &sent), BRK_EUNAUTHORIZED);
	ck_assert_str_eq(sent, "wrong-token-0123456789");
	free(sent);
	ck_assert_msg(strstr(brk_last_error(), PEER_REFUSAL) != NULL, "message: %s",
		      brk_last_error());
	ck_assert_ptr_null(strstr(brk_last_error(), "wrong-token"));
}
END_TEST

/* connect_error: what brk_connect with o says before any daemon is reached. */
static brk_err connect_error(const brk_options *o)
{
	brk_client *x = NULL;
	brk_err err = brk_connect("ipc:///nonexistent/brokerd.sock", o, &x);
	ck_assert_ptr_null(x);
	return err;
}

START_TEST(token_files_others_may_read_empty_or_missing_are_refused)
{
	char open_file[160], empty[160], blank[160];
	token_file_new(open_file, sizeof open_file, "secret-token-0123456789\n", 0644);
	token_file_new(empty, sizeof empty, "", 0600);
	token_file_new(blank, sizeof blank, "  \n", 0600);
	ck_assert_int_eq(connect_error(&(brk_options){.token_file = open_file}), BRK_EINVAL);
	ck_assert_msg(strstr(brk_last_error(), "others may read") != NULL, "%s", brk_last_error());
	ck_assert_ptr_null(strstr(brk_last_error(), "secret-token"));
	ck_assert_int_eq(connect_error(&(brk_options){.token_file = empty}), BRK_EINVAL);
	ck_assert_int_eq(connect_error(&(brk_options){.token_file = blank}), BRK_EINVAL);
	ck_assert_int_eq(connect_error(&(brk_options){.token_file = "/nonexistent/token"}),
			 BRK_EINVAL);
	ck_assert_int_eq(connect_error(&(brk_options){.token_file = "/tmp"}), BRK_EINVAL);
	setenv("BROKERD_TOKEN_FILE", open_file, 1);
	ck_assert_int_eq(connect_error(NULL), BRK_EINVAL);
	ck_assert_int_eq(chmod(open_file, 0640), 0); /* a group may read it */
	ck_assert_int_eq(connect_error(NULL), BRK_ECONNECT);
	unsetenv("BROKERD_TOKEN_FILE");
	token_file_remove(open_file);
	token_file_remove(empty);
	token_file_remove(blank);
}
END_TEST

static void *acquire_on_thread(void *arg)
{
	bool acquired = false;
	ck_assert_int_eq(brk_lock_acquire(arg, "L", BRK_LOCK, 1, &acquired, NULL), BRK_OK);
	return NULL;
}

START_TEST(lock_ops_carry_the_thread_as_owner_when_the_daemon_takes_it)
{
	struct peer p;
	brk_client *x = NULL;
	bool acquired = false;
	pthread_t t;
	peer_start(&p, rep0);
	ck_assert_int_eq(brk_connect(p.url, NULL, &x), BRK_OK);
	ck_assert_uint_eq(brk_session_id(x), 7);
	ck_assert_int_eq(brk_lock_acquire(x, "L", BRK_LOCK, 1, &acquired, NULL), BRK_OK);
	ck_assert_int_eq(brk_semaphore_release(x, "S", 1), BRK_OK);
	ck_assert_int_eq(brk_ping(x), BRK_OK);
	ck_assert_int_eq(pthread_create(&t, NULL, acquire_on_thread, x), 0);
	pthread_join(t, NULL);
	json_int_t mine =
		json_integer_value(json_object_get(peer_find(&p, "lock.acquire", 0), "owner"));
	ck_assert_int_gt(mine, 0);
	ck_assert_int_eq(
		json_integer_value(json_object_get(peer_find(&p, "semaphore.release", 0), "owner")),
		mine);
	ck_assert_ptr_null(json_object_get(peer_find(&p, "ping", 0), "owner"));
	json_int_t theirs =
		json_integer_value(json_object_get(peer_find(&p, "lock.acquire", 1), "owner"));
	ck_assert_int_gt(theirs, 0);
	ck_assert_int_ne(theirs, mine);
	brk_close(x);
	peer_stop(&p);
}
END_TEST

START_TEST(an_interrupted_get_sends_cancel_and_returns_cancelled)
{
	struct peer p;
	brk_options o = {.interrupted = after_deadline};
	brk_client *x = NULL;
	json_t *v = NULL;
	peer_start(&p, rep0);
	ck_assert_int_eq(brk_connect(p.url, &o, &x), BRK_OK);
	double t0 = test_now();
	interrupt_at = t0 + 0.1;
	ck_assert_int_eq(brk_queue_get(x, "q", 30, &v), BRK_ECANCELLED);
	double took = test_now() - t0;
	ck_assert_msg(took >= 0.1 && took < 0.3, "cancelled after %.3f s", took);
	json_t *get = peer_find(&p, "queue.get", 0), *cancel = peer_find(&p, "cancel", 0);
	ck_assert_ptr_nonnull(cancel);
	ck_assert_int_eq(json_integer_value(json_object_get(cancel, "request")),
			 json_integer_value(json_object_get(get, "_id")));
	ck_assert_int_ge(json_integer_value(json_object_get(get, "_id")), 0x80000000LL);
	ck_assert_int_eq(brk_ping(x), BRK_OK); /* the cancel's own reply was dropped */
	brk_close(x);
	peer_stop(&p);
}
END_TEST

START_TEST(a_wait_past_its_deadline_is_cancelled_and_abandoned)
{
	struct peer p;
	brk_options o = {.reply_grace = 0.2};
	brk_client *x = NULL;
	json_t *v = NULL;
	peer_start(&p, rep0);
	ck_assert_int_eq(brk_connect(p.url, &o, &x), BRK_OK);
	double t0 = test_now();
	ck_assert_int_eq(brk_queue_get(x, "q", 0.1, &v), BRK_ENOREPLY);
	double took = test_now() - t0;
	ck_assert_msg(took >= 0.3 && took < 1, "gave up after %.3f s", took);
	ck_assert_int_eq(brk_ping(x), BRK_OK); /* the late "cancelled" reply is dropped */
	ck_assert_ptr_nonnull(peer_find(&p, "cancel", 0));
	ck_assert_int_eq(brk_ping(x), BRK_OK);
	brk_close(x);
	peer_stop(&p);
}
END_TEST

START_TEST(a_peer_that_is_not_rep0_is_refused)
{
	struct peer p;
	brk_client *x = NULL;
	peer_start(&p, req0);
	ck_assert_int_eq(brk_connect(p.url, NULL, &x), BRK_EPROTO);
	ck_assert_ptr_nonnull(strstr(brk_last_error(), "not a brokerd"));
	peer_stop(&p);
}
END_TEST

static volatile sig_atomic_t alarmed;

static void on_alarm(int sig)
{
	(void)sig;
	alarmed = 1;
}

static bool after_alarm(void *arg)
{
	(void)arg;
	return alarmed;
}

START_TEST(a_signal_during_a_wait_reaches_the_hook_at_once)
{
	struct peer p;
	struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART: poll sees EINTR */
	struct itimerval it = {.it_value = {0, 120000}};
	brk_options o = {.interrupted = after_alarm};
	brk_client *x = NULL;
	json_t *v = NULL;
	peer_start(&p, rep0);
	ck_assert_int_eq(brk_connect(p.url, &o, &x), BRK_OK);
	sigaction(SIGALRM, &sa, NULL);
	alarmed = 0;
	double t0 = test_now();
	setitimer(ITIMER_REAL, &it, NULL);
	ck_assert_int_eq(brk_queue_get(x, "q", BRK_FOREVER, &v), BRK_ECANCELLED);
	double took = test_now() - t0;
	/* the hook's 50 ms rounds alone would answer at 150 ms */
	ck_assert_msg(took >= 0.12 && took < 0.2, "cancelled after %.3f s", took);
	fprintf(stderr, "SIGALRM at 120 ms: cancelled after %.1f ms\n", took * 1000);
	brk_close(x);
	peer_stop(&p);
}
END_TEST

START_TEST(a_reply_breaking_the_framing_fails_the_call_and_the_connection)
{
	struct peer p;
	brk_client *x = NULL;
	brk_options o = {.send_timeout = 0.3};
	peer_start(&p, rep0);
	ck_assert_int_eq(brk_connect(p.url, &o, &x), BRK_OK);
	json_t *req = brk_request_new("garble", NULL, NULL);
	ck_assert_int_eq(brk_call(x, req, NULL), BRK_EIO);
	/* the peer serves one connection only: the next one gets no handshake */
	ck_assert_int_eq(brk_ping(x), BRK_ECONNECT);
	ck_assert_ptr_nonnull(strstr(brk_last_error(), "no handshake"));
	json_decref(req);
	brk_close(x);
	peer_stop(&p);
}
END_TEST

/* make_cert: a self-signed certificate (a CA of itself) for names (an openssl -addext
 * subjectAltName value) into dir/name.pem and dir/name.key; false without the openssl tool. */
static bool make_cert(const char *dir, const char *name, const char *names)
{
	char cert[160], key[160], san[160], out[4096];
	snprintf(cert, sizeof cert, "%s/%s.pem", dir, name);
	snprintf(key, sizeof key, "%s/%s.key", dir, name);
	snprintf(san, sizeof san, "subjectAltName=%s", names);
	char *argv[] = {"/usr/bin/openssl",
			"req",
			"-x509",
			"-newkey",
			"ec",
			"-pkeyopt",
			"ec_paramgen_curve:prime256v1",
			"-nodes",
			"-keyout",
			key,
			"-out",
			cert,
			"-days",
			"1",
			"-subj",
			"/CN=brokerd-test",
			"-addext",
			san,
			NULL};
	if (access(argv[0], X_OK) != 0)
		return false;
	int err = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY);
	dup2(null, STDERR_FILENO); /* openssl's progress lines */
	int status = run_tool(argv, out, sizeof out);
	dup2(err, STDERR_FILENO);
	close(err);
	close(null);
	return status == 0;
}

static char cert_dir[64];
static bool have_certs; /* false without the openssl tool: the TLS tests then skip */

static void tls_setup(void)
{
	strcpy(cert_dir, "/tmp/brokerd-tls-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(cert_dir));
	have_certs = make_cert(cert_dir, "good", "DNS:localhost,IP:127.0.0.1") &&
		     make_cert(cert_dir, "other", "DNS:other.example");
	if (!have_certs)
		fprintf(stderr, "TLS tests skipped: cannot make certificates with openssl\n");
}

static void tls_teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", cert_dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* tls_try: connects to a TLS peer presenting cert "which", as host, trusting ca ("" for the
 * system's store); the result of brk_connect, after a ping when it connected. */
static brk_err tls_try(const char *which, const char *host, const char *ca)
{
	struct peer p;
	char cert[160], key[160], ca_path[160];
	brk_client *x = NULL;
	memset(&p, 0, sizeof p);
	snprintf(cert, sizeof cert, "%s/%s.pem", cert_dir, which);
	snprintf(key, sizeof key, "%s/%s.key", cert_dir, which);
	snprintf(ca_path, sizeof ca_path, "%s/%s.pem", cert_dir, ca);
	peer_listen_tls(&p, host, cert, key);
	peer_run_thread(&p, rep0);
	brk_options o = {.send_timeout = 5, .tls_ca = *ca ? ca_path : NULL};
	brk_err err = brk_connect(p.url, &o, &x);
	if (err == BRK_OK) {
		ck_assert_uint_eq(brk_session_id(x), 7);
		ck_assert_int_eq(brk_ping(x), BRK_OK);
		bool acquired = false;
		ck_assert_int_eq(brk_lock_acquire(x, "L", BRK_LOCK, 1, &acquired, NULL), BRK_OK);
		ck_assert(acquired);
		brk_close(x);
	}
	peer_stop(&p);
	return err;
}

START_TEST(tls_verifies_the_server_by_name_and_by_ip)
{
	if (!have_certs)
		return;
	ck_assert_int_eq(tls_try("good", "localhost", "good"), BRK_OK);
	ck_assert_int_eq(tls_try("good", "127.0.0.1", "good"), BRK_OK);
	ck_assert_int_eq(tls_try("other", "localhost", "other"), BRK_ECONNECT);
	ck_assert_ptr_nonnull(strstr(brk_last_error(), "hostname mismatch"));
	ck_assert_int_eq(tls_try("other", "127.0.0.1", "other"), BRK_ECONNECT);
	ck_assert_ptr_nonnull(strstr(brk_last_error(), "IP address mismatch"));
	ck_assert_int_eq(tls_try("good", "localhost", "other"), BRK_ECONNECT);
	ck_assert_int_eq(tls_try("good", "localhost", ""), BRK_ECONNECT); /* not in the system's */
}
END_TEST

/* A child must not write on, or shut down, the TLS stream it inherited: the parent's
 * session goes on over it. (The peer takes one connection: the child's own fails.) */
START_TEST(a_forked_child_leaves_the_parents_tls_stream_alone)
{
	struct peer p;
	char cert[160], key[160];
	brk_client *x = NULL;
	if (!have_certs)
		return;
	memset(&p, 0, sizeof p);
	snprintf(cert, sizeof cert, "%s/good.pem", cert_dir);
	snprintf(key, sizeof key, "%s/good.key", cert_dir);
	peer_listen_tls(&p, "localhost", cert, key);
	peer_run_thread(&p, rep0);
	brk_options o = {.send_timeout = 0.3, .tls_ca = cert};
	ck_assert_int_eq(brk_connect(p.url, &o, &x), BRK_OK);
	ck_assert_int_eq(brk_ping(x), BRK_OK);
	pid_t pid = test_fork();
	if (pid == 0) {
		in_child = true;
		brk_err err = brk_ping(x);
		brk_close(x);
		_exit(err == BRK_ECONNECT ? 0 : 1);
	}
	ck_assert_int_eq(child_exit(pid), 0);
	ck_assert_int_eq(brk_ping(x), BRK_OK);
	ck_assert_uint_eq(json_array_size(p.seen), 3); /* hello, ping, ping: all the parent's */
	brk_close(x);
	peer_stop(&p);
}
END_TEST

/* client_cert_try: a peer that demands a client certificate issued by "other"; the client
 * presents cert "which" (NULL: none). */
static brk_err client_cert_try(const char *which)
{
	struct peer p;
	char cert[160], key[160], mine[160], mykey[160], their_ca[160];
	brk_client *x = NULL;
	memset(&p, 0, sizeof p);
	snprintf(cert, sizeof cert, "%s/good.pem", cert_dir);
	snprintf(key, sizeof key, "%s/good.key", cert_dir);
	snprintf(their_ca, sizeof their_ca, "%s/other.pem", cert_dir);
	snprintf(mine, sizeof mine, "%s/%s.pem", cert_dir, which ? which : "");
	snprintf(mykey, sizeof mykey, "%s/%s.key", cert_dir, which ? which : "");
	peer_listen_tls(&p, "localhost", cert, key);
	SSL_CTX_set_verify(p.tls, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	ck_assert_int_eq(SSL_CTX_load_verify_locations(p.tls, their_ca, NULL), 1);
	peer_run_thread(&p, rep0);
	brk_options o = {.send_timeout = 2,
			 .tls_ca = cert,
			 .tls_cert = which ? mine : NULL,
			 .tls_key = which ? mykey : NULL};
	brk_err err = brk_connect(p.url, &o, &x);
	if (err == BRK_OK)
		ck_assert_int_eq(brk_ping(x), BRK_OK);
	brk_close(x);
	peer_stop(&p);
	return err;
}

START_TEST(tls_presents_a_client_certificate_when_given_one)
{
	if (!have_certs)
		return;
	ck_assert_int_eq(client_cert_try("other"), BRK_OK);
	ck_assert_int_eq(client_cert_try(NULL), BRK_ECONNECT);
	ck_assert_int_eq(client_cert_try("good"), BRK_ECONNECT); /* not issued by "other" */
}
END_TEST

START_TEST(tls_takes_the_ca_from_the_environment)
{
	if (!have_certs)
		return;
	char ca[160];
	snprintf(ca, sizeof ca, "%s/good.pem", cert_dir);
	setenv("BROKERD_TLS_CA", ca, 1);
	ck_assert_int_eq(tls_try("good", "localhost", ""), BRK_OK);
	unsetenv("BROKERD_TLS_CA");
}
END_TEST

/* ---- tokens, against brokerd configured with principals ---- */

#define APP_TOKEN "app-token-0123456789abcdef"
#define OPS_TOKEN "ops-token-0123456789abcdef"

static char auth_config[160];

/* auth_config_new / auth_config_remove: once for the auth tests (an unchecked fixture, so
 * the file goes even when a daemon fails to start): a config file naming two principals,
 * "app" (rw, on names that start with "app.") and "ops" (admin). */
static void auth_config_new(void)
{
	token_file_new(auth_config, sizeof auth_config,
		       "{\"principals\": ["
		       "{\"name\": \"app\", \"token\": \"" APP_TOKEN "\", \"role\": \"rw\", "
		       "\"prefix\": \"app.\"},"
		       "{\"name\": \"ops\", \"token\": \"" OPS_TOKEN "\", \"role\": \"admin\"}]}\n",
		       0600);
}

static void auth_config_remove(void)
{
	token_file_remove(auth_config);
}

/* auth_tcp: the daemon's loopback tcp listener too. Over ipc, root and brokerd's own uid are
 * admin without a token (PROTOCOL.md "Authentication"), as these tests' user may be. */
static char auth_tcp[64];

/* auth_setup: a brokerd with that config, on ipc and on auth_tcp. */
static void auth_setup(void)
{
	snprintf(auth_tcp, sizeof auth_tcp, "tcp://127.0.0.1:%d", free_tcp_port());
	const char *const extra[] = {"--config", auth_config, "--listen", auth_tcp, NULL};
	daemon_start(&d, extra);
}

static void auth_teardown(void)
{
	ck_assert_int_eq(daemon_stop(&d), 0);
}

/* auth_client: a client of d connected with o; the test fails if it cannot connect. */
static brk_client *auth_client(const brk_options *o)
{
	brk_client *x = NULL;
	brk_err err = brk_connect(d.url, o, &x);
	ck_assert_msg(err == BRK_OK, "connect: %s: %s", brk_err_code(err), brk_last_error());
	return x;
}

/* set_int: brk_dict_set of name[key] = v, with JSON made here. */
static brk_err set_int(brk_client *x, const char *name, const char *key, long v)
{
	json_t *k = json_string(key), *val = json_integer(v);
	brk_err err = brk_dict_set(x, name, k, val);
	json_decref(k);
	json_decref(val);
	return err;
}

/* hello_field: field of what hello (without a token) says of x's session, as text. */
static char *hello_field(brk_client *x, const char *field)
{
	json_t *req = brk_request_new("hello", NULL, NULL), *r = NULL;
	ck_assert_int_eq(brk_call(x, req, &r), BRK_OK);
	json_decref(req);
	json_t *v = json_object_get(r, field);
	char *text = json_is_string(v) ? strdup(json_string_value(v))
				       : strdup(json_is_null(v) ? "null" : "?");
	json_decref(r);
	return text;
}

/* role_is: x's session has role and principal. */
static void role_is(brk_client *x, const char *principal, const char *role)
{
	char *p = hello_field(x, "principal"), *r = hello_field(x, "role");
	ck_assert_str_eq(p, principal);
	ck_assert_str_eq(r, role);
	free(p);
	free(r);
}

START_TEST(the_right_token_authenticates_from_the_option_env_or_file)
{
	char file[160];
	token_file_new(file, sizeof file, OPS_TOKEN "\n", 0600);
	brk_client *x = auth_client(&(brk_options){.token = APP_TOKEN});
	role_is(x, "app", "rw");
	char *prefix = hello_field(x, "prefix");
	ck_assert_str_eq(prefix, "app.");
	free(prefix);
	ck_assert_int_eq(set_int(x, "app.d", "k", 2), BRK_OK);
	brk_close(x);
	x = auth_client(&(brk_options){.token_file = file});
	role_is(x, "ops", "admin");
	brk_close(x);
	setenv("BROKERD_TOKEN", APP_TOKEN, 1);
	x = auth_client(NULL);
	role_is(x, "app", "rw");
	brk_close(x);
	unsetenv("BROKERD_TOKEN");
	setenv("BROKERD_TOKEN_FILE", file, 1);
	x = auth_client(NULL);
	role_is(x, "ops", "admin");
	brk_close(x);
	unsetenv("BROKERD_TOKEN_FILE");
	token_file_remove(file);
}
END_TEST

START_TEST(a_wrong_token_is_unauthorized_at_connect)
{
	brk_client *x = NULL;
	brk_options o = {.token = "not-a-token-of-anyone-0123"};
	ck_assert_int_eq(brk_connect(d.url, &o, &x), BRK_EUNAUTHORIZED);
	ck_assert_ptr_null(x);
	ck_assert_ptr_null(strstr(brk_last_error(), "not-a-token"));
	ck_assert_msg(strlen(brk_last_error()) > strlen("brokerd refused the token: "), "%s",
		      brk_last_error());
}
END_TEST

START_TEST(without_a_token_ops_are_unauthorized)
{
	brk_client *x = NULL;
	brk_err err = brk_connect(auth_tcp, NULL, &x); /* hello needs no token */
	ck_assert_msg(err == BRK_OK, "connect: %s", brk_last_error());
	size_t n = 0;
	ck_assert_int_eq(brk_ping(x), BRK_OK);
	ck_assert_int_eq(set_int(x, "app.d", "k", 2), BRK_EUNAUTHORIZED);
	ck_assert_int_eq(brk_dict_len(x, "app.d", &n), BRK_EUNAUTHORIZED);
	char *role = hello_field(x, "role");
	ck_assert_str_eq(role, "none");
	free(role);
	brk_close(x);
}
END_TEST

START_TEST(a_role_or_prefix_that_does_not_allow_an_op_is_forbidden)
{
	brk_client *x = auth_client(&(brk_options){.token = APP_TOKEN});
	ck_assert_int_eq(set_int(x, "other.d", "k", 2), BRK_EFORBIDDEN);
	ck_assert_int_eq(set_int(x, "app.d", "k", 2), BRK_OK);
	brk_close(x);
}
END_TEST

START_TEST(an_open_token_file_is_refused_before_connecting)
{
	char file[160];
	brk_client *x = NULL;
	token_file_new(file, sizeof file, APP_TOKEN "\n", 0644);
	ck_assert_int_eq(brk_connect(d.url, &(brk_options){.token_file = file}, &x), BRK_EINVAL);
	ck_assert_ptr_null(x);
	ck_assert_ptr_null(strstr(brk_last_error(), APP_TOKEN));
	token_file_remove(file);
}
END_TEST

START_TEST(a_forked_child_reconnects_with_the_token)
{
	brk_client *x = auth_client(&(brk_options){.token = APP_TOKEN});
	json_t *key = json_string("child"), *got = NULL;
	uint64_t parent = brk_session_id(x);
	pid_t pid = test_fork();
	if (pid == 0) {
		in_child = true;
		brk_err err = set_int(x, "app.d", "child", 1);
		_exit(err == BRK_OK && brk_session_id(x) != parent ? 0 : 10 + (int)err);
	}
	ck_assert_int_eq(child_exit(pid), 0);
	ck_assert_int_eq(brk_dict_get(x, "app.d", key, &got), BRK_OK);
	ck_assert_int_eq(json_integer_value(got), 1);
	ck_assert_uint_eq(brk_session_id(x), parent);
	json_decref(got);
	json_decref(key);
	brk_close(x);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("client");
	TCase *tc = tcase_create("client");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, forked_children_get_sessions_of_their_own);
	tcase_add_test(tc, a_child_drops_the_parents_unconfirmed_items);
	tcase_add_test(tc, threads_share_one_client_and_each_gets_its_own_replies);
	tcase_add_test(tc, a_restart_loses_the_session_of_a_holder_once);
	tcase_add_test(tc, a_call_in_flight_when_the_daemon_dies_fails_and_the_next_reports_it);
	tcase_add_test(tc, threads_ride_out_a_daemon_killed_under_load);
	tcase_add_test(tc, tcp_addresses_by_ip_and_by_name);
	tcase_add_test(tc, bad_addresses_are_reported);
	tcase_add_test(tc, tls_against_a_plain_listener_does_not_connect);
	tcase_add_test(tc, an_interrupted_get_is_cancelled);
	tcase_add_test(tc, a_get_cancelled_as_its_item_arrives_delivers_it_exactly_once);
	tcase_add_test(tc, locks_belong_to_the_thread_that_took_them);
	suite_add_tcase(s, tc);
	TCase *peer = tcase_create("peer");
	tcase_add_test(peer, lock_ops_carry_the_thread_as_owner_when_the_daemon_takes_it);
	tcase_add_test(peer, an_interrupted_get_sends_cancel_and_returns_cancelled);
	tcase_add_test(peer, a_wait_past_its_deadline_is_cancelled_and_abandoned);
	tcase_add_test(peer, a_peer_that_is_not_rep0_is_refused);
	tcase_add_test(peer, a_signal_during_a_wait_reaches_the_hook_at_once);
	tcase_add_test(peer, a_reply_breaking_the_framing_fails_the_call_and_the_connection);
	tcase_add_test(peer, hello_carries_the_token_from_the_options_else_the_environment);
	tcase_add_test(peer, a_refused_token_fails_connect_with_unauthorized_and_is_not_shown);
	tcase_add_test(peer, token_files_others_may_read_empty_or_missing_are_refused);
	suite_add_tcase(s, peer);
	TCase *auth = tcase_create("auth");
	tcase_set_timeout(auth, 60);
	tcase_add_unchecked_fixture(auth, auth_config_new, auth_config_remove);
	tcase_add_checked_fixture(auth, auth_setup, auth_teardown);
	tcase_add_test(auth, the_right_token_authenticates_from_the_option_env_or_file);
	tcase_add_test(auth, a_wrong_token_is_unauthorized_at_connect);
	tcase_add_test(auth, without_a_token_ops_are_unauthorized);
	tcase_add_test(auth, a_role_or_prefix_that_does_not_allow_an_op_is_forbidden);
	tcase_add_test(auth, an_open_token_file_is_refused_before_connecting);
	tcase_add_test(auth, a_forked_child_reconnects_with_the_token);
	suite_add_tcase(s, auth);
	TCase *tls = tcase_create("tls");
	tcase_add_checked_fixture(tls, tls_setup, tls_teardown);
	tcase_add_test(tls, tls_verifies_the_server_by_name_and_by_ip);
	tcase_add_test(tls, tls_takes_the_ca_from_the_environment);
	tcase_add_test(tls, tls_presents_a_client_certificate_when_given_one);
	tcase_add_test(tls, a_forked_child_leaves_the_parents_tls_stream_alone);
	suite_add_tcase(s, tls);
	return run_suite(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
