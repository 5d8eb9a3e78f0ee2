/* b64 — Base64 (RFC 4648), standard and URL-safe alphabets. */
#include "b64.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

static const char std_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *b64_encode(const void *data, size_t n, bool url)
{
	const uint8_t *in = data;
	const char *a = url ? url_alphabet : std_alphabet;
	size_t i, o = 0;
	char *out;

	if (n > (SIZE_MAX - 1) / 4 * 3 - 3)
		return NULL;
	out = malloc((n + 2) / 3 * 4 + 1);
	if (!out)
		return NULL;
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
		out[o++] = a[(v >> 18) & 63];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = a[(v >> 6) & 63];
		out[o++] = a[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		out[o++] = a[(v >> 18) & 63];
		out[o++] = a[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = a[(v >> 6) & 63];
		else if (!url)
			out[o++] = '=';
		if (!url)
			out[o++] = '=';
	}
	out[o] = '\0';
	return out;
}

static int value_of(char c, bool url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

int b64_decode(const char *in, bool url, size_t max_out, uint8_t **ret, size_t *ret_len)
{
	size_t n = strlen(in), i, o = 0, bits = 0, pad = 0;
	uint32_t acc = 0;
	uint8_t *out;

	if (n / 4 * 3 > max_out + 3)
		return err_set(BERR_TOOLARGE, "base64 value over %zu bytes", max_out);
	out = malloc(n / 4 * 3 + 4);
	if (!out)
		return err_set(BERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		int v;
		if (!url && (in[i] == '\n' || in[i] == '\r'))
			continue;
		if (in[i] == '=') {
			pad++;
			continue;
		}
		if (pad || (v = value_of(in[i], url)) < 0)
			goto bad;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)((acc >> bits) & 0xff);
		}
	}
	/* A lone trailing character (6 bits) cannot encode a byte. */
	if (bits >= 6 || pad > 2)
		goto bad;
	if (o > max_out) {
		free(out);
		return err_set(BERR_TOOLARGE, "base64 value over %zu bytes", max_out);
	}
	out[o] = '\0';
	*ret = out;
	if (ret_len)
		*ret_len = o;
	return 0;
bad:
	free(out);
	return err_set(BERR_INVALID, "not valid base64");
}
