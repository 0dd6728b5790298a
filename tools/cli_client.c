/*
 * `polytls client HOST:PORT`: stdin -> TLS -> stdout over one TCP
 * connection, like `openssl s_client -quiet` (docs/cli.md).
 *
 * One poll loop moves bytes between the socket, polytls and stdin/stdout.
 * polytls never touches the socket: write_to_wire only queues, the loop
 * sends when the socket can take it.
 */
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

static const char prog[] = "client";

/* Stop reading stdin while this much is waiting for the socket: a peer that
   does not read must not make us buffer without bound. */
#define MAX_QUEUED (256u * 1024u)

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

typedef struct client_state {
    cli_queue out;
    bool wire_close;        /* polytls said: close the transport */
    bool close_immediate;
    bool verbose;
} client_state;

static void on_write(void *user, const uint8_t *data, size_t len)
{
    cli_queue_append(&((client_state *)user)->out, data, len);
}

static void on_wire_close(void *user, bool immediate)
{
    client_state *s = user;
    s->wire_close = true;
    s->close_immediate = immediate;
}

static void on_handshake_done(void *user, polytls_conn *conn)
{
    client_state *s = user;
    if (!s->verbose)
        return;
    uint16_t v = 0;
    const char *cipher = NULL;
    const uint8_t *alpn = NULL;
    size_t alpn_len = 0;
    polytls_certificate *const *chain = NULL;
    size_t n = 0;
    polytls_conn_tls_version(conn, &v);
    polytls_conn_cipher_suite(conn, &cipher, NULL);
    polytls_conn_alpn(conn, &alpn, &alpn_len);
    polytls_conn_peer_chain(conn, &chain, &n);
    fprintf(stderr, "polytls client: connected: backend=%s protocol=%s cipher=%s alpn=%.*s peer-chain=%zu\n",
            polytls_backend_name(polytls_conn_backend(conn)), cli_version_name(v),
            cipher ? cipher : "?", alpn_len ? (int)alpn_len : 6, alpn_len ? (const char *)alpn : "(none)",
            n);
}

/* ------------------------------------------------------ client certificate -- */

typedef struct client_chain {
    polytls_certificate **chain;
    size_t n;
} client_chain;

static void answer(polytls_chain_reply *reply, client_chain *cc)
{
    /* A chain that does not reach the CAs the server named is refused by
       polytls; then the honest answer is "no certificate". */
    if (polytls_chain_reply_send(reply, cc->chain, cc->n) != POLYTLS_OK)
        polytls_chain_reply_cancel(reply);
}

static void get_chain_for_roots(void *user, const uint8_t *const *roots, const size_t *root_lens,
                                size_t n_roots, polytls_chain_reply *reply)
{
    (void)roots;
    (void)root_lens;
    (void)n_roots;
    answer(reply, user);
}

static void get_default_chain(void *user, polytls_chain_reply *reply)
{
    answer(reply, user);
}

static void destroy_chain(void *user)
{
    client_chain *cc = user;
    polytls_certificates_free(cc->chain, cc->n);
    free(cc);
}

/* ------------------------------------------------------------------ usage -- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: polytls client [options] HOST:PORT\n"
            "  --backend NAME      openssl, gnutls or wolfssl (default: $POLYTLS_BACKEND or the build's)\n"
            "  --cafile FILE       trusted CA certificates (PEM; default: the system store)\n"
            "  --servername NAME   name to verify and send as SNI (default: HOST)\n"
            "  --alpn LIST         offer these ALPN protocols (comma-separated, in order)\n"
            "  --cert FILE --key FILE  client certificate chain (PEM) and its key\n"
            "  --tls1.2 | --tls1.3 only this TLS version (default: both)\n"
            "  --close-on-eof      send close_notify when stdin ends (default: wait for the server)\n"
            "  --timeout SEC       give up after SEC seconds without traffic (default 30; 0 = never)\n"
            "  --reconnect         then connect once more, offering the first connection's session\n"
            "                      (no data; exit status 3 if the server did not resume it)\n"
            "  -v, --verbose       report the negotiated parameters on stderr\n");
}

enum { OPT_BACKEND = 256, OPT_CAFILE, OPT_SERVERNAME, OPT_ALPN, OPT_CERT, OPT_KEY, OPT_TLS12,
       OPT_TLS13, OPT_CLOSE_ON_EOF, OPT_TIMEOUT, OPT_RECONNECT };

typedef struct client_opts {
    const char *backend, *cafile, *servername, *alpn, *cert, *key;
    uint16_t vmin, vmax;
    bool close_on_eof, verbose, reconnect;
    long timeout_s;
    char host[256], port[16];
} client_opts;

static int parse_options(int argc, char **argv, client_opts *o)
{
    static const struct option longopts[] = {
        { "backend", required_argument, NULL, OPT_BACKEND },
        { "cafile", required_argument, NULL, OPT_CAFILE },
        { "servername", required_argument, NULL, OPT_SERVERNAME },
        { "alpn", required_argument, NULL, OPT_ALPN },
        { "cert", required_argument, NULL, OPT_CERT },
        { "key", required_argument, NULL, OPT_KEY },
        { "tls1.2", no_argument, NULL, OPT_TLS12 },
        { "tls1.3", no_argument, NULL, OPT_TLS13 },
        { "close-on-eof", no_argument, NULL, OPT_CLOSE_ON_EOF },
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        { "reconnect", no_argument, NULL, OPT_RECONNECT },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    memset(o, 0, sizeof *o);
    o->vmin = 0x0303;
    o->vmax = 0x0304;
    o->timeout_s = 30;
    bool v12 = false, v13 = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_BACKEND: o->backend = optarg; break;
        case OPT_CAFILE: o->cafile = optarg; break;
        case OPT_SERVERNAME: o->servername = optarg; break;
        case OPT_ALPN: o->alpn = optarg; break;
        case OPT_CERT: o->cert = optarg; break;
        case OPT_KEY: o->key = optarg; break;
        case OPT_TLS12: v12 = true; break;
        case OPT_TLS13: v13 = true; break;
        case OPT_CLOSE_ON_EOF: o->close_on_eof = true; break;
        case OPT_RECONNECT: o->reconnect = true; break;
        case OPT_TIMEOUT:
            if (cli_parse_number(optarg, 0, 86400, &o->timeout_s) != 0) {
                cli_error(prog, "--timeout takes 0..86400 seconds");
                return 2;
            }
            break;
        case 'v': o->verbose = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    if (cli_split_host_port(argv[optind], o->host, sizeof o->host, o->port, sizeof o->port) != 0) {
        cli_error(prog, "expected HOST:PORT (or [IPV6]:PORT), not '%s'", argv[optind]);
        return 2;
    }
    if (!o->cert != !o->key) {
        cli_error(prog, "--cert and --key go together");
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
    if (!o->servername)
        o->servername = o->host;
    return -1; /* go on */
}

/* Builds the polytls client from the options; prints why on failure. */
static int make_client(const client_opts *o, polytls_client **out)
{
    polytls_backend *backend = NULL;
    polytls_trust_store *trust = NULL;
    polytls_client_cert_store *store = NULL;
    polytls_client *client = NULL;
    cli_alpn alpn = { 0 };
    int rc = -1;
    polytls_status st;

    if (cli_backend(prog, o->backend, &backend) != 0)
        goto out;
    if (o->cafile && cli_load_trust(prog, o->cafile, &trust) != 0)
        goto out;
    if (o->cert) {
        client_chain *cc = calloc(1, sizeof *cc);
        if (!cc || cli_load_chain(prog, o->cert, o->key, &cc->chain, &cc->n) != 0) {
            free(cc);
            goto out;
        }
        polytls_client_cert_store_callbacks cb = { .size = sizeof cb,
                                                   .get_chain_for_roots = get_chain_for_roots,
                                                   .get_default_chain = get_default_chain,
                                                   .destroy = destroy_chain };
        st = polytls_client_cert_store_new(&cb, cc, &store);
        if (st != POLYTLS_OK) {
            destroy_chain(cc);
            cli_error(prog, "client certificate: %s", polytls_last_error_message());
            goto out;
        }
    }
    st = polytls_client_new(backend, o->servername, trust, store, &client);
    if (st != POLYTLS_OK) {
        cli_error(prog, "%s: %s", polytls_status_name(st), polytls_last_error_message());
        goto out;
    }
    st = polytls_client_set_versions(client, o->vmin, o->vmax);
    if (st == POLYTLS_OK && o->reconnect)
        st = polytls_client_set_resumption(client, true);
    if (st == POLYTLS_OK && cli_keylog_client(prog, client) != 0)
        goto out;
    if (st == POLYTLS_OK && o->alpn) {
        if (cli_alpn_parse(prog, o->alpn, &alpn) != 0)
            goto out;
        st = polytls_client_set_alpn(client, (const uint8_t *const *)alpn.protos, alpn.lens, alpn.n);
    }
    if (st != POLYTLS_OK) {
        cli_error(prog, "%s: %s", polytls_status_name(st), polytls_last_error_message());
        goto out;
    }
    *out = client;
    client = NULL;
    rc = 0;
out:
    cli_alpn_free(&alpn);
    polytls_client_free(client);
    polytls_client_cert_store_unref(store);
    polytls_trust_store_unref(trust);
    return rc;
}

/* Reports a failed polytls call on the connection; returns 1 (exit status). */
static int conn_failure(polytls_conn *conn, const char *what, polytls_status st)
{
    polytls_alert code;
    polytls_alert_level level;
    if (st == POLYTLS_ERR_TLS_ALERT && polytls_conn_peer_alert(conn, &code, &level) == POLYTLS_OK) {
        const char *name = polytls_alert_name(code);
        cli_error(prog, "%s: the server sent alert %s (%d)", what, name ? name : "?", (int)code);
    } else {
        cli_error(prog, "%s: %s: %s", what, polytls_status_name(st), polytls_conn_error_message(conn));
    }
    return 1;
}

static int write_stdout(const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDOUT_FILENO, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One connection. offer: a session to offer (the reconnection), which also
   means "no data: finish right after the handshake". keep: where to store
   the session the server gave (the first connection of --reconnect). */
static int run(const client_opts *o, polytls_client *client, int sock, polytls_session *offer,
               polytls_session **keep, bool *resumed)
{
    client_state s = { .verbose = o->verbose };
    polytls_conn_callbacks cb = { .size = sizeof cb, .write_to_wire = on_write,
                                  .wire_close = on_wire_close, .handshake_done = on_handshake_done };
    polytls_conn *conn = NULL;
    polytls_status st = offer ? polytls_client_start_with_session(client, offer, &cb, &s, &conn)
                              : polytls_client_start(client, &cb, &s, &conn);
    if (st != POLYTLS_OK) {
        cli_error(prog, "start: %s: %s", polytls_status_name(st), polytls_last_error_message());
        return 1;
    }
    int rc = -1; /* -1 = still running */
    bool stdin_eof = offer != NULL, sock_eof = false, finished = false, write_shut = false;
    if (offer) {
        /* Recorded now, sent once the handshake is done. */
        polytls_conn_application_finished(conn);
        finished = true;
    }
    int64_t idle_ms = o->timeout_s * 1000, last = cli_now_ms();

    while (rc < 0) {
        if (s.out.failed) {
            cli_error(prog, "out of memory");
            rc = 1;
            break;
        }
        if (s.wire_close && s.close_immediate)
            s.out.len = 0; /* "close the write side now" */
        if (cli_queue_flush(&s.out, sock) != 0) {
            if (!polytls_conn_handshake_done(conn) || !polytls_conn_peer_closed(conn))
                cli_error(prog, "the server went away: %s", strerror(errno));
            rc = polytls_conn_peer_closed(conn) ? 0 : 1;
            break;
        }
        /* application_finished before the handshake only records the
           close_notify: the write side stays open until it was sent. */
        if ((s.wire_close || (finished && polytls_conn_handshake_done(conn))) && s.out.len == 0 &&
            !write_shut) {
            shutdown(sock, SHUT_WR);
            write_shut = true;
        }
        /* The end: the stream is over in both directions, or polytls closed it. */
        if (write_shut && (sock_eof || s.wire_close)) {
            rc = polytls_conn_invalidated(conn) ? 1 : 0;
            break;
        }
        if (g_stop) {
            if (!finished) {
                polytls_conn_application_finished(conn);
                finished = true;
                continue; /* flush the close_notify, then leave */
            }
            rc = 1;
            break;
        }

        struct pollfd p[2];
        nfds_t np = 0;
        p[np++] = (struct pollfd){ .fd = sock,
                                   .events = (short)((sock_eof || s.wire_close ? 0 : POLLIN) |
                                                     (s.out.len ? POLLOUT : 0)) };
        bool want_stdin = !stdin_eof && !finished && !s.wire_close && s.out.len < MAX_QUEUED;
        if (want_stdin)
            p[np++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
        int wait = -1;
        if (idle_ms > 0) {
            int64_t left = last + idle_ms - cli_now_ms();
            wait = left > 0 ? (int)left : 0;
        }
        int r = poll(p, np, wait);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            cli_error(prog, "poll: %s", strerror(errno));
            rc = 1;
            break;
        }
        if (r == 0) {
            cli_error(prog, "no traffic for %ld s: giving up", o->timeout_s);
            if (!finished) {
                polytls_conn_application_finished(conn);
                cli_queue_flush(&s.out, sock);
            }
            rc = 1;
            break;
        }
        last = cli_now_ms();

        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            uint8_t buf[16384];
            ssize_t n = recv(sock, buf, sizeof buf, 0);
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (n <= 0) {
                sock_eof = true;
                /* --reconnect's second connection only checks the
                   resumption: a server closing without close_notify after
                   ours (nginx does) costs it no data. */
                if (offer && polytls_conn_handshake_done(conn) && finished) {
                    rc = 0;
                    break;
                }
                if (!polytls_conn_invalidated(conn)) {
                    st = polytls_conn_eof_from_wire(conn);
                    if (st != POLYTLS_OK) {
                        rc = conn_failure(conn, polytls_conn_handshake_done(conn) ? "connection" : "handshake", st);
                        break;
                    }
                }
                if (!finished) {
                    polytls_conn_application_finished(conn);
                    finished = true;
                }
            } else {
                const uint8_t *app = NULL;
                size_t app_len = 0;
                st = polytls_conn_data_from_wire(conn, buf, (size_t)n, &app, &app_len);
                if (app_len > 0 && write_stdout(app, app_len) != 0) {
                    /* nobody reads our output any more: end politely */
                    polytls_conn_application_finished(conn);
                    finished = true;
                }
                if (st != POLYTLS_OK) {
                    rc = conn_failure(conn, polytls_conn_handshake_done(conn) ? "connection" : "handshake", st);
                    cli_queue_flush(&s.out, sock); /* our alert, if any */
                    break;
                }
                if (polytls_conn_peer_closed(conn) && !finished) {
                    /* the server said close_notify: answer it and stop */
                    polytls_conn_application_finished(conn);
                    finished = true;
                }
            }
        }
        if (np > 1 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            uint8_t buf[16384];
            ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                stdin_eof = true;
                if (o->close_on_eof) {
                    polytls_conn_application_finished(conn);
                    finished = true;
                }
            } else {
                st = polytls_conn_data_from_application(conn, buf, (size_t)n);
                if (st != POLYTLS_OK) {
                    rc = conn_failure(conn, "send", st);
                    break;
                }
            }
        }
    }
    if (rc == 0 && !polytls_conn_handshake_done(conn)) {
        cli_error(prog, "the connection ended before the handshake finished");
        rc = 1;
    }
    if (resumed)
        *resumed = polytls_conn_resumed(conn);
    if (rc == 0 && keep) {
        st = polytls_conn_get_session(conn, keep);
        if (st != POLYTLS_OK) {
            cli_error(prog, "--reconnect: no session to offer: %s: %s", polytls_status_name(st),
                      polytls_last_error_message());
            rc = 1;
        }
    }
    polytls_conn_free(conn);
    cli_queue_free(&s.out);
    return rc;
}

int cli_client_main(int argc, char **argv)
{
    client_opts o;
    int rc = parse_options(argc, argv, &o);
    if (rc >= 0)
        return rc;

    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    polytls_client *client = NULL;
    if (make_client(&o, &client) != 0)
        return 1;
    int sock = cli_connect(prog, o.host, o.port, o.timeout_s > 0 ? (int)(o.timeout_s * 1000) : 30000);
    if (sock < 0) {
        polytls_client_free(client);
        return 1;
    }
    polytls_session *session = NULL;
    rc = run(&o, client, sock, NULL, o.reconnect ? &session : NULL, NULL);
    close(sock);
    if (rc == 0 && session) {
        /* Like `openssl s_client -reconnect`: the same server once more. */
        sock = cli_connect(prog, o.host, o.port, o.timeout_s > 0 ? (int)(o.timeout_s * 1000) : 30000);
        bool resumed = false;
        rc = sock < 0 ? 1 : run(&o, client, sock, session, NULL, &resumed);
        if (sock >= 0)
            close(sock);
        if (rc == 0) {
            fprintf(stderr, "polytls client: reconnected: session %s\n",
                    resumed ? "resumed" : "NOT resumed (full handshake)");
            if (!resumed)
                rc = 3;
        }
    }
    polytls_session_free(session);
    polytls_client_free(client);
    return rc;
}
