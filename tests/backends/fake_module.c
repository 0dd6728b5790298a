/* A stand-in backend module for tests/backends: a driver that loads but
   cannot make connections (every op refuses), built several times with
   different defects so that each refusal of the loader can be provoked:

     TM_NAME            the driver's name (the file is polytls-<file>.so;
                        they differ for the "wrong name" module)
     TM_ABI             its abi_version (999: an ABI this core does not know)
     TM_SIZE            its size field (8: a descriptor from an older core)
     TM_NO_ENTRY        export the entry under another name
     TM_LOADED_VERSION  the library version init() reports (differs from
                        built_version: a module built against another release)

   It includes only core/driver.h, like a real driver. */
#include <stdio.h>

#include "driver.h"

#ifndef TM_NAME
#error "TM_NAME must be set"
#endif
#ifndef TM_ABI
#define TM_ABI POLYTLS_DRIVER_ABI_VERSION
#endif
#ifndef TM_SIZE
#define TM_SIZE sizeof(polytls_driver)
#endif
#define TM_BUILT_VERSION "testlib 1.2.3"
#ifndef TM_LOADED_VERSION
#define TM_LOADED_VERSION TM_BUILT_VERSION
#endif

/* How often init() ran: the loader must run it once per process. */
static int init_calls;

static polytls_status tm_init(const polytls_core_services *svc, polytls_drv_info *info)
{
    (void)svc;
    init_calls++;
    snprintf(info->version, sizeof info->version, "%s (init #%d)", TM_LOADED_VERSION, init_calls);
    info->capabilities = 0;
    return POLYTLS_OK;
}

static polytls_status tm_ctx_init(const polytls_drv_config *cfg, void **ctx, char *err, size_t errlen)
{
    (void)cfg;
    (void)ctx;
    snprintf(err, errlen, "the test module makes no connections");
    return POLYTLS_ERR_UNSUPPORTED;
}

static void tm_ctx_fini(void *ctx) { (void)ctx; }

static polytls_status tm_conn_init(void *ctx, polytls_core_conn *core, const polytls_drv_conn_config *cc,
                                   void **conn)
{
    (void)ctx;
    (void)core;
    (void)cc;
    (void)conn;
    return POLYTLS_ERR_INTERNAL;
}

static void tm_conn_fini(void *conn) { (void)conn; }

static polytls_drv_rc tm_advance(void *conn, bool *handshake_done)
{
    (void)conn;
    (void)handshake_done;
    return POLYTLS_DRV_FAILED;
}

static polytls_status tm_write_app(void *conn, const uint8_t *data, size_t len)
{
    (void)conn;
    (void)data;
    (void)len;
    return POLYTLS_ERR_INTERNAL;
}

static polytls_status tm_close_notify(void *conn)
{
    (void)conn;
    return POLYTLS_ERR_INTERNAL;
}

static polytls_status tm_get_facts(void *conn, polytls_drv_facts *facts)
{
    (void)conn;
    (void)facts;
    return POLYTLS_ERR_INTERNAL;
}

static const polytls_driver tm_driver = {
    .abi_version = TM_ABI,
    .size = TM_SIZE,
    .name = TM_NAME,
    .built_version = TM_BUILT_VERSION,
    .init = tm_init,
    .ctx_init = tm_ctx_init,
    .ctx_fini = tm_ctx_fini,
    .conn_init = tm_conn_init,
    .conn_fini = tm_conn_fini,
    .advance = tm_advance,
    .write_app = tm_write_app,
    .close_notify = tm_close_notify,
    .get_facts = tm_get_facts,
};

#ifdef TM_NO_ENTRY
POLYTLS_MODULE_EXPORT const polytls_driver *polytls_driver_entry_v0(void);
const polytls_driver *polytls_driver_entry_v0(void)
#else
POLYTLS_MODULE_EXPORT const polytls_driver *polytls_driver_entry_v1(void);
const polytls_driver *polytls_driver_entry_v1(void)
#endif
{
    return &tm_driver;
}
