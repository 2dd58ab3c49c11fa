/* list.c: the list object, with Python's list semantics: negative indexes, slices with
 * steps, stable sorting of one comparable kind, and IndexError/ValueError/TypeError as
 * index_error/value_error/type_error. Items are a jansson array. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "dispatch.h"
#include "jval.h"
#include "object.h"
#include "ops.h"
#include "seq.h"

typedef struct list_obj {
	json_t *items;
} list_obj;

static const struct obj_class list_class;

/* lookup: the list ctx names; NULL (and 0) when absent and create is false. Ops read a
 * missing list as an empty one. */
static int lookup(op_ctx *ctx, bool create, list_obj **out)
{
	object *o;
	int rc = obj_lookup(ctx, &list_class, create, &o);
	if (rc == 0)
		*out = o ? o->impl : NULL;
	return rc;
}

/* ensure: *l, the list ctx names, created now if it was missing (*l NULL). Writes check
 * their input first and create last, so a refused write leaves no empty list behind. */
static int ensure(op_ctx *ctx, list_obj **l)
{
	return *l ? 0 : lookup(ctx, true, l);
}

static json_t *items_of(const list_obj *l)
{
	return l ? l->items : NULL; /* jansson reads NULL as an empty array */
}

/* value_arg: the "value" argument, checked against the limits, and room for added more. */
static int value_arg(op_ctx *ctx, const list_obj *l, size_t added, json_t **v)
{
	int rc = arg_value(ctx, "value", v);
	if (rc == 0)
		rc = jval_check(ctx, *v, "the value");
	return rc ? rc : jval_check_count(ctx, json_array_size(items_of(l)), added);
}

/* items_arg: the array argument key, each member checked, for a list of have - removed
 * items before it is added. */
static int items_arg(op_ctx *ctx, const char *key, size_t have, size_t removed, json_t **items)
{
	int rc = arg_value(ctx, key, items);
	if (rc)
		return rc;
	if (!json_is_array(*items))
		return op_fail(ctx, BRK_EBADARG, "argument '%s' must be an array", key);
	rc = jval_check_items(ctx, *items, key);
	return rc ? rc : jval_check_count(ctx, have - removed, json_array_size(*items));
}

/* find: the first position in [from, to) holding a value equal to v, or -1. */
static long find(const json_t *items, const json_t *v, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (jval_equal(json_array_get(items, i), v))
			return (long)i;
	return -1;
}

/* replace_items: l's items become fresh (stolen). Returns 0 or internal error. */
static int replace_items(op_ctx *ctx, list_obj *l, json_t *fresh)
{
	if (!fresh)
		return op_fail(ctx, BRK_EINTERNAL, "out of memory");
	json_decref(l->items);
	l->items = fresh;
	return 0;
}

/* in_slice: whether position i is one of s's. */
static bool in_slice(const struct seq_slice *s, size_t i)
{
	if (s->count == 0)
		return false;
	long step = s->step > 0 ? s->step : -s->step;
	long lo = s->step > 0 ? s->start : s->start + (long)(s->count - 1) * s->step;
	long d = (long)i - lo;
	return d >= 0 && d % step == 0 && (size_t)(d / step) < s->count;
}

/* splice: l's items without those of s, with insert (if not NULL) placed at s's start. */
static int splice(op_ctx *ctx, list_obj *l, const struct seq_slice *s, const json_t *insert)
{
	json_t *fresh = json_array();
	size_t n = json_array_size(l->items);
	for (size_t i = 0; fresh && i <= n; i++) {
		if (insert && i == (size_t)s->start && json_array_extend(fresh, (json_t *)insert))
			json_decref(fresh), fresh = NULL;
		if (fresh && i < n && !in_slice(s, i) &&
		    json_array_append(fresh, json_array_get(l->items, i)))
			json_decref(fresh), fresh = NULL;
	}
	return replace_items(ctx, l, fresh);
}

/* ---- ops ---- */

static bool same(const void *existing, const void *built)
{
	(void)existing, (void)built; /* a list has no settings: create is "create if absent" */
	return true;
}

/* op_create: a list holding "items" (checked first) when the name is free. Every other way
 * of creating a list makes it empty, so the items are added here rather than by create. */
static int op_create(op_ctx *ctx)
{
	json_t *items = NULL;
	list_obj *l = NULL;
	int rc = json_object_get(ctx->args, "items") ? items_arg(ctx, "items", 0, 0, &items) : 0;
	if (rc || (rc = obj_create(ctx, &list_class, same)) || ctx->unchanged || !items)
		return rc;
	if ((rc = lookup(ctx, false, &l)) == 0 && json_array_extend(l->items, items))
		rc = op_fail(ctx, BRK_EINTERNAL, "out of memory");
	return rc;
}

static int op_append(op_ctx *ctx)
{
	list_obj *l = NULL;
	json_t *v;
	int rc = lookup(ctx, false, &l);
	if (rc || (rc = value_arg(ctx, l, 1, &v)) || (rc = ensure(ctx, &l)))
		return rc;
	if (json_array_append(l->items, v))
		return op_fail(ctx, BRK_EINTERNAL, "out of memory");
	return op_ok(ctx, json_null());
}

static int op_extend(op_ctx *ctx)
{
	list_obj *l = NULL;
	json_t *items;
	int rc = lookup(ctx, false, &l);
	if (rc || (rc = items_arg(ctx, "items", json_array_size(items_of(l)), 0, &items)) ||
	    (rc = ensure(ctx, &l)))
		return rc;
	if (json_array_extend(l->items, items))
		return op_fail(ctx, BRK_EINTERNAL, "out of memory");
	return op_ok(ctx, json_null());
}

static int op_insert(op_ctx *ctx)
{
	list_obj *l = NULL;
	json_t *v, *index = json_object_get(ctx->args, "index");
	if (!json_is_integer(index))
		return op_fail(ctx, BRK_EBADARG, "argument 'index' must be an integer");
	int rc = lookup(ctx, false, &l);
	if (rc || (rc = value_arg(ctx, l, 1, &v)) || (rc = ensure(ctx, &l)))
		return rc;
	size_t at = seq_clamp(json_integer_value(index), json_array_size(l->items));
	if (json_array_insert(l->items, at, v))
		return op_fail(ctx, BRK_EINTERNAL, "out of memory");
	return op_ok(ctx, json_null());
}

static int op_pop(op_ctx *ctx)
{
	list_obj *l = NULL;
	json_int_t i;
	int rc = lookup(ctx, false, &l);
	if (rc || (rc = arg_opt_int(ctx, "index", -1, &i)))
		return rc;
	size_t n = json_array_size(items_of(l));
	if (n == 0)
		return op_fail(ctx, BRK_EINDEX, "pop from empty list");
	if (i < 0)
		i += (json_int_t)n;
	if (i < 0 || (size_t)i >= n)
		return op_fail(ctx, BRK_EINDEX, "pop index out of range");
	json_t *v = json_incref(json_array_get(l->items, (size_t)i));
	json_array_remove(l->items, (size_t)i);
	return op_ok(ctx, v);
}

static int op_remove(op_ctx *ctx)
{
	list_obj *l = NULL;
	json_t *v;
	int rc = lookup(ctx, false, &l);
	if (rc || (rc = arg_value(ctx, "value", &v)))
		return rc;
	long at = find(items_of(l), v, 0, json_array_size(items_of(l)));
	if (at < 0)
		return op_fail(ctx, BRK_EVALUE, "list.remove(x): x not in list");
	json_array_remove(l->items, (size_t)at);
	return op_ok(ctx, json_null());
}

static int op_index(op_ctx *ctx)
{
	list_obj *l = NULL;
	json_t *v;
	json_int_t start, stop;
	int rc = lookup(ctx, false, &l);
	if (rc || (rc = arg_value(ctx, "value", &v)) ||
	    (rc = arg_opt_int(ctx, "start", 0, &start)) ||
	    (rc = arg_opt_int(ctx, "stop", INT64_MAX, &stop)))
		return rc;
	size_t n = json_array_size(items_of(l));
	long at = find(items_of(l), v, seq_clamp(start, n), seq_clamp(stop, n));
	if (at < 0)
		return op_fail(ctx, BRK_EVALUE, "value is not in list");
	return op_ok(ctx, json_integer(at));
}

static int op_count(op_ctx *ctx)
{
	list_obj *l = NULL;
	json_t *v, *item;
	size_t i, count = 0;
	int rc = lookup(ctx, false, &l);
	if (rc || (rc = arg_value(ctx, "value", &v)))
		return rc;
	json_array_foreach (items_of(l), i, item)
		count += jval_equal(item, v);
	return op_ok(ctx, json_integer((json_int_t)count));
}

static json_t *reversed_new(const json_t *items)
{
	json_t *out = json_array();
	for (size_t i = json_array_size(items); out && i-- > 0;)
		if (json_array_append(out, json_array_get(items, i)))
			json_decref(out), out = NULL;
	return out;
}

static int op_reverse(op_ctx *ctx)
{
	list_obj *l = NULL;
	int rc = lookup(ctx, false, &l);
	if (rc || !l)
		return rc ? rc : op_ok(ctx, json_null());
	rc = replace_items(ctx, l, reversed_new(l->items));
	return rc ? rc : op_ok(ctx, json_null());
}

/* ---- sort: a stable merge sort whose comparison can fail, as Python's does ---- */

struct sorter {
	const json_t *bad_a, *bad_b; /* the first pair that would not compare */
};

static bool less(struct sorter *s, const json_t *a, const json_t *b)
{
	int cmp;
	if (s->bad_a)
		return false;
	if (jval_compare(a, b, &cmp))
		return cmp < 0;
	s->bad_a = a, s->bad_b = b;
	return false;
}

static void merge_sort(json_t **v, json_t **tmp, size_t n, struct sorter *s)
{
	if (n < 2 || s->bad_a)
		return;
	size_t h = n / 2, i = 0, j = h, k = 0;
	merge_sort(v, tmp, h, s);
	merge_sort(v + h, tmp, n - h, s);
	while (i < h && j < n)
		tmp[k++] = less(s, v[j], v[i]) ? v[j++] : v[i++];
	while (i < h)
		tmp[k++] = v[i++];
	while (j < n)
		tmp[k++] = v[j++];
	memcpy(v, tmp, n * sizeof *v);
}

/* sorted_new: items sorted (stable; reverse keeps equal items in order, as Python), or
 * NULL with a type_error on ctx when two items do not compare. */
static json_t *sorted_new(op_ctx *ctx, const json_t *items, bool reverse)
{
	size_t n = json_array_size(items);
	json_t *src = reverse ? reversed_new(items) : json_incref((json_t *)items);
	json_t **v = malloc((n + 1) * sizeof *v), **tmp = malloc((n + 1) * sizeof *tmp);
	json_t *out = NULL;
	struct sorter s = {0};
	if (src && v && tmp) {
		for (size_t i = 0; i < n; i++)
			v[i] = json_array_get(src, i);
		merge_sort(v, tmp, n, &s);
		out = s.bad_a ? NULL : json_array();
		for (size_t i = 0; out && i < n; i++)
			if (json_array_append(out, v[reverse ? n - 1 - i : i]))
				json_decref(out), out = NULL;
	}
	if (s.bad_a)
		op_fail(ctx, BRK_ETYPE, "'<' not supported between %s and %s", jval_kind(s.bad_a),
			jval_kind(s.bad_b));
	else if (!out)
		op_fail(ctx, BRK_EINTERNAL, "out of memory");
	free(v), free(tmp);
	json_decref(src);
	return out;
}

static int op_sort(op_ctx *ctx)
{
	list_obj *l = NULL;
	bool reverse;
	int rc = lookup(ctx, false, &l);
	if (rc || (rc = arg_opt_bool(ctx, "reverse", false, &reverse)) || !l)
		return rc ? rc : op_ok(ctx, json_null());
	json_t *sorted = sorted_new(ctx, l->items, reverse);
	if (!sorted)
		return ctx->err;
	replace_items(ctx, l, sorted);
	return op_ok(ctx, json_null());
}

/* ---- index and slice access ---- */

static json_t *slice_new(const json_t *items, const struct seq_slice *s)
{
	json_t *out = json_array();
	for (size_t k = 0; out && k < s->count; k++)
		if (json_array_append(out, json_array_get(items, seq_pos(s, k))))
			json_decref(out), out = NULL;
	return out;
}

static int op_get(op_ctx *ctx)
{
	list_obj *l = NULL;
	struct seq_target t;
	int rc = lookup(ctx, false, &l);
	if (rc || (rc = seq_target(ctx, json_array_size(items_of(l)), "list", &t)))
		return rc;
	if (t.slice)
		return op_ok(ctx, slice_new(items_of(l), &t.s));
	return op_ok(ctx, json_incref(json_array_get(l->items, t.index)));
}

/* set_slice: Python's l[a:b:c] = items: a plain slice takes any number of items, an
 * extended one (step other than 1) exactly as many as it selects. */
static int set_slice(op_ctx *ctx, list_obj *l, const struct seq_slice *s)
{
	json_t *items;
	int rc = items_arg(ctx, "value", json_array_size(items_of(l)), s->count, &items);
	if (rc || (rc = ensure(ctx, &l)))
		return rc;
	if (s->step == 1)
		return splice(ctx, l, s, items) ?: op_ok(ctx, json_null());
	if (json_array_size(items) != s->count)
		return op_fail(
			ctx, BRK_EVALUE,
			"attempt to assign sequence of size %zu to extended slice of size %zu",
			json_array_size(items), s->count);
	for (size_t k = 0; k < s->count; k++)
		json_array_set(l->items, seq_pos(s, k), json_array_get(items, k));
	return op_ok(ctx, json_null());
}

static int op_set(op_ctx *ctx)
{
	list_obj *l = NULL;
	json_t *v;
	struct seq_target t;
	int rc = lookup(ctx, false, &l);
	if (rc || (rc = seq_target(ctx, json_array_size(items_of(l)), "list assignment", &t)))
		return rc;
	if (t.slice)
		return set_slice(ctx, l, &t.s);
	if ((rc = value_arg(ctx, l, 0, &v)))
		return rc;
	json_array_set(l->items, t.index, v);
	return op_ok(ctx, json_null());
}

static int op_delete(op_ctx *ctx)
{
	list_obj *l = NULL;
	struct seq_target t;
	int rc = lookup(ctx, false, &l);
	if (rc || (rc = seq_target(ctx, json_array_size(items_of(l)), "list assignment", &t)))
		return rc;
	if (!t.slice)
		json_array_remove(l->items, t.index);
	else if (t.s.count > 0)
		rc = splice(ctx, l, &t.s, NULL);
	return rc ? rc : op_ok(ctx, json_null());
}

static int op_len(op_ctx *ctx)
{
	list_obj *l = NULL;
	int rc = lookup(ctx, false, &l);
	return rc ? rc : op_ok(ctx, json_integer((json_int_t)json_array_size(items_of(l))));
}

static int op_contains(op_ctx *ctx)
{
	list_obj *l = NULL;
	json_t *v;
	int rc = lookup(ctx, false, &l);
	if (rc || (rc = arg_value(ctx, "value", &v)))
		return rc;
	return op_ok(ctx, json_boolean(find(items_of(l), v, 0, json_array_size(items_of(l))) >= 0));
}

static int op_clear(op_ctx *ctx)
{
	list_obj *l = NULL;
	int rc = lookup(ctx, false, &l);
	if (rc == 0 && l)
		json_array_clear(l->items);
	return rc ? rc : op_ok(ctx, json_null());
}

static int op_read(op_ctx *ctx)
{
	list_obj *l = NULL;
	int rc = lookup(ctx, false, &l);
	return rc ? rc : l ? op_ok_container(ctx, l->items) : op_ok(ctx, json_array());
}

const struct op_def list_ops[] = {
	{BRK_OP_LIST_CREATE, op_create, OPF_NAME | OPF_WRITE | OPF_GROW, "items,ephemeral"},
	{BRK_OP_LIST_APPEND, op_append, OPF_NAME | OPF_WRITE | OPF_GROW, "value"},
	{BRK_OP_LIST_EXTEND, op_extend, OPF_NAME | OPF_WRITE | OPF_GROW, "items"},
	{BRK_OP_LIST_INSERT, op_insert, OPF_NAME | OPF_WRITE | OPF_GROW, "index,value"},
	{BRK_OP_LIST_POP, op_pop, OPF_NAME | OPF_WRITE, "index"},
	{BRK_OP_LIST_REMOVE, op_remove, OPF_NAME | OPF_WRITE, "value"},
	{BRK_OP_LIST_INDEX, op_index, OPF_NAME | OPF_READ, "value,start,stop"},
	{BRK_OP_LIST_COUNT, op_count, OPF_NAME | OPF_READ, "value"},
	{BRK_OP_LIST_REVERSE, op_reverse, OPF_NAME | OPF_WRITE, ""},
	{BRK_OP_LIST_SORT, op_sort, OPF_NAME | OPF_WRITE, "reverse"},
	{BRK_OP_LIST_GET, op_get, OPF_NAME | OPF_READ, "index,slice"},
	{BRK_OP_LIST_SET, op_set, OPF_NAME | OPF_WRITE | OPF_GROW, "index,slice,value"},
	{BRK_OP_LIST_DELETE, op_delete, OPF_NAME | OPF_WRITE, "index,slice"},
	{BRK_OP_LIST_LEN, op_len, OPF_NAME | OPF_READ, ""},
	{BRK_OP_LIST_CONTAINS, op_contains, OPF_NAME | OPF_READ, "value"},
	{BRK_OP_LIST_CLEAR, op_clear, OPF_NAME | OPF_WRITE, ""},
	{BRK_OP_LIST_READ, op_read, OPF_NAME | OPF_READ, ""},
	{NULL, NULL, 0, NULL},
};

/* ---- class ---- */

static void *create(op_ctx *ctx, const char *name)
{
	(void)name;
	list_obj *l = calloc(1, sizeof *l);
	if (!l || !(l->items = json_array())) {
		free(l);
		op_fail(ctx, BRK_EINTERNAL, "out of memory");
		return NULL;
	}
	return l;
}

static void destroy(void *impl)
{
	list_obj *l = impl;
	json_decref(l->items);
	free(l);
}

static size_t size(const void *impl)
{
	return json_array_size(((const list_obj *)impl)->items);
}

static const struct obj_class list_class = {
	"list", create, destroy, size, obj_no_waiters, obj_no_stat, obj_complete_no_waiters,
	true,   NULL,   NULL,    NULL, NULL,
};
