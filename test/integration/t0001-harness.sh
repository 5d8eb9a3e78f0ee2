#!/usr/bin/env bash
# The test harness itself: free ports, a password-protected Redis, the Git
# servers (lighttpd + git-http-backend with and without basic auth, git
# daemon), cleanup of what was started.
. "$(dirname "$0")/test-lib.sh"

p1=$(free_port)
p2=$(free_port)
t_ok "free_port hands out two different ports" test "$p1" != "$p2"

start_redis
t_eq "redis answers with the password" "$(redis_cli ping)" "PONG"
t_match "redis refuses without the password" \
	"$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>&1)" "NOAUTH"

start_git_http
start_git_daemon
make_repo guestbook "$FIXTURES/argocd-example-apps/guestbook"
t_ok "anonymous http clone" git clone -q "$GIT_HTTP_URL/guestbook.git" "$TEST_DIR/c1"
t_ok "clone has the guestbook files" test -f "$TEST_DIR/c1/guestbook-ui-deployment.yaml"
t_fail "auth url refuses without credentials" env GIT_TERMINAL_PROMPT=0 git ls-remote "$GIT_HTTP_AUTH_URL/guestbook.git"
t_ok "auth url accepts the right credentials" \
	git ls-remote "http://$GIT_HTTP_USER:$GIT_HTTP_PASS@127.0.0.1:$GIT_HTTP_PORT/auth/guestbook.git"
t_fail "auth url refuses a wrong password" env GIT_TERMINAL_PROMPT=0 \
	git ls-remote "http://$GIT_HTTP_USER:wrong@127.0.0.1:$GIT_HTTP_PORT/auth/guestbook.git"
t_ok "git daemon clone" git clone -q "$GIT_DAEMON_URL/guestbook.git" "$TEST_DIR/c2"

before=$(repo_head guestbook)
repo_commit guestbook "scale up" sed -i 's/replicas: 1/replicas: 2/' guestbook-ui-deployment.yaml
after=$(repo_head guestbook)
t_ok "repo_commit moves the branch" test "$before" != "$after"

run_bg sleeper sleep 300
sleeper=$LAST_PID
stop_bg "$sleeper"
t_fail "stop_bg stops a process" kill -0 "$sleeper"

t_done
