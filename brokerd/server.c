/* server.c: brokerd's transport. One raw REP socket serves every listener; the loop
 * thread alone touches sessions and objects, so nng's pipe callbacks only queue notes for
 * it. Replies keep the request's header (its route back) and go through our own send
 * queue because nng's non-blocking send may refuse them under load. */
#include <errno.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/transport/ipc/ipc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <arpa/inet.h>

#include "clock.h"
#include "dispatch.h"
#include "hmap.h"
#include "log.h"
#include "notify.h"
#include "server.h"
#include "session.h"
#include "wait.h"

#define SEND_BUFFER 1024    /* nng's own queue; ours takes the overflow */
#define DEAD_PIPE_MEMORY 60 /* seconds a closed pipe's id is remembered */
#define EXIT_GRACE 0.1      /* seconds for nng to write queued replies before close */
#define EXIT_LIMIT 2.0      /* seconds shutdown may take at most */

struct req {
	nng_msg *msg; /* the request; its header is the reply's route */
	uint32_t pipe;
};

struct listener {
	nng_listener l;
	char *url;
	size_t max_message;
};

struct pipe_note {
	uint32_t pipe;
	nng_pipe_ev ev;
};

static nng_socket sock = NNG_SOCKET_INITIALIZER;
static struct event_base *loop;
static struct event *recv_ev, *send_ev, *pipe_ev, *exit_ev;
static struct listener *listeners;
static size_t nlisteners;
static double started;
static long live_reqs; /* requests received and not yet answered or dropped */
static bool stopping, send_watched;

/* The send queue: a ring of replies nng did not take yet. */
static nng_msg **sendq;
static size_t sq_head, sq_len, sq_cap;

/* Pipe notes from nng's threads, guarded by notes_mu. */
static pthread_mutex_t notes_mu = PTHREAD_MUTEX_INITIALIZER;
static struct pipe_note *notes;
static size_t nnotes, notes_cap;

/* Pipes known closed (id -> monotonic second of closing), oldest first. A request can
 * reach us after its pipe's removal note; it must not create a session or be served. */
static hmap dead;

/* ---- dead pipes ---- */

static bool is_dead(uint32_t pipe)
{
	return hmap_find(&dead, &pipe, sizeof pipe) != NULL;
}

static void mark_dead(uint32_t pipe)
{
	uintptr_t now = (uintptr_t)clock_now();
	while (dead.first && (uintptr_t)dead.first->value + DEAD_PIPE_MEMORY < now)
		hmap_delete(&dead, dead.first);
	if (!is_dead(pipe))
		hmap_insert(&dead, &pipe, sizeof pipe, (void *)now);
}

/* ---- sending ---- */

static void watch_send(bool on)
{
	if (on == send_watched)
		return;
	send_watched = on;
	if (on)
		event_add(send_ev, NULL);
	else
		event_del(send_ev);
}

static void maybe_exit(void)
{
	struct timeval grace = {0, (suseconds_t)(EXIT_GRACE * 1e6)};
	if (stopping && sq_len == 0)
		event_add(exit_ev, &grace);
}

static void flush(void)
{
	while (sq_len) {
		int rv = nng_sendmsg(sock, sendq[sq_head], NNG_FLAG_NONBLOCK);
		if (rv == NNG_EAGAIN)
			break;
		if (rv) {
			log_warn("dropping a reply: %s", nng_strerror(rv));
			nng_msg_free(sendq[sq_head]);
		}
		sq_head = (sq_head + 1) % sq_cap;
		sq_len--;
	}
	watch_send(sq_len > 0);
	maybe_exit();
}

static int sendq_reserve(void)
{
	if (sq_len < sq_cap)
		return 0;
	size_t cap = sq_cap ? sq_cap * 2 : 256;
	nng_msg **q = malloc(cap * sizeof *q);
	if (!q)
		return -1;
	for (size_t i = 0; i < sq_len; i++)
		q[i] = sendq[(sq_head + i) % sq_cap];
	free(sendq);
	sendq = q;
	sq_cap = cap;
	sq_head = 0;
	return 0;
}

static void enqueue(nng_msg *m)
{
	if (sendq_reserve() != 0) {
		log_error("out of memory queueing a reply; dropped");
		nng_msg_free(m);
		return;
	}
	sendq[(sq_head + sq_len++) % sq_cap] = m;
	flush();
}

static int append_json(const char *buf, size_t len, void *msg)
{
	return nng_msg_append(msg, buf, len) == 0 ? 0 : -1;
}

/* send_reply: the dispatch hook. Replies to dead pipes are dropped here. */
static void send_reply(struct req *r, json_t *reply)
{
	nng_msg *m = r->msg;
	uint32_t pipe = r->pipe;
	free(r);
	live_reqs--;
	if (!reply || is_dead(pipe)) {
		json_decref(reply);
		nng_msg_free(m);
		return;
	}
	nng_msg_clear(m); /* the body only: the header routes the reply */
	int rc = json_dump_callback(reply, append_json, m, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(reply);
	if (rc != 0) {
		log_error("cannot encode a reply; dropped");
		nng_msg_free(m);
		return;
	}
	enqueue(m);
}

static bool req_alive(const struct req *r)
{
	nng_pipe p = NNG_PIPE_INITIALIZER;
	nng_sockaddr sa;
	if (is_dead(r->pipe))
		return false;
	p.id = r->pipe;
	int rv = nng_pipe_get_addr(p, NNG_OPT_REMADDR, &sa);
	return rv != NNG_ENOENT && rv != NNG_ECLOSED;
}

/* req_id: the request id, the last four bytes of the header (a raw REP socket puts the
 * pipe's id before it). */
static uint32_t req_id(const struct req *r)
{
	size_t n = nng_msg_header_len(r->msg);
	const uint8_t *h = nng_msg_header(r->msg);
	return n < 4 ? 0
		     : (uint32_t)h[n - 4] << 24 | (uint32_t)h[n - 3] << 16 |
			       (uint32_t)h[n - 2] << 8 | h[n - 1];
}

static void on_send_ready(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	flush();
}

/* ---- sessions ---- */

/* format_inet: "ip:port" or "[ip6]:port" of a tcp peer into buf; other kinds leave it. */
static void format_inet(const nng_sockaddr *sa, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN];
	if (sa->s_family == NNG_AF_INET) {
		inet_ntop(AF_INET, &sa->s_in.sa_addr, ip, sizeof ip);
		snprintf(buf, size, "%s:%u", ip, ntohs(sa->s_in.sa_port));
	} else if (sa->s_family == NNG_AF_INET6) {
		inet_ntop(AF_INET6, sa->s_in6.sa_addr, ip, sizeof ip);
		snprintf(buf, size, "[%s]:%u", ip, ntohs(sa->s_in6.sa_port));
	}
}

static void describe_peer(session *s, nng_pipe p)
{
	nng_sockaddr sa;
	nng_listener l = nng_pipe_listener(p);
	for (size_t i = 0; i < nlisteners; i++)
		if (nng_listener_id(listeners[i].l) == nng_listener_id(l))
			s->max_message = listeners[i].max_message;
	if (nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_PID, &s->pid) == 0 &&
	    nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_UID, &s->uid) == 0) {
		s->has_cred = true;
		snprintf(s->peer, sizeof s->peer, "ipc pid %llu", (unsigned long long)s->pid);
	} else if (nng_pipe_get_addr(p, NNG_OPT_REMADDR, &sa) == 0) {
		format_inet(&sa, s->peer, sizeof s->peer);
	}
}

static session *session_for(uint32_t pipe)
{
	session *s = sess_find(pipe);
	if (s || is_dead(pipe))
		return s;
	if (!(s = sess_open(pipe))) {
		log_error("out of memory opening a session");
		return NULL;
	}
	nng_pipe p = NNG_PIPE_INITIALIZER;
	p.id = pipe;
	describe_peer(s, p);
	log_debug("session %llu opened (%s)", (unsigned long long)s->id, s->peer);
	return s;
}

static void pipe_closed(uint32_t pipe)
{
	mark_dead(pipe);
	session *s = sess_find(pipe);
	if (!s)
		return;
	log_debug("session %llu closed (%s)", (unsigned long long)s->id, s->peer);
	sess_close(s);
}

/* on_pipe_event: runs on an nng thread; the loop does the work in on_pipe_notes. */
static void on_pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	(void)arg;
	pthread_mutex_lock(&notes_mu);
	if (nnotes == notes_cap) {
		size_t cap = notes_cap ? notes_cap * 2 : 64;
		struct pipe_note *n = realloc(notes, cap * sizeof *n);
		if (n)
			notes = n, notes_cap = cap;
	}
	if (nnotes < notes_cap)
		notes[nnotes++] = (struct pipe_note){nng_pipe_id(p), ev};
	else
		log_error("out of memory noting a pipe event");
	pthread_mutex_unlock(&notes_mu);
	event_active(pipe_ev, EV_READ, 0);
}

static void on_pipe_notes(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	pthread_mutex_lock(&notes_mu);
	struct pipe_note *batch = notes;
	size_t n = nnotes;
	notes = NULL;
	nnotes = notes_cap = 0;
	pthread_mutex_unlock(&notes_mu);
	for (size_t i = 0; i < n; i++) {
		if (batch[i].ev == NNG_PIPE_EV_ADD_POST)
			session_for(batch[i].pipe);
		else
			pipe_closed(batch[i].pipe);
	}
	free(batch);
}

/* ---- receiving ---- */

static void handle(nng_msg *m)
{
	uint32_t pipe = nng_pipe_id(nng_msg_get_pipe(m));
	session *s = session_for(pipe);
	struct req *r = s ? malloc(sizeof *r) : NULL;
	if (!r) {
		nng_msg_free(m);
		return;
	}
	r->msg = m;
	r->pipe = pipe;
	live_reqs++;
	dispatch_request(s, r, nng_msg_body(m), nng_msg_len(m));
}

static void on_recv_ready(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	for (;;) {
		nng_msg *m;
		int rv = nng_recvmsg(sock, &m, NNG_FLAG_NONBLOCK);
		if (rv == NNG_EAGAIN)
			return;
		if (rv) {
			if (rv != NNG_ECLOSED)
				log_warn("receive failed: %s", nng_strerror(rv));
			return;
		}
		handle(m);
	}
}

/* ---- start and stop ---- */

/* ensure_ipc_dir: creates the socket's directory (one level, 0755) when it is missing,
 * as /run/brokerd is on a fresh boot. */
static void ensure_ipc_dir(const char *url)
{
	if (strncmp(url, "ipc://", 6) != 0)
		return;
	char dir[512];
	snprintf(dir, sizeof dir, "%s", url + 6);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0755) == 0)
		log_info("created %s", dir);
}

static int start_listener(const struct listen_conf *lc, struct listener *out)
{
	int rv;
	ensure_ipc_dir(lc->url);
	if ((rv = nng_listener_create(&out->l, sock, lc->url)) ||
	    (rv = nng_listener_set_size(out->l, NNG_OPT_RECVMAXSZ, lc->max_message)))
		goto fail;
	if (strncmp(lc->url, "ipc://", 6) == 0 &&
	    (rv = nng_listener_set_int(out->l, NNG_OPT_IPC_PERMISSIONS, lc->ipc_mode)))
		goto fail;
	if ((rv = nng_listener_start(out->l, 0)))
		goto fail;
	out->url = strdup(lc->url);
	out->max_message = lc->max_message;
	log_info("listening on %s (max message %zu bytes)", lc->url, lc->max_message);
	return 0;
fail:
	log_error("cannot listen on %s: %s", lc->url, nng_strerror(rv));
	return -1;
}

static int event_fd(const char *opt, evutil_socket_t *fd)
{
	int v, rv = nng_socket_get_int(sock, opt, &v);
	*fd = v;
	return rv;
}

static void on_exit_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	event_base_loopexit(loop, NULL);
}

int server_start(struct event_base *base, const struct config *c)
{
	evutil_socket_t rfd, sfd;
	int rv;
	loop = base;
	started = clock_now();
	hmap_init(&dead);
	dispatch_init(send_reply, req_alive, req_id);
	if ((rv = nng_rep0_open_raw(&sock)) ||
	    (rv = nng_socket_set_int(sock, NNG_OPT_SENDBUF, SEND_BUFFER)) ||
	    (rv = nng_socket_set_int(sock, NNG_OPT_RECVBUF, SEND_BUFFER)) ||
	    (rv = nng_pipe_notify(sock, NNG_PIPE_EV_ADD_POST, on_pipe_event, NULL)) ||
	    (rv = nng_pipe_notify(sock, NNG_PIPE_EV_REM_POST, on_pipe_event, NULL)) ||
	    (rv = event_fd(NNG_OPT_RECVFD, &rfd)) || (rv = event_fd(NNG_OPT_SENDFD, &sfd))) {
		log_error("cannot open the nng socket: %s", nng_strerror(rv));
		return -1;
	}
	recv_ev = event_new(base, rfd, EV_READ | EV_PERSIST, on_recv_ready, NULL);
	send_ev = event_new(base, sfd, EV_READ | EV_PERSIST, on_send_ready, NULL);
	pipe_ev = event_new(base, -1, 0, on_pipe_notes, NULL);
	exit_ev = evtimer_new(base, on_exit_timer, NULL);
	listeners = calloc(c->nlisten, sizeof *listeners);
	if (!recv_ev || !send_ev || !pipe_ev || !exit_ev || !listeners)
		return -1;
	for (size_t i = 0; i < c->nlisten; i++, nlisteners++)
		if (start_listener(&c->listen[i], &listeners[i]) != 0)
			return -1;
	event_add(recv_ev, NULL);
	return 0;
}

void server_shutdown(void)
{
	struct timeval limit = {(time_t)EXIT_LIMIT, 0};
	if (stopping)
		return;
	stopping = true;
	notify_systemd("STOPPING=1");
	log_info("shutting down: answering %zu parked requests", wait_count());
	dispatch_set_shutting_down();
	wait_complete_all(BRK_ESHUTDOWN, "brokerd is shutting down");
	event_add(exit_ev, &limit);
	maybe_exit();
}

int server_close(void)
{
	nng_close(sock);
	sock = (nng_socket)NNG_SOCKET_INITIALIZER;
	while (sq_len) {
		nng_msg_free(sendq[sq_head]);
		sq_head = (sq_head + 1) % sq_cap;
		sq_len--;
	}
	free(sendq);
	sendq = NULL;
	sq_cap = 0;
	for (size_t i = 0; i < nlisteners; i++)
		free(listeners[i].url);
	free(listeners);
	listeners = NULL;
	nlisteners = 0;
	struct event *evs[] = {recv_ev, send_ev, pipe_ev, exit_ev};
	for (size_t i = 0; i < sizeof evs / sizeof *evs; i++)
		if (evs[i])
			event_free(evs[i]);
	recv_ev = send_ev = pipe_ev = exit_ev = NULL;
	free(notes);
	notes = NULL;
	nnotes = notes_cap = 0;
	hmap_fini(&dead, NULL);
	dispatch_fini();
	if (live_reqs == 0)
		return 0;
	log_error("%ld requests were never answered nor released (a bug)", live_reqs);
	return -1;
}

void server_describe(json_t *info)
{
	json_t *list = json_array();
	for (size_t i = 0; i < nlisteners && list; i++)
		json_array_append_new(list, json_pack("{s:s, s:I}", "url", listeners[i].url,
						      "max_message",
						      (json_int_t)listeners[i].max_message));
	json_object_set_new(info, "uptime", json_real(loop ? clock_now() - started : 0));
	json_object_set_new(info, "listeners", list);
}
