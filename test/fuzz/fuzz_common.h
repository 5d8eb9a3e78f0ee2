/*
 * fuzz_common — helpers shared by the fuzz targets in test/fuzz/.
 *
 * Every target is a file fuzz_<name>.c defining
 *     int fuzz_<name>(const uint8_t *data, size_t size);
 * (always returns 0; a bug shows as a crash, abort() or sanitizer report)
 * and, under -DBERTH_LIBFUZZER, the LLVMFuzzerTestOneInput wrapper made by
 * FUZZ_ENTRY(name). test/unit/test_fuzz_regress.c #includes every target to
 * replay test/fuzz/regress/<name>/ without libFuzzer.
 *
 * Inputs made of two parts (doc + patch, desired + live, expr + doc ...)
 * are split at the first 0xff byte, which never occurs in valid UTF-8.
 */
#ifndef BERTH_FUZZ_COMMON_H
#define BERTH_FUZZ_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jsonx.h"

#define FUZZ_SEP 0xff
#define FUZZ_MAX_BYTES ((size_t)1 << 20)
#define FUZZ_MAX_DEPTH 64

#ifdef BERTH_LIBFUZZER
#define FUZZ_ENTRY(name)                                                         \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);             \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)              \
	{                                                                         \
		return fuzz_##name(data, size);                                   \
	}
#else
#define FUZZ_ENTRY(name)
#endif

/* One part of a split input (borrowed pointer into the input). */
struct fuzz_part {
	const char *p;
	size_t len;
};

/* Splits data at the first FUZZ_SEP: a = before, b = after (b empty when
 * there is no separator). */
static inline void fuzz_split(const uint8_t *data, size_t size, struct fuzz_part *a,
			      struct fuzz_part *b)
{
	const uint8_t *sep = size ? memchr(data, FUZZ_SEP, size) : NULL;

	a->p = (const char *)data;
	if (!sep) {
		a->len = size;
		b->p = (const char *)data + size;
		b->len = 0;
		return;
	}
	a->len = (size_t)(sep - data);
	b->p = (const char *)sep + 1;
	b->len = size - a->len - 1;
}

/* A NUL-terminated copy of a part (free it), or NULL when out of memory. */
static inline char *fuzz_cstr(const struct fuzz_part *part)
{
	char *s = malloc(part->len + 1);

	if (!s)
		return NULL;
	if (part->len)
		memcpy(s, part->p, part->len);
	s[part->len] = '\0';
	return s;
}

/* Parses a part as JSON with the limits the daemons use; NULL when invalid. */
static inline json_t *fuzz_json(const struct fuzz_part *part)
{
	json_t *v = NULL;

	if (jx_parse(part->p, part->len, FUZZ_MAX_BYTES, FUZZ_MAX_DEPTH, &v) < 0)
		return NULL;
	return v;
}

#endif
