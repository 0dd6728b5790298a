/* Session-ticket keys of one server.
 *
 * One random 32-byte master secret per generation, kept in memory only.
 * A ticket's key name is the generation (4 bytes, big-endian) followed by
 * 12 random bytes chosen per connection; the key for a name is derived from
 * the master with HMAC-SHA256, so no per-ticket state is kept. Refusing one
 * connection's tickets means remembering its name until every ticket under
 * it has expired (at most `lifetime` seconds). Rotation starts a new
 * generation, which refuses every older ticket at once and forgets the
 * revoked names. */
#include "ticket_keys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "buffer.h"
#include "sha256.h"
#include "status.h"

/* A server under attack could make us remember many names; past this we
   rotate instead, which refuses the same tickets and more. */
#define MAX_REVOKED 65536

void ptls_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
                      uint8_t out[32])
{
    uint8_t k[64] = {0}, pad[64];
    if (key_len > 64)
        ptls_sha256_digest(key, key_len, k);
    else
        memcpy(k, key, key_len);
    ptls_sha256 s;
    for (int i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x36;
    ptls_sha256_init(&s);
    ptls_sha256_update(&s, pad, 64);
    ptls_sha256_update(&s, msg, msg_len);
    uint8_t inner[32];
    ptls_sha256_final(&s, inner);
    for (int i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x5c;
    ptls_sha256_init(&s);
    ptls_sha256_update(&s, pad, 64);
    ptls_sha256_update(&s, inner, sizeof inner);
    ptls_sha256_final(&s, out);
    ptls_wipe(k, sizeof k);
    ptls_wipe(pad, sizeof pad);
    ptls_wipe(inner, sizeof inner);
    ptls_wipe(&s, sizeof s);
}

static bool random_bytes(uint8_t *p, size_t n)
{
    while (n) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        p += got;
        n -= (size_t)got;
    }
    return true;
}

static int64_t now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

void ptls_ticket_keys_init(ptls_ticket_keys *tk)
{
    memset(tk, 0, sizeof *tk);
    pthread_mutex_init(&tk->lock, NULL);
    tk->lifetime = 7200;
}

void ptls_ticket_keys_fini(ptls_ticket_keys *tk)
{
    ptls_wipe(tk->master, sizeof tk->master);
    ptls_wipe(&tk->inner, sizeof tk->inner);
    ptls_wipe(&tk->outer, sizeof tk->outer);
    free(tk->revoked);
    pthread_mutex_destroy(&tk->lock);
}

/* Called with the lock held. */
static void install_master(ptls_ticket_keys *tk, const uint8_t master[32], uint32_t generation)
{
    memcpy(tk->master, master, sizeof tk->master);
    uint8_t pad[64] = {0};
    memcpy(pad, tk->master, sizeof tk->master);
    for (int i = 0; i < 64; i++)
        pad[i] ^= 0x36;
    ptls_sha256_init(&tk->inner);
    ptls_sha256_update(&tk->inner, pad, 64);
    for (int i = 0; i < 64; i++)
        pad[i] ^= 0x36 ^ 0x5c;
    ptls_sha256_init(&tk->outer);
    ptls_sha256_update(&tk->outer, pad, 64);
    ptls_wipe(pad, sizeof pad);
    tk->have_master = true;
    tk->generation = generation;
    tk->n_revoked = 0;
}

/* Called with the lock held. */
static polytls_status new_generation(ptls_ticket_keys *tk)
{
    uint8_t fresh[sizeof tk->master];
    if (!random_bytes(fresh, sizeof fresh))
        return ptls_fail(POLYTLS_ERR_INTERNAL, "no random bytes for a ticket key: %s", strerror(errno));
    install_master(tk, fresh, tk->generation + 1);
    ptls_wipe(fresh, sizeof fresh);
    return POLYTLS_OK;
}

void ptls_ticket_keys_install(ptls_ticket_keys *tk, const uint8_t master[32], uint32_t generation)
{
    pthread_mutex_lock(&tk->lock);
    install_master(tk, master, generation);
    pthread_mutex_unlock(&tk->lock);
}

static void derive(const ptls_ticket_keys *tk, const uint8_t name[PTLS_TICKET_NAME_LEN], uint8_t *key,
                   size_t key_len)
{
    /* HKDF-Expand-like: T(i) = HMAC(master, "polytls ticket key" || name || i). */
    static const char label[] = "polytls ticket key";
    uint8_t msg[sizeof label - 1 + PTLS_TICKET_NAME_LEN + 1];
    memcpy(msg, label, sizeof label - 1);
    memcpy(msg + sizeof label - 1, name, PTLS_TICKET_NAME_LEN);
    for (uint8_t i = 0; key_len; i++) {
        msg[sizeof msg - 1] = i;
        uint8_t block[32];
        ptls_sha256 h = tk->inner;   /* = ptls_hmac_sha256(master, msg) */
        ptls_sha256_update(&h, msg, sizeof msg);
        ptls_sha256_final(&h, block);
        h = tk->outer;
        ptls_sha256_update(&h, block, sizeof block);
        ptls_sha256_final(&h, block);
        ptls_wipe(&h, sizeof h);
        size_t n = key_len < sizeof block ? key_len : sizeof block;
        memcpy(key, block, n);
        ptls_wipe(block, sizeof block);
        key += n;
        key_len -= n;
    }
}

static uint32_t name_generation(const uint8_t name[PTLS_TICKET_NAME_LEN])
{
    return (uint32_t)name[0] << 24 | (uint32_t)name[1] << 16 | (uint32_t)name[2] << 8 | name[3];
}

polytls_status ptls_ticket_keys_issue(ptls_ticket_keys *tk, bool one_key, uint8_t name[PTLS_TICKET_NAME_LEN],
                                      uint8_t *key, size_t key_len)
{
    if (key_len == 0 || key_len > PTLS_TICKET_KEY_MAX)
        return ptls_fail(POLYTLS_ERR_INTERNAL, "ticket key length %zu out of range", key_len);
    pthread_mutex_lock(&tk->lock);
    polytls_status s = tk->have_master ? POLYTLS_OK : new_generation(tk);
    if (s == POLYTLS_OK) {
        name[0] = (uint8_t)(tk->generation >> 24);
        name[1] = (uint8_t)(tk->generation >> 16);
        name[2] = (uint8_t)(tk->generation >> 8);
        name[3] = (uint8_t)tk->generation;
        if (one_key)
            memset(name + 4, 0, PTLS_TICKET_NAME_LEN - 4);
        else if (!random_bytes(name + 4, PTLS_TICKET_NAME_LEN - 4))
            s = ptls_fail(POLYTLS_ERR_INTERNAL, "no random bytes for a ticket name: %s", strerror(errno));
        if (s == POLYTLS_OK)
            derive(tk, name, key, key_len);
    }
    pthread_mutex_unlock(&tk->lock);
    return s;
}

/* Called with the lock held. */
static bool is_revoked(ptls_ticket_keys *tk, const uint8_t name[PTLS_TICKET_NAME_LEN])
{
    for (size_t i = 0; i < tk->n_revoked; i++)
        if (memcmp(tk->revoked[i].name, name, PTLS_TICKET_NAME_LEN) == 0)
            return true;
    return false;
}

bool ptls_ticket_keys_lookup(ptls_ticket_keys *tk, const uint8_t name[PTLS_TICKET_NAME_LEN], uint8_t *key,
                             size_t key_len)
{
    if (key_len == 0 || key_len > PTLS_TICKET_KEY_MAX)
        return false;
    pthread_mutex_lock(&tk->lock);
    bool ok = tk->have_master && name_generation(name) == tk->generation && !is_revoked(tk, name);
    if (ok)
        derive(tk, name, key, key_len);
    pthread_mutex_unlock(&tk->lock);
    return ok;
}

polytls_status ptls_ticket_keys_revoke(ptls_ticket_keys *tk, const uint8_t name[PTLS_TICKET_NAME_LEN],
                                       bool one_key)
{
    pthread_mutex_lock(&tk->lock);
    polytls_status s = POLYTLS_OK;
    if (!tk->have_master || name_generation(name) != tk->generation || is_revoked(tk, name)) {
        /* Already refused. */
    } else if (one_key) {
        s = new_generation(tk);
    } else {
        int64_t t = now();
        size_t kept = 0;
        for (size_t i = 0; i < tk->n_revoked; i++)   /* forget names whose tickets expired */
            if (tk->revoked[i].until > t)
                tk->revoked[kept++] = tk->revoked[i];
        tk->n_revoked = kept;
        if (tk->n_revoked == MAX_REVOKED) {
            s = new_generation(tk);
        } else {
            if (tk->n_revoked == tk->cap_revoked) {
                size_t cap = tk->cap_revoked ? tk->cap_revoked * 2 : 16;
                ptls_revoked_name *grown = realloc(tk->revoked, cap * sizeof *grown);
                if (!grown) {
                    /* Cannot remember it: refuse every ticket instead. */
                    s = new_generation(tk);
                    pthread_mutex_unlock(&tk->lock);
                    return s;
                }
                tk->revoked = grown;
                tk->cap_revoked = cap;
            }
            memcpy(tk->revoked[tk->n_revoked].name, name, PTLS_TICKET_NAME_LEN);
            tk->revoked[tk->n_revoked].until = t + (int64_t)tk->lifetime + 1;
            tk->n_revoked++;
        }
    }
    pthread_mutex_unlock(&tk->lock);
    return s;
}

polytls_status ptls_ticket_keys_rotate(ptls_ticket_keys *tk)
{
    pthread_mutex_lock(&tk->lock);
    polytls_status s = new_generation(tk);
    pthread_mutex_unlock(&tk->lock);
    return s;
}
