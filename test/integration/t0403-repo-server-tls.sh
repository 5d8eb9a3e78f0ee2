#!/usr/bin/env bash
# berth-repo-server against a Git server over HTTPS with a self-signed
# certificate: refused by default, accepted with "insecure": true (skip TLS
# verification, as Argo CD's repository setting does).
. "$(dirname "$0")/test-lib.sh"

if [ ! -e /usr/lib/lighttpd/mod_openssl.so ]; then
	t_skip "HTTPS git server" "lighttpd's mod_openssl is not installed"
	t_done
fi
make_repo examples "$FIXTURES/argocd-example-apps"

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
	-keyout "$TEST_DIR/key.pem" -out "$TEST_DIR/cert.pem" 2>/dev/null
cat "$TEST_DIR/cert.pem" "$TEST_DIR/key.pem" >"$TEST_DIR/server.pem"
tls_port=$(free_port)
cat >"$TEST_DIR/lighttpd-tls.conf" <<CONF
server.document-root = "$GIT_ROOT"
server.bind = "127.0.0.1"
server.port = $tls_port
server.errorlog = "$TEST_DIR/lighttpd-tls-error.log"
server.modules = ("mod_alias", "mod_setenv", "mod_cgi", "mod_openssl")
ssl.engine = "enable"
ssl.pemfile = "$TEST_DIR/server.pem"
alias.url = ("/git/" => "/usr/lib/git-core/git-http-backend/")
\$HTTP["url"] =~ "^/git/" {
	cgi.assign = ("" => "")
	setenv.add-environment = ("GIT_PROJECT_ROOT" => "$GIT_ROOT", "GIT_HTTP_EXPORT_ALL" => "1")
}
CONF
run_bg lighttpd-tls lighttpd -D -f "$TEST_DIR/lighttpd-tls.conf"
wait_for "https git server" 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$tls_port" || t_done
URL=https://127.0.0.1:$tls_port/git/examples.git

run_bg repo-server berth-repo-server --listen 127.0.0.1:0 --cache-dir "$TEST_DIR/cache" --work-dir "$TEST_DIR/work"
wait_for_line "$TEST_DIR/repo-server.log" 'berth-repo-server ready' 60
port=$(sed -n 's/.*berth-repo-server ready.* port=\([0-9]*\).*/\1/p' "$TEST_DIR/repo-server.log" | head -1)
RS=http://127.0.0.1:$port
wait_for "repo server answers" 60 curl -sf "$RS/healthz" || t_done

post() {
	curl -s -o "$TEST_DIR/out.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		--data-binary "$1" "$RS/v1/manifests"
}
code=$(post "{\"repo\":{\"url\":\"$URL\"},\"revision\":\"main\",\"path\":\"guestbook\"}")
t_eq "self-signed certificate refused: 403" "$code" 403
t_match "and says why" "$(jq -r .error "$TEST_DIR/out.json")" 'certificate'
code=$(post "{\"repo\":{\"url\":\"$URL\",\"insecure\":true},\"revision\":\"main\",\"path\":\"guestbook\"}")
t_eq "insecure: true skips verification" "$code:$(jq '.manifests | length' "$TEST_DIR/out.json")" "200:2"

# ---- the repo server itself over mutual TLS -----------------------------------
(
	cd "$TEST_DIR" || exit 1
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=test-ca -keyout ca.key -out ca.pem
	openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout srv.key -out srv.csr
	printf 'subjectAltName=IP:127.0.0.1\n' >srv.ext
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile srv.ext -out srv.pem
	openssl req -newkey rsa:2048 -nodes -subj /CN=berth-app-controller -keyout cli.key -out cli.csr
	openssl x509 -req -in cli.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -out cli.pem
) >/dev/null 2>&1
run_bg repo-server-mtls berth-repo-server --listen 127.0.0.1:0 --cache-dir "$TEST_DIR/cache2" \
	--work-dir "$TEST_DIR/work2" --tls-cert-file "$TEST_DIR/srv.pem" --tls-key-file "$TEST_DIR/srv.key" \
	--tls-client-ca-file "$TEST_DIR/ca.pem"
wait_for_line "$TEST_DIR/repo-server-mtls.log" 'berth-repo-server ready' 60
mport=$(sed -n 's/.*berth-repo-server ready.* port=\([0-9]*\).*/\1/p' "$TEST_DIR/repo-server-mtls.log" | head -1)
t_ok "mTLS: a client certificate from the CA is served" \
	curl -sf --cacert "$TEST_DIR/ca.pem" --cert "$TEST_DIR/cli.pem" --key "$TEST_DIR/cli.key" "https://127.0.0.1:$mport/healthz"
t_fail "mTLS: no client certificate is refused" \
	curl -sf --cacert "$TEST_DIR/ca.pem" "https://127.0.0.1:$mport/healthz"
t_fail "mTLS: plain HTTP is refused" curl -sf "http://127.0.0.1:$mport/healthz"
t_fail "--tls-client-ca-file without a certificate is a usage error" \
	berth-repo-server --tls-client-ca-file "$TEST_DIR/ca.pem"
t_done
