/* journal.h: brokerd's data dir: an append-only log of checksummed records and a snapshot,
 * with group commit, replay and repair. Records are opaque bytes: what they
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

/* Test hooks: each member left NULL is the real call. */
struct journal_hooks {
	ssize_t (*pwrite)(int fd, const void *buf, size_t len, off_t offset);
	/* sync: fdatasync of a file, or fsync of the data dir when dir is true. */
	int (*sync)(int fd, bool dir);
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
	uint64_t generation;      /* of the log appended to */
	uint64_t log_bytes;       /* of every log since the snapshot */
	uint64_t snapshot_bytes;  /* 0 when there is none */
	uint64_t unsynced_bytes;  /* committed since the last fdatasync */
	uint64_t pending_records; /* appended, not committed */
	double last_fsync;        /* Unix time; 0: never */
	double load_seconds;
	uint64_t loaded_records, loaded_bytes;
	uint64_t torn_bytes;     /* an unfinished commit dropped from the log's end */
	uint64_t repaired_bytes; /* cut by repair */
	char bad_file[40];       /* the file load found corrupt, "" if none */
	uint64_t bad_offset;     /* and the offset of its bad record */
	int error;               /* of the last commit when it failed, else 0 */
};

struct journal;

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

/* journal_stats: the figures for "info". */
void journal_stats(const struct journal *j, struct journal_stats *st);

/* journal_close: syncs what was committed and not synced, releases the lock and frees j;
 * records appended and not committed are dropped (with a warning). 0, or the errno value
 * of a failed sync. */
int journal_close(struct journal *j);

/* journal_fsync_name: "always", "everysec" or "no". */
const char *journal_fsync_name(enum journal_fsync policy);

/* journal_fsync_parse: the policy called text into *policy; 0, or -1 if there is none. */
int journal_fsync_parse(const char *text, enum journal_fsync *policy);

#endif
