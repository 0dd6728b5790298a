/* Stackful coroutines on ucontext (getcontext/makecontext/swapcontext).
 *
 * Every stack switch is announced to the tools that track stacks, otherwise
 * they report nonsense or miss real errors:
 *  - AddressSanitizer (only when compiled with -fsanitize=address): each
 *    swapcontext is bracketed by __sanitizer_start_switch_fiber (before,
 *    naming the stack we go to) and __sanitizer_finish_switch_fiber (after,
 *    on the stack we arrived on, learning the bounds of the one we left).
 *    Before a stack is unmapped its shadow is unpoisoned, so the redzones of
 *    frames abandoned on it do not haunt the next mapping at that address.
 *  - Valgrind (when <valgrind/valgrind.h> is available at build time; the
 *    client requests cost nothing outside valgrind): each stack is
 *    registered with VALGRIND_STACK_REGISTER while it exists.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "coro.h"
#include "status.h"

#if defined(__SANITIZE_ADDRESS__)
#define PTLS_CORO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PTLS_CORO_ASAN 1
#endif
#endif

#ifdef PTLS_CORO_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define PTLS_CORO_VALGRIND 1
#endif
#endif

#ifndef MAP_STACK
#define MAP_STACK 0
#endif

struct polytls_coro {
    ucontext_t ctx;    /* the coroutine's saved registers */
    ucontext_t caller; /* where resume was called from */
    void (*fn)(void *arg);
    void *arg;
    uint8_t *map;      /* guard page + stack */
    size_t map_len;
    uint8_t *stack;    /* lowest usable address */
    size_t stack_len;
    bool running;
    bool done;
    unsigned valgrind_id;
    /* The resumer's stack, learnt on every switch into the coroutine, so a
       yield can announce where it goes. */
    const void *caller_bottom;
    size_t caller_size;
};

/* The coroutine running on this thread (NULL: none), so a yield on the
   wrong coroutine, or outside any, is refused instead of corrupting both. */
static _Thread_local polytls_coro *current;

/* ---- stack-switch announcements (no-ops without ASan) ---- */

static void switch_start(void **fake_stack_save, const void *bottom, size_t size)
{
#ifdef PTLS_CORO_ASAN
    __sanitizer_start_switch_fiber(fake_stack_save, bottom, size);
#else
    (void)fake_stack_save, (void)bottom, (void)size;
#endif
}

static void switch_finish(void *fake_stack_save, const void **bottom_old, size_t *size_old)
{
#ifdef PTLS_CORO_ASAN
    __sanitizer_finish_switch_fiber(fake_stack_save, bottom_old, size_old);
#else
    (void)fake_stack_save, (void)bottom_old, (void)size_old;
#endif
}

/* makecontext passes int arguments only, so the pointer travels in two
   halves (the portable reading of the POSIX interface). */
static void trampoline(unsigned hi, unsigned lo)
{
    polytls_coro *co = (polytls_coro *)(uintptr_t)((uint64_t)hi << 32 | lo);
    switch_finish(NULL, &co->caller_bottom, &co->caller_size);
    co->fn(co->arg);
    co->done = true;
    /* NULL: this stack is finished, ASan may drop its fake frames. */
    switch_start(NULL, co->caller_bottom, co->caller_size);
    setcontext(&co->caller);
    /* setcontext only returns on failure, which cannot happen with a
       context saved by swapcontext; there is nowhere sane to go. */
}

/* A few mapped stacks are kept per thread for the next coroutine: mapping
   and unmapping 256 KiB for every handshake cost a dozen page faults each
   time (measured in bench/: wolfSSL client handshakes, docs/performance.md).
   A thread's cache is unmapped when the thread exits. */
#define STACK_CACHE_SLOTS 2

typedef struct stack_cache {
    uint8_t *map[STACK_CACHE_SLOTS];
    size_t map_len[STACK_CACHE_SLOTS];
    size_t n;
} stack_cache;

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static bool cache_key_ok;

static void cache_destroy(void *p)
{
    stack_cache *c = p;
    for (size_t i = 0; i < c->n; i++)
        munmap(c->map[i], c->map_len[i]);
    free(c);
}

static void cache_init(void)
{
    cache_key_ok = pthread_key_create(&cache_key, cache_destroy) == 0;
}

static stack_cache *thread_cache(bool create)
{
    pthread_once(&cache_once, cache_init);
    if (!cache_key_ok)
        return NULL;
    stack_cache *c = pthread_getspecific(cache_key);
    if (!c && create) {
        c = calloc(1, sizeof *c);
        if (c && pthread_setspecific(cache_key, c) != 0) {
            free(c);
            c = NULL;
        }
    }
    return c;
}

/* A mapped stack with its guard page already in place, or NULL. */
static uint8_t *cached_stack(size_t map_len)
{
    stack_cache *c = thread_cache(false);
    if (!c || c->n == 0 || c->map_len[c->n - 1] != map_len)
        return NULL;
    c->n--;
    return c->map[c->n];
}

static void release_stack(uint8_t *map, size_t map_len)
{
    stack_cache *c = thread_cache(true);
    if (c && c->n < STACK_CACHE_SLOTS) {
        c->map[c->n] = map;
        c->map_len[c->n] = map_len;
        c->n++;
        return;
    }
    munmap(map, map_len);
}

polytls_status ptls_coro_new(polytls_coro **out, void (*fn)(void *arg), void *arg)
{
    if (!out || !fn)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "coroutine: NULL %s", out ? "function" : "output");
    polytls_coro *co = calloc(1, sizeof *co);
    if (!co)
        return ptls_fail(POLYTLS_ERR_NO_MEMORY, "coroutine: out of memory");
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0)
        page = 4096;
    size_t map_len = PTLS_CORO_STACK_SIZE + (size_t)page;
    uint8_t *map = cached_stack(map_len);
    bool fresh = map == NULL;
    if (fresh) {
        void *m = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (m == MAP_FAILED) {
            free(co);
            return ptls_fail(POLYTLS_ERR_NO_MEMORY, "coroutine: cannot map a %zu-byte stack", map_len);
        }
        map = m;
    }
    co->stack_len = PTLS_CORO_STACK_SIZE;
    co->map_len = map_len;
    co->map = map;
    co->stack = co->map + page;
    /* Stacks grow down on every platform we build for: the guard goes at
       the low end (a cached stack keeps its guard). */
    if ((fresh && mprotect(co->map, (size_t)page, PROT_NONE) != 0) || getcontext(&co->ctx) != 0) {
        munmap(co->map, co->map_len);
        free(co);
        return ptls_fail(POLYTLS_ERR_NO_MEMORY, "coroutine: cannot prepare the stack");
    }
    co->fn = fn;
    co->arg = arg;
    co->ctx.uc_stack.ss_sp = co->stack;
    co->ctx.uc_stack.ss_size = co->stack_len;
    co->ctx.uc_link = NULL; /* the trampoline switches back itself */
    uint64_t p = (uint64_t)(uintptr_t)co;
    makecontext(&co->ctx, (void (*)(void))trampoline, 2, (unsigned)(p >> 32), (unsigned)(p & 0xffffffffu));
#ifdef PTLS_CORO_VALGRIND
    co->valgrind_id = VALGRIND_STACK_REGISTER(co->stack, co->stack + co->stack_len);
#endif
    *out = co;
    return POLYTLS_OK;
}

bool ptls_coro_resume(polytls_coro *co)
{
    if (!co || co->done)
        return true;
    if (co->running)
        return false;
    co->running = true;
    polytls_coro *outer = current;
    current = co;
    void *fake = NULL;
    switch_start(&fake, co->stack, co->stack_len);
    swapcontext(&co->caller, &co->ctx);
    switch_finish(fake, NULL, NULL);
    current = outer;
    co->running = false;
    return co->done;
}

void ptls_coro_yield(polytls_coro *co)
{
    if (!co || co != current || co->done)
        return;
    void *fake = NULL;
    switch_start(&fake, co->caller_bottom, co->caller_size);
    swapcontext(&co->ctx, &co->caller);
    /* Resumed, possibly from a different place: learn the new caller. */
    switch_finish(fake, &co->caller_bottom, &co->caller_size);
}

void ptls_coro_free(polytls_coro *co)
{
    if (!co || co->running)
        return;
#ifdef PTLS_CORO_VALGRIND
    VALGRIND_STACK_DEREGISTER(co->valgrind_id);
#endif
#ifdef PTLS_CORO_ASAN
    ASAN_UNPOISON_MEMORY_REGION(co->stack, co->stack_len);
#endif
    release_stack(co->map, co->map_len);
    free(co);
}
