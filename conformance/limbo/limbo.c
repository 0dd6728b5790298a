/*
 * The x509-limbo harness (suite `limbo`, issue 6 part 4).
 *
 * Every limbo case runs on every backend polytls offers, two ways:
 *  (a) polytls: a real in-memory handshake. SERVER cases: a polytls server
 *      serves the peer certificate (+ untrusted intermediates) with its key;
 *      a polytls client on the backend under test trusts trusted_certs,
 *      expects expected_peer_name and verifies at validation_time. CLIENT
 *      cases: a polytls server (backend under test) requires a client
 *      certificate verified against trusted_certs at validation_time; the
 *      client presents the chain. The serving side may be any backend (the
 *      one under test first): only the bytes on the wire matter.
 *      ACCEPT = the handshake completes; REJECT = the judging side fails with
 *      BAD_TLS_DATA and a certificate alert reaches the peer; anything else is
 *      ERROR with the message.
 *  (b) raw: the backend's TLS library verifies the same chain directly
 *      (raw_<backend>.c).
 * A case polytls cannot express is SKIPPED with its reason, never passed.
 * The suite fails when polytls ACCEPTS a case its raw library REJECTS.
 *
 * Usage: limbo CASES_FILE [--backend NAME] [--case ID] [--json FILE] [--verbose]
 *   CASES_FILE is limbo.cases (limbo_convert.py, run by meson at build time);
 *   POLYTLS_TEST_PKI names the conformance PKI (the server of CLIENT cases).
 *
 * --json FILE schema (version 1):
 * {
 *   "version": 1,
 *   "source": "x509-limbo",
 *   "cases": <number of limbo cases>,
 *   "failed": <bool: some backend has polytls ACCEPT where raw REJECTs>,
 *   "backends": [ {
 *     "name": "openssl", "library": "<polytls_backend_version>",
 *     "polytls_run": N, "polytls_skipped": N,
 *     "raw_run": N, "raw_skipped": N,
 *     "polytls_agrees_expected": N,     out of polytls_run
 *     "raw_agrees_expected": N,         out of raw_run
 *     "both_run": N, "polytls_agrees_raw": N,   out of both_run
 *     "polytls_errors": N,              polytls verdict ERROR (counted in polytls_run)
 *     "polytls_accepts_raw_rejects": ["id", ...],   must be empty
 *     "skip_reasons": { "<reason>": N, ... },       polytls skips by reason
 *     "results": [ {
 *       "id": "...", "kind": "SERVER"|"CLIENT",
 *       "expected": "ACCEPT"|"REJECT",
 *       "polytls": "ACCEPT"|"REJECT"|"ERROR"|"SKIP",
 *       "raw": "ACCEPT"|"REJECT"|"ERROR"|"SKIP",
 *       "skip": "<reason>" | null,       why polytls (and maybe raw) skipped
 *       "polytls_detail": "...", "raw_detail": "..."
 *     } ... ]
 *   } ... ]
 * }
 * Reasons are fixed short strings (generic_skip, library_defects,
 * load_material and the run_*_case functions below; docs/limbo.md lists
 * them); details are free text (status names, library messages, alerts).
 * The exit status is 1 when polytls ACCEPTS a case its raw library REJECTS
 * (or no backend ran), 2 for a usage or input error, else 0.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "polytls/polytls.h"
#include "limbo.h"

/* ------------------------------------------------------------------------ */
/* Reading limbo.cases                                                       */
/* ------------------------------------------------------------------------ */

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (q == NULL) {
        fprintf(stderr, "limbo: out of memory\n");
        exit(2);
    }
    return q;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xrealloc(NULL, n), s, n);
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static bool unhex(const char *s, lb_blob *out)
{
    size_t n = strlen(s);
    if (n == 0 || n % 2 != 0)
        return false;
    out->p = xrealloc(NULL, n / 2);
    out->n = n / 2;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out->p[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static void case_free(lb_case *c)
{
    free(c->id);
    for (size_t i = 0; i < c->n_names; i++) {
        free(c->name_kind[i]);
        free(c->name_value[i]);
    }
    for (size_t i = 0; i < c->n_eku; i++)
        free(c->eku[i]);
    for (size_t i = 0; i < c->n_trusted; i++)
        free(c->trusted[i].p);
    free(c->trusted);
    for (size_t i = 0; i < c->n_untrusted; i++)
        free(c->untrusted[i].p);
    free(c->untrusted);
    free(c->leaf.p);
    free(c->key_type);
    free(c->key.p);
}

static lb_blob *push_blob(lb_blob **v, size_t *n)
{
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    lb_blob *b = &(*v)[(*n)++];
    b->p = NULL;
    b->n = 0;
    return b;
}

/* Reads every case; exits with a message on a malformed file (it is
 * generated, so that is a build problem, not a test result). */
static lb_case *read_cases(const char *path, size_t *n_out)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "limbo: %s: %s\n", path, strerror(errno));
        exit(2);
    }
    lb_case *cases = NULL;
    size_t n = 0;
    lb_case *c = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned lineno = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        char *val = strchr(line, ' ');
        if (val != NULL)
            *val++ = '\0';
        else
            val = line + len;
        bool ok = true;
        if (strcmp(line, "case") == 0) {
            cases = xrealloc(cases, (n + 1) * sizeof(*cases));
            c = &cases[n++];
            memset(c, 0, sizeof(*c));
            c->id = xstrdup(val);
            c->maxdepth = -1;
        } else if (c == NULL) {
            ok = false;
        } else if (strcmp(line, "kind") == 0) {
            c->client_kind = strcmp(val, "CLIENT") == 0;
            ok = c->client_kind || strcmp(val, "SERVER") == 0;
        } else if (strcmp(line, "expected") == 0) {
            c->expect_success = strcmp(val, "SUCCESS") == 0;
            ok = c->expect_success || strcmp(val, "FAILURE") == 0;
        } else if (strcmp(line, "time") == 0) {
            c->has_time = true;
            c->time = strtoll(val, NULL, 10);
        } else if (strcmp(line, "name") == 0) {
            char *v2 = strchr(val, ' ');
            ok = v2 != NULL && c->n_names < LB_MAX_NAMES;
            if (ok) {
                *v2++ = '\0';
                c->name_kind[c->n_names] = xstrdup(val);
                c->name_value[c->n_names++] = xstrdup(v2);
            }
        } else if (strcmp(line, "eku") == 0) {
            ok = c->n_eku < LB_MAX_NAMES;
            if (ok)
                c->eku[c->n_eku++] = xstrdup(val);
        } else if (strcmp(line, "ku") == 0) {
            c->n_ku++;
        } else if (strcmp(line, "sigalg") == 0) {
            c->n_sigalg++;
        } else if (strcmp(line, "feature") == 0) {
            c->n_features++;
        } else if (strcmp(line, "maxdepth") == 0) {
            c->maxdepth = strtol(val, NULL, 10);
        } else if (strcmp(line, "crls") == 0) {
            c->n_crls = strtol(val, NULL, 10);
        } else if (strcmp(line, "trusted") == 0) {
            ok = unhex(val, push_blob(&c->trusted, &c->n_trusted));
        } else if (strcmp(line, "untrusted") == 0) {
            ok = unhex(val, push_blob(&c->untrusted, &c->n_untrusted));
        } else if (strcmp(line, "leaf") == 0) {
            ok = c->leaf.p == NULL && unhex(val, &c->leaf);
        } else if (strcmp(line, "key") == 0) {
            char *v2 = strchr(val, ' ');
            ok = v2 != NULL && c->key_type == NULL;
            if (ok) {
                *v2++ = '\0';
                c->key_type = xstrdup(val);
                ok = unhex(v2, &c->key);
            }
        } else if (strcmp(line, "end") == 0) {
            ok = c->leaf.p != NULL;
            c = NULL;
        } else {
            ok = false;
        }
        if (!ok) {
            fprintf(stderr, "limbo: %s:%u: malformed line \"%s\"\n", path, lineno, line);
            exit(2);
        }
    }
    free(line);
    fclose(f);
    if (c != NULL || n == 0) {
        fprintf(stderr, "limbo: %s: truncated or empty\n", path);
        exit(2);
    }
    *n_out = n;
    return cases;
}

/* ------------------------------------------------------------------------ */
/* What polytls cannot express                                               */
/* ------------------------------------------------------------------------ */

/* Reasons that hold for polytls and the raw verifier alike (the comparison
 * would be meaningless): NULL when the case can run. */
static const char *generic_skip(const lb_case *c)
{
    if (c->n_crls > 0)
        return "CRLs (polytls has no CRL API)";
    if (c->maxdepth >= 0)
        return "max_chain_depth (polytls has no chain depth setting)";
    if (c->n_ku > 0)
        return "key_usage constraint (not expressible in polytls)";
    if (c->n_sigalg > 0)
        return "signature_algorithms constraint (not expressible in polytls)";
    for (size_t i = 0; i < c->n_eku; i++)
        if (strcmp(c->eku[i], c->client_kind ? "clientAuth" : "serverAuth") != 0)
            return "extended_key_usage other than the TLS purpose of the side";
    if (c->n_names > 1)
        return "several expected peer names (polytls checks one)";
    if (c->n_names == 1 && strcmp(c->name_kind[0], "RFC822") == 0)
        return "RFC822 expected name (polytls checks DNS/IP names)";
    if (c->n_names == 1 && strcmp(c->name_kind[0], "DNS") != 0 && strcmp(c->name_kind[0], "IP") != 0)
        return "unknown expected name kind";
    if (!c->client_kind && c->n_names == 0)
        return "no expected peer name for a SERVER case (polytls always checks a name)";
    if (c->client_kind && c->n_names > 0)
        return "expected name for a CLIENT case (polytls servers check no client name)";
    return NULL;
}

/* Cases a library cannot run cleanly: the library itself leaks or crashes,
 * which would fail the valgrind and ASan stages for a defect that is not
 * polytls's. Matched on backend name and library version prefix, so a fixed
 * library runs them again. Skipped for polytls and raw alike, and counted. */
static const struct {
    const char *backend, *version_prefix, *case_id, *reason;
} library_defects[] = {
    {"gnutls", "3.7.", "rfc5280::nc::nc-forbids-othername",
     "library defect: GnuTLS 3.7 leaks memory importing otherName name constraints"},
    {"gnutls", "3.7.", "rfc5280::nc::nc-forbids-othername-noop",
     "library defect: GnuTLS 3.7 leaks memory importing otherName name constraints"},
};

static const char *library_defect(const lb_case *c, const polytls_backend *b)
{
    const char *version = polytls_backend_version(b);
    for (size_t i = 0; i < sizeof(library_defects) / sizeof(library_defects[0]); i++)
        if (strcmp(library_defects[i].backend, polytls_backend_name(b)) == 0 &&
            strncmp(library_defects[i].version_prefix, version, strlen(library_defects[i].version_prefix)) == 0 &&
            strcmp(library_defects[i].case_id, c->id) == 0)
            return library_defects[i].reason;
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* The in-memory handshake                                                   */
/* ------------------------------------------------------------------------ */

typedef struct lb_end {
    polytls_conn *conn;
    uint8_t *out;
    size_t len, cap;
    bool closed;
    polytls_status first_error;
    char message[256];
    polytls_certificate **present;     /* the chain a client presents */
    size_t n_present;
    polytls_status reply_status;       /* of polytls_chain_reply_send */
    char reply_message[256];
    bool reply_tried;
} lb_end;

static void on_write(void *user, const uint8_t *data, size_t len)
{
    lb_end *e = user;
    if (e->len + len > e->cap) {
        e->cap = (e->len + len) * 2;
        e->out = xrealloc(e->out, e->cap);
    }
    memcpy(e->out + e->len, data, len);
    e->len += len;
}

static void on_close(void *user, bool immediate)
{
    (void)immediate;
    ((lb_end *)user)->closed = true;
}

static const polytls_conn_callbacks conn_cbs = {
    .size = sizeof(polytls_conn_callbacks),
    .write_to_wire = on_write,
    .wire_close = on_close,
};

/* Delivers everything `from` wrote to `to`. Returns true if bytes moved. */
static bool deliver(lb_end *from, lb_end *to)
{
    if (from->len == 0)
        return false;
    if (to->first_error != POLYTLS_OK || to->conn == NULL) {
        from->len = 0;
        return true;
    }
    const uint8_t *app;
    size_t app_len;
    size_t n = from->len;
    uint8_t *copy = xrealloc(NULL, n);
    memcpy(copy, from->out, n);
    from->len = 0;
    polytls_status s = polytls_conn_data_from_wire(to->conn, copy, n, &app, &app_len);
    free(copy);
    if (s != POLYTLS_OK && to->first_error == POLYTLS_OK) {
        to->first_error = s;
        snprintf(to->message, sizeof(to->message), "%s", polytls_conn_error_message(to->conn));
    }
    return true;
}

static void give_chain(lb_end *e, polytls_chain_reply *reply)
{
    e->reply_tried = true;
    e->reply_status = polytls_chain_reply_send(reply, e->present, e->n_present);
    if (e->reply_status != POLYTLS_OK) {
        snprintf(e->reply_message, sizeof(e->reply_message), "%s", polytls_last_error_message());
        polytls_chain_reply_cancel(reply);
    }
}

static void get_default_chain(void *user, polytls_chain_reply *reply)
{
    give_chain(user, reply);
}

static void get_chain_for_roots(void *user, const uint8_t *const *roots, const size_t *lens,
                                size_t n, polytls_chain_reply *reply)
{
    (void)roots;
    (void)lens;
    (void)n;
    give_chain(user, reply);
}

static bool is_certificate_alert(polytls_alert a)
{
    /* The codes TLS uses for a certificate that fails verification. */
    return a == 42 || a == 43 || a == 44 || a == 45 || a == 46 || a == 48 || a == 51;
}

typedef struct lb_outcome {
    lb_verdict verdict;
    bool serving_failed;   /* the serving side broke before the judge decided */
    char detail[1024];
} lb_outcome;

/* Pumps both ends until nothing moves, then judges. `judge` is the side
 * whose verification is under test. */
static void pump_and_judge(lb_end *cl, lb_end *sv, bool judge_is_server, lb_outcome *o)
{
    for (int round = 0; round < 64; round++) {
        bool moved = deliver(cl, sv);
        moved = deliver(sv, cl) || moved;
        if (!moved)
            break;
    }
    lb_end *judge = judge_is_server ? sv : cl;
    lb_end *other = judge_is_server ? cl : sv;
    if (judge->first_error == POLYTLS_OK && polytls_conn_handshake_done(judge->conn) &&
        !polytls_conn_invalidated(judge->conn)) {
        o->verdict = LB_ACCEPT;
        snprintf(o->detail, sizeof(o->detail), "handshake completed");
        return;
    }
    if (judge->first_error == POLYTLS_ERR_BAD_TLS_DATA) {
        polytls_alert code;
        polytls_alert_level level;
        if (polytls_conn_peer_alert(other->conn, &code, &level) == POLYTLS_OK && is_certificate_alert(code)) {
            o->verdict = LB_REJECT;
            snprintf(o->detail, sizeof(o->detail), "alert %d (%s): %s", (int)code,
                     polytls_alert_name(code) ? polytls_alert_name(code) : "?", judge->message);
            return;
        }
        bool has_alert = polytls_conn_peer_alert(other->conn, &code, &level) == POLYTLS_OK;
        o->verdict = LB_ERROR;
        snprintf(o->detail, sizeof(o->detail), "BAD_TLS_DATA with %s alert %d: %s",
                 has_alert ? "non-certificate" : "no", has_alert ? (int)code : -1, judge->message);
        return;
    }
    o->verdict = LB_ERROR;
    if (judge->first_error == POLYTLS_OK || judge->first_error == POLYTLS_ERR_TLS_ALERT) {
        /* The serving side stopped (or aborted with an alert) before the
           judge decided: its backend could not serve this chain. */
        o->serving_failed = true;
        if (judge->first_error == POLYTLS_ERR_TLS_ALERT) {
            snprintf(o->detail, sizeof(o->detail), "the serving side aborted: %s",
                     judge->message);
            return;
        }
        snprintf(o->detail, sizeof(o->detail), "handshake stalled; serving side: %s %s%s%s",
                 polytls_status_name(other->first_error), other->message,
                 other->reply_tried && other->reply_status != POLYTLS_OK ? " chain reply: " : "",
                 other->reply_tried && other->reply_status != POLYTLS_OK ? other->reply_message : "");
        return;
    }
    snprintf(o->detail, sizeof(o->detail), "%s: %s", polytls_status_name(judge->first_error),
             judge->message);
}

static void end_free(lb_end *e)
{
    polytls_conn_free(e->conn);
    free(e->out);
}

/* The loaded case material; skip set when polytls refuses some of it. */
typedef struct lb_material {
    polytls_certificate *leaf;          /* with its key */
    polytls_certificate **chain;        /* leaf + untrusted, leaf first */
    size_t n_chain;
    polytls_trust_store *trust;
    const char *skip;
    char detail[512];
} lb_material;

static void material_free(lb_material *m)
{
    for (size_t i = 0; i < m->n_chain; i++)
        polytls_certificate_unref(m->chain[i]);
    free(m->chain);
    polytls_trust_store_unref(m->trust);
}

static bool load_material(const lb_case *c, lb_material *m)
{
    memset(m, 0, sizeof(*m));
    if (c->key_type == NULL) {
        m->skip = "no peer_certificate_key (polytls cannot serve the chain)";
        return false;
    }
    if (strcmp(c->key_type, "EC_PRIVATE_KEY") != 0 && strcmp(c->key_type, "RSA_PRIVATE_KEY") != 0 &&
        strcmp(c->key_type, "PRIVATE_KEY") != 0) {
        m->skip = "key type polytls does not load";
        snprintf(m->detail, sizeof(m->detail), "%s (polytls loads EC, RSA and PKCS#8 keys)", c->key_type);
        return false;
    }
    m->chain = xrealloc(NULL, (1 + c->n_untrusted) * sizeof(*m->chain));
    polytls_status s = polytls_certificate_new(c->leaf.p, c->leaf.n, c->key.p, c->key.n, &m->leaf);
    if (s != POLYTLS_OK) {
        m->skip = "polytls refuses the peer certificate or its key";
        snprintf(m->detail, sizeof(m->detail), "%s: %s", polytls_status_name(s), polytls_last_error_message());
        return false;
    }
    m->chain[m->n_chain++] = m->leaf;
    for (size_t i = 0; i < c->n_untrusted; i++) {
        polytls_certificate *x;
        s = polytls_certificate_new(c->untrusted[i].p, c->untrusted[i].n, NULL, 0, &x);
        if (s != POLYTLS_OK) {
            m->skip = "polytls refuses an untrusted intermediate";
            snprintf(m->detail, sizeof(m->detail), "#%zu %s: %s", i, polytls_status_name(s),
                     polytls_last_error_message());
            return false;
        }
        m->chain[m->n_chain++] = x;
    }
    polytls_certificate **anchors = xrealloc(NULL, (c->n_trusted ? c->n_trusted : 1) * sizeof(*anchors));
    size_t n_anchors = 0;
    for (size_t i = 0; i < c->n_trusted; i++) {
        s = polytls_certificate_new(c->trusted[i].p, c->trusted[i].n, NULL, 0, &anchors[n_anchors]);
        if (s != POLYTLS_OK) {
            m->skip = "polytls refuses a trusted certificate";
            snprintf(m->detail, sizeof(m->detail), "#%zu %s: %s", i, polytls_status_name(s),
                     polytls_last_error_message());
            break;
        }
        n_anchors++;
    }
    if (m->skip == NULL) {
        s = polytls_trust_store_new(anchors, n_anchors, &m->trust);
        if (s != POLYTLS_OK) {
            m->skip = "polytls refuses the trust store";
            snprintf(m->detail, sizeof(m->detail), "%s: %s", polytls_status_name(s),
                     polytls_last_error_message());
        }
    }
    polytls_certificates_free(anchors, n_anchors);
    return m->skip == NULL;
}

/* polytls on `judge_backend`, the serving side on `serve_backend`. */
static void run_server_case(const lb_case *c, const lb_material *m, const polytls_backend *judge_backend,
                            const polytls_backend *serve_backend, lb_outcome *o, const char **skip)
{
    lb_end cl = {0}, sv = {0};
    polytls_server_certificates *sc = NULL;
    polytls_server *server = NULL;
    polytls_client *client = NULL;
    polytls_status s = polytls_server_chain_new(m->chain, m->n_chain, &sc);
    if (s != POLYTLS_OK) {
        *skip = "polytls refuses to serve the chain";
        snprintf(o->detail, sizeof(o->detail), "server_chain_new: %s: %s", polytls_status_name(s),
                 polytls_last_error_message());
        goto out;
    }
    s = polytls_server_new(serve_backend, sc, NULL, 0, &server);
    if (s != POLYTLS_OK) {
        o->verdict = LB_ERROR;
        o->serving_failed = true;
        snprintf(o->detail, sizeof(o->detail), "server_new: %s: %s", polytls_status_name(s),
                 polytls_last_error_message());
        goto out;
    }
    s = polytls_client_new(judge_backend, c->name_value[0], m->trust, NULL, &client);
    if (s != POLYTLS_OK) {
        *skip = "polytls refuses the expected name as a host name";
        snprintf(o->detail, sizeof(o->detail), "%s: %s: %s", c->name_value[0], polytls_status_name(s),
                 polytls_last_error_message());
        goto out;
    }
    if (c->has_time) {
        s = polytls_client_set_verify_time(client, c->time);
        if (s != POLYTLS_OK) {
            *skip = "verify time not available";
            snprintf(o->detail, sizeof(o->detail), "%s: %s", polytls_status_name(s),
                     polytls_last_error_message());
            goto out;
        }
    }
    s = polytls_server_start(server, &conn_cbs, &sv, &sv.conn);
    if (s != POLYTLS_OK) {
        o->verdict = LB_ERROR;
        o->serving_failed = true;
        snprintf(o->detail, sizeof(o->detail), "server_start: %s: %s", polytls_status_name(s),
                 polytls_last_error_message());
        goto out;
    }
    s = polytls_client_start(client, &conn_cbs, &cl, &cl.conn);
    if (s == POLYTLS_ERR_BAD_ENCODING) {
        /* The backend refused the configuration: a trust anchor it does
           not load (the message says which). */
        *skip = "the backend refuses a trust anchor at start";
        snprintf(o->detail, sizeof(o->detail), "client_start: %s", polytls_last_error_message());
        goto out;
    }
    if (s != POLYTLS_OK) {
        o->verdict = LB_ERROR;
        snprintf(o->detail, sizeof(o->detail), "client_start: %s: %s", polytls_status_name(s),
                 polytls_last_error_message());
        goto out;
    }
    pump_and_judge(&cl, &sv, false, o);
out:
    end_free(&cl);
    end_free(&sv);
    polytls_client_free(client);
    polytls_server_free(server);
    polytls_server_certificates_unref(sc);
}

static polytls_server_certificates *pki_server_chain(void)
{
    const char *dir = getenv("POLYTLS_TEST_PKI");
    if (dir == NULL)
        return NULL;
    char cert[4096], key[4096];
    snprintf(cert, sizeof(cert), "%s/server-ec-chain.pem", dir);
    snprintf(key, sizeof(key), "%s/server-ec.key", dir);
    polytls_certificate **chain;
    size_t n;
    if (polytls_chain_from_pem_files(cert, key, &chain, &n) != POLYTLS_OK)
        return NULL;
    polytls_server_certificates *sc = NULL;
    if (polytls_server_chain_new(chain, n, &sc) != POLYTLS_OK)
        sc = NULL;
    polytls_certificates_free(chain, n);
    return sc;
}

static polytls_trust_store *pki_root(void)
{
    const char *dir = getenv("POLYTLS_TEST_PKI");
    if (dir == NULL)
        return NULL;
    char path[4096];
    snprintf(path, sizeof(path), "%s/root.pem", dir);
    polytls_certificate **certs;
    size_t n;
    if (polytls_certificates_from_pem_file(path, &certs, &n) != POLYTLS_OK)
        return NULL;
    polytls_trust_store *ts = NULL;
    if (polytls_trust_store_new(certs, n, &ts) != POLYTLS_OK)
        ts = NULL;
    polytls_certificates_free(certs, n);
    return ts;
}

/* polytls server (judge) on `judge_backend`, the presenting client on `serve_backend`. */
static void run_client_case(const lb_case *c, const lb_material *m, const polytls_backend *judge_backend,
                            const polytls_backend *serve_backend, lb_outcome *o, const char **skip)
{
    lb_end cl = {0}, sv = {0};
    polytls_server_certificates *sc = pki_server_chain();
    polytls_trust_store *root = pki_root();
    polytls_server *server = NULL;
    polytls_client *client = NULL;
    polytls_client_cert_store *store = NULL;
    polytls_status s;
    if (sc == NULL || root == NULL) {
        *skip = "the conformance PKI is missing (set POLYTLS_TEST_PKI)";
        goto out;
    }
    s = polytls_server_new(judge_backend, sc, NULL, 0, &server);
    if (s == POLYTLS_OK)
        s = polytls_server_set_client_auth(server, POLYTLS_CLIENT_AUTH_REQUIRED, m->trust, false);
    if (s != POLYTLS_OK) {
        o->verdict = LB_ERROR;
        snprintf(o->detail, sizeof(o->detail), "server setup: %s: %s", polytls_status_name(s),
                 polytls_last_error_message());
        goto out;
    }
    if (c->has_time) {
        s = polytls_server_set_verify_time(server, c->time);
        if (s != POLYTLS_OK) {
            *skip = "verify time not available";
            snprintf(o->detail, sizeof(o->detail), "%s: %s", polytls_status_name(s),
                     polytls_last_error_message());
            goto out;
        }
    }
    cl.present = m->chain;
    cl.n_present = m->n_chain;
    const polytls_client_cert_store_callbacks store_cbs = {
        .size = sizeof(store_cbs),
        .get_chain_for_roots = get_chain_for_roots,
        .get_default_chain = get_default_chain,
    };
    s = polytls_client_cert_store_new(&store_cbs, &cl, &store);
    if (s == POLYTLS_OK)
        s = polytls_client_new(serve_backend, "server.test", root, store, &client);
    if (s != POLYTLS_OK) {
        o->verdict = LB_ERROR;
        o->serving_failed = true;
        snprintf(o->detail, sizeof(o->detail), "client setup: %s: %s", polytls_status_name(s),
                 polytls_last_error_message());
        goto out;
    }
    s = polytls_server_start(server, &conn_cbs, &sv, &sv.conn);
    if (s == POLYTLS_ERR_BAD_ENCODING) {
        *skip = "the backend refuses a trust anchor at start";
        snprintf(o->detail, sizeof(o->detail), "server_start: %s", polytls_last_error_message());
        goto out;
    }
    if (s == POLYTLS_OK)
        s = polytls_client_start(client, &conn_cbs, &cl, &cl.conn);
    if (s != POLYTLS_OK) {
        o->verdict = LB_ERROR;
        snprintf(o->detail, sizeof(o->detail), "start: %s: %s", polytls_status_name(s),
                 polytls_last_error_message());
        goto out;
    }
    pump_and_judge(&cl, &sv, true, o);
    if (cl.reply_tried && cl.reply_status != POLYTLS_OK) {
        /* polytls would not present this chain: nothing was judged. */
        *skip = "polytls refuses to present the chain";
        snprintf(o->detail, sizeof(o->detail), "chain_reply_send: %s: %s",
                 polytls_status_name(cl.reply_status), cl.reply_message);
    }
out:
    end_free(&cl);
    end_free(&sv);
    polytls_client_free(client);
    polytls_client_cert_store_unref(store);
    polytls_server_free(server);
    polytls_trust_store_unref(root);
    polytls_server_certificates_unref(sc);
}

/* ------------------------------------------------------------------------ */
/* The run                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct lb_result {
    lb_verdict polytls, raw;
    const char *skip;
    char polytls_detail[1024];
    char raw_detail[512];
} lb_result;

typedef struct lb_reason_count {
    const char *reason;
    unsigned n;
} lb_reason_count;

typedef struct lb_backend_run {
    const char *name;
    const char *library;
    lb_result *results;
    unsigned polytls_run, polytls_skipped, raw_run, raw_skipped;
    unsigned polytls_agrees_expected, raw_agrees_expected, both_run, polytls_agrees_raw, polytls_errors;
    unsigned accepts_raw_rejects;
    lb_reason_count reasons[32];
    size_t n_reasons;
} lb_backend_run;

static const struct {
    const char *name;
    lb_raw_verifier fn;
} raw_verifiers[] = {
    {"openssl", lb_raw_openssl}, /* NULL when not linked (weak) */
    {"gnutls", lb_raw_gnutls},
    {"wolfssl", lb_raw_wolfssl},
    {NULL, NULL},
};

static lb_raw_verifier raw_for(const char *name)
{
    for (size_t i = 0; raw_verifiers[i].name != NULL; i++)
        if (strcmp(raw_verifiers[i].name, name) == 0)
            return raw_verifiers[i].fn;
    return NULL;
}

static const char *verdict_name(lb_verdict v)
{
    static const char *const names[] = {"ACCEPT", "REJECT", "ERROR", "SKIP"};
    return names[v];
}

static void count_reason(lb_backend_run *r, const char *reason)
{
    for (size_t i = 0; i < r->n_reasons; i++)
        if (strcmp(r->reasons[i].reason, reason) == 0) {
            r->reasons[i].n++;
            return;
        }
    if (r->n_reasons < sizeof(r->reasons) / sizeof(r->reasons[0]))
        r->reasons[r->n_reasons++] = (lb_reason_count){reason, 1};
}

static void run_polytls(const lb_case *c, const polytls_backend *b, lb_result *res)
{
    lb_material m;
    if (!load_material(c, &m)) {
        res->polytls = LB_SKIP;
        res->skip = m.skip;
        snprintf(res->polytls_detail, sizeof(res->polytls_detail), "%s", m.detail);
        material_free(&m);
        return;
    }
    /* The serving side: the backend under test first, then the others. */
    const char *const *names = polytls_backend_names();
    lb_outcome o;
    const char *skip = NULL;
    for (size_t i = 0; i == 0 || names[i - 1] != NULL; i++) {
        const polytls_backend *serve = b;
        if (i > 0) {
            polytls_backend *other;
            if (strcmp(names[i - 1], polytls_backend_name(b)) == 0 ||
                polytls_backend_get(names[i - 1], &other) != POLYTLS_OK)
                continue;
            serve = other;
        }
        memset(&o, 0, sizeof(o));
        skip = NULL;
        if (c->client_kind)
            run_client_case(c, &m, b, serve, &o, &skip);
        else
            run_server_case(c, &m, b, serve, &o, &skip);
        if (skip == NULL && !o.serving_failed)
            break;
        if (skip != NULL && (strcmp(skip, "verify time not available") == 0 ||
                             strcmp(skip, "the backend refuses a trust anchor at start") == 0))
            break;
    }
    if (skip == NULL && o.serving_failed) {
        /* Every serving backend broke before the judge saw the chain (a
           key no TLS 1.2/1.3 server can sign with, such as P-192). */
        skip = "no backend can serve the chain (the serving side aborts)";
    }
    if (skip != NULL) {
        res->polytls = LB_SKIP;
        res->skip = skip;
    } else {
        res->polytls = o.verdict;
    }
    snprintf(res->polytls_detail, sizeof(res->polytls_detail), "%s", o.detail);
    material_free(&m);
}

static void run_backend(const lb_case *cases, size_t n, const polytls_backend *b, lb_backend_run *r,
                        bool verbose)
{
    r->name = polytls_backend_name(b);
    r->library = polytls_backend_version(b);
    r->results = xrealloc(NULL, n * sizeof(*r->results));
    lb_raw_verifier raw = raw_for(r->name);
    for (size_t i = 0; i < n; i++) {
        const lb_case *c = &cases[i];
        lb_result *res = &r->results[i];
        memset(res, 0, sizeof(*res));
        lb_verdict expected = c->expect_success ? LB_ACCEPT : LB_REJECT;
        const char *gskip = library_defect(c, b);
        if (gskip == NULL)
            gskip = generic_skip(c);
        if (gskip != NULL) {
            res->polytls = res->raw = LB_SKIP;
            res->skip = gskip;
        } else {
            if (raw != NULL) {
                res->raw = raw(c, res->raw_detail, sizeof(res->raw_detail));
            } else {
                res->raw = LB_SKIP;
                snprintf(res->raw_detail, sizeof(res->raw_detail), "no raw verifier for this backend");
            }
            run_polytls(c, b, res);
        }
        if (res->polytls == LB_SKIP) {
            r->polytls_skipped++;
            count_reason(r, res->skip);
        } else {
            r->polytls_run++;
            r->polytls_agrees_expected += res->polytls == expected;
            r->polytls_errors += res->polytls == LB_ERROR;
        }
        if (res->raw == LB_SKIP) {
            r->raw_skipped++;
        } else {
            r->raw_run++;
            r->raw_agrees_expected += res->raw == expected;
        }
        if (res->polytls != LB_SKIP && res->raw != LB_SKIP) {
            r->both_run++;
            r->polytls_agrees_raw += res->polytls == res->raw;
            if (res->polytls == LB_ACCEPT && res->raw == LB_REJECT)
                r->accepts_raw_rejects++;
        }
        if (verbose)
            printf("  %-8s %-60s expected %-6s polytls %-6s raw %-6s %s | %s%s%s\n", r->name, c->id,
                   verdict_name(expected), verdict_name(res->polytls), verdict_name(res->raw),
                   res->polytls_detail, res->raw_detail, res->skip ? " | skip: " : "",
                   res->skip ? res->skip : "");
    }
}

static void print_report(const lb_case *cases, size_t n, const lb_backend_run *r)
{
    printf("== %s (%s)\n", r->name, r->library);
    printf("  cases: %zu; polytls run %u, skipped %u; raw run %u, skipped %u\n", n, r->polytls_run,
           r->polytls_skipped, r->raw_run, r->raw_skipped);
    printf("  polytls agrees with expected_result: %u/%u (errors: %u)\n", r->polytls_agrees_expected,
           r->polytls_run, r->polytls_errors);
    printf("  raw %s agrees with expected_result: %u/%u\n", r->name, r->raw_agrees_expected, r->raw_run);
    printf("  polytls agrees with raw %s: %u/%u\n", r->name, r->polytls_agrees_raw, r->both_run);
    printf("  skip reasons:\n");
    for (size_t i = 0; i < r->n_reasons; i++)
        printf("    %3u  %s\n", r->reasons[i].n, r->reasons[i].reason);
    for (size_t i = 0; i < n; i++) {
        const lb_result *res = &r->results[i];
        lb_verdict expected = cases[i].expect_success ? LB_ACCEPT : LB_REJECT;
        if (res->polytls == LB_ACCEPT && res->raw == LB_REJECT)
            printf("  FAIL polytls ACCEPTS, raw REJECTS: %s (raw: %s)\n", cases[i].id, res->raw_detail);
        else if (res->polytls != LB_SKIP && res->polytls != expected)
            printf("  differs from expected %s: %s polytls %s raw %s: %s\n", verdict_name(expected),
                   cases[i].id, verdict_name(res->polytls), verdict_name(res->raw), res->polytls_detail);
        else if (res->polytls != LB_SKIP && res->raw != LB_SKIP && res->polytls != res->raw)
            printf("  differs from raw: %s polytls %s raw %s: %s\n", cases[i].id,
                   verdict_name(res->polytls), verdict_name(res->raw), res->raw_detail);
    }
}

static void json_string(FILE *f, const char *s)
{
    if (s == NULL) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static bool write_json(const char *path, const lb_case *cases, size_t n, const lb_backend_run *runs,
                       size_t n_runs, bool failed)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "limbo: %s: %s\n", path, strerror(errno));
        return false;
    }
    fprintf(f, "{\n  \"version\": 1,\n  \"source\": \"x509-limbo\",\n  \"cases\": %zu,\n  \"failed\": %s,\n"
               "  \"backends\": [",
            n, failed ? "true" : "false");
    for (size_t b = 0; b < n_runs; b++) {
        const lb_backend_run *r = &runs[b];
        fprintf(f, "%s\n    {\n      \"name\": ", b ? "," : "");
        json_string(f, r->name);
        fputs(", \"library\": ", f);
        json_string(f, r->library);
        fprintf(f, ",\n      \"polytls_run\": %u, \"polytls_skipped\": %u, \"raw_run\": %u, \"raw_skipped\": %u,\n"
                   "      \"polytls_agrees_expected\": %u, \"raw_agrees_expected\": %u,\n"
                   "      \"both_run\": %u, \"polytls_agrees_raw\": %u, \"polytls_errors\": %u,\n"
                   "      \"polytls_accepts_raw_rejects\": [",
                r->polytls_run, r->polytls_skipped, r->raw_run, r->raw_skipped, r->polytls_agrees_expected,
                r->raw_agrees_expected, r->both_run, r->polytls_agrees_raw, r->polytls_errors);
        bool first = true;
        for (size_t i = 0; i < n; i++)
            if (r->results[i].polytls == LB_ACCEPT && r->results[i].raw == LB_REJECT) {
                fputs(first ? "" : ", ", f);
                json_string(f, cases[i].id);
                first = false;
            }
        fputs("],\n      \"skip_reasons\": {", f);
        for (size_t i = 0; i < r->n_reasons; i++) {
            fputs(i ? ", " : "", f);
            json_string(f, r->reasons[i].reason);
            fprintf(f, ": %u", r->reasons[i].n);
        }
        fputs("},\n      \"results\": [", f);
        for (size_t i = 0; i < n; i++) {
            const lb_result *res = &r->results[i];
            fprintf(f, "%s\n        {\"id\": ", i ? "," : "");
            json_string(f, cases[i].id);
            fprintf(f, ", \"kind\": \"%s\", \"expected\": \"%s\", \"polytls\": \"%s\", \"raw\": \"%s\", \"skip\": ",
                    cases[i].client_kind ? "CLIENT" : "SERVER", cases[i].expect_success ? "ACCEPT" : "REJECT",
                    verdict_name(res->polytls), verdict_name(res->raw));
            json_string(f, res->skip);
            fputs(", \"polytls_detail\": ", f);
            json_string(f, res->polytls_detail);
            fputs(", \"raw_detail\": ", f);
            json_string(f, res->raw_detail);
            fputc('}', f);
        }
        fputs("\n      ]\n    }", f);
    }
    fputs("\n  ]\n}\n", f);
    return fclose(f) == 0;
}

int main(int argc, char **argv)
{
    const char *cases_path = NULL, *json_path = NULL, *only = NULL, *only_case = NULL;
    bool verbose = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
            json_path = argv[++i];
        else if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--case") == 0 && i + 1 < argc)
            only_case = argv[++i];
        else if (strcmp(argv[i], "--verbose") == 0)
            verbose = true;
        else if (cases_path == NULL && argv[i][0] != '-')
            cases_path = argv[i];
        else {
            fprintf(stderr, "usage: limbo CASES_FILE [--backend NAME] [--case ID] [--json FILE] [--verbose]\n");
            return 2;
        }
    }
    if (cases_path == NULL) {
        fprintf(stderr, "usage: limbo CASES_FILE [--backend NAME] [--case ID] [--json FILE] [--verbose]\n");
        return 2;
    }
    size_t n;
    lb_case *cases = read_cases(cases_path, &n);
    if (only_case != NULL) {
        /* Debugging aid: keep the one case with that id. */
        size_t kept = 0;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(cases[i].id, only_case) == 0)
                cases[kept++] = cases[i];
            else
                case_free(&cases[i]);
        }
        n = kept;
        if (n == 0) {
            fprintf(stderr, "limbo: no case \"%s\"\n", only_case);
            free(cases);
            return 2;
        }
    }
    const char *const *names = polytls_backend_names();
    size_t n_names = 0;
    while (names[n_names] != NULL)
        n_names++;
    lb_backend_run *runs = xrealloc(NULL, (n_names ? n_names : 1) * sizeof(*runs));
    size_t n_runs = 0;
    int status = 0;
    for (size_t i = 0; i < n_names; i++) {
        if (only != NULL && strcmp(only, names[i]) != 0)
            continue;
        polytls_backend *b;
        if (polytls_backend_get(names[i], &b) != POLYTLS_OK) {
            fprintf(stderr, "limbo: backend %s: %s\n", names[i], polytls_last_error_message());
            status = 1;
            continue;
        }
        memset(&runs[n_runs], 0, sizeof(runs[n_runs]));
        run_backend(cases, n, b, &runs[n_runs], verbose);
        print_report(cases, n, &runs[n_runs]);
        if (runs[n_runs].accepts_raw_rejects > 0)
            status = 1;
        n_runs++;
    }
    if (n_runs == 0) {
        fprintf(stderr, "limbo: no backend ran\n");
        status = 1;
    }
    if (json_path != NULL && !write_json(json_path, cases, n, runs, n_runs, status != 0))
        status = 1;
    printf("limbo: %s\n", status == 0 ? "PASS (polytls never accepts what its raw backend rejects)"
                                      : "FAIL");
    for (size_t i = 0; i < n_runs; i++)
        free(runs[i].results);
    free(runs);
    for (size_t i = 0; i < n; i++)
        case_free(&cases[i]);
    free(cases);
    return status;
}
