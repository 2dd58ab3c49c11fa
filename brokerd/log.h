/* log.h: leveled log lines on stderr ("brokerd[pid]: level: text"), systemd-journal friendly. */
#ifndef BROKER_LOG_H
#define BROKER_LOG_H

enum log_level { LL_ERROR, LL_WARN, LL_INFO, LL_DEBUG };

/* log_set_level: lines above level are not written. The default is LL_INFO. */
void log_set_level(enum log_level level);

/* log_level_parse: "error", "warn", "info" or "debug" into *level; 0, or -1 if unknown. */
int log_level_parse(const char *text, enum log_level *level);

/* log_enabled: whether a line at level would be written (to skip costly formatting). */
int log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LL_DEBUG, __VA_ARGS__)

#endif
