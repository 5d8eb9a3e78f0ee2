#!/usr/bin/env bash
# berth-app-controller with real Redis, a real Git server, kube-sim and the
# real repo server: the guestbook app becomes Synced/Healthy with tracking
# ids and last-applied on its objects; a commit changing replicas is
# auto-synced; `kubectl scale` drift is OutOfSync then healed; a file
# removed from Git is pruned (only with prune).
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/controller-lib.sh"

make_repo examples "$FIXTURES/argocd-example-apps"
start_controller_stack || ctl_setup_failed

t_ok "CRDs installed by --install-crds" k get crd applications.berth.dev appprojects.berth.dev
t_ok "healthz answers" curl -sf "http://127.0.0.1:$CTL_PORT/healthz"

app_apply guestbook guestbook automated
wait_app guestbook Synced Healthy 60
t_eq "Deployment carries the tracking id" \
	"$(k get deploy guestbook-ui -o jsonpath='{.metadata.annotations.berth\.dev/tracking-id}')" \
	"guestbook:apps/Deployment:default/guestbook-ui"
t_eq "Service carries the tracking id" \
	"$(k get svc guestbook-ui -o jsonpath='{.metadata.annotations.berth\.dev/tracking-id}')" \
	"guestbook:/Service:default/guestbook-ui"
la=$(k get deploy guestbook-ui -o jsonpath='{.metadata.annotations.kubectl\.kubernetes\.io/last-applied-configuration}')
t_eq "last-applied holds the desired object" "$(echo "$la" | jq -r '.spec.replicas, .metadata.name' | tr '\n' ' ')" "1 guestbook-ui "
t_eq "status lists two resources, both Synced" \
	"$(app_field guestbook '[.status.resources[] | .kind + ":" + .status] | sort | join(",")')" \
	"Deployment:Synced,Service:Synced"
t_eq "history has one entry at the commit" "$(app_field guestbook '.status.history | length'):$(app_field guestbook '.status.history[0].revision')" \
	"1:$(repo_head examples)"
t_eq "operation cleared" "$(app_field guestbook '.operation')" "null"
t_eq "operationState Succeeded" "$(app_field guestbook '.status.operationState.phase')" "Succeeded"

t_eq "resource tree stored in Redis" "$(redis_cli exists berth:v1:app:berth:guestbook:resource-tree)" "1"
t_eq "managed-resources stored in Redis" "$(redis_cli exists berth:v1:app:berth:guestbook:managed-resources)" "1"
t_eq "the old managed-diffs map is gone" "$(redis_cli exists berth:v1:app:berth:guestbook:managed-diffs)" "0"
mr=$(redis_view app:berth:guestbook:managed-resources)
t_eq "managed-resources items name both resources, Synced" \
	"$(echo "$mr" | jq -r '[.items[] | .group + "/" + .version + "/" + .kind + ":" + .namespace + "/" + .name + ":" + .status] | sort | join(",")')" \
	"/v1/Service:default/guestbook-ui:Synced,apps/v1/Deployment:default/guestbook-ui:Synced"
t_eq "items carry live and target states as JSON text" \
	"$(echo "$mr" | jq -r '.items[] | select(.kind == "Deployment") | (.liveState | fromjson | .metadata.name) + " " + (.targetState | fromjson | .spec.replicas | tostring) + " " + .health.status')" \
	"guestbook-ui 1 Healthy"
t_eq "a synced item has an empty diff" "$(echo "$mr" | jq -r '.items[0].diff')" ""
tree=$(redis_view app:berth:guestbook:resource-tree)
t_eq "tree: a ReplicaSet names its Deployment in parentRefs" \
	"$(echo "$tree" | jq -r '[.nodes[] | select(.kind == "ReplicaSet") | .parentRefs[0] | .group + "/" + .kind + "/" + .namespace + "/" + .name + ":" + (.uid | length > 0 | tostring)] | unique | join(",")')" \
	"apps/Deployment/default/guestbook-ui:true"
t_eq "tree: no parentUid left" "$(echo "$tree" | jq '[.nodes[] | select(has("parentUid"))] | length')" "0"

# no write loop: an unchanged app's resourceVersion stays still (its own
# status write does not make the controller compare again; an event of a
# live object that changes nothing Git sets does, and finds nothing to write)
rv1=$(app_field guestbook .metadata.resourceVersion)
k annotate deploy guestbook-ui example.com/touched=yes >/dev/null
wait_for "metrics show unchanged statuses" 20 bash -c \
	"curl -s http://127.0.0.1:$CTL_PORT/metrics | awk '\$1==\"berth_controller_status_unchanged_total\" && \$2>0 {f=1} END {exit !f}'"
t_eq "status not rewritten when unchanged" "$(app_field guestbook .metadata.resourceVersion)" "$rv1"

# a commit changes replicas → auto-sync
repo_commit examples "three replicas" sed -i 's/replicas: 1/replicas: 3/' guestbook/guestbook-ui-deployment.yaml
k -n berth annotate applications.berth.dev guestbook berth.dev/refresh=hard --overwrite >/dev/null
wait_for "replicas 3 applied" 60 bash -c "[ \"\$(kubectl get deploy guestbook-ui -o jsonpath='{.spec.replicas}')\" = 3 ]"
wait_app guestbook Synced Healthy 60
t_eq "synced revision is the new commit" "$(app_field guestbook .status.sync.revision)" "$(repo_head examples)"
t_eq "refresh annotation removed" "$(app_field guestbook '.metadata.annotations["berth.dev/refresh"]')" "null"

# drift: kubectl scale → self-heal restores
k scale deploy guestbook-ui --replicas=5 >/dev/null
wait_for "self-heal restores 3 replicas" 60 bash -c \
	"[ \"\$(kubectl get deploy guestbook-ui -o jsonpath='{.spec.replicas}')\" = 3 ]"
wait_app guestbook Synced Healthy 60

# a file removed from Git → pruned (automated prune is on)
repo_commit examples "drop the service" git rm -q guestbook/guestbook-ui-svc.yaml
k -n berth annotate applications.berth.dev guestbook berth.dev/refresh=hard --overwrite >/dev/null
wait_for "service pruned" 60 bash -c "! kubectl get svc guestbook-ui >/dev/null 2>&1"
wait_app guestbook Synced Healthy 60
t_ok "deployment still there" k get deploy guestbook-ui

t_done
