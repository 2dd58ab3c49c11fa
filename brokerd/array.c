/* array.c: the array object, Python's multiprocessing.Array: a fixed number of ints
 * (64-bit) or floats (doubles), typed at creation, read and written by index or slice,
 * with an atomic add on one element. Stored as a plain C array. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "dispatch.h"
#include "jval.h"
#include "object.h"
#include "ops.h"
#include "seq.h"

typedef struct array_obj {
	bool is_float;
	size_t len;
	union {
		json_int_t *i;
		double *f;
	} v;
} array_obj;

static const struct obj_class array_class;

static const char *type_name(const array_obj *a)
{
	return a->is_float ? "float" : "int";
}

static json_t *element_new(const array_obj *a, size_t i)
{
	return a->is_float ? json_real(a->v.f[i]) : json_integer(a->v.i[i]);
}

/* fits: whether v may be stored in a (an int array takes ints only, as ctypes does). */
static bool fits(const array_obj *a, const json_t *v)
{
	return a->is_float ? json_is_number(v) : json_is_integer(v);
}

static void store(array_obj *a, size_t i, const json_t *v)
{
	if (a->is_float)
		a->v.f[i] = json_number_value(v);
	else
		a->v.i[i] = json_integer_value(v);
}

static int unfit(op_ctx *ctx, const array_obj *a, const json_t *v)
{
	return op_fail(ctx, BRK_ETYPE, "'%s' holds %ss, not %s", ctx->name, type_name(a),
		       jval_kind(v));
}

/* lookup: the array ctx names; it must have been created (it needs a type and length). */
static int lookup(op_ctx *ctx, array_obj **out)
{
	object *o;
	int rc = obj_lookup_created(ctx, &array_class, &o);
	if (rc == 0)
		*out = o->impl;
	return rc;
}

static json_t *slice_new(const array_obj *a, const struct seq_slice *s)
{
	json_t *out = json_array();
	for (size_t k = 0; out && k < s->count; k++)
		if (json_array_append_new(out, element_new(a, seq_pos(s, k))))
			json_decref(out), out = NULL;
	return out;
}

/* ---- ops ---- */

static bool same(const void *existing, const void *built)
{
	const array_obj *x = existing, *y = built;
	return x->is_float == y->is_float && x->len == y->len;
}

static int op_create(op_ctx *ctx)
{
	return obj_create(ctx, &array_class, same);
}

static int op_get(op_ctx *ctx)
{
	array_obj *a = NULL;
	struct seq_target t;
	int rc = lookup(ctx, &a);
	if (rc || (rc = seq_target(ctx, a->len, "array", &t)))
		return rc;
	return op_ok(ctx, t.slice ? slice_new(a, &t.s) : element_new(a, t.index));
}

/* set_slice: a[a:b:c] = items, exactly as many as the slice selects (ctypes' rule). */
static int set_slice(op_ctx *ctx, array_obj *a, const struct seq_slice *s)
{
	json_t *items, *v;
	size_t k;
	int rc = arg_value(ctx, "value", &items);
	if (rc)
		return rc;
	if (!json_is_array(items))
		return op_fail(ctx, BRK_EBADARG, "a slice takes an array 'value'");
	if (json_array_size(items) != s->count)
		return op_fail(ctx, BRK_EVALUE, "can only assign a sequence of the same size (%zu)",
			       s->count);
	json_array_foreach (items, k, v)
		if (!fits(a, v))
			return unfit(ctx, a, v);
	json_array_foreach (items, k, v)
		store(a, seq_pos(s, k), v);
	return op_ok(ctx, json_null());
}

static int op_set(op_ctx *ctx)
{
	array_obj *a = NULL;
	struct seq_target t;
	json_t *v;
	int rc = lookup(ctx, &a);
	if (rc || (rc = seq_target(ctx, a->len, "array assignment", &t)))
		return rc;
	if (t.slice)
		return set_slice(ctx, a, &t.s);
	if ((rc = arg_value(ctx, "value", &v)))
		return rc;
	if (!fits(a, v))
		return unfit(ctx, a, v);
	store(a, t.index, v);
	return op_ok(ctx, json_null());
}

static int op_add(op_ctx *ctx)
{
	array_obj *a = NULL;
	size_t i;
	json_t *delta, *sum, *old;
	int rc = lookup(ctx, &a);
	if (rc || (rc = seq_index(ctx, a->len, "array", &i)) ||
	    (rc = arg_value(ctx, "delta", &delta)))
		return rc;
	if (!fits(a, delta))
		return unfit(ctx, a, delta);
	if (!(old = element_new(a, i)))
		return op_fail(ctx, BRK_EINTERNAL, "out of memory");
	rc = jval_add(ctx, old, delta, &sum);
	json_decref(old);
	if (rc)
		return rc;
	store(a, i, sum);
	return op_ok(ctx, sum);
}

static int op_len(op_ctx *ctx)
{
	array_obj *a = NULL;
	int rc = lookup(ctx, &a);
	return rc ? rc : op_ok(ctx, json_integer((json_int_t)a->len));
}

static int op_read(op_ctx *ctx)
{
	array_obj *a = NULL;
	int rc = lookup(ctx, &a);
	struct seq_slice all = {0, 1, 0};
	if (rc)
		return rc;
	all.count = a->len;
	return op_ok(ctx, slice_new(a, &all));
}

const struct op_def array_ops[] = {
	{BRK_OP_ARRAY_CREATE, op_create, OPF_NAME | OPF_WRITE | OPF_GROW,
	 "type,length,items,ephemeral"},
	{BRK_OP_ARRAY_GET, op_get, OPF_NAME | OPF_READ, "index,slice"},
	{BRK_OP_ARRAY_SET, op_set, OPF_NAME | OPF_WRITE, "index,slice,value"},
	{BRK_OP_ARRAY_ADD, op_add, OPF_NAME | OPF_WRITE, "index,delta"},
	{BRK_OP_ARRAY_LEN, op_len, OPF_NAME | OPF_READ, ""},
	{BRK_OP_ARRAY_READ, op_read, OPF_NAME | OPF_READ, ""},
	{NULL, NULL, 0, NULL},
};

/* ---- class ---- */

/* shape_args: the type, and the length from "length" or "items" (exactly one). */
static int shape_args(op_ctx *ctx, bool *is_float, size_t *len, json_t **items)
{
	const char *type;
	json_t *length = json_object_get(ctx->args, "length");
	int rc = arg_opt_string(ctx, "type", NULL, &type);
	if (rc)
		return rc;
	if (!type || (strcmp(type, "int") && strcmp(type, "float")))
		return op_fail(ctx, BRK_EBADARG, "argument 'type' must be \"int\" or \"float\"");
	*is_float = type[0] == 'f';
	*items = json_object_get(ctx->args, "items");
	if (!length == !*items)
		return op_fail(ctx, BRK_EBADARG, "give either 'length' or 'items'");
	if (*items && !json_is_array(*items))
		return op_fail(ctx, BRK_EBADARG, "argument 'items' must be an array");
	if (length && (!json_is_integer(length) || json_integer_value(length) < 0))
		return op_fail(ctx, BRK_EBADARG, "argument 'length' must be an integer >= 0");
	*len = length ? (size_t)json_integer_value(length) : json_array_size(*items);
	return jval_check_count(ctx, 0, *len);
}

static void *create(op_ctx *ctx, const char *name)
{
	(void)name;
	bool is_float = false;
	size_t len = 0, i;
	json_t *items, *v;
	if (shape_args(ctx, &is_float, &len, &items))
		return NULL;
	array_obj *a = calloc(1, sizeof *a);
	void *slots = calloc(len ? len : 1, is_float ? sizeof(double) : sizeof(json_int_t));
	if (!a || !slots) {
		free(a), free(slots);
		op_fail(ctx, BRK_EINTERNAL, "out of memory");
		return NULL;
	}
	a->is_float = is_float, a->len = len, a->v.i = slots;
	json_array_foreach (items, i, v) {
		if (!fits(a, v)) {
			unfit(ctx, a, v);
			free(a), free(slots);
			return NULL;
		}
		store(a, i, v);
	}
	return a;
}

static void destroy(void *impl)
{
	array_obj *a = impl;
	free(a->v.i);
	free(a);
}

static size_t size(const void *impl)
{
	return ((const array_obj *)impl)->len;
}

static json_t *stat_new(const void *impl)
{
	return json_pack("{s:s}", "element_type", type_name(impl));
}

static const struct obj_class array_class = {
	"array", create, destroy, size, obj_no_waiters, stat_new, obj_complete_no_waiters,
	true,    NULL,   NULL,    NULL, NULL,
};
