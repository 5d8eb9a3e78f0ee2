/* Fuzz target: jwks_parse; on success every key is looked up by kid and an
 * arbitrary token (after 0xff) is verified against the set. */
#include "fuzz_common.h"

#include "jwks.h"
#include "jwtauth.h"

int fuzz_jwks(const uint8_t *data, size_t size);

int fuzz_jwks(const uint8_t *data, size_t size)
{
	struct fuzz_part a, b;
	struct jwks *set = NULL;
	struct jwtauth_claims c;
	char *tok = NULL;

	fuzz_split(data, size, &a, &b);
	if (jwks_parse(a.p, a.len, &set) < 0)
		return 0;
	(void)jwks_find(set, "");
	(void)jwks_find(set, "k1");
	tok = fuzz_cstr(&b);
	memset(&c, 0, sizeof c);
	if (tok && jwtauth_verify_oidc(set, tok, "https://idp.example", "berth", NULL, 1700000000,
				       &c) == 0)
		jwtauth_claims_release(&c);
	free(tok);
	jwks_free(set);
	return 0;
}

FUZZ_ENTRY(jwks)
