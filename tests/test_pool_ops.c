/* test_pool_ops.c: pool semantics through the real op table, with a fake transport:
 * submitting, workers and the functions they serve, outcomes and their owners, workers that
 * die holding a task, deadlines, close/join/terminate, batches, delete and bad input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"

static session *sub, *w1, *w2;
static long fail_in; /* jansson allocations until one fails (0: none fails) */

/* faulty_malloc: jansson's allocator in the out-of-memory tests: the fail_in-th call fails. */
static void *faulty_malloc(size_t n)
{
	if (fail_in > 0 && --fail_in == 0)
		return NULL;
	return malloc(n);
}

static void setup(void)
{
	h_setup();
	sub = h_session();
	w1 = h_session();
	w2 = h_session();
}

static json_t *pool_stat(void)
{
	return h_result(h_call(sub, "{\"op\":\"stat\",\"name\":\"p\"}"));
}

static json_int_t stat_int(const char *field)
{
	return json_integer_value(json_object_get(pool_stat(), field));
}

/* work: w takes a task at once; its id. */
static json_int_t work(session *w, const char *funcs)
{
	char req[256];
	snprintf(req, sizeof req,
		 "{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":%s,\"block\":false}", funcs);
	json_t *r = h_call(w, req);
	ck_assert_str_eq(h_code(r), "ok");
	return json_integer_value(json_object_get(h_result(r), "task"));
}

static void done(session *w, json_int_t id, const char *answer, const char *want)
{
	char req[256];
	snprintf(req, sizeof req, "{\"op\":\"pool.done\",\"name\":\"p\",\"task\":%lld,%s}",
		 (long long)id, answer);
	EXPECT_OK(w, req, want);
}

START_TEST(create_settings_and_bad_input)
{
	static const struct h_step steps[] = {
		{"{'op':'pool.create','name':'p'}", "true"},
		{"{'op':'pool.create','name':'p','max_attempts':3,'max_tasks':100000}", "false"},
		{"{'op':'pool.create','name':'p','max_attempts':2}", "!exists"},
		{"{'op':'pool.create','name':'x','max_attempts':0}", "!bad_argument"},
		{"{'op':'pool.create','name':'x','max_attempts':1001}", "!bad_argument"},
		{"{'op':'pool.create','name':'x','max_tasks':0}", "!bad_argument"},
		{"{'op':'pool.create','name':'x','max_tasks':'9'}", "!bad_argument"},
		{"{'op':'pool.create','name':'x','size':4}", "!bad_argument"},
		{"{'op':'pool.submit','name':'x'}", "!bad_argument"},
		{"{'op':'pool.submit','name':'x','tasks':[]}", "!bad_argument"},
		{"{'op':'pool.submit','name':'x','tasks':{}}", "!bad_argument"},
		{"{'op':'pool.submit','name':'x','tasks':[{}]}", "!bad_argument"},
		{"{'op':'pool.submit','name':'x','tasks':[{'func':''}]}", "!bad_argument"},
		{"{'op':'pool.submit','name':'x','tasks':[{'func':3}]}", "!bad_argument"},
		{"{'op':'pool.submit','name':'x','tasks':[{'func':'f','args':{}}]}",
		 "!bad_argument"},
		{"{'op':'pool.submit','name':'x','tasks':[{'func':'f','kwargs':[]}]}",
		 "!bad_argument"},
		{"{'op':'pool.submit','name':'x','tasks':[{'func':'f','deadline':0}]}",
		 "!bad_argument"},
		{"{'op':'pool.submit','name':'x','tasks':[{'func':'f','deadline':'1'}]}",
		 "!bad_argument"},
		{"{'op':'pool.submit','name':'x','tasks':[{'func':'f','extra':1}]}",
		 "!bad_argument"},
		{"{'op':'pool.submit','name':'x','tasks':[{'func':'f'},7]}", "!bad_argument"},
		{"{'op':'pool.submit','name':'x','tasks':[{'func':'f','chunk':[]}]}",
		 "!bad_argument"},
		{"{'op':'pool.submit','name':'x','tasks':[{'func':'f','chunk':[1]}]}",
		 "!bad_argument"},
		{"{'op':'pool.submit','name':'x','tasks':[{'func':'f','chunk':{}}]}",
		 "!bad_argument"},
		{"{'op':'pool.submit','name':'x','tasks':[{'func':'f','chunk':[[1]],'args':[]}]}",
		 "!bad_argument"},
		{"{'op':'pool.submit','name':'x','tasks':[{'func':'f','chunk':[[1]],'kwargs':{}}]}",
		 "!bad_argument"},
		{"{'op':'pool.work','name':'x'}", "!bad_argument"},
		{"{'op':'pool.work','name':'x','funcs':[]}", "!bad_argument"},
		{"{'op':'pool.work','name':'x','funcs':'f'}", "!bad_argument"},
		{"{'op':'pool.work','name':'x','funcs':['f',1]}", "!bad_argument"},
		{"{'op':'pool.work','name':'x','funcs':['f'],'timeout':-1}", "!bad_argument"},
		{"{'op':'pool.done','name':'x','task':1}", "!bad_argument"},
		{"{'op':'pool.done','name':'x','task':0,'result':1}", "!bad_argument"},
		{"{'op':'pool.done','name':'x','task':'1','result':1}", "!bad_argument"},
		{"{'op':'pool.done','name':'x','task':1,'result':1,'error':{'type':'E','message':''"
		 "}}",
		 "!bad_argument"},
		{"{'op':'pool.done','name':'x','task':1,'error':'boom'}", "!bad_argument"},
		{"{'op':'pool.done','name':'x','task':1,'error':{'type':'E'}}", "!bad_argument"},
		{"{'op':'pool.done','name':'x','task':1,'error':{'type':'','message':'m'}}",
		 "!bad_argument"},
		{"{'op':'pool.done','name':'x','task':1,'error':{'type':'E','message':'m','x':1}}",
		 "!bad_argument"},
		{"{'op':'pool.result','name':'x','tasks':[1]}", "!not_found"},
		{"{'op':'pool.close','name':'x'}", "!not_found"},
		{"{'op':'pool.join','name':'x'}", "!not_found"},
		{"{'op':'pool.terminate','name':'x'}", "!not_found"},
		{"{'op':'pool.done','name':'x','task':1,'result':1}", "!not_found"},
		{"{'op':'stat','name':'x'}", "!not_found"}, /* refused requests create nothing */
		{"{'op':'pool.result','name':'p','tasks':[]}", "!bad_argument"},
		{"{'op':'pool.result','name':'p','tasks':['1']}", "!bad_argument"},
		{"{'op':'pool.result','name':'p','tasks':[1]}", "!not_found"},
		{"{'op':'pool.result','name':'p','tasks':[1],'any':1}", "!bad_argument"},
		{"{'op':'pool.close','name':'p','timeout':1}", "!bad_argument"},
		{"{'op':'dict.set','name':'d','key':1,'value':1}", "null"},
		{"{'op':'pool.submit','name':'d','tasks':[{'func':'f'}]}", "!wrong_type"},
		{"{'op':'pool.bogus','name':'p'}", "!unknown_op"},
	};
	H_STEPS(sub, steps);
	json_t *st = pool_stat();
	ck_assert_str_eq(json_string_value(json_object_get(st, "type")), "pool");
	ck_assert_str_eq(json_string_value(json_object_get(st, "state")), "running");
	ck_assert_int_eq(json_integer_value(json_object_get(st, "max_attempts")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(st, "max_tasks")), 100000);
}
END_TEST

START_TEST(a_task_goes_to_a_worker_and_its_result_back)
{
	EXPECT_OK(sub,
		  "{\"op\":\"pool.submit\",\"name\":\"p\",\"tasks\":[{\"func\":\"add\",\"args\":"
		  "[1,2],\"kwargs\":{\"k\":3}},{\"func\":\"add\"}]}",
		  "[1,2]");
	json_t *r = h_call(w1, "{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":[\"add\"]}");
	ck_assert(h_same(r, "{\"task\":1,\"func\":\"add\",\"args\":[1,2],\"kwargs\":{\"k\":3},"
			    "\"attempt\":1}"));
	r = h_call(w2, "{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":[\"x\",\"add\"]}");
	ck_assert(h_same(r, "{\"task\":2,\"func\":\"add\",\"args\":[],\"kwargs\":{},"
			    "\"attempt\":1}"));
	ck_assert_int_eq(json_array_size(json_object_get(pool_stat(), "running")), 2);
	/* nothing is ready: a result that does not wait says so */
	EXPECT_ERR(sub, "{\"op\":\"pool.result\",\"name\":\"p\",\"tasks\":[1],\"timeout\":0}",
		   "timeout");
	int all = h_send(sub, "{\"op\":\"pool.result\",\"name\":\"p\",\"tasks\":[2,1]}");
	done(w1, 1, "\"result\":6", "true");
	ck_assert_ptr_null(h_reply(all)); /* waits for both */
	done(w2, 2, "\"error\":{\"type\":\"ValueError\",\"message\":\"bad\"}", "true");
	ck_assert(h_same(
		h_reply(all),
		"[{\"task\":2,\"ok\":false,\"error\":\"task_error\",\"type\":"
		"\"ValueError\",\"message\":\"bad\"},{\"task\":1,\"ok\":true,\"result\":6}]"));
	/* fetched outcomes are gone; answering twice is discarded */
	EXPECT_ERR(sub, "{\"op\":\"pool.result\",\"name\":\"p\",\"tasks\":[1]}", "not_found");
	done(w1, 1, "\"result\":7", "false");
	ck_assert_int_eq(stat_int("completed"), 1);
	ck_assert_int_eq(stat_int("failed"), 1);
	ck_assert_int_eq(stat_int("results"), 0);
	/* a chunked task carries the args of each call; its result is the worker's */
	EXPECT_OK(sub,
		  "{\"op\":\"pool.submit\",\"name\":\"p\",\"tasks\":[{\"func\":\"add\","
		  "\"chunk\":[[1],[2,3]],\"deadline\":5}]}",
		  "[3]");
	r = h_call(w1, "{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":[\"add\"]}");
	ck_assert(h_same(r, "{\"task\":3,\"func\":\"add\",\"chunk\":[[1],[2,3]],\"attempt\":1}"));
	done(w1, 3, "\"result\":[1,5]", "true");
	EXPECT_OK(sub, "{\"op\":\"pool.result\",\"name\":\"p\",\"tasks\":[3]}",
		  "[{\"task\":3,\"ok\":true,\"result\":[1,5]}]");
}
END_TEST

START_TEST(a_task_goes_only_to_a_worker_serving_its_function)
{
	int parked = h_send(w1, "{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":[\"f\"]}");
	EXPECT_OK(sub,
		  "{\"op\":\"pool.submit\",\"name\":\"p\",\"tasks\":[{\"func\":\"g\"},"
		  "{\"func\":\"g\"},{\"func\":\"f\"}]}",
		  "[1,2,3]");
	ck_assert_int_eq(json_integer_value(json_object_get(h_result(h_reply(parked)), "task")), 3);
	json_t *st = pool_stat();
	ck_assert_int_eq(json_integer_value(json_object_get(st, "queued")), 2);
	json_t *funcs = json_object_get(st, "queued_funcs");
	ck_assert_uint_eq(json_object_size(funcs), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(funcs, "g")), 2);
	EXPECT_ERR(w1, "{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":[\"f\"],\"block\":false}",
		   "empty");
	ck_assert_int_eq(work(w2, "[\"g\"]"), 1);
	ck_assert_int_eq(work(w2, "[\"g\"]"), 2);
	/* a parked worker shows in stat with what it serves */
	parked =
		h_send(w2, "{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":[\"h\"],\"timeout\":5}");
	json_t *ws = json_object_get(pool_stat(), "workers");
	ck_assert_int_eq(json_array_size(ws), 1);
	ck_assert_str_eq(json_string_value(json_array_get(
				 json_object_get(json_array_get(ws, 0), "funcs"), 0)),
			 "h");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(ws, 0), "nfuncs")), 1);
	/* one of many functions: stat names the first 16 and counts them all */
	h_send(w1, "{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":[\"a0\",\"a1\",\"a2\","
		   "\"a3\",\"a4\",\"a5\",\"a6\",\"a7\",\"a8\",\"a9\",\"b0\",\"b1\",\"b2\","
		   "\"b3\",\"b4\",\"b5\",\"b6\",\"b7\",\"b8\",\"b9\"],\"timeout\":5}");
	json_t *many = json_array_get(json_object_get(pool_stat(), "workers"), 1);
	ck_assert_uint_eq(json_array_size(json_object_get(many, "funcs")), 16);
	ck_assert_int_eq(json_integer_value(json_object_get(many, "nfuncs")), 20);
}
END_TEST

START_TEST(a_worker_that_dies_gives_its_task_back_to_the_front)
{
	EXPECT_OK(sub,
		  "{\"op\":\"pool.submit\",\"name\":\"p\",\"tasks\":[{\"func\":\"f\"},"
		  "{\"func\":\"f\"}]}",
		  "[1,2]");
	ck_assert_int_eq(work(w1, "[\"f\"]"), 1);
	ck_assert_int_eq(json_array_size(json_object_get(
				 json_array_get(h_result(h_call(sub, "{\"op\":\"sessions\"}")), 1),
				 "holding")),
			 1);
	sess_close(w1);
	/* back to the front: the next worker gets task 1 again, its second attempt */
	json_t *r = h_call(w2, "{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":[\"f\"]}");
	ck_assert(h_same(r, "{\"task\":1,\"func\":\"f\",\"args\":[],\"kwargs\":{},"
			    "\"attempt\":2}"));
	/* a parked worker gets a returned task at once */
	session *w3 = h_session();
	ck_assert_int_eq(work(w3, "[\"f\"]"), 2);
	int parked = h_send(w3, "{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":[\"f\"]}");
	ck_assert_ptr_null(h_reply(parked));
	sess_close(w2);
	ck_assert_int_eq(json_integer_value(json_object_get(h_result(h_reply(parked)), "task")), 1);
	done(w3, 1, "\"result\":\"once\"", "true");
	EXPECT_OK(sub, "{\"op\":\"pool.result\",\"name\":\"p\",\"tasks\":[1]}",
		  "[{\"task\":1,\"ok\":true,\"result\":\"once\"}]");
}
END_TEST

START_TEST(a_worker_takes_the_oldest_task_among_its_functions_and_given_back_first)
{
	EXPECT_OK(sub,
		  "{\"op\":\"pool.submit\",\"name\":\"p\",\"tasks\":[{\"func\":\"a\"},"
		  "{\"func\":\"b\"},{\"func\":\"c\"},{\"func\":\"a\"},{\"func\":\"b\"},"
		  "{\"func\":\"c\"},{\"func\":\"b\"}]}",
		  "[1,2,3,4,5,6,7]");
	/* a worker of b alone takes b's tasks in order, past older tasks of a and c */
	ck_assert_int_eq(work(w1, "[\"b\"]"), 2);
	ck_assert_int_eq(work(w1, "[\"b\"]"), 5);
	done(w1, 2, "\"result\":2", "true");
	ck_assert_int_eq(work(w2, "[\"c\",\"a\"]"), 1);
	/* task 5 given back by a worker that died goes before the older 3 and 4 */
	sess_close(w1);
	session *w3 = h_session();
	json_t *r =
		h_call(w3, "{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":[\"a\",\"b\",\"c\"]}");
	ck_assert(h_same(r, "{\"task\":5,\"func\":\"b\",\"args\":[],\"kwargs\":{},"
			    "\"attempt\":2}"));
	/* then submit order across the functions */
	ck_assert_int_eq(work(w3, "[\"c\",\"b\",\"a\"]"), 3);
	ck_assert_int_eq(work(w3, "[\"a\",\"b\",\"c\"]"), 4);
	ck_assert_int_eq(work(w3, "[\"b\",\"c\"]"), 6);
	ck_assert_int_eq(work(w3, "[\"a\",\"b\",\"c\"]"), 7);
	EXPECT_ERR(w3,
		   "{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":[\"a\",\"b\",\"c\"],"
		   "\"block\":false}",
		   "empty");
	ck_assert_int_eq(stat_int("queued"), 0);
}
END_TEST

/* park_many: n parked pool.work from s serving funcs (JSON text); the request numbers. */
static void park_many(session *s, int n, const char *funcs, int *reqs)
{
	char req[256];
	snprintf(req, sizeof req, "{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":%s}", funcs);
	for (int i = 0; i < n; i++)
		reqs[i] = h_send(s, req);
}

/* submit_many: one pool.submit of n tasks, of the functions other0 .. other99 in turn. */
static void submit_many(int n)
{
	json_t *tasks = json_array();
	char func[32];
	for (int i = 0; i < n; i++) {
		snprintf(func, sizeof func, "other%d", i % 100);
		json_array_append_new(tasks, json_pack("{s:s}", "func", func));
	}
	json_t *req =
		json_pack("{s:s, s:s, s:o}", "op", "pool.submit", "name", "p", "tasks", tasks);
	char *text = json_dumps(req, JSON_COMPACT);
	ck_assert_str_eq(h_code(h_call(sub, text)), "ok");
	free(text);
	json_decref(req);
}

START_TEST(a_parked_worker_gets_its_task_among_thousands_of_others)
{
	static int others[3000];
	submit_many(5000);
	park_many(w1, 3000, "[\"y\",\"z\"]", others);
	int dead = h_send(w2, "{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":[\"q\",\"x\"]}");
	int live = h_send(w2, "{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":[\"x\",\"q\"]}");
	int later = h_send(w2, "{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":[\"x\"]}");
	h_kill(dead);
	EXPECT_OK(sub, "{\"op\":\"pool.submit\",\"name\":\"p\",\"tasks\":[{\"func\":\"x\"}]}",
		  "[5001]");
	ck_assert_ptr_null(h_reply(dead)); /* its client is gone: skipped, not answered */
	ck_assert_int_eq(json_integer_value(json_object_get(h_result(h_reply(live)), "task")),
			 5001);
	ck_assert_ptr_null(h_reply(later));
	for (int i = 0; i < 3000; i++)
		ck_assert_ptr_null(h_reply(others[i]));
	json_t *st = pool_stat();
	ck_assert_int_eq(json_integer_value(json_object_get(st, "queued")), 5000);
	ck_assert_int_eq(json_array_size(json_object_get(st, "workers")), 3001);
	ck_assert_int_eq(
		json_integer_value(json_object_get(json_object_get(st, "queued_funcs"), "other7")),
		50);
	/* a task of z goes to the oldest of the 3000 */
	EXPECT_OK(sub, "{\"op\":\"pool.submit\",\"name\":\"p\",\"tasks\":[{\"func\":\"z\"}]}",
		  "[5002]");
	ck_assert_int_eq(json_integer_value(json_object_get(h_result(h_reply(others[0])), "task")),
			 5002);
	ck_assert_ptr_null(h_reply(others[1]));
}
END_TEST

START_TEST(a_worker_that_times_out_leaves_every_function_it_served)
{
	int parked =
		h_send(w1, "{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":[\"f\",\"g\",\"f\"],"
			   "\"timeout\":0.02}");
	int later = h_send(w2, "{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":[\"g\"]}");
	for (int i = 0; i < 100 && !h_reply(parked); i++)
		h_run(0.01);
	ck_assert_str_eq(h_code(h_reply(parked)), "empty");
	EXPECT_OK(sub,
		  "{\"op\":\"pool.submit\",\"name\":\"p\",\"tasks\":[{\"func\":\"f\"},"
		  "{\"func\":\"g\"}]}",
		  "[1,2]");
	ck_assert_int_eq(stat_int("queued"), 1); /* f waits: its only worker left */
	ck_assert_int_eq(json_integer_value(json_object_get(h_result(h_reply(later)), "task")), 2);
}
END_TEST

START_TEST(a_task_that_kills_every_worker_fails_worker_lost)
{
	EXPECT_OK(sub, "{\"op\":\"pool.create\",\"name\":\"p\",\"max_attempts\":2}", "true");
	EXPECT_OK(sub, "{\"op\":\"pool.submit\",\"name\":\"p\",\"tasks\":[{\"func\":\"die\"}]}",
		  "[1]");
	int wait = h_send(sub, "{\"op\":\"pool.result\",\"name\":\"p\",\"tasks\":[1]}");
	ck_assert_int_eq(work(w1, "[\"die\"]"), 1);
	sess_close(w1);
	ck_assert_ptr_null(h_reply(wait));
	ck_assert_int_eq(work(w2, "[\"die\"]"), 1);
	sess_close(w2);
	json_t *out = json_array_get(h_result(h_reply(wait)), 0);
	ck_assert_str_eq(json_string_value(json_object_get(out, "error")), "worker_lost");
	ck_assert_int_eq(stat_int("failed"), 1);
	ck_assert_int_eq(stat_int("queued"), 0);
}
END_TEST

START_TEST(an_overdue_task_fails_timeout_and_its_late_answer_is_dropped)
{
	EXPECT_OK(sub,
		  "{\"op\":\"pool.submit\",\"name\":\"p\",\"tasks\":[{\"func\":\"slow\","
		  "\"deadline\":0.05},{\"func\":\"slow\",\"deadline\":null}]}",
		  "[1,2]");
	int wait = h_send(sub, "{\"op\":\"pool.result\",\"name\":\"p\",\"tasks\":[1]}");
	ck_assert_int_eq(work(w1, "[\"slow\"]"), 1);
	h_run(0.02);
	ck_assert_ptr_null(h_reply(wait));
	for (int i = 0; i < 100 && !h_reply(wait); i++)
		h_run(0.01);
	json_t *out = json_array_get(h_result(h_reply(wait)), 0);
	ck_assert_str_eq(json_string_value(json_object_get(out, "error")), "timeout");
	done(w1, 1, "\"result\":1", "false");
	/* the worker does not hold it any more: its end gives nothing back */
	sess_close(w1);
	ck_assert_int_eq(stat_int("queued"), 1);
}
END_TEST

START_TEST(results_of_a_submitter_that_ends_are_dropped)
{
	EXPECT_OK(sub,
		  "{\"op\":\"pool.submit\",\"name\":\"p\",\"tasks\":[{\"func\":\"f\"},"
		  "{\"func\":\"f\"},{\"func\":\"f\"}]}",
		  "[1,2,3]");
	ck_assert_int_eq(work(w1, "[\"f\"]"), 1);
	ck_assert_int_eq(work(w1, "[\"f\"]"), 2);
	done(w1, 1, "\"result\":1", "true");
	ck_assert_int_eq(stat_int("results"), 1);
	session *other = h_session();
	EXPECT_ERR(other, "{\"op\":\"pool.result\",\"name\":\"p\",\"tasks\":[1]}", "not_found");
	sess_close(sub);
	json_t *st = h_result(h_call(other, "{\"op\":\"stat\",\"name\":\"p\"}"));
	ck_assert_int_eq(json_integer_value(json_object_get(st, "results")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(st, "queued")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(st, "size")), 1); /* task 2 runs */
	done(w1, 2, "\"result\":2", "true");
	st = h_result(h_call(other, "{\"op\":\"stat\",\"name\":\"p\"}"));
	ck_assert_int_eq(json_integer_value(json_object_get(st, "size")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(st, "results")), 0);
}
END_TEST

START_TEST(result_any_returns_what_is_ready)
{
	EXPECT_OK(sub,
		  "{\"op\":\"pool.submit\",\"name\":\"p\",\"tasks\":[{\"func\":\"f\"},"
		  "{\"func\":\"f\"},{\"func\":\"f\"}]}",
		  "[1,2,3]");
	int any = h_send(sub, "{\"op\":\"pool.result\",\"name\":\"p\",\"tasks\":[1,2,3],"
			      "\"any\":true}");
	EXPECT_ERR(sub, "{\"op\":\"pool.result\",\"name\":\"p\",\"tasks\":[1,1]}", "bad_argument");
	ck_assert_int_eq(work(w1, "[\"f\"]"), 1);
	ck_assert_int_eq(work(w2, "[\"f\"]"), 2);
	done(w2, 2, "\"result\":20", "true");
	ck_assert(h_same(h_reply(any), "[{\"task\":2,\"ok\":true,\"result\":20}]"));
	done(w1, 1, "\"result\":10", "true");
	EXPECT_OK(sub, "{\"op\":\"pool.result\",\"name\":\"p\",\"tasks\":[1,3],\"any\":true}",
		  "[{\"task\":1,\"ok\":true,\"result\":10}]");
	/* a result that times out takes nothing */
	int t = h_send(sub,
		       "{\"op\":\"pool.result\",\"name\":\"p\",\"tasks\":[3],\"timeout\":0.02}");
	for (int i = 0; i < 100 && !h_reply(t); i++)
		h_run(0.01);
	ck_assert_str_eq(h_code(h_reply(t)), "timeout");
	/* a task awaited by a parked result cannot be fetched by another request */
	int first = h_send(sub, "{\"op\":\"pool.result\",\"name\":\"p\",\"tasks\":[3]}");
	EXPECT_ERR(sub, "{\"op\":\"pool.result\",\"name\":\"p\",\"tasks\":[3],\"timeout\":0}",
		   "bad_argument");
	ck_assert_int_eq(work(w1, "[\"f\"]"), 3);
	done(w1, 3, "\"result\":30", "true");
	ck_assert(h_same(h_reply(first), "[{\"task\":3,\"ok\":true,\"result\":30}]"));
}
END_TEST

START_TEST(no_outcome_is_taken_from_under_a_parked_result)
{
	EXPECT_OK(sub,
		  "{\"op\":\"pool.submit\",\"name\":\"p\",\"tasks\":[{\"func\":\"f\"},"
		  "{\"func\":\"f\"},{\"func\":\"f\"}]}",
		  "[1,2,3]");
	ck_assert_int_eq(work(w1, "[\"f\"]"), 1);
	done(w1, 1, "\"result\":1", "true");
	/* 1 is done when the request parks, 2 when it waits for 3 */
	int wait = h_send(sub, "{\"op\":\"pool.result\",\"name\":\"p\",\"tasks\":[1,2,3]}");
	EXPECT_ERR(sub, "{\"op\":\"pool.result\",\"name\":\"p\",\"tasks\":[1],\"timeout\":0}",
		   "bad_argument");
	ck_assert_int_eq(work(w1, "[\"f\"]"), 2);
	done(w1, 2, "\"result\":2", "true");
	EXPECT_ERR(sub, "{\"op\":\"pool.result\",\"name\":\"p\",\"tasks\":[2],\"timeout\":0}",
		   "bad_argument");
	ck_assert_ptr_null(h_reply(wait));
	ck_assert_int_eq(work(w1, "[\"f\"]"), 3);
	done(w1, 3, "\"result\":3", "true");
	ck_assert(h_same(h_reply(wait), "[{\"task\":1,\"ok\":true,\"result\":1},"
					"{\"task\":2,\"ok\":true,\"result\":2},"
					"{\"task\":3,\"ok\":true,\"result\":3}]"));
	ck_assert_int_eq(stat_int("size"), 0);
}
END_TEST

START_TEST(an_answer_does_not_make_a_deleted_pool_again)
{
	EXPECT_OK(sub, "{\"op\":\"pool.submit\",\"name\":\"p\",\"tasks\":[{\"func\":\"f\"}]}",
		  "[1]");
	ck_assert_int_eq(work(w1, "[\"f\"]"), 1);
	EXPECT_OK(sub, "{\"op\":\"del\",\"name\":\"p\"}", "true");
	EXPECT_ERR(w1,
		   "{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":[\"f\"],\"done\":{\"task\":1,"
		   "\"result\":2}}",
		   "not_found");
	EXPECT_ERR(sub, "{\"op\":\"stat\",\"name\":\"p\"}", "not_found");
}
END_TEST

START_TEST(forget_gives_tasks_up_in_every_state)
{
	EXPECT_OK(sub, "{\"op\":\"pool.create\",\"name\":\"p\",\"max_tasks\":4}", "true");
	EXPECT_OK(sub,
		  "{\"op\":\"pool.submit\",\"name\":\"p\",\"tasks\":[{\"func\":\"f\"},"
		  "{\"func\":\"f\"},{\"func\":\"f\"},{\"func\":\"f\"}]}",
		  "[1,2,3,4]");
	ck_assert_int_eq(work(w1, "[\"f\"]"), 1);
	ck_assert_int_eq(work(w2, "[\"f\"]"), 2);
	done(w2, 2, "\"result\":2", "true");
	int wait = h_send(sub, "{\"op\":\"pool.result\",\"name\":\"p\",\"tasks\":[4]}");
	session *other = h_session();
	static const struct h_step bad[] = {
		{"{'op':'pool.forget','name':'x','tasks':[1]}", "!not_found"},
		{"{'op':'pool.forget','name':'p'}", "!bad_argument"},
		{"{'op':'pool.forget','name':'p','tasks':[]}", "!bad_argument"},
		{"{'op':'pool.forget','name':'p','tasks':['1']}", "!bad_argument"},
		{"{'op':'pool.forget','name':'p','tasks':[1,1]}", "!bad_argument"},
		{"{'op':'pool.forget','name':'p','tasks':[1,4]}", "!bad_argument"}, /* awaited */
		{"{'op':'pool.forget','name':'p','tasks':[1,99]}", "!not_found"},
		{"{'op':'pool.forget','name':'p','tasks':[1],'x':1}", "!bad_argument"},
	};
	H_STEPS(sub, bad);
	EXPECT_ERR(other, "{\"op\":\"pool.forget\",\"name\":\"p\",\"tasks\":[3]}", "not_found");
	ck_assert_int_eq(stat_int("size"), 4); /* a refused forget gives up nothing */
	/* 1 running, 2 done, 3 queued */
	EXPECT_OK(sub, "{\"op\":\"pool.forget\",\"name\":\"p\",\"tasks\":[3,2,1]}", "null");
	EXPECT_ERR(sub, "{\"op\":\"pool.forget\",\"name\":\"p\",\"tasks\":[2]}", "not_found");
	EXPECT_ERR(sub, "{\"op\":\"pool.result\",\"name\":\"p\",\"tasks\":[1]}", "not_found");
	ck_assert_int_eq(stat_int("size"), 2); /* 1 runs on, 4 is queued */
	ck_assert_int_eq(stat_int("results"), 0);
	ck_assert_int_eq(stat_int("queued"), 1);
	/* the room of those given up is free: 4 of 4 with 1 and 4 still there */
	EXPECT_OK(sub,
		  "{\"op\":\"pool.submit\",\"name\":\"p\",\"tasks\":[{\"func\":\"f\"},"
		  "{\"func\":\"f\"}]}",
		  "[5,6]");
	ck_assert_int_eq(work(w2, "[\"f\"]"), 4); /* 3 was withdrawn */
	done(w1, 1, "\"result\":1", "true");      /* taken, and dropped */
	ck_assert_int_eq(stat_int("size"), 3);
	ck_assert_int_eq(stat_int("results"), 0);
	done(w2, 4, "\"result\":4", "true");
	ck_assert(h_same(h_reply(wait), "[{\"task\":4,\"ok\":true,\"result\":4}]"));
	/* giving up the last queued tasks of a closed pool lets join return */
	EXPECT_OK(sub, "{\"op\":\"pool.close\",\"name\":\"p\"}", "null");
	int join = h_send(other, "{\"op\":\"pool.join\",\"name\":\"p\"}");
	ck_assert_ptr_null(h_reply(join));
	EXPECT_OK(sub, "{\"op\":\"pool.forget\",\"name\":\"p\",\"tasks\":[5,6]}", "null");
	ck_assert(h_same(h_reply(join), "null"));
	ck_assert_int_eq(stat_int("size"), 0);
}
END_TEST

START_TEST(a_submit_out_of_memory_part_way_leaves_no_task)
{
	char req[160], name[16];
	int refused = 0;
	json_set_alloc_funcs(faulty_malloc, free);
	for (int k = 1; k <= 80; k++) {
		snprintf(name, sizeof name, "q%d", k);
		snprintf(req, sizeof req,
			 "{\"op\":\"pool.submit\",\"name\":\"%s\",\"tasks\":[{\"func\":\"f\"},"
			 "{\"func\":\"f\"},{\"func\":\"f\"}]}",
			 name);
		fail_in = k;
		int n = h_send(sub, req);
		fail_in = 0;
		snprintf(req, sizeof req, "{\"op\":\"stat\",\"name\":\"%s\"}", name);
		json_t *r = h_call(w1, req);
		if (!strcmp(h_code(r), "not_found"))
			continue;
		json_int_t size = json_integer_value(json_object_get(h_result(r), "size"));
		ck_assert_msg(size == 0 || size == 3, "failing allocation %d left %lld tasks", k,
			      (long long)size);
		ck_assert_int_eq(json_integer_value(json_object_get(h_result(r), "queued")), size);
		refused += size == 0 && h_reply(n) && !strcmp(h_code(h_reply(n)), "internal");
	}
	ck_assert_int_gt(refused, 0);
}
END_TEST

START_TEST(an_outcome_lost_for_memory_does_not_strand_its_fetcher)
{
	EXPECT_OK(sub,
		  "{\"op\":\"pool.submit\",\"name\":\"p\",\"tasks\":[{\"func\":\"f\","
		  "\"deadline\":0.02},{\"func\":\"f\"}]}",
		  "[1,2]");
	ck_assert_int_eq(work(w1, "[\"f\"]"), 1);
	int wait = h_send(sub, "{\"op\":\"pool.result\",\"name\":\"p\",\"tasks\":[1,2]}");
	json_set_alloc_funcs(faulty_malloc, free);
	fail_in = 1; /* the timeout's outcome */
	for (int i = 0; i < 100 && !h_reply(wait); i++)
		h_run(0.01);
	ck_assert_int_eq(fail_in, 0);
	ck_assert_str_eq(h_code(h_reply(wait)), "internal");
	EXPECT_ERR(sub, "{\"op\":\"pool.result\",\"name\":\"p\",\"tasks\":[1]}", "not_found");
	EXPECT_ERR(sub, "{\"op\":\"pool.result\",\"name\":\"p\",\"tasks\":[2],\"timeout\":0}",
		   "timeout"); /* no longer awaited */
	ck_assert_int_eq(stat_int("size"), 1);
}
END_TEST

START_TEST(a_worker_that_cannot_take_a_task_for_memory_leaves_it_to_the_next)
{
	char req[160];
	int missed = 0;
	json_set_alloc_funcs(faulty_malloc, free);
	for (int k = 1; k <= 60; k++) {
		snprintf(req, sizeof req,
			 "{\"op\":\"pool.work\",\"name\":\"q%d\",\"funcs\":[\"f\"]}", k);
		int first = h_send(w1, req), second = h_send(w2, req);
		snprintf(req, sizeof req,
			 "{\"op\":\"pool.submit\",\"name\":\"q%d\",\"tasks\":[{\"func\":\"f\"}]}",
			 k);
		fail_in = k;
		h_send(sub, req);
		fail_in = 0;
		snprintf(req, sizeof req, "{\"op\":\"stat\",\"name\":\"q%d\"}", k);
		json_t *st = h_result(h_call(sub, req));
		json_int_t queued = json_integer_value(json_object_get(st, "queued"));
		size_t parked = json_array_size(json_object_get(st, "workers"));
		ck_assert_msg(!(queued && parked),
			      "failing allocation %d: a task queued beside %zu "
			      "parked workers",
			      k, parked);
		missed += h_reply(first) && !strcmp(h_code(h_reply(first)), "internal") &&
			  h_reply(second) && !strcmp(h_code(h_reply(second)), "ok");
	}
	ck_assert_int_gt(missed, 0);
}
END_TEST

START_TEST(close_and_join)
{
	EXPECT_OK(sub, "{\"op\":\"pool.submit\",\"name\":\"p\",\"tasks\":[{\"func\":\"f\"}]}",
		  "[1]");
	EXPECT_ERR(sub, "{\"op\":\"pool.join\",\"name\":\"p\"}", "value_error");
	int idle = h_send(w2, "{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":[\"g\"]}");
	EXPECT_OK(sub, "{\"op\":\"pool.close\",\"name\":\"p\"}", "null");
	EXPECT_OK(sub, "{\"op\":\"pool.close\",\"name\":\"p\"}", "null");
	EXPECT_ERR(sub, "{\"op\":\"pool.submit\",\"name\":\"p\",\"tasks\":[{\"func\":\"f\"}]}",
		   "closed");
	EXPECT_ERR(sub, "{\"op\":\"pool.join\",\"name\":\"p\",\"timeout\":0}", "timeout");
	int join = h_send(sub, "{\"op\":\"pool.join\",\"name\":\"p\"}");
	ck_assert_int_eq(work(w1, "[\"f\"]"), 1); /* queued tasks still run */
	ck_assert_ptr_null(h_reply(join));
	ck_assert_ptr_null(h_reply(idle));
	done(w1, 1, "\"result\":1", "true");
	ck_assert(h_same(h_reply(join), "null"));
	ck_assert_str_eq(h_code(h_reply(idle)), "closed"); /* parked workers are told to stop */
	EXPECT_ERR(w1, "{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":[\"f\"]}", "closed");
	EXPECT_OK(sub, "{\"op\":\"pool.join\",\"name\":\"p\"}", "null");
	/* the outcome is still there to fetch */
	EXPECT_OK(sub, "{\"op\":\"pool.result\",\"name\":\"p\",\"tasks\":[1]}",
		  "[{\"task\":1,\"ok\":true,\"result\":1}]");
}
END_TEST

START_TEST(terminate_fails_pending_tasks_and_stops_workers)
{
	EXPECT_OK(sub,
		  "{\"op\":\"pool.submit\",\"name\":\"p\",\"tasks\":[{\"func\":\"f\"},"
		  "{\"func\":\"f\"}]}",
		  "[1,2]");
	ck_assert_int_eq(work(w1, "[\"f\"]"), 1);
	int idle = h_send(w2, "{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":[\"g\"]}");
	int wait = h_send(sub, "{\"op\":\"pool.result\",\"name\":\"p\",\"tasks\":[1,2]}");
	EXPECT_OK(sub, "{\"op\":\"pool.terminate\",\"name\":\"p\"}", "null");
	ck_assert_str_eq(h_code(h_reply(idle)), "terminated");
	json_t *outs = h_result(h_reply(wait));
	ck_assert_int_eq(json_array_size(outs), 2);
	for (size_t i = 0; i < 2; i++)
		ck_assert_str_eq(
			json_string_value(json_object_get(json_array_get(outs, i), "error")),
			"terminated");
	done(w1, 1, "\"result\":1", "false");
	EXPECT_ERR(w1, "{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":[\"f\"]}", "terminated");
	EXPECT_ERR(sub, "{\"op\":\"pool.submit\",\"name\":\"p\",\"tasks\":[{\"func\":\"f\"}]}",
		   "closed");
	EXPECT_OK(sub, "{\"op\":\"pool.join\",\"name\":\"p\"}", "null");
	ck_assert_str_eq(json_string_value(json_object_get(pool_stat(), "state")), "terminated");
	sess_close(w1); /* holds nothing any more */
	ck_assert_int_eq(stat_int("queued"), 0);
}
END_TEST

START_TEST(max_tasks_bounds_tasks_and_unfetched_results)
{
	EXPECT_OK(sub, "{\"op\":\"pool.create\",\"name\":\"p\",\"max_tasks\":2}", "true");
	EXPECT_OK(sub, "{\"op\":\"pool.submit\",\"name\":\"p\",\"tasks\":[{\"func\":\"f\"}]}",
		  "[1]");
	EXPECT_ERR(sub,
		   "{\"op\":\"pool.submit\",\"name\":\"p\",\"tasks\":[{\"func\":\"f\"},"
		   "{\"func\":\"f\"}]}",
		   "limit_exceeded");
	ck_assert_int_eq(work(w1, "[\"f\"]"), 1);
	done(w1, 1, "\"result\":1", "true");
	EXPECT_OK(sub, "{\"op\":\"pool.submit\",\"name\":\"p\",\"tasks\":[{\"func\":\"f\"}]}",
		  "[2]");
	EXPECT_ERR(sub, "{\"op\":\"pool.submit\",\"name\":\"p\",\"tasks\":[{\"func\":\"f\"}]}",
		   "limit_exceeded");
	EXPECT_OK(sub, "{\"op\":\"pool.result\",\"name\":\"p\",\"tasks\":[1]}",
		  "[{\"task\":1,\"ok\":true,\"result\":1}]");
	EXPECT_OK(sub, "{\"op\":\"pool.submit\",\"name\":\"p\",\"tasks\":[{\"func\":\"f\"}]}",
		  "[3]");
}
END_TEST

START_TEST(batches_cancel_and_delete)
{
	EXPECT_ERR(w1,
		   "{\"op\":\"batch\",\"ops\":[{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":"
		   "[\"f\"]}]}",
		   "bad_argument");
	EXPECT_OK(sub,
		  "{\"op\":\"batch\",\"ops\":[{\"op\":\"pool.submit\",\"name\":\"p\",\"tasks\":"
		  "[{\"func\":\"f\"}]}]}",
		  "[{\"ok\":true,\"result\":[1]}]");
	EXPECT_OK(w1,
		  "{\"op\":\"batch\",\"ops\":[{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":"
		  "[\"f\"],\"block\":false}]}",
		  "[{\"ok\":true,\"result\":{\"task\":1,\"func\":\"f\",\"args\":[],\"kwargs\":{},"
		  "\"attempt\":1}}]");
	/* a cancelled parked worker takes nothing */
	int parked = h_send(w2, "{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":[\"f\"]}");
	char req[96];
	snprintf(req, sizeof req, "{\"op\":\"cancel\",\"request\":%u}", h_id(parked));
	EXPECT_OK(w2, req, "{\"cancelled\":true}");
	ck_assert_str_eq(h_code(h_reply(parked)), "cancelled");
	EXPECT_OK(sub, "{\"op\":\"pool.submit\",\"name\":\"p\",\"tasks\":[{\"func\":\"f\"}]}",
		  "[2]");
	ck_assert_int_eq(stat_int("queued"), 1);
	int wait = h_send(sub, "{\"op\":\"pool.result\",\"name\":\"p\",\"tasks\":[1]}");
	EXPECT_OK(sub, "{\"op\":\"del\",\"name\":\"p\"}", "true");
	ck_assert_str_eq(h_code(h_reply(wait)), "deleted");
	/* the sessions no longer hold anything of it */
	sess_close(w1);
	sess_close(sub);
	EXPECT_ERR(w2, "{\"op\":\"stat\",\"name\":\"p\"}", "not_found");
}
END_TEST

START_TEST(a_session_that_submits_and_works_ends_cleanly)
{
	EXPECT_OK(sub,
		  "{\"op\":\"pool.submit\",\"name\":\"p\",\"tasks\":[{\"func\":\"f\"},"
		  "{\"func\":\"f\"}]}",
		  "[1,2]");
	ck_assert_int_eq(work(sub, "[\"f\"]"), 1);
	ck_assert_int_eq(work(w1, "[\"f\"]"), 2);
	sess_close(sub);
	json_t *st = h_result(h_call(w1, "{\"op\":\"stat\",\"name\":\"p\"}"));
	ck_assert_int_eq(json_integer_value(json_object_get(st, "size")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(st, "queued")), 0);
	sess_close(w1);
	st = h_result(h_call(w2, "{\"op\":\"stat\",\"name\":\"p\"}"));
	ck_assert_int_eq(json_integer_value(json_object_get(st, "size")), 0);
}
END_TEST

START_TEST(work_answers_the_last_task_and_takes_the_next_in_one_request)
{
	static const struct h_step bad[] = {
		{"{'op':'pool.work','name':'p','funcs':['f'],'done':1}", "!bad_argument"},
		{"{'op':'pool.work','name':'p','funcs':['f'],'done':{'task':1}}", "!bad_argument"},
		{"{'op':'pool.work','name':'p','funcs':['f'],'done':{'result':1,'x':2}}",
		 "!bad_argument"},
		{"{'op':'pool.work','name':'p','funcs':['f'],'done':{'task':0,'result':1}}",
		 "!bad_argument"},
		{"{'op':'pool.work','name':'p','funcs':['f'],'done':{'task':1,'result':1,'error':{}"
		 "}}",
		 "!bad_argument"},
		{"{'op':'pool.work','name':'p','funcs':['f'],'done':{'task':1,'error':{'type':'E'}}"
		 "}",
		 "!bad_argument"},
	};
	H_STEPS(w1, bad);
	EXPECT_ERR(sub, "{\"op\":\"stat\",\"name\":\"p\"}", "not_found"); /* nothing made */
	EXPECT_OK(sub,
		  "{\"op\":\"pool.submit\",\"name\":\"p\",\"tasks\":[{\"func\":\"f\"},"
		  "{\"func\":\"f\"}]}",
		  "[1,2]");
	ck_assert_int_eq(work(w1, "[\"f\"]"), 1);
	json_t *r = h_call(w1, "{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":[\"f\"],"
			       "\"done\":{\"task\":1,\"result\":10}}");
	ck_assert_int_eq(json_integer_value(json_object_get(h_result(r), "task")), 2);
	EXPECT_OK(sub, "{\"op\":\"pool.result\",\"name\":\"p\",\"tasks\":[1]}",
		  "[{\"task\":1,\"ok\":true,\"result\":10}]");
	/* the answer is taken first: the last task done, a closed pool tells the worker to stop */
	EXPECT_OK(sub, "{\"op\":\"pool.close\",\"name\":\"p\"}", "null");
	EXPECT_ERR(w1,
		   "{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":[\"f\"],\"done\":{\"task\":2,"
		   "\"error\":{\"type\":\"KeyError\",\"message\":\"k\"}}}",
		   "closed");
	EXPECT_OK(sub, "{\"op\":\"pool.result\",\"name\":\"p\",\"tasks\":[2]}",
		  "[{\"task\":2,\"ok\":false,\"error\":\"task_error\",\"type\":\"KeyError\","
		  "\"message\":\"k\"}]");
	/* a late answer with it is dropped, and the request goes on */
	EXPECT_ERR(w1,
		   "{\"op\":\"pool.work\",\"name\":\"p\",\"funcs\":[\"f\"],\"done\":{\"task\":2,"
		   "\"result\":1}}",
		   "closed");
	ck_assert_int_eq(stat_int("completed"), 1);
	ck_assert_int_eq(stat_int("failed"), 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pool_ops");
	TCase *tc = tcase_create("pool_ops");
	tcase_add_checked_fixture(tc, setup, h_teardown);
	ADD(tc, create_settings_and_bad_input);
	ADD(tc, a_task_goes_to_a_worker_and_its_result_back);
	ADD(tc, a_task_goes_only_to_a_worker_serving_its_function);
	ADD(tc, a_worker_that_dies_gives_its_task_back_to_the_front);
	ADD(tc, a_worker_takes_the_oldest_task_among_its_functions_and_given_back_first);
	ADD(tc, a_parked_worker_gets_its_task_among_thousands_of_others);
	ADD(tc, a_worker_that_times_out_leaves_every_function_it_served);
	ADD(tc, a_task_that_kills_every_worker_fails_worker_lost);
	ADD(tc, an_overdue_task_fails_timeout_and_its_late_answer_is_dropped);
	ADD(tc, results_of_a_submitter_that_ends_are_dropped);
	ADD(tc, result_any_returns_what_is_ready);
	ADD(tc, no_outcome_is_taken_from_under_a_parked_result);
	ADD(tc, an_answer_does_not_make_a_deleted_pool_again);
	ADD(tc, forget_gives_tasks_up_in_every_state);
	ADD(tc, a_submit_out_of_memory_part_way_leaves_no_task);
	ADD(tc, an_outcome_lost_for_memory_does_not_strand_its_fetcher);
	ADD(tc, a_worker_that_cannot_take_a_task_for_memory_leaves_it_to_the_next);
	ADD(tc, close_and_join);
	ADD(tc, terminate_fails_pending_tasks_and_stops_workers);
	ADD(tc, max_tasks_bounds_tasks_and_unfetched_results);
	ADD(tc, batches_cancel_and_delete);
	ADD(tc, a_session_that_submits_and_works_ends_cleanly);
	ADD(tc, work_answers_the_last_task_and_takes_the_next_in_one_request);
	suite_add_tcase(s, tc);
	return run_suite(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
