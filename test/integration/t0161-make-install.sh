#!/usr/bin/env bash
# make install PREFIX=/usr DESTDIR=...: every binary of src/ executable in
# bin/, every manual page in its section's folder (and one for every
# installed binary and for the Application resource), the manifests and the
# dashboard's files under share/berth; the pages render without warnings
# and the daemons' pages list exactly their flags.
. "$(dirname "$0")/test-lib.sh"

root=$TEST_DIR/root
# Under `make check SANITIZE=...` the inner make inherits SANITIZE through
# MAKEFLAGS and installs the sanitizer build, which is $BERTH_BIN.
t_ok "make install succeeds" \
	make -C "$BERTH_TOP" --no-print-directory -s install PREFIX=/usr DESTDIR="$root"

for p in "$BERTH_TOP"/src/*/main.c; do
	part=$(basename "$(dirname "$p")")
	b=berth-$part
	[ "$part" = cli ] && b=berth
	t_ok "bin/$b installed executable" test -x "$root/usr/bin/$b"
	t_eq "bin/$b is the built one" "$(cmp -s "$root/usr/bin/$b" "$BERTH_BIN/$b" && echo same)" same
	t_ok "$b has a manual page" sh -c "ls '$root/usr/share/man/man1/$b.1' '$root/usr/share/man/man8/$b.8' 2>/dev/null | grep -q ."
done

man=$root/usr/share/man
t_ok "berth(1) in man1" test -f "$man/man1/berth.1"
t_ok "kube-sim(1) in man1" test -f "$man/man1/kube-sim.1"
t_ok "berth-application(5) in man5" test -f "$man/man5/berth-application.5"
for s in 1 5 8; do
	for m in "$BERTH_TOP"/man/*.$s; do
		n=$(basename "$m")
		t_eq "$n installed in man$s, mode 644" "$(stat -c %a "$man/man$s/$n" 2>/dev/null)" 644
		w=$(groff -man -Tutf8 -ww -z "$man/man$s/$n" 2>&1)
		t_eq "$n renders without warnings" "$w" ""
	done
done
t_eq "no page in the wrong section" \
	"$(find "$man" -type f | awk -F/ '{ d = $(NF-1); n = $NF; sub(/^man/, "", d); if (n !~ "\\." d "$") print n }')" ""

# The daemons' pages document exactly the flags the binaries have.
flags_help() { "$BERTH_BIN/$1" --help 2>&1 | grep -oE '^ +--[a-z0-9-]+' | tr -d ' ' | sort -u; }
# Flags the page documents as options: the tag lines (.B/.BI/.BR starting with
# the flag), not flags of other commands mentioned in the prose.
flags_man() { grep -E '^\.B[IR]? +\\-\\-' "$1" | sed 's/\\-/-/g' | grep -oE -- '--[a-z0-9-]+' | sort -u; }
for m in "$man"/man8/berth-*.8; do
	b=$(basename "$m" .8)
	[ -x "$BERTH_BIN/$b" ] || continue
	t_eq "$b(8) documents every flag of $b --help, and no other" \
		"$(diff <(flags_help "$b") <(flags_man "$m") | grep '^[<>]' | tr '\n' ' ')" ""
done

share=$root/usr/share/berth
t_ok "install.yaml installed" cmp "$share/manifests/install.yaml" "$BERTH_TOP/manifests/install.yaml"
t_ok "CRDs installed" test -f "$share/manifests/crds/application.yaml" -a -f "$share/manifests/crds/appproject.yaml"
t_ok "dashboard index.html installed" cmp "$share/ui-static/index.html" "$BERTH_TOP/ui-static/index.html"
t_eq "every dashboard file installed" \
	"$(cd "$share/ui-static" && find . -type f | sort | md5sum)" "$(cd "$BERTH_TOP/ui-static" && find . -type f | sort | md5sum)"

t_done
