/* keylog.*: POLYTLS_CAP_KEYLOG and POLYTLS_CAP_EXPORTER, each both ways.
   Key log claimed: TLS 1.3 hands over the four traffic secrets (and
   EXPORTER_SECRET) as NSS lines with one client random shared by both
   sides and the same secret on both sides; TLS 1.2 hands over CLIENT_RANDOM.
   Not claimed: the setters are UNSUPPORTED and the callback never runs.
   Exporter claimed: both sides derive the same bytes; another label, or a
   context, gives other bytes; WRONG_STATE before the handshake. Not
   claimed: UNSUPPORTED after the handshake too. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define KL_MAX 16

typedef struct kl_log {
    char *lines[KL_MAX];
    size_t n;
    size_t calls;
} kl_log;

static void kl_record(void *user, const char *line)
{
    kl_log *log = user;
    log->calls++;
    if (log->n < KL_MAX) {
        size_t len = strlen(line);
        log->lines[log->n] = cf_xmalloc(len + 1);
        memcpy(log->lines[log->n], line, len + 1);
        log->n++;
    }
}

static void kl_free(kl_log *log)
{
    for (size_t i = 0; i < log->n; i++)
        free(log->lines[i]);
    memset(log, 0, sizeof *log);
}

/* The line with this label, or NULL. */
static const char *kl_find(const kl_log *log, const char *label)
{
    size_t n = strlen(label);
    for (size_t i = 0; i < log->n; i++)
        if (strncmp(log->lines[i], label, n) == 0 && log->lines[i][n] == ' ')
            return log->lines[i];
    return NULL;
}

static bool is_lower_hex(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return false;
    return true;
}

/* "LABEL <64 hex> <hex secret>", no newline; returns the random part. */
static const char *check_shape(const char *line, const char *label, size_t secret_hex)
{
    size_t n = strlen(label);
    assert_non_null(line);
    assert_int_equal(strlen(line), n + 1 + 64 + 1 + secret_hex);
    assert_true(line[n] == ' ' && line[n + 65] == ' ');
    assert_true(is_lower_hex(line + n + 1, 64));
    assert_true(is_lower_hex(line + n + 66, secret_hex));
    return line + n + 1;
}

/* A client and a server that are created but not started yet. */
static void build_unstarted(cf_pair *p, uint16_t max_version)
{
    cf_certs chain = cf_load_chain("server-ec");
    polytls_server_certificates *sc = NULL;
    polytls_status st = polytls_server_chain_new(chain.v, chain.n, &sc);
    cf_certs_free(&chain);
    cf_assert_status(st, POLYTLS_OK);
    st = polytls_server_new(cf_backend, sc, NULL, 0, &p->server);
    polytls_server_certificates_unref(sc);
    cf_assert_status(st, POLYTLS_OK);
    polytls_trust_store *ts = cf_load_trust("root.pem");
    st = polytls_client_new(cf_backend, "server.test", ts, NULL, &p->client);
    polytls_trust_store_unref(ts);
    cf_assert_status(st, POLYTLS_OK);
    cf_assert_status(polytls_client_set_versions(p->client, 0x0303, max_version), POLYTLS_OK);
}

static void start_both(cf_pair *p)
{
    cf_assert_status(cf_start_server(p, p->server), POLYTLS_OK);
    cf_assert_status(cf_start_client(p, p->client), POLYTLS_OK);
}

/* The setters' arguments and timing, whatever the backend. */
static void setter_rules(void **state)
{
    (void)state;
    kl_log log = {0};
    cf_assert_status(polytls_client_set_keylog(NULL, kl_record, &log), POLYTLS_ERR_INVALID_ARGUMENT);
    cf_assert_status(polytls_server_set_keylog(NULL, NULL, NULL), POLYTLS_ERR_INVALID_ARGUMENT);

    cf_pair p;
    cf_pair_init(&p);
    build_unstarted(&p, 0x0304);
    cf_assert_status(polytls_client_set_keylog(p.client, NULL, NULL), POLYTLS_OK);
    cf_assert_status(polytls_server_set_keylog(p.server, NULL, NULL), POLYTLS_OK);
    polytls_status want = cf_has_cap(POLYTLS_CAP_KEYLOG) ? POLYTLS_OK : POLYTLS_ERR_UNSUPPORTED;
    cf_assert_status(polytls_client_set_keylog(p.client, kl_record, &log), want);
    if (want != POLYTLS_OK)
        assert_true(strstr(polytls_last_error_message(), "key log") != NULL);
    start_both(&p);
    cf_assert_status(polytls_client_set_keylog(p.client, NULL, NULL), POLYTLS_ERR_WRONG_STATE);
    cf_assert_status(polytls_server_set_keylog(p.server, NULL, NULL), POLYTLS_ERR_WRONG_STATE);
    cf_handshake(&p);
    assert_true(want == POLYTLS_OK ? log.calls > 0 : log.calls == 0);
    cf_pair_free(&p);
    kl_free(&log);
}

static const char *const tls13_labels[] = {
    "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
    "CLIENT_TRAFFIC_SECRET_0",         "SERVER_TRAFFIC_SECRET_0",
    "EXPORTER_SECRET",
};

/* Claimed: the lines of a TLS 1.3 and a TLS 1.2 handshake, the same on
   both sides. Not claimed: nothing is ever called. */
static void lines(void **state)
{
    (void)state;
    bool claimed = cf_has_cap(POLYTLS_CAP_KEYLOG);
    for (int v = 0; v < 2; v++) {
        kl_log clog = {0}, slog = {0};
        cf_pair p;
        cf_pair_init(&p);
        build_unstarted(&p, v ? 0x0303 : 0x0304);
        polytls_status want = claimed ? POLYTLS_OK : POLYTLS_ERR_UNSUPPORTED;
        cf_assert_status(polytls_client_set_keylog(p.client, kl_record, &clog), want);
        cf_assert_status(polytls_server_set_keylog(p.server, kl_record, &slog), want);
        start_both(&p);
        cf_handshake(&p);
        cf_send_and_check(&p, CF_CLIENT, "ping", 4);
        if (!claimed) {
            assert_int_equal(clog.calls, 0);
            assert_int_equal(slog.calls, 0);
        } else if (v == 0) {
            const char *random = NULL;
            for (size_t i = 0; i < sizeof tls13_labels / sizeof tls13_labels[0]; i++) {
                const char *cl = kl_find(&clog, tls13_labels[i]);
                const char *sl = kl_find(&slog, tls13_labels[i]);
                /* TLS_AES_128_GCM_SHA256 or _256_GCM_SHA384: 32- or 48-byte secrets */
                assert_non_null(cl);
                size_t hex = strlen(cl) - strlen(tls13_labels[i]) - 66;
                assert_true(hex == 64 || hex == 96);
                const char *r = check_shape(cl, tls13_labels[i], hex);
                check_shape(sl, tls13_labels[i], hex);
                assert_string_equal(cl, sl);
                if (random)
                    assert_memory_equal(r, random, 64);
                random = r;
            }
            /* the two directions use different secrets */
            assert_string_not_equal(kl_find(&clog, "CLIENT_TRAFFIC_SECRET_0") + 24 + 66,
                                    kl_find(&clog, "SERVER_TRAFFIC_SECRET_0") + 24 + 66);
            assert_null(kl_find(&clog, "CLIENT_RANDOM"));
        } else {
            const char *cl = kl_find(&clog, "CLIENT_RANDOM");
            const char *sl = kl_find(&slog, "CLIENT_RANDOM");
            check_shape(cl, "CLIENT_RANDOM", 96); /* the 48-byte master secret */
            check_shape(sl, "CLIENT_RANDOM", 96);
            assert_string_equal(cl, sl);
            assert_null(kl_find(&clog, "CLIENT_TRAFFIC_SECRET_0"));
        }
        cf_pair_free(&p);
        kl_free(&clog);
        kl_free(&slog);
    }
}

static polytls_status export(polytls_conn *c, const char *label, const char *context, uint8_t out[32])
{
    return polytls_conn_export_keying_material(c, (const uint8_t *)label, strlen(label),
                                               (const uint8_t *)context, context ? strlen(context) : 0,
                                               out, 32);
}

/* Claimed: both sides agree; label and context matter; TLS 1.3 and 1.2.
   Not claimed: UNSUPPORTED, out untouched. */
static void exporter(void **state)
{
    (void)state;
    bool claimed = cf_has_cap(POLYTLS_CAP_EXPORTER);
    for (int v = 0; v < 2; v++) {
        cf_pair p;
        cf_pair_init(&p);
        build_unstarted(&p, v ? 0x0303 : 0x0304);
        start_both(&p);
        uint8_t a[32], b[32], c2[32], d[32], e[32];
        memset(a, 0xA5, sizeof a);
        if (claimed) {
            cf_assert_status(export(CF_C(&p)->conn, "EXPORTER-polytls-test", NULL, a),
                             POLYTLS_ERR_WRONG_STATE);
        }
        cf_handshake(&p);
        uint16_t version = 0;
        cf_assert_status(polytls_conn_tls_version(CF_C(&p)->conn, &version), POLYTLS_OK);
        assert_int_equal(version, v ? 0x0303 : 0x0304);
        /* argument checks come first on every backend */
        cf_assert_status(polytls_conn_export_keying_material(CF_C(&p)->conn, NULL, 3, NULL, 0, a, 32),
                         POLYTLS_ERR_INVALID_ARGUMENT);
        cf_assert_status(polytls_conn_export_keying_material(CF_C(&p)->conn, (const uint8_t *)"x", 0,
                                                             NULL, 0, a, 32),
                         POLYTLS_ERR_INVALID_ARGUMENT);
        cf_assert_status(polytls_conn_export_keying_material(CF_C(&p)->conn, (const uint8_t *)"x", 1,
                                                             NULL, 0, a, 0),
                         POLYTLS_ERR_INVALID_ARGUMENT);
        if (!claimed) {
            cf_assert_status(export(CF_C(&p)->conn, "EXPORTER-polytls-test", NULL, a),
                             POLYTLS_ERR_UNSUPPORTED);
            for (size_t i = 0; i < sizeof a; i++)
                assert_int_equal(a[i], 0xA5);
            assert_true(strstr(polytls_last_error_message(), "exporter") != NULL);
            cf_pair_free(&p);
            continue;
        }
        cf_assert_status(export(CF_C(&p)->conn, "EXPORTER-polytls-test", NULL, a), POLYTLS_OK);
        cf_assert_status(export(CF_S(&p)->conn, "EXPORTER-polytls-test", NULL, b), POLYTLS_OK);
        assert_memory_equal(a, b, 32);
        cf_assert_status(export(CF_S(&p)->conn, "EXPORTER-polytls-other", NULL, c2), POLYTLS_OK);
        assert_memory_not_equal(a, c2, 32);
        cf_assert_status(export(CF_C(&p)->conn, "EXPORTER-polytls-test", "ctx", d), POLYTLS_OK);
        cf_assert_status(export(CF_S(&p)->conn, "EXPORTER-polytls-test", "ctx", e), POLYTLS_OK);
        assert_memory_equal(d, e, 32);
        assert_memory_not_equal(a, d, 32);
        /* deterministic: asking again gives the same bytes */
        cf_assert_status(export(CF_C(&p)->conn, "EXPORTER-polytls-test", NULL, b), POLYTLS_OK);
        assert_memory_equal(a, b, 32);
        cf_pair_free(&p);
    }
}

static const struct CMUnitTest tests[] = {
    CF_TEST(setter_rules, "keylog.setter_rules"),
    CF_TEST(lines, "keylog.lines"),
    CF_TEST(exporter, "keylog.exporter"),
};

CF_GROUP(cf_group_keylog, "keylog", tests);
