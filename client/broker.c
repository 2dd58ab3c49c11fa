/* broker.c: libbroker's op calls for the daemon, queues, pipes and synchronization objects; each
 * builds its request and makes it through brk_call (client.c). Shared state is shared.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base64.h"
#include "broker.h"
#include "call.h"
#include "envelope.h"
#include "ops.h"

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

/* ---- pipes ---- */

static json_t *pipe_args(brk_pipe_end end)
{
	return json_pack("{s:s}", "end", end == BRK_PIPE_B ? "b" : "a");
}

static bool bad_end(brk_pipe_end end)
{
	return (unsigned)end > BRK_PIPE_B;
}

brk_err brk_pipe_create(brk_client *c, const char *name, bool duplex, long maxmsgs, long maxbytes)
{
	json_t *args = json_pack("{s:b}", "duplex", duplex);
	if (args && maxmsgs > 0)
		json_object_set_new(args, "maxmsgs", json_integer((json_int_t)maxmsgs));
	if (args && maxbytes > 0)
		json_object_set_new(args, "maxbytes", json_integer((json_int_t)maxbytes));
	return call_new(c, BRK_OP_PIPE_CREATE, name, args, NULL);
}

brk_err brk_pipe_open(brk_client *c, const char *name, brk_pipe_end end)
{
	if (bad_end(end))
		return fail(BRK_EINVAL, "unknown pipe end %d", (int)end);
	return call_new(c, BRK_OP_PIPE_OPEN, name, pipe_args(end), NULL);
}

brk_err brk_pipe_send(brk_client *c, const char *name, brk_pipe_end end, const json_t *value,
		      double timeout)
{
	json_t *args = pipe_args(end);
	if (bad_end(end) || !value) {
		json_decref(args);
		return fail(BRK_EINVAL, "brk_pipe_send needs an end and a value");
	}
	if (args)
		json_object_set(args, "value", (json_t *)value);
	return call_new(c, BRK_OP_PIPE_SEND, name, wait_args(args, timeout), NULL);
}

brk_err brk_pipe_send_bytes(brk_client *c, const char *name, brk_pipe_end end, const void *data,
			    size_t len, double timeout)
{
	size_t n = b64_encoded_len(len);
	char *text = bad_end(end) || (!data && len) ? NULL : malloc(n + 1);
	if (!text)
		return fail(bad_end(end) || (!data && len) ? BRK_EINVAL : BRK_ENOMEM, NULL);
	b64_encode(data, len, text);
	json_t *args = pipe_args(end);
	if (args)
		json_object_set_new(args, "bytes", json_stringn_nocheck(text, n));
	free(text);
	return call_new(c, BRK_OP_PIPE_SEND, name, wait_args(args, timeout), NULL);
}

/* pipe_recv: pipe.recv at end taking as, at most maxlength bytes; *message is its result
 * ({"value": V} or {"bytes": B64}). */
static brk_err pipe_recv(brk_client *c, const char *name, brk_pipe_end end, const char *as,
			 size_t maxlength, double timeout, json_t **message)
{
	if (bad_end(end))
		return fail(BRK_EINVAL, "unknown pipe end %d", (int)end);
	json_t *args = pipe_args(end);
	if (args)
		json_object_set_new(args, "as", json_string(as));
	if (args && json_object_set_new(args, "confirm", json_true()) == 0 && maxlength != SIZE_MAX)
		json_object_set_new(args, "maxlength", json_integer((json_int_t)maxlength));
	brk_err err = call_new(c, BRK_OP_PIPE_RECV, name, wait_args(args, timeout), message);
	if (err == BRK_OK && !json_object_get(*message, as)) {
		json_decref(*message);
		err = fail(BRK_EPROTO, "pipe.recv: expected {\"%s\": ...}", as);
	}
	return err;
}

brk_err brk_pipe_recv(brk_client *c, const char *name, brk_pipe_end end, double timeout,
		      json_t **value)
{
	json_t *m = NULL;
	brk_err err = pipe_recv(c, name, end, "value", SIZE_MAX, timeout, &m);
	if (err == BRK_OK)
		*value = json_incref(json_object_get(m, "value"));
	json_decref(m);
	return err;
}

brk_err brk_pipe_recv_bytes(brk_client *c, const char *name, brk_pipe_end end, size_t maxlength,
			    double timeout, void **data, size_t *len)
{
	json_t *m = NULL;
	brk_err err = pipe_recv(c, name, end, "bytes", maxlength, timeout, &m);
	json_t *b64 = json_object_get(m, "bytes");
	size_t n = 0;
	if (err == BRK_OK && b64_check(json_string_value(b64), json_string_length(b64), &n) != 0)
		err = fail(BRK_EPROTO, "pipe.recv: the bytes are not base64");
	unsigned char *out = err == BRK_OK ? malloc(n + 1) : NULL;
	if (err == BRK_OK && !out)
		err = fail(BRK_ENOMEM, NULL);
	if (err == BRK_OK) {
		b64_decode(json_string_value(b64), json_string_length(b64), out);
		out[n] = '\0';
		*data = out;
		*len = n;
	}
	json_decref(m);
	return err;
}

brk_err brk_pipe_poll(brk_client *c, const char *name, brk_pipe_end end, double timeout,
		      bool *ready)
{
	json_t *args = timeout_args(timeout);
	if (bad_end(end)) {
		json_decref(args);
		return fail(BRK_EINVAL, "unknown pipe end %d", (int)end);
	}
	if (args)
		json_object_set_new(args, "end", json_string(end == BRK_PIPE_B ? "b" : "a"));
	return call_bool(c, BRK_OP_PIPE_POLL, name, args, ready);
}

brk_err brk_pipe_close(brk_client *c, const char *name, brk_pipe_end end)
{
	if (bad_end(end))
		return fail(BRK_EINVAL, "unknown pipe end %d", (int)end);
	return call_new(c, BRK_OP_PIPE_CLOSE, name, pipe_args(end), NULL);
}
