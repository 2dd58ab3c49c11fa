/* dispatch.c: envelope checks, the op index, batches, and the reply hook. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "auth.h"
#include "clock.h"
#include "delivery.h"
#include "dispatch.h"
#include "envelope.h"
#include "hmap.h"
#include "jsontext.h"
#include "log.h"
#include "mem.h"
#include "object.h"
#include "ops.h"
#include "persist.h"
#include "session.h"

/* An op and its counts since start. */
struct op_entry {
	const struct op_def *d;
	unsigned long long calls, calls_at_tick, per_sec;
};

static hmap index_by_name; /* op name -> struct op_entry */
static struct op_entry *entries;
static size_t nentries;
static struct dispatch_latency latency;
static unsigned long long requests_at_tick, requests_per_sec;
static dispatch_send_fn send_hook;
static dispatch_alive_fn alive_hook;
static dispatch_id_fn id_hook;
static bool shutting_down;
static unsigned long long requests_total;
static unsigned long long errors[BRK_ERR_COUNT]; /* error replies by code */

/* a batch needs no role itself (OPF_RO in its table row): each of its ops is checked */
static int run_batch(op_ctx *ctx);

static void index_table(const struct op_def *table)
{
	for (const struct op_def *d = table; d->name; d++) {
		struct op_entry *e = &entries[nentries++];
		e->d = d;
		hmap_insert(&index_by_name, d->name, strlen(d->name), e);
	}
}

static const struct op_def *const *tables(void)
{
	static const struct op_def batch_table[] = {{BRK_OP_BATCH, run_batch, OPF_RO, "ops"},
						    {NULL, NULL, 0, NULL}};
	static const struct op_def *const all[] = {
		admin_ops,   queue_ops,     dict_ops,    lock_ops,      semaphore_ops, event_ops,
		barrier_ops, condition_ops, list_ops,    namespace_ops, value_ops,     array_ops,
		pipe_ops,    pool_ops,      batch_table, NULL};
	return all;
}

void dispatch_init(dispatch_send_fn send, dispatch_alive_fn alive, dispatch_id_fn id)
{
	size_t n = 0;
	for (const struct op_def *const *t = tables(); *t; t++)
		for (const struct op_def *d = *t; d->name; d++)
			n++;
	hmap_init(&index_by_name);
	entries = calloc(n, sizeof *entries);
	nentries = 0;
	for (const struct op_def *const *t = tables(); *t && entries; t++)
		index_table(*t);
	send_hook = send;
	alive_hook = alive;
	id_hook = id;
	shutting_down = false;
}

void dispatch_fini(void)
{
	hmap_fini(&index_by_name, NULL);
	free(entries);
	entries = NULL;
	nentries = 0;
}

void dispatch_set_shutting_down(void)
{
	shutting_down = true;
}

unsigned long long dispatch_requests_total(void)
{
	return requests_total;
}

const double dispatch_bucket_bounds[DISPATCH_BUCKETS] = {
	10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 0.1};

unsigned long long dispatch_requests_per_sec(void)
{
	return requests_per_sec;
}

const struct dispatch_latency *dispatch_latency(void)
{
	return &latency;
}

void dispatch_tick(void)
{
	requests_per_sec = requests_total - requests_at_tick;
	requests_at_tick = requests_total;
	for (size_t i = 0; i < nentries; i++) {
		entries[i].per_sec = entries[i].calls - entries[i].calls_at_tick;
		entries[i].calls_at_tick = entries[i].calls;
	}
}

json_t *dispatch_ops_new(void)
{
	json_t *by_op = json_object();
	for (size_t i = 0; i < nentries && by_op; i++)
		if (entries[i].calls)
			json_object_set_new(by_op, entries[i].d->name,
					    json_pack("{s:I, s:I}", "calls",
						      (json_int_t)entries[i].calls, "per_sec",
						      (json_int_t)entries[i].per_sec));
	return json_pack("{s:I, s:I, s:o}", "total", (json_int_t)requests_total, "per_sec",
			 (json_int_t)requests_per_sec, "by_op", by_op);
}

void dispatch_foreach_op(void (*fn)(const char *op, unsigned long long calls, void *arg), void *arg)
{
	for (size_t i = 0; i < nentries; i++)
		if (entries[i].calls)
			fn(entries[i].d->name, entries[i].calls, arg);
}

void dispatch_foreach_error(void (*fn)(const char *code, unsigned long long n, void *arg),
			    void *arg)
{
	for (int e = 0; e < BRK_ERR_COUNT; e++)
		if (errors[e])
			fn(brk_err_code((brk_err)e), errors[e], arg);
}

static void error_into(const char *code, unsigned long long n, void *by_code)
{
	json_object_set_new(by_code, code, json_integer((json_int_t)n));
}

json_t *dispatch_errors_new(void)
{
	json_t *by_code = json_object();
	if (by_code)
		dispatch_foreach_error(error_into, by_code);
	return by_code;
}

static json_t *reply_new(brk_err err, json_t *result, const char *msg, uint64_t delivery)
{
	if (err != BRK_OK) {
		json_decref(result);
		errors[err < BRK_ERR_COUNT ? err : BRK_EINTERNAL]++;
		return proto_reply_error(err, msg);
	}
	json_t *reply = proto_reply_ok_new(result);
	if (reply && delivery)
		json_object_set_new(reply, "delivery", json_integer((json_int_t)delivery));
	return reply;
}

/* ctx_reply_new: the reply envelope of a finished op (rc as its handler returned). */
static json_t *ctx_reply_new(op_ctx *ctx, int rc)
{
	json_t *reply = reply_new(rc ? ctx->err : BRK_OK, ctx->result, ctx->msg, ctx->delivery);
	if (reply && ctx->versioned)
		json_object_set_new(reply, "version", json_integer((json_int_t)ctx->version));
	return reply;
}

/* deliver: every reply leaves here: at once, or after the commit of what it reports. */
static void deliver(struct req *r, json_t *reply)
{
	if (!reply || !persist_hold(r, reply))
		send_hook(r, reply);
}

void dispatch_send(struct req *r, json_t *reply)
{
	send_hook(r, reply);
}

void dispatch_answer(struct req *r, brk_err err, json_t *result, const char *msg, uint64_t delivery)
{
	if (!r) {
		json_decref(result);
		return;
	}
	deliver(r, reply_new(err, result, msg, delivery));
}

void dispatch_drop(struct req *r)
{
	if (r)
		send_hook(r, NULL);
}

bool dispatch_alive(const struct req *r)
{
	return !r || !alive_hook || alive_hook(r);
}

uint32_t dispatch_req_id(const struct req *r)
{
	return r && id_hook ? id_hook(r) : 0;
}

/* arg_names_ok: every key of args is op, name, or one of d's argument names. */
static bool arg_names_ok(const struct op_def *d, const json_t *args, char *bad, size_t badsz)
{
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)args, key, v) {
		if (!strcmp(key, "op") || !strcmp(key, "name") || !strcmp(key, "ack") ||
		    (!strcmp(key, "version") && (d->flags & OPF_WRITE)) ||
		    (!strcmp(key, "owner") && (d->flags & OPF_OWNER)))
			continue;
		size_t n = strlen(key);
		const char *p = d->args;
		bool found = false;
		while (p && *p && !found) {
			const char *end = strchrnul(p, ',');
			found = (size_t)(end - p) == n && strncmp(p, key, n) == 0;
			p = *end ? end + 1 : end;
		}
		if (!found) {
			snprintf(bad, badsz, "%s", key);
			return false;
		}
	}
	return true;
}

/* owner_arg: an OPF_OWNER op's "owner", an integer from 0 to OP_MAX_OWNER (0 when absent),
 * into ctx->owner. 0 or bad_argument. */
static int owner_arg(op_ctx *ctx, const json_t *args)
{
	json_t *owner = json_object_get(args, "owner");
	ctx->owner = 0;
	if (!owner)
		return 0;
	if (!json_is_integer(owner) || json_integer_value(owner) < 0 ||
	    (uint64_t)json_integer_value(owner) > OP_MAX_OWNER)
		return op_fail(ctx, BRK_EBADARG,
			       "argument 'owner' must be an integer from 0 to 2^53");
	ctx->owner = (uint64_t)json_integer_value(owner);
	return 0;
}

/* resolve: checks one request object and finds its op; fills ctx name and owner. 0 or an
 * error. */
static int resolve(op_ctx *ctx, const json_t *args, struct op_entry **out)
{
	if (!json_is_object(args))
		return op_fail(ctx, BRK_EBADREQ, "a request must be a JSON object");
	const char *op = json_string_value(json_object_get(args, "op"));
	if (!op)
		return op_fail(ctx, BRK_EBADREQ, "a request needs \"op\", a string");
	struct op_entry *e = hmap_get(&index_by_name, op, strlen(op));
	if (!e)
		return op_fail(ctx, BRK_EUNKNOWNOP, "unknown op '%.100s'", op);
	const struct op_def *d = e->d;
	json_t *name = json_object_get(args, "name");
	if ((d->flags & OPF_NAME) && !json_is_string(name))
		return op_fail(ctx, BRK_EBADARG, "%s needs \"name\", a string", d->name);
	if (name && !(d->flags & OPF_NAME))
		return op_fail(ctx, BRK_EBADARG, "%s takes no \"name\"", d->name);
	if (name && (json_string_length(name) == 0 || json_string_length(name) > PROTO_MAX_NAME))
		return op_fail(ctx, BRK_EBADARG, "a name is 1 to %d bytes", PROTO_MAX_NAME);
	char bad[64];
	if (!arg_names_ok(d, args, bad, sizeof bad))
		return op_fail(ctx, BRK_EBADARG, "%s takes no argument '%s'", d->name, bad);
	if ((d->flags & OPF_OWNER) && owner_arg(ctx, args))
		return ctx->err;
	ctx->args = args;
	ctx->name = json_string_value(name);
	*out = e;
	return 0;
}

/* apply_acks: the request's "ack" list lets go of those holdings of the session (items
 * it confirms). Ids it does not hold are ignored, so an ack may be repeated. */
static int apply_acks(op_ctx *ctx, const json_t *args)
{
	json_t *acks = json_object_get(args, "ack"), *id;
	size_t i;
	if (!acks)
		return 0;
	if (!json_is_array(acks))
		return op_fail(ctx, BRK_EBADARG, "\"ack\" must be an array of delivery ids");
	json_array_foreach (acks, i, id)
		if (!json_is_integer(id))
			return op_fail(ctx, BRK_EBADARG,
				       "\"ack\" must be an array of delivery ids");
	json_array_foreach (acks, i, id)
		sess_let_go(ctx->sess, &delivery_class, (uint64_t)json_integer_value(id));
	return 0;
}

/* check_version: a write's "version" condition: the object must be at that version (0:
 * must not exist). Returns 0 or bad_argument / conflict. */
static int check_version(op_ctx *ctx, const struct op_def *d)
{
	json_t *want = json_object_get(ctx->args, "version");
	if (!want || !(d->flags & OPF_WRITE))
		return 0;
	if (!json_is_integer(want) || json_integer_value(want) < 0)
		return op_fail(ctx, BRK_EBADARG, "argument 'version' must be an integer >= 0");
	uint64_t have = obj_version(ctx->name);
	if (have != (uint64_t)json_integer_value(want))
		return op_fail(ctx, BRK_ECONFLICT, "'%s' is at version %llu, not %lld", ctx->name,
			       (unsigned long long)have, (long long)json_integer_value(want));
	return 0;
}

/* note_version: after a shared-state op, gives a successful write its new version and
 * sets the version the reply reports. */
static void note_version(op_ctx *ctx, const struct op_def *d, int rc)
{
	if (!(d->flags & (OPF_READ | OPF_WRITE)))
		return;
	object *o = obj_find(ctx->name);
	if (o && rc == 0 && (d->flags & OPF_WRITE) && !ctx->unchanged) {
		obj_changed(o);
		if (persist_wants(o))
			persist_op(o, ctx->args);
	}
	ctx->versioned = true;
	ctx->version = o ? o->version : 0;
}

/* refused: whether op d may not run now: the session's role or prefix, max-memory, or a
 * data dir that cannot be written refuses it (the error set on ctx). */
static bool refused(op_ctx *ctx, const struct op_def *d)
{
	return auth_refuses(ctx, d) || mem_refuses(ctx, d) || persist_refuses(ctx, d);
}

/* run_one: resolves and runs a single request. Returns OP_PARKED, 0 or an error. */
static int run_one(op_ctx *ctx, const json_t *args)
{
	struct op_entry *e;
	int rc = resolve(ctx, args, &e);
	if (rc)
		return rc;
	const struct op_def *d = e->d;
	e->calls++;
	if (refused(ctx, d))
		return ctx->err;
	rc = apply_acks(ctx, args);
	if (rc == 0 && !ctx->batched)
		rc = check_version(ctx, d);
	if (rc == 0)
		rc = d->fn(ctx);
	if (rc != OP_PARKED)
		note_version(ctx, d, rc);
	return rc;
}

/* batch_check: every op of a batch resolves and none may wait; nothing runs otherwise. */
static int batch_check(op_ctx *ctx, const json_t *ops)
{
	size_t i;
	json_t *one;
	json_array_foreach (ops, i, one) {
		op_ctx probe = {.sess = ctx->sess};
		struct op_entry *e;
		if (resolve(&probe, one, &e) != 0 || auth_refuses(&probe, e->d) ||
		    mem_refuses(&probe, e->d))
			return op_fail(ctx, probe.err, "ops[%zu]: %s", i, probe.msg);
		const struct op_def *d = e->d;
		if (d->fn == run_batch ||
		    !strcmp(d->name, BRK_OP_HELLO)) /* hello: who runs the rest */
			return op_fail(ctx, BRK_EBADARG, "ops[%zu]: a batch cannot hold a %s", i,
				       d->name);
		if (proto_op_blocks(d->name) && arg_wants_wait(one))
			return op_fail(ctx, BRK_EBADARG,
				       "ops[%zu]: %s would wait; in a batch pass \"block\": false "
				       "or \"timeout\": 0",
				       i, d->name);
		if (check_version(&probe, d) != 0)
			return op_fail(ctx, probe.err, "ops[%zu]: %s", i, probe.msg);
	}
	return 0;
}

static int run_batch(op_ctx *ctx)
{
	json_t *ops = json_object_get(ctx->args, "ops");
	if (!json_is_array(ops))
		return op_fail(ctx, BRK_EBADARG, "batch needs \"ops\", an array");
	if (json_array_size(ops) > PROTO_MAX_BATCH)
		return op_fail(ctx, BRK_EBADARG, "a batch holds at most %d ops", PROTO_MAX_BATCH);
	if (batch_check(ctx, ops) != 0)
		return ctx->err;
	json_t *results = json_array();
	size_t i;
	json_t *one;
	json_array_foreach (ops, i, one) {
		op_ctx sub = {.sess = ctx->sess, .batched = true};
		int rc = run_one(&sub, one);
		json_array_append_new(results, ctx_reply_new(&sub, rc));
	}
	return op_ok(ctx, results);
}

static void count_latency(double seconds)
{
	size_t b = 0;
	while (b < DISPATCH_BUCKETS && seconds > dispatch_bucket_bounds[b])
		b++;
	latency.count[b]++;
	latency.sum += seconds;
}

void dispatch_request(session *s, struct req *r, const char *body, size_t len)
{
	op_ctx ctx = {.sess = s, .req = r};
	jt_error jerr;
	s->requests++;
	requests_total++;
	if (shutting_down) {
		dispatch_answer(r, BRK_ESHUTDOWN, NULL, "brokerd is shutting down", 0);
		return;
	}
	double t0 = clock_now();
	json_t *args = jt_load(body, len, PROTO_PARSER_MAX_DEPTH, &jerr);
	int rc;
	if (!args)
		rc = op_fail(&ctx, BRK_EBADREQ, "invalid JSON: %s at byte %zu", jerr.text,
			     jerr.position);
	else
		rc = run_one(&ctx, args);
	if (rc != OP_PARKED)
		deliver(r, ctx_reply_new(&ctx, rc));
	json_decref(args);
	count_latency(clock_now() - t0);
	if (rc && rc != OP_PARKED && log_enabled(LL_DEBUG))
		log_debug("session %llu: %s: %s", (unsigned long long)s->id, brk_err_code(ctx.err),
			  ctx.msg);
}

int dispatch_local(const json_t *request, json_t **result)
{
	op_ctx ctx = {.batched = true};
	int rc = run_one(&ctx, request);
	if (rc == OP_PARKED) /* cannot happen without a request to park */
		rc = BRK_EINTERNAL;
	*result = rc ? NULL : ctx.result;
	if (rc) {
		json_decref(ctx.result);
		log_error("replaying %s: %s: %s", json_string_value(json_object_get(request, "op")),
			  brk_err_code(ctx.err), ctx.msg);
	}
	return rc;
}
