/* The in-memory transport and the PKI file names shared by every harness. */
#include "bench.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bench_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

void bench_pipe_put(bench_pipe *p, const void *data, size_t n)
{
    if (n == 0)
        return;
    if (p->off == p->len)
        p->off = p->len = 0; /* everything was read: start over at the front */
    if (p->len + n > p->cap) {
        size_t cap = p->cap ? p->cap : 4096;
        while (cap < p->len + n)
            cap *= 2;
        uint8_t *b = realloc(p->buf, cap);
        if (!b)
            bench_die("out of memory");
        p->buf = b;
        p->cap = cap;
    }
    memcpy(p->buf + p->len, data, n);
    p->len += n;
}

size_t bench_pipe_get(bench_pipe *p, void *out, size_t cap)
{
    size_t n = p->len - p->off;
    if (n > cap)
        n = cap;
    if (n == 0)
        return 0;
    memcpy(out, p->buf + p->off, n);
    p->off += n;
    if (p->off == p->len)
        p->off = p->len = 0;
    return n;
}

void bench_pipe_free(bench_pipe *p)
{
    free(p->buf);
    memset(p, 0, sizeof *p);
}

const char *bench_pki_file(const bench_cfg *cfg, int slot, const char *name)
{
    static char paths[4][1024];
    snprintf(paths[slot & 3], sizeof paths[0], "%s/%s", cfg->pki, name);
    return paths[slot & 3];
}

const char *bench_chain_name(const bench_cfg *cfg)
{
    return cfg->cert == BENCH_CERT_RSA ? "server-rsa-chain.pem" : "server-ec-chain.pem";
}

const char *bench_key_name(const bench_cfg *cfg)
{
    return cfg->cert == BENCH_CERT_RSA ? "server-rsa.key" : "server-ec.key";
}
