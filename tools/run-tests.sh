#!/bin/sh
# Build with warnings as errors and run every test (ctest): the state-machine
# unit tests, and tshark with the plugin from the build tree on every
# sample capture and on the shared corpus.  Works as root and as a user.
set -eu
cd "$(dirname "$0")/.."

tools/install-deps.sh --test

cmake -S . -B build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTCPSTATE_WERROR=ON >/dev/null
cmake --build build-test -j "$(nproc)"
ctest --test-dir build-test --output-on-failure -j "$(nproc)" "$@"
