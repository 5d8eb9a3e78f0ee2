#!/usr/bin/env bash
# manifests/install.yaml: it is what scripts/gen-install makes of
# manifests/crds/ and manifests/base/, the real kubectl applies it to a
# kube-sim cluster with every object created, the RBAC is as DESIGN.md
# promises (controller cluster-wide, API server namespaced + read, repo
# server nothing and no token), the daemons run with the flags they have and
# hardened security contexts, and a second apply changes nothing.
. "$(dirname "$0")/test-lib.sh"

inst=$BERTH_TOP/manifests/install.yaml
t_ok "install.yaml is up to date with manifests/crds and manifests/base" "$BERTH_TOP/scripts/gen-install" --check

# The check must notice a stale file.
mkdir -p "$TEST_DIR/copy/scripts" "$TEST_DIR/copy/manifests"
cp "$BERTH_TOP/scripts/gen-install" "$TEST_DIR/copy/scripts/"
cp -R "$BERTH_TOP/manifests/crds" "$BERTH_TOP/manifests/base" "$inst" "$TEST_DIR/copy/manifests/"
echo "# edited" >>"$TEST_DIR/copy/manifests/base/20-config.yaml"
t_fail "gen-install --check fails after a base file changed" "$TEST_DIR/copy/scripts/gen-install" --check

# Offline parse: every document is a Kubernetes object.
objs=$(kubectl label --local --dry-run=client -f "$inst" berth.dev/check=1 -o name 2>&1)
t_eq "kubectl parses every document" "$(echo "$objs" | wc -l)" "$(grep -c '^kind:' "$inst")"

start_kube_sim
out=$(kube apply -f "$inst" 2>&1)
t_eq "apply exits 0" "$?" 0
t_match "CRDs created" "$out" "customresourcedefinition.apiextensions.k8s.io/applications.berth.dev created"
t_match "namespace created" "$out" "namespace/berth created"
t_eq "every object created" "$(echo "$out" | grep -c ' created$')" "$(echo "$objs" | wc -l)"

# Every object is now in the cluster.
missing=0
while read -r o; do
	kind=${o%%/*} name=${o#*/}
	kube get -n berth "$kind" "$name" -o name >/dev/null 2>&1 || { echo "# missing $o"; missing=$((missing + 1)); }
done <<<"$objs"
t_eq "every object can be read back" "$missing" 0

t_ok "Applications can be listed in berth" kube get applications.berth.dev -n berth
t_ok "AppProjects can be listed in berth" kube get appprojects.berth.dev -n berth

# RBAC.
cr=$(kube get clusterrole berth-application-controller -o json)
t_eq "controller ClusterRole: every verb on everything" \
	"$(echo "$cr" | jq -c '.rules[0] | [.apiGroups, .resources, .verbs]')" '[["*"],["*"],["*"]]'
t_eq "controller ClusterRoleBinding names its ServiceAccount" \
	"$(kube get clusterrolebinding berth-application-controller -o jsonpath='{.subjects[0].namespace}/{.subjects[0].name}')" \
	berth/berth-application-controller
t_match "controller Role allows Leases" \
	"$(kube get role -n berth berth-application-controller -o json | jq -c '.rules[] | select(.apiGroups == ["coordination.k8s.io"])')" \
	'"resources":\["leases"\].*"update"'
srv=$(kube get role -n berth berth-server -o json)
t_match "API server Role covers applications and appprojects" "$(echo "$srv" | jq -c .rules)" '"applications".*"appprojects"'
t_match "API server Role covers secrets and configmaps" "$(echo "$srv" | jq -c .rules)" '"secrets","configmaps"'
t_eq "API server ClusterRole only reads" \
	"$(kube get clusterrole berth-server -o json | jq -c '[.rules[].verbs[]] | unique')" '["get","list","watch"]'
t_eq "nothing is bound to the repo server's ServiceAccount" \
	"$(kube get clusterrolebindings,rolebindings -A -o json | jq '[.items[].subjects[]? | select(.name == "berth-repo-server")] | length')" 0

# The repo server has no token.
t_eq "repo server ServiceAccount does not automount its token" \
	"$(kube get sa -n berth berth-repo-server -o jsonpath='{.automountServiceAccountToken}')" false
rs=$(kube get deploy -n berth berth-repo-server -o json)
t_eq "repo server pod does not automount a token" "$(echo "$rs" | jq .spec.template.spec.automountServiceAccountToken)" false
t_eq "repo server runs as its ServiceAccount" "$(echo "$rs" | jq -r .spec.template.spec.serviceAccountName)" berth-repo-server

# kube-sim's controllers run the Deployments: every one rolls out, and the
# repo server's pod has no token and nothing mounted at the token's path.
for d in berth-redis berth-repo-server berth-application-controller berth-server; do
	t_ok "$d rolls out" kube rollout status -n berth "deployment/$d" --timeout=30s
done
pod=$(kube get pods -n berth -l app.kubernetes.io/name=berth-repo-server -o json | jq '.items[0]')
t_eq "repo server pod: automountServiceAccountToken false" "$(echo "$pod" | jq .spec.automountServiceAccountToken)" false
t_eq "repo server pod: nothing under /var/run/secrets/kubernetes.io" \
	"$(echo "$pod" | jq '[.spec.containers[].volumeMounts[]?.mountPath | select(startswith("/var/run/secrets/kubernetes.io"))] | length')" 0

# Hardening and probes of every Deployment.
for d in berth-server berth-repo-server berth-application-controller berth-redis; do
	j=$(kube get deploy -n berth "$d" -o json)
	t_eq "$d: runAsNonRoot" "$(echo "$j" | jq .spec.template.spec.securityContext.runAsNonRoot)" true
	t_eq "$d: seccomp RuntimeDefault" "$(echo "$j" | jq -r .spec.template.spec.securityContext.seccompProfile.type)" RuntimeDefault
	t_eq "$d: every container drops ALL capabilities, read-only root, no escalation" \
		"$(echo "$j" | jq -c '[.spec.template.spec.containers[].securityContext | [.capabilities.drop, .readOnlyRootFilesystem, .allowPrivilegeEscalation]] | unique')" \
		'[[["ALL"],true,false]]'
done
for d in berth-server berth-repo-server berth-application-controller; do
	j=$(kube get deploy -n berth "$d" -o json)
	t_eq "$d: probes on /healthz" \
		"$(echo "$j" | jq -r '.spec.template.spec.containers[0] | [.readinessProbe.httpGet.path, .livenessProbe.httpGet.path] | join(" ")')" \
		"/healthz /healthz"
done

# The args are flags the binaries really have (their --help lists them).
for pair in berth-server:berth-api-server berth-repo-server:berth-repo-server \
	berth-application-controller:berth-app-controller; do
	d=${pair%%:*} b=${pair#*:}
	help=$("$BERTH_BIN/$b" --help)
	bad=""
	for f in $(kube get deploy -n berth "$d" -o json | jq -r '.spec.template.spec.containers[0].args[] | select(startswith("--"))'); do
		grep -q -- "^  $f\\b" <<<"$help" || bad="$bad $f"
	done
	t_eq "$d: every flag is in $b --help" "$bad" ""
	t_eq "$d: command is $b" "$(kube get deploy -n berth "$d" -o jsonpath='{.spec.template.spec.containers[0].command[0]}')" "$b"
done

# Redis password from Secret berth-redis, mounted into every daemon.
t_eq "redis reads its password from berth-redis" \
	"$(kube get deploy -n berth berth-redis -o json | jq -r '.spec.template.spec.containers[0].env[] | select(.name == "REDIS_PASSWORD") | .valueFrom.secretKeyRef.name')" \
	berth-redis
t_match "the shipped stream holds no Redis password" "$(grep -c 'kind: Secret$' "$inst" || true)" '^0$'
for d in berth-server berth-repo-server berth-application-controller; do
	t_eq "$d: gets the Redis password file" \
		"$(kube get deploy -n berth "$d" -o json | jq -r '.spec.template.spec.volumes[] | select(.name == "redis-auth") | .secret.secretName')" \
		berth-redis
done

# Network policies: only the daemons reach Redis, only two reach the repo server.
t_eq "Redis admits only the three daemons" \
	"$(kube get networkpolicy -n berth berth-redis -o json | jq -c '.spec.ingress[0].from[0].podSelector.matchExpressions[0].values | sort')" \
	'["berth-application-controller","berth-repo-server","berth-server"]'
t_eq "the repo server admits only the controller and the API server" \
	"$(kube get networkpolicy -n berth berth-repo-server -o json | jq -c '[(.spec.ingress[0].from[0].podSelector.matchExpressions[0].values | sort), .spec.ingress[0].ports[0].port]')" \
	'[["berth-application-controller","berth-server"],8081]'

t_eq "berth-cm has the default reconciliation timeout" \
	"$(kube get cm -n berth berth-cm -o jsonpath='{.data.timeout\.reconciliation}')" 180s
t_eq "berth-rbac-cm has a default policy" \
	"$(kube get cm -n berth berth-rbac-cm -o jsonpath='{.data.policy\.default}')" role:readonly

# A second apply is a no-op.
out=$(kube apply -f "$inst" 2>&1)
t_eq "second apply exits 0" "$?" 0
t_eq "second apply leaves every object unchanged" "$(echo "$out" | grep -vc ' unchanged$')" 0

t_done
