# test-lib.sh — shared helpers for Berth's integration tests (git's t/ model).
#
# A test script sources this file, starts the real services it needs on free
# loopback ports, drives the product as a user would, and asserts with the
# t_* helpers, which print TAP-style lines ("ok N - what" / "not ok N - what")
# that test/run-tests counts. Everything started through this file is stopped,
# by PID, when the script exits — also when it fails or is interrupted — and
# the scratch folder $TEST_DIR is removed (kept with BERTH_KEEP=1).
#
#   . "$(dirname "$0")/test-lib.sh"
#   start_redis
#   start_git_http --auth alice:secret
#   make_repo guestbook "$FIXTURES/argocd-example-apps/guestbook"
#   t_ok "repo is served" git ls-remote "$GIT_HTTP_AUTH_URL/guestbook.git"
#   wait_for "redis answers" 10 redis_cli ping
#   t_done
#
# Helpers
#   free_port                  print a free loopback TCP port (never the same twice per test)
#   run_bg NAME CMD...         start CMD in the background, log to $TEST_DIR/NAME.log, stop at exit
#   wait_for DESC SECS CMD...  retry CMD until it succeeds or SECS pass (then fail the test)
#   wait_for_line FILE REGEX SECS   wait until FILE has a line matching REGEX
#   start_redis                REDIS_PORT, REDIS_PASSWORD, REDIS_ADDR; redis_cli ARGS...
#   start_git_http [--auth U:P]  GIT_HTTP_URL (anonymous) and GIT_HTTP_AUTH_URL/GIT_HTTP_USER/GIT_HTTP_PASS
#   start_git_daemon           GIT_DAEMON_URL
#   make_repo NAME DIR         bare repo $GIT_ROOT/NAME.git holding DIR's files in one commit
#   repo_commit NAME MSG CMD...  clone NAME, run CMD inside the clone, commit, push
#   oidc_settings_yaml URL ISSUER  berth-cm + berth-rbac-cm for the test OpenID Provider (YAML on stdout)
#   start_kube_sim             kube-sim with TLS + token: KUBE_SIM_URL, BERTH_KUBECONFIG; kube ARGS... (kubectl);
#                              $KUBE_SIM_ARGS are added to its flags (e.g. --status-delay 1500)
#   start_berth [NS]           kube-sim + Redis + repo server + controller + API server (those built;
#                              the others are skipped with a message) in control-plane namespace NS
#                              (default berth): BERTH_SERVER (http URL), BERTH_ADMIN_PASSWORD,
#                              REPO_SERVER_URL, BERTH_NS, BERTH_HAVE_{API,CONTROLLER,REPO}=0|1
#   berth_login                berth login $BERTH_SERVER as admin (contexts file under $HOME)
#   t_ok DESC CMD...           pass if CMD exits 0
#   t_fail DESC CMD...         pass if CMD exits non-zero
#   t_eq DESC ACTUAL EXPECTED  pass if equal
#   t_match DESC TEXT REGEX    pass if TEXT matches the extended regex
#   t_skip DESC WHY            counts as passed with "# SKIP" (only for what the machine cannot do)
#   t_done                     end: exit non-zero if any assertion failed
set -u
set -o pipefail

BERTH_TOP=${BERTH_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BERTH_BIN=${BERTH_BIN:-$BERTH_TOP/bin}
FIXTURES=${FIXTURES:-$BERTH_TOP/../shared/fixtures}
export PATH="$BERTH_BIN:$BERTH_TOP/.deps/bin:$PATH"

TEST_NAME=$(basename "$0" .sh)
TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/berth-$TEST_NAME.XXXXXX")
export HOME=$TEST_DIR/home
mkdir -p "$HOME"
export GIT_CONFIG_NOSYSTEM=1
git config --global user.email test@berth.test
git config --global user.name "Berth test"
git config --global init.defaultBranch main
git config --global protocol.file.allow always

_tl_pids=()
_tl_n=0
_tl_failed=0

_tl_cleanup() {
	local pid
	for pid in "${_tl_pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	local deadline=$((SECONDS + 5))
	for pid in "${_tl_pids[@]}"; do
		while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
			sleep 0.05
		done
		kill -KILL "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	if [ "${BERTH_KEEP:-0}" = 1 ] || [ $_tl_failed != 0 -a "${BERTH_KEEP_FAILED:-0}" = 1 ]; then
		echo "# kept $TEST_DIR"
	else
		rm -rf "$TEST_DIR"
	fi
}
trap _tl_cleanup EXIT
trap 'exit 130' INT TERM

# Port in 20000-32767 that nothing listens on and this test has not handed out.
# Below Linux's ephemeral range (32768-60999): a port held by some outgoing
# connection does not answer the probe but still cannot be bound, which made
# servers fail to start now and then on a busy machine.
free_port() {
	# Called as $(free_port), i.e. in a subshell: the ports handed out are
	# remembered in a file, not a variable.
	local p i used=$TEST_DIR/.ports-used
	touch "$used"
	for i in $(seq 1 200); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 12768))
		grep -qx "$p" "$used" && continue
		if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
			echo "$p" >>"$used"
			echo "$p"
			return 0
		fi
	done
	echo "free_port: no free port found" >&2
	return 1
}

# run_bg NAME CMD... — start CMD with output in $TEST_DIR/NAME.log; sets LAST_PID.
run_bg() {
	local name=$1
	shift
	# Emptied here, not by the child's redirection: that one runs after the
	# fork, so a wait_for_line right after could still find the line a
	# previous process of the same name left in the log.
	: >"$TEST_DIR/$name.log"
	"$@" >>"$TEST_DIR/$name.log" 2>&1 &
	LAST_PID=$!
	_tl_pids+=("$LAST_PID")
}

# stop_bg PID — stop one background process now (TERM, then KILL after 5 s).
stop_bg() {
	local pid=$1 deadline=$((SECONDS + 5))
	kill -TERM "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	local kept=() p
	for p in "${_tl_pids[@]}"; do [ "$p" != "$pid" ] && kept+=("$p"); done
	_tl_pids=("${kept[@]}")
	return 0
}

_tl_result() {
	local rc=$1 desc=$2
	_tl_n=$((_tl_n + 1))
	if [ "$rc" = 0 ]; then
		echo "ok $_tl_n - $desc"
	else
		echo "not ok $_tl_n - $desc"
		_tl_failed=$((_tl_failed + 1))
	fi
	return "$rc"
}

t_ok() {
	local desc=$1
	shift
	local out
	out=$("$@" 2>&1)
	local rc=$?
	[ $rc != 0 ] && printf '# command failed (%d): %s\n%s\n' "$rc" "$*" "$(echo "$out" | tail -20 | sed 's/^/#   /')"
	_tl_result $rc "$desc"
}

t_fail() {
	local desc=$1
	shift
	local out
	out=$("$@" 2>&1)
	local rc=$?
	if [ $rc = 0 ]; then
		printf '# command succeeded but should have failed: %s\n' "$*"
		_tl_result 1 "$desc"
	else
		_tl_result 0 "$desc"
	fi
}

t_eq() {
	local desc=$1 actual=$2 expected=$3
	if [ "$actual" = "$expected" ]; then
		_tl_result 0 "$desc"
	else
		printf '# expected: %s\n# actual:   %s\n' "$expected" "$actual"
		_tl_result 1 "$desc"
	fi
}

t_match() {
	local desc=$1 text=$2 re=$3
	if [[ "$text" =~ $re ]]; then
		_tl_result 0 "$desc"
	else
		printf '# no match for /%s/ in:\n%s\n' "$re" "$(echo "$text" | head -20 | sed 's/^/#   /')"
		_tl_result 1 "$desc"
	fi
}

t_skip() {
	_tl_n=$((_tl_n + 1))
	echo "ok $_tl_n - $1 # SKIP $2"
}

t_done() {
	echo "# $TEST_NAME: $_tl_n assertions, $_tl_failed failed"
	[ $_tl_failed = 0 ]
	exit $?
}

# wait_for DESC SECS CMD... — poll CMD (every 50 ms, backing off to 500 ms)
# until it succeeds; on timeout record a failure and return 1.
wait_for() {
	local desc=$1 secs=$2
	shift 2
	local deadline=$((SECONDS + secs)) delay=0.05
	while :; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		if [ $SECONDS -ge $deadline ]; then
			echo "# timed out after ${secs}s waiting for: $desc"
			_tl_result 1 "wait for $desc"
			return 1
		fi
		sleep $delay
		case $delay in 0.05) delay=0.1 ;; 0.1) delay=0.2 ;; 0.2) delay=0.5 ;; esac
	done
}

# wait_started PID SECS CMD... — like wait_for, but returns 2 at once when PID
# has exited (e.g. its port was taken between free_port and bind), so the
# caller can retry on another port. Records nothing on failure.
wait_started() {
	local pid=$1 secs=$2
	shift 2
	local deadline=$((SECONDS + secs)) delay=0.05
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		kill -0 "$pid" 2>/dev/null || return 2
		[ $SECONDS -ge $deadline ] && return 1
		sleep $delay
		case $delay in 0.05) delay=0.1 ;; 0.1) delay=0.2 ;; 0.2) delay=0.5 ;; esac
	done
}

# _tl_start_server DESC START_FN — calls START_FN (which picks a port, starts
# the server with run_bg and sets _tl_probe to a probe command) up to 3 times
# while the server dies at start-up; fails the test after that or on timeout.
_tl_start_server() {
	local desc=$1 fn=$2 try rc
	for try in 1 2 3; do
		"$fn" || return 1
		wait_started "$LAST_PID" 30 "${_tl_probe[@]}"
		rc=$?
		[ $rc = 0 ] && return 0
		[ $rc = 1 ] && break
		echo "# $desc exited at start-up (try $try); retrying on another port"
	done
	_tl_result 1 "start $desc"
	return 1
}

wait_for_line() {
	local file=$1 re=$2 secs=$3
	wait_for "line /$re/ in $(basename "$file")" "$secs" grep -qE "$re" "$file"
}

# ---- Redis -------------------------------------------------------------
start_redis() {
	REDIS_PORT=$(free_port)
	REDIS_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
	REDIS_ADDR=127.0.0.1:$REDIS_PORT
	mkdir -p "$TEST_DIR/redis"
	printf '%s\n' "$REDIS_PASSWORD" >"$TEST_DIR/redis/password"
	chmod 600 "$TEST_DIR/redis/password"
	REDIS_PASSWORD_FILE=$TEST_DIR/redis/password
	_tl_start_server redis _tl_run_redis || return 1
	REDIS_PID=$LAST_PID
	export REDIS_PORT REDIS_PASSWORD REDIS_ADDR REDIS_PASSWORD_FILE
}

_tl_run_redis() {
	REDIS_PORT=$(free_port) || return 1
	REDIS_ADDR=127.0.0.1:$REDIS_PORT
	run_bg redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --requirepass "$REDIS_PASSWORD" \
		--save "" --appendonly no --dir "$TEST_DIR/redis" --daemonize no
	_tl_probe=(redis_cli ping)
}

redis_cli() {
	REDISCLI_AUTH=$REDIS_PASSWORD redis-cli -h 127.0.0.1 -p "$REDIS_PORT" --no-auth-warning "$@"
}

# ---- Git servers --------------------------------------------------------
GIT_ROOT=$TEST_DIR/git
mkdir -p "$GIT_ROOT"

# lighttpd + git-http-backend. Two URL trees over one root:
#   $GIT_HTTP_URL/<name>.git        anonymous
#   $GIT_HTTP_AUTH_URL/<name>.git   basic auth (user:pass from --auth, default alice:s3cret-pass)
start_git_http() {
	local auth=alice:s3cret-pass
	[ "${1:-}" = "--auth" ] && auth=$2
	GIT_HTTP_USER=${auth%%:*}
	GIT_HTTP_PASS=${auth#*:}
	printf '%s:%s\n' "$GIT_HTTP_USER" "$GIT_HTTP_PASS" >"$TEST_DIR/htpasswd"
	_tl_start_server lighttpd _tl_run_lighttpd || return 1
	GIT_HTTP_URL=http://127.0.0.1:$GIT_HTTP_PORT/git
	GIT_HTTP_AUTH_URL=http://127.0.0.1:$GIT_HTTP_PORT/auth
	export GIT_HTTP_URL GIT_HTTP_AUTH_URL GIT_HTTP_USER GIT_HTTP_PASS GIT_HTTP_PORT
}

_tl_run_lighttpd() {
	local port
	port=$(free_port) || return 1
	local conf=$TEST_DIR/lighttpd.conf
	cat >"$conf" <<CONF
server.document-root = "$GIT_ROOT"
server.bind = "127.0.0.1"
server.port = $port
server.errorlog = "$TEST_DIR/lighttpd-error.log"
server.modules = ("mod_alias", "mod_setenv", "mod_cgi", "mod_auth", "mod_authn_file")
alias.url = ("/auth/" => "/usr/lib/git-core/git-http-backend/", "/git/" => "/usr/lib/git-core/git-http-backend/")
\$HTTP["url"] =~ "^/(git|auth)/" {
	cgi.assign = ("" => "")
	setenv.add-environment = ("GIT_PROJECT_ROOT" => "$GIT_ROOT", "GIT_HTTP_EXPORT_ALL" => "1")
}
auth.backend = "plain"
auth.backend.plain.userfile = "$TEST_DIR/htpasswd"
auth.require = ("/auth/" => ("method" => "basic", "realm" => "git", "require" => "valid-user"))
CONF
	run_bg lighttpd lighttpd -D -f "$conf"
	GIT_HTTP_PORT=$port
	_tl_probe=(bash -c "exec 3<>/dev/tcp/127.0.0.1/$port")
}

start_git_daemon() {
	_tl_start_server "git daemon" _tl_run_git_daemon || return 1
	GIT_DAEMON_URL=git://127.0.0.1:$GIT_DAEMON_PORT
	export GIT_DAEMON_URL
}

_tl_run_git_daemon() {
	GIT_DAEMON_PORT=$(free_port) || return 1
	run_bg git-daemon git daemon --reuseaddr --export-all --base-path="$GIT_ROOT" \
		--listen=127.0.0.1 --port="$GIT_DAEMON_PORT" "$GIT_ROOT"
	_tl_probe=(bash -c "exec 3<>/dev/tcp/127.0.0.1/$GIT_DAEMON_PORT")
}

# make_repo NAME DIR — a bare repository holding DIR's files in one commit on main.
make_repo() {
	local name=$1 src=$2 work=$TEST_DIR/work-$1
	rm -rf "$work"
	mkdir -p "$work"
	cp -R "$src"/. "$work"/
	chmod -R u+w "$work"
	git -C "$work" init -q -b main
	git -C "$work" add -A
	git -C "$work" commit -q -m "initial import of $name"
	git clone -q --bare "$work" "$GIT_ROOT/$name.git"
	git -C "$GIT_ROOT/$name.git" config http.receivepack true
	rm -rf "$work"
}

# repo_commit NAME MSG CMD... — run CMD in a fresh clone of NAME, commit all, push.
repo_commit() {
	local name=$1 msg=$2
	shift 2
	local work=$TEST_DIR/commit-$name-$RANDOM
	git clone -q "$GIT_ROOT/$name.git" "$work" || return 1
	(cd "$work" && "$@") || return 1
	git -C "$work" add -A
	git -C "$work" commit -q -m "$msg" || return 1
	git -C "$work" push -q origin HEAD || return 1
	rm -rf "$work"
}

repo_head() {
	git -C "$GIT_ROOT/$1.git" rev-parse "${2:-HEAD}"
}

# oidc_settings_yaml URL ISSUER — berth-cm naming the test OpenID Provider
# ("Test IdP", client berth, secret from berth-secret:oidc.clientSecret) and
# berth-rbac-cm making group berth-devs read-only, as YAML on stdout.
oidc_settings_yaml() {
	cat <<EOF
apiVersion: v1
kind: ConfigMap
metadata: {name: berth-cm, namespace: berth}
data:
  url: $1
  oidc.config: |
    name: Test IdP
    issuer: $2
    clientID: berth
    clientSecret: \$berth-secret:oidc.clientSecret
    requestedScopes: [openid, email, groups]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: berth-rbac-cm, namespace: berth}
data:
  scopes: '[groups]'
  policy.csv: |
    g, berth-devs, role:readonly
EOF
}

# ---- kube-sim and the Berth daemons --------------------------------------
# start_kube_sim — kube-sim over TLS with a bearer token on a free port;
# BERTH_KUBECONFIG is its kubeconfig, `kube` runs kubectl against it.
start_kube_sim() {
	KUBE_SIM_TOKEN=kst-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
	BERTH_KUBECONFIG=$TEST_DIR/kubeconfig
	_tl_start_server kube-sim _tl_run_kube_sim || return 1
	KUBE_SIM_URL=https://127.0.0.1:$KUBE_SIM_PORT
	export KUBE_SIM_URL BERTH_KUBECONFIG KUBE_SIM_TOKEN
}

_tl_run_kube_sim() {
	KUBE_SIM_PORT=$(free_port) || return 1
	rm -f "$BERTH_KUBECONFIG"
	# shellcheck disable=SC2086
	run_bg kube-sim kube-sim --listen "127.0.0.1:$KUBE_SIM_PORT" --write-kubeconfig "$BERTH_KUBECONFIG" \
		--tls --token "$KUBE_SIM_TOKEN" --status-delay 100 ${KUBE_SIM_ARGS:-}
	_tl_probe=(grep -q "^kube-sim ready" "$TEST_DIR/kube-sim.log")
}

kube() { kubectl --kubeconfig "$BERTH_KUBECONFIG" "$@"; }

# _tl_daemon NAME — is bin/NAME built? Says so when not.
_tl_daemon() {
	if [ -x "$BERTH_BIN/$1" ]; then
		return 0
	fi
	echo "# start_berth: $1 is not built yet; not started"
	return 1
}

# start_berth [NS] — everything a user of Berth talks to, on free loopback
# ports: kube-sim with the CRDs and control-plane namespace NS, Redis (with a
# password), and the repo server, controller and API server that are built.
# Extra daemon flags: $BERTH_REPO_SERVER_ARGS, $BERTH_CONTROLLER_ARGS,
# $BERTH_API_SERVER_ARGS (word-split). Logs: $TEST_DIR/<daemon>.log.
start_berth() {
	BERTH_NS=${1:-berth}
	BERTH_HAVE_API=0 BERTH_HAVE_CONTROLLER=0 BERTH_HAVE_REPO=0
	export BERTH_NS BERTH_HAVE_API BERTH_HAVE_CONTROLLER BERTH_HAVE_REPO
	start_kube_sim || return 1
	kube apply -f "$BERTH_TOP/manifests/crds/" >/dev/null || { _tl_result 1 "install the CRDs"; return 1; }
	kube create namespace "$BERTH_NS" >/dev/null 2>&1
	[ -n "${REDIS_PORT:-}" ] || start_redis || return 1
	BERTH_SECRET_FILE=$TEST_DIR/server-secret
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$BERTH_SECRET_FILE"
	chmod 600 "$BERTH_SECRET_FILE"
	# One server.secretkey for all: the API server reads it from berth-secret,
	# the repo server and controller from the file (cache entries are signed
	# with it).
	kube -n "$BERTH_NS" create secret generic berth-secret \
		--from-literal=server.secretkey="$(cat "$BERTH_SECRET_FILE")" >/dev/null ||
		{ _tl_result 1 "create berth-secret"; return 1; }
	if _tl_daemon berth-repo-server; then
		# shellcheck disable=SC2086
		run_bg repo-server berth-repo-server --listen 127.0.0.1:0 --redis "$REDIS_ADDR" \
			--redis-password-file "$REDIS_PASSWORD_FILE" --server-secret-file "$BERTH_SECRET_FILE" \
			--cache-dir "$TEST_DIR/repo-cache" --work-dir "$TEST_DIR/repo-work" ${BERTH_REPO_SERVER_ARGS:-}
		wait_for_line "$TEST_DIR/repo-server.log" 'berth-repo-server ready' 60 || return 1
		local rport
		rport=$(sed -n 's/.*berth-repo-server ready.* port=\([0-9]*\).*/\1/p' "$TEST_DIR/repo-server.log" | head -1)
		REPO_SERVER_URL=http://127.0.0.1:$rport
		BERTH_HAVE_REPO=1
		export REPO_SERVER_URL
	fi
	if _tl_daemon berth-app-controller; then
		_tl_start_server berth-app-controller _tl_run_controller || return 1
		BERTH_HAVE_CONTROLLER=1
	fi
	if _tl_daemon berth-api-server; then
		_tl_start_server berth-api-server _tl_run_api_server || return 1
		BERTH_SERVER=http://127.0.0.1:$BERTH_API_PORT
		BERTH_HAVE_API=1
		export BERTH_SERVER
		# The first start stores a random admin password in a Secret.
		wait_for "initial admin password" 30 _tl_admin_password || return 1
		BERTH_ADMIN_PASSWORD=$(_tl_admin_password)
		export BERTH_ADMIN_PASSWORD
	fi
}

_tl_daemon_flags() {
	echo --kubeconfig "$BERTH_KUBECONFIG" --namespace "$BERTH_NS" --redis "$REDIS_ADDR" \
		--redis-password-file "$REDIS_PASSWORD_FILE"
}

_tl_run_controller() {
	BERTH_CONTROLLER_PORT=$(free_port) || return 1
	# shellcheck disable=SC2046,SC2086
	run_bg app-controller berth-app-controller --listen "127.0.0.1:$BERTH_CONTROLLER_PORT" $(_tl_daemon_flags) \
		--server-secret-file "$BERTH_SECRET_FILE" ${REPO_SERVER_URL:+--repo-server "$REPO_SERVER_URL"} \
		${BERTH_CONTROLLER_ARGS:-}
	_tl_probe=(curl -sf "http://127.0.0.1:$BERTH_CONTROLLER_PORT/healthz")
}

_tl_run_api_server() {
	BERTH_API_PORT=$(free_port) || return 1
	# shellcheck disable=SC2046,SC2086
	run_bg api-server berth-api-server --listen "127.0.0.1:$BERTH_API_PORT" $(_tl_daemon_flags) --insecure \
		${REPO_SERVER_URL:+--repo-server "$REPO_SERVER_URL"} ${BERTH_API_SERVER_ARGS:-}
	_tl_probe=(curl -sf "http://127.0.0.1:$BERTH_API_PORT/healthz")
}

_tl_admin_password() {
	local p
	p=$(kube -n "$BERTH_NS" get secret berth-initial-admin-secret -o jsonpath='{.data.password}' 2>/dev/null) &&
		[ -n "$p" ] && printf '%s' "$p" | base64 -d
}

# berth_login — log the CLI in as admin (the contexts file lives under $HOME,
# which is private to the test).
berth_login() {
	berth login "$BERTH_SERVER" --username admin --password "$BERTH_ADMIN_PASSWORD"
}
