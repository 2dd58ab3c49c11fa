/* lock.h: Lock and RLock objects owned by sessions: a lock held by a session that ends is
 * released at once and handed to the oldest live waiter. */
#ifndef BROKER_LOCK_H
#define BROKER_LOCK_H

#include <stdint.h>

#include "object.h"
#include "session.h"

extern const struct obj_class lock_class, rlock_class;

/* A lock held by a session (sessions list it). */
extern const struct holding_class lock_holding_class;

struct op_ctx;
struct waiter;

/* What Condition needs of its lock. */

/* lock_is: whether o is a Lock or an RLock. */
bool lock_is(const object *o);

/* lock_held_by: whether owner of session s holds lock o. */
bool lock_held_by(const object *o, const session *s, uint64_t owner);

/* lock_release_for_wait: the holder lets go of o completely (whatever an RLock's count), as
 * Condition.wait does; returns the count it had. */
unsigned lock_release_for_wait(object *o);

/* lock_reacquire: parked request w takes o back, for w->owner, with count once it is its
 * turn (at once if free), then is answered base (stolen: an object) plus the grant's "fence"
 * and "count". w leaves whatever list and deadline it had. */
void lock_reacquire(object *o, struct waiter *w, unsigned count, json_t *base);

/* lock_forward: runs lock.acquire (acquiring) or lock.release for ctx on lock_name (a Lock,
 * or an RLock if that name is one), leaving the outcome in ctx; returns as a handler does. */
int lock_forward(struct op_ctx *ctx, const char *lock_name, bool acquiring);

/* lock_fence_floor: fencing tokens handed out from now on are above fence (the data dir's
 * reserved mark: tokens never go back across a restart). */
void lock_fence_floor(uint64_t fence);

#endif
