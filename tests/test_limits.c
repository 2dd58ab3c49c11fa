/* test_limits.c: what one client, or many, may take of a real brokerd (issue 13): the
 * connection limit and running out of descriptors turn new clients away at once, while
 * the clients already there are served. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "daemon.h"
#include "run_suite.h"

#define MANY 64

/* refused_count: info's refused_connections.field. */
static long refused_count(brk_client *c, const char *field)
{
	json_t *info = NULL;
	ck_assert_int_eq(brk_info(c, &info), BRK_OK);
	long n = (long)json_integer_value(
		json_object_get(json_object_get(info, "refused_connections"), field));
	json_decref(info);
	return n;
}

/* turned_away: a new client of d is refused quickly (its greeting fails, or its first call). */
static void assert_turned_away(const struct daemon *d)
{
	brk_client *x = NULL;
	double t0 = test_now();
	brk_err err = brk_connect(d->url, NULL, &x);
	if (err == BRK_OK) {
		err = brk_ping(x);
		brk_close(x);
	}
	ck_assert_int_ne(err, BRK_OK);
	ck_assert_msg(test_now() - t0 < 5, "a refused client waited %.1f s", test_now() - t0);
}

START_TEST(connections_past_max_clients_are_closed_at_once)
{
	struct daemon d;
	brk_client *in[3];
	daemon_start(&d, (const char *const[]){"--max-clients", "3", NULL});
	for (int i = 0; i < 3; i++)
		in[i] = connect_when_up(d.url);
	for (int i = 0; i < 3; i++)
		ck_assert_ptr_nonnull(in[i]);
	assert_turned_away(&d);
	for (int i = 0; i < 3; i++) /* the clients already in are served */
		ck_assert_int_eq(brk_ping(in[i]), BRK_OK);
	ck_assert_int_ge(refused_count(in[0], "max_clients"), 1);
	brk_close(in[2]);
	wait_sessions(in[0], 2);
	in[2] = daemon_client(&d); /* room again */
	ck_assert_int_eq(brk_ping(in[2]), BRK_OK);
	for (int i = 0; i < 3; i++)
		brk_close(in[i]);
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

START_TEST(out_of_descriptors_new_clients_are_turned_away)
{
	struct daemon d;
	brk_client *in[MANY];
	int n = 0;
	daemon_start(&d, NULL);
	brk_client *first = daemon_client(&d);
	/* brokerd sized max_clients for its own limit; lowering it under it now leaves
	 * room for a few connections only, as when descriptors run out */
	struct rlimit low = {24, 24};
	ck_assert_int_eq(prlimit(d.pid, RLIMIT_NOFILE, &low, NULL), 0);
	for (n = 0; n < MANY; n++) {
		brk_err err = brk_connect(d.url, NULL, &in[n]);
		if (err == BRK_OK && (err = brk_ping(in[n])) != BRK_OK)
			brk_close(in[n]);
		if (err != BRK_OK)
			break;
	}
	ck_assert_msg(n < MANY, "%d clients got in under a limit of 24 descriptors", n);
	assert_turned_away(&d);
	ck_assert_int_eq(brk_ping(first), BRK_OK);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(brk_ping(in[i]), BRK_OK);
	ck_assert_int_ge(refused_count(first, "no_fd"), 1);
	for (int i = 0; i < n; i++)
		brk_close(in[i]);
	brk_close(first);
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

START_TEST(max_clients_is_capped_by_the_descriptor_limit)
{
	struct daemon d;
	struct rlimit had, low = {64, 64};
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &had), 0);
	/* brokerd inherits the lower limit, and can raise it no higher */
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	daemon_start(&d, NULL);
	brk_client *c = daemon_client(&d);
	json_t *info = NULL;
	ck_assert_int_eq(brk_info(c, &info), BRK_OK);
	ck_assert_int_eq(json_integer_value(json_object_get(info, "max_clients")), 64 - 32);
	json_decref(info);
	brk_close(c);
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("limits");
	TCase *tc = tcase_create("limits");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, connections_past_max_clients_are_closed_at_once);
	tcase_add_test(tc, out_of_descriptors_new_clients_are_turned_away);
	tcase_add_test(tc, max_clients_is_capped_by_the_descriptor_limit);
	suite_add_tcase(s, tc);
	return run_suite(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
