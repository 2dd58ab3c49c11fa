/* jval.h: JSON values as shared state holds them: Python's equality and ordering, number
 * arithmetic, and the size and nesting limits every stored value must keep. */
#ifndef BROKER_JVAL_H
#define BROKER_JVAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct op_ctx;

/* jval_kind: the Python-ish name of v's kind: "int", "float", "str", "bool", "null",
 * "list" or "object". */
const char *jval_kind(const json_t *v);

/* jval_equal: a == b with numbers compared by value (1 == 1.0) and booleans apart from
 * numbers; arrays and objects compare member by member. */
bool jval_equal(const json_t *a, const json_t *b);

/* jval_compare: sets *cmp to <0, 0 or >0 as a sorts before, with or after b: numbers by
 * value, strings by code point, false before true, arrays lexicographically. Returns false
 * when Python's '<' would raise TypeError (other kinds mixed, null, objects). */
bool jval_compare(const json_t *a, const json_t *b, int *cmp);

/* jval_add: *out = a + delta as a new reference; int + int stays int (64-bit, overflow is
 * value_error), float in either makes a float. Fails with type_error when either is not a
 * number. Returns 0 or the error set on ctx. */
int jval_add(struct op_ctx *ctx, const json_t *a, const json_t *delta, json_t **out);

/* The limits on stored values (PROTOCOL.md "Limits"), set from brokerd's settings. */
struct jval_limits {
	size_t max_value;    /* bytes of compact JSON */
	int max_depth;       /* nested arrays/objects */
	size_t max_elements; /* per object */
};

/* jval_set_limits: the limits from now on (the defaults are PROTO_DEFAULT_MAX_*). */
void jval_set_limits(const struct jval_limits *l);

/* jval_limits: the limits in force. */
const struct jval_limits *jval_limits(void);

/* jval_check: v may be stored: at most max_depth deep and max_value bytes as compact JSON.
 * what names v in the error (limit_exceeded). Returns 0 or the error. */
int jval_check(struct op_ctx *ctx, const json_t *v, const char *what);

/* jval_check_items: jval_check for every member of the array items. */
int jval_check_items(struct op_ctx *ctx, const json_t *items, const char *what);

/* jval_check_count: an object holding have elements may take adding more (at most
 * max_elements in all). Returns 0 or limit_exceeded. */
int jval_check_count(struct op_ctx *ctx, size_t have, size_t adding);

#endif
