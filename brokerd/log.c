/* log.c: stderr logging with a level; one line per write so concurrent output stays whole.
 * When stderr is the journal (systemd's $JOURNAL_STREAM names it), a line is its syslog
 * priority and the text, as sd-daemon(3) describes, since journald adds the time and
 * "brokerd[PID]" itself; elsewhere a line starts with the time, the name and the level. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum log_level current = LL_INFO;
static const char *const names[] = {"error", "warn", "info", "debug"};
static const int priorities[] = {3, 4, 6, 7}; /* LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
static int to_journal = -1;                   /* -1: not looked at yet */

/* journal_is_stderr: whether $JOURNAL_STREAM ("DEV:INODE") is the file stderr is. */
static bool journal_is_stderr(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	return js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
	       (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* prefix: the start of a line of level into line; its length. */
static int prefix(enum log_level level, char *line, size_t size)
{
	struct timeval tv;
	struct tm tm;
	char when[32];
	if (to_journal < 0)
		to_journal = journal_is_stderr();
	if (to_journal)
		return snprintf(line, size, "<%d>", priorities[level]);
	gettimeofday(&tv, NULL);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", gmtime_r(&tv.tv_sec, &tm));
	return snprintf(line, size, "%s.%03dZ brokerd[%d]: %s: ", when, (int)(tv.tv_usec / 1000),
			(int)getpid(), names[level]);
}

void log_set_level(enum log_level level)
{
	current = level;
}

int log_level_parse(const char *text, enum log_level *level)
{
	for (int i = LL_ERROR; i <= LL_DEBUG; i++) {
		if (strcmp(text, names[i]) == 0) {
			*level = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

int log_enabled(enum log_level level)
{
	return level <= current;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (!log_enabled(level))
		return;
	char line[1024];
	int n = prefix(level, line, sizeof line);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	fputs(line, stderr);
}
