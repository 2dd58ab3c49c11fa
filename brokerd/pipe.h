/* pipe.h: the pipe object: two ends, "a" and "b", each held by at most one session, with a
 * bounded inbox per end, EOF when the other end closes, and parked senders, receivers and
 * pollers served strictly in arrival order. */
#ifndef BROKER_PIPE_H
#define BROKER_PIPE_H

#include "object.h"

extern const struct obj_class pipe_class;

#endif
