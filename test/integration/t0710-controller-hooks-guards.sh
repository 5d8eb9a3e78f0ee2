#!/usr/bin/env bash
# What the issue asks of hooks and auto-sync that t0700–t0709 leave out:
# hook delete policies (BeforeHookCreation recreates the hook fresh on the
# next sync, HookSucceeded and Helm's hook-succeeded delete it after
# success, HookFailed after failure), Skip objects never applied; auto-sync
# never retries a revision that failed (without retry), refuses to prune
# every resource unless allowEmpty; a rollback is refused while auto-sync
# is on; ApplyOutOfSyncOnly=true leaves objects already in sync alone; a
# resource tracked by another app (whose name starts like this one's) is a
# SharedResourceWarning.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/controller-lib.sh"

S=$TEST_DIR/src
mkdir -p "$S/hooks" "$S/hookfail" "$S/empty" "$S/oos" "$S/shared"
job() { # job NAME IMAGE ANNOTATIONS(yaml flow map)
	printf 'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: %s\n  annotations: %s\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: c, image: "%s"}]\n' "$1" "$3" "$2"
}
cmap() { printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  annotations: %s\ndata: {a: "1"}\n' "$1" "${2:-{\}}"; }
cmap hooked-cm >"$S/hooks/cm.yaml"
job pre-hook busybox:1.36 '{berth.dev/hook: PreSync}' >"$S/hooks/pre.yaml"
job post-hook busybox:1.36 '{berth.dev/hook: PostSync, berth.dev/hook-delete-policy: HookSucceeded}' >"$S/hooks/post.yaml"
job helm-pre busybox:1.36 '{helm.sh/hook: pre-install, helm.sh/hook-delete-policy: hook-succeeded}' >"$S/hooks/helm.yaml"
cmap skipped '{berth.dev/hook: Skip}' >"$S/hooks/skip.yaml"
job fail-hook busybox:fail '{berth.dev/hook: PreSync, berth.dev/hook-delete-policy: HookFailed}' >"$S/hookfail/pre.yaml"
cmap never >"$S/hookfail/cm.yaml"
cmap lonely >"$S/empty/cm.yaml"
echo "not a manifest" >"$S/empty/README.md"
cmap oos-a '{berth.dev/sync-options: Replace=true}' >"$S/oos/a.yaml"
cmap oos-b '{berth.dev/sync-options: Replace=true}' >"$S/oos/b.yaml"
cmap shared-cm >"$S/shared/cm.yaml"
make_repo examples "$S"
start_controller_stack || ctl_setup_failed

finished() { [ -n "$(app_field "$1" .status.operationState.finishedAt)" ] && [ "$(app_field "$1" '.operation // empty')" = "" ]; }
compared() { [ "$(app_field "$1" .status.sync.status)" = "$2" ]; }
refreshed() { # refreshed APP — ask for a compare and wait until it was done
	k -n berth annotate applications.berth.dev "$1" berth.dev/refresh=normal --overwrite >/dev/null
	wait_for "$1 refreshed" 30 bash -c "[ -z \"\$(kubectl -n berth get applications.berth.dev $1 -o jsonpath='{.metadata.annotations.berth\\.dev/refresh}')\" ]"
}

# ---- hook delete policies, Skip
app_apply hooks hooks manual
wait_for "hooks compared" 60 compared hooks OutOfSync
sync_op hooks
wait_for "hooks: first sync finished" 60 finished hooks
t_eq "hooks: first sync Succeeded" "$(app_field hooks .status.operationState.phase)" "Succeeded"
t_ok "hooks: resource applied" k get configmap hooked-cm
t_ok "BeforeHookCreation: hook kept after success" k get job pre-hook
wait_for "HookSucceeded: hook deleted after success" 30 bash -c "! kubectl get job post-hook >/dev/null 2>&1"
wait_for "helm hook-succeeded: hook deleted after success" 30 bash -c "! kubectl get job helm-pre >/dev/null 2>&1"
t_fail "Skip: object never applied" k get configmap skipped
uid1=$(k get job pre-hook -o jsonpath='{.metadata.uid}')
fin1=$(app_field hooks .status.operationState.finishedAt)
sync_op hooks
wait_for "hooks: second sync finished" 60 bash -c "[ \"\$(kubectl -n berth get applications.berth.dev hooks -o jsonpath='{.status.operationState.finishedAt}')\" != '$fin1' ]"
wait_for "hooks: second sync cleared" 30 finished hooks
t_eq "hooks: second sync Succeeded" "$(app_field hooks .status.operationState.phase)" "Succeeded"
uid2=$(k get job pre-hook -o jsonpath='{.metadata.uid}')
t_ok "BeforeHookCreation: a fresh hook on the next sync" test -n "$uid2" -a "$uid1" != "$uid2"

# ---- HookFailed, and a failed revision is not retried by auto-sync
app_apply hookfail hookfail automated
wait_for "hookfail: auto-sync finished" 60 finished hookfail
t_eq "hookfail: operation Failed" "$(app_field hookfail .status.operationState.phase)" "Failed"
wait_for "HookFailed: hook deleted after failure" 30 bash -c "! kubectl get job fail-hook >/dev/null 2>&1"
t_fail "hookfail: Sync-phase resource not applied" k get configmap never
started=$(app_field hookfail .status.operationState.startedAt)
refreshed hookfail
refreshed hookfail
t_eq "failed revision not retried by auto-sync" "$(app_field hookfail .status.operationState.startedAt)" "$started"
t_eq "hookfail: still OutOfSync" "$(app_field hookfail .status.sync.status)" "OutOfSync"

# ---- allowEmpty
app_apply empty empty automated
wait_app empty Synced Healthy 60
repo_commit examples "empty the app" git rm -q empty/cm.yaml
k -n berth annotate applications.berth.dev empty berth.dev/refresh=hard --overwrite >/dev/null
wait_for "empty: Git change seen" 60 compared empty OutOfSync
wait_for_line "$CTL_LOG" "auto-sync refused: it would prune every resource" 30
refreshed empty
t_ok "without allowEmpty nothing is pruned" k get configmap lonely
k -n berth patch applications.berth.dev empty --type merge \
	-p '{"spec":{"syncPolicy":{"automated":{"prune":true,"selfHeal":true,"allowEmpty":true}}}}' >/dev/null
wait_for "with allowEmpty the last resource is pruned" 60 bash -c "! kubectl get configmap lonely >/dev/null 2>&1"

# ---- rollback is refused while auto-sync is on
wait_for "empty: prune recorded in history" 30 bash -c "[ \"\$(kubectl -n berth get applications.berth.dev empty -o json | jq '.status.history | length')\" = 2 ]"
rev1=$(app_field empty '.status.history[0].revision')
src=$(app_field empty '.status.history[0].source' | jq -c .)
k -n berth patch applications.berth.dev empty --type merge \
	-p "{\"operation\":{\"sync\":{\"revision\":\"$rev1\",\"source\":$src},\"initiatedBy\":{\"username\":\"tester\"}}}" >/dev/null
wait_for_line "$CTL_LOG" "rollback refused: auto-sync is on" 30
wait_for "refused rollback request cleared" 30 bash -c "[ \"\$(kubectl -n berth get applications.berth.dev empty -o json | jq -c '.operation')\" = null ]"
t_fail "refused rollback brought nothing back" k get configmap lonely
t_eq "refused rollback adds no history" "$(app_field empty '.status.history | length')" "2"

# ---- ApplyOutOfSyncOnly (objects with Replace=true would otherwise be PUT)
app_apply oos oos manual
wait_for "oos compared" 60 compared oos OutOfSync
sync_op oos
wait_for "oos: first sync finished" 60 finished oos
k patch configmap oos-a --type merge -p '{"data":{"manual":"x"}}' >/dev/null
k patch configmap oos-b --type merge -p '{"data":{"manual":"x"}}' >/dev/null
repo_commit examples "oos-a changes" sed -i 's/a: "1"/a: "2"/' oos/a.yaml
k -n berth annotate applications.berth.dev oos berth.dev/refresh=hard --overwrite >/dev/null
wait_for "oos: change seen" 60 compared oos OutOfSync
fin1=$(app_field oos .status.operationState.finishedAt)
sync_op oos '{"syncOptions": ["ApplyOutOfSyncOnly=true"]}'
wait_for "oos: second sync finished" 60 bash -c "[ \"\$(kubectl -n berth get applications.berth.dev oos -o jsonpath='{.status.operationState.finishedAt}')\" != '$fin1' ]"
t_eq "oos: second sync Succeeded" "$(app_field oos .status.operationState.phase)" "Succeeded"
t_eq "out-of-sync object replaced" "$(k get configmap oos-a -o json | jq -r '.data.a + "/" + (.data.manual // "gone")')" "2/gone"
t_eq "in-sync object left alone" "$(k get configmap oos-b -o json | jq -r '.data.a + "/" + (.data.manual // "gone")')" "1/x"

# ---- a resource another app tracks
app_apply owner-b shared manual
wait_for "owner-b compared" 60 compared owner-b OutOfSync
sync_op owner-b
wait_for "owner-b synced" 60 finished owner-b
t_match "shared-cm tracked by owner-b" "$(k get configmap shared-cm -o jsonpath='{.metadata.annotations.berth\.dev/tracking-id}')" '^owner-b:'
app_apply owner shared manual
wait_for "owner warns about the shared resource" 60 bash -c \
	"kubectl -n berth get applications.berth.dev owner -o json | jq -e '.status.conditions[]? | select(.type == \"SharedResourceWarning\")' >/dev/null"
t_match "warning names both apps" "$(app_field owner '.status.conditions[] | select(.type == "SharedResourceWarning") | .message')" 'owner.*owner-b'

t_done
