/* session.c: the session table, keyed by connection. */
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "clock.h"
#include "envelope.h"
#include "hmap.h"
#include "persist.h"
#include "session.h"
#include "wait.h"

static hmap sessions; /* connection key -> session */
static uint64_t next_id = 1;
static struct sess_limits limits = {SESS_MAX_REQUESTS, SESS_MAX_PARKED, SESS_MAX_OBJECTS,
				    SESS_MAX_REPLY};

void sess_set_limits(const struct sess_limits *l)
{
	limits = *l;
}

const struct sess_limits *sess_limits(void)
{
	return &limits;
}

void sess_init(void)
{
	hmap_init(&sessions);
}

void sess_fini(void)
{
	while (sessions.first)
		sess_close(sessions.first->value);
	hmap_fini(&sessions, NULL);
}

session *sess_find(uint32_t key)
{
	return hmap_get(&sessions, &key, sizeof key);
}

session *sess_open(uint32_t key)
{
	session *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->id = next_id++;
	persist_counter(PC_SESSION, s->id);
	s->key = key;
	s->since = clock_wall();
	s->max_message = PROTO_DEFAULT_MAX_MESSAGE;
	s->max_reply = limits.max_reply;
	auth_connect(s, false, 0, NULL); /* anonymous until its transport says more */
	list_init(&s->waiters);
	hmap_init(&s->waiter_index);
	list_init(&s->holdings);
	hmap_init(&s->holding_index);
	if (!hmap_insert(&sessions, &key, sizeof key, s)) {
		free(s);
		return NULL;
	}
	return s;
}

/* unhold: h leaves its session's list and index (not released). */
static void unhold(struct holding *h)
{
	hmap *index = &h->sess->holding_index;
	list_remove(&h->sess_link);
	hmap_delete(index, hmap_find(index, &h->id, sizeof h->id));
}

void sess_close(session *s)
{
	s->closing = true;
	while (!list_empty(&s->waiters))
		wait_withdraw(list_entry(s->waiters.next, waiter, sess_link));
	while (!list_empty(&s->holdings)) { /* newest first: taken items go back in order */
		struct holding *h = list_entry(s->holdings.prev, struct holding, sess_link);
		unhold(h);
		h->cls->release(h, true);
	}
	hmap_fini(&s->holding_index, NULL);
	hmap_fini(&s->waiter_index, NULL);
	hmap_delete(&sessions, hmap_find(&sessions, &s->key, sizeof s->key));
	free(s);
}

uint64_t sess_hold(session *s, struct holding *h)
{
	h->id = s->next_holding + 1;
	if (!hmap_insert(&s->holding_index, &h->id, sizeof h->id, h))
		return 0;
	s->next_holding++;
	h->sess = s;
	list_push_back(&s->holdings, &h->sess_link);
	return h->id;
}

bool sess_let_go(session *s, const struct holding_class *cls, uint64_t id)
{
	struct holding *h = hmap_get(&s->holding_index, &id, sizeof id);
	if (!h || h->cls != cls)
		return false;
	unhold(h);
	cls->release(h, false);
	return true;
}

void sess_drop(struct holding *h)
{
	unhold(h);
}

size_t sess_count(void)
{
	return sessions.count;
}

static json_t *describe_new(const session *s)
{
	json_t *waiting = json_array(), *holding = json_array();
	for (struct list *p = s->waiters.next; p != &s->waiters; p = p->next)
		json_array_append_new(waiting, wait_describe_new(list_entry(p, waiter, sess_link)));
	for (struct list *p = s->holdings.next; p != &s->holdings; p = p->next) {
		struct holding *h = list_entry(p, struct holding, sess_link);
		json_array_append_new(holding, h->cls->describe_new(h));
	}
	json_t *d = json_pack("{s:I, s:s, s:f, s:I, s:o, s:o}", "id", (json_int_t)s->id, "peer",
			      s->peer, "since", s->since, "requests", (json_int_t)s->requests,
			      "waiting", waiting, "holding", holding);
	if (d) {
		json_object_set_new(d, "objects", json_integer((json_int_t)s->objects));
		auth_describe(s, d);
	}
	if (d && s->has_cred) {
		json_object_set_new(d, "pid", json_integer((json_int_t)s->pid));
		json_object_set_new(d, "uid", json_integer((json_int_t)s->uid));
	}
	return d;
}

json_t *sess_list_new(const session *only)
{
	json_t *list = json_array();
	if (only && list)
		json_array_append_new(list, describe_new(only));
	for (hmap_entry *e = sessions.first; e && list && !only; e = e->next)
		json_array_append_new(list, describe_new(e->value));
	return list;
}

void sess_id_floor(uint64_t id)
{
	if (id >= next_id)
		next_id = id + 1;
}

void sess_foreach_holding(const struct holding_class *cls, void (*fn)(struct holding *h))
{
	for (hmap_entry *e = sessions.first; e; e = e->next) {
		session *s = e->value;
		for (struct list *l = s->holdings.next; l != &s->holdings; l = l->next) {
			struct holding *h = list_entry(l, struct holding, sess_link);
			if (h->cls == cls)
				fn(h);
		}
	}
}

void sess_foreach(void (*fn)(session *s, void *arg), void *arg)
{
	for (hmap_entry *e = sessions.first; e; e = e->next)
		fn(e->value, arg);
}
