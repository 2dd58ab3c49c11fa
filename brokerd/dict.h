/* dict.h: the dict object: keys are JSON scalars compared as in Python (0 and "0" differ,
 * 1 and 1.0 are the same key), values any JSON, insertion ordered. */
#ifndef BROKER_DICT_H
#define BROKER_DICT_H

#include <jansson.h>
#include <stddef.h>

#include "object.h"

extern const struct obj_class dict_class;

/* dict_key_canon: writes key's canonical byte form into buf (size bytes) and its length
 * into *len. Returns buf, a malloc'ed buffer when buf was too small (caller frees), or NULL
 * when key is not a scalar (array/object) or memory ran out. */
char *dict_key_canon(const json_t *key, char *buf, size_t size, size_t *len);

#endif
