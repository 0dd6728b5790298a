/* A server's session-ticket keys, owned by the core so that it can refuse a
   single ticket (the connection that got it failed) or every ticket
   (rotation) the same way on every backend. Drivers reach it through
   svc->ticket_key. */
#ifndef POLYTLS_CORE_TICKET_KEYS_H
#define POLYTLS_CORE_TICKET_KEYS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "polytls/polytls.h"
#include "sha256.h"

#define PTLS_TICKET_NAME_LEN 16
#define PTLS_TICKET_KEY_MAX 64

typedef struct ptls_revoked_name {
    uint8_t name[PTLS_TICKET_NAME_LEN];
    int64_t until;   /* no ticket under this name is valid after this time anyway */
} ptls_revoked_name;

typedef struct ptls_ticket_keys {
    pthread_mutex_t lock;
    bool have_master;
    uint8_t master[32];
    /* HMAC-SHA256 keyed with master: the hash states after the inner and
       outer pads, computed once per generation (halves each derivation). */
    ptls_sha256 inner, outer;
    uint32_t generation;           /* the first 4 bytes of every key name */
    uint32_t lifetime;             /* seconds a ticket lives */
    ptls_revoked_name *revoked;
    size_t n_revoked, cap_revoked;
} ptls_ticket_keys;

void ptls_ticket_keys_init(ptls_ticket_keys *tk);
void ptls_ticket_keys_fini(ptls_ticket_keys *tk);

/* A key name for tickets issued now, and its key (key_len 1..64 bytes).
   one_key: the library uses one key per connection and never shows the
   name again, so all tickets of a generation share one name. */
polytls_status ptls_ticket_keys_issue(ptls_ticket_keys *tk, bool one_key, uint8_t name[PTLS_TICKET_NAME_LEN],
                                      uint8_t *key, size_t key_len);
/* The key for a ticket carrying name, or false: another generation (the key
   was rotated) or a revoked name. */
bool ptls_ticket_keys_lookup(ptls_ticket_keys *tk, const uint8_t name[PTLS_TICKET_NAME_LEN], uint8_t *key,
                             size_t key_len);
/* No ticket under name resumes any more. one_key: the name covers a whole
   generation, so the key is rotated. */
polytls_status ptls_ticket_keys_revoke(ptls_ticket_keys *tk, const uint8_t name[PTLS_TICKET_NAME_LEN],
                                       bool one_key);
/* A new key: tickets of earlier generations are refused. */
polytls_status ptls_ticket_keys_rotate(ptls_ticket_keys *tk);
/* Installs a known master as `generation`, nothing revoked: only for tests
   and fuzzing, which need tickets that stay readable across processes. */
void ptls_ticket_keys_install(ptls_ticket_keys *tk, const uint8_t master[32], uint32_t generation);

/* HMAC-SHA256 (RFC 2104), used to derive the keys. */
void ptls_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
                      uint8_t out[32]);

#endif
