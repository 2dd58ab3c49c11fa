/* deadline.c: the min-heap of deadlines and the one timer armed for the earliest. */
#include <math.h>
#include <stdlib.h>

#include "clock.h"
#include "deadline.h"

static struct event *timer;
static double armed_for = INFINITY; /* the deadline the timer is set for */
/* The heap holds each deadline's time beside it, so that sifting compares without
 * touching the deadlines themselves (a session's thousands of parked requests leaving at
 * once were mostly cache misses on them). */
struct slot {
	double at;
	struct deadline *d;
};
static struct slot *heap;
static size_t heap_len, heap_cap;

static void heap_put(size_t i, struct slot s)
{
	heap[i] = s;
	s.d->heap_index = i;
}

static void sift_up(size_t i)
{
	struct slot s = heap[i];
	while (i > 0 && heap[(i - 1) / 2].at > s.at) {
		heap_put(i, heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_put(i, s);
}

static void sift_down(size_t i)
{
	struct slot s = heap[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= heap_len)
			break;
		if (c + 1 < heap_len && heap[c + 1].at < heap[c].at)
			c++;
		if (heap[c].at >= s.at)
			break;
		heap_put(i, heap[c]);
		i = c;
	}
	heap_put(i, s);
}

static void heap_remove(struct deadline *d)
{
	size_t i = d->heap_index;
	d->heap_index = DEADLINE_UNSET;
	if (--heap_len == i)
		return;
	heap_put(i, heap[heap_len]);
	sift_down(i);
	sift_up(heap[i].d->heap_index);
}

/* rearm: points the one timer at the earliest deadline, if that changed. */
static void rearm(void)
{
	double next = heap_len ? heap[0].at : INFINITY;
	if (next == armed_for)
		return;
	armed_for = next;
	if (isinf(next)) {
		evtimer_del(timer);
		return;
	}
	double in = next - clock_now();
	if (in < 0)
		in = 0;
	if (in > 86400) /* wake daily for far deadlines; on_timer just rearms */
		in = 86400;
	struct timeval tv = {(time_t)in, (suseconds_t)((in - floor(in)) * 1e6) + 1};
	evtimer_add(timer, &tv);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	armed_for = INFINITY;
	double now = clock_now();
	while (heap_len && heap[0].at <= now) {
		struct deadline *d = heap[0].d;
		heap_remove(d);
		d->expire(d);
	}
	rearm();
}

void deadline_init(struct event_base *base)
{
	timer = evtimer_new(base, on_timer, NULL);
}

void deadline_fini(void)
{
	if (timer)
		event_free(timer);
	timer = NULL;
	while (heap_len)
		heap[--heap_len].d->heap_index = DEADLINE_UNSET;
	free(heap);
	heap = NULL;
	heap_cap = 0;
	armed_for = INFINITY;
}

void deadline_prepare(struct deadline *d, void (*expire)(struct deadline *d))
{
	d->at = INFINITY;
	d->heap_index = DEADLINE_UNSET;
	d->expire = expire;
}

int deadline_set(struct deadline *d, double seconds)
{
	deadline_clear(d);
	if (heap_len == heap_cap) {
		size_t cap = heap_cap ? heap_cap * 2 : 64;
		struct slot *h = realloc(heap, cap * sizeof *h);
		if (!h)
			return -1;
		heap = h;
		heap_cap = cap;
	}
	d->at = clock_now() + seconds;
	heap_put(heap_len++, (struct slot){d->at, d});
	sift_up(d->heap_index);
	rearm();
	return 0;
}

/* shrink: gives back half of a large heap that is under a quarter full (after thousands of
 * parked requests left), so that it does not keep its peak size for ever. */
static void shrink(void)
{
	if (heap_cap <= 1024 || heap_len >= heap_cap / 4)
		return;
	struct slot *h = realloc(heap, heap_cap / 2 * sizeof *h);
	if (h) {
		heap = h;
		heap_cap /= 2;
	}
}

void deadline_clear(struct deadline *d)
{
	if (d->heap_index == DEADLINE_UNSET)
		return;
	heap_remove(d);
	d->at = INFINITY;
	shrink();
	rearm();
}

bool deadline_is_set(const struct deadline *d)
{
	return d->heap_index != DEADLINE_UNSET;
}

double deadline_left(const struct deadline *d)
{
	double left = d->at - clock_now();
	return deadline_is_set(d) && left > 0 ? left : 0;
}
