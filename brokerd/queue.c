/* queue.c: queue storage (a ring for fifo/lifo, a binary heap for priority), its ops, and
 * the hand-over rules between puts, gets and the waiters parked on either side. */
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "delivery.h"
#include "dispatch.h"
#include "hmap.h"
#include "log.h"
#include "ops.h"
#include "persist.h"
#include "queue.h"
#include "ring.h"
#include "session.h"
#include "wait.h"

enum qkind { Q_FIFO, Q_LIFO, Q_PRIORITY };
static const char *const kind_names[] = {"fifo", "lifo", "priority"};

struct qitem {
	json_t *value;
	double priority;
	uint64_t seq; /* arrival order: FIFO among equal priorities */
};

typedef struct queue {
	enum qkind kind;
	size_t maxsize; /* 0: unbounded */
	struct qitem *items;
	size_t cap, head, count; /* ring (fifo/lifo) or heap in items[0..count) (priority) */
	uint64_t seq;
	uint64_t unfinished; /* puts not yet matched by task_done */
	struct list getters, putters, joiners;
	object *obj;   /* its object, set by every lookup (for the data dir) */
	hmap *loading; /* seq -> struct qitem, while the data dir loads */
} queue;

/* ---- storage ---- */

static bool before(const struct qitem *a, const struct qitem *b)
{
	return a->priority < b->priority || (a->priority == b->priority && a->seq < b->seq);
}

static struct qitem *slot(queue *q, size_t i)
{
	return &q->items[(q->head + i) % q->cap];
}

static int reserve(queue *q)
{
	struct qitem *items = ring_grow(q->items, sizeof *items, &q->cap, &q->head, q->count, 16);
	if (!items)
		return -1;
	q->items = items;
	return 0;
}

static void heap_up(queue *q, size_t i)
{
	struct qitem it = q->items[i];
	while (i > 0 && before(&it, &q->items[(i - 1) / 2])) {
		q->items[i] = q->items[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	q->items[i] = it;
}

static void heap_down(queue *q, size_t i)
{
	struct qitem it = q->items[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= q->count)
			break;
		if (c + 1 < q->count && before(&q->items[c + 1], &q->items[c]))
			c++;
		if (!before(&q->items[c], &it))
			break;
		q->items[i] = q->items[c];
		i = c;
	}
	q->items[i] = it;
}

/* place: stores it as the newest item (the back of the ring, or into the heap). */
static int place(queue *q, struct qitem it)
{
	if (reserve(q) != 0)
		return -1;
	*slot(q, q->count) = it;
	q->count++;
	if (q->kind == Q_PRIORITY)
		heap_up(q, q->count - 1);
	return 0;
}

/* push: stores value (stolen) as a new arrival. 0, or -1 when out of memory (value
 * released). */
static int push(queue *q, json_t *value, double priority)
{
	struct qitem it = {value, priority, q->seq++};
	if (place(q, it) == 0)
		return 0;
	json_decref(value);
	return -1;
}

/* pop: removes the next item by the queue's kind; the caller owns its value. */
static struct qitem pop(queue *q)
{
	struct qitem it;
	if (q->kind == Q_LIFO) {
		it = *slot(q, q->count - 1);
	} else if (q->kind == Q_FIFO) {
		it = *slot(q, 0);
		q->head = (q->head + 1) % q->cap;
	} else {
		it = q->items[0];
		q->items[0] = q->items[q->count - 1];
	}
	q->count--;
	if (q->kind == Q_PRIORITY && q->count)
		heap_down(q, 0);
	return it;
}

/* unpop: puts back an item that was taken, where it was: the front of a FIFO, the top of a
 * LIFO, its old place (priority, then arrival) in a priority queue. */
static int unpop(queue *q, struct qitem it)
{
	if (q->kind != Q_FIFO)
		return place(q, it);
	if (reserve(q) != 0)
		return -1;
	q->head = (q->head + q->cap - 1) % q->cap;
	q->items[q->head] = it;
	q->count++;
	return 0;
}

static bool is_full(const queue *q)
{
	return q->maxsize && q->count >= q->maxsize;
}

/* ---- the data dir's records (docs/durability.md): an item's arrival, with the count
 * of unfinished tasks; its leaving for good; task_done ---- */

static bool logs(const queue *q)
{
	return q->obj && persist_wants(q->obj);
}

static json_t *put_record_new(const char *name, const struct qitem *it)
{
	return json_pack("{s:s, s:s, s:I, s:f, s:O}", "e", "qput", "o", name, "s",
			 (json_int_t)it->seq, "p", it->priority, "x", it->value);
}

static void log_arrival(const queue *q, const struct qitem *it)
{
	json_t *rec = logs(q) ? put_record_new(q->obj->name, it) : NULL;
	if (rec) {
		json_object_set_new(rec, "u", json_integer((json_int_t)q->unfinished));
		persist_put(rec);
	}
}

static void log_leaving(const queue *q, uint64_t seq)
{
	if (logs(q))
		persist_put(json_pack("{s:s, s:s, s:I}", "e", "qdel", "o", q->obj->name, "s",
				      (json_int_t)seq));
}

static void log_unfinished(const queue *q)
{
	if (logs(q))
		persist_put(json_pack("{s:s, s:s, s:I}", "e", "qunf", "o", q->obj->name, "u",
				      (json_int_t)q->unfinished));
}

/* ---- deliveries to confirm ---- */

/* An item handed to a getter that promised to confirm it ("confirm": true); where it was
 * is kept so that it can go back there. */
struct qdelivery {
	struct delivery d;
	double priority;
	uint64_t seq;
};

static void give(queue *q, waiter *getter, const char *queue_name, struct qitem it);
static int give_back(object *o, const struct delivery *d);

static void confirmed(object *o, const struct delivery *d)
{
	log_leaving(o->impl, ((const struct qdelivery *)d)->seq);
}

static void held_snapshot(const object *o, const struct delivery *d)
{
	const struct qdelivery *qd = (const struct qdelivery *)d;
	struct qitem it = {d->value, qd->priority, qd->seq};
	persist_put(put_record_new(o->name, &it));
}

static const struct delivery_origin from_queue = {&queue_class, give_back, confirmed,
						  held_snapshot};

/* give_back: an unconfirmed item returns to its queue, to a live getter first. */
static int give_back(object *o, const struct delivery *d)
{
	const struct qdelivery *qd = (const struct qdelivery *)d;
	queue *q = o->impl;
	struct qitem it = {json_incref(d->value), qd->priority, qd->seq};
	waiter *g = wait_first_live(&q->getters);
	q->obj = o;
	if (g)
		give(q, g, o->name, it);
	else if (unpop(q, it) == 0)
		return 0;
	json_decref(it.value);
	return g ? 0 : -1;
}

/* track: s holds it until confirmed; returns the delivery id (0 when out of memory: the
 * item is then delivered unconfirmed). */
static uint64_t track(session *s, const char *queue_name, struct qitem it)
{
	struct qdelivery *qd =
		(struct qdelivery *)delivery_new(sizeof *qd, &from_queue, queue_name, it.value);
	if (!qd)
		return 0;
	qd->priority = it.priority;
	qd->seq = it.seq;
	return delivery_track(s, &qd->d);
}

/* give: completes a parked getter with it (borrowed); unconfirmed, it leaves for good. */
static void give(queue *q, waiter *getter, const char *queue_name, struct qitem it)
{
	if (getter->confirm)
		getter->delivery = track(getter->sess, queue_name, it);
	if (!getter->delivery)
		log_leaving(q, it.seq);
	wait_complete(getter, BRK_OK, json_incref(it.value), NULL);
}

/* admit_putters: moves parked puts into the queue while there is room, oldest first. */
static void admit_putters(queue *q)
{
	waiter *w = NULL;
	while (!is_full(q) && (w = wait_first(&q->putters))) {
		struct qitem it = {w->item, w->priority, q->seq};
		w->item = NULL;
		if (push(q, it.value, it.priority) != 0) {
			wait_complete(w, BRK_EINTERNAL, NULL, "out of memory");
			continue;
		}
		q->unfinished++;
		log_arrival(q, &it);
		wait_complete(w, BRK_OK, NULL, NULL);
	}
}

/* ---- ops ---- */

static int lookup(op_ctx *ctx, queue **out)
{
	object *o;
	int rc = obj_lookup(ctx, &queue_class, true, &o);
	if (rc == 0) {
		*out = o->impl;
		(*out)->obj = o;
	}
	return rc;
}

/* peek: the queue ctx names, or NULL: ops that only look (or would not wait) never make
 * one, so a reader cannot fill the object table (PROTOCOL.md "Queues"). */
static int peek(op_ctx *ctx, queue **out)
{
	object *o;
	int rc = obj_lookup(ctx, &queue_class, false, &o);
	*out = NULL;
	if (rc == 0 && o) {
		*out = o->impl;
		(*out)->obj = o;
	}
	return rc;
}

static bool same_settings(const void *existing, const void *built)
{
	const queue *a = existing, *b = built;
	return a->kind == b->kind && a->maxsize == b->maxsize;
}

static int op_create(op_ctx *ctx)
{
	return obj_create(ctx, &queue_class, same_settings);
}

static int op_put(op_ctx *ctx)
{
	queue *q;
	json_t *value;
	double timeout, priority;
	int rc = lookup(ctx, &q);
	if (rc || (rc = arg_value(ctx, "value", &value)) || (rc = arg_wait(ctx, &timeout)) ||
	    (rc = arg_opt_number(ctx, "priority", 0, &priority)))
		return rc;
	if (q->kind != Q_PRIORITY && json_object_get(ctx->args, "priority"))
		return op_fail(ctx, BRK_EBADARG, "'priority' is only for priority queues");
	waiter *getter = wait_first_live(&q->getters);
	if (getter) {
		struct qitem it = {value, priority, q->seq++};
		q->unfinished++;
		log_arrival(q, &it);
		give(q, getter, ctx->name, it);
		return op_ok(ctx, json_null());
	}
	if (!is_full(q)) {
		struct qitem it = {value, priority, q->seq};
		if (push(q, json_incref(value), priority) != 0)
			return op_fail(ctx, BRK_EINTERNAL, "out of memory");
		q->unfinished++;
		log_arrival(q, &it);
		return op_ok(ctx, json_null());
	}
	if (timeout == 0)
		return op_fail(ctx, BRK_EFULL, "queue '%s' is full", ctx->name);
	waiter *w = NULL;
	rc = obj_park(ctx, &q->putters, BRK_OP_QUEUE_PUT, timeout, BRK_EFULL, &w);
	if (rc == OP_PARKED) {
		w->item = json_incref(value);
		w->priority = priority;
	}
	return rc;
}

static int op_get(op_ctx *ctx)
{
	queue *q;
	double timeout;
	bool confirm;
	int rc = arg_wait(ctx, &timeout);
	if (rc || (rc = arg_opt_bool(ctx, "confirm", false, &confirm)) ||
	    (rc = timeout == 0 ? peek(ctx, &q) : lookup(ctx, &q)))
		return rc;
	if (q && q->count) {
		struct qitem it = pop(q);
		if (confirm)
			ctx->delivery = track(ctx->sess, ctx->name, it);
		if (!ctx->delivery)
			log_leaving(q, it.seq);
		admit_putters(q);
		return op_ok(ctx, it.value);
	}
	if (timeout == 0)
		return op_fail(ctx, BRK_EEMPTY, "queue '%s' is empty", ctx->name);
	waiter *w = NULL;
	rc = obj_park(ctx, &q->getters, BRK_OP_QUEUE_GET, timeout, BRK_EEMPTY, &w);
	if (rc == OP_PARKED)
		w->confirm = confirm;
	return rc;
}

/* The _nowait ops are their blocking twins with "block": false. */
static int op_nowait(op_ctx *ctx, op_fn fn)
{
	ctx->req = NULL;
	return fn(ctx);
}

static int op_put_nowait(op_ctx *ctx)
{
	return op_nowait(ctx, op_put);
}

static int op_get_nowait(op_ctx *ctx)
{
	return op_nowait(ctx, op_get);
}

static int op_qsize(op_ctx *ctx)
{
	queue *q;
	int rc = peek(ctx, &q);
	return rc ? rc : op_ok(ctx, json_integer(q ? (json_int_t)q->count : 0));
}

static int op_empty(op_ctx *ctx)
{
	queue *q;
	int rc = peek(ctx, &q);
	return rc ? rc : op_ok(ctx, json_boolean(!q || q->count == 0));
}

static int op_full(op_ctx *ctx)
{
	queue *q;
	int rc = peek(ctx, &q);
	return rc ? rc : op_ok(ctx, json_boolean(q && is_full(q)));
}

static int op_task_done(op_ctx *ctx)
{
	queue *q;
	int rc = peek(ctx, &q);
	if (rc)
		return rc;
	if (!q || q->unfinished == 0)
		return op_fail(ctx, BRK_EVALUE, "task_done() called too many times");
	if (--q->unfinished == 0) {
		wait_complete_list(&q->joiners, BRK_OK, NULL);
	}
	log_unfinished(q);
	return op_ok(ctx, json_null());
}

static int op_join(op_ctx *ctx)
{
	queue *q;
	double timeout;
	int rc = arg_wait(ctx, &timeout);
	if (rc || (rc = peek(ctx, &q)))
		return rc;
	if (!q || q->unfinished == 0)
		return op_ok(ctx, json_null());
	if (timeout == 0)
		return op_fail(ctx, BRK_ETIMEOUT, "queue '%s' has %llu unfinished tasks", ctx->name,
			       (unsigned long long)q->unfinished);
	return obj_park(ctx, &q->joiners, BRK_OP_QUEUE_JOIN, timeout, BRK_ETIMEOUT, NULL);
}

/* nth_of_heap: the items of priority queue q in get order, the first n of them into out
 * (borrowed): a best-first walk of the heap, whose frontier holds at most n + 1 slots. */
static size_t nth_of_heap(const queue *q, size_t n, const struct qitem **out)
{
	size_t frontier[QUEUE_PEEK_MAX + 1], nf = q->count ? 1 : 0, k = 0;
	frontier[0] = 0;
	while (k < n && nf) {
		size_t best = 0;
		for (size_t i = 1; i < nf; i++)
			if (before(&q->items[frontier[i]], &q->items[frontier[best]]))
				best = i;
		size_t at = frontier[best];
		out[k++] = &q->items[at];
		frontier[best] = frontier[--nf];
		for (size_t c = 2 * at + 1; c <= 2 * at + 2 && c < q->count; c++)
			frontier[nf++] = c;
	}
	return k;
}

/* op_peek: the next n items (default 1, at most QUEUE_PEEK_MAX) in the order gets would
 * take them, without taking them. */
static int op_peek(op_ctx *ctx)
{
	queue *q;
	json_int_t n;
	const struct qitem *items[QUEUE_PEEK_MAX];
	int rc = arg_opt_int(ctx, "n", 1, &n);
	if (rc == 0 && (n < 1 || n > QUEUE_PEEK_MAX))
		return op_fail(ctx, BRK_EBADARG, "argument 'n' must be from 1 to %d",
			       QUEUE_PEEK_MAX);
	if (rc || (rc = peek(ctx, &q)))
		return rc;
	size_t have = q ? q->count : 0;
	if (have > (size_t)n)
		have = (size_t)n;
	if (q && q->kind == Q_PRIORITY)
		have = nth_of_heap(q, have, items);
	for (size_t i = 0; q && q->kind != Q_PRIORITY && i < have; i++)
		items[i] = slot(q, q->kind == Q_FIFO ? i : q->count - 1 - i);
	json_t *list = json_array();
	for (size_t i = 0; i < have && list; i++)
		json_array_append(list, items[i]->value);
	return op_ok(ctx, list);
}

/* op_purge: drops every item of the queue (not those delivered and not yet confirmed),
 * as tasks done; parked putters then get in. */
static int op_purge(op_ctx *ctx)
{
	queue *q;
	int rc = peek(ctx, &q);
	size_t n = q ? q->count : 0;
	if (rc)
		return rc;
	while (q && q->count) {
		struct qitem it = pop(q);
		log_leaving(q, it.seq);
		json_decref(it.value);
	}
	if (q && n) {
		q->unfinished = q->unfinished > n ? q->unfinished - n : 0;
		log_unfinished(q);
		if (q->unfinished == 0)
			wait_complete_list(&q->joiners, BRK_OK, NULL);
		admit_putters(q);
	}
	return op_ok(ctx, json_pack("{s:I}", "purged", (json_int_t)n));
}

const struct op_def queue_ops[] = {
	{BRK_OP_QUEUE_CREATE, op_create, OPF_NAME | OPF_STORE | OPF_GROW, "kind,maxsize,ephemeral"},
	{BRK_OP_QUEUE_PUT, op_put, OPF_NAME | OPF_STORE | OPF_GROW, "value,priority,block,timeout"},
	{BRK_OP_QUEUE_PUT_NOWAIT, op_put_nowait, OPF_NAME | OPF_STORE | OPF_GROW, "value,priority"},
	{BRK_OP_QUEUE_GET, op_get, OPF_NAME | OPF_STORE, "block,timeout,confirm"},
	{BRK_OP_QUEUE_GET_NOWAIT, op_get_nowait, OPF_NAME | OPF_STORE, "confirm"},
	{BRK_OP_QUEUE_QSIZE, op_qsize, OPF_NAME | OPF_RO, ""},
	{BRK_OP_QUEUE_EMPTY, op_empty, OPF_NAME | OPF_RO, ""},
	{BRK_OP_QUEUE_FULL, op_full, OPF_NAME | OPF_RO, ""},
	{BRK_OP_QUEUE_TASK_DONE, op_task_done, OPF_NAME | OPF_STORE, ""},
	{BRK_OP_QUEUE_JOIN, op_join, OPF_NAME, "timeout"},
	{BRK_OP_QUEUE_PEEK, op_peek, OPF_NAME | OPF_RO, "n"},
	{BRK_OP_QUEUE_PURGE, op_purge, OPF_NAME | OPF_STORE | OPF_ADMIN, ""},
	{NULL, NULL, 0, NULL},
};

/* ---- class ---- */

static void *create(op_ctx *ctx, const char *name)
{
	(void)name;
	const char *kind;
	json_int_t maxsize;
	if (arg_opt_string(ctx, "kind", "fifo", &kind) || arg_opt_int(ctx, "maxsize", 0, &maxsize))
		return NULL;
	int k = -1;
	for (int i = Q_FIFO; i <= Q_PRIORITY; i++)
		if (strcmp(kind, kind_names[i]) == 0)
			k = i;
	if (k < 0) {
		op_fail(ctx, BRK_EBADARG, "'kind' must be fifo, lifo or priority");
		return NULL;
	}
	queue *q = calloc(1, sizeof *q);
	if (!q) {
		op_fail(ctx, BRK_EINTERNAL, "out of memory");
		return NULL;
	}
	q->kind = (enum qkind)k;
	q->maxsize = maxsize > 0 ? (size_t)maxsize : 0; /* as Python: <= 0 is unbounded */
	list_init(&q->getters);
	list_init(&q->putters);
	list_init(&q->joiners);
	return q;
}

static void free_loading_item(void *p);

static void destroy(void *impl)
{
	queue *q = impl;
	while (q->count)
		json_decref(pop(q).value);
	if (q->loading)
		hmap_fini(q->loading, free_loading_item);
	free(q->loading);
	free(q->items);
	free(q);
}

static size_t size(const void *impl)
{
	return ((const queue *)impl)->count;
}

static size_t waiters(const void *impl)
{
	const queue *q = impl;
	return list_length(&q->getters) + list_length(&q->putters) + list_length(&q->joiners);
}

static json_t *stat_new(const void *impl)
{
	const queue *q = impl;
	return json_pack("{s:s, s:I, s:I, s:o, s:o, s:o}", "kind", kind_names[q->kind], "maxsize",
			 (json_int_t)q->maxsize, "unfinished", (json_int_t)q->unfinished, "getters",
			 wait_list_new(&q->getters), "putters", wait_list_new(&q->putters),
			 "joiners", wait_list_new(&q->joiners));
}

static void complete_waiters(void *impl, brk_err err, const char *msg)
{
	queue *q = impl;
	wait_complete_list(&q->getters, err, msg);
	wait_complete_list(&q->putters, err, msg);
	wait_complete_list(&q->joiners, err, msg);
}

/* ---- the data dir ---- */

static json_t *settings_new(const void *impl)
{
	const queue *q = impl;
	return json_pack("{s:s, s:I}", "kind", kind_names[q->kind], "maxsize",
			 (json_int_t)q->maxsize);
}

static void free_loading_item(void *p)
{
	struct qitem *it = p;
	if (!it)
		return;
	json_decref(it->value);
	free(it);
}

/* replay_put: an arrival, kept by arrival number until the load ends (a later record may
 * take it out again). */
static int replay_put(queue *q, uint64_t seq, const json_t *rec)
{
	struct qitem *it = malloc(sizeof *it);
	if (!q->loading && (q->loading = calloc(1, sizeof *q->loading)))
		hmap_init(q->loading);
	if (!it || !q->loading || hmap_find(q->loading, &seq, sizeof seq)) {
		free(it);
		return -1;
	}
	*it = (struct qitem){json_incref(json_object_get(rec, "x")),
			     json_number_value(json_object_get(rec, "p")), seq};
	if (!it->value || !hmap_insert(q->loading, &seq, sizeof seq, it)) {
		free_loading_item(it);
		return -1;
	}
	if (seq >= q->seq)
		q->seq = seq + 1;
	return 0;
}

static int replay(object *o, const json_t *rec)
{
	queue *q = o->impl;
	const char *e = json_string_value(json_object_get(rec, "e"));
	json_t *u = json_object_get(rec, "u");
	uint64_t seq = (uint64_t)json_integer_value(json_object_get(rec, "s"));
	hmap_entry *found;
	int rc = 0;
	if (!strcmp(e, "qput")) {
		rc = replay_put(q, seq, rec);
	} else if (!strcmp(e, "qdel")) {
		found = q->loading ? hmap_find(q->loading, &seq, sizeof seq) : NULL;
		if (!found)
			return -1;
		free_loading_item(found->value);
		hmap_delete(q->loading, found);
	} else if (!strcmp(e, "qstate")) {
		if (seq > q->seq)
			q->seq = seq;
	} else if (strcmp(e, "qunf")) {
		return -1;
	}
	if (json_is_integer(u))
		q->unfinished = (uint64_t)json_integer_value(u);
	return rc;
}

static int by_seq(const void *a, const void *b)
{
	const struct qitem *x = *(struct qitem *const *)a, *y = *(struct qitem *const *)b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* loaded: the items left after the load go in by arrival: a FIFO's oldest first, a LIFO's
 * newest on top, a priority queue by priority then arrival. */
static void loaded(object *o)
{
	queue *q = o->impl;
	size_t n = 0;
	if (!q->loading)
		return;
	struct qitem **all = malloc((q->loading->count + 1) * sizeof *all);
	for (hmap_entry *e = q->loading->first; e && all; e = e->next)
		all[n++] = e->value;
	if (all)
		qsort(all, n, sizeof *all, by_seq);
	for (size_t i = 0; i < n; i++) {
		if (place(q, *all[i]) == 0)
			all[i]->value = NULL; /* the queue has it now */
		else
			log_error("queue '%s': out of memory loading an item", o->name);
	}
	free(all);
	hmap_fini(q->loading, free_loading_item);
	free(q->loading);
	q->loading = NULL;
	q->obj = o;
}

static void snapshot(const object *o)
{
	const queue *q = o->impl;
	persist_put(json_pack("{s:s, s:s, s:I, s:I}", "e", "qstate", "o", o->name, "s",
			      (json_int_t)q->seq, "u", (json_int_t)q->unfinished));
	for (size_t i = 0; i < q->count; i++) {
		const struct qitem *it =
			q->kind == Q_PRIORITY ? &q->items[i] : &q->items[(q->head + i) % q->cap];
		persist_put(put_record_new(o->name, it));
	}
}

const struct obj_class queue_class = {
	"queue",          create, destroy,      size,   waiters, stat_new,
	complete_waiters, false,  settings_new, replay, loaded,  snapshot,
};
