/* counter.c: PROCS processes incrementing one shared int for SECONDS each way: value.add (one
 * atomic op), compare-and-set retries, Lock + get + set, and get + set with no lock (which
 * loses updates). Prints one JSON line per way: increments/s, and the final count against
 * the increments made. Usage: counter URL [PROCS] [SECONDS]
 * Each process is this program re-executed ("--child"), so it starts with a connection and a
 * session of its own, as a separately launched program would. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "increment.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "counter: %s: %s\n", what, brk_last_error());
	exit(1);
}

/* ---- one child: increments for a while, prints how many it made ---- */

static int child(const char *url, const char *how, double seconds)
{
	brk_client *c;
	bool set;
	long made = 0;
	brk_err err = brk_connect(url, NULL, &c);
	if (err || brk_event_wait(c, "counter.go", BRK_FOREVER, &set))
		die("child");
	for (double end = now() + seconds; !err && now() < end; made++)
		err = increment_by(c, how, how, "counter.lock");
	if (err)
		die(how);
	printf("%ld\n", made);
	brk_close(c);
	return 0;
}

/* ---- the parent: one round per way ---- */

static pid_t spawn_child(const char *self, const char *url, const char *how, const char *secs,
			 int *out)
{
	int fds[2];
	if (pipe(fds) != 0)
		exit(1);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		execl(self, self, "--child", url, how, secs, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	*out = fds[0];
	return pid;
}

static long read_count(int fd)
{
	char buf[32] = {0};
	size_t n = 0;
	while (n + 1 < sizeof buf && read(fd, buf + n, 1) == 1)
		n++;
	close(fd);
	return atol(buf);
}

/* waiting: how many requests wait on event name. */
static long waiting(brk_client *c, const char *name)
{
	json_t *st = NULL;
	long n = brk_stat(c, name, &st) ? 0
					: (long)json_integer_value(json_object_get(st, "waiters"));
	json_decref(st);
	return n;
}

static void round_of(brk_client *c, const char *self, const char *url, const char *how, int procs,
		     const char *secs)
{
	pid_t pid[64];
	int out[64];
	long made = 0;
	json_t *v = NULL;
	if (brk_value_create(c, how, BRK_INT, NULL, NULL) || brk_event_clear(c, "counter.go"))
		die("setup");
	for (int i = 0; i < procs; i++)
		pid[i] = spawn_child(self, url, how, secs, &out[i]);
	while (waiting(c, "counter.go") < procs)
		usleep(1000);
	if (brk_event_set(c, "counter.go"))
		die("go");
	for (int i = 0; i < procs; i++) {
		made += read_count(out[i]);
		waitpid(pid[i], NULL, 0);
	}
	if (brk_value_get(c, how, &v))
		die("result");
	printf("{\"test\": \"counter\", \"way\": \"%s\", \"processes\": %d, "
	       "\"increments_per_sec\": "
	       "%.0f, \"increments\": %ld, \"final_count\": %lld, \"lost\": %lld}\n",
	       how, procs, (double)made / atof(secs), made, (long long)json_integer_value(v),
	       (long long)made - (long long)json_integer_value(v));
	fflush(stdout);
	json_decref(v);
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "--child"))
		return child(argv[2], argv[3], atof(argv[4]));
	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: counter URL [PROCS] [SECONDS]\n");
		return 2;
	}
	int procs = argc > 2 ? atoi(argv[2]) : 8;
	const char *secs = argc > 3 ? argv[3] : "3";
	brk_client *c;
	if (procs < 1 || procs > 64 || atof(secs) <= 0) {
		fprintf(stderr, "counter: PROCS is 1..64 and SECONDS > 0\n");
		return 2;
	}
	if (brk_connect(argv[1], NULL, &c))
		die("connect");
	static const char *const ways[] = {"add", "cas", "lock", "getset"};
	for (size_t i = 0; i < sizeof ways / sizeof ways[0]; i++)
		round_of(c, "/proc/self/exe", argv[1], ways[i], procs, secs);
	brk_close(c);
	return 0;
}
