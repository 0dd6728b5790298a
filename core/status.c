/* Status names and sentences, the per-thread last-error message, and the
   library version. Everything here is data: no status is ever printed. */
#include <stdio.h>
#include <string.h>

#include "status.h"

static const struct {
    const char *name;
    const char *sentence;
} status_text[] = {
    [POLYTLS_OK] = {"POLYTLS_OK", "success"},
    [POLYTLS_ERR_TLS_ALERT] = {"POLYTLS_ERR_TLS_ALERT", "the peer sent a fatal TLS alert"},
    [POLYTLS_ERR_BAD_TLS_DATA] = {"POLYTLS_ERR_BAD_TLS_DATA", "the peer sent invalid TLS data"},
    [POLYTLS_ERR_INVALIDATED] = {"POLYTLS_ERR_INVALIDATED",
                                 "the object was invalidated by an earlier error or call"},
    [POLYTLS_ERR_INVALID_ALERT_LEVEL] = {"POLYTLS_ERR_INVALID_ALERT_LEVEL",
                                         "that alert level is not allowed for that alert code"},
    [POLYTLS_ERR_LEAF_HAS_NO_PRIVATE_KEY] = {"POLYTLS_ERR_LEAF_HAS_NO_PRIVATE_KEY",
                                             "the leaf certificate has no private key"},
    [POLYTLS_ERR_MORE_THAN_ONE_LEAF] = {"POLYTLS_ERR_MORE_THAN_ONE_LEAF",
                                        "more than one leaf certificate was given"},
    [POLYTLS_ERR_NO_LEAF] = {"POLYTLS_ERR_NO_LEAF", "no leaf (non-CA) certificate was given"},
    [POLYTLS_ERR_NO_CERTIFICATE_CHAIN] = {"POLYTLS_ERR_NO_CERTIFICATE_CHAIN",
                                          "the certificates do not form the required chain"},
    [POLYTLS_ERR_EXTRANEOUS_PRIVATE_KEY] = {"POLYTLS_ERR_EXTRANEOUS_PRIVATE_KEY",
                                            "a private key was found where none belongs"},
    [POLYTLS_ERR_CALLBACK_FAILED] = {"POLYTLS_ERR_CALLBACK_FAILED",
                                     "a user callback reported failure"},
    [POLYTLS_ERR_INVALID_ARGUMENT] = {"POLYTLS_ERR_INVALID_ARGUMENT", "an argument is invalid"},
    [POLYTLS_ERR_NO_MEMORY] = {"POLYTLS_ERR_NO_MEMORY", "out of memory"},
    [POLYTLS_ERR_BAD_ENCODING] = {"POLYTLS_ERR_BAD_ENCODING", "the PEM or DER input does not parse"},
    [POLYTLS_ERR_KEY_MISMATCH] = {"POLYTLS_ERR_KEY_MISMATCH",
                                  "the private key does not belong to the certificate"},
    [POLYTLS_ERR_UNSUPPORTED] = {"POLYTLS_ERR_UNSUPPORTED", "the backend cannot do this"},
    [POLYTLS_ERR_BACKEND_UNAVAILABLE] = {"POLYTLS_ERR_BACKEND_UNAVAILABLE",
                                         "the requested backend is not available"},
    [POLYTLS_ERR_WRONG_STATE] = {"POLYTLS_ERR_WRONG_STATE", "the call is not allowed in this state"},
    [POLYTLS_ERR_INTERNAL] = {"POLYTLS_ERR_INTERNAL", "the TLS library failed unexpectedly"},
};

static bool known(polytls_status s)
{
    return (unsigned)s < sizeof status_text / sizeof status_text[0] && status_text[s].name;
}

const char *polytls_status_name(polytls_status s)
{
    return known(s) ? status_text[s].name : "POLYTLS_UNKNOWN_STATUS";
}

const char *polytls_strerror(polytls_status s)
{
    return known(s) ? status_text[s].sentence : "unknown status";
}

/* Calls without an object to hold their message (factories, constructors)
   leave it here, per thread, so concurrent callers never see each other's. */
/* Large enough for a module-loading failure that names every path tried. */
static _Thread_local char last_error[2048];

void ptls_set_last_error_v(const char *fmt, va_list ap)
{
    /* Through a copy: callers often fold the previous message into the new one. */
    char tmp[sizeof last_error];
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    memcpy(last_error, tmp, sizeof tmp);
}

void ptls_set_last_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ptls_set_last_error_v(fmt, ap);
    va_end(ap);
}

void ptls_clear_last_error(void)
{
    last_error[0] = '\0';
}

polytls_status ptls_fail(polytls_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ptls_set_last_error_v(fmt, ap);
    va_end(ap);
    return s;
}

const char *polytls_last_error_message(void)
{
    return last_error;
}

uint32_t polytls_version_number(void)
{
    return POLYTLS_VERSION_NUMBER;
}

const char *polytls_version_string(void)
{
    return POLYTLS_VERSION_STRING;
}
