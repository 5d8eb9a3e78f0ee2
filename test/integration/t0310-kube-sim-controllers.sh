#!/usr/bin/env bash
# kube-sim's simulated controllers seen through the real kubectl: rollouts
# finish when the simulated Pods are ready, ":fail" images crash-loop and
# exceed the progress deadline, Jobs complete or fail, StatefulSets,
# DaemonSets, CronJobs, LoadBalancer Services and PVCs behave, and deletes
# cascade through the garbage collector (background, foreground, orphan).
. "$(dirname "$0")/test-lib.sh"

PORT=$(free_port)
run_bg kube-sim kube-sim --listen 127.0.0.1:$PORT --write-kubeconfig "$TEST_DIR/kubeconfig" \
	--status-delay 100 --fail-deadline 1500 --nodes 2
KS_PID=$LAST_PID
wait_for_line "$TEST_DIR/kube-sim.log" "kube-sim ready" 10 || { t_done; exit 1; }
export KUBECONFIG=$TEST_DIR/kubeconfig
k() { kubectl --request-timeout=10s "$@"; }
jp() { k get "$1" -o "jsonpath=$2" 2>/dev/null; }

# CronJob (applied first: it fires at the next minute boundary, checked at the end)
cat >"$TEST_DIR/cron.yaml" <<'YAML'
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "*/1 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: t, image: "busybox:1.36"}]
YAML
t_ok "apply a CronJob" k apply --validate=false -f "$TEST_DIR/cron.yaml"

cat >"$TEST_DIR/web.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.25", ports: [{containerPort: 80}]}]
YAML
t_ok "apply a Deployment" k apply --validate=false -f "$TEST_DIR/web.yaml"
t_ok "rollout status succeeds" timeout 30 kubectl rollout status deployment/web --timeout=25s
t_eq "three pods of the new ReplicaSet are Running" \
	"$(k get pods -l app=web -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' | sort | uniq -c | tr -s ' ')" " 3 Running"
t_eq "Deployment is Available with the real reason" \
	"$(jp deploy/web '{.status.conditions[?(@.type=="Available")].reason}')" "MinimumReplicasAvailable"
t_eq "Progressing says NewReplicaSetAvailable" \
	"$(jp deploy/web '{.status.conditions[?(@.type=="Progressing")].reason}')" "NewReplicaSetAvailable"
t_eq "observedGeneration follows generation" \
	"$(jp deploy/web '{.status.observedGeneration}')" "$(jp deploy/web '{.metadata.generation}')"
RS1=$(k get rs -l app=web -o jsonpath='{.items[0].metadata.name}')
HASH=$(jp "rs/$RS1" '{.metadata.labels.pod-template-hash}')
t_match "ReplicaSet is named after the pod-template-hash" "$RS1" "^web-$HASH\$"
t_match "kubectl describe shows the controller's events" "$(k describe deployment web)" \
	"ScalingReplicaSet +[0-9a-z]+ +deployment-controller +Scaled up replica set web-"
t_eq "ReplicaSet carries revision 1" "$(jp "rs/$RS1" '{.metadata.annotations.deployment\.kubernetes\.io/revision}')" "1"

# scale
t_ok "kubectl scale" k scale deployment/web --replicas=1
wait_for "one web pod left" 15 bash -c "[ \"\$(kubectl get pods -l app=web -o name | wc -l)\" = 1 ]"
wait_for "status shows 1 replica" 15 bash -c \
	"[ \"\$(kubectl get deploy web -o jsonpath='{.status.replicas}/{.status.availableReplicas}')\" = 1/1 ]"

# a new template rolls out a new ReplicaSet and scales the old one down
t_ok "set a new image" k set image deployment/web web=nginx:1.26
t_ok "rollout of the new template succeeds" timeout 30 kubectl rollout status deployment/web --timeout=25s
t_eq "two ReplicaSets, revision 2 is the new one" \
	"$(k get rs -l app=web -o jsonpath='{range .items[*]}{.metadata.annotations.deployment\.kubernetes\.io/revision}={.spec.replicas} {end}' | tr ' ' '\n' | sort | xargs)" "1=0 2=1"
t_eq "the running pod has the new image" "$(k get pods -l app=web -o jsonpath='{.items[*].spec.containers[0].image}')" "nginx:1.26"

# :fail → CrashLoopBackOff and ProgressDeadlineExceeded
cat >"$TEST_DIR/bad.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: bad}
spec:
  selector: {matchLabels: {app: bad}}
  template:
    metadata: {labels: {app: bad}}
    spec:
      containers: [{name: bad, image: "example/bad:fail"}]
YAML
t_ok "apply a Deployment whose image fails" k apply --validate=false -f "$TEST_DIR/bad.yaml"
wait_for "pod crash-loops" 15 bash -c \
	"kubectl get pods -l app=bad -o jsonpath='{.items[0].status.containerStatuses[0].state.waiting.reason}' | grep -qx CrashLoopBackOff"
wait_for "Deployment exceeds its progress deadline" 15 bash -c \
	"kubectl get deploy bad -o jsonpath='{.status.conditions[?(@.type==\"Progressing\")].reason}' | grep -qx ProgressDeadlineExceeded"
t_match "the kubelet reports BackOff warnings" \
	"$(k get events -o jsonpath='{range .items[?(@.reason=="BackOff")]}{.type} {.involvedObject.name}{"\n"}{end}')" "^Warning bad-"
t_fail "rollout status of the failing Deployment fails" timeout 20 kubectl rollout status deployment/bad --timeout=15s
wait_for "restartCount grows" 15 bash -c \
	"[ \"\$(kubectl get pods -l app=bad -o jsonpath='{.items[0].status.containerStatuses[0].restartCount}')\" -ge 2 ]"

# Jobs
cat >"$TEST_DIR/jobs.yaml" <<'YAML'
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: m, image: "busybox:1.36"}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: broken}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers: [{name: m, image: "busybox:fail"}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: shards}
spec:
  completionMode: Indexed
  completions: 3
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: m, image: "busybox:1.36"}]
YAML
t_ok "apply three Jobs" k apply --validate=false -f "$TEST_DIR/jobs.yaml"
t_ok "the good Job completes" k wait --for=condition=Complete job/migrate --timeout=20s
t_eq "its pod Succeeded" "$(k get pods -l job-name=migrate -o jsonpath='{.items[0].status.phase}')" "Succeeded"
t_ok "the failing Job fails" k wait --for=condition=Failed job/broken --timeout=20s
t_eq "with BackoffLimitExceeded" "$(jp job/broken '{.status.conditions[?(@.type=="Failed")].reason}')" "BackoffLimitExceeded"
t_eq "after backoffLimit+1 failed pods" "$(jp job/broken '{.status.failed}')" "2"
t_ok "the Indexed Job completes" k wait --for=condition=Complete job/shards --timeout=20s
t_eq "with every index done" "$(jp job/shards '{.status.completedIndexes}/{.status.succeeded}')" "0-2/3"
t_eq "one pod per index" \
	"$(k get pods -l job-name=shards -o jsonpath='{range .items[*]}{.metadata.annotations.batch\.kubernetes\.io/job-completion-index}{end}')" "012"

# StatefulSet, DaemonSet, Service, PVC
cat >"$TEST_DIR/more.yaml" <<'YAML'
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: "redis:7"}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: a, image: "agent:1"}]
---
apiVersion: v1
kind: Service
metadata: {name: front}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: front}
spec:
  rules:
  - http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: front, port: {number: 80}}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: cache}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 512Mi}}}
YAML
t_ok "apply StatefulSet, DaemonSet, Service, Ingress, PVC" k apply --validate=false -f "$TEST_DIR/more.yaml"
t_ok "StatefulSet rolls out" timeout 30 kubectl rollout status statefulset/db --timeout=25s
t_eq "pods are db-0 and db-1" "$(k get pods -l app=db -o jsonpath='{.items[*].metadata.name}')" "db-0 db-1"
t_ok "a ControllerRevision exists for it" bash -c "kubectl get controllerrevisions -o name | grep -q '/db-'"
t_ok "DaemonSet rolls out" timeout 30 kubectl rollout status daemonset/agent --timeout=25s
t_eq "one pod per simulated node" "$(jp ds/agent '{.status.desiredNumberScheduled}/{.status.numberReady}')" "2/2"
wait_for "LoadBalancer gets an ingress IP" 10 bash -c \
	"kubectl get svc front -o jsonpath='{.status.loadBalancer.ingress[0].ip}' | grep -q ."
wait_for "Ingress gets an address" 10 bash -c \
	"kubectl get ingress front -o jsonpath='{.status.loadBalancer.ingress[0].ip}' | grep -q ."
wait_for "the Service's Endpoints list the ready web pod" 10 bash -c \
	"kubectl get endpoints front -o jsonpath='{.subsets[0].addresses[*].targetRef.name}' | grep -q '^web-'"
cat >"$TEST_DIR/hpa.yaml" <<'YAML'
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 4
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1beta1.metrics.k8s.io}
spec: {group: metrics.k8s.io, version: v1beta1, groupPriorityMinimum: 100, versionPriority: 100,
       service: {name: metrics-server, namespace: kube-system}}
YAML
t_ok "apply an HPA and an APIService" k apply --validate=false -f "$TEST_DIR/hpa.yaml"
wait_for "the HPA reports the target's replicas" 10 bash -c \
	"[ \"\$(kubectl get hpa web -o jsonpath='{.status.currentReplicas}/{.status.conditions[?(@.type==\"AbleToScale\")].status}')\" = 1/True ]"
wait_for "the APIService is Available" 10 bash -c \
	"kubectl get apiservice v1beta1.metrics.k8s.io -o jsonpath='{.status.conditions[?(@.type==\"Available\")].status}' | grep -qx True"
wait_for "PVC is Bound" 10 bash -c "kubectl get pvc cache -o jsonpath='{.status.phase}' | grep -qx Bound"
PV=$(jp pvc/cache '{.spec.volumeName}')
t_ok "its PersistentVolume exists" k get pv "$PV"
t_eq "and is Bound" "$(jp "pv/$PV" '{.status.phase}')" "Bound"
wait_for "StatefulSet claims are Bound" 10 bash -c "kubectl get pvc data-db-1 -o jsonpath='{.status.phase}' | grep -qx Bound"

# deletes cascade
t_ok "delete the PVC" k delete pvc cache --timeout=20s
wait_for "its provisioned volume is deleted (reclaim policy Delete)" 10 bash -c "! kubectl get pv $PV 2>/dev/null"
t_ok "delete the Deployment (background)" k delete deployment web --wait=true --timeout=20s
wait_for "its ReplicaSets are collected" 15 bash -c "[ -z \"\$(kubectl get rs -l app=web -o name)\" ]"
wait_for "its Pods are collected" 15 bash -c "[ -z \"\$(kubectl get pods -l app=web -o name)\" ]"
wait_for "the Service's Endpoints become empty" 10 bash -c \
	"[ -z \"\$(kubectl get endpoints front -o jsonpath='{.subsets}')\" ]"
t_ok "delete the StatefulSet in foreground" k delete statefulset db --cascade=foreground --timeout=20s
wait_for "the StatefulSet is gone after its pods" 15 bash -c "! kubectl get sts db 2>/dev/null"
t_eq "no db pods are left" "$(k get pods -l app=db -o name)" ""
t_ok "delete the DaemonSet, orphaning" k delete daemonset agent --cascade=orphan --timeout=20s
wait_for "the DaemonSet is gone" 10 bash -c "! kubectl get ds agent 2>/dev/null"
t_eq "its pods stay, without ownerReferences" \
	"$(k get pods -l app=agent -o jsonpath='{range .items[*]}{.metadata.ownerReferences}x{end}')" "xx"
t_ok "delete the Job, orphaning its pods (kubectl's default for Jobs is background)" \
	k delete job migrate --cascade=orphan
t_ok "a DELETE of a Job without a propagation policy" k delete --raw /apis/batch/v1/namespaces/default/jobs/broken
wait_for "the Job is gone" 10 bash -c "! kubectl get job broken 2>/dev/null"
t_eq "orphans its pods (the default for Jobs)" \
	"$(k get pods -l job-name=broken -o jsonpath='{range .items[*]}{.status.phase}:{.metadata.ownerReferences}{"\n"}{end}')" "$(printf 'Failed:\nFailed:')"
t_eq "the Job's pod survives" "$(k get pods -l job-name=migrate -o jsonpath='{.items[*].status.phase}')" "Succeeded"

# The CronJob fires at the next minute boundary (at most 60 s away).
wait_for "the CronJob starts a Job" 75 bash -c "kubectl get cronjob tick -o jsonpath='{.status.lastScheduleTime}' | grep -q ."
t_ok "the CronJob's Job exists" bash -c "kubectl get jobs -o name | grep -q 'job.batch/tick-'"

stop_bg $KS_PID
t_done
