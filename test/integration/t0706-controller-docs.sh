#!/usr/bin/env bash
# berth-app-controller documents every flag: each flag of --help appears in
# man/berth-app-controller.8, the page renders cleanly, bad flags exit 2.
. "$(dirname "$0")/test-lib.sh"

MAN=$BERTH_TOP/man/berth-app-controller.8
t_ok "man page exists" test -s "$MAN"
if command -v groff >/dev/null; then
	t_eq "man page renders without warnings" "$(groff -ww -z -man "$MAN" 2>&1)" ""
else
	t_skip "man page renders without warnings" "groff not installed"
fi
man_text=$(sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$MAN")
help=$(berth-app-controller --help)
t_ok "--help exits 0" berth-app-controller --help
flags=$(printf '%s\n' "$help" | grep -oE '^ +--[a-z][a-z0-9-]*' | tr -d ' ' | sort -u)
t_match "help lists the flags" "$flags" "--operation-processors"
missing=""
for f in $flags; do
	grep -qE -- "(^|[^a-zA-Z0-9-])${f}([^a-zA-Z0-9-]|\$)" <<<"$man_text" || missing="$missing $f"
done
t_eq "every flag is in the man page" "$missing" ""
for f in --listen --kubeconfig --namespace --redis --redis-password-file --log-level --log-format --version \
	--repo-server --install-crds --status-processors --operation-processors --shard --shards; do
	grep -q -- "$f" <<<"$flags" || missing="$missing $f"
done
t_eq "the flags DESIGN.md and the issue ask for exist" "$missing" ""
t_match "--version prints the version" "$(berth-app-controller --version)" "^berth-app-controller [0-9]"
berth-app-controller --frobnicate >/dev/null 2>&1
t_eq "an unknown flag exits 2" "$?" "2"
berth-app-controller --shard 3 --shards 2 >/dev/null 2>&1
t_eq "a shard out of range exits 2" "$?" "2"
t_done
