/* ops.c: facts about ops that both sides need. */
#include <string.h>

#include "ops.h"

bool proto_op_blocks(const char *op)
{
	static const char *const blocking[] = {
		BRK_OP_QUEUE_PUT,     BRK_OP_QUEUE_GET,   BRK_OP_QUEUE_JOIN, BRK_OP_LOCK_ACQUIRE,
		BRK_OP_RLOCK_ACQUIRE, BRK_OP_SEM_ACQUIRE, BRK_OP_EVENT_WAIT, BRK_OP_BARRIER_WAIT,
		BRK_OP_COND_ACQUIRE,  BRK_OP_COND_WAIT,   BRK_OP_PIPE_SEND,  BRK_OP_PIPE_RECV,
		BRK_OP_PIPE_POLL,     BRK_OP_POOL_RESULT, BRK_OP_POOL_WORK,  BRK_OP_POOL_JOIN};
	for (size_t i = 0; i < sizeof blocking / sizeof *blocking; i++)
		if (strcmp(op, blocking[i]) == 0)
			return true;
	return false;
}
