/* The `polytls` command.
 *
 *   polytls demo      a client and a server of every built backend (every
 *                     client backend x every server backend) talk over
 *                     memory in this process; prints what was negotiated and
 *                     how many bytes crossed.
 *   polytls backends  lists the backends: built in or loaded from which
 *                     module, the library version built against and the one
 *                     loaded, and the capability bits (docs/backends.md).
 *   polytls client    a TLS client over TCP (stdin -> TLS -> stdout) and
 *   polytls server    a TLS server over TCP (HTTP or echo): docs/cli.md,
 *                     tools/cli_client.c, cli_server.c, cli_common.c.
 *
 * It uses nothing but the public API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "polytls/polytls.h"
#include "demo_pki.h"
#include "cli_common.h"

/* ------------------------------------------------------------------ pipe -- */

/* One direction of the in-memory "network". */
typedef struct pipe_buf {
    unsigned char *data;
    size_t len, cap;
    size_t total;   /* bytes that ever crossed */
} pipe_buf;

typedef struct side {
    const char *role;
    polytls_conn *conn;
    pipe_buf *out;        /* what this side writes */
    int closed;
    char received[64];
    size_t received_len;
} side;

static void on_write(void *user, const uint8_t *data, size_t len)
{
    side *s = user;
    pipe_buf *p = s->out;
    if (p->len + len > p->cap) {
        size_t cap = (p->len + len) * 2;
        unsigned char *n = realloc(p->data, cap);
        if (!n)
            return;   /* the demo then reports a stalled handshake */
        p->data = n;
        p->cap = cap;
    }
    memcpy(p->data + p->len, data, len);
    p->len += len;
    p->total += len;
}

static void on_close(void *user, bool immediate)
{
    (void)immediate;
    ((side *)user)->closed = 1;
}

/* Moves everything one side wrote into the other; returns bytes moved or -1. */
static long deliver(pipe_buf *from, side *to)
{
    if (!from->len)
        return 0;
    const uint8_t *app;
    size_t app_len;
    size_t n = from->len;
    from->len = 0;
    polytls_status s = polytls_conn_data_from_wire(to->conn, from->data, n, &app, &app_len);
    if (app_len) {
        size_t room = sizeof to->received - to->received_len;
        size_t k = app_len < room ? app_len : room;
        memcpy(to->received + to->received_len, app, k);
        to->received_len += k;
    }
    if (s != POLYTLS_OK) {
        fprintf(stderr, "  %s: %s: %s\n", to->role, polytls_status_name(s),
                polytls_conn_error_message(to->conn));
        return -1;
    }
    return (long)n;
}

/* ------------------------------------------------------------------ demo -- */

static int load_pki(polytls_trust_store **trust, polytls_server_certificates **certs)
{
    polytls_certificate **ca = NULL, **chain = NULL;
    size_t n_ca = 0, n_chain = 0;
    polytls_status s = polytls_certificates_from_pem(demo_ca_pem, strlen(demo_ca_pem), &ca, &n_ca);
    if (s == POLYTLS_OK)
        s = polytls_trust_store_new(ca, n_ca, trust);
    if (s == POLYTLS_OK)
        s = polytls_chain_from_pem(demo_leaf_pem, strlen(demo_leaf_pem), demo_leaf_key_pem,
                                   strlen(demo_leaf_key_pem), &chain, &n_chain);
    if (s == POLYTLS_OK)
        s = polytls_server_chain_new(chain, n_chain, certs);
    polytls_certificates_free(ca, n_ca);
    polytls_certificates_free(chain, n_chain);
    if (s != POLYTLS_OK) {
        fprintf(stderr, "demo PKI: %s: %s\n", polytls_status_name(s), polytls_last_error_message());
        return -1;
    }
    return 0;
}

static int demo_pair(polytls_backend *cb, polytls_backend *sb, polytls_trust_store *trust,
                     polytls_server_certificates *certs, uint16_t version)
{
    polytls_client *client = NULL;
    polytls_server *server = NULL;
    pipe_buf c2s = {0}, s2c = {0};
    side cs = {.role = "client", .out = &c2s}, ss = {.role = "server", .out = &s2c};
    int rc = -1;
    polytls_conn_callbacks cbs = {.size = sizeof cbs, .write_to_wire = on_write, .wire_close = on_close};
    polytls_status s = polytls_client_new(cb, DEMO_HOSTNAME, trust, NULL, &client);
    if (s == POLYTLS_OK)
        s = polytls_client_set_versions(client, version, version);
    if (s == POLYTLS_OK)
        s = polytls_server_new(sb, certs, NULL, 0, &server);
    if (s == POLYTLS_OK)
        s = polytls_server_start(server, &cbs, &ss, &ss.conn);
    if (s == POLYTLS_OK)
        s = polytls_client_start(client, &cbs, &cs, &cs.conn);
    if (s != POLYTLS_OK) {
        fprintf(stderr, "  setup: %s: %s\n", polytls_status_name(s), polytls_last_error_message());
        goto out;
    }
    const char *hello = "hello from the client", *reply = "hello from the server";
    polytls_conn_data_from_application(cs.conn, (const uint8_t *)hello, strlen(hello));
    for (int round = 0; round < 20; round++) {
        long a = deliver(&c2s, &ss), b = deliver(&s2c, &cs);
        if (a < 0 || b < 0)
            goto out;
        if (polytls_conn_handshake_done(ss.conn) && ss.received_len == strlen(hello) && !s2c.total)
            break;
        if (a == 0 && b == 0)
            break;
    }
    if (!polytls_conn_handshake_done(cs.conn) || !polytls_conn_handshake_done(ss.conn)) {
        fprintf(stderr, "  the handshake did not complete\n");
        goto out;
    }
    polytls_conn_data_from_application(ss.conn, (const uint8_t *)reply, strlen(reply));
    polytls_conn_application_finished(cs.conn);
    for (int round = 0; round < 10; round++) {
        long a = deliver(&c2s, &ss), b = deliver(&s2c, &cs);
        if (a < 0 || b < 0)
            goto out;
        if (a == 0 && b == 0)
            break;
    }
    uint16_t v = 0, id = 0;
    const char *suite = "?";
    polytls_conn_tls_version(cs.conn, &v);
    polytls_conn_cipher_suite(cs.conn, &suite, &id);
    int ok = ss.received_len == strlen(hello) && memcmp(ss.received, hello, ss.received_len) == 0 &&
             cs.received_len == strlen(reply) && memcmp(cs.received, reply, cs.received_len) == 0;
    printf("  %-8s -> %-8s  %s  %-30s  client->server %5zu B, server->client %5zu B  %s\n",
           polytls_backend_name(cb), polytls_backend_name(sb), v == 0x0304 ? "TLS1.3" : "TLS1.2", suite,
           c2s.total, s2c.total, ok ? "data ok" : "DATA MISMATCH");
    rc = ok ? 0 : -1;
out:
    polytls_conn_free(cs.conn);
    polytls_conn_free(ss.conn);
    polytls_client_free(client);
    polytls_server_free(server);
    free(c2s.data);
    free(s2c.data);
    return rc;
}

static int cmd_demo(void)
{
    polytls_trust_store *trust = NULL;
    polytls_server_certificates *certs = NULL;
    if (load_pki(&trust, &certs) != 0)
        return 1;
    printf("polytls %s demo: client -> server over memory, server name %s\n", polytls_version_string(),
           DEMO_HOSTNAME);
    int failures = 0, runs = 0;
    const char *const *names = polytls_backend_names();
    for (size_t i = 0; names[i]; i++) {
        for (size_t j = 0; names[j]; j++) {
            polytls_backend *cb = NULL, *sb = NULL;
            if (polytls_backend_get(names[i], &cb) != POLYTLS_OK ||
                polytls_backend_get(names[j], &sb) != POLYTLS_OK) {
                printf("  %s -> %s: unavailable: %s\n", names[i], names[j], polytls_last_error_message());
                failures++;
                continue;
            }
            const uint16_t versions[] = {0x0304, 0x0303};
            for (size_t k = 0; k < 2; k++) {
                runs++;
                if (demo_pair(cb, sb, trust, certs, versions[k]) != 0) {
                    printf("  %s -> %s %s: FAILED\n", names[i], names[j],
                           versions[k] == 0x0304 ? "TLS1.3" : "TLS1.2");
                    failures++;
                }
            }
        }
    }
    polytls_trust_store_unref(trust);
    polytls_server_certificates_unref(certs);
    printf("%d of %d handshakes completed with data both ways\n", runs - failures, runs);
    return failures ? 1 : 0;
}

/* -------------------------------------------------------------- backends -- */

static int cmd_backends(void)
{
    const char *const *names = polytls_backend_names();
    int failures = 0;
    for (size_t i = 0; names[i]; i++) {
        polytls_backend *b = NULL;
        polytls_status s = polytls_backend_get(names[i], &b);
        if (s != POLYTLS_OK) {
            printf("%s: unavailable: %s\n", names[i], polytls_last_error_message());
            failures++;
            continue;
        }
        if (polytls_backend_is_builtin(b))
            printf("%s (built in)\n", polytls_backend_name(b));
        else
            printf("%s (module %s)\n", polytls_backend_name(b), polytls_backend_module_path(b));
        printf("  library loaded: %s\n  built against:  %s\n  capabilities:  ", polytls_backend_version(b),
               polytls_backend_built_version(b));
        uint32_t caps = polytls_backend_capabilities(b);
        if (!caps)
            printf(" none");
        for (uint32_t bit = 1; bit; bit <<= 1)
            if ((caps & bit) && polytls_capability_name(bit))
                printf(" %s", polytls_capability_name(bit) + strlen("POLYTLS_CAP_"));
        printf("\n");
    }
    return failures ? 1 : 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: polytls demo | backends | version | client ... | server ...\n"
               "  demo      every built client backend x server backend over memory\n"
               "  backends  the backends, their library versions and capability bits\n"
               "  client    TLS client over TCP: stdin -> TLS -> stdout (client --help)\n"
               "  server    TLS server over TCP: HTTP or echo (server --help)\n");
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "demo";
    if (strcmp(cmd, "demo") == 0)
        return cmd_demo();
    if (strcmp(cmd, "client") == 0)
        return cli_client_main(argc - 1, argv + 1);
    if (strcmp(cmd, "server") == 0)
        return cli_server_main(argc - 1, argv + 1);
    if (strcmp(cmd, "backends") == 0)
        return cmd_backends();
    if (strcmp(cmd, "version") == 0) {
        printf("polytls %s\n", polytls_version_string());
        return 0;
    }
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}
