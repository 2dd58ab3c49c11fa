/* journal.h: brokerd's data dir: an append-only log of checksummed records and a snapshot,
 * with group commit, replay, compaction and repair. Records are opaque bytes: what they
 * mean is the caller's. Design, file layout and record format: docs/durability.md. */
#ifndef BROKER_JOURNAL_H
#define BROKER_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The largest record payload. */
#define JOURNAL_MAX_RECORD (1u << 30)

enum journal_fsync {
	JOURNAL_FSYNC_ALWAYS,   /* one fdatasync per commit (group commit) */
	JOURNAL_FSYNC_EVERYSEC, /* fdatasync from journal_tick, once a second */
	JOURNAL_FSYNC_NO,       /* the kernel decides */
};

/* The steps of a compaction, in order (docs/durability.md "Compaction"), for the test
 * hook that simulates a crash after each. */
enum journal_step {
	JOURNAL_STEP_LOG_SYNCED,      /* B1: the batch committed, the log synced */
	JOURNAL_STEP_NEW_LOG_TMP,     /* B2: the new log written and synced as .tmp */
	JOURNAL_STEP_NEW_LOG,         /* B2: renamed, the dir synced */
	JOURNAL_STEP_SWITCHED,        /* B3: appends go to the new log */
	JOURNAL_STEP_SNAPSHOT_TMP,    /* B4: snapshot .tmp created with its header */
	JOURNAL_STEP_SNAPSHOT_SYNCED, /* W: records written and synced */
	JOURNAL_STEP_RENAMED,         /* I1: the snapshot renamed into place */
	JOURNAL_STEP_DIR_SYNCED,      /* I2: the dir synced */
	JOURNAL_STEP_OLD_REMOVED,     /* I3: older files removed, the dir synced */
	JOURNAL_STEP_COUNT
};

/* Test hooks: each member left NULL is the real call. */
struct journal_hooks {
	ssize_t (*pwrite)(int fd, const void *buf, size_t len, off_t offset);
	/* sync: fdatasync of a file, or fsync of the data dir when dir is true. */
	int (*sync)(int fd, bool dir);
	/* step: called after each step of a compaction. */
	void (*step)(enum journal_step step);
};

struct journal_options {
	enum journal_fsync fsync;
	bool repair;                       /* journal_load cuts at corruption instead of refusing */
	const struct journal_hooks *hooks; /* borrowed; NULL: the real calls */
};

/* A record handed to journal_load's callback; data is valid during the call only. */
struct journal_record {
	const void *data;
	size_t len;
	bool snapshot;       /* from the snapshot, else from a log */
	uint64_t generation; /* of its file */
	uint64_t offset;     /* of the record in its file, for messages */
};

/* journal_load_fn: takes one record; 0 to go on, or an error (a positive errno value) that
 * stops the load and is returned by journal_load. */
typedef int (*journal_load_fn)(void *arg, const struct journal_record *r);

struct journal_stats {
	enum journal_fsync fsync;
	uint64_t generation;       /* of the log appended to */
	uint64_t log_bytes;        /* of every log since the snapshot */
	uint64_t snapshot_bytes;   /* 0 when there is none */
	uint64_t unsynced_bytes;   /* committed since the last fdatasync */
	uint64_t pending_records;  /* appended, not committed */
	double last_fsync;         /* Unix time; 0: never */
	double last_compaction;    /* Unix time of the last installed snapshot; 0: never */
	double compaction_seconds; /* from its begin to its install */
	bool compacting;
	double load_seconds;
	uint64_t loaded_records, loaded_bytes;
	uint64_t torn_bytes;     /* an unfinished commit dropped from the log's end */
	uint64_t repaired_bytes; /* cut by repair */
	char bad_file[40];       /* the file load found corrupt, "" if none */
	uint64_t bad_offset;     /* and the offset of its bad record */
	int error;               /* of the last commit when it failed, else 0 */
};

struct journal;
struct journal_snapshot;

/* journal_open: opens the data dir dir (which must exist) and takes its lock, so no other
 * brokerd can use it. 0 and *out, or an errno value after logging why: ENOENT, ENOTDIR,
 * EACCES, EROFS (the dir cannot be written), EWOULDBLOCK (another brokerd holds it, its
 * pid named). opt is copied; its hooks are borrowed until journal_close. */
int journal_open(const char *dir, const struct journal_options *opt, struct journal **out);

/* journal_load: checks every file, then passes each record, snapshot first, to fn; then the
 * journal can be appended to. A fresh dir gets its first log. An unfinished commit at the
 * end of the newest log (a crash mid-write) is dropped with a warning. Corruption is
 * EBADMSG with its file and offset in the stats and nothing changed, unless opt.repair:
 * then everything from the commit holding the bad record on is cut, and the loss is logged
 * and counted in repaired_bytes (compact soon after: the cut files stay as they are). Also
 * EBADMSG for a chain of files with one missing; other errno values for I/O errors; fn's
 * own error, with nothing changed on disk. Call once, after journal_open. */
int journal_load(struct journal *j, journal_load_fn fn, void *arg);

/* journal_append: copies a record of len bytes (up to JOURNAL_MAX_RECORD) into the batch.
 * 0, EFBIG or ENOMEM. */
int journal_append(struct journal *j, const void *data, size_t len);

/* journal_force_sync: the next commit syncs whatever the policy (for counter marks). */
void journal_force_sync(struct journal *j);

/* journal_commit: writes the batch with one write call at the log's end and, under
 * "always" (or after journal_force_sync), one fdatasync; 0 then, and the batch is empty.
 * On failure (ENOSPC, EIO, ...) the log is truncated back to its end before the call,
 * the batch is kept for a retry with the next call, and the errno value is returned. */
int journal_commit(struct journal *j);

/* journal_tick: under "everysec", called once a second: fdatasyncs the log if anything was
 * committed since the last sync. 0, or the errno value of a failed sync (retried on the
 * next tick). A no-op under the other policies. */
int journal_tick(struct journal *j);

/* journal_wants_compaction: whether the logs are past ratio times the snapshot and at
 * least min_bytes, and no compaction is under way. */
bool journal_wants_compaction(const struct journal *j, double ratio, uint64_t min_bytes);

/* journal_snapshot_begin: starts a compaction (steps B1 to B4): commits and syncs, starts
 * the next log generation, which takes every later commit, and creates the snapshot's
 * temporary file. The snapshot must then hold the state as of this call (written in this
 * process, or in a child forked right after). 0 and *out, or an errno value (the journal
 * stays usable; commits after a failure in B4 go to the new log). */
int journal_snapshot_begin(struct journal *j, struct journal_snapshot **out);

/* journal_snapshot_append: writes a record of the snapshot (buffered). 0, EFBIG, ENOMEM or
 * a write error. Touches nothing but the snapshot, so a forked child may call it. */
int journal_snapshot_append(struct journal_snapshot *s, const void *data, size_t len);

/* journal_snapshot_fd: the descriptor s writes to (a forked writer keeps it and closes the
 * rest). */
int journal_snapshot_fd(const struct journal_snapshot *s);

/* journal_snapshot_seal: writes what is buffered, fdatasyncs and closes the temporary
 * file. 0 or an errno value. Child-safe, like journal_snapshot_append. */
int journal_snapshot_seal(struct journal_snapshot *s);

/* journal_snapshot_install: once journal_snapshot_seal succeeded (here, or in a child that
 * reported success), renames the snapshot into place, syncs the dir and removes the older
 * files (steps I1 to I3). Frees s in every case. 0, or an errno value: a failed rename
 * leaves the state as before (the temporary file removed); a failed dir sync keeps the
 * older files, as the rename may not survive a crash (either way the dir loads). */
int journal_snapshot_install(struct journal *j, struct journal_snapshot *s);

/* journal_snapshot_abort: gives up on s (removes its temporary file) and frees it. The
 * logs keep the whole state. */
void journal_snapshot_abort(struct journal *j, struct journal_snapshot *s);

/* journal_stats: the figures for "info". */
void journal_stats(const struct journal *j, struct journal_stats *st);

/* journal_close: syncs what was committed and not synced, releases the lock and frees j;
 * records appended and not committed are dropped (with a warning). A compaction under way
 * is installed or aborted first. 0, or the errno value of a failed sync. */
int journal_close(struct journal *j);

/* journal_fsync_name: "always", "everysec" or "no". */
const char *journal_fsync_name(enum journal_fsync policy);

/* journal_fsync_parse: the policy called text into *policy; 0, or -1 if there is none. */
int journal_fsync_parse(const char *text, enum journal_fsync *policy);

#endif
