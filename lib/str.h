/*
 * str — small string helpers: checked number parsing, bounded copying,
 * allocation of formatted strings, prefixes and suffixes.
 *
 * The parsers accept the whole string or nothing (no trailing garbage, no
 * silent overflow), unlike atoi/strtol used bare (systemd's safe_atou).
 */
#ifndef BERTH_STR_H
#define BERTH_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parse a whole decimal integer (optional sign for i64; none for u64).
 * 0 with *out set, or BERR_INVALID (not a number, trailing text, overflow);
 * *out untouched on failure. */
int str_to_i64(const char *s, int64_t *out);
int str_to_u64(const char *s, uint64_t *out);
/* The same, bounded to [min, max] (BERR_INVALID outside). */
int str_to_int(const char *s, int min, int max, int *out);

/* Parse a duration: "250ms", "5s", "3m", "1h", "1h30m", or a bare number of
 * seconds. Result in milliseconds. 0 or BERR_INVALID. */
int str_to_duration_ms(const char *s, int64_t *out);

/* Parse a size: "512", "64k", "10M", "1G" (powers of 1024, case-insensitive,
 * optional trailing "B"/"iB"). 0 or BERR_INVALID. */
int str_to_size(const char *s, uint64_t *out);

/* Copies src into dst[size], truncating; always NUL-terminates when size > 0.
 * Returns strlen(src) (so truncation is detectable: result >= size). */
size_t str_copy(char *dst, const char *src, size_t size);

/* A newly allocated formatted string (free() it), or NULL on allocation
 * failure. */
char *str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* strdup that returns NULL for NULL. */
char *str_dup(const char *s);

/* True when s begins / ends with the given text (an empty one always matches). */
bool str_starts_with(const char *s, const char *prefix);
bool str_ends_with(const char *s, const char *suffix);

/* True when a and b are equal, both NULL, or one is NULL and the other "". */
bool str_eq_null(const char *a, const char *b);

/* Constant-time comparison of two byte strings of known lengths (for
 * secrets): true when equal. */
bool str_secure_eq(const void *a, size_t alen, const void *b, size_t blen);

/* Writes the n bytes at in as 2n lower-case hex digits and a NUL into out,
 * which must hold 2n + 1 bytes. */
void str_hex(const void *in, size_t n, char *out);

/* Shell-style glob match with '*', '?', '[...]' (fnmatch without flags). */
bool str_glob(const char *pattern, const char *s);

#endif
