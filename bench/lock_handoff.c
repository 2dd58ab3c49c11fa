/* lock_handoff.c: how long after a lock holder is SIGKILLed the next waiter has the lock.
 * Each round: a "brokerctl lock acquire" process takes the lock, a thread here parks in
 * acquire, and the holder is killed; the time from kill() to our grant is the hand-off.
 * Usage: lock_handoff URL BROKERCTL [ROUNDS]. Prints one JSON line. */
#include <pthread.h>
#include <signal.h>
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

struct waiter {
	brk_client *c;
	double granted;
	brk_err err;
};

static void *wait_for_lock(void *arg)
{
	struct waiter *w = arg;
	bool acquired;
	w->err = brk_lock_acquire(w->c, "handoff", BRK_LOCK, BRK_FOREVER, &acquired, NULL);
	w->granted = now();
	return NULL;
}

/* start_holder: a brokerctl holding the lock; returns once it says it has it. */
static pid_t start_holder(const char *url, const char *ctl)
{
	int fds[2];
	char line[128];
	if (pipe(fds) != 0)
		exit(1);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		execl(ctl, ctl, "--url", url, "lock", "acquire", "handoff", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	if (read(fds[0], line, sizeof line) <= 0)
		exit(1);
	close(fds[0]);
	return pid;
}

static long waiters(brk_client *c)
{
	json_t *st = NULL;
	if (brk_stat(c, "handoff", &st) != BRK_OK)
		return -1;
	long n = (long)json_integer_value(json_object_get(st, "waiters"));
	json_decref(st);
	return n;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: lock_handoff URL BROKERCTL [ROUNDS]\n");
		return 2;
	}
	int rounds = argc > 3 ? atoi(argv[3]) : 30;
	double *ms = calloc((size_t)rounds, sizeof *ms);
	brk_client *probe, *mine;
	if (brk_connect(argv[1], NULL, &probe) || brk_connect(argv[1], NULL, &mine)) {
		fprintf(stderr, "lock_handoff: %s\n", brk_last_error());
		return 3;
	}
	for (int r = 0; r < rounds; r++) {
		pid_t holder = start_holder(argv[1], argv[2]);
		struct waiter w = {mine, 0, BRK_OK};
		pthread_t t;
		pthread_create(&t, NULL, wait_for_lock, &w);
		while (waiters(probe) != 1)
			usleep(200);
		double killed = now();
		kill(holder, SIGKILL);
		pthread_join(t, NULL);
		waitpid(holder, NULL, 0);
		if (w.err || brk_lock_release(mine, "handoff", BRK_LOCK)) {
			fprintf(stderr, "lock_handoff: %s\n", brk_last_error());
			return 1;
		}
		ms[r] = (w.granted - killed) * 1e3;
	}
	qsort(ms, (size_t)rounds, sizeof *ms, cmp);
	printf("{\"test\":\"lock-handoff-after-sigkill\",\"rounds\":%d,\"p50_ms\":%.2f,"
	       "\"max_ms\":%.2f}\n",
	       rounds, ms[rounds / 2], ms[rounds - 1]);
	brk_del(probe, "handoff");
	brk_close(probe);
	brk_close(mine);
	free(ms);
	return 0;
}
