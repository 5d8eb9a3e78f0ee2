/*
 * kyaml_scalar — how an unquoted YAML scalar is read in Kubernetes, and how
 * numbers are written back. A part of kyaml (kyaml.h), shared by its reader
 * (which types plain scalars) and its writer (which quotes every string a
 * reader would type as something else).
 *
 * The rules are go-yaml v2's (what sigs.k8s.io/yaml uses), YAML 1.1 style:
 * - "", "~", null, Null, NULL → null
 * - y, Y, yes, Yes, YES, true, True, TRUE, on, On, ON → true;
 *   n, N, no, No, NO, false, False, FALSE, off, Off, OFF → false
 * - .inf, .Inf, .INF, +.inf, ... → INF; -.inf ... → -INF; .nan, .NaN, .NAN → NAN
 * - starting with a digit or a sign: with every "_" removed, an integer in
 *   Go syntax (optional sign; 0x/0X hex, 0o/0O or a leading 0 octal, 0b/0B
 *   binary, else decimal) that fits in int64 → INT; one that only fits in
 *   uint64 → FLOAT (JSON integers here are int64); then a decimal float
 *   ([-+]?(.D+|D+(.D*)?)([eE][-+]?D+)?) in double range → FLOAT; then
 *   go-yaml's own binary branch: "0b" + signed binary digits ("0b-1" → -1)
 *   or "-0b" + binary digits → INT;
 * - starting with ".": a decimal float as above, "_" allowed only between
 *   digits (Go's literal rule: ".0_5" → 0.05) → FLOAT;
 * - everything else, including timestamps and out-of-range floats → STRING.
 *
 * The unit test oracle_agrees_on_generated_plain_scalars checks these rules
 * against sigs.k8s.io/yaml on every short string of number characters.
 */
#ifndef BERTH_KYAML_SCALAR_H
#define BERTH_KYAML_SCALAR_H

#include <stddef.h>

enum kyaml_scalar_kind {
	KYAML_SCALAR_STRING = 0,
	KYAML_SCALAR_NULL,
	KYAML_SCALAR_TRUE,
	KYAML_SCALAR_FALSE,
	KYAML_SCALAR_INT,
	KYAML_SCALAR_FLOAT,
	KYAML_SCALAR_INF, /* d holds +inf or -inf */
	KYAML_SCALAR_NAN,
};

struct kyaml_scalar {
	enum kyaml_scalar_kind kind;
	long long i; /* KYAML_SCALAR_INT */
	double d;    /* KYAML_SCALAR_FLOAT, KYAML_SCALAR_INF */
};

/* Types the plain scalar text s[len] (need not be NUL-terminated) by the
 * rules above. Cannot fail. */
void kyaml_scalar_resolve(const char *s, size_t len, struct kyaml_scalar *out);

/* Writes d as sigs.k8s.io/yaml writes a float map key (Go's
 * strconv.FormatFloat(d, 'g', -1, 32): shortest form of the float32 value,
 * exponent form below 1e-4 and from 1e6 on). Returns the length (output
 * truncated to size-1 if needed; 32 bytes always suffice). */
size_t kyaml_format_float_key(double d, char *out, size_t size);

/* Writes a finite d in the shortest form that reads back as the same double
 * and as a float (it always holds a '.' or an exponent). Returns the
 * length; 32 bytes always suffice. */
size_t kyaml_format_real(double d, char *out, size_t size);

#endif
