/*
 * quantity — Kubernetes resource quantities ("500m", "0.5", "1Gi", "1e3").
 *
 * The API server decodes every quantity it stores and writes it back in a
 * canonical form, so what a manifest says and what the live object shows can
 * differ in spelling but not in value: "1000m" comes back as "1", "0.5" as
 * "500m", "1024Mi" as "1Gi", "1000" as "1k". This module parses the three
 * notations (decimal SI suffixes n u m k M G T P E, binary suffixes Ki Mi Gi
 * Ti Pi Ei, decimal exponents e3/E3), keeps the value exactly (as a count of
 * nano-units, the precision Kubernetes keeps; finer values round up, away
 * from zero, as the API server does), compares values exactly and prints the
 * canonical form the API server would store.
 *
 * Canonical form (apimachinery's Quantity.CanonicalizeBytes): the notation of
 * the input is kept; a binary quantity whose value is below 1024 in
 * magnitude or not a whole number is written in decimal SI instead; decimal
 * forms use the largest exponent that is a multiple of 3 and keeps an
 * integer mantissa; zero is "0".
 *
 * Values whose magnitude exceeds 2^63-1 units are refused (BERR_INVALID); the
 * API server accepts some of those but no real manifest uses them.
 */
#ifndef BERTH_QUANTITY_H
#define BERTH_QUANTITY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum quantity_format {
	QUANTITY_DECIMAL_SI = 0,     /* "", "500m", "2k", "1G" */
	QUANTITY_BINARY_SI,          /* "1Ki", "512Mi", "1Gi" */
	QUANTITY_DECIMAL_EXPONENT,   /* "1e3", "5E-3" */
};

struct quantity {
	__int128 nano;               /* the value in units of 10^-9 */
	enum quantity_format format; /* the notation it was written in */
};

/* Longest canonical form including the NUL ("-9223372036854775807000000000n"
 * and the like fit easily). */
#define QUANTITY_STR_MAX 48

/* Parses s (no surrounding spaces). 0 with *out set, or BERR_INVALID with a
 * message naming s; *out untouched on failure. */
int quantity_parse(const char *s, struct quantity *out);

/* Parses a JSON value holding a quantity: a string, or a number (the API
 * server accepts `cpu: 1` and `cpu: 0.5`; reals are read with 15 significant
 * digits so 0.1 stays 0.1). 0 or BERR_INVALID. */
int quantity_from_json(const json_t *v, struct quantity *out);

/* Writes the canonical form of q into out[size]. 0, or BERR_TOOLARGE when
 * size is too small (QUANTITY_STR_MAX always suffices). */
int quantity_format(const struct quantity *q, char *out, size_t size);

/* Parses s and writes its canonical form: "1000m" -> "1". 0 or BERR_INVALID /
 * BERR_TOOLARGE. */
int quantity_canonical(const char *s, char *out, size_t size);

/* Exact comparison of values (notation ignored): <0, 0, >0. */
int quantity_cmp(const struct quantity *a, const struct quantity *b);

/* True when a and b parse as quantities of equal value ("500m" and "0.5");
 * false when they differ or either does not parse. */
bool quantity_equal_str(const char *a, const char *b);

/* Rewrites obj[key] to its canonical quantity string when it is a string or
 * number holding a quantity (a string already canonical is left as it is).
 * 0 (also when key is absent), or BERR_INVALID when the value is not a
 * quantity (left unchanged). */
int quantity_canonicalize_member(json_t *obj, const char *key);

/* Rewrites every member value of a map of quantities (resources.limits,
 * resources.requests, PV capacity, ResourceQuota hard ...). Members that do
 * not parse are left as they are and counted: returns the number of members
 * that were not quantities (0 when all were fine). NULL or non-object map: 0. */
int quantity_canonicalize_map(json_t *map);

/* A new JSON string holding the canonical form of v, or NULL when v is not a
 * quantity (or on allocation failure). */
json_t *quantity_canonical_json(const json_t *v);

#endif
