/*
 * osrand — random bytes from the operating system, for secrets: session
 * token ids, OIDC state/nonce/PKCE verifiers, password salts.
 *
 * One place reads getrandom(2) so that every secret comes from the kernel's
 * CSPRNG and no caller forgets the retry on EINTR or on a short read.
 */
#ifndef BERTH_OSRAND_H
#define BERTH_OSRAND_H

#include <stddef.h>

/* Fills out[n] with random bytes from getrandom(2) (blocking until the
 * kernel pool is initialised, retrying on EINTR and short reads). 0, or
 * BERR_INTERNAL when getrandom fails (out then holds unspecified bytes). */
int osrand_bytes(void *out, size_t n);

#endif
