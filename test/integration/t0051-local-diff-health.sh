#!/usr/bin/env bash
# berth local diff / local health as a user runs them: exit codes 0/1/2,
# the JSON shape, Secret values masked, health lines on real fixtures, and
# clear errors on bad input.
. "$(dirname "$0")/test-lib.sh"

H=$FIXTURES/gitops-engine/health
cd "$TEST_DIR" || exit 1

# ---- local diff ------------------------------------------------------------
cat >desired.yaml <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports:
        - containerPort: 80
YAML
# What the cluster returns after applying desired.yaml: server metadata,
# the last-applied annotation and a status.
cat >live.yaml <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  uid: 7d1c5f0e-0000-4000-8000-000000000001
  resourceVersion: "4711"
  generation: 1
  creationTimestamp: "2026-11-26T10:00:00Z"
  labels: {app: web}
  annotations:
    deployment.kubernetes.io/revision: "1"
    kubectl.kubernetes.io/last-applied-configuration: '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"labels":{"app":"web"},"name":"web","namespace":"shop"},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"image":"nginx:1.25","name":"web","ports":[{"containerPort":80}]}]}}}}'
spec:
  progressDeadlineSeconds: 600
  replicas: 2
  revisionHistoryLimit: 10
  selector:
    matchLabels: {app: web}
  strategy:
    rollingUpdate: {maxSurge: 25%, maxUnavailable: 25%}
    type: RollingUpdate
  template:
    metadata:
      creationTimestamp: null
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        imagePullPolicy: IfNotPresent
        ports:
        - containerPort: 80
          protocol: TCP
        resources: {}
        terminationMessagePath: /dev/termination-log
        terminationMessagePolicy: File
      dnsPolicy: ClusterFirst
      restartPolicy: Always
      schedulerName: default-scheduler
      securityContext: {}
      terminationGracePeriodSeconds: 30
status:
  observedGeneration: 1
  replicas: 2
  readyReplicas: 2
YAML
sed 's/nginx:1.25/nginx:1.27/' desired.yaml >desired-new.yaml

berth local diff desired.yaml live.yaml >out.txt 2>err.txt
t_eq "same object: exit 0" "$?" 0
t_eq "same object: no output" "$(cat out.txt)" ""

berth local diff desired-new.yaml live.yaml >out.txt 2>err.txt
t_eq "changed image: exit 1" "$?" 1
out=$(cat out.txt)
t_match "diff names the object" "$out" "===== apps/Deployment shop/web ======"
t_match "diff shows the new image" "$out" $'\n\\+[ -]+image: nginx:1.27'
t_match "diff shows the old image" "$out" $'\n-[ -]+image: nginx:1.25'
t_match "diff is a unified diff" "$out" $'--- live\n\\+\\+\\+ desired\n@@ '
t_fail "server defaults are not shown as changes" grep -qE '^[-+].*(progressDeadlineSeconds|imagePullPolicy|dnsPolicy)' out.txt

berth local diff -o json desired-new.yaml live.yaml >out.json 2>err.txt
t_eq "json: exit 1 on a difference" "$?" 1
t_ok "json: parses" jq -e . out.json
t_eq "json: modified is true" "$(jq -r .modified out.json)" true
t_ok "json: changes is a non-empty list of {path,op}" \
	jq -e '(.changes | type == "array" and length > 0) and all(.changes[]; has("path") and has("op") and has("old") and has("new"))' out.json
t_ok "json: one change replaces the image" jq -e 'any(.changes[]; .new == "nginx:1.27")' out.json
t_ok "json: the patch sets the image" jq -e '.patch | tostring | contains("nginx:1.27")' out.json
t_ok "json: resources name the object" jq -e '.resources[0] | .kind == "Deployment" and .name == "web" and .namespace == "shop" and .modified' out.json

berth local diff -o json desired.yaml live.yaml >out.json
t_eq "json: exit 0 without a difference" "$?" 0
t_eq "json: modified is false" "$(jq -r .modified out.json)" false

# A desired object without a namespace matches the live one of that name.
sed '/namespace: shop/d' desired.yaml >desired-nons.yaml
berth local diff desired-nons.yaml live.yaml >/dev/null 2>err.txt
t_eq "desired without namespace matches the live object" "$?" 0

# An object only in Git is to be created; one only live is extraneous.
cat desired.yaml >both.yaml
printf -- '---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra, namespace: shop}\ndata: {a: "1"}\n' >>both.yaml
berth local diff both.yaml live.yaml >out.txt 2>err.txt
t_eq "object missing live: exit 1" "$?" 1
t_match "object missing live is shown" "$(cat out.txt)" "ConfigMap shop/extra"
berth local diff desired.yaml both.yaml >out.txt 2>err.txt
t_eq "extraneous live object: exit 1" "$?" 1

# stdin and JSON input
jq -n '{apiVersion:"v1",kind:"ConfigMap",metadata:{name:"c",namespace:"x"},data:{k:"v"}}' >cm.json
berth local diff - cm.json <cm.json >/dev/null 2>err.txt
t_eq "JSON from stdin equals the same file: exit 0" "$?" 0
jq -n '{apiVersion:"v1",kind:"List",items:[{apiVersion:"v1",kind:"ConfigMap",metadata:{name:"c",namespace:"x"},data:{k:"v"}}]}' >list.json
berth local diff list.json cm.json >/dev/null 2>err.txt
t_eq "List kinds are expanded" "$?" 0

# --ignore-differences
printf -- '- group: apps\n  kind: Deployment\n  jsonPointers: [/spec/template/spec/containers/0/image]\n' >ignore.yaml
berth local diff --ignore-differences ignore.yaml desired-new.yaml live.yaml >/dev/null 2>err.txt
t_eq "ignored field is not a difference" "$?" 0

# --settings: per-kind ignoreDifferences from berth-cm
cat >diff-cm.yaml <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: berth-cm, namespace: berth}
data:
  resource.customizations.ignoreDifferences.apps_Deployment: |
    jqPathExpressions:
    - .spec.template.spec.containers[] | select(.name == "web") | .image
YAML
berth local diff --settings diff-cm.yaml desired-new.yaml live.yaml >/dev/null 2>err.txt
t_eq "--settings: a kind-wide ignored field is not a difference" "$?" 0
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: berth-cm}\ndata:\n  resource.customizations.ignoreDifferences.apps_Deployment: "- not a map"\n' >bad-diff-cm.yaml
berth local diff --settings bad-diff-cm.yaml desired-new.yaml live.yaml >/dev/null 2>err.txt
t_eq "--settings: a malformed entry is exit 2" "$?" 2
t_match "--settings: the message names the entry" "$(cat err.txt)" "ignoreDifferences.apps_Deployment"

# --last-applied replaces the annotation: with a last-applied that never set
# replicas, a live-only replicas change is not drift.
sed 's/replicas: 2/replicas: 5/' live.yaml | sed '/last-applied-configuration/d' >live-scaled.yaml
sed '/replicas: 2/d' desired.yaml >desired-noreplicas.yaml
berth local diff --last-applied desired-noreplicas.yaml desired-noreplicas.yaml live-scaled.yaml >/dev/null 2>err.txt
t_eq "--last-applied: fields Git never set are not drift" "$?" 0

# ---- Secrets are masked ------------------------------------------------------
old_b64=$(printf 'old-s3cret-value' | base64)
new_b64=$(printf 'new-s3cret-value' | base64)
cat >secret-desired.yaml <<YAML
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: shop}
type: Opaque
data:
  password: $new_b64
  user: YWRtaW4=
YAML
cat >secret-live.yaml <<YAML
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: shop
  uid: 7d1c5f0e-0000-4000-8000-000000000002
  resourceVersion: "99"
type: Opaque
data:
  password: $old_b64
  user: YWRtaW4=
YAML
berth local diff secret-desired.yaml secret-live.yaml >out.txt 2>err.txt
t_eq "changed Secret: exit 1" "$?" 1
all=$(cat out.txt err.txt)
t_match "Secret diff shows masks" "$all" '\+\+\+\+\+\+\+\+'
t_fail "Secret diff hides the new value" grep -qE "$new_b64|new-s3cret" out.txt err.txt
t_fail "Secret diff hides the old value" grep -qE "$old_b64|old-s3cret" out.txt err.txt
berth local diff -o json secret-desired.yaml secret-live.yaml >out.json 2>err.txt
t_eq "changed Secret, json: exit 1" "$?" 1
t_fail "Secret json hides both values" grep -qE "$new_b64|$old_b64|s3cret|YWRtaW4=" out.json err.txt
t_ok "Secret json still reports a change" jq -e '.modified and (.changes | length > 0)' out.json

# stringData in Git is folded into data, and masked as well
cat >secret-string.yaml <<'YAML'
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: shop}
type: Opaque
stringData:
  password: plain-text-pw-42
  user: admin
YAML
berth local diff secret-string.yaml secret-live.yaml >out.txt 2>err.txt
t_eq "stringData Secret differing: exit 1" "$?" 1
sd_b64=$(printf 'plain-text-pw-42' | base64)
t_fail "stringData value hidden in the diff" grep -qE "plain-text-pw|$sd_b64|$old_b64" out.txt err.txt
berth local diff -o json secret-string.yaml secret-live.yaml >out.json 2>err.txt
t_fail "stringData value hidden in json" grep -qE "plain-text-pw|$sd_b64|$old_b64" out.json err.txt

# Every real desired/live pair of gitops-engine's diff fixtures diffs
# without an error (0 or 1), in both output formats.
D=$FIXTURES/gitops-engine/diff
bad=""
for c in "$D"/*-config*.*; do
	base=${c%%-config*}
	for l in "$base"-live*; do
		[ -f "$l" ] || continue
		berth local diff "$c" "$l" >/dev/null 2>&1
		rc=$?
		[ $rc -le 1 ] || bad="$bad $(basename "$c")($rc)"
		json=$(berth local diff -o json "$c" "$l" 2>/dev/null)
		jq -e 'has("modified")' >/dev/null <<<"$json" || bad="$bad $(basename "$c")(json)"
	done
done
t_eq "fixture pairs diff without errors" "$bad" ""

# ---- errors: exit 2 with a clear message --------------------------------------
berth local diff desired.yaml >/dev/null 2>err.txt
t_eq "one file only: exit 2" "$?" 2
t_match "one file only: says what is missing" "$(cat err.txt)" "DESIRED and LIVE"
berth local diff desired.yaml no-such-file.yaml >/dev/null 2>err.txt
t_eq "missing file: exit 2" "$?" 2
t_match "missing file: named" "$(cat err.txt)" "no-such-file.yaml"
printf 'kind: [unclosed\n' >bad.yaml
berth local diff bad.yaml live.yaml >/dev/null 2>err.txt
t_eq "invalid YAML: exit 2" "$?" 2
t_match "invalid YAML: names the file and line" "$(cat err.txt)" 'bad.yaml.*line [0-9]+'
printf 'metadata: {name: x}\n' >nokind.yaml
berth local diff nokind.yaml live.yaml >/dev/null 2>err.txt
t_eq "object without kind: exit 2" "$?" 2
t_match "object without kind: says so" "$(cat err.txt)" "apiVersion and kind"
berth local diff -o yaml desired.yaml live.yaml >/dev/null 2>err.txt
t_eq "bad -o: exit 2" "$?" 2
berth local diff --bogus desired.yaml live.yaml >/dev/null 2>err.txt
t_eq "unknown flag: exit 2" "$?" 2
t_match "unknown flag: named" "$(cat err.txt)" "--bogus"

# ---- local health --------------------------------------------------------------
out=$(berth local health "$H/deployment-degraded.yaml" "$H/pod-crashloop.yaml" "$H/svc-loadbalancer-unassigned.yaml" "$H/knative-service.yaml")
t_eq "health: exit 0" "$?" 0
t_match "health: degraded Deployment line" "$out" 'Deployment/guestbook-ui: Degraded Deployment "guestbook-ui" exceeded its progress deadline'
t_match "health: crashlooping Pod" "$out" "Pod/my-pod: Degraded Back-off"
t_match "health: LoadBalancer without address" "$out" "Service/argo-artifacts: Progressing"
t_match "health: kind without rule" "$out" "Service/helloworld: -"
t_eq "health: one line per object" "$(printf '%s\n' "$out" | wc -l)" 4

out=$(berth local health "$H"/*.yaml)
t_eq "health on every fixture: exit 0" "$?" 0
t_eq "health on every fixture: one line each" "$(printf '%s\n' "$out" | wc -l | tr -d ' ')" "$(ls "$H"/*.yaml | wc -l | tr -d ' ')"

berth local health -o json "$H/deployment-suspended.yaml" "$H/job-succeeded.yaml" >out.json
t_eq "health json: exit 0" "$?" 0
t_eq "health json: worst status" "$(jq -r .health.status out.json)" Suspended
t_eq "health json: statuses per resource" "$(jq -r '[.resources[].health.status] | join(",")' out.json)" "Suspended,Healthy"
t_eq "health json: message" "$(jq -r '.resources[0].health.message' out.json)" "Deployment is paused"

cat >hook-pod.yaml <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: migrate
  annotations: {argocd.argoproj.io/hook: PreSync}
spec: {restartPolicy: Never}
status: {phase: Failed, message: exit 1}
YAML
berth local health -o json "$H/job-succeeded.yaml" hook-pod.yaml >out.json
t_eq "health json: a failed hook does not make the app Degraded" "$(jq -r .health.status out.json)" Healthy
t_eq "health json: the hook still shows its own health" "$(jq -r '.resources[1].health.status' out.json)" Degraded

cat "$H/deployment-progressing.yaml" | berth local health - >out.txt
t_match "health from stdin" "$(cat out.txt)" "Deployment/guestbook-ui: Progressing Waiting for rollout to finish"

# custom rules from a berth-cm ConfigMap
cat >berth-cm.yaml <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: berth-cm, namespace: berth}
data:
  resource.customizations.health.serving.knative.dev_Service: |
    - status: Healthy
      when: {condition: {type: Ready, status: "True"}}
      message: knative says ready
    - status: Progressing
YAML
cat >ksvc-ready.yaml <<'YAML'
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: ready-one, namespace: demo}
status:
  conditions:
  - {type: Ready, status: "True"}
YAML
out=$(berth local health --settings berth-cm.yaml "$H/knative-service.yaml" ksvc-ready.yaml)
t_match "custom rule: default rule applies" "$out" "Service/helloworld: Progressing"
t_match "custom rule: condition rule applies with its message" "$out" "Service/ready-one: Healthy knative says ready"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: berth-cm}\ndata:\n  resource.customizations.health.x_Y: "[{status: Fine}]"\n' >bad-cm.yaml
berth local health --settings bad-cm.yaml "$H/knative-service.yaml" >/dev/null 2>err.txt
t_eq "bad custom rule: exit 2" "$?" 2
t_match "bad custom rule: names the key and rule" "$(cat err.txt)" 'x_Y.*rules\[0\]\.status'

berth local health >/dev/null 2>err.txt
t_eq "health without files: exit 2" "$?" 2
berth local health no-such.yaml >/dev/null 2>err.txt
t_eq "health on a missing file: exit 2" "$?" 2
t_match "health on a missing file: named" "$(cat err.txt)" "no-such.yaml"
berth local health nokind.yaml >/dev/null 2>err.txt
t_eq "health on an object without kind: exit 2" "$?" 2
t_done
