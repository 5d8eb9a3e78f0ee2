#!/usr/bin/env bash
# berth-repo-server against the attacks of SECURITY.md: path traversal,
# symlinks, render isolation, resource exhaustion, subprocess abuse,
# credential leaks. Each is tried and must be refused with nothing leaked.
. "$(dirname "$0")/test-lib.sh"

start_git_http --auth alice:s3cret-pass
CANARY="canary-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
mkdir -p "$TEST_DIR/outside"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n' "$CANARY" >"$TEST_DIR/outside/secret.yaml"

# a repository with one honest app and many hostile ones
src=$TEST_DIR/src
mkdir -p "$src/good" "$src/chart/templates" "$src/kust" "$src/big" "$src/inner"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: good\n' >"$src/good/cm.yaml"
printf 'apiVersion: v2\nname: chart\nversion: 0.1.0\n' >"$src/chart/Chart.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  x: {{ .Values.x | quote }}\n' \
	>"$src/chart/templates/cm.yaml"
printf 'x: base\n' >"$src/chart/values.yaml"
printf 'resources:\n- ../../../../../../../../..%s\n' "$TEST_DIR/outside" >"$src/kust/kustomization.yaml"
# 3 MB of manifests against a 1 MB limit
python3 -c "
import sys
for i in range(3000):
    print('---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%d\ndata:\n  v: \"%s\"' % (i, 'x' * 1000))
" >"$src/big/many.yaml"
ln -s ../good/cm.yaml "$src/inner/link.yaml" # a symlink that stays inside is fine
mkdir -p "$src/endless"
printf 'local loop(n) = loop(n + 1) tailstrict;\n[loop(0)]\n' >"$src/endless/main.jsonnet"
make_repo hostile "$src"

# symlink attacks, one repository each
mkdir -p "$TEST_DIR/l1" "$TEST_DIR/l2/app" "$TEST_DIR/l3/chart/templates"
ln -s "$TEST_DIR/outside" "$TEST_DIR/l1/etc-link"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n' >"$TEST_DIR/l2/app/a.yaml"
ln -s hop2 "$TEST_DIR/l2/app/hop1"
ln -s ../../../../../../../../../../.. "$TEST_DIR/l2/app/hop2"
cp "$src/chart/Chart.yaml" "$TEST_DIR/l3/chart/"
ln -s "$TEST_DIR/outside/secret.yaml" "$TEST_DIR/l3/chart/templates/leak.yaml"
make_repo link-abs "$TEST_DIR/l1"
make_repo link-chain "$TEST_DIR/l2"
make_repo link-chart "$TEST_DIR/l3"

run_bg repo-server berth-repo-server --listen 127.0.0.1:0 --cache-dir "$TEST_DIR/cache" --work-dir "$TEST_DIR/work" \
	--max-manifest-bytes 1M --max-request-bytes 64k --exec-timeout 8s
# port 0: the server picks a free port and logs it (no race with other tests)
wait_for_line "$TEST_DIR/repo-server.log" 'berth-repo-server ready' 60
port=$(sed -n 's/.*berth-repo-server ready.* port=\([0-9]*\).*/\1/p' "$TEST_DIR/repo-server.log" | head -1)
RS=http://127.0.0.1:$port
if ! wait_for "repo server answers" 60 curl -sf "$RS/healthz"; then
	sed 's/^/# server: /' "$TEST_DIR/repo-server.log"
	t_done
fi

repo() { echo "{\"url\":\"$GIT_HTTP_AUTH_URL/$1.git\",\"username\":\"$GIT_HTTP_USER\",\"password\":\"$GIT_HTTP_PASS\"}"; }
post() {
	curl -s -o "$TEST_DIR/out.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		--data-binary "$1" "$RS/v1/manifests"
	cat "$TEST_DIR/out.json" >>"$TEST_DIR/all-responses.txt"
	echo >>"$TEST_DIR/all-responses.txt"
}
out() { jq -r "$1" "$TEST_DIR/out.json"; }
H=$(repo hostile)

# refused DESC EXPECTED-CODE REGEX BODY
refused() {
	local code
	code=$(post "$4")
	t_eq "$1: HTTP $2" "$code" "$2"
	t_match "$1: says why" "$(out .error)" "$3"
}

code=$(post "{\"repo\":$H,\"path\":\"good\"}")
t_eq "honest app renders" "$code:$(out '.manifests | length')" "200:1"
code=$(post "{\"repo\":$H,\"path\":\"inner\"}")
t_eq "symlink inside the repository is fine" "$code:$(out '.manifests[0].metadata.name')" "200:good"

# ---- path traversal ------------------------------------------------------------
refused "app path ../" 403 'outside repository root' "{\"repo\":$H,\"path\":\"../\"}"
refused "app path good/../../.." 403 'outside repository root' "{\"repo\":$H,\"path\":\"good/../../..\"}"
refused "absolute app path" 403 'outside repository root' "{\"repo\":$H,\"path\":\"$TEST_DIR/outside\"}"
refused "app path %2e%2e" 403 'outside repository root' "{\"repo\":$H,\"path\":\"%2e%2e/%2e%2e\"}"
refused "helm valueFiles ../" 403 'outside repository root' \
	"{\"repo\":$H,\"path\":\"chart\",\"source\":{\"helm\":{\"valueFiles\":[\"../../../../../../../..$TEST_DIR/outside/secret.yaml\"]}}}"
refused "helm valueFiles absolute" 403 'outside repository root' \
	"{\"repo\":$H,\"path\":\"chart\",\"source\":{\"helm\":{\"valueFiles\":[\"$TEST_DIR/outside/secret.yaml\"]}}}"
refused "helm valueFiles file://" 403 'outside repository root' \
	"{\"repo\":$H,\"path\":\"chart\",\"source\":{\"helm\":{\"valueFiles\":[\"file://$TEST_DIR/outside/secret.yaml\"]}}}"
refused "jsonnet library path ../" 403 'outside repository root' \
	"{\"repo\":$H,\"path\":\"good\",\"source\":{\"directory\":{\"jsonnet\":{\"libs\":[\"../../../../../..$TEST_DIR/outside\"]}}}}"
refused "kustomize resource outside" 403 'outside repository root' "{\"repo\":$H,\"path\":\"kust\"}"
refused "file:// repository URL" 400 'only http' "{\"repo\":{\"url\":\"file://$GIT_ROOT/hostile.git\"},\"path\":\"good\"}"

# ---- symlinks --------------------------------------------------------------------
refused "symlink to an outside folder" 403 'outside the repository root' "{\"repo\":$(repo link-abs),\"path\":\".\"}"
refused "chain of symlinks" 403 'outside the repository root' "{\"repo\":$(repo link-chain),\"path\":\"app\"}"
refused "symlink inside a chart" 403 'outside the repository root' "{\"repo\":$(repo link-chart),\"path\":\"chart\"}"

# ---- resource exhaustion -------------------------------------------------------------
refused "manifests over --max-manifest-bytes" 413 'more than|limit' "{\"repo\":$H,\"path\":\"big\"}"
big_body="{\"repo\":$H,\"path\":\"good\",\"pad\":\"$(head -c 100000 /dev/zero | tr '\0' x)\"}"
code=$(post "$big_body")
t_eq "request body over --max-request-bytes: 413" "$code" 413
nested=$(printf '[%.0s' $(seq 1 5000))
code=$(post "$nested")
t_eq "deeply nested JSON body: 400" "$code" 400
refused "endless Jsonnet stopped at --exec-timeout" 504 'longer than' "{\"repo\":$H,\"path\":\"endless\"}"
t_ok "server keeps serving" curl -sf "$RS/healthz"

# ---- subprocess abuse ------------------------------------------------------------------
refused "helm parameter named like a flag" 400 'parameter' \
	"{\"repo\":$H,\"path\":\"chart\",\"source\":{\"helm\":{\"parameters\":[{\"name\":\"--post-renderer\",\"value\":\"/bin/sh\"}]}}}"
refused "release name that is a flag" 400 'release name' \
	"{\"repo\":$H,\"path\":\"chart\",\"source\":{\"helm\":{\"releaseName\":\"--post-renderer=/bin/sh\"}}}"
refused "namespace that is a flag" 400 'namespace' "{\"repo\":$H,\"path\":\"chart\",\"namespace\":\"--kubeconfig=/x\"}"
code=$(post "{\"repo\":$H,\"path\":\"chart\",\"appName\":\"shell\",\"source\":{\"helm\":{\"parameters\":[{\"name\":\"x\",\"value\":\"\$(touch $TEST_DIR/pwned);\`touch $TEST_DIR/pwned\`\"}]}}}")
t_eq "shell syntax in a value is data" "$code" 200
t_match "value passed through literally" "$(out '.manifests[0].data.x')" 'touch'
t_fail "no shell ran" test -e "$TEST_DIR/pwned"

# ---- nothing leaked ---------------------------------------------------------------------
t_fail "no byte of outside files in responses" grep -q "$CANARY" "$TEST_DIR/all-responses.txt"
t_fail "no byte of outside files in the log" grep -q "$CANARY" "$TEST_DIR/repo-server.log"
t_fail "password never in responses" grep -q "$GIT_HTTP_PASS" "$TEST_DIR/all-responses.txt"
t_fail "password never in the log" grep -q "$GIT_HTTP_PASS" "$TEST_DIR/repo-server.log"
t_ok "work dir in use" test -d "$TEST_DIR/work"
t_eq "every private checkout removed" "$(find "$TEST_DIR/work" -mindepth 1 -maxdepth 1 | wc -l)" 0

t_done
