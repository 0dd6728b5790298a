/*
 * Counts every malloc, calloc, realloc and free of the process (libpolytls,
 * the TLS libraries and their crypto libraries all call the C library's
 * allocator). The bench executable exports these symbols, so the dynamic
 * linker binds every library's calls to them; they forward to the real
 * allocator found with dlsym(RTLD_NEXT). dlsym itself may allocate before
 * the real functions are known: those few requests are served from a small
 * static arena and never freed.
 */
#define _GNU_SOURCE
#include "bench.h"

#if defined(__SANITIZE_ADDRESS__)
/* AddressSanitizer owns the allocator (and calls malloc before its own
   thread state exists): no counting in sanitizer builds. */
bool bench_alloc_counting(void) { return false; }
bench_alloc_stats bench_alloc_now(void)
{
    bench_alloc_stats s = { 0, 0, 0 };
    return s;
}
#else
bool bench_alloc_counting(void) { return true; }

#include <dlfcn.h>
#include <malloc.h>
#include <stdatomic.h>
#include <string.h>

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);

static _Atomic uint64_t n_allocs, n_frees;
static _Atomic int64_t live;

static _Alignas(16) unsigned char arena[8192];
static size_t arena_used;
static int resolving;

static bool in_arena(const void *p)
{
    return (const unsigned char *)p >= arena && (const unsigned char *)p < arena + sizeof arena;
}

static void *arena_alloc(size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (arena_used + n > sizeof arena)
        return NULL;
    void *p = arena + arena_used;
    arena_used += n;
    return p;
}

static void resolve(void)
{
    if (real_malloc || resolving)
        return;
    resolving = 1;
    real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
    real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
    real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
    real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
    resolving = 0;
}

static void account(void *p, int sign)
{
    if (p)
        atomic_fetch_add(&live, sign * (int64_t)malloc_usable_size(p));
}

void *malloc(size_t n)
{
    resolve();
    if (!real_malloc)
        return arena_alloc(n);
    void *p = real_malloc(n);
    atomic_fetch_add(&n_allocs, 1);
    account(p, 1);
    return p;
}

void *calloc(size_t a, size_t b)
{
    resolve();
    if (!real_calloc) {
        void *p = arena_alloc(a * b); /* static storage is zeroed */
        return p;
    }
    void *p = real_calloc(a, b);
    atomic_fetch_add(&n_allocs, 1);
    account(p, 1);
    return p;
}

void *realloc(void *old, size_t n)
{
    resolve();
    if (in_arena(old)) {
        void *p = malloc(n);
        if (p)
            memcpy(p, old, n < 64 ? n : 64); /* arena blocks are tiny; dlsym never reallocs them */
        return p;
    }
    if (!real_realloc)
        return arena_alloc(n);
    if (old)
        account(old, -1);
    void *p = real_realloc(old, n);
    atomic_fetch_add(&n_allocs, 1);
    if (p)
        account(p, 1);
    else if (old)
        account(old, 1); /* the old block is still there */
    return p;
}

void free(void *p)
{
    if (!p || in_arena(p))
        return;
    resolve();
    atomic_fetch_add(&n_frees, 1);
    account(p, -1);
    real_free(p);
}

/* Aligned requests are counted too, so that their free balances. */
int posix_memalign(void **out, size_t align, size_t n)
{
    static int (*real)(void **, size_t, size_t);
    if (!real)
        real = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
    int rc = real(out, align, n);
    if (rc == 0) {
        atomic_fetch_add(&n_allocs, 1);
        account(*out, 1);
    }
    return rc;
}

void *aligned_alloc(size_t align, size_t n)
{
    static void *(*real)(size_t, size_t);
    if (!real)
        real = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "aligned_alloc");
    void *p = real(align, n);
    atomic_fetch_add(&n_allocs, 1);
    account(p, 1);
    return p;
}

bench_alloc_stats bench_alloc_now(void)
{
    bench_alloc_stats s = { atomic_load(&n_allocs), atomic_load(&n_frees), atomic_load(&live) };
    return s;
}
#endif
