/* test_state.c: shared state against a real brokerd and worker processes: updates lost by
 * get-then-set and kept by the atomic ops, the classic Manager example, and libbroker's
 * shared-state calls with their errors and versions. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "run_suite.h"

static struct daemon d;
static brk_client *c;

static void setup(void)
{
	daemon_open(&d, &c);
}

static void teardown(void)
{
	daemon_shut(&d, c);
}

/* int_of: the integer value name holds. */
static long long int_of(const char *name)
{
	json_t *v = NULL;
	ck_assert_int_eq(brk_value_get(c, name, &v), BRK_OK);
	ck_assert(json_is_integer(v));
	long long n = json_integer_value(v);
	json_decref(v);
	return n;
}

/* count_with: P workers each add 1 to a fresh value K times by how, started together;
 * returns the final value. */
static long long count_with(const char *how)
{
	enum { P = 8 };
	pid_t pid[P];
	ck_assert_int_eq(brk_value_create(c, how, BRK_INT, NULL, NULL), BRK_OK);
	ck_assert_int_eq(brk_event_clear(c, "go"), BRK_OK);
	for (int i = 0; i < P; i++)
		pid[i] = spawn_worker(&d, NULL, "count", how, how, "500", NULL);
	wait_stat(c, "go", "waiting", P);
	ck_assert_int_eq(brk_event_set(c, "go"), BRK_OK);
	for (int i = 0; i < P; i++)
		ck_assert_int_eq(child_exit(pid[i]), 0);
	long long n = int_of(how);
	fprintf(stderr, "8 processes x 500 increments by %s: %lld\n", how, n);
	return n;
}

START_TEST(get_then_set_loses_updates_atomic_ops_do_not)
{
	ck_assert_int_lt(count_with("getset"), 8 * 500);
	ck_assert_int_eq(count_with("add"), 8 * 500);
	ck_assert_int_eq(count_with("cas"), 8 * 500);
	ck_assert_int_eq(count_with("lock"), 8 * 500);
}
END_TEST

/* The Manager docs' example: 10 processes each set d[n] = "1", d["2"] = 2 and append n to
 * a list that starts as [0..4]. */
START_TEST(the_classic_manager_example)
{
	enum { P = 10 };
	pid_t pid[P];
	json_t *start = json_pack("[iiiii]", 0, 1, 2, 3, 4), *items = NULL, *keys = NULL;
	ck_assert_int_eq(brk_list_create(c, "l", start, NULL), BRK_OK);
	for (int i = 0; i < P; i++) {
		char n[8];
		snprintf(n, sizeof n, "%d", i);
		pid[i] = spawn_worker(&d, NULL, "classic", n, "d", "l", NULL);
	}
	for (int i = 0; i < P; i++)
		ck_assert_int_eq(child_exit(pid[i]), 0);
	size_t len;
	ck_assert_int_eq(brk_dict_len(c, "d", &len), BRK_OK);
	ck_assert_int_eq(len, 11);
	ck_assert_int_eq(brk_dict_keys(c, "d", &keys), BRK_OK);
	int seen_int[P] = {0}, seen_str = 0;
	size_t i;
	json_t *k;
	json_array_foreach (keys, i, k) {
		if (json_is_integer(k) && json_integer_value(k) >= 0 && json_integer_value(k) < P)
			seen_int[json_integer_value(k)]++;
		else
			seen_str += json_is_string(k) && !strcmp(json_string_value(k), "2");
	}
	ck_assert_int_eq(seen_str, 1);
	for (int n = 0; n < P; n++)
		ck_assert_int_eq(seen_int[n], 1);
	ck_assert_int_eq(brk_list_read(c, "l", &items), BRK_OK);
	ck_assert_int_eq(json_array_size(items), 15);
	int seen[P] = {0};
	for (i = 0; i < 15; i++) {
		json_int_t v = json_integer_value(json_array_get(items, i));
		if (i < 5)
			ck_assert_int_eq(v, (json_int_t)i);
		else if (v >= 0 && v < P)
			seen[v]++;
	}
	for (int n = 0; n < P; n++)
		ck_assert_int_eq(seen[n], 1);
	json_decref(start), json_decref(items), json_decref(keys);
}
END_TEST

START_TEST(libbroker_shared_state_calls_and_errors)
{
	json_t *v = NULL, *one = json_integer(1), *s = json_string("x");
	bool created, swapped, found;
	ck_assert_int_eq(brk_value_get(c, "v", &v), BRK_ENOTFOUND);
	ck_assert_int_eq(brk_value_create(c, "v", BRK_STR, s, &created), BRK_OK);
	ck_assert(created);
	ck_assert_int_eq(brk_value_create(c, "v", BRK_INT, NULL, &created), BRK_EEXISTS);
	ck_assert_int_eq(brk_value_set(c, "v", one), BRK_ETYPE);
	ck_assert_ptr_nonnull(strstr(brk_last_error(), "str"));
	ck_assert_int_eq(brk_value_cas(c, "v", s, s, &swapped, &v), BRK_OK);
	ck_assert(swapped);
	ck_assert_str_eq(json_string_value(v), "x");
	json_decref(v);
	ck_assert_int_eq(brk_list_pop(c, "l", -1, &v), BRK_EINDEX);
	ck_assert_int_eq(brk_namespace_get(c, "ns", "a", &v), BRK_EATTR);
	ck_assert_int_eq(brk_namespace_set(c, "ns", "a", one), BRK_OK);
	ck_assert_int_eq(brk_namespace_get(c, "ns", "a", &v), BRK_OK);
	ck_assert(json_equal(v, one));
	json_decref(v);

	/* slices and arrays */
	json_t *ten = json_pack("[iiiiiiiiii]", 0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
	ck_assert_int_eq(brk_list_extend(c, "l", ten), BRK_OK);
	ck_assert_int_eq(brk_list_get_slice(c, "l", (brk_slice){BRK_NONE, BRK_NONE, -4}, &v),
			 BRK_OK);
	ck_assert_int_eq(json_array_size(v), 3);
	ck_assert_int_eq(json_integer_value(json_array_get(v, 2)), 1);
	json_decref(v);
	ck_assert_int_eq(brk_list_delete_slice(c, "l", BRK_SLICE(2, BRK_NONE)), BRK_OK);
	ck_assert_int_eq(brk_list_contains(c, "l", one, &found), BRK_OK);
	ck_assert(found);
	ck_assert_int_eq(brk_array_create_from(c, "a", BRK_FLOAT, ten, &created), BRK_OK);
	ck_assert_int_eq(brk_array_add(c, "a", -1, one, &v), BRK_OK);
	ck_assert(json_real_value(v) == 10.0);
	json_decref(v);
	ck_assert_int_eq(brk_array_set_slice(c, "a", BRK_SLICE(0, 2), one), BRK_EBADARG);
	ck_assert_int_eq(brk_array_create(c, "a", BRK_STR, 3, NULL), BRK_EINVAL);

	/* versions and conditional writes */
	ck_assert_int_eq(brk_dict_set(c, "d", s, one), BRK_OK);
	uint64_t v1 = brk_last_version();
	ck_assert_uint_gt(v1, 0);
	ck_assert_int_eq(brk_dict_incr(c, "d", s, NULL, &v), BRK_OK);
	ck_assert_int_eq(json_integer_value(v), 2);
	json_decref(v);
	uint64_t v2 = brk_last_version();
	ck_assert_uint_gt(v2, v1);
	json_t *items = json_pack("{s:i}", "y", 5);
	ck_assert_int_eq(brk_dict_update_if(c, "d", items, v1), BRK_ECONFLICT);
	ck_assert_uint_eq(brk_last_version(), v2);
	ck_assert_int_eq(brk_dict_update_if(c, "d", items, v2), BRK_OK);
	ck_assert_int_eq(brk_dict_cas(c, "d", s, one, one, &swapped, &v), BRK_OK);
	ck_assert(!swapped);
	ck_assert_int_eq(json_integer_value(v), 2);
	json_decref(v);

	/* limits: a 2 MiB string fits in a message but not in a stored value */
	size_t big = (size_t)2 << 20;
	char *text = malloc(big + 1);
	memset(text, 'x', big);
	text[big] = '\0';
	json_t *huge = json_string(text);
	ck_assert_int_eq(brk_list_append(c, "l", huge), BRK_ELIMIT);
	ck_assert_uint_gt(brk_last_version(), 0); /* the list's, which the refusal left as it was */
	ck_assert_int_eq(brk_ping(c), BRK_OK);
	ck_assert_uint_eq(brk_last_version(), 0);
	ck_assert_int_eq(brk_ping(c), BRK_OK);
	free(text);
	json_decref(huge), json_decref(items), json_decref(ten), json_decref(one), json_decref(s);
}
END_TEST

START_TEST(a_batch_of_atomic_ops_runs_whole_or_not_at_all)
{
	ck_assert_int_eq(brk_value_create(c, "stock", BRK_INT, NULL, NULL), BRK_OK);
	ck_assert_int_eq(brk_value_add_int(c, "stock", 10, NULL), BRK_OK);
	uint64_t at = brk_last_version();
	json_t *ops = json_pack("[{s:s, s:s, s:i, s:I}, {s:s, s:s, s:s, s:i}]", "op", "value.add",
				"name", "stock", "delta", -3, "version", (json_int_t)at, "op",
				"dict.incr", "name", "sold", "key", "widgets", "by", 3);
	json_t *results = NULL, *r;
	ck_assert_int_eq(brk_batch(c, ops, &results), BRK_OK);
	ck_assert_int_eq(brk_batch_result(results, 0, &r), BRK_OK);
	ck_assert_int_eq(json_integer_value(r), 7);
	ck_assert_uint_gt(brk_batch_version(results, 1), at);
	json_decref(results);
	ck_assert_int_eq(brk_batch(c, ops, &results), BRK_ECONFLICT);
	ck_assert_int_eq(int_of("stock"), 7);
	json_t *key = json_string("widgets");
	ck_assert_int_eq(brk_dict_get(c, "sold", key, &r), BRK_OK);
	ck_assert_int_eq(json_integer_value(r), 3);
	json_decref(r), json_decref(key), json_decref(ops);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("state");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, get_then_set_loses_updates_atomic_ops_do_not);
	tcase_add_test(tc, the_classic_manager_example);
	tcase_add_test(tc, libbroker_shared_state_calls_and_errors);
	tcase_add_test(tc, a_batch_of_atomic_ops_runs_whole_or_not_at_all);
	suite_add_tcase(s, tc);
	return run_suite(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
