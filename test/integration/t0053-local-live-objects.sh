#!/usr/bin/env bash
# berth local health and local diff on objects as a Kubernetes API server
# (kube-sim, through the real kubectl) returns them: rollouts become
# Healthy, a crash-looping image Degraded, Jobs and LoadBalancers follow
# their status; an object applied with kubectl apply shows no drift, and an
# out-of-band change does.
. "$(dirname "$0")/test-lib.sh"

PORT=$(free_port)
run_bg kube-sim kube-sim --listen 127.0.0.1:$PORT --write-kubeconfig "$TEST_DIR/kubeconfig" \
	--status-delay 100 --fail-deadline 1500 --nodes 1
wait_for_line "$TEST_DIR/kube-sim.log" "kube-sim ready" 10 || { t_done; exit 1; }
export KUBECONFIG=$TEST_DIR/kubeconfig
cd "$TEST_DIR" || exit 1
k() { kubectl --request-timeout=10s "$@"; }
# health_of TYPE/NAME — berth's health line of one live object
health_of() { k get "$1" -o yaml | berth local health -; }
health_is() { health_of "$1" | grep -qE "^[^:]+: $2"; }

cat >web.yaml <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.25", ports: [{containerPort: 80}]}]
YAML
cat >others.yaml <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: front, namespace: default}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: once, namespace: default}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: "busybox:1.36"}]
YAML
cat >bad.yaml <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: bad, namespace: default}
spec:
  selector: {matchLabels: {app: bad}}
  template:
    metadata: {labels: {app: bad}}
    spec:
      containers: [{name: bad, image: "example/bad:fail"}]
YAML
t_ok "kubectl apply the app" k apply --validate=false -f web.yaml -f others.yaml -f bad.yaml

wait_for "Deployment web becomes Healthy" 20 health_is deploy/web Healthy
wait_for "Job once becomes Healthy" 20 health_is job/once Healthy
wait_for "LoadBalancer Service becomes Healthy" 20 health_is svc/front Healthy
wait_for "Deployment bad becomes Degraded" 20 health_is deploy/bad Degraded
t_match "Degraded message is Argo CD's" "$(health_of deploy/bad)" 'exceeded its progress deadline'
wait_for "a crash-looping pod is Degraded" 20 bash -c \
	"kubectl get pods -l app=bad -o yaml | berth local health - | grep -q 'Pod/.*: Degraded'"

out=$(k get deploy,svc,job -o yaml | berth local health -o json -)
t_eq "app health is the worst: Degraded" "$(jq -r .health.status <<<"$out")" Degraded

# no drift right after kubectl apply: server defaults, status and the
# last-applied annotation are not differences
k get deploy web -o yaml >live.yaml
berth local diff web.yaml live.yaml >diff.txt 2>err.txt
rc=$?
t_eq "freshly applied Deployment: no difference" "$rc" 0
[ $rc = 0 ] || sed 's/^/# /' diff.txt err.txt | head -40

# an out-of-band change is drift
t_ok "change the image behind Git's back" k set image deployment/web web=nginx:1.27
k get deploy web -o yaml >live2.yaml
berth local diff web.yaml live2.yaml >diff.txt 2>err.txt
t_eq "changed live image: exit 1" "$?" 1
t_match "diff shows Git's image coming back" "$(cat diff.txt)" $'\n\\+[ -]+image: nginx:1.25'

# a field nobody in Git set (replicas scaled by hand on a Deployment
# that never declared replicas) is not drift
sed '/replicas: 2/d' web.yaml >web-noreplicas.yaml
t_ok "apply without replicas" k apply --validate=false -f web-noreplicas.yaml
t_ok "scale by hand" k scale deployment/web --replicas=4
k get deploy web -o yaml >live3.yaml
berth local diff web-noreplicas.yaml live3.yaml >diff.txt 2>err.txt
rc=$?
t_eq "hand-scaled replicas that Git never set: no difference" "$rc" 0
[ $rc = 0 ] || sed 's/^/# /' diff.txt err.txt | head -40
t_done
