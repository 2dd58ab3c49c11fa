/* pipe_bench.c: one brokerd pipe between two processes, one way: the parent sends for
 * SECONDS, then closes its end; the child receives until EOF. Prints one JSON line with
 * messages/s ("small": a small JSON value each) or MiB/s ("big": SIZE bytes each, default
 * 1 MiB, with brk_pipe_send_bytes / brk_pipe_recv_bytes). The clock runs from the first
 * send to the child's EOF, so every message counted was received. bench/pipe.sh runs it
 * beside Python's multiprocessing.Pipe (pipe_mp.py).
 * Usage: pipe_bench URL small|big SECONDS [SIZE] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static brk_client *connect_or_die(const char *url)
{
	brk_client *c = NULL;
	if (brk_connect(url, NULL, &c) != BRK_OK) {
		fprintf(stderr, "pipe_bench: %s\n", brk_last_error());
		exit(1);
	}
	return c;
}

/* receive: the child: takes messages at end a until EOF; exit 0 when each was whole. */
static int receive(const char *url, const char *pipe, bool big, size_t size)
{
	brk_client *c = connect_or_die(url);
	brk_err err;
	for (;;) {
		void *data = NULL;
		size_t len = 0;
		json_t *v = NULL;
		err = big ? brk_pipe_recv_bytes(c, pipe, BRK_PIPE_A, size, BRK_FOREVER, &data, &len)
			  : brk_pipe_recv(c, pipe, BRK_PIPE_A, BRK_FOREVER, &v);
		free(data);
		json_decref(v);
		if (err != BRK_OK || (big && len != size))
			break;
	}
	brk_close(c);
	return err == BRK_EEOF ? 0 : 1;
}

/* send_for: the parent: sends from end b for seconds; the number sent, or -1. */
static long send_for(brk_client *c, const char *pipe, bool big, size_t size, double seconds)
{
	char *data = big ? calloc(1, size) : NULL;
	json_t *small = json_pack("{s:s, s:i}", "op", "tick", "n", 0);
	long n = 0;
	double end = now() + seconds;
	while (now() < end) {
		json_object_set_new(small, "n", json_integer(n));
		brk_err err =
			big ? brk_pipe_send_bytes(c, pipe, BRK_PIPE_B, data, size, BRK_FOREVER)
			    : brk_pipe_send(c, pipe, BRK_PIPE_B, small, BRK_FOREVER);
		if (err != BRK_OK) {
			fprintf(stderr, "pipe_bench: %s\n", brk_last_error());
			n = -1;
			break;
		}
		n++;
	}
	free(data);
	json_decref(small);
	return n;
}

int main(int argc, char **argv)
{
	if (argc < 4 || (strcmp(argv[2], "small") && strcmp(argv[2], "big"))) {
		fprintf(stderr, "usage: pipe_bench URL small|big SECONDS [SIZE]\n");
		return 2;
	}
	bool big = !strcmp(argv[2], "big");
	size_t size = argc > 4 ? strtoul(argv[4], NULL, 10) : 1 << 20;
	char pipe[64];
	snprintf(pipe, sizeof pipe, "bench:pipe:%d", (int)getpid());
	brk_client *c = connect_or_die(argv[1]);
	if (brk_pipe_create(c, pipe, false, 0, 0) != BRK_OK ||
	    brk_pipe_open(c, pipe, BRK_PIPE_B) != BRK_OK) {
		fprintf(stderr, "pipe_bench: %s\n", brk_last_error());
		return 1;
	}
	pid_t pid = fork();
	if (pid == 0)
		_exit(receive(argv[1], pipe, big, size));
	double start = now();
	long n = send_for(c, pipe, big, size, atof(argv[3]));
	int status = 1;
	if (brk_pipe_close(c, pipe, BRK_PIPE_B) != BRK_OK || waitpid(pid, &status, 0) != pid ||
	    n < 0 || status != 0) {
		fprintf(stderr, "pipe_bench: the receiver failed (status %d)\n", status);
		return 1;
	}
	double elapsed = now() - start;
	if (big)
		printf("{\"test\":\"pipe-big\",\"size\":%zu,\"messages\":%ld,\"mib_per_sec\":%.1f}"
		       "\n",
		       size, n, (double)n * (double)size / (1 << 20) / elapsed);
	else
		printf("{\"test\":\"pipe-small\",\"messages\":%ld,\"msgs_per_sec\":%.0f}\n", n,
		       (double)n / elapsed);
	brk_del(c, pipe);
	brk_close(c);
	return 0;
}
