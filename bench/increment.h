/* increment.h: the ways a process can add 1 to a shared int value, shared by the lost-update
 * test (tests/worker.c) and the counter benchmark (bench/counter.c). */
#ifndef BENCH_INCREMENT_H
#define BENCH_INCREMENT_H

#include <string.h>

#include "broker.h"

/* increment_get_then_set: value += 1 as a get and a set, under lock (NULL: no lock, which
 * loses updates when processes interleave). */
static inline brk_err increment_get_then_set(brk_client *c, const char *name, const char *lock)
{
	bool acquired;
	json_t *v = NULL, *nv = NULL;
	brk_err err =
		lock ? brk_lock_acquire(c, lock, BRK_LOCK, BRK_FOREVER, &acquired, NULL) : BRK_OK;
	if (!err)
		err = brk_value_get(c, name, &v);
	if (!err && !(nv = json_integer(json_integer_value(v) + 1)))
		err = BRK_ENOMEM;
	if (!err)
		err = brk_value_set(c, name, nv);
	if (lock) {
		brk_err rel = brk_lock_release(c, lock, BRK_LOCK);
		err = err ? err : rel;
	}
	json_decref(v);
	json_decref(nv);
	return err;
}

/* increment_cas: value += 1 by compare-and-set, retried until it swaps. */
static inline brk_err increment_cas(brk_client *c, const char *name)
{
	bool swapped = false;
	json_t *cur = NULL;
	brk_err err = brk_value_get(c, name, &cur);
	while (!err && !swapped) {
		json_t *nv = json_integer(json_integer_value(cur) + 1), *next = NULL;
		err = brk_value_cas(c, name, cur, nv, &swapped, &next);
		json_decref(cur);
		json_decref(nv);
		cur = next;
	}
	json_decref(cur);
	return err;
}

/* increment_by: one increment the way how names: "add" (value.add), "cas", "lock" (get and
 * set under lock), or "getset" (get and set, no lock). */
static inline brk_err increment_by(brk_client *c, const char *how, const char *name,
				   const char *lock)
{
	if (!strcmp(how, "add"))
		return brk_value_add_int(c, name, 1, NULL);
	if (!strcmp(how, "cas"))
		return increment_cas(c, name);
	return increment_get_then_set(c, name, strcmp(how, "lock") ? NULL : lock);
}

#endif
