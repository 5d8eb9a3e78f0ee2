#!/usr/bin/env bash
# berth-api-server against kube-sim: flags and man page, first start
# (server key, initial admin password), login and sessions, Application
# CRUD with validation and Argo CD manifests, sync and rollback operations,
# projects and their rules, repositories and clusters without secrets in
# answers, settings, CSRF.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/api-lib.sh"

# -- flags ------------------------------------------------------------------------------
help_flags=$(berth-api-server --help | grep -oE '^ +--[a-z-]+' | tr -d ' ' | sort -u)
man_flags=$(sed -n '/^\.SH OPTIONS/,/^\.SH [A-Z]/p' "$BERTH_TOP/man/berth-api-server.8" |
	grep -oE '\\-\\-[a-z\\-]*[a-z]' | sed 's/\\-/-/g' | sort -u)
t_eq "--help and the man page list the same flags" "$help_flags" "$man_flags"
t_match "--version" "$(berth-api-server --version)" '^berth-api-server [0-9]+\.[0-9]+'
t_fail "plain HTTP needs --insecure" berth-api-server --listen 127.0.0.1:0
t_fail "unknown flag fails" berth-api-server --insecure --no-such-flag

start_kube_sim
start_api_server

t_match "initial admin password created" "$ADMIN_PASSWORD" '^[A-Za-z0-9_-]{20,}$'
t_match "berth-secret holds a bcrypt admin password" \
	"$(k -n berth get secret berth-secret -o jsonpath='{.data.admin\.password}' | base64 -d)" '^\$2[aby]\$'

api GET /healthz
t_eq "healthz" "$CODE $BODY" "200 ok"
api GET /api/version
t_match "version" "$(jqb .Version)" '^[0-9]+\.[0-9]+'
api GET /metrics
t_match "metrics" "$BODY" 'berth_api_server_http_requests_total'

# -- login ------------------------------------------------------------------------------
api GET /api/v1/applications
t_eq "no token: 401" "$CODE" 401
api POST /api/v1/session '{"username":"admin","password":"wrong"}'
t_eq "wrong password: 401" "$CODE" 401
t_eq "wrong password: the generic message" "$(jqb .error)" "invalid username or password"
api POST /api/v1/session "{\"username\":\"admin\",\"password\":\"$ADMIN_PASSWORD\"}" "" text/plain
t_eq "login with text/plain: 415 (CSRF)" "$CODE" 415
TOKEN=$(login admin "$ADMIN_PASSWORD")
t_match "admin logs in" "$TOKEN" '^eyJ'
hdrs=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' \
	--data "{\"username\":\"admin\",\"password\":\"$ADMIN_PASSWORD\"}" "$API/api/v1/session")
t_match "session cookie is HttpOnly and SameSite=Strict" "$hdrs" 'Set-Cookie: berth.token=eyJ[^;]*; Path=/; HttpOnly; SameSite=Strict'
cookie=$(echo "$hdrs" | sed -n 's/^Set-Cookie: berth.token=\([^;]*\);.*/\1/p' | tr -d '\r')
t_eq "cookie authenticates" "$(curl -s -o /dev/null -w '%{http_code}' -b "berth.token=$cookie" "$API/api/v1/applications")" 200
t_eq "cookie POST with text/plain: 415" "$(curl -s -o /dev/null -w '%{http_code}' -b "berth.token=$cookie" \
	-H 'Content-Type: text/plain' --data '{"metadata":{"name":"x"}}' "$API/api/v1/applications")" 415
api GET /api/v1/session/userinfo "" "$TOKEN"
t_eq "userinfo" "$(jqb '.loggedIn, .username' | tr '\n' ' ')" "true admin "

# -- applications -------------------------------------------------------------------------
app() { # name [project] [repo]
	printf '{"metadata":{"name":"%s"},"spec":{"project":"%s","source":{"repoURL":"%s","path":"guestbook","targetRevision":"HEAD"},"destination":{"server":"https://kubernetes.default.svc","namespace":"web"}}}' \
		"$1" "${2:-default}" "${3:-https://git.example/apps.git}"
}
api POST /api/v1/applications "$(app guestbook)" "$TOKEN"
t_eq "create app" "$CODE $(jqb .metadata.name)" "200 guestbook"
t_eq "the app is in Kubernetes" "$(k -n berth get applications.berth.dev guestbook -o jsonpath='{.spec.source.path}')" guestbook
api POST /api/v1/applications "$(app guestbook)" "$TOKEN"
t_eq "create twice: 409" "$CODE" 409
api POST /api/v1/applications '{"metadata":{"name":"bad"},"spec":{"destination":{"namespace":"x"}}}' "$TOKEN"
t_eq "invalid spec: 400" "$CODE" 400
t_match "invalid spec names the field" "$(jqb .error)" 'spec\.'
argo=$(app argo-app | jq -c '. + {apiVersion:"argoproj.io/v1alpha1",kind:"Application",metadata:{name:"argo-app",finalizers:["resources-finalizer.argocd.argoproj.io"]}}')
api POST /api/v1/applications "$argo" "$TOKEN"
t_eq "an Argo CD manifest is accepted" "$CODE $(jqb .apiVersion)" "200 berth.dev/v1alpha1"
t_eq "its finalizer is converted" "$(jqb '.metadata.finalizers[0]')" "resources-finalizer.berth.dev"
api GET /api/v1/applications/guestbook "" "$TOKEN"
t_eq "get app" "$CODE $(jqb .spec.destination.namespace)" "200 web"
api GET /api/v1/applications/nope "" "$TOKEN"
t_eq "missing app: 404 for admin" "$CODE" 404
api GET "/api/v1/applications/guestbook?refresh=hard" "" "$TOKEN"
t_eq "refresh=hard sets the annotation" "$(k -n berth get applications.berth.dev guestbook -o jsonpath='{.metadata.annotations.berth\.dev/refresh}')" hard
for i in 1 2 3 4 5; do api POST /api/v1/applications "$(app page-$i)" "$TOKEN"; done
api GET "/api/v1/applications?limit=3" "" "$TOKEN"
t_eq "page of 3" "$(jqb '.items | length')" 3
cont=$(jqb .metadata.continue)
api GET "/api/v1/applications?limit=3&continue=$cont" "" "$TOKEN"
t_eq "next page" "$(jqb '[.items[].metadata.name] | join(",")')" "page-2,page-3,page-4"
api GET "/api/v1/applications?search=page-" "" "$TOKEN"
t_eq "name search" "$(jqb '.items | length')" 5

# update
upd=$(app guestbook | jq -c '.spec.source.path = "guestbook-v2"')
api PUT /api/v1/applications/guestbook "$upd" "$TOKEN"
t_eq "update app" "$CODE $(jqb .spec.source.path)" "200 guestbook-v2"
api PUT /api/v1/applications/guestbook "$(app other)" "$TOKEN"
t_eq "update naming another app: 400" "$CODE" 400

# sync, terminate, rollback
api POST /api/v1/applications/guestbook/sync '{"revision":"main","prune":true}' "$TOKEN"
t_eq "sync writes the operation" "$CODE $(jqb '.operation.sync.revision, .operation.initiatedBy.username' | tr '\n' ' ')" "200 main admin "
api POST /api/v1/applications/guestbook/sync '{}' "$TOKEN"
t_eq "second sync while one is pending: 409" "$CODE" 409
api DELETE /api/v1/applications/guestbook/operation "" "$TOKEN"
t_eq "terminate without a running operation: 400" "$CODE" 400
k -n berth patch applications.berth.dev guestbook --type merge -p '{"operation":null}' >/dev/null
k -n berth patch applications.berth.dev guestbook --subresource status --type merge \
	-p '{"status":{"history":[{"id":1,"revision":"abc123","source":{"repoURL":"https://git.example/apps.git","path":"guestbook"},"deployedAt":"2026-01-01T00:00:00Z"}],"operationState":{"phase":"Running","operation":{"sync":{}},"startedAt":"2026-01-01T00:00:00Z"}}}' >/dev/null
api DELETE /api/v1/applications/guestbook/operation "" "$TOKEN"
t_eq "terminate a running operation" "$CODE" 200
t_eq "phase is Terminating" "$(k -n berth get applications.berth.dev guestbook -o jsonpath='{.status.operationState.phase}')" Terminating
api POST /api/v1/applications/guestbook/rollback '{"id":7}' "$TOKEN"
t_eq "rollback to an unknown id: 400" "$CODE" 400
api POST /api/v1/applications/guestbook/rollback '{"id":1}' "$TOKEN"
t_eq "rollback writes a sync to the entry's revision" "$CODE $(jqb .operation.sync.revision)" "200 abc123"
k -n berth patch applications.berth.dev guestbook --type merge -p '{"operation":null,"spec":{"syncPolicy":{"automated":{}}}}' >/dev/null
api POST /api/v1/applications/guestbook/rollback '{"id":1}' "$TOKEN"
t_eq "rollback refused while auto-sync is on" "$CODE" 400
t_match "rollback refusal says why" "$(jqb .error)" 'auto-sync'

# resource tree from the status when Redis has nothing
k -n berth patch applications.berth.dev guestbook --subresource status --type merge \
	-p '{"status":{"resources":[{"version":"v1","kind":"Service","namespace":"web","name":"gb","status":"Synced","health":{"status":"Healthy"}}]}}' >/dev/null
api GET /api/v1/applications/guestbook/resource-tree "" "$TOKEN"
t_eq "resource tree from the status" "$(jqb '.nodes[0].kind + "/" + .nodes[0].name')" "Service/gb"

# delete with cascade adds the finalizer
k -n berth patch applications.berth.dev page-5 --type merge -p '{"metadata":{"finalizers":["example.com/hold"]}}' >/dev/null
api DELETE "/api/v1/applications/page-5?cascade=true" "" "$TOKEN"
t_eq "delete with cascade" "$CODE" 200
t_match "cascade adds the resources finalizer" \
	"$(k -n berth get applications.berth.dev page-5 -o jsonpath='{.metadata.finalizers}')" 'resources-finalizer.berth.dev'
api DELETE "/api/v1/applications/page-4?cascade=false" "" "$TOKEN"
t_fail "delete without cascade removes the app" k -n berth get applications.berth.dev page-4

# -- projects ---------------------------------------------------------------------------
proj='{"metadata":{"name":"team"},"spec":{"sourceRepos":["https://git.example/team/*"],"destinations":[{"server":"https://kubernetes.default.svc","namespace":"team-*"}]}}'
api POST /api/v1/projects "$proj" "$TOKEN"
t_eq "create project" "$CODE" 200
teamapp() {
	printf '{"metadata":{"name":"%s"},"spec":{"project":"team","source":{"repoURL":"%s","path":"."},"destination":{"server":"https://kubernetes.default.svc","namespace":"%s"}}}' "$1" "$2" "$3"
}
api POST /api/v1/applications "$(teamapp t1 https://git.example/team/a.git team-a)" "$TOKEN"
t_eq "app inside its project's rules" "$CODE" 200
api POST /api/v1/applications "$(teamapp t2 https://git.example/other/a.git team-a)" "$TOKEN"
t_eq "project escape: foreign source repo refused" "$CODE" 403
api POST /api/v1/applications "$(teamapp t3 https://git.example/team/a.git kube-system)" "$TOKEN"
t_eq "project escape: foreign namespace refused" "$CODE" 403
t_fail "refused apps were not created" k -n berth get applications.berth.dev t2
api PUT /api/v1/applications/t1 "$(teamapp t1 https://git.example/team/a.git kube-system)" "$TOKEN"
t_eq "project escape by update refused" "$CODE" 403
t_eq "the app is unchanged" "$(k -n berth get applications.berth.dev t1 -o jsonpath='{.spec.destination.namespace}')" team-a
api POST /api/v1/applications "$(app ghost nosuchproject)" "$TOKEN"
t_eq "unknown project: 400" "$CODE" 400
api DELETE /api/v1/projects/team "" "$TOKEN"
t_eq "a project in use cannot be deleted" "$CODE" 409
api GET /api/v1/projects "" "$TOKEN"
t_eq "projects list has default and team" "$(jqb '[.items[].metadata.name] | sort | join(",")')" "default,team"

# -- repositories and clusters: no secret in any answer -------------------------------------
PLANTED=planted-$(head -c 9 /dev/urandom | base64 | tr -d '/+=')
api POST /api/v1/repositories "{\"repo\":\"https://git.example/private.git\",\"username\":\"bot\",\"password\":\"$PLANTED\"}" "$TOKEN"
t_eq "add repository" "$CODE $(jqb .repo)" "200 https://git.example/private.git"
t_eq "stored as a labelled Secret" "$(k -n berth get secret -l berth.dev/secret-type=repository -o jsonpath='{.items[0].data.password}' | base64 -d)" "$PLANTED"
api GET /api/v1/repositories "" "$TOKEN"
t_eq "list repositories" "$(jqb '.items[0].username')" bot
api GET "/api/v1/repositories/$(jq -rn --arg u https://git.example/private.git '$u|@uri')" "" "$TOKEN"
t_eq "get repository" "$CODE $(jqb .repo)" "200 https://git.example/private.git"
api POST /api/v1/clusters "{\"server\":\"https://10.0.0.1:6443\",\"name\":\"prod\",\"config\":{\"bearerToken\":\"$PLANTED-tok\"}}" "$TOKEN"
t_eq "add cluster" "$CODE $(jqb .name)" "200 prod"
api GET /api/v1/clusters "" "$TOKEN"
t_eq "clusters list has in-cluster and prod" "$(jqb '[.items[].name] | sort | join(",")')" "in-cluster,prod"
api POST /api/v1/applications "$(app on-prod | jq -c '.spec.destination = {name:"prod",namespace:"x"}')" "$TOKEN"
t_eq "app on a destination given by cluster name" "$CODE" 200
api GET /api/v1/settings
t_eq "settings without a session" "$CODE" 200
t_eq "settings carry only login-page keys" "$(jqb 'keys | join(",")')" "localLoginEnabled,url"

# -- webhooks -----------------------------------------------------------------------------
api POST /api/webhook '{"ref":"refs/heads/main","repository":{"html_url":"https://git.example/team/a","default_branch":"main"}}' "" application/json
t_eq "webhook without an event header: 400" "$CODE" 400
wh() { curl -s -w '\n%{http_code}' -H 'Content-Type: application/json' "$@" "$API/api/webhook"; }
out=$(wh -H 'X-GitHub-Event: push' --data '{"ref":"refs/heads/main","repository":{"html_url":"https://git.example/team/a","default_branch":"main"}}')
t_eq "GitHub push refreshes the matching app" "$(echo "$out" | head -1 | jq -r .refreshed) $(k -n berth get applications.berth.dev t1 -o jsonpath='{.metadata.annotations.berth\.dev/refresh}')" "1 normal"
out=$(wh -H 'X-GitHub-Event: push' --data '{"ref":')
t_eq "malformed webhook: 400" "${out##*$'\n'}" 400
head -c 1100000 /dev/zero | tr '\0' a >"$TEST_DIR/big"
out=$(wh -H 'X-GitHub-Event: push' --data-binary @"$TEST_DIR/big")
t_eq "oversized webhook: 413" "${out##*$'\n'}" 413
api GET /healthz
t_eq "still serving after the bad webhooks" "$CODE" 200

# -- logout -------------------------------------------------------------------------------
api DELETE /api/v1/session "" "$TOKEN"
t_eq "logout" "$CODE" 200
api GET /api/v1/applications "" "$TOKEN"
t_eq "token refused after logout" "$CODE" 401

# -- nothing leaked ----------------------------------------------------------------------
t_fail "the planted secret is in no response" grep -q "$PLANTED" "$TEST_DIR/responses"
t_fail "the planted secret is in no log line" grep -q "$PLANTED" "$TEST_DIR/api-server.log"
t_fail "the admin password is in no log line" grep -qF "$ADMIN_PASSWORD" "$TEST_DIR/api-server.log"
t_done
