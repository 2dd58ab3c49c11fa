/* test_pool.c: pools between real processes through a real brokerd and libbroker: the
 * classic 100 apply_async on 5 workers, map order, unordered collection, worker errors,
 * workers killed with SIGKILL mid-task, close/join/terminate, a submitter that dies, and
 * worker recycling. Worker processes never call Check (test_fork); they report by exit. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "run_suite.h"

static struct daemon d;
static brk_client *c;
static char marker[160];

static void setup(void)
{
	daemon_open(&d, &c);
	snprintf(marker, sizeof marker, "%s/ran-once", d.dir);
}

static void teardown(void)
{
	daemon_shut(&d, c);
}

/* J: the JSON value of text (new). */
static json_t *J(const char *text)
{
	return json_loads(text, JSON_DECODE_ANY, NULL);
}

/* ---- the functions workers serve ---- */

static json_t *add100(const json_t *args, const json_t *kwargs, void *arg, brk_task_error *e)
{
	(void)kwargs, (void)arg, (void)e;
	return json_integer(json_integer_value(json_array_get(args, 0)) + 100);
}

static json_t *square(const json_t *args, const json_t *kwargs, void *arg, brk_task_error *e)
{
	(void)kwargs, (void)arg, (void)e;
	json_int_t x = json_integer_value(json_array_get(args, 0));
	return json_integer(x * x);
}

static json_t *mul(const json_t *args, const json_t *kwargs, void *arg, brk_task_error *e)
{
	(void)arg, (void)e;
	json_int_t k = json_integer_value(json_object_get(kwargs, "k"));
	return json_integer(json_integer_value(json_array_get(args, 0)) *
			    json_integer_value(json_array_get(args, 1)) * (k ? k : 1));
}

static json_t *refuse(const json_t *args, const json_t *kwargs, void *arg, brk_task_error *e)
{
	(void)kwargs, (void)arg;
	snprintf(e->type, sizeof e->type, "ValueError");
	snprintf(e->message, sizeof e->message, "bad %lld",
		 (long long)json_integer_value(json_array_get(args, 0)));
	return NULL;
}

/* hang_once: the first run hangs (to be killed); any later run answers 42. */
static json_t *hang_once(const json_t *args, const json_t *kwargs, void *arg, brk_task_error *e)
{
	(void)args, (void)kwargs, (void)arg, (void)e;
	struct stat st;
	if (stat(marker, &st) != 0) {
		FILE *f = fopen(marker, "w");
		if (f)
			fclose(f);
		sleep(60);
	}
	return json_integer(42);
}

static json_t *sleepy(const json_t *args, const json_t *kwargs, void *arg, brk_task_error *e)
{
	(void)args, (void)kwargs, (void)arg, (void)e;
	usleep(1500 * 1000);
	return json_string("late");
}

static json_t *die(const json_t *args, const json_t *kwargs, void *arg, brk_task_error *e)
{
	(void)args, (void)kwargs, (void)arg, (void)e;
	raise(SIGKILL);
	return NULL;
}

static json_t *my_pid(const json_t *args, const json_t *kwargs, void *arg, brk_task_error *e)
{
	(void)args, (void)kwargs, (void)arg, (void)e;
	return json_integer(getpid());
}

static const brk_worker_func table[] = {
	{"add100", add100, NULL}, {"square", square, NULL},       {"mul", mul, NULL},
	{"refuse", refuse, NULL}, {"hang_once", hang_once, NULL}, {"die", die, NULL},
	{"pid", my_pid, NULL},    {"sleepy", sleepy, NULL},       {NULL, NULL, NULL},
};

/* workers: a process running brk_worker_run with n forked workers; it exits 0 when the
 * pool closed and drained, 2 when terminated, 1 otherwise. */
static pid_t workers(const char *pool, int n, long maxtasks)
{
	brk_err made = brk_pool_create(c, pool, 0, 0); /* so that stat finds it at once */
	ck_assert(made == BRK_OK || made == BRK_EEXISTS);
	pid_t pid = test_fork();
	if (pid == 0) {
		brk_worker_options o = {.url = d.url, .processes = n, .maxtasksperchild = maxtasks};
		brk_err err = brk_worker_run(pool, table, &o);
		_exit(err == BRK_OK ? 0 : err == BRK_ETERMINATED ? 2 : 1);
	}
	return pid;
}

/* wait_workers: waits (up to 10 s) until n workers are parked on pool. */
static void wait_workers(const char *pool, long n)
{
	wait_stat(c, pool, "workers", n);
}

static void close_and_join(const char *pool, pid_t runner)
{
	ck_assert_int_eq(brk_pool_close(c, pool), BRK_OK);
	ck_assert_int_eq(brk_pool_join(c, pool, 10), BRK_OK);
	ck_assert_int_eq(child_exit(runner), 0);
}

/* ---- tests ---- */

static int seen[100];

static void count_result(brk_result *r, const json_t *value, void *arg)
{
	int i = (int)(intptr_t)arg;
	if (json_integer_value(value) == i + 100 && brk_result_id(r))
		seen[i]++;
	else
		seen[i] = -1000;
}

START_TEST(classic_100_apply_async_on_5_workers_each_callback_once)
{
	pid_t runner = workers("p", 5, 0);
	wait_workers("p", 5);
	brk_result *rs[100];
	memset(seen, 0, sizeof seen);
	for (int i = 0; i < 100; i++) {
		json_t *args = json_pack("[i]", i);
		ck_assert_int_eq(brk_pool_apply_async(c, "p", "add100", args, NULL, 0, count_result,
						      NULL, (void *)(intptr_t)i, &rs[i]),
				 BRK_OK);
		json_decref(args);
	}
	size_t ready = 0;
	for (int round = 0; ready < 100 && round < 1000; round++)
		ck_assert_int_eq(brk_pool_collect(rs, 100, 10, &ready), BRK_OK);
	ck_assert_uint_eq(ready, 100);
	for (int i = 0; i < 100; i++) {
		ck_assert_int_eq(seen[i], 1);
		json_t *v = NULL;
		ck_assert_int_eq(brk_result_get(rs[i], 0, &v), BRK_OK); /* kept in the handle */
		ck_assert_int_eq(json_integer_value(v), i + 100);
		json_decref(v);
		brk_result_free(rs[i]);
	}
	ck_assert_int_eq(stat_count(c, "p", "completed"), 100);
	ck_assert_int_eq(stat_count(c, "p", "results"), 0);
	close_and_join("p", runner);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(seen[i], 1); /* nothing ran twice meanwhile */
}
END_TEST

/* squares_async: brk_pool_map_async of square over 0 .. n-1 in chunks of chunksize; the
 * handles, one an item. */
static brk_result **squares_async(int n, long chunksize)
{
	json_t *items = json_array();
	brk_result **rs = NULL;
	for (int i = 0; i < n; i++)
		json_array_append_new(items, json_integer(i));
	ck_assert_int_eq(brk_pool_map_async(c, "p", "square", items, false, chunksize, &rs),
			 BRK_OK);
	json_decref(items);
	return rs;
}

/* expect_squares: rs[i] gives i * i, waiting up to timeout; each is freed. */
static void expect_squares(brk_result **rs, int n, double timeout)
{
	for (int i = 0; i < n; i++) {
		json_t *v = NULL;
		ck_assert_int_eq(brk_result_get(rs[i], timeout, &v), BRK_OK);
		ck_assert_int_eq(json_integer_value(v), i * i);
		json_decref(v);
		brk_result_free(rs[i]);
	}
	free(rs);
}

/* collect_all: brk_pool_collect over rs until all n are in. */
static void collect_all(brk_result **rs, size_t n)
{
	size_t ready = 0;
	for (int round = 0; ready < n && round < 1000; round++)
		ck_assert_int_eq(brk_pool_collect(rs, n, 10, &ready), BRK_OK);
	ck_assert_uint_eq(ready, n);
}

START_TEST(map_keeps_input_order_and_collect_returns_every_result_once)
{
	pid_t runner = workers("p", 4, 0);
	json_t *items = json_array(), *values = NULL;
	for (int i = 0; i < 200; i++)
		json_array_append_new(items, json_integer(i));
	ck_assert_int_eq(brk_pool_map(c, "p", "square", items, false, 0, 30, &values), BRK_OK);
	ck_assert_uint_eq(json_array_size(values), 200);
	for (int i = 0; i < 200; i++)
		ck_assert_int_eq(json_integer_value(json_array_get(values, i)), i * i);
	json_decref(values);
	/* starmap */
	json_t *pairs = J("[[2,3],[4,5],[6,7]]");
	ck_assert_int_eq(brk_pool_map(c, "p", "mul", pairs, true, 0, 30, &values), BRK_OK);
	json_t *want = J("[6,20,42]");
	ck_assert(json_equal(values, want));
	json_decref(values);
	/* chunked: fewer tasks, the same results in the same order */
	ck_assert_int_eq(brk_pool_map(c, "p", "mul", pairs, true, 2, 30, &values), BRK_OK);
	ck_assert(json_equal(values, want));
	json_decref(values);
	ck_assert_int_eq(brk_pool_map(c, "p", "square", items, false, 7, 30, &values), BRK_OK);
	ck_assert_uint_eq(json_array_size(values), 200);
	for (int i = 0; i < 200; i++)
		ck_assert_int_eq(json_integer_value(json_array_get(values, i)), i * i);
	json_decref(values);
	ck_assert_int_eq(stat_count(c, "p", "completed"), 200 + 3 + 2 + 29);
	json_decref(want);
	json_decref(pairs);
	/* imap_unordered: collect until all are in, each once */
	brk_result **rs = squares_async(200, 0);
	collect_all(rs, 200);
	expect_squares(rs, 200, 0); /* kept in the handles */
	json_decref(items);
	/* apply with kwargs */
	json_t *v = NULL, *args = J("[2,3]"), *kwargs = json_pack("{s:i}", "k", 10);
	ck_assert_int_eq(brk_pool_apply(c, "p", "mul", args, kwargs, &v), BRK_OK);
	ck_assert_int_eq(json_integer_value(v), 60);
	json_decref(v);
	json_decref(args);
	json_decref(kwargs);
	close_and_join("p", runner);
}
END_TEST

START_TEST(map_async_with_chunksize_gives_the_same_results_one_a_item)
{
	static const long sizes[] = {0, 1, 7, 50, 64};
	pid_t runner = workers("p", 3, 0);
	long tasks = 0;
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		/* imap: each in input order, a chunk fetched by its first call */
		expect_squares(squares_async(50, sizes[k]), 50, 30);
		/* imap_unordered: collect until all are in, then each kept in its handle */
		brk_result **rs = squares_async(50, sizes[k]);
		collect_all(rs, 50);
		expect_squares(rs, 50, 0);
		/* a later call of a chunk fetches it; the earlier ones take their part */
		rs = squares_async(50, sizes[k]);
		json_t *v = NULL;
		ck_assert_int_eq(brk_result_get(rs[49], 30, &v), BRK_OK);
		ck_assert_int_eq(json_integer_value(v), 49 * 49);
		json_decref(v);
		expect_squares(rs, 50, 30);
		tasks += 3 * (sizes[k] > 1 ? (50 + sizes[k] - 1) / sizes[k] : 50);
	}
	ck_assert_int_eq(stat_count(c, "p", "completed"), tasks); /* chunks: fewer tasks */
	ck_assert_int_eq(stat_count(c, "p", "size"), 0);          /* every outcome fetched */
	/* the calls of a failed chunk fail with its error */
	json_t *items = J("[1,2,3]");
	brk_result **rs = NULL;
	ck_assert_int_eq(brk_pool_map_async(c, "p", "refuse", items, false, 2, &rs), BRK_OK);
	static const char *const want[] = {"bad 1", "bad 1", "bad 3"};
	for (int i = 0; i < 3; i++) {
		json_t *v = NULL;
		const char *type, *message;
		ck_assert_int_eq(brk_result_get(rs[i], 30, &v), BRK_ETASK);
		brk_result_error(rs[i], &type, &message);
		ck_assert_str_eq(message, want[i]);
		brk_result_free(rs[i]);
	}
	free(rs);
	json_decref(items);
	close_and_join("p", runner);
}
END_TEST

static int errors_seen;

static void on_error(brk_result *r, brk_err err, const char *type, const char *message, void *arg)
{
	(void)r, (void)arg;
	if (err == BRK_ETASK && type && strcmp(type, "ValueError") == 0 && message &&
	    strcmp(message, "bad 7") == 0)
		errors_seen++;
}

START_TEST(a_worker_error_reaches_get_with_its_type_and_message)
{
	pid_t runner = workers("p", 1, 0);
	brk_result *r = NULL;
	json_t *args = J("[7]"), *v = NULL;
	bool flag;
	errors_seen = 0;
	ck_assert_int_eq(
		brk_pool_apply_async(c, "p", "refuse", args, NULL, 0, NULL, on_error, NULL, &r),
		BRK_OK);
	ck_assert_int_eq(brk_result_successful(r, &flag), BRK_EVALUE); /* not ready yet */
	ck_assert_int_eq(brk_result_get(r, 30, &v), BRK_ETASK);
	ck_assert_str_eq(brk_last_error(), "ValueError: bad 7");
	const char *type, *message;
	brk_result_error(r, &type, &message);
	ck_assert_str_eq(type, "ValueError");
	ck_assert_str_eq(message, "bad 7");
	ck_assert_int_eq(brk_result_ready(r, &flag), BRK_OK);
	ck_assert(flag);
	ck_assert_int_eq(brk_result_successful(r, &flag), BRK_OK);
	ck_assert(!flag);
	ck_assert_int_eq(errors_seen, 1);
	brk_result_free(r);
	/* map raises the first error */
	json_t *items = J("[1,2]");
	ck_assert_int_eq(brk_pool_map(c, "p", "refuse", items, false, 0, 30, &v), BRK_ETASK);
	ck_assert_str_eq(brk_last_error(), "ValueError: bad 1");
	ck_assert_int_eq(brk_pool_map(c, "p", "refuse", items, false, 2, 30, &v), BRK_ETASK);
	ck_assert_str_eq(brk_last_error(), "ValueError: bad 1"); /* a chunk fails as a whole */
	json_decref(items);
	/* a function no worker serves waits, and stat shows it */
	ck_assert_int_eq(
		brk_pool_apply_async(c, "p", "nobody", NULL, NULL, 0, NULL, NULL, NULL, &r),
		BRK_OK);
	ck_assert_int_eq(brk_result_get(r, 0.1, &v), BRK_ETIMEOUT);
	ck_assert_int_eq(brk_result_ready(r, &flag), BRK_OK);
	ck_assert(!flag);
	json_t *st = NULL;
	ck_assert_int_eq(brk_stat(c, "p", &st), BRK_OK);
	ck_assert_int_eq(
		json_integer_value(json_object_get(json_object_get(st, "queued_funcs"), "nobody")),
		1);
	json_decref(st);
	brk_result_free(r);
	json_decref(args);
	ck_assert_int_eq(brk_pool_terminate(c, "p"), BRK_OK);
	ck_assert_int_eq(child_exit(runner), 2);
}
END_TEST

START_TEST(sigkill_of_a_worker_mid_task_runs_it_again_elsewhere_once)
{
	pid_t runner = workers("p", 2, 0);
	wait_workers("p", 2);
	brk_result *r = NULL;
	ck_assert_int_eq(
		brk_pool_apply_async(c, "p", "hang_once", NULL, NULL, 0, NULL, NULL, NULL, &r),
		BRK_OK);
	wait_stat(c, "p", "running", 1);
	json_t *st = NULL;
	ck_assert_int_eq(brk_stat(c, "p", &st), BRK_OK);
	json_t *run = json_array_get(json_object_get(st, "running"), 0);
	pid_t victim = (pid_t)json_integer_value(json_object_get(run, "pid"));
	ck_assert_int_gt(victim, 0);
	ck_assert_int_eq(json_integer_value(json_object_get(run, "attempt")), 1);
	json_decref(st);
	for (int i = 0; i < 500 && access(marker, F_OK) != 0; i++)
		usleep(10000);
	ck_assert_int_eq(kill(victim, SIGKILL), 0);
	json_t *v = NULL;
	ck_assert_int_eq(brk_result_get(r, 30, &v), BRK_OK);
	ck_assert_int_eq(json_integer_value(v), 42);
	json_decref(v);
	brk_result_free(r);
	ck_assert_int_eq(stat_count(c, "p", "completed"), 1);
	ck_assert_int_eq(stat_count(c, "p", "failed"), 0);
	close_and_join("p", runner);
}
END_TEST

START_TEST(a_task_that_kills_every_worker_fails_worker_lost)
{
	ck_assert_int_eq(brk_pool_create(c, "p", 3, 0), BRK_OK);
	pid_t runner = workers("p", 2, 0);
	json_t *v = NULL;
	ck_assert_int_eq(brk_pool_apply(c, "p", "die", NULL, NULL, &v), BRK_EWORKERLOST);
	ck_assert_ptr_nonnull(strstr(brk_last_error(), "3 times"));
	/* the pool goes on with replaced workers */
	json_t *args = J("[1]");
	ck_assert_int_eq(brk_pool_apply(c, "p", "add100", args, NULL, &v), BRK_OK);
	ck_assert_int_eq(json_integer_value(v), 101);
	json_decref(v);
	json_decref(args);
	close_and_join("p", runner);
}
END_TEST

START_TEST(close_join_terminate_and_a_submitter_that_dies)
{
	ck_assert_int_eq(brk_pool_join(c, "p", 0), BRK_ENOTFOUND);
	ck_assert_int_eq(brk_pool_create(c, "p", 0, 0), BRK_OK);
	ck_assert_int_eq(brk_pool_join(c, "p", 0), BRK_EVALUE);
	/* a submitter that dies leaves no task or result behind */
	pid_t pid = test_fork();
	if (pid == 0) {
		brk_client *x = NULL;
		brk_result *r = NULL;
		if (brk_connect(d.url, NULL, &x) != BRK_OK)
			_exit(1);
		for (int i = 0; i < 10; i++)
			if (brk_pool_apply_async(x, "p", "square", NULL, NULL, 0, NULL, NULL, NULL,
						 &r) != BRK_OK)
				_exit(2);
		_exit(0);
	}
	ck_assert_int_eq(child_exit(pid), 0);
	wait_stat(c, "p", "size", 0);
	ck_assert_int_eq(stat_count(c, "p", "queued"), 0);
	/* close: queued tasks still run; join waits for them */
	brk_result *r = NULL;
	json_t *args = J("[9]"), *v = NULL;
	ck_assert_int_eq(
		brk_pool_apply_async(c, "p", "square", args, NULL, 0, NULL, NULL, NULL, &r),
		BRK_OK);
	ck_assert_int_eq(brk_pool_close(c, "p"), BRK_OK);
	ck_assert_int_eq(
		brk_pool_apply_async(c, "p", "square", args, NULL, 0, NULL, NULL, NULL, &r),
		BRK_ECLOSED);
	ck_assert_int_eq(brk_pool_join(c, "p", 0.05), BRK_ETIMEOUT);
	pid_t runner = workers("p", 2, 0);
	ck_assert_int_eq(brk_pool_join(c, "p", 10), BRK_OK);
	ck_assert_int_eq(child_exit(runner), 0);
	ck_assert_int_eq(brk_result_get(r, 0, &v), BRK_OK);
	ck_assert_int_eq(json_integer_value(v), 81);
	json_decref(v);
	brk_result_free(r);
	/* terminate: pending tasks fail terminated, parked workers stop */
	ck_assert_int_eq(brk_pool_create(c, "t", 0, 0), BRK_OK);
	runner = workers("t", 2, 0);
	wait_workers("t", 2);
	ck_assert_int_eq(
		brk_pool_apply_async(c, "t", "nobody", args, NULL, 0, NULL, NULL, NULL, &r),
		BRK_OK);
	ck_assert_int_eq(brk_pool_terminate(c, "t"), BRK_OK);
	ck_assert_int_eq(brk_result_get(r, 10, &v), BRK_ETERMINATED);
	ck_assert_int_eq(child_exit(runner), 2);
	ck_assert_int_eq(brk_pool_join(c, "t", 0), BRK_OK);
	brk_result_free(r);
	json_decref(args);
}
END_TEST

START_TEST(maxtasksperchild_recycles_workers)
{
	pid_t runner = workers("p", 1, 2);
	/* one at a time, so that each worker takes exactly its two */
	json_t *all = json_array();
	for (size_t i = 0; i < 6; i++) {
		json_t *v = NULL;
		ck_assert_int_eq(brk_pool_apply(c, "p", "pid", NULL, NULL, &v), BRK_OK);
		json_array_append_new(all, v);
	}
	for (size_t i = 0; i < 6; i += 2) {
		ck_assert(json_equal(json_array_get(all, i), json_array_get(all, i + 1)));
		if (i)
			ck_assert(!json_equal(json_array_get(all, i), json_array_get(all, i - 1)));
	}
	json_decref(all);
	close_and_join("p", runner);
}
END_TEST

START_TEST(a_task_past_its_deadline_fails_timeout_and_the_late_answer_is_dropped)
{
	pid_t runner = workers("p", 1, 0);
	brk_result *r = NULL;
	json_t *v = NULL;
	bool flag = true;
	double start = test_now();
	ck_assert_int_eq(
		brk_pool_apply_async(c, "p", "sleepy", NULL, NULL, 0.2, NULL, NULL, NULL, &r),
		BRK_OK);
	ck_assert_int_eq(brk_result_get(r, 10, &v), BRK_ETIMEOUT);
	ck_assert(test_now() - start < 1.4); /* the deadline, not the worker, ended it */
	ck_assert_int_eq(brk_result_ready(r, &flag), BRK_OK);
	ck_assert(flag);
	ck_assert_int_eq(brk_result_successful(r, &flag), BRK_OK);
	ck_assert(!flag);
	ck_assert_int_eq(stat_count(c, "p", "failed"), 1);
	wait_stat(c, "p", "workers", 1); /* the worker answered late, and waits again */
	ck_assert_int_eq(stat_count(c, "p", "completed"), 0);
	ck_assert_int_eq(stat_count(c, "p", "size"), 0);
	brk_result_free(r);
	close_and_join("p", runner);
}
END_TEST

static int freed_ok, freed_failed;

/* free_own / free_own_on_error: fire-and-forget callbacks: each frees its own handle. */
static void free_own(brk_result *r, const json_t *value, void *arg)
{
	freed_ok += json_integer_value(value) == 100 + (json_int_t)(intptr_t)arg;
	brk_result_free(r);
}

static void free_own_on_error(brk_result *r, brk_err err, const char *type, const char *message,
			      void *arg)
{
	(void)type, (void)message, (void)arg;
	freed_failed += err == BRK_ETASK;
	brk_result_free(r);
}

static brk_result *fire(const char *func, int x)
{
	brk_result *r = NULL;
	json_t *args = json_pack("[i]", x);
	ck_assert_int_eq(brk_pool_apply_async(c, "p", func, args, NULL, 0, free_own,
					      free_own_on_error, (void *)(intptr_t)x, &r),
			 BRK_OK);
	json_decref(args);
	return r;
}

/* Run under ASan (BROKER_SANITIZE) to see a handle touched after its callback freed it. */
START_TEST(a_callback_may_free_its_own_handle)
{
	pid_t runner = workers("p", 2, 0);
	brk_result *rs[20];
	freed_ok = freed_failed = 0;
	ck_assert_int_eq(brk_result_wait(fire("add100", 1), 30), BRK_OK);
	ck_assert_int_eq(brk_result_wait(fire("refuse", 2), 30), BRK_OK);
	bool ready = false;
	brk_result *r = fire("add100", 3);
	wait_stat(c, "p", "results", 1);
	ck_assert_int_eq(brk_result_ready(r, &ready), BRK_OK);
	ck_assert(ready);
	ck_assert_int_eq(freed_ok, 2);
	ck_assert_int_eq(freed_failed, 1);
	for (int i = 0; i < 20; i++)
		rs[i] = fire(i % 2 ? "refuse" : "add100", i);
	wait_stat(c, "p", "results", 20);
	size_t n = 0;
	ck_assert_int_eq(brk_pool_collect(rs, 20, 10, &n), BRK_OK);
	ck_assert_uint_eq(n, 20);
	ck_assert_int_eq(freed_ok, 12);
	ck_assert_int_eq(freed_failed, 11);
	close_and_join("p", runner);
}
END_TEST

START_TEST(a_handle_freed_unfetched_gives_its_task_up)
{
	brk_result *r[3], *more = NULL, **rs = NULL;
	json_t *items = json_pack("[i,i,i,i]", 1, 2, 3, 4);
	ck_assert_int_eq(brk_pool_create(c, "full", 0, 3), BRK_OK);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(brk_pool_apply_async(c, "full", "add100", NULL, NULL, 0, NULL,
						      NULL, NULL, &r[i]),
				 BRK_OK);
	ck_assert_int_eq(
		brk_pool_apply_async(c, "full", "add100", NULL, NULL, 0, NULL, NULL, NULL, &more),
		BRK_ELIMIT);
	for (int i = 0; i < 3; i++)
		brk_result_free(r[i]); /* never fetched: given up, their room freed */
	wait_stat(c, "full", "size", 0);
	/* the calls of a chunk give its task up with the last of them */
	ck_assert_int_eq(brk_pool_map_async(c, "full", "add100", items, false, 2, &rs), BRK_OK);
	wait_stat(c, "full", "size", 2);
	brk_result_free(rs[0]);
	brk_result_free(rs[2]);
	brk_result_free(rs[3]);
	wait_stat(c, "full", "size", 1);
	brk_result_free(rs[1]);
	free(rs);
	wait_stat(c, "full", "size", 0);
	json_decref(items);
}
END_TEST

/* worker_requests: how many requests the session parked in pool.work on pool has made. */
static long worker_requests(const char *pool)
{
	json_t *req = json_pack("{s:s}", "op", "sessions"), *list = NULL, *sess, *w;
	size_t i, j;
	long n = -1;
	ck_assert_int_eq(brk_call(c, req, &list), BRK_OK);
	json_array_foreach (list, i, sess)
		json_array_foreach (json_object_get(sess, "waiting"), j, w)
			if (strcmp(json_string_value(json_object_get(w, "op")), "pool.work") == 0 &&
			    strcmp(json_string_value(json_object_get(w, "object")), pool) == 0)
				n = (long)json_integer_value(json_object_get(sess, "requests"));
	json_decref(req);
	json_decref(list);
	return n;
}

START_TEST(a_worker_answers_with_its_next_pool_work_one_request_a_task)
{
	pid_t runner = workers("p", 1, 0);
	wait_workers("p", 1);
	long before = worker_requests("p");
	ck_assert_int_ge(before, 1);
	for (int i = 0; i < 10; i++) {
		json_t *args = json_pack("[i]", i), *v = NULL;
		ck_assert_int_eq(brk_pool_apply(c, "p", "add100", args, NULL, &v), BRK_OK);
		ck_assert_int_eq(json_integer_value(v), i + 100);
		json_decref(args);
		json_decref(v);
	}
	wait_workers("p", 1);
	ck_assert_int_eq(worker_requests("p"), before + 10);
	close_and_join("p", runner);
}
END_TEST

/* worker_here: a process running brk_worker_run in itself (processes 0); exits as workers. */
static pid_t worker_here(const char *pool, long maxtasks)
{
	pid_t pid = test_fork();
	if (pid == 0) {
		brk_worker_options o = {.url = d.url, .maxtasksperchild = maxtasks};
		brk_err err = brk_worker_run(pool, table, &o);
		_exit(err == BRK_OK ? 0 : err == BRK_ETERMINATED ? 2 : 1);
	}
	return pid;
}

static void del(const char *name)
{
	json_t *req = json_pack("{s:s, s:s}", "op", "del", "name", name), *r = NULL;
	ck_assert_int_eq(brk_call(c, req, &r), BRK_OK);
	json_decref(req);
	json_decref(r);
}

START_TEST(a_deleted_pool_or_a_shutdown_stops_workers_cleanly)
{
	pid_t forked = workers("p", 2, 0), here = worker_here("p", 0);
	wait_workers("p", 3);
	del("p");
	ck_assert_int_eq(child_exit(forked), 0);
	ck_assert_int_eq(child_exit(here), 0);
	/* deleted while its last task runs: the last pool.done finds no pool */
	here = worker_here("q", 1);
	brk_result *r = NULL;
	ck_assert_int_eq(
		brk_pool_apply_async(c, "q", "sleepy", NULL, NULL, 0, NULL, NULL, NULL, &r),
		BRK_OK);
	wait_stat(c, "q", "running", 1);
	del("q");
	ck_assert_int_eq(child_exit(here), 0);
	brk_result_free(r);
	forked = workers("s", 2, 0);
	here = worker_here("s", 0);
	wait_workers("s", 3);
	brk_close(c);
	ck_assert_int_eq(daemon_stop(&d), 0);
	ck_assert_int_eq(child_exit(forked), 0);
	ck_assert_int_eq(child_exit(here), 0);
	daemon_open(&d, &c); /* for teardown */
}
END_TEST

START_TEST(forked_workers_that_cannot_reach_brokerd_are_not_restarted)
{
	char url[200];
	snprintf(url, sizeof url, "ipc://%s/nobody.sock", d.dir);
	brk_worker_options o = {.url = url, .processes = 3};
	double t0 = test_now();
	ck_assert_int_eq(brk_worker_run("p", table, &o), BRK_ECONNECT);
	ck_assert(test_now() - t0 < 5);
	o.processes = 0;
	ck_assert_int_eq(brk_worker_run("p", table, &o), BRK_ECONNECT);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pool");
	TCase *tc = tcase_create("pool");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	ADD(tc, classic_100_apply_async_on_5_workers_each_callback_once);
	ADD(tc, map_keeps_input_order_and_collect_returns_every_result_once);
	ADD(tc, map_async_with_chunksize_gives_the_same_results_one_a_item);
	ADD(tc, a_worker_error_reaches_get_with_its_type_and_message);
	ADD(tc, sigkill_of_a_worker_mid_task_runs_it_again_elsewhere_once);
	ADD(tc, a_task_that_kills_every_worker_fails_worker_lost);
	ADD(tc, close_join_terminate_and_a_submitter_that_dies);
	ADD(tc, maxtasksperchild_recycles_workers);
	ADD(tc, a_task_past_its_deadline_fails_timeout_and_the_late_answer_is_dropped);
	ADD(tc, a_callback_may_free_its_own_handle);
	ADD(tc, a_handle_freed_unfetched_gives_its_task_up);
	ADD(tc, a_worker_answers_with_its_next_pool_work_one_request_a_task);
	ADD(tc, a_deleted_pool_or_a_shutdown_stops_workers_cleanly);
	ADD(tc, forked_workers_that_cannot_reach_brokerd_are_not_restarted);
	suite_add_tcase(s, tc);
	return run_suite(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
