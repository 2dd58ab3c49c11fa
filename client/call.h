/* call.h: libbroker's internal helpers for making a call, shared by its source files and
 * not installed or exported. */
#ifndef BROKER_CALL_H
#define BROKER_CALL_H

#include "broker.h"

#define CALL_INTERNAL __attribute__((visibility("hidden")))

/* fail: sets the calling thread's brk_last_error from fmt (NULL: err's default message)
 * and returns err. */
CALL_INTERNAL brk_err fail(brk_err err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* call_new: brk_call of a request built from op, name and args (stolen; NULL for none). */
CALL_INTERNAL brk_err call_new(brk_client *c, const char *op, const char *name, json_t *args,
			       json_t **result);

/* call_size / call_bool: ops whose result is a count or a yes/no. args is stolen. */
CALL_INTERNAL brk_err call_size(brk_client *c, const char *op, const char *name, json_t *args,
				size_t *out);
CALL_INTERNAL brk_err call_bool(brk_client *c, const char *op, const char *name, json_t *args,
				bool *out);

#endif
