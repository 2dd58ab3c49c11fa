/* deadline.h: every deadline in brokerd — parked requests' timeouts, lock leases — lives in
 * one min-heap that drives a single libevent timer; expiries run in one place. */
#ifndef BROKER_DEADLINE_H
#define BROKER_DEADLINE_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

/* Embedded in what can expire. */
struct deadline {
	double at;         /* monotonic seconds */
	size_t heap_index; /* DEADLINE_UNSET when not in the heap */
	/* expire: called once the deadline has passed, after it left the heap. */
	void (*expire)(struct deadline *d);
};

#define DEADLINE_UNSET ((size_t)-1)

/* deadline_init / deadline_fini: the heap and its timer on base; fini drops every entry. */
void deadline_init(struct event_base *base);
void deadline_fini(void);

/* deadline_prepare: d is not set; expire will be called if it ever expires. */
void deadline_prepare(struct deadline *d, void (*expire)(struct deadline *d));

/* deadline_set: d expires in seconds (from now); replaces a previous setting. 0, or -1 when
 * out of memory (d is then not set). */
int deadline_set(struct deadline *d, double seconds);

/* deadline_clear: d will not expire (a no-op when it is not set). */
void deadline_clear(struct deadline *d);

/* deadline_is_set: whether d is waiting to expire. */
bool deadline_is_set(const struct deadline *d);

/* deadline_left: seconds until d expires (0 when past or not set). */
double deadline_left(const struct deadline *d);

#endif
