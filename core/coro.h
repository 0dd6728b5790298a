/* Small stackful coroutines (ucontext) for drivers whose TLS library cannot
   pause inside a synchronous callback: the driver runs the library call in
   a coroutine and yields from inside the callback; the core resumes it once
   the user has answered. The same four functions reach drivers through the
   services table (core/driver.h). */
#ifndef POLYTLS_CORE_CORO_H
#define POLYTLS_CORE_CORO_H

#include <stdbool.h>

#include "polytls/polytls.h"

typedef struct polytls_coro polytls_coro;

/* The size of each coroutine's stack; one inaccessible guard page sits
   below it, so an overflow faults instead of corrupting memory. */
#define PTLS_CORO_STACK_SIZE (256u * 1024u)

/* Creates a coroutine that will run fn(arg) on its own stack; nothing runs
   until the first ptls_coro_resume. OK, INVALID_ARGUMENT (NULL co or fn),
   NO_MEMORY (allocation or mmap failed); *co is written only on OK. */
polytls_status ptls_coro_new(polytls_coro **co, void (*fn)(void *arg), void *arg);

/* Runs the coroutine until fn yields (returns false) or returns (true).
   Resuming a finished coroutine does nothing and returns true. Resuming a
   coroutine from inside itself is a programming error: nothing happens and
   false is returned. Coroutines nest: fn may resume another coroutine. */
bool ptls_coro_resume(polytls_coro *co);

/* Suspends the running coroutine and returns to whoever resumed it; returns
   when it is resumed again. Only from inside fn (at any call depth);
   elsewhere it does nothing. */
void ptls_coro_yield(polytls_coro *co);

/* Frees a coroutine that is done, was never started, or is suspended (its
   stack is abandoned: whatever fn had live on it is never cleaned up, so
   the caller must own nothing there). NULL is ignored. Freeing a coroutine
   from inside itself is refused (nothing happens). */
void ptls_coro_free(polytls_coro *co);

#endif
