/*
 * The x509-limbo harness (suite `limbo`): shared types between the runner
 * (limbo.c) and the raw verifiers (raw_<backend>.c), one per TLS library,
 * which judge a case with the library's own path-validation API — what an
 * expert would write without polytls — so polytls can be compared with it.
 */
#ifndef POLYTLS_LIMBO_H
#define POLYTLS_LIMBO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LB_MAX_NAMES 8

typedef struct lb_blob {
    uint8_t *p;
    size_t n;
} lb_blob;

/* One test case as limbo_convert.py wrote it (see its docstring). */
typedef struct lb_case {
    char *id;
    bool client_kind;          /* validation_kind CLIENT (else SERVER) */
    bool expect_success;
    bool has_time;
    int64_t time;              /* unix seconds, when has_time */
    size_t n_names;
    char *name_kind[LB_MAX_NAMES];   /* "DNS", "IP", "RFC822" */
    char *name_value[LB_MAX_NAMES];
    size_t n_eku, n_ku, n_sigalg, n_features;
    char *eku[LB_MAX_NAMES];
    long maxdepth;             /* -1: none */
    long n_crls;
    lb_blob *trusted;
    size_t n_trusted;
    lb_blob *untrusted;
    size_t n_untrusted;
    lb_blob leaf;
    char *key_type;            /* PEM label with '_' for ' ', NULL: no key */
    lb_blob key;
} lb_case;

typedef enum lb_verdict {
    LB_ACCEPT = 0,
    LB_REJECT = 1,
    LB_ERROR = 2,
    LB_SKIP = 3
} lb_verdict;

/* A raw verifier: judges the case (leaf, untrusted intermediates, trust
 * anchors, the one expected name — DNS or IP —, the purpose of its kind,
 * and validation_time or now). Writes a short reason into msg (always
 * NUL-terminated). Never called for a case with a generic skip reason. */
typedef lb_verdict (*lb_raw_verifier)(const lb_case *c, char *msg, size_t cap);

/* raw_<backend>.c is linked only when that backend is built (meson): the
   references are weak, and an absent verifier's address is NULL. */
lb_verdict lb_raw_openssl(const lb_case *c, char *msg, size_t cap) __attribute__((weak));
lb_verdict lb_raw_gnutls(const lb_case *c, char *msg, size_t cap) __attribute__((weak));
lb_verdict lb_raw_wolfssl(const lb_case *c, char *msg, size_t cap) __attribute__((weak));

#endif
