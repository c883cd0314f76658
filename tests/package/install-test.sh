#!/bin/sh
# Install the .deb on a clean Debian 12 and check that tshark loads tcpstate
# for root and for an ordinary user.
#
#   tests/package/install-test.sh build/wireshark-tcpstate_0.1.0_amd64.deb
#
# Root only (debootstrap, chroot, mounts).  A minimal bookworm (debootstrap
# --variant=minbase) is made once and kept as a tarball in
# $TCPSTATE_CHROOT_CACHE (default /var/tmp/tcpstate-bookworm-minbase.tar);
# every run unpacks a fresh copy under /var/tmp, installs the package there
# with apt-get (which brings tshark along: the package recommends it), checks,
# purges the package, checks again, and removes the copy (KEEP=1 keeps it).
# Needs debootstrap and the Debian mirror ($TCPSTATE_MIRROR, default
# http://deb.debian.org/debian).  Not part of ctest: it downloads about
# 100 MB the first time and takes minutes.
set -eu

DEB=$(readlink -f "${1:?usage: $0 PACKAGE.deb}")
HERE=$(cd "$(dirname "$0")" && pwd)
SAMPLES="$HERE/../../sample-captures"
CACHE=${TCPSTATE_CHROOT_CACHE:-/var/tmp/tcpstate-bookworm-minbase.tar}
MIRROR=${TCPSTATE_MIRROR:-http://deb.debian.org/debian}

[ "$(id -u)" -eq 0 ] || { echo "install-test: run as root" >&2; exit 2; }
[ -f "$DEB" ] || { echo "install-test: no $DEB" >&2; exit 2; }

if [ ! -f "$CACHE" ]; then
    command -v debootstrap >/dev/null || { echo "install-test: needs debootstrap" >&2; exit 2; }
    base=$(mktemp -d /var/tmp/tcpstate-debootstrap.XXXXXX)
    echo "install-test: debootstrap bookworm into $base (once; cached in $CACHE)"
    debootstrap --variant=minbase bookworm "$base" "$MIRROR" >"$base.log" 2>&1 ||
        { tail -20 "$base.log" >&2; exit 2; }
    tar -C "$base" -cf "$CACHE.tmp" . && mv "$CACHE.tmp" "$CACHE"
    rm -rf "$base" "$base.log"
fi

R=$(mktemp -d /var/tmp/tcpstate-install-test.XXXXXX)
cleanup() {
    for m in "$R/proc" "$R/dev/pts" "$R/dev"; do
        mountpoint -q "$m" && umount -l "$m"
    done
    [ "${KEEP:-0}" = 1 ] && echo "install-test: kept $R" || rm -rf "$R"
}
trap cleanup EXIT INT TERM
tar -C "$R" -xf "$CACHE"
chmod 755 "$R"      # mktemp -d made it 0700 (and so did the tarball's "."): users must traverse /
mount -t proc proc "$R/proc"
mount --bind /dev "$R/dev"
mount --bind /dev/pts "$R/dev/pts"
cp /etc/resolv.conf "$R/etc/resolv.conf"
cp "$DEB" "$R/tmp/"
cp "$SAMPLES/kernel/server_close.pcap" "$R/tmp/"
chmod 644 "$R/tmp/server_close.pcap"

in_root() { chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 HOME=/root "$@"; }
as_user() {
    chroot "$R" env -i PATH=/usr/bin:/bin LC_ALL=C.UTF-8 HOME=/home/user \
        setpriv --reuid=user --regid=user --init-groups -- "$@"
}

fails=0
check() {   # check WHAT COMMAND...: COMMAND must succeed
    what=$1; shift
    if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}

echo "install-test: apt-get install ./$(basename "$DEB") in $R"
in_root apt-get update -qq
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "/tmp/$(basename "$DEB")" \
    >"$R/tmp/apt.log" 2>&1 || { tail -30 "$R/tmp/apt.log"; exit 1; }
grep -E "^(Setting up|Unpacking) (wireshark-tcpstate|tshark|libwireshark)" "$R/tmp/apt.log" || true
in_root useradd -m user

PLUGIN_DIR=$(in_root tshark -G folders 2>/dev/null | sed -n 's/^Global Plugins:[[:space:]]*//p')
echo "install-test: Wireshark $(in_root tshark --version 2>/dev/null | head -1)"
echo "install-test: global plugin folder $PLUGIN_DIR"

lists_plugin() {    # lists_plugin root|user: tshark -G plugins names the installed tcpstate.so
    out=$( (if [ "$1" = root ]; then in_root tshark -G plugins; else as_user tshark -G plugins; fi) 2>&1)
    printf '%s\n' "$out" | grep -q "^tcpstate\.so.*[[:space:]]$PLUGIN_DIR/epan/tcpstate\.so\$"
}
server_close_fields() {     # the capture's server FIN carries the expert info and the states
    run=in_root; [ "$1" = user ] && run=as_user
    got=$($run tshark -r /tmp/server_close.pcap -Y tcpstate.server_close -T fields \
        -e frame.number -e tcpstate.client.state -e tcpstate.server.state 2>/dev/null)
    [ "$got" = "$(printf '8\t1\t4')" ] || { echo "     got: $got"; return 1; }
}
profile_columns() {     # the global profile's custom columns, in tshark's summary lines
    run=in_root; [ "$1" = user ] && run=as_user
    $run tshark -C tcpstate -r /tmp/server_close.pcap -Y 'frame.number == 11' 2>/dev/null |
        grep -Eq "[[:space:]]CLOSED[[:space:]]+TIME_WAIT[[:space:]]"   # client, server
}

check "dpkg: wireshark-tcpstate installed" \
    test "$(in_root dpkg-query -W -f='${Status}' wireshark-tcpstate)" = "install ok installed"
check "plugin at $PLUGIN_DIR/epan/tcpstate.so, mode 644" \
    test "$(in_root stat -c %a "$PLUGIN_DIR/epan/tcpstate.so")" = 644
check "root: tshark -G plugins lists tcpstate" lists_plugin root
check "user: tshark -G plugins lists tcpstate" lists_plugin user
check "root: tcpstate fields on kernel/server_close.pcap" server_close_fields root
check "user: tcpstate fields on kernel/server_close.pcap" server_close_fields user
check "root: tshark -C tcpstate prints the state columns" profile_columns root
check "user: tshark -C tcpstate prints the state columns" profile_columns user

in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q wireshark-tcpstate >/dev/null 2>&1
check "purged: no tcpstate.so left" test ! -e "$R$PLUGIN_DIR/epan/tcpstate.so"
check "purged: tshark -G plugins no longer lists it" sh -c "! { $(command -v chroot) '$R' tshark -G plugins 2>/dev/null | grep -q tcpstate; }"

if [ "$fails" -eq 0 ]; then
    echo "install-test: PASS"
else
    echo "install-test: FAIL ($fails)"
    exit 1
fi
