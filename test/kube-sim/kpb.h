/*
 * kpb — decoding of the Kubernetes protobuf wire format for the few kinds
 * that kubectl's imperative commands send as protobuf (kubectl create
 * namespace / configmap / secret / serviceaccount; helm's release Secrets
 * and DeleteOptions): the "k8s\0" envelope
 * around runtime.Unknown, ObjectMeta, and those kinds' fields, into the
 * JSON form kube-sim stores. Other kinds are BERR_UNSUPPORTED (the server
 * answers 415). Input is untrusted: every length is bounds-checked and
 * nesting is fixed by the schema.
 */
#ifndef KUBESIM_KPB_H
#define KUBESIM_KPB_H

#include <jansson.h>
#include <stddef.h>

/* Decodes one protobuf-encoded object (with the k8s envelope). *ret is a
 * new JSON object with apiVersion and kind. 0, BERR_INVALID (malformed),
 * BERR_UNSUPPORTED (a kind not listed above). */
int kpb_decode(const unsigned char *data, size_t len, json_t **ret);

#endif
