/* envelope.h: building and reading the JSON request/reply envelopes of the protocol.
 * Ownership follows jansson: a json_t * argument is stolen by functions whose
 * contract says so and borrowed otherwise. */
#ifndef BRK_ENVELOPE_H
#define BRK_ENVELOPE_H

#include <jansson.h>
#include <stddef.h>

#include "brk_error.h"

/* Limits shared by both sides; PROTOCOL.md "Limits" lists them. */
#define PROTO_DEFAULT_MAX_MESSAGE ((size_t)16 << 20)
#define PROTO_MAX_NAME 255
#define PROTO_MAX_BATCH 4096
#define PROTO_MAX_TIMEOUT 1e8 /* seconds (about three years); longer waits: no timeout */
/* Shared state (dict, list, namespace, value, array), by default: one stored value is at
 * most PROTO_DEFAULT_MAX_VALUE bytes as compact JSON and PROTO_DEFAULT_MAX_DEPTH
 * arrays/objects deep; an object holds at most PROTO_DEFAULT_MAX_ELEMENTS keys, items,
 * attributes or array slots. brokerd's settings may change them; "hello" tells. */
#define PROTO_DEFAULT_MAX_VALUE ((size_t)1 << 20)
#define PROTO_DEFAULT_MAX_DEPTH 32
#define PROTO_DEFAULT_MAX_ELEMENTS 1000000
#define PROTO_PARSER_MAX_DEPTH 2048 /* jansson's: deeper JSON text is not decoded at all */

/* proto_request_new: {"op": op, "name": name, ...fields of args}. Steals args (an object,
 * or NULL for none); name may be NULL. Returns a new reference, NULL on bad input/OOM. */
json_t *proto_request_new(const char *op, const char *name, json_t *args);

/* proto_reply_ok_new: {"ok": true, "result": result}. Steals result (NULL means null). */
json_t *proto_reply_ok_new(json_t *result);

/* proto_reply_error: {"ok": false, "error": code, "message": message}. message may be
 * NULL for err's default. Returns a new reference. */
json_t *proto_reply_error(brk_err err, const char *message);

/* proto_reply_parse: reads a reply. On BRK_OK *result borrows the result from reply;
 * otherwise *message borrows the error message (both may be NULL to ignore). A reply that
 * does not follow the envelope gives BRK_EPROTO. */
brk_err proto_reply_parse(const json_t *reply, json_t **result, const char **message);

/* proto_encode: compact JSON text of value, malloc'ed (caller frees), length in *len. */
char *proto_encode(const json_t *value, size_t *len);

#endif
