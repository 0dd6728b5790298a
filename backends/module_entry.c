/* The entry point of a backend module (-Dbackends_mode=module or both).

   Compiled once per module, next to that backend's driver file, with
   -DPOLYTLS_MODULE_GETTER=ptls_<name>_driver: the driver stays exactly the
   file that is linked into libpolytls in a built-in build, and this file
   adds the one symbol the loader (core/module.c) looks for. Everything else
   in the module is hidden (-fvisibility=hidden and backends/module.map). */
#include "driver.h"

#ifndef POLYTLS_MODULE_GETTER
#error "build with -DPOLYTLS_MODULE_GETTER=ptls_<name>_driver (backends/meson.build)"
#endif

const polytls_driver *POLYTLS_MODULE_GETTER(void);

POLYTLS_MODULE_EXPORT const polytls_driver *polytls_driver_entry_v1(void);

const polytls_driver *polytls_driver_entry_v1(void)
{
    return POLYTLS_MODULE_GETTER();
}
