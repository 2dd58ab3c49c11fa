/* test_dict.c: dict semantics against Python's, through the real op table. */
#include <stdlib.h>

#include "check_util.h"

static session *a;

static void setup(void)
{
	h_setup();
	a = h_session();
}

START_TEST(set_get_and_key_identity)
{
	EXPECT_OK(a, "{\"op\":\"dict.set\",\"name\":\"d\",\"key\":0,\"value\":\"int\"}", "null");
	EXPECT_OK(a, "{\"op\":\"dict.set\",\"name\":\"d\",\"key\":\"0\",\"value\":\"str\"}",
		  "null");
	EXPECT_OK(a, "{\"op\":\"dict.set\",\"name\":\"d\",\"key\":null,\"value\":[1,{\"x\":2}]}",
		  "null");
	EXPECT_OK(a, "{\"op\":\"dict.set\",\"name\":\"d\",\"key\":true,\"value\":\"bool\"}",
		  "null");
	EXPECT_OK(a, "{\"op\":\"dict.get\",\"name\":\"d\",\"key\":0}", "\"int\"");
	EXPECT_OK(a, "{\"op\":\"dict.get\",\"name\":\"d\",\"key\":0.0}", "\"int\"");
	EXPECT_OK(a, "{\"op\":\"dict.get\",\"name\":\"d\",\"key\":\"0\"}", "\"str\"");
	EXPECT_OK(a, "{\"op\":\"dict.get\",\"name\":\"d\",\"key\":null}", "[1,{\"x\":2}]");
	EXPECT_OK(a, "{\"op\":\"dict.get\",\"name\":\"d\",\"key\":true}", "\"bool\"");
	EXPECT_OK(a, "{\"op\":\"dict.len\",\"name\":\"d\"}", "4");
	EXPECT_OK(a, "{\"op\":\"dict.set\",\"name\":\"d\",\"key\":0.0,\"value\":\"again\"}",
		  "null");
	EXPECT_OK(a, "{\"op\":\"dict.len\",\"name\":\"d\"}", "4");
	EXPECT_OK(a, "{\"op\":\"dict.keys\",\"name\":\"d\"}", "[0,\"0\",null,true]");
	EXPECT_ERR(a, "{\"op\":\"dict.get\",\"name\":\"d\",\"key\":1}", "key_error");
	EXPECT_OK(a, "{\"op\":\"dict.get\",\"name\":\"d\",\"key\":1,\"default\":\"dflt\"}",
		  "\"dflt\"");
	EXPECT_ERR(a, "{\"op\":\"dict.get\",\"name\":\"d\",\"key\":[1]}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"dict.set\",\"name\":\"d\",\"key\":{},\"value\":1}",
		   "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"dict.set\",\"name\":\"d\",\"key\":1}", "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"dict.get\",\"name\":\"d\"}", "bad_argument");
}
END_TEST

START_TEST(views_keep_insertion_order)
{
	EXPECT_OK(a,
		  "{\"op\":\"dict.update\",\"name\":\"d\",\"items\":[[\"b\",1],[\"a\",2],[3,3]]}",
		  "null");
	EXPECT_OK(a, "{\"op\":\"dict.set\",\"name\":\"d\",\"key\":\"b\",\"value\":10}", "null");
	EXPECT_OK(a, "{\"op\":\"dict.keys\",\"name\":\"d\"}", "[\"b\",\"a\",3]");
	EXPECT_OK(a, "{\"op\":\"dict.values\",\"name\":\"d\"}", "[10,2,3]");
	EXPECT_OK(a, "{\"op\":\"dict.items\",\"name\":\"d\"}", "[[\"b\",10],[\"a\",2],[3,3]]");
	EXPECT_OK(a, "{\"op\":\"dict.update\",\"name\":\"d\",\"items\":{\"z\":26,\"a\":1}}",
		  "null");
	EXPECT_OK(a, "{\"op\":\"dict.items\",\"name\":\"d\"}",
		  "[[\"b\",10],[\"a\",1],[3,3],[\"z\",26]]");
	EXPECT_ERR(a, "{\"op\":\"dict.update\",\"name\":\"d\",\"items\":[[1,2],[3]]}",
		   "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"dict.update\",\"name\":\"d\",\"items\":[[[1],2]]}",
		   "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"dict.update\",\"name\":\"d\",\"items\":5}", "bad_argument");
	EXPECT_OK(a, "{\"op\":\"dict.len\",\"name\":\"d\"}",
		  "4"); /* a rejected update stores nothing */
}
END_TEST

START_TEST(pop_popitem_delete_contains)
{
	EXPECT_OK(a,
		  "{\"op\":\"dict.update\",\"name\":\"d\",\"items\":[[1,\"one\"],[2,\"two\"],[3,"
		  "\"three\"]]}",
		  "null");
	EXPECT_OK(a, "{\"op\":\"dict.contains\",\"name\":\"d\",\"key\":2}", "true");
	EXPECT_OK(a, "{\"op\":\"dict.pop\",\"name\":\"d\",\"key\":2}", "\"two\"");
	EXPECT_OK(a, "{\"op\":\"dict.contains\",\"name\":\"d\",\"key\":2}", "false");
	EXPECT_ERR(a, "{\"op\":\"dict.pop\",\"name\":\"d\",\"key\":2}", "key_error");
	EXPECT_OK(a, "{\"op\":\"dict.pop\",\"name\":\"d\",\"key\":2,\"default\":null}", "null");
	EXPECT_OK(a, "{\"op\":\"dict.popitem\",\"name\":\"d\"}", "[3,\"three\"]");
	EXPECT_ERR(a, "{\"op\":\"dict.delete\",\"name\":\"d\",\"key\":3}", "key_error");
	EXPECT_OK(a, "{\"op\":\"dict.delete\",\"name\":\"d\",\"key\":1}", "null");
	EXPECT_ERR(a, "{\"op\":\"dict.popitem\",\"name\":\"d\"}", "key_error");
	EXPECT_OK(a, "{\"op\":\"dict.len\",\"name\":\"d\"}", "0");
}
END_TEST

START_TEST(setdefault_and_clear)
{
	EXPECT_OK(a, "{\"op\":\"dict.setdefault\",\"name\":\"d\",\"key\":\"k\",\"default\":[]}",
		  "[]");
	EXPECT_OK(a, "{\"op\":\"dict.setdefault\",\"name\":\"d\",\"key\":\"k\",\"default\":5}",
		  "[]");
	EXPECT_OK(a, "{\"op\":\"dict.setdefault\",\"name\":\"d\",\"key\":\"n\"}", "null");
	EXPECT_OK(a, "{\"op\":\"dict.len\",\"name\":\"d\"}", "2");
	EXPECT_OK(a, "{\"op\":\"dict.clear\",\"name\":\"d\"}", "null");
	EXPECT_OK(a, "{\"op\":\"dict.len\",\"name\":\"d\"}", "0");
	EXPECT_OK(a, "{\"op\":\"dict.set\",\"name\":\"d\",\"key\":\"after\",\"value\":1}", "null");
	EXPECT_OK(a, "{\"op\":\"dict.keys\",\"name\":\"d\"}", "[\"after\"]");
}
END_TEST

START_TEST(reads_of_a_missing_dict_do_not_create_it)
{
	EXPECT_OK(a, "{\"op\":\"dict.len\",\"name\":\"ghost\"}", "0");
	EXPECT_OK(a, "{\"op\":\"dict.items\",\"name\":\"ghost\"}", "[]");
	EXPECT_ERR(a, "{\"op\":\"dict.get\",\"name\":\"ghost\",\"key\":1}", "key_error");
	EXPECT_OK(a, "{\"op\":\"dict.clear\",\"name\":\"ghost\"}", "null");
	EXPECT_ERR(a, "{\"op\":\"stat\",\"name\":\"ghost\"}", "not_found");
	EXPECT_OK(a, "{\"op\":\"queue.put\",\"name\":\"q\",\"value\":1}", "null");
	EXPECT_ERR(a, "{\"op\":\"dict.get\",\"name\":\"q\",\"key\":1}", "wrong_type");
	EXPECT_ERR(a, "{\"op\":\"dict.len\",\"name\":\"q\"}", "wrong_type");
}
END_TEST

START_TEST(many_keys_survive_growth)
{
	char req[128], want[32];
	for (int i = 0; i < 2000; i++) {
		snprintf(req, sizeof req,
			 "{\"op\":\"dict.set\",\"name\":\"d\",\"key\":\"k%d\",\"value\":%d}", i, i);
		EXPECT_OK(a, req, "null");
	}
	for (int i = 0; i < 2000; i += 7) {
		snprintf(req, sizeof req, "{\"op\":\"dict.get\",\"name\":\"d\",\"key\":\"k%d\"}",
			 i);
		snprintf(want, sizeof want, "%d", i);
		EXPECT_OK(a, req, want);
	}
	EXPECT_OK(a, "{\"op\":\"dict.len\",\"name\":\"d\"}", "2000");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dict");
	TCase *tc = tcase_create("dict");
	tcase_add_checked_fixture(tc, setup, h_teardown);
	tcase_add_test(tc, set_get_and_key_identity);
	tcase_add_test(tc, views_keep_insertion_order);
	tcase_add_test(tc, pop_popitem_delete_contains);
	tcase_add_test(tc, setdefault_and_clear);
	tcase_add_test(tc, reads_of_a_missing_dict_do_not_create_it);
	tcase_add_test(tc, many_keys_survive_growth);
	suite_add_tcase(s, tc);
	return run_suite(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
