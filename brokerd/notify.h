/* notify.h: systemd's readiness protocol (sd_notify), spoken directly on $NOTIFY_SOCKET. */
#ifndef BROKER_NOTIFY_H
#define BROKER_NOTIFY_H

/* notify_systemd: sends state ("READY=1", "STOPPING=1") when run by systemd with
 * Type=notify; does nothing otherwise. */
void notify_systemd(const char *state);

#endif
