/* mem.c: counting what brokerd allocates. brokerd replaces malloc and friends (as glibc
 * allows: "Replacing malloc") with wrappers that add up the usable size of each block, so
 * the figure is exact and costs a few nanoseconds per call. Under AddressSanitizer, whose
 * allocator must stay in place, its own count is used instead. */
#include <event2/event.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "mem.h"

#define MMAP_THRESHOLD (128 << 10) /* blocks this large are mapped on their own */
/* A trim once this much was freed since the last one, and a 16th of the peak; below
 * SMALL_HEAP in use, where a trim costs microseconds, also every SMALL_TRIM_EVERY seconds
 * (pages freed by churn, not by a drop in use, come back too). */
#define TRIM_MIN ((size_t)256 << 10)
#define SMALL_HEAP ((size_t)64 << 20)
#define SMALL_TRIM_EVERY 2

static size_t limit;
static unsigned long long refused;
static struct event *trim_timer;
static size_t high_water; /* the most used at a look since the last trim */
static int idle_ticks;    /* looks since the last trim */

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

/* on_trim_timer: gives freed memory back once a burst is over (malloc_trim walks the
 * heap: a few ms for a large one, at most once a second and only after a large free). */
static void on_trim_timer(evutil_socket_t fd, short what, void *arg)
{
	size_t now = mem_used();
	(void)fd, (void)what, (void)arg;
	if (now > high_water)
		high_water = now;
	size_t freed = high_water - now;
	bool burst = freed >= TRIM_MIN && (now < SMALL_HEAP || freed >= high_water / 16);
	if (!burst && !(now < SMALL_HEAP && ++idle_ticks >= SMALL_TRIM_EVERY))
		return;
	idle_ticks = 0;
#ifndef MEM_ASAN
	malloc_trim(0);
#endif
	high_water = now;
}

void mem_start(struct event_base *base)
{
	struct timeval second = {1, 0};
#ifndef MEM_ASAN
	/* fixed: glibc would otherwise raise it after each large free, keeping big values in
	 * the heap, where their pages stay after they are freed */
	mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
#endif
	trim_timer = event_new(base, -1, EV_PERSIST, on_trim_timer, NULL);
	if (trim_timer)
		event_add(trim_timer, &second);
}

void mem_stop(void)
{
	if (trim_timer)
		event_free(trim_timer);
	trim_timer = NULL;
}

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
