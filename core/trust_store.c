/* Trust stores. The system store is read once per process and shared: the
   bundle is ~150 certificates and every polytls_client_new(NULL trust)
   would otherwise re-parse it. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "certificate.h"
#include "pem.h"
#include "status.h"
#include "trust_store.h"

#define DEFAULT_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

struct polytls_trust_store {
    atomic_size_t refs;
    polytls_certificate **certs;
    size_t n;
    size_t skipped;
};

static polytls_trust_store *store_alloc(void)
{
    polytls_trust_store *ts = calloc(1, sizeof *ts);
    if (ts)
        atomic_init(&ts->refs, 1);
    return ts;
}

static void store_free(polytls_trust_store *ts)
{
    polytls_certificates_free(ts->certs, ts->n);
    free(ts);
}

polytls_status polytls_trust_store_new(polytls_certificate *const *certs, size_t n, polytls_trust_store **out)
{
    if (!out || !certs || n == 0)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "polytls_trust_store_new: %s",
                         !out ? "out is NULL" : "no certificates given");
    for (size_t i = 0; i < n; i++) {
        if (!certs[i])
            return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "polytls_trust_store_new: certificate %zu is NULL", i);
        if (polytls_certificate_has_private_key(certs[i]))
            return ptls_fail(POLYTLS_ERR_EXTRANEOUS_PRIVATE_KEY,
                             "trust store: certificate %zu carries a private key; trust anchors must not", i);
    }
    polytls_trust_store *ts = store_alloc();
    if (!ts || !(ts->certs = calloc(n, sizeof *ts->certs))) {
        free(ts);
        return ptls_fail(POLYTLS_ERR_NO_MEMORY, "out of memory creating a trust store");
    }
    for (size_t i = 0; i < n; i++)
        ts->certs[i] = polytls_certificate_ref(certs[i]);
    ts->n = n;
    *out = ts;
    return POLYTLS_OK;
}

polytls_status ptls_trust_store_load_file(const char *path, polytls_trust_store **out)
{
    char *text;
    size_t len;
    polytls_status s = ptls_read_file(path, &text, &len);
    if (s != POLYTLS_OK)
        return ptls_fail_context(POLYTLS_ERR_BAD_ENCODING, "trust store");
    polytls_trust_store *ts = store_alloc();
    if (!ts) {
        free(text);
        return ptls_fail(POLYTLS_ERR_NO_MEMORY, "out of memory loading %s", path);
    }
    size_t cap = 0;
    ptls_pem_reader r;
    ptls_pem_reader_init(&r, text, len, true);
    for (;;) {
        ptls_pem_block b;
        bool done;
        s = ptls_pem_next(&r, &b, &done);
        if (s != POLYTLS_OK) {
            ts->skipped++;
            continue;
        }
        if (done)
            break;
        polytls_certificate *c = NULL;
        if (strcmp(b.label, "CERTIFICATE") != 0 || b.has_headers ||
            polytls_certificate_new(b.der, b.der_len, NULL, 0, &c) != POLYTLS_OK) {
            ts->skipped++;
        } else {
            if (ts->n == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                polytls_certificate **v = realloc(ts->certs, ncap * sizeof *v);
                if (!v) {
                    polytls_certificate_unref(c);
                    ptls_pem_block_free(&b);
                    free(text);
                    store_free(ts);
                    return ptls_fail(POLYTLS_ERR_NO_MEMORY, "out of memory loading %s", path);
                }
                ts->certs = v;
                cap = ncap;
            }
            ts->certs[ts->n++] = c;
        }
        ptls_pem_block_free(&b);
    }
    free(text);
    if (ts->n == 0) {
        size_t skipped = ts->skipped;
        store_free(ts);
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "trust store %s holds no usable certificate (%zu blocks skipped)",
                         path, skipped);
    }
    *out = ts;
    return POLYTLS_OK;
}

/* The cached system store. A mutex rather than pthread_once so that a
   failure (a missing bundle, out of memory) is not cached: the next call
   tries again, and each failing call gets its own message. A success is
   kept for the life of the process. */
static pthread_mutex_t system_lock = PTHREAD_MUTEX_INITIALIZER;
static polytls_trust_store *system_store;

polytls_status polytls_trust_store_system(polytls_trust_store **out)
{
    if (!out)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "polytls_trust_store_system: out is NULL");
    polytls_status s = POLYTLS_OK;
    pthread_mutex_lock(&system_lock);
    if (!system_store) {
        const char *path = getenv("SSL_CERT_FILE");
        if (!path || !*path)
            path = DEFAULT_BUNDLE;
        s = ptls_trust_store_load_file(path, &system_store);
    }
    if (s == POLYTLS_OK)
        *out = polytls_trust_store_ref(system_store);
    pthread_mutex_unlock(&system_lock);
    return s;
}

size_t polytls_trust_store_count(const polytls_trust_store *ts)
{
    return ts ? ts->n : 0;
}

polytls_trust_store *polytls_trust_store_ref(polytls_trust_store *ts)
{
    if (ts)
        atomic_fetch_add_explicit(&ts->refs, 1, memory_order_relaxed);
    return ts;
}

void polytls_trust_store_unref(polytls_trust_store *ts)
{
    if (ts && atomic_fetch_sub_explicit(&ts->refs, 1, memory_order_acq_rel) == 1)
        store_free(ts);
}

size_t ptls_trust_store_certs(const polytls_trust_store *ts, polytls_certificate *const **certs)
{
    *certs = ts->certs;
    return ts->n;
}

size_t ptls_trust_store_skipped(const polytls_trust_store *ts)
{
    return ts->skipped;
}
