#!/usr/bin/python3
"""Crafted captures for the tcpstate plugin, each with a .expect file.

    /usr/bin/python3 tests/crafted/make_captures.py            (re)write them
    /usr/bin/python3 tests/crafted/make_captures.py --check    compare a fresh
        generation with the committed files (exit 1 on any difference)
    /usr/bin/python3 tests/crafted/make_captures.py --verify [PLUGIN]
        run tshark with the plugin (default build/tcpstate.so) on every
        crafted capture and compare with its .expect file

Run from the repository root (or anywhere: paths are relative to this
file).  Deterministic: fixed addresses, MACs, IP ids, timestamps; the pcap
file is written here, byte by byte, not by scapy; scapy only builds the
packets (and their checksums).

Two kinds of captures, all in sample-captures/crafted/:

  scenario-NAME.pcap   one per scenario of tests/unit/scenarios.txt (the
      spec of the state machine), the expectations taken from the scenario
      (states, hs=, td=, sticky closer=, mid) plus the sender's role and
      tcpstate.stream 0.  Scenarios Wireshark cannot dissect as one
      connection are in SKIP, with the reason.
  NAME.pcap            hand-crafted (HANDCRAFTED below): encapsulations,
      ICMP errors, port reuse, equal ports, interleaving, truncation,
      mid-stream pickups.  Their segments are written in the scenario syntax
      too, with the expected states spelled out per segment.

It also rewrites the `## crafted/` section of sample-captures/README.md.
"""

import argparse
import filecmp
import os
import re
import struct
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCENARIOS = os.path.join(ROOT, "tests", "unit", "scenarios.txt")
OUTDIR = os.path.join(ROOT, "sample-captures", "crafted")
README = os.path.join(ROOT, "sample-captures", "README.md")
SCRIPT = "tests/crafted/make_captures.py"

sys.path.insert(0, HERE)
from expect import format_expect  # noqa: E402

from scapy.config import conf  # noqa: E402

conf.verb = 0
from scapy.layers.inet import GRE, ICMP, IP, TCP  # noqa: E402
from scapy.layers.inet6 import IPv6, ICMPv6PacketTooBig  # noqa: E402
from scapy.layers.l2 import Dot1AD, Dot1Q, Ether  # noqa: E402
from scapy.packet import Raw  # noqa: E402

# Scenarios that are not turned into captures, with the reason (printed in
# the README).  Only for differences in how Wireshark 4.0 dissects the
# segments, never to hide a disagreement between the plugin and the spec.
SKIP = {
    "illegal_into_established":
        "Wireshark 4.0 starts a new tcp.stream at its 4th segment, the SYN+FIN with seq 1001 "
        "(a SYN without ACK whose sequence number differs from the connection's ISN 1000), and "
        "another at the SYN+RST of its last segment, so the plugin sees three connections, the "
        "later ones starting fresh (CLOSED/LISTEN) instead of the ESTABLISHED connection the "
        "scenario feeds its bad flags to.",
}

T0 = 1700000000          # first frame's timestamp; frame i is T0 + 0.01 * i
MAC_A = "02:00:0a:01:00:01"
MAC_B = "02:00:0a:01:00:02"
MAC_R = "02:00:0a:01:00:fe"   # a router, source of the ICMP errors

# ---- pcap ------------------------------------------------------------------


def pcap_bytes(frames):
    """A classic pcap (microseconds, Ethernet) of frames (bytes), frame i at
    T0 + 0.01 * i."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for i, data in enumerate(frames):
        usec = i * 10000
        out.append(struct.pack("<IIII", T0 + usec // 1000000, usec % 1000000, len(data), len(data)))
        out.append(data)
    return b"".join(out)


# ---- the scenario syntax -----------------------------------------------------

FLAG_BITS = {"F": 0x001, "S": 0x002, "R": 0x004, "P": 0x008, "A": 0x010, "U": 0x020,
             "E": 0x040, "C": 0x080, "N": 0x100, "X": 0x800}
STATES = {"ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
          "CLOSED", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING"}


class Segment:
    """One line `a|b FLAGS SEQ ACK [len=N] [win=N] -> CLIENT SERVER [keys]`."""

    def __init__(self, who, flags, seq, ack, length, win, client, server, keys, closer, line):
        self.who, self.flags, self.seq, self.ack = who, flags, seq, ack
        self.len, self.win = length, win
        self.client, self.server = client, server
        self.keys = keys        # {key: value or True}, as written
        self.closer = closer    # sticky: the latest closer= of the block
        self.line = line


def parse_flags(s):
    if s == "0":
        return 0
    f = 0
    for ch in s:
        if ch not in FLAG_BITS:
            raise ValueError("bad flag %r in %r" % (ch, s))
        f |= FLAG_BITS[ch]
    return f


def parse_segment(text, closer, line=0):
    """(Segment, new sticky closer) from one segment line."""
    left, arrow, right = text.partition("->")
    if not arrow:
        raise ValueError("line %d: no '->'" % line)
    lt = left.split()
    if len(lt) < 4 or lt[0] not in ("a", "b"):
        raise ValueError("line %d: want a|b FLAGS SEQ ACK [len=N] [win=N]" % line)
    length, win = 0, 65535
    for tok in lt[4:]:
        k, _, v = tok.partition("=")
        if k == "len":
            length = int(v)
        elif k == "win":
            win = int(v)
        else:
            raise ValueError("line %d: unknown segment key %r" % (line, tok))
    rt = right.split()
    if len(rt) < 2 or rt[0] not in STATES or rt[1] not in STATES:
        raise ValueError("line %d: want -> CLIENT SERVER [keys]" % line)
    keys = {}
    for tok in rt[2:]:
        k, eq, v = tok.partition("=")
        if k not in ("hs", "td", "closer", "mid", "invalid", "badflags", "from", "int"):
            raise ValueError("line %d: unknown key %r" % (line, tok))
        keys[k] = v if eq else True
    if "closer" in keys:
        if keys["closer"] not in ("client", "server", "both"):
            raise ValueError("line %d: bad closer %r" % (line, keys["closer"]))
        closer = keys["closer"]
    seg = Segment(lt[0], parse_flags(lt[1]), int(lt[2]), int(lt[3]), length, win,
                  rt[0], rt[1], keys, closer, line)
    seg.flags_text = lt[1]
    return seg, closer


def parse_scenarios(path):
    """[(name, (port_a, port_b), [Segment], description)] in file order; the
    description is the comment right above the scenario line, else the title
    of the section (`# ---- title ----`) it is in."""
    scenarios = []
    section, comment = "", []
    with open(path, encoding="utf-8") as fp:
        for lineno, raw in enumerate(fp, 1):
            stripped = raw.strip()
            if stripped.startswith("#"):
                text = stripped.lstrip("#").strip()
                if text.startswith("----"):
                    section, comment = text.strip("- ").strip(), []
                elif text:
                    comment.append(text)
                continue
            text = raw.split("#", 1)[0].strip()
            if not text:
                comment = []
                continue
            words = text.split()
            if words[0] == "scenario":
                desc = "[%s] %s" % (section, " ".join(comment).rstrip(".")) if comment else "[%s]" % section
                scenarios.append([words[1], (40000, 80), [], None, desc])
            elif words[0] == "ports":
                scenarios[-1][1] = (int(words[1]), int(words[2]))
            else:
                seg, scenarios[-1][3] = parse_segment(text, scenarios[-1][3], lineno)
                scenarios[-1][2].append(seg)
            comment = []
    return [(name, ports, segs, desc) for name, ports, segs, _, desc in scenarios]


def parse_block(text):
    """[Segment] from a block of segment lines (hand-crafted connections)."""
    segs, closer = [], None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if line:
            seg, closer = parse_segment(line, closer, lineno)
            segs.append(seg)
    return segs


def client_side(segs, ports):
    """'a' or 'b': the client by the spec's rules, from the first segment: the
    sender of a SYN without ACK; the receiver of a SYN-ACK; otherwise the
    higher port (equal ports: the first sender)."""
    first = segs[0]
    other = "b" if first.who == "a" else "a"
    syn, ack = first.flags & 0x002, first.flags & 0x010
    if syn and not ack:
        return first.who
    if syn and ack:
        return other
    port = {"a": ports[0], "b": ports[1]}
    if port[first.who] >= port[other]:
        return first.who
    return other


def expected_row(seg, client, stream):
    """The .expect row of a segment, from its scenario expectations."""
    sender = "client" if seg.who == client else "server"
    want_from = seg.keys.get("from")
    if want_from and want_from != sender:
        raise ValueError("line %d: from=%s but the roles make it the %s" % (seg.line, want_from,
                                                                          sender))
    return {
        "tcpstate.stream": stream,
        "tcpstate.sender": sender,
        "tcpstate.client.state": seg.client,
        "tcpstate.server.state": seg.server,
        "tcpstate.handshake": seg.keys.get("hs"),
        "tcpstate.teardown": seg.keys.get("td"),
        "tcpstate.closer": seg.closer,
        "tcpstate.midstream": "1" if seg.keys.get("mid") else None,
        "tcpstate.icmp_quoted": None,
    }


def quoted_row(stream):
    return {"tcpstate.stream": stream, "tcpstate.icmp_quoted": "1"}


# ---- packets -------------------------------------------------------------------


def is6(addr):
    return ":" in addr


def tcp_header(seg, sport, dport):
    return TCP(sport=sport, dport=dport, seq=seg.seq, ack=seg.ack, dataofs=5,
               reserved=seg.flags >> 9, flags=seg.flags & 0x1FF, window=seg.win,
               urgptr=0, options=[])


def payload(seg):
    return Raw(b"x" * seg.len) if seg.len else b""


def ip_layer(src, dst, ident, proto=None):
    if is6(src):
        p = IPv6(src=src, dst=dst, hlim=64, fl=0, tc=0)
        if proto is not None:
            p.nh = proto
        return p
    p = IP(src=src, dst=dst, id=ident & 0xFFFF, flags="DF", ttl=64, tos=0)
    if proto is not None:
        p.proto = proto
    return p


def plain(from_a, inner):
    return Ether(src=MAC_A if from_a else MAC_B, dst=MAC_B if from_a else MAC_A) / inner


def vlan(vid):
    def wrap(from_a, inner):
        return Ether(src=MAC_A if from_a else MAC_B, dst=MAC_B if from_a else MAC_A) / \
            Dot1Q(vlan=vid, prio=0) / inner
    return wrap


def qinq(outer_vid, inner_vid):
    def wrap(from_a, inner):
        return Ether(src=MAC_A if from_a else MAC_B, dst=MAC_B if from_a else MAC_A) / \
            Dot1AD(vlan=outer_vid, prio=0) / Dot1Q(vlan=inner_vid, prio=0) / inner
    return wrap


def tunnel(kind, outer_a, outer_b):
    """kind 'gre' (IPv4/GRE/inner) or 'ipip' (IPv4/inner IPv4)."""
    state = {"id": 0}

    def wrap(from_a, inner):
        state["id"] += 1
        src, dst = (outer_a, outer_b) if from_a else (outer_b, outer_a)
        outer = IP(src=src, dst=dst, id=0x4000 + state["id"], flags="DF", ttl=64, tos=0)
        if kind == "gre":
            outer = outer / GRE(proto=0x0800)
        return Ether(src=MAC_A if from_a else MAC_B, dst=MAC_B if from_a else MAC_A) / outer / inner
    return wrap


class Link:
    """One connection's endpoints (a, b) and framing."""

    def __init__(self, a_ip, b_ip, a_port, b_port, wrap=plain):
        self.ip = {"a": a_ip, "b": b_ip}
        self.port = {"a": a_port, "b": b_port}
        self.wrap = wrap
        self.ident = {"a": 0x1000, "b": 0x2000}

    def ip_tcp(self, seg):
        """The IP datagram (scapy) carrying seg."""
        src, dst = seg.who, "b" if seg.who == "a" else "a"
        self.ident[src] += 1
        return ip_layer(self.ip[src], self.ip[dst], self.ident[src]) / \
            tcp_header(seg, self.port[src], self.port[dst]) / payload(seg)

    def frame(self, seg):
        return bytes(self.wrap(seg.who == "a", self.ip_tcp(seg)))

    def icmp_error(self, seg, router, mtu, quote_payload=8):
        """A router's 'fragmentation needed' (IPv4) or 'packet too big'
        (IPv6) to seg's sender, quoting seg's IP and TCP headers and
        quote_payload bytes of its payload.  seg is not sent."""
        datagram = self.ip_tcp(seg)
        whole = bytes(datagram)
        hdrs = (40 if is6(self.ip["a"]) else 20) + 20
        quoted = whole[:hdrs + min(quote_payload, seg.len)]
        to = self.ip[seg.who]
        if is6(to):
            err = IPv6(src=router, dst=to, hlim=64, fl=0, tc=0) / \
                ICMPv6PacketTooBig(mtu=mtu) / Raw(quoted)
        else:
            err = IP(src=router, dst=to, id=0, flags=0, ttl=64, tos=0xC0) / \
                ICMP(type=3, code=4, nexthopmtu=mtu) / Raw(quoted)
        return bytes(Ether(src=MAC_R, dst=MAC_A if seg.who == "a" else MAC_B) / err)


# ---- captures -------------------------------------------------------------------


class Capture:
    """Frames and their expected rows."""

    def __init__(self, name, what, how, filters=()):
        self.name, self.what, self.how = name, what, how
        self.frames, self.rows = [], []
        self.filters = list(filters)

    def add(self, frame, row):
        self.frames.append(frame)
        self.rows.append(row)

    def files(self):
        """{file name: bytes}"""
        return {
            self.name + ".pcap": pcap_bytes(self.frames),
            self.name + ".expect": format_expect(self.name + ".pcap", self.how, self.rows,
                                                 self.filters).encode("utf-8"),
        }


def scenario_capture(name, ports, segs, desc):
    client = client_side(segs, ports)
    link = Link("10.1.0.1", "10.1.0.2", ports[0], ports[1])
    flow = ", ".join("%s %s%s" % (seg.who, seg.flags_text, " len=%d" % seg.len if seg.len else "")
                     for seg in segs)
    cap = Capture("scenario-" + name, "%s: %s; ends %s/%s" % (desc, flow, segs[-1].client,
                                                             segs[-1].server),
                  "%s, from scenario %s of tests/unit/scenarios.txt (a = 10.1.0.1:%d, "
                  "b = 10.1.0.2:%d)" % (SCRIPT, name, ports[0], ports[1]))
    for seg in segs:
        cap.add(link.frame(seg), expected_row(seg, client, 0))
    return cap


class Conn:
    """A hand-crafted connection: a Link, a stream number and its segments
    (scenario syntax, expectations spelled out)."""

    def __init__(self, link, stream, block, client="a"):
        self.link, self.stream, self.client = link, stream, client
        self.segs = parse_block(block)
        self.next = 0

    def emit(self, cap, n=None):
        """Add the next n segments (all remaining if None) to cap."""
        end = len(self.segs) if n is None else self.next + n
        for seg in self.segs[self.next:end]:
            cap.add(self.link.frame(seg), expected_row(seg, self.client, self.stream))
        self.next = min(end, len(self.segs))

    def quoted(self, cap, block, router, mtu):
        """An ICMP error quoting the segment of block (one line; its
        expectation part is ignored)."""
        seg = parse_block(block)[0]
        cap.add(self.link.icmp_error(seg, router, mtu), quoted_row(self.stream))


# Textbook pieces, ISNs a 1000, b 5000, in the spec's notation.
HANDSHAKE = """
a S   1000 0              -> SYN_SENT LISTEN          hs=1
b SA  5000 1001           -> SYN_SENT SYN_RECV        hs=2
a A   1001 5001           -> ESTABLISHED ESTABLISHED  hs=3
"""


def icmp_quoted():
    cap = Capture("icmp_quoted",
                  "ICMP errors quoting a connection's segment: an IPv4 connection with an ICMP "
                  "fragmentation-needed, an IPv6 one with an ICMPv6 packet-too-big; the quoted "
                  "frames carry only tcpstate.stream and tcpstate.icmp_quoted, the states go on "
                  "unaffected",
                  "hand-crafted by %s (icmp_quoted)" % SCRIPT,
                  filters=[("tcpstate.icmp_quoted", 2),
                           ("icmp || icmpv6", 2),
                           ("(icmp || icmpv6) && tcpstate.client.state", 0),
                           ("tcpstate.stream == 0", 12),
                           ("tcpstate.stream == 1 && !tcpstate.icmp_quoted", 12)])
    v4 = Conn(Link("10.1.0.1", "10.1.0.2", 40001, 80), 0, HANDSHAKE + """
a PA  1001 5001 len=100   -> ESTABLISHED ESTABLISHED
b A   5001 1101           -> ESTABLISHED ESTABLISHED
a A   1101 5001 len=520   -> ESTABLISHED ESTABLISHED
a PA  1621 5001 len=80    -> ESTABLISHED ESTABLISHED
b A   5001 1701           -> ESTABLISHED ESTABLISHED
a FA  1701 5001           -> FIN_WAIT1 ESTABLISHED    td=1 closer=client
b FA  5001 1702           -> FIN_WAIT2 LAST_ACK       td=2,3
a A   1702 5002           -> TIME_WAIT CLOSED         td=4
""")
    v4.emit(cap, 5)
    # the 600-byte segment that never made it past the router (not captured)
    v4.quoted(cap, "a A 1101 5001 len=600 -> ESTABLISHED ESTABLISHED", "10.1.0.254", 576)
    v4.emit(cap)
    v6 = Conn(Link("2001:db8::1", "2001:db8::2", 40002, 443), 1, HANDSHAKE + """
a PA  1001 5001 len=100   -> ESTABLISHED ESTABLISHED
b A   5001 1101           -> ESTABLISHED ESTABLISHED
a A   1101 5001 len=1200  -> ESTABLISHED ESTABLISHED
a PA  2301 5001 len=100   -> ESTABLISHED ESTABLISHED
b A   5001 2401           -> ESTABLISHED ESTABLISHED
b FA  5001 2401           -> ESTABLISHED FIN_WAIT1    td=1 closer=server
a A   2401 5002           -> CLOSE_WAIT FIN_WAIT2     td=2
a FA  2401 5002           -> LAST_ACK FIN_WAIT2       td=3
b A   5002 2402           -> CLOSED TIME_WAIT         td=4
""")
    v6.emit(cap, 5)
    v6.quoted(cap, "a A 1101 5001 len=1300 -> ESTABLISHED ESTABLISHED", "2001:db8::fe", 1280)
    v6.emit(cap)
    return cap


def vlan_qinq_ipv6():
    cap = Capture("vlan_qinq_ipv6",
                  "an IPv6 connection over 802.1Q (VLAN 100, client-first close) and an IPv4 one "
                  "over QinQ (802.1ad 200 + 802.1Q 300, server-first close)",
                  "hand-crafted by %s (vlan_qinq_ipv6)" % SCRIPT,
                  filters=[("vlan.id == 100 && tcpstate.client.state == TIME_WAIT", 1),
                           ("vlan.id == 300 && tcpstate.server.state == TIME_WAIT", 1),
                           ("tcpstate.handshake == 3", 2)])
    c6 = Conn(Link("2001:db8:1::1", "2001:db8:1::2", 40010, 80, vlan(100)), 0, HANDSHAKE + """
a PA  1001 5001 len=20    -> ESTABLISHED ESTABLISHED
b PA  5001 1021 len=40    -> ESTABLISHED ESTABLISHED
a A   1021 5041           -> ESTABLISHED ESTABLISHED
a FA  1021 5041           -> FIN_WAIT1 ESTABLISHED    td=1 closer=client
b A   5041 1022           -> FIN_WAIT2 CLOSE_WAIT     td=2
b FA  5041 1022           -> FIN_WAIT2 LAST_ACK       td=3
a A   1022 5042           -> TIME_WAIT CLOSED         td=4
""")
    c4 = Conn(Link("10.1.0.1", "10.1.0.2", 40011, 8080, qinq(200, 300)), 1, HANDSHAKE + """
a PA  1001 5001 len=20    -> ESTABLISHED ESTABLISHED
b PA  5001 1021 len=40    -> ESTABLISHED ESTABLISHED
b FA  5041 1021           -> ESTABLISHED FIN_WAIT1    td=1 closer=server
a A   1021 5042           -> CLOSE_WAIT FIN_WAIT2     td=2
a FA  1021 5042           -> LAST_ACK FIN_WAIT2       td=3
b A   5042 1022           -> CLOSED TIME_WAIT         td=4
""")
    c6.emit(cap)
    c4.emit(cap)
    return cap


def tunnels():
    cap = Capture("tunnels",
                  "TCP carried in GRE (IPv4/GRE/IPv4/TCP) and in IP-in-IP (IPv4/IPv4/TCP); the "
                  "inner TCP connections are analysed",
                  "hand-crafted by %s (tunnels)" % SCRIPT,
                  filters=[("gre && tcpstate.handshake == 1", 1),
                           ("ip.src == 10.2.0.2 && tcpstate.sender == 2", 4),
                           ("tcpstate.client.state == TIME_WAIT", 2)])
    gre = Conn(Link("10.1.0.1", "10.1.0.2", 40020, 80, tunnel("gre", "192.0.2.1", "192.0.2.2")),
               0, HANDSHAKE + """
a PA  1001 5001 len=30    -> ESTABLISHED ESTABLISHED
b PA  5001 1031 len=60    -> ESTABLISHED ESTABLISHED
a FA  1031 5061           -> FIN_WAIT1 ESTABLISHED    td=1 closer=client
b FA  5061 1032           -> FIN_WAIT2 LAST_ACK       td=2,3
a A   1032 5062           -> TIME_WAIT CLOSED         td=4
""")
    ipip = Conn(Link("10.2.0.1", "10.2.0.2", 40021, 22,
                     tunnel("ipip", "198.51.100.1", "198.51.100.2")), 1, HANDSHAKE + """
b PA  5001 1001 len=30    -> ESTABLISHED ESTABLISHED
a PA  1001 5031 len=30    -> ESTABLISHED ESTABLISHED
a FA  1031 5031           -> FIN_WAIT1 ESTABLISHED    td=1 closer=client
b A   5031 1032           -> FIN_WAIT2 CLOSE_WAIT     td=2
b FA  5031 1032           -> FIN_WAIT2 LAST_ACK       td=3
a A   1032 5032           -> TIME_WAIT CLOSED         td=4
""")
    gre.emit(cap)
    ipip.emit(cap)
    return cap


def port_reuse():
    cap = Capture("port_reuse",
                  "the same 4-tuple twice: a complete connection (client-first close, TIME_WAIT), "
                  "then a new SYN with another ISN, which Wireshark makes a new tcp.stream that "
                  "starts fresh (SYN_SENT/LISTEN) and completes",
                  "hand-crafted by %s (port_reuse)" % SCRIPT,
                  filters=[("tcpstate.handshake == 1", 2),
                           ("tcpstate.stream == 1 && tcpstate.client.state == SYN_SENT", 2),
                           ("tcpstate.client.state == TIME_WAIT", 1)])
    link = Link("10.1.0.1", "10.1.0.2", 40030, 80)
    Conn(link, 0, HANDSHAKE + """
a PA  1001 5001 len=10    -> ESTABLISHED ESTABLISHED
b PA  5001 1011 len=10    -> ESTABLISHED ESTABLISHED
a FA  1011 5011           -> FIN_WAIT1 ESTABLISHED    td=1 closer=client
b A   5011 1012           -> FIN_WAIT2 CLOSE_WAIT     td=2
b FA  5011 1012           -> FIN_WAIT2 LAST_ACK       td=3
a A   1012 5012           -> TIME_WAIT CLOSED         td=4
""").emit(cap)
    Conn(link, 1, """
a S   90000 0             -> SYN_SENT LISTEN          hs=1
b SA  70000 90001         -> SYN_SENT SYN_RECV        hs=2
a A   90001 70001         -> ESTABLISHED ESTABLISHED  hs=3
a PA  90001 70001 len=10  -> ESTABLISHED ESTABLISHED
b FA  70001 90011         -> ESTABLISHED FIN_WAIT1    td=1 closer=server
a FA  90011 70002         -> LAST_ACK FIN_WAIT2       td=2,3
b A   70002 90012         -> CLOSED TIME_WAIT         td=4
""").emit(cap)
    return cap


def equal_ports():
    cap = Capture("equal_ports",
                  "equal ports (179 <-> 179, as BGP): a full connection opened by the higher "
                  "address 10.1.0.2, so only the addresses tell the endpoints apart; and a "
                  "mid-stream pair (10.1.0.4 speaks first, so it is the client)",
                  "hand-crafted by %s (equal_ports)" % SCRIPT,
                  filters=[("ip.src == 10.1.0.2 && tcpstate.sender == 1", 5),
                           ("ip.src == 10.1.0.1 && tcpstate.sender == 2", 4),
                           ("ip.src == 10.1.0.4 && tcpstate.sender == 1", 3),
                           ("tcpstate.midstream", 5)])
    # a = 10.1.0.2 (the client), b = 10.1.0.1
    Conn(Link("10.1.0.2", "10.1.0.1", 179, 179), 0, HANDSHAKE + """
a PA  1001 5001 len=19    -> ESTABLISHED ESTABLISHED
b PA  5001 1020 len=19    -> ESTABLISHED ESTABLISHED
a A   1020 5020           -> ESTABLISHED ESTABLISHED
b FA  5020 1020           -> ESTABLISHED FIN_WAIT1    td=1 closer=server
a FA  1020 5021           -> LAST_ACK FIN_WAIT2       td=2,3
b A   5021 1021           -> CLOSED TIME_WAIT         td=4
""").emit(cap)
    # a = 10.1.0.4 (first sender: the client), b = 10.1.0.3
    Conn(Link("10.1.0.4", "10.1.0.3", 179, 179), 1, """
a PA  3001 8001 len=19    -> ESTABLISHED ESTABLISHED  mid from=client
b A   8001 3020           -> ESTABLISHED ESTABLISHED  mid from=server
b PA  8001 3020 len=19    -> ESTABLISHED ESTABLISHED  mid
a A   3020 8020           -> ESTABLISHED ESTABLISHED  mid
a RA  3020 8020           -> CLOSED CLOSED            mid closer=client
""").emit(cap)
    return cap


def interleaved():
    cap = Capture("interleaved",
                  "three connections (client ports 40061-40063) interleaved in time: the first "
                  "closes client-first, the second server-first, the third is reset by the server",
                  "hand-crafted by %s (interleaved)" % SCRIPT,
                  filters=[("tcpstate.closer == 1", 4),
                           ("tcpstate.closer == 2", 5),
                           ("tcpstate.client.state == TIME_WAIT", 1),
                           ("tcpstate.server.state == TIME_WAIT", 1),
                           ("tcp.flags.reset == 1 && tcpstate.client.state == CLOSED "
                            "&& tcpstate.server.state == CLOSED", 1)])
    c1 = Conn(Link("10.1.0.1", "10.1.0.2", 40061, 80), 0, HANDSHAKE + """
a PA  1001 5001 len=10    -> ESTABLISHED ESTABLISHED
b PA  5001 1011 len=10    -> ESTABLISHED ESTABLISHED
a FA  1011 5011           -> FIN_WAIT1 ESTABLISHED    td=1 closer=client
b A   5011 1012           -> FIN_WAIT2 CLOSE_WAIT     td=2
b FA  5011 1012           -> FIN_WAIT2 LAST_ACK       td=3
a A   1012 5012           -> TIME_WAIT CLOSED         td=4
""")
    c2 = Conn(Link("10.1.0.1", "10.1.0.2", 40062, 80), 1, """
a S   2000 0              -> SYN_SENT LISTEN          hs=1
b SA  6000 2001           -> SYN_SENT SYN_RECV        hs=2
a A   2001 6001           -> ESTABLISHED ESTABLISHED  hs=3
a PA  2001 6001 len=10    -> ESTABLISHED ESTABLISHED
b FA  6001 2011           -> ESTABLISHED FIN_WAIT1    td=1 closer=server
a A   2011 6002           -> CLOSE_WAIT FIN_WAIT2     td=2
a FA  2011 6002           -> LAST_ACK FIN_WAIT2       td=3
b A   6002 2012           -> CLOSED TIME_WAIT         td=4
""")
    c3 = Conn(Link("10.1.0.1", "10.1.0.2", 40063, 80), 2, """
a S   3000 0              -> SYN_SENT LISTEN          hs=1
b SA  7000 3001           -> SYN_SENT SYN_RECV        hs=2
a A   3001 7001           -> ESTABLISHED ESTABLISHED  hs=3
a PA  3001 7001 len=10    -> ESTABLISHED ESTABLISHED
b RA  7001 3011           -> CLOSED CLOSED            closer=server
""")
    # c1 SYN, c2 SYN, c1 SYN-ACK, c3 SYN, then round robin one segment each
    c1.emit(cap, 1)
    c2.emit(cap, 1)
    c1.emit(cap, 1)
    c3.emit(cap, 1)
    while any(c.next < len(c.segs) for c in (c1, c2, c3)):
        for c in (c2, c3, c1):
            c.emit(cap, 1)
    return cap


def truncated_handshake():
    cap = Capture("truncated_handshake",
                  "the capture ends after the SYN and the SYN-ACK: client SYN_SENT, server SYN_RECV",
                  "hand-crafted by %s (truncated_handshake)" % SCRIPT,
                  filters=[("tcpstate.server.state == SYN_RECV", 1),
                           ("tcpstate.client.state == ESTABLISHED", 0)])
    Conn(Link("10.1.0.1", "10.1.0.2", 40070, 80), 0, """
a S   1000 0              -> SYN_SENT LISTEN          hs=1
b SA  5000 1001           -> SYN_SENT SYN_RECV        hs=2
""").emit(cap)
    return cap


def truncated_close():
    cap = Capture("truncated_close",
                  "the capture ends after the first FIN and its ACK: client FIN_WAIT2, server "
                  "CLOSE_WAIT",
                  "hand-crafted by %s (truncated_close)" % SCRIPT,
                  filters=[("tcpstate.client.state == FIN_WAIT2", 1),
                           ("tcpstate.closer == 1", 2)])
    Conn(Link("10.1.0.1", "10.1.0.2", 40071, 80), 0, HANDSHAKE + """
a PA  1001 5001 len=10    -> ESTABLISHED ESTABLISHED
b PA  5001 1011 len=10    -> ESTABLISHED ESTABLISHED
a FA  1011 5011           -> FIN_WAIT1 ESTABLISHED    td=1 closer=client
b A   5011 1012           -> FIN_WAIT2 CLOSE_WAIT     td=2
""").emit(cap)
    return cap


def midstream():
    cap = Capture("midstream",
                  "connections picked up mid-stream (no SYN, roles by port): IPv4 with data first "
                  "from the client to port 443, closed by the server; IPv6 where the server "
                  "(port 22) speaks first, then the client resets",
                  "hand-crafted by %s (midstream)" % SCRIPT,
                  filters=[("tcpstate.midstream", 13),
                           ("tcp.port == 443 && tcpstate.sender == 2", 3),
                           ("ipv6 && tcpstate.closer == 1", 1)])
    Conn(Link("10.1.0.1", "10.1.0.2", 51000, 443), 0, """
a PA  1001 5001 len=10    -> ESTABLISHED ESTABLISHED  mid from=client
b PA  5001 1011 len=20    -> ESTABLISHED ESTABLISHED  mid from=server
a A   1011 5021           -> ESTABLISHED ESTABLISHED  mid
a PA  1011 5021 len=10    -> ESTABLISHED ESTABLISHED  mid
b FA  5021 1021           -> ESTABLISHED FIN_WAIT1    mid td=1 closer=server
a A   1021 5022           -> CLOSE_WAIT FIN_WAIT2     mid td=2
a FA  1021 5022           -> LAST_ACK FIN_WAIT2       mid td=3
b A   5022 1022           -> CLOSED TIME_WAIT         mid td=4
""").emit(cap)
    Conn(Link("2001:db8::1", "2001:db8::2", 52000, 22), 1, """
b PA  5001 1001 len=30    -> ESTABLISHED ESTABLISHED  mid from=server
a PA  1001 5031 len=30    -> ESTABLISHED ESTABLISHED  mid from=client
b A   5031 1031           -> ESTABLISHED ESTABLISHED  mid
b PA  5031 1031 len=30    -> ESTABLISHED ESTABLISHED  mid
a R   1031 0              -> CLOSED CLOSED            mid closer=client
""").emit(cap)
    return cap


HANDCRAFTED = [icmp_quoted, vlan_qinq_ipv6, tunnels, port_reuse, equal_ports, interleaved,
               truncated_handshake, truncated_close, midstream]


# ---- generation, README, check, verify ------------------------------------------


def all_captures():
    caps = []
    names = set()
    for name, ports, segs, desc in parse_scenarios(SCENARIOS):
        if name in names:
            raise ValueError("scenario %s twice" % name)
        names.add(name)
        if name not in SKIP:
            caps.append(scenario_capture(name, ports, segs, desc))
    unknown = set(SKIP) - names
    if unknown:
        raise ValueError("SKIP names unknown scenarios: %s" % sorted(unknown))
    return [f() for f in HANDCRAFTED] + caps


def readme_section(caps):
    lines = ["## crafted/", "",
             "Generated by `%s` (deterministic; `--check` compares a fresh generation with "
             "these files, `--verify` runs tshark with the plugin on them).  Each `<name>.pcap` "
             "has a `<name>.expect` next to it: the expected tcpstate fields of every frame "
             "(tab-separated, `-` = absent), and optional `filter` lines with the number of "
             "frames a display filter must match.  Ethernet, microsecond pcap, valid checksums, "
             "frame i at 1700000000 + 0.01 i." % SCRIPT, ""]
    for cap in caps:
        if not cap.name.startswith("scenario-"):
            lines.append("- `%s.pcap` — %s — hand-crafted by `%s` (`%s()`)." %
                         (cap.name, cap.what, SCRIPT, cap.name))
    lines.append("- `scenario-<NAME>.pcap` — one per scenario of `tests/unit/scenarios.txt` "
                 "(the state machine's spec): the scenario's segments between a = 10.1.0.1 and "
                 "b = 10.1.0.2 (ports from its `ports` line, else 40000 and 80), expectations "
                 "from its states, hs=, td=, closer= and mid — generated by `%s` from the "
                 "scenario:" % SCRIPT)
    for cap in caps:
        if cap.name.startswith("scenario-"):
            lines.append("  - `%s.pcap` — %s — from scenario `%s`." %
                         (cap.name, cap.what, cap.name[len("scenario-"):]))
    lines.append("")
    if SKIP:
        lines.append("Scenarios without a capture:")
        lines.append("")
        for name in sorted(SKIP):
            lines.append("- `%s`: %s" % (name, SKIP[name]))
    else:
        lines.append("Every scenario has a capture (none skipped).")
    lines.append("")
    return "\n".join(lines)


def readme_with_section(old, section):
    """old README text with its `## crafted/` section replaced (or appended)."""
    if old is None:
        old = "# Sample captures\n\n- `kernel/`: real Linux TCP captures with `ss` oracles; " \
              "see kernel/README.md.\n- `crafted/`: see below.\n\n"
    m = re.search(r"^## crafted/[^\n]*\n", old, re.M)
    if not m:
        sep = "" if old.endswith("\n\n") else ("\n" if old.endswith("\n") else "\n\n")
        return old + sep + section
    nxt = re.search(r"^## ", old[m.end():], re.M)
    end = m.end() + nxt.start() if nxt else len(old)
    tail = old[end:]
    return old[:m.start()] + section + ("\n" + tail if tail else "")


def generate(outdir):
    """Write every capture and .expect into outdir; {file name: bytes}."""
    os.makedirs(outdir, exist_ok=True)
    files = {}
    for cap in all_captures():
        for fname, data in cap.files().items():
            if fname in files:
                raise ValueError("%s twice" % fname)
            files[fname] = data
    for fname, data in files.items():
        with open(os.path.join(outdir, fname), "wb") as fp:
            fp.write(data)
    return files


def read(path):
    try:
        with open(path, encoding="utf-8") as fp:
            return fp.read()
    except FileNotFoundError:
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="regenerate into a temporary directory and fail on any difference")
    ap.add_argument("--verify", nargs="?", const=os.path.join(ROOT, "build", "tcpstate.so"),
                    metavar="PLUGIN", help="run tshark with the plugin on the crafted captures")
    args = ap.parse_args()

    caps_section = readme_section(all_captures())
    if args.check:
        bad = []
        with tempfile.TemporaryDirectory() as tmp:
            files = generate(tmp)
            for fname in sorted(files):
                mine = os.path.join(OUTDIR, fname)
                if not os.path.exists(mine):
                    bad.append("missing: %s" % mine)
                elif not filecmp.cmp(mine, os.path.join(tmp, fname), shallow=False):
                    bad.append("differs: %s" % mine)
        if os.path.isdir(OUTDIR):
            for fname in sorted(os.listdir(OUTDIR)):
                if fname not in files:
                    bad.append("not generated (stale?): %s" % os.path.join(OUTDIR, fname))
        old = read(README)
        if old is None or readme_with_section(old, caps_section) != old:
            bad.append("out of date: the ## crafted/ section of %s" % README)
        for b in bad:
            print(b)
        if bad:
            print("run /usr/bin/python3 %s to regenerate" % SCRIPT)
            return 1
        print("crafted captures up to date (%d files)" % len(files))
        return 0

    if args.verify:
        sys.path.insert(0, os.path.join(ROOT, "tests"))
        from expect import check_capture, label_maps
        from tshark_env import TShark
        t = TShark(args.verify)
        try:
            maps = label_maps(t)
            errors, n = [], 0
            for fname in sorted(os.listdir(OUTDIR)):
                if fname.endswith(".pcap"):
                    n += 1
                    errs = check_capture(t, os.path.join(OUTDIR, fname), maps=maps)
                    errors += errs
                    if errs:
                        print("FAIL %s" % fname)
        finally:
            t.close()
        for e in errors:
            print(e)
        print("%d captures, %d differences" % (n, len(errors)))
        return 1 if errors else 0

    files = generate(OUTDIR)
    for fname in sorted(os.listdir(OUTDIR)):
        if fname not in files and (fname.endswith(".pcap") or fname.endswith(".expect")):
            os.remove(os.path.join(OUTDIR, fname))
            print("removed stale %s" % fname)
    new = readme_with_section(read(README), caps_section)
    if new != read(README):
        with open(README, "w", encoding="utf-8") as fp:
            fp.write(new)
    print("wrote %d files into %s" % (len(files), os.path.relpath(OUTDIR, ROOT)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
