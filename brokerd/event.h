/* event.h: the Event object: a flag that waiters block on until it is set. */
#ifndef BROKER_EVENT_H
#define BROKER_EVENT_H

#include "object.h"

extern const struct obj_class event_class;

#endif
