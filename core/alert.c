/* Alert names and the level rules of TLS 1.2 and TLS 1.3.
 *
 * Sources (quoted where a rule is decided; the full table with reasons is in
 * docs/alerts.md):
 *   RFC 5246 §7.2.1 (closure alerts), §7.2.2 (error alerts: "always fatal",
 *     and "For all errors where an alert level is not explicitly specified,
 *     the sending party MAY determine at its discretion whether to treat
 *     this as a fatal error or not");
 *   RFC 6066 §3 and §9 (unrecognized_name "MAY be fatal"; a warning-level
 *     one is NOT RECOMMENDED but allowed), §8 (bad_certificate_status_response
 *     "always fatal");
 *   RFC 4279 §2 (unknown_psk_identity: no level given);
 *   RFC 7301 §3.2 (no_application_protocol: "fatal"), RFC 7507 §3
 *     (inappropriate_fallback: "fatal");
 *   RFC 8446 §6 ("All the alerts listed in Section 6.2 MUST be sent with
 *     AlertLevel=fatal"), §6.1 (closure alerts; user_canceled "generally has
 *     AlertLevel=warning"), and its new codes 109 and 116;
 *   RFC 9147 §9 (too_many_cids_requested, an error alert).
 */
#include <stddef.h>

#include "alert.h"
#include "status.h"

/* How a code may be sent in TLS 1.2. TLS 1.3 needs no column: there every
   error alert is FATAL_ONLY and the two closure alerts keep their TLS 1.2
   rule (see level_rule). */
typedef enum level_rule {
    RULE_NONE = 0,      /* not a registered code */
    /* close_notify: warning only. A fatal close_notify would contradict
       itself: RFC 5246 §7.2.2 makes a fatal alert an abortive end that
       forbids resumption, §7.2.1 makes close_notify the orderly end, and
       RFC 8446 §6 puts closure alerts outside the error alerts. OpenSSL
       treats a fatal close_notify as an error in both versions. */
    RULE_WARNING_ONLY,
    /* user_canceled: "generally a warning" (RFC 5246 §7.2.2, RFC 8446
       §6.1), so DEFAULT is warning; "generally" is not "always", and RFC
       5246 §7.2.2 requires the fatal level when the sender closes right
       after, so FATAL stays allowed. */
    RULE_WARNING_DEFAULT,
    /* "always fatal" (or a fatal-only error alert): WARNING forbidden. */
    RULE_FATAL_ONLY,
    /* No level is specified: the sender chooses (RFC 5246 §7.2.2). DEFAULT
       is refused because there is no mandated level to take. */
    RULE_AMBIGUOUS,
    /* Registered but MUST NOT be sent. */
    RULE_RESERVED
} level_rule;

typedef struct alert_info {
    const char *name;
    level_rule tls12;
} alert_info;

/* Indexed by code; gaps are unregistered values. Names follow the IANA "TLS
   Alerts" registry (RFC 8446 §B.2 spelling for the reserved ones). */
static const alert_info alerts[256] = {
    [POLYTLS_ALERT_CLOSE_NOTIFY] = {"close_notify", RULE_WARNING_ONLY},
    [POLYTLS_ALERT_UNEXPECTED_MESSAGE] = {"unexpected_message", RULE_FATAL_ONLY},
    [POLYTLS_ALERT_BAD_RECORD_MAC] = {"bad_record_mac", RULE_FATAL_ONLY},
    [POLYTLS_ALERT_DECRYPTION_FAILED_RESERVED] = {"decryption_failed_RESERVED", RULE_RESERVED},
    [POLYTLS_ALERT_RECORD_OVERFLOW] = {"record_overflow", RULE_FATAL_ONLY},
    [POLYTLS_ALERT_DECOMPRESSION_FAILURE_RESERVED] = {"decompression_failure_RESERVED", RULE_RESERVED},
    /* RFC 5246: "This is a fatal error." */
    [POLYTLS_ALERT_HANDSHAKE_FAILURE] = {"handshake_failure", RULE_FATAL_ONLY},
    [POLYTLS_ALERT_NO_CERTIFICATE_RESERVED] = {"no_certificate_RESERVED", RULE_RESERVED},
    /* RFC 5246 §7.2.2 gives no level for the five certificate alerts. */
    [POLYTLS_ALERT_BAD_CERTIFICATE] = {"bad_certificate", RULE_AMBIGUOUS},
    [POLYTLS_ALERT_UNSUPPORTED_CERTIFICATE] = {"unsupported_certificate", RULE_AMBIGUOUS},
    [POLYTLS_ALERT_CERTIFICATE_REVOKED] = {"certificate_revoked", RULE_AMBIGUOUS},
    [POLYTLS_ALERT_CERTIFICATE_EXPIRED] = {"certificate_expired", RULE_AMBIGUOUS},
    [POLYTLS_ALERT_CERTIFICATE_UNKNOWN] = {"certificate_unknown", RULE_AMBIGUOUS},
    [POLYTLS_ALERT_ILLEGAL_PARAMETER] = {"illegal_parameter", RULE_FATAL_ONLY},
    [POLYTLS_ALERT_UNKNOWN_CA] = {"unknown_ca", RULE_FATAL_ONLY},
    [POLYTLS_ALERT_ACCESS_DENIED] = {"access_denied", RULE_FATAL_ONLY},
    [POLYTLS_ALERT_DECODE_ERROR] = {"decode_error", RULE_FATAL_ONLY},
    [POLYTLS_ALERT_DECRYPT_ERROR] = {"decrypt_error", RULE_FATAL_ONLY},
    /* DTLS 1.3 (RFC 9147); an error alert, so fatal wherever it is used. */
    [POLYTLS_ALERT_TOO_MANY_CIDS_REQUESTED] = {"too_many_cids_requested", RULE_FATAL_ONLY},
    [POLYTLS_ALERT_EXPORT_RESTRICTION_RESERVED] = {"export_restriction_RESERVED", RULE_RESERVED},
    [POLYTLS_ALERT_PROTOCOL_VERSION] = {"protocol_version", RULE_FATAL_ONLY},
    [POLYTLS_ALERT_INSUFFICIENT_SECURITY] = {"insufficient_security", RULE_FATAL_ONLY},
    [POLYTLS_ALERT_INTERNAL_ERROR] = {"internal_error", RULE_FATAL_ONLY},
    [POLYTLS_ALERT_INAPPROPRIATE_FALLBACK] = {"inappropriate_fallback", RULE_FATAL_ONLY},
    [POLYTLS_ALERT_USER_CANCELED] = {"user_canceled", RULE_WARNING_DEFAULT},
    /* "always a warning" in TLS 1.2, but reserved by RFC 8446 and in our
       enum: polytls refuses renegotiation by other means. */
    [POLYTLS_ALERT_NO_RENEGOTIATION_RESERVED] = {"no_renegotiation_RESERVED", RULE_RESERVED},
    /* New in RFC 8446, where every error alert is fatal; never meaningful
       in TLS 1.2, so the same rule applies there. */
    [POLYTLS_ALERT_MISSING_EXTENSION] = {"missing_extension", RULE_FATAL_ONLY},
    [POLYTLS_ALERT_UNSUPPORTED_EXTENSION] = {"unsupported_extension", RULE_FATAL_ONLY},
    [POLYTLS_ALERT_CERTIFICATE_UNOBTAINABLE_RESERVED] = {"certificate_unobtainable_RESERVED", RULE_RESERVED},
    /* RFC 6066 §3: fatal, or (NOT RECOMMENDED) warning: both allowed. */
    [POLYTLS_ALERT_UNRECOGNIZED_NAME] = {"unrecognized_name", RULE_AMBIGUOUS},
    [POLYTLS_ALERT_BAD_CERTIFICATE_STATUS_RESPONSE] = {"bad_certificate_status_response", RULE_FATAL_ONLY},
    [POLYTLS_ALERT_BAD_CERTIFICATE_HASH_VALUE_RESERVED] = {"bad_certificate_hash_value_RESERVED",
                                                            RULE_RESERVED},
    /* RFC 4279 §2 gives no level ("MAY respond with an unknown_psk_identity
       alert"): the RFC 5246 §7.2.2 discretion applies. */
    [POLYTLS_ALERT_UNKNOWN_PSK_IDENTITY] = {"unknown_psk_identity", RULE_AMBIGUOUS},
    [POLYTLS_ALERT_CERTIFICATE_REQUIRED] = {"certificate_required", RULE_FATAL_ONLY},
    [POLYTLS_ALERT_NO_APPLICATION_PROTOCOL] = {"no_application_protocol", RULE_FATAL_ONLY},
};

static const alert_info *lookup(int code)
{
    if (code < 0 || (size_t)code >= sizeof alerts / sizeof alerts[0] || !alerts[code].name)
        return NULL;
    return &alerts[code];
}

const char *polytls_alert_name(polytls_alert a)
{
    const alert_info *info = lookup((int)a);
    return info ? info->name : NULL;
}

bool ptls_alert_is_registered(int code)
{
    return lookup(code) != NULL;
}

bool ptls_alert_is_reserved(int code)
{
    const alert_info *info = lookup(code);
    return info && info->tls12 == RULE_RESERVED;
}

/* The rule for one version. TLS 1.3 (RFC 8446 §6): the closure alerts keep
   their rule, every other registered code is an error alert and fatal. */
static level_rule level_rule_for(const alert_info *info, uint16_t version)
{
    if (version == PTLS_VERSION_TLS12 || info->tls12 == RULE_RESERVED || info->tls12 == RULE_WARNING_ONLY ||
        info->tls12 == RULE_WARNING_DEFAULT)
        return info->tls12;
    return RULE_FATAL_ONLY;
}

static const char *level_text(polytls_alert_level l)
{
    return l == POLYTLS_ALERT_LEVEL_WARNING ? "warning" : l == POLYTLS_ALERT_LEVEL_FATAL ? "fatal" : "default";
}

polytls_status ptls_alert_resolve_level(polytls_alert code, polytls_alert_level requested, uint16_t version,
                                        polytls_alert_level *resolved)
{
    if (!resolved)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "alert level: NULL output");
    if (requested != POLYTLS_ALERT_LEVEL_DEFAULT && requested != POLYTLS_ALERT_LEVEL_WARNING &&
        requested != POLYTLS_ALERT_LEVEL_FATAL)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT,
                         "alert level %d is not DEFAULT (0), WARNING (1) or FATAL (2)", (int)requested);
    /* 0 = not negotiated yet: TLS 1.3 rules, the default ClientHello offers
       TLS 1.3, and a TLS 1.3 level is always valid for a TLS 1.2 peer too
       (it only forbids warnings that TLS 1.2 would have allowed). */
    if (version != 0 && version != PTLS_VERSION_TLS12 && version != PTLS_VERSION_TLS13)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "alert level: unknown TLS version 0x%04x",
                         (unsigned)version);
    const alert_info *info = lookup((int)code);
    if (!info)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "alert code %d is not a registered TLS alert", (int)code);
    const char *vname = version == PTLS_VERSION_TLS12 ? "TLS 1.2" : "TLS 1.3";

    polytls_alert_level level = requested;
    switch (level_rule_for(info, version)) {
    case RULE_RESERVED:
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "alert %s (%d) is reserved and must not be sent",
                         info->name, (int)code);
    case RULE_WARNING_ONLY:
        if (level == POLYTLS_ALERT_LEVEL_DEFAULT)
            level = POLYTLS_ALERT_LEVEL_WARNING;
        if (level != POLYTLS_ALERT_LEVEL_WARNING)
            goto forbidden;
        break;
    case RULE_WARNING_DEFAULT:
        if (level == POLYTLS_ALERT_LEVEL_DEFAULT)
            level = POLYTLS_ALERT_LEVEL_WARNING;
        break;
    case RULE_FATAL_ONLY:
        if (level == POLYTLS_ALERT_LEVEL_DEFAULT)
            level = POLYTLS_ALERT_LEVEL_FATAL;
        if (level != POLYTLS_ALERT_LEVEL_FATAL)
            goto forbidden;
        break;
    case RULE_AMBIGUOUS:
        if (level == POLYTLS_ALERT_LEVEL_DEFAULT)
            return ptls_fail(POLYTLS_ERR_INVALID_ALERT_LEVEL,
                             "alert %s has no mandated level in %s: give WARNING or FATAL explicitly",
                             info->name, vname);
        break;
    case RULE_NONE:
    default:
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "alert code %d is not a registered TLS alert", (int)code);
    }
    *resolved = level;
    return POLYTLS_OK;

forbidden:
    return ptls_fail(POLYTLS_ERR_INVALID_ALERT_LEVEL, "alert %s cannot be sent at the %s level in %s",
                     info->name, level_text(requested), vname);
}

bool ptls_alert_received_is_error(polytls_alert code, polytls_alert_level level, uint16_t version)
{
    if (code == POLYTLS_ALERT_CLOSE_NOTIFY)
        return false;
    if (version == PTLS_VERSION_TLS13)
        /* RFC 8446 §6: the level "can safely be ignored"; unknown codes
           "MUST be treated as error alerts". */
        return code != POLYTLS_ALERT_USER_CANCELED;
    /* RFC 5246 §7.2.2: a warning lets the connection continue. Anything
       other than the warning level (fatal or garbage) ends it. */
    return level != POLYTLS_ALERT_LEVEL_WARNING;
}
