/* nng_floor.c: the cost of nng itself on this machine, as a floor for brokerd's numbers:
 * round trips of a small message between a REQ and a REP socket over ipc:// in two
 * processes, with brokerd's framing but no brokerd. Prints one JSON line. */
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void echo(const char *url)
{
	nng_socket s;
	nng_msg *m;
	if (nng_rep0_open(&s) || nng_listen(s, url, NULL, 0))
		_exit(1);
	while (nng_recvmsg(s, &m, 0) == 0)
		nng_sendmsg(s, m, 0);
	_exit(0);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 3;
	char url[64];
	snprintf(url, sizeof url, "ipc:///tmp/nng-floor-%d.sock", (int)getpid());
	pid_t pid = fork();
	if (pid == 0)
		echo(url);
	nng_socket s;
	nng_req0_open(&s);
	for (int i = 0; i < 500 && nng_dial(s, url, NULL, 0) != 0; i++)
		usleep(10000);
	const char req[] = "{\"op\":\"ping\"}";
	long n = 0;
	double start = now(), end = start + seconds;
	while (now() < end) {
		nng_msg *m;
		nng_msg_alloc(&m, 0);
		nng_msg_append(m, req, sizeof req - 1);
		if (nng_sendmsg(s, m, 0) || nng_recvmsg(s, &m, 0))
			break;
		nng_msg_free(m);
		n++;
	}
	double us = (now() - start) / (double)n * 1e6;
	printf("{\"test\":\"nng-echo\",\"peer\":\"nng 1.5 req/rep ipc\",\"ops_per_sec\":%.0f,"
	       "\"mean_us\":%.1f}\n",
	       1e6 / us, us);
	nng_close(s);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	unlink(url + 6);
	return 0;
}
