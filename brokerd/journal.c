/* journal.c: the data dir's files: records with CRC32C, group commit, the snapshot sequence
 * and replay with torn-tail handling and repair. One loop owns a journal; only the
 * snapshot writer may run in a forked child. Layout and reasons: docs/durability.md. */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "crc32c.h"
#include "journal.h"
#include "log.h"

/* Record layout: u32 length, u8 type, u8 flags, u16 zero, u32 CRC32C of the payload, u32
 * CRC32C of the first 12 bytes; then the payload. Little-endian. */
#define REC_HDR 16
#define REC_FILE 1 /* a file's first record */
#define REC_DATA 2
#define FLAG_COMMIT 1 /* the last record of a commit */

/* The file header record's payload: magic, format version, kind, generation. */
#define MAGIC "BRKDJRNL"
#define FORMAT 1
#define FILE_PAYLOAD 24
#define FILE_HDR (REC_HDR + FILE_PAYLOAD)
#define KIND_LOG 1
#define KIND_SNAPSHOT 2

#define SNAPSHOT_FLUSH (1u << 20) /* the snapshot writer's buffer */
#define NAME_MAX_LEN 40

struct buf {
	uint8_t *data;
	size_t len, cap;
};

struct journal {
	char *dir;
	int dirfd, lockfd, logfd; /* logfd: -1 until loaded */
	struct journal_options opt;
	struct journal_hooks hooks; /* every member set */
	uint64_t snap_gen;          /* the snapshot in place; 0: none */
	uint64_t log_gen;           /* the log appended to */
	uint64_t good_end;          /* of that log: the end of its last commit */
	uint64_t older_bytes;       /* of the logs before it in the chain */
	bool tail_dirty;            /* bytes past good_end a failed truncate left */
	struct buf batch;
	size_t last_rec; /* offset of the batch's last record */
	uint64_t pending;
	bool force_sync, compacting;
	uint64_t unsynced;
	struct journal_stats st; /* the figures kept as they happen */
};

struct journal_snapshot {
	const struct journal_hooks *hooks;
	int fd;
	uint64_t gen, written;
	struct buf buf;
	double began;
};

/* One file of the chain, mapped for load. */
struct jfile {
	char name[NAME_MAX_LEN];
	int kind;
	uint64_t gen;
	const uint8_t *map;
	size_t size;
	size_t valid_end; /* the end of its last whole commit */
	size_t bad;       /* the first bad record, SIZE_MAX when none */
	const char *why;
};

/* What a directory listing found. */
struct listing {
	uint64_t *logs;
	size_t nlogs;
	uint64_t snap; /* the highest snapshot; 0: none */
	int err;       /* ENOMEM when logs could not grow */
};

/* ---- little-endian integers and records ---- */

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* rec_seal_header: the header's own CRC, over its first 12 bytes. */
static void rec_seal_header(uint8_t *p)
{
	put32(p + 12, crc32c(p, 12));
}

/* rec_encode: a record of type with payload data[len] at p (room for REC_HDR + len). */
static void rec_encode(uint8_t *p, int type, int flags, const void *data, size_t len)
{
	put32(p, (uint32_t)len);
	p[4] = (uint8_t)type;
	p[5] = (uint8_t)flags;
	p[6] = p[7] = 0;
	put32(p + 8, crc32c(data, len));
	rec_seal_header(p);
	if (len)
		memcpy(p + REC_HDR, data, len);
}

enum rec_status { REC_OK, REC_SHORT, REC_BAD };

struct rec {
	uint32_t len;
	int type, flags;
	const uint8_t *payload;
};

/* rec_at: the record whose header is at p, unchecked. */
static struct rec rec_at(const uint8_t *p)
{
	return (struct rec){.len = get32(p), .type = p[4], .flags = p[5], .payload = p + REC_HDR};
}

/* rec_parse: the record at p, of which avail bytes exist. REC_SHORT when they do not hold
 * it all (a header is trusted only once its CRC matched); REC_BAD with *why otherwise. */
static enum rec_status rec_parse(const uint8_t *p, size_t avail, struct rec *r, const char **why)
{
	*why = "a partial record header";
	if (avail < REC_HDR)
		return REC_SHORT;
	*why = "a record header fails its CRC";
	if (get32(p + 12) != crc32c(p, 12) || p[6] || p[7] || (p[5] & ~FLAG_COMMIT) ||
	    get32(p) > JOURNAL_MAX_RECORD)
		return REC_BAD;
	*r = rec_at(p);
	*why = "a record runs past the end of the file";
	if (avail - REC_HDR < r->len)
		return REC_SHORT;
	*why = "a record's payload fails its CRC";
	return get32(p + 8) == crc32c(r->payload, r->len) ? REC_OK : REC_BAD;
}

/* file_payload: the header record's payload for a file of kind and generation. */
static void file_payload(uint8_t *p, int kind, uint64_t gen)
{
	memcpy(p, MAGIC, 8);
	put32(p + 8, FORMAT);
	put32(p + 12, (uint32_t)kind);
	put64(p + 16, gen);
}

/* ---- buffers ---- */

/* buf_reserve: room for n more bytes. 0 or ENOMEM. */
static int buf_reserve(struct buf *b, size_t n)
{
	if (b->cap - b->len >= n)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap - b->len < n)
		cap *= 2;
	uint8_t *d = realloc(b->data, cap);
	if (!d)
		return ENOMEM;
	b->data = d;
	b->cap = cap;
	return 0;
}

/* buf_add_record: appends a data record; 0, EFBIG or ENOMEM. */
static int buf_add_record(struct buf *b, int flags, const void *data, size_t len)
{
	if (len > JOURNAL_MAX_RECORD)
		return EFBIG;
	int err = buf_reserve(b, REC_HDR + len);
	if (err)
		return err;
	rec_encode(b->data + b->len, REC_DATA, flags, data, len);
	b->len += REC_HDR + len;
	return 0;
}

static void buf_free(struct buf *b)
{
	free(b->data);
	memset(b, 0, sizeof *b);
}

/* ---- system calls, through the hooks ---- */

static ssize_t real_pwrite(int fd, const void *buf, size_t len, off_t offset)
{
	return pwrite(fd, buf, len, offset);
}

static int real_sync(int fd, bool dir)
{
	return dir ? fsync(fd) : fdatasync(fd);
}

/* write_all: len bytes at offset, through as many write calls as a short write needs
 * (normally one). 0 or the errno value. */
static int write_all(const struct journal_hooks *h, int fd, const void *buf, size_t len,
		     uint64_t offset)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = h->pwrite(fd, p, len, (off_t)offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EIO;
		p += n, len -= (size_t)n, offset += (uint64_t)n;
	}
	return 0;
}

/* sync_fd: syncs fd (the dir when dir). 0 or the errno value. */
static int sync_fd(const struct journal_hooks *h, int fd, bool dir)
{
	return h->sync(fd, dir) == 0 ? 0 : errno ? errno : EIO;
}

/* step: tells the test hook that a step of the compaction is done. */
static void step(const struct journal_hooks *h, enum journal_step s)
{
	if (h->step)
		h->step(s);
}

/* ---- names and the directory ---- */

static void file_name(char *out, int kind, uint64_t gen, bool tmp)
{
	snprintf(out, NAME_MAX_LEN, "%s.%08" PRIu64 "%s", kind == KIND_LOG ? "log" : "snapshot",
		 gen, tmp ? ".tmp" : "");
}

/* parse_name: whether name is one of the journal's files, and which. */
static bool parse_name(const char *name, int *kind, uint64_t *gen, bool *tmp)
{
	const char *p;
	if (!strncmp(name, "log.", 4))
		*kind = KIND_LOG, p = name + 4;
	else if (!strncmp(name, "snapshot.", 9))
		*kind = KIND_SNAPSHOT, p = name + 9;
	else
		return false;
	if (*p < '0' || *p > '9')
		return false;
	char *end;
	errno = 0;
	*gen = strtoull(p, &end, 10);
	*tmp = !strcmp(end, ".tmp");
	return !errno && *gen > 0 && (*tmp || !*end);
}

/* sync_dir: makes renames, creations and removals in the dir durable. */
static int sync_dir(struct journal *j)
{
	int err = sync_fd(&j->hooks, j->dirfd, true);
	if (err)
		log_error("data dir %s: cannot sync: %s", j->dir, strerror(err));
	return err;
}

typedef void (*dir_fn)(struct journal *j, const char *name, int kind, uint64_t gen, bool tmp,
		       void *arg);

/* walk_dir: calls fn for each journal file in the dir. 0 or an errno value. */
static int walk_dir(struct journal *j, dir_fn fn, void *arg)
{
	int fd = dup(j->dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		return err;
	}
	rewinddir(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		int kind;
		uint64_t gen;
		bool tmp;
		if (parse_name(e->d_name, &kind, &gen, &tmp))
			fn(j, e->d_name, kind, gen, tmp, arg);
	}
	closedir(d);
	return 0;
}

/* list_one: collects the logs and the highest snapshot into a listing. */
static void list_one(struct journal *j, const char *name, int kind, uint64_t gen, bool tmp,
		     void *arg)
{
	struct listing *l = arg;
	(void)j, (void)name;
	if (tmp)
		return;
	if (kind == KIND_SNAPSHOT) {
		l->snap = gen > l->snap ? gen : l->snap;
		return;
	}
	uint64_t *logs = realloc(l->logs, (l->nlogs + 1) * sizeof *logs);
	if (!logs) {
		l->err = ENOMEM;
		return;
	}
	l->logs = logs;
	l->logs[l->nlogs++] = gen;
}

static int cmp_gen(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* remove_old: removes temporary files, and files older than the generation *arg. */
static void remove_old(struct journal *j, const char *name, int kind, uint64_t gen, bool tmp,
		       void *arg)
{
	(void)kind;
	if (!tmp && gen >= *(const uint64_t *)arg)
		return;
	if (unlinkat(j->dirfd, name, 0) != 0)
		log_warn("data dir %s: cannot remove %s: %s", j->dir, name, strerror(errno));
}

/* remove_older: removes every file older than gen (and any temporary one), then syncs the
 * dir. Leftovers are harmless: the next start removes them. */
static void remove_older(struct journal *j, uint64_t gen)
{
	walk_dir(j, remove_old, &gen);
	sync_dir(j);
}

/* ---- open, lock ---- */

/* report_locked: logs why flock failed with err, naming the holder's pid (in the file). */
static void report_locked(struct journal *j, int err)
{
	char pid[32] = "";
	ssize_t n = pread(j->lockfd, pid, sizeof pid - 1, 0);
	pid[n > 0 ? n : 0] = '\0';
	pid[strcspn(pid, "\n")] = '\0';
	if (err == EWOULDBLOCK)
		log_error("data dir %s is in use by another brokerd (pid %s)", j->dir,
			  *pid ? pid : "unknown");
	else
		log_error("data dir %s: cannot lock it: %s", j->dir, strerror(err));
}

/* lock_dir: takes the dir's lock file, so no other brokerd uses the dir, and writes our
 * pid into it. Creating it is also the first sign that the dir cannot be written. 0 or
 * the errno value, logged. */
static int lock_dir(struct journal *j)
{
	char pid[32];
	int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid()), err = 0;
	j->lockfd = openat(j->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (j->lockfd < 0) {
		err = errno;
		log_error("data dir %s: cannot write there: %s", j->dir, strerror(err));
	} else if (flock(j->lockfd, LOCK_EX | LOCK_NB) != 0) {
		err = errno;
		report_locked(j, err);
	} else if (ftruncate(j->lockfd, 0) != 0 ||
		   (errno = write_all(&j->hooks, j->lockfd, pid, (size_t)n, 0)) != 0) {
		err = errno;
		log_error("data dir %s: cannot write its lock file: %s", j->dir, strerror(err));
	}
	return err;
}

/* set_hooks: the caller's hooks, the real calls for those not given. */
static void set_hooks(struct journal *j)
{
	const struct journal_hooks *h = j->opt.hooks;
	j->hooks.pwrite = h && h->pwrite ? h->pwrite : real_pwrite;
	j->hooks.sync = h && h->sync ? h->sync : real_sync;
	j->hooks.step = h ? h->step : NULL;
}

int journal_open(const char *dir, const struct journal_options *opt, struct journal **out)
{
	*out = NULL;
	struct journal *j = calloc(1, sizeof *j);
	if (!j || !(j->dir = strdup(dir))) {
		free(j);
		return ENOMEM;
	}
	j->opt = *opt;
	j->lockfd = j->logfd = -1;
	j->st.fsync = opt->fsync;
	set_hooks(j);
	j->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err = j->dirfd < 0 ? errno : lock_dir(j);
	if (j->dirfd < 0)
		log_error("data dir %s: %s", dir, strerror(err));
	if (err) {
		journal_close(j);
		return err;
	}
	*out = j;
	return 0;
}

/* ---- writing files ---- */

/* write_file_header: the first record of a new file. */
static int write_file_header(const struct journal_hooks *h, int fd, int kind, uint64_t gen)
{
	uint8_t p[FILE_HDR], payload[FILE_PAYLOAD];
	file_payload(payload, kind, gen);
	rec_encode(p, REC_FILE, FLAG_COMMIT, payload, FILE_PAYLOAD);
	return write_all(h, fd, p, sizeof p, 0);
}

/* create_file: creates name (truncating a leftover) holding only its header record. The
 * new descriptor, or -1 with the errno value in *err. */
static int create_file(struct journal *j, const char *name, int kind, uint64_t gen, int *err)
{
	int fd = openat(j->dirfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	*err = fd < 0 ? errno : write_file_header(&j->hooks, fd, kind, gen);
	if (*err && fd >= 0) {
		close(fd);
		unlinkat(j->dirfd, name, 0);
		fd = -1;
	}
	if (*err)
		log_error("data dir %s: cannot create %s: %s", j->dir, name, strerror(*err));
	return fd;
}

/* create_log: makes log.gen whole or not at all: its header goes to a temporary file that
 * is synced and renamed, and the rename is made durable. The log's descriptor (positioned
 * nowhere: writes are pwrite), or -1 with the errno value in *err. */
static int create_log(struct journal *j, uint64_t gen, int *err)
{
	char tmp[NAME_MAX_LEN], name[NAME_MAX_LEN];
	file_name(tmp, KIND_LOG, gen, true);
	file_name(name, KIND_LOG, gen, false);
	int fd = create_file(j, tmp, KIND_LOG, gen, err);
	if (fd < 0)
		return -1;
	if (!(*err = sync_fd(&j->hooks, fd, false)) && j->compacting)
		step(&j->hooks, JOURNAL_STEP_NEW_LOG_TMP);
	if (!*err && renameat(j->dirfd, tmp, j->dirfd, name) != 0)
		*err = errno;
	if (!*err)
		*err = sync_dir(j);
	if (*err) {
		log_error("data dir %s: cannot create %s: %s", j->dir, name, strerror(*err));
		close(fd);
		unlinkat(j->dirfd, tmp, 0);
		return -1;
	}
	return fd;
}

/* cut_file: makes name length bytes long; shorter than its header, it is rewritten as a
 * file with nothing but its header. Then syncs it. 0 or the errno value, logged. */
static int cut_file(struct journal *j, const struct jfile *f, uint64_t length)
{
	int fd = openat(j->dirfd, f->name, O_RDWR | O_CLOEXEC);
	int err = fd < 0 ? errno : 0;
	if (!err && length < FILE_HDR)
		err = ftruncate(fd, 0) ? errno : write_file_header(&j->hooks, fd, f->kind, f->gen);
	else if (!err)
		err = ftruncate(fd, (off_t)length) ? errno : 0;
	if (!err)
		err = sync_fd(&j->hooks, fd, false);
	if (fd >= 0)
		close(fd);
	if (err)
		log_error("data dir %s: cannot cut %s: %s", j->dir, f->name, strerror(err));
	return err;
}

/* ---- load: checking files ---- */

/* check_file_header: whether f starts with the header its name promises. */
static bool check_file_header(const struct jfile *f)
{
	struct rec r;
	const char *why;
	uint8_t want[FILE_PAYLOAD];
	file_payload(want, f->kind, f->gen);
	return rec_parse(f->map, f->size, &r, &why) == REC_OK && r.type == REC_FILE &&
	       r.len == FILE_PAYLOAD && !memcmp(r.payload, want, FILE_PAYLOAD);
}

/* scan_file: walks f's records to its first bad one, and finds the end of its last whole
 * commit. */
static void scan_file(struct jfile *f)
{
	f->bad = SIZE_MAX;
	f->valid_end = 0;
	if (!check_file_header(f)) {
		f->bad = 0;
		f->why = "its header record is missing or names another file";
		return;
	}
	size_t pos = FILE_HDR;
	f->valid_end = pos;
	while (pos < f->size) {
		struct rec r;
		bool ok = rec_parse(f->map + pos, f->size - pos, &r, &f->why) == REC_OK;
		if (!ok || r.type != REC_DATA) {
			f->why = ok ? "a record of an unknown type" : f->why;
			f->bad = pos;
			return;
		}
		pos += REC_HDR + r.len;
		if (r.flags & FLAG_COMMIT)
			f->valid_end = pos;
	}
	f->why = "the last commit is unfinished";
}

/* record_after: whether a valid data record starts anywhere in f after offset from. A
 * crash mid-write leaves none; damage in the middle of a file does. */
static bool record_after(const struct jfile *f, size_t from)
{
	for (size_t p = from; p + REC_HDR <= f->size; p++) {
		struct rec r;
		const char *why;
		if (rec_parse(f->map + p, f->size - p, &r, &why) == REC_OK && r.type == REC_DATA)
			return true;
	}
	return false;
}

/* is_damaged: whether f has anything past its last whole commit. */
static bool is_damaged(const struct jfile *f)
{
	return f->bad != SIZE_MAX || f->valid_end < f->size;
}

/* is_torn: whether f's damage is what a crash while writing its end leaves: only the
 * newest log may have it, and nothing valid follows the bad record. */
static bool is_torn(const struct jfile *f, bool newest)
{
	if (!newest || f->bad == 0)
		return false;
	return f->bad == SIZE_MAX || !record_after(f, f->bad + 1);
}

/* map_file: opens and maps f (already named). 0 or the errno value, logged. */
static int map_file(struct journal *j, struct jfile *f)
{
	int fd = openat(j->dirfd, f->name, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	int err = fd < 0 || fstat(fd, &sb) != 0 ? errno : 0;
	if (!err && sb.st_size > 0) {
		void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		err = m == MAP_FAILED ? errno : 0;
		f->map = err ? NULL : m;
	}
	f->size = err || !f->map ? 0 : (size_t)sb.st_size;
	if (fd >= 0)
		close(fd);
	if (err)
		log_error("data dir %s: cannot read %s: %s", j->dir, f->name, strerror(err));
	return err;
}

/* ---- load: the chain of files ---- */

struct chain {
	struct jfile *files; /* the snapshot (if any), then the logs, oldest first */
	size_t n;
	size_t cut;  /* the file repair cuts, n when none */
	size_t torn; /* the newest log when it is torn, n when not */
};

/* chain_add: appends a file of kind and gen to c (not yet mapped). */
static struct jfile *chain_add(struct chain *c, int kind, uint64_t gen)
{
	struct jfile *f = &c->files[c->n++];
	memset(f, 0, sizeof *f);
	f->kind = kind;
	f->gen = gen;
	file_name(f->name, kind, gen, false);
	return f;
}

/* chain_missing: logs that log.gen, which the chain needs, is missing; EBADMSG. */
static int chain_missing(struct journal *j, uint64_t gen)
{
	char name[NAME_MAX_LEN];
	file_name(name, KIND_LOG, gen, false);
	log_error("data dir %s: %s is missing, so the files there cannot be replayed in order "
		  "(move them away to start empty)",
		  j->dir, name);
	return EBADMSG;
}

/* chain_build: the files to replay from a listing: the highest snapshot and every log from
 * its generation on, which must follow each other without a gap (EBADMSG, logged). With
 * no snapshot, the logs from the oldest on. */
static int chain_build(struct journal *j, const struct listing *l, struct chain *c)
{
	size_t first = 0;
	while (first < l->nlogs && l->logs[first] < l->snap)
		first++;
	if (l->snap && (first == l->nlogs || l->logs[first] != l->snap))
		return chain_missing(j, l->snap);
	for (size_t i = first + 1; i < l->nlogs; i++)
		if (l->logs[i] != l->logs[i - 1] + 1)
			return chain_missing(j, l->logs[i - 1] + 1);
	c->files = calloc(l->nlogs - first + 1, sizeof *c->files);
	if (!c->files)
		return ENOMEM;
	if (l->snap)
		chain_add(c, KIND_SNAPSHOT, l->snap);
	for (size_t i = first; i < l->nlogs; i++)
		chain_add(c, KIND_LOG, l->logs[i]);
	return 0;
}

/* final_size: how long file i of c is once chain_fix is done. */
static uint64_t final_size(const struct chain *c, size_t i)
{
	const struct jfile *f = &c->files[i];
	if (i > c->cut)
		return FILE_HDR;
	if (i == c->cut || i == c->torn)
		return f->valid_end > FILE_HDR ? f->valid_end : FILE_HDR;
	return f->size;
}

/* report_corruption: logs where the chain is damaged and what repair would lose, and
 * keeps the place in the stats. */
static void report_corruption(struct journal *j, const struct jfile *f, uint64_t lost)
{
	size_t at = f->bad != SIZE_MAX ? f->bad : f->valid_end;
	size_t cut = f->valid_end > FILE_HDR ? f->valid_end : FILE_HDR;
	snprintf(j->st.bad_file, sizeof j->st.bad_file, "%s", f->name);
	j->st.bad_offset = at;
	if (j->opt.repair)
		log_warn("data dir %s: %s: bad record at offset %zu (%s); repair cuts at offset "
			 "%zu, losing %" PRIu64 " bytes",
			 j->dir, f->name, at, f->why, cut, lost);
	else
		log_error("data dir %s: %s: bad record at offset %zu (%s); start with --repair to "
			  "cut there and lose the %" PRIu64 " bytes after it",
			  j->dir, f->name, at, f->why, lost);
}

/* bytes_lost: what cutting the chain at c->cut loses: the rest of that file and every later
 * file's records. */
static uint64_t bytes_lost(const struct chain *c)
{
	uint64_t lost = 0;
	for (size_t k = c->cut; k < c->n; k++) {
		uint64_t keep = final_size(c, k);
		lost += c->files[k].size > keep ? c->files[k].size - keep : 0;
	}
	return lost;
}

/* chain_check: maps and scans every file; finds a torn tail, and the first corruption
 * (EBADMSG unless repairing). */
static int chain_check(struct journal *j, struct chain *c)
{
	c->cut = c->torn = c->n;
	for (size_t i = 0; i < c->n; i++) {
		int err = map_file(j, &c->files[i]);
		if (err)
			return err;
	}
	for (size_t i = 0; i < c->n; i++) {
		struct jfile *f = &c->files[i];
		scan_file(f);
		if (!is_damaged(f))
			continue;
		if (is_torn(f, i == c->n - 1 && f->kind == KIND_LOG)) {
			c->torn = i;
			continue;
		}
		c->cut = i;
		j->st.repaired_bytes = bytes_lost(c);
		report_corruption(j, f, j->st.repaired_bytes);
		return j->opt.repair ? 0 : EBADMSG;
	}
	return 0;
}

/* deliver_file: passes f's records before its valid end to fn. */
static int deliver_file(struct journal *j, const struct jfile *f, journal_load_fn fn, void *arg)
{
	struct journal_record jr = {.snapshot = f->kind == KIND_SNAPSHOT, .generation = f->gen};
	for (size_t pos = FILE_HDR; pos < f->valid_end;) {
		struct rec r = rec_at(f->map + pos); /* checked by scan_file */
		jr.data = r.payload;
		jr.len = r.len;
		jr.offset = pos;
		int err = fn(arg, &jr);
		if (err) {
			log_error("data dir %s: %s: the record at offset %zu was refused: %s",
				  j->dir, f->name, pos, strerror(err));
			return err;
		}
		j->st.loaded_records++;
		j->st.loaded_bytes += REC_HDR + r.len;
		pos += REC_HDR + r.len;
	}
	return 0;
}

/* chain_fix: after a good delivery, cuts the torn tail and what repair drops. */
static int chain_fix(struct journal *j, const struct chain *c)
{
	int err = 0;
	if (c->torn < c->n) {
		const struct jfile *f = &c->files[c->torn];
		j->st.torn_bytes = f->size - f->valid_end;
		log_warn("data dir %s: %s: dropped an unfinished commit at its end (offset %zu, "
			 "%" PRIu64 " bytes: %s)",
			 j->dir, f->name, f->valid_end, j->st.torn_bytes, f->why);
		err = cut_file(j, f, f->valid_end);
	}
	for (size_t i = c->cut; i < c->n && !err; i++)
		err = cut_file(j, &c->files[i], i == c->cut ? c->files[i].valid_end : 0);
	return err;
}

/* chain_free: unmaps and frees c's files. */
static void chain_free(struct chain *c)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->files[i].map)
			munmap((void *)c->files[i].map, c->files[i].size);
	free(c->files);
}

/* open_newest: opens the newest log of c for appending, or makes the first log of a fresh
 * dir; notes the generations and sizes. */
static int open_newest(struct journal *j, const struct chain *c)
{
	int err = 0;
	size_t logs = 0;
	if (c->n && c->files[0].kind == KIND_SNAPSHOT) {
		j->snap_gen = c->files[0].gen;
		j->st.snapshot_bytes = final_size(c, 0);
		logs = 1;
	}
	if (logs == c->n) { /* a fresh dir */
		j->log_gen = 1;
		j->good_end = FILE_HDR;
		j->logfd = create_log(j, 1, &err);
		return err;
	}
	for (size_t i = logs; i + 1 < c->n; i++)
		j->older_bytes += final_size(c, i);
	j->log_gen = c->files[c->n - 1].gen;
	j->good_end = final_size(c, c->n - 1);
	j->logfd = openat(j->dirfd, c->files[c->n - 1].name, O_RDWR | O_CLOEXEC);
	return j->logfd < 0 ? errno : 0;
}

/* load_chain: lists, checks, delivers and fixes the files. */
static int load_chain(struct journal *j, journal_load_fn fn, void *arg)
{
	struct listing l = {0};
	struct chain c = {0};
	int err = walk_dir(j, list_one, &l);
	err = err ? err : l.err;
	if (!err && l.nlogs)
		qsort(l.logs, l.nlogs, sizeof *l.logs, cmp_gen);
	if (!err)
		err = chain_build(j, &l, &c);
	if (!err)
		err = chain_check(j, &c);
	for (size_t i = 0; i < c.n && i <= c.cut && !err; i++)
		err = deliver_file(j, &c.files[i], fn, arg);
	if (!err)
		err = chain_fix(j, &c);
	if (!err)
		err = open_newest(j, &c);
	if (!err)
		remove_older(j, j->snap_gen ? j->snap_gen : 1);
	chain_free(&c);
	free(l.logs);
	return err;
}

int journal_load(struct journal *j, journal_load_fn fn, void *arg)
{
	assert(j->logfd < 0);
	double start = clock_now();
	int err = load_chain(j, fn, arg);
	j->st.load_seconds = clock_now() - start;
	if (!err)
		log_debug("data dir %s: loaded %" PRIu64 " records (%" PRIu64 " bytes) in %.3f s",
			  j->dir, j->st.loaded_records, j->st.loaded_bytes, j->st.load_seconds);
	return err;
}

/* ---- appending ---- */

int journal_append(struct journal *j, const void *data, size_t len)
{
	assert(j->logfd >= 0);
	size_t at = j->batch.len;
	int err = buf_add_record(&j->batch, 0, data, len);
	if (!err) {
		j->last_rec = at;
		j->pending++;
	}
	return err;
}

void journal_force_sync(struct journal *j)
{
	j->force_sync = true;
}

/* sync_log: fdatasyncs the log, noting when. */
static int sync_log(struct journal *j)
{
	int err = sync_fd(&j->hooks, j->logfd, false);
	if (!err) {
		j->unsynced = 0;
		j->st.last_fsync = clock_wall();
	}
	return err;
}

/* drop_tail: truncates the log back to its last commit's end; if that fails, the next
 * commit tries again before writing. 0 or the errno value. */
static int drop_tail(struct journal *j)
{
	int err = ftruncate(j->logfd, (off_t)j->good_end) != 0 ? errno : 0;
	j->tail_dirty = err != 0;
	if (err)
		log_error("data dir %s: cannot truncate log.%08" PRIu64 " after a failed write: %s",
			  j->dir, j->log_gen, strerror(err));
	return err;
}

/* commit_failed: notes that a commit failed with err; its batch stays for a retry. */
static int commit_failed(struct journal *j, int err)
{
	if (j->st.error != err)
		log_error("data dir %s: cannot write log.%08" PRIu64 ": %s; %" PRIu64
			  " records kept for a retry",
			  j->dir, j->log_gen, strerror(err), j->pending);
	j->st.error = err;
	return err;
}

/* batch_done: the batch is in the log, which now ends after it. */
static void batch_done(struct journal *j, bool synced)
{
	j->good_end += j->batch.len;
	j->unsynced = synced ? 0 : j->unsynced + j->batch.len;
	j->batch.len = 0;
	j->pending = 0;
	j->force_sync = false;
	if (j->st.error)
		log_info("data dir %s: writing again", j->dir);
	j->st.error = 0;
}

int journal_commit(struct journal *j)
{
	if (!j->batch.len)
		return 0;
	int err = j->tail_dirty ? drop_tail(j) : 0;
	if (err)
		return commit_failed(j, err);
	uint8_t *last = j->batch.data + j->last_rec;
	last[5] |= FLAG_COMMIT;
	rec_seal_header(last);
	bool sync = j->opt.fsync == JOURNAL_FSYNC_ALWAYS || j->force_sync;
	err = write_all(&j->hooks, j->logfd, j->batch.data, j->batch.len, j->good_end);
	if (!err && sync)
		err = sync_log(j);
	if (err) {
		drop_tail(j);
		return commit_failed(j, err);
	}
	batch_done(j, sync);
	return 0;
}

int journal_tick(struct journal *j)
{
	if (j->opt.fsync != JOURNAL_FSYNC_EVERYSEC || !j->unsynced)
		return 0;
	int err = sync_log(j);
	if (err)
		log_error("data dir %s: cannot sync log.%08" PRIu64 ": %s", j->dir, j->log_gen,
			  strerror(err));
	return err;
}

bool journal_wants_compaction(const struct journal *j, double ratio, uint64_t min_bytes)
{
	uint64_t log = j->older_bytes + j->good_end;
	return !j->compacting && log >= min_bytes && (double)log > ratio * j->st.snapshot_bytes;
}

/* ---- compaction ---- */

/* switch_log: B1 to B3: every commit so far synced, then later ones go to a new log. */
static int switch_log(struct journal *j)
{
	int err = journal_commit(j);
	if (!err)
		err = sync_log(j);
	if (err)
		return err;
	step(&j->hooks, JOURNAL_STEP_LOG_SYNCED);
	int fd = create_log(j, j->log_gen + 1, &err);
	if (fd < 0)
		return err;
	step(&j->hooks, JOURNAL_STEP_NEW_LOG);
	close(j->logfd);
	j->logfd = fd;
	j->log_gen++;
	j->older_bytes += j->good_end;
	j->good_end = FILE_HDR;
	step(&j->hooks, JOURNAL_STEP_SWITCHED);
	return 0;
}

int journal_snapshot_begin(struct journal *j, struct journal_snapshot **out)
{
	assert(!j->compacting && j->logfd >= 0);
	*out = NULL;
	double began = clock_now();
	j->compacting = true;
	int err = switch_log(j);
	struct journal_snapshot *s = err ? NULL : calloc(1, sizeof *s);
	if (!err && !s)
		err = ENOMEM;
	if (err) {
		j->compacting = false;
		return err;
	}
	char tmp[NAME_MAX_LEN];
	file_name(tmp, KIND_SNAPSHOT, j->log_gen, true);
	*s = (struct journal_snapshot){.hooks = &j->hooks, .gen = j->log_gen, .began = began};
	s->fd = create_file(j, tmp, KIND_SNAPSHOT, s->gen, &err);
	if (s->fd < 0) {
		free(s);
		j->compacting = false;
		return err;
	}
	s->written = FILE_HDR;
	step(&j->hooks, JOURNAL_STEP_SNAPSHOT_TMP);
	*out = s;
	return 0;
}

/* snapshot_flush: writes the snapshot's buffer at its end. */
static int snapshot_flush(struct journal_snapshot *s)
{
	int err = write_all(s->hooks, s->fd, s->buf.data, s->buf.len, s->written);
	if (!err) {
		s->written += s->buf.len;
		s->buf.len = 0;
	}
	return err;
}

int journal_snapshot_append(struct journal_snapshot *s, const void *data, size_t len)
{
	int err = buf_add_record(&s->buf, FLAG_COMMIT, data, len);
	if (!err && s->buf.len >= SNAPSHOT_FLUSH)
		err = snapshot_flush(s);
	return err;
}

int journal_snapshot_fd(const struct journal_snapshot *s)
{
	return s->fd;
}

int journal_snapshot_seal(struct journal_snapshot *s)
{
	int err = snapshot_flush(s);
	if (!err)
		err = sync_fd(s->hooks, s->fd, false);
	if (!err && close(s->fd) != 0)
		err = errno;
	if (!err) {
		s->fd = -1;
		step(s->hooks, JOURNAL_STEP_SNAPSHOT_SYNCED);
	}
	return err;
}

/* snapshot_free: closes and frees s; the compaction is over. */
static void snapshot_free(struct journal *j, struct journal_snapshot *s)
{
	if (s->fd >= 0)
		close(s->fd);
	buf_free(&s->buf);
	free(s);
	j->compacting = false;
}

/* snapshot_in_place: the stats after snapshot s replaced the older files. */
static void snapshot_in_place(struct journal *j, const struct journal_snapshot *s)
{
	struct stat sb;
	char name[NAME_MAX_LEN];
	file_name(name, KIND_SNAPSHOT, s->gen, false);
	j->snap_gen = s->gen;
	j->st.snapshot_bytes = fstatat(j->dirfd, name, &sb, 0) == 0 ? (uint64_t)sb.st_size : 0;
	j->older_bytes = 0;
	j->st.last_compaction = clock_wall();
	j->st.compaction_seconds = clock_now() - s->began;
}

int journal_snapshot_install(struct journal *j, struct journal_snapshot *s)
{
	char tmp[NAME_MAX_LEN], name[NAME_MAX_LEN];
	file_name(tmp, KIND_SNAPSHOT, s->gen, true);
	file_name(name, KIND_SNAPSHOT, s->gen, false);
	if (renameat(j->dirfd, tmp, j->dirfd, name) != 0) {
		int err = errno;
		log_error("data dir %s: cannot rename %s: %s", j->dir, tmp, strerror(err));
		journal_snapshot_abort(j, s);
		return err;
	}
	step(&j->hooks, JOURNAL_STEP_RENAMED);
	int err = sync_dir(j);
	if (!err) {
		step(&j->hooks, JOURNAL_STEP_DIR_SYNCED);
		remove_older(j, s->gen);
		step(&j->hooks, JOURNAL_STEP_OLD_REMOVED);
		snapshot_in_place(j, s);
	}
	snapshot_free(j, s);
	return err;
}

void journal_snapshot_abort(struct journal *j, struct journal_snapshot *s)
{
	char tmp[NAME_MAX_LEN];
	file_name(tmp, KIND_SNAPSHOT, s->gen, true);
	unlinkat(j->dirfd, tmp, 0);
	snapshot_free(j, s);
}

/* ---- the rest ---- */

void journal_stats(const struct journal *j, struct journal_stats *st)
{
	*st = j->st;
	st->generation = j->log_gen;
	st->log_bytes = j->older_bytes + j->good_end;
	st->unsynced_bytes = j->unsynced;
	st->pending_records = j->pending;
	st->compacting = j->compacting;
}

int journal_close(struct journal *j)
{
	int err = 0;
	if (j->pending)
		log_warn("data dir %s: %" PRIu64 " records were never committed", j->dir,
			 j->pending);
	if (j->logfd >= 0 && j->unsynced)
		err = sync_log(j);
	if (j->logfd >= 0)
		close(j->logfd);
	if (j->lockfd >= 0)
		close(j->lockfd);
	if (j->dirfd >= 0)
		close(j->dirfd);
	buf_free(&j->batch);
	free(j->dir);
	free(j);
	return err;
}

static const char *const policies[] = {"always", "everysec", "no"};

const char *journal_fsync_name(enum journal_fsync policy)
{
	return policies[policy];
}

int journal_fsync_parse(const char *text, enum journal_fsync *policy)
{
	for (int i = JOURNAL_FSYNC_ALWAYS; i <= JOURNAL_FSYNC_NO; i++) {
		if (!strcmp(text, policies[i])) {
			*policy = (enum journal_fsync)i;
			return 0;
		}
	}
	return -1;
}
