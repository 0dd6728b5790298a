/*
 * The deviations table: the one place where backends may differ from the
 * standard expectation of a conformance test. Data, not code.
 *
 * A row says: for test `test_id` (or one check inside it, "group.name/check"),
 * on backend `backend`, the value observed is `value` instead of the standard
 * one, described by `observed`, because of `reason` (the library behaviour,
 * with a reference: a source file, an issue, backend-notes.md §). When
 * `normalisable` is true the core could make it standard, and should.
 *
 * A test that finds the standard behaviour while a row says it deviates
 * fails ("stale deviation"), and a row that no test asked for during a full
 * run fails the run: the table must never lie to users.
 */
#include "harness.h"

#include <stdio.h>
#include <string.h>

static const cf_deviation_row rows[] = {
    /* { "group.name", "backend", value, "observed", "reason", normalisable }, */

    /* ---- openssl ---- */

    /* ---- gnutls ---- */
    { "alpn.long_name/255", "gnutls", POLYTLS_ERR_UNSUPPORTED,
      "an ALPN protocol name longer than 31 bytes makes the first client/server start fail with "
      "UNSUPPORTED (RFC 7301 allows 255)",
      "GnuTLS 3.7 keeps ALPN names in fixed arrays (lib/ext/alpn.h MAX_ALPN_PROTOCOL_NAME 32; "
      "gnutls_alpn_set_protocols returns GNUTLS_E_INVALID_REQUEST for a name of 32 bytes or more)",
      false },
    { "alpn.many_names/9", "gnutls", POLYTLS_ERR_UNSUPPORTED,
      "more than 8 ALPN protocols make the first client/server start fail with UNSUPPORTED",
      "GnuTLS 3.7 keeps at most 8 ALPN names (lib/ext/alpn.h MAX_ALPN_PROTOCOLS 8; "
      "gnutls_alpn_set_protocols returns GNUTLS_E_INVALID_REQUEST beyond that)",
      false },
    { "alerts.peer_user_canceled_tls13", "gnutls", POLYTLS_ERR_TLS_ALERT,
      "a TLS 1.3 user_canceled warning ends the receiving connection (TLS_ALERT) instead of being "
      "reported and ignored",
      "GnuTLS 3.7 (lib/record.c, record_add_to_buffers/_gnutls_recv_in_buffers) treats every TLS 1.3 "
      "alert other than close_notify as fatal and invalidates the session itself, so the core cannot "
      "carry on (backend-notes.md 2.2, \"TLS 1.3 user_canceled: fatal\")",
      false },

    { "caps.custom_dh_ffdhe_client", "gnutls", 0,
      "a client offering RFC 7919 FFDHE groups and only DHE suites is refused (handshake_failure): "
      "the custom parameters are not used, and not replaced either",
      "GnuTLS 3.7 follows RFC 7919 section 4: a client that lists FFDHE groups gets DHE only with one "
      "of those groups, and polytls lists none on the server (lib/handshake.c server_find_pk_algos / "
      "_gnutls_figure_dh_params; backend-notes.md 7a)",
      false },

    { "suites.mixed_list/tls13", "gnutls", POLYTLS_ERR_UNSUPPORTED,
      "a cipher suite list that is not every combination of its ciphers and key exchanges (here "
      "TLS_AES_128_GCM_SHA256 with TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384) makes the first start "
      "fail with UNSUPPORTED",
      "GnuTLS 3.7 priority strings enable ciphers and key exchanges independently (+AES-128-GCM, "
      "+ECDHE-ECDSA, ...), for TLS 1.3 and TLS 1.2 at once, so such a list cannot be expressed; the "
      "driver refuses it rather than enable a different set",
      false },
    { "suites.mixed_list/tls12", "gnutls", POLYTLS_ERR_UNSUPPORTED,
      "a cipher suite list that is not every combination of its ciphers and key exchanges (here "
      "TLS_AES_128_GCM_SHA256 with TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384) makes the first start "
      "fail with UNSUPPORTED",
      "GnuTLS 3.7 priority strings enable ciphers and key exchanges independently (+AES-128-GCM, "
      "+ECDHE-ECDSA, ...), for TLS 1.3 and TLS 1.2 at once, so such a list cannot be expressed; the "
      "driver refuses it rather than enable a different set",
      false },
    { "resumption.resume_tls12/new_ticket", "gnutls", 0,
      "a resumed TLS 1.2 handshake issues no new ticket: the client hands out a session with the "
      "ticket it resumed with (which still resumes until its lifetime, counted from the full "
      "handshake, ends)",
      "GnuTLS 3.7 servers send a TLS 1.2 NewSessionTicket only when session_ticket_renew is set, "
      "which happens for an empty or undecryptable ticket, never after a successful ticket "
      "resumption (lib/ext/session_ticket.c session_ticket_recv_params / "
      "_gnutls_send_new_session_ticket); no public call sets it",
      false },
    { "suites.tls12_ecdsa_curve_not_offered", "gnutls", 0,
      "a TLS 1.2 client offering only x25519 completes a handshake with an ECDSA P-256 server "
      "(ECDHE-ECDSA with x25519) instead of the server refusing with handshake_failure",
      "GnuTLS 3.7 does not apply RFC 8422 section 5.1 (the client's supported groups are also the curves "
      "it accepts for ECDSA) to the server certificate's curve when it selects an ECDHE-ECDSA suite; "
      "OpenSSL does (tls1_check_cert_param). The core could refuse such a ClientHello itself (it knows "
      "the chain and pre-parses the ClientHello)",
      true },
    /* ---- wolfssl ---- */
    { "suites.tls12_ecdsa_curve_not_offered", "wolfssl", 0,
      "a TLS 1.2 client offering only x25519 completes a handshake with an ECDSA P-256 server "
      "(ECDHE-ECDSA with x25519) instead of the server refusing with handshake_failure",
      "wolfSSL 5.5.4 does not apply RFC 8422 section 5.1 (the client's supported groups are also the "
      "curves it accepts for ECDSA) to the server certificate's curve when it selects an ECDHE-ECDSA "
      "suite; OpenSSL does. The core could refuse such a ClientHello itself (it knows the chain and "
      "pre-parses the ClientHello)",
      true },
    { "suites.no_common_group/server_tls12", "wolfssl", POLYTLS_ERR_UNSUPPORTED,
      "a server group list narrower than the four default groups makes the first server start fail "
      "with UNSUPPORTED while TLS 1.2 is in the server's version range",
      "a wolfSSL 5.5.4 TLS 1.2 server completes ECDHE with a group the client offered even when it is "
      "not in the server's list (wolfSSL_CTX_UseSupportedCurve / wolfSSL_CTX_set1_curves_list do not "
      "restrict it; measured: client x25519 only, server secp384r1 only, handshake completes)",
      false },
    { "alpn.unexpressible_name/comma", "wolfssl", POLYTLS_ERR_UNSUPPORTED,
      "an ALPN protocol name containing ',' makes the first client/server start fail with UNSUPPORTED",
      "wolfSSL 5.5.4 takes ALPN names only as one comma-separated C string (wolfSSL_UseALPN splits "
      "it with strtok on ','), so such a name cannot be expressed; the driver refuses it rather "
      "than offer a different list",
      false },
    { "alpn.unexpressible_name/nul", "wolfssl", POLYTLS_ERR_UNSUPPORTED,
      "an ALPN protocol name containing a NUL byte makes the first client/server start fail with "
      "UNSUPPORTED",
      "wolfSSL 5.5.4's wolfSSL_UseALPN copies the list with strncpy and measures names with strlen, "
      "so a NUL byte would cut the name; the driver refuses it rather than offer a different name",
      false },
    { "verify_time.valid_chain_outside_time", "wolfssl", POLYTLS_ALERT_BAD_CERTIFICATE,
      "with a verification time, a chain valid now but not at that time is refused (BAD_TLS_DATA, "
      "the core's message) but the peer receives bad_certificate(42), not certificate_expired(45)",
      "wolfSSL 5.5.4 judges dates only against the clock; the core refuses such a chain from the "
      "verify callback, and a refusal without a library error becomes VERIFY_CERT_ERROR, which "
      "DoCertFatalAlert (internal.c) always answers with bad_certificate; there is no public call to "
      "send another alert. A chain wolfSSL itself finds out of date still gets 45",
      false },
    { "verify_time.server_checks_client_certificates", "wolfssl", POLYTLS_ALERT_BAD_CERTIFICATE,
      "as verify_time.valid_chain_outside_time, for a client certificate judged by a server",
      "wolfSSL 5.5.4: a verify-callback refusal without a library error is answered with "
      "bad_certificate (internal.c DoVerifyCallback / DoCertFatalAlert)",
      false },
    { "verify.unknown_ca", "wolfssl", POLYTLS_ALERT_BAD_CERTIFICATE,
      "a self-signed server certificate from an unknown CA is answered with bad_certificate(42)",
      "wolfSSL 5.5.4 sends bad_certificate for a self-signed leaf it cannot verify "
      "(backend-notes.md 2.1, \"client: untrusted self-signed: 42\")",
      false },
    { "verify.unknown_ca/tls12", "wolfssl", POLYTLS_ALERT_BAD_CERTIFICATE,
      "as verify.unknown_ca, in TLS 1.2",
      "wolfSSL 5.5.4 sends bad_certificate for a self-signed leaf it cannot verify "
      "(backend-notes.md 2.1)",
      false },
    { "client_auth.optional_without_certificate", "wolfssl", POLYTLS_ERR_BAD_TLS_DATA,
      "in TLS 1.3 a client that answers a CertificateRequest with no certificate fails "
      "(BAD_TLS_DATA) and the server receives internal_error(80); TLS 1.2 works",
      "wolfSSL 5.5.4 (tls13.c DoTls13CertificateRequest) commits to sending a certificate as soon "
      "as a certificate-setup callback is registered, and without that callback no certificate can "
      "be chosen per connection at all; an empty answer would then fail inside wolfSSL with no "
      "alert, so the driver fails the callback and wolfSSL sends internal_error",
      false },
    { "client_auth.required_missing/tls12", "wolfssl", -1,
      "a TLS 1.2 server requiring a client certificate refuses a client without one but sends no "
      "alert: the client is left waiting for the server's Finished",
      "wolfSSL 5.5.4 does not send an alert on this handshake error in TLS 1.2 (alerts on every "
      "TLS 1.2 handshake error came with wolfSSL PR #6169, after 5.5.4; backend-notes.md 2.1) and "
      "has no public call to send one",
      false },
    { "resumption.offered_on_the_wire/psk_modes", "wolfssl", 2,
      "a TLS 1.3 client offering a session lists two PSK key exchange modes, psk_ke and psk_dhe_ke, "
      "instead of psk_dhe_ke alone; the driver fails the handshake if a server picks psk_ke (a "
      "ServerHello with pre_shared_key but no key_share), and a wolfSSL server refuses the ticket "
      "of a client offering psk_ke only (full handshake)",
      "wolfSSL 5.5.4 always adds psk_ke to psk_key_exchange_modes (tls.c TLSX_PopulateExtensions: "
      "modes = 1 << PSK_KE, then | 1 << PSK_DHE_KE unless noPskDheKe); wolfSSL_only_dhe_psk came "
      "after 5.5.4, and the ClientHello cannot be rewritten (the PSK binder and the transcript "
      "cover it)",
      false },
    { "resumption.resume_tls12/new_ticket", "wolfssl", 0,
      "a resumed TLS 1.2 handshake issues no new ticket: the client hands out a session with the "
      "ticket it resumed with (which still resumes until its lifetime ends)",
      "wolfSSL 5.5.4 servers send a NewSessionTicket in a resumed TLS 1.2 handshake only through "
      "WOLFSSL_TICKET_RET_CREATE, which (measured) sends none and stops echoing the client's "
      "session id (internal.c/tls.c TLSX_SessionTicket_Parse)",
      false },
    { "resumption.rotate/tls12_new_ticket", "wolfssl", POLYTLS_ERR_WRONG_STATE,
      "after a TLS 1.2 server declined a ticket (rotated key) the full handshake issues no new "
      "ticket, so that connection has no session to hand out (WRONG_STATE); the next connection "
      "without a session gets one",
      "wolfSSL 5.5.4 issues a TLS 1.2 ticket only for an empty session_ticket extension; a ticket "
      "refused with WOLFSSL_TICKET_RET_REJECT sets rejectTicket and nothing creates a new one "
      "(tls.c TLSX_SessionTicket_Parse)",
      false },
    { NULL, NULL, 0, NULL, NULL, false }
};

/* One flag per row (the NULL sentinel included, so the array is never empty). */
static bool used[sizeof rows / sizeof rows[0]];

const cf_deviation_row *cf_deviation(const char *test_id)
{
    const char *backend = polytls_backend_name(cf_backend);
    for (size_t i = 0; rows[i].test_id; i++) {
        if (strcmp(rows[i].test_id, test_id) == 0 && strcmp(rows[i].backend, backend) == 0) {
            used[i] = true;
            cf_report_deviation(rows[i].test_id);
            return &rows[i];
        }
    }
    return NULL;
}

void cf_deviations_dump(FILE *f)
{
    for (size_t i = 0; rows[i].test_id; i++) {
        fputs("{\"type\":\"deviation\",\"id\":", f);
        cf_json_string(f, rows[i].test_id);
        fputs(",\"backend\":", f);
        cf_json_string(f, rows[i].backend);
        fprintf(f, ",\"value\":%ld,\"observed\":", rows[i].value);
        cf_json_string(f, rows[i].observed);
        fputs(",\"reason\":", f);
        cf_json_string(f, rows[i].reason);
        fprintf(f, ",\"normalisable\":%s}\n", rows[i].normalisable ? "true" : "false");
    }
}

size_t cf_deviations_unused(void)
{
    const char *backend = polytls_backend_name(cf_backend);
    size_t n = 0;
    for (size_t i = 0; rows[i].test_id; i++) {
        if (!used[i] && strcmp(rows[i].backend, backend) == 0) {
            fprintf(stderr, "stale deviation row: %s on %s (no test asked for it)\n",
                    rows[i].test_id, rows[i].backend);
            n++;
        }
    }
    return n;
}

void cf_check_value_at(const char *id, long standard, long actual, const char *file, int line)
{
    const cf_deviation_row *row = cf_deviation(id);
    if (!row) {
        if (actual != standard) {
            print_error("%s:%d: [%s] observed %ld, standard %ld (add a deviation row with the "
                        "reason if this backend cannot do better)\n",
                        file, line, id, actual, standard);
            _fail(file, line);
        }
        return;
    }
    if (actual == standard) {
        print_error("%s:%d: [%s] stale deviation: %s now gives the standard %ld; remove the row "
                    "(\"%s\")\n",
                    file, line, id, row->backend, standard, row->observed);
        _fail(file, line);
    }
    if (actual != row->value) {
        print_error("%s:%d: [%s] observed %ld, neither the standard %ld nor the documented "
                    "deviation %ld (\"%s\")\n",
                    file, line, id, actual, standard, row->value, row->observed);
        _fail(file, line);
    }
}
