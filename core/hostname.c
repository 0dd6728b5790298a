/* Host name validation and matching. Only ASCII is handled: internationalised
   names must arrive as IDNA A-labels ("xn--..."), which are plain LDH. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "hostname.h"
#include "status.h"

#define MAX_NAME 253
#define MAX_LABEL 63

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool is_ldh(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

bool ptls_ip_parse(const char *text, uint8_t addr[16], size_t *len)
{
    struct in_addr v4;
    struct in6_addr v6;
    if (!text)
        return false;
    if (strchr(text, ':')) {
        if (inet_pton(AF_INET6, text, &v6) != 1)
            return false;
        memcpy(addr, &v6, 16);
        *len = 16;
        return true;
    }
    if (inet_pton(AF_INET, text, &v4) != 1)
        return false;
    memcpy(addr, &v4, 4);
    *len = 4;
    return true;
}

/* Checks the DNS name name[0..len) (trailing dot already removed). */
static polytls_status check_dns_name(const char *name, size_t len)
{
    if (len == 0)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "server_hostname is empty");
    if (len > MAX_NAME)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "server_hostname is longer than %d bytes", MAX_NAME);
    size_t label_start = 0;
    bool all_digits = true;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || name[i] == '.') {
            size_t label_len = i - label_start;
            if (label_len == 0)
                return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "server_hostname \"%.*s\" has an empty label",
                                 (int)len, name);
            if (label_len > MAX_LABEL)
                return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT,
                                 "server_hostname has a label longer than %d bytes", MAX_LABEL);
            if (name[label_start] == '-' || name[i - 1] == '-')
                return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT,
                                 "server_hostname \"%.*s\": a label starts or ends with a hyphen", (int)len, name);
            if (i < len) {
                label_start = i + 1;
                all_digits = true;
            }
            continue;
        }
        if (!is_ldh(name[i]))
            return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT,
                             "server_hostname: byte 0x%02x at %zu is not a letter, digit, hyphen or dot "
                             "(use IDNA A-labels for international names)",
                             (unsigned char)name[i], i);
        if (name[i] < '0' || name[i] > '9')
            all_digits = false;
    }
    if (all_digits)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT,
                         "server_hostname \"%.*s\" is neither an IP address nor a DNS name (numeric last label)",
                         (int)len, name);
    return POLYTLS_OK;
}

polytls_status ptls_hostname_normalise(const char *name, char **normalised, bool *is_ip)
{
    if (!name || !normalised || !is_ip)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "server_hostname is NULL");
    size_t len = strnlen(name, MAX_NAME + 2);
    if (len > MAX_NAME + 1)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "server_hostname is longer than %d bytes", MAX_NAME);
    uint8_t addr[16];
    size_t addr_len;
    bool ip = ptls_ip_parse(name, addr, &addr_len);
    if (!ip) {
        if (strchr(name, ':'))
            return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT,
                             "server_hostname \"%s\" is not a valid IPv6 literal (no brackets or zone ids)", name);
        if (len > 0 && name[len - 1] == '.')
            len--;
        polytls_status s = check_dns_name(name, len);
        if (s != POLYTLS_OK)
            return s;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return ptls_fail(POLYTLS_ERR_NO_MEMORY, "out of memory copying server_hostname");
    for (size_t i = 0; i < len; i++)
        copy[i] = lower(name[i]);
    copy[len] = '\0';
    *normalised = copy;
    *is_ip = ip;
    return POLYTLS_OK;
}

bool ptls_dns_pattern_matches(const char *pattern, size_t pattern_len, const char *host)
{
    if (!pattern || !host || pattern_len == 0)
        return false;
    size_t host_len = strlen(host);
    if (host_len == 0)
        return false;
    /* IP literals are never matched against DNS patterns (RFC 6125 6.2.1;
       SNI never carries them either). */
    if (strchr(host, ':'))
        return false;
    const char *last = strrchr(host, '.');
    last = last ? last + 1 : host;
    if (*last && strspn(last, "0123456789") == strlen(last))
        return false;
    size_t p = 0, h = 0;
    char prev = '.';
    /* A wildcard must be the whole first label and be followed by at least
       one more label: "*" alone never matches. */
    if (pattern[0] == '*') {
        if (pattern_len < 3 || pattern[1] != '.')
            return false;
        const char *dot = memchr(host, '.', host_len);
        if (!dot || dot == host)
            return false;
        p = 1;
        h = (size_t)(dot - host);
        prev = '*';
    }
    /* The rest must be equal byte for byte (ASCII case-insensitive); a
       second '*', an empty label or a non-ASCII byte never matches. */
    if (pattern_len - p != host_len - h)
        return false;
    for (; p < pattern_len; p++, h++) {
        char c = pattern[p];
        if (c == '*' || c == '\0' || (unsigned char)c >= 0x80)
            return false;
        if (c == '.' && prev == '.')
            return false;
        if (lower(c) != lower(host[h]))
            return false;
        prev = c;
    }
    return prev != '.';
}
