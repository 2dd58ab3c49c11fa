/* broker.h: libbroker, the C client of brokerd. The only header a program includes.
 *
 * Threads: a brk_client may be shared by any number of threads; each call is one request
 * (at most 64 are in flight per client; more callers wait their turn).
 * Errors: every call returns BRK_OK or a brk_err; brk_last_error() then gives the message
 * for the calling thread (the daemon's own text for errors it reported).
 * Ownership (jansson's rule): json_t * arguments are borrowed unless the contract says
 * "stolen"; json_t ** results are new references the caller must json_decref.
 * Timeouts: seconds as a double; BRK_FOREVER (negative) waits without limit, 0 does not
 * wait at all (Python's block=False), a positive value waits at most that long (values
 * over 1e8 s, about three years, wait without limit). */
#ifndef BROKER_H
#define BROKER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "brk_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct brk_client brk_client;

#define BRK_FOREVER (-1.0)

typedef struct brk_options {
	double reply_grace;  /* seconds a reply may take beyond the op's own timeout; default 30 */
	double send_timeout; /* seconds to wait for a connection to send on; default 10 */
	int max_in_flight;   /* requests in flight at once, 1..64; default 64 */
} brk_options;

/* brk_connect: connects to url (NULL: $BROKERD_URL, else the default address) and greets
 * the daemon. opts may be NULL for defaults. On BRK_OK *out is a client to brk_close. */
brk_err brk_connect(const char *url, const brk_options *opts, brk_client **out);

/* brk_close: closes c and frees it. No other thread may be inside a call on c. */
void brk_close(brk_client *c);

/* brk_last_error: the message of the calling thread's last failed call (static to the
 * thread, valid until its next call). */
const char *brk_last_error(void);

/* brk_session_id: the daemon's id for this client's session (as in "brokerctl sessions"). */
uint64_t brk_session_id(const brk_client *c);

/* brk_max_message: the largest request the daemon accepts on this connection, in bytes.
 * Larger requests fail with BRK_ETOOBIG before they are sent. */
size_t brk_max_message(const brk_client *c);

/* ---- raw protocol ---- */

/* brk_request_new: a request object {"op": op, "name": name, ...args}; args (an object or
 * NULL) is stolen; name may be NULL. NULL on bad input. */
json_t *brk_request_new(const char *op, const char *name, json_t *args);

/* brk_call: sends request (borrowed) and waits for its reply. On BRK_OK *result (if not
 * NULL) is the reply's result; on an error reply the code is returned. */
brk_err brk_call(brk_client *c, const json_t *request, json_t **result);

/* brk_batch: runs the array of requests ops (borrowed) as one atomic batch: no other
 * client's op runs between them. *results is an array of one reply envelope per op;
 * read each with brk_batch_result. Blocking ops need "block": false. */
brk_err brk_batch(brk_client *c, const json_t *ops, json_t **results);

/* brk_batch_result: the outcome of op i in results; on BRK_OK *result borrows its result. */
brk_err brk_batch_result(const json_t *results, size_t i, json_t **result);

/* ---- daemon ---- */

brk_err brk_ping(brk_client *c);
/* brk_info: version, uptime, sessions, objects, memory... (PROTOCOL.md "info"). */
brk_err brk_info(brk_client *c, json_t **info);
/* brk_ls: summaries of the objects whose names start with prefix (NULL: all). */
brk_err brk_ls(brk_client *c, const char *prefix, json_t **list);
brk_err brk_stat(brk_client *c, const char *name, json_t **stat);
/* brk_del: deletes an object; its waiters get BRK_EDELETED. */
brk_err brk_del(brk_client *c, const char *name);
brk_err brk_sessions(brk_client *c, json_t **list);

/* ---- queues ---- */

typedef enum brk_queue_kind { BRK_FIFO, BRK_LIFO, BRK_PRIORITY } brk_queue_kind;

/* brk_queue_create: creates a queue (maxsize <= 0: unbounded). Creating an existing queue
 * with the same settings is fine; other settings give BRK_EEXISTS. Queue ops on a missing
 * name create an unbounded FIFO queue. */
brk_err brk_queue_create(brk_client *c, const char *name, brk_queue_kind kind, long maxsize);
/* brk_queue_put: appends value; on a full queue waits up to timeout, then BRK_EFULL. */
brk_err brk_queue_put(brk_client *c, const char *name, const json_t *value, double timeout);
/* brk_queue_put_priority: the same for a priority queue; lower priority comes out first. */
brk_err brk_queue_put_priority(brk_client *c, const char *name, const json_t *value,
			       double priority, double timeout);
/* brk_queue_get: removes the next item into *value; on an empty queue waits up to timeout,
 * then BRK_EEMPTY. The item is confirmed to brokerd with this client's next call (or by
 * brk_close); should the process die before that, brokerd puts the item back at the front
 * of its queue for another consumer. Delivery is thus at-least-once: an item is never lost
 * to a dead consumer, and is seen twice only if its consumer died holding it. */
brk_err brk_queue_get(brk_client *c, const char *name, double timeout, json_t **value);
brk_err brk_queue_qsize(brk_client *c, const char *name, size_t *size);
brk_err brk_queue_empty(brk_client *c, const char *name, bool *empty);
brk_err brk_queue_full(brk_client *c, const char *name, bool *full);
/* brk_queue_task_done: marks one item done; more than were put gives BRK_EVALUE. */
brk_err brk_queue_task_done(brk_client *c, const char *name);
/* brk_queue_join: waits until every item put is done; BRK_ETIMEOUT after timeout. */
brk_err brk_queue_join(brk_client *c, const char *name, double timeout);

/* ---- locks ----
 * A lock is held by this client's session: if the process dies or the client is closed,
 * brokerd releases it at once and grants it to the next waiter (in arrival order). */

typedef enum brk_lock_kind { BRK_LOCK, BRK_RLOCK } brk_lock_kind;

/* brk_lock_acquire: acquires lock name (created on first use as kind; an RLock may be
 * acquired again by its holder), waiting up to timeout. *acquired tells whether it was;
 * if so and fence is not NULL, *fence is the grant's fencing token, which increases with
 * every grant of this lock (hand it to a resource so it can refuse stale holders). */
brk_err brk_lock_acquire(brk_client *c, const char *name, brk_lock_kind kind, double timeout,
			 bool *acquired, uint64_t *fence);
/* brk_lock_acquire_lease: as brk_lock_acquire, holding for at most lease seconds: if this
 * client has not released by then (hung but connected), brokerd releases the lock, hands it
 * on, and this client's next release gets BRK_ELEASE. */
brk_err brk_lock_acquire_lease(brk_client *c, const char *name, brk_lock_kind kind, double timeout,
			       double lease, bool *acquired, uint64_t *fence);
/* brk_lock_release: releases once; BRK_ENOTOWNER if another session holds it, BRK_ENOTLOCKED
 * if nobody does. */
brk_err brk_lock_release(brk_client *c, const char *name, brk_lock_kind kind);
brk_err brk_lock_locked(brk_client *c, const char *name, brk_lock_kind kind, bool *locked);

/* ---- semaphores ----
 * Permits are held by this client's session and come back if the process dies. */

/* brk_semaphore_create: value permits (>= 0); bounded refuses releases above value. Creating
 * an existing one with the same settings is fine; other settings give BRK_EEXISTS.
 * Acquiring a missing name creates an unbounded semaphore of 1. */
brk_err brk_semaphore_create(brk_client *c, const char *name, long value, bool bounded);
/* brk_semaphore_acquire: takes n permits, waiting up to timeout; *acquired tells whether. */
brk_err brk_semaphore_acquire(brk_client *c, const char *name, long n, double timeout,
			      bool *acquired);
/* brk_semaphore_release: gives n permits back; BRK_EVALUE above a bounded one's value. */
brk_err brk_semaphore_release(brk_client *c, const char *name, long n);
brk_err brk_semaphore_value(brk_client *c, const char *name, size_t *value);

/* ---- events ---- */

brk_err brk_event_set(brk_client *c, const char *name);
brk_err brk_event_clear(brk_client *c, const char *name);
brk_err brk_event_is_set(brk_client *c, const char *name, bool *set);
/* brk_event_wait: waits up to timeout for the event; *set is the flag at the end. */
brk_err brk_event_wait(brk_client *c, const char *name, double timeout, bool *set);

/* ---- conditions ---- */

/* brk_condition_create: a condition bound to lock lock_name (a Lock, or an RLock if that
 * name is one; created as a Lock if free). */
brk_err brk_condition_create(brk_client *c, const char *name, const char *lock_name);
/* brk_condition_acquire / release: of the condition's lock, as brk_lock_acquire / release. */
brk_err brk_condition_acquire(brk_client *c, const char *name, double timeout, bool *acquired);
brk_err brk_condition_release(brk_client *c, const char *name);
/* brk_condition_wait: with the lock held: releases it, waits up to timeout for a notify,
 * and takes the lock back before returning; *notified is false after a timeout (the lock is
 * held again either way). BRK_ENOTOWNER without the lock. */
brk_err brk_condition_wait(brk_client *c, const char *name, double timeout, bool *notified);
/* brk_condition_wait_for: Python's wait_for, as a loop here: waits (notified or not) until
 * predicate(arg) is true or timeout has passed; *satisfied is the predicate's last answer.
 * The predicate runs with the lock held. */
brk_err brk_condition_wait_for(brk_client *c, const char *name, bool (*predicate)(void *arg),
			       void *arg, double timeout, bool *satisfied);
/* brk_condition_notify: wakes up to n waiters (with the lock held); *woken may be NULL. */
brk_err brk_condition_notify(brk_client *c, const char *name, long n, long *woken);
brk_err brk_condition_notify_all(brk_client *c, const char *name, long *woken);

/* ---- barriers ---- */

/* brk_barrier_create: parties (>= 1) must wait together; timeout (negative: none) is the
 * default for waits. Same settings again is fine; others give BRK_EEXISTS. */
brk_err brk_barrier_create(brk_client *c, const char *name, long parties, double timeout);
/* brk_barrier_wait: waits for every party (timeout < 0: the barrier's own); *index is this
 * party's arrival index, 0 .. parties-1. BRK_EBROKEN when the barrier is or becomes broken:
 * a timeout, an abort, a reset, or a waiting party's process dying. */
brk_err brk_barrier_wait(brk_client *c, const char *name, double timeout, long *index);
brk_err brk_barrier_abort(brk_client *c, const char *name);
brk_err brk_barrier_reset(brk_client *c, const char *name);

/* ---- dicts ----
 * Keys are JSON scalars: 0 and "0" are different keys, 1 and 1.0 the same. */

/* brk_dict_get: the value for key; BRK_EKEY when absent. */
brk_err brk_dict_get(brk_client *c, const char *name, const json_t *key, json_t **value);
/* brk_dict_get_default: the value for key, or a new reference to dflt when absent. */
brk_err brk_dict_get_default(brk_client *c, const char *name, const json_t *key, const json_t *dflt,
			     json_t **value);
brk_err brk_dict_set(brk_client *c, const char *name, const json_t *key, const json_t *value);
/* brk_dict_delete: removes key; BRK_EKEY when absent. */
brk_err brk_dict_delete(brk_client *c, const char *name, const json_t *key);
brk_err brk_dict_contains(brk_client *c, const char *name, const json_t *key, bool *found);
brk_err brk_dict_len(brk_client *c, const char *name, size_t *len);
/* brk_dict_keys / values / items: arrays in insertion order; items are [key, value]. */
brk_err brk_dict_keys(brk_client *c, const char *name, json_t **keys);
brk_err brk_dict_values(brk_client *c, const char *name, json_t **values);
brk_err brk_dict_items(brk_client *c, const char *name, json_t **items);
/* brk_dict_pop: removes key and returns its value; absent: dflt if not NULL, else BRK_EKEY. */
brk_err brk_dict_pop(brk_client *c, const char *name, const json_t *key, const json_t *dflt,
		     json_t **value);
/* brk_dict_popitem: removes the last inserted pair; BRK_EKEY when empty. */
brk_err brk_dict_popitem(brk_client *c, const char *name, json_t **key, json_t **value);
/* brk_dict_setdefault: the value for key, storing dflt (NULL: null) first when absent. */
brk_err brk_dict_setdefault(brk_client *c, const char *name, const json_t *key, const json_t *dflt,
			    json_t **value);
/* brk_dict_update: stores every pair of items: an object, or an array of [key, value]. */
brk_err brk_dict_update(brk_client *c, const char *name, const json_t *items);
brk_err brk_dict_clear(brk_client *c, const char *name);

#ifdef __cplusplus
}
#endif

#endif
