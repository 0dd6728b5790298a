/* Clients (ClientTLS) and servers (ServerTLS): validated configuration,
   frozen at the first start, when the driver context is built from all of
   it at once. Connections hold a reference, so freeing a client or server
   with connections still open is safe. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certificate.h"
#include "conn.h"
#include "dh_params.h"
#include "hostname.h"
#include "server_certificates.h"
#include "status.h"
#include "trust_store.h"
#include "session.h"

polytls_status ptls_conn_new(ptls_endpoint *ep, const polytls_conn_callbacks *cb, void *user,
                             polytls_conn **out);
polytls_status ptls_conn_start(polytls_conn *c);

void ptls_endpoint_ref(ptls_endpoint *ep)
{
    atomic_fetch_add(&ep->refs, 1);
}

void ptls_endpoint_unref(ptls_endpoint *ep)
{
    if (!ep || atomic_fetch_sub(&ep->refs, 1) != 1)
        return;
    if (ep->drv_ctx)
        ep->backend->drv->ctx_fini(ep->drv_ctx);
    polytls_trust_store_unref(ep->trust);
    free(ep->hostname);
    free(ep->pins);
    polytls_client_cert_store_unref(ep->store);
    polytls_server_certificates_unref(ep->certs);
    if (ep->dh)
        ptls_wipe(ep->dh, ep->dh_len);
    free(ep->dh);
    free(ep->alpn);
    free(ep->suites);
    free(ep->groups);
    ptls_ticket_keys_fini(&ep->tickets);
    pthread_mutex_destroy(&ep->lock);
    free(ep);
}

static polytls_status resolve_backend(const polytls_backend *backend, const polytls_backend **out)
{
    if (backend) {
        *out = backend;
        return POLYTLS_OK;
    }
    polytls_backend *b = NULL;
    polytls_status s = polytls_backend_get(NULL, &b);
    if (s == POLYTLS_OK)
        *out = b;
    return s;
}

static ptls_endpoint *endpoint_alloc(size_t size, const polytls_backend *b, bool is_server)
{
    ptls_endpoint *ep = calloc(1, size);
    if (!ep)
        return NULL;
    atomic_init(&ep->refs, 1);
    ep->backend = b;
    ep->is_server = is_server;
    ep->min_version = 0x0303;
    ep->max_version = 0x0304;
    pthread_mutex_init(&ep->lock, NULL);
    ptls_ticket_keys_init(&ep->tickets);
    return ep;
}

/* Defined with the suite and group setters below. */
static polytls_status narrow_versions_to_suites(const ptls_endpoint *ep, polytls_drv_config *cfg,
                                                char *err, size_t errlen);

polytls_status ptls_endpoint_ensure_ctx(ptls_endpoint *ep, char *err, size_t errlen)
{
    polytls_status s = POLYTLS_OK;
    pthread_mutex_lock(&ep->lock);
    if (!ep->started) {
        polytls_certificate *const *anchors = NULL;
        size_t n = ep->trust ? ptls_trust_store_certs(ep->trust, &anchors) : 0;
        polytls_drv_blob *blobs = calloc(n ? n : 1, sizeof *blobs);
        if (!blobs) {
            s = POLYTLS_ERR_NO_MEMORY;
            snprintf(err, errlen, "out of memory");
        } else {
            for (size_t i = 0; i < n; i++)
                polytls_certificate_der(anchors[i], &blobs[i].data, &blobs[i].len);
            polytls_drv_config cfg = {
                .size = sizeof cfg,
                .is_server = ep->is_server,
                .min_version = ep->min_version,
                .max_version = ep->max_version,
                .trust = blobs,
                .n_trust = n,
                .client_auth = ep->client_auth,
                .send_ca_names = ep->send_ca_names,
                .dh_params = {ep->dh, ep->dh_len},
                .alpn = {ep->alpn, ep->alpn_len},
                .low_memory = ep->low_memory,
                .suites = ep->suites,
                .n_suites = ep->n_suites,
                .groups = ep->groups,
                .n_groups = ep->n_groups,
                .keylog = ep->keylog,
                .keylog_user = ep->keylog_user,
                .has_verify_time = ep->has_verify_time,
                .verify_time = ep->verify_time,
            };
            cfg.resumption = ep->resumption;
            cfg.ticket_lifetime = ep->tickets.lifetime;
            err[0] = '\0';
            s = narrow_versions_to_suites(ep, &cfg, err, errlen);
            if (s == POLYTLS_OK && ep->is_server && ep->resumption && ep->client_auth != POLYTLS_CLIENT_AUTH_NONE) {
                /* A resumed client presents no certificate: the verify
                   callback would have nothing to judge. */
                s = POLYTLS_ERR_INVALID_ARGUMENT;
                snprintf(err, errlen, "a server that asks for client certificates cannot resume sessions "
                                      "(polytls_server_set_resumption and polytls_server_set_client_auth)");
            }
            if (s == POLYTLS_OK)
                s = ep->backend->drv->ctx_init(&cfg, &ep->drv_ctx, err, errlen);
            free(blobs);
            if (s == POLYTLS_OK)
                ep->started = true;
            else
                ep->drv_ctx = NULL;
        }
    }
    pthread_mutex_unlock(&ep->lock);
    return s;
}

static polytls_status start(ptls_endpoint *ep, polytls_session *session, const polytls_conn_callbacks *cb,
                            void *user, polytls_conn **out)
{
    if (!out)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "start: out is NULL");
    char err[256];
    polytls_status s = ptls_endpoint_ensure_ctx(ep, err, sizeof err);
    if (s != POLYTLS_OK)
        return ptls_fail(s, "backend %s refused the configuration: %s", ep->backend->drv->name, err);
    polytls_conn *c = NULL;
    s = ptls_conn_new(ep, cb, user, &c);
    if (s != POLYTLS_OK)
        return s;
    if (session) {
        /* The connection shares the session's fate: if it fails, the
           session (and all taken from it) is never offered again. */
        c->session_in = ptls_session_ref(session);
        c->lineage = ptls_lineage_ref(session->lineage);
    }
    s = ptls_conn_start(c);
    if (s != POLYTLS_OK) {
        polytls_conn_free(c);
        return s;
    }
    *out = c;
    return POLYTLS_OK;
}

/* ---------------------------------------------------------------- client -- */

polytls_status polytls_client_new(const polytls_backend *backend, const char *server_hostname,
                                  polytls_trust_store *trust_root, polytls_client_cert_store *client_store,
                                  polytls_client **out)
{
    if (!server_hostname || !out)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "client_new: server_hostname and out are required");
    char *host = NULL;
    bool is_ip = false;
    polytls_status s = ptls_hostname_normalise(server_hostname, &host, &is_ip);
    if (s != POLYTLS_OK)
        return s;
    const polytls_backend *b = NULL;
    s = resolve_backend(backend, &b);
    if (s != POLYTLS_OK) {
        free(host);
        return s;
    }
    polytls_trust_store *trust = NULL;
    if (trust_root) {
        trust = polytls_trust_store_ref(trust_root);
    } else {
        s = polytls_trust_store_system(&trust);
        if (s != POLYTLS_OK) {
            free(host);
            return s;
        }
    }
    ptls_endpoint *ep = endpoint_alloc(sizeof(polytls_client), b, false);
    if (!ep) {
        free(host);
        polytls_trust_store_unref(trust);
        return ptls_fail(POLYTLS_ERR_NO_MEMORY, "out of memory");
    }
    ep->hostname = host;
    ep->host_is_ip = is_ip;
    ep->trust = trust;
    ep->store = client_store ? ptls_client_cert_store_ref(client_store) : NULL;
    *out = (polytls_client *)ep;
    return POLYTLS_OK;
}

void polytls_client_free(polytls_client *c)
{
    if (c)
        ptls_endpoint_unref(&c->ep);
}

/* Options change only before the first start: the driver context is then
   built from all of them and shared by threads. Locks the endpoint and
   returns true while it has not started; otherwise returns false, unlocked,
   with the WRONG_STATE message set. */
static bool lock_for_options(ptls_endpoint *ep)
{
    pthread_mutex_lock(&ep->lock);
    if (!ep->started)
        return true;
    pthread_mutex_unlock(&ep->lock);
    ptls_set_last_error("options must be set before the first start");
    return false;
}

static polytls_status set_versions(ptls_endpoint *ep, uint16_t min, uint16_t max)
{
    if (min < 0x0303 || max > 0x0304 || min > max)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT,
                         "versions 0x%04x..0x%04x: only TLS 1.2 (0x0303) and TLS 1.3 (0x0304) are allowed",
                         min, max);
    if (!lock_for_options(ep))
        return POLYTLS_ERR_WRONG_STATE;
    ep->min_version = min;
    ep->max_version = max;
    pthread_mutex_unlock(&ep->lock);
    return POLYTLS_OK;
}

polytls_status polytls_client_set_versions(polytls_client *c, uint16_t min, uint16_t max)
{
    if (!c)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "client is NULL");
    return set_versions(&c->ep, min, max);
}

/* Validates the list and stores it in the wire format drivers receive (each
   name prefixed by its length byte), so every backend starts from the same
   bytes and the checks live in one place. */
static polytls_status set_alpn(ptls_endpoint *ep, const uint8_t *const *protos, const size_t *lens,
                               size_t n)
{
    if (!protos || !lens || n == 0)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "set_alpn: protos and lens are required, n >= 1");
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (!protos[i] || lens[i] == 0 || lens[i] > 255)
            return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT,
                             "set_alpn: protocol %zu must be 1..255 bytes (got %zu%s)", i, lens[i],
                             protos[i] ? "" : ", NULL");
        total += 1 + lens[i];
        if (total > 65535)
            return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT,
                             "set_alpn: the list exceeds 65535 bytes in wire format");
    }
    uint8_t *wire = malloc(total);
    if (!wire)
        return ptls_fail(POLYTLS_ERR_NO_MEMORY, "out of memory");
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        wire[off++] = (uint8_t)lens[i];
        memcpy(wire + off, protos[i], lens[i]);
        off += lens[i];
    }
    if (!lock_for_options(ep)) {
        free(wire);
        return POLYTLS_ERR_WRONG_STATE;
    }
    free(ep->alpn);
    ep->alpn = wire;
    ep->alpn_len = total;
    pthread_mutex_unlock(&ep->lock);
    return POLYTLS_OK;
}

polytls_status polytls_client_set_alpn(polytls_client *c, const uint8_t *const *protos, const size_t *lens,
                                       size_t n)
{
    if (!c)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "client is NULL");
    return set_alpn(&c->ep, protos, lens, n);
}

polytls_status polytls_server_set_alpn(polytls_server *s, const uint8_t *const *protos, const size_t *lens,
                                       size_t n)
{
    if (!s)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "server is NULL");
    return set_alpn(&s->ep, protos, lens, n);
}

polytls_status polytls_client_start(polytls_client *client, const polytls_conn_callbacks *callbacks,
                                    void *user, polytls_conn **out)
{
    if (!client)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "client is NULL");
    return start(&client->ep, NULL, callbacks, user, out);
}

/* ---------------------------------------------------------------- server -- */

polytls_status polytls_server_new(const polytls_backend *backend, polytls_server_certificates *certificates,
                                  const uint8_t *dh_der, size_t dh_len, polytls_server **out)
{
    if (!certificates || !out || (!dh_der && dh_len) || (dh_der && !dh_len))
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "server_new: certificates and out are required");
    const polytls_backend *b = NULL;
    polytls_status s = resolve_backend(backend, &b);
    if (s != POLYTLS_OK)
        return s;
    if (dh_der) {
        if (!ptls_backend_has(b, POLYTLS_CAP_CUSTOM_DH))
            return ptls_fail(POLYTLS_ERR_UNSUPPORTED,
                             "backend %s cannot use custom DH parameters (no POLYTLS_CAP_CUSTOM_DH)",
                             b->drv->name);
        s = ptls_dh_params_check(dh_der, dh_len);
        if (s != POLYTLS_OK)
            return s;
    }
    ptls_endpoint *ep = endpoint_alloc(sizeof(polytls_server), b, true);
    if (!ep)
        return ptls_fail(POLYTLS_ERR_NO_MEMORY, "out of memory");
    if (dh_der) {
        ep->dh = malloc(dh_len);
        if (!ep->dh) {
            ptls_endpoint_unref(ep);
            return ptls_fail(POLYTLS_ERR_NO_MEMORY, "out of memory");
        }
        memcpy(ep->dh, dh_der, dh_len);
        ep->dh_len = dh_len;
    }
    ep->certs = polytls_server_certificates_ref(certificates);
    *out = (polytls_server *)ep;
    return POLYTLS_OK;
}

void polytls_server_free(polytls_server *s)
{
    if (s)
        ptls_endpoint_unref(&s->ep);
}

polytls_status polytls_server_set_versions(polytls_server *s, uint16_t min, uint16_t max)
{
    if (!s)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "server is NULL");
    return set_versions(&s->ep, min, max);
}

/* One backend-neutral switch; only a backend with an equivalent mode
   accepts it, so a user is never told "on" while nothing changed. */
static polytls_status set_low_memory(ptls_endpoint *ep, bool on)
{
    if (on && !ptls_backend_has(ep->backend, POLYTLS_CAP_LOW_MEMORY))
        return ptls_fail(POLYTLS_ERR_UNSUPPORTED, "backend %s has no low-memory mode",
                         ep->backend->drv->name);
    if (!lock_for_options(ep))
        return POLYTLS_ERR_WRONG_STATE;
    ep->low_memory = on;
    pthread_mutex_unlock(&ep->lock);
    return POLYTLS_OK;
}

polytls_status polytls_client_set_low_memory(polytls_client *c, bool on)
{
    if (!c)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "client is NULL");
    return set_low_memory(&c->ep, on);
}

polytls_status polytls_server_set_low_memory(polytls_server *s, bool on)
{
    if (!s)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "server is NULL");
    return set_low_memory(&s->ep, on);
}

polytls_status polytls_server_set_client_auth(polytls_server *s, polytls_client_auth mode,
                                              polytls_trust_store *trust, bool send_ca_names)
{
    if (!s || (mode != POLYTLS_CLIENT_AUTH_NONE && mode != POLYTLS_CLIENT_AUTH_OPTIONAL &&
               mode != POLYTLS_CLIENT_AUTH_REQUIRED) ||
        (mode != POLYTLS_CLIENT_AUTH_NONE && !trust))
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT,
                         "set_client_auth: a valid mode, and a trust store unless the mode is NONE");
    ptls_endpoint *ep = &s->ep;
    if (!lock_for_options(ep))
        return POLYTLS_ERR_WRONG_STATE;
    polytls_trust_store_unref(ep->trust);
    ep->trust = mode == POLYTLS_CLIENT_AUTH_NONE ? NULL : polytls_trust_store_ref(trust);
    ep->client_auth = mode;
    ep->send_ca_names = send_ca_names;
    pthread_mutex_unlock(&ep->lock);
    return POLYTLS_OK;
}

polytls_status polytls_server_start(polytls_server *server, const polytls_conn_callbacks *callbacks,
                                    void *user, polytls_conn **out)
{
    if (!server)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "server is NULL");
    return start(&server->ep, NULL, callbacks, user, out);
}

/* ------------------------------------------------------------------ pins -- */

static polytls_status set_pins(ptls_endpoint *ep, const uint8_t (*pins)[32], size_t n)
{
    if (!pins || n == 0 || n > 1024)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "set_pins: 1 to 1024 SHA-256 digests are required");
    uint8_t (*copy)[32] = malloc(n * sizeof *copy);
    if (!copy)
        return ptls_fail(POLYTLS_ERR_NO_MEMORY, "out of memory");
    memcpy(copy, pins, n * sizeof *copy);
    if (!lock_for_options(ep)) {
        free(copy);
        return POLYTLS_ERR_WRONG_STATE;
    }
    free(ep->pins);
    ep->pins = copy;
    ep->n_pins = n;
    pthread_mutex_unlock(&ep->lock);
    return POLYTLS_OK;
}

polytls_status polytls_client_set_pins(polytls_client *c, const uint8_t (*pins)[32], size_t n)
{
    if (!c)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "client is NULL");
    return set_pins(&c->ep, pins, n);
}

polytls_status polytls_server_set_pins(polytls_server *s, const uint8_t (*pins)[32], size_t n)
{
    if (!s)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "server is NULL");
    return set_pins(&s->ep, pins, n);
}

/* ----------------------------------------------------------- verify time -- */

/* The last second of 9999-12-31, the latest instant both UTCTime and
   GeneralizedTime (RFC 5280 4.1.2.5) can name. */
#define PTLS_MAX_VERIFY_TIME INT64_C(253402300799)

static polytls_status set_verify_time(ptls_endpoint *ep, int64_t unix_time)
{
    if (unix_time < 0 || unix_time > PTLS_MAX_VERIFY_TIME)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT,
                         "set_verify_time: %lld is outside 0..253402300799 (1970 to the end of 9999)",
                         (long long)unix_time);
    if (!lock_for_options(ep))
        return POLYTLS_ERR_WRONG_STATE;
    ep->has_verify_time = true;
    ep->verify_time = unix_time;
    pthread_mutex_unlock(&ep->lock);
    return POLYTLS_OK;
}

polytls_status polytls_client_set_verify_time(polytls_client *c, int64_t unix_time)
{
    if (!c)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "client is NULL");
    return set_verify_time(&c->ep, unix_time);
}

polytls_status polytls_server_set_verify_time(polytls_server *s, int64_t unix_time)
{
    if (!s)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "server is NULL");
    return set_verify_time(&s->ep, unix_time);
}

/* ---------------------------------------------------------------- keylog -- */

/* Only a backend that really hands over every secret accepts a key log: a
   capture the user cannot decrypt would be a silent failure. */
static polytls_status set_keylog(ptls_endpoint *ep, polytls_keylog_fn fn, void *user)
{
    if (fn && !ptls_backend_has(ep->backend, POLYTLS_CAP_KEYLOG))
        return ptls_fail(POLYTLS_ERR_UNSUPPORTED, "backend %s cannot give a key log",
                         ep->backend->drv->name);
    if (!lock_for_options(ep))
        return POLYTLS_ERR_WRONG_STATE;
    ep->keylog = fn;
    ep->keylog_user = fn ? user : NULL;
    pthread_mutex_unlock(&ep->lock);
    return POLYTLS_OK;
}

polytls_status polytls_client_set_keylog(polytls_client *c, polytls_keylog_fn fn, void *user)
{
    if (!c)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "client is NULL");
    return set_keylog(&c->ep, fn, user);
}

polytls_status polytls_server_set_keylog(polytls_server *s, polytls_keylog_fn fn, void *user)
{
    if (!s)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "server is NULL");
    return set_keylog(&s->ep, fn, user);
}

/* -------------------------------------------------- cipher suites, groups -- */

/* The only suites a user may name: the AEAD suites with forward secrecy
   every driver pins by default. DHE ones need a server with DH parameters. */
typedef enum { SUITE_TLS13, SUITE_ECDHE, SUITE_DHE } suite_kind;
static const struct {
    const char *name;
    uint16_t id;
    suite_kind kind;
} allowed_suites[] = {
    {"TLS_AES_128_GCM_SHA256", 0x1301, SUITE_TLS13},
    {"TLS_AES_256_GCM_SHA384", 0x1302, SUITE_TLS13},
    {"TLS_CHACHA20_POLY1305_SHA256", 0x1303, SUITE_TLS13},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 0xC02B, SUITE_ECDHE},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 0xC02C, SUITE_ECDHE},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0xC02F, SUITE_ECDHE},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 0xC030, SUITE_ECDHE},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 0xCCA8, SUITE_ECDHE},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 0xCCA9, SUITE_ECDHE},
    {"TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", 0x009E, SUITE_DHE},
    {"TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", 0x009F, SUITE_DHE},
    {"TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 0xCCAA, SUITE_DHE},
};
#define N_ALLOWED_SUITES (sizeof allowed_suites / sizeof allowed_suites[0])

static const struct {
    const char *name;
    uint16_t id;
} allowed_groups[] = {
    {"x25519", 29},
    {"secp256r1", 23},
    {"secp384r1", 24},
    {"secp521r1", 25},
};
#define N_ALLOWED_GROUPS (sizeof allowed_groups / sizeof allowed_groups[0])

const char *ptls_group_name(uint16_t id)
{
    for (size_t i = 0; i < N_ALLOWED_GROUPS; i++)
        if (allowed_groups[i].id == id)
            return allowed_groups[i].name;
    return NULL;
}

/* A list without a TLS 1.3 suite cannot negotiate TLS 1.3 (and likewise
   for TLS 1.2): say so to the driver by narrowing the range, so that every
   library sees the same, consistent configuration. */
static polytls_status narrow_versions_to_suites(const ptls_endpoint *ep, polytls_drv_config *cfg,
                                                char *err, size_t errlen)
{
    if (ep->n_suites == 0)
        return POLYTLS_OK;
    bool has13 = false, has12 = false;
    for (size_t i = 0; i < ep->n_suites; i++) {
        if (ep->suites[i] >> 8 == 0x13)
            has13 = true;
        else
            has12 = true;
    }
    if (!has13 && cfg->max_version > 0x0303)
        cfg->max_version = 0x0303;
    if (!has12 && cfg->min_version < 0x0304)
        cfg->min_version = 0x0304;
    if (cfg->min_version > cfg->max_version) {
        snprintf(err, errlen, "no cipher suite of the list is usable with the TLS version range");
        return POLYTLS_ERR_INVALID_ARGUMENT;
    }
    return POLYTLS_OK;
}

/* Copies *ids into the endpoint unless it has started. */
static polytls_status store_ids(ptls_endpoint *ep, uint16_t *ids, size_t n, bool groups)
{
    if (!lock_for_options(ep)) {
        free(ids);
        return POLYTLS_ERR_WRONG_STATE;
    }
    uint16_t **slot = groups ? &ep->groups : &ep->suites;
    free(*slot);
    *slot = ids;
    *(groups ? &ep->n_groups : &ep->n_suites) = n;
    pthread_mutex_unlock(&ep->lock);
    return POLYTLS_OK;
}

static bool id_listed(const uint16_t *ids, size_t n, uint16_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

static polytls_status set_cipher_suites(ptls_endpoint *ep, const char *const *names, size_t n)
{
    if (!names || n == 0 || n > 64)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "set_cipher_suites: 1 to 64 names are required");
    uint16_t *ids = malloc(n * sizeof *ids);
    if (!ids)
        return ptls_fail(POLYTLS_ERR_NO_MEMORY, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < N_ALLOWED_SUITES && (!names[i] || strcmp(names[i], allowed_suites[j].name) != 0))
            j++;
        if (j == N_ALLOWED_SUITES) {
            free(ids);
            return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT,
                             "set_cipher_suites: \"%.80s\" is not an allowed cipher suite (only TLS 1.3 "
                             "suites and ECDHE/DHE AEAD suites, by IANA name)",
                             names[i] ? names[i] : "(null)");
        }
        if (allowed_suites[j].kind == SUITE_DHE && (!ep->is_server || !ep->dh)) {
            free(ids);
            return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT,
                             "set_cipher_suites: \"%s\" needs a server created with DH parameters",
                             names[i]);
        }
        if (!id_listed(ids, k, allowed_suites[j].id)) /* a repeat keeps its first place */
            ids[k++] = allowed_suites[j].id;
    }
    return store_ids(ep, ids, k, false);
}

static polytls_status set_groups(ptls_endpoint *ep, const char *const *names, size_t n)
{
    if (!names || n == 0 || n > 16)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "set_groups: 1 to 16 names are required");
    uint16_t *ids = malloc(n * sizeof *ids);
    if (!ids)
        return ptls_fail(POLYTLS_ERR_NO_MEMORY, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < N_ALLOWED_GROUPS && (!names[i] || strcmp(names[i], allowed_groups[j].name) != 0))
            j++;
        if (j == N_ALLOWED_GROUPS) {
            free(ids);
            return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT,
                             "set_groups: \"%.80s\" is not an allowed group (x25519, secp256r1, "
                             "secp384r1, secp521r1)",
                             names[i] ? names[i] : "(null)");
        }
        if (!id_listed(ids, k, allowed_groups[j].id))
            ids[k++] = allowed_groups[j].id;
    }
    return store_ids(ep, ids, k, true);
}

polytls_status polytls_client_set_cipher_suites(polytls_client *c, const char *const *names, size_t n)
{
    if (!c)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "client is NULL");
    return set_cipher_suites(&c->ep, names, n);
}

polytls_status polytls_server_set_cipher_suites(polytls_server *s, const char *const *names, size_t n)
{
    if (!s)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "server is NULL");
    return set_cipher_suites(&s->ep, names, n);
}

polytls_status polytls_client_set_groups(polytls_client *c, const char *const *names, size_t n)
{
    if (!c)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "client is NULL");
    return set_groups(&c->ep, names, n);
}

polytls_status polytls_server_set_groups(polytls_server *s, const char *const *names, size_t n)
{
    if (!s)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "server is NULL");
    return set_groups(&s->ep, names, n);
}

/* ------------------------------------------------------------ resumption -- */

polytls_status ptls_resumption_check_offer(const ptls_endpoint *ep, const polytls_session *s);

static polytls_status set_resumption(ptls_endpoint *ep, bool on, uint32_t lifetime)
{
    if (on && !ptls_backend_has(ep->backend, POLYTLS_CAP_RESUMPTION))
        return ptls_fail(POLYTLS_ERR_UNSUPPORTED, "backend %s cannot resume sessions (no POLYTLS_CAP_RESUMPTION)",
                         ep->backend->drv->name);
    if (!lock_for_options(ep))
        return POLYTLS_ERR_WRONG_STATE;
    ep->resumption = on;
    ep->tickets.lifetime = lifetime;
    pthread_mutex_unlock(&ep->lock);
    return POLYTLS_OK;
}

polytls_status polytls_client_set_resumption(polytls_client *c, bool on)
{
    if (!c)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "client is NULL");
    return set_resumption(&c->ep, on, 7200);
}

polytls_status polytls_server_set_resumption(polytls_server *s, bool on, uint32_t ticket_lifetime)
{
    if (!s)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "server is NULL");
    if (ticket_lifetime > 604800)   /* RFC 8446 4.6.1: at most seven days */
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "ticket lifetime %u s exceeds 604800 s (seven days)",
                         (unsigned)ticket_lifetime);
    return set_resumption(&s->ep, on, ticket_lifetime ? ticket_lifetime : 7200);
}

polytls_status polytls_server_rotate_ticket_key(polytls_server *s)
{
    if (!s)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "server is NULL");
    if (!s->ep.resumption)
        return ptls_fail(POLYTLS_ERR_WRONG_STATE, "rotate_ticket_key: resumption is off for this server");
    return ptls_ticket_keys_rotate(&s->ep.tickets);
}

polytls_status polytls_client_start_with_session(polytls_client *client, polytls_session *session,
                                                 const polytls_conn_callbacks *callbacks, void *user,
                                                 polytls_conn **out)
{
    if (!client || !session)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "start_with_session: client and session are required");
    polytls_status s = ptls_resumption_check_offer(&client->ep, session);
    if (s != POLYTLS_OK)
        return s;
    return start(&client->ep, session, callbacks, user, out);
}
