/* admin.c: the ops that look at the daemon itself: ping, hello, info, ls, stat, del,
 * sessions, and those about the session's own requests: ack, cancel. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "conn.h"
#include "auth.h"
#include "dispatch.h"
#include "jval.h"
#include "log.h"
#include "mem.h"
#include "object.h"
#include "ops.h"
#include "persist.h"
#include "server.h"
#include "session.h"
#include "wait.h"

#define PROTOCOL_VERSION 1

static int op_ping(op_ctx *ctx)
{
	return op_ok(ctx, json_string("pong"));
}

/* hello_args: hello's "token" (binding the session to its principal) and "max_reply"
 * (the largest reply the client takes; brokerd's max-reply stays the upper bound). 0 or an
 * error. */
static int hello_args(op_ctx *ctx)
{
	json_t *token = json_object_get(ctx->args, "token");
	json_t *max = json_object_get(ctx->args, "max_reply");
	if (token && !json_is_string(token))
		return op_fail(ctx, BRK_EBADARG, "argument 'token' must be a string");
	/* not below max_message: any item put through the listener can be got back */
	if (max &&
	    (!json_is_integer(max) || json_integer_value(max) < (json_int_t)ctx->sess->max_message))
		return op_fail(ctx, BRK_EBADARG,
			       "argument 'max_reply' must be bytes, at least this listener's "
			       "max_message (%zu)",
			       ctx->sess->max_message);
	if (token && auth_hello(ctx, json_string_value(token)) != 0)
		return ctx->err;
	if (max && (size_t)json_integer_value(max) < sess_limits()->max_reply)
		ctx->sess->max_reply = (size_t)json_integer_value(max);
	return 0;
}

static int op_hello(op_ctx *ctx)
{
	if (hello_args(ctx) != 0)
		return ctx->err;
	json_t *hello = json_pack(
		"{s:s, s:s, s:i, s:I, s:I, s:I, s:I, s:i, s:I, s:b}", "server", "brokerd",
		"version", BROKER_VERSION, "protocol", PROTOCOL_VERSION, "session",
		(json_int_t)ctx->sess->id, "max_message", (json_int_t)ctx->sess->max_message,
		"max_reply", (json_int_t)ctx->sess->max_reply, "max_value",
		(json_int_t)jval_limits()->max_value, "max_depth", jval_limits()->max_depth,
		"max_elements", (json_int_t)jval_limits()->max_elements, "owners", 1);
	if (hello)
		auth_describe(ctx->sess, hello);
	return op_ok(ctx, hello);
}

static json_int_t rss_bytes(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return (json_int_t)resident * sysconf(_SC_PAGESIZE);
}

/* describe_limits: memory in use and max-memory, session limits, error replies by code. */
static void describe_limits(json_t *info)
{
	const struct sess_limits *l = sess_limits();
	json_t *memory = json_object_get(info, "memory");
	json_object_set_new(memory, "used", json_integer((json_int_t)mem_used()));
	json_object_set_new(memory, "max", json_integer((json_int_t)mem_limit()));
	json_object_set_new(
		info, "session_limits",
		json_pack("{s:I, s:I, s:I, s:I}", "requests", (json_int_t)l->max_requests, "parked",
			  (json_int_t)l->max_parked, "objects", (json_int_t)l->max_objects, "reply",
			  (json_int_t)l->max_reply));
	json_object_set_new(info, "errors", dispatch_errors_new());
	json_object_set_new(info, "ops", dispatch_ops_new());
}

static int op_info(op_ctx *ctx)
{
	json_t *info =
		json_pack("{s:s, s:i, s:i, s:I, s:I, s:I, s:I, s:{s:I}}", "version", BROKER_VERSION,
			  "protocol", PROTOCOL_VERSION, "pid", (int)getpid(), "sessions",
			  (json_int_t)sess_count(), "objects", (json_int_t)obj_count(), "waiters",
			  (json_int_t)wait_count(), "requests",
			  (json_int_t)dispatch_requests_total(), "memory", "rss", rss_bytes());
	if (info) {
		server_describe(info);
		describe_limits(info);
	}
	json_t *persistence = persist_info_new();
	if (info && persistence)
		json_object_set_new(info, "persistence", persistence);
	return op_ok(ctx, info);
}

static int op_ls(op_ctx *ctx)
{
	const char *prefix;
	int rc = arg_opt_string(ctx, "prefix", NULL, &prefix);
	const char *mine = auth_prefix(ctx);
	if (rc)
		return rc;
	if (mine && (!prefix || !strncmp(mine, prefix, strlen(prefix))))
		prefix = mine; /* a confined principal sees only its own names */
	else if (mine && strncmp(prefix, mine, strlen(mine)))
		return op_ok(ctx, json_array());
	return op_ok(ctx, obj_list_new(prefix));
}

static int op_stat(op_ctx *ctx)
{
	object *o = obj_find(ctx->name);
	if (!o)
		return op_fail(ctx, BRK_ENOTFOUND, "no object '%s'", ctx->name);
	json_t *st = obj_summary_new(o);
	json_t *fields = o->cls->stat_new(o->impl);
	if (st) {
		json_object_set_new(st, "created", json_real(o->created));
		if (o->cls->versioned)
			json_object_set_new(st, "version", json_integer((json_int_t)o->version));
		json_object_update(st, fields);
	}
	json_decref(fields);
	return op_ok(ctx, st);
}

static int op_del(op_ctx *ctx)
{
	object *o = obj_find(ctx->name);
	if (!o)
		return op_fail(ctx, BRK_ENOTFOUND, "no object '%s'", ctx->name);
	if (persist_wants(o))
		persist_put(json_pack("{s:s, s:s}", "e", "del", "o", o->name));
	obj_delete(o);
	return op_ok(ctx, json_true());
}

/* op_ack: nothing of its own; its "ack" list was applied by dispatch (PROTOCOL.md "ack"). */
static int op_ack(op_ctx *ctx)
{
	return op_ok(ctx, json_null());
}

/* op_cancel: the session's parked request with that transport id leaves, answered
 * cancelled before this reply (PROTOCOL.md "Cancel"). Another session's id is not looked
 * for: it is as unknown as one already answered. */
static int op_cancel(op_ctx *ctx)
{
	json_t *id = json_object_get(ctx->args, "request");
	if (!json_is_integer(id) || json_integer_value(id) < 0 ||
	    json_integer_value(id) > (json_int_t)UINT32_MAX)
		return op_fail(ctx, BRK_EBADARG,
			       "cancel needs 'request', a request id from 0 to 4294967295");
	waiter *w = wait_find_request(ctx->sess, (uint32_t)json_integer_value(id));
	if (w)
		wait_cancel(w);
	return op_ok(ctx, json_pack("{s:b}", "cancelled", w != NULL));
}

static int op_sessions(op_ctx *ctx)
{
	return op_ok(ctx, sess_list_new(auth_is_admin(ctx) ? NULL : ctx->sess));
}

/* op_kick: ends another session as if its client had died: its locks, permits, pipe ends
 * and unconfirmed items are released, its parked requests withdrawn. */
static int op_kick(op_ctx *ctx)
{
	json_t *id = json_object_get(ctx->args, "session");
	char why[64];
	if (!json_is_integer(id) || json_integer_value(id) < 1)
		return op_fail(ctx, BRK_EBADARG, "kick needs 'session', a session id");
	uint64_t target = (uint64_t)json_integer_value(id);
	if (ctx->sess && target == ctx->sess->id)
		return op_fail(ctx, BRK_EBADARG, "a session cannot kick itself");
	snprintf(why, sizeof why, "kicked by session %llu",
		 ctx->sess ? (unsigned long long)ctx->sess->id : 0ULL);
	if (!conn_kick(target, why))
		return op_fail(ctx, BRK_ENOTFOUND, "no session %llu", (unsigned long long)target);
	return op_ok(ctx, json_true());
}

/* op_shutdown: stops brokerd as SIGTERM does, once this reply is on its way. */
static int op_shutdown(op_ctx *ctx)
{
	log_info("shutdown asked by session %llu (%s)", (unsigned long long)ctx->sess->id,
		 ctx->sess->peer);
	server_shutdown_soon();
	return op_ok(ctx, json_true());
}

const struct op_def admin_ops[] = {
	{BRK_OP_PING, op_ping, OPF_OPEN, ""},
	{BRK_OP_HELLO, op_hello, OPF_OPEN, "token,max_reply"},
	{BRK_OP_INFO, op_info, OPF_RO, ""},
	{BRK_OP_LS, op_ls, OPF_RO, "prefix"},
	{BRK_OP_STAT, op_stat, OPF_NAME | OPF_RO, ""},
	{BRK_OP_DEL, op_del, OPF_NAME | OPF_STORE | OPF_ADMIN | OPF_MINE, ""},
	{BRK_OP_SESSIONS, op_sessions, OPF_RO, ""},
	{BRK_OP_SAVE, persist_save, OPF_ADMIN, ""},
	{BRK_OP_ACK, op_ack, OPF_RO, ""},
	{BRK_OP_CANCEL, op_cancel, OPF_RO, "request"},
	{BRK_OP_KICK, op_kick, OPF_ADMIN, "session"},
	{BRK_OP_SHUTDOWN, op_shutdown, OPF_ADMIN, ""},
	{NULL, NULL, 0, NULL},
};
