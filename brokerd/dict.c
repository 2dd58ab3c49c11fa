/* dict.c: the dict object and its ops. Entries are kept in an hmap under a canonical form
 * of the key, so equal keys (1 and 1.0) meet and different kinds (0 and "0") do not. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "dict.h"
#include "dispatch.h"
#include "hmap.h"
#include "jval.h"
#include "object.h"
#include "ops.h"

struct dentry {
	json_t *key;
	json_t *value;
};

typedef struct dict {
	hmap map; /* canonical key -> struct dentry */
} dict;

/* ---- keys ---- */

char *dict_key_canon(const json_t *key, char *buf, size_t size, size_t *len)
{
	char num[40];
	const char *text = num;
	size_t n;
	char tag;
	switch (json_typeof(key)) {
	case JSON_STRING:
		tag = 's', text = json_string_value(key), n = json_string_length(key);
		break;
	case JSON_INTEGER:
		tag = 'n',
		n = (size_t)snprintf(num, sizeof num, "%lld", (long long)json_integer_value(key));
		break;
	case JSON_REAL: {
		double d = json_real_value(key);
		tag = 'n';
		if (d == floor(d) && d >= -0x1p63 && d < 0x1p63) /* an int64 key may equal it */
			n = (size_t)snprintf(num, sizeof num, "%lld", (long long)d);
		else
			n = (size_t)snprintf(num, sizeof num, "%.17g", d);
		break;
	}
	case JSON_TRUE:
	case JSON_FALSE:
	case JSON_NULL:
		tag = json_is_true(key) ? 't' : json_is_false(key) ? 'f' : 'z', n = 0;
		break;
	default:
		return NULL;
	}
	char *out = n + 1 <= size ? buf : malloc(n + 1);
	if (!out)
		return NULL;
	out[0] = tag;
	memcpy(out + 1, text, n);
	*len = n + 1;
	return out;
}

/* A looked-up key: canonical bytes, in a stack buffer when short. */
struct ckey {
	char buf[128];
	char *bytes;
	size_t len;
};

static int key_arg(op_ctx *ctx, const char *name, struct ckey *k, json_t **key)
{
	int rc = arg_value(ctx, name, key);
	if (rc)
		return rc;
	k->bytes = dict_key_canon(*key, k->buf, sizeof k->buf, &k->len);
	if (!k->bytes)
		return op_fail(ctx, BRK_EBADARG,
			       "a dict key must be a string, number, boolean or null");
	return 0;
}

static void key_done(struct ckey *k)
{
	if (k->bytes && k->bytes != k->buf)
		free(k->bytes);
}

/* ---- storage ---- */

static void entry_free(void *p)
{
	struct dentry *e = p;
	json_decref(e->key);
	json_decref(e->value);
	free(e);
}

static struct dentry *find(dict *d, const struct ckey *k)
{
	return d ? hmap_get(&d->map, k->bytes, k->len) : NULL;
}

/* store: sets key -> value (both borrowed). 0, or -1 out of memory. */
static int store(dict *d, const struct ckey *k, json_t *key, json_t *value)
{
	struct dentry *e = find(d, k);
	if (e) {
		json_decref(e->value);
		e->value = json_incref(value);
		return 0;
	}
	if (!(e = malloc(sizeof *e)))
		return -1;
	e->key = json_incref(key);
	e->value = json_incref(value);
	if (hmap_insert(&d->map, k->bytes, k->len, e))
		return 0;
	entry_free(e);
	return -1;
}

static size_t count_of(const dict *d)
{
	return d ? d->map.count : 0;
}

static int lookup(op_ctx *ctx, bool create, dict **out);

/* ensure: *d, the dict ctx names, created now if it was missing (*d NULL). Writes check
 * their input first and create last, so a refused write leaves no empty dict behind. */
static int ensure(op_ctx *ctx, dict **d)
{
	return *d ? 0 : lookup(ctx, true, d);
}

/* store_checked: store after checking value and, for a new key, the element count; creates
 * the dict (*d NULL) if need be. Returns 0 or the error set on ctx. */
static int store_checked(op_ctx *ctx, dict **d, const struct ckey *k, json_t *key, json_t *value)
{
	int rc = jval_check(ctx, value, "the value");
	if (rc == 0 && !find(*d, k))
		rc = jval_check_count(ctx, count_of(*d), 1);
	if (rc == 0)
		rc = ensure(ctx, d);
	if (rc == 0 && store(*d, k, key, value))
		rc = op_fail(ctx, BRK_EINTERNAL, "out of memory");
	return rc;
}

/* take: removes key's entry and returns its value (a new reference), or NULL if absent. */
static json_t *take(dict *d, const struct ckey *k)
{
	hmap_entry *he = d ? hmap_find(&d->map, k->bytes, k->len) : NULL;
	if (!he)
		return NULL;
	struct dentry *e = he->value;
	json_t *value = json_incref(e->value);
	hmap_delete(&d->map, he);
	entry_free(e);
	return value;
}

/* ---- ops ---- */

/* lookup: the dict ctx names; NULL (and 0) when absent and create is false. */
static int lookup(op_ctx *ctx, bool create, dict **out)
{
	object *o;
	int rc = obj_lookup(ctx, &dict_class, create, &o);
	if (rc == 0)
		*out = o ? o->impl : NULL;
	return rc;
}

/* lookup_key: the dict ctx names (as lookup) and its "key" argument, canonical in k. */
static int lookup_key(op_ctx *ctx, bool create, dict **d, struct ckey *k, json_t **key)
{
	int rc = lookup(ctx, create, d);
	return rc ? rc : key_arg(ctx, "key", k, key);
}

static int key_error(op_ctx *ctx, const json_t *key)
{
	char *text = json_dumps(key, JSON_ENCODE_ANY | JSON_COMPACT);
	op_fail(ctx, BRK_EKEY, "key %.200s not in '%s'", text ? text : "?", ctx->name);
	free(text);
	return BRK_EKEY;
}

/* get and pop share the "default" rule: absent key gives the default, or key_error. */
static int answer_lookup(op_ctx *ctx, const json_t *key, json_t *found)
{
	json_t *dflt = json_object_get(ctx->args, "default");
	if (found)
		return op_ok(ctx, found);
	if (dflt)
		return op_ok(ctx, json_incref(dflt));
	return key_error(ctx, key);
}

static int op_get(op_ctx *ctx)
{
	dict *d;
	json_t *key;
	struct ckey k = {0};
	int rc = lookup_key(ctx, false, &d, &k, &key);
	if (rc)
		return rc;
	struct dentry *e = find(d, &k);
	key_done(&k);
	return answer_lookup(ctx, key, e ? json_incref(e->value) : NULL);
}

static int op_set(op_ctx *ctx)
{
	dict *d;
	json_t *key, *value;
	struct ckey k = {0};
	int rc = lookup_key(ctx, false, &d, &k, &key);
	if (rc || (rc = arg_value(ctx, "value", &value))) {
		key_done(&k);
		return rc;
	}
	rc = store_checked(ctx, &d, &k, key, value);
	key_done(&k);
	return rc ? rc : op_ok(ctx, json_null());
}

static int op_delete(op_ctx *ctx)
{
	dict *d;
	json_t *key;
	struct ckey k = {0};
	int rc = lookup_key(ctx, false, &d, &k, &key);
	if (rc)
		return rc;
	json_t *old = take(d, &k);
	key_done(&k);
	if (!old)
		return key_error(ctx, key);
	json_decref(old);
	return op_ok(ctx, json_null());
}

static int op_contains(op_ctx *ctx)
{
	dict *d;
	json_t *key;
	struct ckey k = {0};
	int rc = lookup_key(ctx, false, &d, &k, &key);
	if (rc)
		return rc;
	bool found = find(d, &k) != NULL;
	key_done(&k);
	return op_ok(ctx, json_boolean(found));
}

static int op_len(op_ctx *ctx)
{
	dict *d;
	int rc = lookup(ctx, false, &d);
	return rc ? rc : op_ok(ctx, json_integer(d ? (json_int_t)d->map.count : 0));
}

enum view { KEYS, VALUES, ITEMS };

#define MAX_PAGE 1000000

/* page_start: where a page of d begins: after the entry of key "after" when given (the last
 * key of the previous page), else the first entry. 0 or the error. */
static int page_start(op_ctx *ctx, dict *d, hmap_entry **out)
{
	struct ckey k = {0};
	json_t *after;
	*out = d ? d->map.first : NULL;
	if (!json_object_get(ctx->args, "after"))
		return 0;
	int rc = key_arg(ctx, "after", &k, &after);
	hmap_entry *he = rc == 0 && d ? hmap_find(&d->map, k.bytes, k.len) : NULL;
	key_done(&k);
	if (rc == 0 && !he)
		return op_fail(ctx, BRK_EKEY,
			       "the page's last key is no longer in '%s'; start again without "
			       "'after'",
			       ctx->name);
	*out = he ? he->next : NULL;
	return rc;
}

/* list_view: keys, values or items in insertion order: all of them, or with "limit" (and
 * "after", the last key of the page before) a page {"page": [...], "after": its last key,
 * "more": whether entries follow it} (PROTOCOL.md "Dicts"). */
static int list_view(op_ctx *ctx, enum view what)
{
	dict *d;
	hmap_entry *he;
	json_int_t limit = 0;
	bool paged = json_object_get(ctx->args, "limit") || json_object_get(ctx->args, "after");
	int rc = lookup(ctx, false, &d);
	if (rc || (rc = arg_opt_int(ctx, "limit", MAX_PAGE, &limit)) ||
	    (rc = page_start(ctx, d, &he)))
		return rc;
	if (limit < 1 || limit > MAX_PAGE)
		return op_fail(ctx, BRK_EBADARG, "'limit' must be from 1 to %d", MAX_PAGE);
	json_t *out = json_array(), *last = NULL;
	for (json_int_t n = 0; he && out && (!paged || n < limit); he = he->next, n++) {
		struct dentry *e = he->value;
		json_t *one = what == KEYS     ? json_incref(e->key)
			      : what == VALUES ? json_incref(e->value)
					       : json_pack("[OO]", e->key, e->value);
		json_array_append_new(out, one);
		last = e->key;
	}
	if (!paged)
		return op_ok(ctx, out);
	return op_ok(ctx, json_pack("{s:o, s:O, s:b}", "page", out, "after",
				    last ? last : json_null(), "more", he != NULL));
}

static int op_keys(op_ctx *ctx)
{
	return list_view(ctx, KEYS);
}

static int op_values(op_ctx *ctx)
{
	return list_view(ctx, VALUES);
}

static int op_items(op_ctx *ctx)
{
	return list_view(ctx, ITEMS);
}

static int op_pop(op_ctx *ctx)
{
	dict *d;
	json_t *key;
	struct ckey k = {0};
	int rc = lookup_key(ctx, false, &d, &k, &key);
	if (rc)
		return rc;
	json_t *value = take(d, &k);
	key_done(&k);
	ctx->unchanged = !value;
	return answer_lookup(ctx, key, value);
}

static int op_popitem(op_ctx *ctx)
{
	dict *d;
	int rc = lookup(ctx, false, &d);
	if (rc)
		return rc;
	if (!d || !d->map.last)
		return op_fail(ctx, BRK_EKEY, "popitem(): dictionary '%s' is empty", ctx->name);
	hmap_entry *he = d->map.last; /* LIFO, as Python */
	struct dentry *e = he->value;
	json_t *pair = json_pack("[OO]", e->key, e->value);
	hmap_delete(&d->map, he);
	entry_free(e);
	return op_ok(ctx, pair);
}

static int op_setdefault(op_ctx *ctx)
{
	dict *d;
	json_t *key;
	struct ckey k = {0};
	int rc = lookup_key(ctx, false, &d, &k, &key);
	if (rc)
		return rc;
	json_t *dflt = json_object_get(ctx->args, "default");
	struct dentry *e = find(d, &k);
	ctx->unchanged = e != NULL;
	if (e || !(rc = store_checked(ctx, &d, &k, key, dflt ? dflt : json_null())))
		rc = op_ok(ctx, json_incref(e ? e->value : dflt ? dflt : json_null()));
	key_done(&k);
	return rc;
}

/* update_pairs: "items" as [[k, v], ...]; checked whole before anything is stored. */
static int update_pairs(op_ctx *ctx, dict *d, json_t *items)
{
	size_t i, adding = 0;
	json_t *pair;
	json_array_foreach (items, i, pair) {
		struct ckey k = {0};
		if (!json_is_array(pair) || json_array_size(pair) != 2)
			return op_fail(ctx, BRK_EBADARG, "items[%zu] must be a [key, value] pair",
				       i);
		k.bytes = dict_key_canon(json_array_get(pair, 0), k.buf, sizeof k.buf, &k.len);
		if (!k.bytes)
			return op_fail(ctx, BRK_EBADARG, "items[%zu]: a dict key must be a scalar",
				       i);
		adding += !find(d, &k);
		key_done(&k);
		if (jval_check(ctx, json_array_get(pair, 1), "a value"))
			return ctx->err;
	}
	if (jval_check_count(ctx, count_of(d), adding) || ensure(ctx, &d))
		return ctx->err;
	json_array_foreach (items, i, pair) {
		struct ckey k = {0};
		json_t *key = json_array_get(pair, 0);
		k.bytes = dict_key_canon(key, k.buf, sizeof k.buf, &k.len);
		int rc = k.bytes ? store(d, &k, key, json_array_get(pair, 1)) : -1;
		key_done(&k);
		if (rc)
			return op_fail(ctx, BRK_EINTERNAL, "out of memory");
	}
	return op_ok(ctx, json_null());
}

static int update_object(op_ctx *ctx, dict *d, json_t *items)
{
	const char *name;
	json_t *value;
	json_object_foreach (items, name, value)
		if (jval_check(ctx, value, "a value"))
			return ctx->err;
	if (jval_check_count(ctx, count_of(d), json_object_size(items)) || ensure(ctx, &d))
		return ctx->err;
	json_object_foreach (items, name, value) {
		json_t *key = json_string(name);
		struct ckey k = {0};
		k.bytes = key ? dict_key_canon(key, k.buf, sizeof k.buf, &k.len) : NULL;
		int rc = k.bytes ? store(d, &k, key, value) : -1;
		key_done(&k);
		json_decref(key);
		if (rc)
			return op_fail(ctx, BRK_EINTERNAL, "out of memory");
	}
	return op_ok(ctx, json_null());
}

static int op_update(op_ctx *ctx)
{
	dict *d;
	json_t *items;
	int rc = arg_value(ctx, "items", &items);
	if (rc)
		return rc;
	if (!json_is_object(items) && !json_is_array(items))
		return op_fail(ctx, BRK_EBADARG,
			       "'items' must be an object or an array of [key, value] pairs");
	if ((rc = lookup(ctx, false, &d)))
		return rc;
	return json_is_object(items) ? update_object(ctx, d, items) : update_pairs(ctx, d, items);
}

static int op_clear(op_ctx *ctx)
{
	dict *d;
	int rc = lookup(ctx, false, &d);
	if (rc)
		return rc;
	if (d)
		hmap_fini(&d->map, entry_free);
	return op_ok(ctx, json_null());
}

static int op_incr(op_ctx *ctx)
{
	dict *d;
	json_t *key, *sum, *one = json_integer(1), *zero = json_integer(0);
	struct ckey k = {0};
	int rc = lookup_key(ctx, false, &d, &k, &key);
	json_t *by = json_object_get(ctx->args, "by");
	if (rc == 0) {
		struct dentry *e = find(d, &k);
		rc = jval_add(ctx, e ? e->value : zero, by ? by : one, &sum);
	}
	if (rc == 0 && !(rc = store_checked(ctx, &d, &k, key, sum)))
		rc = op_ok(ctx, sum);
	else if (rc == 0)
		json_decref(sum);
	key_done(&k);
	json_decref(one), json_decref(zero);
	return rc;
}

static int op_cas(op_ctx *ctx)
{
	dict *d;
	json_t *key, *expected, *value;
	struct ckey k = {0};
	int rc = lookup_key(ctx, false, &d, &k, &key);
	if (rc == 0 && !(rc = arg_value(ctx, "expected", &expected)) &&
	    !(rc = arg_value(ctx, "value", &value))) {
		struct dentry *e = find(d, &k);
		bool swap = e && jval_equal(e->value, expected);
		ctx->unchanged = !swap;
		if (swap && (rc = store_checked(ctx, &d, &k, key, value)) == 0)
			e = find(d, &k);
		if (rc == 0)
			rc = op_ok(ctx,
				   e ? json_pack("{s:b, s:O}", "swapped", swap, "value", e->value)
				     : json_pack("{s:b}", "swapped", 0));
	}
	key_done(&k);
	return rc;
}

const struct op_def dict_ops[] = {
	{BRK_OP_DICT_GET, op_get, OPF_NAME | OPF_READ, "key,default"},
	{BRK_OP_DICT_SET, op_set, OPF_NAME | OPF_WRITE | OPF_GROW, "key,value"},
	{BRK_OP_DICT_DELETE, op_delete, OPF_NAME | OPF_WRITE, "key"},
	{BRK_OP_DICT_CONTAINS, op_contains, OPF_NAME | OPF_READ, "key"},
	{BRK_OP_DICT_LEN, op_len, OPF_NAME | OPF_READ, ""},
	{BRK_OP_DICT_KEYS, op_keys, OPF_NAME | OPF_READ, "limit,after"},
	{BRK_OP_DICT_VALUES, op_values, OPF_NAME | OPF_READ, "limit,after"},
	{BRK_OP_DICT_ITEMS, op_items, OPF_NAME | OPF_READ, "limit,after"},
	{BRK_OP_DICT_POP, op_pop, OPF_NAME | OPF_WRITE, "key,default"},
	{BRK_OP_DICT_POPITEM, op_popitem, OPF_NAME | OPF_WRITE, ""},
	{BRK_OP_DICT_SETDEFAULT, op_setdefault, OPF_NAME | OPF_WRITE | OPF_GROW, "key,default"},
	{BRK_OP_DICT_UPDATE, op_update, OPF_NAME | OPF_WRITE | OPF_GROW, "items"},
	{BRK_OP_DICT_CLEAR, op_clear, OPF_NAME | OPF_WRITE, ""},
	{BRK_OP_DICT_INCR, op_incr, OPF_NAME | OPF_WRITE | OPF_GROW, "key,by"},
	{BRK_OP_DICT_CAS, op_cas, OPF_NAME | OPF_WRITE | OPF_GROW, "key,expected,value"},
	{NULL, NULL, 0, NULL},
};

/* ---- class ---- */

static void *create(op_ctx *ctx, const char *name)
{
	(void)name;
	dict *d = calloc(1, sizeof *d);
	if (!d)
		op_fail(ctx, BRK_EINTERNAL, "out of memory");
	return d;
}

static void destroy(void *impl)
{
	dict *d = impl;
	hmap_fini(&d->map, entry_free);
	free(d);
}

static size_t size(const void *impl)
{
	return ((const dict *)impl)->map.count;
}

const struct obj_class dict_class = {
	"dict", create, destroy, size, obj_no_waiters, obj_no_stat, obj_complete_no_waiters,
	true,   NULL,   NULL,    NULL, NULL,
};
