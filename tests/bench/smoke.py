#!/usr/bin/python3
"""ctest's smoke test of the benchmark (tests/bench/CMakeLists.txt): cheap,
so that tcpgen and bench.py do not rot.  Timings are never asserted.

  1. tcpgen twice with the same seed gives byte-identical files (mix and
     synflood), another seed a different file;
  2. tshark parses the mix capture cleanly: the expected number of frames
     and of tcp.streams, IPv4 and IPv6, valid IPv4 and TCP checksums with
     checking on, no malformed packet, no expert error, and no lost or
     out-of-order segment (the sequence numbers are consistent); the flood
     gives one stream per SYN;
  3. bench.py --runs 1 on small sizes produces its table, and the plugin's
     rows have values.
"""

import argparse
import filecmp
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from tshark_env import TShark  # noqa: E402

PACKETS, CONNECTIONS, FLOOD = 20000, 2000, 5000
PI_ERROR = 0x00800000
failures = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what, flush=True)
    if not cond:
        failures.append(what)


def tcpgen(exe, out, *args):
    proc = subprocess.run([exe] + [str(a) for a in args] + ["-o", out],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit("tcpgen %s failed (%d): %s" % (" ".join(map(str, args)), proc.returncode,
                                                proc.stderr))
    os.chmod(out, 0o644)
    return proc.stderr.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tcpgen", required=True)
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--work", required=True, help="scratch directory (emptied first)")
    args = ap.parse_args()

    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    os.chmod(work, 0o755)
    mix = ["--packets", PACKETS, "--connections", CONNECTIONS]
    flood = ["--profile", "synflood", "--packets", FLOOD]

    # 1. determinism
    a, b, c = (os.path.join(work, n) for n in ("a.pcap", "b.pcap", "c.pcap"))
    summary = tcpgen(args.tcpgen, a, *mix, "--seed", 7)
    print(summary)
    tcpgen(args.tcpgen, b, *mix, "--seed", 7)
    tcpgen(args.tcpgen, c, *mix, "--seed", 8)
    check(filecmp.cmp(a, b, shallow=False), "same seed, byte-identical mix captures")
    check(not filecmp.cmp(a, c, shallow=False), "another seed, another capture")
    fa, fb = os.path.join(work, "fa.pcap"), os.path.join(work, "fb.pcap")
    tcpgen(args.tcpgen, fa, *flood, "--seed", 7)
    tcpgen(args.tcpgen, fb, *flood, "--seed", 7)
    check(filecmp.cmp(fa, fb, shallow=False), "same seed, byte-identical flood captures")
    for name in ("close_client", "close_server", "close_3seg", "rst_client", "rst_server",
                 "refused", "unanswered", "open", "midstream"):
        check(" %s=" % name in summary and " %s=0 " % name not in summary,
              "the mix has %s connections" % name)

    # 2. tshark parses it cleanly (no plugin: only Wireshark's view)
    with TShark(None) as t:
        fields = ["frame.number", "tcp.stream", "tcp.checksum.status", "ip.checksum.status",
                  "ipv6.src", "_ws.malformed", "_ws.expert.severity",
                  "tcp.analysis.lost_segment", "tcp.analysis.ack_lost_segment",
                  "tcp.analysis.out_of_order"]
        rows = t.fields(a, fields[1:], extra=["-o", "tcp.check_checksum:TRUE",
                                               "-o", "ip.check_checksum:TRUE"])
        check(len(rows) == PACKETS, "%d frames (expected %d)" % (len(rows), PACKETS))
        col = {f: i for i, f in enumerate(fields)}
        streams = {r[col["tcp.stream"]] for r in rows}
        check(len(streams) == CONNECTIONS and "" not in streams,
              "%d tcp streams (expected %d)" % (len(streams), CONNECTIONS))
        check(all(r[col["tcp.checksum.status"]] == "1" for r in rows),
              "every TCP checksum verified good")
        v4 = [r for r in rows if not r[col["ipv6.src"]]]
        check(v4 and all(r[col["ip.checksum.status"]] == "1" for r in v4),
              "every IPv4 header checksum verified good (%d IPv4 frames)" % len(v4))
        check(len(v4) < len(rows), "IPv6 frames too (%d)" % (len(rows) - len(v4)))
        check(not any(r[col["_ws.malformed"]] for r in rows), "no malformed packet")
        sev = [int(s) for r in rows for s in r[col["_ws.expert.severity"]].split(",") if s]
        check(not any(s >= PI_ERROR for s in sev), "no expert error")
        check(not any(r[col[f]] for r in rows for f in fields[7:]),
              "no lost, ACKed-unseen or out-of-order segment")

        rows = t.fields(fa, ["tcp.stream", "tcp.flags"])
        check(len(rows) == FLOOD and len({r[1] for r in rows}) == FLOOD,
              "flood: %d SYNs, one stream each" % FLOOD)
        check(all(r[2] == "0x0002" for r in rows), "flood: every segment a bare SYN")

    # 3. bench.py, one run of every row, small
    out = os.path.join(work, "bench")
    cmd = [sys.executable, os.path.join(HERE, "bench.py"), "--tcpgen", args.tcpgen,
           "--plugin", args.plugin, "--sizes", "%d:%d,flood%d" % (PACKETS, CONNECTIONS, FLOOD),
           "--runs", "1", "--out", out]
    print("$ " + " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    check(proc.returncode == 0, "bench.py exits 0")
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-3000:])
    md = os.path.join(out, "bench.md")
    check(os.path.exists(md) and "| row |" in open(md).read(), "bench.md has the table")
    check("## Machine" in proc.stdout and "### Targets" in proc.stdout,
          "the report is printed")
    try:
        with open(os.path.join(out, "bench.json")) as f:
            res = json.load(f)
        for label, size in res["sizes"].items():
            for rid in ("S0", "S", "A", "Na", "N", "Y", "N2", "N2Y", "C0", "Nc"):
                r = size["rows"].get(rid, {})
                check(r.get("ok") and r.get("wall", 0) > 0 and r.get("rss", 0) > 0,
                      "%s row %s has values (%s)" % (label, rid, r.get("check", "missing")))
    except (OSError, ValueError, KeyError) as e:
        check(False, "bench.json readable: %s" % e)
    print(proc.stdout)

    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
