/* broker.c: libbroker. One nng REQ socket per client; each call borrows one of at most 64
 * REQ contexts, so threads share a connection without sharing a request slot. */
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker.h"
#include "call.h"
#include "envelope.h"
#include "ops.h"
#include "url.h"

#define MAX_IN_FLIGHT 64 /* a raw REP pipe drops replies beyond 64 queued for it */

/* A request slot: a REQ context and the aio that drives it. */
struct slot {
	nng_ctx ctx;
	nng_aio *aio;
};

struct brk_client {
	nng_socket sock;
	pthread_mutex_t mu;
	pthread_cond_t freed;
	struct slot idle[MAX_IN_FLIGHT];
	int nidle, nopen, max_open;
	bool closing;
	double reply_grace, send_timeout;
	size_t max_message;
	uint64_t session;
	json_t *unconfirmed; /* delivery ids received, to confirm with the next request */
};

static _Thread_local char last_error[512];
static _Thread_local uint64_t last_version;

const char *brk_last_error(void)
{
	return last_error;
}

uint64_t brk_last_version(void)
{
	return last_version;
}

brk_err fail(brk_err err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (fmt)
		vsnprintf(last_error, sizeof last_error, fmt, ap);
	else
		snprintf(last_error, sizeof last_error, "%s", brk_strerror(err));
	va_end(ap);
	return err;
}

/* ---- contexts ---- */

static int slot_open(brk_client *c, struct slot *s)
{
	int rv = nng_ctx_open(&s->ctx, c->sock);
	if (rv == 0 && (rv = nng_aio_alloc(&s->aio, NULL, NULL)) != 0)
		nng_ctx_close(s->ctx);
	return rv;
}

static void slot_close(struct slot *s)
{
	nng_aio_free(s->aio);
	nng_ctx_close(s->ctx);
}

static brk_err take_slot(brk_client *c, struct slot *out)
{
	int rv = 0;
	pthread_mutex_lock(&c->mu);
	while (!c->nidle && c->nopen >= c->max_open && !c->closing)
		pthread_cond_wait(&c->freed, &c->mu);
	if (c->closing)
		rv = NNG_ECLOSED;
	else if (c->nidle)
		*out = c->idle[--c->nidle];
	else if ((rv = slot_open(c, out)) == 0)
		c->nopen++;
	pthread_mutex_unlock(&c->mu);
	return rv ? fail(BRK_EIO, "cannot open a request context: %s", nng_strerror(rv)) : BRK_OK;
}

/* give_slot: returns s to the pool; a context whose request was abandoned is closed, so
 * a late reply can never be read as the answer to another request. */
static void give_slot(brk_client *c, struct slot s, bool abandoned)
{
	pthread_mutex_lock(&c->mu);
	if (abandoned) {
		slot_close(&s);
		c->nopen--;
	} else {
		c->idle[c->nidle++] = s;
	}
	pthread_cond_signal(&c->freed);
	pthread_mutex_unlock(&c->mu);
}

/* ---- confirming deliveries ----
 * Items from queue.get come with a delivery id; brokerd gives an item back to its queue if
 * our session ends before we confirm it. We confirm every id with our next request. */

static void note_delivery(brk_client *c, const json_t *envelope)
{
	json_t *id = json_object_get(envelope, "delivery");
	if (!json_is_integer(id))
		return;
	pthread_mutex_lock(&c->mu);
	json_array_append(c->unconfirmed, id);
	pthread_mutex_unlock(&c->mu);
}

/* with_acks: request plus "ack": the ids to confirm (taken from the client), or request
 * itself (a new reference) when there are none. */
static json_t *with_acks(brk_client *c, const json_t *request, json_t **acks)
{
	pthread_mutex_lock(&c->mu);
	*acks = json_array_size(c->unconfirmed) ? c->unconfirmed : NULL;
	if (*acks)
		c->unconfirmed = json_array();
	pthread_mutex_unlock(&c->mu);
	if (!*acks)
		return json_incref((json_t *)request);
	json_t *copy = json_copy((json_t *)request);
	json_object_set(copy, "ack", *acks);
	return copy;
}

/* restore_acks: ids whose request may not have arrived are confirmed again later (an
 * id confirmed twice is harmless). */
static void restore_acks(brk_client *c, json_t *acks)
{
	if (!acks)
		return;
	pthread_mutex_lock(&c->mu);
	json_array_extend(c->unconfirmed, acks);
	pthread_mutex_unlock(&c->mu);
	json_decref(acks);
}

/* ---- one request ---- */

static nng_duration ms(double seconds)
{
	return seconds < 0 || seconds > 1e9 ? NNG_DURATION_INFINITE
					    : (nng_duration)(seconds * 1000);
}

/* reply_wait: how long to wait for request's reply: the op's own timeout plus the grace,
 * without limit for an op that may wait forever. */
static nng_duration reply_wait(const brk_client *c, const json_t *request)
{
	const char *op = json_string_value(json_object_get(request, "op"));
	json_t *t = json_object_get(request, "timeout");
	if (!op || !proto_op_blocks(op) || json_is_false(json_object_get(request, "block")))
		return ms(c->reply_grace);
	if (json_is_number(t))
		return ms(json_number_value(t) + c->reply_grace);
	return NNG_DURATION_INFINITE;
}

static brk_err exchange(brk_client *c, struct slot *s, const char *text, size_t len,
			nng_duration wait, nng_msg **reply)
{
	nng_msg *m;
	int rv = nng_msg_alloc(&m, len);
	if (rv)
		return fail(BRK_ENOMEM, "cannot build the request: %s", nng_strerror(rv));
	memcpy(nng_msg_body(m), text, len);
	nng_aio_set_msg(s->aio, m);
	nng_aio_set_timeout(s->aio, ms(c->send_timeout));
	nng_ctx_send(s->ctx, s->aio);
	nng_aio_wait(s->aio);
	if ((rv = nng_aio_result(s->aio))) {
		nng_msg_free(m);
		return fail(rv == NNG_ETIMEDOUT ? BRK_ENOREPLY : BRK_EIO,
			    "cannot send to brokerd: %s", nng_strerror(rv));
	}
	nng_aio_set_timeout(s->aio, wait);
	nng_ctx_recv(s->ctx, s->aio);
	nng_aio_wait(s->aio);
	if ((rv = nng_aio_result(s->aio)))
		return fail(rv == NNG_ETIMEDOUT ? BRK_ENOREPLY : BRK_EIO,
			    "no reply from brokerd: %s", nng_strerror(rv));
	*reply = nng_aio_get_msg(s->aio);
	return BRK_OK;
}

static brk_err parse_reply(brk_client *c, nng_msg *m, json_t **result)
{
	json_error_t jerr;
	json_t *reply = json_loadb(nng_msg_body(m), nng_msg_len(m), 0, &jerr);
	json_t *r = NULL;
	const char *msg = NULL;
	if (!reply)
		return fail(BRK_EPROTO, "unreadable reply from brokerd: %s", jerr.text);
	brk_err err = proto_reply_parse(reply, &r, &msg);
	note_delivery(c, reply);
	last_version = (uint64_t)json_integer_value(json_object_get(reply, "version"));
	if (err == BRK_OK && result)
		*result = json_incref(r);
	else if (err == BRK_EPROTO)
		fail(err, "reply from brokerd does not follow the protocol");
	else if (err != BRK_OK)
		fail(err, "%s", msg ? msg : brk_strerror(err));
	json_decref(reply);
	return err;
}

brk_err brk_call(brk_client *c, const json_t *request, json_t **result)
{
	size_t len;
	struct slot s;
	nng_msg *reply = NULL;
	if (result)
		*result = NULL;
	last_version = 0; /* a call that gets no reply reports none */
	if (!c || !json_is_object(request))
		return fail(BRK_EINVAL, "brk_call needs a client and a request object");
	json_t *acks, *sent = with_acks(c, request, &acks);
	char *text = sent ? proto_encode(sent, &len) : NULL;
	json_decref(sent);
	if (!text) {
		restore_acks(c, acks);
		return fail(BRK_ENOMEM, "cannot encode the request");
	}
	brk_err err = BRK_OK;
	if (len > c->max_message)
		err = fail(BRK_ETOOBIG, "request of %zu bytes is over brokerd's limit of %zu bytes",
			   len, c->max_message);
	if (err == BRK_OK && (err = take_slot(c, &s)) == BRK_OK) {
		err = exchange(c, &s, text, len, reply_wait(c, request), &reply);
		give_slot(c, s, err != BRK_OK);
	}
	free(text);
	if (err != BRK_OK) {
		restore_acks(c, acks);
		return err;
	}
	json_decref(acks);
	err = parse_reply(c, reply, result);
	nng_msg_free(reply);
	return err;
}

json_t *brk_request_new(const char *op, const char *name, json_t *args)
{
	return proto_request_new(op, name, args);
}

brk_err call_new(brk_client *c, const char *op, const char *name, json_t *args, json_t **result)
{
	json_t *req = proto_request_new(op, name, args);
	if (!req)
		return fail(BRK_EINVAL, "cannot build a %s request (bad name or value?)", op);
	brk_err err = brk_call(c, req, result);
	json_decref(req);
	return err;
}

brk_err brk_batch(brk_client *c, const json_t *ops, json_t **results)
{
	if (!json_is_array(ops))
		return fail(BRK_EINVAL, "brk_batch needs an array of requests");
	brk_err err = call_new(c, BRK_OP_BATCH, NULL, json_pack("{s:O}", "ops", ops), results);
	size_t i;
	json_t *one;
	if (err == BRK_OK)
		json_array_foreach (*results, i, one)
			note_delivery(c, one);
	return err;
}

brk_err brk_batch_result(const json_t *results, size_t i, json_t **result)
{
	json_t *one = json_array_get(results, i);
	const char *msg = NULL;
	if (!one)
		return fail(BRK_EINVAL, "no result %zu in this batch", i);
	brk_err err = proto_reply_parse(one, result, &msg);
	return err ? fail(err, "%s", msg ? msg : brk_strerror(err)) : BRK_OK;
}

uint64_t brk_batch_version(const json_t *results, size_t i)
{
	return (uint64_t)json_integer_value(json_object_get(json_array_get(results, i), "version"));
}

/* ---- connection ---- */

static brk_err greet(brk_client *c)
{
	json_t *hello;
	brk_err err = call_new(c, BRK_OP_HELLO, NULL, NULL, &hello);
	if (err)
		return err;
	json_int_t max = json_integer_value(json_object_get(hello, "max_message"));
	c->session = (uint64_t)json_integer_value(json_object_get(hello, "session"));
	if (max > 0)
		c->max_message = (size_t)max;
	json_decref(hello);
	return BRK_OK;
}

static brk_err open_socket(brk_client *c, const char *url)
{
	int rv;
	if ((rv = nng_req0_open(&c->sock)))
		return fail(BRK_EIO, "cannot open an nng socket: %s", nng_strerror(rv));
	/* Never resend: a resent blocking get would become a second waiter. Set before any
	 * context exists, as contexts copy it. */
	nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	if ((rv = nng_dial(c->sock, url, NULL, 0)))
		return fail(BRK_ECONNECT, "cannot connect to %s: %s", url, nng_strerror(rv));
	return BRK_OK;
}

brk_err brk_connect(const char *url, const brk_options *opts, brk_client **out)
{
	char dflt[512];
	*out = NULL;
	if (!url && proto_client_url(dflt, sizeof dflt) != 0)
		return fail(BRK_EINVAL, "the default address does not fit; set BROKERD_URL");
	brk_client *c = calloc(1, sizeof *c);
	if (!c)
		return fail(BRK_ENOMEM, NULL);
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->freed, NULL);
	c->unconfirmed = json_array();
	c->reply_grace = opts && opts->reply_grace > 0 ? opts->reply_grace : 30;
	c->send_timeout = opts && opts->send_timeout > 0 ? opts->send_timeout : 10;
	c->max_open = opts && opts->max_in_flight > 0 && opts->max_in_flight < MAX_IN_FLIGHT
			      ? opts->max_in_flight
			      : MAX_IN_FLIGHT;
	c->max_message = PROTO_DEFAULT_MAX_MESSAGE;
	brk_err err = open_socket(c, url ? url : dflt);
	if (err == BRK_OK)
		err = greet(c);
	if (err != BRK_OK) {
		char keep[sizeof last_error];
		memcpy(keep, last_error, sizeof keep);
		brk_close(c);
		memcpy(last_error, keep, sizeof keep);
		return err;
	}
	*out = c;
	return BRK_OK;
}

void brk_close(brk_client *c)
{
	if (!c)
		return;
	if (json_array_size(c->unconfirmed)) {
		/* Confirm the last items received; best effort, so briefly. */
		c->reply_grace = c->send_timeout = 2;
		call_new(c, BRK_OP_ACK, NULL, NULL, NULL);
	}
	pthread_mutex_lock(&c->mu);
	c->closing = true;
	pthread_cond_broadcast(&c->freed);
	pthread_mutex_unlock(&c->mu);
	for (int i = 0; i < c->nidle; i++)
		slot_close(&c->idle[i]);
	nng_close(c->sock);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->freed);
	json_decref(c->unconfirmed);
	free(c);
}

uint64_t brk_session_id(const brk_client *c)
{
	return c->session;
}

size_t brk_max_message(const brk_client *c)
{
	return c->max_message;
}

/* ---- daemon ---- */

brk_err brk_ping(brk_client *c)
{
	return call_new(c, BRK_OP_PING, NULL, NULL, NULL);
}

brk_err brk_info(brk_client *c, json_t **info)
{
	return call_new(c, BRK_OP_INFO, NULL, NULL, info);
}

brk_err brk_ls(brk_client *c, const char *prefix, json_t **list)
{
	json_t *args = prefix ? json_pack("{s:s}", "prefix", prefix) : NULL;
	return call_new(c, BRK_OP_LS, NULL, args, list);
}

brk_err brk_stat(brk_client *c, const char *name, json_t **stat)
{
	return call_new(c, BRK_OP_STAT, name, NULL, stat);
}

brk_err brk_del(brk_client *c, const char *name)
{
	return call_new(c, BRK_OP_DEL, name, NULL, NULL);
}

brk_err brk_sessions(brk_client *c, json_t **list)
{
	return call_new(c, BRK_OP_SESSIONS, NULL, NULL, list);
}

/* ---- queues ---- */

/* wait_args: adds the wire form of a timeout to args: nothing (forever), block false (0),
 * or timeout seconds. Returns args. */
static json_t *wait_args(json_t *args, double timeout)
{
	if (!args)
		return NULL;
	if (timeout == 0)
		json_object_set_new(args, "block", json_false());
	else if (timeout > 0 && timeout <= PROTO_MAX_TIMEOUT) /* longer: no limit */
		json_object_set_new(args, "timeout", json_real(timeout));
	return args;
}

brk_err brk_queue_create(brk_client *c, const char *name, brk_queue_kind kind, long maxsize)
{
	static const char *const kinds[] = {"fifo", "lifo", "priority"};
	if ((unsigned)kind > BRK_PRIORITY)
		return fail(BRK_EINVAL, "unknown queue kind %d", (int)kind);
	return call_new(
		c, BRK_OP_QUEUE_CREATE, name,
		json_pack("{s:s, s:I}", "kind", kinds[kind], "maxsize", (json_int_t)maxsize), NULL);
}

brk_err brk_queue_put(brk_client *c, const char *name, const json_t *value, double timeout)
{
	return call_new(c, BRK_OP_QUEUE_PUT, name,
			wait_args(json_pack("{s:O}", "value", value), timeout), NULL);
}

brk_err brk_queue_put_priority(brk_client *c, const char *name, const json_t *value,
			       double priority, double timeout)
{
	json_t *args = json_pack("{s:O, s:f}", "value", value, "priority", priority);
	return call_new(c, BRK_OP_QUEUE_PUT, name, wait_args(args, timeout), NULL);
}

brk_err brk_queue_get(brk_client *c, const char *name, double timeout, json_t **value)
{
	json_t *args = json_pack("{s:b}", "confirm", 1);
	return call_new(c, BRK_OP_QUEUE_GET, name, wait_args(args, timeout), value);
}

brk_err call_size(brk_client *c, const char *op, const char *name, json_t *args, size_t *out)
{
	json_t *r;
	brk_err err = call_new(c, op, name, args, &r);
	if (err == BRK_OK && !json_is_integer(r))
		err = fail(BRK_EPROTO, "%s: expected an integer result", op);
	if (err == BRK_OK)
		*out = (size_t)json_integer_value(r);
	json_decref(r);
	return err;
}

brk_err call_bool(brk_client *c, const char *op, const char *name, json_t *args, bool *out)
{
	json_t *r;
	brk_err err = call_new(c, op, name, args, &r);
	if (err == BRK_OK && !json_is_boolean(r))
		err = fail(BRK_EPROTO, "%s: expected a boolean result", op);
	if (err == BRK_OK)
		*out = json_is_true(r);
	json_decref(r);
	return err;
}

brk_err brk_queue_qsize(brk_client *c, const char *name, size_t *size)
{
	return call_size(c, BRK_OP_QUEUE_QSIZE, name, NULL, size);
}

brk_err brk_queue_empty(brk_client *c, const char *name, bool *empty)
{
	return call_bool(c, BRK_OP_QUEUE_EMPTY, name, NULL, empty);
}

brk_err brk_queue_full(brk_client *c, const char *name, bool *full)
{
	return call_bool(c, BRK_OP_QUEUE_FULL, name, NULL, full);
}

brk_err brk_queue_task_done(brk_client *c, const char *name)
{
	return call_new(c, BRK_OP_QUEUE_TASK_DONE, name, NULL, NULL);
}

/* timeout_args: {"timeout": T} for ops that take a timeout but no "block"; {} waits for
 * ever. */
static json_t *timeout_args(double timeout)
{
	json_t *args = json_object();
	if (args && timeout >= 0 && timeout <= PROTO_MAX_TIMEOUT)
		json_object_set_new(args, "timeout", json_real(timeout));
	return args;
}

brk_err brk_queue_join(brk_client *c, const char *name, double timeout)
{
	return call_new(c, BRK_OP_QUEUE_JOIN, name, timeout_args(timeout), NULL);
}

/* flag_call: an op whose result is {field: true or false}, read into *out. */
static brk_err flag_call(brk_client *c, const char *op, const char *name, json_t *args,
			 const char *field, bool *out)
{
	json_t *r = NULL;
	brk_err err = call_new(c, op, name, args, &r);
	json_t *flag = json_object_get(r, field);
	if (err == BRK_OK && !json_is_boolean(flag))
		err = fail(BRK_EPROTO, "%s: expected {\"%s\": ...}", op, field);
	if (err == BRK_OK)
		*out = json_is_true(flag);
	json_decref(r);
	return err;
}

/* ---- locks ---- */

static const char *lock_op(brk_lock_kind kind, const char *lock, const char *rlock)
{
	return kind == BRK_RLOCK ? rlock : lock;
}

brk_err brk_lock_acquire_lease(brk_client *c, const char *name, brk_lock_kind kind, double timeout,
			       double lease, bool *acquired, uint64_t *fence)
{
	json_t *r = NULL, *args = wait_args(json_object(), timeout);
	const char *op = lock_op(kind, BRK_OP_LOCK_ACQUIRE, BRK_OP_RLOCK_ACQUIRE);
	if (args && lease > 0)
		json_object_set_new(args, "lease", json_real(lease));
	brk_err err = call_new(c, op, name, args, &r);
	json_t *got = json_object_get(r, "acquired");
	if (err == BRK_OK && !json_is_boolean(got))
		err = fail(BRK_EPROTO, "%s: expected {\"acquired\": ...}", op);
	if (err == BRK_OK) {
		*acquired = json_is_true(got);
		if (fence)
			*fence = (uint64_t)json_integer_value(json_object_get(r, "fence"));
	}
	json_decref(r);
	return err;
}

brk_err brk_lock_acquire(brk_client *c, const char *name, brk_lock_kind kind, double timeout,
			 bool *acquired, uint64_t *fence)
{
	return brk_lock_acquire_lease(c, name, kind, timeout, 0, acquired, fence);
}

brk_err brk_lock_release(brk_client *c, const char *name, brk_lock_kind kind)
{
	return call_new(c, lock_op(kind, BRK_OP_LOCK_RELEASE, BRK_OP_RLOCK_RELEASE), name, NULL,
			NULL);
}

brk_err brk_lock_locked(brk_client *c, const char *name, brk_lock_kind kind, bool *locked)
{
	return call_bool(c, lock_op(kind, BRK_OP_LOCK_LOCKED, BRK_OP_RLOCK_LOCKED), name, NULL,
			 locked);
}

/* ---- semaphores ---- */

brk_err brk_semaphore_create(brk_client *c, const char *name, long value, bool bounded)
{
	return call_new(c, BRK_OP_SEM_CREATE, name,
			json_pack("{s:I, s:b}", "value", (json_int_t)value, "bounded", bounded),
			NULL);
}

brk_err brk_semaphore_acquire(brk_client *c, const char *name, long n, double timeout,
			      bool *acquired)
{
	json_t *args = wait_args(json_pack("{s:I}", "n", (json_int_t)n), timeout);
	return flag_call(c, BRK_OP_SEM_ACQUIRE, name, args, "acquired", acquired);
}

brk_err brk_semaphore_release(brk_client *c, const char *name, long n)
{
	return call_new(c, BRK_OP_SEM_RELEASE, name, json_pack("{s:I}", "n", (json_int_t)n), NULL);
}

brk_err brk_semaphore_value(brk_client *c, const char *name, size_t *value)
{
	return call_size(c, BRK_OP_SEM_VALUE, name, NULL, value);
}

/* ---- events ---- */

brk_err brk_event_set(brk_client *c, const char *name)
{
	return call_new(c, BRK_OP_EVENT_SET, name, NULL, NULL);
}

brk_err brk_event_clear(brk_client *c, const char *name)
{
	return call_new(c, BRK_OP_EVENT_CLEAR, name, NULL, NULL);
}

brk_err brk_event_is_set(brk_client *c, const char *name, bool *set)
{
	return call_bool(c, BRK_OP_EVENT_IS_SET, name, NULL, set);
}

brk_err brk_event_wait(brk_client *c, const char *name, double timeout, bool *set)
{
	return call_bool(c, BRK_OP_EVENT_WAIT, name, timeout_args(timeout), set);
}

/* ---- conditions ---- */

brk_err brk_condition_create(brk_client *c, const char *name, const char *lock_name)
{
	return call_new(c, BRK_OP_COND_CREATE, name, json_pack("{s:s}", "lock", lock_name), NULL);
}

brk_err brk_condition_acquire(brk_client *c, const char *name, double timeout, bool *acquired)
{
	return flag_call(c, BRK_OP_COND_ACQUIRE, name, wait_args(json_object(), timeout),
			 "acquired", acquired);
}

brk_err brk_condition_release(brk_client *c, const char *name)
{
	return call_new(c, BRK_OP_COND_RELEASE, name, NULL, NULL);
}

brk_err brk_condition_wait(brk_client *c, const char *name, double timeout, bool *notified)
{
	return flag_call(c, BRK_OP_COND_WAIT, name, timeout_args(timeout), "notified", notified);
}

static double monotonic(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

brk_err brk_condition_wait_for(brk_client *c, const char *name, bool (*predicate)(void *arg),
			       void *arg, double timeout, bool *satisfied)
{
	double end = timeout < 0 ? -1 : monotonic() + timeout;
	bool notified;
	while (!(*satisfied = predicate(arg))) {
		double left = end < 0 ? BRK_FOREVER : end - monotonic();
		if (end >= 0 && left <= 0)
			return BRK_OK;
		brk_err err = brk_condition_wait(c, name, left, &notified);
		if (err)
			return err;
	}
	return BRK_OK;
}

static brk_err count_call(brk_client *c, const char *op, const char *name, json_t *args,
			  long *count)
{
	json_t *r = NULL;
	brk_err err = call_new(c, op, name, args, &r);
	if (err == BRK_OK && count)
		*count = (long)json_integer_value(r);
	json_decref(r);
	return err;
}

brk_err brk_condition_notify(brk_client *c, const char *name, long n, long *woken)
{
	return count_call(c, BRK_OP_COND_NOTIFY, name, json_pack("{s:I}", "n", (json_int_t)n),
			  woken);
}

brk_err brk_condition_notify_all(brk_client *c, const char *name, long *woken)
{
	return count_call(c, BRK_OP_COND_NOTIFY_ALL, name, NULL, woken);
}

/* ---- barriers ---- */

brk_err brk_barrier_create(brk_client *c, const char *name, long parties, double timeout)
{
	json_t *args = json_pack("{s:I}", "parties", (json_int_t)parties);
	if (args && timeout >= 0 && timeout <= PROTO_MAX_TIMEOUT)
		json_object_set_new(args, "timeout", json_real(timeout));
	return call_new(c, BRK_OP_BARRIER_CREATE, name, args, NULL);
}

brk_err brk_barrier_wait(brk_client *c, const char *name, double timeout, long *index)
{
	json_t *r = NULL;
	json_t *args = timeout < 0 ? json_object() : timeout_args(timeout);
	brk_err err = call_new(c, BRK_OP_BARRIER_WAIT, name, args, &r);
	if (err == BRK_OK && !json_is_integer(r))
		err = fail(BRK_EPROTO, "barrier.wait: expected an index");
	if (err == BRK_OK)
		*index = (long)json_integer_value(r);
	json_decref(r);
	return err;
}

brk_err brk_barrier_abort(brk_client *c, const char *name)
{
	return call_new(c, BRK_OP_BARRIER_ABORT, name, NULL, NULL);
}

brk_err brk_barrier_reset(brk_client *c, const char *name)
{
	return call_new(c, BRK_OP_BARRIER_RESET, name, NULL, NULL);
}
