/* condition.c: Condition, as Python's: wait releases the condition's lock, parks, and takes
 * the lock back (in turn with the lock's other waiters) before it answers true (notified)
 * or false (timed out). Waiting or notifying without holding the lock is not_owner. A
 * waiter whose client goes away is withdrawn wherever it is, so it never keeps the lock. */
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "auth.h"
#include "condition.h"
#include "dispatch.h"
#include "envelope.h"
#include "lock.h"
#include "ops.h"
#include "wait.h"

typedef struct condition {
	char *lock_name;
	struct list waiters; /* waiter.obj_link, arrival order; waiter.priority: lock count */
} condition;

static int lookup(op_ctx *ctx, condition **out)
{
	object *o;
	int rc = obj_lookup(ctx, &condition_class, false, &o);
	if (rc == 0 && !o)
		return op_fail(ctx, BRK_ENOTFOUND,
			       "no condition '%s'; create it with condition.create", ctx->name);
	if (rc == 0)
		*out = o->impl;
	return rc;
}

/* held_lock: the condition's lock, when ctx's session and owner hold it; else an error on
 * ctx. */
static int held_lock(op_ctx *ctx, condition *cv, const char *what, object **out)
{
	object *lk = obj_find(cv->lock_name);
	if (!lock_is(lk) || !lock_held_by(lk, ctx->sess, ctx->owner))
		return op_fail(ctx, BRK_ENOTOWNER, "cannot %s on un-acquired lock '%s'", what,
			       cv->lock_name);
	*out = lk;
	return 0;
}

/* wake: w goes back to the lock it released, to be answered {"notified": notified, ...}. */
static void wake(condition *cv, waiter *w, bool notified)
{
	object *lk = obj_find(cv->lock_name);
	if (!lock_is(lk)) {
		wait_complete(w, BRK_EDELETED, NULL, "the condition's lock was deleted");
		return;
	}
	lock_reacquire(lk, w, (unsigned)w->priority, json_pack("{s:b}", "notified", notified));
}

static void on_timeout(waiter *w)
{
	wake(w->obj->impl, w, false);
}

static bool same_settings(const void *existing, const void *built)
{
	return strcmp(((const condition *)existing)->lock_name,
		      ((const condition *)built)->lock_name) == 0;
}

static int op_create(op_ctx *ctx)
{
	return obj_create(ctx, &condition_class, same_settings);
}

static int op_acquire(op_ctx *ctx)
{
	condition *cv = NULL;
	int rc = lookup(ctx, &cv);
	return rc ? rc : lock_forward(ctx, cv->lock_name, true);
}

static int op_release(op_ctx *ctx)
{
	condition *cv = NULL;
	int rc = lookup(ctx, &cv);
	return rc ? rc : lock_forward(ctx, cv->lock_name, false);
}

static int op_wait(op_ctx *ctx)
{
	condition *cv = NULL;
	object *lk = NULL;
	double timeout;
	int rc = lookup(ctx, &cv);
	if (rc || (rc = held_lock(ctx, cv, "wait", &lk)) || (rc = arg_wait(ctx, &timeout)))
		return rc;
	if (!ctx->req)
		return op_fail(ctx, BRK_EBADARG, "condition.wait cannot be part of a batch");
	waiter *w;
	rc = obj_park(ctx, &cv->waiters, BRK_OP_COND_WAIT, timeout, BRK_OK, &w);
	if (rc != OP_PARKED)
		return rc;
	w->on_timeout = on_timeout;
	w->owner = ctx->owner; /* the lock comes back to the same owner */
	w->priority = (double)lock_release_for_wait(lk);
	if (timeout == 0)
		wake(cv, w, false);
	return OP_PARKED;
}

static int notify(op_ctx *ctx, bool all)
{
	condition *cv = NULL;
	object *lk = NULL;
	json_int_t n;
	int rc = lookup(ctx, &cv);
	if (rc || (rc = held_lock(ctx, cv, "notify", &lk)) || (rc = arg_opt_int(ctx, "n", 1, &n)))
		return rc;
	if (n < 0)
		return op_fail(ctx, BRK_EBADARG, "'n' must be 0 or more");
	waiter *w;
	json_int_t woken = 0;
	while ((all || woken < n) && (w = wait_first(&cv->waiters))) {
		wake(cv, w, true);
		woken++;
	}
	return op_ok(ctx, json_integer(woken));
}

static int op_notify(op_ctx *ctx)
{
	return notify(ctx, false);
}

static int op_notify_all(op_ctx *ctx)
{
	return notify(ctx, true);
}

const struct op_def condition_ops[] = {
	{BRK_OP_COND_CREATE, op_create, OPF_NAME | OPF_OWNER | OPF_GROW, "lock,lock_type"},
	{BRK_OP_COND_ACQUIRE, op_acquire, OPF_NAME | OPF_OWNER, "block,timeout"},
	{BRK_OP_COND_RELEASE, op_release, OPF_NAME | OPF_OWNER, ""},
	{BRK_OP_COND_WAIT, op_wait, OPF_NAME | OPF_OWNER, "timeout"},
	{BRK_OP_COND_NOTIFY, op_notify, OPF_NAME | OPF_OWNER, "n"},
	{BRK_OP_COND_NOTIFY_ALL, op_notify_all, OPF_NAME | OPF_OWNER, ""},
	{NULL, NULL, 0, NULL},
};

/* make_lock: the condition's lock called lock_name, made of the type ctx's "lock_type"
 * names ("lock", the default, or "rlock") when it does not exist. 0 or the error. */
static int make_lock(op_ctx *ctx, const char *lock_name)
{
	const char *type;
	object *lk;
	if (arg_opt_string(ctx, "lock_type", "lock", &type))
		return ctx->err;
	if (strcmp(type, "lock") && strcmp(type, "rlock"))
		return op_fail(ctx, BRK_EBADARG, "'lock_type' must be \"lock\" or \"rlock\"");
	op_ctx sub = {.sess = ctx->sess, .args = ctx->args, .name = lock_name};
	lk = obj_find(lock_name);
	if (lk && !lock_is(lk))
		return op_fail(ctx, BRK_EWRONGTYPE, "'%s' is a %s, not a lock", lock_name,
			       lk->cls->name);
	if (!lk && obj_lookup(&sub, type[0] == 'r' ? &rlock_class : &lock_class, true, &lk))
		return op_fail(ctx, sub.err, "%s", sub.msg);
	return 0;
}

static void *create(op_ctx *ctx, const char *name)
{
	const char *lock_name;
	(void)name;
	if (arg_opt_string(ctx, "lock", NULL, &lock_name))
		return NULL;
	if (!lock_name || !*lock_name || strlen(lock_name) > PROTO_MAX_NAME) {
		op_fail(ctx, BRK_EBADARG, "a condition needs 'lock', the name of its lock");
		return NULL;
	}
	if (auth_name_refused(ctx, lock_name) || make_lock(ctx, lock_name))
		return NULL;
	condition *cv = calloc(1, sizeof *cv);
	if (!cv || !(cv->lock_name = strdup(lock_name))) {
		free(cv);
		op_fail(ctx, BRK_EINTERNAL, "out of memory");
		return NULL;
	}
	list_init(&cv->waiters);
	return cv;
}

static void destroy(void *impl)
{
	condition *cv = impl;
	free(cv->lock_name);
	free(cv);
}

static size_t size(const void *impl)
{
	(void)impl;
	return 0;
}

static size_t waiters(const void *impl)
{
	return list_length(&((const condition *)impl)->waiters);
}

static json_t *stat_new(const void *impl)
{
	const condition *cv = impl;
	return json_pack("{s:s, s:o}", "lock", cv->lock_name, "waiting",
			 wait_list_new(&cv->waiters));
}

static void complete_waiters(void *impl, brk_err err, const char *msg)
{
	wait_complete_list(&((condition *)impl)->waiters, err, msg);
}

const struct obj_class condition_class = {
	"condition",      create, destroy, size, waiters, stat_new,
	complete_waiters, false,  NULL,    NULL, NULL,    NULL,
};
