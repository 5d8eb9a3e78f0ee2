#!/usr/bin/env bash
# The event stream with thousands of apps. Without resourceVersion a new
# subscriber gets every app (ADDED), produced as it reads — not cut by
# the per-stream queue cap — and then live changes. With the
# resourceVersion of a list it gets only what changed after that list.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/api-lib.sh"

N=5000
api_kube_sim
start_api_server --sse-heartbeat 1s
ADMIN=$(login admin "$ADMIN_PASSWORD")
KURL=$(sed -n 's/^ *server: *//p' "$KUBECONFIG" | head -1)

# The apps go straight into kube-sim, 8 requests at a time.
python3 - "$KURL" "$N" <<'PY'
import json, sys, urllib.request
from concurrent.futures import ThreadPoolExecutor
url, n = sys.argv[1] + "/apis/berth.dev/v1alpha1/namespaces/berth/applications", int(sys.argv[2])
def create(i):
    body = {"apiVersion": "berth.dev/v1alpha1", "kind": "Application", "metadata": {"name": "load-%04d" % i},
            "spec": {"project": "default", "source": {"repoURL": "https://git.example/load.git", "path": "a%d" % i},
                     "destination": {"server": "https://kubernetes.default.svc", "namespace": "ns1"}}}
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=30).read()
with ThreadPoolExecutor(8) as ex:
    list(ex.map(create, range(1, n + 1)))
PY
listed() { api GET '/api/v1/applications?limit=1' '' "$ADMIN"; [ "$(jqb '(.metadata.remainingItemCount // 0) + (.items|length)')" = "$N" ]; }
wait_for "the API server has all $N apps" 120 listed

api GET '/api/v1/applications?limit=100' '' "$ADMIN"
RV=$(jqb .metadata.resourceVersion)
t_match "a list from the cache carries a resourceVersion" "$RV" '^[0-9]+$'
# A change between the list and the stream: replayed from the window.
k -n berth patch applications.berth.dev load-0007 --type merge -p '{"metadata":{"labels":{"after":"list"}}}' >/dev/null

# A slow reader (1 MB/s) for the snapshot; the queue cap is 1 MiB.
run_bg full curl -sN --limit-rate 1M -H "Authorization: Bearer $ADMIN" "$API/api/v1/stream/applications"
full_pid=$LAST_PID
run_bg since curl -sN -H "Authorization: Bearer $ADMIN" "$API/api/v1/stream/applications?resourceVersion=$RV"
F=$TEST_DIR/full.log
R=$TEST_DIR/since.log
wait_for_line "$F" '^: connected' 10
wait_for_line "$R" '^: connected' 10
start=$(date +%s%N)
added() { [ "$(grep -c '"type":"ADDED"' "$F")" -ge "$N" ]; }
wait_for "all $N apps arrive as ADDED to a slow reader" 60 added
echo "snapshot of $N apps: $(( ($(date +%s%N) - start) / 1000000 )) ms (reader at 1 MB/s)" >&2
t_eq "each app exactly once" "$(grep '"type":"ADDED"' "$F" | grep -o '"name":"load-[0-9]*"' | sort -u | wc -l)" "$N"
wait_for_line "$F" '^id: [0-9]+$' 10

k -n berth patch applications.berth.dev load-0042 --subresource status --type merge \
	-p '{"status":{"sync":{"status":"Synced","revision":"live1"}}}' >/dev/null
mod() { grep '"type":"MODIFIED"' "$1" | grep -q '"revision":"live1"'; }
wait_for "the full stream then gets live changes" 10 mod "$F"
wait_for "the stream from the list's version gets the change" 10 mod "$R"
t_eq "and no snapshot" "$(grep -c '"type":"ADDED"' "$R")" 0
t_ok "but the change made after the list, before the stream opened" \
	grep -q '"type":"MODIFIED".*"after":"list"' "$R"
t_eq "and nothing from before the list" "$(grep -c '^data:' "$R")" 2
t_ok "the full stream stayed open" kill -0 "$full_pid"

# A resourceVersion older than the event window: a fresh subscriber's view.
run_bg old curl -sN -H "Authorization: Bearer $ADMIN" "$API/api/v1/stream/applications?resourceVersion=1"
oldall() { [ "$(grep -c '"type":"ADDED"' "$TEST_DIR/old.log")" -ge "$N" ]; }
wait_for "a too old resourceVersion gets the current state" 60 oldall

t_done
