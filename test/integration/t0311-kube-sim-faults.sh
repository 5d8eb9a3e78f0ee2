#!/usr/bin/env bash
# kube-sim's fault injection: each fault of --faults and of the /_admin/
# endpoint is observable with curl or kubectl (over TLS: kubectl sends no
# bearer token over plain HTTP), and goes away when cleared.
. "$(dirname "$0")/test-lib.sh"

PORT=$(free_port)
TOKEN=cluster-token-$RANDOM
run_bg kube-sim kube-sim --listen 127.0.0.1:$PORT --write-kubeconfig "$TEST_DIR/kubeconfig" \
	--tls --token "$TOKEN" --faults "429=1" --no-controllers
KS_PID=$LAST_PID
wait_for_line "$TEST_DIR/kube-sim.log" "kube-sim ready" 10 || { t_done; exit 1; }
export KUBECONFIG=$TEST_DIR/kubeconfig
URL=https://127.0.0.1:$PORT
t_ok "the admin token is written next to the kubeconfig" test -s "$KUBECONFIG.admin-token"
t_eq "the admin token file is private" "$(stat -c %a "$KUBECONFIG.admin-token")" "600"
ADMIN=$(cat "$KUBECONFIG.admin-token")

# curl helpers: status code / body of a request with the cluster token
code() { curl -k -s -o "$TEST_DIR/body" -D "$TEST_DIR/headers" -w '%{http_code}' --max-time 10 \
	-H "Authorization: Bearer ${TOK:-$TOKEN}" "$@"; }
admin() { curl -k -s -o "$TEST_DIR/admin-body" -w '%{http_code}' --max-time 10 -H "Authorization: Bearer $ADMIN" "$@"; }
body_field() { python3 -c "import json,sys; d=json.load(open('$TEST_DIR/body')); print(eval(sys.argv[1]))" "$1"; }

# --faults 429=1 at start
t_eq "--faults 429=1 answers 429" "$(code $URL/api/v1/namespaces)" "429"
t_eq "with a TooManyRequests Status" "$(body_field "d['reason'], d['code'], d['details']['retryAfterSeconds']")" "('TooManyRequests', 429, 1)"
t_ok "and a Retry-After header" grep -qi '^Retry-After: 1' "$TEST_DIR/headers"
t_eq "the admin endpoint is not faulted" "$(admin $URL/_admin/faults)" "200"
t_match "it reports the 429 fault" "$(cat "$TEST_DIR/admin-body")" '"429": *1'
t_eq "the admin endpoint needs its token" "$(curl -k -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" $URL/_admin/faults)" "401"
t_eq "clearing faults" "$(admin -X DELETE $URL/_admin/faults)" "200"
t_eq "requests succeed again" "$(code $URL/api/v1/namespaces)" "200"

# 500 / 503 on a fraction of requests
t_eq "set 500=1" "$(admin -X PUT -d '{"500":1}' $URL/_admin/faults)" "200"
t_eq "answers 500" "$(code $URL/api/v1/namespaces)" "500"
t_eq "InternalError Status" "$(body_field "d['reason']")" "InternalError"
t_eq "set 503=1" "$(admin -X PUT -d '{"503":1}' $URL/_admin/faults)" "200"
t_eq "answers 503" "$(code $URL/api/v1/namespaces)" "503"
t_eq "ServiceUnavailable Status" "$(body_field "d['reason']")" "ServiceUnavailable"
t_ok "kubectl reports the failure" bash -c "! kubectl --token=$TOKEN get ns 2>$TEST_DIR/kerr"

# 503 on a path pattern only
t_eq "set a path fault" "$(admin -X PUT -d '{"paths":[{"pattern":"/api/v1/namespaces/*/configmaps*","status":503,"fraction":1}]}' $URL/_admin/faults)" "200"
t_eq "configmaps answer 503" "$(code $URL/api/v1/namespaces/default/configmaps)" "503"
t_eq "other paths answer 200" "$(code $URL/api/v1/namespaces/default/secrets)" "200"
t_eq "the same through a spec string" "$(admin -X PUT -d '{"spec":"500@/api/v1/namespaces/default/secrets*=1"}' $URL/_admin/faults)" "200"
t_eq "secrets answer 500" "$(code $URL/api/v1/namespaces/default/secrets)" "500"
t_eq "a bad spec is refused with 400" "$(admin -X PUT -d '{"spec":"418=2"}' $URL/_admin/faults)" "400"
t_eq "and the previous faults stay" "$(code $URL/api/v1/namespaces/default/secrets)" "500"

# a fraction: 429=0.5 gives a mix
t_eq "set 429=0.5" "$(admin -X PUT -d '{"429":0.5}' $URL/_admin/faults)" "200"
mix=""
for i in $(seq 1 40); do mix="$mix $(code $URL/version)"; done
t_match "some requests get 429" "$mix" "429"
t_match "some requests pass" "$mix" "200"

# latency
t_eq "set latency=400ms" "$(admin -X PUT -d '{"latency":"400ms"}' $URL/_admin/faults)" "200"
t_ok "a request takes at least 400 ms" bash -c \
	"t=\$(curl -k -s -o /dev/null -w '%{time_total}' -H 'Authorization: Bearer $TOKEN' $URL/version); awk -v t=\$t 'BEGIN{exit !(t >= 0.4)}'"

# dropped connections
t_eq "set drop=1" "$(admin -X PUT -d '{"drop":1}' $URL/_admin/faults)" "200"
curl -k -s -o /dev/null --max-time 5 -H "Authorization: Bearer $TOKEN" $URL/version
t_ok "the connection closes without an answer" test $? = 52
t_eq "clear" "$(admin -X DELETE $URL/_admin/faults)" "200"
t_eq "no more drops" "$(code $URL/version)" "200"

# watches closed mid-stream: on request, and every interval
watch_lasts() { # seconds a watch on configmaps stays open (max $1)
	local start=$SECONDS
	curl -k -s -N --max-time "$1" -H "Authorization: Bearer $TOKEN" \
		"$URL/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=$1" >/dev/null
	echo $((SECONDS - start))
}
( sleep 1; admin -X POST $URL/_admin/drop-watches >/dev/null ) &
DROPPER=$!
t_ok "drop-watches ends an open watch" bash -c "[ $(watch_lasts 8) -lt 6 ]"
wait $DROPPER
t_eq "set watch-drop=1s" "$(admin -X PUT -d '{"watch-drop":"1s"}' $URL/_admin/faults)" "200"
t_ok "watches end within the interval" bash -c "[ $(watch_lasts 8) -lt 6 ]"
t_eq "clear" "$(admin -X DELETE $URL/_admin/faults)" "200"
t_ok "watches last again" bash -c "[ $(watch_lasts 2) -ge 2 ]"

# forced compaction: a watch resumed from an older RV gets 410
for n in 1 2 3; do
	code -X POST -H 'Content-Type: application/json' -d "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c$n\"}}" \
		$URL/api/v1/namespaces/default/configmaps >/dev/null
done
RV=$(TOK=$TOKEN code $URL/api/v1/namespaces/default/configmaps/c1 >/dev/null; body_field "d['metadata']['resourceVersion']")
watch_from() { curl -k -s -N --max-time 3 -H "Authorization: Bearer $TOKEN" \
	"$URL/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=$1&timeoutSeconds=2"; }
t_match "before compaction a watch from an old RV replays changes" "$(watch_from "$RV")" '"type":"ADDED"'
t_eq "compact now" "$(admin -X POST $URL/_admin/compact)" "200"
t_match "after compaction it gets a 410 ERROR event" "$(watch_from "$RV")" '"type":"ERROR".*"code":410'
t_eq "set compact=1s" "$(admin -X PUT -d '{"compact":"1s"}' $URL/_admin/faults)" "200"
code -X POST -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c4"}}' \
	$URL/api/v1/namespaces/default/configmaps >/dev/null
RV4=$(body_field "d['metadata']['resourceVersion']")
wait_for "periodic compaction expires RV $RV4" 10 bash -c "$(declare -f watch_from); TOKEN=$TOKEN URL=$URL; watch_from $((RV4 - 1)) | grep -q '\"code\":410'"
t_eq "clear" "$(admin -X DELETE $URL/_admin/faults)" "200"

# token expiry and rotation
t_eq "a wrong token gets 401" "$(TOK=wrong code $URL/api/v1/namespaces)" "401"
t_ok "kubectl with a wrong token fails" bash -c "! kubectl --token=wrong get ns 2>&1 | tee $TEST_DIR/kerr | grep -q NAME"
t_match "with Unauthorized" "$(cat "$TEST_DIR/kerr")" "Unauthorized|must be logged in"
t_eq "expire the token" "$(admin -X POST $URL/_admin/token/expire)" "200"
t_eq "the cluster token now gets 401" "$(code $URL/api/v1/namespaces)" "401"
t_eq "restore it" "$(admin -X POST $URL/_admin/token/restore)" "200"
t_eq "it works again" "$(code $URL/api/v1/namespaces)" "200"
t_eq "rotate to a chosen token" "$(admin -X POST -d '{"token":"fresh-token"}' $URL/_admin/token/rotate)" "200"
t_eq "the old token gets 401" "$(code $URL/api/v1/namespaces)" "401"
t_eq "the new token works" "$(TOK=fresh-token code $URL/api/v1/namespaces)" "200"
t_ok "kubectl works with the new token" kubectl --token=fresh-token get ns default
t_eq "clearing all faults restores the original token" "$(admin -X DELETE $URL/_admin/faults)" "200"
t_eq "original token works" "$(code $URL/api/v1/namespaces)" "200"
t_eq "unknown admin paths are 404" "$(admin -X POST $URL/_admin/nope)" "404"

stop_bg $KS_PID
t_done
