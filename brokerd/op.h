/* op.h: what an op handler sees and returns: its context (session, request, arguments,
 * result or error) and the table row that names it. Object modules include this, not
 * dispatch.h, which runs the tables. */
#ifndef BROKER_OP_H
#define BROKER_OP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "brk_error.h"

struct session;
struct req; /* the transport's request; opaque here */

typedef struct op_ctx {
	struct session *sess;
	struct req *req;    /* NULL inside a batch: the op may not park */
	const json_t *args; /* the request object, borrowed */
	const char *name;   /* the object name, or NULL for ops without one */
	uint64_t owner;     /* "owner" within the session, 0 when absent (OPF_OWNER ops) */
	json_t *result;     /* set by op_ok */
	uint64_t delivery;  /* set when the result is an item to confirm (PROTOCOL.md "ack") */
	bool batched;       /* inside a batch, whose "version" conditions were checked first */
	bool unchanged;     /* set by a write op that found nothing to change */
	bool versioned;     /* the reply reports version (set by dispatch for OPF_READ/WRITE) */
	uint64_t version;
	brk_err err;
	char msg[256];
} op_ctx;

/* A handler returns 0 after op_ok, an error after op_fail, or OP_PARKED once it has
 * handed ctx->req to a waiter (which will answer it). */
typedef int (*op_fn)(op_ctx *ctx);
#define OP_PARKED (-1)

enum op_flags {
	OPF_NAME = 1u << 0,  /* needs "name" */
	OPF_READ = 1u << 1,  /* reads shared state: the reply reports the object's version */
	OPF_WRITE = 1u << 2, /* writes shared state: may require a "version"; a success that
				leaves ctx->unchanged false gives the object a new version */
	OPF_OWNER = 1u << 3, /* takes "owner", which dispatch checks into ctx->owner: locks,
				semaphores and conditions are held by (session, owner) */
	OPF_STORE = 1u << 4, /* may change what a data dir keeps (queues, pipes, del), besides
				OPF_WRITE ops: refused while commits fail (persist.h) */
	/* What a session's role must be (auth.h): without one of these, rw. */
	OPF_OPEN = 1u << 5,  /* none: allowed before authenticating (ping, hello) */
	OPF_RO = 1u << 6,    /* ro: reads and nothing else (OPF_READ ops too) */
	OPF_ADMIN = 1u << 7, /* admin */
	OPF_GROW = 1u << 8,  /* may store more: refused at max-memory (mem.h) */
	OPF_MINE = 1u << 9,  /* with OPF_ADMIN: rw suffices on an object the session made */
};

/* The largest "owner": 2^53, so every owner is exact as a double in any client language. */
#define OP_MAX_OWNER (UINT64_C(1) << 53)
/* Whether an op may park is proto_op_blocks(name), shared with the client library. */

struct op_def {
	const char *name;
	op_fn fn;
	unsigned flags;
	const char *args; /* the argument names it accepts besides op and name, comma separated */
};

/* op_ok: sets ctx's result (stolen; NULL from a failed allocation becomes an internal
 * error) and returns 0 or that error. */
int op_ok(op_ctx *ctx, json_t *result);

/* op_ok_container: op_ok with a whole stored container (borrowed) as the result: the
 * container itself when the reply is written at once, a shallow copy inside a batch, whose
 * later ops may change the container before the batch's reply is written. */
int op_ok_container(op_ctx *ctx, json_t *stored);

/* op_fail: sets ctx's error and message and returns err. */
int op_fail(op_ctx *ctx, brk_err err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
