/* soak.c: the 200-client soak of the project's issue. Well-behaved clients loop over a mix of
 * ops and time every call; abusive ones (oversized requests, thousands of parked gets, replies
 * never read, big queue items) run in the middle of the soak and leave; brokerd's RSS is read
 * from /proc. Prints a line a second, a summary and a JSON line; exits 1 when a target is
 * missed (p99 < 10 ms in every phase, no errors, RSS at the end within 10 % of the start).
 * The first START_UP seconds (200 forks and connects) are shown but left out of the phases.
 * bench/soak.sh runs it. Usage: soak URL [options] (soak --help lists them) */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "wire.h"

#define HIST_SUB 64 /* latency buckets per power of two: under 1.6 % apart */
#define HIST_BUCKETS (HIST_SUB * 32)
#define TARGET_P99_US 10000
#define TARGET_RSS_RATIO 1.10
#define MIX_MAX 16
#define PARK_LIMIT 4096
#define START_UP \
	2 /* first seconds (forks, connects): shown, left out of the phases */ /* brokerd's CONN_MAX_PARKED: parked requests per connection */

enum kind { KIND_OVERSIZED, KIND_PARKER, KIND_NONREADER, KIND_PUSHER, KIND_COUNT };

/* Latencies of the well-behaved clients' calls: of one second (by completion time) or of
 * one op of the mix. */
struct lat {
	uint64_t hist[HIST_BUCKETS];
	uint64_t ops, errors, max_us;
};

/* What one kind of abusive client did: requests sent, replies as intended (too_big,
 * limit_exceeded, an accepted item) and anything else (a failure of the soak). */
struct abuse_stats {
	uint64_t sent, expected, unexpected, cycles;
};

/* The run's shared memory: children add, the parent reads. */
struct shared {
	double t0;
	uint64_t errors[BRK_ERR_COUNT];
	struct abuse_stats abuse[KIND_COUNT];
	struct lat op[MIX_MAX];
	struct lat sec[];
};

struct config {
	const char *url;
	pid_t daemon;
	int clients, abusers, seconds, rate, park, push_mib, cycle;
	double abuse_from, abuse_until;
	size_t oversize;
	bool kinds[KIND_COUNT];
};

/* The objects one well-behaved client works on: its own and shared ones. */
struct names {
	char queue[64], lock[64];
	json_t *key, *item;
};

static struct shared *sh;
static struct config cfg;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
	while (now() < t) {
		double left = t - now();
		struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
		nanosleep(&ts, NULL);
	}
}

static void add(uint64_t *counter, uint64_t n)
{
	__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

static uint64_t load(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

static void raise_max(uint64_t *max, uint64_t v)
{
	uint64_t old = load(max);
	while (v > old &&
	       !__atomic_compare_exchange_n(max, &old, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/* ---- latency histogram: log-linear buckets of microseconds ---- */

static int bucket_of(uint64_t us)
{
	if (us < HIST_SUB)
		return (int)us;
	int e = 63 - __builtin_clzll(us); /* >= 6 */
	int b = HIST_SUB + (e - 6) * HIST_SUB + (int)((us >> (e - 6)) & (HIST_SUB - 1));
	return b < HIST_BUCKETS ? b : HIST_BUCKETS - 1;
}

/* bucket_top: the largest latency bucket b holds (percentiles are reported as that). */
static uint64_t bucket_top(int b)
{
	if (b < HIST_SUB)
		return (uint64_t)b;
	int e = (b - HIST_SUB) / HIST_SUB + 6;
	uint64_t m = (uint64_t)((b - HIST_SUB) % HIST_SUB);
	return ((HIST_SUB + m + 1) << (e - 6)) - 1;
}

/* Summary of a span of seconds. */
struct stats {
	uint64_t hist[HIST_BUCKETS];
	uint64_t ops, errors, max_us;
};

static void stats_add(struct stats *st, const struct lat *s)
{
	for (int b = 0; b < HIST_BUCKETS; b++)
		st->hist[b] += load(&s->hist[b]);
	st->ops += load(&s->ops);
	st->errors += load(&s->errors);
	uint64_t m = load(&s->max_us);
	st->max_us = m > st->max_us ? m : st->max_us;
}

/* stats_span: the seconds [from, to) merged. */
static void stats_span(struct stats *st, int from, int to)
{
	memset(st, 0, sizeof *st);
	for (int s = from < 0 ? 0 : from; s < to && s <= cfg.seconds; s++)
		stats_add(st, &sh->sec[s]);
}

static uint64_t percentile(const struct stats *st, double p)
{
	uint64_t want = (uint64_t)((double)st->ops * p), seen = 0;
	for (int b = 0; b < HIST_BUCKETS; b++) {
		seen += st->hist[b];
		if (seen > want || (seen == st->ops && seen > 0)) {
			uint64_t top = bucket_top(b);
			return top < st->max_us ? top : st->max_us;
		}
	}
	return 0;
}

static void lat_add(struct lat *l, uint64_t us, brk_err err)
{
	add(&l->hist[bucket_of(us)], 1);
	add(&l->ops, 1);
	raise_max(&l->max_us, us);
	if (err != BRK_OK)
		add(&l->errors, 1);
}

/* record: one well-behaved call of op (of the mix) that started at start and returned err. */
static void record(size_t op, double start, brk_err err)
{
	double end = now();
	int s = (int)(end - sh->t0);
	if (s < 0 || s > cfg.seconds)
		return;
	uint64_t us = (uint64_t)((end - start) * 1e6);
	lat_add(&sh->sec[s], us, err);
	lat_add(&sh->op[op], us, err);
	if (err != BRK_OK)
		add(&sh->errors[err], 1);
}

/* ---- well-behaved clients ---- */

static brk_client *connect_or_exit(const char *who)
{
	brk_client *c = NULL;
	if (brk_connect(cfg.url, NULL, &c) != BRK_OK) {
		fprintf(stderr, "soak: %s: %s\n", who, brk_last_error());
		_exit(3);
	}
	return c;
}

static brk_err op_queue_put(brk_client *c, struct names *n)
{
	return brk_queue_put(c, n->queue, n->item, 0);
}

/* op_queue_get: takes back what op_queue_put put; anything else is an error. */
static brk_err op_queue_get(brk_client *c, struct names *n)
{
	json_t *got = NULL;
	brk_err err = brk_queue_get(c, n->queue, 0, &got);
	if (err == BRK_OK && !json_equal(got, n->item))
		err = BRK_EVALUE;
	json_decref(got);
	return err;
}

static brk_err op_dict_set(brk_client *c, struct names *n)
{
	return brk_dict_set(c, "soak:dict", n->key, n->item);
}

static brk_err op_dict_get(brk_client *c, struct names *n)
{
	json_t *got = NULL;
	brk_err err = brk_dict_get(c, "soak:dict", n->key, &got);
	json_decref(got);
	return err;
}

static brk_err op_value_add(brk_client *c, struct names *n)
{
	(void)n;
	return brk_value_add_int(c, "soak:value", 1, NULL);
}

/* op_lock_acquire: a lock shared by a few clients; not getting it in 5 s is BRK_ETIMEOUT. */
static brk_err op_lock_acquire(brk_client *c, struct names *n)
{
	bool acquired = false;
	brk_err err = brk_lock_acquire(c, n->lock, BRK_LOCK, 5.0, &acquired, NULL);
	return err == BRK_OK && !acquired ? BRK_ETIMEOUT : err;
}

static brk_err op_lock_release(brk_client *c, struct names *n)
{
	return brk_lock_release(c, n->lock, BRK_LOCK);
}

static brk_err op_event_is_set(brk_client *c, struct names *n)
{
	bool set = false;
	(void)n;
	brk_err err = brk_event_is_set(c, "soak:event", &set);
	return err == BRK_OK && !set ? BRK_EVALUE : err;
}

static brk_err op_ping(brk_client *c, struct names *n)
{
	(void)n;
	return brk_ping(c);
}

/* The mix, in order. An op that opens a pair (lock.acquire) is followed at once by the
 * next, without pacing (a lock is held only for the release's round trip); if it fails, the
 * next is skipped. */
static const struct {
	const char *name;
	brk_err (*call)(brk_client *c, struct names *n);
	bool opens_pair;
} mix[] = {
	{"queue.put", op_queue_put, false},
	{"queue.get_nowait", op_queue_get, false},
	{"dict.set", op_dict_set, false},
	{"dict.get", op_dict_get, false},
	{"value.add", op_value_add, false},
	{"lock.acquire", op_lock_acquire, true},
	{"lock.release", op_lock_release, false},
	{"event.is_set", op_event_is_set, false},
	{"ping", op_ping, false},
};
#define MIX_LEN (sizeof mix / sizeof mix[0])
_Static_assert(MIX_LEN <= MIX_MAX, "MIX_MAX is too small for the mix");

/* pace: waits for the next slot of cfg.rate calls a second (0: flat out); a client that
 * fell behind by over a second skips ahead instead of bursting. */
static void pace(double *next)
{
	if (cfg.rate <= 0)
		return;
	*next += 1.0 / cfg.rate;
	if (*next < now() - 1.0)
		*next = now();
	sleep_until(*next);
}

static int behave(int idx)
{
	brk_client *c = connect_or_exit("client");
	struct names n;
	snprintf(n.queue, sizeof n.queue, "soak:q:%d", idx);
	snprintf(n.lock, sizeof n.lock, "soak:lock:%d", idx % 16);
	n.key = json_integer(idx);
	n.item = json_pack("{s:i, s:s}", "client", idx, "payload", "a small item of a soak");
	double end = sh->t0 + cfg.seconds;
	double next = now() + (double)(idx % 97) / 97.0 / (cfg.rate > 0 ? cfg.rate : 1e9);
	sleep_until(next);
	while (now() < end) {
		for (size_t i = 0; i < MIX_LEN; i++) {
			double start = now();
			brk_err err = mix[i].call(c, &n);
			record(i, start, err);
			if (err != BRK_OK && mix[i].opens_pair)
				i++;
			else if (mix[i].opens_pair)
				continue;
			pace(&next);
		}
	}
	brk_del(c, n.queue);
	json_decref(n.key);
	json_decref(n.item);
	brk_close(c);
	return 0;
}

/* ---- a raw SP connection (PROTOCOL.md "Wire format"), ipc only: what libbroker will not
 * send (oversized requests) or does not allow (thousands in flight, never reading) ---- */

struct raw {
	int fd;
	uint32_t next_id;
};

/* wait_fd: 0 once fd is ready for events, -1 at deadline or on error. */
static int wait_fd(int fd, short events, double deadline)
{
	for (;;) {
		int left = (int)((deadline - now()) * 1000);
		if (left <= 0)
			return -1;
		struct pollfd p = {.fd = fd, .events = events};
		int rc = poll(&p, 1, left);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

static int raw_write(struct raw *r, const void *buf, size_t len, double deadline)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = send(r->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if ((n < 0 && errno != EAGAIN && errno != EINTR) ||
			   wait_fd(r->fd, POLLOUT, deadline) != 0) {
			return -1;
		}
	}
	return 0;
}

static int raw_read(struct raw *r, void *buf, size_t len, double deadline)
{
	char *p = buf;
	while (len > 0) {
		ssize_t n = recv(r->fd, p, len, MSG_DONTWAIT);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR) ||
			   wait_fd(r->fd, POLLIN, deadline) != 0) {
			return -1;
		}
	}
	return 0;
}

static void raw_close(struct raw *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

/* raw_dial: connects to cfg.url (ipc://PATH) and does the SP handshake. 0, or -1. */
static int raw_dial(struct raw *r)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	uint8_t hello[WIRE_HANDSHAKE_LEN], peer[WIRE_HANDSHAKE_LEN];
	*r = (struct raw){.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), .next_id = 1};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", cfg.url + strlen("ipc://"));
	wire_handshake(hello, WIRE_PROTO_REQ);
	double deadline = now() + 10;
	if (r->fd < 0 || connect(r->fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    raw_write(r, hello, sizeof hello, deadline) != 0 ||
	    raw_read(r, peer, sizeof peer, deadline) != 0 ||
	    !wire_handshake_ok(peer, WIRE_PROTO_REP)) {
		raw_close(r);
		return -1;
	}
	return 0;
}

/* raw_send_head: the frame header and request id of a request of len body bytes. */
static int raw_send_head(struct raw *r, size_t len, double deadline)
{
	uint8_t head[WIRE_LEN_SIZE + 1 + WIRE_ID_SIZE];
	size_t n = wire_header(head, 1, len + WIRE_ID_SIZE);
	wire_put32(head + n, WIRE_ID_LAST | r->next_id++);
	return raw_write(r, head, n + WIRE_ID_SIZE, deadline);
}

static int raw_send(struct raw *r, const char *json, double deadline)
{
	size_t len = strlen(json);
	return raw_send_head(r, len, deadline) != 0 ? -1 : raw_write(r, json, len, deadline);
}

/* raw_reply: reads one reply and returns its error code (BRK_OK for "ok": true), or
 * BRK_EIO when none came by deadline or it was malformed. */
static brk_err raw_reply(struct raw *r, double deadline)
{
	uint8_t head[1 + WIRE_LEN_SIZE], id[WIRE_ID_SIZE];
	if (raw_read(r, head, sizeof head, deadline) != 0 || head[0] != WIRE_IPC_MSG)
		return BRK_EIO;
	uint64_t len = wire_get64(head + 1);
	char *body =
		len >= WIRE_ID_SIZE && len < (1u << 30) ? malloc(len - WIRE_ID_SIZE + 1) : NULL;
	if (!body || raw_read(r, id, sizeof id, deadline) != 0 ||
	    raw_read(r, body, len - WIRE_ID_SIZE, deadline) != 0) {
		free(body);
		return BRK_EIO;
	}
	body[len - WIRE_ID_SIZE] = '\0';
	json_t *reply = json_loads(body, 0, NULL);
	free(body);
	const char *code = json_string_value(json_object_get(reply, "error"));
	brk_err err = !reply                                       ? BRK_EPROTO
		      : json_is_true(json_object_get(reply, "ok")) ? BRK_OK
								   : brk_err_from_code(code);
	json_decref(reply);
	return err;
}

/* ---- abusive clients: each runs from abuse_from to abuse_until in cycles ---- */

static void tally(enum kind k, bool expected)
{
	add(expected ? &sh->abuse[k].expected : &sh->abuse[k].unexpected, 1);
}

/* oversized: requests over --max-message, each answered too_big (the connection goes on:
 * a ping after each must be answered). */
static void oversized_cycle(double until)
{
	struct raw r;
	if (raw_dial(&r) != 0) {
		tally(KIND_OVERSIZED, false);
		return;
	}
	char *pad = malloc(cfg.oversize);
	memset(pad, 'x', cfg.oversize);
	while (now() < until) {
		double deadline = now() + 30;
		add(&sh->abuse[KIND_OVERSIZED].sent, 2);
		if (raw_send_head(&r, cfg.oversize, deadline) != 0 ||
		    raw_write(&r, pad, cfg.oversize, deadline) != 0) {
			tally(KIND_OVERSIZED, false);
			break;
		}
		tally(KIND_OVERSIZED, raw_reply(&r, deadline) == BRK_ETOOBIG);
		tally(KIND_OVERSIZED, raw_send(&r, "{\"op\":\"ping\"}", deadline) == 0 &&
					      raw_reply(&r, deadline) == BRK_OK);
	}
	free(pad);
	raw_close(&r);
}

/* parker: cfg.park gets on an empty private queue, pipelined; all past the first
 * PARK_LIMIT must be refused limit_exceeded at once. Holds them for a while, then goes. */
static void parker_cycle(double until)
{
	struct raw r;
	char req[160];
	snprintf(req, sizeof req,
		 "{\"op\":\"queue.get\",\"name\":\"soak:park:%d\",\"timeout\":600}", (int)getpid());
	if (raw_dial(&r) != 0) {
		tally(KIND_PARKER, false);
		return;
	}
	double deadline = now() + 30;
	int sent = 0;
	while (sent < cfg.park && raw_send(&r, req, deadline) == 0)
		sent++;
	add(&sh->abuse[KIND_PARKER].sent, (uint64_t)sent);
	for (int i = PARK_LIMIT; i < sent; i++)
		tally(KIND_PARKER, raw_reply(&r, deadline) == BRK_ELIMIT);
	if (sent < cfg.park)
		tally(KIND_PARKER, false);
	sleep_until(until);
	raw_close(&r);
}

/* nonreader: fills a dict of 512 KiB, then asks for all of it again and again on a raw
 * connection and never reads a reply; its writes stall once brokerd stops reading. */
static void nonreader_cycle(double until)
{
	char dict[64], req[160];
	snprintf(dict, sizeof dict, "soak:big:%d", (int)getpid());
	snprintf(req, sizeof req, "{\"op\":\"dict.items\",\"name\":\"%s\"}", dict);
	struct raw r;
	if (raw_dial(&r) != 0) {
		tally(KIND_NONREADER, false);
		return;
	}
	uint64_t sent = 0;
	while (raw_send(&r, req, until) == 0)
		sent++;
	add(&sh->abuse[KIND_NONREADER].sent, sent);
	tally(KIND_NONREADER, sent > 0);
	raw_close(&r);
}

/* big_string: a JSON string of size bytes (a new reference). */
static json_t *big_string(size_t size)
{
	char *text = malloc(size + 1);
	memset(text, 'y', size);
	text[size] = '\0';
	json_t *s = json_string(text);
	free(text);
	return s;
}

static void nonreader_setup(brk_client *c)
{
	char dict[64];
	snprintf(dict, sizeof dict, "soak:big:%d", (int)getpid());
	json_t *v = big_string(64 << 10); /* 512 KiB a reply: its cost is the unread output */
	for (int k = 0; k < 8; k++) {
		json_t *key = json_integer(k);
		tally(KIND_NONREADER, brk_dict_set(c, dict, key, v) == BRK_OK);
		json_decref(key);
	}
	json_decref(v);
}

/* pusher: puts 512 KiB items into its own queue up to --push-cap MiB or until brokerd
 * refuses one (a memory limit: as intended), holds them for the rest of the cycle, then
 * deletes the queue. */
static void pusher_cycle(double until)
{
	brk_client *c = connect_or_exit("pusher");
	char queue[64];
	snprintf(queue, sizeof queue, "soak:push:%d", (int)getpid());
	json_t *v = big_string(512 << 10);
	for (int i = 0; i < cfg.push_mib * 2 && now() < until; i++) {
		add(&sh->abuse[KIND_PUSHER].sent, 1);
		brk_err err = brk_queue_put(c, queue, v, 0);
		tally(KIND_PUSHER, err < BRK_ECONNECT); /* stored, or refused by brokerd */
		if (err != BRK_OK)
			break;
	}
	json_decref(v);
	sleep_until(until);
	tally(KIND_PUSHER, brk_del(c, queue) == BRK_OK);
	brk_close(c);
}

static const struct kind_info {
	const char *name;
	void (*cycle)(double until);
	void (*setup)(brk_client *c); /* objects to make before its first cycle, or NULL */
	const char *cleanup_prefix;   /* its objects, deleted when it leaves */
} kinds[KIND_COUNT] = {
	[KIND_OVERSIZED] = {"oversized", oversized_cycle, NULL, NULL},
	[KIND_PARKER] = {"parker", parker_cycle, NULL, "soak:park:"},
	[KIND_NONREADER] = {"nonreader", nonreader_cycle, nonreader_setup, "soak:big:"},
	[KIND_PUSHER] = {"pusher", pusher_cycle, NULL, NULL},
};

/* cleanup: deletes what this abuser made (its name ends in its pid). */
static void cleanup(const struct kind_info *k)
{
	if (!k->cleanup_prefix)
		return;
	brk_client *c = connect_or_exit("abuser");
	char name[64];
	snprintf(name, sizeof name, "%s%d", k->cleanup_prefix, (int)getpid());
	brk_err err = brk_del(c, name);
	tally((enum kind)(k - kinds), err == BRK_OK || err == BRK_ENOTFOUND);
	brk_close(c);
}

static int abuse(enum kind kind)
{
	srand48((long)getpid());
	const struct kind_info *k = &kinds[kind];
	double until = sh->t0 + cfg.abuse_until;
	sleep_until(sh->t0 + cfg.abuse_from);
	if (k->setup) { /* in the abuse phase: RSS at its start holds none of it */
		brk_client *c = connect_or_exit("abuser");
		k->setup(c);
		brk_close(c);
	}
	/* the first cycle is cut at a random point: abusers come and go at different times,
	 * as independent clients would */
	double end = now() + cfg.cycle * (0.2 + 0.8 * drand48());
	while (now() < until) {
		add(&sh->abuse[kind].cycles, 1);
		k->cycle(end < until ? end : until);
		end = now() + cfg.cycle;
	}
	cleanup(k);
	return 0;
}

/* ---- the parent: set-up, a line a second, the summary ---- */

static long rss_kb(void)
{
	char path[64], line[256];
	long kb = -1;
	snprintf(path, sizeof path, "/proc/%d/status", (int)cfg.daemon);
	FILE *f = cfg.daemon > 0 ? fopen(path, "r") : NULL;
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return kb;
}

/* shared_objects: makes the objects every well-behaved client shares. */
static brk_err shared_objects(brk_client *c)
{
	brk_err err = brk_value_create(c, "soak:value", BRK_INT, NULL, NULL);
	return err != BRK_OK ? err : brk_event_set(c, "soak:event");
}

/* remove_shared: deletes them and the locks, leaving brokerd as the soak found it. */
static void remove_shared(brk_client *c)
{
	char lock[64];
	brk_del(c, "soak:value");
	brk_del(c, "soak:event");
	brk_del(c, "soak:dict");
	for (int i = 0; i < 16; i++) {
		snprintf(lock, sizeof lock, "soak:lock:%d", i);
		brk_del(c, lock);
	}
}

static int kinds_chosen(void)
{
	int n = 0;
	for (int k = 0; k < KIND_COUNT; k++)
		n += cfg.kinds[k];
	return n;
}

/* abuser_kind: the kind of abuser i, round-robin over the chosen kinds. */
static enum kind abuser_kind(int i)
{
	int k;
	for (k = 0, i %= kinds_chosen(); !cfg.kinds[k] || i-- > 0; k++)
		;
	return (enum kind)k;
}

static int start_clients(pid_t *pids)
{
	for (int i = 0; i < cfg.clients; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("soak: fork");
			return -1;
		}
		if (pid == 0) {
			bool abuser = i < cfg.abusers;
			_exit(abuser ? abuse(abuser_kind(i)) : behave(i));
		}
		pids[i] = pid;
	}
	return 0;
}

struct rss {
	long start, peak, end;
};

/* daemon_cpu_ticks: brokerd's user + system time so far, in clock ticks (0 if unknown). */
static unsigned long long daemon_cpu_ticks(void)
{
	char path[64], buf[1024];
	unsigned long long user = 0, sys = 0;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)cfg.daemon);
	FILE *f = cfg.daemon > 0 ? fopen(path, "r") : NULL;
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')'); /* fields 14 and 15 follow the command's name */
	if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &user,
			&sys) == 2)
		return user + sys;
	return 0;
}

/* machine_load: the 1-minute load average, to tell a noisy machine from brokerd. */
static double machine_load(void)
{
	double load = -1;
	FILE *f = fopen("/proc/loadavg", "r");
	if (f && fscanf(f, "%lf", &load) != 1)
		load = -1;
	if (f)
		fclose(f);
	return load;
}

static void print_second(int s, long kb, double cpu)
{
	struct stats st;
	stats_span(&st, s, s + 1);
	const char *phase = s < cfg.abuse_from    ? "warm-up"
			    : s < cfg.abuse_until ? "abuse"
						  : "recovery";
	printf("%4d %-8s %7lu %7lu %7lu %7lu %8lu %6lu %8.1f %5.0f %5.1f\n", s, phase,
	       (unsigned long)st.ops, (unsigned long)percentile(&st, 0.50),
	       (unsigned long)percentile(&st, 0.99), (unsigned long)percentile(&st, 0.999),
	       (unsigned long)st.max_us, (unsigned long)st.errors, (double)kb / 1024, cpu,
	       machine_load());
	fflush(stdout);
}

/* watch: a line a second until the end, with brokerd's CPU use in that second (% of one
 * CPU) and the machine's load; RSS start is the last sample before the abusers
 * start, end the last one of the run. */
static void watch(struct rss *rss)
{
	printf("   s phase      ops/s  p50_us  p99_us p999_us   max_us errors   rss_mb cpu%% "
	       "load\n");
	unsigned long long ticks = daemon_cpu_ticks();
	double hz = (double)sysconf(_SC_CLK_TCK);
	for (int s = 0; s < cfg.seconds; s++) {
		sleep_until(sh->t0 + s + 1.2);
		long kb = rss_kb();
		unsigned long long t = daemon_cpu_ticks();
		double cpu = 100.0 * (double)(t - ticks) / hz;
		ticks = t;
		if (s + 1.2 < cfg.abuse_from)
			rss->start = kb;
		rss->peak = kb > rss->peak ? kb : rss->peak;
		rss->end = kb;
		print_second(s, kb, cpu);
	}
}

/* reap: waits for every child (up to 60 s past the end, then kills the rest); the number
 * that failed or had to be killed. */
static int reap(pid_t *pids)
{
	int failed = 0, left = cfg.clients;
	double give_up = now() + 60;
	while (left > 0 && now() < give_up) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0) {
			usleep(20000);
			continue;
		}
		left--;
		failed += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
		for (int i = 0; i < cfg.clients; i++)
			pids[i] = pids[i] == pid ? 0 : pids[i];
	}
	for (int i = 0; i < cfg.clients; i++)
		if (pids[i] > 0) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
			failed++;
		}
	return failed;
}

/* The spans reported: the whole run and its three phases. */
struct span {
	const char *name;
	int from, to;
	struct stats st;
};

static void print_errors(FILE *f, bool json)
{
	bool first = true;
	for (int e = 1; e < BRK_ERR_COUNT; e++) {
		uint64_t n = load(&sh->errors[e]);
		if (n == 0)
			continue;
		fprintf(f, json ? "%s\"%s\":%lu" : "%s%s %lu",
			first  ? ""
			: json ? ","
			       : ", ",
			brk_err_code((brk_err)e), (unsigned long)n);
		first = false;
	}
	if (first && !json)
		fprintf(f, "none");
}

static void print_abuse(bool json)
{
	bool first = true;
	for (int k = 0; k < KIND_COUNT; k++) {
		if (!cfg.kinds[k] || cfg.abusers == 0)
			continue;
		const struct abuse_stats *a = &sh->abuse[k];
		printf(json ? "%s\"%s\":{\"cycles\":%lu,\"sent\":%lu,\"expected\":%lu,"
			      "\"unexpected\":%lu}"
			    : "%s%s: cycles %lu, sent %lu, as intended %lu, unexpected %lu\n",
		       json && !first ? "," : "", kinds[k].name, (unsigned long)load(&a->cycles),
		       (unsigned long)load(&a->sent), (unsigned long)load(&a->expected),
		       (unsigned long)load(&a->unexpected));
		first = false;
	}
}

static void print_span(const struct span *sp, bool json)
{
	const struct stats *st = &sp->st;
	double secs = sp->to > sp->from ? sp->to - sp->from : 1;
	printf(json ? "\"%s\":{\"ops_per_sec\":%.0f,\"p50_us\":%lu,\"p99_us\":%lu,"
		      "\"p999_us\":%lu,\"max_us\":%lu,\"errors\":%lu}"
		    : "%-9s ops/s %7.0f  p50 %6lu us  p99 %6lu us  p99.9 %6lu us  max %7lu us  "
		      "errors %lu\n",
	       sp->name, (double)st->ops / secs, (unsigned long)percentile(st, 0.50),
	       (unsigned long)percentile(st, 0.99), (unsigned long)percentile(st, 0.999),
	       (unsigned long)st->max_us, (unsigned long)st->errors);
}

/* print_ops: each op of the mix over the whole run, to tell which is slow. */
static void print_ops(bool json)
{
	for (size_t i = 0; i < MIX_LEN; i++) {
		struct stats st = {0};
		stats_add(&st, &sh->op[i]);
		printf(json ? "%s\"%s\":{\"p50_us\":%lu,\"p99_us\":%lu,\"max_us\":%lu,\"errors\":%"
			      "lu}"
			    : "%s  %-16s p50 %6lu us  p99 %6lu us  max %7lu us  errors %lu\n",
		       json && i > 0 ? "," : "", mix[i].name, (unsigned long)percentile(&st, 0.50),
		       (unsigned long)percentile(&st, 0.99), (unsigned long)st.max_us,
		       (unsigned long)st.errors);
	}
}

static void print_kinds(void)
{
	bool first = true;
	for (int k = 0; k < KIND_COUNT; k++)
		if (cfg.kinds[k] && cfg.abusers > 0) {
			printf("%s%s", first ? "" : ",", kinds[k].name);
			first = false;
		}
	if (first)
		printf("none");
}

/* summarize: prints the summary and the JSON line; whether every target was met. */
static bool summarize(const struct rss *rss, int failed)
{
	struct span spans[] = {
		{.name = "overall", .from = START_UP, .to = cfg.seconds},
		{.name = "warm-up", .from = START_UP, .to = (int)cfg.abuse_from},
		{.name = "abuse", .from = (int)cfg.abuse_from, .to = (int)cfg.abuse_until},
		{.name = "recovery", .from = (int)cfg.abuse_until, .to = cfg.seconds},
	};
	size_t nspans = sizeof spans / sizeof spans[0];
	bool p99_ok = true;
	for (size_t i = 0; i < nspans; i++) {
		stats_span(&spans[i].st, spans[i].from, spans[i].to);
		p99_ok &= percentile(&spans[i].st, 0.99) < TARGET_P99_US;
	}
	double ratio = rss->start > 0 ? (double)rss->end / (double)rss->start : 0;
	uint64_t errors = 0; /* of the whole run, start-up included */
	for (int e = 1; e < BRK_ERR_COUNT; e++)
		errors += load(&sh->errors[e]);
	bool errors_ok = errors == 0 && failed == 0;
	bool rss_ok = cfg.daemon <= 0 || ratio <= TARGET_RSS_RATIO;
	printf("\n");
	for (size_t i = 0; i < nspans; i++)
		print_span(&spans[i], false);
	printf("by op:\n");
	print_ops(false);
	printf("errors by code: ");
	print_errors(stdout, false);
	printf("\nclients that failed or hung: %d\n", failed);
	print_abuse(false);
	printf("brokerd RSS: start %.1f MiB, peak %.1f MiB, end %.1f MiB (end/start %.3f)\n",
	       (double)rss->start / 1024, (double)rss->peak / 1024, (double)rss->end / 1024, ratio);
	printf("targets: p99 < %d us in every phase %s, no errors %s, RSS end/start <= %.2f %s\n",
	       TARGET_P99_US, p99_ok ? "met" : "MISSED", errors_ok ? "met" : "MISSED",
	       TARGET_RSS_RATIO, rss_ok ? "met" : "MISSED");
	printf("{\"test\":\"soak\",\"clients\":%d,\"abusers\":%d,\"kinds\":\"", cfg.clients,
	       cfg.abusers);
	print_kinds();
	printf("\",\"seconds\":%d,\"rate\":%d,\"abuse_from\":%.0f,\"abuse_until\":%.0f,",
	       cfg.seconds, cfg.rate, cfg.abuse_from, cfg.abuse_until);
	for (size_t i = 0; i < nspans; i++) {
		print_span(&spans[i], true);
		printf(",");
	}
	printf("\"ops\":{");
	print_ops(true);
	printf("},\"errors\":{");
	print_errors(stdout, true);
	printf("},\"failed_clients\":%d,\"abuse\":{", failed);
	print_abuse(true);
	printf("},\"rss_kb\":{\"start\":%ld,\"peak\":%ld,\"end\":%ld},\"rss_end_ratio\":%.3f,"
	       "\"pass\":%s}\n",
	       rss->start, rss->peak, rss->end, ratio,
	       p99_ok && errors_ok && rss_ok ? "true" : "false");
	return p99_ok && errors_ok && rss_ok;
}

/* ---- options ---- */

static const char usage[] =
	"usage: soak URL [options]   (URL: ipc://PATH of a running brokerd)\n"
	"  --pid PID          brokerd's pid, for its RSS (/proc/PID/status)\n"
	"  --clients N        client processes in all (default 200)\n"
	"  --abusers N        of those, abusive ones (default 30)\n"
	"  --seconds S        length of the soak (default 60)\n"
	"  --abuse-from S     when the abusers start (default seconds/6)\n"
	"  --abuse-until S    when they leave (default seconds*3/4)\n"
	"  --kinds LIST       abusive kinds, comma-separated: oversized,parker,nonreader,pusher\n"
	"                     (default all; 'none' runs only well-behaved clients)\n"
	"  --rate R           paced calls a second per well-behaved client (default 50; 0: flat "
	"out)\n"
	"  --oversize BYTES   size of an oversized request (default twice brokerd's max_message)\n"
	"  --park N           requests a parker sends per connection (default 5000)\n"
	"  --push-cap MIB     what a pusher puts into its queue per cycle (default 64)\n"
	"  --cycle S          an abuser reconnects (and a pusher refills) every S s (default 5)\n";

static int parse_kinds(const char *list)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s", list);
	memset(cfg.kinds, 0, sizeof cfg.kinds);
	for (char *save, *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		int k = 0;
		while (k < KIND_COUNT && strcmp(w, kinds[k].name))
			k++;
		if (k == KIND_COUNT && strcmp(w, "none"))
			return -1;
		if (k < KIND_COUNT)
			cfg.kinds[k] = true;
	}
	return 0;
}

static int parse_options(int argc, char **argv)
{
	static const struct option opts[] = {
		{"pid", 1, NULL, 'p'},        {"clients", 1, NULL, 'c'},
		{"abusers", 1, NULL, 'a'},    {"seconds", 1, NULL, 's'},
		{"abuse-from", 1, NULL, 'f'}, {"abuse-until", 1, NULL, 'u'},
		{"kinds", 1, NULL, 'k'},      {"rate", 1, NULL, 'r'},
		{"oversize", 1, NULL, 'o'},   {"park", 1, NULL, 'n'},
		{"push-cap", 1, NULL, 'm'},   {"cycle", 1, NULL, 'y'},
		{"help", 0, NULL, 'h'},       {NULL, 0, NULL, 0},
	};
	cfg = (struct config){.clients = 200,
			      .abusers = 30,
			      .seconds = 60,
			      .rate = 50,
			      .park = 5000,
			      .push_mib = 64,
			      .cycle = 5,
			      .oversize = 2 << 20,
			      .abuse_from = -1,
			      .abuse_until = -1};
	parse_kinds("oversized,parker,nonreader,pusher");
	for (int o; (o = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
		switch (o) {
		case 'p':
			cfg.daemon = (pid_t)atoi(optarg);
			break;
		case 'c':
			cfg.clients = atoi(optarg);
			break;
		case 'a':
			cfg.abusers = atoi(optarg);
			break;
		case 's':
			cfg.seconds = atoi(optarg);
			break;
		case 'f':
			cfg.abuse_from = atof(optarg);
			break;
		case 'u':
			cfg.abuse_until = atof(optarg);
			break;
		case 'k':
			if (parse_kinds(optarg) != 0)
				return -1;
			break;
		case 'r':
			cfg.rate = atoi(optarg);
			break;
		case 'o':
			cfg.oversize = strtoul(optarg, NULL, 10);
			break;
		case 'n':
			cfg.park = atoi(optarg);
			break;
		case 'm':
			cfg.push_mib = atoi(optarg);
			break;
		case 'y':
			cfg.cycle = atoi(optarg);
			break;
		default:
			return -1;
		}
	}
	if (optind != argc - 1 || strncmp(argv[optind], "ipc://", 6) != 0)
		return -1;
	cfg.url = argv[optind];
	if (kinds_chosen() == 0)
		cfg.abusers = 0;
	if (cfg.abuse_from < 0)
		cfg.abuse_from = cfg.seconds / 6.0;
	if (cfg.abuse_until < 0)
		cfg.abuse_until = cfg.seconds * 3 / 4.0;
	return cfg.seconds > 0 && cfg.clients > cfg.abusers && cfg.abusers >= 0 && cfg.cycle > 0 &&
			       cfg.abuse_from <= cfg.abuse_until && cfg.abuse_until <= cfg.seconds
		       ? 0
		       : -1;
}

int main(int argc, char **argv)
{
	if (parse_options(argc, argv) != 0) {
		fputs(usage, stderr);
		return 2;
	}
	size_t size = sizeof *sh + (size_t)(cfg.seconds + 1) * sizeof(struct lat);
	sh = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t *pids = calloc((size_t)cfg.clients, sizeof *pids);
	brk_client *c = NULL;
	if (sh == MAP_FAILED || !pids || brk_connect(cfg.url, NULL, &c) != BRK_OK ||
	    shared_objects(c) != BRK_OK) {
		fprintf(stderr, "soak: cannot set up: %s\n", brk_last_error());
		return 2;
	}
	if (cfg.oversize == 0)
		cfg.oversize = 2 * brk_max_message(c);
	sh->t0 = now() + 0.5;
	if (start_clients(pids) != 0)
		return 2;
	struct rss rss = {0};
	watch(&rss);
	int failed = reap(pids);
	remove_shared(c);
	brk_close(c);
	return summarize(&rss, failed) ? 0 : 1;
}
