/* tls — see tls.h. */
#include "tls.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static EVP_PKEY *new_key(void)
{
	return EVP_EC_gen("P-256");
}

static char *pem_of_cert(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *out = NULL;
	if (b && PEM_write_bio_X509(b, x)) {
		char *p;
		long n = BIO_get_mem_data(b, &p);
		out = strndup(p, (size_t)n);
	}
	BIO_free(b);
	return out;
}

static char *pem_of_key(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *out = NULL;
	if (b && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL)) {
		char *p;
		long n = BIO_get_mem_data(b, &p);
		out = strndup(p, (size_t)n);
	}
	BIO_free(b);
	return out;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ex)
		return -1;
	int ok = X509_add_ext(cert, ex, -1);
	X509_EXTENSION_free(ex);
	return ok ? 0 : -1;
}

/* A certificate for key with subject (cn, org), signed by (issuer,
 * issuer_key), or self-signed when issuer is NULL. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, const char *org, X509 *issuer, EVP_PKEY *issuer_key,
		       const char *const *exts)
{
	X509 *x = X509_new();
	if (!x)
		return NULL;
	unsigned char serial[16];
	RAND_bytes(serial, sizeof(serial));
	serial[0] &= 0x7f;
	BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	X509_set_version(x, 2);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600);
	X509_set_pubkey(x, key);
	X509_NAME *name = X509_get_subject_name(x);
	if (org)
		X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)org, -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	for (size_t i = 0; exts[i]; i += 2) {
		if (add_ext(x, issuer ? issuer : x, OBJ_txt2nid(exts[i]), exts[i + 1]) < 0) {
			X509_free(x);
			return NULL;
		}
	}
	if (!X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256())) {
		X509_free(x);
		return NULL;
	}
	return x;
}

int tls_generate(struct tls_material *out)
{
	static const char *const ca_exts[] = { "basicConstraints", "critical,CA:TRUE", "keyUsage",
					       "critical,keyCertSign,cRLSign", "subjectKeyIdentifier", "hash", NULL };
	static const char *const srv_exts[] = { "basicConstraints", "critical,CA:FALSE", "keyUsage",
						"critical,digitalSignature,keyEncipherment", "extendedKeyUsage",
						"serverAuth", "subjectAltName",
						"IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc", NULL };
	static const char *const cli_exts[] = { "basicConstraints", "critical,CA:FALSE", "keyUsage",
						"critical,digitalSignature,keyEncipherment", "extendedKeyUsage",
						"clientAuth", NULL };
	int rc = BERR_INTERNAL;
	EVP_PKEY *ca_key = new_key(), *srv_key = new_key(), *cli_key = new_key();
	X509 *ca = NULL, *srv = NULL, *cli = NULL;
	struct tls_material m = { 0 };
	if (!ca_key || !srv_key || !cli_key)
		goto out;
	ca = make_cert(ca_key, "kube-sim-ca", NULL, NULL, NULL, ca_exts);
	if (!ca)
		goto out;
	srv = make_cert(srv_key, "kube-sim", NULL, ca, ca_key, srv_exts);
	cli = make_cert(cli_key, "kube-sim-admin", "system:masters", ca, ca_key, cli_exts);
	if (!srv || !cli)
		goto out;
	m.ca_cert = pem_of_cert(ca);
	m.server_cert = pem_of_cert(srv);
	m.server_key = pem_of_key(srv_key);
	m.client_cert = pem_of_cert(cli);
	m.client_key = pem_of_key(cli_key);
	if (m.ca_cert && m.server_cert && m.server_key && m.client_cert && m.client_key) {
		*out = m;
		memset(&m, 0, sizeof(m));
		rc = 0;
	}
out:
	tls_material_release(&m);
	X509_free(ca);
	X509_free(srv);
	X509_free(cli);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(srv_key);
	EVP_PKEY_free(cli_key);
	if (rc < 0)
		return err_set(rc, "tls: generating certificates failed");
	return 0;
}

void tls_material_release(struct tls_material *m)
{
	free(m->ca_cert);
	free(m->server_cert);
	free(m->server_key);
	free(m->client_cert);
	free(m->client_key);
	memset(m, 0, sizeof(*m));
}
