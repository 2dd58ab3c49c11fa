/* test_auth.c: who may do what in a real brokerd (issue 13): principals with tokens, ipc
 * uids and TLS certificate subjects; roles and name prefixes; sessions that have not
 * authenticated; the principals file and protected mode. Clients speak raw SP (rawsp.h),
 * so these tests depend on no client library's handling of tokens. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "rawsp.h"
#include "run_suite.h"

#define ADMIN_TOKEN "admin-token-0123456789"
#define APP_TOKEN "app-token-0123456789abc"
#define VIEW_TOKEN "view-token-0123456789ab"

static const char principals[] =
	"{\"principals\": ["
	"{\"name\": \"ops\", \"token\": \"" ADMIN_TOKEN "\", \"role\": \"admin\"},"
	"{\"name\": \"app\", \"token\": \"" APP_TOKEN "\", \"role\": \"rw\", \"prefix\": \"app.\"},"
	"{\"name\": \"viewer\", \"token\": \"" VIEW_TOKEN "\", \"role\": \"ro\"},"
	"{\"name\": \"nobody\", \"uid\": 65534, \"role\": \"ro\"},"
	"{\"name\": \"worker\", \"subject\": \"CN=brokerd test client\", \"role\": \"rw\","
	" \"prefix\": \"jobs.\"}]}";

static char conf_path[96], tcp_url[64];

/* start: a daemon with the principals above (in its config file) and a tcp listener on
 * loopback, plus extra arguments (NULL-ended, may be NULL). */
static void start(struct daemon *d, const char *extra1, const char *extra2)
{
	strcpy(conf_path, "/tmp/brokerd-auth-XXXXXX");
	int fd = mkstemp(conf_path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	write_file(conf_path, principals, 0600);
	snprintf(tcp_url, sizeof tcp_url, "tcp://127.0.0.1:%d", free_tcp_port());
	memset(d, 0, sizeof *d); /* its stderr is kept, for daemon_stderr */
	daemon_start_on(d, NULL,
			(const char *const[]){"--config", conf_path, "--listen", tcp_url, extra1,
					      extra2, NULL});
}

static void stop(struct daemon *d)
{
	char path[160];
	snprintf(path, sizeof path, "%s/stderr", d->dir);
	unlink(path);
	ck_assert_int_eq(daemon_stop(d), 0);
	unlink(conf_path);
}

/* call: the reply to request (JSON text) on s, parsed. */
static json_t *call(struct sp *s, const char *request)
{
	json_t *reply = sp_call_json(s, request);
	ck_assert_msg(reply != NULL, "no reply to %s", request);
	return reply;
}

static const char *code(struct sp *s, const char *request)
{
	return sp_code(s, request, NULL, 0);
}

/* message: the error message of the reply to request (a static buffer). */
static const char *message(struct sp *s, const char *request)
{
	static char buf[512];
	sp_code(s, request, buf, sizeof buf);
	return buf;
}

/* dial_as: a tcp session that said hello with token (NULL: none). */
static void dial_as(struct sp *s, const char *token)
{
	char hello[128];
	ck_assert_int_eq(sp_dial(s, tcp_url, NULL), 0);
	if (!token)
		return;
	snprintf(hello, sizeof hello, "{\"op\":\"hello\",\"token\":\"%s\"}", token);
	ck_assert_str_eq(code(s, hello), "ok");
}

START_TEST(without_a_token_only_hello_and_ping_are_served)
{
	struct daemon d;
	struct sp s;
	start(&d, NULL, NULL);
	dial_as(&s, NULL);
	ck_assert_str_eq(code(&s, "{\"op\":\"ping\"}"), "ok");
	ck_assert_str_eq(code(&s, "{\"op\":\"info\"}"), "unauthorized");
	ck_assert_str_eq(code(&s, "{\"op\":\"queue.put\",\"name\":\"app.q\",\"value\":1}"),
			 "unauthorized");
	ck_assert_str_eq(code(&s, "{\"op\":\"hello\",\"token\":\"wrong-token-0123456789\"}"),
			 "unauthorized");
	ck_assert_str_eq(code(&s, "{\"op\":\"ls\"}"), "unauthorized"); /* still */
	json_t *hello = call(&s, "{\"op\":\"hello\"}");
	ck_assert_str_eq(
		json_string_value(json_object_get(json_object_get(hello, "result"), "role")),
		"none");
	json_decref(hello);
	sp_close(&s);
	/* root over ipc is admin without a token; nothing was created by the refusals */
	brk_client *c = daemon_client(&d);
	json_t *stat = brk_request_new("stat", "app.q", NULL);
	ck_assert_int_eq(brk_call(c, stat, NULL), BRK_ENOTFOUND);
	json_decref(stat);
	brk_close(c);
	stop(&d);
}
END_TEST

START_TEST(hello_with_a_token_binds_the_session_to_its_principal)
{
	struct daemon d;
	struct sp s;
	start(&d, NULL, NULL);
	dial_as(&s, NULL);
	json_t *hello = call(&s, "{\"op\":\"hello\",\"token\":\"" APP_TOKEN "\"}");
	json_t *r = json_object_get(hello, "result");
	ck_assert_str_eq(json_string_value(json_object_get(r, "principal")), "app");
	ck_assert_str_eq(json_string_value(json_object_get(r, "role")), "rw");
	ck_assert_str_eq(json_string_value(json_object_get(r, "prefix")), "app.");
	json_decref(hello);
	ck_assert_str_eq(code(&s, "{\"op\":\"queue.put\",\"name\":\"app.q\",\"value\":1}"), "ok");
	/* a wrong token later keeps the principal it has */
	ck_assert_str_eq(code(&s, "{\"op\":\"hello\",\"token\":\"wrong-token-0123456789\"}"),
			 "unauthorized");
	ck_assert_str_eq(code(&s, "{\"op\":\"queue.get_nowait\",\"name\":\"app.q\"}"), "ok");
	sp_close(&s);
	/* the token is never in the log nor in info */
	char log[16384];
	daemon_stderr(&d, log, sizeof log);
	ck_assert_ptr_null(strstr(log, APP_TOKEN));
	ck_assert_ptr_null(strstr(log, "wrong-token"));
	ck_assert_ptr_nonnull(strstr(log, "hello with a token no principal has"));
	dial_as(&s, ADMIN_TOKEN);
	char *info = sp_call(&s, "{\"op\":\"info\"}", 5000);
	ck_assert_ptr_nonnull(info);
	ck_assert_ptr_null(strstr(info, "token-0123"));
	free(info);
	sp_close(&s);
	stop(&d);
}
END_TEST

START_TEST(roles_allow_what_they_name_and_refuse_the_rest_changing_nothing)
{
	struct daemon d;
	struct sp ro, rw, admin;
	start(&d, NULL, NULL);
	dial_as(&ro, VIEW_TOKEN);
	dial_as(&rw, APP_TOKEN);
	dial_as(&admin, ADMIN_TOKEN);
	ck_assert_str_eq(code(&rw, "{\"op\":\"dict.set\",\"name\":\"app.d\",\"key\":\"k\","
				   "\"value\":1}"),
			 "ok");
	/* ro: reads */
	ck_assert_str_eq(code(&ro, "{\"op\":\"dict.get\",\"name\":\"app.d\",\"key\":\"k\"}"), "ok");
	ck_assert_str_eq(code(&ro, "{\"op\":\"ls\"}"), "ok");
	ck_assert_str_eq(code(&ro, "{\"op\":\"event.is_set\",\"name\":\"e\"}"), "ok");
	ck_assert_str_eq(code(&ro, "{\"op\":\"queue.qsize\",\"name\":\"app.q\"}"), "ok");
	/* and no writes nor waits */
	ck_assert_str_eq(message(&ro, "{\"op\":\"dict.set\",\"name\":\"app.d\",\"key\":\"k\","
				      "\"value\":2}"),
			 "dict.set needs role rw; principal 'viewer' has role ro");
	ck_assert_str_eq(code(&ro, "{\"op\":\"queue.get\",\"name\":\"app.q\",\"timeout\":1}"),
			 "forbidden");
	ck_assert_str_eq(code(&ro, "{\"op\":\"lock.acquire\",\"name\":\"l\"}"), "forbidden");
	/* rw: no del but of what its own session made, no save */
	ck_assert_str_eq(code(&admin, "{\"op\":\"queue.put\",\"name\":\"app.other\",\"value\":1}"),
			 "ok");
	ck_assert_str_eq(message(&rw, "{\"op\":\"del\",\"name\":\"app.other\"}"),
			 "del needs role admin; principal 'app' has role rw");
	ck_assert_str_eq(code(&rw, "{\"op\":\"queue.put\",\"name\":\"app.mine\",\"value\":1}"),
			 "ok");
	ck_assert_str_eq(code(&rw, "{\"op\":\"del\",\"name\":\"app.mine\"}"), "ok");
	ck_assert_str_eq(code(&rw, "{\"op\":\"save\"}"), "forbidden");
	/* a batch holding a refused op runs none of its ops */
	ck_assert_str_eq(code(&ro, "{\"op\":\"batch\",\"ops\":[{\"op\":\"dict.get\",\"name\":"
				   "\"app.d\",\"key\":\"k\"}]}"),
			 "ok");
	ck_assert_str_eq(code(&rw, "{\"op\":\"batch\",\"ops\":[{\"op\":\"dict.set\",\"name\":"
				   "\"app.d\",\"key\":\"k\",\"value\":3},{\"op\":\"del\",\"name\":"
				   "\"app.other\"}]}"),
			 "forbidden");
	ck_assert_str_eq(
		code(&ro, "{\"op\":\"batch\",\"ops\":[{\"op\":\"hello\",\"token\":\"" ADMIN_TOKEN
			  "\"}]}"),
		"bad_argument"); /* a batch is checked as one session: no hello in it */
	json_t *v = call(&admin, "{\"op\":\"dict.get\",\"name\":\"app.d\",\"key\":\"k\"}");
	ck_assert_int_eq(json_integer_value(json_object_get(v, "result")), 1);
	json_decref(v);
	/* sessions: only admin sees the others */
	json_t *mine = call(&rw, "{\"op\":\"sessions\"}"),
	       *all = call(&admin, "{\"op\":\"sessions\"}");
	ck_assert_int_eq(json_array_size(json_object_get(mine, "result")), 1);
	ck_assert_int_ge(json_array_size(json_object_get(all, "result")), 3);
	json_decref(mine);
	json_decref(all);
	ck_assert_str_eq(code(&admin, "{\"op\":\"del\",\"name\":\"app.d\"}"), "ok");
	sp_close(&ro);
	sp_close(&rw);
	sp_close(&admin);
	stop(&d);
}
END_TEST

START_TEST(a_prefix_confines_a_principal_to_its_names)
{
	struct daemon d;
	struct sp rw, admin;
	start(&d, NULL, NULL);
	dial_as(&rw, APP_TOKEN);
	dial_as(&admin, ADMIN_TOKEN);
	ck_assert_str_eq(code(&admin, "{\"op\":\"queue.put\",\"name\":\"other.q\",\"value\":1}"),
			 "ok");
	ck_assert_str_eq(code(&rw, "{\"op\":\"queue.put\",\"name\":\"app.q\",\"value\":1}"), "ok");
	ck_assert_str_eq(message(&rw, "{\"op\":\"queue.get_nowait\",\"name\":\"other.q\"}"),
			 "principal 'app' may use only names that start with 'app.'");
	ck_assert_str_eq(code(&rw, "{\"op\":\"stat\",\"name\":\"other.q\"}"), "forbidden");
	ck_assert_str_eq(code(&rw, "{\"op\":\"queue.put\",\"name\":\"appx\",\"value\":1}"),
			 "forbidden");
	/* a condition cannot borrow a lock outside the prefix */
	ck_assert_str_eq(code(&rw, "{\"op\":\"condition.create\",\"name\":\"app.c\",\"lock\":"
				   "\"other.l\"}"),
			 "forbidden");
	ck_assert_str_eq(code(&rw, "{\"op\":\"condition.create\",\"name\":\"app.c\",\"lock\":"
				   "\"app.l\"}"),
			 "ok");
	/* ls shows only its own names, whatever prefix it asks for */
	json_t *ls = call(&rw, "{\"op\":\"ls\"}");
	json_t *list = json_object_get(ls, "result"), *e;
	size_t i;
	ck_assert_int_eq(json_array_size(list), 3); /* app.q, app.l, app.c */
	json_array_foreach (list, i, e)
		ck_assert_int_eq(strncmp(json_string_value(json_object_get(e, "name")), "app.", 4),
				 0);
	json_decref(ls);
	ls = call(&rw, "{\"op\":\"ls\",\"prefix\":\"other\"}");
	ck_assert_int_eq(json_array_size(json_object_get(ls, "result")), 0);
	json_decref(ls);
	json_t *q = call(&admin, "{\"op\":\"queue.qsize\",\"name\":\"other.q\"}");
	ck_assert_int_eq(json_integer_value(json_object_get(q, "result")), 1); /* untouched */
	json_decref(q);
	sp_close(&rw);
	sp_close(&admin);
	stop(&d);
}
END_TEST

/* shell: the exit status of the shell command cmd, its stdout and stderr into out. */
static int shell(const char *cmd, char *out, size_t size)
{
	char full[1024];
	snprintf(full, sizeof full, "%s 2>&1", cmd);
	FILE *p = popen(full, "r");
	ck_assert_ptr_nonnull(p);
	size_t n = fread(out, 1, size - 1, p);
	out[n] = 0;
	int status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* dict_as_nobody: "brokerctl dict OP NAME k [1]" against url as uid:gid 65534. */
static int dict_as_nobody(const char *url, const char *op, const char *name, char *out, size_t size)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd,
		 "/usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups %s --url %s dict "
		 "%s %s k %s",
		 BROKERCTL_BIN, url, op, name, op[0] == 's' ? "1" : "");
	return shell(cmd, out, size);
}

START_TEST(an_ipc_uid_is_a_principal_and_root_is_admin)
{
	struct daemon d;
	char out[1024];
	if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0) {
		fprintf(stderr, "skipped: needs root and setpriv(1) to connect as another user\n");
		return;
	}
	start(&d, "--ipc-mode", "0666");
	ck_assert_int_eq(chmod(d.dir, 0755), 0);
	brk_client *c = daemon_client(&d); /* root: admin */
	json_t *r = NULL, *hello = brk_request_new("hello", NULL, NULL),
	       *set = brk_request_new("dict.set", "d",
				      json_pack("{s:s, s:i}", "key", "k", "value", 7));
	ck_assert_int_eq(brk_call(c, hello, &r), BRK_OK);
	ck_assert_str_eq(json_string_value(json_object_get(r, "role")), "admin");
	ck_assert_str_eq(json_string_value(json_object_get(r, "principal")), "root");
	ck_assert_int_eq(brk_call(c, set, NULL), BRK_OK);
	json_decref(r);
	json_decref(hello);
	json_decref(set);
	/* uid 65534 is the principal "nobody", role ro: it reads, and may not write */
	ck_assert_int_eq(dict_as_nobody(d.url, "get", "d", out, sizeof out), 0);
	ck_assert_ptr_nonnull(strstr(out, "7"));
	ck_assert_int_ne(dict_as_nobody(d.url, "set", "d", out, sizeof out), 0);
	ck_assert_msg(strstr(out, "needs role rw") != NULL, "%s", out);
	brk_close(c);
	stop(&d);
}
END_TEST

/* ---- tls: the subject of a client certificate names its principal ---- */

static char certs[64];

static const char *cert(const char *file)
{
	return sp_cert(certs, file);
}

START_TEST(a_certificate_subject_is_a_principal)
{
	struct daemon d;
	struct sp s;
	char tls_url[64];
	ck_assert_int_eq(sp_certs_make(certs, CERTS_SH), 0);
	snprintf(tls_url, sizeof tls_url, "tls+tcp://127.0.0.1:%d", free_tcp_port());
	strcpy(conf_path, "/tmp/brokerd-auth-XXXXXX");
	close(mkstemp(conf_path));
	write_file(conf_path, principals, 0600);
	daemon_start(&d,
		     (const char *const[]){"--config", conf_path, "--listen", tls_url, "--tls-cert",
					   cert("server.pem"), "--tls-key", cert("server.key"),
					   "--tls-ca", cert("ca.pem"), NULL});
	struct sp_tls tls = {cert("ca.pem"), cert("client.pem"), cert("client.key")};
	ck_assert_int_eq(sp_dial(&s, tls_url, &tls), 0);
	json_t *hello = call(&s, "{\"op\":\"hello\"}");
	json_t *r = json_object_get(hello, "result");
	ck_assert_str_eq(json_string_value(json_object_get(r, "principal")), "worker");
	ck_assert_str_eq(json_string_value(json_object_get(r, "role")), "rw");
	json_decref(hello);
	ck_assert_str_eq(code(&s, "{\"op\":\"queue.put\",\"name\":\"jobs.q\",\"value\":1}"), "ok");
	ck_assert_str_eq(code(&s, "{\"op\":\"queue.put\",\"name\":\"app.q\",\"value\":1}"),
			 "forbidden");
	ck_assert_str_eq(code(&s, "{\"op\":\"save\"}"), "forbidden");
	sp_close(&s);
	ck_assert_int_eq(daemon_stop(&d), 0);
	unlink(conf_path);
	ck_assert_int_eq(sp_certs_remove(certs), 0);
}
END_TEST

/* ---- configuration ---- */

/* brokerd_exit: brokerd's exit status with the principals file path (a config that must
 * not start: it stops at --version otherwise); its output into out. */
static int brokerd_exit(const char *path, char *out, size_t size)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "%s --listen ipc:///tmp/brokerd-never.sock --principals-file %s",
		 BROKERD_BIN, path);
	return shell(cmd, out, size);
}

START_TEST(the_principals_file_must_be_private_and_valid)
{
	char path[] = "/tmp/brokerd-principals-XXXXXX", out[2048];
	close(mkstemp(path));
	write_file(path, principals, 0644); /* others may read the tokens */
	ck_assert_int_eq(brokerd_exit(path, out, sizeof out), 2);
	ck_assert_msg(strstr(out, "readable by its owner only") != NULL, "%s", out);
	write_file(path, "[{\"name\": \"a\", \"token\": \"short-secret\", \"role\": \"rw\"}]",
		   0600);
	ck_assert_int_eq(brokerd_exit(path, out, sizeof out), 2);
	ck_assert_msg(strstr(out, "at least 16 characters") != NULL, "%s", out);
	ck_assert_ptr_null(strstr(out, "short-secret"));
	write_file(path, "[{\"name\": \"a\", \"token\": \"0123456789abcdef\", \"role\": \"boss\"}]",
		   0600);
	ck_assert_int_eq(brokerd_exit(path, out, sizeof out), 2);
	ck_assert_msg(strstr(out, "\"admin\", \"rw\" or \"ro\"") != NULL, "%s", out);
	write_file(path,
		   "[{\"name\": \"a\", \"uid\": 1, \"token\": \"0123456789abcdef\", "
		   "\"role\": \"rw\"}]",
		   0600);
	ck_assert_int_eq(brokerd_exit(path, out, sizeof out), 2);
	ck_assert_msg(strstr(out, "exactly one of") != NULL, "%s", out);
	write_file(path, principals, 0600);
	struct daemon d;
	daemon_start(&d, (const char *const[]){"--principals-file", path, NULL});
	ck_assert_int_eq(daemon_stop(&d), 0);
	unlink(path);
}
END_TEST

START_TEST(protected_mode_accepts_a_network_listener_once_clients_must_authenticate)
{
	char out[2048];
	strcpy(conf_path, "/tmp/brokerd-auth-XXXXXX");
	close(mkstemp(conf_path));
	write_file(conf_path, principals, 0600);
	/* principals with anonymous-role rw: anyone who reaches it may write: refused */
	char cmd[512];
	snprintf(cmd, sizeof cmd, "%s --config %s --listen tcp://0.0.0.0:0 --anonymous-role rw",
		 BROKERD_BIN, conf_path);
	ck_assert_int_eq(shell(cmd, out, sizeof out), 2);
	ck_assert_msg(strstr(out, "protected mode") != NULL, "%s", out);
	/* anonymous none (the default with principals): it starts */
	struct daemon d;
	daemon_start(&d, (const char *const[]){"--config", conf_path, "--listen", "tcp://0.0.0.0:0",
					       NULL});
	ck_assert_int_eq(daemon_stop(&d), 0);
	unlink(conf_path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("auth");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, without_a_token_only_hello_and_ping_are_served);
	tcase_add_test(tc, hello_with_a_token_binds_the_session_to_its_principal);
	tcase_add_test(tc, roles_allow_what_they_name_and_refuse_the_rest_changing_nothing);
	tcase_add_test(tc, a_prefix_confines_a_principal_to_its_names);
	tcase_add_test(tc, an_ipc_uid_is_a_principal_and_root_is_admin);
	tcase_add_test(tc, a_certificate_subject_is_a_principal);
	tcase_add_test(tc, the_principals_file_must_be_private_and_valid);
	tcase_add_test(tc,
		       protected_mode_accepts_a_network_listener_once_clients_must_authenticate);
	suite_add_tcase(s, tc);
	return run_suite(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
