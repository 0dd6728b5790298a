/* The backend registry. Built-in drivers are listed at compile time
   (-DPOLYTLS_BUILTIN_<NAME>); each is initialised once, on first use, under
   a lock, and then never changes: handles are valid for the process life.
   A name that is not built in is looked for as a dlopen module
   (core/module.c), under the same lock. The modules this build installs
   are listed at compile time too (-DPOLYTLS_MODULE_<NAME>), for
   polytls_backend_names. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "conn.h"
#include "module.h"
#include "status.h"

#ifdef POLYTLS_BUILTIN_OPENSSL
const polytls_driver *ptls_openssl_driver(void);
#endif
#ifdef POLYTLS_BUILTIN_GNUTLS
const polytls_driver *ptls_gnutls_driver(void);
#endif
#ifdef POLYTLS_BUILTIN_WOLFSSL
const polytls_driver *ptls_wolfssl_driver(void);
#endif

typedef struct builtin_entry {
    const char *name;
    const polytls_driver *(*get)(void);
} builtin_entry;

static const builtin_entry builtins[] = {
#ifdef POLYTLS_BUILTIN_OPENSSL
    {"openssl", ptls_openssl_driver},
#endif
#ifdef POLYTLS_BUILTIN_GNUTLS
    {"gnutls", ptls_gnutls_driver},
#endif
#ifdef POLYTLS_BUILTIN_WOLFSSL
    {"wolfssl", ptls_wolfssl_driver},
#endif
    {NULL, NULL} /* C has no empty arrays: a module-only build has none built in */
};
#define N_BUILTINS (sizeof builtins / sizeof builtins[0] - 1)

/* Built in or installed as a module (a "both" build has each once). */
static const char *backend_names[] = {
#if defined(POLYTLS_BUILTIN_OPENSSL) || defined(POLYTLS_MODULE_OPENSSL)
    "openssl",
#endif
#if defined(POLYTLS_BUILTIN_GNUTLS) || defined(POLYTLS_MODULE_GNUTLS)
    "gnutls",
#endif
#if defined(POLYTLS_BUILTIN_WOLFSSL) || defined(POLYTLS_MODULE_WOLFSSL)
    "wolfssl",
#endif
    NULL};

static polytls_backend backends[N_BUILTINS + 1]; /* + 1: never empty */
static bool attempted[N_BUILTINS + 1];
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

const char *const *polytls_backend_names(void)
{
    return backend_names;
}

bool ptls_driver_descriptor_ok(const polytls_driver *d, char *why, size_t whylen)
{
    if (!d) {
        snprintf(why, whylen, "the driver descriptor is NULL");
        return false;
    }
    if (d->abi_version != POLYTLS_DRIVER_ABI_VERSION) {
        snprintf(why, whylen, "driver ABI version %u, this core needs %u", (unsigned)d->abi_version,
                 (unsigned)POLYTLS_DRIVER_ABI_VERSION);
        return false;
    }
    if (d->size < sizeof(polytls_driver)) {
        snprintf(why, whylen, "driver descriptor of %u bytes, this core needs %zu", (unsigned)d->size,
                 sizeof(polytls_driver));
        return false;
    }
    const char *missing = !d->name            ? "name"
                          : !d->init          ? "init"
                          : !d->ctx_init      ? "ctx_init"
                          : !d->ctx_fini      ? "ctx_fini"
                          : !d->conn_init     ? "conn_init"
                          : !d->conn_fini     ? "conn_fini"
                          : !d->advance       ? "advance"
                          : !d->write_app     ? "write_app"
                          : !d->close_notify  ? "close_notify"
                          : !d->get_facts     ? "get_facts"
                                              : NULL;
    if (missing) {
        snprintf(why, whylen, "the driver lacks the required op '%s'", missing);
        return false;
    }
    return true;
}

static polytls_status init_builtin(size_t i, polytls_backend **out)
{
    polytls_backend *b = &backends[i];
    if (!attempted[i]) {
        attempted[i] = true;
        const polytls_driver *d = builtins[i].get();
        if (ptls_driver_descriptor_ok(d, b->failure, sizeof b->failure)) {
            b->drv = d;
            b->builtin = true;
            if (d->init(&ptls_services, &b->info) == POLYTLS_OK)
                b->ready = true;
            else
                memcpy(b->failure, b->info.version, sizeof b->info.version); /* NUL-terminated by init */
        }
    }
    if (!b->ready)
        return ptls_fail(POLYTLS_ERR_BACKEND_UNAVAILABLE, "backend '%s' failed to initialise: %s",
                         builtins[i].name, b->failure);
    *out = b;
    return POLYTLS_OK;
}

polytls_status polytls_backend_get(const char *name, polytls_backend **out)
{
    if (!out)
        return ptls_fail(POLYTLS_ERR_INVALID_ARGUMENT, "polytls_backend_get: out is NULL");
    const char *source = "argument";
    if (!name) {
        const char *env = getenv("POLYTLS_BACKEND");
        if (env && *env) {
            name = env;
            source = "environment variable POLYTLS_BACKEND";
        } else {
            name = POLYTLS_DEFAULT_BACKEND;
            source = "build default";
        }
    }
    pthread_mutex_lock(&registry_lock);
    polytls_status s = POLYTLS_ERR_BACKEND_UNAVAILABLE;
    size_t i;
    for (i = 0; builtins[i].name; i++) /* the sentinel: N_BUILTINS may be 0 */
        if (strcmp(builtins[i].name, name) == 0)
            break;
    if (builtins[i].name)
        s = init_builtin(i, out);
    else
        s = ptls_module_load(name, source, out);
    pthread_mutex_unlock(&registry_lock);
    return s;
}

polytls_status ptls_backend_from_driver(const polytls_driver *d, polytls_backend **out)
{
    polytls_backend *b = calloc(1, sizeof *b);
    if (!b)
        return ptls_fail(POLYTLS_ERR_NO_MEMORY, "out of memory");
    if (!ptls_driver_descriptor_ok(d, b->failure, sizeof b->failure)) {
        polytls_status s = ptls_fail(POLYTLS_ERR_BACKEND_UNAVAILABLE, "%s", b->failure);
        free(b);
        return s;
    }
    b->drv = d;
    if (d->init(&ptls_services, &b->info) != POLYTLS_OK) {
        polytls_status s = ptls_fail(POLYTLS_ERR_BACKEND_UNAVAILABLE, "driver '%s' failed to initialise: %s",
                                     d->name, b->info.version);
        free(b);
        return s;
    }
    b->ready = true;
    *out = b;
    return POLYTLS_OK;
}

const char *polytls_backend_name(const polytls_backend *b)
{
    return b ? b->drv->name : NULL;
}

const char *polytls_backend_version(const polytls_backend *b)
{
    return b ? b->info.version : NULL;
}

bool polytls_backend_is_builtin(const polytls_backend *b)
{
    return b && b->builtin;
}

const char *polytls_backend_module_path(const polytls_backend *b)
{
    return b ? b->module_path : NULL;
}

const char *polytls_backend_built_version(const polytls_backend *b)
{
    return b ? b->drv->built_version : NULL;
}

uint32_t polytls_backend_capabilities(const polytls_backend *b)
{
    return b ? b->info.capabilities : 0;
}

const char *polytls_capability_name(uint32_t bit)
{
    switch (bit) {
    case POLYTLS_CAP_ASYNC_SERVER_CERT: return "POLYTLS_CAP_ASYNC_SERVER_CERT";
    case POLYTLS_CAP_ASYNC_CLIENT_CERT: return "POLYTLS_CAP_ASYNC_CLIENT_CERT";
    case POLYTLS_CAP_ALERT_ANYTIME: return "POLYTLS_CAP_ALERT_ANYTIME";
    case POLYTLS_CAP_ALERT_IN_VERIFY: return "POLYTLS_CAP_ALERT_IN_VERIFY";
    case POLYTLS_CAP_CUSTOM_DH: return "POLYTLS_CAP_CUSTOM_DH";
    case POLYTLS_CAP_TLS13_CA_NAMES: return "POLYTLS_CAP_TLS13_CA_NAMES";
    case POLYTLS_CAP_LOW_MEMORY: return "POLYTLS_CAP_LOW_MEMORY";
    case POLYTLS_CAP_KEYLOG: return "POLYTLS_CAP_KEYLOG";
    case POLYTLS_CAP_EXPORTER: return "POLYTLS_CAP_EXPORTER";
    case POLYTLS_CAP_RESUMPTION: return "POLYTLS_CAP_RESUMPTION";
    default: return NULL;
    }
}
