/* object.h: the registry of named objects. Every object has a class (queue, dict, ...)
 * that knows how to describe, measure and destroy it. */
#ifndef BROKER_OBJECT_H
#define BROKER_OBJECT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "brk_error.h"

struct op_ctx;
struct object;

struct obj_class {
	const char *name; /* the type name on the wire: "queue", "dict" */
	/* create: a new empty instance with ctx's creation arguments; name is the object's
	 * name, valid as long as the object. NULL and an error set on ctx when the arguments
	 * are invalid. */
	void *(*create)(struct op_ctx *ctx, const char *name);
	/* destroy: frees the instance; its waiters were completed before. */
	void (*destroy)(void *impl);
	size_t (*size)(const void *impl);
	size_t (*waiters)(const void *impl);
	/* stat_new: type-specific fields for "stat", a new object. */
	json_t *(*stat_new)(const void *impl);
	/* complete_waiters: completes every waiter with err (used on delete). */
	void (*complete_waiters)(void *impl, brk_err err, const char *msg);
	bool versioned; /* shared state: carries a version (PROTOCOL.md "Versions") */
	/* Persistence (docs/durability.md). Shared state persists through its write ops
	 * and needs none of these; other types persist when replay is set. */
	/* settings_new: the create arguments that make an instance with impl's settings. */
	json_t *(*settings_new)(const void *impl);
	/* replay: applies one of the type's effect records to o; 0, or -1 if it does not
	 * apply. */
	int (*replay)(struct object *o, const json_t *rec);
	/* loaded: after the last record at start-up. */
	void (*loaded)(struct object *o);
	/* snapshot: o's contents as effect records, through persist_put. */
	void (*snapshot)(const struct object *o);
};

typedef struct object {
	char *name;
	const struct obj_class *cls;
	void *impl;
	double created;   /* wall clock */
	uint64_t serial;  /* daemon-wide creation count: one made again under its name differs */
	uint64_t version; /* of shared state: the daemon's change counter at its last write */
	bool ephemeral;   /* created with "ephemeral": true: kept out of the data dir */
	uint64_t creator; /* the id of the session that created it (0: brokerd) */
	uint32_t creator_key;
} object;

void obj_init(void);
/* obj_fini: destroys every object; no waiter may remain. */
void obj_fini(void);

/* obj_lookup: the object ctx names, checked to be of class cls. When it does not exist it
 * is created if create is true, else *out is NULL. Returns 0, or an error set on ctx
 * (wrong_type, bad_argument from create, internal). */
int obj_lookup(struct op_ctx *ctx, const struct obj_class *cls, bool create, object **out);

/* obj_create: the body of a "TYPE.create" op: creates ctx's object of class cls from ctx's
 * arguments (result true). If it exists, an instance built from the same arguments is
 * compared with same(existing, built): equal settings answer false (creating is
 * idempotent, and ctx is marked unchanged), others are exists. Returns as a handler does. */
int obj_create(struct op_ctx *ctx, const struct obj_class *cls,
	       bool (*same)(const void *existing, const void *built));

/* obj_find: the object called name, or NULL. */
object *obj_find(const char *name);

struct list;
struct waiter;
/* obj_park: parks ctx's request on the object it names, on on (one of the object's waiter
 * lists), answered timeout_err when timeout seconds pass (negative: never); *out, when out
 * is not NULL, is the waiter, for the caller to fill in. OP_PARKED, or the error answered
 * (out of memory). */
int obj_park(struct op_ctx *ctx, struct list *on, const char *op, double timeout,
	     brk_err timeout_err, struct waiter **out);

/* obj_delete: completes its waiters with "deleted" and destroys it. */
void obj_delete(object *o);

size_t obj_count(void);

/* For classes nothing waits on (shared state): waiters() and complete_waiters(); and
 * stat_new() for those with nothing to add to "stat". */
size_t obj_no_waiters(const void *impl);
void obj_complete_no_waiters(void *impl, brk_err err, const char *msg);
json_t *obj_no_stat(const void *impl);

/* obj_lookup_created: obj_lookup of an object that must be made with "TYPE.create" first
 * (its type needs settings): a missing one is not_found. Returns 0 or the error. */
int obj_lookup_created(struct op_ctx *ctx, const struct obj_class *cls, object **out);

/* obj_version: the version of the object called name, 0 when there is none. */
uint64_t obj_version(const char *name);

/* obj_changed: records a write to o: its version becomes the next value of one
 * daemon-wide counter, so versions only grow and a deleted object's are never reused. */
void obj_changed(object *o);

/* obj_set_version: o's version is v, as loaded from the data dir; the counter goes on
 * above it. */
void obj_set_version(object *o, uint64_t v);

/* obj_counters_floor: serials and versions handed out from now on are above these. */
void obj_counters_floor(uint64_t serial, uint64_t version);

/* obj_restore: makes the object name of class cls from its create arguments args, as
 * loaded from the data dir. 0, or -1 when they do not make one. */
int obj_restore(const struct obj_class *cls, const char *name, const json_t *args);

/* obj_foreach: fn(o, arg) for every object, in creation order; fn must not delete any. */
void obj_foreach(void (*fn)(object *o, void *arg), void *arg);

/* obj_summary_new: {"name", "type", "size", "waiters"}. */
json_t *obj_summary_new(const object *o);

/* obj_list_new: summaries of every object whose name starts with prefix (NULL: all). */
json_t *obj_list_new(const char *prefix);

#endif
