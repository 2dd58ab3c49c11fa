/* barrier.h: the Barrier object; a party whose session ends breaks the round it waits in. */
#ifndef BROKER_BARRIER_H
#define BROKER_BARRIER_H

#include "object.h"

extern const struct obj_class barrier_class;

#endif
