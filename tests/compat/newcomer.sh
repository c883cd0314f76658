#!/bin/bash
# newcomer.sh - the README's quick start on a bare Debian system, as a
# newcomer would run it: a minbase chroot with nothing installed, the
# checkout copied in, `tools/quickstart.sh` run as root.  tools/run-tests.sh
# runs it for Debian 13 (trixie) as root; by hand:
#
#   sudo tests/compat/newcomer.sh [--results DIR] [--dir DIR] [--mirror URL] [SUITE]
#
# SUITE defaults to trixie.  Passes when quickstart.sh exits 0, `tshark -G
# plugins` then lists tcpstate, and the table it prints for
# sample-captures/kernel/client_close.pcap has every frame with the client
# state, server state and handshake/teardown step of that capture's .expect
# file.  With --results DIR, adds the test "newcomer.quickstart" to the
# results of the Wireshark release it found (tests/compat/results.py add).
#
# The bare system: DIR/tcpstate-compat-SUITE.minbase, a plain
# `debootstrap --variant=minbase SUITE` tree (kept by run-suite.sh when it
# makes the chroot, or made here once; cached).  Each run works on an
# overlay of it whose writable layer is a private tmpfs, in a private mount
# namespace: the cached tree is never changed, concurrent runs never meet,
# and a killed run leaves nothing behind.  The packages apt downloads come
# from an overlay of the test chroot's apt cache when there is one
# (DIR/tcpstate-compat-SUITE/var/cache/apt/archives), to save the download;
# apt still resolves and installs everything itself.
set -euo pipefail

RESULTS="" SUITE=trixie
BASE_DIR=${TCPSTATE_COMPAT_DIR:-/srv}
MIRROR=${TCPSTATE_MIRROR:-http://deb.debian.org/debian}
ARGS=("$@")
while [ $# -gt 0 ]; do
    case "$1" in
    --results) RESULTS=$2; shift ;;
    --dir) BASE_DIR=$2; shift ;;
    --mirror) MIRROR=$2; shift ;;
    -h|--help|-*) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
    *) SUITE=$1 ;;
    esac
    shift
done
if [ "$(id -u)" -ne 0 ]; then
    echo "newcomer.sh: needs root (debootstrap, chroot, mount)" >&2
    exit 1
fi
SRC=$(cd "$(dirname "$0")/../.." && pwd)
if [ -n "$RESULTS" ]; then
    mkdir -p "$RESULTS"
    RESULTS=$(cd "$RESULTS" && pwd)
fi
if [ -z "${TCPSTATE_COMPAT_NS:-}" ]; then
    if ! command -v debootstrap >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            debootstrap >/dev/null
    fi
    TCPSTATE_COMPAT_NS=1 exec unshare --mount --propagation private "$0" "${ARGS[@]}"
fi

log() { echo "newcomer[$SUITE]: $*" >&2; }
START=$(date +%s)
MINBASE="$BASE_DIR/tcpstate-compat-$SUITE.minbase"
CHROOT="$BASE_DIR/tcpstate-compat-$SUITE"
MNT="$BASE_DIR/.tcpstate-newcomer-mnt"

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

# ---- the cached minbase tree ------------------------------------------------------
mkdir -p "$BASE_DIR"
exec 9>"$MINBASE.lock"
flock -x 9
if [ ! -e "$MINBASE/.tcpstate-minbase-ready" ]; then
    rm -rf "$MINBASE" "$MINBASE.new"
    log "debootstrap --variant=minbase $SUITE $MINBASE"
    nice -n 10 debootstrap --variant=minbase "$SUITE" "$MINBASE.new" "$MIRROR" \
        >"$MINBASE.log" 2>&1 || { tail -n 20 "$MINBASE.log" >&2; exit 1; }
    rm -f "$MINBASE.log"
    date -u +%Y-%m-%dT%H:%MZ >"$MINBASE.new/.tcpstate-minbase-ready"
    mv "$MINBASE.new" "$MINBASE"
fi
flock -s 9

# ---- an overlay of it, writable layer in a private tmpfs --------------------------
mkdir -p "$MNT"
mount -t tmpfs -o mode=0755 tmpfs "$MNT"
MOUNTS+=("$MNT")
mkdir -p "$MNT/upper" "$MNT/work" "$MNT/root" "$MNT/apt-upper" "$MNT/apt-work"
mount -t overlay overlay -o "lowerdir=$MINBASE,upperdir=$MNT/upper,workdir=$MNT/work" "$MNT/root"
MOUNTS+=("$MNT/root")
R="$MNT/root"
if [ -d "$CHROOT/var/cache/apt/archives" ]; then
    mount -t overlay overlay \
        -o "lowerdir=$CHROOT/var/cache/apt/archives,upperdir=$MNT/apt-upper,workdir=$MNT/apt-work" \
        "$R/var/cache/apt/archives"
    MOUNTS+=("$R/var/cache/apt/archives")
fi
mount -t proc proc "$R/proc"; MOUNTS+=("$R/proc")
mount --bind /dev "$R/dev"; MOUNTS+=("$R/dev")
mount --bind /dev/pts "$R/dev/pts"; MOUNTS+=("$R/dev/pts")
mount --bind /sys "$R/sys"; MOUNTS+=("$R/sys")
mount -o remount,bind,ro "$R/sys"
cp -L /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null || true
case "$SUITE" in
sid|unstable|testing|forky) echo 'Acquire::Check-Valid-Until "false";' \
    >"$R/etc/apt/apt.conf.d/99tcpstate-compat" ;;
esac

# ---- the checkout, as a clone has it ------------------------------------------------
mkdir -p "$R/root/tcpstate"
if git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$SRC" ls-files -z --cached --others --exclude-standard |
        tar -C "$SRC" --null -T - --ignore-failed-read -cf - 2>/dev/null |
        tar -C "$R/root/tcpstate" -xf -
else
    tar -C "$SRC" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$R/root/tcpstate" -xf -
fi

in_root() {
    chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        LC_ALL=C.UTF-8 TERM=dumb "$@"
}

# ---- the README's command -----------------------------------------------------------
log "tools/quickstart.sh in a bare $SUITE ($(cat "$MINBASE/.tcpstate-minbase-ready"))"
status=passed detail=""
set +e
in_root sh -c 'cd /root/tcpstate && tools/quickstart.sh' >"$MNT/quickstart.out" 2>"$MNT/quickstart.err"
rc=$?
set -e
cat "$MNT/quickstart.out"
if [ $rc -ne 0 ]; then
    tail -n 30 "$MNT/quickstart.err" >&2
    status=failed detail="tools/quickstart.sh exited $rc"
elif ! in_root tshark -G plugins 2>/dev/null | grep -q '^tcpstate\.so'; then
    status=failed detail="tshark -G plugins does not list tcpstate.so after the quick start"
else
    # Every frame of the .expect, as the table shows it: client, server, step.
    problems=$(awk -F'\t' '
        FNR == NR {
            if ($1 == "frame") { for (i = 1; i <= NF; i++) col[$i] = i; next }
            if ($1 !~ /^[0-9]+$/) next
            hs = $col["tcpstate.handshake"]; td = $col["tcpstate.teardown"]
            step = hs != "-" ? "handshake " hs "/3" : (td != "-" ? "teardown " td "/4" : "")
            want[$1] = $col["tcpstate.client.state"] " " $col["tcpstate.server.state"] (step != "" ? " " step : "")
            n++; next
        }
        {
            nf = split($0, f, " +")
            if (f[2] !~ /^[0-9]+$/ || !(f[2] in want)) next
            got = f[6] " " f[7]
            for (i = 8; i <= nf; i++) if (f[i] != "") got = got " " f[i]
            seen[f[2]] = 1
            if (got != want[f[2]]) printf "frame %s: shows \"%s\", want \"%s\"\n", f[2], got, want[f[2]]
        }
        END { for (k in want) if (!(k in seen)) printf "frame %s: not shown\n", k }
    ' "$SRC/sample-captures/kernel/client_close.expect" FS=' ' "$MNT/quickstart.out")
    if [ -n "$problems" ]; then
        echo "$problems" >&2
        status=failed detail="the table differs from client_close.expect: $(echo "$problems" | head -n 1)"
    fi
fi
SERIES=$(in_root tshark --version 2>/dev/null |
         sed -n '1s/^TShark (Wireshark) \([0-9]*\.[0-9]*\)\..*/\1/p') || SERIES=""
seconds=$(($(date +%s) - START))
log "Debian $SUITE newcomer (tools/quickstart.sh, Wireshark $SERIES): $status${detail:+: $detail} ($seconds s)"
if [ -n "$RESULTS" ] && [ -n "$SERIES" ]; then
    python3 "$SRC/tests/compat/results.py" add "$RESULTS" --series "$SERIES" \
        --test "newcomer.quickstart:$status:$seconds:$detail"
fi
[ "$status" = passed ]
