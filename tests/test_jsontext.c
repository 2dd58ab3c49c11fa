/* test_jsontext.c: jt_dump and jt_load against jansson's own codec: random values must
 * give the same text and the same values, and every kind of bad text must be refused by
 * both. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "jsontext.h"

#define JANSSON_LOAD_FLAGS (JSON_DECODE_ANY | JSON_REJECT_DUPLICATES)

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static unsigned pick(unsigned n)
{
	return (unsigned)(rnd() % n);
}

/* add_char: appends one character of a random escape class to s (room for 4 bytes). */
static size_t add_char(char *s, size_t n, bool allow_nul)
{
	static const char *const multi[] = {
		"\xc3\xa9",         "\xdf\xbf",         "\xe2\x80\xa8", "\xe2\x80\xa9",
		"\xe0\xa0\x80",     "\xef\xbf\xbf",     "\xed\x9f\xbf", "\xf0\x9f\x98\x80",
		"\xf4\x8f\xbf\xbf", "\xf0\x90\x80\x80", "\xee\x80\x80", "\xc2\x80",
	};
	switch (pick(8)) {
	case 0: {
		unsigned char c = (unsigned char)pick(0x20);
		s[n] = (char)(c || allow_nul ? c : 1);
		return n + 1;
	}
	case 1:
		s[n] = "\"\\/\x7f"[pick(4)];
		return n + 1;
	case 2: {
		const char *m = multi[pick(sizeof multi / sizeof *multi)];
		memcpy(s + n, m, strlen(m));
		return n + strlen(m);
	}
	default:
		s[n] = (char)(0x20 + pick(0x5f));
		return n + 1;
	}
}

static json_t *random_string(bool allow_nul)
{
	char s[256];
	size_t n = 0, want = pick(4) == 0 ? pick(60) : pick(8);
	while (n < want)
		n = add_char(s, n, allow_nul);
	return json_stringn(s, n);
}

static double random_real(void)
{
	static const double fixed[] = {
		0.0,     -0.0,   3.0,    -3.0,      1e100,   1e21,
		1e-7,    5e-324, 1e-320, 0.1,       1.5e300, 1.7976931348623157e308,
		-2.5e-8, 1e16,   1e17,   123456.75, 1e-5};
	if (pick(2))
		return fixed[pick(sizeof fixed / sizeof *fixed)];
	for (;;) {
		uint64_t bits = rnd();
		double x;
		memcpy(&x, &bits, sizeof x);
		if (isfinite(x))
			return x;
	}
}

static json_int_t random_integer(void)
{
	static const json_int_t fixed[] = {0,
					   -1,
					   1,
					   9,
					   10,
					   99,
					   100,
					   INT64_MAX,
					   INT64_MIN,
					   INT64_MIN + 1,
					   INT64_MAX - 1,
					   1000000007};
	switch (pick(3)) {
	case 0:
		return fixed[pick(sizeof fixed / sizeof *fixed)];
	case 1:
		return (json_int_t)rnd();
	default:
		return (json_int_t)(rnd() % 2000) - 1000;
	}
}

static json_t *random_value(int depth, bool allow_nul);

static json_t *random_container(int depth, bool allow_nul)
{
	unsigned n = pick(4) == 0 ? 0 : pick(6);
	if (pick(2)) {
		json_t *a = json_array();
		for (unsigned i = 0; i < n; i++)
			json_array_append_new(a, random_value(depth + 1, allow_nul));
		return a;
	}
	json_t *o = json_object();
	for (unsigned i = 0; i < n; i++) {
		json_t *k = random_string(allow_nul);
		json_object_setn_new(o, json_string_value(k), json_string_length(k),
				     random_value(depth + 1, allow_nul));
		json_decref(k);
	}
	return o;
}

static json_t *random_value(int depth, bool allow_nul)
{
	switch (pick(depth < 5 ? 9 : 7)) {
	case 0:
		return json_integer(random_integer());
	case 1:
		return json_real(random_real());
	case 2:
	case 3:
		return random_string(allow_nul);
	case 4:
		return json_true();
	case 5:
		return pick(2) ? json_false() : json_null();
	case 6:
		return json_integer((json_int_t)pick(100));
	default:
		return random_container(depth, allow_nul);
	}
}

/* dump_text: jt_dump's text of v as a NUL-terminated string (free it), or NULL. */
static char *dump_text(const json_t *v)
{
	jt_buf b = {0};
	if (jt_dump(v, &b) || jt_buf_reserve(&b, 1)) {
		jt_buf_free(&b);
		return NULL;
	}
	b.data[b.len] = '\0';
	return b.data;
}

/* check_load: jt_load and json_loadb agree on text: both refuse it, or both give equal
 * values, and jt_dump of jt_load's value is text again when text is what jansson writes. */
static void check_load(const char *text, size_t len, bool canonical)
{
	json_error_t jerr;
	jt_error err;
	json_t *want = json_loadb(text, len, JANSSON_LOAD_FLAGS, &jerr);
	json_t *got = jt_load(text, len, JT_LOAD_MAX_DEPTH, &err);
	ck_assert_msg(!want == !got, "%.*s: jansson %s, jt_load %s", (int)len, text,
		      want ? "accepts" : jerr.text, got ? "accepts" : err.text);
	if (want) {
		ck_assert_msg(json_equal(want, got), "%.*s: values differ", (int)len, text);
		char *again = dump_text(got);
		ck_assert_ptr_nonnull(again);
		if (canonical)
			ck_assert_str_eq(again, text);
		free(again);
	}
	json_decref(want);
	json_decref(got);
}

START_TEST(random_values_match_jansson)
{
	rng_state = 0x9E3779B97F4A7C15ULL + (uint64_t)_i;
	for (int i = 0; i < 2000; i++) {
		json_t *v = random_value(0, i % 4 == 0);
		char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		char *got = dump_text(v);
		ck_assert_ptr_nonnull(want);
		ck_assert_ptr_nonnull(got);
		ck_assert_str_eq(got, want);
		check_load(want, strlen(want), true);
		free(want);
		free(got);
		json_decref(v);
	}
}
END_TEST

/* mutate: changes one to three bytes of text[0..len) to bytes JSON text is sensitive to. */
static void mutate(char *text, size_t len)
{
	static const char bytes[] = "\"\\{}[],:0-.eE+u \x00\x80\xc3\xed\xf4\x1fn";
	for (unsigned k = 1 + pick(3); k > 0 && len > 0; k--)
		text[pick((unsigned)len)] = bytes[pick(sizeof bytes - 1)];
}

START_TEST(mutated_texts_agree_with_jansson)
{
	rng_state = 0xD1B54A32D192ED03ULL + (uint64_t)_i;
	for (int i = 0; i < 3000; i++) {
		json_t *v = random_value(0, false);
		char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		size_t len = strlen(text);
		mutate(text, len);
		check_load(text, len, false);
		free(text);
		json_decref(v);
	}
}
END_TEST

START_TEST(dump_exact_text)
{
	static const struct {
		double x;
		const char *text;
	} reals[] = {{1e100, "1e100"},    {-0.0, "-0.0"},
		     {3.0, "3.0"},        {1e-5, "1.0000000000000001e-5"},
		     {1e21, "1e21"},      {1e16, "10000000000000000.0"},
		     {0.5, "0.5"},        {5e-324, "4.9406564584124654e-324"},
		     {-1e-300, "-1e-300"}};
	for (size_t i = 0; i < sizeof reals / sizeof *reals; i++) {
		json_t *v = json_real(reals[i].x);
		char *got = dump_text(v);
		ck_assert_str_eq(got, reals[i].text);
		free(got);
		json_decref(v);
	}
	json_t *s = json_stringn("a\x01\x1f\x7f\"\\/\b\f\n\r\t\xe2\x80\xa8\0z", 17);
	char *got = dump_text(s);
	ck_assert_str_eq(got,
			 "\"a\\u0001\\u001F\x7f\\\"\\\\/\\b\\f\\n\\r\\t\xe2\x80\xa8\\u0000z\"");
	free(got);
	json_decref(s);
	json_t *big = json_pack("[I,I,i]", (json_int_t)INT64_MIN, (json_int_t)INT64_MAX, -7);
	got = dump_text(big);
	ck_assert_str_eq(got, "[-9223372036854775808,9223372036854775807,-7]");
	free(got);
	json_decref(big);
}
END_TEST

START_TEST(dump_appends_and_fails_cleanly)
{
	jt_buf b = {0};
	ck_assert_int_eq(jt_buf_reserve(&b, 4), 0);
	memcpy(b.data, "HDR:", 4);
	b.len = 4;
	json_t *v = json_pack("{s:[i,s]}", "k", 1, "x");
	ck_assert_int_eq(jt_dump(v, &b), 0);
	ck_assert_uint_eq(b.len, 4 + strlen("{\"k\":[1,\"x\"]}"));
	ck_assert_int_eq(memcmp(b.data, "HDR:{\"k\":[1,\"x\"]}", b.len), 0);
	json_t *bad = json_pack("[i,o]", 1, json_string_nocheck("ok\xff"));
	ck_assert_ptr_null(json_dumps(bad, JSON_ENCODE_ANY));
	size_t len = b.len;
	ck_assert_int_eq(jt_dump(bad, &b), -1);
	ck_assert_uint_eq(b.len, len);
	json_t *inner = json_array(), *outer = json_pack("[O]", inner);
	json_array_append(inner, outer); /* a cycle: jansson refuses to write it too */
	ck_assert_ptr_null(json_dumps(outer, 0));
	ck_assert_int_eq(jt_dump(outer, &b), -1);
	ck_assert_uint_eq(b.len, len);
	json_array_clear(inner);
	json_t *shared = json_pack("[O,O]", inner, inner); /* shared but not a cycle */
	ck_assert_int_eq(jt_dump(shared, &b), 0);
	ck_assert_int_eq(memcmp(b.data + len, "[[],[]]", 7), 0);
	json_decref(shared);
	json_decref(outer);
	json_decref(inner);
	json_decref(bad);
	json_decref(v);
	jt_buf_free(&b);
	ck_assert_ptr_null(b.data);
}
END_TEST

START_TEST(load_types_and_values)
{
	jt_error err;
	const char *text = " {\"a\":[1,-0,2.5e3,-0.0,\"\\u00e9\\ud83d\\ude00\"],\"b\":null}\r\n";
	json_t *v = jt_load(text, strlen(text), 8, &err);
	ck_assert_ptr_nonnull(v);
	json_t *a = json_object_get(v, "a");
	ck_assert(json_is_integer(json_array_get(a, 1)));
	ck_assert_int_eq(json_integer_value(json_array_get(a, 1)), 0);
	ck_assert(json_is_real(json_array_get(a, 2)));
	ck_assert(json_real_value(json_array_get(a, 2)) == 2500.0);
	ck_assert(signbit(json_real_value(json_array_get(a, 3))));
	ck_assert_str_eq(json_string_value(json_array_get(a, 4)), "\xc3\xa9\xf0\x9f\x98\x80");
	ck_assert(json_is_null(json_object_get(v, "b")));
	json_decref(v);
	v = jt_load("[1,2,x]", 7, 8, &err);
	ck_assert_ptr_null(v);
	ck_assert_uint_eq(err.position, 5);
	v = jt_load("{\"k\":1,\"k\":2}", 13, 8, &err);
	ck_assert_ptr_null(v);
	ck_assert_str_eq(err.text, "duplicate object key");
	ck_assert_uint_eq(err.position, 7);
}
END_TEST

static const char *const bad_texts[] = {
	"\"\xc0\xaf\"",            /* overlong '/' */
	"\"\xe0\x80\xaf\"",        /* overlong, 3 bytes */
	"\"\xf0\x80\x80\xaf\"",    /* overlong, 4 bytes */
	"\"\xed\xa0\x80\"",        /* a surrogate encoded in UTF-8 */
	"\"\xed\xbf\xbf\"",        /* another */
	"\"\xf4\x90\x80\x80\"",    /* above U+10FFFF */
	"\"\xe2\x82\"",            /* truncated */
	"\"\xe2\x82",              /* truncated at the end */
	"\"\x80\"",                /* a lone continuation byte */
	"\"\xff\"",                /* never valid */
	"\"\\ud800\"",             /* lone high surrogate */
	"\"\\udc00\"",             /* lone low surrogate */
	"\"\\ud800\\u0041\"",      /* high surrogate then not a low one */
	"\"\\ud800\\ud800\"",      /* two high ones */
	"\"\\ud800x\"",            /* high surrogate then text */
	"\"\\u0000\"",             /* NUL */
	"{\"a\\u0000\":1}",        /* NUL in a key */
	"{\"a\":1,\"a\":2}",       /* duplicate key */
	"{\"a\":1,\"\\u0061\":2}", /* duplicate key, escaped */
	"9223372036854775808",     /* int overflow */
	"-9223372036854775809",    /* negative int overflow */
	"123456789012345678901234567890",
	"1e400", /* real overflow */
	"-1e400",
	"1 2", /* trailing garbage */
	"[1]]",
	"{} x",
	"x1",             /* leading garbage */
	"\xef\xbb\xbf{}", /* a BOM */
	"",               /* empty */
	"  \n",
	"\"abc", /* unterminated */
	"[1,2",
	"[1,",
	"{\"a\":1",
	"{\"a\"",
	"{\"a\":",
	"{\"a\" 1}",
	"\"a\tb\"", /* bare control character */
	"\"a\nb\"",
	"\"\\x41\"", /* bad escapes */
	"\"\\u12\"",
	"\"\\u12g4\"",
	"\"\\",
	"\"\\'\"",
	"01", /* leading zero */
	"-01",
	"-",
	"1.",
	".5",
	"1e",
	"1e+",
	"1.e5",
	"+1",
	"NaN",
	"Infinity",
	"-Infinity",
	"nul",
	"truex",
	"True",
	"[1,]",
	"{,}",
	"{\"a\":1,}",
	"[,1]",
	"{1:2}",
	"\v1", /* not RFC 8259 whitespace */
	"\f1",
	"1\0\0", /* jansson drops one NUL after a number (jsontext.h), not two */
	"'a'",
};

START_TEST(bad_text_is_refused_by_both)
{
	for (size_t i = 0; i < sizeof bad_texts / sizeof *bad_texts; i++) {
		const char *t = bad_texts[i];
		size_t len = strlen(t) + 2 * (i == sizeof bad_texts / sizeof *bad_texts - 2);
		json_error_t jerr;
		jt_error err;
		json_t *j = json_loadb(t, len, JANSSON_LOAD_FLAGS, &jerr);
		ck_assert_msg(j == NULL, "jansson accepts %s", t);
		json_t *v = jt_load(t, len, JT_LOAD_MAX_DEPTH, &err);
		ck_assert_msg(v == NULL, "jt_load accepts %s", t);
		ck_assert_msg(err.text[0] != '\0', "no message for %s", t);
		ck_assert_uint_le(err.position, len);
	}
}
END_TEST

/* nested: n arrays around inner, as text. */
static char *nested(int n, const char *inner)
{
	size_t li = strlen(inner);
	char *t = malloc(2 * (size_t)n + li + 1);
	memset(t, '[', (size_t)n);
	memcpy(t + n, inner, li);
	memset(t + n + li, ']', (size_t)n);
	t[2 * n + li] = '\0';
	return t;
}

START_TEST(depth_limit)
{
	jt_error err;
	char *ok = nested(32, ""), *deep = nested(33, "");
	json_t *v = jt_load(ok, strlen(ok), 32, &err);
	ck_assert_ptr_nonnull(v);
	json_decref(v);
	ck_assert_ptr_null(jt_load(deep, strlen(deep), 32, &err));
	ck_assert_str_eq(err.text, "maximum parsing depth reached");
	ck_assert_uint_eq(err.position, 32);
	char *obj = "{\"a\":{\"b\":[]}}";
	ck_assert_ptr_null(jt_load(obj, strlen(obj), 2, &err));
	v = jt_load(obj, strlen(obj), 3, &err);
	ck_assert_ptr_nonnull(v);
	json_decref(v);
	free(ok);
	free(deep);
	/* At jansson's own limit: 2048 empty arrays pass both, 2049 fail both. */
	char *max = nested(2048, ""), *over = nested(2049, "");
	check_load(max, strlen(max), true);
	check_load(over, strlen(over), true);
	free(max);
	free(over);
	/* The documented difference: jansson counts the scalar in the innermost array as a
	 * level too, so it refuses 2048 arrays around a number; jt_load counts arrays. */
	char *scalar_ok = nested(2047, "1"), *scalar_deep = nested(2048, "1");
	check_load(scalar_ok, strlen(scalar_ok), true);
	ck_assert_ptr_null(json_loadb(scalar_deep, strlen(scalar_deep), JANSSON_LOAD_FLAGS, NULL));
	v = jt_load(scalar_deep, strlen(scalar_deep), JT_LOAD_MAX_DEPTH, &err);
	ck_assert_ptr_nonnull(v);
	json_decref(v);
	free(scalar_ok);
	free(scalar_deep);
}
END_TEST

START_TEST(whitespace_and_scalars)
{
	static const char *const texts[] = {" \t\r\n1 \t\r\n",
					    "true",
					    "false",
					    "null",
					    "\"\"",
					    "[]",
					    "{}",
					    "-0",
					    "0",
					    "-9223372036854775808",
					    "9223372036854775807",
					    "1E5",
					    "1e-400",
					    "0.0e+0",
					    "[ 1 , { \"a\" : [ ] } ]",
					    "\"\x7f\\/\\b\"",
					    "\"\\uD834\\uDD1E\"",
					    "1.5e308",
					    "123456789012345678901234567890.5"};
	for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
		check_load(texts[i], strlen(texts[i]), false);
	/* jansson loses one NUL byte read ahead of a number or literal; so does jt_load. */
	check_load("1\0", 2, false);
	check_load("[true\0,-2.5e1\0]", 17, false);
	check_load("{\"a\":null\0} ", 13, false);
	check_load("1 \0", 3, false);
	check_load("[1]\0", 4, false);
	check_load("\"a\0\"", 4, false);
	jt_error err;
	json_t *v = jt_load("[7\0]", 4, 8, &err);
	ck_assert_int_eq(json_integer_value(json_array_get(v, 0)), 7);
	json_decref(v);
}
END_TEST

static Suite *jsontext_suite(void)
{
	Suite *s = suite_create("jsontext");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, random_values_match_jansson, 0, 4);
	tcase_add_loop_test(tc, mutated_texts_agree_with_jansson, 0, 4);
	tcase_add_test(tc, dump_exact_text);
	tcase_add_test(tc, dump_appends_and_fails_cleanly);
	tcase_add_test(tc, load_types_and_values);
	tcase_add_test(tc, bad_text_is_refused_by_both);
	tcase_add_test(tc, depth_limit);
	tcase_add_test(tc, whitespace_and_scalars);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(jsontext_suite()) ? EXIT_FAILURE : EXIT_SUCCESS;
}
