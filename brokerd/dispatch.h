/* dispatch.h: from a decoded request to a reply. Ops are rows of tables (one per object
 * module); dispatch checks the envelope and the argument names, runs the handler, runs
 * batches, and hands every reply to the transport through one hook. */
#ifndef BROKER_DISPATCH_H
#define BROKER_DISPATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "brk_error.h"
#include "op.h"

/* The op tables of each module, each ending with a row whose name is NULL. */
extern const struct op_def admin_ops[];
extern const struct op_def queue_ops[];
extern const struct op_def dict_ops[];
extern const struct op_def lock_ops[];
extern const struct op_def semaphore_ops[];
extern const struct op_def event_ops[];
extern const struct op_def barrier_ops[];
extern const struct op_def condition_ops[];
extern const struct op_def list_ops[];
extern const struct op_def namespace_ops[];
extern const struct op_def value_ops[];
extern const struct op_def array_ops[];
extern const struct op_def pipe_ops[];
extern const struct op_def pool_ops[];

/* The transport hook: sends reply (stolen) for r and frees r; reply NULL frees r unsent. */
typedef void (*dispatch_send_fn)(struct req *r, json_t *reply);
/* The transport's liveness check for r's client (false when known gone). */
typedef bool (*dispatch_alive_fn)(const struct req *r);
/* The transport's request id of r, as its client sent it (PROTOCOL.md "Cancel"). */
typedef uint32_t (*dispatch_id_fn)(const struct req *r);

/* dispatch_init: builds the op index and installs the transport hooks. */
void dispatch_init(dispatch_send_fn send, dispatch_alive_fn alive, dispatch_id_fn id);
void dispatch_fini(void);

/* dispatch_set_shutting_down: from now on every request is answered shutting_down. */
void dispatch_set_shutting_down(void);

/* dispatch_request: handles one request body from session s; r is answered through the
 * send hook, now or (parked) later. */
void dispatch_request(struct session *s, struct req *r, const char *body, size_t len);

/* dispatch_requests_total: requests received since start. */
unsigned long long dispatch_requests_total(void);

/* dispatch_errors_new: {code: count} of the error replies since start (those sent). */
json_t *dispatch_errors_new(void);

/* dispatch_foreach_op: fn(op, calls, arg) for each op called since start. */
void dispatch_foreach_op(void (*fn)(const char *op, unsigned long long calls, void *arg),
			 void *arg);

/* dispatch_foreach_error: fn(code, count, arg) for each error code replied since start. */
void dispatch_foreach_error(void (*fn)(const char *code, unsigned long long n, void *arg),
			    void *arg);

/* dispatch_tick: once a second: the per-second rates info reports are the last second's. */
void dispatch_tick(void);

/* dispatch_requests_per_sec: requests received in the last second. */
unsigned long long dispatch_requests_per_sec(void);

/* dispatch_ops_new: {"total", "per_sec", "by_op": {op: {"calls", "per_sec"}}} of the ops
 * called since start (requests, and each op of a batch). */
json_t *dispatch_ops_new(void);

/* The time brokerd spent on each request (decoding, running, encoding the reply; not the
 * time it was parked): counts by upper bound in seconds, the last one unbounded. */
#define DISPATCH_BUCKETS 13
extern const double dispatch_bucket_bounds[DISPATCH_BUCKETS];
struct dispatch_latency {
	unsigned long long count[DISPATCH_BUCKETS + 1];
	double sum;
};

/* dispatch_latency: the histogram since start. */
const struct dispatch_latency *dispatch_latency(void);

/* dispatch_answer: answers r with result (stolen) or with err and msg; a delivery id other
 * than 0 goes with the result. r NULL is a no-op. */
void dispatch_answer(struct req *r, brk_err err, json_t *result, const char *msg,
		     uint64_t delivery);

/* dispatch_send: sends reply (stolen) for r at once, through the transport hook (for
 * replies held until a commit: persist.h). */
void dispatch_send(struct req *r, json_t *reply);

/* dispatch_local: runs request (borrowed) as brokerd itself: no session, no request to
 * park, no version condition (replay and snapshots of shared state). 0 and *result (new),
 * or the error, logged. */
int dispatch_local(const json_t *request, json_t **result);

/* dispatch_drop: frees r without answering (its client is gone). */
void dispatch_drop(struct req *r);

/* dispatch_alive: the transport's liveness verdict for r. */
bool dispatch_alive(const struct req *r);

/* dispatch_req_id: the transport's request id of r (0 for NULL). */
uint32_t dispatch_req_id(const struct req *r);

#endif
