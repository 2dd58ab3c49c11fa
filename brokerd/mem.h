/* mem.h: how much memory brokerd holds, and max-memory: past it, ops that store more are
 * refused with out_of_memory while reads, gets and deletes go on (as Redis's maxmemory with
 * noeviction). Everything allocated counts: stored values, parked requests, buffers. */
#ifndef BROKER_MEM_H
#define BROKER_MEM_H

#include <stdbool.h>
#include <stddef.h>

#include "op.h"

struct event_base;

/* mem_start: from now on, large blocks are mapped on their own, and freed memory goes
 * back to the system (glibc keeps it otherwise: RSS would stay at its peak after a burst):
 * at the next second when enough was freed since the last trim (256 KiB, and a 16th of the
 * peak once 64 MiB are in use), and every 2 s while under 64 MiB are in use. mem_stop
 * undoes. */
void mem_start(struct event_base *base);
void mem_stop(void);

/* mem_used: bytes allocated now (malloc's usable sizes). */
size_t mem_used(void);

/* mem_set_limit: max-memory in bytes; 0: none. */
void mem_set_limit(size_t max);

/* mem_limit: max-memory in bytes; 0: none. */
size_t mem_limit(void);

/* mem_default_limit: the default max-memory: half of the machine's memory, or of the
 * cgroup's limit when that is lower. */
size_t mem_default_limit(void);

/* mem_refuses: whether op d of ctx (an OPF_GROW op, by a client) finds brokerd past
 * max-memory, counting the request itself (read and decoded): sets out_of_memory on ctx. */
bool mem_refuses(op_ctx *ctx, const struct op_def *d);

/* mem_refused: out_of_memory refusals since start. */
unsigned long long mem_refused(void);

#endif
