/* conn.c: client connections: the SP handshake, reading frames into requests, writing
 * replies with their request ids, back-pressure, and the one close path that ends the
 * session. Everything runs on the loop thread. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "auth.h"
#include "conn.h"
#include "dispatch.h"
#include "envelope.h"
#include "ilist.h"
#include "jsontext.h"
#include "log.h"
#include "session.h"
#include "wire.h"

#define FRAMES_PER_TURN 64              /* requests read in one go before others get a turn */
#define READ_BUFFER ((size_t)256 << 10) /* input read ahead of the frame being read */
#define SCRATCH_KEEP ((size_t)4 << 20)  /* a larger encoding buffer is freed after use */
#define HAND_OVER ((size_t)256 << 10)   /* a reply this large is queued without a copy */
#define REPLY_HEADROOM 16               /* >= type byte + length + request id */

struct conn {
	struct bufferevent *bev;
	const struct conn_origin *origin;
	session *sess;
	struct list link;       /* on every_conn */
	struct list dirty_link; /* on dirty while it has replies to write */
	uint64_t discard;       /* bytes of a refused message still to skip */
	long live;              /* requests neither answered nor dropped */
	bool greeted;           /* the peer's handshake was read */
	bool partial;           /* holds part of a message: its next bytes are due */
	bool paused;            /* not reading: too much output is waiting */
	bool closed;            /* closed; freed when live reaches 0 */
};

struct req {
	struct conn *c;
	uint32_t id;
};

static struct list every_conn = {&every_conn, &every_conn};
static size_t nconns;
static long live_total;
static uint32_t next_key = 1;
static bool stopping;
static struct conn_closes closes;
static unsigned long long bytes_in, bytes_out; /* SP frames, headers included */
static struct timeval stall = {CONN_STALL_TIMEOUT, 0};
static void (*stopped)(void);

/* Plain sockets are written straight from here after each read's requests were handled
 * (or, for replies made elsewhere, by flush_ev at the end of the loop's pass): no write
 * event unless the socket is full. TLS connections leave writing to their bufferevent. */
static struct list dirty = {&dirty, &dirty};
static struct event *flush_ev;

/* The reply encoding buffer, reused: REPLY_HEADROOM bytes for the header, then JSON. */
static jt_buf scratch;

static void conn_close(struct conn *c, const char *why);

/* bad_stream: closes c, whose bytes do not follow the wire format (counted for info). */
static void bad_stream(struct conn *c, const char *why)
{
	closes.protocol_error++;
	conn_close(c, why);
}

/* ---- replies ---- */

static void scratch_reset(void)
{
	scratch.len = 0;
	if (scratch.cap > SCRATCH_KEEP)
		jt_buf_free(&scratch);
}

/* encode: reply's text into scratch, after room for its frame header. 0 or -1. */
static int encode(const json_t *reply)
{
	scratch.len = 0;
	if (jt_buf_reserve(&scratch, REPLY_HEADROOM) != 0)
		return -1;
	scratch.len = REPLY_HEADROOM;
	return jt_dump(reply, &scratch);
}

/* maybe_pause: stops reading from c while its unsent output is over the limit; on_write
 * resumes once half of it is written. */
static void maybe_pause(struct conn *c)
{
	if (c->paused || evbuffer_get_length(bufferevent_get_output(c->bev)) <= CONN_OUTPUT_LIMIT)
		return;
	c->paused = true;
	bufferevent_disable(c->bev, EV_READ);
	log_debug("session %llu: %zu reply bytes unread; not reading from it",
		  (unsigned long long)c->sess->id,
		  evbuffer_get_length(bufferevent_get_output(c->bev)));
}

static void mark_dirty(struct conn *c)
{
	if (c->origin->kind == CONN_TLS || !list_empty(&c->dirty_link))
		return;
	if (list_empty(&dirty))
		event_active(flush_ev, EV_WRITE, 0);
	list_push_back(&dirty, &c->dirty_link);
}

static void free_scratch(const void *data, size_t len, void *buf)
{
	(void)data, (void)len;
	free(buf);
}

/* queue_frame: appends the frame at start (in scratch) to out: copied when small; a large
 * one is handed over whole, saving a copy, and the next reply gets a new scratch. */
static int queue_frame(struct evbuffer *out, const char *start, size_t len)
{
	if (len < HAND_OVER)
		return evbuffer_add(out, start, len);
	if (evbuffer_add_reference(out, start, len, free_scratch, scratch.data) != 0)
		return -1;
	scratch = (jt_buf){0};
	return 0;
}

/* send_frame: the reply in scratch (after its headroom), framed for request id. */
static void send_frame(struct conn *c, uint32_t id)
{
	size_t body = scratch.len - REPLY_HEADROOM;
	uint8_t head[REPLY_HEADROOM];
	size_t n = wire_header(head, c->origin->kind == CONN_IPC, WIRE_ID_SIZE + body);
	wire_put32(head + n, id);
	n += WIRE_ID_SIZE;
	char *start = scratch.data + REPLY_HEADROOM - n;
	memcpy(start, head, n);
	bytes_out += n + body;
	if (queue_frame(bufferevent_get_output(c->bev), start, n + body) != 0)
		log_error("out of memory queueing a reply; dropped");
	mark_dirty(c);
	maybe_pause(c);
}

/* fits: whether the reply in scratch is within c's reply limit. */
static bool fits(const struct conn *c)
{
	return scratch.len - REPLY_HEADROOM <= c->sess->max_reply;
}

/* refuse_reply: puts too_big in place of the reply in scratch, which is over c's limit
 * (a read of a whole large object: it has a paged form). 0, or -1 out of memory. */
static int refuse_reply(struct conn *c)
{
	char msg[256];
	snprintf(msg, sizeof msg,
		 "the reply of %zu bytes is over this session's limit of %zu bytes (max-reply); "
		 "read it in parts: dict.keys/values/items with limit and after, list.get or "
		 "array.get with a slice",
		 scratch.len - REPLY_HEADROOM, c->sess->max_reply);
	json_t *err = proto_reply_error(BRK_ETOOBIG, msg);
	int rc = err ? encode(err) : -1;
	closes.reply_too_big++;
	json_decref(err);
	return rc;
}

static void free_if_done(struct conn *c)
{
	if (c->closed && c->live == 0)
		free(c);
}

/* send_reply: the dispatch hook: every request leaves here exactly once. */
static void send_reply(struct req *r, json_t *reply)
{
	struct conn *c = r->c;
	uint32_t id = r->id;
	free(r);
	c->live--;
	live_total--;
	if (reply && !c->closed) {
		int rc = encode(reply);
		if (rc == 0 && !fits(c))
			rc = refuse_reply(c);
		if (rc == 0)
			send_frame(c, id);
		else
			log_error("cannot encode a reply (out of memory?); dropped");
		scratch_reset();
	}
	json_decref(reply);
	free_if_done(c);
}

/* req_alive: false once the client is gone, even before the loop has read its EOF, so
 * that an item is not handed to a dead client. */
static bool req_alive(const struct req *r)
{
	struct pollfd p = {.fd = bufferevent_getfd(r->c->bev), .events = POLLRDHUP};
	if (r->c->closed)
		return false;
	return poll(&p, 1, 0) != 1 || !(p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static uint32_t req_id(const struct req *r)
{
	return r->id;
}

static struct req *req_new(struct conn *c, uint32_t id)
{
	struct req *r = malloc(sizeof *r);
	if (!r)
		return NULL;
	r->c = c;
	r->id = id;
	c->live++;
	live_total++;
	return r;
}

/* ---- requests ---- */

/* refuse: answers request id at once with err (it is not dispatched). */
static void refuse(struct conn *c, uint32_t id, brk_err err, const char *msg)
{
	struct req *r = req_new(c, id);
	if (r)
		dispatch_answer(r, err, NULL, msg, 0);
}

static void handle(struct conn *c, uint32_t id, const char *body, size_t len)
{
	char msg[128];
	size_t max = sess_limits()->max_requests;
	if ((size_t)c->live >= max) {
		snprintf(msg, sizeof msg,
			 "this session has %zu requests in flight already (max-session-requests)",
			 max);
		refuse(c, id, BRK_ELIMIT, msg);
		return;
	}
	struct req *r = req_new(c, id);
	if (!r) {
		log_error("out of memory receiving a request; dropped");
		return;
	}
	dispatch_request(c->sess, r, body, len);
}

/* bind_certificate: the session of a TLS connection whose client showed a certificate
 * (checked against the CA during the TLS handshake, over by now) is bound to the principal
 * of its subject, as RFC 2253 writes it ("CN=worker,O=Example"). */
static void bind_certificate(struct conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	X509 *cert = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
	BIO *bio = cert ? BIO_new(BIO_s_mem()) : NULL;
	char subject[512];
	int n = bio && X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0
			? BIO_read(bio, subject, sizeof subject - 1)
			: 0;
	subject[n > 0 ? n : 0] = 0;
	BIO_free(bio);
	if (*subject)
		auth_connect(c->sess, false, 0, subject);
}

/* read_handshake: 1 once the peer's handshake is read and good, 0 for more bytes, -1
 * after closing c. */
static int read_handshake(struct conn *c, struct evbuffer *in)
{
	uint8_t hs[WIRE_HANDSHAKE_LEN];
	if (evbuffer_get_length(in) < sizeof hs)
		return 0;
	evbuffer_remove(in, hs, sizeof hs);
	if (!wire_handshake_ok(hs, WIRE_PROTO_REQ)) {
		bad_stream(c, "not an SP REQ0 peer (bad handshake)");
		return -1;
	}
	c->greeted = true;
	bufferevent_set_timeouts(c->bev, NULL, NULL);
	if (c->origin->kind == CONN_TLS)
		bind_certificate(c);
	return 1;
}

/* refuse_big: the message of len bytes is over the limit: once its request id is here,
 * answers too_big and skips the rest as it arrives. */
static int refuse_big(struct conn *c, struct evbuffer *in, size_t head, uint64_t len)
{
	uint8_t buf[REPLY_HEADROOM];
	char msg[160];
	if (evbuffer_get_length(in) < head + WIRE_ID_SIZE)
		return 0;
	evbuffer_remove(in, buf, head + WIRE_ID_SIZE);
	uint32_t id = wire_get32(buf + head);
	if (!(id & WIRE_ID_LAST)) {
		bad_stream(c, "a request id without its top bit");
		return -1;
	}
	snprintf(msg, sizeof msg,
		 "request of %llu bytes is over this listener's limit of %zu bytes",
		 (unsigned long long)len, c->origin->max_message);
	refuse(c, id, BRK_ETOOBIG, msg);
	c->discard = len - WIRE_ID_SIZE;
	return 1;
}

/* read_frame: handles one whole request from in. 1 when one was handled, 0 when more
 * bytes are needed, -1 after closing c. */
static int read_frame(struct conn *c, struct evbuffer *in)
{
	bool ipc = c->origin->kind == CONN_IPC;
	size_t head = wire_header_size(ipc), have = evbuffer_get_length(in);
	uint8_t h[REPLY_HEADROOM];
	if (have < head)
		return 0;
	evbuffer_copyout(in, h, head);
	uint64_t len = wire_get64(h + head - WIRE_LEN_SIZE);
	if ((ipc && h[0] != WIRE_IPC_MSG) || len < WIRE_ID_SIZE) {
		bad_stream(c, ipc && h[0] != WIRE_IPC_MSG ? "an ipc message of an unknown type"
							  : "a message too short for a request id");
		return -1;
	}
	if (len > c->origin->max_message)
		return refuse_big(c, in, head, len);
	if (have < head + len) {
		bufferevent_setwatermark(c->bev, EV_READ, 0,
					 head + len > READ_BUFFER ? head + len : READ_BUFFER);
		return 0;
	}
	const uint8_t *msg = evbuffer_pullup(in, (ev_ssize_t)(head + len));
	uint32_t id = msg ? wire_get32(msg + head) : 0;
	if (!(id & WIRE_ID_LAST)) {
		bad_stream(c, msg ? "a request id without its top bit" : "out of memory");
		return -1;
	}
	handle(c, id, (const char *)msg + head + WIRE_ID_SIZE, len - WIRE_ID_SIZE);
	evbuffer_drain(in, head + len);
	bytes_in += head + len;
	if (len + head > READ_BUFFER)
		bufferevent_setwatermark(c->bev, EV_READ, 0, READ_BUFFER);
	return 1;
}

/* read_step: consumes what it can of in: skipped bytes, the handshake or one frame. */
static int read_step(struct conn *c, struct evbuffer *in)
{
	if (c->discard) {
		size_t n = evbuffer_get_length(in);
		if (n > c->discard)
			n = (size_t)c->discard;
		evbuffer_drain(in, n);
		c->discard -= n;
		return n > 0;
	}
	return c->greeted ? read_frame(c, in) : read_handshake(c, in);
}

/* after_write: some output was written: close when shutting down and done, resume
 * reading when back-pressure eased. */
static void after_write(struct conn *c)
{
	size_t left = evbuffer_get_length(bufferevent_get_output(c->bev));
	if (stopping && left == 0) {
		conn_close(c, NULL);
		return;
	}
	if (c->paused && !stopping && left <= CONN_OUTPUT_LIMIT / 2) {
		c->paused = false;
		bufferevent_enable(c->bev, EV_READ);
		bufferevent_trigger(c->bev, EV_READ,
				    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
	}
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	if (c->origin->kind != CONN_TLS && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_disable(bev, EV_WRITE); /* written out: back to writing directly */
	after_write(c);
}

/* flush_one: writes what c's socket takes now; the rest is left to the bufferevent. */
static void flush_one(struct conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	int n = 1;
	evbuffer_unfreeze(out, 1); /* the bufferevent keeps its output's start frozen */
	while (evbuffer_get_length(out) > 0 && (n = evbuffer_write(out, fd)) > 0)
		;
	evbuffer_freeze(out, 1);
	if (evbuffer_get_length(out) > 0) {
		if (n < 0 && !(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			conn_close(c, NULL); /* the client's end broke */
			return;
		}
		bufferevent_enable(c->bev, EV_WRITE);
	}
	after_write(c);
}

static void flush_dirty(void)
{
	while (!list_empty(&dirty)) {
		struct conn *c = list_entry(dirty.next, struct conn, dirty_link);
		list_remove(&c->dirty_link);
		flush_one(c);
	}
	event_del(flush_ev);
}

void conn_flush(void)
{
	flush_dirty();
}

/* on_flush: replies made outside a read (a deadline, a signal) go out here. */
static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	flush_dirty();
}

/* watch_partial: after a read, a greeted c that holds part of a message must get more of it
 * within the stall timeout (a read timeout, renewed by every read); one with none
 * may stay silent for ever. */
static void watch_partial(struct conn *c, bool partial)
{
	if (!c->greeted || c->closed || partial == c->partial)
		return;
	c->partial = partial;
	bufferevent_set_timeouts(c->bev, partial ? &stall : NULL, NULL);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	int n = 0, rc = 1;
	while (rc > 0 && !c->paused && n++ < FRAMES_PER_TURN)
		rc = read_step(c, in);
	if (rc > 0 && !c->paused) /* more may be here: others get a turn first */
		bufferevent_trigger(bev, EV_READ,
				    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
	else if (rc == 0)
		watch_partial(c, evbuffer_get_length(in) > 0 || c->discard);
	flush_dirty(); /* what this pass answered, to c and to anyone it woke */
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	(void)bev;
	int err = EVUTIL_SOCKET_ERROR();
	if (what & BEV_EVENT_EOF) {
		conn_close(c, NULL);
	} else if (what & BEV_EVENT_TIMEOUT) {
		++*(c->greeted ? &closes.message_timeout : &closes.handshake_timeout);
		conn_close(c, c->greeted ? "a message left half-sent too long"
					 : "no handshake in time");
	} else if (what & BEV_EVENT_ERROR) {
		log_debug("session %llu: %s", (unsigned long long)c->sess->id,
			  evutil_socket_error_to_string(err));
		if (err == ETIMEDOUT || err == EHOSTUNREACH) {
			closes.peer_vanished++;
			conn_close(c, "the peer stopped answering (keepalive)");
		} else {
			conn_close(c, NULL); /* the client's end broke: nothing for the log */
		}
	}
}

/* ---- opening and closing ---- */

static void describe_ipc(session *s, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	snprintf(s->peer, sizeof s->peer, "ipc");
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		return;
	s->pid = (uint64_t)cred.pid;
	s->uid = (uint64_t)cred.uid;
	s->has_cred = true;
	snprintf(s->peer, sizeof s->peer, "ipc pid %llu", (unsigned long long)s->pid);
}

/* describe_inet: "ip:port" or "[ip6]:port" of a tcp peer, "tls " before it for tls. */
static void describe_inet(session *s, const struct sockaddr *sa, bool tls)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	const char *pre = tls ? "tls " : "";
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
		snprintf(s->peer, sizeof s->peer, "%s%s:%u", pre, ip, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
		snprintf(s->peer, sizeof s->peer, "%s[%s]:%u", pre, ip, ntohs(in6->sin6_port));
	}
}

static session *session_new(const struct conn_origin *origin, int fd, const struct sockaddr *sa)
{
	while (next_key == 0 || sess_find(next_key))
		next_key++;
	session *s = sess_open(next_key++);
	if (!s)
		return NULL;
	s->max_message = origin->max_message;
	if (origin->kind == CONN_IPC)
		describe_ipc(s, fd);
	else
		describe_inet(s, sa, origin->kind == CONN_TLS);
	auth_connect(s, s->has_cred, (uid_t)s->uid, NULL);
	return s;
}

int conn_open(struct bufferevent *bev, const struct conn_origin *origin, const struct sockaddr *sa)
{
	struct conn *c = calloc(1, sizeof *c);
	uint8_t hs[WIRE_HANDSHAKE_LEN];
	if (!c || !(c->sess = session_new(origin, bufferevent_getfd(bev), sa))) {
		log_error("out of memory accepting a connection");
		free(c);
		bufferevent_free(bev);
		return -1;
	}
	c->bev = bev;
	c->origin = origin;
	list_init(&c->dirty_link);
	list_push_back(&every_conn, &c->link);
	nconns++;
	wire_handshake(hs, WIRE_PROTO_REP);
	bufferevent_setcb(bev, on_read, on_write, on_event, c);
	bufferevent_setwatermark(bev, EV_READ, 0, READ_BUFFER);
	bufferevent_setwatermark(bev, EV_WRITE, CONN_OUTPUT_LIMIT / 2, 0);
	bufferevent_set_max_single_read(bev, READ_BUFFER);
	bufferevent_set_max_single_write(bev, CONN_OUTPUT_LIMIT);
	bufferevent_set_timeouts(bev, &stall, NULL);
	bufferevent_write(bev, hs, sizeof hs);
	bufferevent_enable(bev, origin->kind == CONN_TLS ? EV_READ | EV_WRITE : EV_READ);
	mark_dirty(c);
	log_debug("session %llu opened (%s)", (unsigned long long)c->sess->id, c->sess->peer);
	return 0;
}

/* conn_close: the one way out: ends the session (its parked requests are dropped and its
 * holdings released), closes the socket, and frees c once no request refers to it. */
static void conn_close(struct conn *c, const char *why)
{
	if (c->closed)
		return;
	if (why)
		log_info("session %llu (%s): closing: %s", (unsigned long long)c->sess->id,
			 c->sess->peer, why);
	else
		log_debug("session %llu closed (%s)", (unsigned long long)c->sess->id,
			  c->sess->peer);
	sess_close(c->sess); /* drops its parked requests: nothing is sent to c */
	c->sess = NULL;
	c->closed = true;
	list_remove(&c->dirty_link);
	bufferevent_free(c->bev);
	c->bev = NULL;
	list_remove(&c->link);
	nconns--;
	free_if_done(c);
	if (stopping && nconns == 0 && stopped)
		stopped();
}

void conn_init(struct event_base *base)
{
	/* Three priorities: timers and signals (0, made before this), connections (1, the
	 * default from now on), then the flush of their replies (2) last in each pass. */
	event_base_priority_init(base, 3);
	flush_ev = event_new(base, -1, 0, on_flush, NULL);
	event_priority_set(flush_ev, 2);
	stopping = false;
	stopped = NULL;
	dispatch_init(send_reply, req_alive, req_id);
}

void conn_shutdown(void (*done)(void))
{
	stopping = true;
	stopped = done;
	struct list *p = every_conn.next;
	while (p != &every_conn) {
		struct conn *c = list_entry(p, struct conn, link);
		p = p->next;
		bufferevent_disable(c->bev, EV_READ);
		bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
			conn_close(c, NULL);
	}
	if (nconns == 0)
		done();
}

void conn_close_all(void)
{
	stopped = NULL;
	while (!list_empty(&every_conn))
		conn_close(list_entry(every_conn.next, struct conn, link), NULL);
	jt_buf_free(&scratch);
	if (flush_ev)
		event_free(flush_ev);
	flush_ev = NULL;
}

size_t conn_count(void)
{
	return nconns;
}

long conn_live_requests(void)
{
	return live_total;
}

void conn_closes(struct conn_closes *out)
{
	*out = closes;
}

void conn_set_stall_timeout(double seconds)
{
	stall.tv_sec = (time_t)seconds;
	stall.tv_usec = (suseconds_t)((seconds - (double)stall.tv_sec) * 1e6);
}

bool conn_kick(uint64_t id, const char *why)
{
	for (struct list *l = every_conn.next; l != &every_conn; l = l->next) {
		struct conn *c = list_entry(l, struct conn, link);
		if (!c->closed && c->sess->id == id) {
			conn_close(c, why);
			return true;
		}
	}
	return false;
}

void conn_bytes(unsigned long long *in, unsigned long long *out)
{
	*in = bytes_in;
	*out = bytes_out;
}
