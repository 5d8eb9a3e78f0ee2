#!/usr/bin/env bash
# App-of-apps from the `apps` Helm chart fixture (its Applications turned
# into berth.dev ones by this test): the parent creates child Applications
# like any resource, the children sync themselves (CreateNamespace), the
# parent's health follows theirs; deleting a child with the resources
# finalizer deletes its resources first. A CRD and its custom resource in
# one app: the CRD is applied and Established before the resource.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/controller-lib.sh"

start_git_http || ctl_setup_failed
make_repo examples "$FIXTURES/argocd-example-apps"
repo_commit examples "berth app-of-apps and a CRD app" bash -c '
sed -i -e "s#argoproj.io/v1alpha1#berth.dev/v1alpha1#" -e "s#namespace: argocd#namespace: berth#" \
	-e "s#resources-finalizer.argocd.argoproj.io#resources-finalizer.berth.dev#" apps/templates/applications.yaml
cat >apps/values.yaml <<YAML
config:
  spec:
    destination:
      server: https://kubernetes.default.svc
    source:
      repoURL: '"$GIT_HTTP_URL"'/examples.git
      targetRevision: main
applications:
  - name: guestbook
  - name: kustomize-guestbook
YAML
mkdir -p crd-app
cat >crd-app/crd.yaml <<YAML
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
YAML
cat >crd-app/widget.yaml <<YAML
apiVersion: example.com/v1
kind: Widget
metadata: {name: sprocket}
spec: {size: 3}
YAML'
start_redis && start_kube_sim && \
	echo '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"berth"}}' | k apply -f - >/dev/null && \
	start_repo_server && start_controller || ctl_setup_failed

app_apply apps apps automated '{"destination":{"namespace":"berth"}}'
wait_app apps Synced Healthy 120
t_eq "parent created both child Applications" \
	"$(k -n berth get applications.berth.dev -o json | jq -r '[.items[].metadata.name] | sort | join(",")')" \
	"apps,example.guestbook,example.kustomize-guestbook"
wait_app example.guestbook Synced Healthy 90
wait_app example.kustomize-guestbook Synced Healthy 90
t_ok "child deployed into its own namespace (CreateNamespace)" k -n guestbook get deploy guestbook-ui
t_ok "second child deployed" k -n kustomize-guestbook get deploy kustomize-guestbook-ui
t_eq "parent lists its children with their health" \
	"$(app_field apps '[.status.resources[] | .name + "=" + .health.status] | sort | join(",")')" \
	"example.guestbook=Healthy,example.kustomize-guestbook=Healthy"

# delete a child directly: its finalizer deletes its resources, then it goes
# (the parent's self-heal then recreates it, which is what Argo CD does too)
k -n berth patch applications.berth.dev apps --type merge -p '{"spec":{"syncPolicy":null}}' >/dev/null
k -n berth delete applications.berth.dev example.guestbook --wait=false >/dev/null
wait_for "child's Deployment deleted by the finalizer" 60 bash -c "! kubectl -n guestbook get deploy guestbook-ui >/dev/null 2>&1"
wait_for "child Application gone" 60 bash -c "! kubectl -n berth get applications.berth.dev example.guestbook >/dev/null 2>&1"

app_apply widgets crd-app automated
wait_app widgets Synced Healthy 90
t_eq "CRD established" "$(k get crd widgets.example.com -o jsonpath='{.status.conditions[?(@.type=="Established")].status}')" "True"
t_eq "custom resource applied" "$(k get widgets.example.com sprocket -o jsonpath='{.spec.size}')" "3"
t_eq "custom resource tracked" "$(k get widgets.example.com sprocket -o jsonpath='{.metadata.annotations.berth\.dev/tracking-id}')" \
	"widgets:example.com/Widget:default/sprocket"

t_done
