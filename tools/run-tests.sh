#!/bin/bash
# The README's test command, and CI's (.ci/run): every supported Wireshark
# release, the whole suite on each, one result line per release.
#
#   tools/run-tests.sh [ctest options]    e.g. -R tshark.captures
#
# 1. The host's Wireshark (Debian 12: 4.0): installs what the tests need
#    (tools/install-deps.sh --test, Debian packages only), builds with
#    -Werror into build-test/ and runs ctest; then the sanitizer suite: the
#    plugin built with AddressSanitizer and UndefinedBehaviorSanitizer into
#    build-asan/, tshark run with the runtime preloaded, on the suites that
#    feed it hostile input, and the bounded fuzz run (docs/robustness.md).
# 2. As root: the same suite in a Debian 13 trixie chroot (Wireshark 4.4)
#    and a Debian sid chroot (4.6), tests/compat/run-suite.sh, with the GUI
#    test under Xvfb in each; and the README's quick start in a bare trixie
#    (tests/compat/newcomer.sh), counted with 4.4's tests.  If Debian
#    experimental carries a newer Wireshark than sid, its suite too.  The
#    chroots are made the first time (debootstrap, installed if missing)
#    and cached in /srv (docs/compat.md).  As a normal user, only the host's
#    release is tested, and the result says which releases were skipped.
# 3. At the end, exactly one line per release tested, e.g.
#        Wireshark 4.4.19: 34 passed, 0 failed (Debian 13 trixie, chroot)
#    also in build-test/results/summary.txt, with every test's status in
#    build-test/results/tests.tsv.  Exit status 1 if any release failed a
#    test (or did not build).
#
# ctest options go to every release's ctest (the sanitizer stage runs only
# without options).  Environment:
#   TCPSTATE_SANITIZE_SUITE=0   leave out the sanitizer stage
#   TCPSTATE_COMPAT=0           host only, even as root (says so at the end)
#   TCPSTATE_COMPAT_SUITES      the chroots, default "trixie sid"
#   TCPSTATE_NEWCOMER=0         leave out the newcomer's quick start
# Recording a run for the docs (README table, docs/compat.md):
#   /usr/bin/python3 tests/compat/results.py record build-test/results
set -u
cd "$(dirname "$0")/.."

START=$(date +%s)
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
RES=build-test/results
rc=0
SKIPPED_NOTE=""

tools/install-deps.sh --test || exit 1

rm -rf "$RES"
mkdir -p "$RES"
results() { /usr/bin/python3 tests/compat/results.py "$@"; }
note() { results note "$RES" "$1" "$2"; }

note date "$(date -u +%Y-%m-%d)"
note commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if git rev-parse --git-dir >/dev/null 2>&1 && [ -n "$(git status --porcelain 2>/dev/null)" ]; then
    note dirty yes
else
    note dirty no
fi
note cores "$(nproc)"
note load "$LOAD"
note user "$( [ "$(id -u)" -eq 0 ] && echo root || echo "a normal user")"
note ctest_args "$*"

# ---- 1. the host -----------------------------------------------------------------
HOST_START=$(date +%s)
host_tests=()
rm -f build-test/ctest-junit.xml build-asan/ctest-junit.xml
if cmake -S . -B build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTCPSTATE_WERROR=ON >/dev/null &&
   cmake --build build-test -j "$(nproc)"; then
    ctest --test-dir build-test --output-on-failure -j "$(nproc)" \
          --output-junit "$PWD/build-test/ctest-junit.xml" "$@" || rc=1
    host_tests+=(--junit build-test/ctest-junit.xml)
else
    rc=1
    host_tests+=(--test "build:failed:0:the -Werror build failed")
fi

if [ "${TCPSTATE_SANITIZE_SUITE:-1}" != 0 ] && [ $# -eq 0 ]; then
    if cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTCPSTATE_WERROR=ON \
             -DTCPSTATE_SANITIZE=ON >/dev/null &&
       cmake --build build-asan -j "$(nproc)"; then
        ctest --test-dir build-asan --output-on-failure -j "$(nproc)" \
              --output-junit "$PWD/build-asan/ctest-junit.xml" \
              -R '^(sanitize\.|fuzz\.bounded$|tshark\.(plugin|adversarial)$)' || rc=1
        host_tests+=(--junit build-asan/ctest-junit.xml:asan:)
    else
        rc=1
        host_tests+=(--test "asan:build:failed:0:the sanitizer build failed")
    fi
else
    SKIPPED_NOTE="the sanitizer stage (ctest options given, or TCPSTATE_SANITIZE_SUITE=0)"
fi
if [ $# -gt 0 ] || [ "${TCPSTATE_NEWCOMER:-1}" = 0 ]; then
    SKIPPED_NOTE="${SKIPPED_NOTE:+$SKIPPED_NOTE; }the newcomer's quick start (ctest options given, or TCPSTATE_NEWCOMER=0)"
fi
HOST_DEBIAN=$(. /etc/os-release; echo "${VERSION_ID:+$VERSION_ID }${VERSION_CODENAME:-}")
results release "$RES" --debian "$HOST_DEBIAN" --where host \
    --seconds $(($(date +%s) - HOST_START)) "${host_tests[@]}" >/dev/null || rc=1

# ---- 2. the other releases, in Debian chroots (root only) --------------------------
SUITES=${TCPSTATE_COMPAT_SUITES:-trixie sid}
experimental_tshark() {
    # The tshark version in Debian experimental, or nothing (apt, with its
    # own lists in a temporary directory: the host's apt is left alone).
    local d v
    d=$(mktemp -d)
    mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]" \
         "${TCPSTATE_MIRROR:-http://deb.debian.org/debian} experimental main" >"$d/sources.list"
    set -- -o Dir::Etc::SourceList="$d/sources.list" -o Dir::Etc::SourceParts=/dev/null \
           -o Dir::State::Lists="$d/lists" -o Dir::Cache="$d/cache" \
           -o Dir::State::Status=/dev/null -o Acquire::Check-Valid-Until=false
    if apt-get "$@" -qq update >/dev/null 2>&1; then
        v=$(apt-cache "$@" show tshark 2>/dev/null | sed -n 's/^Version: //p' | head -n 1)
        echo "${v:-none}"
    else
        echo "unknown"
    fi
    rm -rf "$d"
}

if [ "$(id -u)" -ne 0 ]; then
    SKIPPED_RELEASES="Wireshark 4.4 (Debian 13 trixie), 4.6 (Debian sid) and Debian experimental's: they run in Debian chroots, which need root (sudo tools/run-tests.sh)"
    note chroots "none (not root)"
elif [ "${TCPSTATE_COMPAT:-1}" = 0 ]; then
    SKIPPED_RELEASES="the Debian chroots ($SUITES, experimental): TCPSTATE_COMPAT=0"
    note chroots "none (TCPSTATE_COMPAT=0)"
else
    SKIPPED_RELEASES=""
    for suite in $SUITES; do
        tests/compat/run-suite.sh --results "$RES" "$suite" -- "$@" || rc=1
        if [ "$suite" = trixie ] && [ "${TCPSTATE_NEWCOMER:-1}" != 0 ] && [ $# -eq 0 ]; then
            tests/compat/newcomer.sh --results "$RES" trixie || rc=1
        fi
    done
    case " $SUITES " in
    *" sid "*)
        sid=$(chroot "${TCPSTATE_COMPAT_DIR:-/srv}/tcpstate-compat-sid" \
              dpkg-query -W -f='${Version}' tshark 2>/dev/null || echo "")
        exp=$(experimental_tshark)
        if [ "$exp" = unknown ]; then
            note experimental "not checked: apt-get update of experimental failed"
        elif [ "$exp" = none ]; then
            note experimental "carries no Wireshark (checked $(date -u +%Y-%m-%d)); sid's $sid is the newest"
        elif dpkg --compare-versions "$exp" gt "$sid"; then
            note experimental "carries tshark $exp, newer than sid's $sid: tested"
            tests/compat/run-suite.sh --results "$RES" experimental -- "$@" || rc=1
        else
            note experimental "carries tshark $exp, not newer than sid's $sid (checked $(date -u +%Y-%m-%d))"
        fi
        ;;
    esac
    chroots=$(awk -F'\t' '$1 ~ /^chroot / { printf "%s%s: %s", n++ ? "; " : "", substr($1, 8), $2 }' \
              "$RES/run.tsv")
    note chroots "${chroots:-none}"
fi

note wall_seconds $(($(date +%s) - START))
note load_end "$(cut -d' ' -f1-3 /proc/loadavg)"

# ---- 3. one line per release ---------------------------------------------------------
echo
echo "==== tcpstate: results ($(( ($(date +%s) - START) / 60 )) min; load average at the start $LOAD, at the end $(cut -d' ' -f1-3 /proc/loadavg))"
[ -n "$SKIPPED_NOTE" ] && echo "Left out: $SKIPPED_NOTE."
[ -n "$SKIPPED_RELEASES" ] && echo "Releases skipped: $SKIPPED_RELEASES."
results summary "$RES" || rc=1
exit $rc
