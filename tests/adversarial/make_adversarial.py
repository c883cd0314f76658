#!/usr/bin/python3
"""Adversarial captures for the tcpstate plugin (docs/robustness.md).

    /usr/bin/python3 tests/adversarial/make_adversarial.py           (re)write them
    /usr/bin/python3 tests/adversarial/make_adversarial.py --check   compare a fresh
        generation with the committed files (exit 1 on any difference)
    /usr/bin/python3 tests/adversarial/make_adversarial.py --reuse OUT.pcap [N]
        the 4-tuple-reuse capture (N connections, default 10000; too big to
        commit: tests/tshark/test_adversarial.py writes it into its scratch
        directory)

Writes sample-captures/adversarial/NAME.pcap, deterministic (fixed
addresses, ISNs and timestamps; the pcap is written here byte by byte,
scapy only builds the packets and their checksums).  Their expectations are
the .expect files next to them (per-frame rows drafted with
tests/make_expect.py and checked by hand against the comments below, plus
hand-written filter and conn lines); tests/tshark/test_captures.py checks
those and its invariants on every capture, tests/tshark/test_adversarial.py
what is particular to each.

It also rewrites the `## adversarial/` section of sample-captures/README.md.
"""

import argparse
import gzip
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUTDIR = os.path.join(ROOT, "sample-captures", "adversarial")
README = os.path.join(ROOT, "sample-captures", "README.md")
SCRIPT = "tests/adversarial/make_adversarial.py"

from scapy.config import conf  # noqa: E402

conf.verb = 0
from scapy.layers.inet import GRE, ICMP, IP, TCP  # noqa: E402
from scapy.layers.inet6 import (IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop,  # noqa: E402
                                IPv6ExtHdrRouting, ICMPv6DestUnreach)
from scapy.layers.l2 import Dot1AD, Dot1Q, Ether  # noqa: E402
from scapy.packet import Raw  # noqa: E402

T0 = 1700000000
MAC_C, MAC_S = "02:00:0a:0a:00:01", "02:00:0a:0a:00:02"


def pcap_bytes(frames, snaplen=65535, gap_us=10000):
    """A classic pcap (microseconds, Ethernet); frame i at T0 + gap * i; each
    frame cut to snaplen bytes, as editcap -s snaplen does (original length
    kept)."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, 1)]
    for i, data in enumerate(frames):
        usec = i * gap_us
        cut = data[:snaplen]
        out.append(struct.pack("<IIII", T0 + usec // 1000000, usec % 1000000, len(cut), len(data)))
        out.append(cut)
    return b"".join(out)


class Conn:
    """One TCP connection's segments, with sequence numbers kept: c() from
    the client, s() from the server.  wrap(inner) gives the frame bytes."""

    def __init__(self, csrc, sdst, cport, sport, isn_c=1000, isn_s=5000, wrap=None, v6=False):
        self.csrc, self.sdst, self.cport, self.sport = csrc, sdst, cport, sport
        self.seq = {"c": isn_c, "s": isn_s}
        self.v6 = v6
        self.wrap = wrap or (lambda pkt, side: Ether(src=MAC_C if side == "c" else MAC_S,
                                                     dst=MAC_S if side == "c" else MAC_C) / pkt)

    def ip(self, side):
        src, dst = (self.csrc, self.sdst) if side == "c" else (self.sdst, self.csrc)
        return IPv6(src=src, dst=dst, hlim=64) if self.v6 else IP(src=src, dst=dst, id=1, ttl=64)

    def tcp(self, side, flags, length=0, seq=None, ack=True, ackno=None, **kw):
        other = "s" if side == "c" else "c"
        sp, dp = (self.cport, self.sport) if side == "c" else (self.sport, self.cport)
        s = self.seq[side] if seq is None else seq
        a = (self.seq[other] if ackno is None else ackno) if ack else 0
        opts = [("MSS", 1460)] if "S" in flags else []
        return TCP(sport=sp, dport=dp, seq=s, ack=a, flags=flags, window=64240, options=opts, **kw)

    def seg(self, side, flags, length=0, seq=None, advance=True, ip=None, ackno=None, **kw):
        """The frame bytes of one segment; the sender's sequence number moves
        on by SYN, FIN and length unless advance is False (a retransmission)."""
        t = self.tcp(side, flags, seq=seq, ack="A" in flags, ackno=ackno, **kw)
        pkt = (ip if ip is not None else self.ip(side)) / t
        if length:
            pkt = pkt / Raw(b"x" * length)
        if advance and seq is None:
            self.seq[side] += length + ("S" in flags) + ("F" in flags)
        return bytes(self.wrap(pkt, side))

    def open(self):
        return [self.seg("c", "S"), self.seg("s", "SA"), self.seg("c", "A")]

    def close(self):
        """Client-first four-segment close."""
        return [self.seg("c", "FA"), self.seg("s", "A"), self.seg("s", "FA"), self.seg("c", "A")]


# ---- the captures -----------------------------------------------------------------
# Each returns (frames, description for the README).


def icmp_errors():
    """Errors quoting every kind of segment of a live connection."""
    v4 = Conn("10.10.1.1", "10.10.1.2", 41001, 80)
    v6 = Conn("fd00:a:1::1", "fd00:a:1::2", 41002, 443, v6=True)
    f = v4.open()
    # quoted: a RST, a FIN and an ACK of the connection's own 4-tuple, with
    # sequence numbers that would close or reset it if they were believed.
    # (Not a SYN: a quoted SYN with a sequence number other than the ISN
    # makes Wireshark 4.0 start a new tcp.stream for the connection, which
    # tcpstate follows; docs/robustness.md.)
    for flags in ("R", "FA", "A"):
        quoted = IP(src="10.10.1.1", dst="10.10.1.2", id=1) / v4.tcp("c", flags, ack="A" in flags)
        f.append(bytes(Ether(src=MAC_S, dst=MAC_C) /
                       IP(src="10.10.1.254", dst="10.10.1.1", id=2) /
                       ICMP(type=3, code=3) / bytes(quoted)))
    f += [v4.seg("c", "PA", 10), v4.seg("s", "A")] + v4.close()
    f += v6.open()
    for flags in ("R", "FA"):
        quoted = IPv6(src="fd00:a:1::2", dst="fd00:a:1::1") / v6.tcp("s", flags, ack="A" in flags)
        f.append(bytes(Ether(src=MAC_C, dst=MAC_S) /
                       IPv6(src="fd00:a:1::fe", dst="fd00:a:1::2") /
                       ICMPv6DestUnreach(code=4) / bytes(quoted)))
    f += [v6.seg("s", "PA", 10), v6.seg("c", "A")] + v6.close()
    return f, ("TCP inside ICMP errors: an IPv4 connection with port-unreachable errors quoting a "
               "RST, a FIN and an ACK of its own 4-tuple (whole TCP header quoted), an IPv6 one with ICMPv6 destination-unreachable quoting a whole RST and "
               "FIN; the quoted headers change no state, both connections close normally")


def icmp_short_quote():
    """RFC 792 quotes: only the first 8 bytes of TCP (ports and sequence number)."""
    c = Conn("10.10.1.1", "10.10.1.2", 41003, 80)
    f = c.open()
    for flags in ("R", "FA", "S"):
        quoted = IP(src="10.10.1.1", dst="10.10.1.2", id=1) / c.tcp("c", flags, ack="A" in flags)
        f.append(bytes(Ether(src=MAC_S, dst=MAC_C) /
                       IP(src="10.10.1.254", dst="10.10.1.1", id=2) /
                       ICMP(type=3, code=3) / bytes(quoted)[:28]))
    f += [c.seg("c", "PA", 10), c.seg("s", "A")] + c.close()
    return f, ("ICMP port-unreachable errors quoting only the first 8 bytes of TCP (RFC 792: "
               "ports and sequence number, no flags) of a RST, a FIN and a SYN of a live "
               "connection: Wireshark gives the quote no tcp.stream, tcpstate marks nothing "
               "and changes no state; the connection closes normally")


def _snap_conns():
    v4 = Conn("10.10.2.1", "10.10.2.2", 42001, 80)
    v6 = Conn("fd00:a:2::1", "fd00:a:2::2", 42002, 80, v6=True)
    f = v4.open() + [v4.seg("c", "PA", 100), v4.seg("s", "A")] + v4.close()
    f += v6.open() + [v6.seg("c", "PA", 100), v6.seg("s", "A")] + v6.close()
    return f


def snaplen54():
    return pcap_bytes(_snap_conns(), snaplen=54), (
        "an IPv4 and an IPv6 connection (handshake with MSS, 100 bytes of data, client-first "
        "close) cut to 54 bytes per frame (as `editcap -s 54`): the IPv4 segments keep their "
        "20-byte TCP header but the SYNs lose their options; the IPv6 frames keep no TCP "
        "header at all, so the IPv6 connection gets no states (nothing), the IPv4 one its "
        "normal states")


def snaplen60():
    return pcap_bytes(_snap_conns(), snaplen=60), (
        "the same two connections cut to 60 bytes per frame (as `editcap -s 60`): IPv4 "
        "whole headers, IPv6 only the first 6 bytes of TCP (ports and half the sequence "
        "number): the IPv6 frames get no states")


def ipv6_ext():
    """Extension headers before TCP, different on each segment."""
    chains = [
        lambda s, d: IPv6(src=s, dst=d) / IPv6ExtHdrHopByHop(),
        lambda s, d: IPv6(src=s, dst=d) / IPv6ExtHdrDestOpt(),
        lambda s, d: IPv6(src=s, dst=d) / IPv6ExtHdrRouting(addresses=[], segleft=0),
        lambda s, d: IPv6(src=s, dst=d) / IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting(
            addresses=[], segleft=0) / IPv6ExtHdrDestOpt(),
    ]
    c = Conn("fd00:a:3::1", "fd00:a:3::2", 43001, 80, v6=True)
    plan = [("c", "S", 0), ("s", "SA", 0), ("c", "A", 0), ("c", "PA", 20), ("s", "A", 0),
            ("c", "FA", 0), ("s", "A", 0), ("s", "FA", 0), ("c", "A", 0)]
    f = []
    for i, (side, flags, n) in enumerate(plan):
        s, d = (c.csrc, c.sdst) if side == "c" else (c.sdst, c.csrc)
        f.append(c.seg(side, flags, n, ip=chains[i % len(chains)](s, d)))
    return f, ("an IPv6 connection whose every segment carries extension headers before TCP, "
               "in turn hop-by-hop, destination options, routing (type 0, no segments left), "
               "and all three chained; analysed as without them, client-first close")


def vlan_mixed():
    """Each direction tagged differently; the same connection."""
    def wrap(tags):
        def w(pkt, side):
            e = Ether(src=MAC_C if side == "c" else MAC_S, dst=MAC_S if side == "c" else MAC_C)
            return e / tags[side]() / pkt
        return w
    one = Conn("10.10.4.1", "10.10.4.2", 44001, 80,
               wrap=wrap({"c": lambda: Dot1Q(vlan=10),
                          "s": lambda: Dot1AD(vlan=100) / Dot1Q(vlan=10)}))
    two = Conn("fd00:a:4::1", "fd00:a:4::2", 44002, 80, v6=True,
               wrap=wrap({"c": lambda: Dot1AD(vlan=200) / Dot1Q(vlan=20),
                          "s": lambda: Dot1Q(vlan=20)}))
    f = one.open() + two.open() + [one.seg("c", "PA", 10), two.seg("s", "PA", 10),
                                   one.seg("s", "A"), two.seg("c", "A")]
    f += one.close() + [two.seg("s", "FA"), two.seg("c", "A"), two.seg("c", "FA"), two.seg("s", "A")]
    return f, ("802.1Q and QinQ (802.1ad + 802.1Q) on the two directions of the same "
               "connection, IPv4 and IPv6, interleaved: one tcp.stream each, analysed as "
               "untagged; the IPv4 one closed by the client, the IPv6 one by the server")


def tunnels_nested():
    """TCP in IPv4/GRE/IPv4, in IP-in-IP, in IPv6-in-IPv4 and in GRE over IPv6."""
    def wrap(outer):
        def w(pkt, side):
            e = Ether(src=MAC_C if side == "c" else MAC_S, dst=MAC_S if side == "c" else MAC_C)
            return e / outer(side) / pkt
        return w
    gre = Conn("192.168.5.1", "192.168.5.2", 45001, 80, wrap=wrap(
        lambda side: IP(src="10.10.5.1" if side == "c" else "10.10.5.2",
                        dst="10.10.5.2" if side == "c" else "10.10.5.1", id=1) / GRE(proto=0x0800)))
    ipip = Conn("192.168.5.1", "192.168.5.2", 45002, 80, wrap=wrap(
        lambda side: IP(src="10.10.5.1" if side == "c" else "10.10.5.2",
                        dst="10.10.5.2" if side == "c" else "10.10.5.1", id=1, proto=4)))
    sit = Conn("fd00:a:5::1", "fd00:a:5::2", 45003, 80, v6=True, wrap=wrap(
        lambda side: IP(src="10.10.5.1" if side == "c" else "10.10.5.2",
                        dst="10.10.5.2" if side == "c" else "10.10.5.1", id=1, proto=41)))
    gre6 = Conn("192.168.5.1", "192.168.5.2", 45004, 80, wrap=wrap(
        lambda side: IPv6(src="fd00:a:5::1" if side == "c" else "fd00:a:5::2",
                          dst="fd00:a:5::2" if side == "c" else "fd00:a:5::1") / GRE(proto=0x0800)))
    f = []
    for c in (gre, ipip, sit, gre6):
        f += c.open() + [c.seg("c", "PA", 10), c.seg("s", "A")] + c.close()
    return f, ("TCP in tunnels: IPv4/GRE/IPv4, IPv4-in-IPv4, IPv6-in-IPv4 (6in4) and "
               "IPv6/GRE/IPv4; the inner TCP is analysed (four complete connections, "
               "client-first close)")


def reorder_dup_loss():
    """Out of order, duplicated and lost segments mid-stream."""
    c = Conn("10.10.6.1", "10.10.6.2", 46001, 80)
    f = c.open()
    d1 = c.seg("c", "PA", 100)
    d2 = c.seg("c", "PA", 100)
    f += [d2, d1, d1, c.seg("s", "A")]          # reordered, then duplicated
    d3 = c.seg("c", "PA", 100)
    f += [d3, d3]
    hole = c.seq["c"]
    lost = c.seg("c", "PA", 100)                # lost: captured only when retransmitted
    f.append(c.seg("c", "PA", 100))             # after the gap
    f += [c.seg("s", "A", ackno=hole)] * 3      # duplicate ACKs asking for the hole
    f += [lost, c.seg("s", "A")]
    data = c.seg("s", "PA", 50)
    f += [data, data, c.seg("c", "A")]          # server data duplicated
    f += c.close()
    f.append(f[-1])                             # the last ACK captured twice
    return f, ("one connection with reordered data (second segment first), duplicated "
               "segments, a segment lost mid-stream then retransmitted, duplicate ACKs, "
               "server data duplicated and the last ACK captured twice; states as without "
               "them, client-first close")


def fin_rst_retx():
    """FIN retransmitted 20 times, then RST retransmitted 20 times."""
    a = Conn("10.10.7.1", "10.10.7.2", 47001, 80)
    f = a.open()
    fin = a.seg("c", "FA")
    f += [fin] * 20 + [a.seg("s", "A"), a.seg("s", "FA")] + [a.seg("s", "FA", seq=a.seq["s"] - 1,
                                                                    advance=False)] * 19
    f.append(a.seg("c", "A"))
    b = Conn("10.10.7.1", "10.10.7.2", 47002, 80)
    f += b.open() + [b.seg("c", "PA", 10), b.seg("s", "A")]
    rst = b.seg("s", "RA")
    f += [rst] * 20
    return f, ("FIN and RST retransmitted many times: a connection whose client FIN is "
               "sent 20 times before the server acknowledges it, the server FIN 20 times "
               "before the last ACK (client TIME_WAIT, server CLOSED); then another whose "
               "server RST is sent 20 times (CLOSED/CLOSED from the first on)")


def bad_checksums():
    """Segments with wrong TCP checksums (tcp.check_checksum) and one with a
    wrong IPv4 header checksum."""
    c = Conn("10.10.8.1", "10.10.8.2", 48001, 80)
    f = c.open()
    f.append(c.seg("c", "FA", seq=None, advance=False, chksum=0xdead))   # a bad FIN: dropped
    f += [c.seg("c", "PA", 10), c.seg("s", "A")]
    f.append(c.seg("s", "RA", advance=False, chksum=0xbeef))             # a bad RST: dropped
    f += c.close()
    d = Conn("10.10.8.1", "10.10.8.2", 48002, 80)
    f += d.open()
    ip = IP(src="10.10.8.2", dst="10.10.8.1", id=1, chksum=0x1234)
    f.append(d.seg("s", "RA", advance=False, ip=ip))                   # bad IP checksum
    f += d.close()
    return f, ("bad checksums: a FIN and a RST with wrong TCP checksums inside a connection "
               "that then closes normally, and a RST with a wrong IPv4 header checksum in "
               "another; with tcp.check_checksum off (the default) they count as any segment; "
               "test_adversarial.py checks that with it on, the bad FIN and RST are dropped "
               "by the receiver (the state stays ESTABLISHED)")


# Captures written gzip-compressed (tshark reads them as they are): frames
# with a TCP layer but no usable TCP header (cut by the snapshot length, or
# an 8-byte ICMP quote without a tcp.stream), which tcpstate rightly leaves
# without states; test_captures.py's invariants (both states on every
# frame with a TCP layer) do not hold for them, so they are left to
# test_adversarial.py (no .expect file: their expectations are there).
GZIPPED = {"snaplen54", "snaplen60", "icmp_short_quote"}

CAPTURES = {
    "icmp_errors": icmp_errors,
    "icmp_short_quote": icmp_short_quote,
    "snaplen54": snaplen54,
    "snaplen60": snaplen60,
    "ipv6_ext": ipv6_ext,
    "vlan_mixed": vlan_mixed,
    "tunnels_nested": tunnels_nested,
    "reorder_dup_loss": reorder_dup_loss,
    "fin_rst_retx": fin_rst_retx,
    "bad_checksums": bad_checksums,
}


def tcp_checksum(frame):
    """The TCP checksum of an Ethernet/IPv4 (no options)/TCP frame."""
    seg = frame[34:]
    data = frame[26:34] + struct.pack("!HH", 6, len(seg)) + seg[:16] + b"\0\0" + seg[18:]
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def reuse(n):
    """One 4-tuple reused n times: each a complete connection (handshake,
    client-first close) with new ISNs, 1 ms between frames.  Wireshark
    starts a new tcp.stream at each SYN.  scapy builds one connection with
    ISNs 0; each copy moves its sequence and acknowledgement numbers (and
    fixes the checksum): scapy for 70k packets would take minutes."""
    c = Conn("10.10.9.1", "10.10.9.2", 49001, 80, isn_c=0, isn_s=0)
    template = c.open() + c.close()
    frames = []
    for i in range(n):
        dc, ds = (1000 + i * 100003) % 2 ** 32, (5000 + i * 700001) % 2 ** 32
        for t in template:
            f = bytearray(t)
            from_client = struct.unpack("!H", f[34:36])[0] == 49001
            seq, ack = struct.unpack("!II", f[38:46])
            ds_seq, ds_ack = (dc, ds) if from_client else (ds, dc)
            seq = (seq + ds_seq) % 2 ** 32
            if f[47] & 0x10:
                ack = (ack + ds_ack) % 2 ** 32
            f[38:46] = struct.pack("!II", seq, ack)
            f[50:52] = struct.pack("!H", tcp_checksum(bytes(f)))
            frames.append(bytes(f))
    return pcap_bytes(frames, gap_us=1000)


def build():
    """{file name: bytes} and {name: description}."""
    files, docs = {}, {}
    for name, fn in CAPTURES.items():
        data, doc = fn()
        data = data if isinstance(data, bytes) else pcap_bytes(data)
        if name in GZIPPED:
            files[name + ".pcap.gz"] = gzip.compress(data, mtime=0)
        else:
            files[name + ".pcap"] = data
        docs[name] = doc
    return files, docs


def readme_section(docs):
    lines = ["## adversarial/", "",
             "Generated by `%s` (deterministic; `--check` compares a fresh generation with "
             "these files); expectations in the `.expect` next to each (format as for "
             "crafted/), particular checks in `tests/tshark/test_adversarial.py`; "
             "docs/robustness.md says what each shows.  The 4-tuple reused 10,000 times is "
             "not committed: the test generates it (`%s --reuse OUT.pcap`).  The `.pcap.gz` "
             "ones (tshark reads them as they are) have frames with a TCP layer but no usable "
             "TCP header, which get no states; they have no `.expect` (tests/tshark/"
             "test_captures.py requires states on every TCP frame), their expectations are in "
             "test_adversarial.py." % (SCRIPT, SCRIPT),
             ""]
    lines += ["- `%s.pcap%s` — %s — `%s` (`%s()`)." % (n, ".gz" if n in GZIPPED else "", d, SCRIPT, n)
              for n, d in docs.items()]
    return "\n".join(lines) + "\n"


def readme_with_section(old, section):
    m = re.search(r"^## adversarial/[^\n]*\n", old, re.M)
    if not m:
        return old + ("" if old.endswith("\n\n") else "\n") + section
    nxt = re.search(r"^## ", old[m.end():], re.M)
    end = m.end() + nxt.start() if nxt else len(old)
    tail = old[end:]
    return old[:m.start()] + section + ("\n" + tail if tail else "")


def same(path, data):
    """The file at path holds data (compared uncompressed for .gz: zlib
    versions may compress differently)."""
    if not os.path.exists(path):
        return False
    with open(path, "rb") as fp:
        have = fp.read()
    if path.endswith(".gz"):
        return gzip.decompress(have) == gzip.decompress(data)
    return have == data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--reuse", metavar="OUT")
    ap.add_argument("n", nargs="?", type=int, default=10000)
    args = ap.parse_args()
    if args.reuse:
        with open(args.reuse, "wb") as fp:
            fp.write(reuse(args.n))
        return 0
    files, docs = build()
    with open(README, encoding="utf-8") as fp:
        readme = fp.read()
    new_readme = readme_with_section(readme, readme_section(docs))
    if args.check:
        bad = [n for n, data in files.items() if not same(os.path.join(OUTDIR, n), data)]
        if new_readme != readme:
            bad.append("the ## adversarial/ section of sample-captures/README.md")
        for b in bad:
            print("out of date: %s" % b)
        return 1 if bad else 0
    os.makedirs(OUTDIR, exist_ok=True)
    for n, data in files.items():
        with open(os.path.join(OUTDIR, n), "wb") as fp:
            fp.write(data)
    with open(README, "w", encoding="utf-8") as fp:
        fp.write(new_readme)
    return 0


if __name__ == "__main__":
    sys.exit(main())
