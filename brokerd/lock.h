/* lock.h: Lock and RLock objects owned by sessions: a lock held by a session that ends is
 * released at once and handed to the oldest live waiter. */
#ifndef BROKER_LOCK_H
#define BROKER_LOCK_H

#include "object.h"
#include "session.h"

extern const struct obj_class lock_class, rlock_class;

/* A lock held by a session (sessions list it). */
extern const struct holding_class lock_holding_class;

#endif
