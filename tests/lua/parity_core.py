#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The Lua twin's core against the native one, without Wireshark's dissection.

The same segment sequences go through
  - plugin/core/zeek.c (tests/zeek/zeek_replay) and lua-compat/tcpstate_zeek.lua
    (tests/lua/zeek_replay.lua): Zeek's connections and, with -v, every
    segment's conn_state, history and endpoint states;
  - plugin/core/conn.c & co. (tests/lua/core_replay) and lua-compat/tcpstate_core.lua
    (tests/lua/core_replay.lua): every segment's record, the tracker's
    signals, and the connection's summary and Zeek view after it;
and the outputs must be byte-identical, for every Lua interpreter given.

The sequences: random ones (seeded, so reproducible: states, flags,
sequence numbers near the 2^32 and 2^20 wraps, equal ports, likely server
ports, bad checksums, truncated payloads, zero windows, time gaps across
every Zeek timer), and, when tshark is there, the segments of every sample
capture and of the shared corpus (../shared/corpus or $TCPSTATE_CORPUS).

Exit status 0 if everything agrees.
"""
import argparse
import concurrent.futures
import os
import random
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

LIKELY = [80, 22, 21, 23, 443, 513, 8080, 6379]


def fuzz_streams(seed, nstreams):
    """Random TCP segment sequences, interleaved, as replay TSV lines."""
    rnd = random.Random(seed)
    streams = []
    t0 = 1700000000.0 + rnd.random() * 1e6
    for sid in range(nstreams):
        cport = rnd.choice([rnd.randint(1024, 65535), rnd.randint(40000, 40100)])
        sport = rnd.choice(LIKELY + [rnd.randint(1, 65535), 5001, 8443])
        if rnd.random() < 0.05:
            cport = sport
        caddr, saddr = "10.0.%d.%d" % (sid % 250, rnd.randint(1, 9)), "10.1.0.%d" % rnd.randint(1, 3)
        if rnd.random() < 0.05:
            saddr = caddr                      # same address, distinguished by port
        def isn():
            r = rnd.random()
            if r < 0.2:
                return (2 ** 32 - rnd.randint(1, 300)) % 2 ** 32
            if r < 0.4:
                return (rnd.randint(0, 4095) * 2 ** 20 - rnd.randint(0, 300)) % 2 ** 32
            return rnd.randint(0, 2 ** 32 - 1)
        nxt = {0: isn(), 1: isn()}           # 0 client, 1 server
        t = t0 + rnd.random() * 20
        segs = []
        n = rnd.randint(1, 45)
        style = rnd.random()
        plan = []
        if style < 0.05:
            plan = [(0, 0x002), (1, 0x014)]                                  # refused
        elif style < 0.08:
            plan = [(0, 0x002), (0, 0x002), (1, 0x012), (1, 0x012)]          # retransmissions
        elif style < 0.6:
            plan = [(0, 0x002), (1, 0x012), (0, 0x010)]
        elif style < 0.7:
            plan = [(0, 0x002), (1, 0x002), (0, 0x012), (1, 0x012)]
        elif style < 0.8:
            plan = [(1, 0x012)]
        elif style < 0.85:
            plan = [(0, rnd.choice([0x029, 0x000, 0x001, 0x003, 0x0FF & 0x3F, 0x006]))]
        while len(plan) < n:
            plan.append((rnd.randint(0, 1), None))
        acked = {0: nxt[1], 1: nxt[0]}
        zero_side = rnd.choice([0, 1]) if rnd.random() < 0.1 else None   # a stuck receiver
        for who, flags in plan:
            other = 1 - who
            length = 0
            if flags is None:
                r = rnd.random()
                if r < 0.35:
                    flags, length = 0x018, rnd.choice([1, 10, 100, 1460])
                elif r < 0.55:
                    flags = 0x010
                elif r < 0.65:
                    flags = 0x011
                elif r < 0.69:
                    flags = rnd.choice([0x004, 0x014])
                elif r < 0.76:
                    flags = rnd.choice([0x002, 0x012])
                    length = rnd.choice([0, 0, 0, 10])
                elif r < 0.82:
                    flags = rnd.choice([0x003, 0x000, 0x001, 0x029, 0x03F, 0x006, 0x007,
                                        0x018 | 0x800, 0x010 | 0x100, 0x0C2, 0x022, 0x008])
                elif r < 0.88:
                    flags, length = 0x019, rnd.choice([0, 5])
                else:
                    flags = 0x010
            if flags & 0x002 and not flags & 0x004 and rnd.random() < 0.05:
                length = 20                                                  # SYN with data
            seq = nxt[who]
            r = rnd.random()
            if r < 0.08:
                seq = (seq - rnd.choice([1, 10, 100, 1460])) % 2 ** 32       # retransmission
            elif r < 0.13:
                seq = (seq + rnd.choice([1, 100, 5000, 70000])) % 2 ** 32    # a hole
            elif r < 0.15:
                seq = rnd.randint(0, 2 ** 32 - 1)
            if flags & 0x004:
                seq = (nxt[who] + rnd.choice([0, 0, -1, -1, 1, 500, 100000])) % 2 ** 32
            ack = nxt[other] if flags & 0x010 else 0
            r = rnd.random()
            if flags & 0x010:
                if r < 0.08:
                    ack = acked[who]
                elif r < 0.12:
                    ack = (ack + rnd.choice([1, 2, 300])) % 2 ** 32
                elif r < 0.14:
                    ack = rnd.randint(0, 2 ** 32 - 1)
            elif r < 0.1:
                ack = rnd.randint(0, 2 ** 32 - 1)
            acked[who] = ack
            adv = length + (1 if flags & 0x002 else 0) + (1 if flags & 0x001 else 0)
            if flags & 0x004:
                adv = 0
            if seq == nxt[who] or rnd.random() < 0.3:
                nxt[who] = (seq + adv) % 2 ** 32
            win = rnd.choice([65535, 29200, 512, 0, 1]) if rnd.random() < 0.15 else 64240
            if who == zero_side:
                win = 0
            if flags & 0x004 and rnd.random() < 0.5:
                win = 0
            gap = rnd.random()
            if gap < 0.02:
                t += rnd.choice([3.2, 5.3, 11.5, 61.0, 301.0, 3601.0, 7300.0])
            elif gap < 0.04:
                t -= rnd.random() * 0.5                                      # out of order
            else:
                t += rnd.random() * 0.2
            cksum = "0" if rnd.random() < 0.03 else rnd.choice(["1", "2", "2"])
            trunc = "1" if length and rnd.random() < 0.05 else "0"
            src, dst = (caddr, saddr) if who == 0 else (saddr, caddr)
            sp, dp = (cport, sport) if who == 0 else (sport, cport)
            segs.append((t, "\t".join([str(sid), "%.9f" % t, src, str(sp), dst, str(dp),
                                       "0x%04x" % flags, str(seq), str(ack), str(length),
                                       str(win), cksum, trunc])))
        streams.append(segs)
    # interleave: every stream keeps its order
    lines = []
    pos = [0] * len(streams)
    live = [i for i in range(len(streams)) if streams[i]]
    while live:
        i = rnd.choice(live)
        lines.append(streams[i][pos[i]][1])
        pos[i] += 1
        if pos[i] == len(streams[i]):
            live.remove(i)
    return lines


CAPTURE_FIELDS = ["frame.protocols", "frame.time_epoch", "tcp.stream", "ip.src", "ipv6.src",
                  "ip.dst", "ipv6.dst", "tcp.srcport", "tcp.dstport", "tcp.flags", "tcp.seq_raw",
                  "tcp.ack_raw", "tcp.len", "tcp.window_size_value", "tcp.window_size",
                  "tcp.checksum.status", "frame.len", "frame.cap_len"]


def capture_segments(tshark, pcap, extra=()):
    """(zeek lines, core lines) of a capture's TCP segments: raw window for
    Zeek, the scaled one for the core, as the plugin reads them."""
    cmd = [tshark, "-n", "-r", pcap, "-o", "tcp.check_checksum:TRUE", "-Y", "tcp"] + list(extra) + \
          ["-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=;"]
    for f in CAPTURE_FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    zeek, core = [], []
    for row in out.splitlines():
        v = dict(zip(CAPTURE_FIELDS, row.split("\t")))
        protos = v["frame.protocols"].split(":")
        if "tcp" not in protos:
            continue
        before = protos[:protos.index("tcp")]
        if "icmp" in before or "icmpv6" in before:
            continue
        fam = [p for p in before if p in ("ip", "ipv6")]
        if not fam or not v["tcp.flags"]:
            continue

        def first(name):
            return v[name].split(";")[0]
        src = v[fam[-1] + ".src"].split(";")[-1]
        dst = v[fam[-1] + ".dst"].split(";")[-1]
        tlen = int(first("tcp.len") or 0)
        trunc = "1" if int(v["frame.cap_len"]) < int(v["frame.len"]) else "0"
        cksum = first("tcp.checksum.status") or "2"
        common = [first("tcp.stream"), v["frame.time_epoch"], src, first("tcp.srcport"), dst,
                  first("tcp.dstport"), first("tcp.flags"), first("tcp.seq_raw"),
                  first("tcp.ack_raw") or "0", str(tlen)]
        zeek.append("\t".join(common + [first("tcp.window_size_value") or "0", cksum, trunc]))
        core.append("\t".join(common + [first("tcp.window_size") or "0", cksum, trunc]))
    return zeek, core


def run(cmd, text):
    p = subprocess.run(cmd, input=text, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr[-2000:]))
    return p.stdout, p.stderr


def first_difference(a, b):
    la, lb = a.splitlines(), b.splitlines()
    for i, (x, y) in enumerate(zip(la, lb)):
        if x != y:
            return "line %d:\n  C:   %s\n  Lua: %s" % (i + 1, x, y)
    return "length: C %d lines, Lua %d lines" % (len(la), len(lb))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zeek-replay", required=True, help="tests/zeek/zeek_replay (built)")
    ap.add_argument("--core-replay", required=True, help="tests/lua/core_replay (built)")
    ap.add_argument("--lua", action="append", default=[],
                    help="a Lua interpreter (repeatable); missing ones are skipped")
    ap.add_argument("--source-dir", default=ROOT)
    ap.add_argument("--corpus", default=None)
    ap.add_argument("--tshark", default=shutil.which("tshark"))
    ap.add_argument("--no-random", action="store_true", help="only the captures")
    ap.add_argument("--no-captures", action="store_true", help="only the random sequences")
    ap.add_argument("--seeds", type=int, default=40, help="random sequences (seeds 1..N)")
    ap.add_argument("--streams", type=int, default=60, help="streams per random sequence")
    a = ap.parse_args()

    luas = [l for l in (a.lua or ["lua5.2", "lua5.4"]) if shutil.which(l)]
    if not luas:
        print("SKIP: no Lua interpreter (%s)" % ", ".join(a.lua))
        return 77
    compat = os.path.join(a.source_dir, "lua-compat")
    zeek_lua = os.path.join(HERE, "zeek_replay.lua")
    core_lua = os.path.join(HERE, "core_replay.lua")

    inputs = []     # (name, zeek lines, core lines, zeek_replay argument sets)
    variants = [["-v"], ["-v", "-C"], ["-v", "-p", "none"], ["-v", "-p", "80,8080", "-i", "10.1."]]
    for seed in range(1, 0 if a.no_random else a.seeds + 1):
        lines = fuzz_streams(seed, a.streams)
        inputs.append(("random seed %d" % seed, lines, lines, [variants[seed % len(variants)]]))
    if a.tshark and not a.no_captures:
        captures = []
        samples = os.path.join(a.source_dir, "sample-captures")
        corpus = a.corpus or os.environ.get("TCPSTATE_CORPUS") or \
            os.path.join(a.source_dir, os.pardir, "shared", "corpus")
        for top in (samples, corpus):
            if not os.path.isdir(top):
                continue
            for dirpath, _, files in sorted(os.walk(top)):
                for f in sorted(files):
                    if f.endswith((".pcap", ".pcapng")):
                        captures.append(os.path.join(dirpath, f))
        def extract(pcap):
            extra = ["-d", "udp.port==32900,teredo"] if os.path.basename(pcap) == "tunnels_Teredo.pcap" else []
            return pcap, capture_segments(a.tshark, pcap, extra)
        with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as ex:
            for pcap, (z, c) in ex.map(extract, captures):
                inputs.append((os.path.relpath(pcap, os.path.dirname(a.source_dir)), z, c, [["-v"]]))

    failures = nseg = 0
    for name, zlines, clines, zargs in inputs:
        ztext, ctext = "\n".join(zlines) + "\n", "\n".join(clines) + "\n"
        nseg += len(clines)
        c_core, _ = run([a.core_replay], ctext)
        c_zeek = {}
        for args in zargs:
            c_zeek[tuple(args)] = run([a.zeek_replay] + args, ztext)
        for lua in luas:
            l_core, _ = run([lua, core_lua, compat], ctext)
            if l_core != c_core:
                failures += 1
                print("FAIL core %s (%s): %s" % (name, lua, first_difference(c_core, l_core)))
            for args in zargs:
                out, err = run([lua, zeek_lua, compat] + args, ztext)
                cout, cerr = c_zeek[tuple(args)]
                if (out, err) != (cout, cerr):
                    failures += 1
                    which = first_difference(cout, out) if out != cout else first_difference(cerr, err)
                    print("FAIL zeek %s %s (%s): %s" % (name, " ".join(args), lua, which))
    print("core parity: %d inputs, %d segments, %s: %d failures"
          % (len(inputs), nseg, ", ".join(luas), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
