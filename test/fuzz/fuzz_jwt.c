/* Fuzz target: jwtauth_verify_hs256 of arbitrary tokens against a fixed
 * key, and jwtauth_parse_project_subject of the same text. Whatever
 * verifies must have been signed with the key (impossible for random input
 * except via a seed issued with it). */
#include "fuzz_common.h"

#include "jwtauth.h"

int fuzz_jwt(const uint8_t *data, size_t size);

static const uint8_t fuzz_jwt_key[32] = "berth-fuzz-key-0123456789abcdef";

int fuzz_jwt(const uint8_t *data, size_t size)
{
	struct fuzz_part all = { (const char *)data, size };
	struct jwtauth_claims c;
	char *tok = fuzz_cstr(&all), *proj = NULL, *role = NULL;

	if (!tok)
		return 0;
	memset(&c, 0, sizeof c);
	if (jwtauth_verify_hs256(fuzz_jwt_key, sizeof fuzz_jwt_key, tok, "berth", 1700000000, &c) == 0)
		jwtauth_claims_release(&c);
	if (jwtauth_parse_project_subject(tok, &proj, &role) == 0) {
		free(proj);
		free(role);
	}
	free(tok);
	return 0;
}

FUZZ_ENTRY(jwt)
