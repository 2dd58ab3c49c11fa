/* ring.h: growing the array behind a ring buffer (queues' items, pipes' inboxes). */
#ifndef BROKER_RING_H
#define BROKER_RING_H

#include <stddef.h>

/* ring_grow: the array of a ring of *cap elements of elem bytes, count of them from index
 * *head, with room for one more: base itself when there is room, else a new array twice as
 * large (first elements at least) holding them in order from index 0 (*cap and *head
 * updated, base freed). NULL when out of memory, base then unchanged. */
void *ring_grow(void *base, size_t elem, size_t *cap, size_t *head, size_t count, size_t first);

#endif
