/* daemon.c: starting and stopping a real brokerd for black-box tests. */
#include <check.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"

static void nap_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* With $BROKERD_TEST_FSYNC set (always, everysec or no), every daemon of the black-box
 * suites keeps a data dir with that policy: the suites then check that persisting changes
 * nothing a client sees (CMakeLists.txt runs some of them so). */
static char data_dir[96];

void daemon_start(struct daemon *d, const char *const *extra)
{
	const char *argv[32] = {BROKERD_BIN, "--listen", d->url, "--log-level", "warn"};
	const char *fsync = getenv("BROKERD_TEST_FSYNC");
	int n = 5;
	strcpy(d->dir, "/tmp/brokerd-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(d->dir));
	snprintf(d->url, sizeof d->url, "ipc://%s/b.sock", d->dir);
	if (fsync) {
		snprintf(data_dir, sizeof data_dir, "%s/data", d->dir);
		ck_assert_int_eq(mkdir(data_dir, 0700), 0);
		argv[n++] = "--data-dir";
		argv[n++] = data_dir;
		argv[n++] = "--fsync";
		argv[n++] = fsync;
	}
	for (; extra && *extra && n < 30; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	d->pid = spawn((char *const *)argv);
	brk_client *c = connect_when_up(d->url);
	ck_assert_msg(c != NULL, "brokerd did not start on %s", d->url);
	brk_close(c);
}

pid_t spawn(char *const argv[])
{
	pid_t pid = test_fork();
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

brk_client *connect_when_up(const char *url)
{
	brk_client *c = NULL;
	for (int i = 0; i < 500 && brk_connect(url, NULL, &c) != BRK_OK; i++)
		nap_ms(10);
	return c;
}

/* remove_data_dir: removes dir/data and the files in it. */
static void remove_data_dir(const char *dir)
{
	char path[160];
	snprintf(path, sizeof path, "%s/data", dir);
	DIR *dd = opendir(path);
	struct dirent *e;
	while (dd && (e = readdir(dd))) {
		char file[440];
		if (e->d_name[0] == '.')
			continue;
		snprintf(file, sizeof file, "%s/%s", path, e->d_name);
		unlink(file);
	}
	if (dd)
		closedir(dd);
	rmdir(path);
}

int daemon_stop(struct daemon *d)
{
	char path[160];
	kill(d->pid, SIGTERM);
	int status = child_exit(d->pid);
	snprintf(path, sizeof path, "%s/b.sock", d->dir);
	unlink(path);
	if (getenv("BROKERD_TEST_FSYNC"))
		remove_data_dir(d->dir);
	rmdir(d->dir);
	return status;
}

brk_client *daemon_client(const struct daemon *d)
{
	brk_client *c = NULL;
	brk_err err = brk_connect(d->url, NULL, &c);
	ck_assert_msg(err == BRK_OK, "connect: %s", brk_last_error());
	return c;
}

void daemon_open(struct daemon *d, brk_client **c)
{
	daemon_start(d, NULL);
	*c = daemon_client(d);
}

void daemon_shut(struct daemon *d, brk_client *c)
{
	brk_close(c);
	ck_assert_int_eq(daemon_stop(d), 0);
}

long stat_count(brk_client *c, const char *name, const char *field)
{
	json_t *st = NULL;
	brk_err err = brk_stat(c, name, &st);
	if (err == BRK_ENOTFOUND)
		return 0; /* not made yet: nothing waits on it (reads create nothing) */
	ck_assert_msg(err == BRK_OK, "stat %s: %s", name, brk_last_error());
	json_t *v = json_object_get(st, field);
	long n = json_is_array(v) ? (long)json_array_size(v) : (long)json_integer_value(v);
	json_decref(st);
	return n;
}

void wait_stat(brk_client *c, const char *name, const char *field, long want)
{
	long got = -1;
	for (int i = 0; i < 2000 && got != want; i++) {
		got = stat_count(c, name, field);
		if (got != want)
			nap_ms(5);
	}
	ck_assert_msg(got == want, "stat %s %s: %ld, want %ld", name, field, got, want);
}

void wait_sessions(brk_client *c, long want)
{
	long got = -1;
	for (int i = 0; i < 2000 && got != want; i++) {
		json_t *info = NULL;
		ck_assert_int_eq(brk_info(c, &info), BRK_OK);
		got = (long)json_integer_value(json_object_get(info, "sessions"));
		json_decref(info);
		if (got != want)
			nap_ms(5);
	}
	ck_assert_msg(got == want, "sessions: %ld, want %ld", got, want);
}

int child_exit(pid_t pid)
{
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	ck_assert_msg(f != NULL, "cannot write %s", path);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

int run_tool_fd(char *const argv[], int fd, char *out, size_t size)
{
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	pid_t pid = test_fork();
	if (pid == 0) {
		dup2(fds[1], fd);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	size_t len = 0;
	ssize_t n;
	while (len + 1 < size && (n = read(fds[0], out + len, size - len - 1)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(fds[0]);
	return child_exit(pid);
}

int run_tool(char *const argv[], char *out, size_t size)
{
	return run_tool_fd(argv, STDOUT_FILENO, out, size);
}

pid_t spawn_worker(const struct daemon *d, int *out, ...)
{
	char *argv[16] = {WORKER_BIN, (char *)d->url};
	int n = 2, fds[2];
	va_list ap;
	va_start(ap, out);
	for (char *a; n < 15 && (a = va_arg(ap, char *));)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	if (out)
		ck_assert_int_eq(pipe(fds), 0);
	pid_t pid = test_fork();
	if (pid == 0) {
		if (out) {
			dup2(fds[1], STDOUT_FILENO);
			close(fds[0]);
			close(fds[1]);
		}
		execv(WORKER_BIN, argv);
		_exit(127);
	}
	if (out) {
		close(fds[1]);
		*out = fds[0];
	}
	return pid;
}

pid_t test_fork(void)
{
	pid_t pid = fork();
	if (pid < 0)
		ck_abort_msg("fork: %s", strerror(errno));
	return pid;
}

int free_tcp_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

double test_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- persistence ---- */

void data_dir_new(char *out, size_t size)
{
	snprintf(out, size, "/tmp/brokerd-data-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(out));
}

void remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *dir = opendir(path);
		struct dirent *e;
		while (dir && (e = readdir(dir))) {
			char sub[4096];
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
			    snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) < (int)sizeof sub)
				remove_tree(sub);
		}
		if (dir)
			closedir(dir);
		rmdir(path);
	} else {
		unlink(path);
	}
}

static void stderr_path(const struct daemon *d, char *out, size_t size)
{
	snprintf(out, size, "%s/stderr", d->dir);
}

void daemon_launch(struct daemon *d, const char *data, const char *const *extra)
{
	const char *argv[40] = {BROKERD_BIN, "--listen", d->url, "--log-level", "info"};
	char errfile[96];
	int n = 5;
	if (!d->dir[0]) {
		strcpy(d->dir, "/tmp/brokerd-test-XXXXXX");
		ck_assert_ptr_nonnull(mkdtemp(d->dir));
		snprintf(d->url, sizeof d->url, "ipc://%s/b.sock", d->dir);
	}
	if (data) {
		argv[n++] = "--data-dir";
		argv[n++] = data;
	}
	for (; extra && *extra && n < 38; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	stderr_path(d, errfile, sizeof errfile);
	int fd = open(errfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	pid_t pid = test_fork();
	if (pid == 0) {
		dup2(fd, STDERR_FILENO);
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* a test that fails leaves no brokerd behind */
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fd);
	d->pid = pid;
}

int daemon_await(struct daemon *d, double secs)
{
	double end = test_now() + secs;
	do {
		int status;
		pid_t got = waitpid(d->pid, &status, WNOHANG);
		if (got == d->pid) {
			d->pid = 0;
			if (WIFEXITED(status))
				return WEXITSTATUS(status);
			return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
		}
		brk_client *c = NULL;
		if (brk_connect(d->url, NULL, &c) == BRK_OK) {
			brk_err err = brk_ping(c);
			brk_close(c);
			if (err == BRK_OK)
				return 0;
		}
		nap_ms(5);
	} while (test_now() < end);
	return -1;
}

void daemon_start_on(struct daemon *d, const char *data, const char *const *extra)
{
	daemon_launch(d, data, extra);
	int rc = daemon_await(d, 60);
	if (rc != 0) {
		static char err[8192];
		daemon_stderr(d, err, sizeof err);
		ck_abort_msg("brokerd did not start on %s (data dir %s): %s; stderr:\n%s", d->url,
			     data ? data : "none", rc < 0 ? "no answer in 60 s" : "it exited", err);
	}
}

static int signal_and_reap(struct daemon *d, int sig)
{
	if (d->pid <= 0)
		return -1;
	kill(d->pid, sig);
	int status = child_exit(d->pid);
	d->pid = 0;
	return status;
}

int daemon_kill(struct daemon *d)
{
	return signal_and_reap(d, SIGKILL);
}

int daemon_term(struct daemon *d)
{
	return signal_and_reap(d, SIGTERM);
}

size_t daemon_stderr(const struct daemon *d, char *buf, size_t size)
{
	char errfile[96];
	stderr_path(d, errfile, sizeof errfile);
	buf[0] = '\0';
	int fd = open(errfile, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	off_t end = lseek(fd, 0, SEEK_END),
	      from = end > (off_t)size - 1 ? end - (off_t)size + 1 : 0;
	ssize_t n = pread(fd, buf, (size_t)(end - from), from);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

void daemon_stderr_clear(const struct daemon *d)
{
	char errfile[96];
	stderr_path(d, errfile, sizeof errfile);
	if (truncate(errfile, 0) != 0 && errno != ENOENT)
		ck_abort_msg("truncate %s: %s", errfile, strerror(errno));
}

void daemon_remove(struct daemon *d)
{
	if (d->pid > 0)
		daemon_kill(d);
	if (d->dir[0])
		remove_tree(d->dir);
	d->dir[0] = '\0';
}
