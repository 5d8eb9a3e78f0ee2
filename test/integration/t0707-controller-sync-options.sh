#!/usr/bin/env bash
# Per-object sync options against kube-sim, seen from the cluster's side:
# Replace=true PUTs the whole object (a field added by hand is gone, while
# an ordinary three-way apply keeps it); ServerSideApply=true sends an apply
# patch as field manager "berth" and wins a conflict with another manager
# while that manager's other fields stay; PruneLast=true deletes after every
# wave of the sync while an ordinary prune runs in its own wave (writes
# ordered by kube-sim's global resourceVersion); Prune=false keeps a removed object through a sync with prune; Delete=false
# keeps an object when the app is deleted with the resources finalizer.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/controller-lib.sh"

mkdir -p "$TEST_DIR/src/opts"
cm() { # cm NAME WAVE OPTIONS KEY=VALUE
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  annotations:\n    berth.dev/sync-wave: "%s"\n' "$1" "$2"
	[ -n "$3" ] && printf '    berth.dev/sync-options: %s\n' "$3"
	printf 'data:\n  %s: "%s"\n' "${4%%=*}" "${4#*=}"
}
cm replace-me 0 Replace=true a=1 >"$TEST_DIR/src/opts/replace.yaml"
cm plain 0 "" a=1 >"$TEST_DIR/src/opts/plain.yaml"
cm ssa-cm 0 ServerSideApply=true owned=git >"$TEST_DIR/src/opts/ssa.yaml"
cm keep-me 0 Prune=false a=1 >"$TEST_DIR/src/opts/keep.yaml"
cm survivor 1 Delete=false a=1 >"$TEST_DIR/src/opts/survivor.yaml"
cm prune-last 0 PruneLast=true a=1 >"$TEST_DIR/src/opts/prune-last.yaml"
cm prune-early 0 "" a=1 >"$TEST_DIR/src/opts/prune-early.yaml"
make_repo examples "$TEST_DIR/src"
start_controller_stack || ctl_setup_failed

finished() { [ -n "$(app_field "$1" .status.operationState.finishedAt)" ] && [ "$(app_field "$1" '.operation // empty')" = "" ]; }
cmval() { k get configmap "$1" --show-managed-fields -o json | jq -r "$2"; }

app_apply opts opts manual '{"revisionHistoryLimit": 3}'
wait_for "opts compared" 60 bash -c "[ \"\$(kubectl -n berth get applications.berth.dev opts -o jsonpath='{.status.sync.status}')\" = OutOfSync ]"
sync_op opts '{"prune": true}'
wait_for "first sync finished" 60 finished opts
t_eq "first sync Succeeded" "$(app_field opts .status.operationState.phase)" "Succeeded"
for n in replace-me plain ssa-cm keep-me survivor prune-last prune-early; do
	t_ok "$n created" k get configmap "$n"
done

# ServerSideApply: field manager berth, operation Apply, owning data.owned
t_eq "ssa: berth manages the object by Apply" \
	"$(cmval ssa-cm '[.metadata.managedFields[] | select(.manager == "berth") | .operation] | join(",")')" "Apply"
t_eq "ssa: berth owns data.owned" \
	"$(cmval ssa-cm '[.metadata.managedFields[] | select(.manager == "berth") | .fieldsV1["f:data"] | has("f:owned")] | join(",")')" "true"
t_match "replace: last-applied written" "$(cmval replace-me '.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]')" '"replace-me"'

# hand edits: a field Git never set on the Replace=true and the plain object;
# another manager takes data.owned of ssa-cm by force and adds its own field
k patch configmap replace-me --type merge -p '{"data":{"manual":"x"}}' >/dev/null
k patch configmap plain --type merge -p '{"data":{"manual":"x"}}' >/dev/null
out=$(printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa-cm, namespace: default}\ndata: {owned: other}\n' |
	k apply --server-side --field-manager=other -f - 2>&1)
t_match "ssa: another manager conflicts on data.owned without force" "$out" '[Cc]onflict'
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa-cm, namespace: default}\ndata: {owned: other, extra: mine}\n' |
	k apply --server-side --field-manager=other --force-conflicts -f - >/dev/null
t_eq "ssa: the other manager took data.owned" "$(cmval ssa-cm .data.owned)" "other"

# record writes from here on (ConfigMaps in "default", by resourceVersion)
KS=http://127.0.0.1:$KS_PORT
run_bg watch-cm curl -sN "$KS/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=$(cmval ssa-cm .metadata.resourceVersion)"
echo '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"watch-marker","namespace":"default"}}' | k apply -f - >/dev/null
wait_for "watch stream open" 20 grep -q watch-marker "$TEST_DIR/watch-cm.log"

# Git: new values everywhere, a new object in wave 3, three objects removed
repo_commit examples "second version" bash -c '
sed -i "s/a: \"1\"/a: \"2\"/" opts/replace.yaml opts/plain.yaml
sed -i "s/owned: \"git\"/owned: \"git2\"/" opts/ssa.yaml
printf "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: wave3-new\n  annotations:\n    berth.dev/sync-wave: \"3\"\ndata:\n  a: \"1\"\n" >opts/wave3.yaml
git rm -q opts/keep.yaml opts/prune-last.yaml opts/prune-early.yaml'
k -n berth annotate applications.berth.dev opts berth.dev/refresh=hard --overwrite >/dev/null
wait_for "second version compared" 60 bash -c "kubectl -n berth get applications.berth.dev opts -o json |
	jq -e '.status.resources[] | select(.name == \"wave3-new\")' >/dev/null"
fin_before=$(app_field opts .status.operationState.finishedAt)
sync_op opts '{"prune": true}'
wait_for "second sync finished" 60 bash -c "[ \"\$(kubectl -n berth get applications.berth.dev opts -o jsonpath='{.status.operationState.finishedAt}')\" != '$fin_before' ]"
wait_for "second sync cleared" 30 finished opts
t_eq "second sync Succeeded" "$(app_field opts .status.operationState.phase)" "Succeeded"

t_eq "replace: Git's value" "$(cmval replace-me .data.a)" "2"
t_eq "replace: hand-added field gone (PUT of the whole object)" "$(cmval replace-me '.data.manual // "gone"')" "gone"
t_eq "plain: Git's value" "$(cmval plain .data.a)" "2"
t_eq "plain: hand-added field kept (three-way patch)" "$(cmval plain '.data.manual // "gone"')" "x"
t_eq "ssa: berth won the conflict on data.owned" "$(cmval ssa-cm .data.owned)" "git2"
t_eq "ssa: the other manager's field stays" "$(cmval ssa-cm .data.extra)" "mine"
t_eq "ssa: data.owned now belongs to berth only" \
	"$(cmval ssa-cm '[.metadata.managedFields[] | select(.fieldsV1["f:data"]["f:owned"] != null) | .manager] | join(",")')" "berth"
t_ok "Prune=false: removed object kept" k get configmap keep-me
t_fail "prune-early pruned" k get configmap prune-early
t_fail "prune-last pruned" k get configmap prune-last

# order of the writes of the second sync
rv_of() { jq -r --arg t "$1" --arg n "$2" 'select(.type == $t and .object.metadata.name == $n) | .object.metadata.resourceVersion' \
	"$TEST_DIR/watch-cm.log" 2>/dev/null | sort -n | tail -1; }
rv_new=$(rv_of ADDED wave3-new)
rv_early=$(rv_of DELETED prune-early)
rv_last=$(rv_of DELETED prune-last)
rv_max=$(jq -r 'select(.type != "BOOKMARK") | select(.object.metadata.name != "prune-last") | .object.metadata.resourceVersion' \
	"$TEST_DIR/watch-cm.log" 2>/dev/null | sort -n | tail -1)
echo "# rv: wave3-new added $rv_new, prune-early deleted $rv_early, prune-last deleted $rv_last, last other write $rv_max"
t_ok "writes recorded" test -n "$rv_new" -a -n "$rv_early" -a -n "$rv_last"
t_ok "wave-0 prune without PruneLast runs before wave 3 is applied" test "${rv_early:-0}" -lt "${rv_new:-0}"
t_ok "PruneLast prune runs after wave 3" test "${rv_last:-0}" -gt "${rv_new:-0}"
t_ok "PruneLast prune is the last write of the sync" test "${rv_last:-0}" -gt "${rv_max:-0}"

# Delete=false: deleting the app with the resources finalizer keeps survivor
k -n berth patch applications.berth.dev opts --type merge -p '{"metadata":{"finalizers":["resources-finalizer.berth.dev"]}}' >/dev/null
k -n berth delete applications.berth.dev opts --wait=false >/dev/null
wait_for "app deleted after its resources" 60 bash -c "! kubectl -n berth get applications.berth.dev opts >/dev/null 2>&1"
t_fail "finalizer deleted plain" k get configmap plain
t_fail "finalizer deleted wave3-new" k get configmap wave3-new
t_ok "Delete=false: survivor kept" k get configmap survivor

t_done
