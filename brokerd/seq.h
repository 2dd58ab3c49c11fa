/* seq.h: Python's index and slice rules for the list and array ops: negative indexes count
 * from the end, slices clamp to the sequence and may step backwards. */
#ifndef BROKER_SEQ_H
#define BROKER_SEQ_H

#include <stdbool.h>
#include <stddef.h>

struct op_ctx;

/* A resolved slice: count positions start, start + step, ... (step is never 0). */
struct seq_slice {
	long start, step;
	size_t count;
};

/* seq_pos: the position of the k-th element of s. */
static inline size_t seq_pos(const struct seq_slice *s, size_t k)
{
	return (size_t)(s->start + (long)k * s->step);
}

/* seq_index: ctx's "index" argument resolved against len: 0 <= *index < len, or index_error
 * with Python's message "<what> index out of range". Returns 0 or the error. */
int seq_index(struct op_ctx *ctx, size_t len, const char *what, size_t *index);

/* What an op reads or writes: one position, or a slice. */
struct seq_target {
	bool slice;
	size_t index;       /* when !slice */
	struct seq_slice s; /* when slice */
};

/* seq_target: ctx's "index" or "slice" argument (exactly one; bad_argument otherwise),
 * resolved against len as seq_index and seq_slice do. Returns 0 or the error. */
int seq_target(struct op_ctx *ctx, size_t len, const char *what, struct seq_target *t);

/* seq_slice: ctx's "slice" argument, [start, stop] or [start, stop, step] with integers or
 * nulls, resolved against len as Python's slice.indices(len). A zero step is value_error.
 * Returns 0 or the error. */
int seq_slice(struct op_ctx *ctx, size_t len, struct seq_slice *out);

/* seq_clamp: a bound (start or stop of list.index, list.insert's index) resolved as Python
 * does: negative counts from the end, then clamped to 0..len. */
size_t seq_clamp(long long i, size_t len);

#endif
