/* client.c: libbroker's clients and calls. A client owns one connection (conn.c) and no thread: a call
 * writes its request and waits for its reply on the caller's thread. Calls of several
 * threads share the connection, told apart by request id: one waiting caller at a time
 * reads, and hands each reply to the caller whose id it carries (leader/follower). */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "call.h"
#include "conn.h"
#include "envelope.h"
#include "jsontext.h"
#include "ops.h"
#include "url.h"

#define MAX_IN_FLIGHT 64     /* calls in flight on one client at most (brk_options) */
#define INTERRUPT_POLL_MS 50 /* how often a waiting call looks at brk_options.interrupted */
#define BATCH_DELIVERY 16    /* replies decoded before they are handed out at once */
#define TEXT_KEEP (4u << 20) /* a larger request buffer is given back after its call */
#define IDLE_CHECK 0.01      /* seconds idle after which a call first checks the peer is there */

enum call_state { CALL_WAITING, CALL_DONE, CALL_FAILED, CALL_ABANDONED };

/* One call in flight. It lives on its caller's stack and is listed in c->flight from enter
 * to retire; its state and reply change under c->mu only. */
struct call {
	uint32_t id;
	enum call_state state;
	bool blocks;     /* the op may park in the daemon */
	bool maybe_sent; /* some of the request may have reached the daemon */
	bool cancel_sent;
	bool awaiting;  /* its caller is in await, so a hand-off wakes it */
	uint64_t owner; /* "owner" to add (lock ops, a daemon that takes it), or 0 */
	size_t max_message;
	double wait; /* seconds the reply may take; INFINITY for no limit */
	double deadline;
	json_t *reply; /* CALL_DONE: the decoded reply; NULL if it was not JSON */
	conn *k;       /* the connection the call went out on (a reference) */
	pthread_cond_t *wake;
};

struct brk_client {
	pthread_mutex_t mu;  /* guards what follows, up to the settings */
	pthread_cond_t room; /* a flight slot freed, or a connection attempt ended */
	struct call *flight[MAX_IN_FLIGHT];
	int nflight;
	bool reading;    /* a waiting caller is reading replies */
	bool connecting; /* a caller is (re)connecting, with mu released */
	conn *k;         /* NULL: the next call connects */
	bool held;       /* the session held a lock, permits, a barrier pass... */
	bool lost;       /* a session that held something is gone: say so once */
	bool owners;     /* the daemon takes "owner" on lock ops */
	pid_t pid;
	double last_reply; /* conn_now() of the last reply: a busy connection is not probed */
	uint64_t session;
	size_t max_message;
	json_t *unconfirmed; /* delivery ids received, to confirm with the next request */
	atomic_uint next_id;
	/* settings, fixed by brk_connect */
	char *url, *tls_ca, *tls_cert, *tls_key;
	char *token; /* greets every connection; NULL: none (conn_token) */
	int max_flight;
	double reply_grace, send_timeout;
	bool (*interrupted)(void *arg);
	void *interrupt_arg;
	brk_client *reg_prev, *reg_next; /* the registry of live clients (for fork) */
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

/* ---- per-thread state ---- */

/* Each thread waits for its replies on a condition variable of its own. */
static _Thread_local struct {
	bool ready;
	pthread_cond_t cv;
} wake;

static pthread_cond_t *thread_wake(void)
{
	if (!wake.ready) {
		pthread_condattr_t a;
		pthread_condattr_init(&a);
		pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
		pthread_cond_init(&wake.cv, &a);
		pthread_condattr_destroy(&a);
		wake.ready = true;
	}
	return &wake.cv;
}

/* The thread's id among lock owners: 1, 2, ... in the order threads first take a lock. */
static atomic_ullong owners_issued;
static _Thread_local uint64_t thread_owner;

static uint64_t owner_of_thread(void)
{
	if (!thread_owner)
		thread_owner = (uint64_t)atomic_fetch_add(&owners_issued, 1) + 1;
	return thread_owner;
}

/* Request text is encoded into a buffer of the thread's, kept from call to call and freed
 * when the thread exits. */
/* The thread's request text buffer, reused by every call the thread makes. */
static pthread_key_t text_key;
static pthread_once_t text_once = PTHREAD_ONCE_INIT;
static _Thread_local jt_buf *thread_text_buf;

static void text_free(void *t)
{
	jt_buf_free(t);
	free(t);
}

static void text_key_init(void)
{
	pthread_key_create(&text_key, text_free);
}

static jt_buf *thread_text(void)
{
	if (thread_text_buf)
		return thread_text_buf;
	pthread_once(&text_once, text_key_init);
	jt_buf *t = calloc(1, sizeof *t);
	if (t && pthread_setspecific(text_key, t) != 0) {
		free(t);
		t = NULL;
	}
	return thread_text_buf = t;
}

static int text_put(jt_buf *t, const char *buf, size_t size)
{
	if (jt_buf_reserve(t, size) != 0)
		return -1;
	memcpy(t->data + t->len, buf, size);
	t->len += size;
	return 0;
}

/* ---- the registry of clients, for fork() ----
 * A fork()ed child must not touch its parent's connection. Around fork, every client's
 * mutex is taken (so none is caught held by a thread the child does not have); in the
 * child each client forgets the parent's connection and session, to open its own on its
 * next call. */

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static brk_client *reg_head;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void init_room(brk_client *c)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&c->room, &a);
	pthread_condattr_destroy(&a);
}

/* forget_parent: in a child, drops the parent's connection (writing nothing on it), its
 * calls and its unconfirmed deliveries; the next call connects anew. c->mu is held. */
/* this_pid: the process's id, asked of the kernel once and again in each fork()ed child
 * (fork_child), not on every call. */
static pid_t cached_pid;

static pid_t this_pid(void)
{
	return cached_pid ? cached_pid : (cached_pid = getpid());
}

static void forget_parent(brk_client *c)
{
	if (c->k)
		conn_drop(c->k);
	c->k = NULL;
	c->nflight = 0;
	c->reading = c->connecting = c->held = c->lost = false;
	json_array_clear(c->unconfirmed);
	init_room(c); /* its waiters were the parent's threads */
	c->pid = this_pid();
}

static void fork_prepare(void)
{
	pthread_mutex_lock(&reg_mu);
	for (brk_client *c = reg_head; c; c = c->reg_next) {
		pthread_mutex_lock(&c->mu);
		if (c->k)
			conn_fork_lock(c->k);
	}
}

static void fork_parent(void)
{
	for (brk_client *c = reg_head; c; c = c->reg_next) {
		if (c->k)
			conn_fork_unlock(c->k);
		pthread_mutex_unlock(&c->mu);
	}
	pthread_mutex_unlock(&reg_mu);
}

static void fork_child(void)
{
	cached_pid = getpid();
	wake.ready = false; /* the forking thread's own, possibly mid-use in the parent */
	for (brk_client *c = reg_head; c; c = c->reg_next) {
		if (c->k)
			conn_fork_unlock(c->k);
		forget_parent(c);
		pthread_mutex_unlock(&c->mu);
	}
	pthread_mutex_unlock(&reg_mu);
}

static void fork_init(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

static void registry_add(brk_client *c)
{
	pthread_once(&fork_once, fork_init);
	pthread_mutex_lock(&reg_mu);
	c->reg_next = reg_head;
	if (reg_head)
		reg_head->reg_prev = c;
	reg_head = c;
	pthread_mutex_unlock(&reg_mu);
}

static void registry_remove(brk_client *c)
{
	pthread_mutex_lock(&reg_mu);
	if (c->reg_prev)
		c->reg_prev->reg_next = c->reg_next;
	else if (reg_head == c)
		reg_head = c->reg_next;
	if (c->reg_next)
		c->reg_next->reg_prev = c->reg_prev;
	pthread_mutex_unlock(&reg_mu);
}

/* ---- what a reply means for the session ---- */

/* opens_pipe_end: whether reply to op means the session holds a pipe end: any pipe op but
 * create and close opens its end before it can succeed or fail for want of a message, of
 * room or of a peer. */
static bool opens_pipe_end(const char *op, const json_t *reply)
{
	static const char *const after_open[] = {
		"empty", "full", "eof", "broken_pipe", "too_long", "type_error", "cancelled"};
	const char *code = json_string_value(json_object_get(reply, "error"));
	if (strncmp(op, "pipe.", 5) || !strcmp(op, BRK_OP_PIPE_CREATE) ||
	    !strcmp(op, BRK_OP_PIPE_CLOSE))
		return false;
	for (size_t i = 0; code && i < sizeof after_open / sizeof *after_open; i++)
		if (!strcmp(code, after_open[i]))
			return true;
	return json_is_true(json_object_get(reply, "ok"));
}

/* op_holds: whether reply (an envelope) to op leaves the session holding or having passed
 * something that a lost session takes away. */
static bool op_holds(const char *op, const json_t *reply)
{
	static const char *const acquires[] = {BRK_OP_LOCK_ACQUIRE, BRK_OP_RLOCK_ACQUIRE,
					       BRK_OP_SEM_ACQUIRE, BRK_OP_COND_ACQUIRE};
	json_t *r;
	if (op && opens_pipe_end(op, reply))
		return true;
	if (!op || proto_reply_parse(reply, &r, NULL) != BRK_OK)
		return false;
	if (!strcmp(op, BRK_OP_COND_WAIT) || !strcmp(op, BRK_OP_BARRIER_WAIT))
		return true;
	for (size_t i = 0; i < sizeof acquires / sizeof *acquires; i++)
		if (!strcmp(op, acquires[i]))
			return json_is_true(json_object_get(r, "acquired"));
	return false;
}

static void note_delivery(brk_client *c, const json_t *envelope)
{
	json_t *id = json_object_get(envelope, "delivery");
	if (json_is_integer(id))
		json_array_append(c->unconfirmed, id);
}

/* note_reply: records the deliveries and holdings reply (to request) brings; for a batch,
 * those of each op. c->mu is held. */
static void note_reply(brk_client *c, const json_t *request, const json_t *reply)
{
	const char *op = json_string_value(json_object_get(request, "op"));
	json_t *ops = json_object_get(request, "ops"), *one;
	size_t i;
	if (!op || !reply)
		return;
	if (strcmp(op, BRK_OP_BATCH) != 0) {
		note_delivery(c, reply);
		c->held |= op_holds(op, reply);
		return;
	}
	json_array_foreach (json_object_get(reply, "result"), i, one) {
		note_delivery(c, one);
		c->held |= op_holds(
			json_string_value(json_object_get(json_array_get(ops, i), "op")), one);
	}
}

/* ---- encoding ---- */

static bool takes_owner(const char *op)
{
	static const char *const prefixes[] = {"lock.", "rlock.", "condition.", "semaphore."};
	for (size_t i = 0; op && i < sizeof prefixes / sizeof *prefixes; i++)
		if (!strncmp(op, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

/* batch_with_owner: a copy of batch request whose lock ops carry "owner": owner; NULL if
 * none of its ops takes one. */
static json_t *batch_with_owner(const json_t *request, uint64_t owner)
{
	json_t *ops = json_object_get(request, "ops"), *one, *copy, *mine = json_array();
	size_t i;
	bool any = false;
	json_array_foreach (ops, i, one) {
		bool add = takes_owner(json_string_value(json_object_get(one, "op"))) &&
			   json_is_object(one) && !json_object_get(one, "owner");
		json_t *op = add ? json_copy(one) : json_incref(one);
		if (add)
			json_object_set_new(op, "owner", json_integer((json_int_t)owner));
		json_array_append_new(mine, op);
		any |= add;
	}
	if (!any || !(copy = json_copy((json_t *)request))) {
		json_decref(mine);
		return NULL;
	}
	json_object_set_new(copy, "ops", mine);
	return copy;
}

static bool is_batch(const json_t *request)
{
	const char *op = json_string_value(json_object_get(request, "op"));
	return op && !strcmp(op, BRK_OP_BATCH);
}

/* encode: the request's text in the thread's buffer, with "owner" and "ack" added after
 * its own members (by text, so the caller's object is not copied). A batch's lock ops
 * carry owner themselves (in a copy of the batch). */
static jt_buf *encode(const json_t *request, uint64_t owner, const json_t *acks)
{
	jt_buf *t = thread_text();
	json_t *copy = owner && is_batch(request) ? batch_with_owner(request, owner) : NULL;
	char extra[40];
	if (!t)
		return NULL;
	if (is_batch(request))
		owner = 0;
	t->len = 0;
	int rv = jt_dump(copy ? copy : request, t);
	json_decref(copy);
	if (rv != 0 || t->len < 2)
		return NULL;
	if (!owner && !acks)
		return t;
	t->len--; /* reopen the object: drop its closing brace */
	const char *sep = t->len > 1 ? "," : "";
	if (owner) {
		int n = snprintf(extra, sizeof extra, "%s\"owner\":%llu", sep,
				 (unsigned long long)owner);
		rv |= text_put(t, extra, (size_t)n);
		sep = ",";
	}
	if (acks) {
		rv |= text_put(t, sep, strlen(sep));
		rv |= text_put(t, "\"ack\":", 6);
		rv |= jt_dump(acks, t);
	}
	rv |= text_put(t, "}", 1);
	return rv ? NULL : t;
}

/* ---- the connection ---- */

static uint32_t new_id(brk_client *c)
{
	return 0x80000000u | (atomic_fetch_add(&c->next_id, 1) & 0x7fffffffu);
}

/* hello_reply: waits for the reply to request id on a connection nobody else uses yet. */
static brk_err hello_reply(brk_client *c, conn *k, uint32_t id, json_t **reply)
{
	double deadline = conn_now() + c->reply_grace;
	for (;;) {
		uint32_t got;
		const char *body;
		size_t len;
		int f = conn_frame(k, &got, &body, &len);
		if (f < 0)
			return fail(BRK_EPROTO, "brokerd's greeting does not follow the framing");
		if (f == 1 && got == id) {
			*reply = jt_load(body, len, JT_LOAD_MAX_DEPTH, NULL);
			return BRK_OK;
		}
		if (f == 1)
			continue;
		int ms = conn_ms_until(deadline);
		enum conn_recv r = ms ? conn_recv(k, ms) : CONN_NONE;
		if (r == CONN_CLOSED)
			return fail(BRK_EIO, "brokerd closed the connection at the greeting");
		if (r == CONN_NONE && conn_now() >= deadline)
			return fail(BRK_ENOREPLY, "no greeting from brokerd in time");
	}
}

/* hello_text: the greeting, {"op":"hello"} with the token if there is one; malloc'ed, to
 * wipe (it holds the secret) and free with conn_token_free. */
static char *hello_text(const brk_client *c)
{
	json_t *hello = json_pack("{ss}", "op", BRK_OP_HELLO);
	bool ok =
		hello && (!c->token || !json_object_set_new(hello, "token", json_string(c->token)));
	char *text = ok ? json_dumps(hello, JSON_COMPACT) : NULL;
	json_decref(hello);
	return text;
}

/* greet_failed: hello's error reply: the daemon's message, never the token we sent. */
static brk_err greet_failed(brk_err err, const char *msg)
{
	if (err == BRK_EUNAUTHORIZED)
		return fail(err, "brokerd refused the token: %s", msg ? msg : brk_strerror(err));
	return fail(err, "hello: %s", msg ? msg : brk_strerror(err));
}

/* greet: "hello" on a new connection, with the token if any; on BRK_OK *result is hello's
 * result. A refused token gives BRK_EUNAUTHORIZED: the connection is not adopted. */
static brk_err greet(brk_client *c, conn *k, json_t **result)
{
	uint32_t id = new_id(c);
	json_t *reply = NULL, *r = NULL;
	const char *msg = NULL;
	bool sent;
	char *text = hello_text(c);
	brk_err err =
		text ? conn_send(k, id, text, strlen(text), conn_now() + c->send_timeout, &sent)
		     : fail(BRK_ENOMEM, NULL);
	conn_token_free(text);
	if (!err)
		err = hello_reply(c, k, id, &reply);
	if (!err && (err = proto_reply_parse(reply, &r, &msg)))
		greet_failed(err, msg);
	*result = err ? NULL : json_incref(r);
	json_decref(reply);
	return err;
}

/* adopt: k (greeted with hello) is the client's connection and session now. */
static void adopt(brk_client *c, conn *k, const json_t *hello)
{
	json_int_t max = json_integer_value(json_object_get(hello, "max_message"));
	c->k = k;
	c->session = (uint64_t)json_integer_value(json_object_get(hello, "session"));
	c->max_message = max > 0 ? (size_t)max : PROTO_DEFAULT_MAX_MESSAGE;
	c->owners = json_is_true(json_object_get(hello, "owners"));
	c->held = false;
	json_array_clear(c->unconfirmed); /* the old session's: gone with it */
}

/* reconnect: connects and greets with c->mu released; other callers wait meanwhile. */
static brk_err reconnect(brk_client *c)
{
	struct conn_tls tls = {c->tls_ca, c->tls_cert, c->tls_key};
	conn *k = NULL;
	json_t *hello = NULL;
	c->connecting = true;
	pthread_mutex_unlock(&c->mu);
	brk_err err = conn_open(c->url, &tls, c->send_timeout, &k);
	if (!err)
		err = greet(c, k, &hello);
	pthread_mutex_lock(&c->mu);
	c->connecting = false;
	pthread_cond_broadcast(&c->room);
	if (!err)
		adopt(c, k, hello);
	else if (k)
		conn_release(k);
	json_decref(hello);
	return err;
}

/* lose_conn: k broke. Its calls fail; if the session held or awaited anything, the next
 * call says so (BRK_ESESSION). c->mu is held. */
static void lose_conn(brk_client *c, conn *k)
{
	if (c->k != k)
		return; /* already lost */
	bool awaited = false;
	for (int i = 0; i < c->nflight; i++) {
		struct call *o = c->flight[i];
		if (o->state != CALL_WAITING)
			continue;
		awaited |= o->maybe_sent;
		o->state = CALL_FAILED;
		pthread_cond_signal(o->wake);
	}
	c->lost |= c->held || awaited || json_array_size(c->unconfirmed) > 0;
	c->k = NULL;
	conn_break(k);
	conn_release(k);
}

/* hand_off: when nobody reads replies, wakes a waiting caller to take over (one still
 * sending takes over by itself when it starts to wait). */
static void hand_off(brk_client *c)
{
	for (int i = 0; !c->reading && i < c->nflight; i++)
		if (c->flight[i]->state == CALL_WAITING && c->flight[i]->awaiting) {
			pthread_cond_signal(c->flight[i]->wake);
			return;
		}
}

/* ---- one call ---- */

static double reply_wait(const brk_client *c, const json_t *request, bool *blocks)
{
	const char *op = json_string_value(json_object_get(request, "op"));
	json_t *t = json_object_get(request, "timeout");
	double wait = INFINITY;
	*blocks = op && proto_op_blocks(op) && !json_is_false(json_object_get(request, "block"));
	if (!*blocks)
		wait = c->reply_grace;
	else if (json_is_number(t))
		wait = json_number_value(t) + c->reply_grace;
	return wait > 1e9 ? INFINITY : wait;
}

/* ready: waits for a flight slot and a live connection (making one if need be). */
static brk_err ready(brk_client *c)
{
	for (;;) {
		if (c->connecting || c->nflight >= c->max_flight) {
			pthread_cond_wait(&c->room, &c->mu);
			continue;
		}
		if (c->k && !c->nflight && conn_now() - c->last_reply > IDLE_CHECK &&
		    conn_peer_gone(c->k))
			lose_conn(c, c->k); /* found idle and dead: nothing of ours was on it */
		if (c->k)
			return BRK_OK;
		brk_err err = reconnect(c);
		if (err)
			return err;
	}
}

/* enter: lists me as a call in flight on a live connection, with a fresh id, and takes
 * the deliveries to confirm into *acks. */
static brk_err enter(brk_client *c, struct call *me, const json_t *request, json_t **acks)
{
	const char *op = json_string_value(json_object_get(request, "op"));
	*acks = NULL;
	pthread_mutex_lock(&c->mu);
	if (c->pid != this_pid())
		forget_parent(c); /* forked without our atfork handler having run */
	brk_err err = ready(c);
	if (!err && c->lost) {
		c->lost = false;
		err = fail(BRK_ESESSION,
			   "the connection to brokerd was re-made (new session %llu): what the "
			   "old session held or awaited is gone; this call did not run",
			   (unsigned long long)c->session);
	}
	if (!err) {
		*me = (struct call){.id = new_id(c),
				    .maybe_sent = true,
				    .k = c->k,
				    .max_message = c->max_message,
				    .wake = thread_wake()};
		me->wait = reply_wait(c, request, &me->blocks);
		me->owner =
			c->owners && (takes_owner(op) || is_batch(request)) ? owner_of_thread() : 0;
		conn_hold(me->k);
		c->flight[c->nflight++] = me;
		if (json_array_size(c->unconfirmed) && !json_object_get(request, "ack")) {
			*acks = c->unconfirmed;
			c->unconfirmed = json_array();
		}
	}
	pthread_mutex_unlock(&c->mu);
	return err;
}

/* transmit: sends me's request; *sent tells whether any of it went out. */
static brk_err transmit(brk_client *c, struct call *me, const json_t *request, const json_t *acks,
			bool *sent)
{
	jt_buf *t = encode(request, me->owner, acks);
	*sent = false;
	if (!t)
		return fail(BRK_ENOMEM, "cannot encode the request");
	if (t->len > me->max_message)
		return fail(BRK_ETOOBIG,
			    "request of %zu bytes is over brokerd's limit of %zu bytes", t->len,
			    me->max_message);
	brk_err err = conn_send(me->k, me->id, t->data, t->len, conn_now() + c->send_timeout, sent);
	if (t->cap > TEXT_KEEP)
		jt_buf_free(t); /* a thread keeps no more than an ordinary request needs */
	me->deadline = conn_now() + me->wait;
	if (err == BRK_EIO || (err && *sent)) {
		pthread_mutex_lock(&c->mu);
		me->maybe_sent = *sent;
		if (json_array_size(acks) > 0)
			c->held = true; /* it carried the session's unconfirmed items */
		lose_conn(c, me->k);
		pthread_mutex_unlock(&c->mu);
	}
	return err;
}

static void send_cancel(brk_client *c, struct call *me)
{
	char text[64];
	bool sent;
	int n = snprintf(text, sizeof text, "{\"op\":\"cancel\",\"request\":%lu}",
			 (unsigned long)me->id);
	me->cancel_sent = true;
	/* its reply has an id nobody waits for, and is dropped; a daemon without the op
	 * answers unknown_op, also dropped: the call waits on either way */
	conn_send(me->k, new_id(c), text, (size_t)n, conn_now() + c->send_timeout, &sent);
}

/* deliver: hands reply (stolen) to the call waiting for id, or drops it. c->mu is held. */
static void deliver(brk_client *c, uint32_t id, json_t *reply)
{
	for (int i = 0; i < c->nflight; i++) {
		struct call *o = c->flight[i];
		if (o->id == id && o->state == CALL_WAITING) {
			o->reply = reply;
			o->state = CALL_DONE;
			pthread_cond_signal(o->wake);
			return;
		}
	}
	json_decref(reply); /* an abandoned call's, or a cancel's */
}

/* read_replies: as the reader, waits up to ms for replies on me's connection and hands out
 * each whole one. c->mu is held on entry and exit, released while reading. */
static void read_replies(brk_client *c, struct call *me, int ms)
{
	struct {
		uint32_t id;
		json_t *reply;
	} got[BATCH_DELIVERY];
	int n = 0, f = 0;
	c->reading = true;
	pthread_mutex_unlock(&c->mu);
	enum conn_recv r = conn_recv(me->k, ms);
	for (;;) {
		const char *body;
		size_t len;
		while (r == CONN_DATA && n < BATCH_DELIVERY &&
		       (f = conn_frame(me->k, &got[n].id, &body, &len)) == 1)
			got[n++].reply = jt_load(body, len, JT_LOAD_MAX_DEPTH, NULL);
		pthread_mutex_lock(&c->mu);
		for (int i = 0; i < n; i++)
			deliver(c, got[i].id, got[i].reply);
		if (n < BATCH_DELIVERY || f != 1)
			break;
		n = 0;
		pthread_mutex_unlock(&c->mu);
	}
	c->reading = false;
	if (r == CONN_CLOSED || f < 0)
		lose_conn(c, me->k);
}

static void timed_wait(pthread_cond_t *cv, pthread_mutex_t *mu, int ms)
{
	if (ms < 0) {
		pthread_cond_wait(cv, mu);
		return;
	}
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(cv, mu, &ts);
}

static bool watching(const brk_client *c, const struct call *me)
{
	return c->interrupted && me->blocks && !me->cancel_sent;
}

/* wait_ms: how long me may wait before it must look at its deadline or the hook. */
static int wait_ms(const brk_client *c, const struct call *me)
{
	int ms = conn_ms_until(me->deadline);
	if (ms != 0 && watching(c, me) && (ms < 0 || ms > INTERRUPT_POLL_MS))
		ms = INTERRUPT_POLL_MS;
	return ms;
}

/* await: waits for me's reply, reading for everyone while nobody else does. */
static brk_err await(brk_client *c, struct call *me)
{
	pthread_mutex_lock(&c->mu);
	me->awaiting = true;
	while (me->state == CALL_WAITING && conn_ms_until(me->deadline) != 0) {
		int ms = wait_ms(c, me);
		if (!c->reading)
			read_replies(c, me, ms);
		else
			timed_wait(me->wake, &c->mu, ms);
		if (me->state == CALL_WAITING && watching(c, me)) {
			pthread_mutex_unlock(&c->mu);
			if (c->interrupted(c->interrupt_arg))
				send_cancel(c, me); /* the reply tells who won: cancel or result */
			pthread_mutex_lock(&c->mu);
		}
	}
	enum call_state state = me->state;
	if (state == CALL_WAITING)
		me->state = CALL_ABANDONED; /* a late reply is dropped */
	bool cancel = state == CALL_WAITING && me->blocks && !me->cancel_sent && c->k == me->k;
	pthread_mutex_unlock(&c->mu);
	if (cancel)
		send_cancel(c, me); /* so the daemon does not serve a waiter that left */
	if (state == CALL_DONE)
		return BRK_OK;
	if (state == CALL_FAILED)
		return fail(BRK_EIO, "lost the connection to brokerd (the request may or may not "
				     "have run)");
	return fail(BRK_ENOREPLY, "no reply from brokerd in %.3g s", me->wait);
}

/* retire: takes me off the flight list and notes what its reply means for the session;
 * acks (stolen) go back to be confirmed later unless the request went out whole. */
static void retire(brk_client *c, struct call *me, const json_t *request, brk_err err, json_t *acks)
{
	pthread_mutex_lock(&c->mu);
	for (int i = 0; i < c->nflight; i++)
		if (c->flight[i] == me) {
			c->flight[i] = c->flight[--c->nflight];
			break;
		}
	if (me->k == c->k && err == BRK_OK) {
		note_reply(c, request, me->reply);
		c->last_reply = conn_now();
	}
	if (me->k == c->k && err == BRK_ENOREPLY && me->blocks)
		c->held = true; /* an abandoned wait may yet be granted */
	if (me->k == c->k && err && acks)
		json_array_extend(c->unconfirmed, acks); /* confirming twice is harmless */
	pthread_cond_signal(&c->room);
	hand_off(c);
	pthread_mutex_unlock(&c->mu);
	json_decref(acks);
	conn_release(me->k);
}

static brk_err parse_reply(json_t *reply, json_t **result)
{
	json_t *r = NULL;
	const char *msg = NULL;
	if (!reply)
		return fail(BRK_EPROTO, "unreadable reply from brokerd");
	brk_err err = proto_reply_parse(reply, &r, &msg);
	last_version = (uint64_t)json_integer_value(json_object_get(reply, "version"));
	if (err == BRK_OK && result)
		*result = json_incref(r);
	else if (err == BRK_EPROTO)
		fail(err, "reply from brokerd does not follow the protocol");
	else if (err != BRK_OK)
		fail(err, "%s", msg ? msg : brk_strerror(err));
	return err;
}

/* round_trip: sends request and waits for its reply envelope, *reply (new; NULL when none
 * came). BRK_OK, or what kept the reply from coming. */
static brk_err round_trip(brk_client *c, const json_t *request, json_t **reply)
{
	struct call me;
	brk_err err;
	*reply = NULL;
	last_version = 0; /* a call that gets no reply reports none */
	if (!c || !json_is_object(request))
		return fail(BRK_EINVAL, "brk_call needs a client and a request object");
	for (int attempt = 0;; attempt++) {
		json_t *acks;
		bool sent = false;
		if ((err = enter(c, &me, request, &acks)))
			return err;
		err = transmit(c, &me, request, acks, &sent);
		if (err == BRK_OK)
			err = await(c, &me);
		retire(c, &me, request, err, acks);
		/* a connection found dead before any of the request went out: it never ran,
		 * so it may go out on the next connection */
		if (!(err == BRK_EIO && !sent && attempt == 0))
			break;
	}
	if (err == BRK_OK)
		*reply = me.reply;
	else
		json_decref(me.reply);
	return err;
}

brk_err brk_call(brk_client *c, const json_t *request, json_t **result)
{
	json_t *reply;
	if (result)
		*result = NULL;
	brk_err err = round_trip(c, request, &reply);
	if (err == BRK_OK)
		err = parse_reply(reply, result);
	json_decref(reply);
	return err;
}

brk_err brk_call_reply(brk_client *c, const json_t *request, json_t **reply)
{
	*reply = NULL;
	brk_err err = round_trip(c, request, reply);
	return err == BRK_OK ? parse_reply(*reply, NULL) : err;
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
	return call_new(c, BRK_OP_BATCH, NULL, json_pack("{s:O}", "ops", ops), results);
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

/* ---- clients ---- */

static char *copy_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void client_free(brk_client *c)
{
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->room);
	json_decref(c->unconfirmed);
	free(c->url);
	free(c->tls_ca);
	free(c->tls_cert);
	free(c->tls_key);
	conn_token_free(c->token);
	free(c);
}

/* client_new: a client of url with o's settings, taking token (conn_token's, even when it
 * returns NULL). */
static brk_client *client_new(const char *url, const brk_options *o, char *token)
{
	brk_client *c = calloc(1, sizeof *c);
	if (!c) {
		conn_token_free(token);
		return NULL;
	}
	c->token = token;
	pthread_mutex_init(&c->mu, NULL);
	init_room(c);
	c->unconfirmed = json_array();
	c->url = strdup(url);
	c->tls_ca = copy_or_null(o ? o->tls_ca : NULL);
	c->tls_cert = copy_or_null(o ? o->tls_cert : NULL);
	c->tls_key = copy_or_null(o ? o->tls_key : NULL);
	c->reply_grace = o && o->reply_grace > 0 ? o->reply_grace : 30;
	c->send_timeout = o && o->send_timeout > 0 ? o->send_timeout : 10;
	c->max_flight = o && o->max_in_flight > 0 && o->max_in_flight < MAX_IN_FLIGHT
				? o->max_in_flight
				: MAX_IN_FLIGHT;
	c->interrupted = o ? o->interrupted : NULL;
	c->interrupt_arg = o ? o->interrupt_arg : NULL;
	c->max_message = PROTO_DEFAULT_MAX_MESSAGE;
	c->pid = this_pid();
	if (!c->unconfirmed || !c->url) {
		client_free(c);
		return NULL;
	}
	return c;
}

/* client_token: the token opts or the environment give (conn_token), checked to be text
 * that JSON can carry; NULL if none. */
static brk_err client_token(const brk_options *opts, char **token)
{
	brk_err err = conn_token(opts ? opts->token : NULL, opts ? opts->token_file : NULL, token);
	json_t *t = !err && *token ? json_string(*token) : NULL;
	if (!err && *token && !t) {
		conn_token_free(*token);
		*token = NULL;
		err = fail(BRK_EINVAL, "the token is not valid UTF-8 text");
	}
	json_decref(t);
	return err;
}

brk_err brk_connect(const char *url, const brk_options *opts, brk_client **out)
{
	char dflt[512];
	*out = NULL;
	if (!url && proto_client_url(dflt, sizeof dflt) != 0)
		return fail(BRK_EINVAL, "the default address does not fit; set BROKERD_URL");
	char *token = NULL;
	brk_err err = client_token(opts, &token);
	if (err)
		return err;
	brk_client *c = client_new(url ? url : dflt, opts, token);
	if (!c)
		return fail(BRK_ENOMEM, NULL);
	registry_add(c); /* before the connection exists, so no fork can miss it */
	pthread_mutex_lock(&c->mu);
	err = reconnect(c);
	pthread_mutex_unlock(&c->mu);
	if (err != BRK_OK) {
		registry_remove(c);
		client_free(c);
		return err;
	}
	*out = c;
	return BRK_OK;
}

void brk_close(brk_client *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	bool ack = c->k && c->pid == this_pid() && json_array_size(c->unconfirmed);
	pthread_mutex_unlock(&c->mu);
	if (ack) {
		/* Confirm the last items received; best effort, so briefly. */
		c->reply_grace = c->send_timeout = 2;
		call_new(c, BRK_OP_ACK, NULL, NULL, NULL);
	}
	registry_remove(c);
	if (c->k && c->pid == this_pid())
		conn_release(c->k);
	else if (c->k)
		conn_drop(c->k); /* a child that forked without our handler: not ours to shut */
	client_free(c);
}

uint64_t brk_session_id(const brk_client *c)
{
	return c->session;
}

size_t brk_max_message(const brk_client *c)
{
	return c->max_message;
}
