/* jsontext.c: JSON text to and from jansson values, faster than jansson's own codec.
 * Strings are scanned eight bytes at a time and copied in runs; integers are converted by
 * hand; everything else follows jansson's dump.c and load.c rules exactly. */
#include "jsontext.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* ---- buffer ---- */

int jt_buf_reserve(jt_buf *b, size_t extra)
{
	if (b->cap - b->len >= extra)
		return 0;
	if (extra > SIZE_MAX / 2 - b->len)
		return -1;
	size_t cap = b->cap ? b->cap : 64;
	while (cap - b->len < extra)
		cap *= 2;
	char *data = realloc(b->data, cap);
	if (!data)
		return -1;
	b->data = data;
	b->cap = cap;
	return 0;
}

void jt_buf_free(jt_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static int put(jt_buf *b, const void *p, size_t n)
{
	if (!n)
		return 0;
	if (b->cap - b->len < n && jt_buf_reserve(b, n))
		return -1;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

/* put1: one byte; the separators and brackets, without a memcpy call. */
static int put1(jt_buf *b, char c)
{
	if (b->cap == b->len && jt_buf_reserve(b, 1))
		return -1;
	b->data[b->len++] = c;
	return 0;
}

/* ---- shared scanning ---- */

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

static uint64_t load8(const char *p)
{
	uint64_t w;
	memcpy(&w, p, sizeof w);
	return w;
}

/* special8: nonzero when one of the eight bytes in w is '"', '\\', a control character
 * or not ASCII: the bytes a string scan must stop at. */
static uint64_t special8(uint64_t w)
{
	uint64_t q = w ^ (ONES * '"'), s = w ^ (ONES * '\\');
	uint64_t ctl = (w - ONES * 0x20) & ~w;
	uint64_t qz = (q - ONES) & ~q, sz = (s - ONES) & ~s;
	return (ctl | qz | sz | w) & HIGHS;
}

/* is_special: the byte-at-a-time version of special8. */
static bool is_special(unsigned char c)
{
	return c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
}

/* skip_plain: the first byte at or after p (before end) that is_special, or end. In a
 * word with a special byte, the lowest flagged byte is the first special one (a false
 * flag needs a borrow from a lower, truly special byte), so on little-endian machines
 * its index is the mask's trailing zero count / 8. */
static const char *skip_plain(const char *p, const char *end)
{
#ifdef __SSE2__
	/* Sixteen bytes at a time: a signed compare with 0x20 flags control characters and
	 * non-ASCII bytes (negative as signed) at once. */
	const __m128i quote = _mm_set1_epi8('"'), slash = _mm_set1_epi8('\\');
	const __m128i space = _mm_set1_epi8(0x20);
	for (; end - p >= 16; p += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		__m128i hit = _mm_or_si128(
			_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, slash)),
			_mm_cmplt_epi8(v, space));
		int m = _mm_movemask_epi8(hit);
		if (m)
			return p + __builtin_ctz((unsigned)m);
	}
#endif
	for (; end - p >= 8; p += 8) {
		uint64_t m = special8(load8(p));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		if (m)
			return p + (__builtin_ctzll(m) >> 3);
#else
		if (m)
			break;
#endif
	}
	while (p < end && !is_special((unsigned char)*p))
		p++;
	return p;
}

static bool is_cont(unsigned char c)
{
	return (c & 0xC0) == 0x80;
}

/* utf8_len: the length of the valid UTF-8 sequence at p whose lead byte is >= 0x80, or 0
 * when it is invalid (overlong, a surrogate, above U+10FFFF or cut short), exactly the
 * sequences jansson's utf8_check_first/utf8_check_full refuse. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0];
	size_t avail = (size_t)(end - p);
	if (c >= 0xC2 && c <= 0xDF)
		return avail >= 2 && is_cont(p[1]) ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		if (avail < 3 || !is_cont(p[1]) || !is_cont(p[2]))
			return 0;
		if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F))
			return 0;
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if (avail < 4 || !is_cont(p[1]) || !is_cont(p[2]) || !is_cont(p[3]))
			return 0;
		if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] > 0x8F))
			return 0;
		return 4;
	}
	return 0;
}

/* ---- encoder ---- */

/* dumper: the output and Brent-style cycle detection: mark is an ancestor container of
 * the one being written (the last one met at a power-of-two depth), so meeting it again
 * means the value contains itself, which jansson refuses too. */
typedef struct dumper {
	jt_buf *b;
	const json_t *mark;
	size_t depth;
} dumper;

static int dump_value(dumper *d, const json_t *v);

static const char hexdigits[] = "0123456789ABCDEF";

/* put_escape: writes the escape jansson writes for c ('"', '\\' or a control character). */
static int put_escape(jt_buf *b, unsigned char c)
{
	char seq[6] = {'\\', 0, 0, 0, 0, 0};
	switch (c) {
	case '"':
	case '\\':
		seq[1] = (char)c;
		return put(b, seq, 2);
	case '\b':
		return put(b, "\\b", 2);
	case '\f':
		return put(b, "\\f", 2);
	case '\n':
		return put(b, "\\n", 2);
	case '\r':
		return put(b, "\\r", 2);
	case '\t':
		return put(b, "\\t", 2);
	}
	memcpy(seq, "\\u00", 4);
	seq[4] = hexdigits[c >> 4];
	seq[5] = hexdigits[c & 15];
	return put(b, seq, 6);
}

/* dump_string: writes s[0..len) quoted and escaped; -1 on invalid UTF-8 or OOM. */
static int dump_string(jt_buf *b, const char *s, size_t len)
{
	const char *end = s + len, *run = s, *p = s;
	if (jt_buf_reserve(b, len + 2))
		return -1;
	b->data[b->len++] = '"';
	for (;;) {
		p = skip_plain(p, end);
		if (p == end)
			break;
		unsigned char c = (unsigned char)*p;
		if (c >= 0x80) {
			size_t n = utf8_len((const unsigned char *)p, (const unsigned char *)end);
			if (!n)
				return -1;
			p += n;
			continue;
		}
		if (put(b, run, (size_t)(p - run)) || put_escape(b, c))
			return -1;
		run = ++p;
	}
	if (put(b, run, (size_t)(end - run)) || put1(b, '"'))
		return -1;
	return 0;
}

static const char digit_pairs[201] = "00010203040506070809101112131415161718192021222324"
				     "25262728293031323334353637383940414243444546474849"
				     "50515253545556575859606162636465666768697071727374"
				     "75767778798081828384858687888990919293949596979899";

static const uint64_t pow10s[20] = {1ULL,
				    10ULL,
				    100ULL,
				    1000ULL,
				    10000ULL,
				    100000ULL,
				    1000000ULL,
				    10000000ULL,
				    100000000ULL,
				    1000000000ULL,
				    10000000000ULL,
				    100000000000ULL,
				    1000000000000ULL,
				    10000000000000ULL,
				    100000000000000ULL,
				    1000000000000000ULL,
				    10000000000000000ULL,
				    100000000000000000ULL,
				    1000000000000000000ULL,
				    10000000000000000000ULL};

/* decimal_digits: how many digits u has in decimal (log10 from the bit length). */
static unsigned decimal_digits(uint64_t u)
{
	u |= 1; /* the same number of digits, and 0 has one */
	unsigned t = (unsigned)(64 - __builtin_clzll(u)) * 1233 >> 12;
	return t + 1 - (u < pow10s[t]);
}

/* put_pair: the two digits of v < 100 at p. */
static void put_pair(char *p, unsigned v)
{
	memcpy(p, digit_pairs + 2 * v, 2);
}

/* put_small: the digits of v < 10^8 ending just before end; two independent halves keep
 * the divisions short. */
static void put_small(char *end, uint32_t v)
{
	if (v >= 10000) {
		uint32_t lo = v % 10000;
		v /= 10000;
		put_pair(end - 2, lo % 100);
		put_pair(end - 4, lo / 100);
		end -= 4;
	}
	while (v >= 100) {
		put_pair(end - 2, v % 100);
		v /= 100;
		end -= 2;
	}
	if (v >= 10)
		put_pair(end - 2, v);
	else
		end[-1] = (char)('0' + v);
}

/* put_eight: exactly eight digits of v < 10^8 (leading zeros kept) ending before end. */
static void put_eight(char *end, uint32_t v)
{
	uint32_t hi = v / 10000, lo = v % 10000;
	put_pair(end - 2, lo % 100);
	put_pair(end - 4, lo / 100);
	put_pair(end - 6, hi % 100);
	put_pair(end - 8, hi / 100);
}

/* write_integer: writes i in decimal from its last digit back; b has room for it. */
static void write_integer(jt_buf *b, json_int_t i)
{
	uint64_t u = i < 0 ? 0 - (uint64_t)i : (uint64_t)i;
	size_t n = decimal_digits(u) + (i < 0);
	char *end = b->data + b->len + n;
	b->len += n;
	if (i < 0)
		end[-(ptrdiff_t)n] = '-';
	while (u >= 100000000) {
		put_eight(end, (uint32_t)(u % 100000000));
		u /= 100000000;
		end -= 8;
	}
	put_small(end, (uint32_t)u);
}

/* INTEGER_ROOM: the most bytes an integer and a separator before it take. */
#define INTEGER_ROOM 21

static int dump_integer(jt_buf *b, json_int_t i)
{
	if (b->cap - b->len < INTEGER_ROOM && jt_buf_reserve(b, INTEGER_ROOM))
		return -1;
	write_integer(b, i);
	return 0;
}

/* dump_real: jansson's jsonp_dtostr: "%.17g", ".0" appended when it looks like an
 * integer, and the exponent stripped of its '+' and leading zeros ("1e+05" -> "1e5"). */
static int dump_real(jt_buf *b, double x)
{
	char tmp[40];
	if (!isfinite(x))
		return -1;
	int n = snprintf(tmp, sizeof tmp - 2, "%.17g", x);
	if (n < 0 || (size_t)n >= sizeof tmp - 2)
		return -1;
	char *e = strchr(tmp, 'e');
	if (!e && !strchr(tmp, '.')) {
		memcpy(tmp + n, ".0", 2);
		n += 2;
	}
	if (e) {
		char *start = e + 1, *digits = e + 2;
		if (*start == '-')
			start++;
		while (*digits == '0')
			digits++;
		size_t tail = (size_t)(tmp + n - digits);
		memmove(start, digits, tail);
		n = (int)(start - tmp + (ptrdiff_t)tail);
	}
	return put(b, tmp, (size_t)n);
}

/* dump_array: the elements, with integers (the common bulk case) written in line. */
static int dump_array(dumper *d, const json_t *v)
{
	size_t n = json_array_size(v);
	jt_buf *b = d->b;
	if (put1(b, '['))
		return -1;
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(v, i);
		if (b->cap - b->len < INTEGER_ROOM && jt_buf_reserve(b, INTEGER_ROOM))
			return -1;
		if (i)
			b->data[b->len++] = ',';
		if (json_is_integer(e))
			write_integer(b, json_integer_value(e));
		else if (dump_value(d, e))
			return -1;
	}
	return put1(b, ']');
}

static int dump_object(dumper *d, const json_t *v)
{
	void *it = json_object_iter((json_t *)v);
	if (put1(d->b, '{'))
		return -1;
	for (bool first = true; it; it = json_object_iter_next((json_t *)v, it), first = false) {
		if (!first && put1(d->b, ','))
			return -1;
		const char *key = json_object_iter_key(it);
		if (dump_string(d->b, key, json_object_iter_key_len(it)) || put1(d->b, ':'))
			return -1;
		if (dump_value(d, json_object_iter_value(it)))
			return -1;
	}
	return put1(d->b, '}');
}

/* dump_container: an array or object, one level deeper, refusing cycles. */
static int dump_container(dumper *d, const json_t *v)
{
	if (v == d->mark)
		return -1;
	const json_t *saved = d->mark;
	d->depth++;
	if ((d->depth & (d->depth - 1)) == 0)
		d->mark = v;
	int rc = json_is_array(v) ? dump_array(d, v) : dump_object(d, v);
	d->depth--;
	d->mark = saved;
	return rc;
}

static int dump_value(dumper *d, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
	case JSON_ARRAY:
		return dump_container(d, v);
	case JSON_STRING:
		return dump_string(d->b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return dump_integer(d->b, json_integer_value(v));
	case JSON_REAL:
		return dump_real(d->b, json_real_value(v));
	case JSON_TRUE:
		return put(d->b, "true", 4);
	case JSON_FALSE:
		return put(d->b, "false", 5);
	case JSON_NULL:
		return put(d->b, "null", 4);
	}
	return -1;
}

int jt_dump(const json_t *v, jt_buf *out)
{
	dumper d = {out, NULL, 0};
	size_t len = out->len;
	if (!v || dump_value(&d, v)) {
		out->len = len;
		return -1;
	}
	return 0;
}

/* ---- decoder ---- */

/* parser: the text, the read position, the depth budget and a scratch buffer for
 * strings that hold escapes (the only strings that are not copied straight out). */
typedef struct parser {
	const char *start, *p, *end;
	int depth, max_depth;
	jt_error *err;
	jt_buf scratch;
} parser;

/* fail: records the first error at offset at; always returns NULL. */
__attribute__((format(printf, 3, 4))) static json_t *fail(parser *ps, const char *at,
							  const char *fmt, ...)
{
	if (ps->err && !ps->err->text[0]) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(ps->err->text, sizeof ps->err->text, fmt, ap);
		va_end(ap);
		ps->err->position = (size_t)(at - ps->start);
	}
	return NULL;
}

static void skip_ws(parser *ps)
{
	const char *p = ps->p;
	while (p < ps->end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	ps->p = p;
}

static json_t *parse_value(parser *ps);

/* hex4: the value of four hex digits at p (p + 4 <= end checked by the caller), or -1. */
static int32_t hex4(const char *p)
{
	int32_t v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* put_utf8: appends code point cp (not a surrogate) as UTF-8. */
static int put_utf8(jt_buf *b, int32_t cp)
{
	unsigned char s[4];
	size_t n;
	if (cp < 0x80) {
		s[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		s[0] = (unsigned char)(0xC0 | (cp >> 6));
		s[1] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		s[0] = (unsigned char)(0xE0 | (cp >> 12));
		s[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		s[2] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		s[0] = (unsigned char)(0xF0 | (cp >> 18));
		s[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		s[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		s[3] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return put(b, s, n);
}

/* parse_uescape: decodes "\uXXXX" (and its low surrogate "\uXXXX" when XXXX is a high
 * one) at ps->p, which points at the 'u', into scratch. "\u0000" is refused here. */
static int parse_uescape(parser *ps)
{
	const char *at = ps->p - 1;
	int32_t cp = ps->end - ps->p >= 5 ? hex4(ps->p + 1) : -1;
	if (cp < 0)
		return fail(ps, at, "invalid escape"), -1;
	ps->p += 5;
	if (cp >= 0xDC00 && cp <= 0xDFFF)
		return fail(ps, at, "invalid Unicode '\\u%04X'", (unsigned)cp), -1;
	if (cp >= 0xD800 && cp <= 0xDBFF) {
		int32_t lo = -1;
		if (ps->end - ps->p >= 6 && ps->p[0] == '\\' && ps->p[1] == 'u')
			lo = hex4(ps->p + 2);
		if (lo < 0xDC00 || lo > 0xDFFF)
			return fail(ps, at, "invalid Unicode '\\u%04X'", (unsigned)cp), -1;
		ps->p += 6;
		cp = ((cp - 0xD800) << 10) + (lo - 0xDC00) + 0x10000;
	}
	if (cp == 0)
		return fail(ps, at, "\\u0000 is not allowed"), -1;
	return put_utf8(&ps->scratch, cp) ? (fail(ps, at, "out of memory"), -1) : 0;
}

/* parse_escape: one escape at ps->p (just after the backslash) into scratch. */
static int parse_escape(parser *ps)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *at = ps->p - 1;
	if (ps->p == ps->end)
		return fail(ps, at, "premature end of input"), -1;
	if (*ps->p == 'u')
		return parse_uescape(ps);
	const char *k = memchr(from, *ps->p, sizeof from - 1);
	if (!k)
		return fail(ps, at, "invalid escape"), -1;
	ps->p++;
	return put(&ps->scratch, &to[k - from], 1) ? (fail(ps, at, "out of memory"), -1) : 0;
}

/* scan_plain: moves ps->p over plain bytes and valid UTF-8; stops at '"', '\\', a
 * control character, the end, or invalid UTF-8 (then returns -1 with the error set). */
static int scan_plain(parser *ps)
{
	for (;;) {
		ps->p = skip_plain(ps->p, ps->end);
		if (ps->p == ps->end || (unsigned char)*ps->p < 0x80)
			return 0;
		size_t n = utf8_len((const unsigned char *)ps->p, (const unsigned char *)ps->end);
		if (!n)
			return fail(ps, ps->p, "invalid UTF-8"), -1;
		ps->p += n;
	}
}

/* parse_escaped: the rest of a string from its first backslash, decoded into scratch
 * (which already holds the plain bytes before it). */
static int parse_escaped(parser *ps)
{
	for (;;) {
		const char *run = ps->p;
		if (scan_plain(ps) || put(&ps->scratch, run, (size_t)(ps->p - run)))
			return -1;
		if (ps->p == ps->end)
			return fail(ps, ps->p, "premature end of input"), -1;
		char c = *ps->p++;
		if (c == '"')
			return 0;
		if (c != '\\')
			return fail(ps, ps->p - 1, "control character 0x%x in string", c), -1;
		if (parse_escape(ps))
			return -1;
	}
}

/* parse_string: the string whose opening quote is at ps->p - 1. Sets *s and *len to its
 * decoded bytes: in the text itself when it has no escapes, else in scratch (valid until
 * the next string). */
static int parse_string(parser *ps, const char **s, size_t *len)
{
	const char *begin = ps->p;
	if (scan_plain(ps))
		return -1;
	if (ps->p < ps->end && *ps->p == '"') {
		*s = begin;
		*len = (size_t)(ps->p++ - begin);
		return 0;
	}
	ps->scratch.len = 0;
	if (put(&ps->scratch, begin, (size_t)(ps->p - begin)) || parse_escaped(ps))
		return -1;
	*s = ps->scratch.data;
	*len = ps->scratch.len;
	return 0;
}

static json_t *parse_string_value(parser *ps)
{
	const char *s;
	size_t len;
	if (parse_string(ps, &s, &len))
		return NULL;
	json_t *v = json_stringn_nocheck(s, len);
	return v ? v : fail(ps, ps->p, "out of memory");
}

/* parse_real: the number at begin (already checked to be JSON), via strtod as jansson
 * does; overflow to infinity is an error, underflow is not. */
static json_t *parse_real(parser *ps, const char *begin)
{
	char small[64], *copy = small;
	size_t n = (size_t)(ps->p - begin);
	if (n >= sizeof small && !(copy = malloc(n + 1)))
		return fail(ps, begin, "out of memory");
	memcpy(copy, begin, n);
	copy[n] = '\0';
	errno = 0;
	double x = strtod(copy, NULL);
	int overflow = (x == HUGE_VAL || x == -HUGE_VAL) && errno == ERANGE;
	if (copy != small)
		free(copy);
	if (overflow)
		return fail(ps, begin, "real number overflow");
	json_t *v = json_real(x);
	return v ? v : fail(ps, begin, "out of memory");
}

static const char *skip_digits(const char *p, const char *end)
{
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p;
}

/* eight_digits: whether all eight bytes of w (as loaded from text) are ASCII digits. */
static bool eight_digits(uint64_t w)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return ((w & 0xF0F0F0F0F0F0F0F0ULL) |
		(((w + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4)) ==
	       0x3333333333333333ULL;
#else
	(void)w;
	return false; /* the byte-at-a-time loop does it all */
#endif
}

/* eight_digits_value: the number eight ASCII digits in w spell, first byte most
 * significant, by combining pairs, then fours, then the two halves (simdjson's way). */
static uint32_t eight_digits_value(uint64_t w)
{
	w -= 0x3030303030303030ULL;
	w = w * 10 + (w >> 8);
	w = ((w & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32)) +
	     ((w >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32))) >>
	    32;
	return (uint32_t)w;
}

/* parse_fraction: moves past ".digits" and "e[+-]digits" when present; -1 when one is
 * present but has no digits. */
static int parse_fraction(parser *ps)
{
	const char *p = ps->p, *end = ps->end;
	if (p < end && *p == '.') {
		const char *d = ++p;
		if ((p = skip_digits(p, end)) == d)
			return -1;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		if (++p < end && (*p == '+' || *p == '-'))
			p++;
		const char *d = p;
		if ((p = skip_digits(p, end)) == d)
			return -1;
	}
	ps->p = p;
	return 0;
}

/* parse_number: an integer (int64, summed by hand) or a real, as jansson's lexer reads
 * them: no leading zeros, no '+', digits required after '.' and 'e'. */
static json_t *parse_number(parser *ps)
{
	const char *begin = ps->p, *p = ps->p, *end = ps->end;
	bool neg = p < end && *p == '-';
	p += neg;
	const char *digits = p;
	uint64_t u = 0;
	for (int chunk = 0; chunk < 2 && end - p >= 8 && eight_digits(load8(p)); chunk++, p += 8)
		u = u * 100000000 + eight_digits_value(load8(p));
	while (p < end && *p >= '0' && *p <= '9' && p - digits < 19)
		u = u * 10 + (uint64_t)(*p++ - '0');
	p = skip_digits(p, end);
	if (p == digits || (*digits == '0' && p - digits > 1))
		return fail(ps, begin, "invalid number");
	ps->p = p;
	if (p < end && (*p == '.' || *p == 'e' || *p == 'E')) {
		if (parse_fraction(ps))
			return fail(ps, begin, "invalid number");
		return parse_real(ps, begin);
	}
	if (p - digits > 19 || u > (uint64_t)INT64_MAX + neg)
		return fail(ps, begin, neg ? "too big negative integer" : "too big integer");
	json_t *v = json_integer(neg ? (json_int_t)(0 - u) : (json_int_t)u);
	return v ? v : fail(ps, begin, "out of memory");
}

/* skip_dropped_nul: jansson's lexer loses a NUL byte it reads ahead of a number or a
 * literal and ungets (its stream treats a NUL in its buffer as "read the next byte"), so
 * "1\0" and "[true\0]" load there; this does the same, to accept exactly what it does. */
static json_t *skip_dropped_nul(parser *ps, json_t *v)
{
	if (v && ps->p < ps->end && *ps->p == '\0')
		ps->p++;
	return v;
}

/* expect: after optional whitespace, consumes c if it is next. */
static bool expect(parser *ps, char c)
{
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == c) {
		ps->p++;
		return true;
	}
	return false;
}

static int parse_elements(parser *ps, json_t *array)
{
	if (expect(ps, ']'))
		return 0;
	do {
		json_t *v = parse_value(ps);
		if (!v || json_array_append_new(array, v))
			return v ? (fail(ps, ps->p, "out of memory"), -1) : -1;
	} while (expect(ps, ','));
	if (!expect(ps, ']'))
		return fail(ps, ps->p, "']' or ',' expected"), -1;
	return 0;
}

/* key_copy: a key that lives in scratch is copied out, since the member's value may
 * overwrite scratch; small keys go to the caller's buffer. NULL when out of memory. */
static char *key_copy(parser *ps, const char *key, size_t len, char *small, size_t size)
{
	if (key != ps->scratch.data)
		return (char *)key;
	char *copy = len <= size ? small : malloc(len ? len : 1);
	if (copy)
		memcpy(copy, key, len);
	return copy;
}

/* parse_member: one "key": value pair into object. A duplicate key shows as a size that
 * did not grow (setting replaced the first value), which saves a second hash lookup per
 * member; the object is then thrown away with the error. */
static int parse_member(parser *ps, json_t *object)
{
	const char *s, *at = ps->p;
	size_t len;
	char small[64];
	if (!expect(ps, '"'))
		return fail(ps, ps->p, "string or '}' expected"), -1;
	if (parse_string(ps, &s, &len))
		return -1;
	if (!expect(ps, ':'))
		return fail(ps, ps->p, "':' expected"), -1;
	char *key = key_copy(ps, s, len, small, sizeof small);
	if (!key)
		return fail(ps, at, "out of memory"), -1;
	size_t size = json_object_size(object);
	json_t *v = parse_value(ps);
	int rc = v ? json_object_setn_new_nocheck(object, key, len, v) : -1;
	if (v && rc)
		fail(ps, at, "out of memory");
	else if (v && json_object_size(object) == size)
		rc = -1, fail(ps, at, "duplicate object key");
	if (key != s && key != small)
		free(key);
	return rc;
}

static int parse_members(parser *ps, json_t *object)
{
	if (expect(ps, '}'))
		return 0;
	do {
		if (parse_member(ps, object))
			return -1;
	} while (expect(ps, ','));
	if (!expect(ps, '}'))
		return fail(ps, ps->p, "'}' or ',' expected"), -1;
	return 0;
}

/* parse_container: the array or object whose bracket is at ps->p - 1. */
static json_t *parse_container(parser *ps, bool is_array)
{
	if (++ps->depth > ps->max_depth)
		return fail(ps, ps->p - 1, "maximum parsing depth reached");
	json_t *c = is_array ? json_array() : json_object();
	if (!c)
		return fail(ps, ps->p, "out of memory");
	if (is_array ? parse_elements(ps, c) : parse_members(ps, c)) {
		json_decref(c);
		return NULL;
	}
	ps->depth--;
	return c;
}

/* parse_word: true, false or null, spelled exactly. */
static json_t *parse_word(parser *ps, const char *word, size_t n, json_t *v)
{
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n))
		return fail(ps, ps->p, "invalid token");
	ps->p += n;
	return skip_dropped_nul(ps, v);
}

static json_t *parse_value(parser *ps)
{
	skip_ws(ps);
	if (ps->p == ps->end)
		return fail(ps, ps->p, "premature end of input");
	switch (*ps->p++) {
	case '"':
		return parse_string_value(ps);
	case '[':
		return parse_container(ps, true);
	case '{':
		return parse_container(ps, false);
	case 't':
		return parse_word(ps, "rue", 3, json_true());
	case 'f':
		return parse_word(ps, "alse", 4, json_false());
	case 'n':
		return parse_word(ps, "ull", 3, json_null());
	}
	ps->p--;
	if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
		return skip_dropped_nul(ps, parse_number(ps));
	return fail(ps, ps->p, "invalid token");
}

json_t *jt_load(const char *text, size_t len, int max_depth, jt_error *err)
{
	parser ps = {text, text, text ? text + len : text, 0, max_depth, err, {0}};
	if (max_depth < 1)
		ps.max_depth = 1;
	if (max_depth > JT_LOAD_MAX_DEPTH)
		ps.max_depth = JT_LOAD_MAX_DEPTH;
	if (err) {
		err->text[0] = '\0';
		err->position = 0;
	}
	json_t *v = text ? parse_value(&ps) : fail(&ps, text, "no text");
	skip_ws(&ps);
	if (v && ps.p != ps.end) {
		json_decref(v);
		v = fail(&ps, ps.p, "end of file expected");
	}
	if (!v)
		fail(&ps, ps.p, "out of memory"); /* only when nothing more precise was said */
	jt_buf_free(&ps.scratch);
	return v;
}
