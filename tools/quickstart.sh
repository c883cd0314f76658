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
tshark -r "$capture" \
    -o 'gui.column.format:"Client","%Cus:tcpstate.client.state","Server","%Cus:tcpstate.server.state"' \
    -T fields -E separator=/t -e frame.number -e ip.src -e tcp.srcport -e ip.dst -e tcp.dstport \
    -e tcp.flags.str -e _ws.col.Client -e _ws.col.Server -e tcpstate.handshake \
    -e tcpstate.teardown 2>/dev/null | sed 's/·/./g' |
awk -F'\t' 'BEGIN { printf "%4s  %-22s %-22s %-13s %-12s %-12s %s\n", "No.", "Source", "Destination", "Flags", "Client", "Server", "Step" }
    { step = $9 != "" ? "handshake " $9 "/3" : ($10 != "" ? "teardown " $10 "/4" : "")
      printf "%4s  %-22s %-22s %-13s %-12s %-12s %s\n", $1, $2 ":" $3, $4 ":" $5, $6, $7, $8, step }'
