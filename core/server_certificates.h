/* ServerCertificates (user callbacks, or the built-in single chain and SNI
 * set) and the client certificate store. */
#ifndef POLYTLS_CORE_SERVER_CERTIFICATES_H
#define POLYTLS_CORE_SERVER_CERTIFICATES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "polytls/polytls.h"

/* Asks sc for the chain of one connection: calls its
   get_chain_for_server_name(user, server_name, reply). server_name is the
   SNI host name (lower case) or NULL. The callee finishes `reply`. */
void ptls_server_certificates_select(polytls_server_certificates *sc, const char *server_name,
                                     polytls_chain_reply *reply);

/* For the built-in kinds (polytls_server_chain_new, polytls_sni_certificates_new):
   the chain the set answers `server_name` with (borrowed, ordered leaf
   first; *n = 0 for none) without calling anything. False for a
   user-defined set. */
bool ptls_server_certificates_builtin_chain(const polytls_server_certificates *sc, const char *server_name,
                                            polytls_certificate *const **chain, size_t *n);

polytls_client_cert_store *ptls_client_cert_store_ref(polytls_client_cert_store *s);
/* n > 0: get_chain_for_roots(user, roots, lens, n, reply), else
   get_default_chain(user, reply). */
void ptls_client_cert_store_request(polytls_client_cert_store *s, const uint8_t *const *roots,
                                    const size_t *lens, size_t n, polytls_chain_reply *reply);

#endif
