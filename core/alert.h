/* The alert table: names, registration, and the TLS 1.2 / TLS 1.3 level
   rules for sending and receiving. The one place these rules live; every
   backend goes through them (see docs/alerts.md). */
#ifndef POLYTLS_CORE_ALERT_H
#define POLYTLS_CORE_ALERT_H

#include <stdbool.h>
#include <stdint.h>

#include "polytls/polytls.h"

/* Wire versions the level rules know. 0 means "not negotiated yet". */
#define PTLS_VERSION_TLS12 0x0303u
#define PTLS_VERSION_TLS13 0x0304u

/* True for every code of polytls_alert (the *_RESERVED ones included). */
bool ptls_alert_is_registered(int code);

/* True for the registered codes that MUST NOT be sent (RFC 5246 §7.2.2,
   RFC 8446 §6 and §B.2: the *_RESERVED entries). */
bool ptls_alert_is_reserved(int code);

/* The level to send `code` at, given the level the user asked for.
   version: 0x0303 (TLS 1.2 rules), 0x0304 (TLS 1.3 rules) or 0 (not
   negotiated yet: TLS 1.3 rules, because a ClientHello offering TLS 1.3 is
   the default and a TLS 1.3 level is always acceptable to a TLS 1.2 peer).
   Returns:
     OK                    *resolved is WARNING or FATAL;
     INVALID_ARGUMENT      unregistered or reserved code, a level that is
                           not DEFAULT/WARNING/FATAL, an unknown version,
                           or resolved == NULL;
     INVALID_ALERT_LEVEL   DEFAULT for a code whose level is ambiguous in
                           that version, or a level the specification
                           forbids for that code.
   *resolved is written only on OK; the last-error message says why
   otherwise. */
polytls_status ptls_alert_resolve_level(polytls_alert code, polytls_alert_level requested, uint16_t version,
                                        polytls_alert_level *resolved);

/* The receiving rule the core applies for every backend: does this alert
   end the connection as an error?
     TLS 1.3 (0x0304): everything but close_notify and user_canceled,
       whatever the level (RFC 8446 §6; unknown codes included).
     TLS 1.2 (0x0303) and 0 (before the version is known: the peer may be
       a TLS 1.2 server, which RFC 5246 §7.2.2 lets send warnings): the
       fatal level ends it, warnings do not; a level that is neither
       warning nor fatal is treated as an error.
   close_notify is never an error: it is the clean end of the stream. */
bool ptls_alert_received_is_error(polytls_alert code, polytls_alert_level level, uint16_t version);

#endif
