#!/usr/bin/env bash
# kube-sim conformance with the real kubectl: discovery, apply (client- and
# server-side), defaults, no-op re-apply, diff, scale, rollout status,
# cascading delete, CRDs and custom resources, watch, and authentication.
. "$(dirname "$0")/test-lib.sh"

APPS=$FIXTURES/argocd-example-apps
TOKEN=t0301-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
PORT=$(free_port)
KC=$TEST_DIR/kubeconfig
# kubectl sends bearer tokens only over TLS.
run_bg kube-sim kube-sim --listen 127.0.0.1:$PORT --write-kubeconfig "$KC" --tls --token "$TOKEN" --status-delay 100
wait_for_line "$TEST_DIR/kube-sim.log" "^kube-sim ready https://127.0.0.1:$PORT" 20 || t_done
k() { kubectl --kubeconfig "$KC" "$@"; }

# -- discovery -----------------------------------------------------------------
res=$(k api-resources 2>&1)
t_match "api-resources lists deployments with short name" "$res" "deployments +deploy +apps/v1 +true +Deployment"
t_match "api-resources lists CRDs" "$res" "customresourcedefinitions +crd,crds +apiextensions.k8s.io/v1 +false"
t_match "api-resources lists leases" "$res" "leases +coordination.k8s.io/v1 +true +Lease"
t_eq "default namespaces exist" "$(k get ns -o name | sort | tr '\n' ' ')" \
	"namespace/default namespace/kube-node-lease namespace/kube-public namespace/kube-system "

# -- apply guestbook and sock-shop ----------------------------------------------------
t_ok "apply guestbook" k apply -f "$APPS/guestbook"
t_ok "apply sock-shop (kustomize)" k apply -k "$APPS/sock-shop"
t_eq "sock-shop deployments" "$(k get deploy -o name | grep -vc guestbook)" 14

dep=$(k get deploy guestbook-ui -o json)
t_eq "deployment strategy defaulted" "$(echo "$dep" | jq -r .spec.strategy.type)" RollingUpdate
t_eq "imagePullPolicy defaulted" "$(echo "$dep" | jq -r '.spec.template.spec.containers[0].imagePullPolicy')" IfNotPresent
t_eq "terminationMessagePath defaulted" \
	"$(echo "$dep" | jq -r '.spec.template.spec.containers[0].terminationMessagePath')" /dev/termination-log
t_eq "generation starts at 1" "$(echo "$dep" | jq -r .metadata.generation)" 1
t_match "uid is a UUID" "$(echo "$dep" | jq -r .metadata.uid)" '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
svc=$(k get svc guestbook-ui -o json)
t_match "service got a cluster IP" "$(echo "$svc" | jq -r .spec.clusterIP)" '^10\.'
t_eq "targetPort defaults to port" "$(echo "$svc" | jq -r '.spec.ports[0].targetPort')" 80

rv1=$(k get deploy guestbook-ui -o jsonpath='{.metadata.resourceVersion}')
out=$(k apply -f "$APPS/guestbook" 2>&1)
t_match "re-apply is unchanged" "$out" "deployment.apps/guestbook-ui unchanged"
t_eq "re-apply keeps the resourceVersion" "$(k get deploy guestbook-ui -o jsonpath='{.metadata.resourceVersion}')" "$rv1"

# -- diff -------------------------------------------------------------------------------
t_ok "diff without change exits 0" k diff -f "$APPS/guestbook"
sed 's/replicas: 1/replicas: 2/' "$APPS/guestbook/guestbook-ui-deployment.yaml" >"$TEST_DIR/gb2.yaml"
k diff -f "$TEST_DIR/gb2.yaml" >/dev/null 2>&1
t_eq "diff with a change exits 1" "$?" 1

# -- rollout, scale ----------------------------------------------------------------------
t_ok "rollout status succeeds" k rollout status deployment/guestbook-ui --timeout=30s
t_ok "scale to 3" k scale deployment/guestbook-ui --replicas=3
t_eq "generation bumped by scale" "$(k get deploy guestbook-ui -o jsonpath='{.metadata.generation}')" 2
t_ok "rollout status after scale" k rollout status deployment/guestbook-ui --timeout=30s
wait_for "3 pods of guestbook-ui" 20 bash -c "[ \$(kubectl --kubeconfig '$KC' get pods -l app=guestbook-ui -o name | wc -l) = 3 ]"
t_eq "status.readyReplicas 3" "$(k get deploy guestbook-ui -o jsonpath='{.status.readyReplicas}')" 3
t_match "kubectl get shows server-side columns" "$(k get deploy guestbook-ui)" "NAME +READY +UP-TO-DATE +AVAILABLE +AGE.*guestbook-ui +3/3 +3 +3 "
t_match "pods print READY and STATUS" "$(k get pods -l app=guestbook-ui)" "guestbook-ui-[a-z0-9]+-[a-z0-9]+ +1/1 +Running +0 "
t_match "services print their cluster IP" "$(k get svc guestbook-ui)" "guestbook-ui +ClusterIP +10\.[0-9.]+ +<none> +80/TCP "

# -- server-side apply --------------------------------------------------------------------
out=$(k apply --server-side -f "$TEST_DIR/gb2.yaml" 2>&1)
t_match "server-side apply conflicts with the scale manager" "$out" 'conflict with "kubectl".*\.spec\.replicas'
t_ok "server-side apply with --force-conflicts" k apply --server-side --force-conflicts -f "$TEST_DIR/gb2.yaml"
t_eq "replicas now 2" "$(k get deploy guestbook-ui -o jsonpath='{.spec.replicas}')" 2
mf=$(k get deploy guestbook-ui -o json --show-managed-fields | jq -r '[.metadata.managedFields[] | .manager + ":" + .operation] | join(",")')
t_match "managedFields has the apply manager" "$mf" "kubectl:Apply"
rv2=$(k get deploy guestbook-ui -o jsonpath='{.metadata.resourceVersion}')
t_ok "server-side re-apply" k apply --server-side -f "$TEST_DIR/gb2.yaml"
t_eq "server-side re-apply keeps the RV" "$(k get deploy guestbook-ui -o jsonpath='{.metadata.resourceVersion}')" "$rv2"

# -- cascading delete ------------------------------------------------------------------------
t_ok "replica sets exist" bash -c "kubectl --kubeconfig '$KC' get rs -o name | grep -q guestbook-ui"
t_ok "delete deployment" k delete deployment guestbook-ui --wait=true --timeout=30s
wait_for "replica sets of guestbook-ui gone" 20 bash -c "! kubectl --kubeconfig '$KC' get rs -o name | grep -q guestbook-ui"
wait_for "pods of guestbook-ui gone" 20 bash -c "! kubectl --kubeconfig '$KC' get pods -o name | grep -q guestbook-ui"

# -- CRD and custom resources ---------------------------------------------------------------
cat >"$TEST_DIR/crd.yaml" <<'EOF'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, default: 3}
              color: {type: string}
              extra: {type: object, x-kubernetes-preserve-unknown-fields: true}
          status:
            type: object
            properties:
              ready: {type: boolean}
EOF
cat >"$TEST_DIR/w1.yaml" <<'EOF'
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1}
spec: {color: red, bogus: 1, extra: {a: {b: 2}}}
EOF
t_ok "apply CRD" k apply -f "$TEST_DIR/crd.yaml"
t_ok "wait for Established" k wait --for=condition=Established crd/widgets.example.com --timeout=20s
t_ok "create a custom resource" k apply -f "$TEST_DIR/w1.yaml"
spec=$(k get wd w1 -o json | jq -c .spec)
t_eq "unknown field pruned, default filled, preserved subtree kept" "$spec" '{"color":"red","extra":{"a":{"b":2}},"size":3}'
t_ok "merge-patch the custom resource" k patch widget w1 --type=merge -p '{"spec":{"color":"blue"}}'
t_eq "patched" "$(k get widget w1 -o jsonpath='{.spec.color}')" blue
t_fail "strategic merge patch refused for custom resources" k patch widget w1 -p '{"spec":{"color":"green"}}'
sed 's/color: red/color: green/' "$TEST_DIR/w1.yaml" >"$TEST_DIR/w1b.yaml"
t_ok "re-apply a changed custom resource (kubectl sends a merge patch)" k apply -f "$TEST_DIR/w1b.yaml"
t_eq "custom resource updated by apply" "$(k get widget w1 -o jsonpath='{.spec.color}')" green
t_eq "custom resource generation counts spec changes" "$(k get widget w1 -o jsonpath='{.metadata.generation}')" 3
t_ok "status subresource of a custom resource" k patch widget w1 --subresource=status --type=merge -p '{"status":{"ready":true}}'
t_eq "status written, generation unchanged" "$(k get widget w1 -o jsonpath='{.status.ready} {.metadata.generation}')" "true 3"
t_ok "delete the custom resource" k delete widget w1
t_ok "create again, then delete the CRD" k apply -f "$TEST_DIR/w1.yaml"
t_ok "delete the CRD" k delete crd widgets.example.com --timeout=20s
t_fail "custom resources gone with the CRD" k get widgets

cat >"$TEST_DIR/gizmo-crd.yaml" <<'EOF'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gizmos.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: gizmos, kind: Gizmo}
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.count, statusReplicasPath: .status.count, labelSelectorPath: .status.selector}
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
EOF
printf 'apiVersion: example.com/v1\nkind: Gizmo\nmetadata: {name: g1}\nspec: {count: 1}\n' >"$TEST_DIR/gizmo.yaml"
t_ok "apply a CRD with a scale subresource" k apply -f "$TEST_DIR/gizmo-crd.yaml"
t_ok "wait for it" k wait --for=condition=Established crd/gizmos.example.com --timeout=20s
t_ok "create a gizmo" k apply -f "$TEST_DIR/gizmo.yaml"
t_ok "scale a custom resource through its scale subresource" k scale gizmo g1 --replicas=4
t_eq "specReplicasPath written" "$(k get gizmo g1 -o jsonpath='{.spec.count}')" 4

# -- watch ----------------------------------------------------------------------------------------
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: before}\n' >"$TEST_DIR/before.yaml"
t_ok "create a configmap before watching" k apply -f "$TEST_DIR/before.yaml"
k get configmaps --watch -o name >"$TEST_DIR/watch.out" 2>&1 &
WPID=$!
_tl_pids+=("$WPID")
wait_for_line "$TEST_DIR/watch.out" "configmap/before" 10
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: watched}\ndata: {a: b}\n' >"$TEST_DIR/cm.yaml"
t_ok "create watched configmap" k apply -f "$TEST_DIR/cm.yaml"
wait_for_line "$TEST_DIR/watch.out" "configmap/watched" 10
t_ok "watch received the event" grep -q "configmap/watched" "$TEST_DIR/watch.out"
stop_bg "$WPID"

# -- imperative commands (kubectl sends these bodies as protobuf) ------------------------------
t_ok "create namespace" k create namespace imperative
t_ok "create configmap" k create configmap settings -n imperative --from-literal=mode=fast
t_ok "create secret" k create secret generic creds -n imperative --from-literal=password=s3cret
t_eq "configmap data" "$(k get cm settings -n imperative -o jsonpath='{.data.mode}')" fast
t_eq "secret data base64" "$(k get secret creds -n imperative -o jsonpath='{.data.password}')" "$(printf s3cret | base64)"
t_eq "namespace spec.finalizers defaulted" "$(k get ns imperative -o jsonpath='{.spec.finalizers[0]}')" kubernetes
t_ok "delete the namespace with its contents" k delete namespace imperative --timeout=20s
t_fail "namespace gone" k get namespace imperative

# -- helm (release Secrets go through the protobuf path) ---------------------------------------
t_ok "helm install --wait" helm --kubeconfig "$KC" install gb "$APPS/helm-guestbook" --wait --timeout 60s
t_match "helm lists the release as deployed" "$(helm --kubeconfig "$KC" list 2>&1)" "gb[[:space:]]+default[[:space:]]+1.*deployed"
t_ok "helm uninstall" helm --kubeconfig "$KC" uninstall gb --wait --timeout 60s

# -- auth ----------------------------------------------------------------------------------------------
t_eq "auth can-i with the right token" "$(k auth can-i list pods 2>&1)" yes
sed "s/token: .*/token: wrong-token/" "$KC" >"$TEST_DIR/bad-kc"
out=$(kubectl --kubeconfig "$TEST_DIR/bad-kc" get ns 2>&1)
t_match "wrong token is refused" "$out" "Unauthorized|must be logged in"
t_fail "wrong token fails" kubectl --kubeconfig "$TEST_DIR/bad-kc" get ns
t_done
