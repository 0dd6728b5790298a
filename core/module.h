/* Loading backends from dlopen modules (see docs/backends.md). */
#ifndef POLYTLS_CORE_MODULE_H
#define POLYTLS_CORE_MODULE_H

#include "backend.h"

/* Finds the module of backend `name` and makes a backend of it, or returns
   the one loaded before (same handle). Searches every directory of
   POLYTLS_MODULE_PATH (colon-separated), then POLYTLS_MODULE_DIR, for
   polytls-<name>.so; the first module that passes every check wins.
   `source` says where the name came from (for the message). The caller
   holds the registry lock. OK, or BACKEND_UNAVAILABLE with a message that
   names every path tried and why each was refused. */
polytls_status ptls_module_load(const char *name, const char *source, polytls_backend **out);

/* Whether `built` (the version a driver was compiled against) and `loaded`
   (the version text its init() reported) name compatible releases of the
   library of driver `name`: OpenSSL by major.minor (3.x keeps its ABI
   within a minor series), every other library by its whole x.y.z. On
   false writes both into why. */
bool ptls_module_versions_match(const char *name, const char *built, const char *loaded, char *why,
                                size_t whylen);

#endif
