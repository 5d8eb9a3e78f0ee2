/*
 * b64 — Base64 encoding and decoding (RFC 4648): the standard alphabet with
 * padding (Kubernetes Secret data, PEM bodies) and the URL-safe alphabet
 * without padding (JWT segments, JWK numbers).
 *
 * Decoders are strict about the alphabet (a character outside it is
 * BERR_INVALID), skip nothing but CR/LF in standard input, accept missing
 * padding, and bound their output by max_out bytes (BERR_TOOLARGE).
 */
#ifndef BERTH_B64_H
#define BERTH_B64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Encodes n bytes. url selects the URL-safe alphabet without padding.
 * Returns a newly allocated NUL-terminated string, or NULL when out of
 * memory. */
char *b64_encode(const void *data, size_t n, bool url);

/* Decodes the NUL-terminated string in. *ret receives a newly allocated
 * buffer holding the bytes followed by a NUL (so text can be used as a C
 * string) and *ret_len their count (ret_len may be NULL). 0, BERR_INVALID,
 * BERR_TOOLARGE, BERR_NOMEM; outputs untouched on failure. */
int b64_decode(const char *in, bool url, size_t max_out, uint8_t **ret, size_t *ret_len);

#endif
