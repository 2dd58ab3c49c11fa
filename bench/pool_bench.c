/* pool_bench.c: empty-task throughput of a brokerd pool: 4 worker processes
 * (brk_worker_run) serving a function that returns null, and SUBMITTERS processes each
 * running TASKS tasks, either one pool.submit per task ("single": apply_async of each,
 * then a get of each) or maps of 1000 tasks ("batched": one pool.submit and one
 * pool.result per 1000; "chunked": the same with Python's chunksize for such a map, 63
 * calls a task). Prints one JSON line: {"tasks_per_sec", ...}.
 * Usage: pool_bench URL SUBMITTERS single|batched|chunked TASKS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"

#define WORKERS 4
#define CHUNK 1000
#define PY_CHUNKSIZE 63 /* Python's Pool.map of 1000 items on 4 processes: ceil(1000 / 16) */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static json_t *noop(const json_t *args, const json_t *kwargs, void *arg, brk_task_error *e)
{
	(void)args, (void)kwargs, (void)arg, (void)e;
	return json_null();
}

/* single: n apply_async, then a get of each in turn (Python's classic apply_async loop). */
static int single(brk_client *c, const char *pool, long n)
{
	brk_result **rs = calloc((size_t)n, sizeof *rs);
	for (long i = 0; rs && i < n; i++)
		if (brk_pool_apply_async(c, pool, "noop", NULL, NULL, 0, NULL, NULL, NULL, &rs[i]))
			return 1;
	for (long i = 0; rs && i < n; i++) {
		json_t *v = NULL;
		if (brk_result_get(rs[i], BRK_FOREVER, &v))
			return 1;
		json_decref(v);
		brk_result_free(rs[i]);
	}
	free(rs);
	return rs ? 0 : 1;
}

/* batched: maps of CHUNK items, one task each or, with chunksize > 1, that many calls a
 * task. */
static int batched(brk_client *c, const char *pool, long n, long chunksize)
{
	json_t *items = json_array();
	for (long i = 0; i < CHUNK; i++)
		json_array_append_new(items, json_null());
	for (long done = 0; done < n; done += CHUNK) {
		json_t *values = NULL;
		if (brk_pool_map(c, pool, "noop", items, false, chunksize, BRK_FOREVER, &values))
			return 1;
		json_decref(values);
	}
	json_decref(items);
	return 0;
}

static pid_t submitter(const char *url, const char *pool, const char *mode, long n)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	brk_client *c = NULL;
	if (brk_connect(url, NULL, &c))
		_exit(1);
	if (!strcmp(mode, "single"))
		_exit(single(c, pool, n));
	_exit(batched(c, pool, n, strcmp(mode, "chunked") ? 1 : PY_CHUNKSIZE));
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: pool_bench URL SUBMITTERS single|batched|chunked TASKS\n");
		return 2;
	}
	const char *url = argv[1];
	int subs = atoi(argv[2]);
	const char *mode = argv[3];
	long n = atol(argv[4]);
	char pool[64];
	snprintf(pool, sizeof pool, "bench:pool:%d", (int)getpid());
	brk_client *c = NULL;
	if (brk_connect(url, NULL, &c) || brk_pool_create(c, pool, 0, 1000000000))
		return 1;
	pid_t workers = fork();
	if (workers == 0) {
		static const brk_worker_func table[] = {{"noop", noop, NULL}, {NULL, NULL, NULL}};
		brk_worker_options o = {.url = url, .processes = WORKERS};
		_exit(brk_worker_run(pool, table, &o) == BRK_OK ? 0 : 1);
	}
	json_t *st = NULL;
	for (int i = 0; i < 1000; i++) { /* start the clock with every worker waiting */
		json_decref(st);
		st = NULL;
		if (brk_stat(c, pool, &st) == BRK_OK &&
		    json_array_size(json_object_get(st, "workers")) == WORKERS)
			break;
		usleep(10000);
	}
	json_decref(st);
	double start = now();
	int failed = 0, status;
	pid_t pids[256];
	subs = subs < 1 ? 1 : subs > 256 ? 256 : subs;
	for (int i = 0; i < subs; i++)
		pids[i] = submitter(url, pool, mode, n);
	for (int i = 0; i < subs; i++)
		failed |= waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
			  WEXITSTATUS(status);
	double secs = now() - start;
	brk_pool_close(c, pool);
	failed |= waitpid(workers, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status);
	brk_del(c, pool);
	brk_close(c);
	printf("{\"tasks_per_sec\": %.0f, \"tasks\": %ld, \"submitters\": %d, \"mode\": \"%s\", "
	       "\"workers\": %d, \"seconds\": %.3f}\n",
	       (double)n * subs / secs, n * subs, subs, mode, WORKERS, secs);
	return failed;
}
