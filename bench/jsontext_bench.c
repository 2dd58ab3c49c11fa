/* jsontext_bench.c: jt_dump/jt_load against json_dumps/json_loadb on the same values in
 * the same run: a 1 MiB string, a 256k-integer array and a small request and reply. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsontext.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* seconds_per: the time of one call of fn(arg): the best mean of seven rounds of at
 * least 50 ms each (the machine is shared, so the best round is the least disturbed). */
static double seconds_per(void (*fn)(void *), void *arg)
{
	double best = 1e9;
	for (int round = 0; round < 7; round++) {
		long n = 0;
		double start = now(), t;
		do {
			fn(arg);
			n++;
		} while ((t = now() - start) < 0.05);
		if (t / (double)n < best)
			best = t / (double)n;
	}
	return best;
}

typedef struct work {
	json_t *value;
	char *text;
	size_t len;
	jt_buf buf;
} work;

static void jansson_dump(void *arg)
{
	work *w = arg;
	free(json_dumps(w->value, JSON_COMPACT | JSON_ENCODE_ANY));
}

static void jansson_load(void *arg)
{
	work *w = arg;
	json_decref(json_loadb(w->text, w->len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL));
}

static void jt_dump_once(void *arg)
{
	work *w = arg;
	w->buf.len = 0; /* reused, as a connection's output buffer would be */
	if (jt_dump(w->value, &w->buf))
		abort();
}

static void jt_load_once(void *arg)
{
	work *w = arg;
	json_decref(jt_load(w->text, w->len, JT_LOAD_MAX_DEPTH, NULL));
}

/* read_ints: what any encoder must do per element through jansson's API. */
static void read_ints(void *arg)
{
	work *w = arg;
	json_int_t sum = 0;
	for (size_t i = 0; i < json_array_size(w->value); i++)
		sum += json_integer_value(json_array_get(w->value, i));
	w->buf.len = (size_t)sum & 1;
}

/* build_ints: what any decoder must do per element through jansson's API, and the free. */
static void build_ints(void *arg)
{
	(void)arg;
	json_t *a = json_array();
	for (json_int_t i = 0; i < 262144; i++)
		json_array_append_new(a, json_integer(i * 7919 - 1000000));
	json_decref(a);
}

/* floors: the least time the 256k-int dump and load can take while using json_t. */
static void floors(json_t *ints)
{
	work w = {ints, NULL, 0, {0}};
	printf("256k-int floors (jansson API alone): read all %.3f ms, build and free all %.3f "
	       "ms\n",
	       seconds_per(read_ints, &w) * 1e3, seconds_per(build_ints, &w) * 1e3);
}

static void run(const char *name, json_t *value, double unit, const char *unit_name)
{
	work w = {value, json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY), 0, {0}};
	w.len = strlen(w.text);
	double jd = seconds_per(jansson_dump, &w), td = seconds_per(jt_dump_once, &w);
	double jl = seconds_per(jansson_load, &w), tl = seconds_per(jt_load_once, &w);
	printf("%-22s dump: jansson %9.3f %s, jt %9.3f %s (%5.1fx)   load: jansson %9.3f %s, "
	       "jt %9.3f %s (%5.1fx)\n",
	       name, jd * unit, unit_name, td * unit, unit_name, jd / td, jl * unit, unit_name,
	       tl * unit, unit_name, jl / tl);
	free(w.text);
	jt_buf_free(&w.buf);
	json_decref(value);
}

int main(void)
{
	size_t n = (size_t)1 << 20;
	char *s = malloc(n);
	for (size_t i = 0; i < n; i++)
		s[i] = (char)('a' + i % 26);
	run("1 MiB string", json_stringn(s, n), 1e3, "ms");
	free(s);
	json_t *ints = json_array();
	for (json_int_t i = 0; i < 262144; i++)
		json_array_append_new(ints, json_integer(i * 7919 - 1000000));
	floors(ints);
	run("256k-int array", ints, 1e3, "ms");
	run("small request",
	    json_loads("{\"op\":\"dict.get\",\"name\":\"d\",\"key\":\"k\",\"default\":1}", 0, NULL),
	    1e6, "us");
	run("small reply",
	    json_loads("{\"ok\":true,\"result\":{\"value\":\"v\",\"version\":42}}", 0, NULL), 1e6,
	    "us");
	return 0;
}
