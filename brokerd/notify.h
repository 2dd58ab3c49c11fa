/* notify.h: telling systemd (Type=notify) how brokerd is: ready, stopping, its status
 * line, and that its loop is alive (the watchdog). */
#ifndef BROKER_NOTIFY_H
#define BROKER_NOTIFY_H

/* notify_systemd: sends state ("READY=1", "STOPPING=1", "WATCHDOG=1") when run by systemd;
 * does nothing otherwise. */
void notify_systemd(const char *state);

/* notify_status: sends "STATUS=" and the formatted text (systemctl status shows it). */
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* notify_watchdog_interval: seconds between WATCHDOG=1 pings (half of the unit's
 * WatchdogSec), or 0 when systemd does not watch brokerd. */
double notify_watchdog_interval(void);

#endif
