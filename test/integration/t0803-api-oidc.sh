#!/usr/bin/env bash
# OIDC login against a real OpenID Provider (npm oidc-provider, started on
# loopback with a static client and its development login and consent
# pages): the test drives authorization, login, consent and the callback
# over HTTP, then calls the API with the resulting session (groups mapped
# to RBAC roles). Also: open redirects refused, unknown state refused, and
# an ID token signed by a key the provider's JWKS does not publish refused;
# a login started on one API server finishes on a second one sharing Redis
# (pending logins live there, used once), and anonymous /auth/login
# requests past a bound per window are kept in memory, not Redis.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/api-lib.sh"

if [ ! -d "$BERTH_TOP/test/node_modules/oidc-provider" ]; then
	t_skip "OIDC login" "test/node_modules/oidc-provider missing (scripts/install-deps installs it)"
	t_done
	exit 0
fi

start_redis
printf '%s' "$REDIS_PASSWORD" >"$TEST_DIR/redis-pw"
api_kube_sim
start_api_server --redis "$REDIS_ADDR" --redis-password-file "$TEST_DIR/redis-pw"
ADMIN=$(login admin "$ADMIN_PASSWORD")
start_op
oidc_configure
t_eq "settings: issuer and name only" "$(jqb '.oidcConfig | keys | join(",")')" "issuer,name"
t_fail "settings never carry the client secret" grep -q op-s3cret "$TEST_DIR/responses"

# -- open redirects -----------------------------------------------------------------------
for bad in 'https://evil.example/' '//evil.example/x' $'/\r\nSet-Cookie: x=1' 'javascript:alert(1)' '/\evil.example' \
	'http://127.0.0.1.evil.example:80/' 'http://127.0.0.1:8/x#y'; do
	code=$(curl -s -o /dev/null -w '%{http_code}' --get --data-urlencode "return_url=$bad" "$API/auth/login")
	t_eq "return_url $(printf %q "$bad") refused" "$code" 400
done
code=$(curl -s -o /dev/null -w '%{http_code}' "$API/auth/callback?code=x&state=never-issued")
t_eq "callback with an unknown state refused" "$code" 400

# -- the flow -----------------------------------------------------------------------------
# sso_login USER [RETURN_URL-encoded]: drives the provider's pages; sets FINAL (last URL) and JAR.
sso_login() {
	local ret=${2:-/applications%3Fx%3D1}
	JAR=$TEST_DIR/jar.$1
	rm -f "$JAR"
	local c=(curl -s -c "$JAR" -b "$JAR" -L -o "$TEST_DIR/page")
	local loc
	loc=$(curl -s -o /dev/null -w '%{redirect_url}' "$API/auth/login?return_url=/applications%3Fx%3D1")
	t_match "/auth/login redirects to the provider with PKCE S256" "$loc" "^$ISSUER/auth\?.*code_challenge_method=S256"
	t_match "...and state and nonce" "$loc" 'state=[A-Za-z0-9_-]{43}.*nonce=[A-Za-z0-9_-]{43}|nonce=[A-Za-z0-9_-]{43}.*state=[A-Za-z0-9_-]{43}'
	# curl again, this time following, with the cookie jar (the provider's interaction cookies).
	local u1 u2
	u1=$("${c[@]}" -w '%{url_effective}' "$API/auth/login?return_url=$ret")
	t_match "the provider shows its login page" "$u1 $(cat "$TEST_DIR/page")" "/interaction/.*name=\"login\""
	u2=$("${c[@]}" -w '%{url_effective}' --data "prompt=login&login=$1&password=any" "$u1")
	t_match "then its consent page" "$u2 $(cat "$TEST_DIR/page")" '/interaction/.*name="prompt" value="consent"'
	FINAL=$("${c[@]}" -w '%{url_effective}' --data 'prompt=consent' "$u2")
}
sso_login alice
t_eq "the callback sends the browser to return_url" "$FINAL" "$API/applications?x=1"
TOKEN=$(awk '$6 == "berth.token" {print $7}' "$JAR")
t_match "a session cookie was set" "$TOKEN" '^eyJ'
api GET /api/v1/session/userinfo "" "$TOKEN"
t_eq "userinfo: the IdP's subject and groups" "$(jqb '.username + " " + (.groups | join(","))')" "alice berth-devs"
api POST /api/v1/applications '{"metadata":{"name":"a1"},"spec":{"source":{"repoURL":"https://g.example/r.git","path":"."},"destination":{"server":"https://kubernetes.default.svc","namespace":"n"}}}' "$ADMIN"
api GET /api/v1/applications "" "$TOKEN"
t_eq "authenticated API call with the OIDC session (group → role:readonly)" "$CODE $(jqb '.items | length')" "200 1"
api DELETE /api/v1/applications/a1 "" "$TOKEN"
t_eq "readonly through the group: delete refused" "$CODE" 403

# -- a loopback return URL (berth login --sso) only with the CLI's PKCE challenge ------------
# (the session token then comes as a one-time code, never in a URL: t0903)
for ret in "http://127.0.0.1:$(free_port)/callback" 'http://localhost:8085/'; do
	code=$(curl -s -o /dev/null -w '%{http_code}' --get --data-urlencode "return_url=$ret" "$API/auth/login")
	t_eq "loopback return_url $ret without a code_challenge: 400" "$code" 400
done

# -- a login started on one API server, finished on another sharing Redis ---------------------
API2_PORT=$(free_port)
API2=http://127.0.0.1:$API2_PORT
run_bg api-server2 berth-api-server --insecure --listen 127.0.0.1:$API2_PORT --kubeconfig "$KUBECONFIG" \
	--redis "$REDIS_ADDR" --redis-password-file "$TEST_DIR/redis-pw"
wait_for_line "$TEST_DIR/api-server2.log" "berth-api-server ready" 20 || { t_done; exit 1; }
pending_keys() { redis_cli --scan --pattern 'berth:v1:oidc:pending:*' | wc -l; }
before=$(pending_keys)
JAR=$TEST_DIR/jar.cross
c=(curl -s -c "$JAR" -b "$JAR" -o "$TEST_DIR/page")
u1=$("${c[@]}" -L -w '%{url_effective}' "$API/auth/login?return_url=/applications%3Fcross%3D1")
t_eq "the pending login is in Redis, not in server 1's memory only" "$(pending_keys)" "$((before + 1))"
u2=$("${c[@]}" -L -w '%{url_effective}' --data "prompt=login&login=carol&password=any" "$u1")
next=$("${c[@]}" -w '%{redirect_url}' --data 'prompt=consent' "$u2")
for _ in 1 2 3 4 5; do
	case "$next" in "$API/auth/callback"*|"") break ;; esac
	next=$("${c[@]}" -w '%{redirect_url}' "$next")
done
t_match "the provider sends the browser back to server 1's callback" "$next" "^$API/auth/callback\?.*state="
cb2=$API2${next#"$API"}
hdrs=$(curl -s -D - -o /dev/null "$cb2")
t_match "server 2 finishes the login server 1 started" "$hdrs" $'^HTTP/1.1 30[23]'
t_match "...sending the browser to return_url" "$hdrs" 'Location: /applications\?cross=1'
tok=$(echo "$hdrs" | sed -n 's/^Set-Cookie: berth.token=\([^;]*\);.*/\1/p' | tr -d '\r')
API_SAVE=$API API=$API2
api GET /api/v1/session/userinfo "" "$tok"
API=$API_SAVE
t_eq "...with carol's session, valid on server 2" "$(jqb .username)" carol
api GET /api/v1/session/userinfo "" "$tok"
t_eq "...and on server 1" "$(jqb .username)" carol
t_eq "the pending login was taken from Redis" "$(pending_keys)" "$before"
t_eq "the same callback again (server 1): refused, used once" "$(curl -s -o /dev/null -w '%{http_code}' "$next")" 400
t_eq "the same callback again (server 2): refused" "$(curl -s -o /dev/null -w '%{http_code}' "$cb2")" 400

# -- anonymous /auth/login cannot fill Redis: past a bound per window, pending logins stay in memory
API3_PORT=$(free_port)
run_bg api-server3 env BERTH_FAILPOINT_OIDC_REDIS_MAX=2 berth-api-server --insecure --listen 127.0.0.1:$API3_PORT \
	--kubeconfig "$KUBECONFIG" --redis "$REDIS_ADDR" --redis-password-file "$TEST_DIR/redis-pw"
wait_for_line "$TEST_DIR/api-server3.log" "berth-api-server ready" 20 || { t_done; exit 1; }
before=$(pending_keys)
codes=
for _ in 1 2 3 4 5; do
	codes="$codes $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$API3_PORT/auth/login?return_url=/")"
done
t_eq "five logins started past the Redis bound of 2: all sent to the provider" "$codes" " 303 303 303 303 303"
t_eq "...and only two of them written to Redis" "$(pending_keys)" "$((before + 2))"

# -- ID tokens the provider's published keys do not verify ------------------------------------
# forged_login DESC FORGE_JWKS-mode
forged_login() {
	stop_bg "$OP_PID"
	start_op FORGE_JWKS="$2"
	JAR=$TEST_DIR/jar.forge-$2
	local c=(curl -s -c "$JAR" -b "$JAR" -L -o "$TEST_DIR/page") u1 u2 out
	u1=$("${c[@]}" -w '%{url_effective}' "$API/auth/login")
	u2=$("${c[@]}" -w '%{url_effective}' --data "prompt=login&login=mallory&password=any" "$u1")
	out=$("${c[@]}" -w '%{http_code}' --data 'prompt=consent' "$u2")
	t_eq "$1: 401" "$out" 401
	t_eq "$1: no session" "$(awk '$6 == "berth.token" {print $7}' "$JAR")" ""
}
forged_login "ID token signed by another key than the JWKS gives for its kid" 1
t_match "...refused for its signature" "$(grep 'ID token refused' "$TEST_DIR/api-server.log" | tail -1)" 'signature'
forged_login "ID token whose kid the JWKS lacks, even refetched" kid
t_match "...refused for its kid" "$(grep 'ID token refused' "$TEST_DIR/api-server.log" | tail -1)" 'unknown signing key'
forged_login "JWKS answered with an empty body" empty
t_ok "...and the API server still serves" curl -sf -o /dev/null "$API/api/v1/settings"
t_fail "no client secret in the log" grep -q op-s3cret "$TEST_DIR/api-server.log"
t_done
