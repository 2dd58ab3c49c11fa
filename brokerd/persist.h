/* persist.h: the data dir wired to the objects (docs/durability.md): effects go to the
 * journal as records, replies wait for their commit, start-up replays, compaction forks a
 * snapshot writer. Without a data dir every call here is a cheap no-op. */
#ifndef BROKER_PERSIST_H
#define BROKER_PERSIST_H

#include <event2/event.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "journal.h"

struct object;
struct req;
struct op_def;
struct op_ctx;

/* Counters that clients rely on and that must never go back across a restart. */
enum persist_counter { PC_VERSION, PC_SERIAL, PC_FENCE, PC_SESSION, PC_COUNT };

struct persist_conf {
	const char *data_dir; /* NULL: in memory only */
	enum journal_fsync fsync;
	bool repair;
	double compact_ratio;
	uint64_t compact_min;
};

/* persist_start: opens and loads the data dir (a no-op without one); logs what it loaded.
 * 0, or -1 after logging why brokerd cannot start. */
int persist_start(struct event_base *base, const struct persist_conf *conf);

/* persist_stop: commits what is pending and sends the replies it held (or, if that
 * fails, answers them shutting_down: never acknowledged), ends a compaction, closes. */
void persist_stop(void);

/* persist_wants: whether o's effects are logged (a data dir, a type that persists, not
 * ephemeral, not being loaded). */
bool persist_wants(const struct object *o);

/* persist_put: appends rec (stolen; an effect record, docs/durability.md) to the batch, or
 * to the snapshot in the snapshot writer. */
void persist_put(json_t *rec);

/* persist_op: a shared-state write request args (borrowed) that changed o: logged as an
 * "op" record with o's new version. */
void persist_op(const struct object *o, const json_t *args);

/* persist_counter: counter c handed out value; past its reserved mark, a new mark is
 * logged and that commit synced, before the value can reach a reply. */
void persist_counter(enum persist_counter c, uint64_t value);

/* persist_hold: when replies must wait for the pending commit, keeps (r, reply) to send
 * after it and returns true; false: send now. */
bool persist_hold(struct req *r, json_t *reply);

/* persist_refuses: while commits fail, an op that would change stored state is refused:
 * fills ctx with the storage error and returns true. */
bool persist_refuses(struct op_ctx *ctx, const struct op_def *d);

/* persist_flush: the end of a loop iteration: commits the batch, then sends the replies
 * that waited for it; may start a compaction. */
void persist_flush(void);

/* persist_save: the "save" op: starts a compaction; the reply waits for its end. */
int persist_save(struct op_ctx *ctx);

/* persist_info_new: the "persistence" object of info, or NULL without a data dir. */
json_t *persist_info_new(void);

#endif
