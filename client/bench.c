/* bench.c: "brokerctl bench", in the spirit of redis-benchmark: N client threads, each
 * with its own connection, run one request shape for S seconds; we report ops/s and the
 * p50/p99 of request round trips. */
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "brokerctl.h"
#include "ops.h"
#include "table.h"

struct bench {
	const struct ctl *ctl;
	const char *test;
	int clients, batch;
	double seconds;
	atomic_ullong ops;
	atomic_int failed;
};

struct worker {
	struct bench *b;
	int index;
	pthread_t thread;
	float *lat_us; /* one per request */
	size_t n, cap;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* one_op: the request a test repeats; name is the worker's own object. */
static json_t *one_op(const char *test, const char *name, int i)
{
	if (!strcmp(test, "ping"))
		return brk_request_new(BRK_OP_PING, NULL, NULL);
	if (!strcmp(test, "get"))
		return brk_request_new(BRK_OP_DICT_GET, name, json_pack("{s:s}", "key", "k"));
	if (!strcmp(test, "set"))
		return brk_request_new(BRK_OP_DICT_SET, name,
				       json_pack("{s:s, s:s}", "key", "k", "value", "v"));
	/* queue: alternate put and get so the queue stays small */
	if (i % 2 == 0)
		return brk_request_new(BRK_OP_QUEUE_PUT, name,
				       json_pack("{s:i, s:b}", "value", i, "block", 0));
	return brk_request_new(BRK_OP_QUEUE_GET, name, json_pack("{s:b}", "block", 0));
}

/* request_for: a single op, or a batch of b->batch of them. */
static json_t *request_for(const struct bench *b, const char *name)
{
	if (b->batch <= 1)
		return one_op(b->test, name, 0);
	json_t *ops = json_array();
	for (int i = 0; i < b->batch; i++)
		json_array_append_new(ops, one_op(b->test, name, i));
	return brk_request_new(BRK_OP_BATCH, NULL, json_pack("{s:o}", "ops", ops));
}

static void record(struct worker *w, float us)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 4096;
		float *l = realloc(w->lat_us, cap * sizeof *l);
		if (!l)
			return;
		w->lat_us = l;
		w->cap = cap;
	}
	w->lat_us[w->n++] = us;
}

#define BENCH_LOCK "bench:lock"

static bool is(const struct bench *b, const char *test)
{
	return strcmp(b->test, test) == 0;
}

/* run_step: one timed unit of a test: a request (a batch when batching); for "queue"
 * without batches a put then a get; for "lock" an acquire of the one lock every client
 * shares (waiting its turn) and its release. */
static brk_err run_step(const struct bench *b, brk_client *c, const json_t *req,
			const json_t *second)
{
	if (is(b, "lock")) {
		bool acquired;
		brk_err err =
			brk_lock_acquire(c, BENCH_LOCK, BRK_LOCK, BRK_FOREVER, &acquired, NULL);
		return err ? err : brk_lock_release(c, BENCH_LOCK, BRK_LOCK);
	}
	brk_err err = brk_call(c, req, NULL);
	return err || !second ? err : brk_call(c, second, NULL);
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct bench *b = w->b;
	char name[64];
	brk_client *c = ctl_connect(b->ctl);
	if (!c) {
		b->failed = 1;
		return NULL;
	}
	snprintf(name, sizeof name, "bench:%s:%d", b->test, w->index);
	json_t *v = json_string("v"), *k = json_string("k");
	if (!strcmp(b->test, "get"))
		brk_dict_set(c, name, k, v);         /* so every get finds its key */
	bool pair = is(b, "queue") && b->batch <= 1; /* put and get: two requests a step */
	json_t *req = is(b, "lock") ? NULL : request_for(b, name);
	json_t *second = pair ? one_op(b->test, name, 1) : NULL;
	double end = now() + b->seconds;
	int per = b->batch > 1 ? b->batch : pair ? 2 : 1; /* ops a step ("lock": pairs) */
	while (!b->failed && now() < end) {
		double t0 = now();
		if (run_step(b, c, req, second) != BRK_OK) {
			fprintf(stderr, "\nbrokerctl bench: %s\n", brk_last_error());
			b->failed = 1;
			break;
		}
		record(w, (float)((now() - t0) * 1e6 / (pair ? 2 : 1)));
		atomic_fetch_add(&b->ops, (unsigned long long)per);
	}
	brk_del(c, name);
	json_decref(req);
	json_decref(second);
	json_decref(v);
	json_decref(k);
	brk_close(c);
	return NULL;
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

/* summarize: merges the workers' samples into {"test", "ops_per_sec", "p50_us", ...}. */
static json_t *summarize(struct bench *b, struct worker *w, double elapsed)
{
	size_t total = 0, at = 0;
	for (int i = 0; i < b->clients; i++)
		total += w[i].n;
	float *all = malloc((total ? total : 1) * sizeof *all);
	for (int i = 0; i < b->clients && all; i++, at += w[i - 1].n)
		memcpy(all + at, w[i].lat_us, w[i].n * sizeof *all);
	if (all)
		qsort(all, total, sizeof *all, cmp_float);
	double p50 = total && all ? all[total / 2] : 0,
	       p99 = total && all ? all[total * 99 / 100] : 0;
	free(all);
	return json_pack("{s:s, s:i, s:i, s:I, s:I, s:f, s:f}", "test", b->test, "clients",
			 b->clients, "batch", b->batch, "ops", (json_int_t)b->ops, "ops_per_sec",
			 (json_int_t)llround((double)b->ops / elapsed), "p50_us",
			 round(p50 * 10) / 10, "p99_us", round(p99 * 10) / 10);
}

static void progress(struct bench *b, double start)
{
	bool tty = isatty(STDERR_FILENO);
	while (!b->failed && now() < start + b->seconds) {
		usleep(250000);
		if (tty)
			fprintf(stderr, "\r%-6s %10.0f ops/s ", b->test,
				(double)b->ops / (now() - start));
	}
	if (tty)
		fprintf(stderr, "\r%40s\r", "");
}

static json_t *run_test(struct bench *b)
{
	struct worker *w = calloc((size_t)b->clients, sizeof *w);
	if (!w)
		return NULL;
	b->ops = 0;
	double start = now();
	for (int i = 0; i < b->clients; i++) {
		w[i] = (struct worker){.b = b, .index = i};
		pthread_create(&w[i].thread, NULL, work, &w[i]);
	}
	progress(b, start);
	for (int i = 0; i < b->clients; i++)
		pthread_join(w[i].thread, NULL);
	json_t *summary = b->failed ? NULL : summarize(b, w, now() - start);
	brk_client *c = is(b, "lock") ? ctl_connect(b->ctl) : NULL;
	if (c) /* the shared lock outlives each worker; remove it once all are done */
		brk_del(c, BENCH_LOCK);
	brk_close(c);
	for (int i = 0; i < b->clients; i++)
		free(w[i].lat_us);
	free(w);
	return summary;
}

static void print_results(const struct ctl *ctl, json_t *results)
{
	static const char *const headers[] = {"TEST",  "CLIENTS", "BATCH",
					      "OPS/S", "P50(us)", "P99(us)"};
	static const char *const fields[] = {"test",        "clients", "batch",
					     "ops_per_sec", "p50_us",  "p99_us"};
	if (ctl->json) {
		char *text = json_dumps(results, JSON_COMPACT | JSON_REAL_PRECISION(8));
		puts(text);
		free(text);
		return;
	}
	json_t *rows = json_array();
	size_t i;
	json_t *r;
	json_array_foreach (results, i, r) {
		json_t *row = json_array();
		for (size_t f = 0; f < 6; f++)
			json_array_append(row, json_object_get(r, fields[f]));
		json_array_append_new(rows, row);
	}
	table_print(stdout, headers, 6, rows);
	json_decref(rows);
}

static int parse_options(struct bench *b, char **tests, int argc, char **argv)
{
	static const struct option opts[] = {{"clients", required_argument, NULL, 'c'},
					     {"batch", required_argument, NULL, 'b'},
					     {"seconds", required_argument, NULL, 's'},
					     {"tests", required_argument, NULL, 't'},
					     {NULL, 0, NULL, 0}};
	int ch;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'c')
			b->clients = atoi(optarg);
		else if (ch == 'b')
			b->batch = atoi(optarg);
		else if (ch == 's')
			b->seconds = atof(optarg);
		else if (ch == 't')
			*tests = optarg;
		else
			return -1;
	}
	if (optind != argc || b->clients < 1 || b->clients > 1024 || b->batch < 1 ||
	    b->batch > 4096 || !(b->seconds > 0))
		return ctl_usage("usage: bench [--clients 1..1024] [--batch 1..4096] "
				 "[--seconds S] [--tests ping,get,set,queue,lock]"),
		       -1;
	return 0;
}

int cmd_bench(const struct ctl *ctl, int argc, char **argv)
{
	struct bench b = {.ctl = ctl, .clients = 1, .batch = 1, .seconds = 3};
	char *tests = "ping,get,set,queue", *save = NULL;
	if (parse_options(&b, &tests, argc, argv) != 0)
		return EXIT_USAGE;
	char *list = strdup(tests);
	json_t *results = json_array();
	int rc = EXIT_OK;
	for (char *t = strtok_r(list, ",", &save); t && rc == EXIT_OK;
	     t = strtok_r(NULL, ",", &save)) {
		if (strcmp(t, "ping") && strcmp(t, "get") && strcmp(t, "set") &&
		    strcmp(t, "queue") && strcmp(t, "lock")) {
			rc = ctl_usage("tests are ping, get, set, queue and lock");
			break;
		}
		if (!strcmp(t, "lock") && b.batch > 1) {
			rc = ctl_usage("the lock test waits its turn, so it takes no --batch");
			break;
		}
		b.test = t;
		json_t *r = run_test(&b);
		if (!r)
			rc = EXIT_CONNECT;
		json_array_append_new(results, r);
	}
	if (rc == EXIT_OK)
		print_results(ctl, results);
	json_decref(results);
	free(list);
	return rc;
}
