/* brk_error.h: the error codes of brokerd's protocol and of libbroker.
 * Codes before BRK_ECONNECT travel on the wire as the stable strings listed here;
 * the rest are raised by the client library only. Included by broker.h. */
#ifndef BRK_ERROR_H
#define BRK_ERROR_H

/* X(enum name, wire string, default message) */
#define BRK_ERROR_TABLE(X)                                                                     \
	X(BRK_OK, "ok", "success")                                                             \
	X(BRK_EBADREQ, "bad_request", "malformed request")                                     \
	X(BRK_EUNKNOWNOP, "unknown_op", "unknown operation")                                   \
	X(BRK_EBADARG, "bad_argument", "missing or invalid argument")                          \
	X(BRK_EWRONGTYPE, "wrong_type", "object has another type")                             \
	X(BRK_ENOTFOUND, "not_found", "no such object")                                        \
	X(BRK_EKEY, "key_error", "no such key")                                                \
	X(BRK_EEMPTY, "empty", "queue is empty")                                               \
	X(BRK_EFULL, "full", "queue is full")                                                  \
	X(BRK_ETIMEOUT, "timeout", "timed out")                                                \
	X(BRK_EVALUE, "value_error", "invalid value for this operation")                       \
	X(BRK_EEXISTS, "exists", "object exists with other parameters")                        \
	X(BRK_EDELETED, "deleted", "object was deleted while waiting")                         \
	X(BRK_ESHUTDOWN, "shutting_down", "brokerd is shutting down")                          \
	X(BRK_ENOTOWNER, "not_owner", "the lock is held by another session")                   \
	X(BRK_ENOTLOCKED, "not_locked", "release of an unlocked lock")                         \
	X(BRK_ELEASE, "lease_expired", "the lock's lease lapsed and it was released")          \
	X(BRK_EBROKEN, "broken_barrier", "the barrier is broken")                              \
	X(BRK_ETOOBIG, "too_big", "message exceeds the size limit")                            \
	X(BRK_EINDEX, "index_error", "index out of range")                                     \
	X(BRK_ETYPE, "type_error", "value of the wrong kind for this object or op")            \
	X(BRK_EATTR, "attribute_error", "no such attribute")                                   \
	X(BRK_ECONFLICT, "conflict", "the object is not at the required version")              \
	X(BRK_ELIMIT, "limit_exceeded", "a size, count or nesting limit was exceeded")         \
	X(BRK_ECANCELLED, "cancelled", "the parked request was cancelled")                     \
	X(BRK_EEOF, "eof", "the pipe's other end is closed and nothing is left to receive")    \
	X(BRK_EBROKENPIPE, "broken_pipe", "the pipe's other end is closed")                    \
	X(BRK_EHELD, "end_held", "the pipe end is held by another session")                    \
	X(BRK_ECLOSED, "closed", "the pipe end or the pool is closed")                         \
	X(BRK_EWRONGEND, "wrong_end", "this end of a one-way pipe cannot do that")             \
	X(BRK_ETOOLONG, "too_long", "the next message is longer than maxlength")               \
	X(BRK_EWORKERLOST, "worker_lost", "the task's workers died, as many times as allowed") \
	X(BRK_ETERMINATED, "terminated", "the pool was terminated")                            \
	X(BRK_ETASK, "task_error", "the task raised an error in its worker")                   \
	X(BRK_ESTORAGE, "storage", "the data dir cannot be written")                           \
	X(BRK_EUNAUTHORIZED, "unauthorized", "authenticate first (hello with a token)")        \
	X(BRK_EFORBIDDEN, "forbidden", "the session's role or name prefix does not allow it")  \
	X(BRK_EOOM, "out_of_memory", "brokerd is at its memory limit (max-memory)")            \
	X(BRK_EINTERNAL, "internal", "internal error in brokerd")                              \
	X(BRK_ECONNECT, "connect_failed", "cannot connect to brokerd")                         \
	X(BRK_EIO, "io_error", "transport error talking to brokerd")                           \
	X(BRK_ENOREPLY, "no_reply", "no reply from brokerd in time")                           \
	X(BRK_EPROTO, "protocol_error", "malformed reply from brokerd")                        \
	X(BRK_ENOMEM, "no_memory", "out of memory")                                            \
	X(BRK_EINVAL, "invalid", "invalid argument to a libbroker call")                       \
	X(BRK_ESESSION, "session_lost",                                                        \
	  "the connection was re-made: the old session and all it held are gone")

typedef enum brk_err {
#define BRK_ERR_ENUM(e, code, msg) e,
	BRK_ERROR_TABLE(BRK_ERR_ENUM)
#undef BRK_ERR_ENUM
		BRK_ERR_COUNT
} brk_err;

/* brk_strerror: the default human message for err; never NULL, static storage. */
const char *brk_strerror(brk_err err);

/* brk_err_code: the stable wire string for err ("empty", "not_owner", ...); static storage. */
const char *brk_err_code(brk_err err);

/* brk_err_from_code: the error whose wire string is code, or BRK_EPROTO if none is. */
brk_err brk_err_from_code(const char *code);

#endif
