/* args.h: reading op arguments from a request, each failure a bad_argument error set on
 * the context with a message naming the argument. All return 0 or the error. */
#ifndef BROKER_ARGS_H
#define BROKER_ARGS_H

#include <jansson.h>
#include <stdbool.h>

#include "op.h"

/* arg_value: a required argument of any JSON type; *out borrows it. */
int arg_value(op_ctx *ctx, const char *key, json_t **out);

/* arg_opt_number: an optional number (integer or real), dflt when absent. */
int arg_opt_number(op_ctx *ctx, const char *key, double dflt, double *out);

/* arg_opt_int: an optional integer, dflt when absent. */
int arg_opt_int(op_ctx *ctx, const char *key, json_int_t dflt, json_int_t *out);
/* arg_opt_count: an optional integer setting from 1 to max, dflt when absent. */
int arg_opt_count(op_ctx *ctx, const char *key, json_int_t dflt, json_int_t max, size_t *out);

/* arg_opt_bool: an optional boolean, dflt when absent. */
int arg_opt_bool(op_ctx *ctx, const char *key, bool dflt, bool *out);

/* arg_opt_string: an optional string, dflt when absent; *out borrows it. */
int arg_opt_string(op_ctx *ctx, const char *key, const char *dflt, const char **out);

/* arg_wait: the "block"/"timeout" pair as one number: negative waits forever, 0 does not
 * wait, positive waits that many seconds. Inside a batch it is always 0. */
int arg_wait(op_ctx *ctx, double *timeout);

/* arg_wants_wait: whether the request asks to wait ("block" not false, "timeout" not 0). */
bool arg_wants_wait(const json_t *args);

#endif
