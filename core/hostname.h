/* Host names: validating a client's server_hostname, and RFC 6125 matching
 * of a certificate's dNSName patterns. */
#ifndef POLYTLS_CORE_HOSTNAME_H
#define POLYTLS_CORE_HOSTNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "polytls/polytls.h"

/* Validates a server_hostname. On OK *normalised is a malloc'd lower-case
   copy (trailing dot stripped) and *is_ip tells whether it is an IP
   literal. INVALID_ARGUMENT otherwise (with a message).
   Accepted: an IPv4 dotted quad or an IPv6 literal (inet_pton; no brackets,
   no zone id), or a DNS name: ASCII letters, digits and hyphens in labels
   of 1..63 bytes that neither start nor end with a hyphen, at most 253
   bytes, at most one trailing dot, and a last label that is not all
   digits (so "1.2.3" is never taken for a name). */
polytls_status ptls_hostname_normalise(const char *name, char **normalised, bool *is_ip);

/* Parses an IP literal into 4 (IPv4) or 16 (IPv6) bytes; false if `text`
   is not one. */
bool ptls_ip_parse(const char *text, uint8_t addr[16], size_t *len);

/* RFC 6125 matching of a certificate's dNSName `pattern` (not
   NUL-terminated) against a normalised DNS host name, ASCII
   case-insensitively. A wildcard is allowed only as the whole left-most
   label ("*.example.com") and matches exactly one non-empty label: never
   across dots, never a host with a different number of labels, and a
   pattern of "*" alone never matches. Partial wildcards ("w*.example.com")
   and empty labels never match. */
bool ptls_dns_pattern_matches(const char *pattern, size_t pattern_len, const char *host);

#endif
