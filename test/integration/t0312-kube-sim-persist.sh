#!/usr/bin/env bash
# kube-sim --data-dir: objects survive a restart (clean or kill -9), deleted
# objects stay deleted, and resourceVersions keep increasing.
. "$(dirname "$0")/test-lib.sh"

DATA=$TEST_DIR/data
export KUBECONFIG=$TEST_DIR/kubeconfig
start_sim() {
	PORT=$(free_port)
	: >"$TEST_DIR/kube-sim-$1.log"
	run_bg "kube-sim-$1" kube-sim --listen 127.0.0.1:$PORT --write-kubeconfig "$KUBECONFIG" \
		--data-dir "$DATA" --status-delay 50
	KS_PID=$LAST_PID
	wait_for_line "$TEST_DIR/kube-sim-$1.log" "kube-sim ready" 10
}
k() { kubectl --request-timeout=10s "$@"; }
jp() { k get "$@" 2>/dev/null; }
# kubectl create sends protobuf bodies, which kube-sim does not decode: apply.
mkcm() { printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s, namespace: shop}\ndata: {%s: %s}\n' "$1" "$2" "$3" |
	k apply --validate=false -f -; }
list_rv() { k get --raw /api/v1/namespaces/default/configmaps | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])'; }

start_sim 1 || { t_done; exit 1; }
cat >"$TEST_DIR/objs.yaml" <<'YAML'
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop, labels: {tier: web}}
data: {color: blue}
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: shop}
stringData: {password: hunter2}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.25"}]
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
YAML
t_ok "apply objects" k apply --validate=false -f "$TEST_DIR/objs.yaml"
t_ok "the CRD becomes Established" k wait --for=condition=Established crd/widgets.example.com --timeout=10s
cat >"$TEST_DIR/widget.yaml" <<'YAML'
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1, namespace: shop}
spec: {size: 3}
YAML
t_ok "create a custom resource" k apply --validate=false -f "$TEST_DIR/widget.yaml"
t_ok "the Deployment rolls out" timeout 20 kubectl rollout status -n shop deployment/web --timeout=15s
t_ok "create a ConfigMap to delete later" mkcm doomed a b
t_ok "delete it" k delete configmap doomed -n shop

UID1=$(jp cm settings -n shop -o jsonpath='{.metadata.uid}')
RV1=$(jp cm settings -n shop -o jsonpath='{.metadata.resourceVersion}')
IP1=$(jp svc web -n shop -o jsonpath='{.spec.clusterIP}')
PODS1=$(jp pods -n shop -l app=web -o jsonpath='{.items[*].metadata.name}')
LRV1=$(list_rv)

stop_bg $KS_PID
start_sim 2 || { t_done; exit 1; }
t_eq "the ConfigMap survives a clean restart" "$(jp cm settings -n shop -o jsonpath='{.data.color}')" "blue"
t_eq "with the same uid" "$(jp cm settings -n shop -o jsonpath='{.metadata.uid}')" "$UID1"
t_eq "and the same resourceVersion" "$(jp cm settings -n shop -o jsonpath='{.metadata.resourceVersion}')" "$RV1"
t_eq "the Secret keeps its data" "$(jp secret creds -n shop -o jsonpath='{.data.password}' | base64 -d)" "hunter2"
t_eq "the Service keeps its clusterIP" "$(jp svc web -n shop -o jsonpath='{.spec.clusterIP}')" "$IP1"
t_eq "the Deployment's pods are the same" "$(jp pods -n shop -l app=web -o jsonpath='{.items[*].metadata.name}')" "$PODS1"
t_ok "the Deployment is still rolled out" timeout 20 kubectl rollout status -n shop deployment/web --timeout=15s
t_eq "the custom resource type is served again" "$(jp widgets -n shop w1 -o jsonpath='{.spec.size}')" "3"
t_fail "the deleted ConfigMap stays deleted" k get configmap doomed -n shop
LRV2=$(list_rv)
t_ok "the list resourceVersion did not go back ($LRV1 -> $LRV2)" test "$LRV2" -ge "$LRV1"
t_ok "a new write" mkcm after x val
RV2=$(jp cm after -n shop -o jsonpath='{.metadata.resourceVersion}')
t_ok "gets a higher resourceVersion ($RV2 > $LRV1)" test "$RV2" -gt "$LRV1"
t_ok "a service created now gets a different clusterIP" bash -c "printf 'apiVersion: v1\nkind: Service\nmetadata: {name: other, namespace: shop}\nspec: {ports: [{port: 81}]}\n' | kubectl apply --validate=false -f -"
t_ok "(not $IP1)" test "$(jp svc other -n shop -o jsonpath='{.spec.clusterIP}')" != "$IP1"

# a change that reached the log survives kill -9
t_ok "modify the ConfigMap" k patch configmap settings -n shop --type=merge -p '{"data":{"color":"green"}}'
wait_for "the change is in the log" 5 grep -q '"color":"green"' "$DATA/log.jsonl"
kill -KILL $KS_PID
stop_bg $KS_PID
start_sim 3 || { t_done; exit 1; }
t_eq "the change survives kill -9" "$(jp cm settings -n shop -o jsonpath='{.data.color}')" "green"
t_eq "as do objects created after the first restart" "$(jp cm after -n shop -o jsonpath='{.data.x}')" "val"
RV3=$(jp cm settings -n shop -o jsonpath='{.metadata.resourceVersion}')
t_ok "and its resourceVersion is newer ($RV3 > $RV2)" test "$RV3" -gt "$RV2"
t_ok "the snapshot was rewritten at start" test -s "$DATA/snapshot.jsonl"

# a torn last line of the log (a crash mid-write) is ignored
printf '{"e":"ADDED","rv":999999,"o":{"apiVersion":"v1","kind":"Conf' >>"$DATA/log.jsonl"
stop_bg $KS_PID
printf '{"e":"ADDED","rv":999999,"o":{"apiVersion":"v1","kind":"Conf' >>"$DATA/log.jsonl"
start_sim 4 || { t_done; exit 1; }
t_eq "objects load despite a torn log line" "$(jp cm settings -n shop -o jsonpath='{.data.color}')" "green"

stop_bg $KS_PID
t_done
