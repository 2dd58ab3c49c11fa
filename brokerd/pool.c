/* pool.c: named task pools (PROTOCOL.md "Pools"). A task is queued, in its function's queue,
 * until a parked worker that serves its function takes it; the worker's session then holds
 * it, and gives it back (to the front, one attempt spent) if it ends first. Outcomes belong
 * to the submitting session, which holds each task until it fetches the outcome, and drops
 * it by ending. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "clock.h"
#include "deadline.h"
#include "dispatch.h"
#include "envelope.h"
#include "hmap.h"
#include "ops.h"
#include "pool.h"
#include "session.h"
#include "wait.h"

#define DEFAULT_MAX_ATTEMPTS 3
#define MAX_MAX_ATTEMPTS 1000
#define DEFAULT_MAX_TASKS 100000
#define MAX_MAX_TASKS 1000000000
#define MAX_FUNCS 1000
#define STAT_FUNCS 16 /* a parked worker's functions that stat names (it counts them all) */

enum pool_state { POOL_RUNNING, POOL_CLOSED, POOL_TERMINATED };
static const char *const state_names[] = {"running", "closed", "terminated"};

/* T_IDLE: not queued yet, or between a run and what comes of it (done, or queued again). */
enum task_state { T_IDLE, T_QUEUED, T_RUNNING, T_DONE };

struct pool;

/* A function's record: its queued tasks, first in pool order first, and the parked workers
 * that serve it, oldest first. Its tasks (in every state) and those workers' links share it,
 * and it is freed with the last of them: a task given back never needs memory, and there
 * are never more records than tasks and links. */
struct func {
	struct pool *p;
	const char *name; /* its key in p->funcs */
	size_t refs;
	size_t queued;
	struct list tasks;   /* task.link, by order */
	struct list workers; /* worker_link.link */
};

/* A parked pool.work's place among the workers of one of its functions. */
struct worker_link {
	struct list link;
	struct func *fn;
	waiter *w;
};

/* A parked pool.work's links, one a function it serves (its waiter's data). */
struct worker_links {
	size_t n;
	struct worker_link at[];
};

struct task {
	uint64_t id;
	struct pool *p;
	struct func *fn;
	int64_t order; /* while queued: its place in the pool's order, across functions */
	json_t *args, *kwargs;
	json_t *chunk;     /* NULL, or the args of each call of a chunked task */
	double deadline;   /* seconds a run may take; negative: no limit */
	unsigned attempts; /* runs begun */
	enum task_state state;
	struct list link;     /* on its function's queue while queued */
	struct list run_link; /* on the pool's running tasks while running */
	struct holding owner; /* in the submitter's session while owned */
	bool owned;           /* false once the submitter's session ended */
	struct holding run;   /* in the worker's session while it runs the task */
	bool held;            /* run is in a session */
	double since;         /* wall clock: when its current run began */
	struct deadline overdue;
	json_t *outcome;    /* once done: {"task", "ok", ...} */
	uint64_t mark;      /* pool.result's duplicate check */
	waiter *awaited_by; /* the parked pool.result that names it, or NULL; cleared when that
				request leaves, whatever way (its on_release) */
};

struct pool {
	const char *name; /* the object's name (the registry's copy) */
	unsigned max_attempts;
	size_t max_tasks;
	enum pool_state state;
	hmap tasks;          /* id -> task: every task not fetched nor dropped */
	hmap funcs;          /* name -> struct func: tasks' functions, parked workers' */
	int64_t front, back; /* the order of the first and last queued task, or where they were */
	size_t queued, running, done;
	uint64_t next_id, completed, failed;
	struct list workers, fetchers, joiners; /* parked pool.work, pool.result, pool.join */
	struct list runs;                       /* task.run_link, by when their runs began */
};

static const struct holding_class owner_class, run_class;

/* ---- functions and their queues ---- */

/* func_find: p's record of the function name, or NULL. */
static struct func *func_find(const struct pool *p, const char *name)
{
	return hmap_get(&p->funcs, name, strlen(name));
}

/* func_new: a record of the function name in p, with no reference yet. NULL when out of
 * memory. */
static struct func *func_new(struct pool *p, const char *name)
{
	struct func *fn = calloc(1, sizeof *fn);
	hmap_entry *e = fn ? hmap_insert(&p->funcs, name, strlen(name), fn) : NULL;
	if (!e) {
		free(fn);
		return NULL;
	}
	fn->p = p;
	fn->name = e->key;
	list_init(&fn->tasks);
	list_init(&fn->workers);
	return fn;
}

/* func_get: p's record of the function name, made if there is none, with one more
 * reference. NULL when out of memory. */
static struct func *func_get(struct pool *p, const char *name)
{
	struct func *fn = func_find(p, name);
	if (!fn)
		fn = func_new(p, name);
	if (fn)
		fn->refs++;
	return fn;
}

/* func_put: one reference to fn less; the last frees it. */
static void func_put(struct func *fn)
{
	hmap *funcs = &fn->p->funcs;
	if (--fn->refs > 0)
		return;
	hmap_delete(funcs, hmap_find(funcs, fn->name, strlen(fn->name)));
	free(fn);
}

/* first_queued: fn's next task (fn may be NULL), or NULL. */
static struct task *first_queued(const struct func *fn)
{
	return fn && !list_empty(&fn->tasks) ? list_entry(fn->tasks.next, struct task, link) : NULL;
}

/* enqueue: t waits in its function's queue: a new task at the back, one given back at the
 * front. Its order (a count up from the back, or down from the front) ranks it among the
 * queued tasks of every function. */
static void enqueue(struct task *t, bool front)
{
	struct pool *p = t->p;
	t->order = front ? --p->front : ++p->back;
	list_push_back(front ? t->fn->tasks.next : &t->fn->tasks, &t->link);
	t->fn->queued++;
	p->queued++;
	t->state = T_QUEUED;
}

/* dequeue: t, if queued, leaves its function's queue. */
static void dequeue(struct task *t)
{
	if (t->state != T_QUEUED)
		return;
	list_remove(&t->link);
	t->fn->queued--;
	t->p->queued--;
	t->state = T_IDLE;
}

/* ---- tasks ---- */

static struct task *task_of_owner(struct holding *h)
{
	return (struct task *)((char *)h - offsetof(struct task, owner));
}

static struct task *task_of_run(struct holding *h)
{
	return (struct task *)((char *)h - offsetof(struct task, run));
}

static struct task *task_find(struct pool *p, uint64_t id)
{
	return hmap_get(&p->tasks, &id, sizeof id);
}

/* task_free: t leaves the pool and every session, whatever its state. */
static void task_free(struct task *t)
{
	struct pool *p = t->p;
	hmap_delete(&p->tasks, hmap_find(&p->tasks, &t->id, sizeof t->id));
	dequeue(t);
	deadline_clear(&t->overdue);
	if (t->owned)
		sess_drop(&t->owner);
	if (t->held)
		sess_drop(&t->run);
	if (t->state == T_RUNNING) {
		list_remove(&t->run_link);
		p->running--;
	}
	if (t->state == T_DONE)
		p->done--;
	if (t->fn)
		func_put(t->fn);
	json_decref(t->args);
	json_decref(t->kwargs);
	json_decref(t->chunk);
	json_decref(t->outcome);
	free(t);
}

/* drained: closed or terminated, with nothing queued or running: join returns. */
static bool drained(const struct pool *p)
{
	return p->state != POOL_RUNNING && p->queued == 0 && p->running == 0;
}

/* settle_drained: once drained, joiners return and a closed pool's parked workers are told
 * to stop. */
static void settle_drained(struct pool *p)
{
	char text[PROTO_MAX_NAME + 64];
	if (!drained(p))
		return;
	wait_complete_list(&p->joiners, BRK_OK, NULL);
	snprintf(text, sizeof text, "pool '%s' is closed and has no task left", p->name);
	wait_complete_list(&p->workers, BRK_ECLOSED, text);
}

/* ---- outcomes ---- */

static bool ready_for(const struct task *t, const session *s)
{
	return t && t->state == T_DONE && t->owned && t->owner.sess == s;
}

/* collect_new: the outcomes of the ready tasks among ids, in that order; they are fetched
 * (freed). */
static json_t *collect_new(struct pool *p, const json_t *ids, const session *s)
{
	json_t *out = json_array(), *id;
	size_t i;
	if (!out)
		return NULL;
	json_array_foreach (ids, i, id) {
		struct task *t = task_find(p, (uint64_t)json_integer_value(id));
		if (!ready_for(t, s))
			continue;
		json_array_append(out, t->outcome);
		task_free(t);
	}
	return out;
}

/* count_ready: how many of ids (tasks of one session, checked) are done. */
static size_t count_ready(struct pool *p, const json_t *ids)
{
	size_t n = 0, i;
	json_t *id;
	json_array_foreach (ids, i, id)
		n += task_find(p, (uint64_t)json_integer_value(id))->state == T_DONE;
	return n;
}

/* notify_fetcher: t is done: the parked pool.result awaiting it, if any, counts it, and is
 * answered once it has what it waits for (w->kind: 1 any, 0 all). O(1) but for the
 * answer, so that a map of n tasks costs O(n). */
static void notify_fetcher(struct pool *p, struct task *t)
{
	waiter *w = t->awaited_by;
	if (!w)
		return;
	if (!wait_alive(w)) {
		wait_withdraw(w);
		return;
	}
	if (--w->size > 0 && !w->kind)
		return;
	json_t *out = collect_new(p, w->item, w->sess);
	if (out)
		wait_complete(w, BRK_OK, out, NULL);
	else
		wait_complete(w, BRK_EINTERNAL, NULL, "out of memory");
}

/* lose: t's outcome could not be made (out of memory): t is dropped, and the parked
 * pool.result awaiting it, which would wait for it forever, is answered with the error. */
static void lose(struct task *t)
{
	waiter *w = t->awaited_by;
	task_free(t);
	if (w)
		wait_complete(w, BRK_EINTERNAL, NULL, "out of memory: a task's outcome was lost");
}

/* finish: t (queued, or no longer running) is done with outcome (stolen; NULL when out of
 * memory). A task whose submitter is gone is dropped. */
static void finish(struct task *t, json_t *outcome)
{
	struct pool *p = t->p;
	list_remove(&t->link);
	t->state = T_DONE;
	t->outcome = outcome;
	p->done++;
	if (json_is_true(json_object_get(outcome, "ok")))
		p->completed++;
	else
		p->failed++;
	if (!t->owned)
		task_free(t);
	else if (!outcome)
		lose(t);
	else
		notify_fetcher(p, t);
	settle_drained(p);
}

static json_t *failure_new(const struct task *t, brk_err err, const char *msg)
{
	return json_pack("{s:I, s:b, s:s, s:s}", "task", (json_int_t)t->id, "ok", 0, "error",
			 brk_err_code(err), "message", msg);
}

/* fail: t is done with the error err. */
static void fail(struct task *t, brk_err err, const char *msg)
{
	finish(t, failure_new(t, err, msg));
}

/* stop_running: t's run ends (answered, overdue, worker gone, terminated): its worker lets
 * go of it. */
static void stop_running(struct task *t)
{
	deadline_clear(&t->overdue);
	if (t->held)
		sess_drop(&t->run);
	t->held = false;
	t->state = T_IDLE;
	list_remove(&t->run_link);
	t->p->running--;
}

/* ---- handing out ---- */

static void overdue(struct deadline *d)
{
	struct task *t = (struct task *)((char *)d - offsetof(struct task, overdue));
	char text[96];
	snprintf(text, sizeof text, "the task ran longer than its deadline of %g s", t->deadline);
	stop_running(t);
	fail(t, BRK_ETIMEOUT, text);
}

/* begin: session s takes queued task t and holds it from now on; the reply to its
 * pool.work, or NULL when out of memory (nothing changed). */
static json_t *begin(struct task *t, session *s)
{
	struct pool *p = t->p;
	json_t *work = t->chunk ? json_pack("{s:I, s:s, s:O, s:I}", "task", (json_int_t)t->id,
					    "func", t->fn->name, "chunk", t->chunk, "attempt",
					    (json_int_t)t->attempts + 1)
				: json_pack("{s:I, s:s, s:O, s:O, s:I}", "task", (json_int_t)t->id,
					    "func", t->fn->name, "args", t->args, "kwargs",
					    t->kwargs, "attempt", (json_int_t)t->attempts + 1);
	t->run.cls = &run_class;
	if (!work || !sess_hold(s, &t->run)) {
		json_decref(work);
		return NULL;
	}
	if (t->deadline >= 0 && deadline_set(&t->overdue, t->deadline) != 0) {
		sess_drop(&t->run);
		json_decref(work);
		return NULL;
	}
	dequeue(t);
	t->held = true;
	t->state = T_RUNNING;
	t->attempts++;
	t->since = clock_wall();
	list_push_back(&p->runs, &t->run_link);
	p->running++;
	return work;
}

/* start: the parked worker w takes queued task t; false when out of memory: w is answered
 * with the error and t stays queued. */
static bool start(struct task *t, waiter *w)
{
	json_t *work = begin(t, w->sess);
	if (work)
		wait_complete(w, BRK_OK, work, NULL);
	else
		wait_complete(w, BRK_EINTERNAL, NULL, "out of memory");
	return work != NULL;
}

/* hand_out: queued task t goes to the oldest live parked worker serving its function;
 * those whose client is gone are withdrawn on the way (each leaves every list it is on),
 * and one that could not take it (out of memory) is answered so and the next one tried, so
 * that t never waits queued beside a parked worker that serves it. */
static void hand_out(struct task *t)
{
	struct list *workers = &t->fn->workers;
	while (!list_empty(workers)) {
		waiter *w = list_entry(workers->next, struct worker_link, link)->w;
		if (!wait_alive(w))
			wait_withdraw(w);
		else if (start(t, w))
			return;
	}
}

/* requeue: t, no longer running, goes back to the front of its queue or to a worker. */
static void requeue(struct task *t)
{
	enqueue(t, true);
	hand_out(t);
}

/* ---- parked workers ---- */

/* links_free: each link leaves its function's workers and lets go of the record. */
static void links_free(struct worker_links *links)
{
	for (size_t i = 0; i < links->n; i++) {
		list_remove(&links->at[i].link);
		func_put(links->at[i].fn);
	}
	free(links);
}

/* links_new: a link for each of funcs, holding its function's record, on no list yet. NULL
 * when out of memory. */
static struct worker_links *links_new(struct pool *p, const json_t *funcs)
{
	size_t n = json_array_size(funcs);
	struct worker_links *links = calloc(1, sizeof *links + n * sizeof links->at[0]);
	for (; links && links->n < n; links->n++) {
		struct worker_link *l = &links->at[links->n];
		list_init(&l->link);
		if (!(l->fn = func_get(p, json_string_value(json_array_get(funcs, links->n))))) {
			links_free(links);
			return NULL;
		}
	}
	return links;
}

/* unlink_worker: w, a parked pool.work, leaves (served, timed out, withdrawn...): its links
 * go (on_release). */
static void unlink_worker(waiter *w)
{
	links_free(w->data);
	w->data = NULL;
}

/* park_worker: ctx's pool.work waits for a task of funcs, found from each function's record,
 * behind the workers parked there before it. */
static int park_worker(op_ctx *ctx, struct pool *p, json_t *funcs, double timeout)
{
	waiter *w = NULL;
	struct worker_links *links = links_new(p, funcs);
	if (!links)
		return op_fail(ctx, BRK_EINTERNAL, "out of memory");
	int rc = obj_park(ctx, &p->workers, BRK_OP_POOL_WORK, timeout, BRK_EEMPTY, &w);
	if (rc != OP_PARKED) {
		links_free(links);
		return rc;
	}
	w->item = json_incref(funcs);
	w->data = links;
	w->on_release = unlink_worker;
	for (size_t i = 0; i < links->n; i++) {
		links->at[i].w = w;
		list_push_back(&links->at[i].fn->workers, &links->at[i].link);
	}
	return rc;
}

/* ---- holdings ---- */

/* run_release: the worker's session ended holding t: t goes back, one attempt spent, or
 * fails worker_lost when it has had them all. */
static void run_release(struct holding *h, bool session_ended)
{
	struct task *t = task_of_run(h);
	char text[128];
	(void)session_ended;
	struct pool *p = t->p;
	t->held = false; /* the session let go of it already */
	stop_running(t);
	if (!t->owned) {
		task_free(t);
		settle_drained(p);
	} else if (t->attempts >= p->max_attempts) {
		snprintf(text, sizeof text, "the worker running it was lost, %u times",
			 t->attempts);
		fail(t, BRK_EWORKERLOST, text);
	} else {
		requeue(t);
	}
}

static json_t *run_describe_new(const struct holding *h)
{
	const struct task *t = task_of_run((struct holding *)h);
	return json_pack("{s:s, s:s, s:I}", "kind", "pool_task", "object", t->p->name, "task",
			 (json_int_t)t->id);
}

static const struct holding_class run_class = {"pool_task", run_release, run_describe_new};

/* owner_release: the submitter's session ended: its outcomes are dropped, its queued tasks
 * withdrawn; a running one runs on and is dropped when it ends. */
static void owner_release(struct holding *h, bool session_ended)
{
	struct task *t = task_of_owner(h);
	struct pool *p = t->p;
	(void)session_ended;
	t->owned = false;
	if (t->state != T_RUNNING) {
		task_free(t);
		settle_drained(p);
	}
}

static json_t *owner_describe_new(const struct holding *h)
{
	const struct task *t = task_of_owner((struct holding *)h);
	return json_pack("{s:s, s:s, s:I}", "kind", "pool_result", "object", t->p->name, "task",
			 (json_int_t)t->id);
}

static const struct holding_class owner_class = {"pool_result", owner_release, owner_describe_new};

/* ---- arguments ---- */

static int lookup(op_ctx *ctx, bool create, struct pool **p)
{
	object *o;
	int rc = create ? obj_lookup(ctx, &pool_class, true, &o)
			: obj_lookup_created(ctx, &pool_class, &o);
	if (rc == 0)
		*p = o->impl;
	return rc;
}

static bool is_name(const json_t *s)
{
	return json_is_string(s) && json_string_length(s) >= 1 &&
	       json_string_length(s) <= PROTO_MAX_NAME;
}

/* chunk_ok: a task's "chunk": a non-empty array of args arrays, one call each. */
static bool chunk_ok(const json_t *chunk)
{
	size_t i;
	json_t *args;
	bool good = json_is_array(chunk) && json_array_size(chunk) > 0;
	json_array_foreach (good ? chunk : NULL, i, args)
		good = good && json_is_array(args);
	return good;
}

/* task_check: one element of pool.submit's "tasks". 0 or bad_argument. */
static int task_check(op_ctx *ctx, size_t i, const json_t *spec)
{
	const char *key;
	json_t *v;
	if (!json_is_object(spec) || !is_name(json_object_get(spec, "func")))
		return op_fail(ctx, BRK_EBADARG,
			       "tasks[%zu] must be an object with \"func\", a string of 1 to %d "
			       "bytes",
			       i, PROTO_MAX_NAME);
	json_t *chunk = json_object_get(spec, "chunk");
	if (chunk && (json_object_get(spec, "args") || json_object_get(spec, "kwargs")))
		return op_fail(ctx, BRK_EBADARG,
			       "tasks[%zu]: a task takes \"chunk\" or \"args\" and \"kwargs\", "
			       "not both",
			       i);
	json_object_foreach ((json_t *)spec, key, v) {
		bool good = !strcmp(key, "func") || (!strcmp(key, "args") && json_is_array(v)) ||
			    (!strcmp(key, "chunk") && chunk_ok(v)) ||
			    (!strcmp(key, "kwargs") && json_is_object(v)) ||
			    (!strcmp(key, "deadline") &&
			     (json_is_null(v) || (json_is_number(v) && json_number_value(v) > 0 &&
						  json_number_value(v) <= PROTO_MAX_TIMEOUT)));
		if (!good)
			return op_fail(ctx, BRK_EBADARG,
				       "tasks[%zu].%.64s: a task takes \"func\", \"args\" (an "
				       "array), \"kwargs\" (an object) or \"chunk\" (a non-empty "
				       "array of args arrays), and \"deadline\" (seconds over 0 up "
				       "to %g, or null)",
				       i, key, PROTO_MAX_TIMEOUT);
	}
	return 0;
}

/* tasks_arg: pool.submit's "tasks", every element checked. */
static int tasks_arg(op_ctx *ctx, json_t **tasks)
{
	json_t *spec;
	size_t i;
	*tasks = json_object_get(ctx->args, "tasks");
	if (!json_is_array(*tasks) || json_array_size(*tasks) == 0)
		return op_fail(ctx, BRK_EBADARG, "argument 'tasks' must be a non-empty array");
	json_array_foreach (*tasks, i, spec)
		if (task_check(ctx, i, spec))
			return ctx->err;
	return 0;
}

/* funcs_arg: pool.work's "funcs": 1 to MAX_FUNCS names. */
static int funcs_arg(op_ctx *ctx, json_t **funcs)
{
	json_t *f;
	size_t i;
	*funcs = json_object_get(ctx->args, "funcs");
	bool good = json_is_array(*funcs) && json_array_size(*funcs) >= 1 &&
		    json_array_size(*funcs) <= MAX_FUNCS;
	json_array_foreach (good ? *funcs : NULL, i, f)
		good = good && is_name(f);
	if (!good)
		return op_fail(
			ctx, BRK_EBADARG,
			"argument 'funcs' must be an array of 1 to %d function names (strings "
			"of 1 to %d bytes)",
			MAX_FUNCS, PROTO_MAX_NAME);
	return 0;
}

/* task_arg: the "task" of an answer (pool.done's arguments, or pool.work's "done"), an id. */
static int task_arg(op_ctx *ctx, const json_t *from, uint64_t *id)
{
	json_t *v = json_object_get(from, "task");
	if (!json_is_integer(v) || json_integer_value(v) < 1)
		return op_fail(ctx, BRK_EBADARG,
			       "argument 'task' must be a task id (an integer >= 1)");
	*id = (uint64_t)json_integer_value(v);
	return 0;
}

/* ids_arg: pool.result's and pool.forget's "tasks": ids of this session's tasks in p, each
 * once, none awaited by a parked pool.result. */
static int ids_arg(op_ctx *ctx, struct pool *p, json_t **ids)
{
	static uint64_t stamp;
	json_t *id;
	size_t i;
	*ids = json_object_get(ctx->args, "tasks");
	if (!json_is_array(*ids) || json_array_size(*ids) == 0)
		return op_fail(ctx, BRK_EBADARG,
			       "argument 'tasks' must be a non-empty array of ids");
	stamp++;
	json_array_foreach (*ids, i, id) {
		if (!json_is_integer(id))
			return op_fail(ctx, BRK_EBADARG, "tasks[%zu] must be a task id", i);
		struct task *t = task_find(p, (uint64_t)json_integer_value(id));
		if (!t || !t->owned || t->owner.sess != ctx->sess)
			return op_fail(
				ctx, BRK_ENOTFOUND,
				"pool '%s' has no task %lld of this session (never submitted "
				"here, or fetched already)",
				p->name, (long long)json_integer_value(id));
		if (t->mark == stamp)
			return op_fail(ctx, BRK_EBADARG, "tasks[%zu]: task %lld is named twice", i,
				       (long long)t->id);
		if (t->awaited_by)
			return op_fail(ctx, BRK_EBADARG,
				       "tasks[%zu]: task %lld is awaited by another pool.result", i,
				       (long long)t->id);
		t->mark = stamp;
	}
	return 0;
}

/* answer_arg: an answer's task and outcome (pool.done's arguments, or pool.work's "done"):
 * "task", and exactly one of "result" (any JSON) and "error" ({"type", "message"},
 * strings). *outcome: a new outcome for task *id. */
static int answer_arg(op_ctx *ctx, const json_t *from, uint64_t *id, json_t **outcome)
{
	json_t *result = json_object_get(from, "result");
	json_t *error = json_object_get(from, "error");
	json_t *type = json_object_get(error, "type"), *msg = json_object_get(error, "message");
	if (task_arg(ctx, from, id))
		return ctx->err;
	if (!result == !error)
		return op_fail(ctx, BRK_EBADARG, "an answer takes one of 'result' and 'error'");
	if (error && (!json_is_object(error) || json_object_size(error) != 2 || !is_name(type) ||
		      !json_is_string(msg)))
		return op_fail(ctx, BRK_EBADARG,
			       "argument 'error' must be {\"type\": a name of 1 to %d bytes, "
			       "\"message\": a string}",
			       PROTO_MAX_NAME);
	if (result)
		*outcome = json_pack("{s:I, s:b, s:O}", "task", (json_int_t)*id, "ok", 1, "result",
				     result);
	else
		*outcome =
			json_pack("{s:I, s:b, s:s, s:O, s:O}", "task", (json_int_t)*id, "ok", 0,
				  "error", brk_err_code(BRK_ETASK), "type", type, "message", msg);
	return *outcome ? 0 : op_fail(ctx, BRK_EINTERNAL, "out of memory");
}

/* done_arg: pool.work's optional "done": an answer, {"task", "result" | "error"}; *outcome
 * stays NULL when absent. */
static int done_arg(op_ctx *ctx, uint64_t *id, json_t **outcome)
{
	json_t *done = json_object_get(ctx->args, "done");
	if (!done)
		return 0;
	if (!json_is_object(done) || json_object_size(done) != 2)
		return op_fail(ctx, BRK_EBADARG,
			       "argument 'done' must be {\"task\": ID, \"result\": R} or "
			       "{\"task\": ID, \"error\": {\"type\", \"message\"}}");
	return answer_arg(ctx, done, id, outcome);
}

/* take_answer: session s answers task id of p with outcome (stolen): true when s held the
 * task, false when the answer is discarded (late: timed out, terminated, not its task). */
static bool take_answer(struct pool *p, const session *s, uint64_t id, json_t *outcome)
{
	struct task *t = task_find(p, id);
	if (!t || !t->held || t->run.sess != s) {
		json_decref(outcome);
		return false;
	}
	stop_running(t);
	finish(t, outcome);
	return true;
}

/* ---- ops ---- */

static bool same_settings(const void *existing, const void *built)
{
	const struct pool *a = existing, *b = built;
	return a->max_attempts == b->max_attempts && a->max_tasks == b->max_tasks;
}

static int op_create(op_ctx *ctx)
{
	return obj_create(ctx, &pool_class, same_settings);
}

static int not_running(op_ctx *ctx, const struct pool *p)
{
	return op_fail(ctx, BRK_ECLOSED, "pool '%s' is %s: it takes no new tasks", p->name,
		       state_names[p->state]);
}

/* task_new: a queued task of ctx's session from spec (checked). NULL when out of memory. */
static struct task *task_new(op_ctx *ctx, struct pool *p, const json_t *spec)
{
	json_t *args = json_object_get(spec, "args"), *kwargs = json_object_get(spec, "kwargs");
	json_t *deadline = json_object_get(spec, "deadline");
	struct task *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->p = p;
	t->id = ++p->next_id;
	list_init(&t->link);
	list_init(&t->run_link);
	deadline_prepare(&t->overdue, overdue);
	if (!hmap_insert(&p->tasks, &t->id, sizeof t->id, t)) {
		free(t);
		return NULL;
	}
	t->fn = func_get(p, json_string_value(json_object_get(spec, "func")));
	t->args = args ? json_incref(args) : json_array();
	t->kwargs = kwargs ? json_incref(kwargs) : json_object();
	t->chunk = json_incref(json_object_get(spec, "chunk"));
	t->deadline = json_is_number(deadline) ? json_number_value(deadline) : -1;
	t->owner.cls = &owner_class;
	if (t->fn && t->args && t->kwargs && sess_hold(ctx->sess, &t->owner)) {
		t->owned = true;
		return t;
	}
	task_free(t);
	return NULL;
}

/* withdraw_all: the tasks of ids (made, never queued nor given to the client) are freed, and
 * ids (may be NULL) with them. */
static void withdraw_all(struct pool *p, json_t *ids)
{
	size_t i;
	json_t *id;
	json_array_foreach (ids, i, id)
		task_free(task_find(p, (uint64_t)json_integer_value(id)));
	json_decref(ids);
}

/* queue_new: a new task goes to the back of its queue, or to a parked worker. */
static void queue_new(struct task *t)
{
	enqueue(t, false);
	hand_out(t);
}

static int op_submit(op_ctx *ctx)
{
	struct pool *p;
	json_t *specs, *spec, *id;
	size_t i;
	int rc = tasks_arg(ctx, &specs);
	if (rc || (rc = lookup(ctx, true, &p)))
		return rc;
	if (p->state != POOL_RUNNING)
		return not_running(ctx, p);
	if (p->tasks.count + json_array_size(specs) > p->max_tasks)
		return op_fail(ctx, BRK_ELIMIT,
			       "pool '%s' holds %zu tasks and results; max_tasks is %zu", p->name,
			       p->tasks.count, p->max_tasks);
	json_t *ids = json_array();
	json_array_foreach (specs, i, spec) {
		struct task *t = ids ? task_new(ctx, p, spec) : NULL;
		if (!t || json_array_append_new(ids, json_integer((json_int_t)t->id)) != 0) {
			if (t)
				task_free(t);
			withdraw_all(p, ids);
			return op_fail(ctx, BRK_EINTERNAL, "out of memory after %zu tasks", i);
		}
	}
	/* all made: only now queued, so that a refusal leaves nothing behind */
	json_array_foreach (ids, i, id)
		queue_new(task_find(p, (uint64_t)json_integer_value(id)));
	return op_ok(ctx, ids);
}

/* unlink_fetcher: w, a parked pool.result, leaves (answered, timed out, cancelled,
 * withdrawn, deleted): the tasks it named that are still there are no longer awaited
 * (on_release). Tasks fetched are gone from p->tasks, and ids are never reused. */
static void unlink_fetcher(waiter *w)
{
	struct pool *p = w->obj->impl;
	size_t i;
	json_t *id;
	json_array_foreach (w->item, i, id) {
		struct task *t = task_find(p, (uint64_t)json_integer_value(id));
		if (t && t->awaited_by == w)
			t->awaited_by = NULL;
	}
}

/* park_fetch: ctx's pool.result waits for the tasks of ids not done yet (n of them). Every
 * one of ids is marked awaited, done or not, so that no other request fetches it first. */
static int park_fetch(op_ctx *ctx, struct pool *p, json_t *ids, bool any, size_t n, double timeout)
{
	waiter *w = NULL;
	size_t i;
	json_t *id;
	int rc = obj_park(ctx, &p->fetchers, BRK_OP_POOL_RESULT, timeout, BRK_ETIMEOUT, &w);
	if (rc != OP_PARKED)
		return rc;
	w->item = json_incref(ids);
	w->kind = any;
	w->size = n;
	w->on_release = unlink_fetcher;
	json_array_foreach (ids, i, id)
		task_find(p, (uint64_t)json_integer_value(id))->awaited_by = w;
	return rc;
}

static int op_result(op_ctx *ctx)
{
	struct pool *p;
	json_t *ids;
	double timeout;
	bool any;
	int rc = arg_wait(ctx, &timeout);
	if (rc || (rc = arg_opt_bool(ctx, "any", false, &any)) || (rc = lookup(ctx, false, &p)) ||
	    (rc = ids_arg(ctx, p, &ids)))
		return rc;
	size_t n = count_ready(p, ids), want = json_array_size(ids);
	if (n == want || (any && n > 0))
		return op_ok(ctx, collect_new(p, ids, ctx->sess));
	if (timeout == 0)
		return op_fail(ctx, BRK_ETIMEOUT, "%zu of the %zu tasks are done in pool '%s'", n,
			       want, p->name);
	return park_fetch(ctx, p, ids, any, want - n, timeout);
}

/* next_for: the task a worker serving funcs takes: the first in pool order among the
 * heads of their queues. O(funcs), however many tasks are queued. */
static struct task *next_for(const struct pool *p, const json_t *funcs)
{
	struct task *next = NULL, *t;
	size_t i;
	json_t *f;
	json_array_foreach (funcs, i, f) {
		t = first_queued(func_find(p, json_string_value(f)));
		if (t && (!next || t->order < next->order))
			next = t;
	}
	return next;
}

static int op_work(op_ctx *ctx)
{
	struct pool *p;
	json_t *funcs, *outcome = NULL;
	double timeout;
	uint64_t id = 0;
	int rc = funcs_arg(ctx, &funcs);
	/* with an answer, the pool must be there: one deleted under its worker is not made
	 * again for it to wait on (not_found stops the worker) */
	if (rc || (rc = arg_wait(ctx, &timeout)) || (rc = done_arg(ctx, &id, &outcome)) ||
	    (rc = lookup(ctx, !outcome, &p))) {
		json_decref(outcome);
		return rc;
	}
	if (outcome)
		take_answer(p, ctx->sess, id, outcome); /* first, as a pool.done would */
	if (p->state == POOL_TERMINATED)
		return op_fail(ctx, BRK_ETERMINATED, "pool '%s' was terminated", p->name);
	struct task *t = next_for(p, funcs);
	if (!t && drained(p))
		return op_fail(ctx, BRK_ECLOSED, "pool '%s' is closed and has no task left",
			       p->name);
	if (!t && timeout == 0)
		return op_fail(ctx, BRK_EEMPTY, "pool '%s' has no task for these functions",
			       p->name);
	if (t) {
		json_t *work = begin(t, ctx->sess);
		return work ? op_ok(ctx, work) : op_fail(ctx, BRK_EINTERNAL, "out of memory");
	}
	return park_worker(ctx, p, funcs, timeout);
}

static int op_done(op_ctx *ctx)
{
	struct pool *p;
	uint64_t id = 0;
	json_t *outcome = NULL;
	int rc = answer_arg(ctx, ctx->args, &id, &outcome);
	if (rc || (rc = lookup(ctx, false, &p))) {
		json_decref(outcome);
		return rc;
	}
	return op_ok(ctx, json_boolean(take_answer(p, ctx->sess, id, outcome)));
}

static int op_close(op_ctx *ctx)
{
	struct pool *p;
	int rc = lookup(ctx, false, &p);
	if (rc)
		return rc;
	if (p->state == POOL_RUNNING)
		p->state = POOL_CLOSED;
	settle_drained(p);
	return op_ok(ctx, json_null());
}

/* gather_pending: every queued or running task of p leaves its queue or its worker for
 * doomed, in id order. */
static void gather_pending(struct pool *p, struct list *doomed)
{
	for (hmap_entry *e = p->tasks.first; e; e = e->next) {
		struct task *t = e->value;
		if (t->state == T_RUNNING)
			stop_running(t);
		dequeue(t);
		if (t->state == T_IDLE)
			list_push_back(doomed, &t->link);
	}
}

static int op_terminate(op_ctx *ctx)
{
	struct pool *p;
	char text[PROTO_MAX_NAME + 64];
	struct list doomed = {&doomed, &doomed};
	int rc = lookup(ctx, false, &p);
	if (rc)
		return rc;
	snprintf(text, sizeof text, "pool '%s' was terminated", p->name);
	p->state = POOL_TERMINATED;
	wait_complete_list(&p->workers, BRK_ETERMINATED, text);
	gather_pending(p, &doomed);
	/* failing a task frees only done ones (its own, or those a fetcher takes) */
	while (!list_empty(&doomed))
		fail(list_entry(doomed.next, struct task, link), BRK_ETERMINATED, text);
	settle_drained(p);
	return op_ok(ctx, json_null());
}

/* give_up: the submitting session gives t up, as if it had ended for t alone (owner_release):
 * a queued task is withdrawn and a done one's outcome dropped now; a running one runs on and
 * its outcome is dropped when it comes. */
static void give_up(struct task *t)
{
	if (t->state != T_RUNNING) {
		task_free(t);
		return;
	}
	sess_drop(&t->owner);
	t->owned = false;
}

static int op_forget(op_ctx *ctx)
{
	struct pool *p;
	json_t *ids, *id;
	size_t i;
	int rc = lookup(ctx, false, &p);
	if (rc || (rc = ids_arg(ctx, p, &ids)))
		return rc;
	json_array_foreach (ids, i, id)
		give_up(task_find(p, (uint64_t)json_integer_value(id)));
	settle_drained(p);
	return op_ok(ctx, json_null());
}

static int op_join(op_ctx *ctx)
{
	struct pool *p;
	double timeout;
	waiter *w = NULL;
	int rc = arg_wait(ctx, &timeout);
	if (rc || (rc = lookup(ctx, false, &p)))
		return rc;
	if (p->state == POOL_RUNNING)
		return op_fail(ctx, BRK_EVALUE, "pool '%s' is still running (close it first)",
			       p->name);
	if (drained(p))
		return op_ok(ctx, json_null());
	if (timeout == 0)
		return op_fail(ctx, BRK_ETIMEOUT, "pool '%s' has %zu tasks queued and %zu running",
			       p->name, p->queued, p->running);
	return obj_park(ctx, &p->joiners, BRK_OP_POOL_JOIN, timeout, BRK_ETIMEOUT, &w);
}

const struct op_def pool_ops[] = {
	{BRK_OP_POOL_CREATE, op_create, OPF_NAME | OPF_GROW, "max_attempts,max_tasks"},
	{BRK_OP_POOL_SUBMIT, op_submit, OPF_NAME | OPF_GROW, "tasks"},
	{BRK_OP_POOL_RESULT, op_result, OPF_NAME, "tasks,any,block,timeout"},
	{BRK_OP_POOL_WORK, op_work, OPF_NAME, "funcs,done,block,timeout"},
	{BRK_OP_POOL_DONE, op_done, OPF_NAME, "task,result,error"},
	{BRK_OP_POOL_CLOSE, op_close, OPF_NAME, ""},
	{BRK_OP_POOL_TERMINATE, op_terminate, OPF_NAME, ""},
	{BRK_OP_POOL_JOIN, op_join, OPF_NAME, "timeout"},
	{BRK_OP_POOL_FORGET, op_forget, OPF_NAME, "tasks"},
	{NULL, NULL, 0, NULL},
};

/* ---- class ---- */

static void *create(op_ctx *ctx, const char *name)
{
	size_t attempts = 0, tasks = 0;
	if (arg_opt_count(ctx, "max_attempts", DEFAULT_MAX_ATTEMPTS, MAX_MAX_ATTEMPTS, &attempts) ||
	    arg_opt_count(ctx, "max_tasks", DEFAULT_MAX_TASKS, MAX_MAX_TASKS, &tasks))
		return NULL;
	struct pool *p = calloc(1, sizeof *p);
	if (!p) {
		op_fail(ctx, BRK_EINTERNAL, "out of memory");
		return NULL;
	}
	p->name = name;
	p->max_attempts = (unsigned)attempts;
	p->max_tasks = tasks;
	hmap_init(&p->tasks);
	hmap_init(&p->funcs);
	list_init(&p->workers);
	list_init(&p->fetchers);
	list_init(&p->joiners);
	list_init(&p->runs);
	return p;
}

static void destroy(void *impl)
{
	struct pool *p = impl;
	while (p->tasks.first)
		task_free(p->tasks.first->value);
	hmap_fini(&p->tasks, NULL);
	hmap_fini(&p->funcs, NULL); /* empty: its tasks are gone */
	free(p);
}

static size_t size(const void *impl)
{
	return ((const struct pool *)impl)->tasks.count;
}

static size_t waiters(const void *impl)
{
	const struct pool *p = impl;
	return list_length(&p->workers) + list_length(&p->fetchers) + list_length(&p->joiners);
}

/* running_new: the running tasks, from the list of them: a stat costs nothing per queued
 * task or unfetched outcome. */
static json_t *running_new(const struct pool *p)
{
	json_t *out = json_array();
	for (const struct list *n = p->runs.next; n != &p->runs && out; n = n->next) {
		const struct task *t = list_entry(n, struct task, run_link);
		const session *s = t->run.sess;
		json_t *r = json_pack("{s:I, s:s, s:I, s:I, s:f}", "task", (json_int_t)t->id,
				      "func", t->fn->name, "attempt", (json_int_t)t->attempts,
				      "session", (json_int_t)s->id, "since", t->since);
		if (r && s->has_cred)
			json_object_set_new(r, "pid", json_integer((json_int_t)s->pid));
		json_array_append_new(out, r);
	}
	return out;
}

/* queued_new: {func: tasks queued for it}: a function nobody serves shows here. */
static json_t *queued_new(const struct pool *p)
{
	json_t *out = json_object();
	for (const hmap_entry *e = p->funcs.first; e && out; e = e->next) {
		const struct func *fn = e->value;
		if (fn->queued)
			json_object_set_new(out, fn->name, json_integer((json_int_t)fn->queued));
	}
	return out;
}

/* describe_funcs: adds to d the first STAT_FUNCS of funcs and how many there are, so that
 * a stat of many workers of many functions stays small. */
static void describe_funcs(json_t *d, const json_t *funcs)
{
	json_t *some = json_array();
	for (size_t i = 0; i < json_array_size(funcs) && i < STAT_FUNCS && some; i++)
		json_array_append(some, json_array_get(funcs, i));
	json_object_set_new(d, "funcs", some);
	json_object_set_new(d, "nfuncs", json_integer((json_int_t)json_array_size(funcs)));
}

static json_t *workers_new(const struct pool *p)
{
	json_t *out = json_array();
	for (const struct list *n = p->workers.next; n != &p->workers && out; n = n->next) {
		const waiter *w = list_entry(n, waiter, obj_link);
		json_t *d = wait_describe_new(w);
		if (d && w->sess->has_cred)
			json_object_set_new(d, "pid", json_integer((json_int_t)w->sess->pid));
		if (d)
			describe_funcs(d, w->item);
		json_array_append_new(out, d);
	}
	return out;
}

static json_t *stat_new(const void *impl)
{
	const struct pool *p = impl;
	return json_pack("{s:s, s:I, s:I, s:I, s:o, s:o, s:I, s:I, s:I, s:o, s:o, s:o}", "state",
			 state_names[p->state], "max_attempts", (json_int_t)p->max_attempts,
			 "max_tasks", (json_int_t)p->max_tasks, "queued", (json_int_t)p->queued,
			 "queued_funcs", queued_new(p), "running", running_new(p), "results",
			 (json_int_t)p->done, "completed", (json_int_t)p->completed, "failed",
			 (json_int_t)p->failed, "workers", workers_new(p), "fetchers",
			 wait_list_new(&p->fetchers), "joiners", wait_list_new(&p->joiners));
}

static void complete_waiters(void *impl, brk_err err, const char *msg)
{
	struct pool *p = impl;
	wait_complete_list(&p->workers, err, msg);
	wait_complete_list(&p->fetchers, err, msg);
	wait_complete_list(&p->joiners, err, msg);
}

const struct obj_class pool_class = {
	"pool",           create, destroy, size, waiters, stat_new,
	complete_waiters, false,  NULL,    NULL, NULL,    NULL,
};
