/*
 * kubeconfig — where a Kubernetes client gets its server, TLS material and
 * credentials: kubeconfig files (a $KUBECONFIG list merged the way kubectl
 * merges it), the in-cluster service account, and Berth cluster Secrets
 * (DESIGN.md §3). The result is one flat struct kube_config that lib/kube
 * turns into a client (KUBE-API.md §9).
 *
 * Merging: for a list of files the first file to define a named cluster,
 * context or user wins, and the first non-empty current-context wins.
 * Relative paths inside a file (certificate-authority, client-certificate,
 * client-key, tokenFile, exec command with a '/') are relative to the
 * directory of the file that defined the entry. File material (*-data,
 * certificate files) is loaded into memory here, so a kube_config holds PEM
 * text and never refers to files, except token_file, which is re-read over
 * time (rotating projected tokens).
 *
 * Credentials that change (token files, exec plugins) are read with
 * kube_config_credential(): it returns the token or client certificate to
 * use now, re-reading or re-running when asked to refresh or when an exec
 * credential has expired.
 *
 * Errors are BERR_INVALID (with the file and the entry named, e.g.
 * `kubeconfig "/x/config": user "ci": client-key-data: bad base64`),
 * BERR_NOTFOUND (missing file, context, cluster or user), BERR_IO,
 * BERR_TOOLARGE, BERR_NOMEM.
 */
#ifndef BERTH_KUBECONFIG_H
#define BERTH_KUBECONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct model_cluster;

/* Bounds. */
#define KUBECONFIG_MAX_FILE_BYTES ((size_t)4 << 20)
#define KUBECONFIG_MAX_FILES 32
/* Default service-account folder for the in-cluster configuration. */
#define KUBECONFIG_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* An exec credential plugin (users[].user.exec). */
struct kube_exec {
	char **argv;          /* command then args, NULL-terminated; NULL: no plugin */
	char **env;           /* "NAME=value" added to the plugin's environment, NULL-terminated */
	char *api_version;    /* client.authentication.k8s.io/v1 (default) or v1beta1 */
	bool provide_cluster_info;
};

/* One resolved configuration. Every string is owned; NULL means absent. */
struct kube_config {
	char *context;        /* the context it came from (NULL: in-cluster or Secret) */
	char *server;         /* base URL, may carry a path prefix; no trailing '/' */
	char *namespace_;     /* default namespace; never NULL after a successful load */
	char *ca_pem;         /* NULL: the system CA store */
	char *cert_pem;       /* client certificate (PEM) */
	char *key_pem;        /* client key (PEM) */
	bool insecure;        /* insecure-skip-tls-verify */
	char *tls_server_name;
	char *token;          /* static bearer token */
	char *token_file;     /* bearer token re-read from this file (absolute path) */
	char *impersonate_user;               /* as */
	char **impersonate_groups;            /* as-groups, NULL-terminated or NULL */
	struct kube_exec exec;
};

/* Frees every member and zeroes c. A zeroed struct is fine. */
void kube_config_release(struct kube_config *c);

/* Deep copy of src into *out. 0 or BERR_NOMEM (out zeroed). */
int kube_config_copy(const struct kube_config *src, struct kube_config *out);

/* Loads and merges the given kubeconfig files (n >= 1) and resolves context
 * (NULL: the merged current-context). A file that does not exist is skipped
 * when there are several (kubectl's rule) and an error when it is the only
 * one. 0 with *out filled, or a BERR code (out untouched). */
int kube_config_load_files(const char *const *paths, size_t n, const char *context,
			   struct kube_config *out);

/* Loads the configuration a Berth daemon uses: explicit_path when not NULL
 * (--kubeconfig), else the ':'-separated $KUBECONFIG when set and not
 * empty, else the in-cluster configuration when KUBERNETES_SERVICE_HOST and
 * _PORT are set, else ~/.kube/config. context may be NULL. */
int kube_config_load_default(const char *explicit_path, const char *context, struct kube_config *out);

/* The in-cluster configuration: server from KUBERNETES_SERVICE_HOST/_PORT
 * (an IPv6 host in brackets), CA and namespace from sa_dir (NULL:
 * KUBECONFIG_SA_DIR), token_file = sa_dir/token. BERR_NOTFOUND when the
 * variables are not set or the token file is missing. */
int kube_config_in_cluster(const char *sa_dir, struct kube_config *out);

/* Builds a configuration from a parsed Berth cluster Secret (server, bearer
 * token, CA/cert/key PEM, insecure, serverName); namespace "default".
 * 0, BERR_INVALID (no server), BERR_NOMEM. */
int kube_config_from_cluster(const struct model_cluster *cl, struct kube_config *out);

/* The same from the cluster Secret itself (JSON of the Secret object, data
 * base64 as the API returns it): model_cluster_from_secret, then
 * kube_config_from_cluster. 0, BERR_INVALID, BERR_NOMEM. */
int kube_config_from_cluster_secret(const json_t *secret, struct kube_config *out);

/* Credentials to present now. Strings owned; release with
 * kube_credential_release. */
struct kube_credential {
	char *token;          /* bearer token, or NULL */
	char *cert_pem;       /* client certificate from an exec plugin, or NULL */
	char *key_pem;
	int64_t expires_ms;   /* wall-clock ms when it stops being valid; 0 = unknown/never */
};

/* Frees the token, certificate and key cr owns; NULL is a no-op. */
void kube_credential_release(struct kube_credential *cr);

/* Reads the bearer credential of c: the static token, the first line of
 * token_file, or the ExecCredential printed by the exec plugin (run with
 * PATH, HOME, the plugin's env and KUBERNETES_EXEC_INFO; 30 s timeout,
 * 1 MiB output). 0 with *out filled (token may be NULL when c has no bearer
 * credential), BERR_IO/BERR_NOTFOUND (file), BERR_UNAUTHORIZED (the plugin
 * failed or printed no usable status; its stderr, trimmed, in the message),
 * BERR_TIMEOUT. */
int kube_config_credential(const struct kube_config *c, struct kube_credential *out);

#endif
