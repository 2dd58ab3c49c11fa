/* queue.c: queue storage (a ring for fifo/lifo, a binary heap for priority), its ops, and
 * the hand-over rules between puts, gets and the waiters parked on either side. */
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "delivery.h"
#include "dispatch.h"
#include "log.h"
#include "ops.h"
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

/* ---- deliveries to confirm ---- */

/* An item handed to a getter that promised to confirm it ("confirm": true); where it was
 * is kept so that it can go back there. */
struct qdelivery {
	struct delivery d;
	double priority;
	uint64_t seq;
};

static void give(waiter *getter, const char *queue_name, struct qitem it);
static int give_back(object *o, const struct delivery *d);

static const struct delivery_origin from_queue = {&queue_class, give_back};

/* give_back: an unconfirmed item returns to its queue, to a live getter first. */
static int give_back(object *o, const struct delivery *d)
{
	const struct qdelivery *qd = (const struct qdelivery *)d;
	queue *q = o->impl;
	struct qitem it = {json_incref(d->value), qd->priority, qd->seq};
	waiter *g = wait_first_live(&q->getters);
	if (g)
		give(g, o->name, it);
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

/* give: completes a parked getter with it (borrowed). */
static void give(waiter *getter, const char *queue_name, struct qitem it)
{
	if (getter->confirm)
		getter->delivery = track(getter->sess, queue_name, it);
	wait_complete(getter, BRK_OK, json_incref(it.value), NULL);
}

/* admit_putters: moves parked puts into the queue while there is room, oldest first. */
static void admit_putters(queue *q)
{
	waiter *w = NULL;
	while (!is_full(q) && (w = wait_first(&q->putters))) {
		json_t *item = w->item;
		w->item = NULL;
		if (push(q, item, w->priority) != 0) {
			wait_complete(w, BRK_EINTERNAL, NULL, "out of memory");
			continue;
		}
		q->unfinished++;
		wait_complete(w, BRK_OK, NULL, NULL);
	}
}

/* ---- ops ---- */

static int lookup(op_ctx *ctx, queue **out)
{
	object *o;
	int rc = obj_lookup(ctx, &queue_class, true, &o);
	if (rc == 0)
		*out = o->impl;
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
		q->unfinished++;
		give(getter, ctx->name, (struct qitem){value, priority, q->seq++});
		return op_ok(ctx, json_null());
	}
	if (!is_full(q)) {
		if (push(q, json_incref(value), priority) != 0)
			return op_fail(ctx, BRK_EINTERNAL, "out of memory");
		q->unfinished++;
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
	int rc = lookup(ctx, &q);
	if (rc || (rc = arg_wait(ctx, &timeout)) ||
	    (rc = arg_opt_bool(ctx, "confirm", false, &confirm)))
		return rc;
	if (q->count) {
		struct qitem it = pop(q);
		if (confirm)
			ctx->delivery = track(ctx->sess, ctx->name, it);
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
	int rc = lookup(ctx, &q);
	return rc ? rc : op_ok(ctx, json_integer((json_int_t)q->count));
}

static int op_empty(op_ctx *ctx)
{
	queue *q;
	int rc = lookup(ctx, &q);
	return rc ? rc : op_ok(ctx, json_boolean(q->count == 0));
}

static int op_full(op_ctx *ctx)
{
	queue *q;
	int rc = lookup(ctx, &q);
	return rc ? rc : op_ok(ctx, json_boolean(is_full(q)));
}

static int op_task_done(op_ctx *ctx)
{
	queue *q;
	int rc = lookup(ctx, &q);
	if (rc)
		return rc;
	if (q->unfinished == 0)
		return op_fail(ctx, BRK_EVALUE, "task_done() called too many times");
	if (--q->unfinished == 0) {
		wait_complete_list(&q->joiners, BRK_OK, NULL);
	}
	return op_ok(ctx, json_null());
}

static int op_join(op_ctx *ctx)
{
	queue *q;
	double timeout;
	int rc = lookup(ctx, &q);
	if (rc || (rc = arg_wait(ctx, &timeout)))
		return rc;
	if (q->unfinished == 0)
		return op_ok(ctx, json_null());
	if (timeout == 0)
		return op_fail(ctx, BRK_ETIMEOUT, "queue '%s' has %llu unfinished tasks", ctx->name,
			       (unsigned long long)q->unfinished);
	return obj_park(ctx, &q->joiners, BRK_OP_QUEUE_JOIN, timeout, BRK_ETIMEOUT, NULL);
}

const struct op_def queue_ops[] = {
	{BRK_OP_QUEUE_CREATE, op_create, OPF_NAME, "kind,maxsize"},
	{BRK_OP_QUEUE_PUT, op_put, OPF_NAME, "value,priority,block,timeout"},
	{BRK_OP_QUEUE_PUT_NOWAIT, op_put_nowait, OPF_NAME, "value,priority"},
	{BRK_OP_QUEUE_GET, op_get, OPF_NAME, "block,timeout,confirm"},
	{BRK_OP_QUEUE_GET_NOWAIT, op_get_nowait, OPF_NAME, "confirm"},
	{BRK_OP_QUEUE_QSIZE, op_qsize, OPF_NAME, ""},
	{BRK_OP_QUEUE_EMPTY, op_empty, OPF_NAME, ""},
	{BRK_OP_QUEUE_FULL, op_full, OPF_NAME, ""},
	{BRK_OP_QUEUE_TASK_DONE, op_task_done, OPF_NAME, ""},
	{BRK_OP_QUEUE_JOIN, op_join, OPF_NAME, "timeout"},
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

static void destroy(void *impl)
{
	queue *q = impl;
	while (q->count)
		json_decref(pop(q).value);
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

const struct obj_class queue_class = {
	"queue", create, destroy, size, waiters, stat_new, complete_waiters, false,
};
