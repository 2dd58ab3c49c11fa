/* seq.c: index and slice arguments resolved with Python's rules. */
#include "seq.h"
#include "op.h"

size_t seq_clamp(long long i, size_t len)
{
	if (i < 0)
		i += (long long)len;
	if (i < 0)
		return 0;
	return (size_t)i > len ? len : (size_t)i;
}

int seq_index(op_ctx *ctx, size_t len, const char *what, size_t *index)
{
	json_t *v = json_object_get(ctx->args, "index");
	if (!json_is_integer(v))
		return op_fail(ctx, BRK_EBADARG, "argument 'index' must be an integer");
	long long i = json_integer_value(v);
	if (i < 0)
		i += (long long)len;
	if (i < 0 || (unsigned long long)i >= len)
		return op_fail(ctx, BRK_EINDEX, "%s index out of range", what);
	*index = (size_t)i;
	return 0;
}

int seq_target(op_ctx *ctx, size_t len, const char *what, struct seq_target *t)
{
	bool has_index = json_object_get(ctx->args, "index") != NULL;
	t->slice = json_object_get(ctx->args, "slice") != NULL;
	if (has_index == t->slice)
		return op_fail(ctx, BRK_EBADARG, "give either 'index' or 'slice'");
	return t->slice ? seq_slice(ctx, len, &t->s) : seq_index(ctx, len, what, &t->index);
}

/* bound: one end of a slice as slice.indices() resolves it; null takes dflt. */
static long bound(const json_t *v, long len, long step, long dflt)
{
	if (json_is_null(v) || !v)
		return dflt;
	json_int_t i = json_integer_value(v);
	if (i < 0) {
		i += len;
		if (i < 0)
			i = step < 0 ? -1 : 0;
	} else if (i >= len) {
		i = step < 0 ? len - 1 : len;
	}
	return (long)i;
}

static bool slice_member_ok(const json_t *v)
{
	return !v || json_is_null(v) || json_is_integer(v);
}

int seq_slice(op_ctx *ctx, size_t len, struct seq_slice *out)
{
	json_t *s = json_object_get(ctx->args, "slice");
	size_t n = json_array_size(s);
	if (!json_is_array(s) || n < 2 || n > 3 || !slice_member_ok(json_array_get(s, 0)) ||
	    !slice_member_ok(json_array_get(s, 1)) || !slice_member_ok(json_array_get(s, 2)))
		return op_fail(ctx, BRK_EBADARG,
			       "argument 'slice' must be [start, stop] or [start, stop, step] "
			       "with integers or nulls");
	json_t *st = json_array_get(s, 2);
	json_int_t step = json_is_integer(st) ? json_integer_value(st) : 1;
	if (step == 0)
		return op_fail(ctx, BRK_EVALUE, "slice step cannot be zero");
	/* a step beyond the length picks the same positions as len + 1 (at least 2, so that an
	 * extended slice stays one: it takes exactly as many items as it has positions) */
	json_int_t cap = len + 1 < 2 ? 2 : (json_int_t)len + 1;
	if (step < -cap || step > cap)
		step = step < 0 ? -cap : cap;
	long l = (long)len;
	long start = bound(json_array_get(s, 0), l, (long)step, step < 0 ? l - 1 : 0);
	long stop = bound(json_array_get(s, 1), l, (long)step, step < 0 ? -1 : l);
	out->start = start;
	out->step = (long)step;
	if (step > 0)
		out->count = start < stop ? (size_t)((stop - start - 1) / step + 1) : 0;
	else
		out->count = stop < start ? (size_t)((start - stop - 1) / -step + 1) : 0;
	return 0;
}
