/* value.c: the value object: one scalar whose type (int, float, bool or str) is fixed when
 * it is created and enforced on every write, with atomic add, compare-and-set and
 * get-and-set so that read-modify-write never needs two round trips. */
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "dispatch.h"
#include "jval.h"
#include "object.h"
#include "ops.h"

enum vtype { V_INT, V_FLOAT, V_BOOL, V_STR, V_NTYPES };
static const char *const type_names[V_NTYPES] = {"int", "float", "bool", "str"};

typedef struct value_obj {
	enum vtype type;
	json_t *v;
} value_obj;

static const struct obj_class value_class;

/* conform: v as a value of type t (a new reference in *out): an int is taken for a float,
 * as Python's float() would; anything else of another kind is type_error. */
static int conform(op_ctx *ctx, enum vtype t, const json_t *v, json_t **out)
{
	bool fits = (t == V_INT && json_is_integer(v)) || (t == V_FLOAT && json_is_number(v)) ||
		    (t == V_BOOL && json_is_boolean(v)) || (t == V_STR && json_is_string(v));
	if (!fits)
		return op_fail(ctx, BRK_ETYPE, "'%s' has type %s, not %s", ctx->name, type_names[t],
			       jval_kind(v));
	int rc = jval_check(ctx, v, "the value");
	if (rc)
		return rc;
	if (t == V_FLOAT && json_is_integer(v))
		*out = json_real((double)json_integer_value(v));
	else
		*out = json_incref((json_t *)v);
	return *out ? 0 : op_fail(ctx, BRK_EINTERNAL, "out of memory");
}

static json_t *zero_new(enum vtype t)
{
	switch (t) {
	case V_INT:
		return json_integer(0);
	case V_FLOAT:
		return json_real(0);
	case V_BOOL:
		return json_false();
	default:
		return json_string("");
	}
}

static int type_arg(op_ctx *ctx, enum vtype *out)
{
	const char *name;
	int rc = arg_opt_string(ctx, "type", NULL, &name);
	if (rc)
		return rc;
	for (int t = 0; name && t < V_NTYPES; t++)
		if (!strcmp(name, type_names[t])) {
			*out = (enum vtype)t;
			return 0;
		}
	return op_fail(ctx, BRK_EBADARG,
		       "argument 'type' must be \"int\", \"float\", \"bool\" or "
		       "\"str\"");
}

/* ---- ops ---- */

/* lookup: the value ctx names; a value must be created first (it needs a type). */
static int lookup(op_ctx *ctx, value_obj **out)
{
	object *o;
	int rc = obj_lookup_created(ctx, &value_class, &o);
	if (rc == 0)
		*out = o->impl;
	return rc;
}

/* lookup_new: the value ctx names and its "value" argument as that value's type. */
static int lookup_new(op_ctx *ctx, value_obj **out, json_t **v)
{
	json_t *given;
	int rc = lookup(ctx, out);
	if (rc == 0)
		rc = arg_value(ctx, "value", &given);
	return rc ? rc : conform(ctx, (*out)->type, given, v);
}

static bool same(const void *existing, const void *built)
{
	return ((const value_obj *)existing)->type == ((const value_obj *)built)->type;
}

static int op_create(op_ctx *ctx)
{
	return obj_create(ctx, &value_class, same);
}

static int op_get(op_ctx *ctx)
{
	value_obj *vo = NULL;
	int rc = lookup(ctx, &vo);
	return rc ? rc : op_ok(ctx, json_incref(vo->v));
}

static int op_set(op_ctx *ctx)
{
	value_obj *vo = NULL;
	json_t *v;
	int rc = lookup_new(ctx, &vo, &v);
	if (rc)
		return rc;
	json_decref(vo->v);
	vo->v = v;
	return op_ok(ctx, json_null());
}

static int op_add(op_ctx *ctx)
{
	value_obj *vo = NULL;
	json_t *delta, *sum;
	int rc = lookup(ctx, &vo);
	if (rc || (rc = arg_value(ctx, "delta", &delta)))
		return rc;
	if (vo->type != V_INT && vo->type != V_FLOAT)
		return op_fail(ctx, BRK_ETYPE, "'%s' has type %s; add needs int or float",
			       ctx->name, type_names[vo->type]);
	if (vo->type == V_INT && !json_is_integer(delta))
		return op_fail(ctx, BRK_ETYPE,
			       "'%s' has type int; the delta must be an int, not %s", ctx->name,
			       jval_kind(delta));
	if ((rc = jval_add(ctx, vo->v, delta, &sum)))
		return rc;
	json_decref(vo->v); /* a float value holds a real, so the sum is one too */
	vo->v = sum;
	return op_ok(ctx, json_incref(sum));
}

static int op_cas(op_ctx *ctx)
{
	value_obj *vo = NULL;
	json_t *expected, *v;
	int rc = lookup_new(ctx, &vo, &v);
	if (rc)
		return rc;
	if ((rc = arg_value(ctx, "expected", &expected))) {
		json_decref(v);
		return rc;
	}
	bool swap = jval_equal(vo->v, expected);
	if (swap) {
		json_decref(vo->v);
		vo->v = v;
	} else {
		json_decref(v);
	}
	ctx->unchanged = !swap;
	return op_ok(ctx, json_pack("{s:b, s:O}", "swapped", swap, "value", vo->v));
}

static int op_getset(op_ctx *ctx)
{
	value_obj *vo = NULL;
	json_t *v;
	int rc = lookup_new(ctx, &vo, &v);
	if (rc)
		return rc;
	json_t *old = vo->v;
	vo->v = v;
	return op_ok(ctx, old);
}

const struct op_def value_ops[] = {
	{BRK_OP_VALUE_CREATE, op_create, OPF_NAME | OPF_WRITE | OPF_GROW, "type,value,ephemeral"},
	{BRK_OP_VALUE_GET, op_get, OPF_NAME | OPF_READ, ""},
	{BRK_OP_VALUE_SET, op_set, OPF_NAME | OPF_WRITE | OPF_GROW, "value"},
	{BRK_OP_VALUE_ADD, op_add, OPF_NAME | OPF_WRITE, "delta"},
	{BRK_OP_VALUE_CAS, op_cas, OPF_NAME | OPF_WRITE | OPF_GROW, "expected,value"},
	{BRK_OP_VALUE_GETSET, op_getset, OPF_NAME | OPF_WRITE | OPF_GROW, "value"},
	{NULL, NULL, 0, NULL},
};

/* ---- class ---- */

static void *create(op_ctx *ctx, const char *name)
{
	(void)name;
	enum vtype t = V_INT;
	json_t *given = json_object_get(ctx->args, "value");
	if (type_arg(ctx, &t))
		return NULL;
	value_obj *vo = calloc(1, sizeof *vo);
	if (!vo) {
		op_fail(ctx, BRK_EINTERNAL, "out of memory");
		return NULL;
	}
	vo->type = t;
	if (!given)
		vo->v = zero_new(t);
	else if (conform(ctx, t, given, &vo->v))
		vo->v = NULL;
	if (vo->v)
		return vo;
	if (!given)
		op_fail(ctx, BRK_EINTERNAL, "out of memory");
	free(vo);
	return NULL;
}

static void destroy(void *impl)
{
	value_obj *vo = impl;
	json_decref(vo->v);
	free(vo);
}

static size_t size(const void *impl)
{
	(void)impl;
	return 1;
}

static json_t *stat_new(const void *impl)
{
	const value_obj *vo = impl;
	return json_pack("{s:s, s:O}", "value_type", type_names[vo->type], "value", vo->v);
}

static const struct obj_class value_class = {
	"value", create, destroy, size, obj_no_waiters, stat_new, obj_complete_no_waiters,
	true,    NULL,   NULL,    NULL, NULL,
};
