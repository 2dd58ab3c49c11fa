/* test_proto.c: the wire error table, envelopes, key canon and the default address. */
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "check_util.h"
#include "dict.h"
#include "envelope.h"
#include "ops.h"
#include "url.h"

START_TEST(error_codes_round_trip)
{
	for (int e = 0; e < BRK_ERR_COUNT; e++) {
		ck_assert_int_eq(brk_err_from_code(brk_err_code((brk_err)e)), e);
		ck_assert_ptr_nonnull(brk_strerror((brk_err)e));
	}
	ck_assert_str_eq(brk_err_code(BRK_EEMPTY), "empty");
	ck_assert_str_eq(brk_err_code(BRK_EWRONGTYPE), "wrong_type");
	ck_assert_int_eq(brk_err_from_code("no-such-code"), BRK_EPROTO);
	ck_assert_str_eq(brk_strerror((brk_err)999), "unknown error");
}
END_TEST

START_TEST(request_envelope)
{
	json_t *req = proto_request_new("queue.put", "jobs", json_pack("{s:i}", "value", 7));
	char *text = json_dumps(req, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_str_eq(text, "{\"name\":\"jobs\",\"op\":\"queue.put\",\"value\":7}");
	free(text);
	json_decref(req);
	ck_assert_ptr_null(proto_request_new("x", NULL, json_array()));
}
END_TEST

START_TEST(reply_envelope)
{
	json_t *ok = proto_reply_ok_new(json_integer(3)), *result = NULL;
	ck_assert_int_eq(proto_reply_parse(ok, &result, NULL), BRK_OK);
	ck_assert_int_eq(json_integer_value(result), 3);
	json_t *err = proto_reply_error(BRK_EFULL, "queue 'q' is full");
	const char *msg = NULL;
	ck_assert_int_eq(proto_reply_parse(err, NULL, &msg), BRK_EFULL);
	ck_assert_str_eq(msg, "queue 'q' is full");
	json_t *bad = json_pack("{s:s}", "result", "x");
	ck_assert_int_eq(proto_reply_parse(bad, NULL, NULL), BRK_EPROTO);
	json_t *liar = json_pack("{s:b, s:s}", "ok", 0, "error", "ok");
	ck_assert_int_eq(proto_reply_parse(liar, NULL, NULL), BRK_EPROTO);
	json_decref(ok);
	json_decref(err);
	json_decref(bad);
	json_decref(liar);
}
END_TEST

static char *canon(const char *json, size_t *len)
{
	static char buf[64];
	json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
	char *out = dict_key_canon(v, buf, sizeof buf, len);
	json_decref(v);
	return out;
}

static bool same_key(const char *a, const char *b)
{
	size_t la, lb;
	char ka[64];
	char *pa = canon(a, &la);
	memcpy(ka, pa, la);
	char *pb = canon(b, &lb);
	return la == lb && memcmp(ka, pb, la) == 0;
}

START_TEST(dict_keys_follow_python_equality)
{
	ck_assert(!same_key("0", "\"0\""));
	ck_assert(same_key("1", "1.0"));
	ck_assert(same_key("-3", "-3.0"));
	ck_assert(!same_key("1", "1.5"));
	ck_assert(!same_key("true", "1"));
	ck_assert(!same_key("null", "\"\""));
	ck_assert(same_key("\"a\"", "\"a\""));
	size_t len;
	ck_assert_ptr_null(canon("[1]", &len));
	ck_assert_ptr_null(canon("{}", &len));
}
END_TEST

START_TEST(long_keys_are_allocated)
{
	char buf[8];
	size_t len;
	json_t *k = json_string("a key longer than the buffer");
	char *out = dict_key_canon(k, buf, sizeof buf, &len);
	ck_assert_ptr_ne(out, buf);
	ck_assert_uint_eq(len, strlen("a key longer than the buffer") + 1);
	free(out);
	json_decref(k);
}
END_TEST

START_TEST(blocking_ops_are_known)
{
	ck_assert(proto_op_blocks(BRK_OP_QUEUE_GET));
	ck_assert(proto_op_blocks(BRK_OP_QUEUE_PUT));
	ck_assert(proto_op_blocks(BRK_OP_QUEUE_JOIN));
	ck_assert(!proto_op_blocks(BRK_OP_QUEUE_GET_NOWAIT));
	ck_assert(!proto_op_blocks(BRK_OP_DICT_GET));
}
END_TEST

START_TEST(default_url_follows_environment)
{
	char url[256];
	setenv("BROKERD_URL", "tcp://127.0.0.1:9", 1);
	ck_assert_int_eq(proto_client_url(url, sizeof url), 0);
	ck_assert_str_eq(url, "tcp://127.0.0.1:9");
	unsetenv("BROKERD_URL");
	ck_assert_int_eq(proto_client_url(url, sizeof url), 0);
	ck_assert(strncmp(url, "ipc://", 6) == 0);
	ck_assert_int_eq(proto_default_url(url, 8), -1);
}
END_TEST

START_TEST(base64_round_trips_and_is_strict)
{
	unsigned char data[300], back[300];
	char text[400];
	size_t n;
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (unsigned char)(255 - i);
	for (size_t len = 0; len <= sizeof data; len += len < 8 ? 1 : 73) {
		size_t tlen = b64_encoded_len(len);
		b64_encode(data, len, text);
		ck_assert_int_eq(b64_check(text, tlen, &n), 0);
		ck_assert_uint_eq(n, len);
		b64_decode(text, tlen, back);
		ck_assert_mem_eq(back, data, len);
	}
	b64_encode("hi\n", 3, text);
	ck_assert_mem_eq(text, "aGkK", 4);
	b64_encode("\xfb\xff", 2, text);
	ck_assert_mem_eq(text, "+/8=", 4);
	const char *bad[] = {
		"A", "AB", "ABC", "A===", "====", "AB=C", "AB-_", "AB C", "QQ==QQ==", "QQ==\n"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ck_assert_msg(b64_check(bad[i], strlen(bad[i]), &n) != 0, "%s", bad[i]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("proto");
	TCase *tc = tcase_create("proto");
	tcase_add_test(tc, error_codes_round_trip);
	tcase_add_test(tc, base64_round_trips_and_is_strict);
	tcase_add_test(tc, request_envelope);
	tcase_add_test(tc, reply_envelope);
	tcase_add_test(tc, dict_keys_follow_python_equality);
	tcase_add_test(tc, long_keys_are_allocated);
	tcase_add_test(tc, blocking_ops_are_known);
	tcase_add_test(tc, default_url_follows_environment);
	suite_add_tcase(s, tc);
	return run_suite(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
