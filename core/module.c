/* Loading backends from dlopen modules.

   A module is polytls-<name>.so exporting one symbol,
   POLYTLS_DRIVER_ENTRY_SYMBOL, that returns its driver descriptor. It is
   searched in POLYTLS_MODULE_PATH, then in the directory the build installs
   modules to (POLYTLS_MODULE_DIR); nowhere else, so what runs is what the
   user or the installer put there. Every candidate is checked before it is
   trusted: it must load (RTLD_NOW: an unresolved symbol fails now, not in
   the middle of a handshake), export the entry, carry a descriptor this core
   understands (ABI version, size, required ops) under the requested name,
   initialise, and have been built against the library release it finds at
   run time. The first candidate that passes wins; when none does, the
   message names every path and why it was refused.

   RTLD_LOCAL keeps each module's library out of the global namespace, so
   the OpenSSL and wolfSSL modules (which export some identical symbol
   names) can live side by side in one process.

   Loaded modules are never closed: their backends are valid for the life of
   the process, and the TLS libraries they pull in do not all support being
   unloaded. A candidate that fails before its init() runs is closed; one
   whose init() ran is kept open and remembered with its refusal, so init()
   never runs twice. All state here is guarded by the registry lock, which
   the caller (core/backend.c) holds. */
#define _GNU_SOURCE /* secure_getenv */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conn.h"
#include "module.h"
#include "status.h"

#ifndef POLYTLS_MODULE_DIR
#error "POLYTLS_MODULE_DIR must be set by the build (backends/meson.build)"
#endif

/* One module this process has opened and initialised, usable or not. */
typedef struct module_entry {
    struct module_entry *next;
    polytls_backend backend; /* ready = usable; else backend.failure says why */
} module_entry;

static module_entry *modules; /* guarded by the registry lock */

/* Names are file name parts: nothing that could leave the directory. */
static bool valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* Reads up to three dot-separated numbers starting at the first digit of s.
   Returns how many were read (0: none). */
static int parse_version(const char *s, unsigned long v[3])
{
    while (*s && (*s < '0' || *s > '9'))
        s++;
    int n = 0;
    while (n < 3 && *s >= '0' && *s <= '9') {
        char *end;
        v[n++] = strtoul(s, &end, 10);
        s = end;
        if (*s != '.')
            break;
        s++;
    }
    return n;
}

bool ptls_module_versions_match(const char *name, const char *built, const char *loaded, char *why,
                                size_t whylen)
{
    unsigned long b[3] = {0}, l[3] = {0};
    int nb = built ? parse_version(built, b) : 0;
    int nl = loaded ? parse_version(loaded, l) : 0;
    int need = strcmp(name, "openssl") == 0 ? 2 : 3;
    bool ok = nb >= need && nl >= need;
    for (int i = 0; ok && i < need; i++)
        ok = b[i] == l[i];
    if (!ok)
        snprintf(why, whylen, "built against %s but %s is loaded", built ? built : "(no version)",
                 loaded && *loaded ? loaded : "(no version)");
    return ok;
}

/* Appends "; <text>" (or the first text) to a message, truncating safely. */
static void add_reason(char *msg, size_t cap, const char *path, const char *why)
{
    size_t len = strlen(msg);
    if (len + 1 < cap)
        snprintf(msg + len, cap - len, "%s%s: %s", len ? "; " : "", path, why);
}

/* dlerror() usually starts with the path we already print: drop it. */
static const char *dl_reason(const char *path)
{
    const char *e = dlerror();
    if (!e)
        return "unknown dlopen failure";
    size_t n = strlen(path);
    if (strncmp(e, path, n) == 0 && e[n] == ':' && e[n + 1] == ' ')
        e += n + 2;
    return e;
}

/* Tries one file. OK with *out set, or BACKEND_UNAVAILABLE with the reason
   in why. */
static polytls_status try_path(const char *name, const char *path, polytls_backend **out, char *why,
                               size_t whylen)
{
    for (module_entry *m = modules; m; m = m->next)
        if (strcmp(m->backend.module_path, path) == 0) {
            /* Opened before: its init() ran already, give the same verdict. */
            if (!m->backend.ready) {
                snprintf(why, whylen, "%s", m->backend.failure);
                return POLYTLS_ERR_BACKEND_UNAVAILABLE;
            }
            if (strcmp(m->backend.drv->name, name) != 0) {
                snprintf(why, whylen, "the module is the backend '%s'", m->backend.drv->name);
                return POLYTLS_ERR_BACKEND_UNAVAILABLE;
            }
            *out = &m->backend;
            return POLYTLS_OK;
        }

    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(why, whylen, "%s", errno == ENOENT ? "not found" : strerror(errno));
        return POLYTLS_ERR_BACKEND_UNAVAILABLE;
    }
    dlerror();
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(why, whylen, "%s", dl_reason(path));
        return POLYTLS_ERR_BACKEND_UNAVAILABLE;
    }
    polytls_driver_entry_fn entry;
    void *sym = dlsym(h, POLYTLS_DRIVER_ENTRY_SYMBOL);
    memcpy(&entry, &sym, sizeof entry); /* object to function pointer, as POSIX allows */
    if (!sym) {
        snprintf(why, whylen, "not a polytls module (no symbol %s)", POLYTLS_DRIVER_ENTRY_SYMBOL);
        dlclose(h);
        return POLYTLS_ERR_BACKEND_UNAVAILABLE;
    }
    const polytls_driver *d = entry();
    if (!ptls_driver_descriptor_ok(d, why, whylen)) {
        dlclose(h);
        return POLYTLS_ERR_BACKEND_UNAVAILABLE;
    }
    if (strcmp(d->name, name) != 0) {
        snprintf(why, whylen, "the module is the backend '%.40s'", d->name);
        dlclose(h);
        return POLYTLS_ERR_BACKEND_UNAVAILABLE;
    }

    module_entry *m = calloc(1, sizeof *m);
    char *p = strdup(path);
    if (!m || !p) {
        free(m);
        free(p);
        dlclose(h);
        snprintf(why, whylen, "out of memory");
        return POLYTLS_ERR_NO_MEMORY;
    }
    polytls_backend *b = &m->backend;
    b->drv = d;
    b->module_path = p;
    /* From here on the module stays open (see the top of the file). */
    m->next = modules;
    modules = m;
    if (d->init(&ptls_services, &b->info) != POLYTLS_OK) {
        snprintf(b->failure, sizeof b->failure, "init failed: %.200s", b->info.version);
    } else if (ptls_module_versions_match(d->name, d->built_version, b->info.version, b->failure,
                                          sizeof b->failure)) {
        b->ready = true;
        *out = b;
        return POLYTLS_OK;
    }
    snprintf(why, whylen, "%s", b->failure);
    return POLYTLS_ERR_BACKEND_UNAVAILABLE;
}

polytls_status ptls_module_load(const char *name, const char *source, polytls_backend **out)
{
    if (!valid_name(name))
        return ptls_fail(POLYTLS_ERR_BACKEND_UNAVAILABLE,
                         "'%.40s' (from the %s) is not a backend name (a-z, 0-9, '_', '-'; at most 32)",
                         name, source);
    /* Loaded before: the same handle, wherever the search path points now. */
    for (module_entry *m = modules; m; m = m->next)
        if (m->backend.ready && strcmp(m->backend.drv->name, name) == 0) {
            *out = &m->backend;
            return POLYTLS_OK;
        }
    /* The search path: POLYTLS_MODULE_PATH's directories, then the
       installed module directory. Empty entries are skipped. Like
       LD_LIBRARY_PATH, the variable is ignored in set-user-ID and similar
       programs (secure_getenv), where it would let the caller run code. */
    const char *env = secure_getenv("POLYTLS_MODULE_PATH");
    char *dirs = NULL;
    size_t envlen = env ? strlen(env) : 0;
    dirs = malloc(envlen + 1 + sizeof POLYTLS_MODULE_DIR);
    if (!dirs)
        return ptls_fail(POLYTLS_ERR_NO_MEMORY, "out of memory");
    snprintf(dirs, envlen + 1 + sizeof POLYTLS_MODULE_DIR, "%s%s%s", env ? env : "", envlen ? ":" : "",
             POLYTLS_MODULE_DIR);

    char tried[512] = "";
    char why[256];
    polytls_status s = POLYTLS_ERR_BACKEND_UNAVAILABLE;
    char *save = NULL;
    for (char *dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        char path[4096];
        int n = snprintf(path, sizeof path, "%s/polytls-%s.so", dir, name);
        if (n < 0 || (size_t)n >= sizeof path) {
            add_reason(tried, sizeof tried, dir, "path too long");
            continue;
        }
        why[0] = '\0';
        s = try_path(name, path, out, why, sizeof why);
        if (s == POLYTLS_OK || s == POLYTLS_ERR_NO_MEMORY)
            break;
        add_reason(tried, sizeof tried, path, why);
    }
    free(dirs);
    if (s == POLYTLS_OK)
        return s;
    if (s == POLYTLS_ERR_NO_MEMORY)
        return ptls_fail(s, "out of memory loading backend '%s'", name);
    return ptls_fail(POLYTLS_ERR_BACKEND_UNAVAILABLE,
                     "backend '%s' (from the %s) is not built in and no usable module was found; tried %s",
                     name, source, tried);
}
