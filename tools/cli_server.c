/*
 * `polytls server`: a small TLS server over TCP (docs/cli.md). Answers each
 * request with a short HTTP/1.1 response describing the connection (like
 * `openssl s_server -www`), or echoes what it receives (--echo).
 *
 * One poll loop serves every connection; sockets are non-blocking and
 * polytls never touches them (write_to_wire only queues). A peer that
 * vanishes, sends garbage or stalls costs one connection, never the server.
 */
#define _GNU_SOURCE /* accept4 */
#include "cli_common.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char prog[] = "server";

#define MAX_CONNS 64
#define MAX_CHAINS 16
#define MAX_QUEUED (256u * 1024u)     /* stop reading a peer that does not read */
#define MAX_REQUEST 16384             /* a request head larger than this is answered anyway */
#define LINGER_MS 2000                /* after our close_notify, wait this long for the peer's */

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

typedef struct server_opts {
    const char *backend, *bind, *client_ca, *alpn;
    const char *certs[MAX_CHAINS], *keys[MAX_CHAINS];
    size_t n_certs, n_keys;
    long port, timeout_s;
    bool require_client_cert, echo, once, verbose, resumption;
    uint16_t vmin, vmax;
} server_opts;

typedef struct sconn {
    unsigned id;
    int fd;
    polytls_conn *conn;
    cli_queue out;
    bool wire_close, close_immediate;
    bool input_stopped;      /* polytls failed or closed: read no more into it */
    bool finished;           /* our close_notify was asked for */
    bool write_shut;
    bool responded;
    int64_t last, linger_until;
    char req[MAX_REQUEST];
    size_t req_len;
    const server_opts *opts;
} sconn;

static void on_write(void *user, const uint8_t *data, size_t len)
{
    cli_queue_append(&((sconn *)user)->out, data, len);
}

static void on_wire_close(void *user, bool immediate)
{
    sconn *c = user;
    c->wire_close = true;
    c->close_immediate = immediate;
    c->input_stopped = true;
}

/* A one-line description of the connection, for the log and the response. */
static void describe(polytls_conn *conn, char *buf, size_t cap)
{
    uint16_t v = 0;
    const char *cipher = NULL, *sni = NULL;
    const uint8_t *alpn = NULL;
    size_t alpn_len = 0, n = 0;
    polytls_certificate *const *chain = NULL;
    polytls_conn_tls_version(conn, &v);
    polytls_conn_cipher_suite(conn, &cipher, NULL);
    polytls_conn_server_name(conn, &sni);
    polytls_conn_alpn(conn, &alpn, &alpn_len);
    polytls_conn_peer_chain(conn, &chain, &n);
    snprintf(buf, cap, "backend=%s protocol=%s cipher=%s sni=%s alpn=%.*s client-cert=%s resumed=%s",
             polytls_backend_name(polytls_conn_backend(conn)), cli_version_name(v),
             cipher ? cipher : "?", sni ? sni : "(none)", alpn_len ? (int)alpn_len : 6,
             alpn_len ? (const char *)alpn : "(none)", n ? "yes" : "no",
             polytls_conn_resumed(conn) ? "yes" : "no");
}

static void on_handshake_done(void *user, polytls_conn *conn)
{
    sconn *c = user;
    if (!c->opts->verbose)
        return;
    char d[512];
    describe(conn, d, sizeof d);
    fprintf(stderr, "polytls server: connection %u: %s\n", c->id, d);
}

static void conn_error(sconn *c, const char *what, polytls_status st)
{
    polytls_alert code;
    polytls_alert_level level;
    if (st == POLYTLS_ERR_TLS_ALERT && polytls_conn_peer_alert(c->conn, &code, &level) == POLYTLS_OK) {
        const char *name = polytls_alert_name(code);
        cli_error(prog, "connection %u: %s: the client sent alert %s (%d)", c->id, what,
                  name ? name : "?", (int)code);
    } else {
        cli_error(prog, "connection %u: %s: %s: %s", c->id, what, polytls_status_name(st),
                  polytls_conn_error_message(c->conn));
    }
}

/* Ends our side politely: close_notify after whatever is queued. */
static void finish(sconn *c)
{
    if (c->finished)
        return;
    c->finished = true;
    polytls_conn_application_finished(c->conn);
    c->linger_until = cli_now_ms() + LINGER_MS;
}

/* www mode: answer once the request head (up to the blank line) is in. */
static void http_input(sconn *c, const uint8_t *app, size_t len)
{
    if (c->responded)
        return;
    size_t take = len < sizeof c->req - c->req_len ? len : sizeof c->req - c->req_len;
    memcpy(c->req + c->req_len, app, take);
    c->req_len += take;
    bool complete = c->req_len == sizeof c->req;
    for (size_t i = 0; !complete && i + 1 < c->req_len; i++)
        if ((c->req[i] == '\n' && c->req[i + 1] == '\n') ||
            (i + 3 < c->req_len && memcmp(c->req + i, "\r\n\r\n", 4) == 0))
            complete = true;
    if (!complete)
        return;
    char body[600], head[256];
    describe(c->conn, body, sizeof body - 2);
    size_t blen = strlen(body);
    memcpy(body + blen, "\n", 2);
    blen++;
    int hlen = snprintf(head, sizeof head,
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                        "Connection: close\r\n\r\n", blen);
    c->responded = true;
    polytls_status st = polytls_conn_data_from_application(c->conn, (const uint8_t *)head, (size_t)hlen);
    if (st == POLYTLS_OK)
        st = polytls_conn_data_from_application(c->conn, (const uint8_t *)body, blen);
    if (st != POLYTLS_OK)
        conn_error(c, "respond", st);
    finish(c);
}

static void conn_input(sconn *c, const uint8_t *buf, size_t n)
{
    const uint8_t *app = NULL;
    size_t app_len = 0;
    polytls_status st = polytls_conn_data_from_wire(c->conn, buf, n, &app, &app_len);
    if (app_len > 0 && !c->finished) {
        if (c->opts->echo) {
            polytls_status e = polytls_conn_data_from_application(c->conn, app, app_len);
            if (e != POLYTLS_OK)
                conn_error(c, "echo", e);
        } else {
            http_input(c, app, app_len);
        }
    }
    if (st != POLYTLS_OK) {
        conn_error(c, polytls_conn_handshake_done(c->conn) ? "connection" : "handshake", st);
        c->input_stopped = true;
        return;
    }
    if (polytls_conn_peer_closed(c->conn)) {
        c->input_stopped = true;
        finish(c);
    }
}

static void conn_eof(sconn *c)
{
    c->input_stopped = true;
    if (polytls_conn_invalidated(c->conn))
        return;
    polytls_status st = polytls_conn_eof_from_wire(c->conn);
    /* A client that closes after our close_notify without sending its own
       is common and harmless; before that, EOF is a truncation. */
    if (st != POLYTLS_OK && !c->finished)
        conn_error(c, "connection", st);
}

/* True when the connection is over and may be freed. */
static bool conn_done(sconn *c, int64_t now)
{
    if (c->out.failed) {
        cli_error(prog, "connection %u: out of memory", c->id);
        return true;
    }
    if (c->wire_close && c->close_immediate)
        c->out.len = 0;
    if (cli_queue_flush(&c->out, c->fd) != 0)
        return true; /* the peer is gone */
    if (c->out.len > 0)
        return false;
    if ((c->wire_close || c->finished) && !c->write_shut) {
        shutdown(c->fd, SHUT_WR);
        c->write_shut = true;
    }
    if (c->wire_close)
        return true;
    /* After our close_notify: wait for the peer's EOF, briefly, so the
       socket closes cleanly instead of with a reset. */
    return c->write_shut && (c->input_stopped || now >= c->linger_until);
}

static void conn_free(sconn *c)
{
    polytls_conn_free(c->conn);
    close(c->fd);
    cli_queue_free(&c->out);
    free(c);
}

/* ------------------------------------------------------------ configuration -- */

static bool same_cert(polytls_certificate *a, polytls_certificate *b)
{
    const uint8_t *da, *db;
    size_t la, lb;
    return polytls_certificate_der(a, &da, &la) == POLYTLS_OK &&
           polytls_certificate_der(b, &db, &lb) == POLYTLS_OK && la == lb && memcmp(da, db, la) == 0;
}

/* One chain: served to everyone. Several: SNI picks by the leaves' names,
   the first chain is the default. */
static int make_certificates(const server_opts *o, polytls_server_certificates **out)
{
    polytls_certificate **chains[MAX_CHAINS] = { 0 };
    size_t lens[MAX_CHAINS] = { 0 };
    polytls_certificate **all = NULL;
    size_t n_all = 0, total = 0;
    int rc = -1;
    polytls_status st = POLYTLS_OK;
    for (size_t i = 0; i < o->n_certs; i++) {
        if (cli_load_chain(prog, o->certs[i], o->keys[i], &chains[i], &lens[i]) != 0)
            goto out;
        total += lens[i];
    }
    if (o->n_certs == 1) {
        st = polytls_server_chain_new(chains[0], lens[0], out);
    } else {
        all = calloc(total, sizeof *all);
        if (!all) {
            cli_error(prog, "out of memory");
            goto out;
        }
        /* CA certificates shared by several chains are listed once */
        for (size_t i = 0; i < o->n_certs; i++)
            for (size_t j = 0; j < lens[i]; j++) {
                bool dup = false;
                for (size_t k = 0; k < n_all && !dup; k++)
                    dup = same_cert(all[k], chains[i][j]);
                if (!dup)
                    all[n_all++] = chains[i][j];
            }
        st = polytls_sni_certificates_new(all, n_all, chains[0], lens[0], out);
    }
    if (st != POLYTLS_OK) {
        cli_error(prog, "certificates: %s: %s", polytls_status_name(st), polytls_last_error_message());
        goto out;
    }
    rc = 0;
out:
    free(all);
    for (size_t i = 0; i < o->n_certs; i++)
        polytls_certificates_free(chains[i], lens[i]);
    return rc;
}

static int make_server(const server_opts *o, polytls_server **out)
{
    polytls_backend *backend = NULL;
    polytls_server_certificates *certs = NULL;
    polytls_trust_store *ca = NULL;
    polytls_server *server = NULL;
    cli_alpn alpn = { 0 };
    int rc = -1;
    polytls_status st;
    if (cli_backend(prog, o->backend, &backend) != 0 || make_certificates(o, &certs) != 0)
        goto out;
    st = polytls_server_new(backend, certs, NULL, 0, &server);
    if (st == POLYTLS_OK)
        st = polytls_server_set_versions(server, o->vmin, o->vmax);
    if (st == POLYTLS_OK && o->resumption)
        st = polytls_server_set_resumption(server, true, 0);
    if (st == POLYTLS_OK && cli_keylog_server(prog, server) != 0)
        goto out;
    if (st == POLYTLS_OK && o->client_ca) {
        if (cli_load_trust(prog, o->client_ca, &ca) != 0)
            goto out;
        st = polytls_server_set_client_auth(server,
                                            o->require_client_cert ? POLYTLS_CLIENT_AUTH_REQUIRED
                                                                   : POLYTLS_CLIENT_AUTH_OPTIONAL,
                                            ca, true);
    }
    if (st == POLYTLS_OK && o->alpn) {
        if (cli_alpn_parse(prog, o->alpn, &alpn) != 0)
            goto out;
        st = polytls_server_set_alpn(server, (const uint8_t *const *)alpn.protos, alpn.lens, alpn.n);
    }
    if (st != POLYTLS_OK) {
        cli_error(prog, "%s: %s", polytls_status_name(st), polytls_last_error_message());
        goto out;
    }
    *out = server;
    server = NULL;
    rc = 0;
out:
    cli_alpn_free(&alpn);
    polytls_server_free(server);
    polytls_trust_store_unref(ca);
    polytls_server_certificates_unref(certs);
    return rc;
}

/* ------------------------------------------------------------------ usage -- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: polytls server --cert CHAIN.pem --key KEY.pem [options]\n"
            "  --cert FILE --key FILE  a certificate chain (PEM) and its key; repeat for SNI\n"
            "                      (each client gets the chain whose leaf names its SNI; the first is the default)\n"
            "  --backend NAME      openssl, gnutls or wolfssl (default: $POLYTLS_BACKEND or the build's)\n"
            "  --port N            TCP port (default 4433; 0 = any free port)\n"
            "  --bind ADDR         IP address to listen on (default 127.0.0.1; e.g. ::1)\n"
            "  --client-ca FILE    ask clients for a certificate issued by these CAs\n"
            "  --require-client-cert  refuse clients without one (needs --client-ca)\n"
            "  --alpn LIST         accepted ALPN protocols, in preference order (comma-separated)\n"
            "  --tls1.2 | --tls1.3 only this TLS version (default: both)\n"
            "  --echo              echo what each client sends (default: an HTTP/1.1 200 response)\n"
            "  --once              exit after the first connection ends\n"
            "  --resumption        issue session tickets and resume sessions (not with --client-ca)\n"
            "  --timeout SEC       drop a connection idle for SEC seconds (default 30)\n"
            "  -v, --verbose       log each connection's parameters on stderr\n"
            "Prints \"listening on ADDR port N\" on stdout once ready.\n");
}

enum { OPT_BACKEND = 256, OPT_PORT, OPT_BIND, OPT_CERT, OPT_KEY, OPT_CLIENT_CA, OPT_REQUIRE,
       OPT_ALPN, OPT_TLS12, OPT_TLS13, OPT_ECHO, OPT_ONCE, OPT_TIMEOUT, OPT_RESUMPTION };

static int parse_options(int argc, char **argv, server_opts *o)
{
    static const struct option longopts[] = {
        { "backend", required_argument, NULL, OPT_BACKEND },
        { "port", required_argument, NULL, OPT_PORT },
        { "bind", required_argument, NULL, OPT_BIND },
        { "cert", required_argument, NULL, OPT_CERT },
        { "key", required_argument, NULL, OPT_KEY },
        { "client-ca", required_argument, NULL, OPT_CLIENT_CA },
        { "require-client-cert", no_argument, NULL, OPT_REQUIRE },
        { "alpn", required_argument, NULL, OPT_ALPN },
        { "tls1.2", no_argument, NULL, OPT_TLS12 },
        { "tls1.3", no_argument, NULL, OPT_TLS13 },
        { "echo", no_argument, NULL, OPT_ECHO },
        { "once", no_argument, NULL, OPT_ONCE },
        { "resumption", no_argument, NULL, OPT_RESUMPTION },
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    memset(o, 0, sizeof *o);
    o->port = 4433;
    o->timeout_s = 30;
    o->vmin = 0x0303;
    o->vmax = 0x0304;
    bool v12 = false, v13 = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_BACKEND: o->backend = optarg; break;
        case OPT_BIND: o->bind = optarg; break;
        case OPT_CLIENT_CA: o->client_ca = optarg; break;
        case OPT_REQUIRE: o->require_client_cert = true; break;
        case OPT_ALPN: o->alpn = optarg; break;
        case OPT_TLS12: v12 = true; break;
        case OPT_TLS13: v13 = true; break;
        case OPT_ECHO: o->echo = true; break;
        case OPT_ONCE: o->once = true; break;
        case OPT_RESUMPTION: o->resumption = true; break;
        case 'v': o->verbose = true; break;
        case OPT_CERT:
            if (o->n_certs == MAX_CHAINS) {
                cli_error(prog, "at most %d --cert", MAX_CHAINS);
                return 2;
            }
            o->certs[o->n_certs++] = optarg;
            break;
        case OPT_KEY:
            if (o->n_keys == MAX_CHAINS) {
                cli_error(prog, "at most %d --key", MAX_CHAINS);
                return 2;
            }
            o->keys[o->n_keys++] = optarg;
            break;
        case OPT_PORT:
            if (cli_parse_number(optarg, 0, 65535, &o->port) != 0) {
                cli_error(prog, "--port takes 0..65535");
                return 2;
            }
            break;
        case OPT_TIMEOUT:
            if (cli_parse_number(optarg, 1, 86400, &o->timeout_s) != 0) {
                cli_error(prog, "--timeout takes 1..86400 seconds");
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (o->n_certs == 0 || o->n_certs != o->n_keys) {
        cli_error(prog, "give each --cert its --key (at least one pair)");
        return 2;
    }
    if (o->require_client_cert && !o->client_ca) {
        cli_error(prog, "--require-client-cert needs --client-ca");
        return 2;
    }
    if (v12 && v13) {
        cli_error(prog, "--tls1.2 and --tls1.3 exclude each other (give neither for both)");
        return 2;
    }
    if (v12)
        o->vmax = 0x0303;
    if (v13)
        o->vmin = 0x0304;
    return -1;
}

/* ------------------------------------------------------------------- loop -- */

static void accept_one(const server_opts *o, polytls_server *server, int lfd, sconn **conns,
                       size_t *n, unsigned *next_id)
{
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return; /* the client gave up already, or EAGAIN */
    sconn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    c->id = ++*next_id;
    c->fd = fd;
    c->opts = o;
    c->last = cli_now_ms();
    polytls_conn_callbacks cb = { .size = sizeof cb, .write_to_wire = on_write,
                                  .wire_close = on_wire_close, .handshake_done = on_handshake_done };
    polytls_status st = polytls_server_start(server, &cb, c, &c->conn);
    if (st != POLYTLS_OK) {
        cli_error(prog, "connection %u: start: %s: %s", c->id, polytls_status_name(st),
                  polytls_last_error_message());
        close(fd);
        free(c);
        return;
    }
    conns[(*n)++] = c;
}

int cli_server_main(int argc, char **argv)
{
    server_opts o;
    int rc = parse_options(argc, argv, &o);
    if (rc >= 0)
        return rc;

    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    polytls_server *server = NULL;
    if (make_server(&o, &server) != 0)
        return 1;
    uint16_t port = 0;
    int lfd = cli_listen(prog, o.bind, (uint16_t)o.port, &port);
    if (lfd < 0) {
        polytls_server_free(server);
        return 1;
    }
    printf("listening on %s port %u\n", o.bind ? o.bind : "127.0.0.1", (unsigned)port);
    fflush(stdout);

    sconn *conns[MAX_CONNS];
    size_t n = 0;
    unsigned next_id = 0;
    bool accepting = true;
    int64_t idle_ms = o.timeout_s * 1000;

    while (accepting || n > 0) {
        int64_t now = cli_now_ms();
        if (g_stop) {
            accepting = false;
            for (size_t i = 0; i < n; i++)
                finish(conns[i]);
        }
        /* flush, retire finished and idle connections */
        for (size_t i = 0; i < n;) {
            sconn *c = conns[i];
            bool idle = now - c->last >= idle_ms;
            if (idle)
                cli_error(prog, "connection %u: idle for %ld s: dropped", c->id, o.timeout_s);
            if (idle || conn_done(c, now) || (g_stop && now >= c->linger_until)) {
                conn_free(c);
                conns[i] = conns[--n];
                continue;
            }
            i++;
        }
        if (o.once && next_id > 0)
            accepting = false;
        if (!accepting && n == 0)
            break;

        struct pollfd p[MAX_CONNS + 1];
        nfds_t np = 0;
        int64_t wake = now + idle_ms;
        for (size_t i = 0; i < n; i++) {
            sconn *c = conns[i];
            short ev = 0;
            if (!c->input_stopped && c->out.len < MAX_QUEUED)
                ev |= POLLIN;
            if (c->out.len)
                ev |= POLLOUT;
            p[np++] = (struct pollfd){ .fd = c->fd, .events = ev };
            int64_t t = c->last + idle_ms;
            if (c->finished && c->linger_until < t)
                t = c->linger_until;
            if (t < wake)
                wake = t;
        }
        bool poll_listener = accepting && n < MAX_CONNS;
        if (poll_listener)
            p[np++] = (struct pollfd){ .fd = lfd, .events = POLLIN };
        int64_t left = wake - cli_now_ms();
        int r = poll(p, np, left > 0 ? (int)left : 0);
        if (r < 0 && errno != EINTR) {
            cli_error(prog, "poll: %s", strerror(errno));
            break;
        }
        if (r <= 0)
            continue;
        now = cli_now_ms();
        size_t n_polled = n;
        for (size_t i = 0; i < n_polled; i++) {
            sconn *c = conns[i];
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)) || c->input_stopped)
                continue;
            uint8_t buf[16384];
            ssize_t got = recv(c->fd, buf, sizeof buf, 0);
            if (got < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            c->last = now;
            if (got <= 0)
                conn_eof(c);
            else
                conn_input(c, buf, (size_t)got);
        }
        if (poll_listener && (p[np - 1].revents & POLLIN))
            accept_one(&o, server, lfd, conns, &n, &next_id);
    }
    for (size_t i = 0; i < n; i++)
        conn_free(conns[i]);
    close(lfd);
    polytls_server_free(server);
    return 0;
}
