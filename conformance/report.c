/*
 * The machine-readable report of a conformance or interop run (--report
 * FILE): one JSON object a line, read by tools/conformance-report.py to write
 * docs/conformance.md. See harness.h.
 *
 * cmocka does not tell a test's fixtures whether the test passed (teardown
 * runs either way), so every test runs through cf_test_run: reaching the end
 * of the test's function is a pass, skip() is recorded by harness.h's skip
 * macro, and a test that did neither failed (cmocka jumped out of it). A test
 * is written when the next one begins, when the context changes or when the
 * report is closed.
 */
#include "harness.h"

#include <stdio.h>
#include <string.h>

#define CF_REPORT_MAX_ROWS 16

typedef struct cf_report_test {
    const char *id;           /* NULL: no test pending */
    bool returned, skipped;
    uint32_t caps_absent;     /* bits cf_has_cap found absent */
    const char *rows[CF_REPORT_MAX_ROWS]; /* deviation rows that answered, distinct */
    size_t n_rows;
} cf_report_test;

static FILE *report_file;
static const char *report_context = "";
static cf_report_test pending;

void cf_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* The capability names of `bits`, as a JSON array (in bit order). */
static void write_caps(FILE *f, uint32_t bits)
{
    bool first = true;
    fputc('[', f);
    for (unsigned i = 0; i < 32; i++) {
        uint32_t bit = 1u << i;
        if (!(bits & bit))
            continue;
        const char *name = polytls_capability_name(bit);
        char unknown[32];
        if (!name) {
            /* a bit the library cannot name yet still shows up, as a number */
            snprintf(unknown, sizeof unknown, "0x%x", (unsigned)bit);
            name = unknown;
        }
        if (!first)
            fputc(',', f);
        cf_json_string(f, name);
        first = false;
    }
    fputc(']', f);
}

static const char *outcome_of(const cf_report_test *t)
{
    if (t->returned)
        return t->n_rows ? "deviation" : t->caps_absent ? "unsupported" : "pass";
    if (t->skipped)
        return t->caps_absent ? "unsupported" : "skipped";
    return "fail";
}

static void flush_pending(void)
{
    if (!pending.id)
        return;
    if (report_file) {
        FILE *f = report_file;
        fprintf(f, "{\"type\":\"test\",%s%s\"id\":", report_context, *report_context ? "," : "");
        cf_json_string(f, pending.id);
        fprintf(f, ",\"outcome\":\"%s\",\"deviations\":[", outcome_of(&pending));
        for (size_t i = 0; i < pending.n_rows; i++) {
            if (i)
                fputc(',', f);
            cf_json_string(f, pending.rows[i]);
        }
        fputs("],\"unsupported\":", f);
        write_caps(f, pending.caps_absent);
        fputs("}\n", f);
        fflush(f); /* a run that dies later still leaves every finished test */
    }
    memset(&pending, 0, sizeof pending);
}

void cf_test_run(void **state)
{
    const cf_test_info *t = *state;
    t->fn(state);
    pending.returned = true;
}

void cf_report_begin(const char *id)
{
    flush_pending();
    pending.id = id;
}

void cf_report_cap_absent(uint32_t bit)
{
    if (pending.id)
        pending.caps_absent |= bit;
}

void cf_report_deviation(const char *row_id)
{
    if (!pending.id)
        return;
    for (size_t i = 0; i < pending.n_rows; i++)
        if (strcmp(pending.rows[i], row_id) == 0)
            return;
    if (pending.n_rows < CF_REPORT_MAX_ROWS)
        pending.rows[pending.n_rows++] = row_id;
}

void cf_report_skipped(void)
{
    pending.skipped = true;
}

bool cf_report_open(const char *path)
{
    report_file = fopen(path, "w");
    if (!report_file) {
        fprintf(stderr, "cannot write the report %s\n", path);
        return false;
    }
    return true;
}

void cf_report_set_context(const char *fields)
{
    flush_pending();
    report_context = fields ? fields : "";
}

void cf_report_backend(const polytls_backend *b)
{
    if (!report_file)
        return;
    FILE *f = report_file;
    fputs("{\"type\":\"backend\",\"backend\":", f);
    cf_json_string(f, polytls_backend_name(b));
    fputs(",\"version\":", f);
    cf_json_string(f, polytls_backend_version(b));
    fputs(",\"built_version\":", f);
    cf_json_string(f, polytls_backend_built_version(b));
    fputs(",\"capabilities\":", f);
    write_caps(f, polytls_backend_capabilities(b));
    /* every bit the library can name, so a reader knows the matrix's rows */
    uint32_t known = 0;
    for (unsigned i = 0; i < 32; i++)
        if (polytls_capability_name(1u << i))
            known |= 1u << i;
    fputs(",\"known_capabilities\":", f);
    write_caps(f, known);
    fputs("}\n", f);
}

bool cf_report_close(void)
{
    flush_pending();
    if (!report_file)
        return true;
    bool ok = !ferror(report_file);
    if (fclose(report_file) != 0)
        ok = false;
    report_file = NULL;
    if (!ok)
        fprintf(stderr, "error writing the report\n");
    return ok;
}
