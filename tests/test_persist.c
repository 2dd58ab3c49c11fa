/* test_persist.c: persistence across restarts (issue 12), black-box: a real brokerd on a
 * data dir, stopped, killed (also at hundreds of random moments under load), restarted on
 * the same dir, its log torn, damaged, out of space, read-only and compacted under load. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "run_suite.h"

#define CRASH_ROUNDS 200 /* SIGKILLs of brokerd under load with --fsync always */
#define LOOSE_ROUNDS 50  /* and then with everysec and no: a kill loses nothing either */
#define REC_HDR 16       /* the journal's record header (docs/durability.md) */
#define FLAG_COMMIT 1

static struct daemon d;
static char root[64]; /* every test's dirs are under it: main removes it whatever happens */
static char data[64];

/* new_dir: a fresh dir under root, named after prefix, in out. */
static void new_dir(char *out, size_t size, const char *prefix)
{
	int n = snprintf(out, size, "%s/%s-XXXXXX", root, prefix);
	ck_assert(n > 0 && (size_t)n < size);
	ck_assert_ptr_nonnull(mkdtemp(out));
}

/* sock_dir: x's socket dir and address, under root. */
static void sock_dir(struct daemon *x)
{
	memset(x, 0, sizeof *x);
	new_dir(x->dir, sizeof x->dir, "sock");
	snprintf(x->url, sizeof x->url, "ipc://%s/b.sock", x->dir);
}

static void setup(void)
{
	sock_dir(&d);
	new_dir(data, sizeof data, "data");
}

static void teardown(void)
{
	daemon_remove(&d);
	remove_tree(data);
}

/* ---- helpers ---- */

static void nap_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* is_storage: whether err is the wire error "storage" (BRK_ESTORAGE), by its code string. */
static bool is_storage(brk_err err)
{
	return !strcmp(brk_err_code(err), "storage");
}

/* call: the raw op on name (may be NULL) with args (stolen, may be NULL); *err its outcome;
 * the result (a new reference) or NULL. */
static json_t *call(brk_client *c, const char *op, const char *name, json_t *args, brk_err *err)
{
	json_t *req = brk_request_new(op, name, args), *result = NULL;
	ck_assert_ptr_nonnull(req);
	*err = brk_call(c, req, &result);
	json_decref(req);
	return result;
}

/* call_ok: call, which must succeed. */
static json_t *call_ok(brk_client *c, const char *op, const char *name, json_t *args)
{
	brk_err err;
	json_t *r = call(c, op, name, args, &err);
	ck_assert_msg(err == BRK_OK, "%s %s: %s (%s)", op, name ? name : "", brk_err_code(err),
		      brk_last_error());
	return r;
}

/* persistence: info's "persistence" object (a new reference); the test fails without it. */
static json_t *persistence(brk_client *c)
{
	json_t *info = NULL;
	brk_err err = brk_info(c, &info);
	ck_assert_msg(err == BRK_OK, "info: %s (%s)", brk_err_code(err), brk_last_error());
	json_t *p = json_incref(json_object_get(info, "persistence"));
	json_decref(info);
	ck_assert_msg(json_is_object(p), "info has no \"persistence\" object");
	return p;
}

static long long pers_int(brk_client *c, const char *field)
{
	json_t *p = persistence(c);
	json_t *v = json_object_get(p, field);
	ck_assert_msg(json_is_integer(v), "info.persistence.%s is not an integer", field);
	long long n = json_integer_value(v);
	json_decref(p);
	return n;
}

/* pers_error: whether info.persistence reports an error (commits failing). */
static bool pers_error(brk_client *c)
{
	json_t *p = persistence(c);
	json_t *e = json_object_get(p, "error");
	bool failed = e && !json_is_null(e) && !(json_is_string(e) && !*json_string_value(e));
	json_decref(p);
	return failed;
}

static void show_stderr(const char *why)
{
	static char buf[16384];
	daemon_stderr(&d, buf, sizeof buf);
	fprintf(stderr, "%s; brokerd's stderr:\n%s\n", why, buf);
}

/* stderr_has: whether d's stderr contains text. */
static bool stderr_has(const char *text)
{
	static char buf[65536];
	daemon_stderr(&d, buf, sizeof buf);
	return strstr(buf, text) != NULL;
}

static void assert_stderr_has(const char *text)
{
	if (!stderr_has(text)) {
		show_stderr("missing text");
		ck_abort_msg("brokerd's stderr does not say \"%s\"", text);
	}
}

static const char *const FSYNC_ALWAYS[] = {"--fsync", "always", NULL};

/* restart: brokerd stopped (SIGTERM, exit 0) or killed (SIGKILL), then started again on the
 * same data dir and address with extra; a new client of it. */
static brk_client *restart(bool kill9, const char *const *extra)
{
	if (kill9)
		ck_assert_int_eq(daemon_kill(&d), 128 + SIGKILL);
	else
		ck_assert_int_eq(daemon_term(&d), 0);
	daemon_start_on(&d, data, extra);
	return daemon_client(&d);
}

/* newest_log: the path of the highest-numbered log.N in the data dir, in out. */
static void newest_log(char *out, size_t size)
{
	DIR *dir = opendir(data);
	ck_assert_ptr_nonnull(dir);
	struct dirent *e;
	unsigned long long best = 0;
	bool found = false;
	while ((e = readdir(dir))) {
		char *end;
		if (strncmp(e->d_name, "log.", 4) || !e->d_name[4])
			continue;
		unsigned long long g = strtoull(e->d_name + 4, &end, 10);
		if (*end == '\0' && (!found || g > best))
			best = g, found = true;
	}
	closedir(dir);
	ck_assert_msg(found, "no log file in %s", data);
	snprintf(out, size, "%s/log.%08llu", data, best);
}

/* dir_files: how many files of kind ("log." or "snapshot.") the data dir holds, and their
 * total size in *bytes. */
static int dir_files(const char *kind, long long *bytes)
{
	DIR *dir = opendir(data);
	ck_assert_ptr_nonnull(dir);
	struct dirent *e;
	int n = 0;
	*bytes = 0;
	while ((e = readdir(dir))) {
		char path[4096];
		struct stat st;
		if (strncmp(e->d_name, kind, strlen(kind)) || strstr(e->d_name, ".tmp"))
			continue;
		snprintf(path, sizeof path, "%s/%s", data, e->d_name);
		if (stat(path, &st) == 0)
			n++, *bytes += st.st_size;
	}
	closedir(dir);
	return n;
}

static long file_size(const char *path)
{
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	return (long)st.st_size;
}

/* read_file: the whole of path, malloc'ed, its length in *len. */
static unsigned char *read_file(const char *path, long *len)
{
	*len = file_size(path);
	unsigned char *buf = malloc((size_t)*len + 1);
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, (size_t)*len, 0), *len);
	close(fd);
	return buf;
}

/* A record of a journal file, as docs/durability.md lays them out. */
struct rec {
	long start, len; /* offset of its header; payload length */
	int type, flags;
};

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* records: the whole records of buf (len bytes) into r (at most max); their count. */
static int records(const unsigned char *buf, long len, struct rec *r, int max)
{
	int n = 0;
	for (long off = 0; off + REC_HDR <= len && n < max;) {
		long plen = (long)le32(buf + off);
		if (off + REC_HDR + plen > len)
			break;
		r[n++] = (struct rec){off, plen, buf[off + 4], buf[off + 5]};
		off += REC_HDR + plen;
	}
	return n;
}

/* commit_start: the offset where the commit holding record i starts. */
static long commit_start(const struct rec *r, int i)
{
	while (i > 0 && !(r[i - 1].flags & FLAG_COMMIT) && r[i - 1].type != 1)
		i--;
	return r[i].start;
}

/* last_commit_end: where the last whole commit of the journal file path ends. */
static long last_commit_end(const char *path)
{
	long len, end = 0;
	unsigned char *buf = read_file(path, &len);
	struct rec r[4096];
	int nr = records(buf, len, r, 4096);
	for (int i = 0; i < nr; i++)
		if (r[i].flags & FLAG_COMMIT || r[i].type == 1)
			end = r[i].start + REC_HDR + r[i].len;
	free(buf);
	return end;
}

/* wait_exit: waits up to secs for child pid: its exit status, or -1 (then it is killed). */
static int wait_exit(pid_t pid, double secs)
{
	double end = test_now() + secs;
	int status;
	while (test_now() < end) {
		pid_t got = waitpid(pid, &status, WNOHANG);
		if (got == pid)
			return WIFEXITED(status)     ? WEXITSTATUS(status)
			       : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
						     : -1;
		nap_ms(5);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

/* ---- 1. restart ---- */

/* What test 1 notes before a restart and expects after it. */
static const char *const persistent[] = {"qf", "ql", "qp", "qc", "qpc", "p",  "p1", "pc", "d",
					 "l",  "ns", "vi", "vf", "vb",  "vs", "ai", "af"};
static const char *const shared_names[] = {"d", "l", "ns", "vi", "vf", "vb", "vs", "ai", "af"};

/* stat_core: stat of name without what a restart may change (times, parked requests,
 * pipe ends' holders): for a pipe end its buffered messages and bytes only. */
static json_t *stat_core(brk_client *c, const char *name)
{
	json_t *st = NULL;
	brk_err err = brk_stat(c, name, &st);
	ck_assert_msg(err == BRK_OK, "stat %s: %s", name, brk_last_error());
	const char *drop[] = {"created", "getters", "putters", "joiners", "waiters"};
	for (size_t i = 0; i < sizeof drop / sizeof *drop; i++)
		json_object_del(st, drop[i]);
	json_t *ends = json_object_get(st, "ends");
	if (ends) {
		json_t *core = json_object();
		const char *e;
		json_t *end;
		json_object_foreach (ends, e, end)
			json_object_set_new(core, e,
					    json_pack("{s:O?, s:O?}", "buffered",
						      json_object_get(end, "buffered"), "bytes",
						      json_object_get(end, "bytes")));
		json_object_set_new(st, "ends", core);
	}
	return st;
}

/* read_shared: {"c": contents, "v": version} of a dict, list, namespace, value or array. */
static json_t *read_shared(brk_client *c, const char *name)
{
	json_t *v = NULL;
	brk_err err;
	switch (name[0]) {
	case 'd':
		err = brk_dict_items(c, name, &v);
		break;
	case 'l':
		err = brk_list_read(c, name, &v);
		break;
	case 'n':
		err = brk_namespace_read(c, name, &v);
		break;
	case 'a':
		err = brk_array_read(c, name, &v);
		break;
	default:
		err = brk_value_get(c, name, &v);
	}
	ck_assert_msg(err == BRK_OK, "read %s: %s", name, brk_last_error());
	uint64_t version = brk_last_version();
	ck_assert_uint_gt(version, 0);
	return json_pack("{s:o, s:I}", "c", v, "v", (json_int_t)version);
}

/* observe: what a restart must keep: ls of the persistent objects, their core stat, and
 * the shared ones' contents with versions. */
static json_t *observe(brk_client *c)
{
	json_t *ls = NULL, *kept = json_array(), *o = json_object(), *e;
	size_t i;
	ck_assert_int_eq(brk_ls(c, NULL, &ls), BRK_OK);
	json_array_foreach (ls, i, e)
		for (size_t k = 0; k < sizeof persistent / sizeof *persistent; k++)
			if (!strcmp(json_string_value(json_object_get(e, "name")), persistent[k]))
				json_array_append(kept, e);
	json_object_set_new(o, "ls", kept);
	for (size_t k = 0; k < sizeof persistent / sizeof *persistent; k++)
		json_object_set_new(o, persistent[k], stat_core(c, persistent[k]));
	for (size_t k = 0; k < sizeof shared_names / sizeof *shared_names; k++) {
		char key[32];
		snprintf(key, sizeof key, "read %s", shared_names[k]);
		json_object_set_new(o, key, read_shared(c, shared_names[k]));
	}
	json_decref(ls);
	return o;
}

static uint64_t max_version(const json_t *seen)
{
	uint64_t top = 0;
	const char *k;
	json_t *v;
	json_object_foreach ((json_t *)seen, k, v) {
		json_t *ver = json_object_get(v, "version");
		if (!ver)
			ver = json_object_get(v, "v");
		if (json_is_integer(ver) && (uint64_t)json_integer_value(ver) > top)
			top = (uint64_t)json_integer_value(ver);
	}
	return top;
}

static void put_int(brk_client *c, const char *q, int i)
{
	json_t *v = json_pack("{s:i}", "i", i);
	ck_assert_int_eq(brk_queue_put(c, q, v, 0), BRK_OK);
	json_decref(v);
}

static void put_str(brk_client *c, const char *q, const char *s, double prio)
{
	json_t *v = json_string(s);
	if (prio >= 0)
		ck_assert_int_eq(brk_queue_put_priority(c, q, v, prio, 0), BRK_OK);
	else
		ck_assert_int_eq(brk_queue_put(c, q, v, 0), BRK_OK);
	json_decref(v);
}

static void take(brk_client *c, const char *q, const char *want_json)
{
	json_t *v = NULL, *want = json_loads(want_json, JSON_DECODE_ANY, NULL);
	ck_assert_int_eq(brk_queue_get(c, q, 0, &v), BRK_OK);
	char *got = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	ck_assert_msg(json_equal(v, want), "queue %s gave %s, want %s", q, got, want_json);
	free(got);
	json_decref(v), json_decref(want);
}

/* drain: every item left in queue q, in the order gets take them, as compact JSON text. */
static void drain_expect(brk_client *c, const char *q, const char *want)
{
	json_t *items = json_array(), *v;
	while (brk_queue_get(c, q, 0, &v) == BRK_OK)
		json_array_append_new(items, v);
	ck_assert_int_eq(brk_ping(c), BRK_OK); /* confirms the last one */
	char *got = json_dumps(items, JSON_COMPACT);
	ck_assert_msg(!strcmp(got, want), "queue %s holds %s, want %s", q, got, want);
	free(got);
	json_decref(items);
}

/* recv_all: what end of pipe p holds, received without waiting (after pipe.open), as
 * compact JSON text; bytes messages as {"bytes": B64}. */
static void recv_expect(brk_client *c, const char *p, brk_pipe_end end, const char *want)
{
	json_t *msgs = json_array(), *r;
	brk_err err = brk_pipe_open(c, p, end);
	ck_assert_msg(err == BRK_OK, "pipe.open %s: %s", p, brk_last_error());
	for (;;) {
		json_t *args =
			json_pack("{s:s, s:i}", "end", end == BRK_PIPE_A ? "a" : "b", "timeout", 0);
		r = call(c, "pipe.recv", p, args, &err);
		if (err != BRK_OK)
			break;
		json_array_append_new(msgs, r);
	}
	ck_assert_msg(err == BRK_EEMPTY || err == BRK_EEOF, "pipe.recv %s: %s", p,
		      brk_last_error());
	ck_assert_int_eq(brk_ping(c), BRK_OK);
	char *got = json_dumps(msgs, JSON_COMPACT);
	ck_assert_msg(!strcmp(got, want), "pipe %s end %c received %s, want %s", p,
		      end == BRK_PIPE_A ? 'a' : 'b', got, want);
	free(got);
	json_decref(msgs);
}

static void fill_queues(brk_client *c)
{
	ck_assert_int_eq(brk_queue_create(c, "qf", BRK_FIFO, 10), BRK_OK);
	for (int i = 1; i <= 7; i++)
		put_int(c, "qf", i);
	take(c, "qf", "{\"i\":1}");
	take(c, "qf", "{\"i\":2}");
	ck_assert_int_eq(brk_queue_task_done(c, "qf"), BRK_OK); /* unfinished 6 */
	ck_assert_int_eq(brk_queue_create(c, "ql", BRK_LIFO, 0), BRK_OK);
	for (const char *s = "abcde"; *s; s++)
		put_str(c, "ql", (char[]){*s, 0}, -1);
	take(c, "ql", "\"e\"");
	ck_assert_int_eq(brk_queue_create(c, "qp", BRK_PRIORITY, 20), BRK_OK);
	put_str(c, "qp", "x", 3), put_str(c, "qp", "y", 1), put_str(c, "qp", "z", 2);
	put_str(c, "qp", "w", 1), put_str(c, "qp", "v", 0.5);
	take(c, "qp", "\"v\"");
	ck_assert_int_eq(brk_queue_task_done(c, "qp"), BRK_OK);
	ck_assert_int_eq(brk_queue_task_done(c, "qp"), BRK_OK); /* unfinished 3 */
	ck_assert_int_eq(brk_queue_create(c, "qc", BRK_FIFO, 0), BRK_OK);
	for (int i = 1; i <= 3; i++)
		put_int(c, "qc", i);
	ck_assert_int_eq(brk_queue_create(c, "qpc", BRK_PRIORITY, 0), BRK_OK);
	put_str(c, "qpc", "a", 2), put_str(c, "qpc", "b", 1), put_str(c, "qpc", "c", 3);
	ck_assert_int_eq(brk_ping(c), BRK_OK);
}

static void fill_pipes(brk_client *c)
{
	json_t *v;
	ck_assert_int_eq(brk_pipe_create(c, "p", true, 50, 0), BRK_OK);
	for (int i = 1; i <= 3; i++) {
		v = json_integer(i);
		ck_assert_int_eq(brk_pipe_send(c, "p", BRK_PIPE_A, v, 0), BRK_OK);
		json_decref(v);
	}
	ck_assert_int_eq(brk_pipe_send_bytes(c, "p", BRK_PIPE_A, "\x00\x01\xff", 3, 0), BRK_OK);
	v = json_pack("[ss]", "x", "y");
	for (size_t i = 0; i < 2; i++)
		ck_assert_int_eq(brk_pipe_send(c, "p", BRK_PIPE_B, json_array_get(v, i), 0),
				 BRK_OK);
	json_decref(v);
	ck_assert_int_eq(brk_pipe_recv(c, "p", BRK_PIPE_B, 0, &v), BRK_OK);
	ck_assert_int_eq(json_integer_value(v), 1);
	json_decref(v);
	ck_assert_int_eq(brk_pipe_create(c, "p1", false, 0, 0), BRK_OK);
	v = json_pack("{s:i}", "k", 1);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(brk_pipe_send(c, "p1", BRK_PIPE_B, v, 0), BRK_OK);
	json_decref(v);
	ck_assert_int_eq(brk_pipe_create(c, "pc", true, 0, 0), BRK_OK);
	for (int i = 1; i <= 2; i++) {
		v = json_integer(i);
		ck_assert_int_eq(brk_pipe_send(c, "pc", BRK_PIPE_B, v, 0), BRK_OK);
		json_decref(v);
	}
	ck_assert_int_eq(brk_ping(c), BRK_OK);
}

/* expect_end_state: end e of pipe p is in state want ("unopened", "open" or "closed"). */
static void expect_end_state(brk_client *c, const char *p, const char *e, const char *want)
{
	json_t *st = NULL;
	ck_assert_int_eq(brk_stat(c, p, &st), BRK_OK);
	const char *got = json_string_value(
		json_object_get(json_object_get(json_object_get(st, "ends"), e), "state"));
	ck_assert_msg(got && !strcmp(got, want), "pipe %s end %s is %s, want %s", p, e,
		      got ? got : "?", want);
	json_decref(st);
}

static void fill_shared(brk_client *c)
{
	json_t *k = json_string("a"), *v = json_integer(1), *two = json_integer(2);
	json_t *t = json_string("two"), *x = json_string("x"), *xv = json_pack("[i{s:n}]", 1, "y");
	ck_assert_int_eq(brk_dict_set(c, "d", k, v), BRK_OK);
	ck_assert_int_eq(brk_dict_set(c, "d", two, t), BRK_OK);
	ck_assert_int_eq(brk_dict_set(c, "d", x, xv), BRK_OK);
	ck_assert_int_eq(brk_dict_delete(c, "d", k), BRK_OK);
	json_t *f = json_real(1.5), *u = json_string("\xc3\xa9\xe2\x98\x83");
	ck_assert_int_eq(brk_dict_set(c, "d", k, f), BRK_OK);
	ck_assert_int_eq(brk_dict_set(c, "d", f, u), BRK_OK);
	json_t *items = json_pack("[iii]", 3, 1, 2);
	ck_assert_int_eq(brk_list_extend(c, "l", items), BRK_OK);
	ck_assert_int_eq(brk_list_sort(c, "l", false), BRK_OK);
	ck_assert_int_eq(brk_list_append(c, "l", t), BRK_OK);
	ck_assert_int_eq(brk_list_insert(c, "l", 0, json_null()), BRK_OK);
	ck_assert_int_eq(brk_namespace_set(c, "ns", "a", v), BRK_OK);
	ck_assert_int_eq(brk_namespace_set(c, "ns", "b", x), BRK_OK);
	ck_assert_int_eq(brk_namespace_delete(c, "ns", "a"), BRK_OK);
	ck_assert_int_eq(brk_namespace_set(c, "ns", "c", xv), BRK_OK);
	ck_assert_int_eq(brk_value_create(c, "vi", BRK_INT, NULL, NULL), BRK_OK);
	ck_assert_int_eq(brk_value_add_int(c, "vi", 41, NULL), BRK_OK);
	json_t *f25 = json_real(2.5), *hello = json_string("hello");
	ck_assert_int_eq(brk_value_create(c, "vf", BRK_FLOAT, f25, NULL), BRK_OK);
	ck_assert_int_eq(brk_value_create(c, "vb", BRK_BOOL, json_true(), NULL), BRK_OK);
	ck_assert_int_eq(brk_value_create(c, "vs", BRK_STR, NULL, NULL), BRK_OK);
	ck_assert_int_eq(brk_value_set(c, "vs", hello), BRK_OK);
	json_t *three = json_pack("[iii]", 1, 2, 3), *halves = json_pack("[ff]", 0.5, 1.5);
	ck_assert_int_eq(brk_array_create_from(c, "ai", BRK_INT, three, NULL), BRK_OK);
	json_t *ten = json_integer(10), *sum = NULL;
	ck_assert_int_eq(brk_array_add(c, "ai", 1, ten, &sum), BRK_OK);
	ck_assert_int_eq(json_integer_value(sum), 12);
	json_decref(ten), json_decref(sum);
	ck_assert_int_eq(brk_array_create(c, "af", BRK_FLOAT, 4, NULL), BRK_OK);
	ck_assert_int_eq(brk_array_set_slice(c, "af", BRK_SLICE(0, 2), halves), BRK_OK);
	json_decref(k), json_decref(v), json_decref(two), json_decref(t), json_decref(x);
	json_decref(xv), json_decref(f), json_decref(u), json_decref(items), json_decref(f25);
	json_decref(hello), json_decref(three), json_decref(halves);
}

/* fill_ephemeral: objects created with "ephemeral": true, which a restart forgets. */
static void fill_ephemeral(brk_client *c)
{
	json_decref(call_ok(c, "queue.create", "eq", json_pack("{s:b}", "ephemeral", 1)));
	put_int(c, "eq", 1);
	ck_assert_int_eq(brk_queue_create(c, "eq", BRK_FIFO, 0), BRK_EEXISTS);
	ck_assert_int_eq(brk_queue_create(c, "qf", BRK_FIFO, 10), BRK_OK); /* as it was */
	brk_err err;
	json_decref(call(c, "queue.create", "qf",
			 json_pack("{s:i, s:b}", "maxsize", 10, "ephemeral", 1), &err));
	ck_assert_msg(err == BRK_EEXISTS, "queue.create of a persistent queue as ephemeral: %s",
		      brk_err_code(err));
	json_decref(call_ok(c, "list.create", "el",
			    json_pack("{s:[i], s:b}", "items", 1, "ephemeral", 1)));
	json_decref(
		call_ok(c, "value.create", "ev",
			json_pack("{s:s, s:i, s:b}", "type", "int", "value", 5, "ephemeral", 1)));
	json_decref(call_ok(c, "pipe.create", "ep", json_pack("{s:b}", "ephemeral", 1)));
	json_decref(
		call_ok(c, "array.create", "ea",
			json_pack("{s:s, s:i, s:b}", "type", "int", "length", 2, "ephemeral", 1)));
}

static const char *const gone[] = {"eq", "el", "ev", "ep", "ea", "L", "R", "E", "S", "B"};

/* fill_sync: locks, events and the like, which end with a restart; the highest fence. */
static uint64_t fill_sync(brk_client *c)
{
	bool got;
	uint64_t fence = 0;
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(brk_lock_acquire(c, "L", BRK_LOCK, 0, &got, &fence), BRK_OK);
		ck_assert(got);
		ck_assert_int_eq(brk_lock_release(c, "L", BRK_LOCK), BRK_OK);
	}
	ck_assert_int_eq(brk_lock_acquire(c, "L", BRK_LOCK, 0, &got, &fence), BRK_OK);
	uint64_t rfence = 0;
	ck_assert_int_eq(brk_lock_acquire(c, "R", BRK_RLOCK, 0, &got, &rfence), BRK_OK);
	ck_assert_uint_gt(rfence, fence);
	ck_assert_int_eq(brk_event_set(c, "E"), BRK_OK);
	ck_assert_int_eq(brk_semaphore_create(c, "S", 3, false), BRK_OK);
	ck_assert_int_eq(brk_semaphore_acquire(c, "S", 1, 0, &got), BRK_OK);
	ck_assert_int_eq(brk_barrier_create(c, "B", 2, -1), BRK_OK);
	return rfence;
}

/* expect_same: before and after hold the same members; each that differs is shown. */
static void expect_same(const json_t *before, const json_t *after)
{
	const char *key, *first = NULL;
	json_t *b;
	json_object_foreach ((json_t *)before, key, b) {
		json_t *a = json_object_get(after, key);
		if (json_equal(a, b))
			continue;
		char *bt = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
		char *at =
			a ? json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
		fprintf(stderr, "%s after the restart: %.600s\n  before: %.600s\n", key,
			at ? at : "(missing)", bt);
		free(bt), free(at);
		first = first ? first : key;
	}
	ck_assert_msg(!first, "%s differs after the restart (and any others shown above)", first);
}

/* Mode 0: SIGTERM with the default fsync; mode 1: SIGKILL with --fsync always. */
START_TEST(a_restart_keeps_every_persistent_object)
{
	bool kill9 = _i == 1;
	const char *const *extra = kill9 ? FSYNC_ALWAYS : NULL;
	daemon_start_on(&d, data, extra);
	brk_client *c = daemon_client(&d), *holder = daemon_client(&d), *c3 = daemon_client(&d);
	fill_queues(c);
	fill_pipes(c);
	fill_shared(c);
	fill_ephemeral(c);
	uint64_t fence = fill_sync(c);
	uint64_t top_session = brk_session_id(c);
	if (brk_session_id(holder) > top_session)
		top_session = brk_session_id(holder);
	ck_assert_int_eq(brk_ping(c3), BRK_OK);
	if (brk_session_id(c3) > top_session)
		top_session = brk_session_id(c3);
	json_t *before = observe(c), *v = NULL;
	uint64_t top_version = max_version(before);
	/* taken and not confirmed: back in its place after the restart (so observed before) */
	ck_assert_int_eq(brk_queue_get(holder, "qc", 0, &v), BRK_OK);
	json_decref(v);
	/* "ack": [] keeps libbroker from confirming the first with this call */
	v = call_ok(holder, "queue.get", "qpc",
		    json_pack("{s:b, s:b, s:[]}", "block", 0, "confirm", 1, "ack"));
	ck_assert_str_eq(json_string_value(v), "b");
	json_decref(v);
	v = call_ok(
		holder, "pipe.recv", "pc",
		json_pack("{s:s, s:i, s:b, s:[]}", "end", "a", "timeout", 0, "confirm", 1, "ack"));
	ck_assert_int_eq(json_integer_value(json_object_get(v, "value")), 1);
	json_decref(v);

	daemon_stderr_clear(&d);
	brk_client *n = restart(kill9, extra);
	brk_ping(holder); /* the old session is gone (session_lost); nothing to confirm now */
	brk_close(holder), brk_close(c), brk_close(c3);
	json_t *after = observe(n);
	expect_same(before, after);

	/* gone: ephemeral objects, locks, events, semaphores, barriers */
	for (size_t i = 0; i < sizeof gone / sizeof *gone; i++) {
		json_t *st = NULL;
		brk_err err = brk_stat(n, gone[i], &st);
		ck_assert_msg(err == BRK_ENOTFOUND, "%s after the restart: %s", gone[i],
			      err ? brk_err_code(err) : "still there");
		json_decref(st);
	}
	bool got;
	uint64_t f2 = 0;
	ck_assert_int_eq(brk_lock_acquire(n, "L", BRK_LOCK, 0, &got, &f2), BRK_OK);
	ck_assert(got);
	ck_assert_msg(f2 > fence, "fence %" PRIu64 " after the restart, %" PRIu64 " before", f2,
		      fence);
	uint64_t f3 = 0;
	ck_assert_int_eq(brk_lock_acquire(n, "other", BRK_LOCK, 0, &got, &f3), BRK_OK);
	ck_assert_uint_gt(f3, f2);
	ck_assert_msg(brk_session_id(n) > top_session,
		      "session %" PRIu64 " after the restart, %" PRIu64 " before",
		      brk_session_id(n), top_session);
	json_t *k = json_string("new");
	ck_assert_int_eq(brk_dict_set(n, "d", k, k), BRK_OK);
	ck_assert_msg(brk_last_version() > top_version,
		      "version %" PRIu64 " after the restart, %" PRIu64 " before",
		      brk_last_version(), top_version);
	ck_assert_int_eq(brk_value_add_int(n, "vi", 1, NULL), BRK_OK);
	ck_assert_uint_gt(brk_last_version(), top_version);
	json_decref(k);

	/* pipe ends that were open are closed; one never opened stays so */
	expect_end_state(n, "p", "a", "closed");
	expect_end_state(n, "p", "b", "closed");
	expect_end_state(n, "p1", "a", "unopened");
	expect_end_state(n, "p1", "b", "closed");
	expect_end_state(n, "pc", "a", "closed");

	/* queue and pipe contents, in the order they come out */
	drain_expect(n, "qf", "[{\"i\":3},{\"i\":4},{\"i\":5},{\"i\":6},{\"i\":7}]");
	drain_expect(n, "ql", "[\"d\",\"c\",\"b\",\"a\"]");
	drain_expect(n, "qp", "[\"y\",\"w\",\"z\",\"x\"]");
	drain_expect(n, "qc", "[{\"i\":1},{\"i\":2},{\"i\":3}]");
	drain_expect(n, "qpc", "[\"b\",\"a\",\"c\"]");
	recv_expect(n, "p", BRK_PIPE_A, "[{\"value\":\"x\"},{\"value\":\"y\"}]");
	recv_expect(n, "p", BRK_PIPE_B, "[{\"value\":2},{\"value\":3},{\"bytes\":\"AAH/\"}]");
	recv_expect(n, "pc", BRK_PIPE_A, "[{\"value\":1},{\"value\":2}]");
	recv_expect(n, "p1", BRK_PIPE_A,
		    "[{\"value\":{\"k\":1}},{\"value\":{\"k\":1}},"
		    "{\"value\":{\"k\":1}}]");
	ck_assert_int_eq(stat_count(n, "qf", "unfinished"), 6);
	ck_assert_int_eq(stat_count(n, "qp", "unfinished"), 3);

	json_t *p = persistence(n);
	ck_assert_str_eq(json_string_value(json_object_get(p, "data_dir")), data);
	ck_assert_str_eq(json_string_value(json_object_get(p, "fsync")),
			 kill9 ? "always" : "everysec");
	long long loaded = json_integer_value(json_object_get(p, "loaded_records"));
	ck_assert_int_gt(loaded, 0);
	json_decref(p);
	char said[64];
	snprintf(said, sizeof said, "loaded %lld records", loaded);
	assert_stderr_has(said);
	json_decref(before), json_decref(after);
	brk_close(n);
	ck_assert_int_eq(daemon_term(&d), 0);
}
END_TEST

/* Limits apply to what clients send: what was stored under looser ones loads. */
START_TEST(a_restart_under_tighter_limits_keeps_what_was_stored)
{
	const char *const loose[] = {"--max-value", "4M", "--max-elements", "100", NULL};
	const char *const tight[] = {"--max-elements", "10", NULL};
	size_t big = (size_t)2 << 20, len;
	char *text = malloc(big + 1);
	memset(text, 'x', big);
	text[big] = '\0';
	json_t *huge = json_string(text), *k = json_string("big"), *v = NULL;
	free(text);
	daemon_start_on(&d, data, loose);
	brk_client *c = daemon_client(&d);
	ck_assert_int_eq(brk_dict_set(c, "d", k, huge), BRK_OK);
	json_t *items = json_array();
	for (int i = 0; i < 20; i++)
		json_array_append_new(items, json_integer(i));
	ck_assert_int_eq(brk_list_extend(c, "l", items), BRK_OK);
	brk_close(c);
	c = restart(false, tight);
	ck_assert_int_eq(brk_dict_get(c, "d", k, &v), BRK_OK);
	ck_assert_int_eq(json_string_length(v), big);
	json_decref(v);
	ck_assert_int_eq(brk_list_len(c, "l", &len), BRK_OK);
	ck_assert_int_eq(len, 20);
	ck_assert_int_eq(brk_list_append(c, "l", k), BRK_ELIMIT); /* new writes: the new limits */
	brk_close(c);
	c = restart(true, tight); /* from the snapshot of a compaction too */
	json_decref(call_ok(c, "save", NULL, NULL));
	brk_close(c);
	c = restart(true, tight);
	ck_assert_int_eq(brk_dict_get(c, "d", k, &v), BRK_OK);
	ck_assert_int_eq(json_string_length(v), big);
	ck_assert_int_eq(brk_list_len(c, "l", &len), BRK_OK);
	ck_assert_int_eq(len, 20);
	json_decref(v), json_decref(huge), json_decref(k), json_decref(items);
	brk_close(c);
	ck_assert_int_eq(daemon_term(&d), 0);
}
END_TEST

/* put_child: a child process that puts the string s to queue q, waiting as long as it
 * takes; it exits 0 once the put is acknowledged, 1 on an error. */
static pid_t put_child(const char *q, const char *s)
{
	pid_t pid = test_fork();
	if (pid == 0) {
		brk_client *pc;
		if (brk_connect(d.url, NULL, &pc) != BRK_OK)
			_exit(2);
		json_t *v = json_string(s);
		_exit(brk_queue_put(pc, q, v, BRK_FOREVER) == BRK_OK ? 0 : 1);
	}
	return pid;
}

/* A put that parks on a full queue is stored when its item enters, not before. */
START_TEST(a_parked_put_is_stored_when_its_item_enters)
{
	daemon_start_on(&d, data, FSYNC_ALWAYS);
	brk_client *c = daemon_client(&d);
	ck_assert_int_eq(brk_queue_create(c, "qb", BRK_FIFO, 1), BRK_OK);
	put_str(c, "qb", "A", -1);
	pid_t b = put_child("qb", "B");
	wait_stat(c, "qb", "putters", 1);
	pid_t cc = put_child("qb", "C");
	wait_stat(c, "qb", "putters", 2);
	take(c, "qb", "\"A\""); /* B enters; C still waits */
	ck_assert_int_eq(wait_exit(b, 30), 0);
	wait_stat(c, "qb", "putters", 1);
	ck_assert_int_eq(brk_ping(c), BRK_OK); /* confirms A */
	brk_close(c);
	c = restart(true, FSYNC_ALWAYS);
	ck_assert_int_eq(wait_exit(cc, 30), 1);
	drain_expect(c, "qb", "[\"B\"]");
	ck_assert_int_eq(stat_count(c, "qb", "maxsize"), 1);
	brk_close(c);
	ck_assert_int_eq(daemon_term(&d), 0);
}
END_TEST

/* ---- 2. SIGKILL at random moments under load ---- */

enum { R_ATTEMPT = 1, R_PUT, R_SET, R_ADD, R_GOT, R_ACKED };

struct event {
	int32_t kind, pad;
	int64_t n, sum;
	uint64_t version;
};

static void emit(int fd, int kind, int64_t n, int64_t sum, uint64_t version)
{
	struct event e = {kind, 0, n, sum, version};
	if (write(fd, &e, sizeof e) != sizeof e)
		_exit(3);
}

/* writer_main: in a child: puts {"n": n} to queue q, sets d[str(n)] = n and adds 1 to
 * value v, for n from first on, reporting each attempt and each acknowledged write on fd,
 * until a call fails (brokerd killed). */
static void writer_main(const char *url, int fd, int64_t first)
{
	brk_client *c;
	if (brk_connect(url, NULL, &c) != BRK_OK)
		_exit(0);
	for (int64_t n = first;; n++) {
		char key[24];
		snprintf(key, sizeof key, "%" PRId64, n);
		json_t *item = json_pack("{s:I}", "n", (json_int_t)n), *k = json_string(key);
		json_t *jn = json_integer(n);
		int64_t sum;
		emit(fd, R_ATTEMPT, n, 0, 0);
		if (brk_queue_put(c, "q", item, BRK_FOREVER) != BRK_OK)
			_exit(0);
		emit(fd, R_PUT, n, 0, 0);
		if (brk_dict_set(c, "d", k, jn) != BRK_OK)
			_exit(0);
		emit(fd, R_SET, n, 0, 0);
		if (brk_value_add_int(c, "v", 1, &sum) != BRK_OK)
			_exit(0);
		emit(fd, R_ADD, n, sum, brk_last_version());
		json_decref(item), json_decref(k), json_decref(jn);
	}
}

/* consumer_main: in a child: takes items of q with confirmation, holding a random few
 * unconfirmed ("ack": [] keeps libbroker from confirming them), then confirms them all
 * with a ping; reports each item taken and each confirmation on fd. */
static void consumer_main(const char *url, int fd, unsigned seed)
{
	brk_client *c;
	if (brk_connect(url, NULL, &c) != BRK_OK)
		_exit(0);
	srand(seed);
	for (;;) {
		int hold = rand() % 4;
		for (int i = 0; i <= hold; i++) {
			json_t *req = json_pack("{s:s, s:s, s:b, s:f, s:[]}", "op", "queue.get",
						"name", "q", "confirm", 1, "timeout", 0.2, "ack");
			json_t *v = NULL;
			brk_err err = brk_call(c, req, &v);
			json_decref(req);
			if (err == BRK_EEMPTY)
				continue;
			if (err != BRK_OK)
				_exit(0);
			emit(fd, R_GOT, json_integer_value(json_object_get(v, "n")), 0, 0);
			json_decref(v);
		}
		if (brk_ping(c) != BRK_OK)
			_exit(0);
		emit(fd, R_ACKED, 0, 0, 0);
	}
}

/* What the crash test knows about one n of the current round. */
#define F_ATTEMPT 1
#define F_PUT 2
#define F_SET 4
#define F_GOT 8
#define F_ACKED 16 /* got and confirmed */

struct crash {
	unsigned char *flags; /* per n */
	size_t cap;
	int64_t first, next; /* this round's first n; the next n to hand out */
	int64_t base;        /* v when the round started */
	int64_t adds;        /* adds attempted this round */
	int64_t acked_sum;   /* the highest acknowledged sum this round (0: none) */
	uint64_t acked_ver;  /* its version */
	int64_t pending[64]; /* items got and not confirmed yet */
	int npending;
	long events;
};

static void crash_note(struct crash *s, const struct event *e)
{
	if (e->kind != R_ACKED && (e->n < s->first || e->n >= (int64_t)s->cap))
		ck_abort_msg("event %d for n %" PRId64 " outside [%" PRId64 ", %zu)", e->kind, e->n,
			     s->first, s->cap);
	switch (e->kind) {
	case R_ATTEMPT:
		s->flags[e->n] |= F_ATTEMPT;
		s->adds++;
		if (e->n >= s->next)
			s->next = e->n + 1;
		break;
	case R_PUT:
		s->flags[e->n] |= F_PUT;
		break;
	case R_SET:
		s->flags[e->n] |= F_SET;
		break;
	case R_ADD:
		ck_assert_int_gt(e->sum, s->acked_sum);
		s->acked_sum = e->sum, s->acked_ver = e->version;
		break;
	case R_GOT:
		ck_assert_msg(!(s->flags[e->n] & F_GOT), "item %" PRId64 " taken twice", e->n);
		s->flags[e->n] |= F_GOT;
		ck_assert_int_lt(s->npending, 64);
		s->pending[s->npending++] = e->n;
		break;
	case R_ACKED:
		for (int i = 0; i < s->npending; i++)
			s->flags[s->pending[i]] |= F_ACKED;
		s->npending = 0;
		break;
	}
	s->events += e->kind != R_ATTEMPT && e->kind != R_ACKED;
}

/* crash_read: reads whole events from the fds still open (fd[i] >= 0), waiting up to
 * 100 ms; an fd at EOF is closed and set to -1. */
static void crash_read(struct crash *s, int fd[2])
{
	struct pollfd p[2];
	int n = 0;
	for (int i = 0; i < 2; i++)
		if (fd[i] >= 0)
			p[n++] = (struct pollfd){.fd = fd[i], .events = POLLIN};
	if (n == 0 || poll(p, (nfds_t)n, 100) <= 0)
		return;
	for (int i = 0; i < n; i++) {
		if (!(p[i].revents & (POLLIN | POLLHUP)))
			continue;
		struct event e[64];
		ssize_t got = read(p[i].fd, e, sizeof e);
		if (got < 0 && errno == EINTR)
			continue;
		if (got > 0 && got % (ssize_t)sizeof *e) {
			/* a partial event: read the rest, which the writer finished */
			size_t more = sizeof *e - (size_t)got % sizeof *e;
			ck_assert_int_eq(read(p[i].fd, (char *)e + got, more), (ssize_t)more);
			got += (ssize_t)more;
		}
		for (ssize_t k = 0; k < got / (ssize_t)sizeof *e; k++)
			crash_note(s, &e[k]);
		if (got <= 0)
			for (int j = 0; j < 2; j++)
				if (fd[j] == p[i].fd)
					close(fd[j]), fd[j] = -1;
	}
}

/* crash_verify: after a restart: the round's acknowledged writes are all there, and no item
 * twice unless it was taken and not confirmed; the queue is drained and the dict deleted,
 * so the next round starts clean. */
static void crash_verify(brk_client *c, struct crash *s, int round)
{
	json_t *v = NULL;
	static unsigned char seen[1 << 20];
	memset(seen + s->first, 0, (size_t)(s->next - s->first));
	while (brk_queue_get(c, "q", 0, &v) == BRK_OK) {
		int64_t n = json_integer_value(json_object_get(v, "n"));
		json_decref(v);
		ck_assert_msg(n >= s->first && n < s->next,
			      "round %d: item %" PRId64 " in the queue, not of this round [%" PRId64
			      ", %" PRId64 ")",
			      round, n, s->first, s->next);
		ck_assert_msg(s->flags[n] & F_ATTEMPT, "round %d: item %" PRId64 " never put",
			      round, n);
		ck_assert_msg(!(s->flags[n] & F_ACKED),
			      "round %d: item %" PRId64 " was taken and confirmed, and is back",
			      round, n);
		ck_assert_msg(!seen[n], "round %d: item %" PRId64 " twice in the queue", round, n);
		seen[n] = 1;
	}
	ck_assert_int_eq(brk_ping(c), BRK_OK); /* confirms the last one taken */
	for (int64_t n = s->first; n < s->next; n++)
		ck_assert_msg(!(s->flags[n] & F_PUT) || seen[n] || (s->flags[n] & F_GOT),
			      "round %d: acknowledged put of %" PRId64 " lost", round, n);

	json_t *items = NULL, *pair;
	size_t i;
	ck_assert_int_eq(brk_dict_items(c, "d", &items), BRK_OK);
	memset(seen + s->first, 0, (size_t)(s->next - s->first));
	json_array_foreach (items, i, pair) {
		const char *key = json_string_value(json_array_get(pair, 0));
		int64_t n = key ? strtoll(key, NULL, 10) : -1;
		ck_assert_msg(n >= s->first && n < s->next && (s->flags[n] & F_ATTEMPT),
			      "round %d: dict key %s not set this round", round, key ? key : "?");
		ck_assert_int_eq(json_integer_value(json_array_get(pair, 1)), n);
		seen[n] = 1;
	}
	for (int64_t n = s->first; n < s->next; n++)
		ck_assert_msg(!(s->flags[n] & F_SET) || seen[n],
			      "round %d: acknowledged dict set of %" PRId64 " lost", round, n);
	brk_err err = brk_del(c, "d");
	ck_assert(err == BRK_OK || err == BRK_ENOTFOUND);
	json_decref(items);

	ck_assert_int_eq(brk_value_get(c, "v", &v), BRK_OK);
	int64_t now = json_integer_value(v);
	uint64_t ver = brk_last_version();
	json_decref(v);
	ck_assert_msg(now >= s->acked_sum && now <= s->base + s->adds,
		      "round %d: v is %" PRId64 ": acknowledged %" PRId64 ", at most %" PRId64,
		      round, now, s->acked_sum, s->base + s->adds);
	ck_assert_msg(ver >= s->acked_ver,
		      "round %d: v at version %" PRIu64 ", %" PRIu64 " acknowledged", round, ver,
		      s->acked_ver);
	s->base = now, s->adds = 0, s->acked_sum = 0, s->acked_ver = 0;
	s->first = s->next, s->npending = 0;
}

static pid_t crash_child(int *fd, int64_t first, unsigned seed)
{
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	pid_t pid = test_fork();
	if (pid == 0) {
		close(fds[0]);
		if (first >= 0)
			writer_main(d.url, fds[1], first);
		else
			consumer_main(d.url, fds[1], seed);
		_exit(0);
	}
	close(fds[1]);
	*fd = fds[0];
	return pid;
}

/* crash_args: brokerd's options in a round of the crash test: --fsync always, every other
 * round compacting whenever the log passes 4K (so kills land mid-compaction too); in the
 * last LOOSE_ROUNDS, everysec and no (a killed brokerd loses nothing under those either:
 * the kernel has what was written). */
static const char *const *crash_args(int round)
{
	static const char *const always[] = {"--fsync", "always", NULL};
	static const char *const always_compacting[] = {"--fsync", "always", "--compact-min", "4K",
							NULL};
	static const char *const everysec[] = {"--fsync", "everysec", NULL};
	static const char *const no_compacting[] = {"--fsync", "no", "--compact-min", "4K", NULL};
	if (round < CRASH_ROUNDS)
		return round % 2 ? always_compacting : always;
	return round % 2 ? no_compacting : everysec;
}

START_TEST(sigkill_at_random_moments_loses_no_acknowledged_write)
{
	struct crash s = {.cap = 1 << 20};
	s.flags = calloc(s.cap, 1);
	const char *env = getenv("PERSIST_SEED");
	unsigned seed = env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL);
	printf("crash test: seed %u (PERSIST_SEED to repeat), %d rounds\n", seed,
	       CRASH_ROUNDS + LOOSE_ROUNDS);
	srand(seed);
	double t0 = test_now();
	long events = 0;
	long long gen = 0;
	for (int round = 0; round <= CRASH_ROUNDS + LOOSE_ROUNDS; round++) {
		daemon_start_on(&d, data, crash_args(round));
		brk_client *c = daemon_client(&d);
		long long g = pers_int(c, "generation");
		ck_assert_int_ge(g, gen);
		gen = g;
		if (round == 0)
			ck_assert_int_eq(brk_value_create(c, "v", BRK_INT, NULL, NULL), BRK_OK);
		crash_verify(c, &s, round);
		brk_close(c);
		if (round == CRASH_ROUNDS + LOOSE_ROUNDS)
			break;
		int fd[2];
		pid_t pid[2] = {crash_child(&fd[0], s.first, 0), crash_child(&fd[1], -1, rand())};
		long target = s.events + 1 + rand() % 100;
		double limit = test_now() + 30;
		while (s.events < target && (fd[0] >= 0 || fd[1] >= 0) && test_now() < limit)
			crash_read(&s, fd);
		if (s.events < target) {
			show_stderr("no progress");
			ck_abort_msg("round %d: %ld events of %ld in 30 s", round, s.events,
				     target);
		}
		int extra_us = rand() % 2000;
		if (extra_us)
			usleep((useconds_t)extra_us); /* a random moment: maybe mid-commit */
		ck_assert_int_eq(daemon_kill(&d), 128 + SIGKILL);
		while (fd[0] >= 0 || fd[1] >= 0)
			crash_read(&s, fd);
		for (int i = 0; i < 2; i++)
			ck_assert_int_eq(wait_exit(pid[i], 30), 0);
		events = s.events;
	}
	printf("crash test: %d kills, %ld acknowledged events, %lld compactions, %.1f s\n",
	       CRASH_ROUNDS + LOOSE_ROUNDS, events, gen, test_now() - t0);
	ck_assert_int_ge(gen, CRASH_ROUNDS / 10); /* the odd rounds did compact */
	brk_client *c = daemon_client(&d);
	json_t *v = NULL;
	ck_assert_int_eq(brk_value_get(c, "v", &v), BRK_OK);
	ck_assert_int_eq(json_integer_value(v), s.base);
	json_decref(v);
	brk_close(c);
	ck_assert_int_eq(daemon_term(&d), 0);
	free(s.flags);
}
END_TEST

/* ---- 3. a torn tail, a damaged middle ---- */

static void set_keys(brk_client *c, const char *prefix, int from, int to)
{
	for (int i = from; i < to; i++) {
		char key[32];
		snprintf(key, sizeof key, "%s%d", prefix, i);
		json_t *k = json_string(key), *v = json_integer(i);
		ck_assert_int_eq(brk_dict_set(c, "t", k, v), BRK_OK);
		json_decref(k), json_decref(v);
	}
}

static bool has_key(brk_client *c, const char *key)
{
	json_t *k = json_string(key);
	bool found = false;
	ck_assert_int_eq(brk_dict_contains(c, "t", k, &found), BRK_OK);
	json_decref(k);
	return found;
}

static void expect_keys(brk_client *c, const char *prefix, int from, int to)
{
	for (int i = from; i < to; i++) {
		char key[32];
		snprintf(key, sizeof key, "%s%d", prefix, i);
		ck_assert_msg(has_key(c, key), "key %s lost", key);
	}
}

static void append_bytes(const char *path, const void *bytes, size_t len)
{
	int fd = open(path, O_WRONLY | O_APPEND);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, bytes, len), (ssize_t)len);
	close(fd);
}

START_TEST(a_torn_tail_is_dropped_with_a_warning)
{
	char log[128], num[32];
	daemon_start_on(&d, data, FSYNC_ALWAYS);
	brk_client *c = daemon_client(&d);
	set_keys(c, "k", 0, 20);
	brk_close(c);
	ck_assert_int_eq(daemon_kill(&d), 128 + SIGKILL);

	/* half a record appended: its header is short */
	newest_log(log, sizeof log);
	long s0 = file_size(log);
	append_bytes(log, "\x20\x00\x00\x00\x02\x01\x00\x00\xab", 9);
	daemon_stderr_clear(&d);
	daemon_start_on(&d, data, FSYNC_ALWAYS);
	c = daemon_client(&d);
	expect_keys(c, "k", 0, 20);
	ck_assert_int_eq(pers_int(c, "torn_bytes"), 9);
	assert_stderr_has(strrchr(log, '/') + 1);
	snprintf(num, sizeof num, "%ld", s0);
	assert_stderr_has(num); /* the offset */
	ck_assert_int_eq(file_size(log) >= s0, 1);

	/* the last commit cut short: it is dropped whole, what came before stays */
	set_keys(c, "last", 0, 1);
	brk_close(c);
	ck_assert_int_eq(daemon_kill(&d), 128 + SIGKILL);
	newest_log(log, sizeof log);
	long size = file_size(log);
	ck_assert_int_eq(truncate(log, size - 3), 0);
	long end = last_commit_end(log);
	daemon_stderr_clear(&d);
	daemon_start_on(&d, data, FSYNC_ALWAYS);
	c = daemon_client(&d);
	expect_keys(c, "k", 0, 20);
	ck_assert_msg(!has_key(c, "last0"), "a commit cut short was replayed");
	ck_assert_int_eq(pers_int(c, "torn_bytes"), size - 3 - end);
	assert_stderr_has(strrchr(log, '/') + 1);

	/* a batch is one commit: with its last record gone, its whole records go too */
	json_t *ops = json_array(), *results = NULL;
	for (int i = 0; i < 3; i++) {
		char key[8];
		snprintf(key, sizeof key, "b%d", i);
		json_array_append_new(ops, json_pack("{s:s, s:s, s:s, s:i}", "op", "dict.set",
						     "name", "t", "key", key, "value", i));
	}
	ck_assert_int_eq(brk_batch(c, ops, &results), BRK_OK);
	json_decref(ops), json_decref(results);
	brk_close(c);
	ck_assert_int_eq(daemon_kill(&d), 128 + SIGKILL);
	newest_log(log, sizeof log);
	long len;
	unsigned char *buf = read_file(log, &len);
	struct rec r[4096];
	int nr = records(buf, len, r, 4096);
	free(buf);
	ck_assert_int_gt(nr, 1);
	int first = nr - 1;
	while (first > 0 && !(r[first - 1].flags & FLAG_COMMIT) && r[first - 1].type != 1)
		first--;
	printf("torn batch: its commit has %d records\n", nr - first);
	/* cut the last record off; the batch's earlier records, if any, stay whole */
	long cut = first < nr - 1 ? r[nr - 1].start : len - 3;
	end = r[first].start;
	ck_assert_int_eq(truncate(log, cut), 0);
	daemon_start_on(&d, data, FSYNC_ALWAYS);
	c = daemon_client(&d);
	expect_keys(c, "k", 0, 20);
	for (int i = 0; i < 3; i++) {
		char key[8];
		snprintf(key, sizeof key, "b%d", i);
		ck_assert_msg(!has_key(c, key), "%s of a torn batch was replayed", key);
	}
	ck_assert_int_eq(pers_int(c, "torn_bytes"), cut - end);

	/* and the dir works on: a write after the dropped tail survives a restart */
	set_keys(c, "after", 0, 3);
	brk_close(c);
	c = restart(true, FSYNC_ALWAYS);
	expect_keys(c, "k", 0, 20);
	expect_keys(c, "after", 0, 3);
	ck_assert_int_eq(pers_int(c, "torn_bytes"), 0);
	brk_close(c);
	ck_assert_int_eq(daemon_term(&d), 0);
}
END_TEST

START_TEST(a_damaged_record_in_the_middle_stops_start_up_until_repair)
{
	char log[128], num[32];
	enum { N = 40 };
	daemon_start_on(&d, data, FSYNC_ALWAYS);
	brk_client *c = daemon_client(&d);
	set_keys(c, "k", 0, 10);
	set_keys(c, "m", 0, N);
	brk_close(c);
	ck_assert_int_eq(daemon_kill(&d), 128 + SIGKILL);

	/* flip a payload byte of the record that sets m<N/2> */
	newest_log(log, sizeof log);
	long len;
	unsigned char *buf = read_file(log, &len);
	struct rec r[4096];
	int nr = records(buf, len, r, 4096), bad = -1;
	char needle[16];
	snprintf(needle, sizeof needle, "\"m%d\"", N / 2);
	for (int i = 1; i < nr && bad < 0; i++)
		if (memmem(buf + r[i].start + REC_HDR, (size_t)r[i].len, needle, strlen(needle)))
			bad = i;
	ck_assert_msg(bad > 0, "no record of %s holds %s", log, needle);
	ck_assert_int_lt(bad, nr - 1); /* valid records follow it */
	long flip = r[bad].start + REC_HDR + r[bad].len / 2, cut = commit_start(r, bad);
	buf[flip] ^= 0x40;
	int fd = open(log, O_WRONLY);
	ck_assert_int_eq(pwrite(fd, buf + flip, 1, flip), 1);
	close(fd);

	/* refused: exit 1, naming the dir, the file, the offset and --repair; nothing changed */
	daemon_stderr_clear(&d);
	daemon_launch(&d, data, FSYNC_ALWAYS);
	int rc = daemon_await(&d, 60);
	if (rc != 1)
		show_stderr("damaged log");
	ck_assert_int_eq(rc, 1);
	assert_stderr_has(data);
	assert_stderr_has(strrchr(log, '/') + 1);
	snprintf(num, sizeof num, "offset %ld", r[bad].start);
	assert_stderr_has(num);
	assert_stderr_has("--repair");
	snprintf(num, sizeof num, "%ld", len - cut);
	assert_stderr_has(num); /* the bytes a repair would lose */
	long len2;
	unsigned char *now = read_file(log, &len2);
	ck_assert_msg(len2 == len && !memcmp(now, buf, (size_t)len), "a refused start changed %s",
		      log);
	free(now);

	/* --repair: starts, says what it lost, keeps exactly the commits before the cut */
	daemon_stderr_clear(&d);
	daemon_start_on(&d, data, (const char *const[]){"--fsync", "always", "--repair", NULL});
	assert_stderr_has(num);
	c = daemon_client(&d);
	ck_assert_int_eq(pers_int(c, "repaired_bytes"), len - cut);
	long long snap_bytes = 0; /* and it compacts at once */
	for (double limit = test_now() + 20;
	     dir_files("snapshot.", &snap_bytes) == 0 && test_now() < limit;)
		nap_ms(10);
	ck_assert_msg(snap_bytes > 0, "no snapshot 20 s after a repair");
	expect_keys(c, "k", 0, 10);
	expect_keys(c, "m", 0, N / 2);
	for (int i = N / 2; i < N; i++) {
		char key[16];
		snprintf(key, sizeof key, "m%d", i);
		ck_assert_msg(!has_key(c, key), "%s, after the cut, is there", key);
	}
	set_keys(c, "post", 0, 2);
	brk_close(c);
	free(buf);

	/* repaired for good: a plain restart works and keeps everything since */
	c = restart(true, FSYNC_ALWAYS);
	expect_keys(c, "m", 0, N / 2);
	expect_keys(c, "post", 0, 2);
	ck_assert(!has_key(c, "m39"));
	brk_close(c);
	ck_assert_int_eq(daemon_term(&d), 0);
}
END_TEST

START_TEST(a_damaged_snapshot_stops_start_up)
{
	char snap[128], num[32];
	daemon_start_on(&d, data, FSYNC_ALWAYS);
	brk_client *c = daemon_client(&d);
	set_keys(c, "k", 0, 50);
	json_t *r = call_ok(c, "save", NULL, NULL);
	long long gen = json_integer_value(json_object_get(r, "generation"));
	json_decref(r);
	set_keys(c, "after", 0, 5);
	brk_close(c);
	ck_assert_int_eq(daemon_kill(&d), 128 + SIGKILL);

	snprintf(snap, sizeof snap, "%s/snapshot.%08lld", data, gen);
	long len;
	unsigned char *buf = read_file(snap, &len);
	struct rec rs[4096];
	int nr = records(buf, len, rs, 4096);
	ck_assert_int_ge(nr, 3);
	int bad = nr / 2;
	long flip = rs[bad].start + REC_HDR + rs[bad].len / 2;
	buf[flip] ^= 0x08;
	int fd = open(snap, O_WRONLY);
	ck_assert_int_eq(pwrite(fd, buf + flip, 1, flip), 1);
	close(fd);
	free(buf);
	daemon_stderr_clear(&d);
	daemon_launch(&d, data, FSYNC_ALWAYS);
	int rc = daemon_await(&d, 60);
	if (rc != 1)
		show_stderr("damaged snapshot");
	ck_assert_int_eq(rc, 1);
	assert_stderr_has(strrchr(snap, '/') + 1);
	snprintf(num, sizeof num, "offset %ld", rs[bad].start);
	assert_stderr_has(num);
	assert_stderr_has("--repair");
}
END_TEST

/* ---- 4. a full disk ---- */

/* fill_fs: writes dir/filler until the file system is full. */
static void fill_fs(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	static char block[65536];
	for (size_t sz = sizeof block; sz >= 1; sz /= 2)
		while (write(fd, block, sz) == (ssize_t)sz)
			;
	fsync(fd);
	close(fd);
}

/* full_writer_main: in a child: sets t[n] for n in 0..count-1, a 200-byte value each,
 * reporting each acknowledged n on fd; exits 0 after all, 1 on an error. */
static void full_writer_main(const char *url, int fd, int count)
{
	brk_client *c;
	char pad[201];
	memset(pad, 'p', 200);
	pad[200] = '\0';
	if (brk_connect(url, NULL, &c) != BRK_OK)
		_exit(2);
	for (int n = 0; n < count; n++) {
		json_t *k = json_integer(n), *v = json_string(pad);
		brk_err err = brk_dict_set(c, "t", k, v);
		json_decref(k), json_decref(v);
		if (err != BRK_OK) {
			int code = -1 - (int)err; /* reported as a negative number */
			_exit(write(fd, &code, sizeof code) == sizeof code ? 1 : 3);
		}
		if (write(fd, &n, sizeof n) != sizeof n)
			_exit(3);
	}
	brk_close(c);
	_exit(0);
}

/* acked_so_far: reads the writer's reports without waiting; the count so far. */
static int acked_so_far(int fd, int *count)
{
	int n;
	while (read(fd, &n, sizeof n) == sizeof n)
		ck_assert_int_eq(n, (*count)++);
	return *count;
}

/* small_tmpfs: mounts a 1 MiB tmpfs on the data dir in a mount namespace of this test
 * process's own; false (saying why) when that cannot be done here. */
static bool small_tmpfs(const char *test)
{
	if (geteuid() != 0) {
		printf("%s: skipped: mounting a small tmpfs needs root\n", test);
		return false;
	}
	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
		printf("%s: skipped: no private mount namespace: %s\n", test, strerror(errno));
		return false;
	}
	ck_assert_int_eq(mount("tmpfs", data, "tmpfs", 0, "size=1m,mode=0700"), 0);
	return true;
}

/* A write whose commit failed is never acknowledged: a stop answers it shutting_down, and
 * it is not there after a restart. */
START_TEST(a_stop_while_the_disk_is_full_acknowledges_nothing_unstored)
{
	if (!small_tmpfs("a_stop_while_the_disk_is_full_..."))
		return;
	daemon_start_on(&d, data, FSYNC_ALWAYS);
	brk_client *c = daemon_client(&d);
	char filler[128];
	snprintf(filler, sizeof filler, "%s/filler", data);
	fill_fs(filler);
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	pid_t writer = test_fork();
	if (writer == 0) {
		close(fds[0]);
		full_writer_main(d.url, fds[1], 300);
	}
	close(fds[1]);
	double limit = test_now() + 30;
	while (!pers_error(c) && test_now() < limit)
		nap_ms(10);
	ck_assert_msg(pers_error(c), "info.persistence.error never set on a full disk");
	brk_close(c);
	int status = daemon_term(&d);
	int n, acked = 0, last = 0;
	while (read(fds[0], &n, sizeof n) == sizeof n)
		if ((last = n) >= 0)
			ck_assert_int_eq(n, acked++);
	close(fds[0]);
	ck_assert_int_eq(wait_exit(writer, 30), 1);
	if (last != -1 - (int)BRK_ESHUTDOWN)
		show_stderr("the stop");
	ck_assert_msg(status == 0, "brokerd stopped with status %d", status);
	ck_assert_int_eq(unlink(filler), 0);
	daemon_start_on(&d, data, FSYNC_ALWAYS);
	c = daemon_client(&d);
	size_t len;
	ck_assert_int_eq(brk_dict_len(c, "t", &len), BRK_OK);
	ck_assert_msg(len == (size_t)acked, "%zu keys after the restart, %d acknowledged", len,
		      acked);
	brk_close(c);
	ck_assert_int_eq(daemon_term(&d), 0);
	umount2(data, MNT_DETACH);
	ck_assert_msg(last == -1 - (int)BRK_ESHUTDOWN, "the stuck write got %s, want shutting_down",
		      last < 0 ? brk_err_code((brk_err)(-1 - last)) : "a success");
}
END_TEST

START_TEST(a_full_disk_refuses_writes_loses_nothing_and_recovers)
{
	enum { COUNT = 300 };
	if (!small_tmpfs("a_full_disk_..."))
		return;
	daemon_start_on(&d, data, FSYNC_ALWAYS);
	/* replies that should come at once: a short grace, so that one held fails soon */
	brk_options quick = {.reply_grace = 5, .send_timeout = 5};
	brk_client *c = NULL;
	ck_assert_int_eq(brk_connect(d.url, &quick, &c), BRK_OK);
	ck_assert_int_eq(brk_value_create(c, "fv", BRK_INT, NULL, NULL), BRK_OK);
	ck_assert_int_eq(brk_value_add_int(c, "fv", 7, NULL), BRK_OK);
	put_int(c, "fq", 1);
	char filler[128];
	snprintf(filler, sizeof filler, "%s/filler", data);
	fill_fs(filler);

	int fds[2], acked = 0;
	ck_assert_int_eq(pipe(fds), 0);
	pid_t writer = test_fork();
	if (writer == 0) {
		close(fds[0]);
		full_writer_main(d.url, fds[1], COUNT);
	}
	close(fds[1]);
	fcntl(fds[0], F_SETFL, O_NONBLOCK);

	/* the writer's commit fails: brokerd says so and refuses writes */
	double limit = test_now() + 30;
	while (!pers_error(c) && test_now() < limit)
		nap_ms(10);
	ck_assert_msg(pers_error(c), "info.persistence.error never set on a full disk");
	acked_so_far(fds[0], &acked);
	ck_assert_int_lt(acked, COUNT);
	json_t *k = json_string("x"), *v = NULL;
	brk_err err = brk_dict_set(c, "t", k, k);
	ck_assert_msg(is_storage(err), "dict.set on a full disk: %s", brk_err_code(err));
	ck_assert_ptr_nonnull(strstr(brk_last_error(), "No space left on device"));
	err = brk_value_add_int(c, "fv", 1, NULL);
	ck_assert_msg(is_storage(err), "value.add on a full disk: %s", brk_err_code(err));
	json_t *item = json_integer(2);
	err = brk_queue_put(c, "fq", item, 0);
	ck_assert_msg(is_storage(err), "queue.put on a full disk: %s", brk_err_code(err));
	json_decref(item);
	err = brk_queue_get(c, "fq", 0, &v);
	ck_assert_msg(is_storage(err), "queue.get on a full disk: %s", brk_err_code(err));
	err = brk_del(c, "fv");
	ck_assert_msg(is_storage(err), "del on a full disk: %s", brk_err_code(err));
	err = brk_pipe_send(c, "fp", BRK_PIPE_A, k, 0);
	ck_assert_msg(is_storage(err), "pipe.send on a full disk: %s", brk_err_code(err));

	/* reads and ops that persist nothing carry on; the stuck write is not answered */
	int before = acked;
	size_t len;
	ck_assert_int_eq(brk_dict_len(c, "t", &len), BRK_OK);
	ck_assert_int_ge(len, (size_t)before);
	ck_assert_int_eq(brk_value_get(c, "fv", &v), BRK_OK);
	ck_assert_int_eq(json_integer_value(v), 7);
	json_decref(v);
	size_t qsize;
	ck_assert_int_eq(brk_queue_qsize(c, "fq", &qsize), BRK_OK);
	ck_assert_int_eq(qsize, 1);
	bool set;
	ck_assert_int_eq(brk_event_set(c, "fe"), BRK_OK);
	ck_assert_int_eq(brk_event_is_set(c, "fe", &set), BRK_OK);
	ck_assert(set);
	ck_assert_int_eq(acked_so_far(fds[0], &acked), before);
	ck_assert(pers_error(c));

	/* space returns: the stuck write is answered, writes work again */
	ck_assert_int_eq(unlink(filler), 0);
	limit = test_now() + 30;
	while (pers_error(c) && test_now() < limit)
		nap_ms(10);
	ck_assert_msg(!pers_error(c), "info.persistence.error still set 30 s after space returned");
	ck_assert_int_eq(brk_dict_set(c, "t", k, k), BRK_OK);
	ck_assert_int_eq(brk_value_add_int(c, "fv", 1, NULL), BRK_OK);
	ck_assert_int_eq(wait_exit(writer, 60), 0);
	acked_so_far(fds[0], &acked);
	close(fds[0]);
	ck_assert_int_eq(acked, COUNT);
	ck_assert_int_eq(brk_dict_len(c, "t", &len), BRK_OK);
	ck_assert_int_eq(len, COUNT + 1);
	brk_close(c);

	/* and nothing acknowledged is lost across a restart */
	c = restart(true, FSYNC_ALWAYS);
	ck_assert_int_eq(brk_dict_len(c, "t", &len), BRK_OK);
	ck_assert_int_eq(len, COUNT + 1);
	for (int n = 0; n < COUNT; n++) {
		json_t *key = json_integer(n);
		ck_assert_int_eq(brk_dict_get(c, "t", key, &v), BRK_OK);
		ck_assert_int_eq(json_string_length(v), 200);
		json_decref(v), json_decref(key);
	}
	ck_assert_int_eq(brk_value_get(c, "fv", &v), BRK_OK);
	ck_assert_int_eq(json_integer_value(v), 8);
	json_decref(v);
	ck_assert_int_eq(brk_queue_qsize(c, "fq", &qsize), BRK_OK);
	ck_assert_int_eq(qsize, 1);
	json_decref(k);
	brk_close(c);
	ck_assert_int_eq(daemon_term(&d), 0);
	umount2(data, MNT_DETACH);
}
END_TEST

/* ---- 5. a data dir brokerd cannot use ---- */

static int write_proc(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return errno;
	int err = write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : errno;
	close(fd);
	return err;
}

/* read_only_view: in a new mount namespace (a user namespace too when not root), mounts
 * dir read-only over itself, as tests/test_journal.c does. 0, or the errno value. */
static int read_only_view(const char *dir)
{
	int err = unshare(CLONE_NEWNS) ? errno : 0;
	if (err) {
		char uid_map[32], gid_map[32];
		snprintf(uid_map, sizeof uid_map, "0 %d 1", (int)getuid());
		snprintf(gid_map, sizeof gid_map, "0 %d 1", (int)getgid());
		err = unshare(CLONE_NEWUSER | CLONE_NEWNS) ? errno : 0;
		if (!err)
			write_proc("/proc/self/setgroups", "deny");
		if (!err)
			err = write_proc("/proc/self/uid_map", uid_map);
		if (!err)
			err = write_proc("/proc/self/gid_map", gid_map);
		if (err)
			return err;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount(dir, dir, NULL, MS_BIND, NULL) != 0 ||
	    mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) != 0)
		return errno;
	return 0;
}

/* refused_start: brokerd on dir must exit 1 within 30 s saying dir and reason. */
static void refused_start(const char *dir, const char *reason)
{
	daemon_stderr_clear(&d);
	daemon_launch(&d, dir, NULL);
	int rc = daemon_await(&d, 30);
	if (rc != 1)
		show_stderr(reason);
	ck_assert_msg(rc == 1, "brokerd on %s: %s, want exit 1 (%s)", dir,
		      rc == 0 ? "it started" : "another outcome", reason);
	assert_stderr_has(dir);
	assert_stderr_has(reason);
}

START_TEST(an_unusable_data_dir_stops_start_up_with_a_clear_error)
{
	char path[128];
	snprintf(path, sizeof path, "%s/missing", data);
	refused_start(path, "No such file or directory");
	snprintf(path, sizeof path, "%s/file", data);
	int fd = open(path, O_WRONLY | O_CREAT, 0600);
	close(fd);
	refused_start(path, "Not a directory");
	ck_assert_int_eq(unlink(path), 0);

	/* locked: a second brokerd on a dir in use names the first one's pid */
	daemon_start_on(&d, data, NULL);
	struct daemon first = d;
	char pid[16];
	snprintf(pid, sizeof pid, "%d", (int)first.pid);
	sock_dir(&d);
	daemon_launch(&d, data, NULL);
	int rc = daemon_await(&d, 30);
	if (rc != 1)
		show_stderr("second brokerd");
	ck_assert_int_eq(rc, 1);
	assert_stderr_has(pid);
	daemon_remove(&d);
	d = first;
	brk_client *c = daemon_client(&d);
	set_keys(c, "k", 0, 3);
	brk_close(c);
	ck_assert_int_eq(daemon_term(&d), 0);

	/* read-only: a dir brokerd used before, and a fresh one */
	char fresh[64];
	new_dir(fresh, sizeof fresh, "fresh");
	int err = read_only_view(data);
	if (!err)
		err = read_only_view(fresh);
	if (err) {
		printf("an_unusable_data_dir_...: read-only part skipped: %s\n", strerror(err));
		remove_tree(fresh);
		return;
	}
	refused_start(data, "Read-only file system");
	refused_start(fresh, "Read-only file system");
	umount2(fresh, MNT_DETACH);
	remove_tree(fresh);
}
END_TEST

/* mode_of: the permission bits of path. */
static int mode_of(const char *path)
{
	struct stat st;
	ck_assert_msg(stat(path, &st) == 0, "stat %s: %s", path, strerror(errno));
	return (int)(st.st_mode & 07777);
}

START_TEST(config_file_keys_private_files_and_leftovers)
{
	char conf[128], path[512], logname[128];
	/* bad settings are usage errors (exit 2), naming the setting */
	const char *const bad[][3] = {{"--fsync", "sometimes", "fsync"},
				      {"--compact-ratio", "0.5", "compact-ratio"},
				      {"--compact-min", "lots", "compact-min"}};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		daemon_stderr_clear(&d);
		daemon_launch(&d, data, (const char *const[]){bad[i][0], bad[i][1], NULL});
		int rc = daemon_await(&d, 30);
		if (rc != 2)
			show_stderr(bad[i][0]);
		ck_assert_msg(rc == 2, "%s %s: %d, want exit 2", bad[i][0], bad[i][1], rc);
		assert_stderr_has(bad[i][2]);
	}

	/* leftovers of a crash mid-write are removed at start */
	const char *tmp[] = {"snapshot.00000005.tmp", "log.00000002.tmp"};
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "%s/%s", data, tmp[i]);
		int fd = open(path, O_WRONLY | O_CREAT, 0600);
		ck_assert_int_eq(write(fd, "junk", 4), 4);
		close(fd);
	}
	snprintf(conf, sizeof conf, "%s/conf.json", root);
	FILE *f = fopen(conf, "w");
	fprintf(f,
		"{\"data_dir\": \"%s\", \"fsync\": \"always\", \"compact_ratio\": \"3\", "
		"\"compact_min\": \"1M\"}\n",
		data);
	fclose(f);
	const char *const from_file[] = {"--config", conf, NULL};
	daemon_start_on(&d, NULL, from_file);
	brk_client *c = daemon_client(&d);
	json_t *p = persistence(c);
	ck_assert_str_eq(json_string_value(json_object_get(p, "data_dir")), data);
	ck_assert_str_eq(json_string_value(json_object_get(p, "fsync")), "always");
	json_decref(p);
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "%s/%s", data, tmp[i]);
		ck_assert_msg(access(path, F_OK) != 0, "%s still there", tmp[i]);
	}
	set_keys(c, "k", 0, 5);
	json_decref(call_ok(c, "save", NULL, NULL));
	set_keys(c, "k", 5, 10);

	/* files brokerd makes are its own: mode 0600 */
	newest_log(logname, sizeof logname);
	ck_assert_int_eq(mode_of(logname), 0600);
	snprintf(path, sizeof path, "%s/lock", data);
	ck_assert_int_eq(mode_of(path), 0600);
	DIR *dir = opendir(data);
	struct dirent *e;
	int snapshots = 0;
	while ((e = readdir(dir)))
		if (!strncmp(e->d_name, "snapshot.", 9)) {
			snprintf(path, sizeof path, "%s/%s", data, e->d_name);
			ck_assert_int_eq(mode_of(path), 0600);
			snapshots++;
		}
	closedir(dir);
	ck_assert_int_ge(snapshots, 1);
	brk_close(c);

	c = restart(true, from_file);
	expect_keys(c, "k", 0, 10);
	brk_close(c);
	ck_assert_int_eq(daemon_term(&d), 0);
}
END_TEST

/* ---- 6. compaction under load ---- */

/* compact_writer_main: in a child: count rounds of a batch (cd[i % 100] = {"i", "pad"} and
 * cv += 1), then a put of i to cq (bounded: the reader keeps the backlog, and so the
 * snapshots, small); exits 0, or 1 on an error. */
static void compact_writer_main(const char *url, int count)
{
	brk_client *c;
	char pad[101];
	memset(pad, 'q', 100);
	pad[100] = '\0';
	if (brk_connect(url, NULL, &c) != BRK_OK)
		_exit(2);
	for (int i = 0; i < count; i++) {
		json_t *ops = json_pack("[{s:s, s:s, s:i, s:{s:i, s:s}}, {s:s, s:s, s:i}]", "op",
					"dict.set", "name", "cd", "key", i % 100, "value", "i", i,
					"pad", pad, "op", "value.add", "name", "cv", "delta", 1);
		json_t *results = NULL, *r, *item = json_integer(i);
		brk_err err = brk_batch(c, ops, &results);
		json_decref(ops);
		if (!err && !(err = brk_batch_result(results, 0, &r)))
			err = brk_batch_result(results, 1, &r);
		if (!err)
			err = brk_queue_put(c, "cq", item, BRK_FOREVER);
		json_decref(results), json_decref(item);
		if (err) {
			fprintf(stderr, "compaction writer: %s: %s\n", brk_err_code(err),
				brk_last_error());
			_exit(1);
		}
	}
	brk_close(c);
	_exit(0);
}

/* compact_reader_main: in a child: takes count items of cq, which must be 0, 1, 2...; 0, or
 * 1 on an error, 4 on an item out of order (lost or twice). */
static void compact_reader_main(const char *url, int count)
{
	brk_client *c;
	if (brk_connect(url, NULL, &c) != BRK_OK)
		_exit(2);
	for (int i = 0; i < count; i++) {
		json_t *v = NULL;
		if (brk_queue_get(c, "cq", 60, &v) != BRK_OK)
			_exit(1);
		if (json_integer_value(v) != i) {
			fprintf(stderr, "cq gave %lld, want %d\n", (long long)json_integer_value(v),
				i);
			_exit(4);
		}
		json_decref(v);
	}
	brk_close(c);
	_exit(0);
}

/* expect_compacted_state: cd and cq as the load leaves them (count rounds, kept items). */
static void expect_compacted_state(brk_client *c, int count, int kept, uint64_t version)
{
	json_t *items = NULL, *pair;
	size_t i;
	ck_assert_int_eq(brk_dict_items(c, "cd", &items), BRK_OK);
	if (version)
		ck_assert_uint_eq(brk_last_version(), version);
	ck_assert_int_eq(json_array_size(items), 100);
	json_array_foreach (items, i, pair) {
		ck_assert_int_eq(json_integer_value(json_array_get(pair, 0)), (json_int_t)i);
		json_t *last = json_object_get(json_array_get(pair, 1), "i");
		ck_assert_int_eq(json_integer_value(last), count - 100 + (json_int_t)i);
	}
	json_decref(items);
	size_t qsize;
	ck_assert_int_eq(brk_queue_qsize(c, "cq", &qsize), BRK_OK);
	ck_assert_int_eq(qsize, kept);
	json_t *v = NULL;
	ck_assert_int_eq(brk_value_get(c, "cv", &v), BRK_OK);
	ck_assert_int_eq(json_integer_value(v), count);
	json_decref(v);
}

START_TEST(compaction_under_load_loses_nothing_and_bounds_the_log)
{
	enum { COUNT = 30000, KEPT = 500 }; /* about 10 MB of records */
	const char *const args[] = {"--compact-min", "64K", "--compact-ratio", "2", NULL};
	daemon_start_on(&d, data, args);
	brk_client *c = daemon_client(&d);
	ck_assert_int_eq(brk_queue_create(c, "cq", BRK_FIFO, 1000), BRK_OK);
	ck_assert_int_eq(brk_value_create(c, "cv", BRK_INT, NULL, NULL), BRK_OK);
	long long gen0 = pers_int(c, "generation"), gen = gen0, max_log = 0;
	pid_t writer = test_fork();
	if (writer == 0)
		compact_writer_main(d.url, COUNT);
	pid_t reader = test_fork();
	if (reader == 0)
		compact_reader_main(d.url, COUNT - KEPT);
	int status[2] = {-1, -1}, changes = 0;
	double limit = test_now() + 300;
	while ((status[0] < 0 || status[1] < 0) && test_now() < limit) {
		json_t *p = persistence(c);
		long long g = json_integer_value(json_object_get(p, "generation"));
		long long lb = json_integer_value(json_object_get(p, "log_bytes"));
		ck_assert_int_ge(g, gen);
		changes += g > gen, gen = g;
		if (lb > max_log) {
			char *t = json_dumps(p, JSON_COMPACT);
			if (getenv("PERSIST_DEBUG"))
				fprintf(stderr, "%.3f %s\n", test_now(), t);
			free(t);
		}
		max_log = lb > max_log ? lb : max_log;
		json_decref(p);
		for (int i = 0; i < 2; i++) {
			int st;
			if (status[i] < 0 && waitpid(i ? reader : writer, &st, WNOHANG) > 0)
				status[i] = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		if (status[0] > 0 && status[1] < 0) /* the writer failed: the reader would wait */
			kill(reader, SIGKILL);
		nap_ms(20);
	}
	if (status[0] < 0 || status[1] < 0) {
		kill(writer, SIGKILL), kill(reader, SIGKILL);
		ck_abort_msg("the load did not finish in 300 s");
	}
	ck_assert_int_eq(status[0], 0);
	ck_assert_int_eq(status[1], 0);
	long long log_files_bytes;
	int nlogs = dir_files("log.", &log_files_bytes);
	printf("compaction: %lld generations (%d seen changing), log at most %lld bytes; %d "
	       "log files of %lld bytes at the end\n",
	       gen - gen0, changes, max_log, nlogs, log_files_bytes);
	ck_assert_msg(gen - gen0 >= 2, "only %lld compactions for ~10 MB of writes", gen - gen0);
	/* The state stays under ~100K (100 keys, at most 1000 queued), and so does the log
	 * but for what is written while a compaction runs: on a busy machine a snapshot may
	 * take most of a second, at a few MB/s of writes. So: at most 40% of what was
	 * written at any time, and small once the load is over. */
	ck_assert_msg(max_log < 4 << 20, "log_bytes reached %lld of ~10 MB written", max_log);
	for (double until = test_now() + 20; test_now() < until; nap_ms(20)) {
		json_t *p = persistence(c);
		bool busy = json_is_true(json_object_get(p, "compacting"));
		json_decref(p);
		if (!busy && dir_files("log.", &log_files_bytes) <= 2 && log_files_bytes < 1 << 20)
			break;
	}
	nlogs = dir_files("log.", &log_files_bytes);
	ck_assert_msg(log_files_bytes < 1 << 20, "the log files hold %lld bytes after the load",
		      log_files_bytes);
	ck_assert_int_le(nlogs, 2);
	json_t *items = NULL;
	ck_assert_int_eq(brk_dict_items(c, "cd", &items), BRK_OK);
	uint64_t version = brk_last_version();
	json_decref(items);
	expect_compacted_state(c, COUNT, KEPT, version);

	/* save: a compaction on demand, answered when the snapshot is in place */
	json_t *r = call_ok(c, "save", NULL, NULL);
	ck_assert_msg(json_is_integer(json_object_get(r, "generation")) &&
			      json_is_number(json_object_get(r, "seconds")),
		      "save's reply lacks generation or seconds");
	long long g1 = json_integer_value(json_object_get(r, "generation"));
	ck_assert_int_gt(g1, gen);
	ck_assert(json_number_value(json_object_get(r, "seconds")) >= 0);
	json_decref(r);
	ck_assert_int_eq(pers_int(c, "generation"), g1);
	long long snap = 0; /* the older snapshot goes once the new one is in place */
	for (double until = test_now() + 10;
	     dir_files("snapshot.", &snap) != 1 && test_now() < until;)
		nap_ms(10);
	ck_assert_int_eq(dir_files("snapshot.", &snap), 1);
	ck_assert_int_gt(snap, 0);
	r = call_ok(c, "save", NULL, NULL);
	ck_assert_int_gt(json_integer_value(json_object_get(r, "generation")), g1);
	json_decref(r);
	brk_close(c);

	/* restarts after compactions: a clean stop, then a kill after more writes */
	c = restart(false, args);
	expect_compacted_state(c, COUNT, KEPT, version);
	json_t *k = json_string("after"), *one = json_integer(1);
	ck_assert_int_eq(brk_dict_set(c, "cd2", k, one), BRK_OK);
	brk_close(c);
	c = restart(true, args);
	expect_compacted_state(c, COUNT, KEPT, version);
	json_t *v = NULL;
	ck_assert_int_eq(brk_dict_get(c, "cd2", k, &v), BRK_OK);
	ck_assert(json_equal(v, one));
	json_decref(v), json_decref(k), json_decref(one);
	for (int i = COUNT - KEPT; i < COUNT; i++) {
		ck_assert_int_eq(brk_queue_get(c, "cq", 0, &v), BRK_OK);
		ck_assert_int_eq(json_integer_value(v), i);
		json_decref(v);
	}
	brk_close(c);
	ck_assert_int_eq(daemon_term(&d), 0);
}
END_TEST

START_TEST(save_without_a_data_dir_is_a_storage_error)
{
	daemon_start_on(&d, NULL, NULL);
	brk_client *c = daemon_client(&d);
	brk_err err;
	json_t *r = call(c, "save", NULL, NULL, &err);
	ck_assert_msg(is_storage(err), "save without a data dir: %s", brk_err_code(err));
	json_decref(r);
	json_t *info = NULL;
	ck_assert_int_eq(brk_info(c, &info), BRK_OK);
	ck_assert_ptr_null(json_object_get(info, "persistence"));
	json_decref(info);
	brk_close(c);
	ck_assert_int_eq(daemon_term(&d), 0);
}
END_TEST

/* version_of: stat's version of name. */
static long long version_of(brk_client *c, const char *name)
{
	json_t *st = NULL;
	ck_assert_int_eq(brk_stat(c, name, &st), BRK_OK);
	long long v = (long long)json_integer_value(json_object_get(st, "version"));
	json_decref(st);
	return v;
}

/* An empty dict or namespace has no contents to write into a snapshot; it still comes back,
 * with its version, from a snapshot as from the log. */
START_TEST(empty_shared_state_survives_a_compaction)
{
	daemon_start_on(&d, data, NULL);
	brk_client *c = daemon_client(&d);
	json_decref(call_ok(c, "dict.set", "ed", json_pack("{s:s, s:i}", "key", "k", "value", 1)));
	json_decref(call_ok(c, "dict.delete", "ed", json_pack("{s:s}", "key", "k")));
	json_decref(call_ok(c, "namespace.set", "en",
			    json_pack("{s:s, s:i}", "attr", "a", "value", 1)));
	json_decref(call_ok(c, "namespace.delete", "en", json_pack("{s:s}", "attr", "a")));
	long long ved = version_of(c, "ed"), ven = version_of(c, "en");
	ck_assert(ved > 0 && ven > 0);
	for (int round = 0; round < 2; round++) { /* from the log, then from a snapshot */
		if (round == 1)
			json_decref(call_ok(c, "save", NULL, NULL));
		brk_close(c);
		c = restart(round == 1, NULL);
		ck_assert_int_eq(version_of(c, "ed"), ved);
		ck_assert_int_eq(version_of(c, "en"), ven);
	}
	brk_close(c);
}
END_TEST

int main(void)
{
	snprintf(root, sizeof root, "/tmp/brokerd-persist-XXXXXX");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	Suite *s = suite_create("persist");
	TCase *tc = tcase_create("persist");
	tcase_set_timeout(tc, 420);
	tcase_add_checked_fixture(tc, setup, teardown);
	const char *only = getenv("TEST_ONLY");
	if (!only || !strcmp(only, "a_restart_keeps_every_persistent_object"))
		tcase_add_loop_test(tc, a_restart_keeps_every_persistent_object, 0, 2);
	ADD(tc, a_restart_under_tighter_limits_keeps_what_was_stored);
	ADD(tc, a_parked_put_is_stored_when_its_item_enters);
	ADD(tc, a_torn_tail_is_dropped_with_a_warning);
	ADD(tc, a_damaged_record_in_the_middle_stops_start_up_until_repair);
	ADD(tc, a_damaged_snapshot_stops_start_up);
	ADD(tc, an_unusable_data_dir_stops_start_up_with_a_clear_error);
	ADD(tc, a_full_disk_refuses_writes_loses_nothing_and_recovers);
	ADD(tc, a_stop_while_the_disk_is_full_acknowledges_nothing_unstored);
	ADD(tc, config_file_keys_private_files_and_leftovers);
	ADD(tc, compaction_under_load_loses_nothing_and_bounds_the_log);
	ADD(tc, save_without_a_data_dir_is_a_storage_error);
	ADD(tc, empty_shared_state_survives_a_compaction);
	ADD(tc, sigkill_at_random_moments_loses_no_acknowledged_write);
	suite_add_tcase(s, tc);
	int failed = run_suite(s);
	remove_tree(root);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
