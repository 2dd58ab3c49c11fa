/* worker.c: a client process for black-box tests, started with exec so that it is a
 * separate program with a connection and a session of its own.
 *   worker URL get NAME TIMEOUT       print the value; exit 0, or the brk_err number
 *   worker URL put NAME JSON TIMEOUT  exit 0, or the brk_err number
 *   worker URL join NAME TIMEOUT      exit 0, or the brk_err number
 *   worker URL produce NAME FROM N    put FROM .. FROM+N-1
 *   worker URL consume NAME           get until null, printing one value per line
 *   worker URL lock NAME HOLD         acquire, print the fence, hold HOLD s (<0: until
 *                                     killed), release
 *   worker URL incr LOCK DICT K       K times: under LOCK, DICT["n"] = DICT["n"] + 1
 *   worker URL permits NAME N         take N permits of semaphore NAME, print "ok", hold
 *                                     them until killed
 *   worker URL ewait NAME             wait for event NAME; exit 0 once it is set
 *   worker URL cwait NAME             under condition NAME's lock, wait for a notify;
 *                                     print 1 (notified) or 0, release
 *   worker URL bwait NAME             wait at barrier NAME; print the index
 *   worker URL buy LOCK DICT          under LOCK: if DICT["tickets"] > 0, take one and
 *                                     print "bought"; exit 0 either way
 *   worker URL count HOW VALUE K      once event "go" is set, add 1 to int value VALUE K
 *                                     times: HOW is getset (get then set: unsafe), lock
 *                                     (the same under lock "L"), add or cas
 *   worker URL classic N DICT LIST    DICT[N] = "1", DICT["2"] = 2, append N to LIST */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "increment.h"

static int produce(brk_client *c, const char *name, long from, long n)
{
	for (long i = from; i < from + n; i++) {
		json_t *v = json_integer(i);
		brk_err err = brk_queue_put(c, name, v, BRK_FOREVER);
		json_decref(v);
		if (err)
			return (int)err;
	}
	return 0;
}

static int consume(brk_client *c, const char *name)
{
	for (;;) {
		json_t *v = NULL;
		brk_err err = brk_queue_get(c, name, BRK_FOREVER, &v);
		if (err)
			return (int)err;
		bool stop = json_is_null(v);
		if (!stop)
			printf("%lld\n", (long long)json_integer_value(v));
		json_decref(v);
		if (stop)
			return 0;
	}
}

static int hold_lock(brk_client *c, const char *name, double hold)
{
	bool acquired;
	uint64_t fence;
	brk_err err = brk_lock_acquire(c, name, BRK_LOCK, BRK_FOREVER, &acquired, &fence);
	if (err || !acquired)
		return err ? (int)err : 1;
	printf("%llu\n", (unsigned long long)fence);
	fflush(stdout);
	if (hold < 0)
		for (;;)
			pause();
	usleep((useconds_t)(hold * 1e6));
	return (int)brk_lock_release(c, name, BRK_LOCK);
}

/* locked_update: under lock, dict[key] += delta when the result stays >= 0; *done says
 * whether it changed. */
static brk_err locked_update(brk_client *c, const char *lock, const char *dict, const char *key,
			     long delta, bool *done)
{
	bool acquired;
	json_t *k = json_string(key), *zero = json_integer(0), *v = NULL, *nv = NULL;
	brk_err err = brk_lock_acquire(c, lock, BRK_LOCK, BRK_FOREVER, &acquired, NULL);
	if (!err)
		err = brk_dict_get_default(c, dict, k, zero, &v);
	long n = (long)json_integer_value(v) + delta;
	*done = !err && n >= 0;
	if (*done) {
		nv = json_integer(n);
		err = brk_dict_set(c, dict, k, nv);
	}
	brk_err rel = brk_lock_release(c, lock, BRK_LOCK);
	json_decref(k);
	json_decref(zero);
	json_decref(v);
	json_decref(nv);
	return err ? err : rel;
}

static int count(brk_client *c, const char *how, const char *name, long k)
{
	bool set;
	brk_err err = brk_event_wait(c, "go", BRK_FOREVER, &set);
	for (long i = 0; i < k && !err; i++)
		err = increment_by(c, how, name, "L");
	return (int)err;
}

static int classic(brk_client *c, long n, const char *dict, const char *list)
{
	json_t *key = json_integer(n), *one = json_string("1"), *two_key = json_string("2"),
	       *two = json_integer(2);
	brk_err err = brk_dict_set(c, dict, key, one);
	if (!err)
		err = brk_dict_set(c, dict, two_key, two);
	if (!err)
		err = brk_list_append(c, list, key);
	json_decref(key), json_decref(one), json_decref(two_key), json_decref(two);
	return (int)err;
}

static int run(brk_client *c, int argc, char **argv)
{
	const char *what = argv[2], *name = argv[3];
	json_t *v = NULL;
	int rc = 2;
	if (!strcmp(what, "get") && argc == 5) {
		rc = (int)brk_queue_get(c, name, atof(argv[4]), &v);
		if (rc == 0) {
			char *text = json_dumps(v, JSON_ENCODE_ANY);
			printf("%s\n", text);
			free(text);
		}
	} else if (!strcmp(what, "put") && argc == 6) {
		v = json_loads(argv[4], JSON_DECODE_ANY, NULL);
		rc = (int)brk_queue_put(c, name, v, atof(argv[5]));
	} else if (!strcmp(what, "join") && argc == 5) {
		rc = (int)brk_queue_join(c, name, atof(argv[4]));
	} else if (!strcmp(what, "produce") && argc == 6) {
		rc = produce(c, name, atol(argv[4]), atol(argv[5]));
	} else if (!strcmp(what, "consume") && argc == 4) {
		rc = consume(c, name);
	} else if (!strcmp(what, "lock") && argc == 5) {
		rc = hold_lock(c, name, atof(argv[4]));
	} else if (!strcmp(what, "incr") && argc == 6) {
		bool done;
		rc = 0;
		for (long i = 0; i < atol(argv[5]) && rc == 0; i++)
			rc = (int)locked_update(c, name, argv[4], "n", 1, &done);
	} else if (!strcmp(what, "permits") && argc == 5) {
		bool acquired;
		rc = (int)brk_semaphore_acquire(c, name, atol(argv[4]), BRK_FOREVER, &acquired);
		if (rc == 0) {
			printf("ok\n");
			fflush(stdout);
			for (;;)
				pause();
		}
	} else if (!strcmp(what, "ewait") && argc == 4) {
		bool set = false;
		rc = (int)brk_event_wait(c, name, BRK_FOREVER, &set);
		if (rc == 0 && !set)
			rc = 1;
	} else if (!strcmp(what, "cwait") && argc == 4) {
		bool acquired, notified;
		rc = (int)brk_condition_acquire(c, name, BRK_FOREVER, &acquired);
		if (rc == 0)
			rc = (int)brk_condition_wait(c, name, BRK_FOREVER, &notified);
		if (rc == 0) {
			printf("%d\n", notified);
			rc = (int)brk_condition_release(c, name);
		}
	} else if (!strcmp(what, "bwait") && argc == 4) {
		long index;
		rc = (int)brk_barrier_wait(c, name, BRK_FOREVER, &index);
		if (rc == 0)
			printf("%ld\n", index);
	} else if (!strcmp(what, "count") && argc == 6) {
		rc = count(c, name, argv[4], atol(argv[5]));
	} else if (!strcmp(what, "classic") && argc == 6) {
		rc = classic(c, atol(name), argv[4], argv[5]);
	} else if (!strcmp(what, "buy") && argc == 5) {
		bool bought;
		rc = (int)locked_update(c, name, argv[4], "tickets", -1, &bought);
		if (rc == 0 && bought)
			printf("bought\n");
	}
	json_decref(v);
	return rc;
}

int main(int argc, char **argv)
{
	brk_client *c;
	if (argc < 4) {
		fprintf(stderr, "usage: worker URL ACTION NAME ...\n");
		return 2;
	}
	if (brk_connect(argv[1], NULL, &c) != BRK_OK) {
		fprintf(stderr, "worker: %s\n", brk_last_error());
		return 3;
	}
	int rc = run(c, argc, argv);
	fflush(stdout);
	brk_close(c);
	return rc;
}
