/* jsontext.h: a fast JSON text encoder and decoder for jansson values. The text it writes
 * is byte for byte what json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) writes, and it
 * accepts exactly what json_loadb(JSON_DECODE_ANY | JSON_REJECT_DUPLICATES) accepts.
 * Ownership follows jansson: jt_dump borrows its value, jt_load returns a new reference. */
#ifndef BRK_JSONTEXT_H
#define BRK_JSONTEXT_H

#include <jansson.h>
#include <stddef.h>

/* A growable byte buffer. Zero-initialise it ({0}) before first use; the owner frees it
 * with jt_buf_free. data is not NUL-terminated. */
typedef struct jt_buf {
	char *data;
	size_t len, cap;
} jt_buf;

/* Why jt_load failed: a short message and the byte offset in the text where it did. */
typedef struct jt_error {
	char text[160];
	size_t position;
} jt_error;

/* jt_buf_reserve: makes room for at least extra more bytes after len (capacity doubles),
 * so a caller can reserve headroom (a frame header) and write text after it. Returns 0,
 * or -1 when out of memory (the buffer is then unchanged). */
int jt_buf_reserve(jt_buf *b, size_t extra);

/* jt_buf_free: frees b's memory and zeroes it, ready for reuse. */
void jt_buf_free(jt_buf *b);

/* jt_dump: appends the compact JSON text of v (any value) to out, exactly as
 * json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) would write it (object members in
 * insertion order, reals as "%.17g" made to look real, strings escaped as jansson does).
 * Borrows v. Returns 0, or -1 when out of memory or v cannot be encoded: a string or key
 * that is not valid UTF-8 (only json_*_nocheck can make one), or a cycle of containers.
 * On -1, out->len is as it was on entry. Differences from jansson: jansson silently writes
 * broken text for an object key that is not valid UTF-8 (it ignores that failure);
 * jt_dump fails instead. Reals assume the C locale's decimal point, as the daemon runs. */
int jt_dump(const json_t *v, jt_buf *out);

/* JT_LOAD_MAX_DEPTH: jansson's own limit (JSON_PARSER_MAX_DEPTH); the largest max_depth
 * jt_load accepts, which bounds its recursion (a few hundred stack bytes per level). */
#define JT_LOAD_MAX_DEPTH 2048

/* jt_load: parses exactly one JSON value of any type from text[0..len) (not
 * NUL-terminated; whitespace may follow it, nothing else may). Rules are jansson's with
 * JSON_DECODE_ANY | JSON_REJECT_DUPLICATES: duplicate object keys, "\u0000", invalid
 * UTF-8 and unpaired surrogate escapes are errors; integers that fit int64 become
 * integers, larger ones are errors; numbers with a fraction or exponent become reals
 * (strtod), overflow to infinity is an error. max_depth is the deepest nesting of
 * arrays/objects allowed ("[[]]" is 2 deep); it is clamped to 1..JT_LOAD_MAX_DEPTH.
 * Differences from jansson: jansson counts a scalar inside the innermost container as
 * one more level, so at 2048 it rejects 2048 nested arrays around a number, which
 * jt_load(..., 2048, ...) accepts. Like jansson, one NUL byte right after a number or
 * true/false/null is skipped ("[1\0]" loads as [1]): jansson's lexer loses a byte it
 * reads ahead and ungets when that byte is NUL; matched so both accept the same texts.
 * Returns a new reference, or NULL with err (if not NULL) set. */
json_t *jt_load(const char *text, size_t len, int max_depth, jt_error *err);

#endif
