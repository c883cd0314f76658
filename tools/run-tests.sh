#!/bin/sh
# Build with warnings as errors and run every test (ctest): the state-machine
# unit tests, tshark with the plugin from the build tree on every sample
# capture and on the shared corpus, the Lua twin's parity, memcheck, the
# package and the docs.  Then the sanitizer suite: the plugin built with
# AddressSanitizer and UndefinedBehaviorSanitizer, tshark run with the
# runtime preloaded, on the suites that feed it hostile input, and the
# bounded fuzz run (docs/robustness.md).  Works as root and as a user.
#
#   tools/run-tests.sh [ctest options]    e.g. -R tshark.captures
#   TCPSTATE_SANITIZE_SUITE=0 tools/run-tests.sh   skips the sanitizer suite
set -eu
cd "$(dirname "$0")/.."

tools/install-deps.sh --test

cmake -S . -B build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTCPSTATE_WERROR=ON >/dev/null
cmake --build build-test -j "$(nproc)"
ctest --test-dir build-test --output-on-failure -j "$(nproc)" "$@"

if [ "${TCPSTATE_SANITIZE_SUITE:-1}" != 0 ] && [ $# -eq 0 ]; then
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTCPSTATE_WERROR=ON \
          -DTCPSTATE_SANITIZE=ON >/dev/null
    cmake --build build-asan -j "$(nproc)"
    ctest --test-dir build-asan --output-on-failure -j "$(nproc)" \
          -R '^(sanitize\.|fuzz\.bounded$|tshark\.(plugin|adversarial)$)'
fi
