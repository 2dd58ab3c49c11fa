/* test_admin.c: what operators use on a real brokerd (issue 14): queue.peek and
 * queue.purge, kick, shutdown, info's counters, and what brokerd tells systemd. */
#include <check.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "rawsp.h"
#include "run_suite.h"

/* result: the result of request on s (new), failing the test on an error reply. */
static json_t *result(struct sp *s, const char *request)
{
	json_t *reply = sp_call_json(s, request);
	ck_assert_msg(json_is_true(json_object_get(reply, "ok")), "%s: %s", request,
		      json_string_value(json_object_get(reply, "message")));
	json_t *r = json_incref(json_object_get(reply, "result"));
	json_decref(reply);
	return r;
}

/* assert_result: the result of request, as compact JSON, is want. */
static void assert_result(struct sp *s, const char *request, const char *want)
{
	json_t *r = result(s, request);
	char *text = json_dumps(r, JSON_COMPACT | JSON_ENCODE_ANY);
	ck_assert_str_eq(text, want);
	free(text);
	json_decref(r);
}

static void put(struct sp *s, const char *queue, const char *value, int priority)
{
	char req[256];
	if (priority >= 0)
		snprintf(req, sizeof req,
			 "{\"op\":\"queue.put\",\"name\":\"%s\",\"value\":%s,\"priority\":%d}",
			 queue, value, priority);
	else
		snprintf(req, sizeof req, "{\"op\":\"queue.put\",\"name\":\"%s\",\"value\":%s}",
			 queue, value);
	ck_assert_str_eq(sp_code(s, req, NULL, 0), "ok");
}

START_TEST(queue_peek_shows_the_next_items_in_get_order_without_taking_them)
{
	struct daemon d;
	struct sp s;
	daemon_start(&d, NULL);
	ck_assert_int_eq(sp_dial(&s, d.url, NULL), 0);
	ck_assert_str_eq(
		sp_code(&s, "{\"op\":\"queue.create\",\"name\":\"l\",\"kind\":\"lifo\"}", NULL, 0),
		"ok");
	ck_assert_str_eq(sp_code(&s,
				 "{\"op\":\"queue.create\",\"name\":\"p\",\"kind\":\"priority\"}",
				 NULL, 0),
			 "ok");
	for (int i = 1; i <= 3; i++) {
		char v[8];
		snprintf(v, sizeof v, "%d", i);
		put(&s, "f", v, -1);
		put(&s, "l", v, -1);
	}
	put(&s, "p", "\"a\"", 5);
	put(&s, "p", "\"b\"", 1);
	put(&s, "p", "\"c\"", 3);
	put(&s, "p", "\"d\"", 1);
	put(&s, "p", "\"e\"", 9);
	assert_result(&s, "{\"op\":\"queue.peek\",\"name\":\"f\",\"n\":2}", "[1,2]");
	assert_result(&s, "{\"op\":\"queue.peek\",\"name\":\"l\",\"n\":2}", "[3,2]");
	assert_result(&s, "{\"op\":\"queue.peek\",\"name\":\"p\",\"n\":4}",
		      "[\"b\",\"d\",\"c\",\"a\"]");
	assert_result(&s, "{\"op\":\"queue.peek\",\"name\":\"p\",\"n\":100}",
		      "[\"b\",\"d\",\"c\",\"a\",\"e\"]");
	assert_result(&s, "{\"op\":\"queue.peek\",\"name\":\"f\"}", "[1]");
	assert_result(&s, "{\"op\":\"queue.qsize\",\"name\":\"p\"}", "5"); /* nothing taken */
	assert_result(&s, "{\"op\":\"queue.get_nowait\",\"name\":\"p\"}", "\"b\"");
	/* a missing queue is empty, and stays missing */
	assert_result(&s, "{\"op\":\"queue.peek\",\"name\":\"none\",\"n\":3}", "[]");
	ck_assert_str_eq(sp_code(&s, "{\"op\":\"stat\",\"name\":\"none\"}", NULL, 0), "not_found");
	ck_assert_str_eq(sp_code(&s, "{\"op\":\"queue.peek\",\"name\":\"f\",\"n\":0}", NULL, 0),
			 "bad_argument");
	ck_assert_str_eq(sp_code(&s, "{\"op\":\"queue.peek\",\"name\":\"f\",\"n\":101}", NULL, 0),
			 "bad_argument");
	sp_close(&s);
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

START_TEST(purge_empties_a_queue_and_lets_parked_putters_in)
{
	struct daemon d;
	struct sp s, putter;
	uint32_t id;
	char *body;
	size_t len;
	daemon_start(&d, NULL);
	ck_assert_int_eq(sp_dial(&s, d.url, NULL), 0);
	ck_assert_int_eq(sp_dial(&putter, d.url, NULL), 0);
	ck_assert_str_eq(
		sp_code(&s, "{\"op\":\"queue.create\",\"name\":\"q\",\"maxsize\":2}", NULL, 0),
		"ok");
	put(&s, "q", "1", -1);
	put(&s, "q", "2", -1);
	const char *parked = "{\"op\":\"queue.put\",\"name\":\"q\",\"value\":3,\"timeout\":30}";
	ck_assert_int_eq(sp_send(&putter, 0x80000007u, parked, strlen(parked)), 0);
	ck_assert_int_eq(sp_recv(&putter, &id, &body, &len, 200), -1); /* parked: no reply */
	assert_result(&s, "{\"op\":\"queue.purge\",\"name\":\"q\"}", "{\"purged\":2}");
	ck_assert_int_eq(sp_recv(&putter, &id, &body, &len, 5000), 1);
	ck_assert_uint_eq(id, 0x80000007u);
	ck_assert_str_eq(body, "{\"ok\":true,\"result\":null}");
	free(body);
	assert_result(&s, "{\"op\":\"queue.peek\",\"name\":\"q\",\"n\":5}", "[3]");
	/* the purged items count as done: one task is left, the parked putter's */
	ck_assert_str_eq(
		sp_code(&s, "{\"op\":\"queue.join\",\"name\":\"q\",\"timeout\":0}", NULL, 0),
		"timeout");
	ck_assert_str_eq(sp_code(&s, "{\"op\":\"queue.task_done\",\"name\":\"q\"}", NULL, 0), "ok");
	ck_assert_str_eq(
		sp_code(&s, "{\"op\":\"queue.join\",\"name\":\"q\",\"timeout\":0}", NULL, 0), "ok");
	sp_close(&s);
	sp_close(&putter);
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

/* session_id: the id of s's session (hello). */
static long long session_id(struct sp *s)
{
	json_t *hello = result(s, "{\"op\":\"hello\"}");
	long long id = json_integer_value(json_object_get(hello, "session"));
	json_decref(hello);
	return id;
}

/* acquired: whether the lock.acquire request got the lock. */
static bool acquired(struct sp *s, const char *request)
{
	json_t *r = result(s, request);
	bool got = json_is_true(json_object_get(r, "acquired"));
	json_decref(r);
	return got;
}

START_TEST(kick_ends_a_session_and_releases_what_it_held)
{
	struct daemon d;
	struct sp admin, stuck;
	char req[128];
	daemon_start(&d, NULL);
	ck_assert_int_eq(sp_dial(&admin, d.url, NULL), 0);
	ck_assert_int_eq(sp_dial(&stuck, d.url, NULL), 0);
	const char *try_lock = "{\"op\":\"lock.acquire\",\"name\":\"L\",\"timeout\":0}";
	ck_assert(acquired(&stuck, try_lock));
	ck_assert(!acquired(&admin, try_lock));
	snprintf(req, sizeof req, "{\"op\":\"kick\",\"session\":%lld}", session_id(&stuck));
	assert_result(&admin, req, "true");
	ck_assert(sp_closed(&stuck, 5000));
	ck_assert(acquired(&admin, try_lock)); /* released when its session ended */
	ck_assert_str_eq(sp_code(&admin, req, NULL, 0), "not_found"); /* gone already */
	snprintf(req, sizeof req, "{\"op\":\"kick\",\"session\":%lld}", session_id(&admin));
	ck_assert_str_eq(sp_code(&admin, req, NULL, 0), "bad_argument");
	sp_close(&stuck);
	sp_close(&admin);
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

START_TEST(the_shutdown_op_stops_brokerd_as_sigterm_does)
{
	struct daemon d;
	struct sp s, other;
	daemon_start(&d, NULL);
	ck_assert_int_eq(sp_dial(&s, d.url, NULL), 0);
	ck_assert_int_eq(sp_dial(&other, d.url, NULL), 0);
	const char *get = "{\"op\":\"queue.get\",\"name\":\"q\",\"timeout\":30}";
	ck_assert_int_eq(sp_send(&other, 0x80000009u, get, strlen(get)), 0);
	assert_result(&s, "{\"op\":\"shutdown\"}", "true");
	uint32_t id;
	char *body;
	size_t len;
	ck_assert_int_eq(sp_recv(&other, &id, &body, &len, 5000), 1);
	ck_assert_ptr_nonnull(strstr(body, "shutting_down"));
	free(body);
	ck_assert_int_eq(child_exit(d.pid), 0);
	sp_close(&s);
	sp_close(&other);
	char sock[160];
	snprintf(sock, sizeof sock, "%s/b.sock", d.dir);
	unlink(sock);
	ck_assert_int_eq(rmdir(d.dir), 0);
}
END_TEST

START_TEST(info_counts_ops_bytes_and_errors)
{
	struct daemon d;
	struct sp s;
	daemon_start(&d, NULL);
	ck_assert_int_eq(sp_dial(&s, d.url, NULL), 0);
	for (int i = 0; i < 3; i++)
		put(&s, "q", "1", -1);
	ck_assert_str_eq(sp_code(&s, "{\"op\":\"queue.get_nowait\",\"name\":\"e\"}", NULL, 0),
			 "empty");
	json_t *info = result(&s, "{\"op\":\"info\"}");
	json_t *ops = json_object_get(info, "ops");
	json_t *puts = json_object_get(json_object_get(ops, "by_op"), "queue.put");
	ck_assert_int_eq(json_integer_value(json_object_get(puts, "calls")), 3);
	ck_assert_int_ge(json_integer_value(json_object_get(ops, "total")), 4);
	ck_assert_int_eq(
		json_integer_value(json_object_get(json_object_get(info, "errors"), "empty")), 1);
	ck_assert_int_gt(json_integer_value(json_object_get(json_object_get(info, "bytes"), "in")),
			 150);
	ck_assert_int_gt(
		json_integer_value(json_object_get(json_object_get(info, "memory"), "used")), 0);
	json_decref(info);
	sp_close(&s);
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

/* ---- systemd's notification protocol, on a socket of the test's own ---- */

/* notify_socket: a datagram socket bound at path, set as $NOTIFY_SOCKET. */
static int notify_socket(char *path, size_t size)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(path, size, "/tmp/brokerd-notify-%d.sock", (int)getpid());
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	setenv("NOTIFY_SOCKET", path, 1);
	return fd;
}

/* await_state: reads datagrams from fd until one starts with want (5 s at most); each one
 * read is appended to log. */
static bool await_state(int fd, const char *want, char *log, size_t size)
{
	struct timeval tv = {0, 100000};
	double end = test_now() + 5;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	while (test_now() < end) {
		char msg[512];
		ssize_t n = recv(fd, msg, sizeof msg - 1, 0);
		if (n <= 0)
			continue;
		msg[n] = 0;
		snprintf(log + strlen(log), size - strlen(log), "%s|", msg);
		if (!strncmp(msg, want, strlen(want)))
			return true;
	}
	return false;
}

START_TEST(brokerd_tells_systemd_ready_status_watchdog_and_stopping)
{
	struct daemon d;
	char path[96], log[4096] = "";
	int fd = notify_socket(path, sizeof path);
	setenv("WATCHDOG_USEC", "400000", 1); /* a ping every 0.2 s */
	daemon_start(&d, NULL);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	ck_assert_msg(await_state(fd, "READY=1", log, sizeof log), "%s", log);
	ck_assert_msg(await_state(fd, "WATCHDOG=1", log, sizeof log), "%s", log);
	ck_assert_msg(await_state(fd, "STATUS=", log, sizeof log), "%s", log);
	ck_assert_msg(strstr(log, "sessions") != NULL, "%s", log);
	ck_assert_msg(await_state(fd, "WATCHDOG=1", log, sizeof log), "%s", log);
	kill(d.pid, SIGTERM);
	ck_assert_msg(await_state(fd, "STOPPING=1", log, sizeof log), "%s", log);
	ck_assert_int_eq(daemon_stop(&d), 0);
	close(fd);
	unlink(path);
}
END_TEST

/* run_logging: brokerd on a socket in dir, its stderr into the file at log (with
 * $JOURNAL_STREAM naming that file when journal), stopped once it answered; its output. */
static void run_logging(const char *dir, const char *log, bool journal, char *out, size_t size)
{
	char url[160], env[64];
	struct stat st;
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	snprintf(env, sizeof env, "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	snprintf(url, sizeof url, "ipc://%s/b.sock", dir);
	pid_t pid = test_fork();
	if (pid == 0) {
		dup2(fd, STDERR_FILENO);
		if (journal)
			setenv("JOURNAL_STREAM", env, 1);
		execl(BROKERD_BIN, BROKERD_BIN, "--listen", url, "--log-level", "info", NULL);
		_exit(127);
	}
	close(fd);
	brk_client *c = connect_when_up(url);
	ck_assert_ptr_nonnull(c);
	brk_close(c);
	kill(pid, SIGTERM);
	ck_assert_int_eq(child_exit(pid), 0);
	FILE *f = fopen(log, "r");
	size_t n = fread(out, 1, size - 1, f);
	out[n] = 0;
	fclose(f);
}

START_TEST(log_lines_carry_their_priority_for_the_journal_and_a_time_elsewhere)
{
	char dir[] = "/tmp/brokerd-log-XXXXXX", log[96], out[8192];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(log, sizeof log, "%s/stderr", dir);
	run_logging(dir, log, true, out, sizeof out);
	ck_assert_msg(!strncmp(out, "<6>", 3), "%s", out);
	ck_assert_msg(strstr(out, "\n<6>brokerd ") != NULL, "%s", out); /* "brokerd 0.1 ready" */
	ck_assert_msg(strstr(out, "brokerd[") == NULL, "journald adds the name itself: %s", out);
	run_logging(dir, log, false, out, sizeof out);
	ck_assert_msg(strlen(out) > 30 && out[4] == '-' && out[10] == 'T' && out[23] == 'Z' &&
			      strstr(out, "Z brokerd[") != NULL && strstr(out, "]: info: ") != NULL,
		      "%s", out);
	unlink(log);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* session_objects_limit: info's session_limits.objects. */
static long long session_objects_limit(struct sp *s)
{
	json_t *info = result(s, "{\"op\":\"info\"}");
	long long v = json_integer_value(
		json_object_get(json_object_get(info, "session_limits"), "objects"));
	json_decref(info);
	return v;
}

/* await_log: whether d's stderr comes to hold text within 5 s. */
static bool await_log(const struct daemon *d, const char *text)
{
	static char log[32768];
	for (double end = test_now() + 5; test_now() < end; usleep(20000)) {
		daemon_stderr(d, log, sizeof log);
		if (strstr(log, text))
			return true;
	}
	return false;
}

#define TOKEN "reload-token-0123456789"

START_TEST(sighup_reloads_roles_and_limits_while_clients_stay_connected)
{
	struct daemon d = {0};
	struct sp s;
	char conf[] = "/tmp/brokerd-reload-XXXXXX", data[] = "/tmp/brokerd-reload-data-XXXXXX",
	     tcp[64], text[512];
	close(mkstemp(conf));
	ck_assert_ptr_nonnull(mkdtemp(data));
	write_file(conf,
		   "{\"principals\": [{\"name\": \"app\", \"token\": \"" TOKEN
		   "\", \"role\": \"ro\"}], \"max_session_objects\": \"100\"}",
		   0600);
	snprintf(tcp, sizeof tcp, "tcp://127.0.0.1:%d", free_tcp_port());
	daemon_start_on(&d, NULL, (const char *const[]){"--config", conf, "--listen", tcp, NULL});
	ck_assert_int_eq(sp_dial(&s, tcp, NULL), 0);
	ck_assert_str_eq(sp_code(&s, "{\"op\":\"hello\",\"token\":\"" TOKEN "\"}", NULL, 0), "ok");
	ck_assert_str_eq(sp_code(&s, "{\"op\":\"queue.put\",\"name\":\"a\",\"value\":1}", NULL, 0),
			 "forbidden");
	/* rw now, one object a session, and a data dir (which needs a restart) */
	snprintf(text, sizeof text,
		 "{\"principals\": [{\"name\": \"app\", \"token\": \"" TOKEN
		 "\", \"role\": \"rw\"}], \"max_session_objects\": \"1\", \"data_dir\": \"%s\"}",
		 data);
	write_file(conf, text, 0600);
	kill(d.pid, SIGHUP);
	ck_assert(await_log(&d, "config reloaded"));
	ck_assert(await_log(&d, "the data dir settings changed"));
	ck_assert_int_eq(session_objects_limit(&s), 1);
	ck_assert_str_eq(sp_code(&s, "{\"op\":\"queue.put\",\"name\":\"a\",\"value\":1}", NULL, 0),
			 "ok"); /* the same session, with its principal's new role */
	ck_assert_str_eq(sp_code(&s, "{\"op\":\"queue.put\",\"name\":\"b\",\"value\":1}", NULL, 0),
			 "limit_exceeded");
	/* a config with errors changes nothing */
	write_file(conf, "{\"max_session_objects\": ", 0600);
	kill(d.pid, SIGHUP);
	ck_assert(await_log(&d, "the one running stays"));
	ck_assert_int_eq(session_objects_limit(&s), 1);
	sp_close(&s);
	char path[160];
	snprintf(path, sizeof path, "%s/stderr", d.dir);
	unlink(path);
	ck_assert_int_eq(daemon_stop(&d), 0);
	unlink(conf);
	ck_assert_int_eq(rmdir(data), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("admin");
	TCase *tc = tcase_create("admin");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, queue_peek_shows_the_next_items_in_get_order_without_taking_them);
	tcase_add_test(tc, purge_empties_a_queue_and_lets_parked_putters_in);
	tcase_add_test(tc, kick_ends_a_session_and_releases_what_it_held);
	tcase_add_test(tc, the_shutdown_op_stops_brokerd_as_sigterm_does);
	tcase_add_test(tc, info_counts_ops_bytes_and_errors);
	tcase_add_test(tc, brokerd_tells_systemd_ready_status_watchdog_and_stopping);
	tcase_add_test(tc, log_lines_carry_their_priority_for_the_journal_and_a_time_elsewhere);
	tcase_add_test(tc, sighup_reloads_roles_and_limits_while_clients_stay_connected);
	suite_add_tcase(s, tc);
	return run_suite(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
