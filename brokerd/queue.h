/* queue.h: the queue object: FIFO, LIFO or priority, bounded or not, with parked getters,
 * putters and joiners served strictly in arrival order. */
#ifndef BROKER_QUEUE_H
#define BROKER_QUEUE_H

#include "object.h"

extern const struct obj_class queue_class;

#define QUEUE_PEEK_MAX 100 /* items one queue.peek returns at most */

#endif
