/* shared.c: libbroker's shared-state calls: dict, list, namespace, value and array. Each is
 * one request; the version it reports is kept for brk_last_version(). */

#include "broker.h"
#include "call.h"
#include "ops.h"

/* with: adds field (borrowed; skipped when NULL) to args and returns args. */
static json_t *with(json_t *args, const char *field, const json_t *value)
{
	if (args && value)
		json_object_set(args, field, (json_t *)value);
	return args;
}

/* field_args: {field: value}, or NULL (the daemon then answers bad_argument) for NULL. */
static json_t *field_args(const char *field, const json_t *value)
{
	return value ? json_pack("{s:O}", field, value) : NULL;
}

/* ---- dicts ---- */

brk_err brk_dict_get(brk_client *c, const char *name, const json_t *key, json_t **value)
{
	return call_new(c, BRK_OP_DICT_GET, name, field_args("key", key), value);
}

brk_err brk_dict_get_default(brk_client *c, const char *name, const json_t *key, const json_t *dflt,
			     json_t **value)
{
	if (!dflt)
		return fail(BRK_EINVAL, "brk_dict_get_default needs a default");
	return call_new(c, BRK_OP_DICT_GET, name, with(field_args("key", key), "default", dflt),
			value);
}

brk_err brk_dict_set(brk_client *c, const char *name, const json_t *key, const json_t *value)
{
	if (!value)
		return fail(BRK_EINVAL, "brk_dict_set needs a value");
	return call_new(c, BRK_OP_DICT_SET, name, with(field_args("key", key), "value", value),
			NULL);
}

brk_err brk_dict_delete(brk_client *c, const char *name, const json_t *key)
{
	return call_new(c, BRK_OP_DICT_DELETE, name, field_args("key", key), NULL);
}

brk_err brk_dict_contains(brk_client *c, const char *name, const json_t *key, bool *found)
{
	return call_bool(c, BRK_OP_DICT_CONTAINS, name, field_args("key", key), found);
}

brk_err brk_dict_len(brk_client *c, const char *name, size_t *len)
{
	return call_size(c, BRK_OP_DICT_LEN, name, NULL, len);
}

brk_err brk_dict_keys(brk_client *c, const char *name, json_t **keys)
{
	return call_new(c, BRK_OP_DICT_KEYS, name, NULL, keys);
}

brk_err brk_dict_values(brk_client *c, const char *name, json_t **values)
{
	return call_new(c, BRK_OP_DICT_VALUES, name, NULL, values);
}

brk_err brk_dict_items(brk_client *c, const char *name, json_t **items)
{
	return call_new(c, BRK_OP_DICT_ITEMS, name, NULL, items);
}

brk_err brk_dict_pop(brk_client *c, const char *name, const json_t *key, const json_t *dflt,
		     json_t **value)
{
	return call_new(c, BRK_OP_DICT_POP, name, with(field_args("key", key), "default", dflt),
			value);
}

brk_err brk_dict_popitem(brk_client *c, const char *name, json_t **key, json_t **value)
{
	json_t *pair;
	brk_err err = call_new(c, BRK_OP_DICT_POPITEM, name, NULL, &pair);
	if (err == BRK_OK && json_array_size(pair) != 2)
		err = fail(BRK_EPROTO, "popitem: expected a [key, value] pair");
	if (err == BRK_OK) {
		*key = json_incref(json_array_get(pair, 0));
		*value = json_incref(json_array_get(pair, 1));
	}
	json_decref(pair);
	return err;
}

brk_err brk_dict_setdefault(brk_client *c, const char *name, const json_t *key, const json_t *dflt,
			    json_t **value)
{
	return call_new(c, BRK_OP_DICT_SETDEFAULT, name,
			with(field_args("key", key), "default", dflt), value);
}

brk_err brk_dict_update(brk_client *c, const char *name, const json_t *items)
{
	if (!items)
		return fail(BRK_EINVAL, "brk_dict_update needs items");
	return call_new(c, BRK_OP_DICT_UPDATE, name, json_pack("{s:O}", "items", items), NULL);
}

brk_err brk_dict_clear(brk_client *c, const char *name)
{
	return call_new(c, BRK_OP_DICT_CLEAR, name, NULL, NULL);
}

brk_err brk_dict_update_if(brk_client *c, const char *name, const json_t *items, uint64_t version)
{
	if (!items)
		return fail(BRK_EINVAL, "brk_dict_update_if needs items");
	return call_new(c, BRK_OP_DICT_UPDATE, name,
			json_pack("{s:O, s:I}", "items", items, "version", (json_int_t)version),
			NULL);
}

brk_err brk_dict_incr(brk_client *c, const char *name, const json_t *key, const json_t *by,
		      json_t **sum)
{
	return call_new(c, BRK_OP_DICT_INCR, name, with(field_args("key", key), "by", by), sum);
}

/* cas_result: reads {"swapped": bool, "value"?: current} into the caller's outputs. */
static brk_err cas_result(const char *op, json_t *r, bool *swapped, json_t **current)
{
	json_t *flag = json_object_get(r, "swapped");
	brk_err err = json_is_boolean(flag)
			      ? BRK_OK
			      : fail(BRK_EPROTO, "%s: expected {\"swapped\": ...}", op);
	if (err == BRK_OK) {
		*swapped = json_is_true(flag);
		if (current)
			*current = json_incref(json_object_get(r, "value"));
	}
	json_decref(r);
	return err;
}

brk_err brk_dict_cas(brk_client *c, const char *name, const json_t *key, const json_t *expected,
		     const json_t *value, bool *swapped, json_t **current)
{
	json_t *r = NULL;
	if (current)
		*current = NULL;
	if (!expected || !value)
		return fail(BRK_EINVAL, "brk_dict_cas needs expected and value");
	json_t *args = with(with(field_args("key", key), "expected", expected), "value", value);
	brk_err err = call_new(c, BRK_OP_DICT_CAS, name, args, &r);
	return err ? err : cas_result(BRK_OP_DICT_CAS, r, swapped, current);
}

/* ---- lists ---- */

/* slice_args: {"slice": [start, stop, step]} with BRK_NONE as null. */
static json_t *slice_args(brk_slice s)
{
	json_t *bounds = json_array();
	long parts[] = {s.start, s.stop, s.step};
	for (int i = 0; bounds && i < 3; i++)
		json_array_append_new(bounds,
				      parts[i] == BRK_NONE ? json_null() : json_integer(parts[i]));
	return bounds ? json_pack("{s:o}", "slice", bounds) : NULL;
}

static json_t *index_args(long index)
{
	return json_pack("{s:I}", "index", (json_int_t)index);
}

/* created_call: a *.create op whose result says whether it created the object. */
static brk_err created_call(brk_client *c, const char *op, const char *name, json_t *args,
			    bool *created)
{
	bool made;
	brk_err err = call_bool(c, op, name, args, &made);
	if (err == BRK_OK && created)
		*created = made;
	return err;
}

brk_err brk_list_create(brk_client *c, const char *name, const json_t *items, bool *created)
{
	return created_call(c, BRK_OP_LIST_CREATE, name, with(json_object(), "items", items),
			    created);
}

brk_err brk_list_append(brk_client *c, const char *name, const json_t *value)
{
	return call_new(c, BRK_OP_LIST_APPEND, name, field_args("value", value), NULL);
}

brk_err brk_list_extend(brk_client *c, const char *name, const json_t *items)
{
	return call_new(c, BRK_OP_LIST_EXTEND, name, field_args("items", items), NULL);
}

brk_err brk_list_insert(brk_client *c, const char *name, long index, const json_t *value)
{
	return call_new(c, BRK_OP_LIST_INSERT, name, with(index_args(index), "value", value), NULL);
}

brk_err brk_list_pop(brk_client *c, const char *name, long index, json_t **value)
{
	return call_new(c, BRK_OP_LIST_POP, name, index_args(index), value);
}

brk_err brk_list_remove(brk_client *c, const char *name, const json_t *value)
{
	return call_new(c, BRK_OP_LIST_REMOVE, name, field_args("value", value), NULL);
}

brk_err brk_list_index(brk_client *c, const char *name, const json_t *value, size_t *index)
{
	return call_size(c, BRK_OP_LIST_INDEX, name, field_args("value", value), index);
}

brk_err brk_list_count(brk_client *c, const char *name, const json_t *value, size_t *count)
{
	return call_size(c, BRK_OP_LIST_COUNT, name, field_args("value", value), count);
}

brk_err brk_list_reverse(brk_client *c, const char *name)
{
	return call_new(c, BRK_OP_LIST_REVERSE, name, NULL, NULL);
}

brk_err brk_list_sort(brk_client *c, const char *name, bool reverse)
{
	return call_new(c, BRK_OP_LIST_SORT, name, json_pack("{s:b}", "reverse", reverse), NULL);
}

brk_err brk_list_get(brk_client *c, const char *name, long index, json_t **value)
{
	return call_new(c, BRK_OP_LIST_GET, name, index_args(index), value);
}

brk_err brk_list_set(brk_client *c, const char *name, long index, const json_t *value)
{
	return call_new(c, BRK_OP_LIST_SET, name, with(index_args(index), "value", value), NULL);
}

brk_err brk_list_delete(brk_client *c, const char *name, long index)
{
	return call_new(c, BRK_OP_LIST_DELETE, name, index_args(index), NULL);
}

brk_err brk_list_get_slice(brk_client *c, const char *name, brk_slice s, json_t **items)
{
	return call_new(c, BRK_OP_LIST_GET, name, slice_args(s), items);
}

brk_err brk_list_set_slice(brk_client *c, const char *name, brk_slice s, const json_t *items)
{
	return call_new(c, BRK_OP_LIST_SET, name, with(slice_args(s), "value", items), NULL);
}

brk_err brk_list_delete_slice(brk_client *c, const char *name, brk_slice s)
{
	return call_new(c, BRK_OP_LIST_DELETE, name, slice_args(s), NULL);
}

brk_err brk_list_len(brk_client *c, const char *name, size_t *len)
{
	return call_size(c, BRK_OP_LIST_LEN, name, NULL, len);
}

brk_err brk_list_contains(brk_client *c, const char *name, const json_t *value, bool *found)
{
	return call_bool(c, BRK_OP_LIST_CONTAINS, name, field_args("value", value), found);
}

brk_err brk_list_clear(brk_client *c, const char *name)
{
	return call_new(c, BRK_OP_LIST_CLEAR, name, NULL, NULL);
}

brk_err brk_list_read(brk_client *c, const char *name, json_t **items)
{
	return call_new(c, BRK_OP_LIST_READ, name, NULL, items);
}

/* ---- namespaces ---- */

static json_t *attr_args(const char *attr)
{
	return attr ? json_pack("{s:s}", "attr", attr) : NULL;
}

brk_err brk_namespace_get(brk_client *c, const char *name, const char *attr, json_t **value)
{
	return call_new(c, BRK_OP_NS_GET, name, attr_args(attr), value);
}

brk_err brk_namespace_set(brk_client *c, const char *name, const char *attr, const json_t *value)
{
	return call_new(c, BRK_OP_NS_SET, name, with(attr_args(attr), "value", value), NULL);
}

brk_err brk_namespace_delete(brk_client *c, const char *name, const char *attr)
{
	return call_new(c, BRK_OP_NS_DELETE, name, attr_args(attr), NULL);
}

brk_err brk_namespace_attrs(brk_client *c, const char *name, json_t **attrs)
{
	return call_new(c, BRK_OP_NS_ATTRS, name, NULL, attrs);
}

brk_err brk_namespace_read(brk_client *c, const char *name, json_t **attrs)
{
	return call_new(c, BRK_OP_NS_READ, name, NULL, attrs);
}

/* ---- values ---- */

static const char *type_name(brk_type type)
{
	static const char *const names[] = {"int", "float", "bool", "str"};
	return (unsigned)type <= BRK_STR ? names[type] : NULL;
}

brk_err brk_value_create(brk_client *c, const char *name, brk_type type, const json_t *initial,
			 bool *created)
{
	if (!type_name(type))
		return fail(BRK_EINVAL, "unknown value type %d", (int)type);
	json_t *args = with(json_pack("{s:s}", "type", type_name(type)), "value", initial);
	return created_call(c, BRK_OP_VALUE_CREATE, name, args, created);
}

brk_err brk_value_get(brk_client *c, const char *name, json_t **value)
{
	return call_new(c, BRK_OP_VALUE_GET, name, NULL, value);
}

brk_err brk_value_set(brk_client *c, const char *name, const json_t *value)
{
	return call_new(c, BRK_OP_VALUE_SET, name, field_args("value", value), NULL);
}

brk_err brk_value_add(brk_client *c, const char *name, const json_t *delta, json_t **sum)
{
	return call_new(c, BRK_OP_VALUE_ADD, name, field_args("delta", delta), sum);
}

brk_err brk_value_add_int(brk_client *c, const char *name, int64_t delta, int64_t *sum)
{
	json_t *r = NULL;
	brk_err err = call_new(c, BRK_OP_VALUE_ADD, name,
			       json_pack("{s:I}", "delta", (json_int_t)delta), &r);
	if (err == BRK_OK && !json_is_integer(r))
		err = fail(BRK_EPROTO, "value.add: expected an integer result");
	if (err == BRK_OK && sum)
		*sum = json_integer_value(r);
	json_decref(r);
	return err;
}

brk_err brk_value_cas(brk_client *c, const char *name, const json_t *expected, const json_t *value,
		      bool *swapped, json_t **current)
{
	json_t *r = NULL;
	if (current)
		*current = NULL;
	if (!expected || !value)
		return fail(BRK_EINVAL, "brk_value_cas needs expected and value");
	json_t *args = json_pack("{s:O, s:O}", "expected", expected, "value", value);
	brk_err err = call_new(c, BRK_OP_VALUE_CAS, name, args, &r);
	return err ? err : cas_result(BRK_OP_VALUE_CAS, r, swapped, current);
}

brk_err brk_value_getset(brk_client *c, const char *name, const json_t *value, json_t **old)
{
	return call_new(c, BRK_OP_VALUE_GETSET, name, field_args("value", value), old);
}

/* ---- arrays ---- */

static json_t *array_args(brk_type type)
{
	if (type != BRK_INT && type != BRK_FLOAT)
		return NULL;
	return json_pack("{s:s}", "type", type_name(type));
}

brk_err brk_array_create(brk_client *c, const char *name, brk_type type, size_t length,
			 bool *created)
{
	json_t *args = array_args(type);
	if (!args)
		return fail(BRK_EINVAL, "an array holds BRK_INT or BRK_FLOAT");
	json_object_set_new(args, "length", json_integer((json_int_t)length));
	return created_call(c, BRK_OP_ARRAY_CREATE, name, args, created);
}

brk_err brk_array_create_from(brk_client *c, const char *name, brk_type type, const json_t *items,
			      bool *created)
{
	if (!items)
		return fail(BRK_EINVAL, "brk_array_create_from needs items");
	json_t *args = array_args(type);
	if (!args)
		return fail(BRK_EINVAL, "an array holds BRK_INT or BRK_FLOAT");
	return created_call(c, BRK_OP_ARRAY_CREATE, name, with(args, "items", items), created);
}

brk_err brk_array_get(brk_client *c, const char *name, long index, json_t **value)
{
	return call_new(c, BRK_OP_ARRAY_GET, name, index_args(index), value);
}

brk_err brk_array_set(brk_client *c, const char *name, long index, const json_t *value)
{
	return call_new(c, BRK_OP_ARRAY_SET, name, with(index_args(index), "value", value), NULL);
}

brk_err brk_array_get_slice(brk_client *c, const char *name, brk_slice s, json_t **items)
{
	return call_new(c, BRK_OP_ARRAY_GET, name, slice_args(s), items);
}

brk_err brk_array_set_slice(brk_client *c, const char *name, brk_slice s, const json_t *items)
{
	return call_new(c, BRK_OP_ARRAY_SET, name, with(slice_args(s), "value", items), NULL);
}

brk_err brk_array_add(brk_client *c, const char *name, long index, const json_t *delta,
		      json_t **sum)
{
	return call_new(c, BRK_OP_ARRAY_ADD, name, with(index_args(index), "delta", delta), sum);
}

brk_err brk_array_len(brk_client *c, const char *name, size_t *len)
{
	return call_size(c, BRK_OP_ARRAY_LEN, name, NULL, len);
}

brk_err brk_array_read(brk_client *c, const char *name, json_t **items)
{
	return call_new(c, BRK_OP_ARRAY_READ, name, NULL, items);
}
