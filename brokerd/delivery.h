/* delivery.h: items handed out with confirmation (PROTOCOL.md "Confirmed delivery"). The
 * receiving session holds each one until a later request confirms it; if the session ends
 * first, the item goes back to its object through the object's own rule. Queues and pipes
 * share this one mechanism. */
#ifndef BROKER_DELIVERY_H
#define BROKER_DELIVERY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "object.h"
#include "session.h"

struct delivery;

/* Where a delivery came from: the class of its object, and how an item goes back to it. */
struct delivery_origin {
	const struct obj_class *cls;
	/* give_back: d's item returns to o (of class cls) because its receiver's session
	 * ended; borrows d (take a reference to d->value to keep it). 0, or -1 when it
	 * could not go back (out of memory, or no reader can ever take it): it is dropped. */
	int (*give_back)(object *o, const struct delivery *d);
	/* confirmed: d's receiver confirmed it, so it leaves o for good: its removal is
	 * logged (called only when o persists: persist_wants). */
	void (*confirmed)(object *o, const struct delivery *d);
	/* snapshot: d's item, o's until confirmed, as o's effect record (persist_put). */
	void (*snapshot)(const object *o, const struct delivery *d);
};

/* A delivery. A type that needs more (a queue item's priority, a pipe message's
 * direction) embeds it first in a larger struct made by delivery_new. */
struct delivery {
	struct holding h;
	const struct delivery_origin *from;
	char *object;    /* by name: the object may be deleted meanwhile */
	uint64_t serial; /* and its serial: one made again under that name is another */
	json_t *value;   /* the item (owned) */
};

/* The holding class of every delivery: what an "ack" confirms. */
extern const struct holding_class delivery_class;

/* delivery_new: a delivery of value (borrowed; a reference is taken) from the object
 * called name, in a zeroed block of size bytes (at least sizeof(struct delivery)) for the
 * embedding struct. NULL when out of memory. */
struct delivery *delivery_new(size_t size, const struct delivery_origin *from, const char *name,
			      json_t *value);

/* delivery_snapshot: every delivery not confirmed yet, into the snapshot being written
 * (each goes back to its object after a restart). */
void delivery_snapshot(void);

/* delivery_track: s holds d until it confirms it; returns its id. 0 when out of memory:
 * d is then freed and the item is delivered unconfirmed. */
uint64_t delivery_track(session *s, struct delivery *d);

#endif
