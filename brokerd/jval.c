/* jval.c: equality, ordering, arithmetic and limits of stored JSON values. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "op.h"
#include "envelope.h"
#include "jsontext.h"
#include "jval.h"

static struct jval_limits limits = {
	PROTO_DEFAULT_MAX_VALUE,
	PROTO_DEFAULT_MAX_DEPTH,
	PROTO_DEFAULT_MAX_ELEMENTS,
};

void jval_set_limits(const struct jval_limits *l)
{
	limits = *l;
}

const struct jval_limits *jval_limits(void)
{
	return &limits;
}

const char *jval_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_INTEGER:
		return "int";
	case JSON_REAL:
		return "float";
	case JSON_STRING:
		return "str";
	case JSON_TRUE:
	case JSON_FALSE:
		return "bool";
	case JSON_ARRAY:
		return "list";
	case JSON_OBJECT:
		return "object";
	default:
		return "null";
	}
}

/* number_cmp: exact for two ints; an int meets a float as a long double, which holds every
 * 64-bit int exactly. */
static int number_cmp(const json_t *a, const json_t *b)
{
	if (json_is_integer(a) && json_is_integer(b)) {
		json_int_t x = json_integer_value(a), y = json_integer_value(b);
		return (x > y) - (x < y);
	}
	long double x = json_is_integer(a) ? (long double)json_integer_value(a)
					   : (long double)json_real_value(a);
	long double y = json_is_integer(b) ? (long double)json_integer_value(b)
					   : (long double)json_real_value(b);
	return (x > y) - (x < y);
}

static int string_cmp(const json_t *a, const json_t *b)
{
	size_t la = json_string_length(a), lb = json_string_length(b);
	int c = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
	return c ? c : (la > lb) - (la < lb);
}

static bool array_equal(const json_t *a, const json_t *b)
{
	if (json_array_size(a) != json_array_size(b))
		return false;
	for (size_t i = 0; i < json_array_size(a); i++)
		if (!jval_equal(json_array_get(a, i), json_array_get(b, i)))
			return false;
	return true;
}

static bool object_equal(const json_t *a, const json_t *b)
{
	const char *key;
	json_t *v;
	if (json_object_size(a) != json_object_size(b))
		return false;
	json_object_foreach ((json_t *)a, key, v) {
		json_t *w = json_object_get(b, key);
		if (!w || !jval_equal(v, w))
			return false;
	}
	return true;
}

bool jval_equal(const json_t *a, const json_t *b)
{
	if (json_is_number(a) && json_is_number(b))
		return number_cmp(a, b) == 0;
	if (json_typeof(a) != json_typeof(b))
		return false;
	switch (json_typeof(a)) {
	case JSON_STRING:
		return string_cmp(a, b) == 0;
	case JSON_ARRAY:
		return array_equal(a, b);
	case JSON_OBJECT:
		return object_equal(a, b);
	default: /* true, false, null */
		return true;
	}
}

/* array_compare: as Python, the first members that differ decide; else the shorter first. */
static bool array_compare(const json_t *a, const json_t *b, int *cmp)
{
	size_t la = json_array_size(a), lb = json_array_size(b), i = 0;
	while (i < la && i < lb && jval_equal(json_array_get(a, i), json_array_get(b, i)))
		i++;
	if (i < la && i < lb)
		return jval_compare(json_array_get(a, i), json_array_get(b, i), cmp);
	*cmp = (la > lb) - (la < lb);
	return true;
}

bool jval_compare(const json_t *a, const json_t *b, int *cmp)
{
	if (json_is_number(a) && json_is_number(b))
		*cmp = number_cmp(a, b);
	else if (json_is_string(a) && json_is_string(b))
		*cmp = string_cmp(a, b);
	else if (json_is_boolean(a) && json_is_boolean(b))
		*cmp = json_is_true(a) - json_is_true(b);
	else if (json_is_array(a) && json_is_array(b))
		return array_compare(a, b, cmp);
	else
		return false;
	return true;
}

int jval_add(op_ctx *ctx, const json_t *a, const json_t *delta, json_t **out)
{
	if (!json_is_number(a) || !json_is_number(delta))
		return op_fail(ctx, BRK_ETYPE, "unsupported operand type(s) for +: '%s' and '%s'",
			       jval_kind(a), jval_kind(delta));
	if (json_is_integer(a) && json_is_integer(delta)) {
		json_int_t sum;
		if (__builtin_add_overflow(json_integer_value(a), json_integer_value(delta), &sum))
			return op_fail(ctx, BRK_EVALUE, "integer overflow (ints are 64-bit)");
		*out = json_integer(sum);
	} else {
		double sum = json_number_value(a) + json_number_value(delta);
		if (!isfinite(sum))
			return op_fail(ctx, BRK_EVALUE, "float overflow: the sum is not finite");
		*out = json_real(sum);
	}
	return *out ? 0 : op_fail(ctx, BRK_EINTERNAL, "out of memory");
}

/* too_deep: whether v nests arrays/objects more than room levels. */
static bool too_deep(const json_t *v, int room)
{
	const char *key;
	json_t *m;
	size_t i;
	if (!json_is_array(v) && !json_is_object(v))
		return false;
	if (room == 0)
		return true;
	if (json_is_array(v)) {
		json_array_foreach ((json_t *)v, i, m)
			if (too_deep(m, room - 1))
				return true;
	} else {
		json_object_foreach ((json_t *)v, key, m)
			if (too_deep(m, room - 1))
				return true;
	}
	return false;
}

enum over { FITS, TOO_DEEP, TOO_BIG };

/* over_limit: the limit v breaks, if any. Its size is that of its text, written into a
 * buffer kept for the next check (the loop thread is the only caller). */
static enum over over_limit(const json_t *v)
{
	static jt_buf text;
	if (too_deep(v, limits.max_depth))
		return TOO_DEEP;
	text.len = 0;
	int rc = jt_dump(v, &text);
	size_t size = text.len;
	if (text.cap > 2 * limits.max_value)
		jt_buf_free(&text); /* keep no more than a value that fits needs */
	return rc != 0 || size > limits.max_value ? TOO_BIG : FITS;
}

static int limit_error(op_ctx *ctx, enum over over, const char *what)
{
	if (over == TOO_DEEP)
		return op_fail(ctx, BRK_ELIMIT, "%s nests deeper than %d levels", what,
			       limits.max_depth);
	return op_fail(ctx, BRK_ELIMIT, "%s is over %zu bytes as JSON (the limit)", what,
		       limits.max_value);
}

int jval_check(op_ctx *ctx, const json_t *v, const char *what)
{
	enum over over = over_limit(v);
	return over == FITS ? 0 : limit_error(ctx, over, what);
}

int jval_check_items(op_ctx *ctx, const json_t *items, const char *what)
{
	size_t i;
	json_t *v;
	json_array_foreach ((json_t *)items, i, v) {
		enum over over = over_limit(v);
		if (over != FITS) { /* the member's name is only worth formatting for the error */
			char name[64];
			snprintf(name, sizeof name, "%s[%zu]", what, i);
			return limit_error(ctx, over, name);
		}
	}
	return 0;
}

int jval_check_count(op_ctx *ctx, size_t have, size_t adding)
{
	if (adding > limits.max_elements || have > limits.max_elements - adding)
		return op_fail(ctx, BRK_ELIMIT, "'%s' would hold more than %zu elements", ctx->name,
			       limits.max_elements);
	return 0;
}
