/* op.c: how a handler sets its outcome. */
#include <stdarg.h>
#include <stdio.h>

#include "op.h"

int op_ok(op_ctx *ctx, json_t *result)
{
	if (!result)
		return op_fail(ctx, BRK_EINTERNAL, "out of memory");
	ctx->result = result;
	return 0;
}

int op_fail(op_ctx *ctx, brk_err err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx->msg, sizeof ctx->msg, fmt, ap);
	va_end(ap);
	ctx->err = err;
	return err;
}

int op_ok_container(op_ctx *ctx, json_t *stored)
{
	return op_ok(ctx, ctx->batched ? json_copy(stored) : json_incref(stored));
}
