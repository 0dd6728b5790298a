/* Leaf/CA classification and chain ordering: the seed's strictness errors,
 * decided in the core so that every backend refuses the same chains. */
#ifndef POLYTLS_CORE_CHAIN_H
#define POLYTLS_CORE_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "polytls/polytls.h"

/* Checks and orders a chain to present: exactly one leaf (NO_LEAF /
   MORE_THAN_ONE_LEAF), the leaf has a key (LEAF_HAS_NO_PRIVATE_KEY), every
   cert on the leaf's issuer path (NO_CERTIFICATE_CHAIN; a duplicate is a
   stray too). On OK *out is a new array of new references, leaf first, each
   next certificate the issuer of the previous one (free with
   polytls_certificates_free). n==0 is INVALID_ARGUMENT. Message via
   ptls_fail. */
polytls_status ptls_chain_order(polytls_certificate *const *in, size_t n, polytls_certificate ***out,
                                size_t *n_out);

/* The index of the only leaf of in[0..n): NO_LEAF or MORE_THAN_ONE_LEAF
   otherwise; INVALID_ARGUMENT for n == 0 or a NULL entry. */
polytls_status ptls_chain_find_leaf(polytls_certificate *const *in, size_t n, size_t *leaf);

/* Walks from `leaf` up through pool[0..n) following issuer Names (and key
   identifiers when both sides have them), taking each pool entry at most
   once and never one with the same DER as a certificate already taken.
   Stops at a self-issued certificate or when no issuer is found. On OK
   *out is a new array of new references, leaf first; used[i] (if not NULL)
   is set to true for every pool entry taken. `leaf` may itself be in the
   pool (it is then marked used and not taken twice). NO_MEMORY only. */
polytls_status ptls_chain_path(polytls_certificate *leaf, polytls_certificate *const *pool, size_t n,
                               bool *used, polytls_certificate ***out, size_t *n_out);

/* True if some certificate of the chain has `name` (DER Name) as its
   subject or issuer. */
bool ptls_chain_reaches_name(polytls_certificate *const *chain, size_t n, const uint8_t *name,
                             size_t name_len);

#endif
