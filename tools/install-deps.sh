#!/bin/sh
# Install the Debian packages tcpstate needs to build and run, if any are
# missing (the plugin's build, tshark, and Dask's python3-dask and
# python3-distributed for tools/tcpstate-fleet, docs/fleet.md); with --test
# also what the whole test suite needs (the fleet tests use the same Dask
# packages; the GUI test runs Wireshark under Xvfb: the package "wireshark",
# which is the Qt GUI in Debian 13 and later and depends on it,
# wireshark-qt, in Debian 12); with --test --no-gui all of that but the GUI
# test's packages.
# Uses sudo when not root.  Debian 12 or later.
set -eu

TEST=false GUI=true
for arg in "$@"; do
    case "$arg" in
    --test) TEST=true ;;
    --no-gui) GUI=false ;;
    *) echo "usage: $0 [--test [--no-gui]]" >&2; exit 2 ;;
    esac
done

PACKAGES="wireshark-dev tshark cmake gcc make libc6-dev python3 python3-dask python3-distributed"
if $TEST; then
    PACKAGES="$PACKAGES python3 python3-pytest python3-scapy time valgrind lua5.2 lua5.4 clang libclang-rt-dev graphviz"
    if $GUI; then
        PACKAGES="$PACKAGES wireshark xvfb xdotool imagemagick x11-utils python3-tk"
    fi
fi

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "tcpstate: installing$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "tcpstate: missing packages:$missing; install them as root (no sudo here)" >&2
    exit 1
fi
# wireshark-common asks whether non-root users may capture; keep the default.
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
