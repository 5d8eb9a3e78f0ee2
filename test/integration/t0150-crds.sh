#!/usr/bin/env bash
# The CustomResourceDefinitions in manifests/crds/: they parse as Kubernetes
# objects (kubectl, offline), have the names, scope, status subresource and
# printer columns Argo CD users expect, form a structural schema, and declare
# every field Berth's model writes, so the API server's pruning never drops
# one (checked against the model's test fixtures, statically and through
# kube-sim, which prunes custom resources by their schema as a real API
# server does).
. "$(dirname "$0")/test-lib.sh"

crds=$BERTH_TOP/manifests/crds
data=$BERTH_TOP/test/data/model

# kubectl --local parses the files without a cluster.
app_json=$TEST_DIR/app-crd.json
proj_json=$TEST_DIR/proj-crd.json
t_ok "kubectl parses application.yaml" \
	sh -c "kubectl label --local --dry-run=client -f '$crds/application.yaml' berth.dev/check=1 -o json > '$app_json'"
t_ok "kubectl parses appproject.yaml" \
	sh -c "kubectl label --local --dry-run=client -f '$crds/appproject.yaml' berth.dev/check=1 -o json > '$proj_json'"

t_eq "application CRD name" "$(jq -r .metadata.name "$app_json")" "applications.berth.dev"
t_eq "application group, kind, scope" \
	"$(jq -r '[.spec.group, .spec.names.kind, .spec.scope] | join(" ")' "$app_json")" \
	"berth.dev Application Namespaced"
t_eq "application short names" "$(jq -r '.spec.names.shortNames | join(",")' "$app_json")" "app,apps"
t_eq "application version v1alpha1 served and stored" \
	"$(jq -r '.spec.versions[] | [.name, .served, .storage] | join(" ")' "$app_json")" "v1alpha1 true true"
t_eq "application has the status subresource" \
	"$(jq -c '.spec.versions[0].subresources' "$app_json")" '{"status":{}}'
t_eq "application printer columns" \
	"$(jq -r '[.spec.versions[0].additionalPrinterColumns[] | .name + "=" + .jsonPath] | join(" ")' "$app_json")" \
	"Sync Status=.status.sync.status Health Status=.status.health.status Revision=.status.sync.revision Project=.spec.project Age=.metadata.creationTimestamp"
t_eq "appproject CRD name and short name" \
	"$(jq -r '.metadata.name + " " + (.spec.names.shortNames | join(","))' "$proj_json")" "appprojects.berth.dev proj"
t_eq "appproject has the status subresource" \
	"$(jq -c '.spec.versions[0].subresources' "$proj_json")" '{"status":{}}'

# Structural schema: every node says its type (or is int-or-string, or keeps
# unknown fields), and "properties" only appears on objects.
structural='
  [.spec.versions[0].schema.openAPIV3Schema
   | paths(type == "object") as $p | getpath($p) as $n
   | select($p | length == 0 or (.[-2] == "properties" or .[-1] == "items" or .[-1] == "additionalProperties"))
   | select(($n.type == null and ($n["x-kubernetes-int-or-string"] // false) == false)
            or ($n.properties != null and $n.type != "object"))
   | $p | map(tostring) | join(".")] | join(" ")'
t_eq "application schema is structural" "$(jq -r "$structural" "$app_json")" ""
t_eq "appproject schema is structural" "$(jq -r "$structural" "$proj_json")" ""

# Every field of an object must be declared with the right type, unless it
# sits under x-kubernetes-preserve-unknown-fields. Prints offending paths.
undeclared='
  def check($s; $v; $p):
    if ($s["x-kubernetes-preserve-unknown-fields"] // false) then empty
    elif ($v | type) == "object" then
      if $s.properties != null then
        ($v | to_entries[]) as $e
        | if $s.properties[$e.key] != null then check($s.properties[$e.key]; $e.value; $p + "." + $e.key)
          else $p + "." + $e.key + " (undeclared)" end
      elif $s.additionalProperties != null then
        ($v | to_entries[]) as $e | check($s.additionalProperties; $e.value; $p + "." + $e.key)
      elif $s.type == "object" then empty
      else $p + " (not an object)" end
    elif ($v | type) == "array" then
      if $s.type != "array" then $p + " (not a list)"
      else ($v | to_entries[]) as $e | check($s.items; $e.value; $p + "[" + ($e.key | tostring) + "]") end
    elif ($s["x-kubernetes-int-or-string"] // false) then empty
    elif (($v | type) == "string" and $s.type != "string")
         or (($v | type) == "number" and $s.type != "integer" and $s.type != "number")
         or (($v | type) == "boolean" and $s.type != "boolean") then
      $p + " (" + ($v | type) + " where the schema says " + ($s.type // "nothing") + ")"
    else empty end;
  [check($schema[0].spec.versions[0].schema.openAPIV3Schema; .; "")] | join(" ")'
for f in full-app.json argocd-helm-app.json; do
	t_eq "every field of $f is declared in the Application schema" \
		"$(jq -r --slurpfile schema "$app_json" "$undeclared" "$data/$f")" ""
done
t_eq "every field of project.json is declared in the AppProject schema" \
	"$(jq -r --slurpfile schema "$proj_json" "$undeclared" "$data/project.json")" ""

# The checker itself must catch an undeclared field and a wrong type.
t_match "the schema check reports an undeclared field" \
	"$(jq '.spec.source.bogus = 1' "$data/argocd-helm-app.json" | jq -r --slurpfile schema "$app_json" "$undeclared")" \
	"spec.source.bogus \(undeclared\)"
t_match "the schema check reports a wrong type" \
	"$(jq '.spec.revisionHistoryLimit = "ten"' "$data/argocd-helm-app.json" | jq -r --slurpfile schema "$app_json" "$undeclared")" \
	"spec.revisionHistoryLimit \(string where the schema says integer\)"
t_match "the structural check reports an untyped node" \
	"$(jq 'del(.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.project.type)' "$app_json" | jq -r "$structural")" \
	"properties.spec.properties.project"

# Through an API server: install the CRDs, create objects, read them back.
PORT=$(free_port)
run_bg kube-sim kube-sim --listen 127.0.0.1:$PORT --write-kubeconfig "$TEST_DIR/kubeconfig"
wait_for_line "$TEST_DIR/kube-sim.log" "kube-sim ready" 10 || { t_done; exit 1; }
export KUBECONFIG=$TEST_DIR/kubeconfig
k() { kubectl --request-timeout=10s "$@"; }

t_ok "kubectl create --dry-run=client accepts both CRDs" \
	k create --dry-run=client -f "$crds/application.yaml" -f "$crds/appproject.yaml"
t_ok "the CRDs install" k apply -f "$crds/application.yaml" -f "$crds/appproject.yaml"
wait_for "Application CRD is Established" 10 \
	sh -c "kubectl get crd applications.berth.dev -o jsonpath='{.status.conditions[?(@.type==\"Established\")].status}' | grep -qx True"
wait_for "kubectl knows the short name app" 10 k get app -A
t_ok "kubectl knows the short name proj" k get proj -A
echo '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"berth"}}' >"$TEST_DIR/ns.json"
t_ok "namespace berth is created" k create -f "$TEST_DIR/ns.json"

for f in full-app.json project.json; do
	jq 'del(.status) | .metadata.namespace = "berth" | del(.metadata.uid, .metadata.resourceVersion, .metadata.generation, .metadata.managedFields)' \
		"$data/$f" >"$TEST_DIR/in-$f"
	t_ok "create $f" k create -f "$TEST_DIR/in-$f"
done
t_eq "the Application spec survives the API server unpruned" \
	"$(k -n berth get app shop -o json | jq -S .spec)" "$(jq -S .spec "$TEST_DIR/in-full-app.json")"
t_eq "the Application operation survives unpruned" \
	"$(k -n berth get app shop -o json | jq -S .operation)" "$(jq -S .operation "$TEST_DIR/in-full-app.json")"
t_eq "the AppProject spec survives unpruned" \
	"$(k -n berth get proj team -o json | jq -S .spec)" "$(jq -S .spec "$TEST_DIR/in-project.json")"

# status is a subresource: written through /status, ignored on the main resource.
jq -c '{status: .status}' "$data/full-app.json" >"$TEST_DIR/status.json"
t_ok "status is written through the status subresource" \
	k -n berth patch app shop --subresource=status --type=merge --patch-file "$TEST_DIR/status.json"
t_eq "the whole status survives unpruned" \
	"$(k -n berth get app shop -o json | jq -S .status)" "$(jq -S .status "$data/full-app.json")"
t_ok "a status change through the main resource is ignored" \
	k -n berth patch app shop --type=merge -p '{"status":{"health":{"status":"Degraded"}}}'
t_eq "health is still what the subresource wrote" \
	"$(k -n berth get app shop -o jsonpath='{.status.health.status}')" "Progressing"

t_done
