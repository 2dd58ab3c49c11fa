/* socket_floor.c: the floor under brokerd's per-request cost on this machine: a
 * single-threaded server on a Unix socket doing the JSON work brokerd does for a dict.get
 * (parse the request with jansson, build a small reply, dump it) in nng's ipc framing, and
 * one client in another process doing what libbroker does (pack, dump, send; receive,
 * parse). Prints one JSON line: ops/s, round-trip p50, and the server's CPU time and
 * context switches per request (from /proc, as run.sh measures brokerd's).
 * Usage: socket_floor SECONDS */
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* frame: writes 01, the 8-byte big-endian length of id+body, the 4-byte id, then body. */
static int frame(int fd, uint32_t id, const char *body, size_t len)
{
	unsigned char buf[4096];
	size_t n = 0, total = len + 4;
	if (len + 13 > sizeof buf)
		return -1;
	buf[n++] = 1;
	for (int i = 7; i >= 0; i--)
		buf[n++] = (unsigned char)((uint64_t)total >> (8 * i));
	for (int i = 3; i >= 0; i--)
		buf[n++] = (unsigned char)(id >> (8 * i));
	memcpy(buf + n, body, len);
	return write(fd, buf, n + len) == (ssize_t)(n + len) ? 0 : -1;
}

/* reader: a buffered frame reader, one read() per batch of bytes, as an event loop does. */
struct reader {
	int fd;
	unsigned char buf[65536];
	size_t have, at;
};

/* next: the next message (id + body) in r; its length in *len; NULL at EOF. */
static unsigned char *next(struct reader *r, size_t *len)
{
	for (;;) {
		size_t avail = r->have - r->at;
		if (avail >= 9) {
			uint64_t n = 0;
			for (int i = 1; i < 9; i++)
				n = n << 8 | r->buf[r->at + i];
			if (avail >= 9 + n) {
				unsigned char *m = r->buf + r->at + 9;
				r->at += 9 + n;
				*len = (size_t)n;
				return m;
			}
		}
		memmove(r->buf, r->buf + r->at, avail);
		r->have = avail;
		r->at = 0;
		ssize_t got = read(r->fd, r->buf + r->have, sizeof r->buf - r->have);
		if (got <= 0)
			return NULL;
		r->have += (size_t)got;
	}
}

static uint32_t id_of(const unsigned char *m)
{
	return (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
}

static void serve(int fd)
{
	static struct reader r;
	r.fd = fd;
	unsigned char *m;
	size_t len;
	while ((m = next(&r, &len))) {
		json_t *req = json_loadb((const char *)m + 4, len - 4, 0, NULL);
		const char *op = json_string_value(json_object_get(req, "op"));
		json_t *reply =
			op && !strcmp(op, "dict.get") && json_object_get(req, "key")
				? json_pack("{s:b, s:s, s:i}", "ok", 1, "result", "v", "version", 1)
				: json_pack("{s:b, s:s}", "ok", 0, "error", "bad_request");
		char *text = json_dumps(reply, JSON_COMPACT);
		if (frame(fd, id_of(m), text, strlen(text)))
			_exit(1);
		free(text);
		json_decref(reply);
		json_decref(req);
	}
	_exit(0);
}

/* server_cost: the server's CPU seconds (utime + stime) and context switches so far. */
static void server_cost(pid_t pid, double *cpu, long *ctxsw)
{
	char path[64], line[256];
	unsigned long ut = 0, st = 0;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (f &&
	    fscanf(f, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		ut = st = 0;
	if (f)
		fclose(f);
	*cpu = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	*ctxsw = 0;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r"))) {
		while (fgets(line, sizeof line, f))
			if (strstr(line, "ctxt_switches:"))
				*ctxsw += strtol(strchr(line, ':') + 1, NULL, 10);
		fclose(f);
	}
}

static int cmp(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 3;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		serve(sv[1]);
	}
	close(sv[1]);
	static struct reader r;
	r.fd = sv[0];
	size_t cap = 1 << 22, n = 0, len;
	float *lat = malloc(cap * sizeof *lat);
	double cpu0, cpu1;
	long sw0, sw1;
	server_cost(pid, &cpu0, &sw0);
	double start = now(), end = start + seconds;
	for (uint32_t id = 0x80000001u; now() < end && n < cap; id++) {
		double t0 = now();
		json_t *req = json_pack("{s:s, s:s, s:s}", "op", "dict.get", "name", "bench:floor",
					"key", "k");
		char *text = json_dumps(req, JSON_COMPACT);
		if (frame(sv[0], id, text, strlen(text)))
			return 1;
		free(text);
		json_decref(req);
		unsigned char *m = next(&r, &len);
		json_t *reply = m ? json_loadb((const char *)m + 4, len - 4, 0, NULL) : NULL;
		if (!m || id_of(m) != id || !json_is_true(json_object_get(reply, "ok")))
			return 1;
		json_decref(reply);
		lat[n++] = (float)((now() - t0) * 1e6);
	}
	double elapsed = now() - start;
	server_cost(pid, &cpu1, &sw1);
	close(sv[0]);
	waitpid(pid, NULL, 0);
	qsort(lat, n, sizeof *lat, cmp);
	printf("{\"test\":\"socket-floor\",\"peer\":\"single-threaded unix socket + jansson\","
	       "\"ops\":%zu,\"ops_per_sec\":%.0f,\"p50_us\":%.1f,\"server_cpu_us_per_req\":%.2f,"
	       "\"server_ctxsw_per_req\":%.3f}\n",
	       n, (double)n / elapsed, n ? lat[n / 2] : 0.0, (cpu1 - cpu0) * 1e6 / (double)n,
	       (double)(sw1 - sw0) / (double)n);
	free(lat);
	return 0;
}
