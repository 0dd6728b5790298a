/* Strict PEM. Input is taken literally: BEGIN and END lines must match,
   base64 is validated character by character (padding only at the end,
   unused bits zero), and only whitespace may separate blocks. The reader
   never needs the input to be NUL-terminated. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buffer.h"
#include "certificate.h"
#include "chain.h"
#include "pem.h"
#include "status.h"

#define BEGIN "-----BEGIN "
#define END "-----END "
#define DASHES "-----"
/* Larger PEM inputs are refused rather than read: no bundle comes close. */
#define MAX_FILE (64u * 1024 * 1024)

/* ------------------------------------------------------------- reader -- */

typedef struct line {
    size_t start, len; /* without the line break */
    size_t next;       /* where the next line starts */
    bool has_break;
} line;

static line get_line(const ptls_pem_reader *r, size_t pos)
{
    line l = {pos, 0, r->len, false};
    const char *nl = memchr(r->text + pos, '\n', r->len - pos);
    size_t end = nl ? (size_t)(nl - r->text) : r->len;
    l.len = end - pos;
    if (nl) {
        l.next = end + 1;
        l.has_break = true;
    }
    if (l.len && r->text[pos + l.len - 1] == '\r')
        l.len--;
    return l;
}

static bool starts_with(const ptls_pem_reader *r, const line *l, const char *prefix)
{
    size_t n = strlen(prefix);
    return l->len >= n && memcmp(r->text + l->start, prefix, n) == 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Parses "<prefix>LABEL-----" filling label; false if malformed. */
static bool parse_boundary(const ptls_pem_reader *r, const line *l, const char *prefix, char *label)
{
    size_t plen = strlen(prefix), dlen = strlen(DASHES);
    if (l->len < plen + dlen + 1)
        return false;
    const char *s = r->text + l->start + plen;
    size_t label_len = l->len - plen - dlen;
    if (memcmp(s + label_len, DASHES, dlen) != 0 || label_len >= PTLS_PEM_MAX_LABEL)
        return false;
    for (size_t i = 0; i < label_len; i++) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || ((c == ' ' || c == '-') && i > 0 && i + 1 < label_len);
        if (!ok)
            return false;
    }
    memcpy(label, s, label_len);
    label[label_len] = '\0';
    return true;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Validates and decodes the base64 lines text[from..to) (each line already
   known not to be a boundary). */
static polytls_status decode_body(const ptls_pem_reader *r, size_t from, size_t to, size_t number,
                                  uint8_t **out, size_t *out_len)
{
    /* Pass 1: validate and count, so the output is allocated once at its
       exact size (no realloc leaves key bytes behind). */
    size_t chars = 0, pad = 0;
    for (size_t pos = from; pos < to;) {
        line l = get_line(r, pos);
        if (l.len == 0)
            return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "PEM block %zu: empty line inside the base64 body", number);
        for (size_t i = 0; i < l.len; i++) {
            char c = r->text[l.start + i];
            if (c == '=') {
                pad++;
            } else if (b64_value(c) < 0) {
                return ptls_fail(POLYTLS_ERR_BAD_ENCODING,
                                 "PEM block %zu: byte 0x%02x is not base64 (at offset %zu of the input)", number,
                                 (unsigned char)c, l.start + i);
            } else if (pad) {
                return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "PEM block %zu: base64 data after '=' padding", number);
            }
            chars++;
        }
        pos = l.next;
    }
    if (chars == 0)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "PEM block %zu: empty body", number);
    if (chars % 4 != 0 || pad > 2)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING,
                         "PEM block %zu: base64 length %zu is not a multiple of 4 or has bad padding", number, chars);
    size_t n = chars / 4 * 3 - pad;
    uint8_t *der = malloc(n ? n : 1);
    if (!der)
        return ptls_fail(POLYTLS_ERR_NO_MEMORY, "out of memory decoding PEM");
    /* Pass 2: decode. */
    uint32_t acc = 0;
    size_t got = 0, o = 0, seen = 0;
    for (size_t pos = from; pos < to;) {
        line l = get_line(r, pos);
        for (size_t i = 0; i < l.len; i++) {
            char c = r->text[l.start + i];
            int v = c == '=' ? 0 : b64_value(c);
            acc = (acc << 6) | (uint32_t)v;
            seen++;
            if (++got < 4)
                continue;
            uint8_t bytes[3] = {(uint8_t)(acc >> 16), (uint8_t)(acc >> 8), (uint8_t)acc};
            size_t keep = seen == chars ? 3 - pad : 3;
            /* Canonical base64: the bits under the padding must be zero. */
            if (seen == chars && ((pad == 1 && bytes[2]) || (pad == 2 && (bytes[1] || bytes[2])))) {
                ptls_wipe(der, n);
                free(der);
                ptls_wipe(bytes, sizeof bytes);
                return ptls_fail(POLYTLS_ERR_BAD_ENCODING,
                                 "PEM block %zu: non-canonical base64 (bits set under the padding)", number);
            }
            memcpy(der + o, bytes, keep);
            ptls_wipe(bytes, sizeof bytes);
            o += keep;
            got = 0;
            acc = 0;
        }
        pos = l.next;
    }
    if (n == 0) {
        free(der);
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "PEM block %zu: empty body", number);
    }
    *out = der;
    *out_len = n;
    return POLYTLS_OK;
}

void ptls_pem_reader_init(ptls_pem_reader *r, const char *text, size_t len, bool lenient)
{
    r->text = text;
    r->len = text ? len : 0;
    r->pos = 0;
    r->blocks = 0;
    r->lenient = lenient;
}

/* After a bad block, a lenient reader resumes after the next END line. */
static polytls_status block_error(ptls_pem_reader *r, size_t from, polytls_status s)
{
    size_t pos = from;
    while (pos < r->len) {
        line l = get_line(r, pos);
        pos = l.next;
        if (starts_with(r, &l, END))
            break;
    }
    r->pos = r->lenient ? pos : r->len;
    return s;
}

polytls_status ptls_pem_next(ptls_pem_reader *r, ptls_pem_block *b, bool *done)
{
    /* Find the BEGIN line. */
    line begin;
    for (;;) {
        while (r->pos < r->len && is_space(r->text[r->pos]))
            r->pos++;
        if (r->pos >= r->len) {
            *done = true;
            return POLYTLS_OK;
        }
        begin = get_line(r, r->pos);
        if (starts_with(r, &begin, BEGIN))
            break;
        if (!r->lenient) {
            size_t at = r->pos;
            r->pos = r->len;
            return ptls_fail(POLYTLS_ERR_BAD_ENCODING,
                             "PEM: unexpected text at offset %zu (after block %zu); only whitespace may surround blocks",
                             at, r->blocks);
        }
        r->pos = begin.next;
    }
    size_t number = ++r->blocks;
    ptls_pem_block blk;
    memset(&blk, 0, sizeof blk);
    blk.number = number;
    if (!parse_boundary(r, &begin, BEGIN, blk.label) || !begin.has_break)
        return block_error(r, begin.next,
                           ptls_fail(POLYTLS_ERR_BAD_ENCODING, "PEM block %zu: malformed BEGIN line", number));
    /* Find the END line; note headers (a line with ':' before the body). */
    size_t body = begin.next, pos = body, end_pos = r->len;
    line end;
    bool found = false;
    while (pos < r->len) {
        end = get_line(r, pos);
        if (starts_with(r, &end, END)) {
            found = true;
            end_pos = pos;
            break;
        }
        if (starts_with(r, &end, BEGIN))
            break;
        if (memchr(r->text + end.start, ':', end.len))
            blk.has_headers = true;
        pos = end.next;
    }
    if (!found)
        return block_error(r, begin.next,
                           ptls_fail(POLYTLS_ERR_BAD_ENCODING, "PEM block %zu (%s): no END line", number, blk.label));
    char end_label[PTLS_PEM_MAX_LABEL];
    if (!parse_boundary(r, &end, END, end_label))
        return block_error(r, end.next,
                           ptls_fail(POLYTLS_ERR_BAD_ENCODING, "PEM block %zu: malformed END line", number));
    if (strcmp(end_label, blk.label) != 0)
        return block_error(r, end.next,
                           ptls_fail(POLYTLS_ERR_BAD_ENCODING, "PEM block %zu: BEGIN %s ends with END %s", number,
                                     blk.label, end_label));
    r->pos = end.next;
    if (!blk.has_headers) {
        polytls_status s = decode_body(r, body, end_pos, number, &blk.der, &blk.der_len);
        if (s != POLYTLS_OK)
            return s;
    }
    *b = blk;
    *done = false;
    return POLYTLS_OK;
}

void ptls_pem_block_free(ptls_pem_block *b)
{
    if (b->der) {
        ptls_wipe(b->der, b->der_len);
        free(b->der);
    }
    b->der = NULL;
    b->der_len = 0;
}

bool ptls_pem_label_is_key(const char *label)
{
    size_t n = strlen(label), k = strlen("PRIVATE KEY");
    return n >= k && strcmp(label + n - k, "PRIVATE KEY") == 0;
}

polytls_status ptls_read_file(const char *path, char **data, size_t *len)
{
    if (!path)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "file path is NULL");
    FILE *f = fopen(path, "rb");
    if (!f)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    const char *why = NULL;
    if (fstat(fileno(f), &st) != 0)
        why = strerror(errno);
    else if (!S_ISREG(st.st_mode))
        why = "not a regular file";
    else if ((unsigned long long)st.st_size > MAX_FILE)
        why = "file too large";
    if (why) {
        fclose(f);
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "cannot read %s: %s", path, why);
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    if (!buf) {
        fclose(f);
        return ptls_fail(POLYTLS_ERR_NO_MEMORY, "out of memory reading %s", path);
    }
    size_t got = fread(buf, 1, size, f);
    int err = ferror(f) ? errno : 0;
    fclose(f);
    if (got != size) {
        ptls_wipe(buf, size);
        free(buf);
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "cannot read %s: %s", path,
                         err ? strerror(err) : "file changed while reading");
    }
    buf[size] = '\0';
    *data = buf;
    *len = size;
    return POLYTLS_OK;
}

/* ---------------------------------------------------------- factories -- */

/* A growing array of certificate references. */
typedef struct cert_list {
    polytls_certificate **v;
    size_t n, cap;
} cert_list;

static polytls_status list_push(cert_list *l, polytls_certificate *c)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        polytls_certificate **v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return ptls_fail(POLYTLS_ERR_NO_MEMORY, "out of memory reading PEM");
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = c;
    return POLYTLS_OK;
}

static polytls_status cert_bag(const char *pem, size_t len, const char *what, polytls_certificate ***certs,
                               size_t *n)
{
    ptls_pem_reader r;
    ptls_pem_reader_init(&r, pem, len, false);
    cert_list list = {NULL, 0, 0};
    polytls_status s = POLYTLS_OK;
    for (;;) {
        ptls_pem_block b;
        bool done;
        if ((s = ptls_pem_next(&r, &b, &done)) != POLYTLS_OK || done)
            break;
        if (ptls_pem_label_is_key(b.label)) {
            s = ptls_fail(POLYTLS_ERR_EXTRANEOUS_PRIVATE_KEY,
                          "%s: PEM block %zu is a private key (%s); certificates and keys must be given apart",
                          what, b.number, b.label);
        } else if (strcmp(b.label, "CERTIFICATE") != 0) {
            s = ptls_fail(POLYTLS_ERR_BAD_ENCODING, "%s: PEM block %zu is \"%s\"; only CERTIFICATE is allowed",
                          what, b.number, b.label);
        } else if (b.has_headers) {
            s = ptls_fail(POLYTLS_ERR_BAD_ENCODING, "%s: PEM block %zu has RFC 1421 headers", what, b.number);
        } else {
            polytls_certificate *c;
            s = polytls_certificate_new(b.der, b.der_len, NULL, 0, &c);
            if (s == POLYTLS_OK && (s = list_push(&list, c)) != POLYTLS_OK)
                polytls_certificate_unref(c);
            if (s != POLYTLS_OK && s != POLYTLS_ERR_NO_MEMORY) {
                char ctx[96];
                snprintf(ctx, sizeof ctx, "%s: PEM block %zu", what, b.number);
                s = ptls_fail_context(s, ctx);
            }
        }
        ptls_pem_block_free(&b);
        if (s != POLYTLS_OK)
            break;
    }
    if (s == POLYTLS_OK && list.n == 0)
        s = ptls_fail(POLYTLS_ERR_BAD_ENCODING, "%s: no CERTIFICATE block found", what);
    if (s != POLYTLS_OK) {
        polytls_certificates_free(list.v, list.n);
        return s;
    }
    *certs = list.v;
    *n = list.n;
    return POLYTLS_OK;
}

polytls_status polytls_certificates_from_pem(const char *pem, size_t len, polytls_certificate ***certs, size_t *n)
{
    if (!pem || !certs || !n)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "polytls_certificates_from_pem: NULL argument");
    return cert_bag(pem, len, "certificates", certs, n);
}

/* Reads the one private key of key_pem. */
static polytls_status read_key(const char *key_pem, size_t key_len, ptls_pem_block *key)
{
    ptls_pem_reader r;
    ptls_pem_reader_init(&r, key_pem, key_len, false);
    ptls_pem_block found;
    bool have = false;
    for (;;) {
        ptls_pem_block b;
        bool done;
        polytls_status s = ptls_pem_next(&r, &b, &done);
        if (s != POLYTLS_OK || done) {
            if (s == POLYTLS_OK)
                break;
            if (have)
                ptls_pem_block_free(&found);
            return s;
        }
        if (!ptls_pem_label_is_key(b.label))
            s = ptls_fail(POLYTLS_ERR_BAD_ENCODING, "private key: PEM block %zu is \"%s\", not a private key",
                          b.number, b.label);
        else if (have)
            s = ptls_fail(POLYTLS_ERR_BAD_ENCODING,
                          "private key: PEM block %zu is a second private key; give exactly one", b.number);
        else if (b.has_headers || strcmp(b.label, "ENCRYPTED PRIVATE KEY") == 0)
            s = ptls_fail(POLYTLS_ERR_UNSUPPORTED,
                          "private key: PEM block %zu is encrypted; decrypt it first (openssl pkey -in key.pem)",
                          b.number);
        else if (strcmp(b.label, "PRIVATE KEY") != 0 && strcmp(b.label, "RSA PRIVATE KEY") != 0 &&
                 strcmp(b.label, "EC PRIVATE KEY") != 0)
            s = ptls_fail(POLYTLS_ERR_UNSUPPORTED,
                          "private key: PEM block %zu is a \"%s\"; supported: PRIVATE KEY, RSA PRIVATE KEY, EC PRIVATE KEY",
                          b.number, b.label);
        if (s != POLYTLS_OK) {
            ptls_pem_block_free(&b);
            if (have)
                ptls_pem_block_free(&found);
            return s;
        }
        found = b;
        have = true;
    }
    if (!have)
        return ptls_fail(POLYTLS_ERR_BAD_ENCODING, "private key: no PRIVATE KEY block found");
    *key = found;
    return POLYTLS_OK;
}

polytls_status polytls_chain_from_pem(const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len,
                                      polytls_certificate ***chain, size_t *n)
{
    if (!cert_pem || !chain || !n || (!key_pem && key_len))
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "polytls_chain_from_pem: NULL argument");
    polytls_certificate **certs;
    size_t n_certs;
    polytls_status s = cert_bag(cert_pem, cert_len, "certificate chain", &certs, &n_certs);
    if (s != POLYTLS_OK)
        return s;
    ptls_pem_block key = {0};
    bool have_key = false;
    if (key_pem) {
        if ((s = read_key(key_pem, key_len, &key)) != POLYTLS_OK) {
            polytls_certificates_free(certs, n_certs);
            return s;
        }
        have_key = true;
    }
    size_t leaf;
    s = ptls_chain_find_leaf(certs, n_certs, &leaf);
    if (s == POLYTLS_OK && !have_key)
        s = ptls_fail(POLYTLS_ERR_LEAF_HAS_NO_PRIVATE_KEY, "no private key given for the leaf certificate");
    if (s == POLYTLS_OK) {
        /* Re-create the leaf with its key: this is where the key is parsed,
           normalised and checked against the certificate. */
        const uint8_t *der;
        size_t der_len;
        polytls_certificate *with_key;
        polytls_certificate_der(certs[leaf], &der, &der_len);
        s = polytls_certificate_new(der, der_len, key.der, key.der_len, &with_key);
        if (s == POLYTLS_OK) {
            polytls_certificate_unref(certs[leaf]);
            certs[leaf] = with_key;
        }
    }
    if (have_key)
        ptls_pem_block_free(&key);
    polytls_certificate **ordered = NULL;
    size_t n_ordered = 0;
    if (s == POLYTLS_OK)
        s = ptls_chain_order(certs, n_certs, &ordered, &n_ordered);
    polytls_certificates_free(certs, n_certs);
    if (s != POLYTLS_OK)
        return s;
    *chain = ordered;
    *n = n_ordered;
    return POLYTLS_OK;
}

polytls_status polytls_certificates_from_pem_file(const char *path, polytls_certificate ***certs, size_t *n)
{
    if (!path || !certs || !n)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "polytls_certificates_from_pem_file: NULL argument");
    char *text;
    size_t len;
    polytls_status s = ptls_read_file(path, &text, &len);
    if (s != POLYTLS_OK)
        return s;
    s = cert_bag(text, len, path, certs, n);
    free(text);
    return s;
}

polytls_status polytls_chain_from_pem_files(const char *cert_path, const char *key_path,
                                            polytls_certificate ***chain, size_t *n)
{
    if (!cert_path || !key_path || !chain || !n)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "polytls_chain_from_pem_files: NULL argument");
    char *cert_text = NULL, *key_text = NULL;
    size_t cert_len = 0, key_len = 0;
    polytls_status s = ptls_read_file(cert_path, &cert_text, &cert_len);
    if (s != POLYTLS_OK)
        return s;
    if ((s = ptls_read_file(key_path, &key_text, &key_len)) != POLYTLS_OK) {
        free(cert_text);
        return s;
    }
    s = polytls_chain_from_pem(cert_text, cert_len, key_text, key_len, chain, n);
    ptls_wipe(key_text, key_len);
    free(key_text);
    free(cert_text);
    return s;
}
