/* The backend registry: which drivers exist and what they can do. */
#ifndef POLYTLS_CORE_BACKEND_H
#define POLYTLS_CORE_BACKEND_H

#include "driver.h"

struct polytls_backend {
    const polytls_driver *drv;
    polytls_drv_info info;
    bool ready;        /* init() succeeded */
    char failure[256]; /* why it is not ready */
    bool builtin;
    char *module_path; /* the file a module backend was loaded from; NULL when built in */
};

static inline bool ptls_backend_has(const polytls_backend *b, uint32_t cap)
{
    return (b->info.capabilities & cap) == cap;
}

/* Makes a backend from a driver descriptor that is not built in (a loaded
   module, or the scripted driver of the core's unit tests): checks the
   descriptor, runs its init(). The backend lives for the process. */
polytls_status ptls_backend_from_driver(const polytls_driver *d, polytls_backend **out);

/* Checks that a driver descriptor is one this core can use (ABI version,
   struct size, required ops). On failure writes the reason into why. */
bool ptls_driver_descriptor_ok(const polytls_driver *d, char *why, size_t whylen);

#endif
