/* dispatch.c: envelope checks, the op index, batches, and the reply hook. */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "auth.h"
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

static hmap index_by_name; /* op name -> const struct op_def * */
static dispatch_send_fn send_hook;
static dispatch_alive_fn alive_hook;
static dispatch_id_fn id_hook;
static bool shutting_down;
static unsigned long long requests_total;
static unsigned long long errors[BRK_ERR_COUNT]; /* error replies by code */

static int run_batch(op_ctx *ctx);
/* a batch needs no role itself: each of its ops is checked */
static const struct op_def batch_op = {BRK_OP_BATCH, run_batch, OPF_RO, "ops"};

static void index_table(const struct op_def *table)
{
	for (const struct op_def *d = table; d->name; d++)
		hmap_insert(&index_by_name, d->name, strlen(d->name), (void *)d);
}

void dispatch_init(dispatch_send_fn send, dispatch_alive_fn alive, dispatch_id_fn id)
{
	hmap_init(&index_by_name);
	index_table(admin_ops);
	index_table(queue_ops);
	index_table(dict_ops);
	index_table(lock_ops);
	index_table(semaphore_ops);
	index_table(event_ops);
	index_table(barrier_ops);
	index_table(condition_ops);
	index_table(list_ops);
	index_table(namespace_ops);
	index_table(value_ops);
	index_table(array_ops);
	index_table(pipe_ops);
	index_table(pool_ops);
	hmap_insert(&index_by_name, batch_op.name, strlen(batch_op.name), (void *)&batch_op);
	send_hook = send;
	alive_hook = alive;
	id_hook = id;
	shutting_down = false;
}

void dispatch_fini(void)
{
	hmap_fini(&index_by_name, NULL);
}

void dispatch_set_shutting_down(void)
{
	shutting_down = true;
}

unsigned long long dispatch_requests_total(void)
{
	return requests_total;
}

json_t *dispatch_errors_new(void)
{
	json_t *by_code = json_object();
	for (int e = 0; e < BRK_ERR_COUNT && by_code; e++)
		if (errors[e])
			json_object_set_new(by_code, brk_err_code((brk_err)e),
					    json_integer((json_int_t)errors[e]));
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
static int resolve(op_ctx *ctx, const json_t *args, const struct op_def **out)
{
	if (!json_is_object(args))
		return op_fail(ctx, BRK_EBADREQ, "a request must be a JSON object");
	const char *op = json_string_value(json_object_get(args, "op"));
	if (!op)
		return op_fail(ctx, BRK_EBADREQ, "a request needs \"op\", a string");
	const struct op_def *d = hmap_get(&index_by_name, op, strlen(op));
	if (!d)
		return op_fail(ctx, BRK_EUNKNOWNOP, "unknown op '%.100s'", op);
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
	*out = d;
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
	const struct op_def *d;
	int rc = resolve(ctx, args, &d);
	if (rc)
		return rc;
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
		const struct op_def *d;
		if (resolve(&probe, one, &d) != 0 || auth_refuses(&probe, d) ||
		    mem_refuses(&probe, d))
			return op_fail(ctx, probe.err, "ops[%zu]: %s", i, probe.msg);
		if (d == &batch_op)
			return op_fail(ctx, BRK_EBADARG, "ops[%zu]: a batch cannot hold a batch",
				       i);
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
