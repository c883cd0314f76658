#!/bin/sh
# Fresh Debian 12 to per-packet TCP states in one command:
# install what is missing, build, install the plugin, run it on a sample.
#
# As a normal user the plugin goes into your personal plugin folder
# (~/.local/lib/wireshark/plugins/<version>/epan).  As root it goes into
# Wireshark's global plugin folder, because Wireshark never loads personal
# plugins for root.
set -eu
cd "$(dirname "$0")/.."

tools/install-deps.sh

if [ "$(id -u)" -eq 0 ]; then GLOBAL=ON; else GLOBAL=OFF; fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTCPSTATE_INSTALL_GLOBAL=$GLOBAL >/dev/null
cmake --build build -j "$(nproc)"
cmake --install build

capture=sample-captures/kernel/client_close.pcap
echo
echo "tcpstate on $capture (a client-first close recorded from Linux):"
echo
# Every value is a column (the -T tabs summary), not a -T fields field: from
# Wireshark 4.4 on, _ws.col.* fields are filled before post-dissectors run and
# custom columns are no longer fields by title (docs/compat.md).
cols='"No.","%m","Src","%Cus:ip.src","Sport","%Cus:tcp.srcport","Dst","%Cus:ip.dst"'
cols="$cols"',"Dport","%Cus:tcp.dstport","Flags","%Cus:tcp.flags.str"'
cols="$cols"',"Client","%Cus:tcpstate.client.state","Server","%Cus:tcpstate.server.state"'
cols="$cols"',"Handshake","%Cus:tcpstate.handshake:0:U","Teardown","%Cus:tcpstate.teardown:0:U"'
tshark -r "$capture" -T tabs -o "gui.column.format:$cols" 2>/dev/null | sed 's/·/./g' |
awk -F'\t' 'BEGIN { printf "%4s  %-22s %-22s %-13s %-12s %-12s %s\n", "No.", "Source", "Destination", "Flags", "Client", "Server", "Step" }
    { step = $9 != "" ? "handshake " $9 "/3" : ($10 != "" ? "teardown " $10 "/4" : "")
      printf "%4s  %-22s %-22s %-13s %-12s %-12s %s\n", $1 + 0, $2 ":" $3, $4 ":" $5, $6, $7, $8, step }'
