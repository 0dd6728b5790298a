/* polytls_session: construction, the serialised form, invalidation.
 *
 * Serialised form (all integers big-endian), read strictly — a stored
 * session is input like any other:
 *   "PTLSSESS" | version (1) = 1 | backend: len (1) + bytes | host_is_ip (1)
 *   | host: len (2) + bytes | n_chain (1, 1..16) | each certificate: len (3)
 *   + DER | backend session: len (4, 1..65536) + bytes
 *   | seal: HMAC-SHA256(session key, everything before) (32)
 * The seal is checked before anything else is read: libraries' session
 * parsers are not written for hostile input (GnuTLS 3.7's aborts on some),
 * so only bytes this process (or one sharing its key) wrote reach them.
 * The resumption secret is inside the backend's bytes: they are as secret
 * as a private key. */
#include "session.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "buffer.h"
#include "driver.h"
#include "status.h"
#include "ticket_keys.h"

#define MAGIC "PTLSSESS"
#define FORMAT_VERSION 1
#define MAX_CHAIN 16
#define MAX_BLOB 65536
#define SEAL_LEN 32

/* ------------------------------------------------------------ the seal -- */

static pthread_mutex_t key_lock = PTHREAD_MUTEX_INITIALIZER;
static bool key_set;
static uint8_t session_key[32];

polytls_status polytls_session_set_key(const uint8_t key[32])
{
    if (!key)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "session_set_key: key is NULL");
    pthread_mutex_lock(&key_lock);
    memcpy(session_key, key, sizeof session_key);
    key_set = true;
    pthread_mutex_unlock(&key_lock);
    return POLYTLS_OK;
}

static polytls_status seal(const uint8_t *data, size_t len, uint8_t out[SEAL_LEN])
{
    pthread_mutex_lock(&key_lock);
    if (!key_set) {
        size_t got = 0;
        while (got < sizeof session_key) {
            ssize_t n = getrandom(session_key + got, sizeof session_key - got, 0);
            if (n <= 0) {
                pthread_mutex_unlock(&key_lock);
                return ptls_fail(POLYTLS_ERR_INTERNAL, "no random bytes for the session key");
            }
            got += (size_t)n;
        }
        key_set = true;
    }
    ptls_hmac_sha256(session_key, sizeof session_key, data, len, out);
    pthread_mutex_unlock(&key_lock);
    return POLYTLS_OK;
}

static bool same_seal(const uint8_t *a, const uint8_t *b)
{
    uint8_t diff = 0;   /* constant time: the seal is a MAC */
    for (size_t i = 0; i < SEAL_LEN; i++)
        diff |= a[i] ^ b[i];
    return diff == 0;
}

ptls_lineage *ptls_lineage_new(void)
{
    ptls_lineage *l = malloc(sizeof *l);
    if (!l)
        return NULL;
    atomic_init(&l->refs, 1);
    atomic_init(&l->invalidated, false);
    return l;
}

ptls_lineage *ptls_lineage_ref(ptls_lineage *l)
{
    atomic_fetch_add(&l->refs, 1);
    return l;
}

void ptls_lineage_unref(ptls_lineage *l)
{
    if (l && atomic_fetch_sub(&l->refs, 1) == 1)
        free(l);
}

void ptls_lineage_invalidate(ptls_lineage *l)
{
    if (l)
        atomic_store(&l->invalidated, true);
}

void polytls_session_free(polytls_session *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    void *parsed = atomic_load(&s->parsed);
    if (parsed && s->parsed_free)
        s->parsed_free(parsed);
    ptls_lineage_unref(s->lineage);
    free(s->backend);
    free(s->host);
    for (size_t i = 0; i < s->n_chain; i++)
        polytls_certificate_unref(s->chain[i]);
    free(s->chain);
    if (s->blob)
        ptls_wipe(s->blob, s->blob_len);
    free(s->blob);
    free(s);
}

bool polytls_session_invalidated(const polytls_session *s)
{
    return !s || atomic_load(&s->lineage->invalidated);
}

static polytls_session *session_alloc(size_t n_chain)
{
    polytls_session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    atomic_init(&s->refs, 1);
    atomic_init(&s->parsed, NULL);
    s->chain = calloc(n_chain ? n_chain : 1, sizeof *s->chain);
    if (!s->chain) {
        free(s);
        return NULL;
    }
    return s;
}

polytls_status ptls_session_new(const char *backend, const char *host, bool host_is_ip,
                                polytls_certificate *const *chain, size_t n, uint8_t *blob, size_t blob_len,
                                ptls_lineage *lineage, polytls_session **out)
{
    if (n == 0 || n > MAX_CHAIN || blob_len == 0 || blob_len > MAX_BLOB) {
        if (blob)
            ptls_wipe(blob, blob_len);
        free(blob);
        return ptls_fail(POLYTLS_ERR_INTERNAL, "session: chain of %zu certificates, %zu bytes of backend "
                         "session (expected 1..%d and 1..%d)", n, blob_len, MAX_CHAIN, MAX_BLOB);
    }
    polytls_session *s = session_alloc(n);
    if (!s) {
        ptls_wipe(blob, blob_len);
        free(blob);
        return ptls_fail(POLYTLS_ERR_NO_MEMORY, "out of memory");
    }
    s->blob = blob;
    s->blob_len = blob_len;
    s->lineage = ptls_lineage_ref(lineage);
    s->backend = strdup(backend);
    s->host = strdup(host);
    s->host_is_ip = host_is_ip;
    bool ok = s->backend && s->host;
    for (size_t i = 0; ok && i < n; i++) {
        const uint8_t *der;
        size_t len;
        ok = polytls_certificate_der(chain[i], &der, &len) == POLYTLS_OK && len > 0 && len < (1u << 24);
        if (ok) {
            s->chain[i] = polytls_certificate_ref(chain[i]);
            s->n_chain = i + 1;
        }
    }
    if (!ok) {
        polytls_session_free(s);
        return ptls_fail(POLYTLS_ERR_NO_MEMORY, "out of memory (or an unusable certificate) building a session");
    }
    *out = s;
    return POLYTLS_OK;
}

polytls_session *ptls_session_ref(polytls_session *s)
{
    atomic_fetch_add(&s->refs, 1);
    return s;
}

polytls_status ptls_session_parsed(polytls_session *s, const polytls_driver *drv, void **parsed)
{
    void *p = atomic_load(&s->parsed);
    if (!p) {
        char err[160] = "";
        polytls_status st = drv->session_parse(s->blob, s->blob_len, &p, err, sizeof err);
        if (st != POLYTLS_OK)
            return ptls_fail(st, "backend %s cannot read the session: %s", drv->name, err);
        void *expected = NULL;
        if (atomic_compare_exchange_strong(&s->parsed, &expected, p)) {
            s->parsed_free = drv->session_parsed_free;
        } else {
            drv->session_parsed_free(p);   /* another thread was first */
            p = expected;
        }
    }
    *parsed = p;
    return POLYTLS_OK;
}

static size_t serialised_size(const polytls_session *s)
{
    size_t n = sizeof MAGIC - 1 + 1 + 1 + strlen(s->backend) + 1 + 2 + strlen(s->host) + 1 + 4 + s->blob_len +
               SEAL_LEN;
    for (size_t i = 0; i < s->n_chain; i++) {
        const uint8_t *der;
        size_t len = 0;
        polytls_certificate_der(s->chain[i], &der, &len);
        n += 3 + len;
    }
    return n;
}

static uint8_t *put(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

polytls_status polytls_session_serialize(const polytls_session *s, uint8_t *out, size_t cap, size_t *len)
{
    if (!s || !len)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "session_serialize: session and len are required");
    if (polytls_session_invalidated(s))
        return ptls_fail(POLYTLS_ERR_INVALIDATED,
                         "the session was invalidated (its connection failed or saw a fatal alert)");
    size_t need = serialised_size(s);
    if (!out) {
        *len = need;
        return POLYTLS_OK;
    }
    if (cap < need)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "session_serialize: %zu bytes needed, cap is %zu",
                         need, cap);
    uint8_t *p = out;
    memcpy(p, MAGIC, sizeof MAGIC - 1);
    p += sizeof MAGIC - 1;
    *p++ = FORMAT_VERSION;
    size_t bl = strlen(s->backend), hl = strlen(s->host);
    *p++ = (uint8_t)bl;
    memcpy(p, s->backend, bl);
    p += bl;
    *p++ = s->host_is_ip ? 1 : 0;
    p = put(p, hl, 2);
    memcpy(p, s->host, hl);
    p += hl;
    *p++ = (uint8_t)s->n_chain;
    for (size_t i = 0; i < s->n_chain; i++) {
        const uint8_t *der;
        size_t len = 0;
        polytls_certificate_der(s->chain[i], &der, &len);
        p = put(p, len, 3);
        memcpy(p, der, len);
        p += len;
    }
    p = put(p, s->blob_len, 4);
    memcpy(p, s->blob, s->blob_len);
    p += s->blob_len;
    polytls_status st = seal(out, (size_t)(p - out), p);
    if (st != POLYTLS_OK)
        return st;
    *len = need;
    return POLYTLS_OK;
}

/* A strict reader over the input. */
typedef struct reader {
    const uint8_t *p;
    size_t left;
    const char *what;   /* the first problem found */
} reader;

static bool take(reader *r, size_t n, const uint8_t **out, const char *what)
{
    if (r->what)
        return false;
    if (r->left < n) {
        r->what = what;
        return false;
    }
    *out = r->p;
    r->p += n;
    r->left -= n;
    return true;
}

static uint64_t take_int(reader *r, int bytes, const char *what)
{
    const uint8_t *p;
    if (!take(r, (size_t)bytes, &p, what))
        return 0;
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | p[i];
    return v;
}

static char *take_text(reader *r, size_t n, const char *what)
{
    const uint8_t *p;
    if (!take(r, n, &p, what))
        return NULL;
    if (memchr(p, 0, n)) {
        r->what = what;
        return NULL;
    }
    char *t = malloc(n + 1);
    if (!t) {
        r->what = "out of memory";
        return NULL;
    }
    memcpy(t, p, n);
    t[n] = '\0';
    return t;
}

polytls_status polytls_session_deserialize(const uint8_t *in, size_t len, polytls_session **out)
{
    if (!in || !out)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "session_deserialize: in and out are required");
    uint8_t mac[SEAL_LEN];
    if (len <= SEAL_LEN)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "not a polytls session (too short)");
    polytls_status st = seal(in, len - SEAL_LEN, mac);
    if (st != POLYTLS_OK)
        return st;
    if (!same_seal(mac, in + len - SEAL_LEN))
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING,
                         "not a polytls session sealed with this process's session key: the bytes were "
                         "changed, or written under another key (polytls_session_set_key)");
    len -= SEAL_LEN;
    reader r = {in, len, NULL};
    const uint8_t *magic;
    if (!take(&r, sizeof MAGIC - 1, &magic, "too short for a polytls session") ||
        memcmp(magic, MAGIC, sizeof MAGIC - 1) != 0)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "not a polytls session (bad magic)");
    uint64_t version = take_int(&r, 1, "truncated (version)");
    if (!r.what && version != FORMAT_VERSION)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "polytls session format %u is not known (expected %d)",
                         (unsigned)version, FORMAT_VERSION);
    size_t bl = (size_t)take_int(&r, 1, "truncated (backend name length)");
    if (!r.what && (bl == 0 || bl > 32))
        r.what = "backend name length out of range";
    char *backend = r.what ? NULL : take_text(&r, bl, "truncated or invalid backend name");
    uint64_t is_ip = take_int(&r, 1, "truncated (host kind)");
    if (!r.what && is_ip > 1)
        r.what = "host kind is neither 0 nor 1";
    size_t hl = (size_t)take_int(&r, 2, "truncated (host length)");
    if (!r.what && (hl == 0 || hl > 253))
        r.what = "host length out of range";
    char *host = r.what ? NULL : take_text(&r, hl, "truncated or invalid host");
    size_t n = (size_t)take_int(&r, 1, "truncated (chain length)");
    if (!r.what && (n == 0 || n > MAX_CHAIN))
        r.what = "chain length out of range";
    polytls_session *s = r.what ? NULL : session_alloc(n);
    if (!r.what && !s)
        r.what = "out of memory";
    for (size_t i = 0; !r.what && i < n; i++) {
        size_t cl = (size_t)take_int(&r, 3, "truncated (certificate length)");
        const uint8_t *der;
        if (!r.what && cl == 0)
            r.what = "empty certificate";
        if (!r.what && take(&r, cl, &der, "truncated certificate")) {
            polytls_certificate *cert = NULL;
            if (polytls_certificate_new(der, cl, NULL, 0, &cert) != POLYTLS_OK) {
                r.what = "a certificate of the chain does not parse";
            } else {
                s->chain[i] = cert;
                s->n_chain = i + 1;
            }
        }
    }
    size_t blen = (size_t)take_int(&r, 4, "truncated (backend session length)");
    if (!r.what && (blen == 0 || blen > MAX_BLOB))
        r.what = "backend session length out of range";
    const uint8_t *blob = NULL;
    if (!r.what)
        take(&r, blen, &blob, "truncated backend session");
    if (!r.what && r.left)
        r.what = "trailing bytes after the session";
    if (!r.what) {
        s->blob = malloc(blen);
        s->lineage = ptls_lineage_new();
        if (!s->blob || !s->lineage)
            r.what = "out of memory";
    }
    if (r.what) {
        free(backend);
        free(host);
        polytls_session_free(s);
        return ptls_fail(strcmp(r.what, "out of memory") == 0 ? POLYTLS_ERR_NO_MEMORY : POLYTLS_ERR_BAD_ENCODING,
                         "not a valid polytls session: %s", r.what);
    }
    memcpy(s->blob, blob, blen);
    s->blob_len = blen;
    s->backend = backend;
    s->host = host;
    s->host_is_ip = is_ip == 1;
    *out = s;
    return POLYTLS_OK;
}
