#!/bin/bash
# run-suite.sh - the whole test suite against another Wireshark release, in a
# Debian chroot of the suite that ships it.
#
#   tests/compat/run-suite.sh 4.4          # Debian 13 trixie: Wireshark 4.4
#   tests/compat/run-suite.sh 4.6          # Debian sid: Wireshark 4.6
#   tests/compat/run-suite.sh [options] SUITE [-- CTEST-ARGS...]
#
# SUITE is 4.0 / 4.4 / 4.6 (the suite that ships that release, below) or a
# Debian suite name (bookworm, trixie, forky, sid, experimental).  Run as
# root (debootstrap, chroot, mounts); needs debootstrap and a reachable
# Debian mirror.
#
# CTEST-ARGS go to ctest (e.g. -R 'unit|plugin'; an -E is merged into the
# GUI exclusion).  docs/compat.md has the results and the version differences.
#
#   --fresh       delete the cached chroot and make a new one
#   --keep-build  keep the chroot's build directory (incremental rebuild)
#   --dir DIR     where chroots live (default /srv; $TCPSTATE_COMPAT_DIR)
#   --mirror URL  Debian mirror ($TCPSTATE_MIRROR; default deb.debian.org)
#
# What it does:
#  1. creates /srv/tcpstate-compat-SUITE with debootstrap --variant=minbase,
#     or reuses it (cached; --fresh recreates it);
#  2. installs the build and test dependencies in it with the checkout's own
#     tools/install-deps.sh --test --no-gui (whatever it lists for
#     tshark, Lua and pytest; not the GUI test's X and Qt packages);
#  3. copies the checkout (tracked and untracked files, not ignored ones such
#     as build directories) to /tcpstate/src in the chroot, and bind-mounts
#     the shared corpus (../shared/corpus or $TCPSTATE_CORPUS) read-only at
#     /tcpstate/corpus when it exists;
#  4. configures with -DTCPSTATE_WERROR=ON in /tcpstate/build, builds, and
#     runs ctest there, as root: the tests run tshark as "nobody" themselves
#     (tests/tshark_env.py), which Wireshark 4.4 also needs for Lua scripts.
#
# Mounts (/proc, /dev, /dev/pts, /sys, the corpus) live in a private mount
# namespace (unshare), so they vanish with this script even when it is
# killed; a trap unmounts them anyway.  Exit status: ctest's.
set -euo pipefail

# ---- tests that cannot run in the chroot, each with its reason ---------------
# gui.*: Wireshark's Qt GUI under Xvfb.  The compatibility suites are
#   GUI-less by design (no X server, no Qt in the chroot: --no-gui above);
#   the GUI test runs on the host's 4.0 only.
CTEST_EXCLUDE='^gui\.'

# ---- which Debian suite ships which Wireshark --------------------------------
# (checked with apt-cache policy tshark in each chroot; see the report in
# the README's table of supported versions)
suite_of() {
    case "$1" in
    4.0) echo bookworm ;;
    4.4) echo trixie ;;
    4.6) echo sid ;;
    *) echo "$1" ;;
    esac
}

usage() {
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

FRESH=false KEEP_BUILD=false
BASE_DIR=${TCPSTATE_COMPAT_DIR:-/srv}
MIRROR=${TCPSTATE_MIRROR:-http://deb.debian.org/debian}
ARGS=("$@")
while [ $# -gt 0 ]; do
    case "$1" in
    --fresh) FRESH=true ;;
    --keep-build) KEEP_BUILD=true ;;
    --dir) BASE_DIR=$2; shift ;;
    --mirror) MIRROR=$2; shift ;;
    -h|--help) usage ;;
    -*) usage ;;
    *) break ;;
    esac
    shift
done
[ $# -ge 1 ] || usage
WANT=$1
shift
SUITE=$(suite_of "$WANT")
if [ $# -gt 0 ]; then
    [ "$1" = "--" ] || usage
    shift
fi
CTEST_ARGS=()
# ctest keeps only the last -E: merge the caller's into the GUI exclusion.
while [ $# -gt 0 ]; do
    if [ "$1" = -E ] && [ $# -ge 2 ]; then
        CTEST_EXCLUDE="$CTEST_EXCLUDE|$2"
        shift 2
    else
        CTEST_ARGS+=("$1")
        shift
    fi
done

if [ "$(id -u)" -ne 0 ]; then
    echo "run-suite.sh: needs root (debootstrap, chroot, mount)" >&2
    exit 1
fi

# Everything below runs in a private mount namespace.
if [ -z "${TCPSTATE_COMPAT_NS:-}" ] && command -v unshare >/dev/null 2>&1; then
    TCPSTATE_COMPAT_NS=1 exec unshare --mount --propagation private "$0" "${ARGS[@]}"
fi

SRC=$(cd "$(dirname "$0")/../.." && pwd)
ROOT="$BASE_DIR/tcpstate-compat-$SUITE"
READY="$ROOT/.tcpstate-compat-ready"
START=$(date +%s)

log() { echo "run-suite[$SUITE]: $*" >&2; }

MOUNTS=()
unmount_all() {
    local i
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
        umount -l "${MOUNTS[i]}" 2>/dev/null || true
    done
    MOUNTS=()
}
trap unmount_all EXIT
trap 'exit 130' INT TERM

mounted_below() { grep -q " $1/" /proc/mounts; }

in_root() {
    chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        LC_ALL=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive "$@"
}

# ---- 1. the chroot ------------------------------------------------------------
if $FRESH && [ -e "$ROOT" ]; then
    if mounted_below "$ROOT"; then
        echo "run-suite.sh: something is mounted below $ROOT; not deleting it" >&2
        exit 1
    fi
    log "deleting $ROOT (--fresh)"
    rm -rf "$ROOT"
fi
if [ ! -e "$READY" ]; then
    [ -e "$ROOT" ] && { log "removing an unfinished $ROOT"; rm -rf "$ROOT"; }
    command -v debootstrap >/dev/null || { echo "run-suite.sh: needs debootstrap" >&2; exit 1; }
    # experimental is not a full suite: sid, plus experimental for Wireshark.
    base=$SUITE
    [ "$SUITE" = experimental ] && base=sid
    log "debootstrap --variant=minbase $base $ROOT"
    mkdir -p "$BASE_DIR"
    nice -n 10 debootstrap --variant=minbase "$base" "$ROOT" "$MIRROR" >"$ROOT.debootstrap.log" 2>&1 ||
        { tail -n 20 "$ROOT.debootstrap.log" >&2; exit 1; }
    rm -f "$ROOT.debootstrap.log"
    if [ "$SUITE" = experimental ]; then
        echo "deb $MIRROR experimental main" >"$ROOT/etc/apt/sources.list.d/experimental.list"
        printf 'Package: *wireshark* tshark libwiretap* libwsutil* libwireshark*\nPin: release a=experimental\nPin-Priority: 990\n' \
            >"$ROOT/etc/apt/preferences.d/wireshark-experimental"
    fi
    date -u +%Y-%m-%dT%H:%MZ >"$READY"
fi

mount_bind() {    # mount_bind SOURCE TARGET [ro]
    mkdir -p "$2"
    mount --bind "$1" "$2"
    MOUNTS+=("$2")
    if [ "${3:-}" = ro ]; then
        mount -o remount,bind,ro "$2"
    fi
}
mkdir -p "$ROOT/proc"
mount -t proc proc "$ROOT/proc"
MOUNTS+=("$ROOT/proc")
mount_bind /dev "$ROOT/dev"
mount_bind /dev/pts "$ROOT/dev/pts"
mount_bind /sys "$ROOT/sys" ro
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
# sid's and testing's Release files are valid for a week only: a mirror that
# lags behind (or a cached chroot) would make apt-get update refuse them.
echo 'Acquire::Check-Valid-Until "false";' >"$ROOT/etc/apt/apt.conf.d/99tcpstate-compat"

# ---- 2. dependencies: the checkout's own list -----------------------------------
mkdir -p "$ROOT/tcpstate"
cp "$SRC/tools/install-deps.sh" "$ROOT/tcpstate/install-deps.sh"
log "dependencies (tools/install-deps.sh --test --no-gui)"
nice -n 10 chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    LC_ALL=C.UTF-8 sh /tcpstate/install-deps.sh --test --no-gui

# ---- 3. the checkout and the corpus ------------------------------------------------
rm -rf "$ROOT/tcpstate/src"
mkdir -p "$ROOT/tcpstate/src"
if git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # tracked (as in the work tree) and untracked files; not ignored ones
    git -C "$SRC" ls-files -z --cached --others --exclude-standard |
        tar -C "$SRC" --null -T - --ignore-failed-read -cf - 2>/dev/null |
        tar -C "$ROOT/tcpstate/src" -xf -
else
    tar -C "$SRC" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$ROOT/tcpstate/src" -xf -
fi
CORPUS=${TCPSTATE_CORPUS:-$SRC/../shared/corpus}
CORPUS_ENV=()
if [ -d "$CORPUS" ]; then
    mount_bind "$CORPUS" "$ROOT/tcpstate/corpus" ro
    CORPUS_ENV=(TCPSTATE_CORPUS=/tcpstate/corpus)
    log "corpus: $(cd "$CORPUS" && pwd) (read-only)"
else
    log "no corpus at $CORPUS: the corpus tests skip themselves"
fi

VERSION=$(in_root dpkg-query -W -f='${Version}' tshark)
WS_RELEASE=$(in_root tshark --version | sed -n '1s/^TShark (Wireshark) \([0-9]*\.[0-9]*\.[0-9]*\).*/\1/p')
log "Debian $SUITE: tshark $VERSION (Wireshark $WS_RELEASE), chroot made $(cat "$READY")"
case "$WANT" in
4.*) [ "${WS_RELEASE%.*}" = "$WANT" ] ||
        log "WARNING: asked for Wireshark $WANT, but $SUITE ships $WS_RELEASE" ;;
esac

# ---- 4. build and test ---------------------------------------------------------------
$KEEP_BUILD || rm -rf "$ROOT/tcpstate/build"
JOBS=$(nproc)
set +e
in_root "${CORPUS_ENV[@]}" sh -euc '
    cd /tcpstate
    cmake -S src -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTCPSTATE_WERROR=ON >build.cmake.log ||
        { cat build.cmake.log; exit 1; }
    nice -n 10 cmake --build build -j "$1"
    shift
    nice -n 10 ctest --test-dir build --output-on-failure -j "$@"
' run-suite "$JOBS" "$JOBS" -E "$CTEST_EXCLUDE" "${CTEST_ARGS[@]}"
rc=$?
set -e
log "Wireshark $WS_RELEASE (Debian $SUITE, tshark $VERSION): ctest exit $rc, $(($(date +%s) - START)) s wall"
exit $rc
