/* ring.c: see ring.h. */
#include "ring.h"

#include <stdlib.h>
#include <string.h>

void *ring_grow(void *base, size_t elem, size_t *cap, size_t *head, size_t count, size_t first)
{
	if (count < *cap)
		return base;
	size_t n = *cap ? *cap * 2 : first;
	char *to = malloc(n * elem);
	if (!to)
		return NULL;
	size_t tail = *cap - *head < count ? *cap - *head : count; /* up to the array's end */
	if (count) {
		memcpy(to, (char *)base + *head * elem, tail * elem);
		memcpy(to + tail * elem, base, (count - tail) * elem);
	}
	free(base);
	*cap = n;
	*head = 0;
	return to;
}
