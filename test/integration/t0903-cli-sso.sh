#!/usr/bin/env bash
# berth login --sso against the real API server and a real OpenID Provider
# (npm oidc-provider, test/oidc/provider.mjs): berth listens on 127.0.0.1,
# prints the login URL, and the "browser" (curl with a cookie jar, driving
# the provider's login and consent pages and following every redirect)
# ends at berth's loopback port with the session token; berth checks the
# state it put in the return URL, redeems the one-time code the server
# sent there with its PKCE verifier (the token never appears in a URL),
# stores the session as a context and uses it. Also: $BROWSER is started on the URL, a callback with a foreign state
# ends the login, stray, oversized and idle requests do not, the wait is bounded, a server
# without SSO and bad flags are refused with exit 2.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/api-lib.sh"

if [ ! -d "$BERTH_TOP/test/node_modules/oidc-provider" ]; then
	t_skip "berth login --sso" "test/node_modules/oidc-provider missing (scripts/install-deps installs it)"
	t_done
	exit 0
fi
unset BROWSER

# rc CMD... — print CMD's exit status (output discarded).
rc() {
	"$@" >/dev/null 2>&1
	echo $?
}

# ---- flags, before any server ---------------------------------------------------------------
t_eq "--sso-port out of range: exit 2" "$(rc berth login 127.0.0.1:1 --plaintext --sso --sso-port 70000)" 2
t_eq "--sso-timeout not a number: exit 2" "$(rc berth login 127.0.0.1:1 --plaintext --sso --sso-timeout soon)" 2
t_eq "--sso-port without --sso: exit 2" "$(rc berth login 127.0.0.1:1 --plaintext --sso-port 8085 --password x)" 2
t_eq "--sso with --password: exit 2" "$(rc berth login 127.0.0.1:1 --plaintext --sso --password x)" 2

api_kube_sim
start_api_server
out=$(berth login "$API" --sso --sso-timeout 5 2>&1)
t_eq "server without SSO: exit 2" "$(rc berth login "$API" --sso --sso-timeout 5)" 2
t_match "server without SSO: says so" "$out" "has no single sign-on configured.*--username"

# ---- the provider and the server's OIDC settings (as in t0803) ------------------------------
start_op
oidc_configure

# browse URL USER — what a user does in the browser: open URL, log in at the
# provider, consent; every redirect followed. Prints the last URL and leaves
# the last page in $TEST_DIR/page.
browse() {
	local jar=$TEST_DIR/jar.$2 u1 u2
	rm -f "$jar"
	local c=(curl -s -c "$jar" -b "$jar" -L --max-time 30 -o "$TEST_DIR/page")
	u1=$("${c[@]}" -w '%{url_effective}' "$1")
	u2=$("${c[@]}" -w '%{url_effective}' --data "prompt=login&login=$2&password=any" "$u1")
	"${c[@]}" -w '%{url_effective}' --data 'prompt=consent' "$u2"
}

# start_login OUT ARGS... — berth login --sso in the background; LOGIN_PID.
start_login() {
	local out=$1
	shift
	berth login "$API" --sso "$@" >"$out" 2>&1 &
	LOGIN_PID=$!
	_tl_pids+=("$LOGIN_PID")
}

# ---- the flow: URL printed, opened by hand ----------------------------------------------------
start_login "$TEST_DIR/login1.out" --sso-timeout 60
wait_for_line "$TEST_DIR/login1.out" "^  http" 10
url=$(sed -n 's/^  //p' "$TEST_DIR/login1.out" | head -1)
t_match "berth prints the server's login URL: loopback return URL with a state, and a PKCE S256 challenge" "$url" \
	"^$API/auth/login\?return_url=http%3A%2F%2F127\.0\.0\.1%3A[0-9]+%2Fauth%2Fcallback%3Fstate%3D[A-Za-z0-9_-]{43}&code_challenge=[A-Za-z0-9_-]{43}&code_challenge_method=S256$"
t_match "and says how long it waits" "$(cat "$TEST_DIR/login1.out")" "Waiting up to 60s"
final=$(browse "$url" alice)
t_match "the browser ends at berth's loopback port with a one-time code" "$final" \
	"^http://127\.0\.0\.1:[0-9]+/auth/callback\?state=[A-Za-z0-9_-]{43}&code=[A-Za-z0-9_-]{43}$"
t_fail "...never with the token in the URL" grep -q 'token=' <<<"$final"
t_match "which tells the user they are logged in" "$(cat "$TEST_DIR/page")" "Logged in"
wait "$LOGIN_PID"
t_eq "berth login --sso: exit 0" "$?" 0
t_match "it names the user" "$(cat "$TEST_DIR/login1.out")" "'alice' logged in to $API"
cfg=$HOME/.config/berth/config
t_eq "contexts file is private" "$(stat -c %a "$cfg")" 600
t_match "the session is stored as the current context" "$(berth app list 2>&1; echo "rc=$?")" "rc=0"
t_eq "it is alice's session (readonly through her group): can-i get → yes" \
	"$(berth account can-i get applications 'default/x')" yes
t_eq "...and can-i delete → no" "$(berth account can-i delete applications 'default/x')" no
t_fail "the token is not printed" grep -q 'eyJ' "$TEST_DIR/login1.out"

# ---- $BROWSER is started on the URL -----------------------------------------------------------
cat >"$TEST_DIR/fake-browser" <<EOF
#!/usr/bin/env bash
# stands in for a browser: remembers the URL, then logs in as bob
echo "\$1" >"$TEST_DIR/browser-url"
. "$TEST_DIR/browse.sh"
browse "\$1" bob >"$TEST_DIR/browser-final"
EOF
{ declare -p TEST_DIR; declare -f browse; } >"$TEST_DIR/browse.sh"
chmod +x "$TEST_DIR/fake-browser"
port=$(free_port)
out=$(BROWSER=$TEST_DIR/fake-browser berth login "$API" --sso --sso-port "$port" --sso-timeout 60 --name sso-bob 2>&1)
t_eq "with \$BROWSER: exit 0" "$?" 0
t_match "\$BROWSER got the login URL for the port asked for" "$(cat "$TEST_DIR/browser-url")" \
	"^$API/auth/login\?return_url=http%3A%2F%2F127\.0\.0\.1%3A$port%2F"
t_match "bob is logged in, in context sso-bob" "$out" "'bob' logged in to $API"
t_eq "the current context is sso-bob" "$(jq -r .current "$cfg")" sso-bob

# ---- a callback with a foreign state, stray requests ---------------------------------------
port=$(free_port)
start_login "$TEST_DIR/login3.out" --sso-port "$port" --sso-timeout 60
wait_for_line "$TEST_DIR/login3.out" "^  http" 10
t_eq "a stray request to the port: 404" \
	"$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/favicon.ico")" 404
t_ok "...and berth keeps waiting" kill -0 "$LOGIN_PID"
# A head over the listener's 16 KiB bound is dropped unread: its foreign state would end the login.
big=$(head -c 20000 /dev/zero | tr '\0' a)
t_eq "a request head over 16 KiB: closed without an answer" \
	"$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "X-Big: $big" "http://127.0.0.1:$port/auth/callback?state=forged")" 000
t_eq "...and berth still answers (the head was not read as a callback)" \
	"$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$port/favicon.ico")" 404
# A connection that sends nothing holds the listener 5 s at most.
exec 3<>"/dev/tcp/127.0.0.1/$port"
t_eq "an idle connection does not block the listener" \
	"$(curl -s -o /dev/null -w '%{http_code}' --max-time 15 "http://127.0.0.1:$port/favicon.ico")" 404
exec 3>&-
t_ok "...and berth keeps waiting" kill -0 "$LOGIN_PID"
t_eq "a callback with another state: 400" \
	"$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/auth/callback?state=forged&token=eyJx.y.z")" 400
wait "$LOGIN_PID"
t_eq "...ends the login with exit 2" "$?" 2
t_match "...saying why" "$(cat "$TEST_DIR/login3.out")" "another state than berth sent"
t_eq "the forged token was not stored" "$(jq -r '.contexts[].token' "$cfg" | grep -c '^eyJx')" 0

# ---- the server's side of the CLI's PKCE (POST /auth/token) ---------------------------------
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
CB_PORT=$(free_port)
run_bg cli-listener python3 -m http.server --bind 127.0.0.1 "$CB_PORT"
wait_for "the stand-in loopback listener answers" 10 curl -s -o /dev/null "http://127.0.0.1:$CB_PORT/"
ret="http%3A%2F%2F127.0.0.1%3A$CB_PORT%2Fcb"
# pkce_login — a login with a fresh verifier: sets VERIFIER and LOGIN_CODE (what the loopback URL received).
pkce_login() {
	VERIFIER=$(head -c 32 /dev/urandom | b64url)
	local challenge
	challenge=$(printf '%s' "$VERIFIER" | openssl dgst -sha256 -binary | b64url)
	LOGIN_CODE=$(browse "$API/auth/login?return_url=$ret&code_challenge=$challenge&code_challenge_method=S256" carol |
		sed -n 's/.*[?&]code=\([A-Za-z0-9_-]*\).*/\1/p')
}
token_for() { api POST /auth/token "{\"code\":\"$1\",\"code_verifier\":\"$2\"}"; }
pkce_login
code=$LOGIN_CODE
t_match "a login with a challenge sends a code to the loopback URL" "$code" '^[A-Za-z0-9_-]{43}$'
api POST /auth/token "{\"code\":\"$code\",\"code_verifier\":\"$VERIFIER\"}" "" text/plain
t_eq "a redeem without Content-Type: application/json: 415" "$CODE" 415
token_for "$code" "$(head -c 32 /dev/urandom | b64url)"
t_eq "the code with another verifier: 400" "$CODE" 400
t_fail "...and no token" grep -q eyJ <<<"$BODY"
token_for "$code" "$VERIFIER"
t_eq "the code is spent by a wrong verifier: 400 even with the right one" "$CODE" 400
pkce_login
code=$LOGIN_CODE
token_for "$code" "$VERIFIER"
t_eq "code + verifier: 200" "$CODE" 200
t_eq "...a session for the user" "$(curl -s -H "Authorization: Bearer $(jqb .token)" "$API/api/v1/session/userinfo" | jq -r .username)" carol
token_for "$code" "$VERIFIER"
t_eq "a used code: 400" "$CODE" 400
chal=$(printf x | openssl dgst -sha256 -binary | b64url)
t_eq "a challenge with a return_url on the site: 400" \
	"$(curl -s -o /dev/null -w '%{http_code}' "$API/auth/login?return_url=/applications&code_challenge=$chal&code_challenge_method=S256")" 400
t_eq "a challenge with a localhost (not 127.0.0.1) return_url: 400" \
	"$(curl -s -o /dev/null -w '%{http_code}' "$API/auth/login?return_url=http%3A%2F%2Flocalhost%3A$CB_PORT%2Fcb&code_challenge=$chal&code_challenge_method=S256")" 400
t_eq "a plain (not S256) challenge: 400" \
	"$(curl -s -o /dev/null -w '%{http_code}' "$API/auth/login?return_url=$ret&code_challenge=$chal&code_challenge_method=plain")" 400

# ---- bounded wait, busy port --------------------------------------------------------------
out=$(berth login "$API" --sso --sso-timeout 1 2>&1)
t_eq "no login within --sso-timeout: exit 2" "$(rc berth login "$API" --sso --sso-timeout 1)" 2
t_match "...saying so" "$out" "no login arrived within 1s"
t_eq "--sso-port taken: exit 2" "$(rc berth login "$API" --sso --sso-port "$API_PORT" --sso-timeout 5)" 2
t_match "...naming the port" "$(berth login "$API" --sso --sso-port "$API_PORT" --sso-timeout 5 2>&1)" \
	"127.0.0.1:$API_PORT is in use"
t_done
