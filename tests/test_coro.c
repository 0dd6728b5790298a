/* Unit tests of the coroutines (core/coro.c): ping-pong with values, yields
   from deep inside nested calls, coroutines resuming coroutines, freeing in
   every state, many coroutines at once, the stack size and guard page, and
   misuse. Meant to pass under -Db_sanitize=address,undefined and valgrind
   (--error-exitcode=1 --leak-check=full). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "coro.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

/* ---- ping-pong: values cross in both directions, in order ---- */

typedef struct pingpong {
    polytls_coro *co;
    int to_co;      /* written by the caller before each resume */
    int from_co;    /* written by the coroutine before each yield */
    int log[64];
    int n_log;
} pingpong;

static void pingpong_fn(void *arg)
{
    pingpong *p = arg;
    for (int i = 0; i < 10; i++) {
        p->log[p->n_log++] = 100 + p->to_co; /* what the caller sent */
        p->from_co = i * i;
        ptls_coro_yield(p->co);
    }
    p->log[p->n_log++] = 999;
    p->from_co = -1;
}

static void ping_pong(void **state)
{
    (void)state;
    pingpong p;
    memset(&p, 0, sizeof p);
    assert_int_equal(ptls_coro_new(&p.co, pingpong_fn, &p), POLYTLS_OK);
    assert_non_null(p.co);
    assert_int_equal(p.n_log, 0); /* nothing runs before the first resume */
    for (int i = 0; i < 10; i++) {
        p.to_co = i;
        assert_false(ptls_coro_resume(p.co));
        assert_int_equal(p.from_co, i * i);
        p.log[p.n_log++] = i;
    }
    p.to_co = 42;
    assert_true(ptls_coro_resume(p.co));
    assert_int_equal(p.from_co, -1);
    /* the interleaving: coroutine entry, then caller, alternately */
    assert_int_equal(p.n_log, 21);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(p.log[2 * i], 100 + i);
        assert_int_equal(p.log[2 * i + 1], i);
    }
    assert_int_equal(p.log[20], 999);
    /* resuming a finished coroutine does nothing */
    assert_true(ptls_coro_resume(p.co));
    assert_int_equal(p.n_log, 21);
    ptls_coro_free(p.co);
}

/* ---- yields from deep inside nested calls keep every frame intact ---- */

typedef struct deep {
    polytls_coro *co;
    int yields;
} deep;

static int recurse(deep *d, int depth)
{
    volatile int local[16];
    for (int i = 0; i < 16; i++)
        local[i] = depth * 16 + i;
    int below = 0;
    if (depth > 0)
        below = recurse(d, depth - 1);
    if (depth % 10 == 0) {
        d->yields++;
        ptls_coro_yield(d->co);
    }
    int sum = 0;
    for (int i = 0; i < 16; i++) {
        if (local[i] != depth * 16 + i)
            return -1000000; /* a frame was corrupted across a switch */
        sum += local[i];
    }
    return below < 0 ? below : below + sum;
}

static int deep_result;

static void deep_fn(void *arg)
{
    deep *d = arg;
    deep_result = recurse(d, 100);
}

static void nested_calls(void **state)
{
    (void)state;
    deep d = {NULL, 0};
    assert_int_equal(ptls_coro_new(&d.co, deep_fn, &d), POLYTLS_OK);
    int resumes = 0;
    while (!ptls_coro_resume(d.co)) {
        resumes++;
        /* the caller's own stack is used in between */
        volatile char scratch[4096];
        memset((char *)scratch, resumes, sizeof scratch);
    }
    assert_int_equal(resumes, 11); /* depths 100, 90, ..., 0 */
    assert_int_equal(d.yields, 11);
    int want = 0;
    for (int depth = 0; depth <= 100; depth++)
        for (int i = 0; i < 16; i++)
            want += depth * 16 + i;
    assert_int_equal(deep_result, want);
    ptls_coro_free(d.co);
}

/* ---- a coroutine that resumes another one ---- */

typedef struct pair {
    polytls_coro *outer, *inner;
    char log[64];
    int n;
} pair;

static void inner_fn(void *arg)
{
    pair *p = arg;
    p->log[p->n++] = 'a';
    ptls_coro_yield(p->inner); /* back to outer */
    p->log[p->n++] = 'b';
    ptls_coro_yield(p->inner);
    p->log[p->n++] = 'c';
}

static void outer_fn(void *arg)
{
    pair *p = arg;
    p->log[p->n++] = '1';
    assert_false(ptls_coro_resume(p->inner));
    p->log[p->n++] = '2';
    ptls_coro_yield(p->outer); /* back to main; inner stays suspended */
    p->log[p->n++] = '3';
    assert_false(ptls_coro_resume(p->inner));
    p->log[p->n++] = '4';
    assert_true(ptls_coro_resume(p->inner));
    p->log[p->n++] = '5';
}

static void coroutine_in_coroutine(void **state)
{
    (void)state;
    pair p;
    memset(&p, 0, sizeof p);
    assert_int_equal(ptls_coro_new(&p.outer, outer_fn, &p), POLYTLS_OK);
    assert_int_equal(ptls_coro_new(&p.inner, inner_fn, &p), POLYTLS_OK);
    assert_false(ptls_coro_resume(p.outer));
    p.log[p.n++] = 'M';
    /* the inner one may also be resumed from main while outer is suspended */
    assert_true(ptls_coro_resume(p.outer));
    p.log[p.n] = '\0';
    assert_string_equal(p.log, "1a2M3b4c5");
    ptls_coro_free(p.inner);
    ptls_coro_free(p.outer);
}

/* ---- free in every state ---- */

static int never_ran;

static void never_fn(void *arg)
{
    (void)arg;
    never_ran = 1;
}

static void yield_forever_fn(void *arg)
{
    polytls_coro **self = arg;
    char big[8192]; /* something live on the abandoned stack */
    memset(big, 7, sizeof big);
    for (;;)
        ptls_coro_yield(*self);
}

static void free_in_every_state(void **state)
{
    (void)state;
    polytls_coro *co = NULL;
    /* never started */
    assert_int_equal(ptls_coro_new(&co, never_fn, NULL), POLYTLS_OK);
    ptls_coro_free(co);
    assert_int_equal(never_ran, 0);
    /* suspended (its stack is abandoned) */
    for (int i = 0; i < 3; i++) {
        static polytls_coro *self;
        assert_int_equal(ptls_coro_new(&self, yield_forever_fn, &self), POLYTLS_OK);
        assert_false(ptls_coro_resume(self));
        assert_false(ptls_coro_resume(self));
        ptls_coro_free(self);
    }
    /* done */
    assert_int_equal(ptls_coro_new(&co, never_fn, NULL), POLYTLS_OK);
    assert_true(ptls_coro_resume(co));
    assert_int_equal(never_ran, 1);
    ptls_coro_free(co);
    /* NULL */
    ptls_coro_free(NULL);
}

/* ---- many coroutines ---- */

typedef struct counter {
    polytls_coro *co;
    int id, steps;
} counter;

static void count_fn(void *arg)
{
    counter *c = arg;
    for (int i = 0; i < 10; i++) {
        c->steps++;
        ptls_coro_yield(c->co);
    }
    c->steps += 1000 + c->id;
}

static void many_coroutines(void **state)
{
    (void)state;
    enum { N = 200 };
    static counter cs[N];
    for (int i = 0; i < N; i++) {
        cs[i].id = i;
        cs[i].steps = 0;
        assert_int_equal(ptls_coro_new(&cs[i].co, count_fn, &cs[i]), POLYTLS_OK);
    }
    /* round-robin: all alive and suspended at once */
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < N; i++) {
            assert_false(ptls_coro_resume(cs[i].co));
            assert_int_equal(cs[i].steps, round + 1);
        }
    }
    for (int i = N - 1; i >= 0; i--) {
        assert_true(ptls_coro_resume(cs[i].co));
        assert_int_equal(cs[i].steps, 10 + 1000 + i);
        ptls_coro_free(cs[i].co);
    }
    /* create/run/free many times: no leak, no exhaustion */
    int runs = RUNNING_ON_VALGRIND ? 200 : 2000;
    for (int i = 0; i < runs; i++) {
        counter c = {NULL, i, 0};
        assert_int_equal(ptls_coro_new(&c.co, count_fn, &c), POLYTLS_OK);
        while (!ptls_coro_resume(c.co))
            ;
        assert_int_equal(c.steps, 10 + 1000 + i);
        ptls_coro_free(c.co);
    }
}

/* ---- the stack really is large, and guarded ---- */

static void big_stack_fn(void *arg)
{
    /* 200 KiB of locals, most of the 256 KiB stack */
    volatile char big[200 * 1024];
    for (size_t i = 0; i < sizeof big; i += 512)
        big[i] = (char)i;
    size_t sum = 0;
    for (size_t i = 0; i < sizeof big; i += 512)
        sum += (unsigned char)big[i];
    *(size_t *)arg = sum;
}

static void large_stack(void **state)
{
    (void)state;
    size_t sum = 0;
    polytls_coro *co;
    assert_int_equal(ptls_coro_new(&co, big_stack_fn, &sum), POLYTLS_OK);
    assert_true(ptls_coro_resume(co));
    size_t want = 0;
    for (size_t i = 0; i < 200 * 1024; i += 512)
        want += (unsigned char)(char)i;
    assert_int_equal(sum, want);
    ptls_coro_free(co);
}

static volatile int overflow_limit = 1 << 30; /* far beyond any stack */

/* Deliberately unbounded in practice: it must hit the guard page. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winfinite-recursion"
static int overflow(int depth)
{
    volatile char frame[1024];
    frame[0] = (char)depth;
    frame[sizeof frame - 1] = (char)depth;
    if (depth >= overflow_limit)
        return 0;
    return overflow(depth + 1) + frame[0] + frame[sizeof frame - 1];
}
#pragma GCC diagnostic pop

static void overflow_fn(void *arg)
{
    (void)arg;
    overflow(0);
}

/* A stack overflow must fault on the guard page (checked in a child
   process), not silently run into other memory. */
static void guard_page(void **state)
{
    (void)state;
    if (RUNNING_ON_VALGRIND)
        skip(); /* valgrind would report the child's (intended) fault */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* quiet child: no core dump, no sanitizer report */
        int devnull_fd = dup(2);
        (void)devnull_fd;
        close(2);
        polytls_coro *co;
        if (ptls_coro_new(&co, overflow_fn, NULL) != POLYTLS_OK)
            _exit(3);
        ptls_coro_resume(co);
        _exit(0); /* reached only if the overflow went unnoticed */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    /* killed by SIGSEGV, or (under ASan) reported and exited non-zero */
    assert_true(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 3));
}

/* ---- misuse is refused, not undefined ---- */

typedef struct misuse {
    polytls_coro *co, *other;
    bool self_resume, done;
} misuse;

static void misuse_fn(void *arg)
{
    misuse *m = arg;
    m->self_resume = ptls_coro_resume(m->co); /* resuming itself: false, no-op */
    ptls_coro_free(m->co);                    /* freeing itself: refused */
    ptls_coro_yield(m->other);                /* yielding a coroutine that is not running: no-op */
    m->done = true;
}

static void misuse_is_refused(void **state)
{
    (void)state;
    misuse m = {NULL, NULL, true, false};
    assert_int_equal(ptls_coro_new(&m.co, misuse_fn, &m), POLYTLS_OK);
    assert_int_equal(ptls_coro_new(&m.other, never_fn, NULL), POLYTLS_OK);
    /* yield outside any coroutine: no-op */
    ptls_coro_yield(m.co);
    ptls_coro_yield(NULL);
    assert_true(ptls_coro_resume(m.co));
    assert_false(m.self_resume);
    assert_true(m.done);
    assert_true(ptls_coro_resume(NULL));
    ptls_coro_free(m.co);
    ptls_coro_free(m.other);

    polytls_coro *co = (polytls_coro *)&m; /* sentinel: must stay untouched */
    assert_int_equal(ptls_coro_new(&co, NULL, NULL), POLYTLS_ERR_INVALID_ARGUMENT);
    assert_ptr_equal(co, (polytls_coro *)&m);
    assert_int_equal(ptls_coro_new(NULL, never_fn, NULL), POLYTLS_ERR_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ping_pong),
        cmocka_unit_test(nested_calls),
        cmocka_unit_test(coroutine_in_coroutine),
        cmocka_unit_test(free_in_every_state),
        cmocka_unit_test(many_coroutines),
        cmocka_unit_test(large_stack),
        cmocka_unit_test(guard_page),
        cmocka_unit_test(misuse_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
