/* sp_load.c: drives brokerd the way redis-benchmark drives Redis: one thread, an epoll
 * loop, N connections each with one request in flight, so that the server is measured and
 * not the client's threads. Speaks the SP wire format over ipc directly (PROTOCOL.md).
 * Usage: sp_load ipc://PATH CONNECTIONS SECONDS   (prints one JSON line) */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "wire.h"

#define MAX_CONNS 256
#define MAX_SAMPLES 2000000

struct client {
	int fd;
	uint32_t id;
	double sent;
	size_t have;
	uint8_t buf[4096];
};

static const char request[] = "{\"op\":\"dict.get\",\"name\":\"bench\",\"key\":\"k\"}";
static double *samples;
static size_t nsamples;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n, len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n, len -= (size_t)n;
	}
	return 0;
}

/* send_one: frames text as request id for ipc and writes it. */
static int send_one(struct client *c, const char *text)
{
	uint8_t frame[512];
	size_t len = strlen(text), n = wire_header(frame, 1, WIRE_ID_SIZE + len);
	c->id = WIRE_ID_LAST | ((c->id + 1) & 0x7fffffff);
	wire_put32(frame + n, c->id);
	memcpy(frame + n + WIRE_ID_SIZE, text, len);
	c->sent = now();
	return write_all(c->fd, frame, n + WIRE_ID_SIZE + len);
}

/* dial: connects, shakes hands and sets the key the gets will read, synchronously. */
static int dial(struct client *c, const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	uint8_t hs[WIRE_HANDSHAKE_LEN], in[WIRE_HANDSHAKE_LEN], head[9 + WIRE_ID_SIZE];
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sun, sizeof sun) != 0)
		return -1;
	wire_handshake(hs, WIRE_PROTO_REQ);
	if (write_all(c->fd, hs, sizeof hs) || read_all(c->fd, in, sizeof in) ||
	    !wire_handshake_ok(in, WIRE_PROTO_REP))
		return -1;
	if (send_one(c, "{\"op\":\"dict.set\",\"name\":\"bench\",\"key\":\"k\",\"value\":\"v\"}") ||
	    read_all(c->fd, head, sizeof head))
		return -1;
	size_t body = (size_t)wire_get64(head + 1) - WIRE_ID_SIZE;
	return body > sizeof c->buf || read_all(c->fd, c->buf, body) ? -1 : 0;
}

/* on_readable: reads what is there; each whole reply is timed and answered with the next
 * request. -1 on a broken connection. */
static int on_readable(struct client *c, double end, int *done)
{
	ssize_t n = read(c->fd, c->buf + c->have, sizeof c->buf - c->have);
	if (n <= 0)
		return n < 0 && errno == EINTR ? 0 : -1;
	c->have += (size_t)n;
	size_t head = wire_header_size(1);
	if (c->have < head || c->have < head + wire_get64(c->buf + 1))
		return 0;
	if (nsamples < MAX_SAMPLES)
		samples[nsamples++] = now() - c->sent;
	c->have = 0; /* one request in flight: nothing follows the reply */
	if (now() >= end) {
		(*done)++;
		return 0;
	}
	return send_one(c, request);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc != 4 || strncmp(argv[1], "ipc://", 6) != 0) {
		fprintf(stderr, "usage: sp_load ipc://PATH CONNECTIONS SECONDS\n");
		return 2;
	}
	int nconn = atoi(argv[2]), done = 0, ep = epoll_create1(EPOLL_CLOEXEC);
	double secs = atof(argv[3]);
	static struct client clients[MAX_CONNS];
	samples = malloc(MAX_SAMPLES * sizeof *samples);
	if (nconn < 1 || nconn > MAX_CONNS || secs <= 0 || !samples || ep < 0)
		return 2;
	for (int i = 0; i < nconn; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &clients[i]};
		if (dial(&clients[i], argv[1] + 6) ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, clients[i].fd, &ev)) {
			perror("sp_load: connect");
			return 1;
		}
	}
	double start = now(), end = start + secs;
	for (int i = 0; i < nconn; i++)
		send_one(&clients[i], request);
	while (done < nconn) {
		struct epoll_event evs[MAX_CONNS];
		int n = epoll_wait(ep, evs, MAX_CONNS, 1000);
		for (int i = 0; i < n; i++)
			if (on_readable(evs[i].data.ptr, end, &done) != 0) {
				fprintf(stderr, "sp_load: connection broken\n");
				return 1;
			}
	}
	double took = now() - start;
	qsort(samples, nsamples, sizeof *samples, cmp);
	printf("{\"connections\": %d, \"ops\": %zu, \"ops_per_sec\": %.0f, \"p50_us\": %.1f, "
	       "\"p99_us\": %.1f}\n",
	       nconn, nsamples, (double)nsamples / took, samples[nsamples / 2] * 1e6,
	       samples[nsamples * 99 / 100] * 1e6);
	return 0;
}
