#!/usr/bin/env bash
# libjet.so exports only the jet_* API: every dynamic symbol it defines starts
# with jet_, the API the examples use is among them, and a program links and
# runs against the shared library alone.
. "$(dirname "$0")/lib.sh"

SO=$BUILD/libjet.so
[ -f "$SO" ] || fail "$SO is not built"
command -v nm >/dev/null || fail "nm missing (binutils)"
nm -D --defined-only "$SO" | awk '{print $NF}' >"$TMPD/syms" || fail "nm -D $SO failed"
n=$(wc -l <"$TMPD/syms")
[ "$n" -ge 50 ] || fail "only $n symbols exported: the API is missing"
bad=$(grep -v '^jet_' "$TMPD/syms" | head -20)
[ -z "$bad" ] || fail "libjet.so exports internal names: $(echo $bad)"
for s in jet_station_open jet_chan_open jet_chan_recv jet_link_open jet_rbs_connect jet_lan_create; do
	grep -qx "$s" "$TMPD/syms" || fail "libjet.so does not export $s"
done
# A program that uses the API links against the shared library alone and runs.
cat >"$TMPD/p.c" <<'C'
#include <stdio.h>
#include "jet/link.h"
int main(void) {
    struct jet_link_name n; struct jet_err e = {0};
    if (jet_link_name_parse("lan:x", &n, &e) || jet_link_name_parse("bogus", &n, &e) != -22) return 1;
    puts("ok");
    return 0;
}
C
SANFLAGS=()
[ "$SANITIZED" = 1 ] && SANFLAGS=(-fsanitize=address,undefined) # the .so needs the runtime first
run ${CC:-cc} -std=gnu11 "${SANFLAGS[@]}" -Iinclude -o "$TMPD/p" "$TMPD/p.c" -L"$BUILD" -l:libjet.so
[ "$RC" = 0 ] || fail "linking against libjet.so failed: $ERR"
ln -s "$PWD/$SO" "$TMPD/libjet.so.0" # its soname, as make install names it
run env LD_LIBRARY_PATH="$TMPD" "$TMPD/p"
expect_eq "$OUT" ok "program linked against libjet.so"
echo "$n symbols exported, all jet_*"
done_ok
