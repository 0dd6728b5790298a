/* Shared pieces of `polytls client` and `polytls server` (see cli_common.h). */
#define _GNU_SOURCE /* accept4, SOCK_NONBLOCK */
#include "cli_common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

void cli_error(const char *prog, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "polytls %s: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int64_t cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------ queue -- */

void cli_queue_append(cli_queue *q, const uint8_t *p, size_t n)
{
    if (q->failed || n == 0)
        return;
    if (q->len + n > q->cap) {
        size_t cap = q->cap ? q->cap : 4096;
        while (cap < q->len + n)
            cap *= 2;
        uint8_t *d = realloc(q->data, cap);
        if (!d) {
            /* Dropping bytes would corrupt the TLS stream: remember it, the
               owner ends the connection. */
            q->failed = true;
            return;
        }
        q->data = d;
        q->cap = cap;
    }
    memcpy(q->data + q->len, p, n);
    q->len += n;
}

void cli_queue_consume(cli_queue *q, size_t n)
{
    if (n >= q->len) {
        q->len = 0;
        return;
    }
    memmove(q->data, q->data + n, q->len - n);
    q->len -= n;
}

void cli_queue_free(cli_queue *q)
{
    free(q->data);
    memset(q, 0, sizeof *q);
}

int cli_queue_flush(cli_queue *q, int fd)
{
    while (q->len > 0) {
        ssize_t n = send(fd, q->data, q->len, MSG_NOSIGNAL);
        if (n > 0) {
            cli_queue_consume(q, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0; /* the rest goes when poll says POLLOUT */
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- sockets -- */

int cli_split_host_port(const char *arg, char *host, size_t host_cap, char *port, size_t port_cap)
{
    const char *h = arg, *colon;
    size_t hlen;
    if (arg[0] == '[') {
        const char *end = strchr(arg, ']');
        if (!end || end[1] != ':')
            return -1;
        h = arg + 1;
        hlen = (size_t)(end - h);
        colon = end + 1;
    } else {
        colon = strrchr(arg, ':');
        if (!colon || strchr(arg, ':') != colon)
            return -1; /* a bare IPv6 literal needs brackets */
        hlen = (size_t)(colon - arg);
    }
    const char *p = colon + 1;
    if (hlen == 0 || hlen >= host_cap || *p == '\0' || strlen(p) >= port_cap)
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    strcpy(port, p);
    return 0;
}

/* Waits for a non-blocking connect to finish; returns 0 or an errno. */
static int finish_connect(int fd, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    int64_t deadline = cli_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - cli_now_ms();
        if (left <= 0)
            return ETIMEDOUT;
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return errno;
        if (r == 0)
            return ETIMEDOUT;
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            return errno;
        return err;
    }
}

int cli_connect(const char *prog, const char *host, const char *port, int timeout_ms)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0) {
        cli_error(prog, "cannot resolve %s:%s: %s", host, port, gai_strerror(gai));
        return -1;
    }
    int last = 0, fd = -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
        last = r == 0 ? 0 : errno == EINPROGRESS ? finish_connect(fd, timeout_ms) : errno;
        if (last == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        cli_error(prog, "cannot connect to %s:%s: %s", host, port, strerror(last));
        return -1;
    }
    int one = 1; /* handshake messages are small and latency-bound */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

int cli_listen(const char *prog, const char *addr, uint16_t port, uint16_t *bound_port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t slen;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (!addr)
        addr = "127.0.0.1";
    if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        slen = sizeof *a4;
    } else if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        slen = sizeof *a6;
    } else {
        cli_error(prog, "--bind takes an IP address, not '%s'", addr);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        cli_error(prog, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, slen) != 0 || listen(fd, 64) != 0) {
        cli_error(prog, "cannot listen on %s port %u: %s", addr, (unsigned)port, strerror(errno));
        close(fd);
        return -1;
    }
    slen = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &slen) != 0) {
        cli_error(prog, "getsockname: %s", strerror(errno));
        close(fd);
        return -1;
    }
    *bound_port = ntohs(ss.ss_family == AF_INET ? a4->sin_port : a6->sin6_port);
    return fd;
}

/* ------------------------------------------------------------------- ALPN -- */

int cli_alpn_parse(const char *prog, const char *list, cli_alpn *out)
{
    memset(out, 0, sizeof *out);
    size_t n = 1;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    out->protos = calloc(n, sizeof *out->protos);
    out->lens = calloc(n, sizeof *out->lens);
    if (!out->protos || !out->lens) {
        cli_alpn_free(out);
        cli_error(prog, "out of memory");
        return -1;
    }
    const char *p = list;
    for (size_t i = 0; i < n; i++) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len > 255) {
            cli_alpn_free(out);
            cli_error(prog, "--alpn: every protocol name must be 1..255 bytes");
            return -1;
        }
        out->protos[i] = malloc(len);
        if (!out->protos[i]) {
            cli_alpn_free(out);
            cli_error(prog, "out of memory");
            return -1;
        }
        memcpy(out->protos[i], p, len);
        out->lens[i] = len;
        out->n = i + 1;
        p += len + (p[len] == ',');
    }
    return 0;
}

void cli_alpn_free(cli_alpn *a)
{
    if (a->protos)
        for (size_t i = 0; i < a->n; i++)
            free(a->protos[i]);
    free(a->protos);
    free(a->lens);
    memset(a, 0, sizeof *a);
}

/* ------------------------------------------------------------------ files -- */

int cli_load_trust(const char *prog, const char *path, polytls_trust_store **out)
{
    polytls_certificate **certs = NULL;
    size_t n = 0;
    polytls_status st = polytls_certificates_from_pem_file(path, &certs, &n);
    if (st != POLYTLS_OK) {
        cli_error(prog, "%s: %s: %s", path, polytls_status_name(st), polytls_last_error_message());
        return -1;
    }
    st = polytls_trust_store_new(certs, n, out);
    if (st != POLYTLS_OK)
        cli_error(prog, "%s: %s: %s", path, polytls_status_name(st), polytls_last_error_message());
    polytls_certificates_free(certs, n); /* the store holds its own references */
    return st == POLYTLS_OK ? 0 : -1;
}

int cli_load_chain(const char *prog, const char *cert_path, const char *key_path,
                   polytls_certificate ***chain, size_t *n)
{
    polytls_status st = polytls_chain_from_pem_files(cert_path, key_path, chain, n);
    if (st != POLYTLS_OK) {
        cli_error(prog, "%s + %s: %s: %s", cert_path, key_path, polytls_status_name(st),
                  polytls_last_error_message());
        return -1;
    }
    return 0;
}

int cli_parse_number(const char *s, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int cli_backend(const char *prog, const char *name, polytls_backend **out)
{
    polytls_status st = polytls_backend_get(name, out);
    if (st != POLYTLS_OK) {
        cli_error(prog, "backend %s: %s", name ? name : "(default)", polytls_last_error_message());
        return -1;
    }
    return 0;
}

const char *cli_version_name(uint16_t v)
{
    return v == 0x0304 ? "TLS1.3" : v == 0x0303 ? "TLS1.2" : "unknown";
}

/* ------------------------------------------------------------ key log -- */

static FILE *keylog_file;

static void keylog_line(void *user, const char *line)
{
    (void)user;
    fprintf(keylog_file, "%s\n", line);
    fflush(keylog_file);
}

static int keylog_open(const char *prog)
{
    const char *path = getenv("SSLKEYLOGFILE");
    if (!path || !*path)
        return 0;
    if (!keylog_file && !(keylog_file = fopen(path, "a"))) {
        cli_error(prog, "SSLKEYLOGFILE=%s: %s", path, strerror(errno));
        return -1;
    }
    return 1;
}

static int keylog_result(const char *prog, polytls_status st)
{
    if (st == POLYTLS_ERR_UNSUPPORTED)
        cli_error(prog, "warning: SSLKEYLOGFILE is set but this backend cannot log keys (%s)",
                  polytls_last_error_message());
    else if (st != POLYTLS_OK) {
        cli_error(prog, "key log: %s: %s", polytls_status_name(st), polytls_last_error_message());
        return -1;
    }
    return 0;
}

int cli_keylog_client(const char *prog, polytls_client *c)
{
    int open = keylog_open(prog);
    return open <= 0 ? open : keylog_result(prog, polytls_client_set_keylog(c, keylog_line, NULL));
}

int cli_keylog_server(const char *prog, polytls_server *s)
{
    int open = keylog_open(prog);
    return open <= 0 ? open : keylog_result(prog, polytls_server_set_keylog(s, keylog_line, NULL));
}
