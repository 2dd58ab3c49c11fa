/* object.c: the name -> object registry and the type check every op goes through. */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ilist.h"
#include "op.h"
#include "hmap.h"
#include "object.h"
#include "persist.h"
#include "session.h"
#include "wait.h"

static hmap objects; /* name -> object, in creation order */
static uint64_t last_serial, last_version;

void obj_init(void)
{
	hmap_init(&objects);
}

/* creator: the session that created o, while it lasts. */
static session *creator(const object *o)
{
	session *s = o->creator ? sess_find(o->creator_key) : NULL;
	return s && s->id == o->creator ? s : NULL;
}

static void destroy(void *p)
{
	object *o = p;
	session *s = creator(o);
	if (s)
		s->objects--;
	o->cls->destroy(o->impl);
	free(o->name);
	free(o);
}

void obj_fini(void)
{
	hmap_fini(&objects, destroy);
}

int obj_create(op_ctx *ctx, const struct obj_class *cls,
	       bool (*same)(const void *existing, const void *built))
{
	object *o;
	bool existed = obj_find(ctx->name) != NULL;
	int rc = obj_lookup(ctx, cls, true, &o);
	if (rc || !existed)
		return rc ? rc : op_ok(ctx, json_true());
	op_ctx probe = *ctx;
	void *built = cls->create(&probe, ctx->name);
	if (!built)
		return op_fail(ctx, probe.err, "%s", probe.msg);
	bool equal = same(o->impl, built) &&
		     o->ephemeral == json_is_true(json_object_get(ctx->args, "ephemeral"));
	cls->destroy(built);
	if (!equal)
		return op_fail(ctx, BRK_EEXISTS, "%s '%s' exists with other settings (see stat)",
			       cls->name, ctx->name);
	ctx->unchanged = true;
	return op_ok(ctx, json_false());
}

object *obj_find(const char *name)
{
	return hmap_get(&objects, name, strlen(name));
}

/* count_creator: o was made by ctx's session, which counts it against its limit. */
static void count_creator(op_ctx *ctx, object *o)
{
	if (!ctx->sess)
		return;
	o->creator = ctx->sess->id;
	o->creator_key = ctx->sess->key;
	ctx->sess->objects++;
}

static object *create(op_ctx *ctx, const struct obj_class *cls)
{
	size_t max = sess_limits()->max_objects;
	if (ctx->sess && ctx->sess->objects >= max) {
		op_fail(ctx, BRK_ELIMIT,
			"this session created %zu objects that still exist, its limit "
			"(max-session-objects)",
			max);
		return NULL;
	}
	object *o = calloc(1, sizeof *o);
	if (!o || !(o->name = strdup(ctx->name))) {
		free(o);
		op_fail(ctx, BRK_EINTERNAL, "out of memory");
		return NULL;
	}
	o->cls = cls;
	o->created = clock_wall();
	o->serial = ++last_serial;
	o->ephemeral = json_is_true(json_object_get(ctx->args, "ephemeral"));
	persist_counter(PC_SERIAL, o->serial);
	o->impl = cls->create(ctx, o->name);
	if (o->impl && hmap_insert(&objects, o->name, strlen(o->name), o)) {
		if (!cls->versioned && persist_wants(o))
			persist_put(json_pack("{s:s, s:s, s:s, s:o}", "e", "create", "t", cls->name,
					      "o", o->name, "a", cls->settings_new(o->impl)));
		count_creator(ctx, o);
		return o;
	}
	if (o->impl) {
		cls->destroy(o->impl);
		op_fail(ctx, BRK_EINTERNAL, "out of memory");
	}
	free(o->name);
	free(o);
	return NULL;
}

int obj_lookup(op_ctx *ctx, const struct obj_class *cls, bool make, object **out)
{
	object *o = obj_find(ctx->name);
	if (o && o->cls != cls)
		return op_fail(ctx, BRK_EWRONGTYPE, "'%s' is a %s, not a %s", ctx->name,
			       o->cls->name, cls->name);
	if (!o && make && !(o = create(ctx, cls)))
		return ctx->err;
	*out = o;
	return 0;
}

int obj_lookup_created(op_ctx *ctx, const struct obj_class *cls, object **out)
{
	int rc = obj_lookup(ctx, cls, false, out);
	if (rc == 0 && !*out)
		return op_fail(ctx, BRK_ENOTFOUND, "no %s '%s' (%s.create makes one)", cls->name,
			       ctx->name, cls->name);
	return rc;
}

void obj_delete(object *o)
{
	o->cls->complete_waiters(o->impl, BRK_EDELETED, "the object was deleted");
	hmap_delete(&objects, hmap_find(&objects, o->name, strlen(o->name)));
	destroy(o);
}

size_t obj_no_waiters(const void *impl)
{
	(void)impl;
	return 0;
}

void obj_complete_no_waiters(void *impl, brk_err err, const char *msg)
{
	(void)impl, (void)err, (void)msg;
}

json_t *obj_no_stat(const void *impl)
{
	(void)impl;
	return json_object();
}

uint64_t obj_version(const char *name)
{
	object *o = obj_find(name);
	return o ? o->version : 0;
}

void obj_changed(object *o)
{
	o->version = ++last_version;
	persist_counter(PC_VERSION, last_version);
}

void obj_set_version(object *o, uint64_t v)
{
	o->version = v;
	if (v > last_version)
		last_version = v;
}

void obj_counters_floor(uint64_t serial, uint64_t version)
{
	if (serial > last_serial)
		last_serial = serial;
	if (version > last_version)
		last_version = version;
}

int obj_restore(const struct obj_class *cls, const char *name, const json_t *args)
{
	op_ctx ctx = {.args = args, .name = name};
	object *o;
	if (!json_is_object(args))
		return -1;
	return obj_lookup(&ctx, cls, true, &o);
}

void obj_foreach(void (*fn)(object *o, void *arg), void *arg)
{
	for (hmap_entry *e = objects.first; e; e = e->next)
		fn(e->value, arg);
}

size_t obj_count(void)
{
	return objects.count;
}

json_t *obj_summary_new(const object *o)
{
	return json_pack("{s:s, s:s, s:I, s:I}", "name", o->name, "type", o->cls->name, "size",
			 (json_int_t)o->cls->size(o->impl), "waiters",
			 (json_int_t)o->cls->waiters(o->impl));
}

json_t *obj_list_new(const char *prefix)
{
	json_t *list = json_array();
	size_t plen = prefix ? strlen(prefix) : 0;
	for (hmap_entry *e = objects.first; e && list; e = e->next)
		if (strncmp(e->key, prefix ? prefix : "", plen) == 0)
			json_array_append_new(list, obj_summary_new(e->value));
	return list;
}

int obj_park(op_ctx *ctx, struct list *on, const char *op, double timeout, brk_err timeout_err,
	     waiter **out)
{
	size_t max = sess_limits()->max_parked;
	if (ctx->sess && ctx->sess->parked >= max)
		return op_fail(ctx, BRK_ELIMIT,
			       "this session has %zu requests parked already (max-session-parked)",
			       max);
	waiter *w = wait_park(ctx->sess, ctx->req, obj_find(ctx->name), op, timeout, timeout_err);
	if (!w)
		return op_fail(ctx, BRK_EINTERNAL, "out of memory");
	list_push_back(on, &w->obj_link);
	if (out)
		*out = w;
	return OP_PARKED;
}
