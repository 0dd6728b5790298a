/* Trust stores: an explicit set of anchors, or the system bundle parsed by
 * the core (so every backend trusts exactly the same certificates). */
#ifndef POLYTLS_CORE_TRUST_STORE_H
#define POLYTLS_CORE_TRUST_STORE_H

#include <stddef.h>

#include "polytls/polytls.h"

/* The store's certificates (valid while the store lives); returns how many. */
size_t ptls_trust_store_certs(const polytls_trust_store *ts, polytls_certificate *const **certs);
/* How many blocks of the bundle were skipped because they did not parse
   (always 0 for an explicit store). */
size_t ptls_trust_store_skipped(const polytls_trust_store *ts);
/* Loads a bundle file leniently (text outside PEM blocks ignored, blocks
   that do not parse skipped and counted) into a new, uncached store.
   BAD_ENCODING with the path in the message if the file cannot be read or
   holds no usable certificate. polytls_trust_store_system uses this once
   per process. */
polytls_status ptls_trust_store_load_file(const char *path, polytls_trust_store **out);

#endif
