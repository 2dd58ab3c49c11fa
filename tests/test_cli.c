/* test_cli.c: brokerctl and brokerd's command lines as a user meets them: outputs, exit
 * statuses (0 ok, 1 error reply, 2 usage, 3 cannot connect) and configuration. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "daemon.h"
#include "run_suite.h"

static struct daemon d;
static char out[65536];

static void setup(void)
{
	daemon_start(&d, NULL);
}

static void teardown(void)
{
	ck_assert_int_eq(daemon_stop(&d), 0);
}

/* ctl: runs brokerctl --url URL args... (NULL-terminated); output in out. */
#define ctl(...) ctl_argv((char *[]){BROKERCTL_BIN, "--url", d.url, __VA_ARGS__, NULL})

static int ctl_argv(char **argv)
{
	return run_tool(argv, out, sizeof out);
}

START_TEST(save_compacts_a_data_dir)
{
	char dir[] = "/tmp/brokerd-save-XXXXXX", path[64], url[160];
	struct daemon dd;
	ck_assert_int_eq(ctl("save"), 1); /* no data dir: a storage error */
	ck_assert_ptr_nonnull(mkdtemp(dir));
	daemon_start(&dd, (const char *const[]){"--data-dir", dir, NULL});
	snprintf(url, sizeof url, "%s", dd.url);
	ck_assert_int_eq(
		ctl_argv((char *[]){BROKERCTL_BIN, "--url", url, "queue", "put", "q", "1", NULL}),
		0);
	ck_assert_int_eq(ctl_argv((char *[]){BROKERCTL_BIN, "--url", url, "save", NULL}), 0);
	ck_assert_msg(strncmp(out, "saved: generation 2 in ", 23) == 0, "%s", out);
	ck_assert_int_eq(ctl_argv((char *[]){BROKERCTL_BIN, "--url", url, "--json", "info", NULL}),
			 0);
	json_t *info = json_loads(out, 0, NULL);
	json_t *p = json_object_get(info, "persistence");
	ck_assert_str_eq(json_string_value(json_object_get(p, "fsync")), "everysec");
	ck_assert_str_eq(json_string_value(json_object_get(p, "data_dir")), dir);
	ck_assert(json_integer_value(json_object_get(p, "snapshot_bytes")) > 0);
	json_decref(info);
	ck_assert_int_eq(ctl_argv((char *[]){BROKERCTL_BIN, "--url", url, "info", NULL}), 0);
	char want[160];
	snprintf(want, sizeof want,
		 "\n\nPersistence\n  data dir           %s\n"
		 "  fsync              everysec\n  generation         2\n",
		 dir);
	ck_assert_msg(strstr(out, want), "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "  last compaction    20"));
	ck_assert_ptr_nonnull(strstr(out, "  error              none\n"));
	ck_assert_int_eq(daemon_stop(&dd), 0);
	/* what the dir holds after one compaction: the older files are gone */
	static const char *const files[] = {"lock", "log.00000002", "snapshot.00000002"};
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		ck_assert_msg(unlink(path) == 0, "%s", path);
	}
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(ping_answers)
{
	ck_assert_int_eq(ctl("ping"), 0);
	ck_assert(strncmp(out, "pong (", 6) == 0);
	ck_assert_int_eq(ctl("--json", "ping"), 0);
	json_t *j = json_loads(out, 0, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(j, "result")), "pong");
	json_decref(j);
}
END_TEST

START_TEST(queue_and_dict_from_the_shell)
{
	ck_assert_int_eq(ctl("queue", "put", "jobs", "{\"n\":1}"), 0);
	ck_assert_int_eq(ctl("queue", "put", "jobs", "hello world"), 0);
	ck_assert_int_eq(ctl("queue", "put", "jobs", "--", "-5"), 0);
	ck_assert_int_eq(ctl("queue", "get", "jobs"), 0);
	ck_assert_str_eq(out, "{\"n\":1}\n");
	ck_assert_int_eq(ctl("queue", "get", "jobs", "--timeout", "0"), 0);
	ck_assert_str_eq(out, "\"hello world\"\n");
	ck_assert_int_eq(ctl("queue", "get", "jobs", "--timeout", "1"), 0);
	ck_assert_str_eq(out, "-5\n");
	ck_assert_int_eq(ctl("queue", "get", "jobs", "--timeout", "0.1"), 1);
	ck_assert_int_eq(ctl("queue", "create", "pq", "--kind", "priority", "--maxsize", "2"), 0);
	ck_assert_int_eq(ctl("queue", "put", "pq", "late", "--priority", "5"), 0);
	ck_assert_int_eq(ctl("queue", "put", "pq", "early", "--priority", "1"), 0);
	ck_assert_int_eq(ctl("queue", "put", "pq", "x", "--timeout", "0"), 1);
	ck_assert_int_eq(ctl("queue", "get", "pq"), 0);
	ck_assert_str_eq(out, "\"early\"\n");
	ck_assert_int_eq(ctl("dict", "set", "conf", "0", "zero"), 0);
	ck_assert_int_eq(ctl("dict", "set", "conf", "\"0\"", "[1,2]"), 0);
	ck_assert_int_eq(ctl("dict", "get", "conf", "0"), 0);
	ck_assert_str_eq(out, "\"zero\"\n");
	ck_assert_int_eq(ctl("dict", "get", "conf", "\"0\""), 0);
	ck_assert_str_eq(out, "[1,2]\n");
	ck_assert_int_eq(ctl("dict", "get", "conf", "missing"), 1);
	ck_assert_int_eq(ctl("queue", "get", "conf", "--timeout", "0"), 1);
}
END_TEST

START_TEST(inspection_commands)
{
	ck_assert_int_eq(ctl("queue", "put", "jobs", "1"), 0);
	ck_assert_int_eq(ctl("dict", "set", "conf", "k", "v"), 0);
	ck_assert_int_eq(ctl("ls"), 0);
	ck_assert_str_eq(out, "NAME  TYPE   SIZE  WAITERS\n"
			      "jobs  queue  1     0\n"
			      "conf  dict   1     0\n");
	ck_assert_int_eq(ctl("--json", "ls", "co"), 0);
	ck_assert_str_eq(out, "[{\"name\":\"conf\",\"type\":\"dict\",\"size\":1,\"waiters\":0}]\n");
	ck_assert_int_eq(ctl("stat", "jobs"), 0);
	ck_assert_ptr_nonnull(strstr(out, "kind         fifo\n"));
	ck_assert_int_eq(ctl("info"), 0);
	ck_assert_msg(strstr(out, "Server\n  version            " BROKER_VERSION "\n"), "%s", out);
	ck_assert_int_eq(ctl("sessions"), 0);
	ck_assert(strncmp(out, "ID  PID", 7) == 0);
	ck_assert_int_eq(ctl("rm", "jobs"), 0);
	ck_assert_int_eq(ctl("rm", "jobs"), 1);
	ck_assert_int_eq(ctl("stat", "jobs"), 1);
}
END_TEST

START_TEST(shared_state_from_the_shell)
{
	ck_assert_int_eq(ctl("value", "create", "hits", "int"), 0);
	ck_assert_int_eq(ctl("value", "add", "hits", "5"), 0);
	ck_assert_str_eq(out, "5\n");
	ck_assert_int_eq(ctl("value", "add", "hits", "2.5"), 1);
	ck_assert_int_eq(ctl("value", "set", "hits", "--", "-3"), 0);
	ck_assert_int_eq(ctl("value", "get", "hits"), 0);
	ck_assert_str_eq(out, "-3\n");
	ck_assert_int_eq(ctl("value", "create", "x", "list"), 2);
	ck_assert_int_eq(ctl("value", "get", "missing"), 1);
	ck_assert_int_eq(ctl("dict", "incr", "d", "k"), 0);
	ck_assert_int_eq(ctl("dict", "incr", "d", "k", "10"), 0);
	ck_assert_str_eq(out, "11\n");
	ck_assert_int_eq(ctl("list", "append", "l", "[1,2]"), 0);
	ck_assert_int_eq(ctl("list", "append", "l", "two"), 0);
	ck_assert_int_eq(ctl("read", "l"), 0);
	ck_assert_str_eq(out, "[[1,2],\"two\"]\n");
	ck_assert_int_eq(ctl("read", "d"), 0);
	ck_assert_str_eq(out, "[[\"k\",11]]\n");
	ck_assert_int_eq(ctl("--json", "read", "hits"), 0);
	json_t *j = json_loads(out, 0, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(j, "type")), "value");
	ck_assert_int_gt(json_integer_value(json_object_get(j, "version")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "value")), -3);
	json_decref(j);
	ck_assert_int_eq(ctl("queue", "put", "q", "1"), 0);
	ck_assert_int_eq(ctl("read", "q"), 1);
	ck_assert_int_eq(ctl("read", "nothing"), 1);
	ck_assert_int_eq(ctl("read"), 2);
}
END_TEST

START_TEST(locks_from_the_shell)
{
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	pid_t holder = test_fork();
	if (holder == 0) {
		dup2(fds[1], STDOUT_FILENO);
		execl(BROKERCTL_BIN, BROKERCTL_BIN, "--url", d.url, "lock", "acquire", "L",
		      (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	char line[128] = {0};
	ck_assert_int_gt(read(fds[0], line, sizeof line - 1), 0);
	ck_assert_str_eq(line, "acquired 'L' (fence 1); holding until Ctrl-C\n");
	ck_assert_int_eq(ctl("lock", "acquire", "L", "--timeout", "0.1"), 1);
	kill(holder, SIGINT); /* Ctrl-C: brokerd releases the lock when brokerctl is gone */
	child_exit(holder);
	close(fds[0]);
	ck_assert_int_eq(ctl("--json", "lock", "acquire", "L", "--hold", "0", "--timeout", "5"), 0);
	ck_assert_str_eq(out, "{\"acquired\":true,\"fence\":2}\n");
	ck_assert_int_eq(ctl("lock", "acquire", "R", "--rlock", "--hold", "0"), 0);
	ck_assert_int_eq(ctl("lock", "acquire", "R", "--hold", "0"), 1); /* wrong_type */
	ck_assert_int_eq(ctl("lock", "take", "L"), 2);
	ck_assert_int_eq(
		ctl("--json", "bench", "--tests", "lock", "--clients", "3", "--seconds", "0.2"), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"test\":\"lock\""));
	ck_assert_int_eq(ctl("bench", "--tests", "lock", "--batch", "2"), 2);
	ck_assert_int_eq(ctl("stat", "bench:lock"), 1); /* the bench cleaned up */
	ck_assert_int_eq(ctl("event", "wait", "E", "--timeout", "0.05"), 1);
	ck_assert_str_eq(out, "not set\n");
	ck_assert_int_eq(ctl("event", "set", "E"), 0);
	ck_assert_int_eq(ctl("event", "wait", "E"), 0);
	ck_assert_str_eq(out, "set\n");
	ck_assert_int_eq(ctl("event", "clear", "E"), 0);
	ck_assert_int_eq(ctl("--json", "event", "wait", "E", "--timeout", "0"), 1);
	ck_assert_str_eq(out, "false\n");
	ck_assert_int_eq(ctl("event", "raise", "E"), 2);
	ck_assert_int_eq(ctl("semaphore", "acquire", "S", "--n", "1", "--hold", "0"), 0);
	ck_assert_str_eq(out, "acquired 1 of 'S'\n");
	ck_assert_int_eq(ctl("call", "semaphore.create", "{\"name\":\"Z\",\"value\":0}"), 0);
	ck_assert_int_eq(ctl("semaphore", "acquire", "Z", "--timeout", "0.05"), 1);
	ck_assert_int_eq(ctl("barrier", "wait", "nob"), 1);
	ck_assert_int_eq(ctl("call", "barrier.create", "{\"name\":\"B\",\"parties\":1}"), 0);
	ck_assert_int_eq(ctl("barrier", "wait", "B"), 0);
	ck_assert_str_eq(out, "0\n");
	ck_assert_int_eq(ctl("barrier", "cross", "B"), 2);
}
END_TEST

START_TEST(raw_calls_print_the_reply)
{
	ck_assert_int_eq(ctl("call", "dict.set", "{\"name\":\"d\",\"key\":1,\"value\":true}"), 0);
	ck_assert_str_eq(out, "{\"ok\":true,\"result\":null,\"version\":1}\n");
	ck_assert_int_eq(ctl("call", "dict.get", "{\"name\":\"d\",\"key\":1}"), 0);
	ck_assert_str_eq(out, "{\"ok\":true,\"result\":true,\"version\":1}\n");
	ck_assert_int_eq(ctl("call", "dict.get", "{\"name\":\"none\",\"key\":1}"), 1);
	ck_assert_str_eq(out, "{\"ok\":false,\"error\":\"key_error\",\"message\":\"key 1 not in "
			      "'none'\",\"version\":0}\n");
	ck_assert_int_eq(ctl("call", "queue.put", "{\"name\":\"q\",\"value\":1}"), 0);
	ck_assert_str_eq(out, "{\"ok\":true,\"result\":null}\n"); /* queues have no version */
	ck_assert_int_eq(ctl("call", "queue.get", "{\"name\":\"q\",\"confirm\":true}"), 0);
	ck_assert_str_eq(out, "{\"ok\":true,\"result\":1,\"delivery\":1}\n"); /* every field */
	ck_assert_int_eq(ctl("call", "warp"), 1);
	ck_assert_str_eq(
		out, "{\"ok\":false,\"error\":\"unknown_op\",\"message\":\"unknown op 'warp'\"}\n");
	ck_assert_int_eq(ctl("call", "ping", "[1]"), 2);
}
END_TEST

START_TEST(pipes_from_the_shell)
{
	ck_assert_int_eq(ctl("pipe", "create", "p", "--one-way", "--maxmsgs", "2"), 0);
	ck_assert_int_eq(ctl("pipe", "send", "p", "a", "1"), 1); /* a only receives */
	ck_assert_int_eq(ctl("pipe", "send", "p", "b", "{\"n\":1}"), 0);
	ck_assert_int_eq(ctl("pipe", "send", "p", "b", "--", "-5"), 0);
	ck_assert_int_eq(ctl("pipe", "send", "p", "b", "x", "--timeout", "0"), 1); /* full */
	ck_assert_int_eq(ctl("stat", "p"), 0);
	/* each brokerctl held b while it ran; its exit closed b */
	ck_assert_ptr_nonnull(strstr(out, "end a        unopened; 2 messages (9 bytes) to receive; "
					  "parked: 0 recv, 0 poll, 0 send\n"));
	ck_assert_ptr_nonnull(strstr(out, "end b        closed; 0 messages"));
	ck_assert_int_eq(ctl("pipe", "recv", "p", "a"), 0);
	ck_assert_str_eq(out, "{\"n\":1}\n");
	ck_assert_int_eq(ctl("pipe", "recv", "p", "a", "--timeout", "0"), 0);
	ck_assert_str_eq(out, "-5\n");
	ck_assert_int_eq(ctl("pipe", "recv", "p", "a", "--timeout", "0"), 1); /* eof */
	ck_assert_int_eq(ctl("pipe", "close", "p", "a"), 0);
	ck_assert_int_eq(
		ctl("call", "pipe.send", "{\"name\":\"q\",\"end\":\"a\",\"bytes\":\"aGkK\"}"), 0);
	ck_assert_int_eq(
		ctl("call", "pipe.send", "{\"name\":\"q\",\"end\":\"a\",\"bytes\":\"aGkK\"}"),
		1); /* a closed: brokerctl call does not open it again */
	ck_assert_int_eq(ctl("pipe", "recv", "q", "b"), 0);
	ck_assert_str_eq(out, "hi\n");
	ck_assert_int_eq(ctl("pipe", "send", "q", "a", "[1]"), 1); /* b closed: broken_pipe */
	ck_assert_int_eq(ctl("pipe", "send", "r", "a", "[1]"), 0);
	ck_assert_int_eq(ctl("--json", "pipe", "recv", "r", "b"), 0);
	ck_assert_str_eq(out, "{\"value\":[1]}\n");
	ck_assert_int_eq(ctl("pipe", "recv", "q", "c"), 2);
	ck_assert_int_eq(ctl("pipe", "send", "q", "a"), 2);
	ck_assert_int_eq(ctl("pipe", "close", "q"), 2);
	ck_assert_int_eq(ctl("pipe", "recv", "q", "b", "--timeout", "soon"), 2);
	ck_assert_int_eq(ctl("--json", "stat", "q"), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"ends\":{\"a\":{\"state\":\"closed\""));
	ck_assert_int_eq(ctl_argv((char *[]){BROKERCTL_BIN, "--help", NULL}), 0);
	ck_assert_ptr_nonnull(strstr(out, "  pipe send NAME a|b VALUE [--timeout S]\n"));
	ck_assert_int_eq(ctl_argv((char *[]){BROKERCTL_BIN, "pipe", "--help", NULL}), 0);
	ck_assert_ptr_nonnull(strstr(out, "as a process\nclosing a FIFO."));
}
END_TEST

/* count_lines: lines of text that start with prefix. */
static int count_lines(const char *text, const char *prefix)
{
	int n = 0;
	for (const char *p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		n += strncmp(p, prefix, strlen(prefix)) == 0;
	return n;
}

/* spawn_ctl: brokerctl --url d.url args... in the background, its stdout on a pipe whose
 * read end goes in *fd (when fd is NULL: on /dev/null). */
#define spawn_ctl(fd, ...) \
	spawn_ctl_argv(fd, (char *[]){BROKERCTL_BIN, "--url", d.url, __VA_ARGS__, NULL})

static pid_t spawn_ctl_argv(int *stdout_fd, char **argv)
{
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	pid_t pid = test_fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(stdout_fd ? fds[1] : null, STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	if (stdout_fd)
		*stdout_fd = fds[0];
	else
		close(fds[0]);
	return pid;
}

START_TEST(info_reads_for_people)
{
	ck_assert_int_eq(ctl("queue", "put", "jobs", "1"), 0);
	ck_assert_int_eq(ctl("queue", "get", "nothing", "--timeout", "0"), 1); /* empty */
	ck_assert_int_eq(ctl("queue", "get", "nothing", "--timeout", "0"), 1);
	ck_assert_int_eq(ctl("dict", "get", "conf", "k"), 1); /* key_error */
	ck_assert_int_eq(ctl("info"), 0);
	const char *sections[] = {"Server\n",     "\n\nClients\n", "\n\nTraffic\n",
				  "\n\nMemory\n", "\n\nLimits\n",  "\n\nErrors\n"};
	for (size_t i = 0; i < sizeof sections / sizeof *sections; i++)
		ck_assert_msg(strstr(out, sections[i]), "no section %s in %s", sections[i], out);
	ck_assert_ptr_null(strstr(out, "Persistence")); /* no data dir */
	ck_assert_ptr_null(strstr(out, "Other"));       /* every field has its place */
	char want[256];
	snprintf(want, sizeof want, "  listeners          %s (messages up to 16.0 MiB)\n", d.url);
	ck_assert_msg(strstr(out, want), "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "  session reply      64.0 MiB\n"));
	ck_assert_ptr_nonnull(strstr(out, "  sessions           1\n"));
	ck_assert_ptr_nonnull(strstr(out, "  objects            1\n"));
	ck_assert_ptr_nonnull(strstr(out, "  uptime             0s, since 20"));
	ck_assert_ptr_nonnull(strstr(out, "  ops/s              "));
	ck_assert_msg(strstr(out, "\nErrors\n  CODE       COUNT\n  empty      2\n  key_error  1\n"),
		      "%s", out);
	ck_assert_msg(strstr(out, "  busiest ops:\n    OP         PER SEC  CALLS\n"), "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "\n    queue.get  "));
	/* sizes have units: rss is more than a KiB */
	const char *rss = strstr(out, "  rss                ");
	ck_assert_ptr_nonnull(rss);
	ck_assert_msg(strstr(rss, " MiB\n") == strchr(rss, '\n') - 4 ||
			      strstr(rss, " KiB\n") == strchr(rss, '\n') - 4,
		      "%s", rss);
	ck_assert_int_eq(ctl("--json", "info"), 0);
	json_t *info = json_loads(out, 0, NULL);
	ck_assert_ptr_nonnull(info);
	json_t *by_op = json_object_get(json_object_get(info, "ops"), "by_op");
	ck_assert_int_eq(
		json_integer_value(json_object_get(json_object_get(by_op, "queue.get"), "calls")),
		2);
	ck_assert_int_eq(
		json_integer_value(json_object_get(json_object_get(info, "errors"), "empty")), 2);
	ck_assert(json_is_integer(json_object_get(json_object_get(info, "memory"), "rss")));
	json_decref(info);
	ck_assert_int_eq(ctl("info", "more"), 2);
}
END_TEST

START_TEST(top_prints_frames)
{
	ck_assert_int_eq(ctl("queue", "put", "small", "1"), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(ctl("queue", "put", "big", "1"), 0);
	pid_t getter = spawn_ctl(NULL, "queue", "get", "w", "--timeout", "30");
	brk_client *c = daemon_client(&d);
	wait_stat(c, "w", "getters", 1);
	ck_assert_int_eq(ctl("top", "--count", "2", "--interval", "0.2"), 0);
	ck_assert_int_eq(count_lines(out, "brokerd " BROKER_VERSION ", pid "), 2);
	ck_assert_int_eq(count_lines(out, "ops/s "), 2);
	/* sessions: the getter, this test's client and top */
	ck_assert_int_eq(count_lines(out, "sessions 3, objects 3, parked requests 1\n"), 2);
	ck_assert_int_eq(count_lines(out, "memory "), 2);
	ck_assert_int_eq(count_lines(out, "in "), 2);
	ck_assert_ptr_null(strstr(out, "\033[")); /* --count: no clearing */
	/* the object with a waiter first, then the largest */
	ck_assert_msg(strstr(out, "NAME   TYPE   SIZE  WAITERS\n"
				  "w      queue  0     1\n"
				  "big    queue  3     0\n"
				  "small  queue  1     0\n"),
		      "%s", out);
	/* the second frame counts the requests of the first (a hello, info and ls) */
	const char *first = strstr(out, "\nops/s "), *second = strstr(first + 1, "\nops/s ");
	long long ops1 = 0, ops2 = 0;
	ck_assert_int_eq(sscanf(strchr(first, '('), "(%lld since start)", &ops1), 1);
	ck_assert_int_eq(sscanf(strchr(second, '('), "(%lld since start)", &ops2), 1);
	ck_assert_int_eq(ops2 - ops1, 2);
	ck_assert_int_eq(ctl("stat", "w"), 0);
	ck_assert_msg(strstr(out, "getters      1\n"
				  "  SESSION  OP         OBJECT  SINCE  "),
		      "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "putters      none\n"));
	ck_assert_int_eq(ctl("--json", "top", "--count", "2", "--interval", "0.1"), 0);
	ck_assert_int_eq(count_lines(out, "{\""), 2);
	json_t *frame = json_loads(strchr(out, '\n') + 1, JSON_DISABLE_EOF_CHECK, NULL);
	ck_assert_ptr_nonnull(frame);
	ck_assert(json_is_number(json_object_get(frame, "ops_per_sec")));
	ck_assert_int_eq(json_integer_value(json_object_get(frame, "waiters")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_array_get(json_object_get(frame, "busiest"), 0), "name")),
			 "w");
	json_decref(frame);
	ck_assert_int_eq(ctl("top", "--count", "0"), 2);
	ck_assert_int_eq(ctl("top", "--interval", "soon"), 2);
	ck_assert_int_eq(ctl("top", "now"), 2);
	json_t *v = json_integer(1);
	ck_assert_int_eq(brk_queue_put(c, "w", v, 0), BRK_OK);
	json_decref(v);
	ck_assert_int_eq(child_exit(getter), 0);
	brk_close(c);
}
END_TEST

START_TEST(queue_peek_and_purge)
{
	ck_assert_int_eq(ctl("queue", "put", "q", "1"), 0);
	ck_assert_int_eq(ctl("queue", "put", "q", "two"), 0);
	ck_assert_int_eq(ctl("queue", "put", "q", "{\"n\":3}"), 0);
	ck_assert_int_eq(ctl("queue", "peek", "q"), 0);
	ck_assert_str_eq(out, "1\n");
	ck_assert_int_eq(ctl("queue", "peek", "q", "2"), 0);
	ck_assert_str_eq(out, "1\n\"two\"\n");
	ck_assert_int_eq(ctl("--json", "queue", "peek", "q", "100"), 0);
	ck_assert_str_eq(out, "[1,\"two\",{\"n\":3}]\n");
	ck_assert_int_eq(ctl("queue", "peek", "missing"), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(ctl("--json", "queue", "peek", "missing"), 0);
	ck_assert_str_eq(out, "[]\n");
	ck_assert_int_eq(ctl("queue", "peek", "q", "0"), 2);
	ck_assert_int_eq(ctl("queue", "peek", "q", "101"), 2);
	ck_assert_int_eq(ctl("queue", "peek", "q", "x"), 2);
	ck_assert_int_eq(ctl("queue", "peek"), 2);
	ck_assert_int_eq(ctl("queue", "get", "q", "--timeout", "0"), 0); /* peek took nothing */
	ck_assert_str_eq(out, "1\n");
	ck_assert_int_eq(ctl("queue", "purge", "q"), 0);
	ck_assert_str_eq(out, "purged 2\n");
	ck_assert_int_eq(ctl("--json", "queue", "purge", "q"), 0);
	ck_assert_str_eq(out, "{\"purged\":0}\n");
	ck_assert_int_eq(ctl("queue", "purge"), 2);
	/* a purge lets a parked putter in */
	ck_assert_int_eq(ctl("queue", "create", "full", "--maxsize", "1"), 0);
	ck_assert_int_eq(ctl("queue", "put", "full", "old"), 0);
	pid_t putter = spawn_ctl(NULL, "queue", "put", "full", "new", "--timeout", "30");
	brk_client *c = daemon_client(&d);
	wait_stat(c, "full", "putters", 1);
	ck_assert_int_eq(ctl("queue", "purge", "full"), 0);
	ck_assert_str_eq(out, "purged 1\n");
	ck_assert_int_eq(child_exit(putter), 0);
	ck_assert_int_eq(ctl("--json", "queue", "peek", "full", "5"), 0);
	ck_assert_str_eq(out, "[\"new\"]\n");
	brk_close(c);
}
END_TEST

/* holder_session: the id of the session holding lock name, from sessions --json; 0 if none. */
static long long holder_session(const char *name, pid_t *pid)
{
	long long id = 0;
	ck_assert_int_eq(ctl("--json", "sessions"), 0);
	json_t *list = json_loads(out, 0, NULL), *s, *h;
	size_t i, j;
	json_array_foreach (list, i, s)
		json_array_foreach (json_object_get(s, "holding"), j, h)
			if (!strcmp(json_string_value(json_object_get(h, "kind")), "lock") &&
			    !strcmp(json_string_value(json_object_get(h, "object")), name)) {
				id = json_integer_value(json_object_get(s, "id"));
				*pid = (pid_t)json_integer_value(json_object_get(s, "pid"));
			}
	json_decref(list);
	return id;
}

START_TEST(kick_releases_a_held_lock)
{
	int fd;
	pid_t holder = spawn_ctl(&fd, "lock", "acquire", "L", "--hold", "30"), pid = 0;
	char line[128] = {0}, id[32];
	ck_assert_int_gt(read(fd, line, sizeof line - 1), 0);
	ck_assert_str_eq(line, "acquired 'L' (fence 1)\n");
	long long session = holder_session("L", &pid);
	ck_assert_int_gt(session, 0);
	ck_assert_int_eq(pid, holder);
	ck_assert_int_eq(ctl("lock", "acquire", "L", "--timeout", "0.1"), 1);
	snprintf(id, sizeof id, "%lld", session);
	ck_assert_int_eq(ctl("kick", id), 0);
	char want[64];
	snprintf(want, sizeof want, "kicked session %lld\n", session);
	ck_assert_str_eq(out, want);
	/* released as if the holder died, though it still runs */
	ck_assert_int_eq(kill(holder, 0), 0);
	ck_assert_int_eq(ctl("--json", "lock", "acquire", "L", "--hold", "0", "--timeout", "5"), 0);
	ck_assert_str_eq(out, "{\"acquired\":true,\"fence\":2}\n");
	ck_assert_int_eq(ctl("kick", id), 1); /* not_found */
	ck_assert_int_eq(ctl("kick", "abc"), 2);
	ck_assert_int_eq(ctl("kick"), 2);
	kill(holder, SIGKILL);
	ck_assert_int_eq(child_exit(holder), 128 + SIGKILL);
	close(fd);
	holder = spawn_ctl(&fd, "lock", "acquire", "M");
	memset(line, 0, sizeof line);
	ck_assert_int_gt(read(fd, line, sizeof line - 1), 0);
	snprintf(id, sizeof id, "%lld", holder_session("M", &pid));
	ck_assert_int_eq(ctl("--json", "kick", id), 0);
	ck_assert_str_eq(out, "true\n");
	ck_assert_int_eq(ctl("lock", "acquire", "M", "--hold", "0", "--timeout", "5"), 0);
	kill(holder, SIGKILL);
	child_exit(holder);
	close(fd);
}
END_TEST

/* exit_within: waits up to secs for pid; its exit status, or -1 if it still runs. */
static int exit_within(pid_t pid, double secs)
{
	int status;
	for (double end = test_now() + secs; test_now() < end; usleep(10000))
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return -1;
}

START_TEST(shutdown_stops_brokerd)
{
	const char *modes[] = {"--url", "--json"};
	for (size_t i = 0; i < 2; i++) {
		struct daemon dd;
		char sock[160];
		daemon_start(&dd, NULL);
		char *argv[] = {BROKERCTL_BIN, "--url", dd.url, (char *)modes[i], "shutdown", NULL};
		if (i == 0) /* human: no --json */
			argv[3] = "shutdown", argv[4] = NULL;
		ck_assert_int_eq(ctl_argv(argv), 0);
		ck_assert_str_eq(out, i == 0 ? "brokerd is shutting down\n" : "true\n");
		ck_assert_int_eq(exit_within(dd.pid, 10), 0);
		ck_assert_int_eq(ctl_argv((char *[]){BROKERCTL_BIN, "--url", dd.url, "ping", NULL}),
				 3);
		snprintf(sock, sizeof sock, "%s/b.sock", dd.dir);
		unlink(sock);
		rmdir(dd.dir);
	}
	ck_assert_int_eq(ctl("shutdown", "now"), 2);
}
END_TEST

/* The commands brokerctl has: its overview must list exactly these. */
static const char *const command_names[] = {
	"ping",      "info",     "top",   "save", "ls",   "stat",  "rm",    "sessions",
	"kick",      "shutdown", "queue", "dict", "list", "value", "read",  "lock",
	"semaphore", "barrier",  "event", "pipe", "pool", "call",  "bench", "help"};
#define NCOMMAND_NAMES (sizeof command_names / sizeof *command_names)

/* overview_commands: the first words of the overview's command lines, each once. */
static size_t overview_commands(char names[][32], size_t max)
{
	size_t n = 0;
	const char *p = strstr(out, "Commands:\n"), *end = strstr(out, "\n\n'brokerctl COMMAND");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(end);
	for (p = strchr(p, '\n') + 1; p && p < end; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		char word[32];
		if (sscanf(p, "  %31[a-z]", word) != 1 || p[2] == ' ')
			continue;
		if (n > 0 && !strcmp(names[n - 1], word))
			continue;
		ck_assert_uint_lt(n, max);
		snprintf(names[n++], 32, "%s", word);
	}
	return n;
}

START_TEST(every_command_has_help)
{
	static char names[64][32], help[sizeof out];
	ck_assert_int_eq(ctl_argv((char *[]){BROKERCTL_BIN, "--help", NULL}), 0);
	size_t n = overview_commands(names, 64);
	ck_assert_uint_eq(n, NCOMMAND_NAMES);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(names[i], command_names[i]);
	for (size_t i = 0; i < n; i++) {
		char *name = names[i], usage[64];
		/* no daemon needed: the address leads nowhere */
		ck_assert_int_eq(ctl_argv((char *[]){BROKERCTL_BIN, "--url", "ipc:///nowhere/x",
						     name, "--help", NULL}),
				 0);
		snprintf(usage, sizeof usage, "Usage: brokerctl [OPTIONS] %.31s", name);
		ck_assert_msg(strncmp(out, usage, strlen(usage)) == 0, "%s --help: %s", name, out);
		ck_assert_msg(strstr(out, "\nExit status: 0 "), "%s --help: %s", name, out);
		memcpy(help, out, sizeof out);
		ck_assert_int_eq(ctl_argv((char *[]){BROKERCTL_BIN, "help", name, NULL}), 0);
		ck_assert_str_eq(out, help);
	}
	ck_assert_int_eq(ctl_argv((char *[]){BROKERCTL_BIN, "queue", "peek", "-h", NULL}), 0);
	ck_assert_ptr_nonnull(strstr(out, "       brokerctl [OPTIONS] queue peek NAME [N]\n"));
	ck_assert_int_eq(ctl_argv((char *[]){BROKERCTL_BIN, "help", "nosuch", NULL}), 2);
	ck_assert_int_eq(ctl_argv((char *[]){BROKERCTL_BIN, "help", NULL}), 0);
	ck_assert_ptr_nonnull(strstr(out, "Commands:\n  ping "));
	/* after --, --help is a value */
	ck_assert_int_eq(ctl("queue", "put", "q", "--", "--help"), 0);
	ck_assert_int_eq(ctl("queue", "get", "q"), 0);
	ck_assert_str_eq(out, "\"--help\"\n");
}
END_TEST

START_TEST(usage_and_connection_errors)
{
	ck_assert_int_eq(ctl("frobnicate"), 2);
	ck_assert_int_eq(ctl("stat"), 2);
	ck_assert_int_eq(ctl("queue", "put", "q"), 2);
	ck_assert_int_eq(ctl("queue", "get", "q", "--timeout", "soon"), 2);
	ck_assert_int_eq(ctl("dict", "get", "d"), 2);
	ck_assert_int_eq(ctl_argv((char *[]){BROKERCTL_BIN, NULL}), 2);
	ck_assert_int_eq(ctl_argv((char *[]){BROKERCTL_BIN, "--help", NULL}), 0);
	ck_assert_ptr_nonnull(strstr(out, "Exit status: 0 ok, 1"));
	ck_assert_int_eq(
		ctl_argv((char *[]){BROKERCTL_BIN, "--url", "ipc:///nowhere/x.sock", "ping", NULL}),
		3);
	ck_assert_int_eq(ctl_argv((char *[]){BROKERCTL_BIN, "--url", "ipc:///nowhere/x.sock",
					     "bench", "--seconds", "0.1", NULL}),
			 3);
}
END_TEST

START_TEST(bench_reports_every_test)
{
	ck_assert_int_eq(
		ctl("--json", "bench", "--seconds", "0.2", "--clients", "2", "--batch", "4"), 0);
	json_t *r = json_loads(out, 0, NULL);
	ck_assert_uint_eq(json_array_size(r), 4);
	for (size_t i = 0; i < 4; i++) {
		json_t *t = json_array_get(r, i);
		ck_assert_int_gt(json_integer_value(json_object_get(t, "ops_per_sec")), 0);
		ck_assert(json_real_value(json_object_get(t, "p99_us")) >=
			  json_real_value(json_object_get(t, "p50_us")));
	}
	json_decref(r);
	ck_assert_int_eq(ctl("bench", "--tests", "ping,fly"), 2);
	ck_assert_int_eq(ctl("bench", "--clients", "0"), 2);
	ck_assert_int_eq(ctl("ls"), 0); /* the bench removed its objects */
	ck_assert_str_eq(out, "NAME  TYPE  SIZE  WAITERS\n");
}
END_TEST

START_TEST(brokerd_command_line)
{
	char *help[] = {BROKERD_BIN, "--help", NULL}, *version[] = {BROKERD_BIN, "-V", NULL};
	char *bogus[] = {BROKERD_BIN, "--bogus", NULL}, *extra[] = {BROKERD_BIN, "stray", NULL};
	char *size[] = {BROKERD_BIN, "--max-message", "lots", NULL};
	char *mode[] = {BROKERD_BIN, "--ipc-mode", "999", NULL};
	char *level[] = {BROKERD_BIN, "--log-level", "loud", NULL};
	char *nofile[] = {BROKERD_BIN, "--config", "/nonexistent.json", NULL};
	char *limits[][3] = {
		{BROKERD_BIN, "--max-value", "0"},     {BROKERD_BIN, "--max-value", "1T"},
		{BROKERD_BIN, "--max-depth", "0"},     {BROKERD_BIN, "--max-depth", "2049"},
		{BROKERD_BIN, "--max-elements", "-1"}, {BROKERD_BIN, "--max-elements", "x"}};
	for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
		char *argv[] = {limits[i][0], limits[i][1], limits[i][2], NULL};
		ck_assert_int_eq(run_tool(argv, out, sizeof out), 2);
	}
	ck_assert_int_eq(run_tool(help, out, sizeof out), 0);
	ck_assert_ptr_nonnull(strstr(out, "--listen URL"));
	ck_assert_int_eq(run_tool(version, out, sizeof out), 0);
	ck_assert_str_eq(out, "brokerd " BROKER_VERSION "\n");
	ck_assert_int_eq(run_tool(bogus, out, sizeof out), 2);
	ck_assert_int_eq(run_tool(extra, out, sizeof out), 2);
	ck_assert_int_eq(run_tool(size, out, sizeof out), 2);
	ck_assert_int_eq(run_tool(mode, out, sizeof out), 2);
	ck_assert_int_eq(run_tool(level, out, sizeof out), 2);
	ck_assert_int_eq(run_tool(nofile, out, sizeof out), 2);
}
END_TEST

/* Exit 2 for a TLS listener without its files and for TLS files without a TLS listener;
 * exit 1 when the files cannot be used. */
START_TEST(tls_settings_are_checked)
{
	char cert[160], junk[160];
	snprintf(cert, sizeof cert, "%s/cert.pem", d.dir);
	snprintf(junk, sizeof junk, "%s/junk.pem", d.dir);
	write_file(junk, "not a certificate\n", 0600);
	char *no_cert[] = {BROKERD_BIN, "--listen", "tls+tcp://127.0.0.1:1", NULL};
	char *no_key[] = {BROKERD_BIN,  "--listen", "tls+tcp://127.0.0.1:1",
			  "--tls-cert", cert,       NULL};
	char *no_tls[] = {BROKERD_BIN, "--listen", "tcp://127.0.0.1:1", "--tls-ca", cert, NULL};
	char *bad_cert[] = {BROKERD_BIN,  "--listen", "tls+tcp://127.0.0.1:1",
			    "--tls-cert", junk,       "--tls-key",
			    junk,         NULL};
	ck_assert_int_eq(run_tool(no_cert, out, sizeof out), 2);
	ck_assert_int_eq(run_tool(no_key, out, sizeof out), 2);
	ck_assert_int_eq(run_tool(no_tls, out, sizeof out), 2);
	ck_assert_int_eq(run_tool(bad_cert, out, sizeof out), 1);
}
END_TEST

/* write_config: a config file in d's directory; returns its path (static). */
static const char *write_config(const char *text)
{
	static char path[160];
	snprintf(path, sizeof path, "%s/conf.json", d.dir);
	write_file(path, text, 0644);
	return path;
}

/* Protected mode: a listener other machines can reach must authenticate its clients; exit
 * 2 before binding anything, unless the loudly named opt-out is given. */
START_TEST(network_listeners_need_authentication)
{
	char url[64], loop[64];
	int port = free_tcp_port();
	snprintf(url, sizeof url, "tcp://0.0.0.0:%d", port);
	snprintf(loop, sizeof loop, "tcp://127.0.0.1:%d", port);
	char *open_tcp[] = {BROKERD_BIN, "--listen", url, NULL};
	char *any6[] = {BROKERD_BIN, "--listen", "tcp://[::]:1", NULL};
	char *named[] = {BROKERD_BIN, "--listen", "tcp://example.org:1", NULL};
	char *tls_no_ca[] = {BROKERD_BIN,  "--listen", "tls+tcp://0.0.0.0:1",
			     "--tls-cert", "c",        "--tls-key",
			     "k",          NULL};
	char *bad[] = {BROKERD_BIN, "--config",
		       (char *)write_config("{\"protected_mode\": \"maybe\"}"), NULL};
	ck_assert_int_eq(run_tool(open_tcp, out, sizeof out), 2);
	ck_assert_int_eq(run_tool(any6, out, sizeof out), 2);
	ck_assert_int_eq(run_tool(named, out, sizeof out), 2);
	ck_assert_int_eq(run_tool(tls_no_ca, out, sizeof out), 2);
	ck_assert_int_eq(run_tool(bad, out, sizeof out), 2);
	struct daemon x, y;
	daemon_start(&x, (const char *const[]){"--listen", url, "--no-protected-mode", NULL});
	brk_client *c = connect_when_up(loop);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(brk_ping(c), BRK_OK);
	brk_close(c);
	ck_assert_int_eq(daemon_stop(&x), 0);
	daemon_start(&y, (const char *const[]){"--listen", loop, NULL}); /* loopback: fine */
	ck_assert_int_eq(daemon_stop(&y), 0);
}
END_TEST

START_TEST(config_file_sets_listeners_and_limits)
{
	char url[160], text[512];
	snprintf(url, sizeof url, "ipc://%s/c.sock", d.dir);
	snprintf(
		text, sizeof text,
		"{\"listen\": [{\"url\": \"%s\", \"max_message\": \"2K\", \"ipc_mode\": \"0660\"}],"
		" \"log_level\": \"warn\"}",
		url);
	const char *path = write_config(text);
	pid_t pid = spawn((char *[]){BROKERD_BIN, "--config", (char *)path, NULL});
	brk_client *c = connect_when_up(url);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(brk_max_message(c), 2048);
	struct stat st;
	char sock[160];
	snprintf(sock, sizeof sock, "%s/c.sock", d.dir);
	ck_assert_int_eq(stat(sock, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0660);
	brk_close(c);
	kill(pid, SIGTERM);
	ck_assert_int_eq(child_exit(pid), 0);
	unlink(sock);
	char *bad[] = {BROKERD_BIN, "--config",
		       (char *)write_config("{\"listen\": [], \"colour\": \"blue\"}"), NULL};
	char *wrong[] = {BROKERD_BIN, "--config", (char *)write_config("{\"max_depth\": 4}"), NULL};
	ck_assert_int_eq(run_tool(wrong, out, sizeof out), 2);
	ck_assert_int_eq(run_tool(bad, out, sizeof out), 2);
	char *broken[] = {BROKERD_BIN, "--config", (char *)write_config("{\"listen\": ["), NULL};
	ck_assert_int_eq(run_tool(broken, out, sizeof out), 2);
	unlink(path);
}
END_TEST

/* Shared-state limits are settings: from the file, overridden on the command line. */
START_TEST(shared_state_limits_are_settings)
{
	char url[160];
	snprintf(url, sizeof url, "ipc://%s/limits.sock", d.dir);
	const char *path = write_config(
		"{\"max_value\": \"1M\", \"max_elements\": \"2\", \"max_depth\": \"2\"}");
	pid_t pid = spawn((char *[]){BROKERD_BIN, "--config", (char *)path, "--listen", url,
				     "--max-value", "20", NULL});
	brk_client *c = connect_when_up(url);
	ck_assert_ptr_nonnull(c);
	json_t *small = json_string("0123456789"), *big = json_string("0123456789012345678"),
	       *deep = json_loads("[[[1]]]", 0, NULL), *info = NULL;
	ck_assert_int_eq(brk_list_append(c, "l", small), BRK_OK);
	ck_assert_int_eq(brk_list_append(c, "l", big), BRK_ELIMIT);
	ck_assert_int_eq(brk_list_append(c, "l", deep), BRK_ELIMIT);
	ck_assert_int_eq(brk_list_append(c, "l", small), BRK_OK);
	ck_assert_int_eq(brk_list_append(c, "l", small), BRK_ELIMIT);
	ck_assert_int_eq(brk_array_create(c, "a", BRK_INT, 3, NULL), BRK_ELIMIT);
	json_t *hello = json_pack("{s:s}", "op", "hello");
	ck_assert_int_eq(brk_call(c, hello, &info), BRK_OK);
	json_decref(hello);
	ck_assert_int_eq(json_integer_value(json_object_get(info, "max_value")), 20);
	ck_assert_int_eq(json_integer_value(json_object_get(info, "max_elements")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(info, "max_depth")), 2);
	json_decref(small), json_decref(big), json_decref(deep), json_decref(info);
	brk_close(c);
	kill(pid, SIGTERM);
	ck_assert_int_eq(child_exit(pid), 0);
	unlink(path);
}
END_TEST

START_TEST(default_ipc_socket_is_private)
{
	struct stat st;
	char sock[160];
	snprintf(sock, sizeof sock, "%s/b.sock", d.dir);
	ck_assert_int_eq(stat(sock, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
}
END_TEST

START_TEST(one_daemon_listens_on_ipc_and_tcp_at_once)
{
	char ipc[160], tcp[64];
	snprintf(ipc, sizeof ipc, "ipc://%s/t.sock", d.dir);
	snprintf(tcp, sizeof tcp, "tcp://127.0.0.1:%d", free_tcp_port());
	pid_t pid = spawn(
		(char *[]){BROKERD_BIN, "-l", ipc, "--listen", tcp, "--log-level", "warn", NULL});
	brk_client *local = connect_when_up(ipc), *remote = connect_when_up(tcp);
	ck_assert_ptr_nonnull(local);
	ck_assert_ptr_nonnull(remote);
	json_t *v = json_string("across"), *got = NULL, *sessions = NULL;
	ck_assert_int_eq(brk_queue_put(local, "q", v, BRK_FOREVER), BRK_OK);
	ck_assert_int_eq(brk_queue_get(remote, "q", 1, &got), BRK_OK);
	ck_assert(json_equal(got, v));
	ck_assert_int_eq(brk_sessions(remote, &sessions), BRK_OK);
	const char *peer = json_string_value(json_object_get(json_array_get(sessions, 1), "peer"));
	ck_assert_msg(strncmp(peer, "127.0.0.1:", 10) == 0, "tcp peer shown as %s", peer);
	ck_assert_ptr_null(json_object_get(json_array_get(sessions, 1), "pid"));
	json_decref(v);
	json_decref(got);
	json_decref(sessions);
	brk_close(local);
	brk_close(remote);
	kill(pid, SIGINT);
	ck_assert_int_eq(child_exit(pid), 0);
}
END_TEST

START_TEST(systemd_readiness_is_announced)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char url[160], buf[64];
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/notify", d.dir);
	snprintf(url, sizeof url, "ipc://%s/n.sock", d.dir);
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	struct timeval tv = {10, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	pid_t pid = test_fork();
	if (pid == 0) {
		setenv("NOTIFY_SOCKET", sa.sun_path, 1);
		execl(BROKERD_BIN, BROKERD_BIN, "--listen", url, "--log-level", "error",
		      (char *)NULL);
		_exit(127);
	}
	ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "READY=1");
	brk_client *c = NULL;
	ck_assert_int_eq(brk_connect(url, NULL, &c), BRK_OK); /* ready means listening */
	brk_close(c);
	kill(pid, SIGTERM);
	n = recv(fd, buf, sizeof buf - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "STOPPING=1");
	ck_assert_int_eq(child_exit(pid), 0);
	close(fd);
	unlink(sa.sun_path);
	unlink(url + strlen("ipc://"));
}
END_TEST

START_TEST(pools_from_the_shell)
{
	brk_client *x = daemon_client(&d);
	json_t *items = json_loads("[1,2]", 0, NULL), *work = NULL;
	brk_result **rs = NULL;
	ck_assert_int_eq(brk_pool_map_async(x, "p", "f", items, false, 0, &rs), BRK_OK);
	json_t *req = brk_request_new("pool.work", "p", json_pack("{s:[s]}", "funcs", "f"));
	ck_assert_int_eq(brk_call(x, req, &work), BRK_OK); /* this process runs task 1 */
	pid_t waiter = test_fork();
	if (waiter == 0) {
		brk_client *y = NULL;
		json_t *r = NULL;
		json_t *w = brk_request_new("pool.work", "p", json_pack("{s:[s]}", "funcs", "g"));
		if (brk_connect(d.url, NULL, &y) == BRK_OK)
			brk_call(y, w, &r);
		_exit(0);
	}
	wait_stat(x, "p", "workers", 1);
	ck_assert_int_eq(ctl("pool", "ls"), 0);
	ck_assert_ptr_nonnull(
		strstr(out, "NAME  STATE    QUEUED  RUNNING  RESULTS  COMPLETED  "
			    "FAILED  WORKERS\n"
			    "p     running  1       1        0        0          0       1"));
	char want[128];
	snprintf(want, sizeof want, "running      task 1 (f, attempt 1) by pid %d for ",
		 (int)getpid());
	ck_assert_int_eq(ctl("pool", "stat", "p"), 0);
	ck_assert_msg(strstr(out, want) != NULL, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "queued_funcs {\"f\":1}\n"));
	snprintf(want, sizeof want, "workers      1 waiting (pid %d)\n", (int)waiter);
	ck_assert_msg(strstr(out, want) != NULL, "%s", out);
	ck_assert_int_eq(ctl("stat", "p"), 0); /* stat NAME shows the same */
	ck_assert_ptr_nonnull(strstr(out, want));
	ck_assert_int_eq(ctl("--json", "pool", "ls"), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"name\":\"p\""));
	ck_assert_int_eq(ctl("dict", "set", "d", "k", "1"), 0);
	ck_assert_int_eq(ctl("pool", "stat", "d"), 1);
	ck_assert_int_eq(ctl("pool", "stat", "nope"), 1);
	ck_assert_int_eq(ctl("pool", "stat"), 2);
	ck_assert_int_eq(ctl("pool"), 2);
	kill(waiter, SIGKILL);
	ck_assert_int_eq(child_exit(waiter), 128 + SIGKILL);
	for (size_t i = 0; i < 2; i++)
		brk_result_free(rs[i]);
	free(rs);
	json_decref(req);
	json_decref(work);
	json_decref(items);
	brk_close(x);
}
END_TEST

/* A worker over tcp has no pid: `pool stat` names its session. */
START_TEST(pool_stat_names_the_session_of_a_tcp_worker)
{
	struct daemon t;
	char tcp[64], out_url[160];
	snprintf(tcp, sizeof tcp, "tcp://127.0.0.1:%d", free_tcp_port());
	const char *extra[] = {"--listen", tcp, NULL};
	daemon_start(&t, extra);
	snprintf(out_url, sizeof out_url, "%s", t.url);
	brk_client *x = NULL;
	ck_assert_int_eq(brk_connect(t.url, NULL, &x), BRK_OK);
	ck_assert_int_eq(brk_pool_create(x, "p", 0, 0), BRK_OK);
	pid_t w = test_fork();
	if (w == 0) {
		brk_client *y = NULL;
		json_t *r = NULL;
		json_t *req = brk_request_new("pool.work", "p", json_pack("{s:[s]}", "funcs", "f"));
		if (brk_connect(tcp, NULL, &y) == BRK_OK)
			brk_call(y, req, &r);
		_exit(0);
	}
	wait_stat(x, "p", "workers", 1);
	json_t *st = NULL;
	ck_assert_int_eq(brk_stat(x, "p", &st), BRK_OK);
	char want[128];
	snprintf(want, sizeof want, "workers      1 waiting (session %lld)\n",
		 (long long)json_integer_value(json_object_get(
			 json_array_get(json_object_get(st, "workers"), 0), "session")));
	json_decref(st);
	ck_assert_int_eq(
		ctl_argv((char *[]){BROKERCTL_BIN, "--url", out_url, "pool", "stat", "p", NULL}),
		0);
	ck_assert_msg(strstr(out, want) != NULL, "%s", out);
	kill(w, SIGKILL);
	ck_assert_int_eq(child_exit(w), 128 + SIGKILL);
	brk_close(x);
	ck_assert_int_eq(daemon_stop(&t), 0);
}
END_TEST

/* ---- tokens ---- */

#define APP_TOKEN "app-token-0123456789abcdef"

static char err[8192];

/* run_stderr: runs argv (NULL-terminated) with its stderr in err; the exit status. */
static int run_stderr(char *const argv[])
{
	return run_tool_fd(argv, STDERR_FILENO, err, sizeof err);
}

/* ctl_err: brokerctl --url URL args... with its stderr in err. */
#define ctl_err(...) run_stderr((char *[]){BROKERCTL_BIN, "--url", d.url, __VA_ARGS__, NULL})

/* file_in_dir: writes text to d's dir/name with mode; returns its path (static per name). */
static const char *file_in_dir(const char *name, const char *text, mode_t mode)
{
	static char paths[4][160];
	static int next;
	char *path = paths[next++ % 4];
	snprintf(path, sizeof paths[0], "%s/%s", d.dir, name);
	write_file(path, text, mode);
	return path;
}

static char auth_dir[] = "/tmp/brokerd-ctlauth-XXXXXX", auth_config[160];

/* auth_config_new / auth_config_remove: once for the auth tests (an unchecked fixture, so
 * the file goes even when a daemon fails to start): a config naming principal "app" (rw,
 * names "app." on). */
static void auth_config_new(void)
{
	ck_assert_ptr_nonnull(mkdtemp(auth_dir));
	snprintf(auth_config, sizeof auth_config, "%s/conf.json", auth_dir);
	write_file(auth_config,
		   "{\"principals\": [{\"name\": \"app\", \"token\": \"" APP_TOKEN "\", "
		   "\"role\": \"rw\", \"prefix\": \"app.\"}]}\n",
		   0600);
}

static void auth_config_remove(void)
{
	unlink(auth_config);
	rmdir(auth_dir);
}

/* auth_tcp: the daemon's loopback tcp listener too. Over ipc, root and brokerd's own uid are
 * admin without a token (PROTOCOL.md "Authentication"), as these tests' user may be. */
static char auth_tcp[64];

/* auth_setup: a brokerd with that config, on ipc and on auth_tcp. */
static void auth_setup(void)
{
	snprintf(auth_tcp, sizeof auth_tcp, "tcp://127.0.0.1:%d", free_tcp_port());
	daemon_start(&d,
		     (const char *const[]){"--config", auth_config, "--listen", auth_tcp, NULL});
}

static void auth_teardown(void)
{
	char path[160];
	const char *names[] = {"token", "open-token", "wrong-token"};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		snprintf(path, sizeof path, "%s/%s", d.dir, names[i]);
		unlink(path);
	}
	ck_assert_int_eq(daemon_stop(&d), 0);
}

START_TEST(help_names_the_token_options_and_variables)
{
	ck_assert_int_eq(ctl_argv((char *[]){BROKERCTL_BIN, "--help", NULL}), 0);
	const char *want[] = {"--token-file FILE", "--token TOKEN", "$BROKERD_TOKEN_FILE",
			      "$BROKERD_TOKEN)", "ps shows"};
	for (size_t i = 0; i < sizeof want / sizeof *want; i++)
		ck_assert_msg(strstr(out, want[i]) != NULL, "--help lacks %s", want[i]);
	ck_assert_int_eq(ctl_argv((char *[]){BROKERCTL_BIN, "--token-file", NULL}), 2);
}
END_TEST

START_TEST(token_file_authenticates_brokerctl)
{
	const char *token = file_in_dir("token", APP_TOKEN "\n", 0600);
	ck_assert_int_eq(ctl("--token-file", (char *)token, "dict", "set", "app.d", "k", "7"), 0);
	ck_assert_int_eq(ctl("--token-file", (char *)token, "dict", "get", "app.d", "k"), 0);
	ck_assert_str_eq(out, "7\n");
	ck_assert_int_eq(ctl("--token-file", (char *)token, "--json", "call", "hello"), 0);
	json_t *hello = json_loads(out, 0, NULL), *r = json_object_get(hello, "result");
	ck_assert_str_eq(json_string_value(json_object_get(r, "principal")), "app");
	ck_assert_str_eq(json_string_value(json_object_get(r, "role")), "rw");
	json_decref(hello);
	ck_assert_int_eq(ctl("--token", APP_TOKEN, "dict", "get", "app.d", "k"), 0);
	setenv("BROKERD_TOKEN_FILE", token, 1);
	ck_assert_int_eq(ctl("dict", "get", "app.d", "k"), 0);
	ck_assert_str_eq(out, "7\n");
}
END_TEST

START_TEST(a_wrong_or_missing_token_fails_clearly)
{
	const char *wrong = file_in_dir("wrong-token", "wrong-token-0123456789\n", 0600);
	ck_assert_int_eq(ctl_err("--token-file", (char *)wrong, "ping"), 3);
	ck_assert_msg(strstr(err, "brokerctl: unauthorized: ") == err, "stderr: %s", err);
	ck_assert_ptr_null(strstr(err, "wrong-token-0123"));
	ck_assert_int_eq(ctl_err("--token", "wrong-token-0123456789", "ls"), 3);
	ck_assert_ptr_null(strstr(err, "wrong-token-0123"));
	ck_assert_int_eq(run_stderr((char *[]){BROKERCTL_BIN, "--url", auth_tcp, "dict", "get",
					       "app.d", "k", NULL}),
			 1); /* no token at all */
	ck_assert_msg(strstr(err, "unauthorized") != NULL, "stderr: %s", err);
	const char *open = file_in_dir("open-token", APP_TOKEN "\n", 0644);
	ck_assert_int_ne(ctl_err("--token-file", (char *)open, "ping"), 0);
	ck_assert_msg(strstr(err, "others may read") != NULL, "stderr: %s", err);
	ck_assert_ptr_null(strstr(err, APP_TOKEN));
}
END_TEST

/* Admin commands with a token whose role is rw: forbidden, said clearly, nothing done. */
START_TEST(admin_commands_need_the_admin_role)
{
	const char *token = file_in_dir("token", APP_TOKEN "\n", 0600);
	ck_assert_int_eq(ctl("--token-file", (char *)token, "queue", "put", "app.q", "1"), 0);
	ck_assert_int_eq(ctl_err("--token-file", (char *)token, "queue", "purge", "app.q"), 1);
	ck_assert_msg(strncmp(err, "brokerctl: forbidden: ", 22) == 0, "stderr: %s", err);
	ck_assert_msg(strstr(err, "\nbrokerctl: this needs a token of a principal whose role "
				  "allows it (--token-file FILE)\n"),
		      "stderr: %s", err);
	ck_assert_int_eq(ctl_err("--token-file", (char *)token, "kick", "1"), 1);
	ck_assert_msg(strncmp(err, "brokerctl: forbidden: ", 22) == 0, "stderr: %s", err);
	ck_assert_int_eq(ctl_err("--token-file", (char *)token, "shutdown"), 1);
	ck_assert_msg(strncmp(err, "brokerctl: forbidden: ", 22) == 0, "stderr: %s", err);
	ck_assert_int_eq(ctl("--token-file", (char *)token, "queue", "peek", "app.q"), 0);
	ck_assert_str_eq(out, "1\n");     /* not purged */
	ck_assert_int_eq(ctl("ping"), 0); /* not shut down */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("cli");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, ping_answers);
	tcase_add_test(tc, queue_and_dict_from_the_shell);
	tcase_add_test(tc, inspection_commands);
	tcase_add_test(tc, shared_state_from_the_shell);
	tcase_add_test(tc, locks_from_the_shell);
	tcase_add_test(tc, raw_calls_print_the_reply);
	tcase_add_test(tc, pipes_from_the_shell);
	tcase_add_test(tc, pools_from_the_shell);
	tcase_add_test(tc, pool_stat_names_the_session_of_a_tcp_worker);
	tcase_add_test(tc, info_reads_for_people);
	tcase_add_test(tc, top_prints_frames);
	tcase_add_test(tc, queue_peek_and_purge);
	tcase_add_test(tc, kick_releases_a_held_lock);
	tcase_add_test(tc, shutdown_stops_brokerd);
	tcase_add_test(tc, every_command_has_help);
	tcase_add_test(tc, usage_and_connection_errors);
	tcase_add_test(tc, bench_reports_every_test);
	tcase_add_test(tc, brokerd_command_line);
	tcase_add_test(tc, tls_settings_are_checked);
	tcase_add_test(tc, config_file_sets_listeners_and_limits);
	tcase_add_test(tc, shared_state_limits_are_settings);
	tcase_add_test(tc, default_ipc_socket_is_private);
	tcase_add_test(tc, systemd_readiness_is_announced);
	tcase_add_test(tc, one_daemon_listens_on_ipc_and_tcp_at_once);
	tcase_add_test(tc, save_compacts_a_data_dir);
	tcase_add_test(tc, network_listeners_need_authentication);
	tcase_add_test(tc, help_names_the_token_options_and_variables);
	suite_add_tcase(s, tc);
	TCase *auth = tcase_create("auth");
	tcase_set_timeout(auth, 60);
	tcase_add_unchecked_fixture(auth, auth_config_new, auth_config_remove);
	tcase_add_checked_fixture(auth, auth_setup, auth_teardown);
	tcase_add_test(auth, token_file_authenticates_brokerctl);
	tcase_add_test(auth, a_wrong_or_missing_token_fails_clearly);
	tcase_add_test(auth, admin_commands_need_the_admin_role);
	suite_add_tcase(s, auth);
	return run_suite(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
