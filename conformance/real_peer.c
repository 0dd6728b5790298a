/* A polytls server over real TCP against `openssl s_client` (see real_peer.h). */
#define _GNU_SOURCE /* accept4, pipe2 */
#include "real_peer.h"

#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ------------------------------------------------------------------------ */
/* Finding the openssl command                                              */
/* ------------------------------------------------------------------------ */

const char *cf_openssl_cli(void)
{
    const char *env = getenv("OPENSSL");
    if (env && *env)
        return env;
    /* posix_spawnp searches PATH itself; this only tells "absent" (skip)
       apart from "present but failing" (a real failure). */
    const char *path = getenv("PATH");
    if (!path)
        return NULL;
    char dir[4096];
    while (*path) {
        size_t n = strcspn(path, ":");
        if (n > 0 && n < sizeof dir - 9) {
            memcpy(dir, path, n);
            memcpy(dir + n, "/openssl", 9);
            if (access(dir, X_OK) == 0)
                return "openssl";
        }
        path += n;
        if (*path == ':')
            path++;
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* The connection's side of the loop                                        */
/* ------------------------------------------------------------------------ */

typedef struct peer_io {
    cf_real_peer_result *r;
    uint8_t *pending;             /* written by polytls, not yet sent */
    size_t pending_len, pending_cap;
    size_t wire_cap, app_cap, out_cap;
    bool wire_close;              /* polytls asked to close our write side */
} peer_io;

static void on_write(void *user, const uint8_t *data, size_t len)
{
    peer_io *io = user;
    cf_append(&io->pending, &io->pending_len, &io->pending_cap, data, len);
    cf_append(&io->r->server_wire, &io->r->server_wire_len, &io->wire_cap, data, len);
}

static void on_wire_close(void *user, bool immediate)
{
    (void)immediate; /* either way: what was written still goes out first */
    ((peer_io *)user)->wire_close = true;
}

static void note_status(peer_io *io, polytls_conn *conn, polytls_status st)
{
    if (st == POLYTLS_OK || io->r->first_error != POLYTLS_OK)
        return;
    io->r->first_error = st;
    snprintf(io->r->error_message, sizeof io->r->error_message, "%s",
             polytls_conn_error_message(conn));
}

/* Sends what polytls wrote. The socket is blocking and the amounts are a
   handshake's worth, far below the socket buffer; a peer that went away
   just drops the rest. */
static void flush_pending(peer_io *io, int sock, bool *write_shut)
{
    size_t off = 0;
    while (off < io->pending_len) {
        ssize_t n = send(sock, io->pending + off, io->pending_len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    io->pending_len = 0;
    if (io->wire_close && !*write_shut) {
        shutdown(sock, SHUT_WR);
        *write_shut = true;
    }
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------------ */
/* One run                                                                   */
/* ------------------------------------------------------------------------ */

static int listen_loopback(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        cf_fail("socket: %s", strerror(errno));
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 1) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
        int e = errno;
        close(fd);
        cf_fail("listening on 127.0.0.1: %s", strerror(e));
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* Starts `openssl s_client` with stdin = a pipe already holding `text` and
   closed (so s_client sends it and then closes), stdout+stderr = *out_fd. */
static pid_t spawn_s_client(const char *cli, uint16_t port, const char *const *args,
                            const char *text, int *out_fd)
{
    char connect_to[32];
    snprintf(connect_to, sizeof connect_to, "127.0.0.1:%u", (unsigned)port);
    const char *argv[64];
    size_t n = 0;
    argv[n++] = cli;
    argv[n++] = "s_client";
    argv[n++] = "-connect";
    argv[n++] = connect_to;
    for (; args && *args && n < 63; args++)
        argv[n++] = *args;
    argv[n] = NULL;

    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0)
        cf_fail("pipe: %s", strerror(errno));
    if (pipe2(out, O_CLOEXEC) != 0) {
        close(in[0]);
        close(in[1]);
        cf_fail("pipe: %s", strerror(errno));
    }
    size_t tlen = strlen(text);
    bool wrote = write(in[1], text, tlen) == (ssize_t)tlen; /* fits in an empty pipe */
    close(in[1]);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, out[1], 2);
    pid_t pid = -1;
    int rc = wrote ? posix_spawnp(&pid, cli, &fa, NULL, (char *const *)argv, environ) : EIO;
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    if (rc != 0) {
        close(out[0]);
        *out_fd = -1;
        return -1;
    }
    *out_fd = out[0];
    return pid;
}

void cf_real_peer_s_client(polytls_server *server, const char *const *args, const char *stdin_text,
                           int timeout_ms, cf_real_peer_result *out)
{
    memset(out, 0, sizeof *out);
    out->peer_exit = -1;
    const char *cli = cf_openssl_cli();
    if (!cli)
        cf_fail("no openssl command (set $OPENSSL or PATH)");

    peer_io io = { .r = out };
    uint16_t port = 0;
    int lfd = listen_loopback(&port);
    int ofd = -1;
    pid_t pid = spawn_s_client(cli, port, args, stdin_text, &ofd);
    if (pid < 0) {
        close(lfd);
        return; /* peer_started stays false: the caller reports it */
    }
    out->peer_started = true;

    polytls_conn_callbacks cb = { .size = sizeof cb, .write_to_wire = on_write,
                                  .wire_close = on_wire_close };
    polytls_conn *conn = NULL;
    int sock = -1;
    bool sock_eof = false, out_eof = false, write_shut = false, input_stopped = false;
    long deadline = now_ms() + timeout_ms;

    for (;;) {
        /* Done when s_client closed its output (it exits right after) and
           the TCP stream ended or never began. */
        if (out_eof && (sock_eof || sock < 0))
            break;
        long left = deadline - now_ms();
        if (left <= 0) {
            out->timed_out = true;
            break;
        }
        struct pollfd p[2];
        nfds_t np = 0;
        int net = sock >= 0 ? sock : lfd;
        bool want_net = sock >= 0 ? !sock_eof : true;
        if (want_net)
            p[np++] = (struct pollfd){ .fd = net, .events = POLLIN };
        if (!out_eof)
            p[np++] = (struct pollfd){ .fd = ofd, .events = POLLIN };
        int pr = poll(p, np, (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0)
            break;
        for (nfds_t i = 0; i < np; i++) {
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (p[i].fd == ofd) {
                char buf[4096];
                ssize_t n = read(ofd, buf, sizeof buf);
                if (n > 0)
                    cf_append((uint8_t **)&out->peer_output, &out->peer_output_len, &io.out_cap, buf,
                              (size_t)n);
                else if (n == 0 || errno != EINTR)
                    out_eof = true;
            } else if (sock < 0) {
                sock = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                if (sock < 0)
                    continue; /* spurious wake-up; poll again */
                polytls_status st = polytls_server_start(server, &cb, &io, &conn);
                if (st != POLYTLS_OK) {
                    out->first_error = st;
                    snprintf(out->error_message, sizeof out->error_message, "server_start: %s",
                             polytls_last_error_message());
                    conn = NULL;
                    input_stopped = true;
                }
            } else {
                uint8_t buf[16384];
                ssize_t n = recv(sock, buf, sizeof buf, 0);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n <= 0) {
                    sock_eof = true;
                    if (conn && !input_stopped)
                        note_status(&io, conn, polytls_conn_eof_from_wire(conn));
                } else if (conn && !input_stopped) {
                    const uint8_t *app = NULL;
                    size_t app_len = 0;
                    polytls_status st = polytls_conn_data_from_wire(conn, buf, (size_t)n, &app, &app_len);
                    if (app_len > 0)
                        cf_append(&out->server_app, &out->server_app_len, &io.app_cap, app, app_len);
                    note_status(&io, conn, st);
                    /* like a real transport: after a failure, stop reading */
                    input_stopped = st != POLYTLS_OK;
                }
            }
            if (sock >= 0)
                flush_pending(&io, sock, &write_shut);
        }
    }

    if (conn) {
        out->handshake_done = polytls_conn_handshake_done(conn);
        out->peer_closed = polytls_conn_peer_closed(conn);
        const char *name = NULL;
        if (polytls_conn_tls_version(conn, &out->version) != POLYTLS_OK)
            out->version = 0;
        if (polytls_conn_cipher_suite(conn, &name, &out->cipher_id) == POLYTLS_OK && name)
            snprintf(out->cipher_name, sizeof out->cipher_name, "%s", name);
        else
            out->cipher_id = 0;
        polytls_conn_free(conn);
    }
    if (sock >= 0)
        close(sock);
    close(lfd);

    /* Reap the child: it is exiting (its output ended) unless we timed out;
       give it what is left of the deadline, then kill it. */
    int status = 0;
    pid_t w = 0;
    while (!out->timed_out && (w = waitpid(pid, &status, WNOHANG)) == 0 && now_ms() < deadline)
        poll(NULL, 0, 10);
    if (w != pid) {
        out->timed_out = out->timed_out || w == 0;
        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    out->peer_exit = WIFEXITED(status) && !out->timed_out ? WEXITSTATUS(status) : -1;
    /* drain what the child wrote before it died, for the failure message */
    if (!out_eof) {
        char buf[4096];
        ssize_t n;
        int fl = fcntl(ofd, F_GETFL);
        fcntl(ofd, F_SETFL, fl | O_NONBLOCK);
        while ((n = read(ofd, buf, sizeof buf)) > 0)
            cf_append((uint8_t **)&out->peer_output, &out->peer_output_len, &io.out_cap, buf, (size_t)n);
    }
    close(ofd);
    /* NUL-terminate the text (not counted) */
    cf_append((uint8_t **)&out->peer_output, &out->peer_output_len, &io.out_cap, "", 1);
    out->peer_output_len--;
    free(io.pending);
}

void cf_real_peer_result_free(cf_real_peer_result *r)
{
    free(r->peer_output);
    free(r->server_wire);
    free(r->server_app);
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------------------ */
/* Reading the plaintext TLS 1.2 handshake                                   */
/* ------------------------------------------------------------------------ */

uint8_t *cf_tls12_handshake_message(const uint8_t *wire, size_t len, uint8_t type, size_t *body_len)
{
    /* join the handshake records' fragments up to the first ChangeCipherSpec:
       after it everything is encrypted */
    uint8_t *hs = NULL;
    size_t hs_len = 0, hs_cap = 0;
    for (size_t off = 0; off + 5 <= len;) {
        uint8_t ct = wire[off];
        size_t rl = ((size_t)wire[off + 3] << 8) | wire[off + 4];
        if (off + 5 + rl > len || ct == 20)
            break;
        if (ct == 22)
            cf_append(&hs, &hs_len, &hs_cap, wire + off + 5, rl);
        off += 5 + rl;
    }
    uint8_t *found = NULL;
    for (size_t off = 0; off + 4 <= hs_len;) {
        size_t ml = ((size_t)hs[off + 1] << 16) | ((size_t)hs[off + 2] << 8) | hs[off + 3];
        if (off + 4 + ml > hs_len)
            break;
        if (hs[off] == type) {
            found = malloc(ml ? ml : 1);
            if (!found)
                cf_fail("out of memory");
            memcpy(found, hs + off + 4, ml);
            *body_len = ml;
            break;
        }
        off += 4 + ml;
    }
    free(hs);
    return found;
}
