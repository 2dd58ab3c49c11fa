/* pipe.c: named two-ended message channels (PROTOCOL.md "Pipes"). Each end, "a" or "b", is
 * held by at most one session and has an inbox: the bounded FIFO of what the other end sent,
 * handed in order to the end's parked receivers. A closed end gives its peer EOF once the
 * peer's inbox is drained, and breaks the peer's sends at once. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "base64.h"
#include "clock.h"
#include "delivery.h"
#include "dispatch.h"
#include "envelope.h"
#include "hmap.h"
#include "jsontext.h"
#include "log.h"
#include "ops.h"
#include "persist.h"
#include "pipe.h"
#include "ring.h"
#include "session.h"
#include "wait.h"

#define DEFAULT_MAXMSGS 1000
#define DEFAULT_MAXBYTES ((json_int_t)16 << 20)
#define MAX_MAXMSGS 1000000000
#define MAX_MAXBYTES ((json_int_t)1 << 53)

enum end_state { END_UNOPENED, END_OPEN, END_CLOSED };
static const char *const state_names[] = {"unopened", "open", "closed"};

/* A message's kind; a receiver takes one kind or either ("as"). */
enum { MSG_VALUE, MSG_BYTES, MSG_ANY };
static const char *const kind_names[] = {"value", "bytes", "any"};

struct msg {
	json_t *body; /* the value, or the base64 text of the bytes */
	size_t size;  /* bytes: their number; a value: the length of its compact JSON text */
	int kind;
	uint64_t seq; /* arrival number in its inbox (the data dir's name for it) */
};

/* What waits for one end to receive it: the messages its peer sent, oldest first. */
struct inbox {
	struct msg *ring;
	size_t cap, head, count, bytes;
	struct list senders; /* the peer's parked pipe.send, arrival order */
	uint64_t next_seq;
	hmap *loading; /* seq -> struct msg, while the data dir loads */
};

struct end {
	enum end_state state;
	struct end_hold *hold; /* when open */
	struct inbox in;
	struct list receivers, pollers; /* this end's parked pipe.recv and pipe.poll */
};

struct pipe {
	const char *name; /* the object's name (the registry's copy) */
	bool duplex;
	size_t maxmsgs, maxbytes; /* bounds of each inbox */
	struct end end[2];        /* a, b */
	bool settling;
	object *obj; /* its object, set by every lookup (for the data dir) */
};

/* The holder's side: in its session's holdings, so that the session's end closes the end. */
struct end_hold {
	struct holding h;
	struct pipe *p;
	int e;
	double since; /* wall clock */
};

static void settle(struct pipe *p, int y);

static int peer(int e)
{
	return 1 - e;
}

static const char *end_name(int e)
{
	return e ? "b" : "a";
}

/* A one-way pipe (Python's Pipe(False)) receives on a and sends from b. */
static bool can_recv(const struct pipe *p, int e)
{
	return p->duplex || e == 0;
}

static bool can_send(const struct pipe *p, int e)
{
	return p->duplex || e == 1;
}

/* ---- inboxes ---- */

static struct msg *at(struct inbox *in, size_t i)
{
	return &in->ring[(in->head + i) % in->cap];
}

static int reserve(struct inbox *in)
{
	struct msg *ring = ring_grow(in->ring, sizeof *ring, &in->cap, &in->head, in->count, 8);
	if (!ring)
		return -1;
	in->ring = ring;
	return 0;
}

/* push: stores m (its body stolen on success) as the newest message, or as the oldest when
 * front (a message coming back). 0, or -1 when out of memory. */
static int push(struct inbox *in, struct msg m, bool front)
{
	if (reserve(in) != 0)
		return -1;
	if (front) {
		in->head = (in->head + in->cap - 1) % in->cap;
		in->ring[in->head] = m;
	} else {
		*at(in, in->count) = m;
	}
	in->count++;
	in->bytes += m.size;
	return 0;
}

/* pop: removes the oldest message; the caller owns its body. */
static struct msg pop(struct inbox *in)
{
	struct msg m = in->ring[in->head];
	in->head = (in->head + 1) % in->cap;
	in->count--;
	in->bytes -= m.size;
	return m;
}

/* fits: a message of size bytes may enter. An empty inbox takes any one message, so that
 * a message larger than maxbytes is not refused for ever. */
static bool fits(const struct pipe *p, const struct inbox *in, size_t size)
{
	return in->count < p->maxmsgs && (in->count == 0 || in->bytes + size <= p->maxbytes);
}

/* ready: end y has a message to receive, or its peer is closed (EOF). */
static bool ready(const struct pipe *p, int y)
{
	return p->end[y].in.count > 0 || p->end[peer(y)].state == END_CLOSED;
}

/* ---- the data dir's records (docs/durability.md): a message's arrival in an inbox, its
 * leaving for good, an end opened (closed after a restart) ---- */

static bool logs(const struct pipe *p)
{
	return p->obj && persist_wants(p->obj);
}

static json_t *put_record_new(const struct pipe *p, int y, const struct msg *m)
{
	return json_pack("{s:s, s:s, s:i, s:I, s:i, s:I, s:O}", "e", "pput", "o", p->name, "i", y,
			 "n", (json_int_t)m->seq, "k", m->kind, "z", (json_int_t)m->size, "x",
			 m->body);
}

static void log_arrival(const struct pipe *p, int y, const struct msg *m)
{
	if (logs(p))
		persist_put(put_record_new(p, y, m));
}

static void log_leaving(const struct pipe *p, int y, uint64_t seq)
{
	if (logs(p))
		persist_put(json_pack("{s:s, s:s, s:i, s:I}", "e", "pdel", "o", p->name, "i", y,
				      "n", (json_int_t)seq));
}

/* ---- message text ---- */

/* text_of: the compact JSON text of v in a buffer reused by every call (the loop is single
 * threaded); NULL when out of memory. */
static jt_buf *text_of(const json_t *v)
{
	static jt_buf text;
	if (text.cap > ((size_t)1 << 20))
		jt_buf_free(&text); /* do not keep a large message's buffer */
	text.len = 0;
	return jt_dump(v, &text) == 0 ? &text : NULL;
}

/* as_bytes_new: the base64 of v's JSON text: a value received as bytes. */
static json_t *as_bytes_new(const json_t *v)
{
	jt_buf *text = text_of(v);
	size_t n = text ? b64_encoded_len(text->len) : 0;
	char *b64 = text ? malloc(n + 1) : NULL;
	if (!b64)
		return NULL;
	b64_encode(text->data, text->len, b64);
	json_t *s = json_stringn_nocheck(b64, n);
	free(b64);
	return s;
}

/* result_new: {"value": V} or {"bytes": B64} for a receiver taking want. */
static json_t *result_new(const struct msg *m, int want)
{
	if (m->kind == MSG_VALUE && want == MSG_BYTES)
		return json_pack("{s:o}", "bytes", as_bytes_new(m->body));
	return json_pack("{s:O}", kind_names[m->kind], m->body);
}

/* refusal: why a receiver taking want, at most maxlength bytes, cannot take m: a bytes
 * message is not a JSON value; a longer one stays for a receiver with room. */
static brk_err refusal(const struct msg *m, int want, size_t maxlength)
{
	if (want == MSG_VALUE && m->kind == MSG_BYTES)
		return BRK_ETYPE;
	return m->size > maxlength ? BRK_ETOOLONG : BRK_OK;
}

static void refusal_text(const struct pipe *p, const struct msg *m, brk_err why, char *out,
			 size_t size)
{
	if (why == BRK_ETYPE)
		snprintf(out, size, "the next message of pipe '%s' is bytes; receive it as bytes",
			 p->name);
	else
		snprintf(out, size,
			 "the next message of pipe '%s' is %zu bytes, over maxlength; "
			 "it stays in the pipe",
			 p->name, m->size);
}

/* ---- deliveries to confirm ---- */

/* A message taken with "confirm": true, held by the receiver's session until confirmed. */
struct pdelivery {
	struct delivery d;
	int end; /* whose inbox it came from */
	size_t size;
	int kind;
	uint64_t seq;
};

/* give_back: an unconfirmed message returns to the front of its inbox (beyond the bounds if
 * need be), for the end's next holder; it is served at once if a receiver waits. */
static int give_back(object *o, const struct delivery *d)
{
	const struct pdelivery *pd = (const struct pdelivery *)d;
	struct pipe *p = o->impl;
	struct msg m = {json_incref(d->value), pd->size, pd->kind, pd->seq};
	p->obj = o;
	if (push(&p->end[pd->end].in, m, true) != 0) {
		json_decref(m.body);
		return -1;
	}
	settle(p, pd->end);
	return 0;
}

static void confirmed(object *o, const struct delivery *d)
{
	const struct pdelivery *pd = (const struct pdelivery *)d;
	log_leaving(o->impl, pd->end, pd->seq);
}

static void held_snapshot(const object *o, const struct delivery *d)
{
	const struct pdelivery *pd = (const struct pdelivery *)d;
	struct msg m = {d->value, pd->size, pd->kind, pd->seq};
	persist_put(put_record_new(o->impl, pd->end, &m));
}

static const struct delivery_origin from_pipe = {&pipe_class, give_back, confirmed, held_snapshot};

/* track: s holds m until confirmed; its delivery id (0 when out of memory). */
static uint64_t track(session *s, const struct pipe *p, int y, const struct msg *m)
{
	struct pdelivery *pd =
		(struct pdelivery *)delivery_new(sizeof *pd, &from_pipe, p->name, m->body);
	if (!pd)
		return 0;
	pd->end = y;
	pd->size = m->size;
	pd->kind = m->kind;
	pd->seq = m->seq;
	return delivery_track(s, &pd->d);
}

/* take: removes end y's next message and returns it for a receiver of session s taking
 * want; with confirm, s holds it until confirmed (*delivery: the id). NULL when out of
 * memory (the message stays). */
static json_t *take(struct pipe *p, int y, session *s, int want, bool confirm, uint64_t *delivery)
{
	struct inbox *in = &p->end[y].in;
	json_t *result = result_new(at(in, 0), want);
	if (!result)
		return NULL;
	struct msg m = pop(in);
	if (confirm)
		*delivery = track(s, p, y, &m);
	if (!confirm || !*delivery)
		log_leaving(p, y, m.seq);
	json_decref(m.body);
	return result;
}

/* ---- serving the parked ---- */

/* hand_over: end y's next message to its oldest live receiver, or that receiver's refusal
 * (the message stays). false when there is no message or no receiver. */
static bool hand_over(struct pipe *p, int y)
{
	struct end *x = &p->end[y];
	waiter *r;
	char text[PROTO_MAX_NAME + 128];
	if (!x->in.count || !(r = wait_first_live(&x->receivers)))
		return false;
	brk_err why = refusal(at(&x->in, 0), r->kind, r->maxlength);
	if (why) {
		refusal_text(p, at(&x->in, 0), why, text, sizeof text);
		wait_complete(r, why, NULL, text);
		return true;
	}
	json_t *result = take(p, y, r->sess, r->kind, r->confirm, &r->delivery);
	if (result)
		wait_complete(r, BRK_OK, result, NULL);
	else
		wait_complete(r, BRK_EINTERNAL, NULL, "out of memory");
	return true;
}

/* admit_sender: the oldest live parked send into end y's inbox enters if it fits. false
 * when none is parked or it does not fit yet. */
static bool admit_sender(struct pipe *p, int y)
{
	struct inbox *in = &p->end[y].in;
	waiter *w = wait_first_live(&in->senders);
	if (!w || !fits(p, in, w->size))
		return false;
	struct msg m = {w->item, w->size, w->kind, in->next_seq};
	w->item = NULL;
	if (push(in, m, false) != 0) {
		json_decref(m.body);
		wait_complete(w, BRK_EINTERNAL, NULL, "out of memory");
	} else {
		in->next_seq++;
		log_arrival(p, y, &m);
		wait_complete(w, BRK_OK, NULL, NULL);
	}
	return true;
}

/* settle: after any change to end y's inbox or to its peer: parked sends enter while they
 * fit, in order, and messages go to y's receivers in order; then pollers learn that
 * something is ready, and receivers of a drained inbox whose peer is closed get eof. */
static void settle(struct pipe *p, int y)
{
	struct end *x = &p->end[y];
	char text[PROTO_MAX_NAME + 96];
	waiter *w = NULL;
	if (p->settling)
		return; /* a waiter withdrawn inside the loop below: the loop goes on */
	p->settling = true;
	while (hand_over(p, y) || admit_sender(p, y))
		;
	p->settling = false;
	if (!ready(p, y))
		return;
	while ((w = wait_first(&x->pollers)))
		wait_complete(w, BRK_OK, json_true(), NULL);
	snprintf(text, sizeof text, "end %s of pipe '%s' is closed and nothing is left",
		 end_name(peer(y)), p->name);
	if (x->in.count == 0)
		wait_complete_list(&x->receivers, BRK_EEOF, text);
}

/* A send that leaves unserved (timed out, gone, cancelled) may have been the oldest, which
 * smaller ones behind it were waiting for. */
static void sender_left(waiter *w)
{
	settle(w->obj->impl, 0);
	settle(w->obj->impl, 1);
}

static void sender_timed_out(waiter *w)
{
	struct pipe *p = w->obj->impl;
	char text[PROTO_MAX_NAME + 64];
	snprintf(text, sizeof text, "pipe '%s' stayed full for the send's timeout", p->name);
	wait_complete(w, BRK_EFULL, NULL, text);
	settle(p, 0);
	settle(p, 1);
}

/* ---- ends ---- */

static void close_end(struct pipe *p, int e);

static void hold_release(struct holding *h, bool session_ended)
{
	struct end_hold *eh = (struct end_hold *)h;
	(void)session_ended; /* either way the end is closed, at once */
	close_end(eh->p, eh->e);
}

static json_t *hold_describe_new(const struct holding *h)
{
	const struct end_hold *eh = (const struct end_hold *)h;
	return json_pack("{s:s, s:s, s:s}", "kind", "pipe_end", "object", eh->p->name, "end",
			 end_name(eh->e));
}

static const struct holding_class end_holding_class = {"pipe_end", hold_release, hold_describe_new};

/* close_end: end e is closed: its holder lets go; its own parked requests are answered
 * closed; the peer's parked sends break at once and its receivers get what is left, then
 * eof. Its inbox is kept for a holder that opens it again. */
static void close_end(struct pipe *p, int e)
{
	struct end *x = &p->end[e];
	char text[PROTO_MAX_NAME + 64];
	free(x->hold);
	x->hold = NULL;
	x->state = END_CLOSED;
	snprintf(text, sizeof text, "end %s of pipe '%s' was closed", end_name(e), p->name);
	wait_complete_list(&x->receivers, BRK_ECLOSED, text);
	wait_complete_list(&x->pollers, BRK_ECLOSED, text);
	wait_complete_list(&p->end[peer(e)].in.senders, BRK_ECLOSED, text);
	wait_complete_list(&x->in.senders, BRK_EBROKENPIPE, text);
	settle(p, peer(e));
}

static int held_error(op_ctx *ctx, const struct pipe *p, int e)
{
	const session *s = p->end[e].hold->h.sess;
	char who[128];
	if (s->has_cred)
		snprintf(who, sizeof who, "pid %llu", (unsigned long long)s->pid);
	else
		snprintf(who, sizeof who, "%s", s->peer);
	return op_fail(ctx, BRK_EHELD, "end %s of pipe '%s' is held by session %llu (%s)",
		       end_name(e), p->name, (unsigned long long)s->id, who);
}

static bool held_by(const struct pipe *p, int e, const session *s)
{
	return p->end[e].hold && p->end[e].hold->h.sess == s;
}

/* open_end: ctx's session now holds end e. 0 or internal. */
static int open_end(op_ctx *ctx, struct pipe *p, int e)
{
	struct end_hold *eh = calloc(1, sizeof *eh);
	if (!eh)
		return op_fail(ctx, BRK_EINTERNAL, "out of memory");
	eh->h.cls = &end_holding_class;
	eh->p = p;
	eh->e = e;
	eh->since = clock_wall();
	if (!sess_hold(ctx->sess, &eh->h)) {
		free(eh);
		return op_fail(ctx, BRK_EINTERNAL, "out of memory");
	}
	p->end[e].hold = eh;
	p->end[e].state = END_OPEN;
	if (logs(p))
		persist_put(json_pack("{s:s, s:s, s:i}", "e", "pend", "o", p->name, "i", e));
	return 0;
}

/* take_end: ctx's session must hold end e; an end never opened is opened for it, and so is
 * a closed one when reopen (pipe.open). 0, end_held or closed. */
static int take_end(op_ctx *ctx, struct pipe *p, int e, bool reopen)
{
	enum end_state state = p->end[e].state;
	if (held_by(p, e, ctx->sess))
		return 0;
	if (state == END_OPEN)
		return held_error(ctx, p, e);
	if (state == END_CLOSED && !reopen)
		return op_fail(ctx, BRK_ECLOSED,
			       "end %s of pipe '%s' is closed (pipe.open opens it "
			       "again)",
			       end_name(e), p->name);
	return open_end(ctx, p, e);
}

/* ---- arguments ---- */

/* end_arg: "end", "a" or "b". */
static int end_arg(op_ctx *ctx, int *e)
{
	const char *s = json_string_value(json_object_get(ctx->args, "end"));
	if (!s || (strcmp(s, "a") && strcmp(s, "b")))
		return op_fail(ctx, BRK_EBADARG, "argument 'end' must be \"a\" or \"b\"");
	*e = s[0] - 'a';
	return 0;
}

/* message_arg: a send's message: exactly one of "value" (any JSON) and "bytes" (base64);
 * m->body is borrowed. */
static int message_arg(op_ctx *ctx, struct msg *m)
{
	json_t *value = json_object_get(ctx->args, "value");
	json_t *bytes = json_object_get(ctx->args, "bytes");
	jt_buf *text;
	if (!value == !bytes)
		return op_fail(ctx, BRK_EBADARG,
			       "pipe.send takes one of 'value' (any JSON) and 'bytes' (base64)");
	m->body = value ? value : bytes;
	m->kind = value ? MSG_VALUE : MSG_BYTES;
	if (value && !(text = text_of(value)))
		return op_fail(ctx, BRK_EINTERNAL, "out of memory");
	if (value)
		m->size = text->len;
	else if (!json_is_string(bytes) ||
		 b64_check(json_string_value(bytes), json_string_length(bytes), &m->size) != 0)
		return op_fail(ctx, BRK_EBADARG,
			       "argument 'bytes' must be base64 text (RFC 4648, with padding)");
	return 0;
}

/* recv_args: "as" (the kinds taken) and "maxlength" (SIZE_MAX when absent or null). */
static int recv_args(op_ctx *ctx, int *want, size_t *maxlength)
{
	const char *as;
	json_t *max = json_object_get(ctx->args, "maxlength");
	if (arg_opt_string(ctx, "as", "any", &as))
		return ctx->err;
	for (*want = MSG_ANY; *want >= 0 && strcmp(as, kind_names[*want]); --*want)
		;
	if (*want < 0)
		return op_fail(ctx, BRK_EBADARG,
			       "argument 'as' must be \"any\", \"value\" or "
			       "\"bytes\"");
	if (max && !json_is_null(max) && (!json_is_integer(max) || json_integer_value(max) < 0))
		return op_fail(ctx, BRK_EBADARG,
			       "argument 'maxlength' must be an integer >= 0, or null");
	*maxlength = json_is_integer(max) ? (size_t)json_integer_value(max) : SIZE_MAX;
	return 0;
}

/* ---- ops ---- */

/* lookup: the pipe and the end ctx names. Ops check their other arguments first, so that
 * a refused request creates nothing. */
static int lookup(op_ctx *ctx, bool create, struct pipe **p, int *e)
{
	object *o;
	int rc = end_arg(ctx, e);
	if (rc == 0)
		rc = create ? obj_lookup(ctx, &pipe_class, true, &o)
			    : obj_lookup_created(ctx, &pipe_class, &o);
	if (rc == 0) {
		*p = o->impl;
		(*p)->obj = o;
	}
	return rc;
}

static int wrong_end(op_ctx *ctx, const struct pipe *p, int e)
{
	return op_fail(ctx, BRK_EWRONGEND, "end %s of one-way pipe '%s' only %s", end_name(e),
		       p->name, e ? "sends" : "receives");
}

static bool same_settings(const void *existing, const void *built)
{
	const struct pipe *a = existing, *b = built;
	return a->duplex == b->duplex && a->maxmsgs == b->maxmsgs && a->maxbytes == b->maxbytes;
}

static int op_create(op_ctx *ctx)
{
	return obj_create(ctx, &pipe_class, same_settings);
}

static int op_open(op_ctx *ctx)
{
	struct pipe *p;
	int e;
	int rc = lookup(ctx, true, &p, &e);
	if (rc)
		return rc;
	bool had = held_by(p, e, ctx->sess);
	if ((rc = take_end(ctx, p, e, true)))
		return rc;
	return op_ok(ctx, json_pack("{s:b, s:b, s:b}", "opened", !had, "readable", can_recv(p, e),
				    "writable", can_send(p, e)));
}

/* park_send: the message waits for room, behind the sends parked before it. */
static int park_send(op_ctx *ctx, struct pipe *p, int y, const struct msg *m, double timeout)
{
	waiter *w = NULL;
	if (timeout == 0)
		return op_fail(ctx, BRK_EFULL, "pipe '%s' is full toward end %s", p->name,
			       end_name(y));
	int rc = obj_park(ctx, &p->end[y].in.senders, BRK_OP_PIPE_SEND, timeout, BRK_EFULL, &w);
	if (rc == OP_PARKED) {
		w->item = json_incref(m->body);
		w->size = m->size;
		w->kind = m->kind;
		w->on_timeout = sender_timed_out;
		w->on_withdraw = sender_left;
	}
	return rc;
}

static int op_send(op_ctx *ctx)
{
	struct pipe *p;
	struct msg m;
	double timeout;
	int e;
	int rc = message_arg(ctx, &m);
	if (rc || (rc = arg_wait(ctx, &timeout)) || (rc = lookup(ctx, true, &p, &e)))
		return rc;
	if (!can_send(p, e))
		return wrong_end(ctx, p, e);
	if ((rc = take_end(ctx, p, e, false)))
		return rc;
	int y = peer(e);
	struct inbox *in = &p->end[y].in;
	if (p->end[y].state == END_CLOSED)
		return op_fail(ctx, BRK_EBROKENPIPE, "end %s of pipe '%s' is closed", end_name(y),
			       p->name);
	if (wait_first_live(&in->senders) || !fits(p, in, m.size))
		return park_send(ctx, p, y, &m, timeout);
	m.seq = in->next_seq;
	if (push(in, (struct msg){json_incref(m.body), m.size, m.kind, m.seq}, false) != 0) {
		json_decref(m.body);
		return op_fail(ctx, BRK_EINTERNAL, "out of memory");
	}
	in->next_seq++;
	log_arrival(p, y, &m);
	settle(p, y);
	return op_ok(ctx, json_null());
}

/* recv_now: end y's next message for ctx, or why it cannot take it (the message stays). */
static int recv_now(op_ctx *ctx, struct pipe *p, int y, int want, size_t maxlength, bool confirm)
{
	const struct msg *m = at(&p->end[y].in, 0);
	brk_err why = refusal(m, want, maxlength);
	if (why) {
		refusal_text(p, m, why, ctx->msg, sizeof ctx->msg);
		ctx->err = why;
		return why;
	}
	json_t *result = take(p, y, ctx->sess, want, confirm, &ctx->delivery);
	if (!result)
		return op_fail(ctx, BRK_EINTERNAL, "out of memory");
	settle(p, y);
	return op_ok(ctx, result);
}

static int op_recv(op_ctx *ctx)
{
	struct pipe *p;
	double timeout;
	bool confirm;
	int y, want = MSG_ANY;
	size_t maxlength = SIZE_MAX;
	waiter *w = NULL;
	int rc = arg_wait(ctx, &timeout);
	if (rc || (rc = arg_opt_bool(ctx, "confirm", false, &confirm)) ||
	    (rc = recv_args(ctx, &want, &maxlength)) || (rc = lookup(ctx, true, &p, &y)))
		return rc;
	if (!can_recv(p, y))
		return wrong_end(ctx, p, y);
	if ((rc = take_end(ctx, p, y, false)))
		return rc;
	if (p->end[y].in.count)
		return recv_now(ctx, p, y, want, maxlength, confirm);
	if (p->end[peer(y)].state == END_CLOSED)
		return op_fail(ctx, BRK_EEOF, "end %s of pipe '%s' is closed and nothing is left",
			       end_name(peer(y)), p->name);
	if (timeout == 0)
		return op_fail(ctx, BRK_EEMPTY, "pipe '%s' has nothing for end %s", p->name,
			       end_name(y));
	rc = obj_park(ctx, &p->end[y].receivers, BRK_OP_PIPE_RECV, timeout, BRK_EEMPTY, &w);
	if (rc == OP_PARKED) {
		w->confirm = confirm;
		w->kind = want;
		w->maxlength = maxlength;
	}
	return rc;
}

static int op_poll(op_ctx *ctx)
{
	struct pipe *p;
	double timeout;
	int y;
	waiter *w = NULL;
	int rc = arg_wait(ctx, &timeout);
	if (rc || (rc = lookup(ctx, true, &p, &y)))
		return rc;
	if (!can_recv(p, y))
		return wrong_end(ctx, p, y);
	if ((rc = take_end(ctx, p, y, false)))
		return rc;
	if (ready(p, y) || timeout == 0)
		return op_ok(ctx, json_boolean(ready(p, y)));
	rc = obj_park(ctx, &p->end[y].pollers, BRK_OP_PIPE_POLL, timeout, BRK_EEMPTY, &w);
	if (rc == OP_PARKED)
		w->timeout_result = json_false();
	return rc;
}

static int op_close(op_ctx *ctx)
{
	struct pipe *p;
	int e;
	int rc = lookup(ctx, false, &p, &e);
	if (rc)
		return rc;
	struct end *x = &p->end[e];
	if (x->state == END_OPEN && !held_by(p, e, ctx->sess))
		return held_error(ctx, p, e);
	if (x->state == END_OPEN)
		sess_drop(&x->hold->h);
	if (x->state != END_CLOSED)
		close_end(p, e);
	return op_ok(ctx, json_null());
}

const struct op_def pipe_ops[] = {
	{BRK_OP_PIPE_CREATE, op_create, OPF_NAME | OPF_STORE | OPF_GROW,
	 "duplex,maxmsgs,maxbytes,ephemeral"},
	{BRK_OP_PIPE_OPEN, op_open, OPF_NAME | OPF_STORE, "end"},
	{BRK_OP_PIPE_SEND, op_send, OPF_NAME | OPF_STORE | OPF_GROW,
	 "end,value,bytes,block,timeout"},
	{BRK_OP_PIPE_RECV, op_recv, OPF_NAME | OPF_STORE, "end,as,maxlength,block,timeout,confirm"},
	{BRK_OP_PIPE_POLL, op_poll, OPF_NAME | OPF_STORE, "end,timeout"},
	{BRK_OP_PIPE_CLOSE, op_close, OPF_NAME | OPF_STORE, "end"},
	{NULL, NULL, 0, NULL},
};

/* ---- class ---- */

static void *create(op_ctx *ctx, const char *name)
{
	struct pipe built = {.name = name};
	if (arg_opt_bool(ctx, "duplex", true, &built.duplex) ||
	    arg_opt_count(ctx, "maxmsgs", DEFAULT_MAXMSGS, MAX_MAXMSGS, &built.maxmsgs) ||
	    arg_opt_count(ctx, "maxbytes", DEFAULT_MAXBYTES, MAX_MAXBYTES, &built.maxbytes))
		return NULL;
	struct pipe *p = malloc(sizeof *p);
	if (!p) {
		op_fail(ctx, BRK_EINTERNAL, "out of memory");
		return NULL;
	}
	*p = built;
	for (int e = 0; e < 2; e++) {
		list_init(&p->end[e].in.senders);
		list_init(&p->end[e].receivers);
		list_init(&p->end[e].pollers);
	}
	return p;
}

static void free_loading_msg(void *m);

static void destroy(void *impl)
{
	struct pipe *p = impl;
	for (int e = 0; e < 2; e++) {
		struct end *x = &p->end[e];
		if (x->hold) {
			sess_drop(&x->hold->h);
			free(x->hold);
		}
		while (x->in.count)
			json_decref(pop(&x->in).body);
		if (x->in.loading)
			hmap_fini(x->in.loading, free_loading_msg);
		free(x->in.loading);
		free(x->in.ring);
	}
	free(p);
}

static size_t size(const void *impl)
{
	const struct pipe *p = impl;
	return p->end[0].in.count + p->end[1].in.count;
}

static size_t waiters(const void *impl)
{
	const struct pipe *p = impl;
	size_t n = 0;
	for (int e = 0; e < 2; e++)
		n += list_length(&p->end[e].in.senders) + list_length(&p->end[e].receivers) +
		     list_length(&p->end[e].pollers);
	return n;
}

static json_t *holder_new(const struct end_hold *eh)
{
	if (!eh)
		return json_null();
	const session *s = eh->h.sess;
	json_t *h = json_pack("{s:I, s:s, s:f}", "session", (json_int_t)s->id, "peer", s->peer,
			      "since", eh->since);
	if (h && s->has_cred)
		json_object_set_new(h, "pid", json_integer((json_int_t)s->pid));
	return h;
}

/* end_stat_new: one end: who holds it, what waits for it to receive, who is parked. */
static json_t *end_stat_new(const struct pipe *p, int e)
{
	const struct end *x = &p->end[e];
	return json_pack("{s:s, s:o, s:b, s:b, s:I, s:I, s:o, s:o, s:o}", "state",
			 state_names[x->state], "holder", holder_new(x->hold), "readable",
			 can_recv(p, e), "writable", can_send(p, e), "buffered",
			 (json_int_t)x->in.count, "bytes", (json_int_t)x->in.bytes, "receivers",
			 wait_list_new(&x->receivers), "pollers", wait_list_new(&x->pollers),
			 "senders", wait_list_new(&p->end[peer(e)].in.senders));
}

static json_t *stat_new(const void *impl)
{
	const struct pipe *p = impl;
	return json_pack("{s:b, s:I, s:I, s:{s:o, s:o}}", "duplex", p->duplex, "maxmsgs",
			 (json_int_t)p->maxmsgs, "maxbytes", (json_int_t)p->maxbytes, "ends", "a",
			 end_stat_new(p, 0), "b", end_stat_new(p, 1));
}

static void complete_waiters(void *impl, brk_err err, const char *msg)
{
	struct pipe *p = impl;
	for (int e = 0; e < 2; e++) {
		wait_complete_list(&p->end[e].in.senders, err, msg);
		wait_complete_list(&p->end[e].receivers, err, msg);
		wait_complete_list(&p->end[e].pollers, err, msg);
	}
}

/* ---- the data dir ---- */

static json_t *settings_new(const void *impl)
{
	const struct pipe *p = impl;
	return json_pack("{s:b, s:I, s:I}", "duplex", p->duplex, "maxmsgs", (json_int_t)p->maxmsgs,
			 "maxbytes", (json_int_t)p->maxbytes);
}

static void free_loading_msg(void *m)
{
	if (m)
		json_decref(((struct msg *)m)->body);
	free(m);
}

/* replay_put: an arrival in inbox in, kept by arrival number until the load ends. */
static int replay_put(struct inbox *in, uint64_t seq, const json_t *rec)
{
	struct msg *m = malloc(sizeof *m);
	json_t *z = json_object_get(rec, "z"), *k = json_object_get(rec, "k");
	if (!in->loading && (in->loading = calloc(1, sizeof *in->loading)))
		hmap_init(in->loading);
	if (!m || !in->loading || !json_is_integer(z) || !json_is_integer(k) ||
	    hmap_find(in->loading, &seq, sizeof seq)) {
		free(m);
		return -1;
	}
	*m = (struct msg){json_incref(json_object_get(rec, "x")), (size_t)json_integer_value(z),
			  (int)json_integer_value(k), seq};
	if (!m->body || !hmap_insert(in->loading, &seq, sizeof seq, m)) {
		free_loading_msg(m);
		return -1;
	}
	if (seq >= in->next_seq)
		in->next_seq = seq + 1;
	return 0;
}

static int replay(object *o, const json_t *rec)
{
	struct pipe *p = o->impl;
	const char *e = json_string_value(json_object_get(rec, "e"));
	json_int_t y = json_integer_value(json_object_get(rec, "i"));
	uint64_t seq = (uint64_t)json_integer_value(json_object_get(rec, "n"));
	if (y < 0 || y > 1)
		return -1;
	struct inbox *in = &p->end[y].in;
	hmap_entry *found;
	if (!strcmp(e, "pput"))
		return replay_put(in, seq, rec);
	if (!strcmp(e, "pend")) {
		p->end[y].state = END_CLOSED; /* its holder's session ended with the restart */
		return 0;
	}
	if (!strcmp(e, "pstate")) {
		if (seq > in->next_seq)
			in->next_seq = seq;
		if (json_is_true(json_object_get(rec, "closed")))
			p->end[y].state = END_CLOSED;
		return 0;
	}
	if (strcmp(e, "pdel") || !in->loading ||
	    !(found = hmap_find(in->loading, &seq, sizeof seq)))
		return -1;
	free_loading_msg(found->value);
	hmap_delete(in->loading, found);
	return 0;
}

static int by_seq(const void *a, const void *b)
{
	const struct msg *x = *(struct msg *const *)a, *y = *(struct msg *const *)b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* load_inbox: the messages left after the load, oldest first. */
static void load_inbox(const struct pipe *p, struct inbox *in)
{
	size_t n = 0;
	struct msg **all = malloc((in->loading->count + 1) * sizeof *all);
	for (hmap_entry *e = in->loading->first; e && all; e = e->next)
		all[n++] = e->value;
	if (all)
		qsort(all, n, sizeof *all, by_seq);
	for (size_t i = 0; i < n; i++) {
		if (push(in, *all[i], false) == 0)
			all[i]->body = NULL; /* the inbox has it now */
		else
			log_error("pipe '%s': out of memory loading a message", p->name);
	}
	free(all);
	hmap_fini(in->loading, free_loading_msg);
	free(in->loading);
	in->loading = NULL;
}

static void loaded(object *o)
{
	struct pipe *p = o->impl;
	for (int e = 0; e < 2; e++)
		if (p->end[e].in.loading)
			load_inbox(p, &p->end[e].in);
	p->obj = o;
}

static void snapshot(const object *o)
{
	const struct pipe *p = o->impl;
	for (int y = 0; y < 2; y++) {
		const struct inbox *in = &p->end[y].in;
		persist_put(json_pack("{s:s, s:s, s:i, s:I, s:b}", "e", "pstate", "o", p->name, "i",
				      y, "n", (json_int_t)in->next_seq, "closed",
				      p->end[y].state != END_UNOPENED));
		for (size_t i = 0; i < in->count; i++)
			persist_put(put_record_new(p, y, &in->ring[(in->head + i) % in->cap]));
	}
}

const struct obj_class pipe_class = {
	"pipe",           create, destroy,      size,   waiters, stat_new,
	complete_waiters, false,  settings_new, replay, loaded,  snapshot,
};
