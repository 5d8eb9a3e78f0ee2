#!/usr/bin/env bash
# berth-api-server, second round (issue #8's closing note): list pages with
# remainingItemCount, PUT for repositories and clusters (secrets kept,
# never answered), settings watched (a change applies within ~1 s),
# managed resources from the controller's Redis list (Secrets re-masked,
# falling back to the status), and AppProject resource-kind rules enforced
# by the API server on create and on a selective sync.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/api-lib.sh"

start_redis
printf '%s' "$REDIS_PASSWORD" >"$TEST_DIR/redis-pw"
start_git_http
make_repo examples "$FIXTURES/argocd-example-apps"
api_kube_sim
api_repo_server
start_api_server --repo-server "$RS_URL" --redis "$REDIS_ADDR" --redis-password-file "$TEST_DIR/redis-pw" \
	--server-secret-file "$TEST_DIR/secret"
TOKEN=$(login admin "$ADMIN_PASSWORD")
REPO=$GIT_HTTP_URL/examples.git

app() { # name path [project]
	jq -cn --arg n "$1" --arg p "$2" --arg pr "${3:-default}" --arg url "$REPO" \
		'{metadata: {name: $n}, spec: {project: $pr, source: {repoURL: $url, targetRevision: "HEAD", path: $p},
		  destination: {server: "https://kubernetes.default.svc", namespace: "default"}}}'
}

# -- pages ------------------------------------------------------------------------------------
for i in 1 2 3 4 5; do
	api POST /api/v1/applications "$(app page-$i guestbook)" "$TOKEN"
	[ "$CODE" = 200 ] || t_fail "create page-$i ($CODE $BODY)" false
done
listed() { api GET "/api/v1/applications?limit=1" "" "$TOKEN"; [ "$(jqb .metadata.remainingItemCount)" = 4 ]; }
wait_for "the cache lists all five" 10 listed
api GET "/api/v1/applications?limit=2" "" "$TOKEN"
t_eq "first page: two items, continue, remainingItemCount" \
	"$(jqb '[.items[].metadata.name] | join(",")') $(jqb .metadata.continue) $(jqb .metadata.remainingItemCount)" \
	"page-1,page-2 page-2 3"
api GET "/api/v1/applications?limit=2&continue=page-4" "" "$TOKEN"
t_eq "last page: no continue, no remainingItemCount" \
	"$(jqb '[.items[].metadata.name] | join(",")') $(jqb .metadata.continue) $(jqb .metadata.remainingItemCount)" \
	"page-5 null null"
api GET "/api/v1/applications?limit=2&search=page-&sync=Unknown" "" "$TOKEN"
t_eq "remainingItemCount counts only what the filters keep" "$(jqb '.items | length') $(jqb .metadata.remainingItemCount)" "0 null"
# A user who may see only page-5: counts never include the others.
k -n berth patch configmap berth-cm --type merge -p '{"data":{"accounts.pat":"login"}}' >/dev/null 2>&1 ||
	k -n berth create configmap berth-cm --from-literal=accounts.pat=login >/dev/null
k -n berth patch configmap berth-rbac-cm --type merge \
	-p '{"data":{"policy.csv":"p, pat, applications, get, default/page-[45], allow\n"}}' >/dev/null 2>&1 ||
	k -n berth create configmap berth-rbac-cm --from-literal=policy.csv="p, pat, applications, get, default/page-[45], allow" >/dev/null
set_pat_pw() {
	api PUT /api/v1/account/password "{\"name\":\"pat\",\"currentPassword\":\"$ADMIN_PASSWORD\",\"newPassword\":\"pat-password-123\"}" "$TOKEN"
	[ "$CODE" = 200 ]
}
wait_for "pat's password can be set (berth-cm watched)" 5 set_pat_pw
pat_login() { PAT=$(login pat pat-password-123) && [ -n "$PAT" ]; }
wait_for "pat can log in" 5 pat_login
api GET "/api/v1/applications?limit=1" "" "$PAT"
t_eq "a restricted user's page counts only what it may see" \
	"$(jqb '[.items[].metadata.name] | join(",")') $(jqb .metadata.remainingItemCount)" "page-4 1"

api DELETE "/api/v1/applications/page-5?cascade=false" "" "$TOKEN"
pat_sees() { api GET "/api/v1/applications?limit=1" "" "$PAT"; [ "$(jqb '[.items[].metadata.name] | join(",")') $(jqb .metadata.remainingItemCount)" = "$1" ]; }
wait_for "the count follows a deletion (page-4 alone, nothing left)" 10 pat_sees "page-4 null"
k -n berth patch configmap berth-rbac-cm --type merge \
	-p '{"data":{"policy.csv":"p, pat, applications, get, default/page-*, allow\n"}}' >/dev/null
wait_for "the count follows a policy change (page-1 first, three left)" 10 pat_sees "page-1 3"
api GET "/api/v1/applications?limit=1" "" "$TOKEN"
t_eq "admin's count is its own (page-1..4: three left)" "$(jqb .metadata.remainingItemCount)" 3
k -n berth patch configmap berth-rbac-cm --type merge \
	-p '{"data":{"policy.csv":"p, pat, applications, get, default/page-[45], allow\n"}}' >/dev/null
wait_for "and back" 10 pat_sees "page-4 null"

# -- settings are watched ---------------------------------------------------------------------
api GET /api/v1/settings
t_eq "settings url before" "$(jqb .url)" ""
start=$(date +%s%N)
k -n berth patch configmap berth-cm --type merge -p '{"data":{"url":"https://berth.example"}}' >/dev/null
url_is() { api GET /api/v1/settings; [ "$(jqb .url)" = https://berth.example ]; }
wait_for "a berth-cm change is served" 5 url_is
ms=$((($(date +%s%N) - start) / 1000000))
t_ok "the change applied within ~1 s of kubectl returning ($ms ms)" test "$ms" -lt 2500
kube_requests() { curl -s "$API/metrics" | awk '$1 == "berth_api_server_kube_requests_total" {print $2}'; }
r0=$(kube_requests)
sleep 3 # an idle interval on purpose: what the server asks Kubernetes while nobody calls it
r1=$(kube_requests)
t_ok "idle, the server does not poll the settings ($r0 -> $r1 Kubernetes requests in 3 s; a poll makes 12)" test $((r1 - r0)) -lt 4

# -- repositories and clusters: PUT -----------------------------------------------------------
api POST /api/v1/repositories '{"repo":"https://git.example/put.git","username":"u1","password":"planted-repo-pw-771"}' "$TOKEN"
t_eq "create repository" "$CODE" 200
enc=$(printf %s https://git.example/put.git | jq -sRr @uri)
api PUT "/api/v1/repositories/$enc" '{"username":"u2","insecure":true}' "$TOKEN"
t_eq "PUT repository" "$CODE $(jqb .username) $(jqb .insecure)" "200 u2 true"
t_eq "the answer has no password" "$(jqb 'has("password")')" false
sec=$(k -n berth get secrets -l berth.dev/secret-type=repository -o json | jq -r '.items[] | select((.data.url|@base64d)=="https://git.example/put.git") | .data.password | @base64d')
t_eq "the stored password is kept when the PUT leaves it out" "$sec" planted-repo-pw-771
api GET "/api/v1/repositories/$enc" "" "$TOKEN"
t_eq "GET after PUT" "$(jqb .username) $(jqb 'has("password")')" "u2 false"
api PUT "/api/v1/repositories/$enc" '{"repo":"https://git.example/other.git"}' "$TOKEN"
t_eq "PUT cannot move a repository to another URL" "$CODE" 400
api PUT "/api/v1/repositories/$enc" '{"password":null}' "$TOKEN"
sec=$(k -n berth get secrets -l berth.dev/secret-type=repository -o json | jq -r '.items[] | select((.data.url|@base64d)=="https://git.example/put.git") | .data.password // "" | @base64d')
t_eq "PUT with password null clears it" "$CODE <$sec>" "200 <>"
api PUT "/api/v1/repositories/$(printf %s https://git.example/none.git | jq -sRr @uri)" '{"username":"x"}' "$TOKEN"
t_eq "PUT of an unknown repository: 404" "$CODE" 404
api PUT "/api/v1/repositories/$enc" '{"username":"x"}' "$PAT"
t_eq "PUT without the update permission: 403" "$CODE" 403
api PUT "/api/v1/repositories/$enc" '{"username":"x"}' "$TOKEN" text/plain
t_eq "PUT with text/plain: 415" "$CODE" 415

api POST /api/v1/clusters '{"server":"https://c1.example:6443","name":"c1","config":{"bearerToken":"planted-cluster-token-993"}}' "$TOKEN"
t_eq "create cluster" "$CODE" 200
cenc=$(printf %s https://c1.example:6443 | jq -sRr @uri)
api PUT "/api/v1/clusters/$cenc" '{"name":"c1-renamed","namespaces":["a","b"]}' "$TOKEN"
t_eq "PUT cluster" "$CODE $(jqb .name) $(jqb '.namespaces | join(",")')" "200 c1-renamed a,b"
t_eq "the cluster answer has no token" "$(echo "$BODY" | grep -c planted-cluster-token)" 0
tok=$(k -n berth get secrets -l berth.dev/secret-type=cluster -o json | jq -r '.items[] | select((.data.server|@base64d)=="https://c1.example:6443") | .data.config | @base64d | fromjson | .bearerToken')
t_eq "the stored bearer token is kept" "$tok" planted-cluster-token-993
api GET "/api/v1/clusters/c1-renamed" "" "$TOKEN"
t_eq "GET the cluster by its new name" "$CODE $(jqb .server)" "200 https://c1.example:6443"
api PUT "/api/v1/clusters/$(printf %s https://none.example | jq -sRr @uri)" '{"name":"x"}' "$TOKEN"
t_eq "PUT of an unknown cluster: 404" "$CODE" 404
api PUT "/api/v1/clusters/$cenc" '{"server":"https://c2.example"}' "$TOKEN"
t_eq "PUT cannot change the server" "$CODE" 400
if grep -q 'planted-repo-pw-771\|planted-cluster-token-993' "$TEST_DIR/responses" "$TEST_DIR/api-server.log"; then
	t_fail "no planted secret in any response or log line" true
else
	t_ok "no planted secret in any response or log line" true
fi

# -- managed resources from the controller's Redis list ---------------------------------------
# A signed rcache entry, written as the controller would (envelope of lib/rcache.c).
rcache_put() { # key json
	python3 - "$REDIS_ADDR" "$REDIS_PASSWORD" "$KEY" "$1" "$2" <<'PY'
import hashlib, hmac, socket, struct, sys
addr, pw, key, k, val = sys.argv[1:]
host, port = addr.rsplit(":", 1)
k = "berth:v1:" + k
payload = val.encode()
hdr9 = bytes([0]) + struct.pack(">Q", len(payload))
mac = hmac.new(key.encode()[:64], k.encode() + b"\0" + hdr9 + payload, hashlib.sha256).digest()
env = b"BC1" + hdr9 + mac + payload
def cmd(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out
s = socket.create_connection((host, int(port)), timeout=5)
s.sendall(cmd("AUTH", pw) + cmd("SET", k, env))
data = b""
while data.count(b"\r\n") < 2:
    data += s.recv(4096)
sys.exit(0 if data.count(b"+OK") == 2 else 1)
PY
}
k -n berth patch applications.berth.dev page-1 --subresource status --type merge \
	-p '{"status":{"resources":[{"version":"v1","kind":"Service","namespace":"default","name":"from-status","status":"OutOfSync"}]}}' >/dev/null
svc_seen() { api GET /api/v1/applications/page-1/managed-resources "" "$TOKEN"; [ "$(jqb '.items[0].name')" = from-status ]; }
wait_for "without the Redis key: the status's list" 10 svc_seen
live='{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db","namespace":"default"},"data":{"password":"cGxhbnRlZC1saXZlLXNlY3JldA=="}}'
items=$(jq -cn --arg live "$live" '{items: [
	{group: "", version: "v1", kind: "Secret", namespace: "default", name: "db", status: "OutOfSync", health: null,
	 liveState: $live, targetState: null,
	 diff: "--- live\n+++ desired\n data:\n-  password: cGxhbnRlZC1saXZlLXNlY3JldA==\n+  password: bmV3\n kind: Secret\n"},
	{group: "", version: "v1", kind: "Secret", namespace: "default", name: "masked", status: "OutOfSync",
	 liveState: "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"data\":{\"k\":\"++++++++++++\"}}",
	 targetState: "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"data\":{\"k\":\"++++++++\"}}",
	 diff: " data:\n-  k: ++++++++++++\n+  k: ++++++++\n"},
	{group: "apps", version: "v1", kind: "Deployment", namespace: "default", name: "web", status: "Synced",
	 health: {status: "Healthy"}, liveState: "{\"kind\":\"Deployment\"}", targetState: "{\"kind\":\"Deployment\"}",
	 predictedLiveState: "{\"kind\":\"Deployment\"}", diff: ""}]}')
t_ok "plant app:berth:page-1:managed-resources" rcache_put "app:berth:page-1:managed-resources" "$items"
api GET /api/v1/applications/page-1/managed-resources "" "$TOKEN"
t_eq "the controller's items are served" "$(jqb '[.items[] | .kind + "/" + .name] | join(",")')" "Secret/db,Secret/masked,Deployment/web"
t_eq "their fields pass through" "$(jqb '.items[2].predictedLiveState + " " + .items[2].health.status')" '{"kind":"Deployment"} Healthy'
t_eq "a Secret's live state is re-masked" "$(jqb '.items[0].liveState | fromjson | .data.password')" "++++++++"
t_eq "a Secret's diff is re-masked" "$(jqb '.items[0].diff' | grep -c 'password: ++++++++')" 2
t_eq "the controller's masks (equal vs different values) are kept" \
	"$(jqb '(.items[1].targetState | fromjson | .data.k) + " " + (.items[1].liveState | fromjson | .data.k)')" "++++++++ ++++++++++++"
t_eq "...in the diff too" "$(jqb .items[1].diff)" "$(printf ' data:\n-  k: ++++++++++++\n+  k: ++++++++')"
t_eq "no planted Secret value in the answer" "$(echo "$BODY" | grep -c 'cGxhbnRlZC1saXZlLXNlY3JldA\|bmV3')" 0
api GET /api/v1/applications/page-1/managed-resources "" "$PAT"
t_eq "a user who may not see the app: 403" "$CODE" 403

# -- project resource-kind rules --------------------------------------------------------------
proj() { # name + spec fragment
	jq -cn --arg n "$1" --arg url "$REPO" --argjson extra "$2" \
		'{metadata: {name: $n}, spec: ({sourceRepos: [$url], destinations: [{server: "*", namespace: "*"}]} + $extra)}'
}
api POST /api/v1/projects "$(proj no-deploy '{"namespaceResourceBlacklist":[{"group":"apps","kind":"Deployment"}]}')" "$TOKEN"
t_eq "project with a namespaced blacklist" "$CODE" 200
api POST /api/v1/applications "$(app blocked guestbook no-deploy)" "$TOKEN"
t_eq "create: a blacklisted kind in the manifests: 403" "$CODE" 403
t_match "the denial names the project and the kind" "$(jqb .error)" 'project "no-deploy".*Deployment.*not permitted'
t_fail "nothing was created" k -n berth get applications.berth.dev blocked
api POST /api/v1/projects "$(proj only-cm '{"namespaceResourceWhitelist":[{"group":"","kind":"ConfigMap"}]}')" "$TOKEN"
api POST /api/v1/applications "$(app blocked2 guestbook only-cm)" "$TOKEN"
t_eq "create: a kind outside the namespaced whitelist: 403" "$CODE" 403
t_match "the whitelist denial names the kind" "$(jqb .error)" 'project "only-cm".*(Deployment|Service).*not permitted'
api POST /api/v1/projects "$(proj no-cluster-kinds '{}')" "$TOKEN"
api POST /api/v1/applications "$(app allowed guestbook no-cluster-kinds)" "$TOKEN"
t_eq "namespaced kinds with no cluster whitelist: allowed" "$CODE" 200
api POST /api/v1/applications/allowed/sync '{"resources":[{"group":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"x"}]}' "$TOKEN"
t_eq "selective sync of a cluster-scoped kind not whitelisted: 403" "$CODE" 403
t_match "the sync denial names the kind" "$(jqb .error)" 'project "no-cluster-kinds".*ClusterRole.*not permitted'
t_eq "no operation was written" "$(k -n berth get applications.berth.dev allowed -o jsonpath='{.operation}')" ""
api POST /api/v1/applications/allowed/sync '{"resources":[{"group":"apps","kind":"Deployment","name":"guestbook-ui"}]}' "$TOKEN"
t_eq "selective sync of a permitted kind" "$CODE" 200
api PUT /api/v1/applications/allowed "$(app allowed guestbook no-deploy)" "$TOKEN"
t_eq "update into a project that forbids its kinds: 403" "$CODE" 403

t_done
