/* durability.c: brokerd's persistence beside Redis (AOF) and beanstalkd (binlog), each driven
 * the same way: one blocking connection per client thread, one request in flight, the same
 * ~100-byte item. brokerd through libbroker; Redis (RESP) and beanstalkd (its text protocol)
 * through the small clients below, over plain Unix sockets. Each command prints one JSON line.
 * Usage: durability latency PEER ADDR SECONDS         put+get ping-pong, p50/p99 per pair
 *        durability throughput PEER ADDR CLIENTS SECONDS   puts/s from CLIENTS threads
 *        durability fill PEER ADDR COUNT              COUNT items, pipelined or batched
 *        durability startup PEER ADDR COUNT CMD...    exec CMD, time until it answers a ping,
 *                                                     check it holds COUNT items; leaves it up
 *        durability pause PEER ADDR SECONDS           ping loop; after SECONDS, a compaction
 *                                                     (brokerd save, Redis BGREWRITEAOF)
 * PEER: brokerd (ADDR a URL), redis or beanstalkd (ADDR a Unix socket path). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"

#define QNAME "benchdur"
#define PIPELINE 1000 /* requests written before their replies are read, when filling */
/* beanstalkd 1.12 stops answering a connection that sent some thousand puts ahead of their
 * replies (seen here with 1000 in flight, 71 answered); 100 in flight works */
#define BS_PIPELINE 100

#define ITEM_MAX 128

/* item_text: the n-th item, the same for every peer: 106 bytes of JSON whose body is
 * 64 pseudo-random hex digits (so that no peer's compression finds a repeat). */
static void item_text(char *out, unsigned long n)
{
	unsigned long x = n * 0x9E3779B97F4A7C15ul + 1;
	char body[65];
	for (int i = 0; i < 64; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		body[i] = "0123456789abcdef"[x & 15];
	}
	body[64] = '\0';
	snprintf(out, ITEM_MAX, "{\"id\":%lu,\"kind\":\"job\",\"body\":\"%s\"}",
		 100000000000ul + n % 100000000000ul, body);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "durability: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

/* ---- a buffered Unix-socket connection, for the two text protocols ---- */

typedef struct sock {
	int fd;
	size_t pos, len;
	char buf[1 << 16];
} sock;

static sock *sock_open(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path)
		return NULL;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return NULL;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return NULL;
	}
	sock *s = calloc(1, sizeof *s);
	s->fd = fd;
	return s;
}

static void sock_close(sock *s)
{
	if (s) {
		close(s->fd);
		free(s);
	}
}

static int sock_write(sock *s, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(s->fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int sock_fill(sock *s)
{
	if (s->pos == s->len)
		s->pos = s->len = 0;
	if (s->len == sizeof s->buf) {
		memmove(s->buf, s->buf + s->pos, s->len - s->pos);
		s->len -= s->pos;
		s->pos = 0;
	}
	ssize_t r;
	do
		r = read(s->fd, s->buf + s->len, sizeof s->buf - s->len);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return -1;
	s->len += (size_t)r;
	return 0;
}

/* sock_line: the next line without its \r\n, NUL-terminated, into out (cap bytes). */
static int sock_line(sock *s, char *out, size_t cap)
{
	for (;;) {
		char *nl = memchr(s->buf + s->pos, '\n', s->len - s->pos);
		if (nl) {
			size_t n = (size_t)(nl - (s->buf + s->pos));
			size_t copy = n > 0 && nl[-1] == '\r' ? n - 1 : n;
			if (copy >= cap)
				copy = cap - 1;
			memcpy(out, s->buf + s->pos, copy);
			out[copy] = '\0';
			s->pos += n + 1;
			return 0;
		}
		if (sock_fill(s) != 0)
			return -1;
	}
}

/* sock_bytes: the next n bytes into out (NULL: skip them). */
static int sock_bytes(sock *s, char *out, size_t n)
{
	while (n > 0) {
		if (s->pos == s->len && sock_fill(s) != 0)
			return -1;
		size_t take = s->len - s->pos < n ? s->len - s->pos : n;
		if (out) {
			memcpy(out, s->buf + s->pos, take);
			out += take;
		}
		s->pos += take;
		n -= take;
	}
	return 0;
}

/* ---- RESP (Redis) ---- */

/* resp_append: appends one command (NULL-terminated argument list) to buf. */
static size_t resp_append(char *buf, size_t at, const char *const *argv)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	at += (size_t)sprintf(buf + at, "*%d\r\n", argc);
	for (int i = 0; i < argc; i++)
		at += (size_t)sprintf(buf + at, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
	return at;
}

static int resp_send(sock *s, const char *const *argv)
{
	char buf[4096];
	size_t n = resp_append(buf, 0, argv);
	return sock_write(s, buf, n);
}

/* resp_read: one reply; its type ('+', '-', ':', '$', '*') and, in text (cap bytes), the
 * line, the bulk string, or an array's last bulk string (truncated to fit); *num: an
 * integer reply's value or a length. */
static int resp_read(sock *s, char *type, char *text, size_t cap, long *num)
{
	char line[512];
	if (sock_line(s, line, sizeof line) != 0)
		return -1;
	*type = line[0];
	*num = strtol(line + 1, NULL, 10);
	if (line[0] == '+' || line[0] == '-' || line[0] == ':') {
		snprintf(text, cap, "%s", line + 1);
		return 0;
	}
	if (line[0] == '*') {
		long count = *num;
		for (long i = 0; i < count; i++) {
			char t;
			long n;
			if (resp_read(s, &t, text, cap, &n) != 0)
				return -1;
		}
		*type = '*';
		*num = count;
		return 0;
	}
	if (line[0] != '$')
		return -1;
	if (*num < 0) {
		text[0] = '\0';
		return 0;
	}
	size_t n = (size_t)*num, keep = n < cap ? n : cap - 1;
	if (sock_bytes(s, text, keep) != 0 || sock_bytes(s, NULL, n - keep + 2) != 0)
		return -1;
	text[keep] = '\0';
	return 0;
}

/* redis_call: sends one command, reads its reply; text gets as resp_read says. */
static int redis_call(sock *s, const char *const *argv, char *type, char *text, size_t cap,
		      long *num)
{
	if (resp_send(s, argv) != 0)
		return -1;
	return resp_read(s, type, text, cap, num);
}

/* ---- beanstalkd ---- */

static int bs_cmd(sock *s, const char *cmd, char *line, size_t cap)
{
	return sock_write(s, cmd, strlen(cmd)) == 0 ? sock_line(s, line, cap) : -1;
}

static int bs_put_send(sock *s, unsigned long i)
{
	char buf[512], item[ITEM_MAX];
	item_text(item, i);
	int n = snprintf(buf, sizeof buf, "put 0 0 600 %zu\r\n%s\r\n", strlen(item), item);
	return sock_write(s, buf, (size_t)n);
}

/* bs_body: reads an "OK n" or "RESERVED id n" reply's body into text (cap bytes). */
static int bs_body(sock *s, size_t n, char *text, size_t cap)
{
	size_t keep = n < cap ? n : cap - 1;
	if (sock_bytes(s, text, keep) != 0 || sock_bytes(s, NULL, n - keep + 2) != 0)
		return -1;
	text[keep] = '\0';
	return 0;
}

/* ---- the three peers behind one interface ---- */

typedef struct peer {
	const char *name;
	void *(*open)(const char *addr);
	void (*close)(void *h);
	int (*put)(void *h, unsigned long i); /* the i-th item */
	/* get: takes one item for good. brokerd: queue.get, confirmed with the client's next
	 * request (libbroker's way); Redis: BRPOP; beanstalkd: reserve, then delete */
	int (*get)(void *h);
	int (*ping)(void *h);
	long (*count)(void *h);
	int (*fill)(void *h, long n);                     /* n items, numbered from 0 */
	double (*save)(void *h, char *extra, size_t cap); /* seconds; extra: peer's own figures */
} peer;

static void *brk_open(const char *addr)
{
	brk_client *c = NULL;
	return brk_connect(addr, NULL, &c) == BRK_OK ? c : NULL;
}

static void brk_close_h(void *h)
{
	brk_close(h);
}

static json_t *brk_item(unsigned long i)
{
	char text[ITEM_MAX];
	item_text(text, i);
	return json_loads(text, 0, NULL);
}

static int brk_put_h(void *h, unsigned long i)
{
	json_t *v = brk_item(i);
	brk_err e = brk_queue_put(h, QNAME, v, BRK_FOREVER);
	json_decref(v);
	return e == BRK_OK ? 0 : -1;
}

static int brk_get_h(void *h)
{
	json_t *v = NULL;
	brk_err e = brk_queue_get(h, QNAME, BRK_FOREVER, &v);
	int bad = e == BRK_OK && json_object_size(v) != 3;
	json_decref(v);
	return e == BRK_OK && !bad ? 0 : -1;
}

static int brk_ping_h(void *h)
{
	return brk_ping(h) == BRK_OK ? 0 : -1;
}

static long brk_count_h(void *h)
{
	size_t n;
	return brk_queue_qsize(h, QNAME, &n) == BRK_OK ? (long)n : -1;
}

static int brk_fill_h(void *h, long n)
{
	unsigned long next = 0;
	while (n > 0) {
		long k = n < 4096 ? n : 4096;
		json_t *ops = json_array(), *res = NULL;
		for (long i = 0; i < k; i++)
			json_array_append_new(ops, json_pack("{s:s,s:s,s:o,s:b}", "op", "queue.put",
							     "name", QNAME, "value",
							     brk_item(next++), "block", 0));
		brk_err e = brk_batch(h, ops, &res);
		json_decref(ops);
		json_decref(res);
		if (e != BRK_OK)
			return -1;
		n -= k;
	}
	return 0;
}

static double brk_save_h(void *h, char *extra, size_t cap)
{
	json_t *req = brk_request_new("save", NULL, NULL), *res = NULL, *info = NULL;
	double t0 = now();
	brk_err e = brk_call(h, req, &res);
	double t = now() - t0;
	json_decref(req);
	if (e != BRK_OK) {
		snprintf(extra, cap, "\"save_error\":\"%s\"", brk_last_error());
		return -1;
	}
	double cs = -1;
	if (brk_info(h, &info) == BRK_OK)
		cs = json_number_value(json_object_get(json_object_get(info, "persistence"),
						       "compaction_seconds"));
	snprintf(extra, cap, "\"save_reply_seconds\":%.4f,\"compaction_seconds\":%.4f",
		 json_number_value(json_object_get(res, "seconds")), cs);
	json_decref(res);
	json_decref(info);
	return t;
}

static void *redis_open(const char *addr)
{
	return sock_open(addr);
}

static void sock_close_h(void *h)
{
	sock_close(h);
}

static int redis_simple(void *h, const char *const *argv, char want)
{
	char type, text[512];
	long num;
	return redis_call(h, argv, &type, text, sizeof text, &num) == 0 && type == want ? 0 : -1;
}

static int redis_put(void *h, unsigned long i)
{
	char item[ITEM_MAX];
	item_text(item, i);
	return redis_simple(h, (const char *const[]){"LPUSH", QNAME, item, NULL}, ':');
}

static int redis_get(void *h)
{
	char type, text[512];
	long num;
	const char *const argv[] = {"BRPOP", QNAME, "0", NULL};
	if (redis_call(h, argv, &type, text, sizeof text, &num) != 0 || type != '*')
		return -1;
	return text[0] == '{' ? 0 : -1;
}

/* redis_ping: 0 once Redis answers PONG (not -LOADING while it reads its AOF). */
static int redis_ping(void *h)
{
	return redis_simple(h, (const char *const[]){"PING", NULL}, '+');
}

static long redis_count(void *h)
{
	char type, text[64];
	long num;
	const char *const argv[] = {"LLEN", QNAME, NULL};
	if (redis_call(h, argv, &type, text, sizeof text, &num) != 0 || type != ':')
		return -1;
	return num;
}

static int redis_fill(void *h, long n)
{
	static char buf[PIPELINE * 256];
	char item[ITEM_MAX];
	const char *const argv[] = {"LPUSH", QNAME, item, NULL};
	unsigned long next = 0;
	while (n > 0) {
		long k = n < PIPELINE ? n : PIPELINE;
		size_t at = 0;
		for (long i = 0; i < k; i++) {
			item_text(item, next++);
			at = resp_append(buf, at, argv);
		}
		if (sock_write(h, buf, at) != 0)
			return -1;
		for (long i = 0; i < k; i++) {
			char type, text[64];
			long num;
			if (resp_read(h, &type, text, sizeof text, &num) != 0 || type != ':')
				return -1;
		}
		n -= k;
	}
	return 0;
}

/* redis_info_field: the value of "name:" in an INFO reply (-1 if absent). */
static long redis_info_field(const char *info, const char *name)
{
	char key[64];
	snprintf(key, sizeof key, "\n%s:", name);
	const char *p = strstr(info, key);
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

/* redis_save: BGREWRITEAOF, then INFO every 5 ms until no rewrite is running or scheduled. */
static double redis_save(void *h, char *extra, size_t cap)
{
	static char info[1 << 16];
	char type;
	long num;
	double t0 = now();
	if (redis_simple(h, (const char *const[]){"BGREWRITEAOF", NULL}, '+') != 0)
		return -1;
	for (;;) {
		const char *const argv[] = {"INFO", "persistence", NULL};
		if (redis_call(h, argv, &type, info, sizeof info, &num) != 0 || type != '$')
			return -1;
		if (redis_info_field(info, "aof_rewrite_in_progress") == 0 &&
		    redis_info_field(info, "aof_rewrite_scheduled") == 0)
			break;
		usleep(5000);
	}
	double t = now() - t0;
	const char *const argv[] = {"INFO", "stats", NULL};
	if (redis_call(h, argv, &type, info, sizeof info, &num) != 0 || type != '$')
		return -1;
	snprintf(extra, cap, "\"latest_fork_usec\":%ld",
		 redis_info_field(info, "latest_fork_usec"));
	return t;
}

static void *bs_open(const char *addr)
{
	sock *s = sock_open(addr);
	char line[128];
	if (s && (bs_cmd(s, "use " QNAME "\r\n", line, sizeof line) != 0 ||
		  bs_cmd(s, "watch " QNAME "\r\n", line, sizeof line) != 0 ||
		  bs_cmd(s, "ignore default\r\n", line, sizeof line) != 0)) {
		sock_close(s);
		return NULL;
	}
	return s;
}

static int bs_put(void *h, unsigned long i)
{
	char line[128];
	if (bs_put_send(h, i) != 0 || sock_line(h, line, sizeof line) != 0)
		return -1;
	return strncmp(line, "INSERTED ", 9) == 0 ? 0 : -1;
}

/* bs_get: reserve, then delete (a reserved job stays in the binlog until deleted). */
static int bs_get(void *h)
{
	char line[128], body[512], cmd[64];
	unsigned long long id;
	size_t n;
	if (bs_cmd(h, "reserve\r\n", line, sizeof line) != 0 ||
	    sscanf(line, "RESERVED %llu %zu", &id, &n) != 2 ||
	    bs_body(h, n, body, sizeof body) != 0)
		return -1;
	snprintf(cmd, sizeof cmd, "delete %llu\r\n", id);
	if (bs_cmd(h, cmd, line, sizeof line) != 0 || strcmp(line, "DELETED") != 0)
		return -1;
	return body[0] == '{' ? 0 : -1;
}

static int bs_ping(void *h)
{
	char line[128], body[4096];
	size_t n;
	if (bs_cmd(h, "list-tubes\r\n", line, sizeof line) != 0 || sscanf(line, "OK %zu", &n) != 1)
		return -1;
	return bs_body(h, n, body, sizeof body);
}

static long bs_count(void *h)
{
	char line[128], body[8192];
	size_t n;
	if (bs_cmd(h, "stats-tube " QNAME "\r\n", line, sizeof line) != 0)
		return -1;
	if (strcmp(line, "NOT_FOUND") == 0)
		return 0;
	if (sscanf(line, "OK %zu", &n) != 1 || bs_body(h, n, body, sizeof body) != 0)
		return -1;
	const char *p = strstr(body, "current-jobs-ready: ");
	return p ? strtol(p + 20, NULL, 10) : -1;
}

static int bs_fill(void *h, long n)
{
	unsigned long next = 0;
	while (n > 0) {
		long k = n < BS_PIPELINE ? n : BS_PIPELINE;
		for (long i = 0; i < k; i++)
			if (bs_put_send(h, next++) != 0)
				return -1;
		for (long i = 0; i < k; i++) {
			char line[128];
			if (sock_line(h, line, sizeof line) != 0 || strncmp(line, "INSERTED ", 9))
				return -1;
		}
		n -= k;
	}
	return 0;
}

static double bs_save(void *h, char *extra, size_t cap)
{
	(void)h;
	snprintf(extra, cap, "\"save_error\":\"beanstalkd has no compaction command\"");
	return -1;
}

static const peer peers[] = {
	{"brokerd", brk_open, brk_close_h, brk_put_h, brk_get_h, brk_ping_h, brk_count_h,
	 brk_fill_h, brk_save_h},
	{"redis", redis_open, sock_close_h, redis_put, redis_get, redis_ping, redis_count,
	 redis_fill, redis_save},
	{"beanstalkd", bs_open, sock_close_h, bs_put, bs_get, bs_ping, bs_count, bs_fill, bs_save},
};

static const peer *peer_named(const char *name)
{
	for (size_t i = 0; i < sizeof peers / sizeof peers[0]; i++)
		if (strcmp(peers[i].name, name) == 0)
			return &peers[i];
	die("unknown peer %s (brokerd, redis, beanstalkd)", name);
	return NULL;
}

static void *open_or_die(const peer *p, const char *addr)
{
	void *h = p->open(addr);
	if (!h)
		die("cannot connect to %s at %s", p->name, addr);
	return h;
}

/* ---- samples ---- */

typedef struct samples {
	double *v;  /* latencies, seconds */
	double *at; /* start times */
	size_t n, cap;
} samples;

static void samples_add(samples *s, double at, double v)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1 << 16;
		s->v = realloc(s->v, s->cap * sizeof *s->v);
		s->at = realloc(s->at, s->cap * sizeof *s->at);
	}
	s->at[s->n] = at;
	s->v[s->n++] = v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* pct: the p-th percentile (0..100) of v[0..n), sorting it; 0 when empty. */
static double pct(double *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof *v, cmp_double);
	size_t i = (size_t)(p / 100 * (double)(n - 1) + 0.5);
	return v[i];
}

/* ---- the commands ---- */

static int cmd_latency(const peer *p, const char *addr, double secs)
{
	void *h = open_or_die(p, addr);
	samples s = {0};
	for (int i = 0; i < 200; i++) /* warm-up */
		if (p->put(h, (unsigned long)i) != 0 || p->get(h) != 0)
			die("%s: put/get failed", p->name);
	unsigned long n = 1000;
	double start = now(), end = start + secs, t = start;
	while (t < end) {
		if (p->put(h, n++) != 0 || p->get(h) != 0)
			die("%s: put/get failed", p->name);
		double t2 = now();
		samples_add(&s, t, t2 - t);
		t = t2;
	}
	double elapsed = now() - start;
	double p50 = pct(s.v, s.n, 50), p99 = pct(s.v, s.n, 99), mx = pct(s.v, s.n, 100);
	printf("{\"test\":\"latency\",\"peer\":\"%s\",\"pairs\":%zu,\"pairs_per_sec\":%.0f,"
	       "\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f}\n",
	       p->name, s.n, (double)s.n / elapsed, p50 * 1e6, p99 * 1e6, mx * 1e6);
	p->close(h);
	return 0;
}

typedef struct worker {
	const peer *p;
	void *h;
	pthread_barrier_t *go;
	double end;
	unsigned long first; /* its items' numbers start here */
	long puts;
	int failed;
} worker;

static void *put_loop(void *arg)
{
	worker *w = arg;
	pthread_barrier_wait(w->go);
	while (now() < w->end) {
		if (w->p->put(w->h, w->first + (unsigned long)w->puts) != 0) {
			w->failed = 1;
			break;
		}
		w->puts++;
	}
	return NULL;
}

static int cmd_throughput(const peer *p, const char *addr, int clients, double secs)
{
	worker *w = calloc((size_t)clients, sizeof *w);
	pthread_t *th = calloc((size_t)clients, sizeof *th);
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, (unsigned)clients + 1);
	for (int i = 0; i < clients; i++) {
		w[i] = (worker){.p = p, .h = open_or_die(p, addr), .go = &go};
		w[i].first = (unsigned long)(i + 1) * 1000000000ul;
		if (p->put(w[i].h, (unsigned long)i) !=
		    0) /* warm-up: the queue exists, the connection is up */
			die("%s: put failed", p->name);
	}
	double start = now();
	for (int i = 0; i < clients; i++) {
		w[i].end = start + 0.05 + secs;
		pthread_create(&th[i], NULL, put_loop, &w[i]);
	}
	while (now() < start + 0.05)
		usleep(1000);
	pthread_barrier_wait(&go);
	double t0 = now();
	long total = 0;
	for (int i = 0; i < clients; i++) {
		pthread_join(th[i], NULL);
		if (w[i].failed)
			die("%s: put failed", p->name);
		total += w[i].puts;
		p->close(w[i].h);
	}
	double elapsed = now() - t0;
	printf("{\"test\":\"throughput\",\"peer\":\"%s\",\"clients\":%d,\"puts\":%ld,"
	       "\"puts_per_sec\":%.0f}\n",
	       p->name, clients, total, (double)total / elapsed);
	free(w);
	free(th);
	return 0;
}

static int cmd_fill(const peer *p, const char *addr, long count)
{
	void *h = open_or_die(p, addr);
	long had = p->count(h);
	double t0 = now();
	if (p->fill(h, count) != 0)
		die("%s: fill failed", p->name);
	double t = now() - t0;
	long have = p->count(h);
	printf("{\"test\":\"fill\",\"peer\":\"%s\",\"items\":%ld,\"seconds\":%.3f,"
	       "\"count\":%ld}\n",
	       p->name, count, t, have);
	p->close(h);
	return have == had + count ? 0 : 1;
}

/* cmd_startup: execs argv, then connects and pings every millisecond until it answers. */
static int cmd_startup(const peer *p, const char *addr, long count, char **argv)
{
	double t0 = now();
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(STDERR_FILENO, STDOUT_FILENO); /* our stdout may be a pipe read to its end */
		execvp(argv[0], argv);
		_exit(127);
	}
	void *h = NULL;
	int status;
	while (now() - t0 < 600) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr, "durability: %s exited (status %d) before answering\n",
				argv[0], status);
			return 1;
		}
		if (!h)
			h = p->open(addr);
		if (h && p->ping(h) == 0)
			break;
		if (h) { /* not listening yet, or Redis's -LOADING: connect again */
			p->close(h);
			h = NULL;
		}
		usleep(1000);
	}
	double t = now() - t0;
	long have = h ? p->count(h) : -1;
	printf("{\"test\":\"startup\",\"peer\":\"%s\",\"items\":%ld,\"count\":%ld,"
	       "\"seconds\":%.3f,\"pid\":%d}\n",
	       p->name, count, have, t, (int)pid);
	if (h)
		p->close(h);
	return have == count ? 0 : 1;
}

typedef struct pinger {
	const peer *p;
	void *h;
	volatile int stop;
	samples s;
	int failed;
} pinger;

static void *ping_loop(void *arg)
{
	pinger *pg = arg;
	while (!pg->stop) {
		double t = now();
		if (pg->p->ping(pg->h) != 0) {
			pg->failed = 1;
			break;
		}
		samples_add(&pg->s, t, now() - t);
	}
	return NULL;
}

/* cmd_pause: pings for secs (the normal latencies), then compacts on a second connection
 * while the pings go on, and 0.5 s more; the pause is the longest ping that overlapped the
 * compaction. */
static int cmd_pause(const peer *p, const char *addr, double secs)
{
	pinger pg = {.p = p, .h = open_or_die(p, addr)};
	void *admin = open_or_die(p, addr);
	pthread_t th;
	pthread_create(&th, NULL, ping_loop, &pg);
	usleep((useconds_t)(secs * 1e6));
	char extra[512] = "\"none\":0";
	double s0 = now(), took = p->save(admin, extra, sizeof extra), s1 = now();
	usleep(500000);
	pg.stop = 1;
	pthread_join(th, NULL);
	if (pg.failed)
		die("%s: ping failed", p->name);
	double *before = malloc(pg.s.n * sizeof *before), worst = 0, worst_at = 0;
	size_t nb = 0, nd = 0;
	for (size_t i = 0; i < pg.s.n; i++) {
		double a = pg.s.at[i], b = a + pg.s.v[i];
		if (b < s0)
			before[nb++] = pg.s.v[i];
		else if (a <= s1) {
			nd++;
			if (pg.s.v[i] > worst) {
				worst = pg.s.v[i];
				worst_at = a - s0;
			}
		}
	}
	double p50 = pct(before, nb, 50), p99 = pct(before, nb, 99), bmax = pct(before, nb, 100);
	printf("{\"test\":\"pause\",\"peer\":\"%s\",\"save_seconds\":%.4f,\"pings_before\":%zu,"
	       "\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_before_us\":%.1f,\"pings_during\":%zu,"
	       "\"max_during_us\":%.1f,\"max_during_at\":%.4f,%s}\n",
	       p->name, took, nb, p50 * 1e6, p99 * 1e6, bmax * 1e6, nd, worst * 1e6, worst_at,
	       extra);
	p->close(pg.h);
	p->close(admin);
	free(before);
	return took < 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: durability latency PEER ADDR SECONDS\n"
		"       durability throughput PEER ADDR CLIENTS SECONDS\n"
		"       durability fill PEER ADDR COUNT\n"
		"       durability startup PEER ADDR COUNT CMD...\n"
		"       durability pause PEER ADDR SECONDS\n"
		"PEER: brokerd (ADDR: URL), redis or beanstalkd (ADDR: Unix socket path)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 5)
		usage();
	signal(SIGPIPE, SIG_IGN);
	const peer *p = peer_named(argv[2]);
	const char *cmd = argv[1], *addr = argv[3];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(cmd, "latency") == 0)
		return cmd_latency(p, addr, atof(argv[4]));
	if (strcmp(cmd, "throughput") == 0 && argc == 6)
		return cmd_throughput(p, addr, atoi(argv[4]), atof(argv[5]));
	if (strcmp(cmd, "fill") == 0)
		return cmd_fill(p, addr, atol(argv[4]));
	if (strcmp(cmd, "startup") == 0 && argc > 5)
		return cmd_startup(p, addr, atol(argv[4]), argv + 5);
	if (strcmp(cmd, "pause") == 0)
		return cmd_pause(p, addr, atof(argv[4]));
	usage();
	return 2;
}
