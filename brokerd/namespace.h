/* namespace.h: the namespace object: named attributes holding JSON values, as
 * multiprocessing's Namespace. */
#ifndef BROKER_NAMESPACE_H
#define BROKER_NAMESPACE_H

#include "object.h"

extern const struct obj_class namespace_class;

#endif
