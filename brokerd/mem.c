/* mem.c: counting what brokerd allocates. brokerd replaces malloc and friends (as glibc
 * allows: "Replacing malloc") with wrappers that add up the usable size of each block, so
 * the figure is exact and costs a few nanoseconds per call. Under AddressSanitizer, whose
 * allocator must stay in place, its own count is used instead. */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "mem.h"

static size_t limit;
static unsigned long long refused;

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MEM_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define MEM_ASAN 1
#endif

#ifdef MEM_ASAN
size_t __sanitizer_get_current_allocated_bytes(void);

size_t mem_used(void)
{
	return __sanitizer_get_current_allocated_bytes();
}
#else
/* glibc's own allocator, under the names it exports for replacements to call */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);
extern void __libc_free(void *p);

/* Only the loop thread allocates in brokerd, but libraries may start threads: atomic. */
static size_t used;

static void *counted(void *p)
{
	if (p)
		__atomic_fetch_add(&used, malloc_usable_size(p), __ATOMIC_RELAXED);
	return p;
}

static void uncount(void *p)
{
	if (p)
		__atomic_fetch_sub(&used, malloc_usable_size(p), __ATOMIC_RELAXED);
}

size_t mem_used(void)
{
	size_t v = __atomic_load_n(&used, __ATOMIC_RELAXED);
	return v > SIZE_MAX / 2 ? 0 : v; /* a block freed that was never counted: not below 0 */
}

void *malloc(size_t n)
{
	return counted(__libc_malloc(n));
}

void *calloc(size_t n, size_t size)
{
	return counted(__libc_calloc(n, size));
}

void free(void *p)
{
	uncount(p);
	__libc_free(p);
}

void *realloc(void *p, size_t n)
{
	size_t before = p ? malloc_usable_size(p) : 0;
	void *q = __libc_realloc(p, n);
	if (q || n == 0) /* n 0: p was freed */
		__atomic_fetch_sub(&used, before, __ATOMIC_RELAXED);
	return counted(q);
}

void *reallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return realloc(p, n * size);
}

void *memalign(size_t align, size_t n)
{
	return counted(__libc_memalign(align, n));
}

void *aligned_alloc(size_t align, size_t n)
{
	return counted(__libc_memalign(align, n));
}

int posix_memalign(void **out, size_t align, size_t n)
{
	if (align % sizeof(void *) || (align & (align - 1)))
		return 22; /* EINVAL */
	void *p = counted(__libc_memalign(align, n));
	if (!p)
		return 12; /* ENOMEM */
	*out = p;
	return 0;
}

void *valloc(size_t n)
{
	return counted(__libc_memalign((size_t)sysconf(_SC_PAGESIZE), n));
}

void *pvalloc(size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	return counted(__libc_memalign(page, (n + page - 1) / page * page));
}
#endif

void mem_set_limit(size_t max)
{
	limit = max;
}

size_t mem_limit(void)
{
	return limit;
}

/* cgroup_limit: the memory.max of brokerd's cgroup (v2), or 0 when there is none. */
static size_t cgroup_limit(void)
{
	unsigned long long v = 0;
	FILE *f = fopen("/sys/fs/cgroup/memory.max", "r");
	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 0; /* "max" */
		fclose(f);
	}
	return (size_t)v;
}

size_t mem_default_limit(void)
{
	size_t ram = (size_t)sysconf(_SC_PHYS_PAGES) * (size_t)sysconf(_SC_PAGESIZE);
	size_t cg = cgroup_limit();
	return (cg && cg < ram ? cg : ram) / 2;
}

bool mem_refuses(op_ctx *ctx, const struct op_def *d)
{
	if (!limit || !ctx->sess || ctx->batched || !(d->flags & OPF_GROW))
		return false;
	size_t now = mem_used(); /* the request is in memory already, and counted */
	if (now <= limit)
		return false;
	refused++;
	op_fail(ctx, BRK_EOOM,
		"brokerd holds %zu MiB of its max-memory of %zu MiB: ops that store more are "
		"refused until memory is freed (reads, gets and deletes work)",
		now >> 20, limit >> 20);
	return true;
}

unsigned long long mem_refused(void)
{
	return refused;
}
