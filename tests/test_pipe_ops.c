/* test_pipe_ops.c: pipe semantics through the real op table, with a fake transport: ends
 * and their holders, bounds and parking, EOF and broken pipes, confirmed delivery, cancel,
 * batches, delete, and every kind of bad input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"

static session *a, *b, *c;

static void setup(void)
{
	h_setup();
	a = h_session();
	b = h_session();
	c = h_session();
}

/* end_stat: stat of pipe name's end e (borrowed from the harness's reply). */
static json_t *end_stat(session *s, const char *name, const char *e)
{
	char req[128];
	snprintf(req, sizeof req, "{\"op\":\"stat\",\"name\":\"%s\"}", name);
	return json_object_get(json_object_get(h_result(h_call(s, req)), "ends"), e);
}

static json_int_t end_int(session *s, const char *name, const char *e, const char *field)
{
	return json_integer_value(json_object_get(end_stat(s, name, e), field));
}

static const char *end_state(session *s, const char *name, const char *e)
{
	return json_string_value(json_object_get(end_stat(s, name, e), "state"));
}

static json_int_t delivery(const json_t *reply)
{
	return json_integer_value(json_object_get(reply, "delivery"));
}

START_TEST(create_settings_and_defaults)
{
	static const struct h_step steps[] = {
		{"{'op':'pipe.create','name':'p'}", "true"},
		{"{'op':'pipe.create','name':'p','duplex':true,'maxmsgs':1000,'maxbytes':16777216}",
		 "false"},
		{"{'op':'pipe.create','name':'p','duplex':false}", "!exists"},
		{"{'op':'pipe.create','name':'p','maxmsgs':5}", "!exists"},
		{"{'op':'pipe.create','name':'one','duplex':false,'maxmsgs':2,'maxbytes':10}",
		 "true"},
		{"{'op':'pipe.create','name':'x','duplex':'yes'}", "!bad_argument"},
		{"{'op':'pipe.create','name':'x','maxmsgs':0}", "!bad_argument"},
		{"{'op':'pipe.create','name':'x','maxmsgs':1000000001}", "!bad_argument"},
		{"{'op':'pipe.create','name':'x','maxmsgs':'3'}", "!bad_argument"},
		{"{'op':'pipe.create','name':'x','maxmsgs':2.5}", "!bad_argument"},
		{"{'op':'pipe.create','name':'x','maxbytes':-1}", "!bad_argument"},
		{"{'op':'pipe.create','name':'x','maxbytes':9007199254740993}", "!bad_argument"},
		{"{'op':'pipe.create','name':'x','kind':'fifo'}", "!bad_argument"},
		{"{'op':'stat','name':'x'}", "!not_found"},
		{"{'op':'dict.set','name':'d','key':1,'value':1}", "null"},
		{"{'op':'pipe.create','name':'d'}", "!wrong_type"},
		{"{'op':'pipe.send','name':'d','end':'a','value':1}", "!wrong_type"},
		{"{'op':'queue.get','name':'p'}", "!wrong_type"},
		/* every op but close creates a default duplex pipe, as queue ops do */
		{"{'op':'pipe.poll','name':'auto','end':'b','timeout':0}", "false"},
		{"{'op':'pipe.close','name':'missing','end':'a'}", "!not_found"},
	};
	H_STEPS(a, steps);
	json_t *st = h_result(h_call(a, "{\"op\":\"stat\",\"name\":\"p\"}"));
	ck_assert_str_eq(json_string_value(json_object_get(st, "type")), "pipe");
	ck_assert(json_is_true(json_object_get(st, "duplex")));
	ck_assert_int_eq(json_integer_value(json_object_get(st, "maxmsgs")), 1000);
	ck_assert_int_eq(json_integer_value(json_object_get(st, "maxbytes")), 16 << 20);
	ck_assert_str_eq(end_state(a, "p", "a"), "unopened");
	ck_assert(json_is_null(json_object_get(end_stat(a, "p", "a"), "holder")));
	ck_assert(json_is_false(json_object_get(end_stat(a, "one", "a"), "writable")));
	ck_assert(json_is_false(json_object_get(end_stat(a, "one", "b"), "readable")));
	ck_assert_str_eq(end_state(a, "auto", "b"), "open");
	ck_assert(h_same(h_call(a, "{\"op\":\"ls\",\"prefix\":\"one\"}"),
			 "[{\"name\":\"one\",\"type\":\"pipe\",\"size\":0,\"waiters\":0}]"));
}
END_TEST

START_TEST(messages_keep_their_order_and_kind)
{
	static const struct h_step steps[] = {
		{"{'op':'pipe.send','name':'p','end':'a','value':{'n':1}}", "null"},
		{"{'op':'pipe.send','name':'p','end':'a','bytes':'AAEC'}", "null"},
		{"{'op':'pipe.send','name':'p','end':'a','value':'third'}", "null"},
		{"{'op':'pipe.send','name':'p','end':'a','bytes':''}", "null"},
		{"{'op':'pipe.send','name':'p','end':'b','value':[1,2]}", "null"},
		{"{'op':'pipe.recv','name':'p','end':'b'}", "{'value':{'n':1}}"},
		{"{'op':'pipe.recv','name':'p','end':'b','as':'value'}", "!type_error"},
		{"{'op':'pipe.recv','name':'p','end':'b','as':'bytes'}", "{'bytes':'AAEC'}"},
		/* a value received as bytes is its compact JSON text */
		{"{'op':'pipe.recv','name':'p','end':'b','as':'bytes'}",
		 "{'bytes':'InRoaXJkIg=='}"},
		{"{'op':'pipe.recv','name':'p','end':'b','as':'any'}", "{'bytes':''}"},
		{"{'op':'pipe.recv','name':'p','end':'b','block':false}", "!empty"},
		{"{'op':'pipe.recv','name':'p','end':'a','timeout':0}", "{'value':[1,2]}"},
	};
	H_STEPS(a, steps);
}
END_TEST

START_TEST(one_way_pipes_refuse_misuse_with_wrong_end)
{
	static const struct h_step steps[] = {
		{"{'op':'pipe.create','name':'w','duplex':false}", "true"},
		{"{'op':'pipe.send','name':'w','end':'a','value':1}", "!wrong_end"},
		{"{'op':'pipe.recv','name':'w','end':'b','block':false}", "!wrong_end"},
		{"{'op':'pipe.poll','name':'w','end':'b','timeout':0}", "!wrong_end"},
	};
	H_STEPS(b, steps);
	/* misuse opens nothing */
	ck_assert_str_eq(end_state(a, "w", "a"), "unopened");
	ck_assert_str_eq(end_state(a, "w", "b"), "unopened");
	EXPECT_OK(b, "{\"op\":\"pipe.open\",\"name\":\"w\",\"end\":\"b\"}",
		  "{\"opened\":true,\"readable\":false,\"writable\":true}");
	EXPECT_OK(b, "{\"op\":\"pipe.send\",\"name\":\"w\",\"end\":\"b\",\"value\":7}", "null");
	EXPECT_OK(a, "{\"op\":\"pipe.open\",\"name\":\"w\",\"end\":\"a\"}",
		  "{\"opened\":true,\"readable\":true,\"writable\":false}");
	EXPECT_OK(a, "{\"op\":\"pipe.open\",\"name\":\"w\",\"end\":\"a\"}",
		  "{\"opened\":false,\"readable\":true,\"writable\":false}");
	EXPECT_OK(a, "{\"op\":\"pipe.recv\",\"name\":\"w\",\"end\":\"a\"}", "{\"value\":7}");
}
END_TEST

START_TEST(maxlength_too_small_leaves_the_message)
{
	static const struct h_step steps[] = {
		{"{'op':'pipe.send','name':'p','end':'b','bytes':'aGVsbG8='}", "null"},
		{"{'op':'pipe.send','name':'p','end':'b','value':12345}", "null"},
		{"{'op':'pipe.recv','name':'p','end':'a','as':'bytes','maxlength':4}", "!too_long"},
		{"{'op':'pipe.recv','name':'p','end':'a','maxlength':4}", "!too_long"},
		{"{'op':'pipe.poll','name':'p','end':'a','timeout':0}", "true"},
		{"{'op':'pipe.recv','name':'p','end':'a','as':'bytes','maxlength':5}",
		 "{'bytes':'aGVsbG8='}"},
		{"{'op':'pipe.recv','name':'p','end':'a','maxlength':4}", "!too_long"},
		{"{'op':'pipe.recv','name':'p','end':'a','maxlength':null}", "{'value':12345}"},
	};
	H_STEPS(a, steps);
	/* a parked receiver with too little room is told so when the message comes */
	int r = h_send(a, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"a\",\"maxlength\":2}");
	ck_assert_ptr_null(h_reply(r));
	EXPECT_OK(a, "{\"op\":\"pipe.send\",\"name\":\"p\",\"end\":\"b\",\"value\":\"long\"}",
		  "null");
	ck_assert_str_eq(h_code(h_reply(r)), "too_long");
	ck_assert_int_eq(end_int(a, "p", "a", "buffered"), 1);
	ck_assert_int_eq(end_int(a, "p", "a", "bytes"), 6);
	EXPECT_OK(a, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"a\"}", "{\"value\":\"long\"}");
}
END_TEST

START_TEST(bad_input_is_refused_clearly)
{
	static const struct h_step steps[] = {
		{"{'op':'pipe.open','name':'p'}", "!bad_argument"},
		{"{'op':'pipe.open','name':'p','end':'c'}", "!bad_argument"},
		{"{'op':'pipe.open','name':'p','end':'A'}", "!bad_argument"},
		{"{'op':'pipe.open','name':'p','end':0}", "!bad_argument"},
		{"{'op':'pipe.open','name':'p','end':'ab'}", "!bad_argument"},
		{"{'op':'pipe.open','end':'a'}", "!bad_argument"},
		{"{'op':'pipe.send','name':'p','end':'a'}", "!bad_argument"},
		{"{'op':'pipe.send','name':'p','end':'a','value':1,'bytes':'AA=='}",
		 "!bad_argument"},
		{"{'op':'pipe.send','name':'p','end':'a','bytes':5}", "!bad_argument"},
		{"{'op':'pipe.send','name':'p','end':'a','bytes':'abc'}", "!bad_argument"},
		{"{'op':'pipe.send','name':'p','end':'a','bytes':'ab=c'}", "!bad_argument"},
		{"{'op':'pipe.send','name':'p','end':'a','bytes':'a==='}", "!bad_argument"},
		{"{'op':'pipe.send','name':'p','end':'a','bytes':'@@@@'}", "!bad_argument"},
		{"{'op':'pipe.send','name':'p','end':'a','bytes':'AA AA=='}", "!bad_argument"},
		{"{'op':'pipe.send','name':'p','end':'a','bytes':'QQ==\\n'}", "!bad_argument"},
		{"{'op':'pipe.send','name':'p','end':'a','value':1,'timeout':-1}", "!bad_argument"},
		{"{'op':'pipe.send','name':'p','end':'a','value':1,'block':'no'}", "!bad_argument"},
		{"{'op':'pipe.send','name':'p','end':'a','value':1,'priority':1}", "!bad_argument"},
		{"{'op':'pipe.recv','name':'p','end':'b','as':'text'}", "!bad_argument"},
		{"{'op':'pipe.recv','name':'p','end':'b','as':1}", "!bad_argument"},
		{"{'op':'pipe.recv','name':'p','end':'b','maxlength':-1}", "!bad_argument"},
		{"{'op':'pipe.recv','name':'p','end':'b','maxlength':1.5}", "!bad_argument"},
		{"{'op':'pipe.recv','name':'p','end':'b','maxlength':'9'}", "!bad_argument"},
		{"{'op':'pipe.recv','name':'p','end':'b','confirm':1}", "!bad_argument"},
		{"{'op':'pipe.recv','name':'p','end':'b','timeout':'1'}", "!bad_argument"},
		{"{'op':'pipe.poll','name':'p','end':'b','block':false}", "!bad_argument"},
		{"{'op':'pipe.poll','name':'p','end':'b','timeout':1e9}", "!bad_argument"},
		{"{'op':'pipe.close','name':'p','end':'z'}", "!bad_argument"},
		{"{'op':'pipe.close','name':'p','end':'a','timeout':1}", "!bad_argument"},
		{"{'op':'pipe.recv','name':7,'end':'a'}", "!bad_argument"},
		{"{'op':'pipe.bogus','name':'p'}", "!unknown_op"},
	};
	H_STEPS(a, steps);
	/* nothing was created or opened by the refused requests */
	EXPECT_ERR(a, "{\"op\":\"stat\",\"name\":\"p\"}", "not_found");
}
END_TEST

START_TEST(an_end_has_one_holder)
{
	EXPECT_OK(b, "{\"op\":\"pipe.send\",\"name\":\"p\",\"end\":\"a\",\"value\":1}", "null");
	json_t *r = h_call(c, "{\"op\":\"pipe.open\",\"name\":\"p\",\"end\":\"a\"}");
	ck_assert_str_eq(h_code(r), "end_held");
	char want[64];
	snprintf(want, sizeof want, "held by session %llu", (unsigned long long)b->id);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(r, "message")), want));
	EXPECT_ERR(c, "{\"op\":\"pipe.send\",\"name\":\"p\",\"end\":\"a\",\"value\":2}",
		   "end_held");
	EXPECT_ERR(c, "{\"op\":\"pipe.close\",\"name\":\"p\",\"end\":\"a\"}", "end_held");
	json_t *holder = json_object_get(end_stat(a, "p", "a"), "holder");
	ck_assert_int_eq(json_integer_value(json_object_get(holder, "session")), (json_int_t)b->id);
	/* one session may hold both ends, as a process holds both of Python's Pipe() */
	EXPECT_OK(b, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"b\"}", "{\"value\":1}");
	json_t *mine = json_array_get(h_result(h_call(a, "{\"op\":\"sessions\"}")), 1);
	json_t *held = json_object_get(mine, "holding");
	ck_assert_uint_eq(json_array_size(held), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(held, 0), "kind")),
			 "pipe_end");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(held, 1), "end")), "b");
}
END_TEST

START_TEST(a_full_direction_parks_in_order_and_times_out)
{
	EXPECT_OK(a, "{\"op\":\"pipe.create\",\"name\":\"p\",\"maxmsgs\":2,\"maxbytes\":100}",
		  "true");
	EXPECT_OK(a, "{\"op\":\"pipe.send\",\"name\":\"p\",\"end\":\"a\",\"value\":1}", "null");
	EXPECT_OK(a, "{\"op\":\"pipe.send\",\"name\":\"p\",\"end\":\"a\",\"value\":2}", "null");
	EXPECT_ERR(
		a,
		"{\"op\":\"pipe.send\",\"name\":\"p\",\"end\":\"a\",\"value\":3,\"block\":false}",
		"full");
	EXPECT_ERR(a,
		   "{\"op\":\"pipe.send\",\"name\":\"p\",\"end\":\"a\",\"value\":3,\"timeout\":0}",
		   "full");
	int s3 = h_send(a, "{\"op\":\"pipe.send\",\"name\":\"p\",\"end\":\"a\",\"value\":3}");
	int s4 = h_send(a, "{\"op\":\"pipe.send\",\"name\":\"p\",\"end\":\"a\",\"value\":4,"
			   "\"timeout\":0.1}");
	ck_assert_ptr_null(h_reply(s3));
	ck_assert_int_eq(json_array_size(json_object_get(end_stat(a, "p", "a"), "senders")), 2);
	h_run(0.05);
	ck_assert_ptr_null(h_reply(s4));
	h_run(0.1);
	ck_assert_str_eq(h_code(h_reply(s4)), "full");
	ck_assert_ptr_null(h_reply(s3));
	EXPECT_OK(b, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"b\"}", "{\"value\":1}");
	ck_assert_str_eq(h_code(h_reply(s3)), "ok");
	EXPECT_OK(b, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"b\"}", "{\"value\":2}");
	EXPECT_OK(b, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"b\"}", "{\"value\":3}");
	EXPECT_ERR(b, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"b\",\"block\":false}",
		   "empty");
}
END_TEST

START_TEST(the_byte_bound_keeps_arrival_order)
{
	/* 60 bytes of base64 text are 45 bytes; maxbytes 50 holds one such at a time */
	char big[128], req[256];
	memset(big, 'A', 60);
	big[60] = '\0';
	EXPECT_OK(a, "{\"op\":\"pipe.create\",\"name\":\"p\",\"maxbytes\":50}", "true");
	snprintf(req, sizeof req,
		 "{\"op\":\"pipe.send\",\"name\":\"p\",\"end\":\"a\",\"bytes\":\"%s\"}", big);
	EXPECT_OK(a, req, "null");
	int s2 = h_send(a, req);
	int s3 = h_send(a, "{\"op\":\"pipe.send\",\"name\":\"p\",\"end\":\"a\",\"value\":1}");
	ck_assert_ptr_null(h_reply(s2));
	ck_assert_msg(!h_reply(s3), "%s",
		      json_dumps(h_reply(s3), 0)); /* small, but behind the parked one */
	ck_assert_int_eq(end_int(a, "p", "b", "bytes"), 45);
	/* a message over maxbytes still enters an empty inbox */
	memset(big, 'A', 120);
	big[120] = '\0';
	snprintf(req, sizeof req,
		 "{\"op\":\"pipe.send\",\"name\":\"p\",\"end\":\"b\",\"bytes\":\"%s\"}", big);
	EXPECT_OK(b, req, "null");
	ck_assert_int_eq(end_int(a, "p", "a", "bytes"), 90);
	json_t *r = h_call(b, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"b\"}");
	ck_assert_str_eq(h_code(r), "ok");
	ck_assert_str_eq(h_code(h_reply(s2)), "ok");
	ck_assert_str_eq(h_code(h_reply(s3)), "ok"); /* 45 + 1 bytes fit beside each other */
	ck_assert_int_eq(end_int(a, "p", "b", "buffered"), 2);
	ck_assert_int_eq(end_int(a, "p", "b", "bytes"), 46);
	ck_assert_str_eq(h_code(h_call(b, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"b\"}")),
			 "ok");
	EXPECT_OK(b, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"b\"}", "{\"value\":1}");
}
END_TEST

START_TEST(close_gives_the_peer_what_is_left_then_eof)
{
	EXPECT_OK(a, "{\"op\":\"pipe.create\",\"name\":\"p\",\"maxmsgs\":1}", "true");
	EXPECT_OK(a, "{\"op\":\"pipe.send\",\"name\":\"p\",\"end\":\"a\",\"value\":1}", "null");
	EXPECT_OK(b, "{\"op\":\"pipe.send\",\"name\":\"p\",\"end\":\"b\",\"value\":\"x\"}", "null");
	int s = h_send(b, "{\"op\":\"pipe.send\",\"name\":\"p\",\"end\":\"b\",\"value\":\"y\"}");
	ck_assert_ptr_null(h_reply(s));
	EXPECT_OK(a, "{\"op\":\"pipe.close\",\"name\":\"p\",\"end\":\"a\"}", "null");
	ck_assert_str_eq(h_code(h_reply(s)), "broken_pipe"); /* at once */
	EXPECT_ERR(b, "{\"op\":\"pipe.send\",\"name\":\"p\",\"end\":\"b\",\"value\":2}",
		   "broken_pipe");
	EXPECT_OK(b, "{\"op\":\"pipe.poll\",\"name\":\"p\",\"end\":\"b\"}", "true");
	EXPECT_OK(b, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"b\"}", "{\"value\":1}");
	EXPECT_OK(b, "{\"op\":\"pipe.poll\",\"name\":\"p\",\"end\":\"b\"}", "true");
	EXPECT_ERR(b, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"b\"}", "eof");
	EXPECT_ERR(b, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"b\"}", "eof");
	/* the closed end: no more use without pipe.open; close again is harmless */
	EXPECT_ERR(a, "{\"op\":\"pipe.send\",\"name\":\"p\",\"end\":\"a\",\"value\":3}", "closed");
	EXPECT_ERR(a, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"a\"}", "closed");
	EXPECT_ERR(c, "{\"op\":\"pipe.poll\",\"name\":\"p\",\"end\":\"a\"}", "closed");
	EXPECT_OK(a, "{\"op\":\"pipe.close\",\"name\":\"p\",\"end\":\"a\"}", "null");
	ck_assert_str_eq(end_state(a, "p", "a"), "closed");
	/* its inbox was kept: a new holder opens it again and reads what b sent */
	EXPECT_OK(c, "{\"op\":\"pipe.open\",\"name\":\"p\",\"end\":\"a\"}",
		  "{\"opened\":true,\"readable\":true,\"writable\":true}");
	EXPECT_OK(c, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"a\"}", "{\"value\":\"x\"}");
	EXPECT_OK(b, "{\"op\":\"pipe.send\",\"name\":\"p\",\"end\":\"b\",\"value\":4}", "null");
	EXPECT_OK(c, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"a\"}", "{\"value\":4}");
}
END_TEST

START_TEST(closing_answers_parked_requests_at_once)
{
	int r = h_send(b, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"b\"}");
	int pl = h_send(b, "{\"op\":\"pipe.poll\",\"name\":\"p\",\"end\":\"b\",\"timeout\":30}");
	int own = h_send(a, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"a\"}");
	ck_assert_ptr_null(h_reply(r));
	ck_assert_ptr_null(h_reply(pl));
	EXPECT_OK(a, "{\"op\":\"pipe.close\",\"name\":\"p\",\"end\":\"a\"}", "null");
	ck_assert_str_eq(h_code(h_reply(r)), "eof");
	ck_assert(h_same(h_reply(pl), "true"));
	ck_assert_str_eq(h_code(h_reply(own)), "closed"); /* another thread of the closer */
	/* closing an end nobody opened: its peer sees eof at once */
	EXPECT_OK(c, "{\"op\":\"pipe.create\",\"name\":\"u\"}", "true");
	EXPECT_OK(c, "{\"op\":\"pipe.close\",\"name\":\"u\",\"end\":\"b\"}", "null");
	EXPECT_ERR(a, "{\"op\":\"pipe.recv\",\"name\":\"u\",\"end\":\"a\"}", "eof");
}
END_TEST

START_TEST(the_death_of_a_holder_closes_its_end_at_once)
{
	EXPECT_OK(a, "{\"op\":\"pipe.create\",\"name\":\"p\",\"maxmsgs\":1}", "true");
	EXPECT_OK(a, "{\"op\":\"pipe.send\",\"name\":\"p\",\"end\":\"a\",\"value\":1}", "null");
	EXPECT_OK(b, "{\"op\":\"pipe.send\",\"name\":\"p\",\"end\":\"b\",\"value\":\"x\"}", "null");
	int s = h_send(b, "{\"op\":\"pipe.send\",\"name\":\"p\",\"end\":\"b\",\"value\":\"y\"}");
	sess_close(a);
	ck_assert_str_eq(h_code(h_reply(s)), "broken_pipe");
	ck_assert_str_eq(end_state(b, "p", "a"), "closed");
	EXPECT_OK(b, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"b\"}", "{\"value\":1}");
	EXPECT_ERR(b, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"b\"}", "eof");
}
END_TEST

START_TEST(unconfirmed_messages_go_back_to_the_front)
{
	for (int i = 1; i <= 3; i++) {
		char req[96];
		snprintf(req, sizeof req,
			 "{\"op\":\"pipe.send\",\"name\":\"p\",\"end\":\"a\",\"value\":%d}", i);
		EXPECT_OK(a, req, "null");
	}
	json_t *r =
		h_call(b, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"b\",\"confirm\":true}");
	ck_assert(h_same(r, "{\"value\":1}"));
	ck_assert_int_gt(delivery(r), 0);
	r = h_call(b, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"b\",\"confirm\":true,"
		      "\"as\":\"bytes\"}");
	ck_assert(h_same(r, "{\"bytes\":\"Mg==\"}"));
	json_t *mine = json_array_get(h_result(h_call(a, "{\"op\":\"sessions\"}")), 1);
	ck_assert_uint_eq(json_array_size(json_object_get(mine, "holding")), 3);
	sess_close(b);
	ck_assert_int_eq(end_int(a, "p", "b", "buffered"), 3);
	EXPECT_OK(c, "{\"op\":\"pipe.open\",\"name\":\"p\",\"end\":\"b\"}",
		  "{\"opened\":true,\"readable\":true,\"writable\":true}");
	r = h_call(c, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"b\",\"confirm\":true}");
	ck_assert(h_same(r, "{\"value\":1}"));
	char ack[96];
	snprintf(ack, sizeof ack, "{\"op\":\"ack\",\"ack\":[%lld]}", (long long)delivery(r));
	EXPECT_OK(c, ack, "null");
	EXPECT_OK(c, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"b\"}", "{\"value\":2}");
	sess_close(c); /* 1 was confirmed, 2 taken without confirm: only 3 is left */
	EXPECT_OK(a, "{\"op\":\"pipe.open\",\"name\":\"p\",\"end\":\"b\"}",
		  "{\"opened\":true,\"readable\":true,\"writable\":true}");
	EXPECT_OK(a, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"b\"}", "{\"value\":3}");
	EXPECT_ERR(a, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"b\",\"block\":false}",
		   "empty");
}
END_TEST

START_TEST(a_message_skips_a_receiver_known_gone)
{
	int dead =
		h_send(b, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"b\",\"confirm\":true}");
	int live = h_send(b, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"b\"}");
	h_kill(dead);
	EXPECT_OK(a, "{\"op\":\"pipe.send\",\"name\":\"p\",\"end\":\"a\",\"value\":5}", "null");
	ck_assert_ptr_null(h_reply(dead));
	ck_assert(h_same(h_reply(live), "{\"value\":5}"));
}
END_TEST

START_TEST(poll_answers_without_taking)
{
	EXPECT_OK(b, "{\"op\":\"pipe.poll\",\"name\":\"p\",\"end\":\"b\",\"timeout\":0}", "false");
	int pl = h_send(b, "{\"op\":\"pipe.poll\",\"name\":\"p\",\"end\":\"b\",\"timeout\":30}");
	int timed =
		h_send(b, "{\"op\":\"pipe.poll\",\"name\":\"p\",\"end\":\"b\",\"timeout\":0.05}");
	h_run(0.1);
	ck_assert(h_same(h_reply(timed), "false"));
	ck_assert_ptr_null(h_reply(pl));
	EXPECT_OK(a, "{\"op\":\"pipe.send\",\"name\":\"p\",\"end\":\"a\",\"value\":9}", "null");
	ck_assert(h_same(h_reply(pl), "true"));
	EXPECT_OK(b, "{\"op\":\"pipe.poll\",\"name\":\"p\",\"end\":\"b\",\"timeout\":0}", "true");
	EXPECT_OK(b, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"b\"}", "{\"value\":9}");
	/* a message taken by a parked receiver does not make a poller think one is ready */
	int r = h_send(b, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"b\"}");
	pl = h_send(b, "{\"op\":\"pipe.poll\",\"name\":\"p\",\"end\":\"b\"}");
	EXPECT_OK(a, "{\"op\":\"pipe.send\",\"name\":\"p\",\"end\":\"a\",\"value\":10}", "null");
	ck_assert(h_same(h_reply(r), "{\"value\":10}"));
	ck_assert_ptr_null(h_reply(pl));
}
END_TEST

/* cancel: s cancels request n; whether it was parked. */
static bool cancel(session *s, int n)
{
	char req[96];
	snprintf(req, sizeof req, "{\"op\":\"cancel\",\"request\":%u}", h_id(n));
	json_t *r = h_result(h_call(s, req)); /* json_is_true evaluates its argument twice */
	return json_is_true(json_object_get(r, "cancelled"));
}

START_TEST(cancelled_pipe_requests_take_nothing)
{
	EXPECT_OK(a, "{\"op\":\"pipe.create\",\"name\":\"p\",\"maxmsgs\":1}", "true");
	int r = h_send(b, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"b\"}");
	int pl = h_send(b, "{\"op\":\"pipe.poll\",\"name\":\"p\",\"end\":\"b\"}");
	ck_assert_ptr_null(h_reply(r));
	ck_assert(cancel(b, r));
	ck_assert(cancel(b, pl));
	ck_assert_str_eq(h_code(h_reply(r)), "cancelled");
	ck_assert_str_eq(h_code(h_reply(pl)), "cancelled");
	EXPECT_OK(a, "{\"op\":\"pipe.send\",\"name\":\"p\",\"end\":\"a\",\"value\":1}", "null");
	int s2 = h_send(a, "{\"op\":\"pipe.send\",\"name\":\"p\",\"end\":\"a\",\"value\":2}");
	int s3 = h_send(a, "{\"op\":\"pipe.send\",\"name\":\"p\",\"end\":\"a\",\"value\":3}");
	ck_assert(cancel(a, s2));
	ck_assert_str_eq(h_code(h_reply(s2)), "cancelled");
	EXPECT_OK(b, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"b\"}", "{\"value\":1}");
	ck_assert_str_eq(h_code(h_reply(s3)), "ok");
	EXPECT_OK(b, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"b\"}", "{\"value\":3}");
	ck_assert(!cancel(a, s3));
}
END_TEST

START_TEST(batches_refuse_pipe_ops_that_would_wait)
{
	static const struct h_step steps[] = {
		{"{'op':'batch','ops':[{'op':'pipe.recv','name':'p','end':'b'}]}", "!bad_argument"},
		{"{'op':'batch','ops':[{'op':'pipe.send','name':'p','end':'a','value':1}]}",
		 "!bad_argument"},
		{"{'op':'batch','ops':[{'op':'pipe.poll','name':'p','end':'b'}]}", "!bad_argument"},
	};
	H_STEPS(a, steps);
	json_t *r = h_result(h_call(
		a,
		"{\"op\":\"batch\",\"ops\":[{\"op\":\"pipe.send\",\"name\":\"p\",\"end\":\"a\","
		"\"value\":1,\"block\":false},{\"op\":\"pipe.poll\",\"name\":\"p\",\"end\":\"b\","
		"\"timeout\":0},{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"b\",\"timeout\":0},"
		"{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"b\",\"block\":false}]}"));
	ck_assert_uint_eq(json_array_size(r), 4);
	ck_assert(json_is_true(json_object_get(json_array_get(r, 1), "result")));
	ck_assert_int_eq(json_integer_value(json_object_get(
				 json_object_get(json_array_get(r, 2), "result"), "value")),
			 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(r, 3), "error")),
			 "empty");
}
END_TEST

START_TEST(delete_answers_waiters_and_frees_the_ends)
{
	int r = h_send(b, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"b\"}");
	EXPECT_OK(a, "{\"op\":\"pipe.create\",\"name\":\"f\",\"maxmsgs\":1}", "true");
	EXPECT_OK(a, "{\"op\":\"pipe.send\",\"name\":\"f\",\"end\":\"a\",\"value\":1}", "null");
	int s = h_send(a, "{\"op\":\"pipe.send\",\"name\":\"f\",\"end\":\"a\",\"value\":2}");
	EXPECT_OK(c, "{\"op\":\"del\",\"name\":\"p\"}", "true");
	EXPECT_OK(c, "{\"op\":\"del\",\"name\":\"f\"}", "true");
	ck_assert_str_eq(h_code(h_reply(r)), "deleted");
	ck_assert_str_eq(h_code(h_reply(s)), "deleted");
	json_t *list = h_result(h_call(c, "{\"op\":\"sessions\"}"));
	for (size_t i = 0; i < json_array_size(list); i++)
		ck_assert_uint_eq(
			json_array_size(json_object_get(json_array_get(list, i), "holding")), 0);
	/* a new pipe of the same name starts fresh */
	EXPECT_OK(c, "{\"op\":\"pipe.open\",\"name\":\"p\",\"end\":\"b\"}",
		  "{\"opened\":true,\"readable\":true,\"writable\":true}");
	sess_close(b); /* must not touch the new pipe */
	ck_assert_str_eq(end_state(c, "p", "b"), "open");
	/* nor does a message taken unconfirmed from the old one go into the new one */
	EXPECT_OK(c, "{\"op\":\"pipe.send\",\"name\":\"p\",\"end\":\"a\",\"value\":1}", "null");
	EXPECT_OK(c, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"b\",\"confirm\":true}",
		  "{\"value\":1}");
	EXPECT_OK(c, "{\"op\":\"del\",\"name\":\"p\"}", "true");
	EXPECT_OK(a, "{\"op\":\"pipe.create\",\"name\":\"p\"}", "true");
	sess_close(c);
	ck_assert_int_eq(end_int(a, "p", "b", "buffered"), 0);
}
END_TEST

START_TEST(stat_shows_holders_buffers_and_parked)
{
	EXPECT_OK(a, "{\"op\":\"pipe.send\",\"name\":\"p\",\"end\":\"a\",\"bytes\":\"AAAA\"}",
		  "null");
	int r = h_send(a, "{\"op\":\"pipe.recv\",\"name\":\"p\",\"end\":\"a\"}");
	json_t *st = h_result(h_call(c, "{\"op\":\"stat\",\"name\":\"p\"}"));
	json_t *ea = json_object_get(json_object_get(st, "ends"), "a");
	json_t *eb = json_object_get(json_object_get(st, "ends"), "b");
	ck_assert_int_eq(json_integer_value(json_object_get(st, "size")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(st, "waiters")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(ea, "state")), "open");
	ck_assert_int_eq(
		json_integer_value(json_object_get(json_object_get(ea, "holder"), "session")),
		(json_int_t)a->id);
	ck_assert_uint_eq(json_array_size(json_object_get(ea, "receivers")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(ea, "buffered")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(eb, "buffered")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(eb, "bytes")), 3);
	ck_assert_str_eq(json_string_value(json_object_get(eb, "state")), "unopened");
	ck_assert_ptr_null(h_reply(r));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pipe_ops");
	TCase *tc = tcase_create("pipe_ops");
	tcase_add_checked_fixture(tc, setup, h_teardown);
	ADD(tc, create_settings_and_defaults);
	ADD(tc, messages_keep_their_order_and_kind);
	ADD(tc, one_way_pipes_refuse_misuse_with_wrong_end);
	ADD(tc, maxlength_too_small_leaves_the_message);
	ADD(tc, bad_input_is_refused_clearly);
	ADD(tc, an_end_has_one_holder);
	ADD(tc, a_full_direction_parks_in_order_and_times_out);
	ADD(tc, the_byte_bound_keeps_arrival_order);
	ADD(tc, close_gives_the_peer_what_is_left_then_eof);
	ADD(tc, closing_answers_parked_requests_at_once);
	ADD(tc, the_death_of_a_holder_closes_its_end_at_once);
	ADD(tc, unconfirmed_messages_go_back_to_the_front);
	ADD(tc, a_message_skips_a_receiver_known_gone);
	ADD(tc, poll_answers_without_taking);
	ADD(tc, cancelled_pipe_requests_take_nothing);
	ADD(tc, batches_refuse_pipe_ops_that_would_wait);
	ADD(tc, delete_answers_waiters_and_frees_the_ends);
	ADD(tc, stat_shows_holders_buffers_and_parked);
	suite_add_tcase(s, tc);
	return run_suite(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
