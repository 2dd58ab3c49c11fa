/* semaphore.c: Semaphore and BoundedSemaphore. Permits taken are held by the session (and
 * owner within it) that took them and come back when it ends; as in Python any owner may
 * release them. Waiters are served strictly in arrival order, the oldest waiting for its
 * whole count before anyone behind it is served (no starvation). */
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "dispatch.h"
#include "hmap.h"
#include "ops.h"
#include "semaphore.h"
#include "wait.h"

#define DEFAULT_VALUE 1 /* of a semaphore made without "value" */

typedef struct semaphore {
	bool bounded;
	long value;          /* permits free now */
	long initial;        /* a bounded semaphore never goes above it */
	struct list holds;   /* struct sem_hold.sem_link: (session, owner)s holding permits */
	hmap holds_index;    /* struct hold_key -> struct sem_hold, and a session's id ->
				struct sem_peers: takes and releases are lookups, not scans */
	struct list waiters; /* waiter.obj_link; waiter.priority is the count wanted */
	const char *name;
	bool serving; /* in serve_waiters, which withdrawing a waiter would re-enter */
} semaphore;

/* Permits one owner of one session holds on one semaphore. */
struct sem_hold {
	struct holding h;
	struct list sem_link;  /* on the semaphore's holds */
	struct list peer_link; /* on its session's holds of this semaphore */
	semaphore *sem;
	session *s;
	uint64_t owner;
	long permits;
};

/* The holds of one session on one semaphore (one per owner), so that a release by any owner
 * finds the session's other holds without a scan of every holder. */
struct sem_peers {
	struct list holds; /* struct sem_hold.peer_link, oldest first */
};

static void serve_waiters(semaphore *sem);

/* ---- holding ---- */

struct hold_key {
	uint64_t session; /* the session's id, never reused */
	uint64_t owner;
};

static struct hold_key key_of(const session *s, uint64_t owner)
{
	return (struct hold_key){s->id, owner};
}

static struct sem_peers *peers_of(semaphore *sem, const session *s)
{
	return hmap_get(&sem->holds_index, &s->id, sizeof s->id);
}

/* peers_new: the (empty) holds of s on sem, indexed; NULL when out of memory. */
static struct sem_peers *peers_new(semaphore *sem, const session *s)
{
	struct sem_peers *peers = malloc(sizeof *peers);
	if (!peers || !hmap_insert(&sem->holds_index, &s->id, sizeof s->id, peers)) {
		free(peers);
		return NULL;
	}
	list_init(&peers->holds);
	return peers;
}

static void unindex(hmap *index, const void *key, size_t klen)
{
	hmap_delete(index, hmap_find(index, key, klen));
}

static void hold_free(struct sem_hold *sh)
{
	struct hold_key k = key_of(sh->s, sh->owner);
	hmap *index = &sh->sem->holds_index;
	struct sem_peers *peers = peers_of(sh->sem, sh->s);
	list_remove(&sh->sem_link);
	list_remove(&sh->peer_link);
	unindex(index, &k, sizeof k);
	if (list_empty(&peers->holds)) {
		unindex(index, &sh->s->id, sizeof sh->s->id);
		free(peers);
	}
	free(sh);
}

static void hold_release(struct holding *h, bool session_ended)
{
	struct sem_hold *sh = (struct sem_hold *)h;
	semaphore *sem = sh->sem;
	(void)session_ended;
	sem->value += sh->permits;
	hold_free(sh);
	serve_waiters(sem);
}

static json_t *hold_describe_new(const struct holding *h)
{
	const struct sem_hold *sh = (const struct sem_hold *)h;
	return json_pack("{s:s, s:s, s:I, s:I}", "kind", "semaphore", "object", sh->sem->name,
			 "permits", (json_int_t)sh->permits, "owner", (json_int_t)sh->owner);
}

const struct holding_class sem_holding_class = {"semaphore", hold_release, hold_describe_new};

static struct sem_hold *hold_of(semaphore *sem, const session *s, uint64_t owner)
{
	struct hold_key k = key_of(s, owner);
	return hmap_get(&sem->holds_index, &k, sizeof k);
}

/* hold_new: an empty hold of owner of s on sem, in sem's holds (and index) and s's
 * holdings; NULL when out of memory. */
static struct sem_hold *hold_new(semaphore *sem, session *s, uint64_t owner)
{
	struct hold_key k = key_of(s, owner);
	struct sem_peers *peers = peers_of(sem, s);
	struct sem_hold *sh = calloc(1, sizeof *sh);
	bool new_peers = !peers;
	if (sh && !peers)
		peers = peers_new(sem, s);
	if (!sh || !peers || !hmap_insert(&sem->holds_index, &k, sizeof k, sh)) {
		if (peers && new_peers) {
			unindex(&sem->holds_index, &s->id, sizeof s->id);
			free(peers);
		}
		free(sh);
		return NULL;
	}
	sh->sem = sem;
	sh->s = s;
	sh->owner = owner;
	sh->h.cls = &sem_holding_class;
	list_push_back(&sem->holds, &sh->sem_link);
	list_push_back(&peers->holds, &sh->peer_link);
	if (!sess_hold(s, &sh->h)) {
		hold_free(sh);
		return NULL;
	}
	return sh;
}

/* take: owner of s takes n permits (there are enough). Returns the acquire result, NULL when
 * out of memory (nothing taken). */
static json_t *take(semaphore *sem, session *s, uint64_t owner, long n)
{
	struct sem_hold *sh = hold_of(sem, s, owner);
	if (!sh && !(sh = hold_new(sem, s, owner)))
		return NULL;
	sh->permits += n;
	sem->value -= n;
	return json_pack("{s:b, s:I}", "acquired", 1, "value", (json_int_t)sem->value);
}

/* serve_waiters: grants permits to waiters in arrival order while the oldest can be served. */
static void serve_waiters(semaphore *sem)
{
	waiter *w;
	if (sem->serving)
		return;
	sem->serving = true;
	while ((w = wait_first_live(&sem->waiters)) && sem->value >= (long)w->priority) {
		json_t *result = take(sem, w->sess, w->owner, (long)w->priority);
		if (result)
			wait_complete(w, BRK_OK, result, NULL);
		else
			wait_complete(w, BRK_EINTERNAL, NULL, "out of memory");
	}
	sem->serving = false;
}

/* A waiter that leaves unserved (timed out, gone, cancelled) may have been the oldest, which
 * those behind it were waiting for: they are served now if there are permits. */
static void on_withdraw(waiter *w)
{
	serve_waiters(w->obj->impl);
}

static void on_timeout(waiter *w)
{
	semaphore *sem = w->obj->impl;
	wait_complete(w, BRK_OK, json_pack("{s:b}", "acquired", 0), NULL);
	serve_waiters(sem);
}

/* ---- ops ---- */

static int lookup(op_ctx *ctx, semaphore **out)
{
	object *o;
	int rc = obj_lookup(ctx, &semaphore_class, true, &o);
	if (rc == 0)
		*out = o->impl;
	return rc;
}

static int count_arg(op_ctx *ctx, long *n)
{
	json_int_t v = 1;
	int rc = arg_opt_int(ctx, "n", 1, &v);
	if (rc == 0 && (v < 1 || v > 1000000000))
		rc = op_fail(ctx, BRK_EBADARG, "'n' must be from 1 to 1e9");
	*n = (long)v;
	return rc;
}

static bool same_settings(const void *existing, const void *built)
{
	const semaphore *a = existing, *b = built;
	return a->bounded == b->bounded && a->initial == b->initial;
}

static int op_create(op_ctx *ctx)
{
	return obj_create(ctx, &semaphore_class, same_settings);
}

static int op_acquire(op_ctx *ctx)
{
	semaphore *sem;
	double timeout;
	long n;
	int rc = lookup(ctx, &sem);
	if (rc || (rc = count_arg(ctx, &n)) || (rc = arg_wait(ctx, &timeout)))
		return rc;
	if (sem->bounded && n > sem->initial)
		return op_fail(ctx, BRK_EVALUE, "cannot acquire %ld of %ld permits", n,
			       sem->initial);
	if (list_empty(&sem->waiters) && sem->value >= n)
		return op_ok(ctx, take(sem, ctx->sess, ctx->owner, n));
	if (timeout == 0)
		return op_ok(ctx, json_pack("{s:b}", "acquired", 0));
	waiter *w;
	rc = obj_park(ctx, &sem->waiters, BRK_OP_SEM_ACQUIRE, timeout, BRK_OK, &w);
	if (rc != OP_PARKED)
		return rc;
	w->priority = (double)n;
	w->on_timeout = on_timeout;
	w->on_withdraw = on_withdraw;
	w->owner = ctx->owner;
	return OP_PARKED;
}

/* give_up: sh holds up to n fewer permits (and is freed at none); how many it gave up. */
static long give_up(struct sem_hold *sh, long n)
{
	long k = n < sh->permits ? n : sh->permits;
	sh->permits -= k;
	if (sh->permits == 0) {
		sess_drop(&sh->h);
		hold_free(sh);
	}
	return k;
}

/* count_down: n released permits stop being held: the releaser's own first, then those of
 * the session's other owners (Python lets any thread release), oldest hold first. Beyond
 * what the session holds, a release adds permits held by nobody, as in Python; but on a
 * bounded semaphore it releases other sessions' permits, oldest hold first, so that free
 * and held permits always add up to its bound (a holder that dies later gives back none). */
static void count_down(semaphore *sem, const session *s, uint64_t owner, long n)
{
	struct sem_hold *own = hold_of(sem, s, owner);
	if (own)
		n -= give_up(own, n);
	while (n > 0) {
		struct sem_peers *peers = peers_of(sem, s); /* freed with the last of its holds */
		if (!peers)
			break;
		n -= give_up(list_entry(peers->holds.next, struct sem_hold, peer_link), n);
	}
	while (n > 0 && sem->bounded && !list_empty(&sem->holds))
		n -= give_up(list_entry(sem->holds.next, struct sem_hold, sem_link), n);
}

static int op_release(op_ctx *ctx)
{
	semaphore *sem;
	long n;
	int rc = lookup(ctx, &sem);
	if (rc || (rc = count_arg(ctx, &n)))
		return rc;
	if (sem->bounded && sem->value + n > sem->initial)
		return op_fail(ctx, BRK_EVALUE, "semaphore '%s' released too many times",
			       ctx->name);
	count_down(sem, ctx->sess, ctx->owner, n);
	sem->value += n;
	serve_waiters(sem);
	return op_ok(ctx, json_null());
}

static int op_value(op_ctx *ctx)
{
	object *o;
	int rc = obj_lookup(ctx, &semaphore_class, false, &o); /* looking creates nothing */
	if (rc == 0 && !o)
		return op_ok(ctx, json_integer(DEFAULT_VALUE));
	return rc ? rc : op_ok(ctx, json_integer((json_int_t)((semaphore *)o->impl)->value));
}

const struct op_def semaphore_ops[] = {
	{BRK_OP_SEM_CREATE, op_create, OPF_NAME | OPF_OWNER | OPF_GROW, "value,bounded"},
	{BRK_OP_SEM_ACQUIRE, op_acquire, OPF_NAME | OPF_OWNER, "n,block,timeout"},
	{BRK_OP_SEM_RELEASE, op_release, OPF_NAME | OPF_OWNER, "n"},
	{BRK_OP_SEM_VALUE, op_value, OPF_NAME | OPF_OWNER | OPF_RO, ""},
	{NULL, NULL, 0, NULL},
};

/* ---- class ---- */

static void *create(op_ctx *ctx, const char *name)
{
	json_int_t value;
	bool bounded;
	if (arg_opt_int(ctx, "value", DEFAULT_VALUE, &value) ||
	    arg_opt_bool(ctx, "bounded", false, &bounded))
		return NULL;
	if (value < 0 || value > 1000000000) {
		op_fail(ctx, BRK_EBADARG, "'value' must be from 0 to 1e9");
		return NULL;
	}
	semaphore *sem = calloc(1, sizeof *sem);
	if (!sem) {
		op_fail(ctx, BRK_EINTERNAL, "out of memory");
		return NULL;
	}
	sem->bounded = bounded;
	sem->value = sem->initial = (long)value;
	sem->name = name;
	list_init(&sem->holds);
	hmap_init(&sem->holds_index);
	list_init(&sem->waiters);
	return sem;
}

static void destroy(void *impl)
{
	semaphore *sem = impl;
	while (!list_empty(&sem->holds)) {
		struct sem_hold *sh = list_entry(sem->holds.next, struct sem_hold, sem_link);
		sess_drop(&sh->h);
		hold_free(sh);
	}
	hmap_fini(&sem->holds_index, NULL);
	free(sem);
}

static size_t size(const void *impl)
{
	return (size_t)((const semaphore *)impl)->value;
}

static size_t waiters(const void *impl)
{
	return list_length(&((const semaphore *)impl)->waiters);
}

static json_t *stat_new(const void *impl)
{
	const semaphore *sem = impl;
	json_t *holders = json_array();
	for (struct list *p = sem->holds.next; p != &sem->holds && holders; p = p->next) {
		const struct sem_hold *sh = list_entry(p, struct sem_hold, sem_link);
		json_array_append_new(holders,
				      json_pack("{s:I, s:I, s:I}", "session", (json_int_t)sh->s->id,
						"owner", (json_int_t)sh->owner, "permits",
						(json_int_t)sh->permits));
	}
	return json_pack("{s:I, s:I, s:b, s:o, s:o}", "value", (json_int_t)sem->value, "initial",
			 (json_int_t)sem->initial, "bounded", sem->bounded, "holders", holders,
			 "waiting", wait_list_new(&sem->waiters));
}

static void complete_waiters(void *impl, brk_err err, const char *msg)
{
	wait_complete_list(&((semaphore *)impl)->waiters, err, msg);
}

const struct obj_class semaphore_class = {
	"semaphore",      create, destroy, size, waiters, stat_new,
	complete_waiters, false,  NULL,    NULL, NULL,    NULL,
};
