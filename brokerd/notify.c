/* notify.c: systemd's notification protocol through libsystemd's sd_notify, which does
 * nothing when brokerd was not started by systemd (no $NOTIFY_SOCKET). */
#include <stdarg.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "notify.h"

void notify_systemd(const char *state)
{
	(void)sd_notify(0, state);
}

void notify_status(const char *fmt, ...)
{
	char state[256] = "STATUS=";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(state + 7, sizeof state - 7, fmt, ap);
	va_end(ap);
	notify_systemd(state);
}

double notify_watchdog_interval(void)
{
	uint64_t usec = 0;
	return sd_watchdog_enabled(0, &usec) > 0 ? (double)usec / 2e6 : 0;
}
