/* Status names, messages and the per-thread message of the last failure. */
#ifndef POLYTLS_CORE_STATUS_H
#define POLYTLS_CORE_STATUS_H

#include <stdarg.h>
#include "polytls/polytls.h"

/* Sets the message polytls_last_error_message() returns on this thread. */
void ptls_set_last_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ptls_set_last_error_v(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* Sets the last-error message and returns s, so failures read as one line. */
polytls_status ptls_fail(polytls_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ptls_clear_last_error(void);

#endif
