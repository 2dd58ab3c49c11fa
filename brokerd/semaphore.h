/* semaphore.h: Semaphore and BoundedSemaphore; permits are held by sessions. */
#ifndef BROKER_SEMAPHORE_H
#define BROKER_SEMAPHORE_H

#include "object.h"
#include "session.h"

extern const struct obj_class semaphore_class;

/* Permits a session holds (sessions list them). */
extern const struct holding_class sem_holding_class;

#endif
