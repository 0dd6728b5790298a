/* A driver context's cache of verified paths (core/path_cache.c), handed
   to drivers as the path_cache_* services (core/driver.h). */
#ifndef POLYTLS_CORE_PATH_CACHE_H
#define POLYTLS_CORE_PATH_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "driver.h"

/* Limits: longer or larger sent chains, and longer paths, are not cached. */
#define PTLS_PATH_CACHE_SLOTS 8
#define PTLS_PATH_MAX_SENT 16
#define PTLS_PATH_MAX_ELEMS (PTLS_PATH_MAX_SENT + 1) /* every sent certificate plus the anchor */
#define PTLS_PATH_MAX_BYTES 65536u                   /* the sent certificates together; the anchor alone */

/* An empty cache, or NULL without memory. */
polytls_path_cache *ptls_path_cache_new(void);
/* NULL is fine. */
void ptls_path_cache_free(polytls_path_cache *pc);

/* The path stored before for exactly these sent certificates (the same
   count, the same bytes in the same order): fills path[0..n) — pointing
   into sent[], and into *anchor_copy (malloc'd, the caller frees it; NULL
   when the path ends in a sent certificate) for the anchor — and returns
   n. 0 on a miss: nothing cached, a path longer than cap, or no memory for
   the copy. */
size_t ptls_path_cache_find(polytls_path_cache *pc, const polytls_drv_blob *sent, size_t n_sent,
                            polytls_drv_blob *path, size_t cap, uint8_t **anchor_copy);

/* Remembers path[0..n) built for these sent certificates. Every element
   must BE one of sent[] (the same data pointer), except the last one when
   anchor is not NULL and anchor->data is that element's data pointer (the
   anchor comes from the driver's trust list). Anything else is not stored:
   never cache a guess. Best effort (limits, no memory: nothing stored); a
   full cache replaces its oldest entry; a chain already known is kept. */
void ptls_path_cache_store(polytls_path_cache *pc, const polytls_drv_blob *sent, size_t n_sent,
                           const polytls_drv_blob *path, size_t n, const polytls_drv_blob *anchor);

#endif /* POLYTLS_CORE_PATH_CACHE_H */
