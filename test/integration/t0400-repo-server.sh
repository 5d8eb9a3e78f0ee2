#!/usr/bin/env bash
# berth-repo-server against real Git servers (lighttpd + git-http-backend with
# basic auth, git daemon) and a real Redis: every renderable app of
# argocd-example-apps, revision resolution, new commits, the manifest cache.
. "$(dirname "$0")/test-lib.sh"

start_redis
start_git_http --auth alice:s3cret-pass
start_git_daemon
make_repo examples "$FIXTURES/argocd-example-apps"
git -C "$GIT_ROOT/examples.git" tag v1.0.0 main
git -C "$GIT_ROOT/examples.git" tag v1.2.0 main
git -C "$GIT_ROOT/examples.git" tag v2.0.0-rc.1 main
git -C "$GIT_ROOT/examples.git" branch release main

printf 'integration-test-secret-key-0123456789\n' >"$TEST_DIR/secret"
run_bg repo-server berth-repo-server --listen 127.0.0.1:0 --redis "$REDIS_ADDR" \
	--redis-password-file "$REDIS_PASSWORD_FILE" --server-secret-file "$TEST_DIR/secret" \
	--cache-dir "$TEST_DIR/cache" --work-dir "$TEST_DIR/work" --parallelism 4
# port 0: the server picks a free port and logs it (no race with other tests)
wait_for_line "$TEST_DIR/repo-server.log" 'berth-repo-server ready' 60
port=$(sed -n 's/.*berth-repo-server ready.* port=\([0-9]*\).*/\1/p' "$TEST_DIR/repo-server.log" | head -1)
RS=http://127.0.0.1:$port
if ! wait_for "repo server answers" 60 curl -sf "$RS/healthz"; then
	sed 's/^/# server: /' "$TEST_DIR/repo-server.log"
	t_done
fi

AUTH_URL=$GIT_HTTP_AUTH_URL/examples.git
REPO="{\"url\":\"$AUTH_URL\",\"username\":\"$GIT_HTTP_USER\",\"password\":\"$GIT_HTTP_PASS\"}"

# post ROUTE JSON — body to $TEST_DIR/out.json, prints the HTTP status
post() {
	curl -s -o "$TEST_DIR/out.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		--data-binary "$2" "$RS$1"
	cat "$TEST_DIR/out.json" >>"$TEST_DIR/all-responses.txt"
}
out() { jq -r "$1" "$TEST_DIR/out.json"; }
metric() { curl -s "$RS/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

# ---- every renderable app --------------------------------------------------
for spec in guestbook:2:Directory kustomize-guestbook:2:Kustomize sock-shop:29:Kustomize \
	pre-post-sync:4:Kustomize sync-waves:7:Directory helm-hooks:5:Directory \
	helm-guestbook:2:Helm jsonnet-guestbook:2:Jsonnet apps:14:Helm; do
	IFS=: read -r app n type <<<"$spec"
	code=$(post /v1/manifests "{\"repo\":$REPO,\"revision\":\"main\",\"path\":\"$app\",\"appName\":\"$app\",\"namespace\":\"demo\"}")
	t_eq "$app: HTTP 200" "$code" 200
	t_eq "$app: $n objects" "$(out '.manifests | length')" "$n"
	t_eq "$app: source type $type" "$(out .sourceType)" "$type"
done
t_eq "apps renders Applications" "$(out '[.manifests[].kind] | unique | join(",")')" "Application"

code=$(post /v1/manifests "{\"repo\":$REPO,\"path\":\"helm-guestbook\",\"appName\":\"gb\",\"namespace\":\"demo\",\"source\":{\"helm\":{\"valueFiles\":[\"values-production.yaml\"]}}}")
t_eq "helm-guestbook with values-production.yaml" "$code:$(out '.manifests | length')" "200:2"
t_eq "values-production.yaml applied (Service type)" \
	"$(out '.manifests[] | select(.kind == "Service") | .spec.type')" "LoadBalancer"
t_eq "release name is the app name" "$(out '.manifests[0].metadata.name')" "gb-helm-guestbook"

code=$(post /v1/manifests "{\"repo\":$REPO,\"path\":\"jsonnet-guestbook-tla\",\"appName\":\"t\",\"source\":{\"directory\":{\"jsonnet\":{\"tlas\":[{\"name\":\"name\",\"value\":\"tla-ui\"},{\"name\":\"replicas\",\"value\":\"3\",\"code\":true}]}}}}")
t_eq "jsonnet-guestbook-tla: 2 objects" "$code:$(out '.manifests | length')" "200:2"
t_eq "jsonnet TLAs applied" "$(out '[.manifests[] | select(.kind == "Deployment") | .metadata.name, .spec.replicas] | join(",")')" "tla-ui,3"

code=$(post /v1/manifests "{\"repo\":$REPO,\"path\":\"kustomize-guestbook\",\"appName\":\"k\",\"source\":{\"kustomize\":{\"namePrefix\":\"pre-\",\"images\":[\"gcr.io/google-samples/gb-frontend=example.com/gb:9.9\"],\"commonLabels\":{\"team\":\"blue\"}}}}")
t_eq "kustomize overrides: 200" "$code" 200
t_eq "kustomize namePrefix applied" "$(out '[.manifests[].metadata.name | startswith("pre-")] | all')" "true"
t_match "kustomize image override applied" "$(out '.manifests[] | select(.kind == "Deployment") | .spec.template.spec.containers[0].image')" '^example.com/gb:9.9$'
t_eq "kustomize commonLabels applied" "$(out '[.manifests[].metadata.labels.team] | unique | join(",")')" "blue"

code=$(post /v1/manifests "{\"repo\":{\"url\":\"$GIT_DAEMON_URL/examples.git\"},\"path\":\"guestbook\"}")
t_eq "guestbook over git daemon" "$code:$(out '.manifests | length')" "200:2"

code=$(post /v1/manifests "{\"repo\":$REPO,\"source\":{\"chart\":\"redis\",\"targetRevision\":\"1.0.0\"}}")
t_eq "Helm chart repositories are refused clearly: 501" "$code" 501

# ---- app details -------------------------------------------------------------
code=$(curl -s -o "$TEST_DIR/out.json" -w '%{http_code}' -X POST --data-binary "{\"repo\":$REPO,\"revision\":\"main\",\"path\":\"helm-guestbook\"}" "$RS/v1/app-details")
t_eq "app-details of a Helm app" "$code:$(out .sourceType)" "200:Helm"
t_match "app-details lists value files" "$(out '.helm.valueFiles | join(",")')" 'values-production.yaml'
t_match "app-details lists parameters" "$(out '[.helm.parameters[].name] | join(",")')" 'image.tag'
code=$(curl -s -o "$TEST_DIR/out.json" -w '%{http_code}' -X POST --data-binary "{\"repo\":$REPO,\"revision\":\"main\",\"path\":\"kustomize-guestbook\"}" "$RS/v1/app-details")
t_eq "app-details of a Kustomize app lists images" "$code:$(out '.kustomize.images | join(",")')" "200:gcr.io/google-samples/gb-frontend:v5"

# ---- revisions ---------------------------------------------------------------
main_sha=$(repo_head examples main)
resolve() { post /v1/resolve "{\"repo\":$REPO,\"revision\":\"$1\"}" >/dev/null; out .revision; }
t_eq "resolve HEAD" "$(resolve HEAD)" "$main_sha"
t_eq "resolve branch" "$(resolve release)" "$main_sha"
t_eq "resolve tag" "$(resolve v1.0.0)" "$main_sha"
t_eq "resolve full SHA" "$(resolve "$main_sha")" "$main_sha"
t_eq "resolve short SHA" "$(resolve "${main_sha:0:8}")" "$main_sha"
t_eq "resolve semver 1.*" "$(resolve '1.*')" "$main_sha"
t_eq "resolve semver range" "$(resolve '>=1.0.0 <2.0.0')" "$main_sha"
code=$(post /v1/resolve "{\"repo\":$REPO,\"revision\":\"no-such-branch\"}")
t_eq "unknown revision is 404" "$code" 404

# ---- cache: a repeat runs neither git nor a renderer ----------------------------
req="{\"repo\":$REPO,\"revision\":\"main\",\"path\":\"helm-guestbook\",\"appName\":\"cache-me\"}"
post /v1/manifests "$req" >/dev/null
first=$(cat "$TEST_DIR/out.json" | jq -c .manifests)
fetches=$(metric berth_repo_git_fetches_total)
lsr=$(metric berth_repo_git_ls_remote_total)
tools=$(metric berth_repo_tool_runs_total)
renders=$(metric 'berth_repo_renders_total{type="Helm"}')
code=$(post /v1/manifests "$req")
t_eq "repeat is a cache hit" "$code:$(out .cached)" "200:true"
t_eq "cached manifests are identical" "$(jq -c .manifests "$TEST_DIR/out.json")" "$first"
t_eq "cache hit ran no fetch" "$(metric berth_repo_git_fetches_total)" "$fetches"
t_eq "cache hit ran no ls-remote" "$(metric berth_repo_git_ls_remote_total)" "$lsr"
t_eq "cache hit ran no helm" "$(metric berth_repo_tool_runs_total)" "$tools"
t_eq "cache hit rendered nothing" "$(metric 'berth_repo_renders_total{type="Helm"}')" "$renders"
code=$(post /v1/manifests "${req%\}},\"noCache\":true}")
t_eq "noCache renders again" "$code:$(out .cached)" "200:false"

t_match "ls-remote answers shared through Redis" "$(redis_cli --scan --pattern 'berth:v1:lsremote:*' | head -1)" '^berth:v1:lsremote:[0-9a-f]+:[0-9a-f]+$'

# a forged cache entry is ignored and re-rendered
key=$(redis_cli --scan --pattern 'berth:v1:manifests:*' | head -1)
redis_cli SET "$key" '{"sourceType":"Directory","manifests":[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"evil"}}]}' >/dev/null
for k in $(redis_cli --scan --pattern 'berth:v1:manifests:*'); do
	redis_cli SET "$k" 'BC1-forged' >/dev/null
done
code=$(post /v1/manifests "$req")
t_eq "forged entry ignored: re-rendered" "$code:$(out .cached)" "200:false"
t_eq "forged entry not served" "$(out '[.manifests[].metadata.name] | index("evil")')" "null"
t_match "rejection counted" "$(metric berth_repo_cache_rejected_total)" '^[1-9]'

# ---- a new commit is seen -------------------------------------------------------
repo_commit examples "add a service" sh -c \
	'sed "s/guestbook-ui/guestbook-extra/" guestbook/guestbook-ui-svc.yaml >guestbook/extra-svc.yaml'
new_sha=$(repo_head examples main)
code=$(post /v1/manifests "{\"repo\":$REPO,\"revision\":\"main\",\"path\":\"guestbook\",\"noCache\":true}")
t_eq "new commit fetched" "$code:$(out .revision)" "200:$new_sha"
t_eq "new commit rendered" "$(out '.manifests | length')" "3"
code=$(post /v1/manifests "{\"repo\":$REPO,\"revision\":\"$main_sha\",\"path\":\"guestbook\"}")
t_eq "old commit still renders" "$code:$(out '.manifests | length')" "200:2"

# ---- credentials ---------------------------------------------------------------
code=$(post /v1/manifests "{\"repo\":{\"url\":\"$AUTH_URL\",\"username\":\"alice\",\"password\":\"wrong-Pa55word\"},\"revision\":\"main\",\"path\":\"guestbook\",\"noCache\":true}")
t_eq "wrong password is 401" "$code" 401
t_match "401 says authentication failed" "$(out .error)" 'authentication failed'
t_fail "401 does not echo the password" grep -q 'wrong-Pa55word' "$TEST_DIR/out.json"
code=$(post /v1/resolve "{\"repo\":{\"url\":\"$AUTH_URL\"},\"revision\":\"main\",\"noCache\":true}")
t_eq "no credentials is 401" "$code" 401
code=$(post /v1/manifests "{\"repo\":{\"url\":\"$AUTH_URL\"},\"revision\":\"$main_sha\",\"path\":\"guestbook\"}")
t_eq "a cached commit is not served without credentials" "$code" 401
code=$(post /v1/manifests "{\"repo\":{\"url\":\"$AUTH_URL\",\"username\":\"alice\",\"password\":\"wrong-Pa55word\"},\"revision\":\"$main_sha\",\"path\":\"helm-guestbook\",\"appName\":\"cache-me\"}")
t_eq "cached manifests are not served with wrong credentials" "$code" 401

# ---- Redis down: renders without cache ---------------------------------------------
stop_bg "$REDIS_PID"
code=$(post /v1/manifests "{\"repo\":$REPO,\"path\":\"guestbook\",\"appName\":\"no-redis\"}")
t_eq "renders with Redis down" "$code:$(out .cached):$(out '.manifests | length')" "200:false:3"
post /v1/manifests "{\"repo\":$REPO,\"path\":\"guestbook\",\"appName\":\"no-redis-2\"}" >/dev/null
t_eq "Redis outage logged once" "$(grep -c 'redis unavailable' "$TEST_DIR/repo-server.log")" 1
t_eq "redis_up metric is 0" "$(metric berth_repo_redis_up)" 0

# ---- nothing leaked ----------------------------------------------------------------
t_fail "password never in responses" grep -q "$GIT_HTTP_PASS" "$TEST_DIR/all-responses.txt"
t_fail "password never in the log" grep -q "$GIT_HTTP_PASS" "$TEST_DIR/repo-server.log"
t_fail "password never in metrics" bash -c "curl -s '$RS/metrics' | grep -q '$GIT_HTTP_PASS'"
t_ok "work dir in use" test -d "$TEST_DIR/work"
t_eq "private checkouts removed" "$(find "$TEST_DIR/work" -mindepth 1 -maxdepth 1 | wc -l)" 0

# ---- flags: --help and the man page agree --------------------------------------------
man=$BERTH_TOP/man/berth-repo-server.8
for flag in $(berth-repo-server --help | grep -oE -- '--[a-z-]+' | sort -u); do
	t_ok "man page documents $flag" grep -q -- "${flag//-/\\\\-}" "$man"
done

t_done
