/* delivery.c: the holding behind confirmed delivery, for every object type that hands out
 * items (queues, pipes). */
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "log.h"
#include "persist.h"

static void delivery_free(struct delivery *d)
{
	json_decref(d->value);
	free(d->object);
	free(d);
}

/* origin: d's object, if it still exists as the same one. */
static object *origin(const struct delivery *d)
{
	object *o = obj_find(d->object);
	return o && o->serial == d->serial ? o : NULL;
}

/* give_back: the item returns to its object if that still exists as the same type. */
static void give_back(struct delivery *d)
{
	object *o = origin(d);
	if (!o) /* deleted on purpose, with what it held: nothing to warn about, once per item */
		log_debug("an unconfirmed item of '%s' is dropped: the %s is gone", d->object,
			  d->from->cls->name);
	else if (d->from->give_back(o, d) != 0)
		log_warn("an unconfirmed item of '%s' could not go back", d->object);
}

static void delivery_release(struct holding *h, bool session_ended)
{
	struct delivery *d = (struct delivery *)h;
	object *o;
	if (session_ended)
		give_back(d);
	else if ((o = origin(d)) && persist_wants(o))
		d->from->confirmed(o, d);
	delivery_free(d);
}

static void snapshot_one(struct holding *h)
{
	const struct delivery *d = (const struct delivery *)h;
	object *o = origin(d);
	if (o && persist_wants(o))
		d->from->snapshot(o, d);
}

void delivery_snapshot(void)
{
	sess_foreach_holding(&delivery_class, snapshot_one);
}

static json_t *delivery_describe_new(const struct holding *h)
{
	const struct delivery *d = (const struct delivery *)h;
	return json_pack("{s:s, s:s, s:I}", "kind", "delivery", "object", d->object, "id",
			 (json_int_t)h->id);
}

const struct holding_class delivery_class = {"delivery", delivery_release, delivery_describe_new};

struct delivery *delivery_new(size_t size, const struct delivery_origin *from, const char *name,
			      json_t *value)
{
	struct delivery *d = calloc(1, size);
	if (!d || !(d->object = strdup(name))) {
		free(d);
		log_error("out of memory tracking a delivery");
		return NULL;
	}
	object *o = obj_find(name);
	d->serial = o ? o->serial : 0;
	d->h.cls = &delivery_class;
	d->from = from;
	d->value = json_incref(value);
	return d;
}

uint64_t delivery_track(session *s, struct delivery *d)
{
	uint64_t id = sess_hold(s, &d->h);
	if (!id) {
		log_error("out of memory tracking a delivery");
		delivery_free(d);
	}
	return id;
}
