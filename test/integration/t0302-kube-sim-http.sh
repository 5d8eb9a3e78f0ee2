#!/usr/bin/env bash
# kube-sim over plain HTTP with curl: every error path of KUBE-API.md §7
# (status codes, reasons, Status bodies), write semantics (RV, generation,
# status subresource, finalizers, preconditions, dryRun, generateName),
# lists (selectors, paging, continue tokens), watches (410, bookmarks,
# selector enter/leave, timeout) and authentication over TLS.
. "$(dirname "$0")/test-lib.sh"

PORT=$(free_port)
run_bg kube-sim kube-sim --listen 127.0.0.1:$PORT --write-kubeconfig "$TEST_DIR/kc" --no-controllers \
	--watch-window 20 --bookmark-interval 1s
wait_for_line "$TEST_DIR/kube-sim.log" "^kube-sim ready" 20 || t_done
U=http://127.0.0.1:$PORT

# req METHOD PATH [BODY [CONTENT-TYPE]] — sets CODE and BODY.
req() {
	local m=$1 p=$2 data=${3:-} ct=${4:-application/json}
	local out
	if [ -n "$data" ]; then
		out=$(curl -s -w '\n%{http_code}' -X "$m" -H "Content-Type: $ct" --data-binary "$data" "$U$p")
	else
		out=$(curl -s -w '\n%{http_code}' -X "$m" "$U$p")
	fi
	CODE=${out##*$'\n'}
	BODY=${out%$'\n'*}
}
jqb() { echo "$BODY" | jq -r "$1"; }
CM=/api/v1/namespaces/default/configmaps
DEP=/apis/apps/v1/namespaces/default/deployments

# -- flags: every flag of --help is in the man page, and the reverse --------------------------
help_flags=$(kube-sim --help | grep -oE '^ +--[a-z-]+' | tr -d ' ' | sort -u)
man_flags=$(sed -n '/^\.SH OPTIONS/,/^\.SH EXAMPLES/p' "$BERTH_TOP/man/kube-sim.1" | grep -oE '\\-\\-[a-z\\-]*[a-z]' |
	sed 's/\\-/-/g' | sort -u)
t_eq "--help and the man page OPTIONS list the same flags" "$help_flags" "$man_flags"
t_match "--version" "$(kube-sim --version)" '^kube-sim [0-9]+\.[0-9]+'
t_fail "unknown flag fails" kube-sim --no-such-flag

# -- health, version, discovery -------------------------------------------------------
req GET /healthz
t_eq "healthz" "$CODE $BODY" "200 ok"
req GET /version
t_eq "version" "$(jqb .major).$(jqb .minor)" "1.32"
req GET /api
t_eq "/api lists v1" "$(jqb '.kind + " " + .versions[0]')" "APIVersions v1"
out=$(curl -s -D "$TEST_DIR/h" -H 'Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' "$U/apis")
t_match "aggregated discovery content type" "$(cat "$TEST_DIR/h")" 'Content-Type: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList'
t_eq "aggregated discovery has apps deployments" \
	"$(echo "$out" | jq -r '.items[] | select(.metadata.name=="apps") | .versions[0].resources[] | select(.resource=="deployments") | .scope')" Namespaced
req GET /apis
t_eq "/apis plain has no core group" "$(jqb '.kind + " " + ([.groups[].name] | index("apps") | tostring)')" "APIGroupList 0"
req GET /apis/apps/v1
t_eq "deployments/scale is autoscaling/v1 Scale" \
	"$(jqb '.resources[] | select(.name=="deployments/scale") | .group + "/" + .version + " " + .kind')" "autoscaling/v1 Scale"

# -- 404s -------------------------------------------------------------------------------
req GET $DEP/web
t_eq "404 object" "$CODE" 404
t_eq "404 Status body" "$(echo "$BODY" | jq -c -S .)" \
	'{"apiVersion":"v1","code":404,"details":{"group":"apps","kind":"deployments","name":"web"},"kind":"Status","message":"deployments.apps \"web\" not found","metadata":{},"reason":"NotFound","status":"Failure"}'
req GET /apis/apps/v1/namespaces/default/gadgets
t_eq "404 unknown resource" "$CODE $(jqb .message)" "404 the server could not find the requested resource"
req GET /apis/apps/v2/namespaces/default/deployments
t_eq "404 unknown version" "$CODE" 404
req POST /api/v1/namespaces/nowhere/configmaps '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}'
t_eq "404 missing namespace" "$CODE $(jqb .message)" '404 namespaces "nowhere" not found'

# -- create, 409, 400, 422 ----------------------------------------------------------------------
req POST $CM '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c1","labels":{"app":"a"},"creationTimestamp":"2001-01-01T00:00:00Z"},"data":{"k":"v"}}'
t_eq "201 create" "$CODE" 201
t_match "creationTimestamp set by the server" "$(jqb .metadata.creationTimestamp)" '^20[2-9][0-9]-'
t_eq "ConfigMap has no generation" "$(jqb .metadata.generation)" null
RV1=$(jqb .metadata.resourceVersion)
req POST $CM '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c1"}}'
t_eq "409 AlreadyExists" "$CODE $(jqb .reason) $(jqb .details.kind)" "409 AlreadyExists configmaps"
t_eq "AlreadyExists message" "$(jqb .message)" 'configmaps "c1" already exists'
req POST $CM '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c2","namespace":"kube-system"}}'
t_eq "400 namespace mismatch" "$CODE $(jqb .reason)" "400 BadRequest"
req POST $CM '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Bad_Name"}}'
t_eq "422 invalid name" "$CODE $(jqb .reason) $(jqb .details.kind)" "422 Invalid ConfigMap"
t_match "422 message names the field" "$(jqb .message)" 'ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value'
req POST $CM '{"apiVersion":"v1","kind":"ConfigMap","metadata":{}}'
t_eq "422 missing name" "$CODE $(jqb '.details.causes[0].reason')" "422 FieldValueRequired"
req POST $CM '{not json'
t_eq "400 malformed body" "$CODE $(jqb .reason)" "400 BadRequest"
req POST $CM 'k8s-not-protobuf' application/vnd.kubernetes.protobuf
t_eq "400 malformed protobuf" "$CODE $(jqb .reason)" "400 BadRequest"
req POST $CM '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"generateName":"gen-"}}'
t_match "generateName adds 5 characters" "$CODE $(jqb .metadata.name)" '^201 gen-[a-z0-9]{5}$'
req POST "$CM?dryRun=All" '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dry"}}'
t_eq "dryRun create answers 201" "$CODE" 201
req GET $CM/dry
t_eq "dryRun create stored nothing" "$CODE" 404

# -- list ---------------------------------------------------------------------------------------------
req GET $CM
t_eq "list kind" "$(jqb .kind)" ConfigMapList
t_eq "built-in list items carry no kind/apiVersion" "$(jqb '[.items[] | has("kind") or has("apiVersion")] | any')" false
for i in 1 2 3 4 5; do
	req POST $CM "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"page-$i\",\"labels\":{\"tier\":\"t$((i % 2))\"}}}"
done
req GET "$CM?labelSelector=tier%3Dt1"
t_eq "label selector k=v" "$(jqb '[.items[].metadata.name] | join(",")')" "page-1,page-3,page-5"
req GET "$CM?labelSelector=tier%20in%20(t0)"
t_eq "label selector in" "$(jqb '[.items[].metadata.name] | join(",")')" "page-2,page-4"
req GET "$CM?labelSelector=tier,tier!%3Dt0"
t_eq "label selector exists and !=" "$(jqb '[.items[].metadata.name] | join(",")')" "page-1,page-3,page-5"
req GET "$CM?labelSelector=!tier"
t_eq "label selector !k" "$(jqb '[.items[].metadata.name] | map(select(startswith("page"))) | length')" 0
req GET "$CM?labelSelector=a%20in%20b"
t_eq "400 bad label selector" "$CODE $(jqb .reason)" "400 BadRequest"
req GET "$CM?fieldSelector=metadata.name%3Dpage-2"
t_eq "field selector metadata.name" "$(jqb '[.items[].metadata.name] | join(",")')" "page-2"
req GET "$CM?fieldSelector=spec.bogus%3Dx"
t_eq "400 unsupported field selector" "$CODE $(jqb .message)" "400 field label not supported: spec.bogus"
req GET "$CM?limit=2&labelSelector=tier"
t_eq "page 1" "$(jqb '[.items[].metadata.name] | join(",")') $(jqb .metadata.remainingItemCount)" "page-1,page-2 3"
LISTRV=$(jqb .metadata.resourceVersion)
TOK=$(jqb .metadata.continue)
req POST $CM '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"page-6","labels":{"tier":"t0"}}}'
req GET "$CM?limit=2&continue=$TOK"
t_eq "page 2 (snapshot)" "$(jqb '[.items[].metadata.name] | join(",")') $(jqb .metadata.resourceVersion)" "page-3,page-4 $LISTRV"
TOK=$(jqb .metadata.continue)
req GET "$CM?limit=2&continue=$TOK"
t_eq "last page ends without continue" "$(jqb '[.items[].metadata.name] | join(",")') $(jqb '.metadata.continue // ""')" "page-5 "
req GET "$CM?limit=2&continue=bogus-token"
t_eq "410 expired continue token" "$CODE $(jqb .reason)" "410 Expired"
req GET "$CM?resourceVersionMatch=NotOlderThan"
t_eq "400 resourceVersionMatch without resourceVersion" "$CODE" 400
req GET "$CM?resourceVersion=999999999"
t_eq "504 too large resource version" "$CODE $(jqb .reason)" "504 Timeout"

# -- update and patch -----------------------------------------------------------------------------
req GET $CM/c1
OBJ=$BODY
req PUT $CM/c1 "$(echo "$OBJ" | jq -c '.data.k="v2"')"
t_eq "200 PUT" "$CODE $(jqb .data.k)" "200 v2"
req PUT $CM/c1 "$(echo "$OBJ" | jq -c '.data.k="v3"')"
t_eq "409 stale resourceVersion" "$CODE $(jqb .reason)" "409 Conflict"
t_match "Conflict message" "$(jqb .message)" 'Operation cannot be fulfilled on configmaps "c1": the object has been modified'
req PUT $CM/c2 '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c2"}}'
t_eq "404 PUT missing object" "$CODE" 404
req PUT $CM/c1 '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"other"}}'
t_eq "400 PUT name mismatch" "$CODE" 400
req GET $CM/c1
RV=$(jqb .metadata.resourceVersion)
req PATCH $CM/c1 '{"data":{"k":"v2"}}' application/merge-patch+json
t_eq "no-op merge patch keeps the RV" "$CODE $(jqb .metadata.resourceVersion)" "200 $RV"
req PATCH $CM/c1 '{"data":{"n":"1"}}' application/strategic-merge-patch+json
t_eq "strategic merge patch" "$CODE $(jqb .data.n)" "200 1"
req PATCH $CM/c1 '[{"op":"add","path":"/metadata/annotations","value":{"a/b":"x"}},{"op":"replace","path":"/data/n","value":"2"}]' application/json-patch+json
t_eq "JSON patch" "$CODE $(jqb .data.n) $(jqb '.metadata.annotations["a/b"]')" "200 2 x"
req PATCH $CM/c1 '[{"op":"test","path":"/data/n","value":"9"}]' application/json-patch+json
t_eq "422 failed JSON patch test" "$CODE $(jqb .reason)" "422 Invalid"
req PATCH $CM/c1 '{"metadata":{"resourceVersion":"1"},"data":{"n":"3"}}' application/merge-patch+json
t_eq "409 RV precondition in a patch" "$CODE $(jqb .reason)" "409 Conflict"
req PATCH $CM/c1 '{"data":{}}' text/plain
t_eq "415 unknown patch type" "$CODE $(jqb .reason)" "415 UnsupportedMediaType"
req PATCH "$CM/c1?force=true" '{"data":{}}' application/merge-patch+json
t_eq "422 force on a non-apply patch" "$CODE $(jqb .details.kind)" "422 PatchOptions"
req PATCH $CM/c1 '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c1"}}' application/apply-patch+yaml
t_eq "422 apply without fieldManager" "$CODE" 422
t_match "fieldManager required message" "$(jqb .message)" 'fieldManager: Required value'
req PATCH $CM/nope '{"data":{}}' application/merge-patch+json
t_eq "404 patch missing object" "$CODE" 404
req PATCH "$CM/applied?fieldManager=t0302" '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"applied"},"data":{"a":"1","b":"2"}}' application/apply-patch+yaml
t_eq "apply creates with 201" "$CODE $(jqb '.metadata.managedFields[0].manager')" "201 t0302"
req PATCH "$CM/applied?fieldManager=t0302" '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"applied"},"data":{"a":"1"}}' application/apply-patch+yaml
t_eq "apply removes a field it no longer applies" "$CODE $(jqb '.data | keys | join(",")')" "200 a"
req PATCH "$CM/applied?fieldManager=other" '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"applied"},"data":{"a":"9"}}' application/apply-patch+yaml
t_eq "409 apply conflict" "$CODE $(jqb '.details.causes[0].reason') $(jqb '.details.causes[0].field')" "409 FieldManagerConflict .data.a"
req PATCH "$CM/applied?fieldManager=other&force=true" '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"applied"},"data":{"a":"9"}}' application/apply-patch+yaml
t_eq "forced apply takes the field" "$CODE $(jqb .data.a)" "200 9"

# -- generation and status subresource ------------------------------------------------------------
D='{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":1,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"nginx:1.27"}]}}},"status":{"replicas":7}}'
req POST $DEP "$D"
t_eq "deployment created, status dropped" "$CODE $(jqb .metadata.generation) $(jqb '.status.replicas // "none"')" "201 1 none"
req PATCH $DEP/web '{"metadata":{"labels":{"x":"y"}}}' application/merge-patch+json
t_eq "label change keeps generation" "$(jqb .metadata.generation)" 1
req PATCH $DEP/web '{"spec":{"replicas":2},"status":{"replicas":5}}' application/merge-patch+json
t_eq "spec change bumps generation, status ignored on main" "$(jqb .metadata.generation) $(jqb '.status.replicas // "none"')" "2 none"
req PATCH $DEP/web/status '{"spec":{"replicas":9},"status":{"replicas":5}}' application/merge-patch+json
t_eq "status write takes only status" "$CODE $(jqb .status.replicas) $(jqb .spec.replicas) $(jqb .metadata.generation)" "200 5 2 2"
req PATCH $DEP/web '{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"busybox:1"}]}}}}' application/strategic-merge-patch+json
t_eq "strategic merge patch merges containers by name" "$(jqb '[.spec.template.spec.containers[].name] | sort | join(",")')" "side,web"
req PATCH $DEP/web '{"spec":{"template":{"spec":{"containers":[{"name":"side","$patch":"delete"}]}}}}' application/strategic-merge-patch+json
t_eq "\$patch: delete removes the item" "$(jqb '[.spec.template.spec.containers[].name] | join(",")')" "web"
req PATCH "$CM/yaml-applied?fieldManager=t0302" $'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yaml-applied\ndata:\n  k: "yes"\n' application/apply-patch+yaml
t_eq "apply body in YAML" "$CODE $(jqb .data.k)" "201 yes"
req GET $DEP/web/scale
t_eq "scale subresource" "$(jqb .kind) $(jqb .spec.replicas) $(jqb .status.selector)" "Scale 2 app=web"
req GET $CM/c1/status
t_eq "404 status of a type without it" "$CODE" 404

# -- delete --------------------------------------------------------------------------------------------
req DELETE $CM/page-6
t_eq "delete answers a Success Status" "$CODE $(jqb .status) $(jqb .details.kind) $(jqb .details.name)" "200 Success configmaps page-6"
req DELETE $CM/page-6
t_eq "404 deleting twice" "$CODE" 404
req DELETE $CM/page-5 '{"kind":"DeleteOptions","apiVersion":"v1","preconditions":{"uid":"00000000-0000-4000-8000-000000000000"}}'
t_eq "409 uid precondition" "$CODE $(jqb .reason)" "409 Conflict"
req POST $CM '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"fin","finalizers":["example.com/hold"]}}'
req DELETE $CM/fin
t_eq "delete with finalizer: object with deletionTimestamp" "$CODE $(jqb '.metadata.deletionTimestamp != null')" "200 true"
req GET $CM/fin
t_eq "still readable" "$CODE" 200
req DELETE $CM/fin
t_eq "repeat delete: same answer" "$CODE $(jqb '.metadata.deletionTimestamp != null')" "200 true"
req PATCH $CM/fin '{"metadata":{"finalizers":["example.com/hold","example.com/more"]}}' application/merge-patch+json
t_eq "422 adding a finalizer while deleting" "$CODE" 422
req PATCH $CM/fin '{"metadata":{"finalizers":null}}' application/merge-patch+json
t_eq "emptying finalizers" "$CODE" 200
req GET $CM/fin
t_eq "object removed once finalizers are empty" "$CODE" 404
req DELETE "$DEP/web?propagationPolicy=Foreground"
t_eq "foreground delete adds foregroundDeletion" "$(jqb '.metadata.finalizers | join(",")')" foregroundDeletion
req DELETE "$DEP/web?propagationPolicy=Sideways"
t_eq "400 unknown propagation policy" "$CODE" 400

# -- namespaces ---------------------------------------------------------------------------------------------
req POST /api/v1/namespaces '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"doomed"}}'
t_eq "namespace created Active" "$CODE $(jqb .status.phase) $(jqb '.metadata.labels["kubernetes.io/metadata.name"]')" "201 Active doomed"
req POST /api/v1/namespaces/doomed/configmaps '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"held","finalizers":["example.com/hold"]}}'
req DELETE /api/v1/namespaces/doomed
t_eq "namespace Terminating" "$CODE $(jqb .status.phase)" "200 Terminating"
req POST /api/v1/namespaces/doomed/configmaps '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"late"}}'
t_eq "403 create in a terminating namespace" "$CODE $(jqb .reason)" "403 Forbidden"
req PATCH /api/v1/namespaces/doomed/configmaps/held '{"metadata":{"finalizers":null}}' application/merge-patch+json
wait_for "namespace doomed removed once empty" 10 bash -c "[ \$(curl -s -o /dev/null -w '%{http_code}' $U/api/v1/namespaces/doomed) = 404 ]"

# -- watch ---------------------------------------------------------------------------------------------------------
W=$TEST_DIR/watch
WRV=$(curl -s $U$CM | jq -r .metadata.resourceVersion)
curl -sN "$U$CM?watch=1&labelSelector=w%3Dyes&resourceVersion=$WRV&timeoutSeconds=5" >"$W" &
WPID=$!
req POST $CM '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"wc"}}'
req PATCH $CM/wc '{"metadata":{"labels":{"w":"yes"}}}' application/merge-patch+json
req PATCH $CM/wc '{"metadata":{"labels":{"w":"no"}}}' application/merge-patch+json
wait_for_line "$W" '"type":"DELETED"' 10
t_eq "selector enter/leave: ADDED then DELETED" "$(jq -r '.type + ":" + .object.metadata.name' "$W" | tr '\n' ' ')" "ADDED:wc DELETED:wc "
t_eq "watch objects carry kind" "$(head -1 "$W" | jq -r .object.kind)" ConfigMap
wait "$WPID"
t_eq "timeoutSeconds ends the stream" "$?" 0
req GET "$CM?resourceVersion=1&limit=2"
t_eq "410 list at a compacted resourceVersion with a limit" "$CODE $(jqb .reason)" "410 Expired"
CUR=$(curl -s "$U$CM?limit=1" | jq -r .metadata.resourceVersion)
req GET "$CM?resourceVersion=$CUR&resourceVersionMatch=Exact"
t_eq "list at the current resourceVersion (Exact)" "$CODE $(jqb .metadata.resourceVersion)" "200 $CUR"
req GET "$CM?resourceVersion=1&resourceVersionMatch=NotOlderThan"
t_eq "list not older than an old resourceVersion" "$CODE" 200
out=$(curl -s --max-time 10 "$U$CM?watch=1&resourceVersion=1&timeoutSeconds=3")
t_eq "too old RV: 410 ERROR event" "$(echo "$out" | head -1 | jq -r '.type + " " + (.object.code|tostring) + " " + .object.reason')" "ERROR 410 Expired"
out=$(curl -s --max-time 10 "$U/api/v1/namespaces/default/secrets?watch=1&allowWatchBookmarks=true&timeoutSeconds=2&resourceVersion=$(curl -s $U/api/v1/secrets | jq -r .metadata.resourceVersion)")
t_match "bookmark event" "$(echo "$out" | jq -r .type | sort -u | tr '\n' ' ')" "BOOKMARK"
t_eq "bookmark carries only the RV" "$(echo "$out" | head -1 | jq -c '.object.metadata | keys')" '["resourceVersion"]'
out=$(curl -s --max-time 10 "$U$CM?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&resourceVersion=&allowWatchBookmarks=true&timeoutSeconds=1&labelSelector=tier%3Dt1")
t_eq "sendInitialEvents: ADDED for each object, then the initial-events-end bookmark" \
	"$(echo "$out" | jq -r '.type + ":" + (.object.metadata.name // .object.metadata.annotations["k8s.io/initial-events-end"])' | sed '/^BOOKMARK/q' | tr '\n' ' ')" \
	"ADDED:page-1 ADDED:page-3 ADDED:page-5 BOOKMARK:true "
out=$(curl -s --max-time 10 "$U$CM?watch=1&timeoutSeconds=1&fieldSelector=metadata.name%3Dc1")
t_eq "watch without RV starts with ADDED" "$(echo "$out" | jq -r '.type + ":" + .object.metadata.name')" "ADDED:c1"

# -- TLS: bearer token and client certificates --------------------------------------------------
TK=$TEST_DIR/tls-kc
run_bg kube-sim-tls kube-sim --listen 127.0.0.1:0 --write-kubeconfig "$TK" --tls --token sekret --no-controllers
wait_for_line "$TEST_DIR/kube-sim-tls.log" "^kube-sim ready https://" 20 || { cat "$TEST_DIR/kube-sim-tls.log"; t_done; }
TU=$(awk '/^kube-sim ready/{print $3}' "$TEST_DIR/kube-sim-tls.log")
code() { curl -s -o "$TEST_DIR/tls-body" -w '%{http_code}' --cacert "$TK.ca.crt" "$@"; }
t_eq "TLS: no credentials is 401" "$(code $TU/api/v1/namespaces)" 401
t_eq "401 Status reason" "$(jq -r .reason "$TEST_DIR/tls-body")" Unauthorized
t_eq "TLS: wrong token is 401" "$(code -H 'Authorization: Bearer nope' $TU/api/v1/namespaces)" 401
t_eq "TLS: right token is 200" "$(code -H 'Authorization: Bearer sekret' $TU/api/v1/namespaces)" 200
t_eq "TLS: healthz needs no credentials" "$(code $TU/healthz)" 200
TK2=$TEST_DIR/tls-kc2
run_bg kube-sim-tls2 kube-sim --listen 127.0.0.1:0 --write-kubeconfig "$TK2" --tls --no-controllers
wait_for_line "$TEST_DIR/kube-sim-tls2.log" "^kube-sim ready https://" 20 || { cat "$TEST_DIR/kube-sim-tls2.log"; t_done; }
TU2=$(awk '/^kube-sim ready/{print $3}' "$TEST_DIR/kube-sim-tls2.log")
t_eq "client certificate signed by the CA is accepted" \
	"$(curl -s -o /dev/null -w '%{http_code}' --cacert "$TK2.ca.crt" --cert "$TK2.client.crt" --key "$TK2.client.key" $TU2/api/v1/namespaces)" 200
t_eq "client certificate of another CA is refused" \
	"$(curl -s -o /dev/null -w '%{http_code}' --cacert "$TK2.ca.crt" --cert "$TK.client.crt" --key "$TK.client.key" $TU2/api/v1/namespaces)" 401
t_eq "no client certificate is refused" \
	"$(curl -s -o /dev/null -w '%{http_code}' --cacert "$TK2.ca.crt" $TU2/api/v1/namespaces)" 401
t_ok "kubectl with the generated client certificate" kubectl --kubeconfig "$TK2" get ns default
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TEST_DIR/own.key" \
	-out "$TEST_DIR/own.crt" -days 1 -subj /CN=kube-sim -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
TK3=$TEST_DIR/tls-kc3
run_bg kube-sim-tls3 kube-sim --listen 127.0.0.1:0 --write-kubeconfig "$TK3" --tls-cert "$TEST_DIR/own.crt" \
	--tls-key "$TEST_DIR/own.key" --token t3 --no-controllers
wait_for_line "$TEST_DIR/kube-sim-tls3.log" "^kube-sim ready https://" 20 || { cat "$TEST_DIR/kube-sim-tls3.log"; t_done; }
t_ok "kubectl with a serving certificate from --tls-cert" kubectl --kubeconfig "$TK3" get ns default
t_done
