/* error.c: the one table behind brk_strerror() and the wire error strings. */
#include <string.h>

#include "brk_error.h"

static const struct {
	const char *code;
	const char *message;
} errors[] = {
#define BRK_ERR_ROW(e, code, msg) [e] = {code, msg},
	BRK_ERROR_TABLE(BRK_ERR_ROW)
#undef BRK_ERR_ROW
};

const char *brk_strerror(brk_err err)
{
	if ((unsigned)err >= BRK_ERR_COUNT)
		return "unknown error";
	return errors[err].message;
}

const char *brk_err_code(brk_err err)
{
	if ((unsigned)err >= BRK_ERR_COUNT)
		return "unknown";
	return errors[err].code;
}

brk_err brk_err_from_code(const char *code)
{
	for (int e = 0; e < BRK_ERR_COUNT; e++)
		if (strcmp(errors[e].code, code) == 0)
			return (brk_err)e;
	return BRK_EPROTO;
}
