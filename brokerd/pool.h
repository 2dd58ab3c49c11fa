/* pool.h: the task pool object: tasks (a function name and JSON arguments) submitted by
 * clients, handed to parked workers that serve that function, and their outcomes kept for
 * the submitting session. A task in a worker's hands goes back if the worker's session ends. */
#ifndef BROKER_POOL_H
#define BROKER_POOL_H

#include "object.h"

extern const struct obj_class pool_class;

#endif
