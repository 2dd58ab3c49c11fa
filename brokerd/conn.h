/* conn.h: one client connection on the loop, speaking nng's SP wire format (handshake,
 * framing, REQ/REP request ids) over a bufferevent, and the session it carries: a session
 * opens when its connection is accepted and ends the moment it closes. Requests become
 * dispatch calls; replies come back through dispatch's send hook. */
#ifndef BROKER_CONN_H
#define BROKER_CONN_H

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What carries a connection's bytes: ipc frames carry a type byte; tls runs inside TLS. */
enum conn_kind { CONN_IPC, CONN_TCP, CONN_TLS };

/* Per connection limits (PROTOCOL.md "Limits"). */
#define CONN_OUTPUT_LIMIT ((size_t)8 << 20) /* unsent reply bytes: past it, stop reading */
/* The default of conn_set_stall_timeout. */
#define CONN_STALL_TIMEOUT 10
/* tcp keepalive: a peer host that vanished is found after IDLE + INTERVAL * COUNT seconds */
#define CONN_KEEPALIVE_IDLE 60
#define CONN_KEEPALIVE_INTERVAL 10
#define CONN_KEEPALIVE_COUNT 3

/* Why connections were closed by brokerd rather than by their clients (info). */
struct conn_closes {
	unsigned long long handshake_timeout; /* no handshake within the stall timeout */
	unsigned long long message_timeout;   /* a message begun, and no more of it as long */
	unsigned long long peer_vanished;     /* keepalive or the network gave up on the peer */
	unsigned long long protocol_error;    /* bytes that do not follow the wire format */
	unsigned long long reply_too_big;     /* not a close: replies refused as too_big */
};

struct conn_origin {
	enum conn_kind kind;
	size_t max_message; /* the listener's request size limit */
};

/* conn_init: installs the request hooks in dispatch; base is the loop. */
void conn_init(struct event_base *base);

/* conn_open: a new connection on bev (owned from now on; closed with the connection), an
 * accepted socket from a listener of origin (borrowed, must outlive the connection); sa
 * is the peer's address. Opens its session and sends brokerd's handshake. -1 when out of
 * memory (bev is then freed). */
int conn_open(struct bufferevent *bev, const struct conn_origin *origin, const struct sockaddr *sa);

/* conn_shutdown: stops reading from every connection and closes each one once its
 * replies are written; calls done() when none is left (at once if none is open). */
void conn_shutdown(void (*done)(void));

/* conn_close_all: closes every connection now, written or not (at exit). */
void conn_close_all(void);

/* conn_set_stall_timeout: a connection that has not completed its handshake after seconds,
 * or that began a message and sent nothing more of it for seconds, is closed. */
void conn_set_stall_timeout(double seconds);

/* conn_closes: the counts since start. */
void conn_closes(struct conn_closes *out);

/* conn_flush: writes the replies waiting to go out now, rather than at the loop's next
 * pass (after a commit released the replies it held). */
void conn_flush(void);

/* conn_kick: closes the connection of session id (logging why), as if its client had died:
 * everything the session held is released. false when no such session is connected. */
bool conn_kick(uint64_t id, const char *why);

/* conn_bytes: bytes of the requests read and replies written since start. */
void conn_bytes(unsigned long long *in, unsigned long long *out);

/* conn_count: connections open. */
size_t conn_count(void);

/* conn_live_requests: requests received and neither answered nor dropped (0 at a clean
 * exit: every request leaves through the send hook exactly once). */
long conn_live_requests(void);

#endif
