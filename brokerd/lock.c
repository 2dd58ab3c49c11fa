/* lock.c: Lock and RLock. The holder is a session and an owner within it (a client's
 * thread, PROTOCOL.md "Owners within a session"); each grant carries a fencing token from
 * one daemon-wide counter, above every token handed out before (also by a lock of the same
 * name that was deleted and made again). Waiters are granted in arrival order; a waiter
 * whose session ends is withdrawn, and a holder whose session ends releases the lock. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "clock.h"
#include "deadline.h"
#include "dispatch.h"
#include "envelope.h"
#include "lock.h"
#include "persist.h"
#include "ops.h"
#include "wait.h"

struct lock_hold;

typedef struct lock {
	bool reentrant;
	struct lock_hold *hold; /* NULL when unlocked */
	uint64_t fence;         /* the token of the latest grant */
	uint64_t lapsed;        /* the session whose lease lapsed, until it releases */
	uint64_t lapsed_owner;  /* and its owner */
	struct list waiters;    /* waiter.obj_link, arrival order */
	const char *name;       /* the object's name (the registry's copy) */
} lock;

/* The holder's side: in its session's holdings, so the session's end releases the lock. */
struct lock_hold {
	struct holding h;
	lock *l;
	session *s;
	uint64_t owner; /* within s */
	unsigned count; /* RLock depth */
	uint64_t fence;
	double since;          /* wall clock */
	struct deadline lease; /* set when acquired with a lease */
};

static void hand_off(lock *l);

/* held_by: whether owner of session s holds l. */
static bool held_by(const lock *l, const session *s, uint64_t owner)
{
	return l->hold && l->hold->s == s && l->hold->owner == owner;
}

static uint64_t last_fence; /* daemon-wide: tokens never repeat while brokerd runs */

/* ---- holding ---- */

static void unlock(lock *l)
{
	deadline_clear(&l->hold->lease);
	free(l->hold);
	l->hold = NULL;
	hand_off(l);
}

static void hold_release(struct holding *h, bool session_ended)
{
	(void)session_ended; /* either way the lock is free for the next waiter */
	unlock(((struct lock_hold *)h)->l);
}

static json_t *hold_describe_new(const struct holding *h)
{
	const struct lock_hold *lh = (const struct lock_hold *)h;
	return json_pack("{s:s, s:s, s:I, s:i, s:I}", "kind", lh->l->reentrant ? "rlock" : "lock",
			 "object", lh->l->name, "fence", (json_int_t)lh->fence, "count",
			 (int)lh->count, "owner", (json_int_t)lh->owner);
}

const struct holding_class lock_holding_class = {"lock", hold_release, hold_describe_new};

/* lease_lapsed: a holder that did not release in time loses the lock; its next release
 * is told so (lease_expired). */
static void lease_lapsed(struct deadline *d)
{
	struct lock_hold *lh = (struct lock_hold *)((char *)d - offsetof(struct lock_hold, lease));
	lock *l = lh->l;
	l->lapsed = lh->s->id;
	l->lapsed_owner = lh->owner;
	sess_drop(&lh->h);
	unlock(l);
}

/* grant: owner of session s now holds l, count times, for lease seconds (0: no lease);
 * returns base (stolen; NULL for {"acquired": true}) with the grant's "fence" and "count",
 * or NULL when out of memory. */
static json_t *grant(lock *l, session *s, uint64_t owner, unsigned count, json_t *base,
		     double lease)
{
	json_t *result = base ? base : json_pack("{s:b}", "acquired", 1);
	struct lock_hold *lh = result ? calloc(1, sizeof *lh) : NULL;
	if (!lh) {
		json_decref(result);
		return NULL;
	}
	lh->l = l;
	lh->s = s;
	lh->owner = owner;
	lh->count = count;
	lh->fence = l->fence = ++last_fence;
	persist_counter(PC_FENCE, last_fence);
	lh->since = clock_wall();
	lh->h.cls = &lock_holding_class;
	deadline_prepare(&lh->lease, lease_lapsed);
	if (lease > 0 && deadline_set(&lh->lease, lease) != 0) {
		free(lh);
		json_decref(result);
		return NULL;
	}
	if (!sess_hold(s, &lh->h)) {
		deadline_clear(&lh->lease);
		free(lh);
		json_decref(result);
		return NULL;
	}
	l->hold = lh;
	json_object_set_new(result, "fence", json_integer((json_int_t)lh->fence));
	json_object_set_new(result, "count", json_integer((json_int_t)count));
	return result;
}

/* hand_off: an unlocked lock goes to the oldest waiter whose client is still there. */
static void hand_off(lock *l)
{
	waiter *w;
	while (!l->hold && (w = wait_first_live(&l->waiters))) {
		/* a Condition waiter gets back its count and its own answer (see lock_reacquire) */
		unsigned count = w->priority > 0 ? (unsigned)w->priority : 1;
		json_t *result = grant(l, w->sess, w->owner, count, w->item, w->lease);
		w->item = NULL;
		if (!result) {
			wait_complete(w, BRK_EINTERNAL, NULL, "out of memory");
			continue;
		}
		wait_complete(w, BRK_OK, result, NULL);
	}
}

/* ---- ops ---- */

/* lookup: the lock ctx names, made when missing if create; else *out may be NULL (ops
 * that only look never create one). */
static int lookup(op_ctx *ctx, const struct obj_class *cls, bool create, lock **out)
{
	object *o;
	int rc = obj_lookup(ctx, cls, create, &o);
	if (rc == 0)
		*out = o ? o->impl : NULL;
	return rc;
}

static int acquire(op_ctx *ctx, const struct obj_class *cls, const char *op)
{
	lock *l;
	double timeout;
	double lease;
	int rc = lookup(ctx, cls, true, &l);
	if (rc || (rc = arg_wait(ctx, &timeout)) || (rc = arg_opt_number(ctx, "lease", 0, &lease)))
		return rc;
	if (json_object_get(ctx->args, "lease") && !(lease > 0 && lease <= PROTO_MAX_TIMEOUT))
		return op_fail(ctx, BRK_EBADARG, "'lease' must be from 0 (excluded) to %g seconds",
			       PROTO_MAX_TIMEOUT);
	if (!l->hold)
		return op_ok(ctx, grant(l, ctx->sess, ctx->owner, 1, NULL, lease));
	if (l->reentrant && held_by(l, ctx->sess, ctx->owner)) {
		l->hold->count++;
		return op_ok(ctx,
			     json_pack("{s:b, s:I, s:i}", "acquired", 1, "fence",
				       (json_int_t)l->hold->fence, "count", (int)l->hold->count));
	}
	if (timeout == 0)
		return op_ok(ctx, json_pack("{s:b}", "acquired", 0));
	waiter *w;
	rc = obj_park(ctx, &l->waiters, op, timeout, BRK_OK, &w);
	if (rc != OP_PARKED)
		return rc;
	w->timeout_result = json_pack("{s:b}", "acquired", 0);
	w->lease = lease;
	w->owner = ctx->owner;
	return OP_PARKED;
}

static int release(op_ctx *ctx, const struct obj_class *cls)
{
	lock *l;
	int rc = lookup(ctx, cls, false, &l);
	if (rc)
		return rc;
	if (!l)
		return op_fail(ctx, BRK_ENOTLOCKED, "release of unlocked %s '%s'", cls->name,
			       ctx->name);
	if (l->lapsed == ctx->sess->id && l->lapsed_owner == ctx->owner &&
	    !held_by(l, ctx->sess, ctx->owner)) {
		l->lapsed = l->lapsed_owner = 0;
		return op_fail(ctx, BRK_ELEASE, "your lease on '%s' lapsed; the lock was released",
			       ctx->name);
	}
	if (!l->hold)
		return op_fail(ctx, BRK_ENOTLOCKED, "release of unlocked %s '%s'", cls->name,
			       ctx->name);
	if (!held_by(l, ctx->sess, ctx->owner))
		return op_fail(ctx, BRK_ENOTOWNER, "%s '%s' is held by session %llu owner %llu",
			       cls->name, ctx->name, (unsigned long long)l->hold->s->id,
			       (unsigned long long)l->hold->owner);
	if (--l->hold->count == 0) {
		sess_drop(&l->hold->h);
		unlock(l);
	}
	return op_ok(ctx, json_null());
}

static int locked(op_ctx *ctx, const struct obj_class *cls)
{
	lock *l;
	int rc = lookup(ctx, cls, false, &l);
	return rc ? rc : op_ok(ctx, json_boolean(l && l->hold != NULL));
}

static int op_lock_acquire(op_ctx *ctx)
{
	return acquire(ctx, &lock_class, BRK_OP_LOCK_ACQUIRE);
}

static int op_lock_release(op_ctx *ctx)
{
	return release(ctx, &lock_class);
}

static int op_lock_locked(op_ctx *ctx)
{
	return locked(ctx, &lock_class);
}

static int op_rlock_acquire(op_ctx *ctx)
{
	return acquire(ctx, &rlock_class, BRK_OP_RLOCK_ACQUIRE);
}

static int op_rlock_release(op_ctx *ctx)
{
	return release(ctx, &rlock_class);
}

static int op_rlock_locked(op_ctx *ctx)
{
	return locked(ctx, &rlock_class);
}

/* ---- for Condition ---- */

static const struct obj_class *class_of(const object *o)
{
	return o && o->cls == &rlock_class ? &rlock_class : &lock_class;
}

bool lock_is(const object *o)
{
	return o && (o->cls == &lock_class || o->cls == &rlock_class);
}

bool lock_held_by(const object *o, const session *s, uint64_t owner)
{
	return held_by(o->impl, s, owner);
}

unsigned lock_release_for_wait(object *o)
{
	lock *l = o->impl;
	unsigned count = l->hold->count;
	sess_drop(&l->hold->h);
	unlock(l);
	return count;
}

void lock_reacquire(object *o, waiter *w, unsigned count, json_t *base)
{
	lock *l = o->impl;
	list_remove(&w->obj_link);
	wait_untime(w);
	w->obj = o;
	w->op = l->reentrant ? BRK_OP_RLOCK_ACQUIRE : BRK_OP_LOCK_ACQUIRE;
	w->on_timeout = w->on_withdraw = NULL;
	w->priority = (double)count;
	json_decref(w->item);
	w->item = base;
	list_push_back(&l->waiters, &w->obj_link);
	hand_off(l);
}

int lock_forward(op_ctx *ctx, const char *lock_name, bool acquiring)
{
	op_ctx sub = *ctx;
	sub.name = lock_name;
	const struct obj_class *cls = class_of(obj_find(lock_name));
	int rc = acquiring
			 ? acquire(&sub, cls,
				   cls == &rlock_class ? BRK_OP_RLOCK_ACQUIRE : BRK_OP_LOCK_ACQUIRE)
			 : release(&sub, cls);
	ctx->result = sub.result;
	ctx->err = sub.err;
	memcpy(ctx->msg, sub.msg, sizeof ctx->msg);
	return rc;
}

const struct op_def lock_ops[] = {
	{BRK_OP_LOCK_ACQUIRE, op_lock_acquire, OPF_NAME | OPF_OWNER, "block,timeout,lease"},
	{BRK_OP_LOCK_RELEASE, op_lock_release, OPF_NAME | OPF_OWNER, ""},
	{BRK_OP_LOCK_LOCKED, op_lock_locked, OPF_NAME | OPF_OWNER | OPF_RO, ""},
	{BRK_OP_RLOCK_ACQUIRE, op_rlock_acquire, OPF_NAME | OPF_OWNER, "block,timeout,lease"},
	{BRK_OP_RLOCK_RELEASE, op_rlock_release, OPF_NAME | OPF_OWNER, ""},
	{BRK_OP_RLOCK_LOCKED, op_rlock_locked, OPF_NAME | OPF_OWNER | OPF_RO, ""},
	{NULL, NULL, 0, NULL},
};

/* ---- classes ---- */

static void *create_lock(op_ctx *ctx, const char *name)
{
	lock *l = calloc(1, sizeof *l);
	if (!l) {
		op_fail(ctx, BRK_EINTERNAL, "out of memory");
		return NULL;
	}
	l->name = name;
	list_init(&l->waiters);
	return l;
}

static void *create_rlock(op_ctx *ctx, const char *name)
{
	lock *l = create_lock(ctx, name);
	if (l)
		l->reentrant = true;
	return l;
}

/* destroy: a deleted lock stops being held (its waiters were answered "deleted"). */
static void destroy(void *impl)
{
	lock *l = impl;
	if (l->hold) {
		sess_drop(&l->hold->h);
		deadline_clear(&l->hold->lease);
		free(l->hold);
	}
	free(l);
}

static size_t size(const void *impl)
{
	const lock *l = impl;
	return l->hold ? l->hold->count : 0;
}

static size_t waiters(const void *impl)
{
	return list_length(&((const lock *)impl)->waiters);
}

static json_t *stat_new(const void *impl)
{
	const lock *l = impl;
	json_t *holder = json_null();
	if (l->hold) {
		const session *s = l->hold->s;
		holder = json_pack("{s:I, s:I, s:s, s:f, s:I, s:i}", "session", (json_int_t)s->id,
				   "owner", (json_int_t)l->hold->owner, "peer", s->peer, "since",
				   l->hold->since, "fence", (json_int_t)l->hold->fence, "count",
				   (int)l->hold->count);
		if (holder && s->has_cred)
			json_object_set_new(holder, "pid", json_integer((json_int_t)s->pid));
		if (holder && deadline_is_set(&l->hold->lease))
			json_object_set_new(holder, "lease_left",
					    json_real(deadline_left(&l->hold->lease)));
	}
	return json_pack("{s:b, s:o, s:I, s:o}", "locked", l->hold != NULL, "holder", holder,
			 "fence", (json_int_t)l->fence, "waiting", wait_list_new(&l->waiters));
}

static void complete_waiters(void *impl, brk_err err, const char *msg)
{
	wait_complete_list(&((lock *)impl)->waiters, err, msg);
}

const struct obj_class lock_class = {
	"lock",           create_lock, destroy, size, waiters, stat_new,
	complete_waiters, false,       NULL,    NULL, NULL,    NULL,
};

const struct obj_class rlock_class = {
	"rlock",          create_rlock, destroy, size, waiters, stat_new,
	complete_waiters, false,        NULL,    NULL, NULL,    NULL,
};

void lock_fence_floor(uint64_t fence)
{
	if (fence > last_fence)
		last_fence = fence;
}
