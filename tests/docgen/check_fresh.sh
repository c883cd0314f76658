#!/bin/sh
# check_fresh.sh GENERATED COMMITTED: fail, with the diff, if a generated
# document differs from the committed one.  Regenerate by copying.
set -u
if ! diff -u "$2" "$1"; then
    echo "$2 is stale: regenerate it (cp $1 $2)" >&2
    exit 1
fi
