#!/bin/bash
# run-suite.sh - the whole test suite against another Wireshark release, in a
# Debian chroot of the suite that ships it.  tools/run-tests.sh runs it for
# every release it tests as root; by hand, for one release:
#
#   sudo tests/compat/run-suite.sh 4.4          # Debian 13 trixie: Wireshark 4.4
#   sudo tests/compat/run-suite.sh 4.6          # Debian sid: Wireshark 4.6
#   sudo tests/compat/run-suite.sh 4.6 -- -R 'unit|plugin'   # some tests only
#   sudo tests/compat/run-suite.sh [options] SUITE [-- CTEST-ARGS...]
#
# SUITE is 4.4 / 4.6 (the Debian suite that ships that release, below) or a
# Debian suite name (trixie, forky, sid, experimental: sid with Wireshark
# from experimental).  Needs root (debootstrap, chroot, mounts); installs
# debootstrap if it is missing; needs a Debian mirror.
#
#   --results DIR  add this release's results to DIR (tests/compat/results.py)
#   --fresh        delete the cached chroot and make a new one
#   --no-gui       leave out the GUI test's packages (the GUI test then skips)
#   --dir DIR      where chroots live (default /srv; $TCPSTATE_COMPAT_DIR)
#   --mirror URL   Debian mirror ($TCPSTATE_MIRROR; default deb.debian.org)
#
# What it does:
#  1. makes DIR/tcpstate-compat-SUITE with debootstrap --variant=minbase,
#     or reuses it (cached between runs; --fresh remakes it); a copy of the
#     bare minbase tree is kept as DIR/tcpstate-compat-SUITE.minbase for
#     tests/compat/newcomer.sh;
#  2. installs the checkout's own dependency list in it,
#     tools/install-deps.sh --test (with the GUI test's X and Qt packages
#     unless --no-gui);
#  3. copies the checkout (tracked and untracked files, not ignored ones such
#     as build directories) into a private work directory in the chroot and
#     bind-mounts the corpus (../shared/corpus or $TCPSTATE_CORPUS) read-only
#     when it exists;
#  4. configures with -DTCPSTATE_WERROR=ON, builds, and runs ctest there, as
#     root: the tests run tshark as "nobody" themselves (tests/tshark_env.py);
#  5. prints the result line (Wireshark X.Y.Z: N passed, M failed ...).
#
# Concurrent runs and killed runs: making the chroot and installing packages
# hold an exclusive lock (DIR/tcpstate-compat-SUITE.lock), testing holds a
# shared one, so --fresh waits for the runs using the chroot.  Everything a
# run mounts lives in a private mount namespace (unshare), so it vanishes
# with the run even when it is killed: /proc, /dev, /sys, the corpus, and
# two private tmpfs, the work directory (/tcpstate-run in the chroot: the
# source, the build, the ctest report) and /tmp.  Two runs in one chroot
# never see each other's files; a run leaves nothing behind in the chroot,
# and never touches the chroot's work/ folder.  Exit status: 0 when the
# build and every test passed.
set -euo pipefail

# ---- which Debian suite ships which Wireshark --------------------------------
suite_of() {
    case "$1" in
    4.0) echo bookworm ;;
    4.4) echo trixie ;;
    4.6) echo sid ;;
    *) echo "$1" ;;
    esac
}

usage() {
    sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

FRESH=false GUI=true RESULTS=""
BASE_DIR=${TCPSTATE_COMPAT_DIR:-/srv}
MIRROR=${TCPSTATE_MIRROR:-http://deb.debian.org/debian}
ARGS=("$@")
while [ $# -gt 0 ]; do
    case "$1" in
    --fresh) FRESH=true ;;
    --no-gui) GUI=false ;;
    --results) RESULTS=$2; shift ;;
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
CTEST_ARGS=("$@")

if [ "$(id -u)" -ne 0 ]; then
    echo "run-suite.sh: needs root (debootstrap, chroot, mount)" >&2
    exit 1
fi

SRC=$(cd "$(dirname "$0")/../.." && pwd)
if [ -n "$RESULTS" ]; then
    mkdir -p "$RESULTS"
    RESULTS=$(cd "$RESULTS" && pwd)
fi

# Everything below runs in a private mount namespace.
if [ -z "${TCPSTATE_COMPAT_NS:-}" ]; then
    if ! command -v debootstrap >/dev/null 2>&1; then
        echo "run-suite[$SUITE]: installing debootstrap" >&2
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            debootstrap >/dev/null
    fi
    TCPSTATE_COMPAT_NS=1 exec unshare --mount --propagation private "$0" "${ARGS[@]}"
fi

ROOT="$BASE_DIR/tcpstate-compat-$SUITE"
READY="$ROOT/.tcpstate-compat-ready"
MINBASE="$ROOT.minbase"
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

in_root() {
    chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        LC_ALL=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive "$@"
}

mount_bind() {    # mount_bind SOURCE TARGET [ro]
    mkdir -p "$2"
    mount --bind "$1" "$2"
    MOUNTS+=("$2")
    if [ "${3:-}" = ro ]; then
        mount -o remount,bind,ro "$2"
    fi
}
mount_tmpfs() {   # mount_tmpfs TARGET MODE
    mkdir -p "$1"
    mount -t tmpfs -o "mode=$2" tmpfs "$1"
    MOUNTS+=("$1")
}
mount_system() {
    mkdir -p "$ROOT/proc"
    mount -t proc proc "$ROOT/proc"
    MOUNTS+=("$ROOT/proc")
    mount_bind /dev "$ROOT/dev"
    mount_bind /dev/pts "$ROOT/dev/pts"
    mount_tmpfs "$ROOT/dev/shm" 1777
    mount_bind /sys "$ROOT/sys" ro
}

# ---- 1. the chroot (exclusive lock) ----------------------------------------------
mkdir -p "$BASE_DIR"
exec 9>"$ROOT.lock"
flock -x 9
if $FRESH && [ -e "$ROOT" ]; then
    log "deleting $ROOT (--fresh)"
    rm -rf "$ROOT" "$MINBASE"
fi
if [ ! -e "$READY" ]; then
    [ -e "$ROOT" ] && { log "removing an unfinished $ROOT"; rm -rf "$ROOT"; }
    rm -rf "$ROOT.new"
    # experimental is not a full suite: sid, plus experimental for Wireshark.
    base=$SUITE
    [ "$SUITE" = experimental ] && base=sid
    log "debootstrap --variant=minbase $base $ROOT"
    nice -n 10 debootstrap --variant=minbase "$base" "$ROOT.new" "$MIRROR" \
        >"$ROOT.debootstrap.log" 2>&1 ||
        { tail -n 20 "$ROOT.debootstrap.log" >&2; exit 1; }
    rm -f "$ROOT.debootstrap.log"
    if [ "$SUITE" = experimental ]; then
        echo "deb $MIRROR experimental main" >"$ROOT.new/etc/apt/sources.list.d/experimental.list"
        printf 'Package: *wireshark* tshark libwiretap* libwsutil* libwireshark*\nPin: release a=experimental\nPin-Priority: 990\n' \
            >"$ROOT.new/etc/apt/preferences.d/wireshark-experimental"
    fi
    # sid's and testing's Release files are valid for a week only: a mirror
    # that lags behind (or a cached chroot) would make apt-get update refuse them.
    echo 'Acquire::Check-Valid-Until "false";' >"$ROOT.new/etc/apt/apt.conf.d/99tcpstate-compat"
    if [ ! -e "$MINBASE/.tcpstate-minbase-ready" ]; then
        rm -rf "$MINBASE"
        cp -a "$ROOT.new" "$MINBASE.new"
        date -u +%Y-%m-%dT%H:%MZ >"$MINBASE.new/.tcpstate-minbase-ready"
        mv "$MINBASE.new" "$MINBASE"
    fi
    mv "$ROOT.new" "$ROOT"
    date -u +%Y-%m-%dT%H:%MZ >"$READY"
    MADE="made in this run"
else
    MADE="cached (made $(cat "$READY"))"
fi

mount_system
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true

# ---- 2. dependencies: the checkout's own list (exclusive lock) -------------------
mount_tmpfs "$ROOT/tcpstate-run" 0755
cp "$SRC/tools/install-deps.sh" "$ROOT/tcpstate-run/install-deps.sh"
DEPS=(--test)
$GUI || DEPS+=(--no-gui)
log "dependencies (tools/install-deps.sh ${DEPS[*]})"
nice -n 10 chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    LC_ALL=C.UTF-8 sh /tcpstate-run/install-deps.sh "${DEPS[@]}"
flock -s 9      # from here on, other runs may test in this chroot too

# ---- 3. the checkout and the corpus in private tmpfs ------------------------------
mount_tmpfs "$ROOT/tmp" 1777
mkdir -p "$ROOT/tcpstate-run/src" "$ROOT/tcpstate-run/results"
if git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # tracked (as in the work tree) and untracked files; not ignored ones
    git -C "$SRC" ls-files -z --cached --others --exclude-standard |
        tar -C "$SRC" --null -T - --ignore-failed-read -cf - 2>/dev/null |
        tar -C "$ROOT/tcpstate-run/src" -xf -
else
    tar -C "$SRC" --exclude='./build*' --exclude=./.git -cf - . |
        tar -C "$ROOT/tcpstate-run/src" -xf -
fi
CORPUS=${TCPSTATE_CORPUS:-$SRC/../shared/corpus}
CORPUS_ENV=()
if [ -d "$CORPUS" ]; then
    mount_bind "$CORPUS" "$ROOT/tcpstate-run/corpus" ro
    CORPUS_ENV=(TCPSTATE_CORPUS=/tcpstate-run/corpus)
    log "corpus: $(cd "$CORPUS" && pwd) (read-only)"
else
    log "no corpus at $CORPUS: the corpus tests skip themselves"
fi
if [ -n "$RESULTS" ]; then
    for f in releases.tsv tests.tsv run.tsv; do
        [ -e "$RESULTS/$f" ] && cp "$RESULTS/$f" "$ROOT/tcpstate-run/results/"
    done
fi

VERSION=$(in_root dpkg-query -W -f='${Version}' tshark)
WS_RELEASE=$(in_root tshark --version | sed -n '1s/^TShark (Wireshark) \([0-9]*\.[0-9]*\.[0-9]*\).*/\1/p')
log "Debian $SUITE: tshark $VERSION (Wireshark $WS_RELEASE), chroot made $(cat "$READY")"
case "$WANT" in
4.*) [ "${WS_RELEASE%.*}" = "$WANT" ] ||
        log "WARNING: asked for Wireshark $WANT, but $SUITE ships $WS_RELEASE" ;;
esac
DEBIAN=$(in_root sh -c '. /etc/os-release; echo "${VERSION_ID:+$VERSION_ID }"') || DEBIAN=""
case "$SUITE" in
experimental) DEBIAN="sid with experimental's Wireshark" ;;
*) DEBIAN="$DEBIAN$SUITE" ;;
esac

# ---- 4. build and test ---------------------------------------------------------------
JOBS=$(nproc)
set +e
in_root "${CORPUS_ENV[@]}" sh -euc '
    cd /tcpstate-run
    cmake -S src -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTCPSTATE_WERROR=ON >build.log 2>&1 &&
        nice -n 10 cmake --build build -j "$1" >>build.log 2>&1 ||
        { tail -n 40 build.log; exit 99; }
    shift
    nice -n 10 ctest --test-dir build --output-on-failure --output-junit /tcpstate-run/junit.xml -j "$@"
' run-suite "$JOBS" "$JOBS" "${CTEST_ARGS[@]}"
rc=$?
set -e
SECONDS_WALL=$(($(date +%s) - START))
RESULT_ARGS=(--debian "$DEBIAN" --where chroot --seconds "$SECONDS_WALL")
if [ "$rc" -eq 99 ]; then
    log "the -Werror build failed"
    RESULT_ARGS+=(--test "build:failed:0:the -Werror build failed")
else
    RESULT_ARGS+=(--junit /tcpstate-run/junit.xml)
fi
in_root python3 /tcpstate-run/src/tests/compat/results.py note /tcpstate-run/results \
    "chroot $SUITE" "$MADE" || rc=1
in_root python3 /tcpstate-run/src/tests/compat/results.py release /tcpstate-run/results \
    "${RESULT_ARGS[@]}" || rc=1
if [ -n "$RESULTS" ]; then
    cp "$ROOT/tcpstate-run/results/"*.tsv "$RESULTS/"
fi
log "Wireshark $WS_RELEASE (Debian $SUITE, tshark $VERSION): ctest exit $rc, ${SECONDS_WALL} s wall"
exit $rc
