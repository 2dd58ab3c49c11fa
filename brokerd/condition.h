/* condition.h: the Condition object, bound to a named Lock or RLock. */
#ifndef BROKER_CONDITION_H
#define BROKER_CONDITION_H

#include "object.h"

extern const struct obj_class condition_class;

#endif
