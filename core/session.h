/* Client sessions (polytls_session): what resuming needs, serialisable, and
   the "lineage" flag that lets one failed connection invalidate every
   session it offered or handed out. */
#ifndef POLYTLS_CORE_SESSION_H
#define POLYTLS_CORE_SESSION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "polytls/polytls.h"

/* Shared by a connection, the session it was started with and every session
   it hands out: once set, none of them resumes again. */
typedef struct ptls_lineage {
    atomic_uint refs;
    atomic_bool invalidated;
} ptls_lineage;

ptls_lineage *ptls_lineage_new(void);
ptls_lineage *ptls_lineage_ref(ptls_lineage *l);
void ptls_lineage_unref(ptls_lineage *l);
void ptls_lineage_invalidate(ptls_lineage *l);

struct polytls_session {
    atomic_uint refs;              /* the user's handle + connections offering it */
    /* What the backend's session_parse made of blob (set once, by the first
       connection that offers the session), and who frees it. */
    _Atomic(void *) parsed;
    void (*parsed_free)(void *parsed);
    ptls_lineage *lineage;
    char *backend;                 /* driver name */
    char *host;                    /* the client's normalised server_hostname */
    bool host_is_ip;
    polytls_certificate **chain;   /* the verified chain, leaf first, trust anchor last (referenced,
                                      parsed once: every resumed connection shares them) */
    size_t n_chain;
    uint8_t *blob;                 /* the backend's serialised session */
    size_t blob_len;
};

/* Takes over blob (malloc'd); copies everything else. lineage is referenced. */
polytls_status ptls_session_new(const char *backend, const char *host, bool host_is_ip,
                                polytls_certificate *const *chain, size_t n, uint8_t *blob, size_t blob_len,
                                ptls_lineage *lineage, polytls_session **out);

/* A connection keeps its own reference, so the user may free theirs. */
polytls_session *ptls_session_ref(polytls_session *s);
/* The backend's parsed form of the session, made once (thread-safe). */
struct polytls_driver;
polytls_status ptls_session_parsed(polytls_session *s, const struct polytls_driver *drv, void **parsed);

#endif
