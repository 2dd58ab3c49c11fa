/* wait.c: parking, the deadline heap and the single completion path of waiters. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "envelope.h"

#include "clock.h"
#include "dispatch.h"
#include "log.h"
#include "object.h"
#include "session.h"
#include "wait.h"

static struct event *timer;
static double armed_for = INFINITY; /* the deadline the timer is set for */
static waiter **heap;               /* min-heap on deadline */
static size_t heap_len, heap_cap;
static size_t parked;
static struct list everyone = {&everyone, &everyone}; /* waiter.all_link, for shutdown */

static void heap_set(size_t i, waiter *w)
{
	heap[i] = w;
	w->heap_index = i;
}

static void sift_up(size_t i)
{
	waiter *w = heap[i];
	while (i > 0 && heap[(i - 1) / 2]->deadline > w->deadline) {
		heap_set(i, heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(i, w);
}

static void sift_down(size_t i)
{
	waiter *w = heap[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= heap_len)
			break;
		if (c + 1 < heap_len && heap[c + 1]->deadline < heap[c]->deadline)
			c++;
		if (heap[c]->deadline >= w->deadline)
			break;
		heap_set(i, heap[c]);
		i = c;
	}
	heap_set(i, w);
}

static int heap_push(waiter *w)
{
	if (heap_len == heap_cap) {
		size_t cap = heap_cap ? heap_cap * 2 : 64;
		waiter **h = realloc(heap, cap * sizeof *h);
		if (!h)
			return -1;
		heap = h;
		heap_cap = cap;
	}
	heap_set(heap_len++, w);
	sift_up(w->heap_index);
	return 0;
}

static void heap_remove(waiter *w)
{
	size_t i = w->heap_index;
	w->heap_index = WAIT_NOT_TIMED;
	if (--heap_len == i)
		return;
	heap_set(i, heap[heap_len]);
	sift_down(i);
	sift_up(heap[i]->heap_index);
}

/* rearm: points the one timer at the earliest deadline, if that changed. */
static void rearm(void)
{
	double next = heap_len ? heap[0]->deadline : INFINITY;
	if (next == armed_for)
		return;
	armed_for = next;
	if (isinf(next)) {
		evtimer_del(timer);
		return;
	}
	double in = next - clock_now();
	if (in < 0)
		in = 0;
	if (in > 86400) /* wake daily for far deadlines; on_timer just rearms */
		in = 86400;
	struct timeval tv = {(time_t)in, (suseconds_t)((in - floor(in)) * 1e6) + 1};
	evtimer_add(timer, &tv);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	armed_for = INFINITY;
	double now = clock_now();
	while (heap_len && heap[0]->deadline <= now) {
		waiter *w = heap[0];
		char msg[PROTO_MAX_NAME + 96];
		if (w->on_timeout) {
			w->on_timeout(w);
			continue;
		}
		if (w->timeout_result) {
			wait_complete(w, BRK_OK, json_incref(w->timeout_result), NULL);
			continue;
		}
		snprintf(msg, sizeof msg, "%s: %s on '%s' after its timeout",
			 brk_strerror(w->timeout_err), w->op, w->obj->name);
		wait_complete(w, w->timeout_err, NULL, msg);
	}
	rearm();
}

void wait_init(struct event_base *base)
{
	timer = evtimer_new(base, on_timer, NULL);
}

void wait_fini(void)
{
	if (timer)
		event_free(timer);
	timer = NULL;
	free(heap);
	heap = NULL;
	heap_len = heap_cap = 0;
	armed_for = INFINITY;
}

waiter *wait_park(session *s, struct req *req, object *obj, const char *op, double timeout,
		  brk_err timeout_err)
{
	waiter *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->sess = s;
	w->req = req;
	w->obj = obj;
	w->op = op;
	w->since = clock_wall();
	w->deadline = timeout < 0 ? INFINITY : clock_now() + timeout;
	w->heap_index = WAIT_NOT_TIMED;
	w->timeout_err = timeout_err;
	list_init(&w->obj_link);
	if (!isinf(w->deadline) && heap_push(w) != 0) {
		free(w);
		return NULL;
	}
	list_push_back(&s->waiters, &w->sess_link);
	list_push_back(&everyone, &w->all_link);
	parked++;
	rearm();
	return w;
}

static void release(waiter *w)
{
	list_remove(&w->obj_link);
	list_remove(&w->sess_link);
	list_remove(&w->all_link);
	if (w->heap_index != WAIT_NOT_TIMED) {
		heap_remove(w);
		rearm();
	}
	json_decref(w->item);
	json_decref(w->timeout_result);
	parked--;
	free(w);
}

void wait_complete(waiter *w, brk_err err, json_t *result, const char *msg)
{
	struct req *req = w->req;
	uint64_t delivery = w->delivery;
	release(w);
	dispatch_answer(req, err, result, msg, delivery);
}

void wait_untime(waiter *w)
{
	if (w->heap_index != WAIT_NOT_TIMED) {
		heap_remove(w);
		rearm();
	}
	w->deadline = INFINITY;
}

void wait_withdraw(waiter *w)
{
	struct req *req = w->req;
	log_debug("session %llu: withdrew parked %s", (unsigned long long)w->sess->id, w->op);
	if (w->on_withdraw) {
		list_remove(&w->obj_link);
		w->on_withdraw(w);
	}
	release(w);
	dispatch_drop(req);
}

bool wait_alive(const waiter *w)
{
	return dispatch_alive(w->req);
}

void wait_complete_all(brk_err err, const char *msg)
{
	while (!list_empty(&everyone))
		wait_complete(list_entry(everyone.next, waiter, all_link), err, NULL, msg);
}

size_t wait_count(void)
{
	return parked;
}

json_t *wait_describe_new(const waiter *w)
{
	json_t *d = json_pack("{s:I, s:s, s:s, s:f}", "session", (json_int_t)w->sess->id, "op",
			      w->op, "object", w->obj->name, "since", w->since);
	if (d && !isinf(w->deadline))
		json_object_set_new(d, "timeout_in", json_real(fmax(0, w->deadline - clock_now())));
	return d;
}

json_t *wait_list_new(const struct list *waiters)
{
	json_t *out = json_array();
	for (const struct list *p = waiters->next; p != waiters && out; p = p->next)
		json_array_append_new(out, wait_describe_new(list_entry(p, waiter, obj_link)));
	return out;
}
