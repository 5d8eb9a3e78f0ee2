#!/usr/bin/env bash
# berth local plan: the sync order of the example apps Argo CD users know
# (sync waves, PreSync/PostSync hooks, Helm hooks), pruning, and errors.
. "$(dirname "$0")/test-lib.sh"

A=$FIXTURES/argocd-example-apps
cd "$TEST_DIR" || exit 1

out=$(berth local plan "$A/sync-waves/manifests.yaml")
t_eq "sync-waves: exit 0" "$?" 0
want="PreSync 0 Job/upgrade-sql-schema hook delete=BeforeHookCreation
Sync 0 Service/backend
Sync 0 ReplicaSet/backend
Sync 1 Job/maint-page-up hook delete=BeforeHookCreation
Sync 2 Service/frontend
Sync 2 ReplicaSet/frontend
Sync 3 Job/maint-page-down hook delete=BeforeHookCreation"
t_eq "sync-waves: order by phase, wave, kind" "$(tr -s ' ' <<<"$out")" "$want"

out=$(berth local plan "$A/helm-hooks/manifests.yaml")
want="PreSync -2 Job/upgrade-sql-schema hook delete=BeforeHookCreation
PreSync -1 Job/maint-page-up hook delete=BeforeHookCreation
Sync 0 ReplicaSet/frontend
Sync 2 Service/frontend
PostSync 0 Job/maint-page-down hook delete=BeforeHookCreation"
t_eq "helm-hooks: Helm hooks and weights map to phases and waves" "$(tr -s ' ' <<<"$out")" "$want"

# the same through the repo server's rendering (berth local render)
out=$(berth local render "$A/helm-hooks" | berth local plan -)
t_eq "helm-hooks rendered then planned: same order" "$(tr -s ' ' <<<"$out")" "$want"

out=$(berth local plan "$A/pre-post-sync/pre-sync-job.yaml" "$A/pre-post-sync/post-sync-job.yaml" \
	"$A/kustomize-guestbook/guestbook-ui-deployment.yaml" "$A/kustomize-guestbook/guestbook-ui-svc.yaml")
want="PreSync 0 Job/before hook delete=HookSucceeded
Sync 0 Service/guestbook-ui
Sync 0 Deployment/guestbook-ui
PostSync 0 Job/after hook delete=HookSucceeded"
t_eq "pre-post-sync: hooks around the app" "$(tr -s ' ' <<<"$out")" "$want"

# pruning: mirrored waves, PruneLast, Prune=false
cat >live.yaml <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: old-early, namespace: x}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: old-late
  namespace: x
  annotations: {argocd.argoproj.io/sync-wave: "3"}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: precious
  namespace: x
  annotations: {argocd.argoproj.io/sync-options: Prune=false}
YAML
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keep, namespace: x}\n' >desired.yaml
out=$(berth local plan --prune live.yaml desired.yaml)
want="Sync 0 ConfigMap/keep
Sync 0 ConfigMap/old-late prune
Sync 3 ConfigMap/old-early prune"
t_eq "prune: last wave created is pruned first; Prune=false kept" "$(tr -s ' ' <<<"$out")" "$want"
out=$(berth local plan --prune-last --prune live.yaml desired.yaml)
# after the last Sync wave, prune waves included (3), as gitops-engine does
want="Sync 0 ConfigMap/keep
Sync 4 ConfigMap/old-early prune
Sync 4 ConfigMap/old-late prune"
t_eq "--prune-last: prune after every wave" "$(tr -s ' ' <<<"$out")" "$want"

berth local plan -o json --prune live.yaml desired.yaml "$A/sync-waves/manifests.yaml" >out.json
t_eq "json: exit 0" "$?" 0
t_eq "json: task count" "$(jq '.tasks | length' out.json)" 10
t_eq "json: prune disabled counted" "$(jq .pruneDisabled out.json)" 1
t_ok "json: first task is the PreSync hook" jq -e '.tasks[0] | .phase == "PreSync" and .hook and .deletePolicies == "BeforeHookCreation"' out.json

printf 'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\n  annotations: {argocd.argoproj.io/hook: SyncFail}\n' >fail.yaml
out=$(berth local plan desired.yaml fail.yaml)
t_match "SyncFail hooks listed apart" "$out" $'# on failure:\nSyncFail +0 Job/j hook'

printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: w\n  annotations: {berth.dev/sync-wave: soon}\n' >badwave.yaml
berth local plan badwave.yaml >/dev/null 2>err.txt
t_eq "bad sync-wave: exit 2" "$?" 2
t_match "bad sync-wave: names the object and value" "$(cat err.txt)" 'ConfigMap/w.*"soon"'
berth local plan >/dev/null 2>&1
t_eq "no FILE: exit 2" "$?" 2
t_done
