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

json_t *proto_reply_ok_new(json_t *result)
{
	return json_pack("{s:b, s:o}", "ok", 1, "result", result ? result : json_null());
}

json_t *proto_reply_error(brk_err err, const char *message)
{
	return json_pack("{s:b, s:s, s:s}", "ok", 0, "error", brk_err_code(err), "message",
			 message ? message : brk_strerror(err));
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
