/* args.c: typed access to request arguments with errors that name the argument. */

#include "args.h"
#include "envelope.h"

int arg_value(op_ctx *ctx, const char *key, json_t **out)
{
	json_t *v = json_object_get(ctx->args, key);
	if (!v)
		return op_fail(ctx, BRK_EBADARG, "missing argument '%s'", key);
	*out = v;
	return 0;
}

int arg_opt_number(op_ctx *ctx, const char *key, double dflt, double *out)
{
	json_t *v = json_object_get(ctx->args, key);
	if (!v) {
		*out = dflt;
		return 0;
	}
	if (!json_is_number(v))
		return op_fail(ctx, BRK_EBADARG, "argument '%s' must be a number", key);
	*out = json_number_value(v);
	return 0;
}

int arg_opt_int(op_ctx *ctx, const char *key, json_int_t dflt, json_int_t *out)
{
	json_t *v = json_object_get(ctx->args, key);
	if (!v) {
		*out = dflt;
		return 0;
	}
	if (!json_is_integer(v))
		return op_fail(ctx, BRK_EBADARG, "argument '%s' must be an integer", key);
	*out = json_integer_value(v);
	return 0;
}

int arg_opt_count(op_ctx *ctx, const char *key, json_int_t dflt, json_int_t max, size_t *out)
{
	json_int_t v = dflt;
	if (arg_opt_int(ctx, key, dflt, &v))
		return ctx->err;
	if (v < 1 || v > max)
		return op_fail(ctx, BRK_EBADARG, "argument '%s' must be an integer from 1 to %lld",
			       key, (long long)max);
	*out = (size_t)v;
	return 0;
}

int arg_opt_bool(op_ctx *ctx, const char *key, bool dflt, bool *out)
{
	json_t *v = json_object_get(ctx->args, key);
	if (!v) {
		*out = dflt;
		return 0;
	}
	if (!json_is_boolean(v))
		return op_fail(ctx, BRK_EBADARG, "argument '%s' must be true or false", key);
	*out = json_is_true(v);
	return 0;
}

int arg_opt_string(op_ctx *ctx, const char *key, const char *dflt, const char **out)
{
	json_t *v = json_object_get(ctx->args, key);
	if (!v) {
		*out = dflt;
		return 0;
	}
	if (!json_is_string(v))
		return op_fail(ctx, BRK_EBADARG, "argument '%s' must be a string", key);
	*out = json_string_value(v);
	return 0;
}

int arg_wait(op_ctx *ctx, double *timeout)
{
	json_t *block = json_object_get(ctx->args, "block");
	json_t *t = json_object_get(ctx->args, "timeout");
	if (block && !json_is_boolean(block))
		return op_fail(ctx, BRK_EBADARG, "argument 'block' must be true or false");
	if (t && !json_is_null(t) && !json_is_number(t))
		return op_fail(ctx, BRK_EBADARG, "argument 'timeout' must be a number or null");
	double secs = json_is_number(t) ? json_number_value(t) : -1;
	if (json_is_number(t) && (secs < 0 || secs > PROTO_MAX_TIMEOUT))
		return op_fail(
			ctx, BRK_EBADARG,
			"argument 'timeout' must be a number from 0 to %g (seconds), or null",
			PROTO_MAX_TIMEOUT);
	if (json_is_false(block) || !ctx->req)
		secs = 0;
	*timeout = secs;
	return 0;
}

bool arg_wants_wait(const json_t *args)
{
	json_t *t = json_object_get(args, "timeout");
	if (json_is_false(json_object_get(args, "block")))
		return false;
	return !(json_is_number(t) && json_number_value(t) == 0);
}
