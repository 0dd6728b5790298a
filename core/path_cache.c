/* Verified paths, kept per driver context (issue 9). A driver hands
   svc->verify the path leaf..anchor its library verified, and rebuilding
   it means parsing the peer's certificates once more on every full
   handshake (GnuTLS: ≈ 0.9 M instructions; wolfSSL: a parse per sent
   certificate, each seeding an RNG from /dev/urandom). The path is a
   function of the certificates as sent and of the context's trust list
   alone (read-only after ctx_init), so it is built once per distinct sent
   chain, matched by exact bytes, and kept as indexes into the sent list
   plus a copy of the anchor's DER. The library still verifies every
   handshake itself; only the path collection is reused.
   A hit copies the anchor out under the lock, so nothing points into an
   entry afterwards, and a full cache replaces its entries oldest first (a
   client that meets many servers keeps the latest ones). */
#include "path_cache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct path_entry {
    size_t n_sent;
    size_t sent_len[PTLS_PATH_MAX_SENT];
    uint8_t *sent;                      /* the sent certificates, concatenated */
    size_t n;                           /* path length */
    uint8_t idx[PTLS_PATH_MAX_ELEMS];   /* path element i = sent certificate idx[i] ... */
    uint8_t *anchor;                    /* ... except the last one when anchor != NULL */
    size_t anchor_len;
} path_entry;

struct polytls_path_cache {
    pthread_mutex_t lock;
    path_entry e[PTLS_PATH_CACHE_SLOTS];
    unsigned used; /* filled slots */
    unsigned next; /* when full: the slot the next new path replaces */
};

polytls_path_cache *ptls_path_cache_new(void)
{
    polytls_path_cache *pc = calloc(1, sizeof *pc);
    if (!pc)
        return NULL;
    if (pthread_mutex_init(&pc->lock, NULL) != 0) {
        free(pc);
        return NULL;
    }
    return pc;
}

void ptls_path_cache_free(polytls_path_cache *pc)
{
    if (!pc)
        return;
    for (unsigned i = 0; i < pc->used; i++) {
        free(pc->e[i].sent);
        free(pc->e[i].anchor);
    }
    pthread_mutex_destroy(&pc->lock);
    free(pc);
}

/* Whether e holds exactly these sent certificates. */
static bool entry_matches(const path_entry *e, const polytls_drv_blob *sent, size_t n_sent)
{
    if (e->n_sent != n_sent)
        return false;
    size_t off = 0;
    for (size_t j = 0; j < n_sent; j++) {
        if (e->sent_len[j] != sent[j].len || (sent[j].len && memcmp(e->sent + off, sent[j].data, sent[j].len) != 0))
            return false;
        off += e->sent_len[j];
    }
    return true;
}

size_t ptls_path_cache_find(polytls_path_cache *pc, const polytls_drv_blob *sent, size_t n_sent,
                            polytls_drv_blob *path, size_t cap, uint8_t **anchor_copy)
{
    size_t n = 0;
    *anchor_copy = NULL;
    if (!pc || !sent || n_sent == 0 || n_sent > PTLS_PATH_MAX_SENT || !path)
        return 0;
    pthread_mutex_lock(&pc->lock);
    for (unsigned i = 0; i < pc->used; i++) {
        const path_entry *e = &pc->e[i];
        if (!entry_matches(e, sent, n_sent))
            continue;
        if (e->n > cap)
            break; /* a miss: the caller's array is too small for it */
        size_t from_sent = e->anchor ? e->n - 1 : e->n;
        if (e->anchor) {
            *anchor_copy = malloc(e->anchor_len ? e->anchor_len : 1);
            if (!*anchor_copy)
                break; /* a miss: the path is built instead */
            memcpy(*anchor_copy, e->anchor, e->anchor_len);
            path[from_sent].data = *anchor_copy;
            path[from_sent].len = e->anchor_len;
        }
        for (size_t k = 0; k < from_sent; k++)
            path[k] = sent[e->idx[k]];
        n = e->n;
        break;
    }
    pthread_mutex_unlock(&pc->lock);
    return n;
}

void ptls_path_cache_store(polytls_path_cache *pc, const polytls_drv_blob *sent, size_t n_sent,
                           const polytls_drv_blob *path, size_t n, const polytls_drv_blob *anchor)
{
    path_entry e;
    memset(&e, 0, sizeof e);
    bool has_anchor = anchor && anchor->data;
    size_t total = 0;

    if (!pc || !sent || !path || n_sent == 0 || n_sent > PTLS_PATH_MAX_SENT || n == 0 ||
        n > PTLS_PATH_MAX_ELEMS || (has_anchor && (path[n - 1].data != anchor->data ||
                                                   path[n - 1].len != anchor->len ||
                                                   anchor->len > PTLS_PATH_MAX_BYTES)))
        return;
    for (size_t j = 0; j < n_sent; j++) {
        if (sent[j].len > PTLS_PATH_MAX_BYTES || (sent[j].len && !sent[j].data))
            return;
        total += sent[j].len;
    }
    if (total > PTLS_PATH_MAX_BYTES)
        return;
    for (size_t i = 0; i < (has_anchor ? n - 1 : n); i++) {
        size_t j = 0;
        while (j < n_sent && (path[i].data != sent[j].data || path[i].len != sent[j].len))
            j++;
        if (j == n_sent)
            return; /* not one of the sent certificates: never cache a guess */
        e.idx[i] = (uint8_t)j;
    }
    e.sent = malloc(total ? total : 1);
    e.anchor = has_anchor ? malloc(anchor->len ? anchor->len : 1) : NULL;
    if (!e.sent || (has_anchor && !e.anchor)) {
        free(e.sent);
        free(e.anchor);
        return;
    }
    size_t off = 0;
    for (size_t j = 0; j < n_sent; j++) {
        if (sent[j].len)
            memcpy(e.sent + off, sent[j].data, sent[j].len);
        e.sent_len[j] = sent[j].len;
        off += sent[j].len;
    }
    if (has_anchor) {
        if (anchor->len)
            memcpy(e.anchor, anchor->data, anchor->len);
        e.anchor_len = anchor->len;
    }
    e.n_sent = n_sent;
    e.n = n;

    pthread_mutex_lock(&pc->lock);
    bool known = false;
    for (unsigned i = 0; i < pc->used && !known; i++)
        known = entry_matches(&pc->e[i], sent, n_sent);
    if (!known) {
        path_entry *slot;
        if (pc->used < PTLS_PATH_CACHE_SLOTS) {
            slot = &pc->e[pc->used++];
        } else {
            slot = &pc->e[pc->next];
            pc->next = (pc->next + 1) % PTLS_PATH_CACHE_SLOTS;
            free(slot->sent);
            free(slot->anchor);
        }
        *slot = e;
        e.sent = e.anchor = NULL;
    }
    pthread_mutex_unlock(&pc->lock);
    free(e.sent);
    free(e.anchor);
}
