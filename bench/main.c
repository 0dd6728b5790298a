/*
 * bench — raw TLS library vs polytls over it, in the same run.
 *
 *   bench [--backend NAME]... [--reps N] [--quick] [--only METRIC] [--json FILE] [--pki DIR]
 *   bench --callgrind WORKLOAD BACKEND raw|polytls [--iterations N] [--pki DIR] [--low-memory]
 *
 * Timed figures are thread CPU time (CLOCK_THREAD_CPUTIME_ID), so other
 * processes on a shared machine slow them less than wall time would. Every
 * repetition runs raw and polytls back to back (alternating which goes
 * first) and the ratio polytls ÷ raw is taken pair by pair; the report
 * gives the median and the spread (min..max) over repetitions.
 *
 * --callgrind runs one workload once for warm-up, then ITERATIONS more
 * inside bench_measured(), so that
 *   valgrind --tool=callgrind --toggle-collect=bench_measured bench --callgrind ...
 * counts exactly the instructions of those iterations (bench/callgrind.sh
 * does it for every workload and backend and prints per-handshake and
 * per-record counts).
 */
#define _GNU_SOURCE
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef BENCH_PKI_DIR
#define BENCH_PKI_DIR "pki"
#endif

typedef struct backend_impls { const char *name; const bench_impl *raw, *poly; } backend_impls;

static const backend_impls all_backends[] = {
#ifdef BENCH_HAVE_OPENSSL
    { "openssl", &bench_raw_openssl, &bench_polytls_openssl },
#endif
#ifdef BENCH_HAVE_GNUTLS
    { "gnutls", &bench_raw_gnutls, &bench_polytls_gnutls },
#endif
#ifdef BENCH_HAVE_WOLFSSL
    { "wolfssl", &bench_raw_wolfssl, &bench_polytls_wolfssl },
#endif
};
#define N_BACKENDS (sizeof all_backends / sizeof all_backends[0])

/* ------------------------------------------------------------------ workloads -- */

typedef enum wl_kind { WL_HANDSHAKE, WL_BULK, WL_HEAP, WL_ALLOCS } wl_kind;

typedef struct workload {
    const char *name;
    const char *title;
    wl_kind kind;
    uint16_t version;
    bench_cert cert;
    bool resume, low_memory;
    size_t chunk;      /* bulk / allocs: bytes per write (one record) */
    size_t total;      /* bulk: bytes per repetition; handshake: count; heap: connections */
} workload;

static const workload workloads[] = {
    { "hs13-ecdsa", "TLS 1.3 full handshake, ECDSA P-256, X25519, AES-128-GCM", WL_HANDSHAKE, 0x0304, BENCH_CERT_ECDSA, false, false, 0, 200 },
    { "hs13-rsa", "TLS 1.3 full handshake, RSA-2048, X25519, AES-128-GCM", WL_HANDSHAKE, 0x0304, BENCH_CERT_RSA, false, false, 0, 100 },
    { "hs12-ecdsa", "TLS 1.2 full handshake, ECDHE-ECDSA, X25519, AES-128-GCM", WL_HANDSHAKE, 0x0303, BENCH_CERT_ECDSA, false, false, 0, 200 },
    { "resume13", "TLS 1.3 resumed handshake (ticket, PSK-DHE)", WL_HANDSHAKE, 0x0304, BENCH_CERT_ECDSA, true, false, 0, 200 },
    { "bulk16k", "bulk, 16 KiB writes (TLS 1.3, AES-128-GCM)", WL_BULK, 0x0304, BENCH_CERT_ECDSA, false, false, 16384, 32u << 20 },
    { "bulk1k", "bulk, 1 KiB writes", WL_BULK, 0x0304, BENCH_CERT_ECDSA, false, false, 1024, 8u << 20 },
    { "bulk64", "bulk, 64-byte writes", WL_BULK, 0x0304, BENCH_CERT_ECDSA, false, false, 64, 1u << 20 },
    { "heap", "heap per established idle connection (client / server)", WL_HEAP, 0x0304, BENCH_CERT_ECDSA, false, false, 0, 64 },
    { "allocs", "allocations per 1 KiB record, steady state (write + read)", WL_ALLOCS, 0x0304, BENCH_CERT_ECDSA, false, false, 1024, 2000 },
    { "bulk16k-lowmem", "bulk, 16 KiB writes, low-memory mode", WL_BULK, 0x0304, BENCH_CERT_ECDSA, false, true, 16384, 32u << 20 },
    { "bulk64-lowmem", "bulk, 64-byte writes, low-memory mode", WL_BULK, 0x0304, BENCH_CERT_ECDSA, false, true, 64, 1u << 20 },
    { "heap-lowmem", "heap per idle connection, low-memory mode (client / server)", WL_HEAP, 0x0304, BENCH_CERT_ECDSA, false, true, 0, 64 },
    { "allocs-lowmem", "allocations per 1 KiB record, low-memory mode", WL_ALLOCS, 0x0304, BENCH_CERT_ECDSA, false, true, 1024, 2000 },
};
#define N_WORKLOADS (sizeof workloads / sizeof workloads[0])

static uint8_t *payload;
static size_t payload_len;

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The figures one run of a workload produces. */
typedef struct sample { double v[2]; int n; } sample; /* heap: client, server */

static void run_handshakes(const bench_impl *im, void *env, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        void *p = im->pair_new(env);
        im->handshake(p);
        im->pair_free(p);
    }
}

static void *established(const bench_impl *im, void *env)
{
    void *p = im->pair_new(env);
    im->handshake(p);
    /* one round of data so both sides are past every first-use allocation */
    im->transfer(p, payload, 1024, 1024);
    return p;
}

/* The one function callgrind counts (--toggle-collect=bench_measured). */
__attribute__((noinline)) void bench_measured(const bench_impl *im, void *env, void *pair, const workload *w, size_t n)
{
    if (w->kind == WL_HANDSHAKE) {
        run_handshakes(im, env, n);
        return;
    }
    size_t per = payload_len / w->chunk; /* records per pass over the payload */
    for (size_t done = 0; done < n; done += per)
        im->transfer(pair, payload, (n - done < per ? n - done : per) * w->chunk, w->chunk);
}

static sample run_once(const bench_impl *im, void *env, const workload *w, size_t scale)
{
    sample s = { { 0, 0 }, 1 };
    switch (w->kind) {
    case WL_HANDSHAKE: {
        size_t n = w->total / scale ? w->total / scale : 1;
        double t0 = cpu_now();
        run_handshakes(im, env, n);
        s.v[0] = (cpu_now() - t0) / (double)n * 1e6; /* µs per handshake (client + server) */
        break;
    }
    case WL_BULK: {
        void *p = established(im, env);
        size_t total = w->total / scale;
        total -= total % w->chunk;
        double t0 = cpu_now();
        for (size_t off = 0; off < total; off += payload_len - payload_len % w->chunk) {
            size_t n = total - off < payload_len - payload_len % w->chunk ? total - off : payload_len - payload_len % w->chunk;
            im->transfer(p, payload, n, w->chunk);
        }
        double dt = cpu_now() - t0;
        s.v[0] = (double)total / dt / 1e6; /* MB/s of plaintext, encrypted and decrypted */
        im->pair_free(p);
        break;
    }
    case WL_HEAP: {
        size_t n = w->total;
        void **pairs = calloc(n, sizeof *pairs);
        if (!pairs)
            bench_die("out of memory");
        bench_alloc_stats a0 = bench_alloc_now();
        for (size_t i = 0; i < n; i++) {
            pairs[i] = established(im, env);
            im->drop_pipes(pairs[i]);
        }
        bench_alloc_stats a1 = bench_alloc_now();
        for (size_t i = 0; i < n; i++)
            im->free_client(pairs[i]);
        bench_alloc_stats a2 = bench_alloc_now();
        for (size_t i = 0; i < n; i++)
            im->pair_free(pairs[i]);
        free(pairs);
        s.v[0] = (double)(a1.live_bytes - a2.live_bytes) / (double)n;  /* per client connection */
        s.v[1] = (double)(a2.live_bytes - a0.live_bytes) / (double)n;  /* per server connection (+ pair struct) */
        s.n = 2;
        break;
    }
    case WL_ALLOCS: {
        void *p = established(im, env);
        im->transfer(p, payload, 16 * w->chunk, w->chunk); /* warm-up */
        size_t n = w->total / scale ? w->total / scale : 1;
        bench_alloc_stats a0 = bench_alloc_now();
        im->transfer(p, payload, n * w->chunk, w->chunk);
        bench_alloc_stats a1 = bench_alloc_now();
        s.v[0] = (double)(a1.allocs - a0.allocs) / (double)n;
        im->pair_free(p);
        break;
    }
    }
    return s;
}

/* ------------------------------------------------------------------ statistics -- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct stat3 { double med, min, max; } stat3;

static stat3 stats(const double *v, int n)
{
    double *t = malloc((size_t)n * sizeof *t);
    if (!t)
        bench_die("out of memory");
    memcpy(t, v, (size_t)n * sizeof *t);
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    stat3 s = { n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2, t[0], t[n - 1] };
    free(t);
    return s;
}

/* ------------------------------------------------------------------ report -- */

typedef struct result {
    const char *backend, *metric, *title, *unit, *better, *note;
    bool have_poly;
    stat3 raw, poly, ratio;
} result;

static result *results;
static size_t n_results;

static void add_result(result r)
{
    result *t = realloc(results, (n_results + 1) * sizeof *t);
    if (!t)
        bench_die("out of memory");
    results = t;
    results[n_results++] = r;
}

static void print_result(const result *r)
{
    printf("  %-22s %-8s raw %10.2f [%.2f..%.2f]", r->metric, r->unit, r->raw.med, r->raw.min, r->raw.max);
    if (r->have_poly)
        printf("   polytls %10.2f [%.2f..%.2f]   ratio %.3f [%.3f..%.3f]\n", r->poly.med, r->poly.min,
               r->poly.max, r->ratio.med, r->ratio.min, r->ratio.max);
    else
        printf("   polytls %s\n", r->note);
    fflush(stdout);
}

static void json_stat(FILE *f, const char *name, stat3 s)
{
    fprintf(f, "\"%s\": {\"median\": %.6g, \"min\": %.6g, \"max\": %.6g}", name, s.med, s.min, s.max);
}

static void write_json(const char *path, int reps)
{
    FILE *f = fopen(path, "w");
    if (!f)
        bench_die("cannot write %s", path);
    fprintf(f, "{\n  \"repetitions\": %d,\n  \"timing\": \"thread CPU time\",\n  \"results\": [\n", reps);
    for (size_t i = 0; i < n_results; i++) {
        const result *r = &results[i];
        fprintf(f, "    {\"backend\": \"%s\", \"metric\": \"%s\", \"title\": \"%s\", \"unit\": \"%s\", \"better\": \"%s\", ",
                r->backend, r->metric, r->title, r->unit, r->better);
        json_stat(f, "raw", r->raw);
        if (r->have_poly) {
            fprintf(f, ", ");
            json_stat(f, "polytls", r->poly);
            fprintf(f, ", ");
            json_stat(f, "ratio", r->ratio);
        } else {
            fprintf(f, ", \"polytls\": null, \"ratio\": null, \"note\": \"%s\"", r->note);
        }
        fprintf(f, "}%s\n", i + 1 < n_results ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    fclose(f);
}

/* ------------------------------------------------------------------ driver -- */

static bench_cfg cfg_for(const workload *w, const char *pki)
{
    bench_cfg c = { w->version, w->cert, w->resume, w->low_memory, pki };
    return c;
}

static void run_workload(const backend_impls *b, const workload *w, const char *pki, int reps, size_t scale)
{
    if ((w->kind == WL_HEAP || w->kind == WL_ALLOCS) && !bench_alloc_counting()) {
        printf("  %-22s n/a (allocation counting is off in sanitizer builds)\n", w->name);
        return;
    }
    bench_cfg cfg = cfg_for(w, pki);
    const char *why_raw = NULL, *why_poly = NULL;
    void *env_raw = b->raw->env_new(&cfg, &why_raw);
    if (!env_raw) {
        printf("  %-22s raw %s\n", w->name, why_raw ? why_raw : "n/a");
        return;
    }
    void *env_poly = b->poly->env_new(&cfg, &why_poly);
    /* Warm-up, not counted: first-use allocations and lazy library state
       (RNG, method tables, caches) would otherwise land on whichever side
       runs first. */
    run_once(b->raw, env_raw, w, scale * 4);
    if (env_poly)
        run_once(b->poly, env_poly, w, scale * 4);
    int nv = 1;
    double raw[2][64], poly[2][64], ratio[2][64];
    if (reps > 64)
        reps = 64;
    for (int r = 0; r < reps; r++) {
        sample sr, sp = { { 0, 0 }, 0 };
        if (env_poly && r % 2) {
            sp = run_once(b->poly, env_poly, w, scale);
            sr = run_once(b->raw, env_raw, w, scale);
        } else {
            sr = run_once(b->raw, env_raw, w, scale);
            if (env_poly)
                sp = run_once(b->poly, env_poly, w, scale);
        }
        nv = sr.n;
        for (int k = 0; k < sr.n; k++) {
            raw[k][r] = sr.v[k];
            poly[k][r] = sp.v[k];
            ratio[k][r] = sr.v[k] != 0 ? sp.v[k] / sr.v[k] : 0;
        }
    }
    static const char *const heap_names[2][2] = { { "heap/client", "heap/server" },
                                                  { "heap-lowmem/client", "heap-lowmem/server" } };
    for (int k = 0; k < nv; k++) {
        result res = { b->name, w->name, w->title, "", "lower", why_poly, env_poly != NULL, stats(raw[k], reps),
                       { 0, 0, 0 }, { 0, 0, 0 } };
        switch (w->kind) {
        case WL_HANDSHAKE: res.unit = "us/hs"; break;
        case WL_BULK: res.unit = "MB/s"; res.better = "higher"; break;
        case WL_HEAP: res.unit = "bytes"; res.metric = heap_names[w->low_memory][k]; break;
        case WL_ALLOCS: res.unit = "allocs"; break;
        }
        if (env_poly) {
            res.poly = stats(poly[k], reps);
            res.ratio = stats(ratio[k], reps);
        }
        add_result(res);
        print_result(&results[n_results - 1]);
    }
    if (env_poly)
        b->poly->env_free(env_poly);
    b->raw->env_free(env_raw);
}

static const backend_impls *find_backend(const char *name)
{
    for (size_t i = 0; i < N_BACKENDS; i++)
        if (strcmp(all_backends[i].name, name) == 0)
            return &all_backends[i];
    bench_die("backend %s is not built", name);
}

static const workload *find_workload(const char *name)
{
    for (size_t i = 0; i < N_WORKLOADS; i++)
        if (strcmp(workloads[i].name, name) == 0)
            return &workloads[i];
    bench_die("unknown workload %s", name);
}

static int callgrind_mode(const char *wname, const char *bname, const char *kind, const char *pki, size_t iters,
                          bool low_memory)
{
    const workload *w = find_workload(wname);
    const backend_impls *b = find_backend(bname);
    const bench_impl *im = strcmp(kind, "raw") == 0 ? b->raw : strcmp(kind, "polytls") == 0 ? b->poly : NULL;
    if (!im || (w->kind != WL_HANDSHAKE && w->kind != WL_BULK))
        bench_die("--callgrind takes a handshake or bulk workload and raw|polytls");
    workload wl = *w;
    wl.low_memory = wl.low_memory || low_memory;
    bench_cfg cfg = cfg_for(&wl, pki);
    const char *why = NULL;
    void *env = im->env_new(&cfg, &why);
    if (!env) {
        printf("%s %s %s: %s\n", wname, bname, kind, why);
        return 3;
    }
    void *pair = NULL;
    if (wl.kind == WL_HANDSHAKE) {
        run_handshakes(im, env, 1); /* warm-up: lazy library state */
    } else {
        pair = established(im, env);
        im->transfer(pair, payload, 16 * wl.chunk, wl.chunk);
    }
    bench_measured(im, env, pair, &wl, iters);
    if (pair)
        im->pair_free(pair);
    im->env_free(env);
    printf("%s %s %s iterations %zu\n", wname, bname, kind, iters);
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench [--backend NAME]... [--reps N] [--quick] [--only METRIC]... [--json FILE] [--pki DIR]\n"
            "       bench --callgrind WORKLOAD BACKEND raw|polytls [--iterations N] [--low-memory] [--pki DIR]\n"
            "workloads:");
    for (size_t i = 0; i < N_WORKLOADS; i++)
        fprintf(stderr, " %s", workloads[i].name);
    fprintf(stderr, "\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *pki = getenv("POLYTLS_BENCH_PKI") ? getenv("POLYTLS_BENCH_PKI") : BENCH_PKI_DIR;
    const char *json = NULL, *only[32], *backends[8];
    size_t n_only = 0, n_backends = 0, iterations = 0, scale = 1;
    int reps = 5;
    const char *cg[3] = { NULL, NULL, NULL };
    bool low_memory = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool more = i + 1 < argc;
        if (strcmp(a, "--backend") == 0 && more && n_backends < 8)
            backends[n_backends++] = argv[++i];
        else if (strcmp(a, "--reps") == 0 && more)
            reps = atoi(argv[++i]);
        else if (strcmp(a, "--quick") == 0)
            scale = 8;
        else if (strcmp(a, "--only") == 0 && more && n_only < 32)
            only[n_only++] = argv[++i];
        else if (strcmp(a, "--json") == 0 && more)
            json = argv[++i];
        else if (strcmp(a, "--pki") == 0 && more)
            pki = argv[++i];
        else if (strcmp(a, "--iterations") == 0 && more)
            iterations = (size_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(a, "--low-memory") == 0)
            low_memory = true;
        else if (strcmp(a, "--callgrind") == 0 && i + 3 < argc) {
            cg[0] = argv[++i];
            cg[1] = argv[++i];
            cg[2] = argv[++i];
        } else
            usage();
    }
    if (reps < 1 || reps > 64)
        usage();

    payload_len = 1u << 20;
    payload = malloc(payload_len);
    if (!payload)
        bench_die("out of memory");
    for (size_t i = 0; i < payload_len; i++)
        payload[i] = (uint8_t)(i * 131 + 7);

    int rc = 0;
    if (cg[0]) {
        const workload *w = find_workload(cg[0]);
        if (!iterations)
            iterations = w->kind == WL_HANDSHAKE ? 20 : 200;
        rc = callgrind_mode(cg[0], cg[1], cg[2], pki, iterations, low_memory);
        free(payload);
        return rc;
    }

    printf("bench: raw library vs polytls; %d repetitions, thread CPU time; median [min..max]; ratio = polytls / raw, pair by pair\n",
           reps);
    for (size_t bi = 0; bi < N_BACKENDS; bi++) {
        const backend_impls *b = &all_backends[bi];
        bool wanted = n_backends == 0;
        for (size_t k = 0; k < n_backends; k++)
            wanted |= strcmp(backends[k], b->name) == 0;
        if (!wanted)
            continue;
        printf("%s\n", b->name);
        for (size_t wi = 0; wi < N_WORKLOADS; wi++) {
            const workload *w = &workloads[wi];
            bool sel = n_only == 0;
            for (size_t k = 0; k < n_only; k++)
                sel |= strcmp(only[k], w->name) == 0;
            if (sel)
                run_workload(b, w, pki, reps, scale);
        }
    }
    if (json)
        write_json(json, reps);
    free(results);
    free(payload);
    return rc;
}
