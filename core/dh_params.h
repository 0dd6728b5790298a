/* ServerTLS dh_params: checked by the core, applied by the backend. */
#ifndef POLYTLS_CORE_DH_PARAMS_H
#define POLYTLS_CORE_DH_PARAMS_H

#include <stddef.h>
#include <stdint.h>
#include "polytls/polytls.h"

/* PKCS#3 DHParameter ::= SEQUENCE { prime INTEGER, base INTEGER,
   privateValueLength INTEGER OPTIONAL }. BAD_ENCODING unless it parses
   strictly, the prime is odd and positive, and at least 2048 bits (weaker
   groups are refused by every backend's security level anyway). */
polytls_status ptls_dh_params_check(const uint8_t *der, size_t len);

#endif
