/* barrier.c: Barrier, as Python's threading.Barrier: parties wait until all have arrived,
 * then each gets its arrival index. A timeout, an abort, or a waiting party whose client
 * goes away breaks the barrier: every waiter gets broken_barrier, and so does every wait
 * until reset. */
#include <stdlib.h>

#include "args.h"
#include "dispatch.h"
#include "envelope.h"
#include "barrier.h"
#include "ops.h"
#include "wait.h"

typedef struct barrier {
	long parties;
	double timeout; /* default for waits; negative: none */
	bool broken;
	long arrived;        /* parties in the current round */
	struct list waiters; /* waiter.obj_link, arrival order; waiter.priority is the index */
} barrier;

/* break_round: the barrier breaks; every waiter of the round is told so. */
static void break_round(barrier *b, const char *why)
{
	b->broken = true;
	b->arrived = 0;
	wait_complete_list(&b->waiters, BRK_EBROKEN, why);
}

static void on_timeout(waiter *w)
{
	break_round(w->obj->impl, "the barrier broke: a party's wait timed out");
}

static void on_withdraw(waiter *w)
{
	break_round(w->obj->impl, "the barrier broke: a waiting party went away");
}

/* trip: the last party arrived; every waiter gets its index and a new round begins. */
static void trip(barrier *b)
{
	waiter *w;
	b->arrived = 0;
	while ((w = wait_first(&b->waiters)))
		wait_complete(w, BRK_OK, json_integer((json_int_t)w->priority), NULL);
}

static int lookup(op_ctx *ctx, barrier **out)
{
	object *o;
	int rc = obj_lookup(ctx, &barrier_class, false, &o);
	if (rc == 0 && !o)
		return op_fail(ctx, BRK_ENOTFOUND, "no barrier '%s'; create it with barrier.create",
			       ctx->name);
	if (rc == 0)
		*out = o->impl;
	return rc;
}

static bool same_settings(const void *existing, const void *built)
{
	const barrier *a = existing, *b = built;
	return a->parties == b->parties && a->timeout == b->timeout;
}

static int op_create(op_ctx *ctx)
{
	return obj_create(ctx, &barrier_class, same_settings);
}

static int op_wait(op_ctx *ctx)
{
	barrier *b = NULL;
	double timeout;
	int rc = lookup(ctx, &b);
	if (rc)
		return rc;
	timeout = ctx->req ? b->timeout : 0; /* the barrier's own timeout unless given */
	if (json_object_get(ctx->args, "timeout") && (rc = arg_wait(ctx, &timeout)))
		return rc;
	if (b->broken)
		return op_fail(ctx, BRK_EBROKEN, "barrier '%s' is broken; reset it", ctx->name);
	long index = b->arrived;
	if (index + 1 == b->parties) { /* the last party: everyone goes, this one too */
		trip(b);
		return op_ok(ctx, json_integer((json_int_t)index));
	}
	if (timeout == 0) {
		break_round(b, "the barrier broke: a party would not wait");
		return op_fail(ctx, BRK_EBROKEN, "barrier '%s' broke: not all parties had arrived",
			       ctx->name);
	}
	waiter *w;
	rc = obj_park(ctx, &b->waiters, BRK_OP_BARRIER_WAIT, timeout, BRK_EBROKEN, &w);
	if (rc != OP_PARKED)
		return rc;
	b->arrived++;
	w->priority = (double)index;
	w->on_timeout = on_timeout;
	w->on_withdraw = on_withdraw;
	return OP_PARKED;
}

static int op_abort(op_ctx *ctx)
{
	barrier *b = NULL;
	int rc = lookup(ctx, &b);
	if (rc == 0)
		break_round(b, "the barrier was aborted");
	return rc ? rc : op_ok(ctx, json_null());
}

static int op_reset(op_ctx *ctx)
{
	barrier *b = NULL;
	int rc = lookup(ctx, &b);
	if (rc)
		return rc;
	break_round(b, "the barrier was reset");
	b->broken = false;
	return op_ok(ctx, json_null());
}

const struct op_def barrier_ops[] = {
	{BRK_OP_BARRIER_CREATE, op_create, OPF_NAME | OPF_GROW, "parties,timeout"},
	{BRK_OP_BARRIER_WAIT, op_wait, OPF_NAME, "timeout"},
	{BRK_OP_BARRIER_ABORT, op_abort, OPF_NAME, ""},
	{BRK_OP_BARRIER_RESET, op_reset, OPF_NAME, ""},
	{NULL, NULL, 0, NULL},
};

static void *create(op_ctx *ctx, const char *name)
{
	json_int_t parties;
	double timeout;
	(void)name;
	if (arg_opt_int(ctx, "parties", 0, &parties) ||
	    arg_opt_number(ctx, "timeout", -1, &timeout))
		return NULL;
	if (parties < 1 || parties > 1000000) {
		op_fail(ctx, BRK_EBADARG, "a barrier needs 'parties', from 1 to 1e6");
		return NULL;
	}
	if (json_object_get(ctx->args, "timeout") && (timeout < 0 || timeout > PROTO_MAX_TIMEOUT)) {
		op_fail(ctx, BRK_EBADARG, "'timeout' must be from 0 to %g seconds",
			PROTO_MAX_TIMEOUT);
		return NULL;
	}
	barrier *b = calloc(1, sizeof *b);
	if (!b) {
		op_fail(ctx, BRK_EINTERNAL, "out of memory");
		return NULL;
	}
	b->parties = (long)parties;
	b->timeout = timeout;
	list_init(&b->waiters);
	return b;
}

static void destroy(void *impl)
{
	free(impl);
}

static size_t size(const void *impl)
{
	return (size_t)((const barrier *)impl)->arrived;
}

static size_t waiters(const void *impl)
{
	return list_length(&((const barrier *)impl)->waiters);
}

static json_t *stat_new(const void *impl)
{
	const barrier *b = impl;
	json_t *st = json_pack("{s:I, s:I, s:b, s:o}", "parties", (json_int_t)b->parties,
			       "n_waiting", (json_int_t)b->arrived, "broken", b->broken, "waiting",
			       wait_list_new(&b->waiters));
	if (st && b->timeout >= 0)
		json_object_set_new(st, "timeout", json_real(b->timeout));
	return st;
}

static void complete_waiters(void *impl, brk_err err, const char *msg)
{
	wait_complete_list(&((barrier *)impl)->waiters, err, msg);
}

const struct obj_class barrier_class = {
	"barrier",        create, destroy, size, waiters, stat_new,
	complete_waiters, false,  NULL,    NULL, NULL,    NULL,
};
