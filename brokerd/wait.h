/* wait.h: parked requests. A waiter is created when an op must wait (queue get on empty,
 * put on full, join, acquire...); it leaves by exactly one path, wait_complete(), whatever
 * the reason: data ready, timeout, client gone, object deleted or daemon shutdown. Timeouts
 * are deadlines in deadline.h's one heap. */
#ifndef BROKER_WAIT_H
#define BROKER_WAIT_H

#include <event2/event.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "brk_error.h"
#include "deadline.h"
#include "ilist.h"

struct session;
struct object;
struct req;
typedef struct waiter waiter;

/* An object type's say in how its waiters leave (each optional, set after wait_park):
 * on_timeout replaces the default timeout answer and must complete w itself; on_withdraw
 * runs when w leaves unserved because its client is gone or cancelled it, after w is
 * unlinked from its object and before it is answered and freed, and may complete other
 * waiters of that object (a Barrier breaks for them; a Semaphore serves those behind w);
 * on_release runs whenever w leaves, by whatever path, just before it is freed, to free
 * w->data (a Pool's index of its parked workers), and must not complete any waiter. */
typedef void (*wait_hook_fn)(waiter *w);

struct waiter {
	struct session *sess;
	struct req *req;         /* the parked request, answered on completion */
	struct object *obj;      /* what it waits on */
	const char *op;          /* op name, for sessions/stat listings */
	double since;            /* wall clock when parked */
	struct deadline timeout; /* set when the request has a timeout */
	brk_err timeout_err;     /* the error a timeout answers with, unless timeout_result */
	json_t *timeout_result;  /* when set (owned), a timeout answers ok with it instead */
	wait_hook_fn on_timeout;
	wait_hook_fn on_withdraw;
	wait_hook_fn on_release;
	void *data;            /* the object type's own, freed by on_release */
	struct list obj_link;  /* on the object's list of waiters */
	struct list sess_link; /* on the session's list of waiters */
	struct list all_link;  /* on the list of every waiter */
	json_t *item;          /* a parked put's value (owned), else NULL */
	double priority;
	double lease;      /* a parked lock acquire's lease, seconds (0: none) */
	uint64_t owner;    /* a parked lock/semaphore/condition request's owner in its session */
	bool confirm;      /* a parked get whose item must be confirmed (PROTOCOL.md "ack") */
	size_t size;       /* a parked pipe.send's message size in bytes; a parked pool.result's
			      tasks not done yet */
	size_t maxlength;  /* a parked pipe.recv's largest message (SIZE_MAX: any) */
	int kind;          /* a parked pipe.send's message kind, or the kind a pipe.recv takes */
	uint64_t delivery; /* set with the item handed to a confirming getter */
	bool indexed;      /* in its session's waiter_index (not when its id was in use) */
};

/* wait_init: binds the deadlines' timer to base (deadline.h). */
void wait_init(struct event_base *base);
/* wait_fini: frees the timer; every waiter must be gone already. */
void wait_fini(void);

/* wait_park: parks req for session s on obj, with timeout seconds (negative: none). The
 * caller then links w->obj_link into the object's list and may set w->item and the hooks.
 * op must be static storage. NULL when out of memory. */
waiter *wait_park(struct session *s, struct req *req, struct object *obj, const char *op,
		  double timeout, brk_err timeout_err);

/* wait_complete: the single exit. Detaches w everywhere, answers its request with result
 * (stolen; NULL means null) when err is BRK_OK or with err and msg otherwise, frees w.
 * A waiter whose session is closing is freed without an answer. */
void wait_complete(waiter *w, brk_err err, json_t *result, const char *msg);

/* wait_untime: w no longer has a deadline. */
void wait_untime(waiter *w);

/* wait_withdraw: completes w without any answer (its client is gone). */
void wait_withdraw(waiter *w);

/* wait_find_request: the parked request of session s whose transport request id is id
 * (dispatch_req_id), or NULL when s has none (never parked, already answered). A lookup:
 * when a client parks two requests under one id, only the first can be found. */
waiter *wait_find_request(struct session *s, uint32_t id);

/* wait_cancel: w's client gave up on it: w leaves its object as a withdrawn waiter does
 * (on_withdraw runs), taking nothing, and is answered cancelled (PROTOCOL.md "Cancel"). */
void wait_cancel(waiter *w);

/* wait_alive: false when w's client is known to be gone, or its session is closing, so an
 * item is not handed to it. */
bool wait_alive(const waiter *w);

/* wait_first: the oldest waiter on an object list (obj_link), or NULL. */
waiter *wait_first(struct list *waiters);

/* wait_first_live: the oldest waiter whose client is still there; those known gone are
 * withdrawn on the way, so nothing is handed to a dead client. NULL when none is left. */
waiter *wait_first_live(struct list *waiters);

/* wait_complete_list: completes every waiter on an object list with err (delete, reset). */
void wait_complete_list(struct list *waiters, brk_err err, const char *msg);

/* wait_complete_all: completes every waiter of every session with err (shutdown). */
void wait_complete_all(brk_err err, const char *msg);

/* wait_count: parked requests in total. */
size_t wait_count(void);

/* wait_describe_new: {"session", "op", "object", "since", "timeout_in"} for listings. */
json_t *wait_describe_new(const waiter *w);

/* wait_list_new: wait_describe_new of each waiter on an object list (obj_link), in order. */
json_t *wait_list_new(const struct list *waiters);

#endif
