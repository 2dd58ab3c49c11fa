/* persist.c: the data dir wired to the objects. Handlers describe what changed as effect
 * records (JSON objects, docs/durability.md "Log effects"); this file appends them to the
 * journal, holds every reply until the loop iteration's one commit, replays the records
 * at start, reserves the counters that must not go back, and compacts by forking a
 * snapshot writer. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "conn.h"
#include "delivery.h"
#include "dict.h"
#include "dispatch.h"
#include "envelope.h"
#include "jsontext.h"
#include "jval.h"
#include "lock.h"
#include "log.h"
#include "namespace.h"
#include "object.h"
#include "ops.h"
#include "persist.h"
#include "pipe.h"
#include "queue.h"
#include "session.h"

#define COUNTER_BLOCK (UINT64_C(1) << 20)
#define TICK_SECONDS 1
#define SNAPSHOT_NICE 10 /* the snapshot writer's lower priority */
/* The snapshot writer's exit statuses (compact_end). */
enum { WRITER_PLACED, WRITER_FAILED, WRITER_PLACED_UNSYNCED, WRITER_NOT_PLACED };

struct held {
	struct req *r;
	json_t *reply;
};

static struct {
	struct journal *j;
	struct persist_conf conf;
	char *dir;
	bool loading, pending, failed;
	bool turn;         /* records were appended in this loop turn */
	bool releasing;    /* release_held is answering: nothing is held again */
	int error;         /* of the last failed commit */
	struct held *held; /* replies waiting for the commit */
	size_t nheld, cap;
	uint64_t mark[PC_COUNT]; /* every value handed out is below its counter's mark */
	jt_buf text;
	struct event *tick, *child_ev;
	/* a compaction under way */
	pid_t child;
	struct journal_snapshot *snap;
	double snap_started;
	struct req **savers; /* "save" requests awaiting its end */
	size_t nsavers;
	char last_result[160];
	/* the snapshot writer (in the child) */
	struct journal_snapshot *writing;
	int write_error;
} P;

/* The types a "create" or "empty" record names (shared state else comes back by its ops). */
static const struct obj_class *const by_type[] = {&queue_class, &pipe_class, &dict_class,
						  &namespace_class};

/* ---- effects ---- */

bool persist_wants(const object *o)
{
	if (!P.j || P.loading || o->ephemeral)
		return false;
	return o->cls->versioned || o->cls->replay;
}

static int encode(const json_t *rec)
{
	P.text.len = 0;
	return jt_dump(rec, &P.text);
}

void persist_put(json_t *rec)
{
	int rc = rec ? encode(rec) : ENOMEM;
	json_decref(rec);
	if (P.writing) {
		if (rc == 0)
			rc = journal_snapshot_append(P.writing, P.text.data, P.text.len);
		if (rc && !P.write_error)
			P.write_error = rc;
		return;
	}
	if (rc == 0)
		rc = journal_append(P.j, P.text.data, P.text.len);
	P.turn = true;
	if (rc) {
		/* the effect is in memory but cannot be logged: say so loudly; the commit of
		 * what was appended still decides what the replies say */
		log_error("data dir: an effect could not be logged: %s", strerror(rc));
		return;
	}
	P.pending = true;
}

void persist_op(const object *o, const json_t *args)
{
	json_t *r = json_copy((json_t *)args);
	if (r) {
		json_object_del(r, "version");
		json_object_del(r, "ack");
		json_object_del(r, "owner");
	}
	persist_put(json_pack("{s:s, s:I, s:o}", "e", "op", "v", (json_int_t)o->version, "r", r));
}

void persist_counter(enum persist_counter c, uint64_t value)
{
	if (!P.j || P.loading || value < P.mark[c])
		return;
	P.mark[c] = value + COUNTER_BLOCK;
	persist_put(
		json_pack("{s:s, s:i, s:I}", "e", "mark", "c", (int)c, "m", (json_int_t)P.mark[c]));
	journal_force_sync(P.j);
}

/* ---- replies wait for the commit ---- */

/* While commits fail, the replies of the failed batch wait, and so does any reply of a turn
 * that added records (an ack, a counter's mark); others (reads, refusals) go at once. */
bool persist_hold(struct req *r, json_t *reply)
{
	if (!P.j || P.releasing || !(P.turn || (!P.failed && (P.pending || P.nheld))))
		return false;
	if (P.nheld == P.cap) {
		size_t cap = P.cap ? 2 * P.cap : 64;
		struct held *h = realloc(P.held, cap * sizeof *h);
		if (!h)
			return false; /* sent at once: better than never */
		P.held = h;
		P.cap = cap;
	}
	P.held[P.nheld++] = (struct held){r, reply};
	return true;
}

/* release_held: sends the held replies, or when failed answers them with err. */
static void release_held(brk_err err, const char *msg)
{
	struct held *h = P.held;
	size_t n = P.nheld;
	P.held = NULL;
	P.nheld = P.cap = 0;
	P.releasing = true;
	for (size_t i = 0; i < n; i++) {
		if (err == BRK_OK) {
			dispatch_send(h[i].r, h[i].reply);
		} else {
			json_decref(h[i].reply);
			dispatch_answer(h[i].r, err, NULL, msg, 0);
		}
	}
	P.releasing = false;
	free(h);
}

bool persist_refuses(op_ctx *ctx, const struct op_def *d)
{
	if (!P.failed || !(d->flags & (OPF_WRITE | OPF_STORE)))
		return false;
	op_fail(ctx, BRK_ESTORAGE,
		"cannot write the data dir %s: %s; writes are refused until "
		"it can be written again",
		P.dir, strerror(P.error));
	return true;
}

static void compact_start(void);

void persist_flush(void)
{
	if (P.j)
		P.turn = false;
	if (!P.j || (!P.pending && !P.nheld))
		goto check;
	int rc = P.pending ? journal_commit(P.j) : 0;
	if (rc) {
		if (!P.failed)
			log_error("data dir %s: a commit failed: %s; its requests wait, writes are "
				  "refused, retrying every second",
				  P.dir, strerror(rc));
		P.failed = true;
		P.error = rc;
		return;
	}
	if (P.failed)
		log_info("data dir %s: commits succeed again", P.dir);
	P.failed = false;
	P.pending = false;
	release_held(BRK_OK, NULL);
	conn_flush(); /* now, not at the loop's next pass */
check:
	if (P.j && !P.child &&
	    journal_wants_compaction(P.j, P.conf.compact_ratio, P.conf.compact_min))
		compact_start();
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	if (P.failed)
		persist_flush();
	int rc = journal_tick(P.j);
	if (rc)
		log_error("data dir %s: fdatasync failed: %s (retried)", P.dir, strerror(rc));
}

/* ---- compaction ---- */

/* versioned_snapshot: shared state o as the write ops that make it again, read through
 * the ops themselves. */
struct remake {
	const char *type, *read, *write, *arg;
	const char *type_field; /* the stat field that is the create op's "type" */
};

static const struct remake remakes[] = {
	{"dict", BRK_OP_DICT_ITEMS, BRK_OP_DICT_UPDATE, "items", NULL},
	{"list", BRK_OP_LIST_READ, BRK_OP_LIST_CREATE, "items", NULL},
	{"array", BRK_OP_ARRAY_READ, BRK_OP_ARRAY_CREATE, "items", "element_type"},
	{"value", BRK_OP_VALUE_GET, BRK_OP_VALUE_CREATE, "value", "value_type"},
	{"namespace", BRK_OP_NS_READ, NULL, NULL, NULL},
};

static json_t *read_whole(const object *o, const char *op)
{
	json_t *req = json_pack("{s:s, s:s}", "op", op, "name", o->name), *result = NULL;
	if (req && dispatch_local(req, &result) != 0) {
		json_decref(result);
		result = NULL;
	}
	json_decref(req);
	return result;
}

static void put_op(const object *o, json_t *r)
{
	persist_put(json_pack("{s:s, s:I, s:o}", "e", "op", "v", (json_int_t)o->version, "r", r));
}

static void namespace_snapshot(const object *o, json_t *attrs)
{
	const char *key;
	json_t *v;
	json_object_foreach (attrs, key, v)
		put_op(o, json_pack("{s:s, s:s, s:s, s:O}", "op", BRK_OP_NS_SET, "name", o->name,
				    "attr", key, "value", v));
}

static void versioned_snapshot(const object *o)
{
	const struct remake *m = NULL;
	for (size_t i = 0; i < sizeof remakes / sizeof *remakes; i++)
		if (!strcmp(remakes[i].type, o->cls->name))
			m = &remakes[i];
	json_t *whole = m ? read_whole(o, m->read) : NULL;
	if (!whole) {
		P.write_error = P.write_error ? P.write_error : EIO;
		log_error("snapshot: cannot read %s '%s'", o->cls->name, o->name);
		return;
	}
	bool empty = json_is_object(whole) ? !json_object_size(whole) : !json_array_size(whole);
	if (empty && (o->cls == &dict_class || o->cls == &namespace_class)) {
		/* no write op makes an empty dict or namespace: a record of its own does, with
		 * the version (lists, arrays and values are made by their create op) */
		persist_put(json_pack("{s:s, s:s, s:s, s:I}", "e", "empty", "t", o->cls->name, "o",
				      o->name, "v", (json_int_t)o->version));
		json_decref(whole);
		return;
	}
	if (!m->write) {
		namespace_snapshot(o, whole);
	} else {
		json_t *r = json_pack("{s:s, s:s, s:O}", "op", m->write, "name", o->name, m->arg,
				      whole);
		json_t *st = m->type_field ? o->cls->stat_new(o->impl) : NULL;
		if (r && st)
			json_object_set(r, "type", json_object_get(st, m->type_field));
		json_decref(st);
		put_op(o, r);
	}
	json_decref(whole);
}

static void object_snapshot(object *o, void *arg)
{
	(void)arg;
	if (!persist_wants(o))
		return;
	if (o->cls->versioned) {
		versioned_snapshot(o);
		return;
	}
	persist_put(json_pack("{s:s, s:s, s:s, s:o}", "e", "create", "t", o->cls->name, "o",
			      o->name, "a", o->cls->settings_new(o->impl)));
	o->cls->snapshot(o);
}

static void write_snapshot(struct journal_snapshot *s)
{
	P.writing = s;
	obj_foreach(object_snapshot, NULL);
	delivery_snapshot();
	for (int c = 0; c < PC_COUNT; c++)
		persist_put(json_pack("{s:s, s:i, s:I}", "e", "mark", "c", c, "m",
				      (json_int_t)P.mark[c]));
}

static void answer_savers(brk_err err, const char *msg, json_t *result)
{
	for (size_t i = 0; i < P.nsavers; i++)
		dispatch_answer(P.savers[i], err, result ? json_incref(result) : NULL, msg, 0);
	json_decref(result);
	free(P.savers);
	P.savers = NULL;
	P.nsavers = 0;
}

/* keep_only: closes every descriptor from 3 up but a and b: the clients' sockets close with
 * brokerd's copies, not when the snapshot writer exits. */
static void keep_only(int a, int b)
{
	int lo = a < b ? a : b, hi = a < b ? b : a;
	close_range(3, (unsigned)lo - 1, 0);
	close_range((unsigned)lo + 1, (unsigned)hi - 1, 0);
	close_range((unsigned)hi + 1, ~0u, 0);
}

/* snapshot_writer: the forked child: writes the state as of the fork, then puts the
 * snapshot in place and removes the older files itself (renames, directory syncs and
 * deleting a large log take tens of milliseconds: not in the loop). Exits with a
 * WRITER_* status. */
static void snapshot_writer(struct journal_snapshot *s)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* the loop, not the writer, should have a CPU when both want one */
	if (nice(SNAPSHOT_NICE) == -1)
		log_debug("snapshot writer: cannot lower its priority");
	keep_only(journal_snapshot_fd(s), journal_dir_fd(P.j));
	write_snapshot(s);
	if (P.write_error || journal_snapshot_seal(s) != 0)
		_exit(WRITER_FAILED);
	int rc = journal_snapshot_place(P.j, s);
	_exit(rc == 0 ? WRITER_PLACED : rc > 0 ? WRITER_PLACED_UNSYNCED : WRITER_NOT_PLACED);
}

static void compact_start(void)
{
	struct journal_snapshot *s;
	int rc = journal_snapshot_begin(P.j, &s);
	if (rc) {
		snprintf(P.last_result, sizeof P.last_result, "cannot start: %s", strerror(rc));
		log_error("data dir %s: compaction %s", P.dir, P.last_result);
		answer_savers(BRK_ESTORAGE, P.last_result, NULL);
		return;
	}
	P.snap_started = clock_now();
	pid_t pid = fork();
	if (pid == 0)
		snapshot_writer(s);
	if (pid < 0) {
		snprintf(P.last_result, sizeof P.last_result, "cannot fork: %s", strerror(errno));
		journal_snapshot_abort(P.j, s);
		answer_savers(BRK_ESTORAGE, P.last_result, NULL);
		return;
	}
	P.child = pid;
	P.snap = s;
	log_info("data dir %s: compacting (snapshot writer pid %d; fork took %.1f ms)", P.dir,
		 (int)pid, (clock_now() - P.snap_started) * 1e3);
}

/* compact_end: the snapshot writer ended with status: note the snapshot it put in place,
 * or give up. */
static void compact_end(int status)
{
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : WRITER_FAILED;
	int rc = code == WRITER_PLACED || code == WRITER_PLACED_UNSYNCED ? 0 : -1;
	double took = clock_now() - P.snap_started;
	if (code == WRITER_PLACED_UNSYNCED)
		log_warn("data dir %s: the new snapshot is in place but the directory could not be "
			 "synced: the older files are kept",
			 P.dir);
	if (rc == 0 || code == WRITER_NOT_PLACED)
		journal_snapshot_placed(P.j, P.snap, rc == 0 ? 0 : -1);
	else
		journal_snapshot_abort(P.j, P.snap);
	P.child = 0;
	P.snap = NULL;
	struct journal_stats st;
	journal_stats(P.j, &st);
	if (rc == 0) {
		snprintf(P.last_result, sizeof P.last_result, "ok");
		log_info("data dir %s: compacted in %.3f s (generation %llu)", P.dir, took,
			 (unsigned long long)st.generation);
		answer_savers(BRK_OK, NULL,
			      json_pack("{s:I, s:f}", "generation", (json_int_t)st.generation,
					"seconds", took));
	} else {
		snprintf(P.last_result, sizeof P.last_result,
			 "the snapshot could not be written (see the log)");
		log_error("data dir %s: compaction failed; the logs keep everything", P.dir);
		answer_savers(BRK_ESTORAGE, P.last_result, NULL);
	}
}

static void on_child(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	int status;
	if (P.child && waitpid(P.child, &status, WNOHANG) == P.child)
		compact_end(status);
}

int persist_save(op_ctx *ctx)
{
	if (!P.j)
		return op_fail(ctx, BRK_ESTORAGE,
			       "brokerd runs without a data dir (start it with --data-dir)");
	if (!ctx->req)
		return op_fail(ctx, BRK_EBADARG, "save cannot be batched");
	struct req **s = realloc(P.savers, (P.nsavers + 1) * sizeof *s);
	if (!s)
		return op_fail(ctx, BRK_EINTERNAL, "out of memory");
	P.savers = s;
	P.savers[P.nsavers++] = ctx->req;
	if (!P.child)
		compact_start();
	return OP_PARKED;
}

/* ---- start-up ---- */

static const struct obj_class *class_named(const char *type)
{
	for (size_t i = 0; i < sizeof by_type / sizeof *by_type; i++)
		if (type && !strcmp(by_type[i]->name, type))
			return by_type[i];
	return NULL;
}

static int replay_op(const json_t *rec)
{
	json_t *r = json_object_get(rec, "r"), *result = NULL;
	json_int_t v = json_integer_value(json_object_get(rec, "v"));
	int rc = dispatch_local(r, &result);
	json_decref(result);
	object *o = rc == 0 ? obj_find(json_string_value(json_object_get(r, "name"))) : NULL;
	if (o)
		obj_set_version(o, (uint64_t)v);
	return rc == 0 ? 0 : -1;
}

static int replay_mark(const json_t *rec)
{
	json_int_t c = json_integer_value(json_object_get(rec, "c"));
	json_int_t m = json_integer_value(json_object_get(rec, "m"));
	if (c < 0 || c >= PC_COUNT)
		return -1;
	if ((uint64_t)m > P.mark[c])
		P.mark[c] = (uint64_t)m;
	return 0;
}

static int replay_one(const json_t *rec)
{
	const char *e = json_string_value(json_object_get(rec, "e"));
	const char *name = json_string_value(json_object_get(rec, "o"));
	object *o = name ? obj_find(name) : NULL;
	if (!e)
		return -1;
	if (!strcmp(e, "op"))
		return replay_op(rec);
	if (!strcmp(e, "mark"))
		return replay_mark(rec);
	if (!strcmp(e, "create")) {
		const struct obj_class *cls =
			class_named(json_string_value(json_object_get(rec, "t")));
		if (o)
			obj_delete(o);
		return cls && name ? obj_restore(cls, name, json_object_get(rec, "a")) : -1;
	}
	if (!strcmp(e, "empty")) {
		const struct obj_class *cls =
			class_named(json_string_value(json_object_get(rec, "t")));
		json_t *none = json_object();
		int rc = cls && name && !o ? obj_restore(cls, name, none) : cls ? 0 : -1;
		json_decref(none);
		if (rc == 0 && (o = obj_find(name)))
			obj_set_version(o, (uint64_t)json_integer_value(json_object_get(rec, "v")));
		return rc;
	}
	if (!strcmp(e, "del")) {
		if (o)
			obj_delete(o);
		return 0;
	}
	return o && o->cls->replay ? o->cls->replay(o, rec) : -1;
}

static int load_record(void *arg, const struct journal_record *r)
{
	(void)arg;
	jt_error err;
	json_t *rec = jt_load(r->data, r->len, PROTO_PARSER_MAX_DEPTH, &err);
	int rc = rec ? replay_one(rec) : -1;
	if (rc)
		log_error("data dir %s: %s %llu, record at offset %llu: %s", P.dir,
			  r->snapshot ? "snapshot" : "log", (unsigned long long)r->generation,
			  (unsigned long long)r->offset,
			  rec ? "an effect that does not apply (a bug, or a file from elsewhere)"
			      : err.text);
	json_decref(rec);
	return rc ? EBADMSG : 0;
}

static void loaded(object *o, void *arg)
{
	(void)arg;
	if (o->cls->loaded)
		o->cls->loaded(o);
}

static void set_floors(void)
{
	obj_counters_floor(P.mark[PC_SERIAL], P.mark[PC_VERSION]);
	lock_fence_floor(P.mark[PC_FENCE]);
	sess_id_floor(P.mark[PC_SESSION]);
}

static int load(void)
{
	struct journal_stats st;
	/* what was stored under looser limits is loaded whole: the limits in force now
	 * apply to what clients send from now on */
	struct jval_limits limits = *jval_limits();
	struct jval_limits any = {SIZE_MAX, PROTO_PARSER_MAX_DEPTH, SIZE_MAX};
	jval_set_limits(&any);
	P.loading = true;
	int rc = journal_load(P.j, load_record, NULL);
	P.loading = false;
	jval_set_limits(&limits);
	journal_stats(P.j, &st);
	if (rc == EBADMSG && st.bad_file[0]) {
		log_error("data dir %s: %s: bad record at offset %llu; start with --repair to cut "
			  "there (what follows it is lost)",
			  P.dir, st.bad_file, (unsigned long long)st.bad_offset);
		return -1;
	}
	if (rc) {
		log_error("data dir %s: cannot load: %s", P.dir, strerror(rc));
		return -1;
	}
	obj_foreach(loaded, NULL);
	set_floors();
	log_info("data dir %s: loaded %llu records (%llu bytes, %zu objects) in %.3f s, fsync %s",
		 P.dir, (unsigned long long)st.loaded_records, (unsigned long long)st.loaded_bytes,
		 obj_count(), st.load_seconds, journal_fsync_name(P.conf.fsync));
	if (st.torn_bytes)
		log_warn("data dir %s: dropped an unfinished commit of %llu bytes at the log's end "
			 "(a crash mid-write; never acknowledged)",
			 P.dir, (unsigned long long)st.torn_bytes);
	if (st.repaired_bytes) {
		log_warn("data dir %s: --repair cut %llu bytes", P.dir,
			 (unsigned long long)st.repaired_bytes);
		compact_start();
	}
	return 0;
}

int persist_start(struct event_base *base, const struct persist_conf *conf)
{
	if (!conf->data_dir)
		return 0;
	struct journal_options opt = {.fsync = conf->fsync, .repair = conf->repair};
	P.conf = *conf;
	P.dir = strdup(conf->data_dir);
	if (!P.dir || journal_open(conf->data_dir, &opt, &P.j) != 0)
		return -1;
	struct timeval every = {TICK_SECONDS, 0};
	P.tick = event_new(base, -1, EV_PERSIST, on_tick, NULL);
	P.child_ev = evsignal_new(base, SIGCHLD, on_child, NULL);
	if (!P.tick || !P.child_ev || event_add(P.tick, &every) || event_add(P.child_ev, NULL)) {
		log_error("data dir %s: out of memory", P.dir);
		return -1;
	}
	return load();
}

void persist_settle(void)
{
	if (!P.j)
		return;
	int rc = P.pending ? journal_commit(P.j) : 0;
	if (rc == 0)
		P.pending = false;
	release_held(rc ? BRK_ESHUTDOWN : BRK_OK, "brokerd is shutting down");
}

void persist_stop(void)
{
	if (!P.j) {
		free(P.dir);
		return;
	}
	persist_settle();
	if (P.child) {
		int status;
		if (waitpid(P.child, &status, 0) == P.child)
			compact_end(status);
	}
	answer_savers(BRK_ESHUTDOWN, "brokerd is shutting down", NULL);
	journal_close(P.j);
	P.j = NULL;
	event_free(P.tick);
	event_free(P.child_ev);
	jt_buf_free(&P.text);
	free(P.dir);
	memset(&P, 0, sizeof P);
}

/* ---- info ---- */

json_t *persist_info_new(void)
{
	struct journal_stats st;
	if (!P.j)
		return NULL;
	journal_stats(P.j, &st);
	return json_pack("{s:s, s:s, s:I, s:I, s:I, s:f, s:I, s:f, s:f, s:b, s:s, s:f, s:I, s:I, "
			 "s:I, s:s?}",
			 "data_dir", P.dir, "fsync", journal_fsync_name(st.fsync), "generation",
			 (json_int_t)st.generation, "log_bytes", (json_int_t)st.log_bytes,
			 "snapshot_bytes", (json_int_t)st.snapshot_bytes, "last_fsync",
			 st.last_fsync, "unsynced_bytes", (json_int_t)st.unsynced_bytes,
			 "last_compaction", st.last_compaction, "compaction_seconds",
			 st.compaction_seconds, "compacting", P.child != 0,
			 "last_compaction_result", P.last_result, "load_seconds", st.load_seconds,
			 "loaded_records", (json_int_t)st.loaded_records, "torn_bytes",
			 (json_int_t)st.torn_bytes, "repaired_bytes", (json_int_t)st.repaired_bytes,
			 "error", P.failed ? strerror(P.error) : NULL);
}
