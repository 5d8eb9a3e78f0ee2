#!/usr/bin/env bash
# berth local render: the repo server's render code, offline.
. "$(dirname "$0")/test-lib.sh"

if ! berth local render --help >/dev/null 2>&1; then
	t_skip "berth local render" "the berth CLI (src/cli/main.c) is not on this branch yet"
	t_done
fi
APPS=$FIXTURES/argocd-example-apps

out=$(berth local render "$APPS/guestbook" -o json)
t_eq "directory app: 2 objects" "$(jq length <<<"$out")" 2
out=$(berth local render "$APPS/helm-guestbook" --release-name rel --helm-set service.type=NodePort -o json)
t_eq "helm: release name and --helm-set" \
	"$(jq -r '.[] | select(.kind == "Service") | .metadata.name + " " + .spec.type' <<<"$out")" "rel-helm-guestbook NodePort"
printf 'service:\n  type: LoadBalancer\n' >"$TEST_DIR/v.yaml"
out=$(berth local render "$APPS/helm-guestbook" --values "$TEST_DIR/v.yaml" --namespace shop -o json)
t_eq "helm: --values from outside the folder" "$(jq -r '.[] | select(.kind == "Service") | .spec.type' <<<"$out")" LoadBalancer
before=$(md5sum <"$APPS/kustomize-guestbook/kustomization.yaml")
out=$(berth local render "$APPS/kustomize-guestbook" --kustomize-image gcr.io/google-samples/gb-frontend=example.com/gb:2)
t_match "kustomize: --kustomize-image, YAML output" "$out" 'image: example.com/gb:2'
t_eq "the folder itself is not changed" "$(md5sum <"$APPS/kustomize-guestbook/kustomization.yaml")" "$before"
out=$(berth local render "$APPS/jsonnet-guestbook" -o json)
t_eq "jsonnet: 2 objects" "$(jq length <<<"$out")" 2
mkdir -p "$TEST_DIR/evil"
ln -s /etc "$TEST_DIR/evil/etc"
t_fail "a symlink out of the folder is refused" berth local render "$TEST_DIR/evil"
err=$(berth local render "$TEST_DIR/evil" 2>&1)
t_match "and says why" "$err" 'outside the repository root'
t_fail "no DIR is a usage error" berth local render
t_done
