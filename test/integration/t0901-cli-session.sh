#!/usr/bin/env bash
# A whole session with the berth CLI as a user would type it, against the
# real daemons on kube-sim: login, repo add (basic-auth Git server), app
# create with flags and with -f on an Argo CD manifest, sync, get, diff exit
# codes before and after a change in Git, history, rollback, wait, delete
# with cascade; and bad input (unknown app, bad flags, unreachable server,
# bad token, wrong password) → exit 2 with a clear message.
# Parts that need a daemon not built yet are skipped, saying so.
. "$(dirname "$0")/test-lib.sh"

# rc CMD... — print CMD's exit status (output discarded).
rc() {
	"$@" >/dev/null 2>&1
	echo $?
}

# ---- without a server ---------------------------------------------------
out=$(berth app list 2>&1)
t_eq "not logged in: exit 2" "$(rc berth app list)" 2
t_match "not logged in: says what to do" "$out" 'not logged in: run "berth login SERVER"'
dead=http://127.0.0.1:$(free_port)
out=$(berth app get web --server "$dead" --auth-token x 2>&1)
t_eq "unreachable server: exit 2" "$(rc berth app get web --server "$dead" --auth-token x)" 2
t_match "unreachable server: names the server" "$out" "cannot reach the API server at $dead"
t_eq "bad flag: exit 2" "$(rc berth app sync web --no-such-flag)" 2
t_match "bad flag: points to --help" "$(berth app sync web --no-such-flag 2>&1)" "Try 'berth app sync --help'"
t_eq "missing required flags: exit 2" "$(rc berth app create web --repo x --server "$dead" --auth-token x)" 2
t_eq "bad --timeout: exit 2" "$(rc berth app wait web --timeout soon)" 2
t_ok "completion script is valid bash" bash -n <(berth completion bash)
# complete WORD... — what completing the last word offers.
complete_words() {
	(
		# shellcheck disable=SC1090
		source <(berth completion bash)
		COMP_WORDS=(berth "$@")
		COMP_CWORD=$#
		_berth
		echo "${COMPREPLY[*]}"
	)
}
t_eq "completes a command group" "$(complete_words ap)" app
t_eq "completes a subcommand" "$(complete_words app sy)" sync
t_eq "completes a flag" "$(complete_words app sync --pr)" --prune

start_berth || t_done
if [ "$BERTH_HAVE_API" != 1 ]; then
	t_skip "session against the API server" "berth-api-server is not built yet"
	t_done
fi

# ---- login --------------------------------------------------------------
out=$(berth login "$BERTH_SERVER" --username admin --password wrong-password 2>&1)
t_eq "wrong password: exit 2" "$(rc berth login "$BERTH_SERVER" --username admin --password wrong-password)" 2
t_match "wrong password: clear message" "$out" "invalid username or password"
t_ok "login as admin" berth_login
cfg=$HOME/.config/berth/config
t_eq "contexts file is private" "$(stat -c %a "$cfg")" 600
t_match "version shows the server" "$(berth version 2>&1)" "berth-api-server"
t_match "bad token: asks to log in again" "$(berth app list --auth-token not-a-token 2>&1)" \
	'not logged in, or the session expired.*berth login'
t_eq "bad token: exit 2" "$(rc berth app list --auth-token not-a-token)" 2

# An expired session: a token the server itself would issue (HS256 with
# server.secretkey, iss berth) whose exp has passed.
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
key=$(kube -n "$BERTH_NS" get secret berth-secret -o jsonpath='{.data.server\.secretkey}' 2>/dev/null | base64 -d)
now=$(date +%s)
hdr=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
claims=$(printf '{"iss":"berth","sub":"admin","iat":%d,"nbf":%d,"exp":%d,"jti":"t0901-expired"}' \
	$((now - 7200)) $((now - 7200)) $((now - 3600)) | b64url)
sig=$(printf '%s.%s' "$hdr" "$claims" | openssl dgst -sha256 -hmac "$key" -binary | b64url)
expired=$hdr.$claims.$sig
t_eq "expired token: exit 2" "$(rc berth app list --auth-token "$expired")" 2
t_match "expired token: asks to log in again" "$(berth app list --auth-token "$expired" 2>&1)" \
	'not logged in, or the session expired.*berth login'

# ---- repository with basic auth -----------------------------------------
start_git_http --auth alice:t0901-pass
make_repo demo "$BERTH_TOP/examples"
REPO=$GIT_HTTP_AUTH_URL/demo.git
t_ok "repo add with credentials" berth repo add "$REPO" --username alice --password t0901-pass
out=$(berth repo list 2>&1)
t_match "repo list shows it" "$out" "$REPO"
t_fail "repo list never shows the password" grep -q t0901-pass <<<"$out"

# ---- create -------------------------------------------------------------
t_ok "app create with flags" berth app create web --repo "$REPO" --path web \
	--dest-server https://kubernetes.default.svc --dest-namespace demo-web --sync-option CreateNamespace=true
t_eq "creating it again fails" "$(rc berth app create web --repo "$REPO" --path web \
	--dest-server https://kubernetes.default.svc --dest-namespace demo-web)" 2
cat >"$TEST_DIR/argo-app.yaml" <<YAML
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web-staging
  namespace: argocd
spec:
  project: default
  source:
    repoURL: $REPO
    targetRevision: HEAD
    path: web-kustomize/overlays/staging
  destination:
    server: https://kubernetes.default.svc
    namespace: demo-staging
  syncPolicy:
    syncOptions:
      - CreateNamespace=true
YAML
t_ok "app create -f on an Argo CD manifest" berth app create -f "$TEST_DIR/argo-app.yaml"
list=$(berth app list -o json)
t_eq "app list -o json has both" "$(jq -r '.[].metadata.name' <<<"$list" | sort | tr '\n' ' ')" "web web-staging "
t_match "app list table" "$(berth app list)" "web-staging +https://kubernetes.default.svc +demo-staging +default"
t_eq "unknown app: exit 2" "$(rc berth app get no-such-app)" 2
t_match "unknown app: says not found" "$(berth app get no-such-app 2>&1)" 'application "no-such-app" not found'

# ---- projects, clusters, permissions ------------------------------------
t_ok "proj create" berth proj create team -d 'https://kubernetes.default.svc,team-*' -s "$REPO" --description "a team"
t_ok "proj add-source" berth proj add-source team 'https://git.example/*'
t_ok "proj add-destination" berth proj add-destination team https://kubernetes.default.svc shared
out=$(berth proj get team -o json)
t_eq "the project has both sources" "$(jq -r '.spec.sourceRepos | join(" ")' <<<"$out")" "$REPO https://git.example/*"
t_eq "the project has both destinations" "$(jq -r '[.spec.destinations[].namespace] | join(" ")' <<<"$out")" "team-* shared"
t_match "proj list" "$(berth proj list)" "team +a team +2 +2"
t_ok "proj delete" berth proj delete team
t_eq "deleted project: exit 2" "$(rc berth proj get team)" 2
ctx=$(kubectl config --kubeconfig "$BERTH_KUBECONFIG" current-context)
t_ok "cluster add from a kubeconfig context" berth cluster add "$ctx" --kubeconfig "$BERTH_KUBECONFIG" --name sim
t_match "cluster list shows it" "$(berth cluster list)" "$KUBE_SIM_URL +sim"
t_fail "cluster list never shows the token" grep -q "$KUBE_SIM_TOKEN" <<<"$(berth cluster list -o json)"
t_ok "cluster rm" berth cluster rm "$KUBE_SIM_URL"
t_eq "admin may sync: can-i yes → 0" "$(rc berth account can-i sync applications 'default/web')" 0
t_eq "can-i prints yes" "$(berth account can-i sync applications 'default/web')" yes

if [ "$BERTH_HAVE_CONTROLLER" != 1 ] || [ "$BERTH_HAVE_REPO" != 1 ]; then
	t_skip "sync, diff, history, rollback, delete" "berth-app-controller or berth-repo-server is not built yet"
	t_done
fi

# ---- sync, get, diff ----------------------------------------------------
out=$(berth app sync web --timeout 120 2>&1)
t_eq "app sync web succeeds" "$?" 0
t_match "sync prints per-resource results" "$out" "Deployment +demo-web +web"
t_match "sync prints the phase" "$out" "Phase: +Succeeded"
t_ok "the deployment exists" kube -n demo-web get deployment web
t_ok "app wait --health" berth app wait web --health --timeout 120
out=$(berth app get web)
t_match "app get: summary" "$out" "Sync Status: +Synced"
t_match "app get: resources table" "$out" "apps +Deployment +demo-web +web +Synced"
t_eq "app get -o json" "$(berth app get web -o json | jq -r .status.sync.status)" Synced
wait_for "app get -o tree shows the objects a Deployment owns" 60 \
	bash -c 'berth app get web --refresh -o tree | grep -q "^└─ReplicaSet/web-"' &&
	t_ok "app get -o tree" true
t_eq "app diff: no difference → 0" "$(rc berth app diff web)" 0

repo_commit demo "five replicas" sed -i 's/replicas: 2/replicas: 5/' web/deployment.yaml
out=$(berth app diff web --hard-refresh 2>&1)
t_eq "app diff after a change in Git → 1" "$?" 1
t_match "app diff shows the change" "$out" "replicas: 5"
t_ok "sync the change" berth app sync web --timeout 120
t_eq "five replicas live" "$(kube -n demo-web get deployment web -o jsonpath='{.spec.replicas}')" 5
t_eq "app diff: in sync again → 0" "$(rc berth app diff web)" 0

# ---- history and rollback -----------------------------------------------
hist=$(berth app history web -o json)
t_eq "two deployments in history" "$(jq length <<<"$hist")" 2
first=$(jq -r '.[0].id' <<<"$hist")
t_match "history table" "$(berth app history web)" "^ID +DATE +REVISION"
t_ok "rollback to the first deployment" berth app rollback web "$first" --timeout 120
t_eq "two replicas again" "$(kube -n demo-web get deployment web -o jsonpath='{.spec.replicas}')" 2
t_ok "app wait after rollback" berth app wait web --operation --health --timeout 120

# ---- Argo CD app, delete ------------------------------------------------
t_ok "sync the Argo CD app" berth app sync web-staging --timeout 120
t_ok "its overlay was applied" kube -n demo-staging get deployment staging-web
t_ok "app delete --cascade" berth app delete web --cascade -y
wait_for "deployment removed by cascade" 60 bash -c "! kubectl --kubeconfig '$BERTH_KUBECONFIG' -n demo-web get deployment web"
wait_for "application gone" 60 bash -c '! berth app get web'

# ---- password change and logout -----------------------------------------
t_ok "update-password" berth account update-password --current-password "$BERTH_ADMIN_PASSWORD" \
	--new-password t0901-new-pass
t_eq "the old session ends with the password change" "$(rc berth app list)" 2
t_eq "the old password no longer logs in" \
	"$(rc berth login "$BERTH_SERVER" --username admin --password "$BERTH_ADMIN_PASSWORD")" 2
t_ok "the new password logs in" berth login "$BERTH_SERVER" --username admin --password t0901-new-pass
t_ok "logout" berth logout
t_eq "after logout: not logged in" "$(rc berth app list)" 2
t_done
