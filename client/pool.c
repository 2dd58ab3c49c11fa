/* pool.c: libbroker's pools: submitting tasks, result handles (fetching outcomes, running
 * callbacks in this process), and the worker loop, in this process or in forked ones. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker.h"
#include "call.h"
#include "envelope.h"
#include "ops.h"

/* A chunked task's outcome (PROTOCOL.md "chunk"), shared by the handles of its calls: the
 * pool gives it once, to whichever fetches first, and it is kept here for the others. */
struct chunk {
	size_t refs;
	json_t *outcome; /* once fetched */
	bool named;      /* its task is named in the pool.result being built */
};

struct brk_result {
	brk_client *c;
	char *pool;
	uint64_t id;
	/* once fetched: {"task", "ok", "result" | "error", "type", "message"}; a chunk's call
	 * keeps its chunk's, and result_of picks its part */
	json_t *outcome;
	struct chunk *chunk; /* NULL, or the chunked task whose call this is */
	size_t call;         /* which call of its chunk */
	brk_callback_fn callback;
	brk_error_callback_fn error_callback;
	void *arg;
	bool owes_callback; /* settled; its callback runs once the fetch is over */
};

/* ---- submitting ---- */

brk_err brk_pool_create(brk_client *c, const char *name, long max_attempts, long max_tasks)
{
	json_t *args = json_object();
	if (args && max_attempts > 0)
		json_object_set_new(args, "max_attempts", json_integer((json_int_t)max_attempts));
	if (args && max_tasks > 0)
		json_object_set_new(args, "max_tasks", json_integer((json_int_t)max_tasks));
	return call_new(c, BRK_OP_POOL_CREATE, name, args, NULL);
}

static brk_result *result_new(brk_client *c, const char *pool, uint64_t id)
{
	brk_result *r = calloc(1, sizeof *r);
	if (r && !(r->pool = strdup(pool))) {
		free(r);
		return NULL;
	}
	if (r) {
		r->c = c;
		r->id = id;
	}
	return r;
}

/* submit: pool.submit of tasks (stolen); *ids (new) holds their ids. */
static brk_err submit(brk_client *c, const char *pool, json_t *tasks, json_t **ids)
{
	if (!tasks)
		return fail(BRK_EINVAL, "cannot build the tasks (bad func, args or kwargs?)");
	size_t n = json_array_size(tasks);
	brk_err err =
		call_new(c, BRK_OP_POOL_SUBMIT, pool, json_pack("{s:o}", "tasks", tasks), ids);
	if (err == BRK_OK && json_array_size(*ids) != n) {
		json_decref(*ids);
		return fail(BRK_EPROTO, "pool.submit: expected one id per task");
	}
	return err;
}

brk_err brk_pool_apply_async(brk_client *c, const char *pool, const char *func, const json_t *args,
			     const json_t *kwargs, double deadline, brk_callback_fn callback,
			     brk_error_callback_fn error_callback, void *arg, brk_result **out)
{
	json_t *ids = NULL;
	if (!func || (args && !json_is_array(args)) || (kwargs && !json_is_object(kwargs)) || !pool)
		return fail(BRK_EINVAL,
			    "a task needs a pool, a func, an args array and a kwargs object");
	json_t *task = json_pack("{s:s}", "func", func);
	if (task && args)
		json_object_set(task, "args", (json_t *)args);
	if (task && kwargs)
		json_object_set(task, "kwargs", (json_t *)kwargs);
	if (task && deadline > 0)
		json_object_set_new(task, "deadline", json_real(deadline));
	brk_err err = submit(c, pool, task ? json_pack("[o]", task) : NULL, &ids);
	if (err)
		return err;
	brk_result *r = result_new(c, pool, (uint64_t)json_integer_value(json_array_get(ids, 0)));
	json_decref(ids);
	if (!r)
		return fail(BRK_ENOMEM, NULL);
	r->callback = callback;
	r->error_callback = error_callback;
	r->arg = arg;
	*out = r;
	return BRK_OK;
}

/* call_args_new: the args of func(item), or of func(*item) with star (item an array). */
static json_t *call_args_new(const json_t *item, bool star)
{
	if (star && !json_is_array(item))
		return NULL;
	return star ? json_incref((json_t *)item) : json_pack("[O]", item);
}

/* map_tasks_new: the pool.submit tasks of map (func(item)) or starmap (func(*item)): one a
 * call, or with chunksize > 1 one a chunk of that many calls. */
static json_t *map_tasks_new(const char *func, const json_t *items, bool star, size_t chunksize)
{
	json_t *tasks = json_array(), *chunk = NULL;
	size_t n = json_array_size(items);
	for (size_t i = 0; tasks && i < n; i++) {
		json_t *args = call_args_new(json_array_get(items, i), star);
		if (!args) {
			json_decref(tasks);
			return NULL;
		}
		if (chunksize <= 1) {
			json_array_append_new(tasks,
					      json_pack("{s:s, s:o}", "func", func, "args", args));
			continue;
		}
		if (i % chunksize == 0) {
			chunk = json_array();
			json_array_append_new(
				tasks, json_pack("{s:s, s:o}", "func", func, "chunk", chunk));
		}
		json_array_append_new(chunk, args);
	}
	return tasks;
}

static void results_free(brk_result **rs, size_t n)
{
	for (size_t i = 0; rs && i < n; i++)
		brk_result_free(rs[i]);
	free(rs);
}

/* join_chunk: r is call `call` of a chunk, that of prev (the call before it), or a new one
 * when call is 0. false when out of memory. */
static bool join_chunk(brk_result *r, const brk_result *prev, size_t call)
{
	r->call = call;
	r->chunk = call ? prev->chunk : calloc(1, sizeof *r->chunk);
	if (r->chunk)
		r->chunk->refs++;
	return r->chunk != NULL;
}

/* results_new: a handle for each of n items, whose tasks are ids: one an item, or with size
 * > 1 one a chunk of size items (the last may have fewer). NULL when out of memory. */
static brk_result **results_new(brk_client *c, const char *pool, const json_t *ids, size_t n,
				size_t size)
{
	brk_result **rs = calloc(n ? n : 1, sizeof *rs);
	for (size_t i = 0; rs && i < n; i++) {
		uint64_t id = (uint64_t)json_integer_value(json_array_get(ids, i / size));
		rs[i] = result_new(c, pool, id);
		if (rs[i] && size > 1 && !join_chunk(rs[i], i ? rs[i - 1] : NULL, i % size)) {
			brk_result_free(rs[i]);
			rs[i] = NULL;
		}
		if (!rs[i]) {
			results_free(rs, i);
			rs = NULL;
		}
	}
	return rs;
}

brk_err brk_pool_map_async(brk_client *c, const char *pool, const char *func, const json_t *items,
			   bool star, long chunksize, brk_result ***out)
{
	json_t *ids = NULL;
	size_t n = json_array_size(items), size = chunksize > 1 ? (size_t)chunksize : 1;
	if (!pool || !func || !json_is_array(items) || n == 0)
		return fail(BRK_EINVAL, "map needs a pool, a func and a non-empty array of items");
	brk_err err = submit(c, pool, map_tasks_new(func, items, star, size), &ids);
	brk_result **rs = err ? NULL : results_new(c, pool, ids, n, size);
	json_decref(ids);
	if (err)
		return err;
	if (!rs)
		return fail(BRK_ENOMEM, NULL);
	*out = rs;
	return BRK_OK;
}

/* ---- outcomes ---- */

/* outcome_err: the error an outcome stands for (BRK_OK for a success), with the calling
 * thread's last error set to its text. */
static brk_err outcome_err(const json_t *o)
{
	if (json_is_true(json_object_get(o, "ok")))
		return BRK_OK;
	const char *code = json_string_value(json_object_get(o, "error"));
	const char *type = json_string_value(json_object_get(o, "type"));
	const char *msg = json_string_value(json_object_get(o, "message"));
	brk_err err = code ? brk_err_from_code(code) : BRK_EPROTO;
	if (type)
		return fail(err, "%s: %s", type, msg ? msg : "");
	return fail(err, "%s", msg ? msg : brk_strerror(err));
}

/* result_of: r's result, once fetched and successful (borrowed): a chunk's call takes its
 * own from the array of its chunk's. */
static json_t *result_of(const brk_result *r)
{
	json_t *result = json_object_get(r->outcome, "result");
	return r->chunk ? json_array_get(result, r->call) : result;
}

/* settle: r's outcome (stolen; NULL when out of memory) arrived: keep it; r owes its
 * callback, which run_callbacks runs once nothing else will touch r. */
static void settle(brk_result *r, json_t *outcome)
{
	if (r->outcome || !outcome) {
		json_decref(outcome);
		return;
	}
	r->outcome = outcome;
	r->owes_callback = true;
}

/* run_callback: r's callback, last thing done with r: it may free r. */
static void run_callback(brk_result *r)
{
	r->owes_callback = false;
	brk_err err = outcome_err(r->outcome);
	if (err == BRK_OK && r->callback)
		r->callback(r, result_of(r), r->arg);
	else if (err != BRK_OK && r->error_callback)
		r->error_callback(r, err, json_string_value(json_object_get(r->outcome, "type")),
				  json_string_value(json_object_get(r->outcome, "message")),
				  r->arg);
}

/* run_callbacks: the callbacks that rs[0..n) owe, after every walk over rs is over and
 * what the caller reports is read: a callback may free its own handle (not another). */
static void run_callbacks(brk_result **rs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (rs[i]->owes_callback)
			run_callback(rs[i]);
}

/* call_outcome_new: the outcome call `call` of a chunk keeps: its chunk's (a failed chunk
 * fails every call, as Python's map does), or an error when the chunk's result lacks it. */
static json_t *call_outcome_new(json_t *chunk, size_t call)
{
	json_t *results = json_object_get(chunk, "result");
	if (!json_is_true(json_object_get(chunk, "ok")) ||
	    call < json_array_size(results)) /* 0 for a non-array */
		return json_incref(chunk);
	return json_pack("{s:O, s:b, s:s, s:s}", "task", json_object_get(chunk, "task"), "ok", 0,
			 "error", brk_err_code(BRK_EPROTO), "message",
			 "a chunk's result is not the array of its calls' results");
}

/* adopt: r, a call of a chunk that a handle of another call fetched, takes its part. */
static void adopt(brk_result *r)
{
	if (r->chunk && r->chunk->outcome && !r->outcome)
		settle(r, call_outcome_new(r->chunk->outcome, r->call));
}

/* arrived: r's task's outcome (borrowed) was fetched: r settles, and a chunk keeps it for
 * the handles of its other calls. */
static void arrived(brk_result *r, json_t *outcome)
{
	if (!r->chunk) {
		settle(r, json_incref(outcome));
		return;
	}
	if (!r->chunk->outcome)
		r->chunk->outcome = json_incref(outcome);
	adopt(r);
}

/* unready_ids_new: the tasks of rs[0..n) whose outcomes are still in the pool, in that
 * order, each once (a chunk's calls share one); a call whose chunk came already settles. */
static json_t *unready_ids_new(brk_result **rs, size_t n)
{
	json_t *ids = json_array();
	for (size_t i = 0; ids && i < n; i++) {
		struct chunk *ch = rs[i]->chunk;
		adopt(rs[i]);
		if (rs[i]->outcome || (ch && ch->named))
			continue;
		if (ch)
			ch->named = true;
		json_array_append_new(ids, json_integer((json_int_t)rs[i]->id));
	}
	for (size_t i = 0; i < n; i++)
		if (rs[i]->chunk)
			rs[i]->chunk->named = false;
	return ids;
}

/* deliver: outcomes, fetched for the tasks of rs[0..n) and in their order, settle their
 * handles in one walk; then the other calls of their chunks. */
static void deliver(brk_result **rs, size_t n, const json_t *outcomes)
{
	size_t i, j = 0, k = json_array_size(outcomes);
	for (i = 0; i < n && j < k; i++) {
		json_t *o = json_array_get(outcomes, j);
		if (rs[i]->id == (uint64_t)json_integer_value(json_object_get(o, "task"))) {
			arrived(rs[i], o);
			j++;
		}
	}
	for (i = 0; i < n; i++)
		adopt(rs[i]);
}

/* fetch: pool.result over the unready ones of rs[0..n) (any: at least one), settling
 * those that came; their callbacks are left to run_callbacks. */
static brk_err fetch(brk_result **rs, size_t n, bool any, double timeout)
{
	json_t *ids = unready_ids_new(rs, n), *outcomes = NULL;
	if (!ids)
		return fail(BRK_ENOMEM, NULL);
	if (json_array_size(ids) == 0) {
		json_decref(ids);
		return BRK_OK;
	}
	json_t *args = json_pack("{s:o, s:b}", "tasks", ids, "any", any);
	if (args && timeout == 0)
		json_object_set_new(args, "timeout", json_integer(0));
	else if (args && timeout > 0 && timeout <= PROTO_MAX_TIMEOUT)
		json_object_set_new(args, "timeout", json_real(timeout));
	brk_err err = call_new(rs[0]->c, BRK_OP_POOL_RESULT, rs[0]->pool, args, &outcomes);
	if (err == BRK_OK)
		deliver(rs, n, outcomes);
	json_decref(outcomes);
	return err;
}

brk_err brk_pool_collect(brk_result **results, size_t n, double timeout, size_t *ready)
{
	if (n && !results)
		return fail(BRK_EINVAL, "no results");
	brk_err err = n ? fetch(results, n, true, timeout) : BRK_OK;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += results[i]->outcome != NULL;
	if (ready)
		*ready = k;
	run_callbacks(results, n);
	return err;
}

brk_err brk_result_wait(brk_result *r, double timeout)
{
	brk_err err = fetch(&r, 1, false, timeout);
	run_callbacks(&r, 1);
	return err == BRK_ETIMEOUT ? BRK_OK : err;
}

brk_err brk_result_ready(brk_result *r, bool *ready)
{
	brk_err err = fetch(&r, 1, false, 0);
	if (err == BRK_OK || err == BRK_ETIMEOUT)
		*ready = r->outcome != NULL;
	run_callbacks(&r, 1);
	return err == BRK_ETIMEOUT ? BRK_OK : err;
}

brk_err brk_result_get(brk_result *r, double timeout, json_t **value)
{
	brk_err err = fetch(&r, 1, false, timeout);
	if (err == BRK_OK && (err = outcome_err(r->outcome)) == BRK_OK)
		*value = json_incref(result_of(r));
	run_callbacks(&r, 1);
	return err;
}

brk_err brk_result_successful(brk_result *r, bool *successful)
{
	if (!r->outcome)
		return fail(BRK_EVALUE, "task %llu is not ready", (unsigned long long)r->id);
	*successful = json_is_true(json_object_get(r->outcome, "ok"));
	return BRK_OK;
}

void brk_result_error(const brk_result *r, const char **type, const char **message)
{
	*type = json_string_value(json_object_get(r->outcome, "type"));
	*message = json_string_value(json_object_get(r->outcome, "message"));
}

uint64_t brk_result_id(const brk_result *r)
{
	return r->id;
}

/* forget: the session gives up the task id of pool, whose outcome nobody will fetch
 * (PROTOCOL.md pool.forget), so that it does not fill the pool's max_tasks; errors are
 * ignored (the session, or the pool, may be gone). */
static void forget(brk_client *c, const char *pool, uint64_t id)
{
	char error[512]; /* the caller's brk_last_error, kept */
	snprintf(error, sizeof error, "%s", brk_last_error());
	json_t *args = json_pack("{s:[I]}", "tasks", (json_int_t)id);
	if (args)
		call_new(c, BRK_OP_POOL_FORGET, pool, args, NULL);
	fail(BRK_OK, "%s", error);
}

void brk_result_free(brk_result *r)
{
	if (!r)
		return;
	bool unfetched = r->chunk ? r->chunk->refs == 1 && !r->chunk->outcome : !r->outcome;
	if (unfetched)
		forget(r->c, r->pool, r->id);
	if (r->chunk && --r->chunk->refs == 0) {
		json_decref(r->chunk->outcome);
		free(r->chunk);
	}
	json_decref(r->outcome);
	free(r->pool);
	free(r);
}

brk_err brk_pool_apply(brk_client *c, const char *pool, const char *func, const json_t *args,
		       const json_t *kwargs, json_t **value)
{
	brk_result *r = NULL;
	brk_err err = brk_pool_apply_async(c, pool, func, args, kwargs, 0, NULL, NULL, NULL, &r);
	if (err == BRK_OK)
		err = brk_result_get(r, BRK_FOREVER, value);
	brk_result_free(r);
	return err;
}

/* gather: the results of the fetched outcomes of rs[0..n), in order, appended to out. The
 * first failure is the error. */
static brk_err gather(brk_result **rs, size_t n, json_t *out)
{
	for (size_t i = 0; i < n; i++) {
		brk_err err = outcome_err(rs[i]->outcome);
		if (err)
			return err;
		if (json_array_append(out, result_of(rs[i])))
			return fail(BRK_ENOMEM, NULL);
	}
	return BRK_OK;
}

brk_err brk_pool_map(brk_client *c, const char *pool, const char *func, const json_t *items,
		     bool star, long chunksize, double timeout, json_t **values)
{
	brk_result **rs = NULL;
	size_t n = json_array_size(items);
	brk_err err = brk_pool_map_async(c, pool, func, items, star, chunksize, &rs);
	if (err)
		return err;
	json_t *out = json_array();
	err = out ? fetch(rs, n, false, timeout) : fail(BRK_ENOMEM, NULL);
	if (err == BRK_OK)
		err = gather(rs, n, out);
	results_free(rs, n);
	if (err == BRK_OK)
		*values = out;
	else
		json_decref(out);
	return err;
}

brk_err brk_pool_close(brk_client *c, const char *name)
{
	return call_new(c, BRK_OP_POOL_CLOSE, name, NULL, NULL);
}

brk_err brk_pool_terminate(brk_client *c, const char *name)
{
	return call_new(c, BRK_OP_POOL_TERMINATE, name, NULL, NULL);
}

brk_err brk_pool_join(brk_client *c, const char *name, double timeout)
{
	json_t *args = json_object();
	if (args && timeout >= 0 && timeout <= PROTO_MAX_TIMEOUT)
		json_object_set_new(args, "timeout", json_real(timeout));
	return call_new(c, BRK_OP_POOL_JOIN, name, args, NULL);
}

/* ---- workers ---- */

static const brk_worker_func *find_func(const brk_worker_func *table, const char *name)
{
	for (; table->name; table++)
		if (strcmp(table->name, name) == 0)
			return table;
	return NULL;
}

/* run_call: one call of f; its result (new), or NULL with e filled. */
static json_t *run_call(const brk_worker_func *f, const json_t *args, const json_t *kwargs,
			brk_task_error *e)
{
	json_t *empty = kwargs ? NULL : json_object();
	json_t *r = f->fn(args, kwargs ? kwargs : empty, f->arg, e);
	json_decref(empty);
	return r;
}

/* run_chunk: each call of a chunked task; the array of their results, or NULL at the first
 * failure (e filled). */
static json_t *run_chunk(const brk_worker_func *f, const json_t *chunk, brk_task_error *e)
{
	json_t *out = json_array(), *args;
	size_t i;
	json_array_foreach (chunk, i, args) {
		json_t *r = out ? run_call(f, args, NULL, e) : NULL;
		if (!r) {
			json_decref(out);
			return NULL;
		}
		json_array_append_new(out, r);
	}
	return out;
}

/* run_task: runs one task's function (each call of a chunk); the pool.done arguments (new). */
static json_t *run_task(const brk_worker_func *table, const json_t *work)
{
	const char *func = json_string_value(json_object_get(work, "func"));
	const brk_worker_func *f = func ? find_func(table, func) : NULL;
	const json_t *chunk = json_object_get(work, "chunk");
	json_t *args = json_pack("{s:O}", "task", json_object_get(work, "task"));
	brk_task_error e = {"", ""};
	json_t *result = !f      ? NULL
			 : chunk ? run_chunk(f, chunk, &e)
				 : run_call(f, json_object_get(work, "args"),
					    json_object_get(work, "kwargs"), &e);
	if (!f) {
		snprintf(e.type, sizeof e.type, "LookupError");
		snprintf(e.message, sizeof e.message, "this worker has no function '%.200s'",
			 func ? func : "");
	}
	if (result) {
		json_object_set_new(args, "result", result);
		return args;
	}
	json_object_set_new(args, "error",
			    json_pack("{s:s, s:s}", "type", e.type[0] ? e.type : "Error", "message",
				      e.message));
	return args;
}

/* work_request_new: pool.work's arguments: funcs (borrowed) and, when not NULL, done (the
 * answer to the last task, stolen), so that a task costs one request. */
static json_t *work_request_new(json_t *funcs, json_t *done)
{
	json_t *args = json_pack("{s:O}", "funcs", funcs);
	if (args && done)
		json_object_set_new(args, "done", done);
	else
		json_decref(done);
	return args;
}

/* serve: takes and runs tasks on c until maxtasksperchild tasks (BRK_OK) or an error;
 * *done (new, or NULL) is the answer to the last task, not sent yet. */
static brk_err serve(brk_client *c, const char *pool, const brk_worker_func *table,
		     const brk_worker_options *o, json_t *funcs, json_t **done)
{
	brk_err err = BRK_OK;
	for (long n = 0; err == BRK_OK && (!o->maxtasksperchild || n < o->maxtasksperchild); n++) {
		json_t *work = NULL;
		err = call_new(c, BRK_OP_POOL_WORK, pool, work_request_new(funcs, *done), &work);
		*done = err == BRK_OK ? run_task(table, work) : NULL;
		json_decref(work);
	}
	return err;
}

/* told_to_stop: whether err ends a worker as a clean stop: its pool closed and drained,
 * deleted (a parked pool.work is deleted; a last pool.done finds it not_found), or brokerd
 * shutting down. */
static bool told_to_stop(brk_err err)
{
	return err == BRK_ECLOSED || err == BRK_EDELETED || err == BRK_ENOTFOUND ||
	       err == BRK_ESHUTDOWN;
}

/* work_here: the worker loop on a connection of its own; *recycled: it stopped after
 * maxtasksperchild tasks (not told to stop). */
static brk_err work_here(const char *pool, const brk_worker_func *table,
			 const brk_worker_options *o, bool *recycled)
{
	brk_client *c = NULL;
	json_t *funcs = json_array(), *done = NULL;
	brk_err err = brk_connect(o->url, o->client, &c);
	for (const brk_worker_func *f = table; funcs && f->name; f++)
		json_array_append_new(funcs, json_string(f->name));
	if (err == BRK_OK)
		err = serve(c, pool, table, o, funcs, &done);
	if (err == BRK_OK && done) /* the last task's answer, as the worker stops */
		err = call_new(c, BRK_OP_POOL_DONE, pool, done, NULL);
	json_decref(funcs);
	if (c)
		brk_close(c);
	*recycled = err == BRK_OK;
	return told_to_stop(err) ? BRK_OK : err;
}

enum {
	EXIT_STOPPED = 0,
	EXIT_RECYCLE = 3,
	EXIT_TERMINATED = 4,
	EXIT_FAILED = 5,
	EXIT_UNREACHABLE = 6
};

static pid_t spawn(const char *pool, const brk_worker_func *table, const brk_worker_options *o)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	bool recycled = false;
	brk_err err = work_here(pool, table, o, &recycled);
	_exit(err == BRK_OK            ? (recycled ? EXIT_RECYCLE : EXIT_STOPPED)
	      : err == BRK_ETERMINATED ? EXIT_TERMINATED
	      : err == BRK_ECONNECT    ? EXIT_UNREACHABLE
				       : EXIT_FAILED);
}

/* still_running: whether pool still wants workers (not closed and drained, nor
 * terminated), as a replacement worker asks: one pool.work that does not wait would take a
 * task, so the stat tells. */
static bool still_running(const char *pool, const brk_worker_options *o)
{
	brk_client *c = NULL;
	json_t *st = NULL;
	bool yes = false;
	if (brk_connect(o->url, o->client, &c) == BRK_OK && brk_stat(c, pool, &st) == BRK_OK) {
		const char *state = json_string_value(json_object_get(st, "state"));
		yes = state && (strcmp(state, "running") == 0 ||
				(strcmp(state, "closed") == 0 &&
				 (json_integer_value(json_object_get(st, "queued")) ||
				  json_array_size(json_object_get(st, "running")))));
	}
	json_decref(st);
	if (c)
		brk_close(c);
	return yes;
}

/* work_forked: n forked workers, each replaced when it recycles itself or dies while the
 * pool still wants workers. One that fails (cannot connect, loses brokerd) is not replaced,
 * so a brokerd out of reach never makes a loop of restarts: the error is returned once the
 * others stop. */
static brk_err work_forked(const char *pool, const brk_worker_func *table,
			   const brk_worker_options *o)
{
	int alive = 0, status;
	brk_err result = BRK_OK;
	for (int i = 0; i < o->processes; i++)
		alive += spawn(pool, table, o) > 0;
	while (alive > 0) {
		pid_t pid = waitpid(-1, &status, 0);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			break;
		alive--;
		bool stopped = WIFEXITED(status) && WEXITSTATUS(status) == EXIT_STOPPED;
		if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_TERMINATED)
			result = BRK_ETERMINATED;
		else if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_UNREACHABLE)
			result =
				fail(BRK_ECONNECT, "a worker process could not connect to brokerd");
		else if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_FAILED)
			result = fail(BRK_EIO, "a worker process failed");
		else if (!stopped && still_running(pool, o))
			alive += spawn(pool, table, o) > 0;
	}
	return result;
}

brk_err brk_worker_run(const char *pool, const brk_worker_func *table,
		       const brk_worker_options *opts)
{
	brk_worker_options o = {0};
	if (opts)
		o = *opts;
	if (!pool || !table || !table->name || o.processes < 0 || o.maxtasksperchild < 0)
		return fail(BRK_EINVAL, "a worker needs a pool and a table of functions");
	bool recycled;
	return o.processes ? work_forked(pool, table, &o) : work_here(pool, table, &o, &recycled);
}
