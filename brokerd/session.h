/* session.h: one session per client connection. A session owns everything its client waits on
 * and everything it holds; sess_close releases all of it at once when the connection closes. */
#ifndef BROKER_SESSION_H
#define BROKER_SESSION_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hmap.h"
#include "ilist.h"

/* A holding: something a session has that must go back when the session ends (an item
 * delivered but not yet confirmed; later, locks and permits). The owner type embeds it. */
struct holding;
struct principal;

struct holding_class {
	const char *kind; /* "delivery", "lock", ...: what "sessions" shows */
	/* release: lets go of h and frees it; session_ended is true when the session closed,
	 * false when the client let go itself. */
	void (*release)(struct holding *h, bool session_ended);
	/* describe_new: {"kind", "object", ...} for listings. */
	json_t *(*describe_new)(const struct holding *h);
};

struct holding {
	uint64_t id;           /* unique within the session */
	struct session *sess;  /* set by sess_hold */
	struct list sess_link; /* on the session's holdings, oldest first */
	const struct holding_class *cls;
};

typedef struct session {
	uint64_t id;       /* never reused within one daemon run */
	uint32_t key;      /* its connection's key in the session table */
	uint64_t pid, uid; /* peer credentials, valid when has_cred */
	bool has_cred;
	char peer[96];      /* transport address, for people */
	double since;       /* wall clock at connect */
	uint64_t requests;  /* requests received */
	size_t max_message; /* the limit of the listener it came through */
	size_t max_reply;   /* larger replies are refused with too_big (hello "max_reply") */
	/* who it is (auth.h): its principal (NULL: anonymous) and role, an enum role */
	const struct principal *principal;
	unsigned char role;
	unsigned bad_hellos;  /* hellos with a token no principal has */
	size_t objects;       /* objects it created that still exist */
	size_t parked;        /* its parked requests */
	struct list waiters;  /* waiter.sess_link, oldest first */
	hmap waiter_index;    /* transport request id -> its waiter, for cancel (wait.c) */
	struct list holdings; /* struct holding.sess_link, oldest first */
	hmap holding_index;   /* holding id -> struct holding, so a confirmation is O(1) */
	uint64_t next_holding;
	bool closing; /* sess_close is releasing it: nothing more is handed to it */
} session;

/* What one session may hold at once (docs/security.md); each has a setting. */
struct sess_limits {
	size_t max_requests; /* received and not yet answered, parked ones included */
	size_t max_parked;   /* parked (waiting) */
	size_t max_objects;  /* objects it created that still exist */
	size_t max_reply;    /* the largest reply; a client may ask for less (hello) */
};
#define SESS_MAX_REQUESTS 4096
#define SESS_MAX_PARKED 4096
#define SESS_MAX_OBJECTS 100000
#define SESS_MAX_REPLY ((size_t)64 << 20)

/* sess_set_limits: the limits of sessions opened from now on, and of those open for all
 * but max_reply. */
void sess_set_limits(const struct sess_limits *l);

/* sess_limits: the limits in force. */
const struct sess_limits *sess_limits(void);

/* sess_init / sess_fini: the session table; fini closes every remaining session. */
void sess_init(void);
void sess_fini(void);

/* sess_find: the session of connection key, or NULL. */
session *sess_find(uint32_t key);

/* sess_open: a new session for connection key (which must have none). NULL when out of memory. */
session *sess_open(uint32_t key);

/* sess_close: ends s: every parked request it has is withdrawn without a reply, everything
 * it holds is released (newest first), then s is freed. Exactly-once holds: a withdrawn waiter is never
 * completed again. */
void sess_close(session *s);

/* sess_hold: gives h to s with a fresh id, which it returns; 0 when out of memory (then s
 * does not hold h, and the caller still owns it). */
uint64_t sess_hold(session *s, struct holding *h);

/* sess_let_go: the client let go of its holding id of class cls (release(h, false)); false
 * when s holds no such id of that class (already let go, or never given). O(1): a client
 * may confirm many thousands of deliveries in one request. */
bool sess_let_go(session *s, const struct holding_class *cls, uint64_t id);

/* sess_drop: removes h from its session without releasing it (its object is going away and
 * frees h itself). */
void sess_drop(struct holding *h);

/* sess_id_floor: session ids handed out from now on are above id. */
void sess_id_floor(uint64_t id);

/* sess_foreach_holding: fn(h) for every holding of class cls of every session. */
void sess_foreach_holding(const struct holding_class *cls, void (*fn)(struct holding *h));

/* sess_foreach: fn(s, arg) for every open session; fn must not close any. */
void sess_foreach(void (*fn)(session *s, void *arg), void *arg);

/* sess_count: how many sessions are open. */
size_t sess_count(void);

/* sess_list_new: a JSON array describing every session (PROTOCOL.md "sessions"), or only
 * session only when it is not NULL. */
json_t *sess_list_new(const session *only);

#endif
