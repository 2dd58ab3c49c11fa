/* conn.h: libbroker's wire: one stream to brokerd (ipc://, tcp://, tls+tcp://), the SP
 * handshake of nng's REQ0/REP0 and the framing of messages on it. It knows nothing of JSON
 * or calls; broker.c multiplexes calls over it. Internal, not installed. */
#ifndef BROKER_CONN_H
#define BROKER_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "call.h"

typedef struct conn conn;

/* Where a TLS client finds its trust anchors and its own certificate (each may be NULL). */
struct conn_tls {
	const char *ca, *cert, *key;
};

/* conn_token: the token to greet brokerd with, from token, else the first line of
 * token_file, else $BROKERD_TOKEN, else the file named by $BROKERD_TOKEN_FILE (an empty
 * value counts as not set). On BRK_OK *out is a malloc'ed copy for conn_token_free, or
 * NULL when there is no token. BRK_EINVAL for a token file that cannot be read, is empty,
 * is not a regular file or that others (not owner or group) may read or write. */
CALL_INTERNAL brk_err conn_token(const char *token, const char *token_file, char **out);

/* conn_token_free: wipes and frees a token from conn_token (NULL is fine). */
CALL_INTERNAL void conn_token_free(char *token);

/* What conn_recv saw. */
enum conn_recv {
	CONN_DATA,   /* bytes arrived; frames may be ready */
	CONN_NONE,   /* nothing within the wait */
	CONN_INTR,   /* a signal interrupted the wait */
	CONN_CLOSED, /* the peer closed, or the stream failed: the connection is broken */
};

/* conn_open: connects to url, runs TLS (tls+tcp://) and the SP handshake, all within
 * timeout seconds. On BRK_OK *out is a new connection holding one reference. Otherwise
 * brk_last_error says why: BRK_EINVAL for a URL that is not ipc://, tcp:// or tls+tcp://,
 * BRK_ECONNECT when the daemon cannot be reached, BRK_EPROTO for a peer that is not a
 * REP0 endpoint. */
CALL_INTERNAL brk_err conn_open(const char *url, const struct conn_tls *tls, double timeout,
				conn **out);

/* conn_hold / conn_release: take and give back a reference; the last release closes the
 * stream (TLS: after a best-effort close_notify) and frees k. */
CALL_INTERNAL void conn_hold(conn *k);
CALL_INTERNAL void conn_release(conn *k);

/* conn_break: marks k broken and shuts the stream down so that every thread waiting on it
 * wakes up; the descriptor stays valid until the last conn_release. Idempotent. */
CALL_INTERNAL void conn_break(conn *k);

/* conn_drop: in a fork()ed child: closes the inherited descriptor and frees k whatever its
 * references (they belong to the parent's threads), writing nothing on the stream. */
CALL_INTERNAL void conn_drop(conn *k);

/* conn_fork_lock / conn_fork_unlock: around fork(), keep other threads out of k's TLS
 * state, so that a child inherits it whole (and can free it). No-ops for plain streams. */
CALL_INTERNAL void conn_fork_lock(conn *k);
CALL_INTERNAL void conn_fork_unlock(conn *k);

/* conn_peer_gone: whether the peer has closed or reset k, without waiting; for a
 * connection with nothing in flight. */
CALL_INTERNAL bool conn_peer_gone(conn *k);

/* conn_send: writes one request frame (id, then body of len bytes) whole, waiting for room
 * until deadline (monotonic seconds; INFINITY: no limit). Frames of concurrent senders
 * never interleave. *sent tells whether any byte of it went out (the request may then
 * have run). BRK_ENOREPLY when the deadline passed, BRK_EIO when the stream failed; after
 * a partial frame k is broken either way. */
CALL_INTERNAL brk_err conn_send(conn *k, uint32_t id, const char *body, size_t len, double deadline,
				bool *sent);

/* conn_recv: waits up to ms milliseconds (-1: no limit) for bytes and reads what is there
 * into k's buffer. Only one thread at a time may receive on k. */
CALL_INTERNAL enum conn_recv conn_recv(conn *k, int ms);

/* conn_frame: takes the next whole reply out of k's buffer: 1 with *id and *body (*len
 * bytes, borrowed until the next conn_recv), 0 if none is whole yet, -1 if the stream
 * does not follow the framing (the connection must then be broken). */
CALL_INTERNAL int conn_frame(conn *k, uint32_t *id, const char **body, size_t *len);

/* conn_now: the monotonic clock in seconds. */
CALL_INTERNAL double conn_now(void);

/* conn_ms_until: milliseconds from now to deadline for poll(), rounded up; -1 for none. */
CALL_INTERNAL int conn_ms_until(double deadline);

#endif
