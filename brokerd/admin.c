/* admin.c: the ops that look at the daemon itself: ping, hello, info, ls, stat, del,
 * sessions, and those about the session's own requests: ack, cancel. */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "args.h"
#include "dispatch.h"
#include "jval.h"
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

static int op_hello(op_ctx *ctx)
{
	return op_ok(ctx, json_pack("{s:s, s:s, s:i, s:I, s:I, s:I, s:i, s:I, s:b}", "server",
				    "brokerd", "version", BROKER_VERSION, "protocol",
				    PROTOCOL_VERSION, "session", (json_int_t)ctx->sess->id,
				    "max_message", (json_int_t)ctx->sess->max_message, "max_value",
				    (json_int_t)jval_limits()->max_value, "max_depth",
				    jval_limits()->max_depth, "max_elements",
				    (json_int_t)jval_limits()->max_elements, "owners", 1));
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

static int op_info(op_ctx *ctx)
{
	json_t *info =
		json_pack("{s:s, s:i, s:i, s:I, s:I, s:I, s:I, s:{s:I}}", "version", BROKER_VERSION,
			  "protocol", PROTOCOL_VERSION, "pid", (int)getpid(), "sessions",
			  (json_int_t)sess_count(), "objects", (json_int_t)obj_count(), "waiters",
			  (json_int_t)wait_count(), "requests",
			  (json_int_t)dispatch_requests_total(), "memory", "rss", rss_bytes());
	if (info)
		server_describe(info);
	json_t *persistence = persist_info_new();
	if (info && persistence)
		json_object_set_new(info, "persistence", persistence);
	return op_ok(ctx, info);
}

static int op_ls(op_ctx *ctx)
{
	const char *prefix;
	int rc = arg_opt_string(ctx, "prefix", NULL, &prefix);
	return rc ? rc : op_ok(ctx, obj_list_new(prefix));
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
	return op_ok(ctx, sess_list_new());
}

const struct op_def admin_ops[] = {
	{BRK_OP_PING, op_ping, 0, ""},
	{BRK_OP_HELLO, op_hello, 0, ""},
	{BRK_OP_INFO, op_info, 0, ""},
	{BRK_OP_LS, op_ls, 0, "prefix"},
	{BRK_OP_STAT, op_stat, OPF_NAME, ""},
	{BRK_OP_DEL, op_del, OPF_NAME | OPF_STORE, ""},
	{BRK_OP_SESSIONS, op_sessions, 0, ""},
	{BRK_OP_SAVE, persist_save, 0, ""},
	{BRK_OP_ACK, op_ack, 0, ""},
	{BRK_OP_CANCEL, op_cancel, 0, "request"},
	{NULL, NULL, 0, NULL},
};
