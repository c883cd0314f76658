#!/bin/sh
# check_tables.sh LUAGEN COMMITTED: fail, with the diff, if the committed
# lua-compat/tcpstate_tables.lua is not what tools/luagen prints from the
# C headers of this checkout.  Regenerate with
#   cmake --build <build> --target lua_tables_update
set -u
out=$(mktemp) || exit 2
trap 'rm -f "$out"' EXIT
"$1" > "$out" || exit 2
if ! diff -u "$2" "$out"; then
    echo "$2 is stale: regenerate it (cmake --build <build> --target lua_tables_update)" >&2
    exit 1
fi
