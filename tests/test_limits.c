/* test_limits.c: what one client, or many, may take of a real brokerd (issue 13): the
 * connection limit and running out of descriptors turn new clients away at once, while
 * the clients already there are served. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "rawsp.h"
#include "run_suite.h"

#define MANY 64

/* info_count: info's group.field (refused_connections, closed_connections). */
static long info_count(brk_client *c, const char *group, const char *field)
{
	json_t *info = NULL;
	ck_assert_int_eq(brk_info(c, &info), BRK_OK);
	long n = (long)json_integer_value(json_object_get(json_object_get(info, group), field));
	json_decref(info);
	return n;
}

static long refused_count(brk_client *c, const char *field)
{
	return info_count(c, "refused_connections", field);
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

static long closed_count(brk_client *c, const char *field)
{
	return info_count(c, "closed_connections", field);
}

START_TEST(stalled_connections_are_closed_idle_ones_are_not)
{
	struct daemon d;
	struct sp mute, half, idle;
	unsigned char hdr[16];
	daemon_start(&d, (const char *const[]){"--stall-timeout", "0.5", NULL});
	brk_client *c = daemon_client(&d);
	/* no handshake at all */
	ck_assert_int_eq(sp_connect(&mute, d.url, NULL), 0);
	/* a handshake, then half a message: its header promises 100 bytes, 10 come */
	ck_assert_int_eq(sp_dial(&half, d.url, NULL), 0);
	size_t n = sp_frame_header(&half, hdr, 100);
	ck_assert_int_eq(sp_write(&half, hdr, n), 0);
	ck_assert_int_eq(sp_write(&half, "\x80\0\0\1{\"op\":", 10), 0);
	/* a handshake and nothing more: a client may stay silent between requests */
	ck_assert_int_eq(sp_dial(&idle, d.url, NULL), 0);
	double t0 = test_now();
	ck_assert(sp_closed(&mute, 5000));
	ck_assert(sp_closed(&half, 5000));
	ck_assert_msg(test_now() - t0 < 3, "closed after %.1f s", test_now() - t0);
	char *pong = sp_call(&idle, "{\"op\":\"ping\"}", 5000);
	ck_assert_ptr_nonnull(pong);
	ck_assert(strstr(pong, "pong") != NULL);
	free(pong);
	ck_assert_int_eq(closed_count(c, "handshake_timeout"), 1);
	ck_assert_int_eq(closed_count(c, "message_timeout"), 1);
	sp_close(&mute);
	sp_close(&half);
	sp_close(&idle);
	brk_close(c);
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

START_TEST(tcp_connections_keep_alive)
{
	struct daemon d;
	struct sp s;
	char url[64], filter[64], out[4096];
	int port = free_tcp_port();
	const char *ss = access("/usr/bin/ss", X_OK) == 0 ? "/usr/bin/ss" : "/bin/ss";
	if (access(ss, X_OK) != 0) {
		fprintf(stderr, "skipped: no ss(8) to see brokerd's socket options\n");
		return;
	}
	snprintf(url, sizeof url, "tcp://127.0.0.1:%d", port);
	daemon_start(&d, (const char *const[]){"--listen", url, NULL});
	ck_assert_int_eq(sp_dial(&s, url, NULL), 0);
	/* brokerd's end of the connection is the socket whose source port is the listener's:
	 * ss shows its keepalive timer, armed for CONN_KEEPALIVE_IDLE seconds */
	snprintf(filter, sizeof filter, "( sport = :%d )", port);
	ck_assert_int_eq(
		run_tool((char *[]){(char *)ss, "-tnoH", "state", "established", filter, NULL}, out,
			 sizeof out),
		0);
	ck_assert_msg(strstr(out, "timer:(keepalive,") != NULL, "ss: %s", out);
	sp_close(&s);
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

/* as_user: brokerctl ping against url as uid:gid (no other groups), through setpriv; its
 * exit status (0: pong). */
static int ping_as(const char *url, int uid, int gid)
{
	char ruid[32], rgid[32], out[1024];
	snprintf(ruid, sizeof ruid, "--reuid=%d", uid);
	snprintf(rgid, sizeof rgid, "--regid=%d", gid);
	return run_tool((char *[]){"/usr/bin/setpriv", ruid, rgid, "--clear-groups", BROKERCTL_BIN,
				   "--url", (char *)url, "ping", NULL},
			out, sizeof out);
}

/* can_switch_users: root with setpriv: the tests of other users' access can run. */
static bool can_switch_users(void)
{
	if (geteuid() == 0 && access("/usr/bin/setpriv", X_OK) == 0)
		return true;
	fprintf(stderr, "skipped: needs root and setpriv(1) to connect as other users\n");
	return false;
}

START_TEST(only_allowed_ipc_peers_get_in)
{
	struct daemon d;
	if (!can_switch_users())
		return;
	daemon_start(&d, (const char *const[]){"--ipc-mode", "0666", "--ipc-allow-uid", "4321",
					       "--ipc-allow-gid", "4322", NULL});
	ck_assert_int_eq(chmod(d.dir, 0755), 0); /* let other users reach the socket file */
	brk_client *c = daemon_client(&d);
	ck_assert_int_eq(ping_as(d.url, 65534, 65534), 3); /* nobody: closed at once */
	ck_assert_int_eq(ping_as(d.url, 65534, 65534), 3);
	ck_assert_int_eq(ping_as(d.url, 4321, 65534), 0); /* a listed user */
	ck_assert_int_eq(ping_as(d.url, 65534, 4322), 0); /* a member of a listed group */
	ck_assert_int_eq(brk_ping(c), BRK_OK);            /* root */
	ck_assert_int_eq(refused_count(c, "ipc_peer"), 2);
	brk_close(c);
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

START_TEST(a_group_may_share_the_socket)
{
	struct daemon d;
	struct stat st;
	char path[160];
	if (!can_switch_users())
		return;
	daemon_start(&d, (const char *const[]){"--ipc-mode", "0660", "--ipc-group", "4322", NULL});
	ck_assert_int_eq(chmod(d.dir, 0755), 0);
	snprintf(path, sizeof path, "%s/b.sock", d.dir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_gid, 4322);
	ck_assert_int_eq(st.st_mode & 0777, 0660);
	ck_assert_int_eq(ping_as(d.url, 65534, 4322), 0);  /* in the group */
	ck_assert_int_eq(ping_as(d.url, 65534, 65534), 3); /* not: the file's mode stops it */
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

/* as_other: spawns brokerd as uid:gid 4321 (through setpriv) with args (NULL-ended). */
static pid_t brokerd_as_other(const char *url, const char *arg)
{
	return spawn((char *[]){"/usr/bin/setpriv", "--reuid=4321", "--regid=4321",
				"--clear-groups", BROKERD_BIN, "--listen", (char *)url,
				"--log-level", "warn", (char *)arg, NULL});
}

START_TEST(clients_talk_only_to_a_trusted_daemon)
{
	char dir[] = "/tmp/brokerd-other-XXXXXX", url[128], sock[96];
	brk_client *x = NULL;
	if (!can_switch_users())
		return;
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chown(dir, 4321, 4321), 0);
	snprintf(sock, sizeof sock, "%s/b.sock", dir);
	snprintf(url, sizeof url, "ipc://%s", sock);
	pid_t pid = brokerd_as_other(url, NULL);
	unsetenv("BROKERD_DAEMON_UID");
	for (int i = 0; i < 500 && access(sock, F_OK) != 0; i++)
		usleep(10000);
	/* another user's daemon: nothing is sent to it */
	ck_assert_int_eq(brk_connect(url, NULL, &x), BRK_ECONNECT);
	ck_assert_ptr_nonnull(strstr(brk_last_error(), "runs as uid 4321"));
	setenv("BROKERD_DAEMON_UID", "4321", 1); /* unless the user says to trust it */
	x = connect_when_up(url);
	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(brk_ping(x), BRK_OK);
	brk_close(x);
	unsetenv("BROKERD_DAEMON_UID");
	kill(pid, SIGTERM);
	ck_assert_int_eq(child_exit(pid), 0);
	unlink(sock);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(the_socket_directory_must_be_safe)
{
	char dir[] = "/tmp/brokerd-dir-XXXXXX", url[96], out[1024];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(url, sizeof url, "ipc://%s/b.sock", dir);
	char *argv[] = {BROKERD_BIN, "--listen", url, NULL};
	ck_assert_int_eq(chmod(dir, 0777), 0); /* anyone could swap the socket */
	ck_assert_int_eq(run_tool(argv, out, sizeof out), 1);
	if (geteuid() == 0) {
		ck_assert_int_eq(chmod(dir, 0700), 0);
		ck_assert_int_eq(chown(dir, 4321, 4321), 0); /* another user's */
		ck_assert_int_eq(run_tool(argv, out, sizeof out), 1);
	}
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* ---- what one session may hold ---- */

/* big_put: a queue.put request of a string of n bytes into queue name (malloc'd). */
static char *big_put(const char *name, size_t n)
{
	char *req = malloc(n + 128);
	int head = sprintf(req, "{\"op\":\"queue.put\",\"name\":\"%s\",\"value\":\"", name);
	memset(req + head, 'x', n);
	strcpy(req + head + n, "\"}");
	return req;
}

/* memory_field: info's memory.field ("used", "max"). */
static long long memory_field(struct sp *s, const char *field)
{
	json_t *info = sp_call_json(s, "{\"op\":\"info\"}");
	json_t *mem = json_object_get(json_object_get(info, "result"), "memory");
	long long v = json_integer_value(json_object_get(mem, field));
	json_decref(info);
	return v;
}

START_TEST(max_memory_refuses_writes_while_reads_gets_and_deletes_go_on)
{
	struct daemon d;
	struct sp s;
	char msg[512];
	daemon_start(&d, (const char *const[]){"--max-memory", "40M", NULL});
	ck_assert_int_eq(sp_dial(&s, d.url, NULL), 0);
	ck_assert_int_eq(memory_field(&s, "max"), 40 << 20);
	char *put = big_put("big", 1 << 20);
	int n = 0;
	while (n < 100 && !strcmp(sp_code(&s, put, msg, sizeof msg), "ok"))
		n++;
	ck_assert_msg(n >= 20 && n < 40, "%d puts of 1 MiB before the limit", n);
	ck_assert_str_eq(sp_code(&s, put, msg, sizeof msg), "out_of_memory");
	ck_assert_msg(strstr(msg, "max-memory of 40 MiB") != NULL, "%s", msg);
	ck_assert_int_le(memory_field(&s, "used"), 42 << 20);
	/* reads, gets and deletes go on */
	ck_assert_str_eq(sp_code(&s, "{\"op\":\"queue.qsize\",\"name\":\"big\"}", NULL, 0), "ok");
	ck_assert_str_eq(sp_code(&s, "{\"op\":\"queue.get_nowait\",\"name\":\"big\"}", NULL, 0),
			 "ok");
	ck_assert_str_eq(sp_code(&s, "{\"op\":\"del\",\"name\":\"big\"}", NULL, 0), "ok");
	ck_assert_str_eq(sp_code(&s, put, NULL, 0), "ok"); /* room again */
	free(put);
	sp_close(&s);
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

START_TEST(a_parked_put_counts_against_max_memory)
{
	struct daemon d;
	struct sp s, t;
	daemon_start(&d,
		     (const char *const[]){"--max-memory", "64M", "--max-message", "64M", NULL});
	ck_assert_int_eq(sp_dial(&s, d.url, NULL), 0);
	ck_assert_int_eq(sp_dial(&t, d.url, NULL), 0);
	ck_assert_str_eq(
		sp_code(&s, "{\"op\":\"queue.create\",\"name\":\"one\",\"maxsize\":1}", NULL, 0),
		"ok");
	ck_assert_str_eq(
		sp_code(&s, "{\"op\":\"queue.put\",\"name\":\"one\",\"value\":1}", NULL, 0), "ok");
	long long before = memory_field(&t, "used");
	char *put = big_put("one", 12 << 20); /* parks: the queue is full */
	ck_assert_int_eq(sp_send(&s, 0x80000100u, put, strlen(put)), 0);
	free(put);
	long long during = before;
	for (int i = 0; i < 500 && during < before + (12 << 20); i++, usleep(10000))
		during = memory_field(&t, "used");
	ck_assert_msg(during >= before + (12 << 20), "used %lld, then %lld", before, during);
	/* and what it holds leaves room for less */
	char *more = big_put("other", 40 << 20);
	ck_assert_str_eq(sp_code(&t, more, NULL, 0), "out_of_memory");
	free(more);
	sp_close(&s);
	sp_close(&t);
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

START_TEST(a_session_creates_at_most_max_session_objects)
{
	struct daemon d;
	struct sp a, b;
	char req[128], msg[256];
	daemon_start(&d, (const char *const[]){"--max-session-objects", "3", NULL});
	ck_assert_int_eq(sp_dial(&a, d.url, NULL), 0);
	ck_assert_int_eq(sp_dial(&b, d.url, NULL), 0);
	for (int i = 0; i < 3; i++) {
		snprintf(req, sizeof req, "{\"op\":\"queue.put\",\"name\":\"q%d\",\"value\":1}", i);
		ck_assert_str_eq(sp_code(&a, req, NULL, 0), "ok");
	}
	ck_assert_str_eq(sp_code(&a, "{\"op\":\"event.set\",\"name\":\"e\"}", msg, sizeof msg),
			 "limit_exceeded");
	ck_assert_msg(strstr(msg, "max-session-objects") != NULL, "%s", msg);
	/* objects that exist are used as before; another session has its own count */
	ck_assert_str_eq(sp_code(&a, "{\"op\":\"queue.put\",\"name\":\"q0\",\"value\":2}", NULL, 0),
			 "ok");
	ck_assert_str_eq(sp_code(&b, "{\"op\":\"event.set\",\"name\":\"e\"}", NULL, 0), "ok");
	/* a deleted object leaves room */
	ck_assert_str_eq(sp_code(&b, "{\"op\":\"del\",\"name\":\"q1\"}", NULL, 0), "ok");
	ck_assert_str_eq(sp_code(&a, "{\"op\":\"lock.acquire\",\"name\":\"l\"}", NULL, 0), "ok");
	json_t *ss = sp_call_json(&a, "{\"op\":\"sessions\"}");
	json_t *me = json_array_get(json_object_get(ss, "result"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(me, "objects")), 3);
	json_decref(ss);
	sp_close(&a);
	sp_close(&b);
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

/* park: sends n queue.get requests (30 s) on s without reading their replies. */
static void park(struct sp *s, int n, uint32_t first_id)
{
	const char *get = "{\"op\":\"queue.get\",\"name\":\"empty\",\"timeout\":30}";
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(sp_send(s, first_id + (uint32_t)i, get, strlen(get)), 0);
}

START_TEST(a_session_parks_and_has_in_flight_at_most_its_limits)
{
	struct daemon d;
	struct sp s;
	char msg[256];
	daemon_start(&d, (const char *const[]){"--max-session-parked", "2", NULL});
	ck_assert_int_eq(sp_dial(&s, d.url, NULL), 0);
	park(&s, 2, 0x80001000u);
	ck_assert_str_eq(sp_code(&s, "{\"op\":\"queue.get\",\"name\":\"empty\",\"timeout\":30}",
				 msg, sizeof msg),
			 "limit_exceeded");
	ck_assert_msg(strstr(msg, "max-session-parked") != NULL, "%s", msg);
	ck_assert_str_eq(sp_code(&s, "{\"op\":\"ping\"}", NULL, 0), "ok");
	sp_close(&s);
	ck_assert_int_eq(daemon_stop(&d), 0);
	/* in flight: requests not answered yet, parked ones included */
	daemon_start(&d, (const char *const[]){"--max-session-requests", "3", NULL});
	ck_assert_int_eq(sp_dial(&s, d.url, NULL), 0);
	park(&s, 3, 0x80002000u);
	ck_assert_str_eq(sp_code(&s, "{\"op\":\"ping\"}", msg, sizeof msg), "limit_exceeded");
	ck_assert_msg(strstr(msg, "max-session-requests") != NULL, "%s", msg);
	sp_close(&s);
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

START_TEST(a_reply_over_max_reply_is_too_big_with_a_hint)
{
	struct daemon d;
	struct sp s;
	char msg[512], req[256];
	daemon_start(&d, (const char *const[]){"--max-message", "1M", "--max-reply", "1M", NULL});
	ck_assert_int_eq(sp_dial(&s, d.url, NULL), 0);
	for (int i = 0; i < 3; i++) { /* 3 values of 400 KB: a dict of 1.2 MB */
		char *put = big_put("x", 400000);
		snprintf(req, sizeof req, "{\"op\":\"dict.set\",\"name\":\"d\",\"key\":\"k%d\",",
			 i);
		char *set = malloc(strlen(put) + 64);
		sprintf(set, "%s%s", req, strstr(put, "\"value\""));
		ck_assert_str_eq(sp_code(&s, set, NULL, 0), "ok");
		free(put);
		free(set);
	}
	ck_assert_str_eq(sp_code(&s, "{\"op\":\"dict.items\",\"name\":\"d\"}", msg, sizeof msg),
			 "too_big");
	ck_assert_msg(strstr(msg, "limit and after") != NULL, "%s", msg);
	ck_assert_str_eq(sp_code(&s, "{\"op\":\"dict.items\",\"name\":\"d\",\"limit\":2}", NULL, 0),
			 "ok");
	json_t *info = sp_call_json(&s, "{\"op\":\"info\"}");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(info, "result"),
							    "replies_too_big")),
			 1);
	json_decref(info);
	/* a client may lower its limit, not below what it may send */
	ck_assert_str_eq(sp_code(&s, "{\"op\":\"hello\",\"max_reply\":1000}", NULL, 0),
			 "bad_argument");
	sp_close(&s);
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
	tcase_add_test(tc, stalled_connections_are_closed_idle_ones_are_not);
	tcase_add_test(tc, tcp_connections_keep_alive);
	tcase_add_test(tc, only_allowed_ipc_peers_get_in);
	tcase_add_test(tc, a_group_may_share_the_socket);
	tcase_add_test(tc, clients_talk_only_to_a_trusted_daemon);
	tcase_add_test(tc, the_socket_directory_must_be_safe);
	tcase_add_test(tc, max_memory_refuses_writes_while_reads_gets_and_deletes_go_on);
	tcase_add_test(tc, a_parked_put_counts_against_max_memory);
	tcase_add_test(tc, a_session_creates_at_most_max_session_objects);
	tcase_add_test(tc, a_session_parks_and_has_in_flight_at_most_its_limits);
	tcase_add_test(tc, a_reply_over_max_reply_is_too_big_with_a_hint);
	suite_add_tcase(s, tc);
	return run_suite(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
