/*
 * The conformance runner: picks the backend (--backend NAME, else
 * POLYTLS_BACKEND, else the build's default), proves that this backend is the
 * one actually running, then runs every group of tests against it.
 *
 *   conformance [--backend NAME] [--filter PATTERN] [--skip PATTERN] [--report FILE]
 *   conformance --list-deviations
 *
 * PATTERN is cmocka's (a test id with * and ? wildcards). --report writes one
 * JSON line for the backend and one per test run (report.c); --list-deviations
 * prints every row of deviations.c as JSON lines. Both feed
 * tools/conformance-report.py, which writes docs/conformance.md.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const cf_group cf_group_handshake, cf_group_data, cf_group_verify, cf_group_certificates,
    cf_group_sni, cf_group_async, cf_group_client_auth, cf_group_alerts, cf_group_errors,
    cf_group_close, cf_group_arguments, cf_group_reentrancy, cf_group_capabilities, cf_group_alpn,
    cf_group_low_memory, cf_group_pins;
extern const cf_group cf_group_keylog;
extern const cf_group cf_group_suites;
extern const cf_group cf_group_resumption;
extern const cf_group cf_group_verify_time;

static const cf_group *const groups[] = {
    &cf_group_handshake, &cf_group_data,   &cf_group_verify,      &cf_group_certificates,
    &cf_group_sni,       &cf_group_async,  &cf_group_client_auth, &cf_group_alerts,
    &cf_group_errors,    &cf_group_close,  &cf_group_arguments,   &cf_group_reentrancy,
    &cf_group_capabilities, &cf_group_alpn, &cf_group_low_memory, &cf_group_pins,
    &cf_group_keylog,
    &cf_group_suites,
    &cf_group_resumption,
    &cf_group_verify_time,
};

int main(int argc, char **argv)
{
    const char *want = NULL, *filter = NULL, *skip_pattern = NULL;
    const char *report_path = NULL;
    bool list_deviations = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc)
            want = argv[++i];
        else if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc)
            filter = argv[++i];
        else if (strcmp(argv[i], "--skip") == 0 && i + 1 < argc)
            skip_pattern = argv[++i];
        else if (strcmp(argv[i], "--report") == 0 && i + 1 < argc)
            report_path = argv[++i];
        else if (strcmp(argv[i], "--list-deviations") == 0)
            list_deviations = true;
        else {
            fprintf(stderr, "usage: %s [--backend NAME] [--filter PATTERN] [--skip PATTERN] "
                            "[--report FILE] | --list-deviations\n", argv[0]);
            return 2;
        }
    }
    if (list_deviations) {
        cf_deviations_dump(stdout);
        return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
    }
    if (!want) {
        const char *env = getenv("POLYTLS_BACKEND");
        if (env && *env)
            want = env;
    }

    polytls_backend *b = NULL;
    polytls_status st = polytls_backend_get(want, &b);
    if (st != POLYTLS_OK || !b) {
        fprintf(stderr, "conformance: backend %s unavailable: %s (%s)\n", want ? want : "(default)",
                polytls_status_name(st), polytls_last_error_message());
        return 1;
    }
    const char *got = polytls_backend_name(b);
    if (!got || (want && strcmp(got, want) != 0)) {
        fprintf(stderr, "conformance: asked for backend %s but %s is running\n", want,
                got ? got : "(unnamed)");
        return 1;
    }
    cf_backend = b;
    cf_caps = polytls_backend_capabilities(b);
    printf("conformance: backend %s (%s, built against %s), capabilities 0x%x\n", got,
           polytls_backend_version(b), polytls_backend_built_version(b), (unsigned)cf_caps);

    static char report_context[128];
    if (report_path) {
        if (!cf_report_open(report_path))
            return 1;
        cf_report_backend(b);
        snprintf(report_context, sizeof report_context, "\"backend\":\"%s\"", got);
        cf_report_set_context(report_context);
    }

    if (filter)
        cmocka_set_test_filter(filter);
    if (skip_pattern)
        cmocka_set_skip_filter(skip_pattern);

    int failures = 0;
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
        failures += _cmocka_run_group_tests(groups[g]->name, groups[g]->tests, groups[g]->n, NULL,
                                            NULL);

    /* Only a full run can tell that a row is not asked for any more. */
    if (!filter && !skip_pattern && cf_deviations_unused() > 0)
        failures++;
    if (!cf_report_close())
        failures++;
    return failures == 0 ? 0 : 1;
}
