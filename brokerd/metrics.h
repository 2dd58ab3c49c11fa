/* metrics.h: Prometheus metrics over HTTP (GET /metrics), off unless an address is set. */
#ifndef BROKER_METRICS_H
#define BROKER_METRICS_H

#include <event2/event.h>

/* metrics_start: serves /metrics on address ("HOST:PORT") on the loop base. 0, or -1 after
 * logging why (a bad address, the port in use). */
int metrics_start(struct event_base *base, const char *address);

/* metrics_stop: closes the listener (idempotent). */
void metrics_stop(void);

#endif
