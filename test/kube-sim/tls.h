/*
 * tls — kube-sim's generated TLS material (OpenSSL): a throw-away CA, a
 * serving certificate for 127.0.0.1 / localhost signed by it, and a client
 * certificate (CN kube-sim-admin, O system:masters) for the kubeconfig.
 * All PEM text, owned by the struct.
 */
#ifndef KUBESIM_TLS_H
#define KUBESIM_TLS_H

struct tls_material {
	char *ca_cert;
	char *server_cert, *server_key;
	char *client_cert, *client_key;
};

/* Generates everything (EC P-256 keys, 1 year). 0 or BERR_INTERNAL. */
int tls_generate(struct tls_material *out);
void tls_material_release(struct tls_material *m);

#endif
