/* daemon.h: black-box test support: a real brokerd on a temporary ipc:// path, clients
 * for it, child processes, and waiting on observable state instead of sleeping. */
#ifndef TEST_DAEMON_H
#define TEST_DAEMON_H

#include <stdbool.h>
#include <sys/types.h>

#include "broker.h"

struct daemon {
	pid_t pid;
	char dir[64];
	char url[128];
};

/* daemon_start: starts brokerd on a fresh socket with extra arguments (NULL-terminated
 * list, may be empty) and waits until it answers ping. */
void daemon_start(struct daemon *d, const char *const *extra);

/* spawn: forks and execs argv (NULL-terminated; argv[0] is the path); returns the pid. */
pid_t spawn(char *const argv[]);

/* spawn_worker: starts "worker URL args..." (tests/worker.c; args NULL-terminated) against
 * d; its stdout goes to a pipe whose read end is *out, when out is not NULL. */
pid_t spawn_worker(const struct daemon *d, int *out, ...);

/* connect_when_up: connects to url, retrying for up to 5 s while it is not up yet; NULL
 * if it never comes up. */
brk_client *connect_when_up(const char *url);

/* daemon_stop: SIGTERM, then the exit status (or 128+signal); removes the directory. */
int daemon_stop(struct daemon *d);

/* daemon_client: a connected client; the test fails if it cannot connect. */
brk_client *daemon_client(const struct daemon *d);

/* daemon_open / daemon_shut: the black-box suites' fixture: a fresh daemon and a client of
 * it; then the client closed and the daemon stopped, which must exit 0. */
void daemon_open(struct daemon *d, brk_client **c);
void daemon_shut(struct daemon *d, brk_client *c);

/* stat_count: the size of array field of stat NAME (getters, putters, joiners), or the
 * value of an integer field; 0 when there is no object NAME. */
long stat_count(brk_client *c, const char *name, const char *field);

/* test_now: a monotonic clock, in seconds. */
double test_now(void);

/* free_tcp_port: a loopback TCP port nobody listens on right now. */
int free_tcp_port(void);

/* test_fork: fork() for a test. Check passes results through a file the test process and its
 * children share, and every passing ck_assert writes to it: a child that asserts anything
 * interleaves its writes with the parent's and corrupts the results. So the check of fork's
 * result happens in the parent only; the child (0 returned) must not call Check at all. */
pid_t test_fork(void);

/* wait_stat: waits (up to 10 s) until stat_count(name, field) == want. */
void wait_stat(brk_client *c, const char *name, const char *field, long want);

/* wait_sessions: waits (up to 10 s) until brokerd counts want sessions. */
void wait_sessions(brk_client *c, long want);

/* child_exit: waits for pid and returns its exit status (-1 if it did not exit). */
int child_exit(pid_t pid);

/* run_tool: runs argv (a NULL-terminated list) with stdout captured into out (NUL-ended);
 * returns the exit status. */
int run_tool(char *const argv[], char *out, size_t size);

/* write_file: text into the file at path (made or emptied), then its mode set to mode. */
void write_file(const char *path, const char *text, mode_t mode);

/* run_tool_fd: run_tool capturing the child's descriptor fd (STDERR_FILENO...) instead. */
int run_tool_fd(char *const argv[], int fd, char *out, size_t size);

/* ---- persistence: a brokerd on a data dir, restarted on it (test_persist.c) ---- */

/* data_dir_new: makes a fresh empty dir for --data-dir; its path goes in out (size bytes). */
void data_dir_new(char *out, size_t size);

/* remove_tree: removes path and everything under it, best effort (for cleanup). */
void remove_tree(const char *path);

/* daemon_launch: starts brokerd on d->url (after a fresh socket dir is made when d->dir is
 * empty, so a restart keeps the address), with "--data-dir data" when data is not NULL,
 * then the extra arguments (NULL-terminated, may be NULL); its stderr is appended to
 * d->dir/stderr. brokerd is killed if the calling process dies. Does not wait. */
void daemon_launch(struct daemon *d, const char *data, const char *const *extra);

/* daemon_await: waits up to secs until d's brokerd answers ping: 0; or until it exits: its
 * exit status (128+signal if killed), with d->pid set to 0; -1 if neither happened. */
int daemon_await(struct daemon *d, double secs);

/* daemon_start_on: daemon_launch, then the test fails (showing brokerd's stderr) unless
 * it answers within 60 s. */
void daemon_start_on(struct daemon *d, const char *data, const char *const *extra);

/* daemon_kill: SIGKILL d's brokerd and reap it; its exit status (137). The socket dir and
 * stderr file stay, for a restart. */
int daemon_kill(struct daemon *d);

/* daemon_term: SIGTERM d's brokerd and reap it; its exit status. The socket dir stays. */
int daemon_term(struct daemon *d);

/* daemon_stderr: what d's brokerd processes wrote on stderr (NUL-ended in buf, the last
 * size-1 bytes when there is more); its length. */
size_t daemon_stderr(const struct daemon *d, char *buf, size_t size);

/* daemon_stderr_clear: empties d's stderr file, so that daemon_stderr shows what follows. */
void daemon_stderr_clear(const struct daemon *d);

/* daemon_remove: SIGKILL d's brokerd if it still runs, then removes its socket dir. */
void daemon_remove(struct daemon *d);

#endif
