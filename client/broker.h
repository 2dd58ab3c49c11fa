/* broker.h: libbroker, the C client of brokerd. The only header a program includes.
 *
 * Threads: a brk_client may be shared by any number of threads; each call is one request,
 * written and answered on the calling thread (libbroker starts no thread of its own). Calls
 * of several threads share the client's one connection (at most max_in_flight, 64 by
 * default, are in flight at once; more callers wait their turn). Locks belong to a thread,
 * as in Python's threading: each thread's lock, rlock, condition and semaphore requests
 * carry its own owner id, so two threads sharing a client cannot both hold a Lock, re-enter
 * each other's RLock or release each other's lock (BRK_ENOTOWNER); a Semaphore, as in
 * Python, may be released by any thread. Everything is still released when the session
 * ends.
 * Connections: ipc://PATH, tcp://HOST:PORT (an IPv4 address, [IPv6] or a host name) and
 * tls+tcp://HOST:PORT (the server's certificate is always verified, and must name HOST).
 * Reconnecting: when the connection breaks (brokerd restarted, a reset, a protocol error),
 * the calls in flight fail with BRK_EIO (each may or may not have run) and the next call
 * connects again, as a new session (see brk_session_id). If the old session held or awaited
 * anything (it acquired a lock, rlock, semaphore or condition, passed a barrier, held a pipe
 * end, had unconfirmed items, or had a call in flight when the connection broke), the first
 * call after the reconnect does not run and returns BRK_ESESSION ("session_lost"): what the
 * program held is gone. Later calls run normally. A session that held nothing reconnects
 * silently.
 * fork(): a child process never uses its parent's connection. The first call of a child
 * on an inherited client connects anew as a session of the child's own (its unconfirmed
 * items stay the parent's); that call is not BRK_ESESSION. The parent's session is not
 * affected by the child or its exit.
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
#include <limits.h>
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
	double send_timeout; /* seconds to connect, or to wait for room to send; default 10 */
	int max_in_flight;   /* requests in flight at once, 1..64; default 64 */
	/* interrupted: asked while a call that may wait (queue get/put/join, acquire, wait...)
	 * is waiting: when a signal interrupts the wait and at least every 50 ms. Once it
	 * returns true, libbroker asks brokerd to cancel the wait and goes on waiting for the
	 * answer: BRK_ECANCELLED if the cancel won, else the call's real result (an item that
	 * arrived first is not lost). NULL: never asked. Runs on the waiting thread. */
	bool (*interrupted)(void *arg);
	void *interrupt_arg;
	/* TLS (tls+tcp://), PEM files; NULL: $BROKERD_TLS_CA, $BROKERD_TLS_CERT and
	 * $BROKERD_TLS_KEY. Without a CA file the system's trust store verifies the server. A
	 * client certificate is presented when cert is set (key: its key, if not in cert). */
	const char *tls_ca, *tls_cert, *tls_key;
	/* Authentication, for a brokerd configured with principals: the token (a secret, at
	 * least 16 characters) is sent in the hello that greets every connection, the first and
	 * each reconnect (after fork() too). It is token, else the first line of the file
	 * token_file (trailing white space stripped), else $BROKERD_TOKEN, else the first line
	 * of the file named by $BROKERD_TOKEN_FILE; an empty value counts as unset. None: no
	 * token is sent (brokerd then answers every op but hello and ping BRK_EUNAUTHORIZED).
	 * Prefer a file to a string given on a command line, which ps shows. A token file must
	 * be a regular file that others (not owner or group) may neither read nor write: else
	 * brk_connect fails with BRK_EINVAL, as for an empty or unreadable file. The token is
	 * read once, by brk_connect; it never appears in brk_last_error. */
	const char *token, *token_file;
} brk_options;

/* brk_connect: connects to url (NULL: $BROKERD_URL, else the default address) and greets
 * the daemon (with the token, if any: see brk_options). opts may be NULL for defaults. On
 * BRK_OK *out is a client to brk_close. BRK_EUNAUTHORIZED (with brokerd's message) when
 * brokerd refuses the token; a call that reconnects (after a lost connection, or first in
 * a fork()ed child) fails the same way if the token is refused then. A session may also
 * get BRK_EFORBIDDEN (its principal's role or name prefix does not allow the op) and
 * BRK_EOOM (brokerd is at its max-memory: writes are refused, reads and deletes work). */
brk_err brk_connect(const char *url, const brk_options *opts, brk_client **out);

/* brk_close: closes c and frees it. No other thread may be inside a call on c. */
void brk_close(brk_client *c);

/* brk_last_error: the message of the calling thread's last failed call (static to the
 * thread, valid until its next call). */
const char *brk_last_error(void);

/* brk_session_id: the daemon's id for this client's session (as in "brokerctl sessions");
 * a new one after a reconnect, or in a fork()ed child once it made a call. */
uint64_t brk_session_id(const brk_client *c);

/* brk_max_message: the largest request the daemon accepts on this connection, in bytes.
 * Larger requests fail with BRK_ETOOBIG before they are sent. */
size_t brk_max_message(const brk_client *c);

/* ---- raw protocol ---- */

/* brk_request_new: a request object {"op": op, "name": name, ...args}; args (an object or
 * NULL) is stolen; name may be NULL. NULL on bad input. */
json_t *brk_request_new(const char *op, const char *name, json_t *args);

/* brk_call: sends request (borrowed) and waits for its reply. On BRK_OK *result (if not
 * NULL) is the reply's result; on an error reply the code is returned. A request is never
 * sent twice. The reply may take the op's own timeout plus reply_grace; a call that waited
 * that long returns BRK_ENOREPLY (and a waiting op is cancelled in brokerd). */
brk_err brk_call(brk_client *c, const json_t *request, json_t **result);

/* brk_call_reply: brk_call, keeping the whole reply envelope: *reply (new, the caller
 * frees) is it as brokerd sent it ({"ok", "result" or "error" and "message", "version",
 * "delivery", ...}) whenever one came, error replies included; NULL when none came. */
brk_err brk_call_reply(brk_client *c, const json_t *request, json_t **reply);

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

/* ---- pipes ----
 * A pipe (PROTOCOL.md "Pipes") has two ends, BRK_PIPE_A and BRK_PIPE_B; each end is held by
 * at most one session, and a message sent from one end waits for the other to receive it,
 * in order. A duplex pipe sends and receives at both ends; a one-way pipe receives at A and
 * sends from B (Python's Pipe(False)), and the other uses give BRK_EWRONGEND. An end is
 * opened by brk_pipe_open or by this client's first send, recv or poll on it; another
 * session's end gives BRK_EHELD. When this client closes an end, or its process dies, the
 * other end's sends fail with BRK_EBROKENPIPE at once and its receives get what is left,
 * then BRK_EEOF. A closed end is used again only after brk_pipe_open (else BRK_ECLOSED),
 * by any client: a restarted receiver takes the end over. Pipe calls on a missing name
 * create a duplex pipe with the default bounds. */

typedef enum brk_pipe_end { BRK_PIPE_A, BRK_PIPE_B } brk_pipe_end;

#define BRK_ANY_LENGTH SIZE_MAX /* brk_pipe_recv_bytes: no maxlength */

/* brk_pipe_create: creates a pipe, duplex or one-way, each direction holding at most maxmsgs
 * messages and maxbytes bytes (<= 0: the defaults, 1000 messages and 16 MiB). The same
 * settings again are fine; others give BRK_EEXISTS. */
brk_err brk_pipe_create(brk_client *c, const char *name, bool duplex, long maxmsgs, long maxbytes);
/* brk_pipe_open: this client's session takes end (opening it again if it was closed). */
brk_err brk_pipe_open(brk_client *c, const char *name, brk_pipe_end end);
/* brk_pipe_send: sends value (any JSON) from end; when the other end's inbox is full waits
 * up to timeout, then BRK_EFULL. BRK_EBROKENPIPE when the other end is closed. */
brk_err brk_pipe_send(brk_client *c, const char *name, brk_pipe_end end, const json_t *value,
		      double timeout);
/* brk_pipe_send_bytes: the same for len bytes of data (sent as base64). */
brk_err brk_pipe_send_bytes(brk_client *c, const char *name, brk_pipe_end end, const void *data,
			    size_t len, double timeout);
/* brk_pipe_recv: receives the next message at end into *value, waiting up to timeout
 * (then BRK_EEMPTY); BRK_EEOF once the other end is closed and nothing is left. A bytes
 * message is not taken: BRK_ETYPE, and it stays for brk_pipe_recv_bytes. Confirmed as
 * brk_queue_get's items are: should the process die before its next call, the message goes
 * back to the front of the pipe for the end's next holder. */
brk_err brk_pipe_recv(brk_client *c, const char *name, brk_pipe_end end, double timeout,
		      json_t **value);
/* brk_pipe_recv_bytes: as brk_pipe_recv, for a message of at most maxlength bytes
 * (BRK_ANY_LENGTH: any); a longer one gives BRK_ETOOLONG and stays in the pipe. *data is
 * malloc'ed (the caller frees it; a NUL follows its *len bytes). A JSON value comes as its
 * compact JSON text. */
brk_err brk_pipe_recv_bytes(brk_client *c, const char *name, brk_pipe_end end, size_t maxlength,
			    double timeout, void **data, size_t *len);
/* brk_pipe_poll: whether a message or EOF is ready at end, waiting up to timeout for one;
 * takes nothing. */
brk_err brk_pipe_poll(brk_client *c, const char *name, brk_pipe_end end, double timeout,
		      bool *ready);
/* brk_pipe_close: closes end (this client's, or one nobody holds); closing it again does
 * nothing. BRK_EHELD when another session holds it. */
brk_err brk_pipe_close(brk_client *c, const char *name, brk_pipe_end end);

/* ---- pools ----
 * A pool (PROTOCOL.md "Pools") is a named work queue served by worker processes: a task is
 * a function name with JSON args (an array) and kwargs (an object); a worker that serves
 * that name runs it and answers. A worker that dies holding a task gives it back, and it
 * runs elsewhere (up to the pool's max_attempts, then BRK_EWORKERLOST). Outcomes belong to
 * this client's session: they are dropped if it ends before fetching them. */

/* Threads: unlike a brk_client, a brk_result is not safe to share between threads: two
 * threads fetching, reading or freeing one handle at once need the caller's own lock. The
 * handles of one chunk (brk_pool_map_async with chunksize > 1) share its outcome, so they
 * count as one handle here: guard them with one lock, or keep them on one thread. Handles
 * of different tasks may be used on different threads at once. */
typedef struct brk_result brk_result;

/* A result's callbacks, run in this process by the call that fetches its outcome
 * (brk_result_get, _wait, _ready or brk_pool_collect), once, as the last thing that call
 * does with the handle. value and the error strings are borrowed for the callback. A
 * callback may free its own handle r (fire-and-forget apply_async); then the caller must
 * not use r after the fetching call returns (that call's own outputs, such as *ready or
 * *value, are filled before). It must not free the other handles given to that call. */
typedef void (*brk_callback_fn)(brk_result *r, const json_t *value, void *arg);
typedef void (*brk_error_callback_fn)(brk_result *r, brk_err err, const char *type,
				      const char *message, void *arg);

/* brk_pool_create: max_attempts (runs a task may lose to dying workers) and max_tasks
 * (queued + running + unfetched); <= 0: the defaults, 3 and 100000. The same settings again
 * are fine; others give BRK_EEXISTS. Submitting or working on a missing name creates a
 * default pool. */
brk_err brk_pool_create(brk_client *c, const char *name, long max_attempts, long max_tasks);
/* brk_pool_apply_async: submits func(args, kwargs) (both borrowed; NULL: [] and {}) with a
 * deadline in seconds for one run (<= 0: none); *out is its result handle, to
 * brk_result_free. callback / error_callback (may be NULL) get arg. BRK_ECLOSED when the
 * pool is not running; BRK_ELIMIT when it is full. */
brk_err brk_pool_apply_async(brk_client *c, const char *pool, const char *func, const json_t *args,
			     const json_t *kwargs, double deadline, brk_callback_fn callback,
			     brk_error_callback_fn error_callback, void *arg, brk_result **out);
/* brk_pool_apply: brk_pool_apply_async and brk_result_get(BRK_FOREVER). */
brk_err brk_pool_apply(brk_client *c, const char *pool, const char *func, const json_t *args,
		       const json_t *kwargs, json_t **value);
/* brk_pool_map_async: one task per element of items (borrowed array): func(item), or with
 * star func(*item) (each item an array: Python's starmap); submitted in one request. With
 * chunksize > 1 each task carries that many calls (PROTOCOL.md "chunk"), as Python's
 * chunksize: fewer, larger tasks; the calls of a failed chunk all fail with its error.
 * *out is a malloc'ed array of json_array_size(items) handles, one an item, in order (free
 * each with brk_result_free, then the array with free()). Unordered streaming
 * (imap_unordered): brk_pool_collect over them; ordered (imap): brk_result_get on each in
 * turn. */
brk_err brk_pool_map_async(brk_client *c, const char *pool, const char *func, const json_t *items,
			   bool star, long chunksize, brk_result ***out);
/* brk_pool_map: Python's map / starmap: brk_pool_map_async, then *values is the array of
 * results in input order, fetched in one request (waiting up to timeout: BRK_ETIMEOUT). A
 * task that failed makes the call fail with its error (the first in input order), as map
 * raises. */
brk_err brk_pool_map(brk_client *c, const char *pool, const char *func, const json_t *items,
		     bool star, long chunksize, double timeout, json_t **values);
/* brk_pool_collect: fetches the outcomes of whichever of results[0..n) are done, waiting up to
 * timeout for at least one (BRK_ETIMEOUT) unless one is ready already; runs their callbacks.
 * *ready (may be NULL) counts the ready ones among results afterwards. All must be of one
 * client and pool. Each call names every result not ready yet: over many thousands, collect
 * a window at a time. */
brk_err brk_pool_collect(brk_result **results, size_t n, double timeout, size_t *ready);
brk_err brk_pool_close(brk_client *c, const char *name);
brk_err brk_pool_terminate(brk_client *c, const char *name);
/* brk_pool_join: waits until the pool is closed or terminated and no task is queued or
 * running; BRK_EVALUE on a running pool; BRK_ETIMEOUT. */
brk_err brk_pool_join(brk_client *c, const char *name, double timeout);

/* brk_result_get: the task's result into *value (new reference), waiting up to timeout
 * (BRK_ETIMEOUT; the handle stays usable). A failed task returns its error: BRK_ETASK when
 * the worker's function failed (brk_result_error tells its type and message; so does
 * brk_last_error, as "Type: message"), BRK_EWORKERLOST, BRK_ETIMEOUT after its deadline
 * (brk_result_ready then tells it apart from a wait that ran out), BRK_ETERMINATED. */
brk_err brk_result_get(brk_result *r, double timeout, json_t **value);
/* brk_result_wait: waits up to timeout for the outcome; BRK_OK whether or not it came. */
brk_err brk_result_wait(brk_result *r, double timeout);
/* brk_result_ready: whether the outcome is here (asks brokerd without waiting). */
brk_err brk_result_ready(brk_result *r, bool *ready);
/* brk_result_successful: whether the task succeeded; BRK_EVALUE before it is ready. */
brk_err brk_result_successful(brk_result *r, bool *successful);
/* brk_result_error: a failed task's error type and message (borrowed from r), else NULL. */
void brk_result_error(const brk_result *r, const char **type, const char **message);
/* brk_result_id: the task's id in its pool (the calls of a chunk share their task's). */
uint64_t brk_result_id(const brk_result *r);
/* brk_result_free: frees r; a handle freed before its outcome was fetched (for a chunk's
 * calls, the last of them) gives its task up first (pool.forget: a queued task is withdrawn,
 * a running one's outcome dropped), so that unfetched outcomes do not fill the pool. */
void brk_result_free(brk_result *r);

/* ---- pool workers ---- */

/* A failed task's error: what Python calls the exception's type name and message. */
typedef struct brk_task_error {
	char type[256]; /* empty: "Error" */
	char message[1024];
} brk_task_error;

/* A function a worker serves: fn returns its result (a new reference), or NULL after
 * filling err. args and kwargs are borrowed. */
typedef json_t *(*brk_task_fn)(const json_t *args, const json_t *kwargs, void *arg,
			       brk_task_error *err);

typedef struct brk_worker_func {
	const char *name; /* NULL ends a table */
	brk_task_fn fn;
	void *arg;
} brk_worker_func;

typedef struct brk_worker_options {
	const char *url;           /* NULL: as brk_connect */
	const brk_options *client; /* NULL: defaults */
	int processes;             /* 0: work in this process; N > 0: fork N workers */
	long maxtasksperchild;     /* a worker exits after that many tasks (0: no limit) */
} brk_worker_options;

/* brk_worker_run: serves pool with the functions of table until the pool is closed and
 * drained, deleted or brokerd shuts down (all BRK_OK: a clean stop, also for the forked
 * workers; a last answer that finds the pool deleted is dropped), or it is terminated
 * (BRK_ETERMINATED). Each task costs one request (its answer rides on the next pool.work;
 * a worker that stops sends its last one with pool.done). In this process (processes 0) on a
 * connection of its own: it returns BRK_OK after maxtasksperchild tasks too. With
 * processes N it forks N workers, each with its own connection, replaces each that exits
 * after maxtasksperchild tasks or dies (killed, crashed) while the pool runs, and returns
 * once all have stopped. A forked worker that fails is not replaced (no restart loop when
 * brokerd is out of reach): the others run on, and then brk_worker_run returns
 * BRK_ECONNECT (a worker could not connect) or BRK_EIO (one failed otherwise, such as
 * losing its connection). opts may be NULL. */
brk_err brk_worker_run(const char *pool, const brk_worker_func *table,
		       const brk_worker_options *opts);

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
/* brk_lock_release: releases once; BRK_ENOTOWNER if another session or thread holds it, BRK_ENOTLOCKED
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

/* ---- shared state ----
 * dict, list, namespace, value and array objects hold JSON values. Every change gives the
 * object a new version (a daemon-wide counter: versions only grow and are never reused); a
 * missing object is at version 0. Any write request may carry "version": N to run only if
 * the object is still at N (BRK_ECONFLICT otherwise); see PROTOCOL.md "Versions".
 * Limits (brokerd's settings; by default a stored value is at most 1 MiB as JSON and 32
 * levels deep, and an object holds at most 1,000,000 elements): beyond them calls fail with
 * BRK_ELIMIT and change nothing. */

/* brk_last_version: the version the calling thread's last call reported: for a read of
 * shared state the version it read, for a write the version it made; 0 for a missing
 * object, or when the last call was not on shared state or got no reply. */
uint64_t brk_last_version(void);

/* brk_batch_version: the version op i of a batch reported (0 if none). */
uint64_t brk_batch_version(const json_t *results, size_t i);

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
/* brk_dict_update_if: brk_dict_update only if the dict is at version (0: does not exist);
 * BRK_ECONFLICT (and nothing stored) otherwise. */
brk_err brk_dict_update_if(brk_client *c, const char *name, const json_t *items, uint64_t version);
/* brk_dict_incr: adds by (a number; NULL: 1) to key's value, which starts at 0 when absent;
 * *sum (may be NULL) is the new value. int + int stays an int (BRK_EVALUE on 64-bit
 * overflow); BRK_ETYPE when the value is not a number. */
brk_err brk_dict_incr(brk_client *c, const char *name, const json_t *key, const json_t *by,
		      json_t **sum);
/* brk_dict_cas: sets key to value only if it is present and equal to expected (1 == 1.0);
 * *swapped tells whether; *current (may be NULL) is the value afterwards, NULL if absent. */
brk_err brk_dict_cas(brk_client *c, const char *name, const json_t *key, const json_t *expected,
		     const json_t *value, bool *swapped, json_t **current);

/* ---- lists ----
 * Python's list: negative indexes count from the end; out of range is BRK_EINDEX, a value
 * not found BRK_EVALUE. Writes create a missing list; reads see it as empty. */

#define BRK_NONE LONG_MIN /* an omitted slice bound or step, Python's None */

/* A slice, as Python's l[start:stop:step]; BRK_SLICE(a, b) is l[a:b]. */
typedef struct brk_slice {
	long start, stop, step;
} brk_slice;
#define BRK_SLICE(start, stop) ((brk_slice){(start), (stop), BRK_NONE})

/* brk_list_create: a list holding items (NULL: empty) if name is free; *created (may be
 * NULL) tells whether it was (an existing list is left as it is). */
brk_err brk_list_create(brk_client *c, const char *name, const json_t *items, bool *created);
brk_err brk_list_append(brk_client *c, const char *name, const json_t *value);
brk_err brk_list_extend(brk_client *c, const char *name, const json_t *items);
brk_err brk_list_insert(brk_client *c, const char *name, long index, const json_t *value);
/* brk_list_pop: removes and returns the item at index (-1: the last). */
brk_err brk_list_pop(brk_client *c, const char *name, long index, json_t **value);
/* brk_list_remove: removes the first item equal to value. */
brk_err brk_list_remove(brk_client *c, const char *name, const json_t *value);
brk_err brk_list_index(brk_client *c, const char *name, const json_t *value, size_t *index);
brk_err brk_list_count(brk_client *c, const char *name, const json_t *value, size_t *count);
brk_err brk_list_reverse(brk_client *c, const char *name);
/* brk_list_sort: a stable sort of items of one comparable kind (numbers, strings, booleans
 * or arrays of those); BRK_ETYPE, leaving the list as it was, when they do not compare. */
brk_err brk_list_sort(brk_client *c, const char *name, bool reverse);
brk_err brk_list_get(brk_client *c, const char *name, long index, json_t **value);
brk_err brk_list_set(brk_client *c, const char *name, long index, const json_t *value);
brk_err brk_list_delete(brk_client *c, const char *name, long index);
brk_err brk_list_get_slice(brk_client *c, const char *name, brk_slice s, json_t **items);
/* brk_list_set_slice: l[s] = items; a slice with a step other than 1 takes exactly as many
 * items as it selects (BRK_EVALUE otherwise). */
brk_err brk_list_set_slice(brk_client *c, const char *name, brk_slice s, const json_t *items);
brk_err brk_list_delete_slice(brk_client *c, const char *name, brk_slice s);
brk_err brk_list_len(brk_client *c, const char *name, size_t *len);
brk_err brk_list_contains(brk_client *c, const char *name, const json_t *value, bool *found);
brk_err brk_list_clear(brk_client *c, const char *name);
/* brk_list_read: the whole list as an array. */
brk_err brk_list_read(brk_client *c, const char *name, json_t **items);

/* ---- namespaces ----
 * Python's Namespace: attributes by name; a missing one is BRK_EATTR. */

brk_err brk_namespace_get(brk_client *c, const char *name, const char *attr, json_t **value);
brk_err brk_namespace_set(brk_client *c, const char *name, const char *attr, const json_t *value);
brk_err brk_namespace_delete(brk_client *c, const char *name, const char *attr);
/* brk_namespace_attrs: the attribute names, in the order they were first set. */
brk_err brk_namespace_attrs(brk_client *c, const char *name, json_t **attrs);
/* brk_namespace_read: every attribute as one object. */
brk_err brk_namespace_read(brk_client *c, const char *name, json_t **attrs);

/* ---- values and arrays ----
 * A value is one scalar, an array a fixed number of ints or floats; their type is fixed at
 * creation and a write of another kind is BRK_ETYPE (a float takes an int). They must be
 * created before use (BRK_ENOTFOUND). Ints are 64-bit. */

typedef enum brk_type { BRK_INT, BRK_FLOAT, BRK_BOOL, BRK_STR } brk_type;

/* brk_value_create: a value of type holding initial (NULL: 0, 0.0, false or ""). Creating
 * it again with the same type is fine (*created false, value untouched); another type
 * gives BRK_EEXISTS. */
brk_err brk_value_create(brk_client *c, const char *name, brk_type type, const json_t *initial,
			 bool *created);
brk_err brk_value_get(brk_client *c, const char *name, json_t **value);
brk_err brk_value_set(brk_client *c, const char *name, const json_t *value);
/* brk_value_add: adds delta atomically and returns the new value in *sum (may be NULL). */
brk_err brk_value_add(brk_client *c, const char *name, const json_t *delta, json_t **sum);
brk_err brk_value_add_int(brk_client *c, const char *name, int64_t delta, int64_t *sum);
/* brk_value_cas: sets value only if the current one equals expected; *swapped tells
 * whether, *current (may be NULL) is the value afterwards. */
brk_err brk_value_cas(brk_client *c, const char *name, const json_t *expected, const json_t *value,
		      bool *swapped, json_t **current);
/* brk_value_getset: sets value and returns the one it replaced. */
brk_err brk_value_getset(brk_client *c, const char *name, const json_t *value, json_t **old);

/* brk_array_create: an array of length zeros of type BRK_INT or BRK_FLOAT. Same type and
 * length again is fine; others give BRK_EEXISTS. */
brk_err brk_array_create(brk_client *c, const char *name, brk_type type, size_t length,
			 bool *created);
/* brk_array_create_from: an array holding items (its length is theirs). */
brk_err brk_array_create_from(brk_client *c, const char *name, brk_type type, const json_t *items,
			      bool *created);
brk_err brk_array_get(brk_client *c, const char *name, long index, json_t **value);
brk_err brk_array_set(brk_client *c, const char *name, long index, const json_t *value);
brk_err brk_array_get_slice(brk_client *c, const char *name, brk_slice s, json_t **items);
/* brk_array_set_slice: a[s] = items, exactly as many as s selects (BRK_EVALUE otherwise). */
brk_err brk_array_set_slice(brk_client *c, const char *name, brk_slice s, const json_t *items);
/* brk_array_add: adds delta to one element atomically; *sum (may be NULL) is the result. */
brk_err brk_array_add(brk_client *c, const char *name, long index, const json_t *delta,
		      json_t **sum);
brk_err brk_array_len(brk_client *c, const char *name, size_t *len);
brk_err brk_array_read(brk_client *c, const char *name, json_t **items);

#ifdef __cplusplus
}
#endif

#endif
