/* log.c: stderr logging with a level; one line per write so concurrent output stays whole. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static enum log_level current = LL_INFO;
static const char *const names[] = {"error", "warn", "info", "debug"};

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
	int n = snprintf(line, sizeof line, "brokerd[%d]: %s: ", (int)getpid(), names[level]);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	fputs(line, stderr);
}
