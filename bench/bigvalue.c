/* bigvalue.c: large items through one queue from one client: put a SIZE-byte string, get it
 * back, for SECONDS; prints one JSON line with MiB/s (each item counted once: put and got).
 * Built against the libbroker of the tree it benchmarks (run.sh builds one per daemon).
 * Usage: bigvalue URL SECONDS [SIZE] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bigvalue URL SECONDS [SIZE]\n");
		return 2;
	}
	double seconds = atof(argv[2]);
	size_t size = argc > 3 ? strtoul(argv[3], NULL, 10) : 1 << 20;
	brk_client *c = NULL;
	if (brk_connect(argv[1], NULL, &c) != BRK_OK) {
		fprintf(stderr, "bigvalue: %s\n", brk_last_error());
		return 1;
	}
	char *text = malloc(size + 1);
	memset(text, 'x', size);
	text[size] = '\0';
	json_t *v = json_string(text);
	free(text);
	const char *q = "bench:bigvalue";
	long items = 0;
	double start = now(), end = start + seconds;
	while (now() < end) {
		json_t *got = NULL;
		if (brk_queue_put(c, q, v, BRK_FOREVER) != BRK_OK ||
		    brk_queue_get(c, q, 0, &got) != BRK_OK || json_string_length(got) != size) {
			fprintf(stderr, "bigvalue: %s\n", brk_last_error());
			return 1;
		}
		json_decref(got);
		items++;
	}
	double elapsed = now() - start;
	printf("{\"test\":\"queue-bigvalue\",\"size\":%zu,\"items\":%ld,\"mib_per_sec\":%.1f}\n",
	       size, items, (double)items * (double)size / (1 << 20) / elapsed);
	brk_del(c, q);
	json_decref(v);
	brk_close(c);
	return 0;
}
