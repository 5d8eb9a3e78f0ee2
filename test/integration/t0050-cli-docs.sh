#!/usr/bin/env bash
# Every command of berth documents every flag: each flag its --help shows
# appears in man/berth.1, and each command has a section there (curl's
# test1139, git's t0450). Generic: commands come from `berth help --commands`,
# so commands added later are checked without touching this script.
. "$(dirname "$0")/test-lib.sh"

MAN=$BERTH_TOP/man/berth.1
t_ok "man page exists" test -s "$MAN"
if command -v groff >/dev/null; then
	t_eq "man page renders without warnings" "$(groff -ww -z -man "$MAN" 2>&1)" ""
else
	t_skip "man page renders without warnings" "groff not installed"
fi
# The man page as text: roff's \- is a '-', font escapes dropped.
man_text=$(sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\(em/-/g' "$MAN")

# Flags in a help text: words starting with - or -- after a blank, '[', ',' or '|'.
flags_of() {
	printf '%s\n' "$1" | grep -oE '(^|[][[:space:],|(])--?[a-zA-Z][a-zA-Z0-9-]*' |
		sed -E 's/^[^-]*//' | sort -u
}

# missing_flags HELP TEXT — print the flags of HELP that TEXT lacks.
missing_flags() {
	local f
	for f in $(flags_of "$1"); do
		grep -qE -- "(^|[^a-zA-Z0-9-])${f}([^a-zA-Z0-9-]|\$)" <<<"$2" || echo "$f"
	done
}

# The checker itself must be able to fail.
t_eq "checker finds flags" "$(flags_of 'x  -o, --output FORMAT [--dry-run] multi-word')" "$(printf '%s\n' --dry-run --output -o)"
t_eq "checker reports an undocumented flag" "$(missing_flags '  --frobnicate' "$man_text")" "--frobnicate"

top=$(berth --help)
t_ok "berth --help exits 0" berth --help
t_eq "top-level flags are in the man page" "$(missing_flags "$top" "$man_text")" ""

cmds=$(berth help --commands)
t_match "commands are listed" "$cmds" "local diff"
while IFS= read -r cmd; do
	[ -n "$cmd" ] || continue
	# shellcheck disable=SC2086
	help=$(berth $cmd --help 2>&1)
	rc=$?
	t_eq "berth $cmd --help exits 0" "$rc" 0
	t_match "berth $cmd --help shows a usage line" "$help" "^Usage: berth $cmd"
	t_match "berth $cmd --help documents --help" "$help" "--help"
	# shellcheck disable=SC2086
	t_eq "berth help $cmd is the same as --help" "$(berth help $cmd 2>&1)" "$help"
	t_match "man page has a section for berth $cmd" "$man_text" "\.SS \"berth $cmd"
	t_eq "every flag of berth $cmd is in the man page" "$(missing_flags "$help" "$man_text")" ""
	t_match "berth --help lists $cmd" "$top" "  $cmd "
done <<<"$cmds"

# ... and every command the man page documents exists.
stale=""
while IFS= read -r sec; do
	[ "$sec" = help ] && continue
	grep -qxF -- "$sec" <<<"$cmds" || stale="$stale [$sec]"
done < <(sed -n 's/^\.SS "berth \([a-z -]*[a-z]\).*/\1/p' "$MAN" | sed 's/ *$//')
t_eq "no man page section for a command that does not exist" "$stale" ""

t_fail "unknown command fails" berth no-such-command
out=$(berth no-such-command 2>&1)
t_match "unknown command says so" "$out" 'no command "no-such-command"'
t_fail "berth without arguments fails" berth
t_match "group name lists its commands" "$(berth local --help)" "local health"
t_match "version prints a version" "$(berth version)" '^berth [0-9]+\.[0-9]+'
t_eq "--version equals version" "$(berth --version)" "$(berth version)"
t_done
