/* Unit tests for the OIDC login helpers (lib/oidc.h). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "oidc.h"
#include "str.h"

#define ISSUER "https://idp.example/realms/berth"

static char *discovery(const char *issuer, const char *auth, const char *extra)
{
	return str_printf("{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s\","
			  "\"token_endpoint\":\"https://idp.example/token\","
			  "\"jwks_uri\":\"https://idp.example/certs\"%s}",
			  issuer, auth, extra ? extra : "");
}

START_TEST(discovery_reads_the_endpoints)
{
	char *doc = discovery(ISSUER, "https://idp.example/auth",
			      ",\"userinfo_endpoint\":\"https://idp.example/userinfo\","
			      "\"code_challenge_methods_supported\":[\"plain\",\"S256\"]");
	struct oidc_provider p;

	ck_assert_int_eq(oidc_discovery_parse(doc, strlen(doc), ISSUER, &p), 0);
	ck_assert_str_eq(p.issuer, ISSUER);
	ck_assert_str_eq(p.authorization_endpoint, "https://idp.example/auth");
	ck_assert_str_eq(p.jwks_uri, "https://idp.example/certs");
	ck_assert_str_eq(p.userinfo_endpoint, "https://idp.example/userinfo");
	ck_assert_ptr_null(p.end_session_endpoint);
	oidc_provider_release(&p);
	free(doc);
}
END_TEST

static const struct {
	const char *issuer, *auth, *extra, *msg;
} bad_docs[] = {
	{ "https://evil.example", "https://idp.example/auth", NULL, "issuer does not match" },
	{ ISSUER "/", "https://idp.example/auth", NULL, "issuer does not match" },
	{ ISSUER, "http://idp.example/auth", NULL, "authorization_endpoint must be an https URL" },
	{ ISSUER, "javascript:alert(1)", NULL, "authorization_endpoint must be an https URL" },
	{ ISSUER, "https://idp.example/auth", ",\"code_challenge_methods_supported\":[\"plain\"]",
	  "does not support PKCE S256" },
	{ ISSUER, "https://idp.example/auth", ",\"jwks_uri\":\"http://idp.example/certs\"",
	  "must be an https URL" },
};

START_TEST(discovery_refuses_unsafe_documents)
{
	char *doc = discovery(bad_docs[_i].issuer, bad_docs[_i].auth, bad_docs[_i].extra);
	struct oidc_provider p;

	ck_assert_int_eq(oidc_discovery_parse(doc, strlen(doc), ISSUER, &p), BERR_INVALID);
	ck_assert_msg(strstr(err_msg(), bad_docs[_i].msg) != NULL, "%s", err_msg());
	free(doc);
}
END_TEST

START_TEST(discovery_allows_http_only_on_loopback)
{
	char *doc = str_printf("{\"issuer\":\"http://127.0.0.1:5556/dex\","
			       "\"authorization_endpoint\":\"http://127.0.0.1:5556/dex/auth\","
			       "\"token_endpoint\":\"http://localhost:5556/dex/token\","
			       "\"jwks_uri\":\"http://[::1]:5556/dex/keys\"}");
	char *evil = str_printf("{\"issuer\":\"http://127.0.0.1:5556/dex\","
				"\"authorization_endpoint\":\"http://127.0.0.1.evil.example/auth\","
				"\"token_endpoint\":\"http://localhost:5556/dex/token\","
				"\"jwks_uri\":\"http://[::1]:5556/dex/keys\"}");
	struct oidc_provider p;

	ck_assert_int_eq(oidc_discovery_parse(doc, strlen(doc), "http://127.0.0.1:5556/dex", &p), 0);
	oidc_provider_release(&p);
	ck_assert_int_eq(oidc_discovery_parse(evil, strlen(evil), "http://127.0.0.1:5556/dex", &p),
			 BERR_INVALID);
	free(doc);
	free(evil);
}
END_TEST

START_TEST(random_values_are_long_and_distinct)
{
	char *a = NULL, *b = NULL;

	ck_assert_int_eq(oidc_random(&a), 0);
	ck_assert_int_eq(oidc_random(&b), 0);
	ck_assert_uint_eq(strlen(a), 43);
	ck_assert_str_ne(a, b);
	ck_assert_uint_eq(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
	free(a);
	free(b);
}
END_TEST

START_TEST(pkce_challenge_is_s256)
{
	char out[44];

	/* Expected value computed with the openssl command line:
	 * printf %s VERIFIER | openssl dgst -sha256 -binary | base64url */
	ck_assert_int_eq(oidc_pkce_challenge("dBjftJeZ4CVP-mB92K9uhvWBwIzp4R1eGZtXqcTdY9ksjMg", out), 0);
	ck_assert_str_eq(out, "uYmzG-pUY1HlpuuYqUxVNnW5vW3vM6_RZ3CFtzCzJKg");
	ck_assert_int_eq(oidc_pkce_challenge("short", out), BERR_INVALID);
	ck_assert_int_eq(oidc_pkce_challenge("dBjftJeZ4CVP-mB92K9uhvWBwIzp4R1eGZtXqcTdY9ksjM+", out),
			 BERR_INVALID);
}
END_TEST

START_TEST(auth_url_carries_every_parameter_encoded)
{
	struct oidc_provider p = { .authorization_endpoint = (char *)"https://idp.example/auth?x=1" };
	char *url = NULL;

	ck_assert_int_eq(oidc_auth_url(&p, "berth", "https://berth.example/auth/callback",
				       "email groups", "st&ate", "n0nce", "chal", &url), 0);
	ck_assert_str_eq(url, "https://idp.example/auth?x=1&response_type=code&client_id=berth"
			      "&redirect_uri=https%3A%2F%2Fberth.example%2Fauth%2Fcallback"
			      "&scope=openid%20email%20groups&state=st%26ate&nonce=n0nce"
			      "&code_challenge=chal&code_challenge_method=S256");
	free(url);
	url = NULL;
	ck_assert_int_eq(oidc_auth_url(&p, "berth", "https://b/cb", "openid profile", "s", "n", "c", &url), 0);
	ck_assert_ptr_nonnull(strstr(url, "scope=openid%20profile&"));
	free(url);
	url = NULL;
	ck_assert_int_eq(oidc_auth_url(&p, "berth", "https://b/cb", NULL, "s", NULL, "c", &url),
			 BERR_INVALID);
	ck_assert_ptr_null(url);
}
END_TEST

START_TEST(token_body_is_form_encoded)
{
	char *body = NULL;

	ck_assert_int_eq(oidc_token_body("c/1+2", "https://b/cb", "berth", "v-1", &body), 0);
	ck_assert_str_eq(body, "grant_type=authorization_code&code=c%2F1%2B2"
			       "&redirect_uri=https%3A%2F%2Fb%2Fcb&client_id=berth&code_verifier=v-1");
	free(body);
}
END_TEST

static const struct {
	const char *url;
	bool ok;
} return_urls[] = {
	{ "/", true },
	{ "/applications?proj=a&x=%2F", true },
	{ "https://evil.example", false },
	{ "//evil.example", false },
	{ "/\\evil.example", false },
	{ "/ok\r\nSet-Cookie: x=y", false },
	{ "javascript:alert(1)", false },
	{ "", false },
	{ "applications", false },
	{ "/a\\b", false },
};

START_TEST(return_url_must_be_a_local_path)
{
	ck_assert_msg(oidc_return_url_ok(return_urls[_i].url) == return_urls[_i].ok, "%s",
		      return_urls[_i].url);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("oidc");
	TCase *tc = tcase_create("oidc");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, discovery_reads_the_endpoints);
	tcase_add_loop_test(tc, discovery_refuses_unsafe_documents, 0,
			    (int)(sizeof(bad_docs) / sizeof(bad_docs[0])));
	tcase_add_test(tc, discovery_allows_http_only_on_loopback);
	tcase_add_test(tc, random_values_are_long_and_distinct);
	tcase_add_test(tc, pkce_challenge_is_s256);
	tcase_add_test(tc, auth_url_carries_every_parameter_encoded);
	tcase_add_test(tc, token_body_is_form_encoded);
	tcase_add_loop_test(tc, return_url_must_be_a_local_path, 0,
			    (int)(sizeof(return_urls) / sizeof(return_urls[0])));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
