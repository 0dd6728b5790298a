/* Writes the seed corpora of every fuzz target from real handshakes of the
   built backends and the demo PKI: `make-corpus <fuzz/corpus>` (see
   make-corpus.sh). Small on purpose: the seeds are committed and replayed
   by the fuzz-regress suite under valgrind. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"
#include "demo_pki.h"

static const char *root;

static void put(const char *target, const char *name, const uint8_t *head, size_t head_len,
                const uint8_t *body, size_t body_len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        fz_fail("mkdir", path);
    snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(head, 1, head_len, f) != head_len || fwrite(body, 1, body_len, f) != body_len ||
        fclose(f) != 0)
        fz_fail("cannot write", path);
}

/* Runs the first round trip of a real handshake: the ClientHello (c2s) and
   the server's first flight (s2c). */
static void first_flights(size_t cb, size_t sb, unsigned vbits, unsigned auth, fz_stream *c2s, fz_stream *s2c)
{
    fz_side c = {0}, s = {.server = true};
    if (polytls_server_start(fz_cached_server(sb, vbits, auth), &fz_callbacks, &s, &s.conn) != POLYTLS_OK ||
        polytls_client_start(fz_cached_client(cb, vbits), &fz_callbacks, &c, &c.conn) != POLYTLS_OK)
        fz_fail("start", polytls_last_error_message());
    fz_stream_append(c2s, c.out.data, c.out.len);
    fz_feed(&s, c.out.data, c.out.len);
    fz_stream_append(s2c, s.out.data, s.out.len);
    polytls_conn_free(c.conn);
    polytls_conn_free(s.conn);
    fz_stream_free(&c.out);
    fz_stream_free(&s.out);
}

/* The first round trip of a resumed handshake: a resumption client of
   backend b offering the session it got from the server of backend b
   (a ticket under the harness's fixed key, so still valid when a later
   process replays the seed, for the ticket lifetime of seven days: after
   that the server decrypts the ticket and refuses it as expired; wolfSSL's
   TLS 1.3 server refuses the PSK much sooner, for its age, after decrypting
   it), and that server's answer. */
static void resumed_flights(size_t b, unsigned vbits, fz_stream *c2s, fz_stream *s2c)
{
    fz_side c = {0}, s = {.server = true};
    polytls_session *session = fz_fresh_session(b, b, vbits);
    if (polytls_server_start(fz_cached_resume_server(b, vbits), &fz_callbacks, &s, &s.conn) != POLYTLS_OK ||
        polytls_client_start_with_session(fz_cached_resume_client(b, vbits), session, &fz_callbacks, &c,
                                          &c.conn) != POLYTLS_OK)
        fz_fail("start with a session", polytls_last_error_message());
    fz_stream_append(c2s, c.out.data, c.out.len);
    fz_feed(&s, c.out.data, c.out.len);
    fz_stream_append(s2c, s.out.data, s.out.len);
    /* Check the seed: the rest of the handshake must resume. */
    c.out.len = 0;
    fz_feed(&c, s2c->data, s2c->len);
    s.out.len = 0;
    fz_exchange(&c, &s);
    if (!polytls_conn_resumed(c.conn) || !polytls_conn_resumed(s.conn))
        fz_fail("the seed handshake did not resume", polytls_conn_error_message(c.conn));
    polytls_conn_free(c.conn);
    polytls_conn_free(s.conn);
    polytls_session_free(session);
    fz_stream_free(&c.out);
    fz_stream_free(&s.out);
}

static uint8_t *pem_to_der(const char *pem, size_t *len)
{
    polytls_certificate **certs;
    size_t n;
    if (polytls_certificates_from_pem(pem, strlen(pem), &certs, &n) != POLYTLS_OK)
        fz_fail("pem", polytls_last_error_message());
    const uint8_t *der;
    polytls_certificate_der(certs[0], &der, len);
    uint8_t *copy = malloc(*len);
    memcpy(copy, der, *len);
    polytls_certificates_free(certs, n);
    return copy;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make-corpus <corpus directory>\n");
        return 2;
    }
    root = argv[1];
    if (mkdir(root, 0755) != 0 && errno != EEXIST)
        fz_fail("mkdir", root);
    char name[64];

    /* der: the CA alone; the leaf without and with its PKCS#8 key. */
    size_t ca_len, leaf_len;
    uint8_t *ca = pem_to_der(demo_ca_pem, &ca_len), *leaf = pem_to_der(demo_leaf_pem, &leaf_len);
    put("der", "ca", (const uint8_t[]){0}, 1, ca, ca_len);
    put("der", "leaf", (const uint8_t[]){0}, 1, leaf, leaf_len);
    {
        polytls_certificate **chain;
        size_t n;
        if (polytls_chain_from_pem(demo_leaf_pem, strlen(demo_leaf_pem), demo_leaf_key_pem,
                                   strlen(demo_leaf_key_pem), &chain, &n) != POLYTLS_OK)
            fz_fail("chain", polytls_last_error_message());
        /* The key's DER is not public; the PEM body decoded by the pem
           target covers it. Here: certificate + a truncated key prefix. */
        uint8_t head[3] = {1, (uint8_t)(leaf_len >> 8), (uint8_t)leaf_len};
        uint8_t *both = malloc(leaf_len + 8);
        memcpy(both, leaf, leaf_len);
        memcpy(both + leaf_len, "\x30\x81\x87\x02\x01\x00\x30\x13", 8);
        put("der", "leaf_key_prefix", head, 3, both, leaf_len + 8);
        free(both);
        polytls_certificates_free(chain, n);
    }
    free(ca);
    free(leaf);

    /* pem: a bag, a chain split exactly between certificates and key, a
       chain with no key. */
    put("pem", "bag", (const uint8_t[]){0}, 1, (const uint8_t *)demo_ca_pem, strlen(demo_ca_pem));
    {
        size_t cl = strlen(demo_leaf_pem) + strlen(demo_ca_pem), kl = strlen(demo_leaf_key_pem);
        char *all = malloc(cl + kl + 1);
        snprintf(all, cl + kl + 1, "%s%s%s", demo_leaf_pem, demo_ca_pem, demo_leaf_key_pem);
        uint8_t head[3] = {1, (uint8_t)(cl >> 8), (uint8_t)cl};
        put("pem", "chain_key", head, 3, (const uint8_t *)all, cl + kl);
        put("pem", "chain_nokey", (const uint8_t[]){2}, 1, (const uint8_t *)all, cl);
        free(all);
    }

    size_t nb = fz_backend_count();
    for (size_t b = 0; b < nb; b++) {
        const char *bn = polytls_backend_name(fz_backend(b));
        for (unsigned v = 1; v <= 2; v++) {
            const char *vn = v == 1 ? "tls12" : "tls13";
            fz_stream c2s = {0}, s2c = {0};
            /* Client backend b talking to server backend b. */
            first_flights(b, b, v, 0, &c2s, &s2c);
            snprintf(name, sizeof name, "%s-%s", bn, vn);
            put("client_hello", name, NULL, 0, c2s.data, c2s.len);
            uint8_t head[3] = {(uint8_t)b, (uint8_t)v, 0};
            put("server_wire", name, head, 3, c2s.data, c2s.len);
            put("client_wire", name, head, 3, s2c.data, s2c.len);
            fz_stream_free(&c2s);
            fz_stream_free(&s2c);

            /* handshake_mutate: the pair b -> next backend, a mutation in
               record 2 (the server's first flight or its first encrypted
               record) and one far past the handshake. */
            uint8_t hm[8] = {(uint8_t)b, (uint8_t)((b + 1) % nb), (uint8_t)v, 2, 0, 20, 0, 0x55};
            snprintf(name, sizeof name, "%s-%s-xor", bn, vn);
            put("handshake_mutate", name, hm, sizeof hm, NULL, 0);
            hm[3] = 6;     /* late record: application data or close_notify */
            hm[6] = 3;     /* truncate */
            snprintf(name, sizeof name, "%s-%s-late", bn, vn);
            put("handshake_mutate", name, hm, sizeof hm, NULL, 0);

            /* Resumption (server_wire_resume, client_wire_resume): a
               ClientHello offering a valid ticket (TLS 1.3 PSK, TLS 1.2
               session_ticket) and the server's resumed flight. */
            resumed_flights(b, v, &c2s, &s2c);
            snprintf(name, sizeof name, "%s-%s", bn, vn);
            put("server_wire_resume", name, head, 3, c2s.data, c2s.len);
            put("client_wire_resume", name, head, 3, s2c.data, s2c.len);
            /* The same ClientHello in 3 pieces, cut inside the extensions. */
            size_t cut = c2s.len > 40 ? c2s.len - 40 : 0;
            uint8_t split_head[7] = {(uint8_t)b, (uint8_t)v, 2, 0, 60, (uint8_t)(cut >> 8), (uint8_t)cut};
            snprintf(name, sizeof name, "%s-%s-pieces", bn, vn);
            put("server_wire_resume", name, split_head, sizeof split_head, c2s.data, c2s.len);
            /* handshake_mutate, resumed (flag bit 4): the ClientHello's
               last bytes (the PSK binder in TLS 1.3, the ticket or
               another extension in TLS 1.2) and the server's flight. */
            size_t off = c2s.len > 8 ? c2s.len - 8 : 0;
            uint8_t hr[8] = {(uint8_t)b, (uint8_t)((b + 1) % nb), (uint8_t)(v | 0x10), 0,
                             (uint8_t)(off >> 8), (uint8_t)off, 0, 0x55};
            snprintf(name, sizeof name, "%s-%s-resumed-binder", bn, vn);
            put("handshake_mutate", name, hr, sizeof hr, NULL, 0);
            hr[3] = 1;     /* the server's (resumed) first flight */
            hr[4] = 0;
            hr[5] = 50;
            snprintf(name, sizeof name, "%s-%s-resumed-flight", bn, vn);
            put("handshake_mutate", name, hr, sizeof hr, NULL, 0);
            hr[3] = 200;   /* no mutation: the resumed handshake must work */
            snprintf(name, sizeof name, "%s-%s-resumed-clean", bn, vn);
            put("handshake_mutate", name, hr, sizeof hr, NULL, 0);
            fz_stream_free(&c2s);
            fz_stream_free(&s2c);
        }
        /* cert_request: a TLS 1.2 server flight asking for a client
           certificate and naming its CA, whole and in 7-byte pieces. */
        fz_stream c2s = {0}, s2c = {0};
        first_flights(b, b, 1, 2, &c2s, &s2c);
        snprintf(name, sizeof name, "%s-whole", bn);
        put("cert_request", name, (const uint8_t[]){0}, 1, s2c.data, s2c.len);
        snprintf(name, sizeof name, "%s-pieces", bn);
        put("cert_request", name, (const uint8_t[]){7}, 1, s2c.data, s2c.len);
        /* ... and the same flight for a client (its CertificateRequest
           scan and the driver's client-certificate path). */
        snprintf(name, sizeof name, "%s-tls12-certreq", bn);
        put("client_wire", name, (const uint8_t[]){(uint8_t)b, 1, 0}, 3, s2c.data, s2c.len);
        /* handshake_mutate with client auth asked (optional), TLS 1.2 and
           1.3, the mutation in the client's second flight. */
        for (unsigned v = 1; v <= 2; v++) {
            uint8_t hm[8] = {(uint8_t)b, (uint8_t)((b + 2) % nb), (uint8_t)(v | 1u << 2), 3, 0, 9, 1, 0x16};
            snprintf(name, sizeof name, "%s-%s-auth", bn, v == 1 ? "tls12" : "tls13");
            put("handshake_mutate", name, hm, sizeof hm, NULL, 0);
        }
        fz_stream_free(&c2s);
        fz_stream_free(&s2c);
    }

    /* api_sequence: op byte = (operation << 1) | side (0 client, 1 server).
       0 deliver c->s, 2 deliver s->c, 8 app data, 10 alert, 12 finish,
       14 eof, 16 reply good, 18 reply without a leaf, 20 cancel, 22 free,
       24 empty feed, 26 getters, 28 flood. */
    static const uint8_t handshake[] = {0, 0, 0x30, 0, 2, 0, 2, 0, 2, 8, 3, 'a', 'b', 'c', 2, 0, 2, 12, 2, 0, 2, 0, 26, 27};
    put("api_sequence", "handshake", handshake, sizeof handshake, NULL, 0);
    /* The same handshake, then 80 garbage records to the established
       client (28: flood, side 0). */
    uint8_t flood[sizeof handshake + 2];
    memcpy(flood, handshake, sizeof handshake);
    flood[sizeof handshake] = 28;
    flood[sizeof handshake + 1] = 79;
    put("api_sequence", "established_flood", flood, sizeof flood, NULL, 0);
    /* Server answers late, once badly, then well, then twice. */
    static const uint8_t late[] = {0, 0, 1, 0, 18, 0, 16, 0, 16, 0, 2, 0, 2, 0, 2, 0, 2, 26};
    put("api_sequence", "late_reply", late, sizeof late, NULL, 0);
    /* Client auth required, answered inside the callbacks; a fatal alert
       from the client mid-way, then everything again. */
    static const uint8_t auth[] = {1, 2, 0x39, 0, 2, 0, 2, 0, 2, 0, 2, 10, 40, 2, 0, 2, 8, 1, 'x', 14, 15};
    put("api_sequence", "auth_alert", auth, sizeof auth, NULL, 0);
    /* The server connection is freed while its reply is open, then the
       reply is answered and cancelled. */
    static const uint8_t freed[] = {2, 1, 0x02, 0, 0, 23, 16, 0, 20, 0, 2, 0};
    put("api_sequence", "freed_reply", freed, sizeof freed, NULL, 0);
    printf("corpus written to %s\n", root);
    return 0;
}
