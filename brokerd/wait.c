/* wait.c: parking and the single completion path of waiters. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "envelope.h"
#include "hmap.h"

#include "clock.h"
#include "dispatch.h"
#include "log.h"
#include "object.h"
#include "session.h"
#include "wait.h"

static size_t parked;
static struct list everyone = {&everyone, &everyone}; /* waiter.all_link, for shutdown */

/* expired: a parked request's timeout passed: the type's own answer, else the default. */
static void expired(struct deadline *d)
{
	waiter *w = (waiter *)((char *)d - offsetof(waiter, timeout));
	char msg[PROTO_MAX_NAME + 96];
	if (w->on_timeout) {
		w->on_timeout(w);
		return;
	}
	if (w->timeout_result) {
		wait_complete(w, BRK_OK, json_incref(w->timeout_result), NULL);
		return;
	}
	snprintf(msg, sizeof msg, "%s: %s on '%s' after its timeout", brk_strerror(w->timeout_err),
		 w->op, w->obj->name);
	wait_complete(w, w->timeout_err, NULL, msg);
}

void wait_init(struct event_base *base)
{
	deadline_init(base);
}

void wait_fini(void)
{
	deadline_fini();
}

/* index_by_id: w can be found by its request id, unless another parked request of its session
 * has that id. 0, or -1 when out of memory. */
static int index_by_id(waiter *w)
{
	uint32_t id = dispatch_req_id(w->req);
	hmap *ix = &w->sess->waiter_index;
	if (hmap_get(ix, &id, sizeof id))
		return 0;
	if (!hmap_insert(ix, &id, sizeof id, w))
		return -1;
	w->indexed = true;
	return 0;
}

static void unindex_by_id(waiter *w)
{
	uint32_t id = dispatch_req_id(w->req);
	hmap *ix = &w->sess->waiter_index;
	if (w->indexed)
		hmap_delete(ix, hmap_find(ix, &id, sizeof id));
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
	w->timeout_err = timeout_err;
	list_init(&w->obj_link);
	deadline_prepare(&w->timeout, expired);
	if (timeout >= 0 && deadline_set(&w->timeout, timeout) != 0) {
		free(w);
		return NULL;
	}
	if (index_by_id(w) != 0) {
		deadline_clear(&w->timeout);
		free(w);
		return NULL;
	}
	list_push_back(&s->waiters, &w->sess_link);
	list_push_back(&everyone, &w->all_link);
	parked++;
	s->parked++;
	return w;
}

/* release: w leaves everything it is on and is freed: the end of every way out. */
static void release(waiter *w)
{
	if (w->on_release)
		w->on_release(w);
	unindex_by_id(w);
	list_remove(&w->obj_link);
	list_remove(&w->sess_link);
	list_remove(&w->all_link);
	w->sess->parked--;
	deadline_clear(&w->timeout);
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
	deadline_clear(&w->timeout);
}

/* leave_unserved: w leaves its object without what it waited for (withdrawn, cancelled). */
static void leave_unserved(waiter *w)
{
	if (w->on_withdraw) {
		list_remove(&w->obj_link);
		w->on_withdraw(w);
	}
}

void wait_withdraw(waiter *w)
{
	struct req *req = w->req;
	log_debug("session %llu: withdrew parked %s", (unsigned long long)w->sess->id, w->op);
	leave_unserved(w);
	release(w);
	dispatch_drop(req);
}

waiter *wait_find_request(session *s, uint32_t id)
{
	return hmap_get(&s->waiter_index, &id, sizeof id);
}

void wait_cancel(waiter *w)
{
	char msg[PROTO_MAX_NAME + 96];
	snprintf(msg, sizeof msg, "%s on '%s' was cancelled by its client", w->op, w->obj->name);
	leave_unserved(w);
	wait_complete(w, BRK_ECANCELLED, NULL, msg);
}

bool wait_alive(const waiter *w)
{
	return !w->sess->closing && dispatch_alive(w->req);
}

waiter *wait_first(struct list *waiters)
{
	return list_empty(waiters) ? NULL : list_entry(waiters->next, waiter, obj_link);
}

waiter *wait_first_live(struct list *waiters)
{
	waiter *w;
	while ((w = wait_first(waiters)) && !wait_alive(w))
		wait_withdraw(w);
	return w;
}

void wait_complete_list(struct list *waiters, brk_err err, const char *msg)
{
	waiter *w;
	while ((w = wait_first(waiters)))
		wait_complete(w, err, NULL, msg);
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
	if (d && deadline_is_set(&w->timeout))
		json_object_set_new(d, "timeout_in", json_real(deadline_left(&w->timeout)));
	if (d && w->owner)
		json_object_set_new(d, "owner", json_integer((json_int_t)w->owner));
	return d;
}

json_t *wait_list_new(const struct list *waiters)
{
	json_t *out = json_array();
	for (const struct list *p = waiters->next; p != waiters && out; p = p->next)
		json_array_append_new(out, wait_describe_new(list_entry(p, waiter, obj_link)));
	return out;
}
