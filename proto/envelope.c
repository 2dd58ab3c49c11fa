/* envelope.c: the request/reply envelopes described in PROTOCOL.md "Envelope". */
#include <string.h>

#include "envelope.h"

json_t *proto_request_new(const char *op, const char *name, json_t *args)
{
	json_t *req = args ? args : json_object();
	if (!req || !json_is_object(req) || !op) {
		json_decref(req);
		return NULL;
	}
	if (json_object_set_new(req, "op", json_string(op)) != 0 ||
	    (name && json_object_set_new(req, "name", json_string(name)) != 0)) {
		json_decref(req);
		return NULL;
	}
	return req;
}

/* Replies are built member by member: json_pack would parse its format on every reply. */

json_t *proto_reply_ok_new(json_t *result)
{
	json_t *reply = json_object();
	if (!result)
		result = json_null();
	if (!reply || json_object_set_new_nocheck(reply, "ok", json_true())) {
		json_decref(reply);
		json_decref(result); /* stolen, even on failure */
		return NULL;
	}
	if (json_object_set_new_nocheck(reply, "result", result)) {
		json_decref(reply);
		return NULL;
	}
	return reply;
}

json_t *proto_reply_error(brk_err err, const char *message)
{
	json_t *reply = json_object();
	if (!reply || json_object_set_new_nocheck(reply, "ok", json_false()) ||
	    json_object_set_new_nocheck(reply, "error", json_string(brk_err_code(err))) ||
	    json_object_set_new(reply, "message",
				json_string(message ? message : brk_strerror(err)))) {
		json_decref(reply);
		return NULL;
	}
	return reply;
}

brk_err proto_reply_parse(const json_t *reply, json_t **result, const char **message)
{
	json_t *ok = json_object_get(reply, "ok");
	if (!json_is_boolean(ok))
		return BRK_EPROTO;
	if (json_is_true(ok)) {
		json_t *r = json_object_get(reply, "result");
		if (!r)
			return BRK_EPROTO;
		if (result)
			*result = r;
		return BRK_OK;
	}
	const char *code = json_string_value(json_object_get(reply, "error"));
	if (!code)
		return BRK_EPROTO;
	if (message)
		*message = json_string_value(json_object_get(reply, "message"));
	brk_err err = brk_err_from_code(code);
	return err == BRK_OK ? BRK_EPROTO : err;
}

char *proto_encode(const json_t *value, size_t *len)
{
	char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
	if (text && len)
		*len = strlen(text);
	return text;
}
