/* test_journal.c: the data dir's files (journal.c): round trips, group commit, torn tails,
 * corruption and repair, injected write and sync failures, compaction with a crash after
 * each step, the lock, and a read-only dir. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crc32c.h"
#include "journal.h"
#include "log.h"
#include "run_suite.h"

#define REC_HDR 16  /* journal.c's record header */
#define FILE_HDR 40 /* and a file's header record */

static char dir[64];

/* ---- records seen by a load ---- */

struct seen {
	size_t n, cap;
	struct {
		unsigned char *data;
		size_t len;
		bool snapshot;
	} * r;
	size_t fail_at; /* the callback refuses this record (1-based); 0: none */
};

static struct seen seen;

static int collect(void *arg, const struct journal_record *r)
{
	struct seen *s = arg;
	if (s->fail_at && s->n + 1 == s->fail_at)
		return EINVAL;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->r = realloc(s->r, s->cap * sizeof *s->r);
	}
	s->r[s->n].data = malloc(r->len ? r->len : 1);
	memcpy(s->r[s->n].data, r->data, r->len);
	s->r[s->n].len = r->len;
	s->r[s->n].snapshot = r->snapshot;
	s->n++;
	return 0;
}

static void seen_reset(void)
{
	for (size_t i = 0; i < seen.n; i++)
		free(seen.r[i].data);
	free(seen.r);
	memset(&seen, 0, sizeof seen);
}

/* payload: record number i's bytes (0 to 1999 of them, from i alone) into out. */
static size_t payload(unsigned i, unsigned char *out)
{
	size_t len = (i * 2654435761u >> 8) % 2000;
	for (size_t k = 0; k < len; k++)
		out[k] = (unsigned char)(i * 31 + k * 7);
	return len;
}

/* expect_records: the last load saw exactly records first..first+n-1, from position at. */
static void expect_records(size_t at, unsigned first, unsigned n)
{
	unsigned char want[2000];
	ck_assert_uint_ge(seen.n, at + n);
	for (unsigned i = 0; i < n; i++) {
		size_t len = payload(first + i, want);
		ck_assert_uint_eq(seen.r[at + i].len, len);
		ck_assert_mem_eq(seen.r[at + i].data, want, len);
	}
}

/* ---- the data dir ---- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static void setup(void)
{
	log_set_level(LL_ERROR);
	snprintf(dir, sizeof dir, "/tmp/test_journal.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	seen_reset();
}

static char *path_of(const char *name)
{
	static char p[128];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	return p;
}

static off_t size_of(const char *name)
{
	struct stat sb;
	return stat(path_of(name), &sb) == 0 ? sb.st_size : -1;
}

static bool exists(const char *name)
{
	return size_of(name) >= 0;
}

/* read_file / write_file: a whole file of the dir, for damaging it. */
static unsigned char *read_file(const char *name, size_t *len)
{
	FILE *f = fopen(path_of(name), "rb");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	unsigned char *d = malloc(*len + 1);
	ck_assert_uint_eq(fread(d, 1, *len, f), *len);
	fclose(f);
	return d;
}

static void write_file(const char *name, const unsigned char *d, size_t len)
{
	FILE *f = fopen(path_of(name), "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(d, 1, len, f), len);
	fclose(f);
}

/* open_loaded: opens and loads the dir (the records into seen), asserting both work. */
static struct journal *open_loaded(enum journal_fsync policy, const struct journal_hooks *h)
{
	struct journal_options o = {.fsync = policy, .hooks = h};
	struct journal *j;
	ck_assert_int_eq(journal_open(dir, &o, &j), 0);
	seen_reset();
	ck_assert_int_eq(journal_load(j, collect, &seen), 0);
	return j;
}

/* load_status: opens the dir, loads it (repairing if asked) and closes it; the load's
 * result, its stats in *st. */
static int load_status(bool repair, struct journal_stats *st)
{
	struct journal_options o = {.fsync = JOURNAL_FSYNC_ALWAYS, .repair = repair};
	struct journal *j;
	ck_assert_int_eq(journal_open(dir, &o, &j), 0);
	seen_reset();
	int rc = journal_load(j, collect, &seen);
	journal_stats(j, st);
	journal_close(j);
	return rc;
}

/* add: appends records first..first+n-1 to the batch. */
static void add(struct journal *j, unsigned first, unsigned n)
{
	unsigned char d[2000];
	for (unsigned i = first; i < first + n; i++)
		ck_assert_int_eq(journal_append(j, d, payload(i, d)), 0);
}

/* add_each: records first..first+n-1, a commit each. */
static void add_each(struct journal *j, unsigned first, unsigned n)
{
	for (unsigned i = first; i < first + n; i++) {
		add(j, i, 1);
		ck_assert_int_eq(journal_commit(j), 0);
	}
}

/* record_offset: where record number k (0-based) of the first log starts, when records
 * 0..k-1 were written by add_each from 0. */
static size_t record_offset(unsigned k)
{
	unsigned char d[2000];
	size_t at = FILE_HDR;
	for (unsigned i = 0; i < k; i++)
		at += REC_HDR + payload(i, d);
	return at;
}

/* ---- hooks that count and fail ---- */

static int writes, syncs, fail_writes, fail_syncs, short_writes;

static ssize_t test_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	writes++;
	if (short_writes > 0 && len > 1) {
		short_writes--;
		return pwrite(fd, buf, len / 2, off);
	}
	if (fail_writes > 0) {
		fail_writes--;
		errno = ENOSPC;
		return -1;
	}
	return pwrite(fd, buf, len, off);
}

static int test_sync(int fd, bool is_dir)
{
	if (is_dir)
		return fsync(fd);
	syncs++;
	if (fail_syncs > 0) {
		fail_syncs--;
		errno = EIO;
		return -1;
	}
	return fdatasync(fd);
}

static const struct journal_hooks counting = {.pwrite = test_pwrite, .sync = test_sync};

static void hooks_reset(void)
{
	writes = syncs = fail_writes = fail_syncs = short_writes = 0;
}

/* ---- tests ---- */

START_TEST(crc32c_check_value)
{
	ck_assert_uint_eq(crc32c("123456789", 9), 0xE3069283u);
	ck_assert_uint_eq(crc32c_update(crc32c("1234", 4), "56789", 5), 0xE3069283u);
	ck_assert_uint_eq(crc32c("", 0), 0);
}
END_TEST

START_TEST(fsync_policy_names)
{
	enum journal_fsync p;
	for (int i = JOURNAL_FSYNC_ALWAYS; i <= JOURNAL_FSYNC_NO; i++) {
		ck_assert_int_eq(journal_fsync_parse(journal_fsync_name(i), &p), 0);
		ck_assert_int_eq(p, i);
	}
	ck_assert_int_eq(journal_fsync_parse("sometimes", &p), -1);
}
END_TEST

START_TEST(round_trip_of_many_records)
{
	struct journal *j = open_loaded(JOURNAL_FSYNC_NO, NULL);
	ck_assert_uint_eq(seen.n, 0);
	ck_assert(exists("log.00000001"));
	unsigned n = 0;
	for (unsigned batch = 1; n < 20000; batch = batch % 97 + 1) {
		add(j, n, batch);
		ck_assert_int_eq(journal_commit(j), 0);
		n += batch;
	}
	struct journal_stats st;
	journal_stats(j, &st);
	ck_assert_uint_eq(st.log_bytes, (uint64_t)size_of("log.00000001"));
	ck_assert_int_eq(journal_close(j), 0);
	j = open_loaded(JOURNAL_FSYNC_NO, NULL);
	ck_assert_uint_eq(seen.n, n);
	expect_records(0, 0, n);
	journal_stats(j, &st);
	ck_assert_uint_eq(st.loaded_records, n);
	ck_assert_uint_eq(st.torn_bytes, 0);
	add(j, n, 5); /* appends continue where the log ended */
	ck_assert_int_eq(journal_commit(j), 0);
	journal_close(j);
	journal_close(open_loaded(JOURNAL_FSYNC_NO, NULL));
	ck_assert_uint_eq(seen.n, n + 5);
	expect_records(0, 0, n + 5);
}
END_TEST

START_TEST(group_commit_is_one_write_and_one_fdatasync)
{
	hooks_reset();
	struct journal *j = open_loaded(JOURNAL_FSYNC_ALWAYS, &counting);
	hooks_reset();
	add(j, 0, 100);
	ck_assert_int_eq(journal_commit(j), 0);
	ck_assert_int_eq(writes, 1);
	ck_assert_int_eq(syncs, 1);
	ck_assert_int_eq(journal_commit(j), 0); /* nothing to commit: nothing done */
	ck_assert_int_eq(writes, 1);
	ck_assert_int_eq(syncs, 1);
	ck_assert_int_eq(journal_tick(j), 0); /* only "everysec" syncs on the tick */
	ck_assert_int_eq(syncs, 1);
	journal_close(j);
	ck_assert_int_eq(syncs, 1); /* nothing left unsynced */
}
END_TEST

START_TEST(everysec_syncs_on_the_tick_when_something_was_written)
{
	struct journal *j = open_loaded(JOURNAL_FSYNC_EVERYSEC, &counting);
	hooks_reset();
	for (unsigned i = 0; i < 3; i++) {
		add(j, i, 10);
		ck_assert_int_eq(journal_commit(j), 0);
	}
	ck_assert_int_eq(writes, 3);
	ck_assert_int_eq(syncs, 0);
	struct journal_stats st;
	journal_stats(j, &st);
	ck_assert_uint_gt(st.unsynced_bytes, 0);
	ck_assert_int_eq(journal_tick(j), 0);
	ck_assert_int_eq(syncs, 1);
	journal_stats(j, &st);
	ck_assert_uint_eq(st.unsynced_bytes, 0);
	ck_assert(st.last_fsync > 0);
	ck_assert_int_eq(journal_tick(j), 0); /* nothing new */
	ck_assert_int_eq(syncs, 1);
	add(j, 30, 1);
	journal_force_sync(j); /* a counter mark: synced whatever the policy */
	ck_assert_int_eq(journal_commit(j), 0);
	ck_assert_int_eq(syncs, 2);
	add(j, 31, 1);
	ck_assert_int_eq(journal_commit(j), 0);
	ck_assert_int_eq(syncs, 2); /* and only that once */
	journal_close(j);
	ck_assert_int_eq(syncs, 3); /* a clean stop syncs */
}
END_TEST

START_TEST(no_policy_never_syncs_a_commit)
{
	struct journal *j = open_loaded(JOURNAL_FSYNC_NO, &counting);
	hooks_reset();
	add(j, 0, 10);
	ck_assert_int_eq(journal_commit(j), 0);
	ck_assert_int_eq(journal_tick(j), 0);
	ck_assert_int_eq(syncs, 0);
	journal_close(j);
}
END_TEST

START_TEST(torn_last_record_at_every_length_is_dropped)
{
	struct journal *j = open_loaded(JOURNAL_FSYNC_NO, NULL);
	unsigned char small[100];
	memset(small, 0xab, sizeof small);
	add_each(j, 0, 5);
	ck_assert_int_eq(journal_append(j, small, sizeof small), 0);
	ck_assert_int_eq(journal_commit(j), 0);
	journal_close(j);
	size_t len, last = record_offset(5);
	unsigned char *whole = read_file("log.00000001", &len);
	ck_assert_uint_eq(len - last, REC_HDR + sizeof small);
	for (size_t keep = 1; keep < len - last; keep++) {
		write_file("log.00000001", whole, last + keep);
		j = open_loaded(JOURNAL_FSYNC_NO, NULL);
		ck_assert_uint_eq(seen.n, 5);
		expect_records(0, 0, 5);
		struct journal_stats st;
		journal_stats(j, &st);
		ck_assert_uint_eq(st.torn_bytes, keep);
		ck_assert_int_eq(size_of("log.00000001"), (off_t)last);
		add(j, 5, 1); /* the log takes appends again */
		ck_assert_int_eq(journal_commit(j), 0);
		journal_close(j);
		journal_close(open_loaded(JOURNAL_FSYNC_NO, NULL));
		ck_assert_uint_eq(seen.n, 6);
		expect_records(0, 0, 6);
	}
	whole[len - 1] ^= 0x40; /* whole length, bad CRC, nothing after: torn too */
	write_file("log.00000001", whole, len);
	struct journal_stats st;
	ck_assert_int_eq(load_status(false, &st), 0);
	ck_assert_uint_eq(seen.n, 5);
	ck_assert_uint_eq(st.torn_bytes, len - last);
	free(whole);
}
END_TEST

START_TEST(an_unfinished_commit_is_dropped_whole)
{
	struct journal *j = open_loaded(JOURNAL_FSYNC_NO, NULL);
	add_each(j, 0, 4);
	add(j, 4, 3); /* one commit of three records */
	ck_assert_int_eq(journal_commit(j), 0);
	journal_close(j);
	size_t len;
	unsigned char *whole = read_file("log.00000001", &len);
	size_t cuts[] = {record_offset(5) + 3, record_offset(6), record_offset(7) - 1};
	for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
		write_file("log.00000001", whole, cuts[i]);
		struct journal_stats st;
		ck_assert_int_eq(load_status(false, &st), 0);
		ck_assert_uint_eq(seen.n, 4);
		ck_assert_uint_eq(st.torn_bytes, cuts[i] - record_offset(4));
		ck_assert_int_eq(size_of("log.00000001"), (off_t)record_offset(4));
	}
	write_file("log.00000001", whole, len); /* whole: all seven */
	journal_close(open_loaded(JOURNAL_FSYNC_NO, NULL));
	ck_assert_uint_eq(seen.n, 7);
	expect_records(0, 0, 7);
	free(whole);
}
END_TEST

/* damage_then_repair: flips bit of byte at (in the first log, of ten records) and checks
 * the load is refused naming offset bad, changes nothing, and that repair cuts before
 * record k (keeping k records), reporting the loss. */
static void damage_then_repair(size_t at, unsigned char bit, size_t bad, unsigned k)
{
	struct journal *j = open_loaded(JOURNAL_FSYNC_NO, NULL);
	add_each(j, 0, 10);
	journal_close(j);
	size_t len;
	unsigned char *d = read_file("log.00000001", &len);
	d[at] ^= bit;
	write_file("log.00000001", d, len);
	struct journal_stats st;
	ck_assert_int_eq(load_status(false, &st), EBADMSG);
	ck_assert_uint_eq(seen.n, 0); /* checked before anything is delivered */
	ck_assert_str_eq(st.bad_file, "log.00000001");
	ck_assert_uint_eq(st.bad_offset, bad);
	ck_assert_int_eq(size_of("log.00000001"), (off_t)len); /* untouched */
	ck_assert_int_eq(load_status(true, &st), 0);
	ck_assert_uint_eq(seen.n, k);
	expect_records(0, 0, k);
	ck_assert_uint_eq(st.repaired_bytes, len - record_offset(k));
	ck_assert_int_eq(size_of("log.00000001"), (off_t)record_offset(k));
	j = open_loaded(JOURNAL_FSYNC_NO, NULL); /* and it is whole again */
	ck_assert_uint_eq(seen.n, k);
	add(j, k, 1);
	ck_assert_int_eq(journal_commit(j), 0);
	journal_close(j);
	journal_close(open_loaded(JOURNAL_FSYNC_NO, NULL));
	expect_records(0, 0, k + 1);
	free(d);
}

START_TEST(a_flipped_byte_in_the_middle_is_refused_then_repaired)
{
	damage_then_repair(record_offset(4) + REC_HDR + 3, 0x01, record_offset(4), 4);
}
END_TEST

START_TEST(a_damaged_length_is_corruption_not_a_torn_tail)
{
	/* the length's third byte: 8 MiB more than the file holds */
	damage_then_repair(record_offset(4) + 2, 0x80, record_offset(4), 4);
}
END_TEST

START_TEST(a_damaged_file_header_is_refused_then_repaired)
{
	damage_then_repair(20, 0x02, 0, 0); /* inside the magic */
}
END_TEST

START_TEST(enospc_on_commit_leaves_the_log_valid_and_a_retry_succeeds)
{
	struct journal *j = open_loaded(JOURNAL_FSYNC_ALWAYS, &counting);
	add_each(j, 0, 3);
	off_t good = size_of("log.00000001");
	size_t len;
	unsigned char *before = read_file("log.00000001", &len);
	hooks_reset();
	short_writes = 1; /* half the batch goes in, then the disk is full */
	fail_writes = 1;
	add(j, 3, 40);
	ck_assert_int_eq(journal_commit(j), ENOSPC);
	ck_assert_int_eq(writes, 2);
	ck_assert_int_eq(syncs, 0);
	ck_assert_int_eq(size_of("log.00000001"), good); /* cut back to the last commit */
	size_t now;
	unsigned char *after = read_file("log.00000001", &now);
	ck_assert_mem_eq(after, before, len);
	struct journal_stats st;
	journal_stats(j, &st);
	ck_assert_int_eq(st.error, ENOSPC);
	ck_assert_uint_eq(st.pending_records, 40);
	fail_writes = 1; /* still full, nothing written at all */
	ck_assert_int_eq(journal_commit(j), ENOSPC);
	ck_assert_int_eq(size_of("log.00000001"), good);
	ck_assert_int_eq(journal_commit(j), 0); /* space is back: the kept batch goes in */
	journal_stats(j, &st);
	ck_assert_int_eq(st.error, 0);
	ck_assert_uint_eq(st.pending_records, 0);
	add_each(j, 43, 1);
	journal_close(j);
	journal_close(open_loaded(JOURNAL_FSYNC_ALWAYS, NULL));
	ck_assert_uint_eq(seen.n, 44);
	expect_records(0, 0, 44);
	free(before);
	free(after);
}
END_TEST

START_TEST(a_failed_fdatasync_is_undone_and_retried)
{
	struct journal *j = open_loaded(JOURNAL_FSYNC_ALWAYS, &counting);
	add_each(j, 0, 3);
	off_t good = size_of("log.00000001");
	hooks_reset();
	fail_syncs = 1;
	add(j, 3, 5);
	ck_assert_int_eq(journal_commit(j), EIO);
	ck_assert_int_eq(size_of("log.00000001"), good);
	ck_assert_int_eq(journal_commit(j), 0);
	ck_assert_int_eq(writes, 2); /* the retry writes the batch again */
	ck_assert_int_eq(syncs, 2);
	journal_close(j);
	journal_close(open_loaded(JOURNAL_FSYNC_ALWAYS, NULL));
	ck_assert_uint_eq(seen.n, 8);
	expect_records(0, 0, 8);
}
END_TEST

/* snapshot_of: writes records first..first+n-1 as the snapshot s and seals it. */
static void snapshot_of(struct journal_snapshot *s, unsigned first, unsigned n)
{
	unsigned char d[2000];
	for (unsigned i = first; i < first + n; i++)
		ck_assert_int_eq(journal_snapshot_append(s, d, payload(i, d)), 0);
	ck_assert_int_eq(journal_snapshot_seal(s), 0);
}

/* only_files: the dir holds the lock and exactly the two files named. */
static void only_files(const char *a, const char *b)
{
	int n = 0;
	struct dirent *e;
	DIR *d = opendir(dir);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			ck_assert_msg(!strcmp(e->d_name, "lock") || !strcmp(e->d_name, a) ||
					      !strcmp(e->d_name, b),
				      "unexpected %s", e->d_name);
			n++;
		}
	closedir(d);
	ck_assert_int_eq(n, 3);
}

START_TEST(a_snapshot_and_its_new_log_replay_the_same_records)
{
	struct journal *j = open_loaded(JOURNAL_FSYNC_ALWAYS, NULL);
	add_each(j, 0, 300);
	struct journal_snapshot *s;
	ck_assert_int_eq(journal_snapshot_begin(j, &s), 0);
	add_each(j, 1000, 20); /* served while the snapshot is written: in the new log */
	snapshot_of(s, 0, 300);
	struct journal_stats st;
	journal_stats(j, &st);
	ck_assert(st.compacting);
	ck_assert_int_eq(journal_snapshot_install(j, s), 0);
	only_files("snapshot.00000002", "log.00000002");
	journal_stats(j, &st);
	ck_assert(!st.compacting);
	ck_assert_uint_eq(st.generation, 2);
	ck_assert_uint_eq(st.snapshot_bytes, (uint64_t)size_of("snapshot.00000002"));
	ck_assert_uint_eq(st.log_bytes, (uint64_t)size_of("log.00000002"));
	ck_assert(st.last_compaction > 0);
	add_each(j, 1020, 5);
	journal_close(j);
	j = open_loaded(JOURNAL_FSYNC_ALWAYS, NULL);
	ck_assert_uint_eq(seen.n, 325);
	expect_records(0, 0, 300);
	expect_records(300, 1000, 25);
	ck_assert(seen.r[0].snapshot && seen.r[299].snapshot && !seen.r[300].snapshot);
	journal_close(j);
}
END_TEST

START_TEST(a_snapshot_written_by_a_forked_child)
{
	struct journal *j = open_loaded(JOURNAL_FSYNC_ALWAYS, NULL);
	add_each(j, 0, 50);
	struct journal_snapshot *s;
	ck_assert_int_eq(journal_snapshot_begin(j, &s), 0);
	pid_t pid = fork();
	if (pid == 0) {
		unsigned char d[2000];
		int rc = 0;
		for (unsigned i = 0; i < 50 && !rc; i++)
			rc = journal_snapshot_append(s, d, payload(i, d));
		_exit(rc || journal_snapshot_seal(s) ? 1 : 0);
	}
	add_each(j, 50, 30); /* the loop carries on meanwhile */
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(journal_snapshot_install(j, s), 0);
	only_files("snapshot.00000002", "log.00000002");
	journal_close(j);
	journal_close(open_loaded(JOURNAL_FSYNC_ALWAYS, NULL));
	ck_assert_uint_eq(seen.n, 80);
	expect_records(0, 0, 80);
}
END_TEST

static int crash_at;

static void crash_hook(enum journal_step s)
{
	if ((int)s == crash_at)
		_exit(0);
}

/* compact_until_crash: in a child: records 0..99, a compaction with records 100..119
 * committed after it began, then 120..129; the child dies after step crash_at. */
static void compact_until_crash(void)
{
	static const struct journal_hooks h = {.step = crash_hook};
	struct journal *j = open_loaded(JOURNAL_FSYNC_ALWAYS, &h);
	add_each(j, 0, 100);
	struct journal_snapshot *s;
	if (journal_snapshot_begin(j, &s))
		_exit(1);
	add_each(j, 100, 20);
	snapshot_of(s, 0, 100);
	if (journal_snapshot_install(j, s))
		_exit(1);
	add_each(j, 120, 10);
	_exit(2);
}

START_TEST(a_crash_after_any_compaction_step_loads_every_commit)
{
	for (crash_at = 0; crash_at <= JOURNAL_STEP_COUNT; crash_at++) {
		teardown();
		setup();
		pid_t pid = fork();
		if (pid == 0)
			compact_until_crash();
		int status;
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert(WIFEXITED(status));
		int code = WEXITSTATUS(status);
		ck_assert_int_eq(code, crash_at == JOURNAL_STEP_COUNT ? 2 : 0);
		unsigned want = crash_at <= JOURNAL_STEP_SNAPSHOT_TMP ? 100
				: crash_at < JOURNAL_STEP_COUNT       ? 120
								      : 130;
		struct journal *j = open_loaded(JOURNAL_FSYNC_ALWAYS, NULL);
		ck_assert_msg(seen.n == want, "crash after step %d: %zu records, want %u", crash_at,
			      seen.n, want);
		expect_records(0, 0, want);
		ck_assert(!exists("log.00000002.tmp") && !exists("snapshot.00000002.tmp"));
		add_each(j, want, 1); /* and it goes on from there */
		journal_close(j);
		journal_close(open_loaded(JOURNAL_FSYNC_ALWAYS, NULL));
		expect_records(0, 0, want + 1);
	}
}
END_TEST

START_TEST(an_aborted_compaction_leaves_a_chain_of_logs)
{
	struct journal *j = open_loaded(JOURNAL_FSYNC_ALWAYS, NULL);
	add_each(j, 0, 10);
	struct journal_snapshot *s;
	ck_assert_int_eq(journal_snapshot_begin(j, &s), 0);
	add_each(j, 10, 10);
	journal_snapshot_abort(j, s);
	add_each(j, 20, 10);
	only_files("log.00000001", "log.00000002");
	journal_close(j);
	j = open_loaded(JOURNAL_FSYNC_ALWAYS, NULL);
	expect_records(0, 0, 30);
	struct journal_stats st;
	journal_stats(j, &st);
	ck_assert_uint_eq(st.log_bytes,
			  (uint64_t)(size_of("log.00000001") + size_of("log.00000002")));
	ck_assert(journal_wants_compaction(j, 2.0, 0)); /* no snapshot yet */
	ck_assert(!journal_wants_compaction(j, 2.0, st.log_bytes + 1));
	ck_assert_int_eq(journal_snapshot_begin(j, &s), 0);
	ck_assert(!journal_wants_compaction(j, 2.0, 0)); /* one at a time */
	snapshot_of(s, 0, 30);
	ck_assert_int_eq(journal_snapshot_install(j, s), 0);
	only_files("snapshot.00000003", "log.00000003");
	ck_assert(!journal_wants_compaction(j, 2.0, 0)); /* the log is empty */
	journal_close(j);
	journal_close(open_loaded(JOURNAL_FSYNC_ALWAYS, NULL));
	ck_assert_uint_eq(seen.n, 30);
	expect_records(0, 0, 30);
}
END_TEST

START_TEST(a_missing_log_in_the_chain_is_refused)
{
	struct journal *j = open_loaded(JOURNAL_FSYNC_ALWAYS, NULL);
	for (unsigned g = 0; g < 2; g++) {
		add_each(j, g, 1);
		struct journal_snapshot *s;
		ck_assert_int_eq(journal_snapshot_begin(j, &s), 0);
		journal_snapshot_abort(j, s);
	}
	journal_close(j);
	ck_assert_int_eq(unlink(path_of("log.00000002")), 0);
	struct journal_stats st;
	ck_assert_int_eq(load_status(false, &st), EBADMSG);
	ck_assert(exists("log.00000001") && exists("log.00000003"));
}
END_TEST

START_TEST(a_damaged_snapshot_is_refused_then_repaired)
{
	struct journal *j = open_loaded(JOURNAL_FSYNC_ALWAYS, NULL);
	add_each(j, 0, 10);
	struct journal_snapshot *s;
	ck_assert_int_eq(journal_snapshot_begin(j, &s), 0);
	snapshot_of(s, 0, 10);
	ck_assert_int_eq(journal_snapshot_install(j, s), 0);
	add_each(j, 10, 5);
	journal_close(j);
	size_t len;
	unsigned char *d = read_file("snapshot.00000002", &len);
	d[record_offset(7) + REC_HDR] ^= 0x10;
	write_file("snapshot.00000002", d, len);
	off_t log_size = size_of("log.00000002");
	struct journal_stats st;
	ck_assert_int_eq(load_status(false, &st), EBADMSG);
	ck_assert_str_eq(st.bad_file, "snapshot.00000002");
	ck_assert_uint_eq(st.bad_offset, record_offset(7));
	ck_assert_int_eq(load_status(true, &st), 0); /* a prefix of history: no hole */
	ck_assert_uint_eq(seen.n, 7);
	expect_records(0, 0, 7);
	ck_assert_uint_eq(st.repaired_bytes, len - record_offset(7) + log_size - FILE_HDR);
	ck_assert_int_eq(size_of("log.00000002"), FILE_HDR);
	ck_assert_int_eq(load_status(false, &st), 0);
	ck_assert_uint_eq(seen.n, 7);
	free(d);
}
END_TEST

START_TEST(a_refused_record_stops_the_load_and_changes_nothing)
{
	struct journal *j = open_loaded(JOURNAL_FSYNC_ALWAYS, NULL);
	add_each(j, 0, 5);
	journal_close(j);
	size_t len;
	unsigned char *d = read_file("log.00000001", &len);
	write_file("log.00000001", d, len - 1); /* a torn tail, not to be cut */
	struct journal_options o = {.fsync = JOURNAL_FSYNC_ALWAYS};
	ck_assert_int_eq(journal_open(dir, &o, &j), 0);
	seen_reset();
	seen.fail_at = 3;
	ck_assert_int_eq(journal_load(j, collect, &seen), EINVAL);
	journal_close(j);
	ck_assert_int_eq(size_of("log.00000001"), (off_t)len - 1);
	free(d);
}
END_TEST

START_TEST(a_second_open_of_a_dir_is_refused)
{
	struct journal_options o = {.fsync = JOURNAL_FSYNC_ALWAYS};
	struct journal *j, *k;
	ck_assert_int_eq(journal_open(dir, &o, &j), 0);
	ck_assert_int_eq(journal_open(dir, &o, &k), EWOULDBLOCK);
	ck_assert_ptr_null(k);
	char pid[32];
	snprintf(pid, sizeof pid, "%d\n", (int)getpid());
	size_t len;
	unsigned char *d = read_file("lock", &len);
	ck_assert_uint_eq(len, strlen(pid));
	ck_assert_mem_eq(d, pid, len);
	journal_close(j);
	ck_assert_int_eq(journal_open(dir, &o, &k), 0);
	journal_close(k);
	free(d);
}
END_TEST

START_TEST(a_missing_dir_or_a_file_is_refused)
{
	struct journal_options o = {.fsync = JOURNAL_FSYNC_ALWAYS};
	struct journal *j;
	ck_assert_int_eq(journal_open(path_of("nowhere"), &o, &j), ENOENT);
	write_file("plain", (const unsigned char *)"x", 1);
	ck_assert_int_eq(journal_open(path_of("plain"), &o, &j), ENOTDIR);
}
END_TEST

/* write_proc: writes text to a /proc file. 0 or the errno value. */
static int write_proc(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	int err = fd < 0 || write(fd, text, strlen(text)) < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	return err;
}

/* own_namespaces: a user and a mount namespace where we are root (for a non-root run). */
static int own_namespaces(void)
{
	char uid_map[32], gid_map[32];
	snprintf(uid_map, sizeof uid_map, "0 %d 1", (int)getuid());
	snprintf(gid_map, sizeof gid_map, "0 %d 1", (int)getgid());
	int err = unshare(CLONE_NEWUSER | CLONE_NEWNS) ? errno : 0;
	if (!err)
		write_proc("/proc/self/setgroups", "deny");
	if (!err)
		err = write_proc("/proc/self/uid_map", uid_map);
	return err ? err : write_proc("/proc/self/gid_map", gid_map);
}

/* read_only_view: in a new mount namespace, mounts dir read-only over itself. 0, or the
 * errno value of the step that failed. */
static int read_only_view(void)
{
	int err = unshare(CLONE_NEWNS) ? own_namespaces() : 0;
	if (err)
		return err;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount(dir, dir, NULL, MS_BIND, NULL) != 0 ||
	    mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) != 0)
		return errno;
	return 0;
}

START_TEST(a_read_only_dir_is_a_clear_error)
{
	/* As root, chmod does not stop writes: a read-only bind mount does. Twice: a dir
	 * brokerd never used, and one it did (its lock file already there). */
	for (int used = 0; used < 2; used++) {
		if (used)
			journal_close(open_loaded(JOURNAL_FSYNC_ALWAYS, NULL));
		int fds[2];
		ck_assert_int_eq(pipe(fds), 0);
		pid_t pid = fork();
		if (pid == 0) {
			int rc[2] = {read_only_view(), 0};
			struct journal_options o = {.fsync = JOURNAL_FSYNC_ALWAYS};
			struct journal *j;
			if (!rc[0])
				rc[1] = journal_open(dir, &o, &j);
			_exit(write(fds[1], rc, sizeof rc) == sizeof rc ? 0 : 1);
		}
		int rc[2];
		close(fds[1]);
		ck_assert_int_eq(read(fds[0], rc, sizeof rc), sizeof rc);
		close(fds[0]);
		waitpid(pid, NULL, 0);
		if (rc[0]) {
			printf("a_read_only_dir_is_a_clear_error: skipped, cannot make a read-only "
			       "bind mount here: %s\n",
			       strerror(rc[0]));
			return;
		}
		ck_assert_msg(rc[1] == EROFS, "got %s", strerror(rc[1]));
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("journal");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	ADD(tc, crc32c_check_value);
	ADD(tc, fsync_policy_names);
	ADD(tc, round_trip_of_many_records);
	ADD(tc, group_commit_is_one_write_and_one_fdatasync);
	ADD(tc, everysec_syncs_on_the_tick_when_something_was_written);
	ADD(tc, no_policy_never_syncs_a_commit);
	ADD(tc, torn_last_record_at_every_length_is_dropped);
	ADD(tc, an_unfinished_commit_is_dropped_whole);
	ADD(tc, a_flipped_byte_in_the_middle_is_refused_then_repaired);
	ADD(tc, a_damaged_length_is_corruption_not_a_torn_tail);
	ADD(tc, a_damaged_file_header_is_refused_then_repaired);
	ADD(tc, enospc_on_commit_leaves_the_log_valid_and_a_retry_succeeds);
	ADD(tc, a_failed_fdatasync_is_undone_and_retried);
	ADD(tc, a_snapshot_and_its_new_log_replay_the_same_records);
	ADD(tc, a_snapshot_written_by_a_forked_child);
	ADD(tc, a_crash_after_any_compaction_step_loads_every_commit);
	ADD(tc, an_aborted_compaction_leaves_a_chain_of_logs);
	ADD(tc, a_missing_log_in_the_chain_is_refused);
	ADD(tc, a_damaged_snapshot_is_refused_then_repaired);
	ADD(tc, a_refused_record_stops_the_load_and_changes_nothing);
	ADD(tc, a_second_open_of_a_dir_is_refused);
	ADD(tc, a_missing_dir_or_a_file_is_refused);
	ADD(tc, a_read_only_dir_is_a_clear_error);
	suite_add_tcase(s, tc);
	return run_suite(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
