/* queue.h: the queue object: FIFO, LIFO or priority, bounded or not, with parked getters,
 * putters and joiners served strictly in arrival order. */
#ifndef BROKER_QUEUE_H
#define BROKER_QUEUE_H

#include "object.h"

#include "session.h"

extern const struct obj_class queue_class;

/* An item delivered to a getter that must confirm it (PROTOCOL.md "Confirmed delivery"). */
extern const struct holding_class delivery_class;

#endif
