/* event.c: Event, as Python's: set wakes every waiter with true; wait on a set event
 * returns at once; a wait that times out answers false. */
#include <stdlib.h>

#include "args.h"
#include "dispatch.h"
#include "event.h"
#include "ops.h"
#include "wait.h"

typedef struct event_obj {
	bool set;
	struct list waiters; /* waiter.obj_link */
} event_obj;

/* lookup: the event ctx names, made when missing if create; else *out may be NULL (ops
 * that only look never create one: PROTOCOL.md "Names"). */
static int lookup(op_ctx *ctx, bool create, event_obj **out)
{
	object *o;
	int rc = obj_lookup(ctx, &event_class, create, &o);
	if (rc == 0)
		*out = o ? o->impl : NULL;
	return rc;
}

static int op_set(op_ctx *ctx)
{
	event_obj *e;
	waiter *w;
	int rc = lookup(ctx, true, &e);
	if (rc)
		return rc;
	e->set = true;
	while ((w = wait_first(&e->waiters)))
		wait_complete(w, BRK_OK, json_true(), NULL);
	return op_ok(ctx, json_null());
}

static int op_clear(op_ctx *ctx)
{
	event_obj *e;
	int rc = lookup(ctx, false, &e);
	if (rc == 0 && e)
		e->set = false;
	return rc ? rc : op_ok(ctx, json_null());
}

static int op_is_set(op_ctx *ctx)
{
	event_obj *e;
	int rc = lookup(ctx, false, &e);
	return rc ? rc : op_ok(ctx, json_boolean(e && e->set));
}

static int op_wait(op_ctx *ctx)
{
	event_obj *e;
	double timeout;
	int rc = arg_wait(ctx, &timeout);
	if (rc || (rc = lookup(ctx, timeout != 0, &e)))
		return rc;
	if (!e || e->set || timeout == 0)
		return op_ok(ctx, json_boolean(e && e->set));
	waiter *w;
	rc = obj_park(ctx, &e->waiters, BRK_OP_EVENT_WAIT, timeout, BRK_OK, &w);
	if (rc == OP_PARKED)
		w->timeout_result = json_false();
	return rc;
}

const struct op_def event_ops[] = {
	{BRK_OP_EVENT_SET, op_set, OPF_NAME, ""},
	{BRK_OP_EVENT_CLEAR, op_clear, OPF_NAME, ""},
	{BRK_OP_EVENT_IS_SET, op_is_set, OPF_NAME | OPF_RO, ""},
	{BRK_OP_EVENT_WAIT, op_wait, OPF_NAME, "timeout"},
	{NULL, NULL, 0, NULL},
};

static void *create(op_ctx *ctx, const char *name)
{
	(void)name;
	event_obj *e = calloc(1, sizeof *e);
	if (!e) {
		op_fail(ctx, BRK_EINTERNAL, "out of memory");
		return NULL;
	}
	list_init(&e->waiters);
	return e;
}

static void destroy(void *impl)
{
	free(impl);
}

static size_t size(const void *impl)
{
	return ((const event_obj *)impl)->set;
}

static size_t waiters(const void *impl)
{
	return list_length(&((const event_obj *)impl)->waiters);
}

static json_t *stat_new(const void *impl)
{
	const event_obj *e = impl;
	return json_pack("{s:b, s:o}", "set", e->set, "waiting", wait_list_new(&e->waiters));
}

static void complete_waiters(void *impl, brk_err err, const char *msg)
{
	wait_complete_list(&((event_obj *)impl)->waiters, err, msg);
}

const struct obj_class event_class = {
	"event",          create, destroy, size, waiters, stat_new,
	complete_waiters, false,  NULL,    NULL, NULL,    NULL,
};
