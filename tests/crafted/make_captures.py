#!/usr/bin/python3
"""Crafted captures for the tcpstate plugin, each with a .expect file.

    /usr/bin/python3 tests/crafted/make_captures.py            (re)write them
    /usr/bin/python3 tests/crafted/make_captures.py --check    compare a fresh
        generation with the committed files (exit 1 on any difference)
    /usr/bin/python3 tests/crafted/make_captures.py --verify [PLUGIN]
        run tshark with the plugin (default build/tcpstate.so) on every
        crafted capture and compare with its .expect file, with the column
        semantics of tests/tshark/test_captures.py (see expect.py)

Run from the repository root (or anywhere: paths are relative to this
file).  Deterministic: fixed addresses, MACs, IP ids, timestamps, and a
fixed-seed PRNG of our own; the pcap file is written here, byte by byte, not
by scapy; scapy only builds the packets (and their checksums).

Two kinds of captures, all in sample-captures/crafted/:

  scenario-NAME.pcap   one per scenario of tests/unit/scenarios.txt (the
      spec of the state machine), the expectations taken from the scenario
      (states, hs=, td=, sticky closer=, mid, an=, ill=) plus the sender's
      role, tcpstate.stream 0 and roles_guessed on the first mid-stream
      segment; its conn line from the last segment's out=, style=, closer=
      and states.  Scenarios Wireshark cannot dissect as one connection are in
      SKIP, with the reason.
  NAME.pcap            hand-crafted (HANDCRAFTED below): encapsulations,
      ICMP errors, port reuse, equal ports, interleaving, truncation,
      mid-stream pickups, illegal flags, every anomaly, a SYN flood.  Their
      segments are written in the scenario syntax too, with the expected
      states and anomalies spelled out per segment (or computed by the same
      rules where there are many, as for the illegal flags and the flood),
      out= and style= on each connection's last segment.

Every capture's .expect ends with `conn` lines, one per tcp.stream: outcome,
close_initiator, close_style, client_state, server_state (docs/stats.md).
Where they are written (out=, style=) they are checked against the same
rules applied to the segments' expectations (derive_summary()); the
connections built by program (illegal_flags) take them from those rules.

Hand-crafted segment lines may also carry `mss=N` before the `->`: an MSS
option (scenarios.txt has no options).

The .expect columns: the tcpstate fields, tcpstate.illegal (the string) and
`experts`: the tcpstate expert infos on the frame but handshake_step and
teardown_step, sorted (see expect.py).  Expectations that depend on how
Wireshark 4.0 splits a 4-tuple into tcp.streams use one predicate,
ws_starts_new_stream(); every frame's expected tcpstate.stream is checked
against that model while generating.

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
from expect import anomaly_names, format_expect  # noqa: E402

from scapy.config import conf  # noqa: E402

conf.verb = 0
from scapy.layers.inet import GRE, ICMP, IP, TCP  # noqa: E402
from scapy.layers.inet6 import IPv6, ICMPv6PacketTooBig  # noqa: E402
from scapy.layers.l2 import Dot1AD, Dot1Q, Ether  # noqa: E402
from scapy.packet import Raw  # noqa: E402

# Scenarios that are not turned into captures, with the reason (printed in
# the README).  Only for differences in how Wireshark 4.0 dissects the
# segments, never to hide a disagreement between the plugin and the spec.
# Generation fails if a scenario splits into several tcp.streams
# (ws_starts_new_stream) and is not here, or is here and does not split.
SKIP = {
    "illegal_into_established":
        "Wireshark 4.0 starts a new tcp.stream at its 4th segment, the SYN+FIN with seq 1001 "
        "(a SYN without ACK whose sequence number differs from the connection's ISN 1000), and "
        "another at the SYN+RST of its last segment (the SYN+ACK+URG before it, seq 1000, moved "
        "the stream's base sequence number), so the plugin sees three connections, the "
        "later ones starting fresh (CLOSED/LISTEN) instead of the ESTABLISHED connection the "
        "scenario feeds its bad flags to.  sample-captures/crafted/illegal_flags.pcap has "
        "every illegal combination against an established connection instead.",
}

T0 = 1700000000          # first frame's timestamp; frame i is T0 + 0.01 * i
FRAME_GAP = 0.01
MAC_A = "02:00:0a:01:00:01"
MAC_B = "02:00:0a:01:00:02"
MAC_R = "02:00:0a:01:00:fe"   # a router, source of the ICMP errors

# The plugin's defaults (preferences tcpstate.syn_flood_threshold and
# tcpstate.syn_flood_window), used by the flood expectations.
SYN_FLOOD_THRESHOLD = 100
SYN_FLOOD_WINDOW = 10.0

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


# ---- TCP flags, as docs/expert.md defines their validity and names ----------------

FLAG_BITS = {"F": 0x001, "S": 0x002, "R": 0x004, "P": 0x008, "A": 0x010, "U": 0x020,
             "E": 0x040, "C": 0x080, "N": 0x100, "X": 0x800}
FIN, SYN, RST, PSH, ACK, URG = 0x001, 0x002, 0x004, 0x008, 0x010, 0x020
STATES = {"ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
          "CLOSED", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING"}

# With PSH, ECE and CWR masked off, only these are valid (Linux conntrack's
# tcp_valid_flags).
VALID_FLAGS = {SYN, SYN | URG, SYN | ACK, RST, RST | ACK, FIN | ACK, FIN | ACK | URG, ACK,
               ACK | URG}
SIX = SYN | FIN | RST | PSH | ACK | URG
NAME_ORDER = [(SYN, "SYN"), (FIN, "FIN"), (RST, "RST"), (PSH, "PSH"), (ACK, "ACK"), (URG, "URG")]


def flags_valid(flags):
    return flags & (FIN | SYN | RST | ACK | URG) in VALID_FLAGS


def illegal_name(flags, ack_missing=False):
    """tcpstate.illegal for flags (docs/expert.md, Illegal flag combinations):
    the flags in the order SYN FIN RST PSH ACK URG, and the scan."""
    f = flags & SIX
    base = "+".join(n for bit, n in NAME_ORDER if f & bit)
    if f == 0:
        return "NULL (NULL scan)"
    if f == FIN:
        return "FIN without ACK (FIN scan)"
    if f == FIN | PSH | URG:
        return base + " (Xmas scan)"
    if f == SIX:
        return base + " (Xmas tree)"
    if ack_missing:
        return base + " (ACK missing)"
    if not f & (ACK | SYN | RST):
        return base + " without ACK"
    return base


def flags_text(flags):
    """Scenario-syntax flag letters, '0' for none."""
    return "".join(ch for ch in "SFRPAUECNX" if flags & FLAG_BITS[ch]) or "0"


# ---- the scenario syntax -----------------------------------------------------

ANOMALIES = anomaly_names()
# Expert infos that follow from other keys: never written with an=.
IMPLIED = {"handshake_step": "hs=", "teardown_step": "td=",
           "roles_guessed": "the connection's first `mid` segment"}
# out= and style= (the connection's outcome and close style, docs/stats.md)
# go on a connection's last segment, together: its `conn` line.
KEYS = ("hs", "td", "closer", "mid", "invalid", "from", "int", "an", "ill", "out", "style")
# docs/stats.md, in the order of precedence of the outcomes
OUTCOMES = ("midstream", "refused", "complete", "reset_by_client", "reset_by_server",
            "half_closed", "open", "half_open", "no_answer")
STYLES = ("four_segment", "three_segment", "simultaneous", "half_close", "rst_by_client",
          "rst_by_server", "none")
# the conn columns of the .expect files (tests/expectations.py CONN_COLUMNS)
CONN_FIELDS = ("outcome", "close_initiator", "close_style", "client_state", "server_state")


class Segment:
    """One line `a|b FLAGS SEQ ACK [len=N] [win=N] [mss=N] -> CLIENT SERVER [keys]`."""

    def __init__(self, who, flags, seq, ack, length, win, client, server, keys, closer, line,
                 mss=None):
        self.who, self.flags, self.seq, self.ack = who, flags, seq, ack
        self.len, self.win, self.mss = length, win, mss
        self.client, self.server = client, server
        self.keys = keys        # {key: value or True}, as written; an= as a list
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


def parse_segment(text, closer, line=0, options=False):
    """(Segment, new sticky closer) from one segment line; options: mss=
    allowed (hand-crafted captures)."""
    left, arrow, right = text.partition("->")
    if not arrow:
        raise ValueError("line %d: no '->'" % line)
    lt = left.split()
    if len(lt) < 4 or lt[0] not in ("a", "b"):
        raise ValueError("line %d: want a|b FLAGS SEQ ACK [len=N] [win=N]" % line)
    length, win, mss = 0, 65535, None
    for tok in lt[4:]:
        k, _, v = tok.partition("=")
        if k == "len":
            length = int(v)
        elif k == "win":
            win = int(v)
        elif k == "mss" and options:
            mss = int(v)
        else:
            raise ValueError("line %d: unknown segment key %r" % (line, tok))
    rt = right.split()
    if len(rt) < 2 or rt[0] not in STATES or rt[1] not in STATES:
        raise ValueError("line %d: want -> CLIENT SERVER [keys]" % line)
    keys = {}
    for tok in rt[2:]:
        k, eq, v = tok.partition("=")
        if k not in KEYS:
            raise ValueError("line %d: unknown key %r" % (line, tok))
        if k in keys:
            raise ValueError("line %d: %s= twice" % (line, k))
        keys[k] = v if eq else True
    if "closer" in keys:
        if keys["closer"] not in ("client", "server", "both"):
            raise ValueError("line %d: bad closer %r" % (line, keys["closer"]))
        closer = keys["closer"]
    if "an" in keys:
        names = keys["an"].split(",") if isinstance(keys["an"], str) else [""]
        for name in names:
            if name in IMPLIED:
                raise ValueError("line %d: an=%s is implied by %s" % (line, name, IMPLIED[name]))
            if name not in ANOMALIES:
                raise ValueError("line %d: an=: unknown anomaly %r" % (line, name))
        if len(set(names)) != len(names):
            raise ValueError("line %d: an=: a name twice" % line)
        keys["an"] = names
    if "ill" in keys and (not isinstance(keys["ill"], str) or not keys["ill"]):
        raise ValueError("line %d: ill= needs a name" % line)
    if ("out" in keys) != ("style" in keys):
        raise ValueError("line %d: out= and style= go together" % line)
    if "out" in keys and keys["out"] not in OUTCOMES:
        raise ValueError("line %d: unknown outcome %r" % (line, keys["out"]))
    if "style" in keys and keys["style"] not in STYLES:
        raise ValueError("line %d: unknown close style %r" % (line, keys["style"]))
    seg = Segment(lt[0], parse_flags(lt[1]), int(lt[2]), int(lt[3]), length, win,
                  rt[0], rt[1], keys, closer, line, mss)
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
            seg, closer = parse_segment(line, closer, lineno, options=True)
            segs.append(seg)
    return segs


def client_side(segs, ports):
    """'a' or 'b': the client by the spec's rules, from the first segment: the
    sender of a SYN without ACK or of a probe (illegal flags); the receiver of
    a SYN-ACK; otherwise the higher port (equal ports: the first sender)."""
    first = segs[0]
    other = "b" if first.who == "a" else "a"
    syn, ack = first.flags & SYN, first.flags & ACK
    if (syn and not ack) or not flags_valid(first.flags):
        return first.who
    if syn and ack:
        return other
    port = {"a": ports[0], "b": ports[1]}
    if port[first.who] >= port[other]:
        return first.who
    return other


def expected_row(seg, client, stream, experts=()):
    """The .expect row of a segment, from its scenario expectations; experts:
    the implied ones (roles_guessed, syn_flood) to add to its an=."""
    sender = "client" if seg.who == client else "server"
    want_from = seg.keys.get("from")
    if want_from and want_from != sender:
        raise ValueError("line %d: from=%s but the roles make it the %s" % (seg.line, want_from,
                                                                          sender))
    ill = seg.keys.get("ill")
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
        "tcpstate.illegal": ill.replace("_", " ") if ill else None,
        "experts": ",".join(sorted(set(seg.keys.get("an", [])) | set(experts))) or None,
    }


def connection_rows(segs, client, stream):
    """The rows of one tcpstate connection's segments: roles_guessed goes on
    its first mid-stream segment (the first one, or where a stream opened by
    a probe restarts mid-stream)."""
    rows, mid_seen = [], False
    for seg in segs:
        implied = []
        if seg.keys.get("mid") and not mid_seen:
            implied.append("roles_guessed")
            mid_seen = True
        rows.append(expected_row(seg, client, stream, implied))
    return rows


def steps(seg, key):
    """The steps of hs= or td= on seg, as a set of strings."""
    v = seg.keys.get(key)
    return set(v.split(",")) if isinstance(v, str) else set()


def acks(seg, seq):
    """Whether seg acknowledges the sequence number seq (its ack is beyond
    it, modulo 2^32)."""
    return bool(seg.flags & ACK) and 0 < (seg.ack - seq) & 0xFFFFFFFF < 1 << 31


def derive_summary(segs, client):
    """A connection's conn line {column: value} by the rules of
    docs/stats.md, from its segments' expectations (states, hs=, td=,
    closer=, mid, an=refused) and flags:

    outcome, the first that applies:
      midstream        a segment picked up mid-stream (`mid`)
      refused          the SYN answered by a RST (an=refused)
      complete         both FINs (teardown step 3) before any RST
      reset_by_X       X sent the first RST
      half_closed      one FIN (teardown step 1 or 3)
      open             the handshake completed (handshake step 3)
      half_open        a SYN-ACK (valid flags) without the handshake ACK
      no_answer        anything else
    close_initiator: the sticky closer= (none if never given)
    close_style, the first that applies:
      simultaneous     closer both (the FINs crossed)
      rst_by_X         X's RST came before both FINs
      half_close       data from the other side once it acked the first FIN
                       (a segment with payload that acks the first FIN, its
                       sender not having sent a FIN of its own yet)
      three_segment    both FINs, the second one acking the first (td=2,3)
      four_segment     both FINs otherwise
      none             not closed
    client_state, server_state: after the last segment."""
    def role(seg):
        return "client" if seg.who == client else "server"

    first_rst = next((i for i, s in enumerate(segs) if s.flags & RST), None)
    before_rst = segs if first_rst is None else segs[:first_rst]
    second_fin = next((s for s in before_rst if "3" in steps(s, "td")), None)
    first_fin = next((i for i, s in enumerate(segs) if "1" in steps(s, "td")), None)

    if any(s.keys.get("mid") for s in segs):
        outcome = "midstream"
    elif any("refused" in s.keys.get("an", []) for s in segs):
        outcome = "refused"
    elif second_fin is not None:
        outcome = "complete"
    elif first_rst is not None:
        outcome = "reset_by_" + role(segs[first_rst])
    elif any(steps(s, "td") & {"1", "3"} for s in segs):
        outcome = "half_closed"
    elif any("3" in steps(s, "hs") for s in segs):
        outcome = "open"
    elif any(s.flags & (SYN | ACK | RST) == SYN | ACK and flags_valid(s.flags) for s in segs):
        outcome = "half_open"
    else:
        outcome = "no_answer"

    closer = segs[-1].closer or "none"
    data_after_fin = False
    if first_fin is not None:
        fin = segs[first_fin]
        fin_seq = (fin.seq + fin.len) & 0xFFFFFFFF     # the FIN's sequence number
        other_fin = False
        for s in segs[first_fin + 1:]:
            if s.who == fin.who:
                continue
            if s.len and acks(s, fin_seq) and not other_fin:
                data_after_fin = True
            other_fin = other_fin or bool(s.flags & FIN)
    if closer == "both":
        style = "simultaneous"
    elif first_rst is not None and second_fin is None:
        style = "rst_by_" + role(segs[first_rst])
    elif data_after_fin:
        style = "half_close"
    elif second_fin is not None:
        style = "three_segment" if "2" in steps(second_fin, "td") else "four_segment"
    else:
        style = "none"
    return {"outcome": outcome, "close_initiator": closer, "close_style": style,
            "client_state": segs[-1].client, "server_state": segs[-1].server}


def conn_summary(segs, client, where, derive=False):
    """The conn line {column: value} of a connection: from out= and style=
    on its last segment (the only one that may carry them), checked against
    derive_summary(); or, derive=True (connections built by program), from
    derive_summary() alone."""
    derived = derive_summary(segs, client)
    for seg in segs[:-1]:
        if "out" in seg.keys:
            raise ValueError("%s, line %d: out= and style= belong on the last segment"
                             % (where, seg.line))
    last = segs[-1]
    if derive:
        if "out" in last.keys:
            raise ValueError("%s: out= on a connection whose summary is derived" % where)
        return derived
    if "out" not in last.keys:
        raise ValueError("%s, line %d: the last segment needs out= and style=" % (where, last.line))
    given = dict(derived, outcome=last.keys["out"], close_style=last.keys["style"])
    if given != derived:
        raise ValueError("%s: out=%s style=%s, but the rules of docs/stats.md "
                         "(derive_summary) give out=%s style=%s"
                         % (where, given["outcome"], given["close_style"], derived["outcome"],
                            derived["close_style"]))
    return given


def quoted_row(stream):
    return {"tcpstate.stream": stream, "tcpstate.icmp_quoted": "1"}


def add_expert(row, name):
    names = set(row["experts"].split(",")) if row.get("experts") else set()
    names.add(name)
    row["experts"] = ",".join(sorted(names))


# ---- how Wireshark 4.0 numbers tcp.streams ---------------------------------------


def ws_starts_new_stream(flags, seq, base):
    """Wireshark-version behaviour (4.0's dissect_tcp): a SYN without ACK
    whose sequence number differs from the base sequence number of its
    direction in the current conversation starts a new conversation, i.e. a
    new tcp.stream, on the same 4-tuple (meant for port reuse).  Probes with
    SYN and without ACK into an established connection (SYN+FIN, SYN+RST, a
    bare SYN with another ISN) therefore open a new stream, where tcpstate
    sees the probe as a stream's first segment (CLOSED/LISTEN) and restarts
    mid-stream on the next valid segment (scenario
    probe_splits_established_stream).  base: None if not set yet."""
    return bool(flags & SYN) and not flags & ACK and base is not None and seq != base


class WiresharkStreams:
    """tcp.stream numbers as Wireshark 4.0 gives them, for checking the
    expectations.  Per conversation, the base sequence number of each
    direction: its first segment's seq (seq - 1 if not a SYN), the ack - 1
    of the peer's first segment with ACK if earlier, and every SYN-ACK's seq
    (checked with tshark: a SYN-ACK moves it)."""

    def __init__(self):
        self.count = 0
        self.convs = {}     # frozenset of the two endpoints -> [stream, {endpoint: base}]

    def assign(self, src, dst, seg):
        key = frozenset((src, dst))
        conv = self.convs.get(key)
        if conv is None or ws_starts_new_stream(seg.flags, seg.seq, conv[1].get(src)):
            conv = [self.count, {}]
            self.count += 1
            self.convs[key] = conv
        base = conv[1]
        if seg.flags & SYN:
            base[src] = seg.seq
        elif src not in base:
            base[src] = (seg.seq - 1) & 0xFFFFFFFF
        if seg.flags & ACK and dst not in base:
            base[dst] = (seg.ack - 1) & 0xFFFFFFFF
        return conv[0]


# ---- packets -------------------------------------------------------------------


def is6(addr):
    return ":" in addr


def tcp_header(seg, sport, dport):
    options = [("MSS", seg.mss)] if seg.mss else []
    return TCP(sport=sport, dport=dport, seq=seg.seq, ack=seg.ack,
               dataofs=5 + (4 * len(options) + 3) // 4 if options else 5,
               reserved=seg.flags >> 9, flags=seg.flags & 0x1FF, window=seg.win,
               urgptr=0, options=options)


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

    def endpoints(self, seg):
        """((src address, port), (dst address, port)) of seg."""
        src, dst = seg.who, "b" if seg.who == "a" else "a"
        return (self.ip[src], self.port[src]), (self.ip[dst], self.port[dst])

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
    """Frames and their expected rows.  Every TCP segment's expected stream
    is checked against WiresharkStreams; syn_flood is added where the
    flood rule (flood_alarms) puts it."""

    def __init__(self, name, what, how, filters=()):
        self.name, self.what, self.how = name, what, how
        self.frames, self.rows = [], []
        # per frame: (stream, seg, receiver endpoint, first of its stream), None if no segment
        self.tcp = []
        self.filters = list(filters)
        self.streams = WiresharkStreams()
        self.seen_streams = set()
        self.conns = {}     # tcp.stream -> its conn line {column: value}

    def add(self, frame, row, link=None, seg=None):
        if seg is not None:
            src, dst = link.endpoints(seg)
            stream = self.streams.assign(src, dst, seg)
            if stream != row["tcpstate.stream"]:
                raise ValueError("%s frame %d (line %d): expected tcp.stream %s, but Wireshark "
                                 "4.0 makes it %d" % (self.name, len(self.frames) + 1, seg.line,
                                                      row["tcpstate.stream"], stream))
            self.tcp.append((stream, seg, dst, stream not in self.seen_streams))
            self.seen_streams.add(stream)
        else:
            self.tcp.append(None)
        self.frames.append(frame)
        self.rows.append(row)

    def set_conn(self, stream, summary):
        """The conn line of tcp.stream stream (once its last segment is in)."""
        if stream in self.conns:
            raise ValueError("%s: two conn lines for stream %d" % (self.name, stream))
        self.conns[stream] = summary

    def flood_alarms(self):
        """Frame indexes where tcpstate.syn_flood belongs (docs/expert.md, SYN
        floods): per server (address and port), the connections a SYN opened
        (a stream's first segment, a SYN without ACK) within the window that
        are still half-open, i.e. not yet synchronized (handshake step 3) nor
        reset (an endpoint CLOSED); the SYN that takes the count to the
        threshold raises it; it re-arms below half the threshold."""
        servers = {}        # server -> {"syns": [(time, stream)], "alarmed": bool}
        counted = {}        # stream -> server
        alarms = []

        def uncount(stream):
            s = servers[counted.pop(stream)]
            if s["alarmed"] and half_open(s) < SYN_FLOOD_THRESHOLD / 2:
                s["alarmed"] = False

        def half_open(s):
            return sum(1 for _, st in s["syns"] if st in counted)

        for i, info in enumerate(self.tcp):
            if info is None:
                continue
            stream, seg, server, first = info
            now = i * FRAME_GAP
            row = self.rows[i]
            if first and seg.flags & (SYN | ACK | RST) == SYN and flags_valid(seg.flags):
                s = servers.setdefault(server, {"syns": [], "alarmed": False})
                while s["syns"] and s["syns"][0][0] < now - SYN_FLOOD_WINDOW:
                    _, old = s["syns"].pop(0)
                    if old in counted:
                        uncount(old)
                s["syns"].append((now, stream))
                counted[stream] = server
                if not s["alarmed"] and half_open(s) >= SYN_FLOOD_THRESHOLD:
                    s["alarmed"] = True
                    alarms.append(i)
            if stream in counted and ("3" in str(row.get("tcpstate.handshake") or "").split(",") or
                                      "CLOSED" in (row["tcpstate.client.state"],
                                                   row["tcpstate.server.state"])):
                uncount(stream)
        return alarms

    def finish(self):
        for i in self.flood_alarms():
            add_expert(self.rows[i], "syn_flood")

    def count(self, pred):
        """Frames whose expected row satisfies pred (for filter lines)."""
        return sum(1 for row in self.rows if pred(row))

    def expert_count(self, name):
        if name == "handshake_step":
            return self.count(lambda r: r.get("tcpstate.handshake"))
        if name == "teardown_step":
            return self.count(lambda r: r.get("tcpstate.teardown"))
        return self.count(lambda r: name in (r.get("experts") or "").split(","))

    def files(self):
        """{file name: bytes}"""
        if set(self.conns) != self.seen_streams:
            raise ValueError("%s: conn lines for streams %s, but its segments are in streams %s"
                             % (self.name, sorted(self.conns), sorted(self.seen_streams)))
        return {
            self.name + ".pcap": pcap_bytes(self.frames),
            self.name + ".expect": format_expect(self.name + ".pcap", self.how, self.rows,
                                                 self.filters, conns=self.conns,
                                                 conn_fields=CONN_FIELDS).encode("utf-8"),
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
    for seg, row in zip(segs, connection_rows(segs, client, 0)):
        cap.add(link.frame(seg), row, link, seg)
    cap.set_conn(0, conn_summary(segs, client, "scenario %s" % name))
    return cap


def scenario_splits(ports, segs):
    """Whether Wireshark 4.0 dissects the scenario as more than one tcp.stream."""
    link, streams = Link("10.1.0.1", "10.1.0.2", ports[0], ports[1]), WiresharkStreams()
    return any(streams.assign(*link.endpoints(seg), seg) for seg in segs)


class Conn:
    """A hand-crafted connection: a Link, a stream number and its segments
    (scenario syntax, expectations spelled out, out= and style= on the last
    segment; derive=True for connections built by program: their summary
    comes from derive_summary())."""

    def __init__(self, link, stream, block, client="a", derive=False):
        self.link, self.stream, self.client = link, stream, client
        self.segs = parse_block(block)
        self.rows = connection_rows(self.segs, client, stream)
        self.summary = conn_summary(self.segs, client, "stream %d (%s:%d -> %s:%d)" % (
            stream, link.ip["a"], link.port["a"], link.ip["b"], link.port["b"]), derive)
        self.next = 0

    def emit(self, cap, n=None):
        """Add the next n segments (all remaining if None) to cap; after the
        last, the connection's conn line."""
        end = len(self.segs) if n is None else self.next + n
        for seg, row in zip(self.segs[self.next:end], self.rows[self.next:end]):
            cap.add(self.link.frame(seg), row, self.link, seg)
        done = self.next < len(self.segs) <= end
        self.next = min(end, len(self.segs))
        if done:
            cap.set_conn(self.stream, self.summary)

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
a FA  1701 5001           -> FIN_WAIT1 ESTABLISHED    td=1 closer=client an=client_close
b FA  5001 1702           -> FIN_WAIT2 LAST_ACK       td=2,3
a A   1702 5002           -> TIME_WAIT CLOSED         td=4 out=complete style=three_segment
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
b FA  5001 2401           -> ESTABLISHED FIN_WAIT1    td=1 closer=server an=server_close
a A   2401 5002           -> CLOSE_WAIT FIN_WAIT2     td=2
a FA  2401 5002           -> LAST_ACK FIN_WAIT2       td=3
b A   5002 2402           -> CLOSED TIME_WAIT         td=4 out=complete style=four_segment
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
a FA  1021 5041           -> FIN_WAIT1 ESTABLISHED    td=1 closer=client an=client_close
b A   5041 1022           -> FIN_WAIT2 CLOSE_WAIT     td=2
b FA  5041 1022           -> FIN_WAIT2 LAST_ACK       td=3
a A   1022 5042           -> TIME_WAIT CLOSED         td=4 out=complete style=four_segment
""")
    c4 = Conn(Link("10.1.0.1", "10.1.0.2", 40011, 8080, qinq(200, 300)), 1, HANDSHAKE + """
a PA  1001 5001 len=20    -> ESTABLISHED ESTABLISHED
b PA  5001 1021 len=40    -> ESTABLISHED ESTABLISHED
b FA  5041 1021           -> ESTABLISHED FIN_WAIT1    td=1 closer=server an=server_close
a A   1021 5042           -> CLOSE_WAIT FIN_WAIT2     td=2
a FA  1021 5042           -> LAST_ACK FIN_WAIT2       td=3
b A   5042 1022           -> CLOSED TIME_WAIT         td=4 out=complete style=four_segment
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
a FA  1031 5061           -> FIN_WAIT1 ESTABLISHED    td=1 closer=client an=client_close
b FA  5061 1032           -> FIN_WAIT2 LAST_ACK       td=2,3
a A   1032 5062           -> TIME_WAIT CLOSED         td=4 out=complete style=three_segment
""")
    ipip = Conn(Link("10.2.0.1", "10.2.0.2", 40021, 22,
                     tunnel("ipip", "198.51.100.1", "198.51.100.2")), 1, HANDSHAKE + """
b PA  5001 1001 len=30    -> ESTABLISHED ESTABLISHED
a PA  1001 5031 len=30    -> ESTABLISHED ESTABLISHED
a FA  1031 5031           -> FIN_WAIT1 ESTABLISHED    td=1 closer=client an=client_close
b A   5031 1032           -> FIN_WAIT2 CLOSE_WAIT     td=2
b FA  5031 1032           -> FIN_WAIT2 LAST_ACK       td=3
a A   1032 5032           -> TIME_WAIT CLOSED         td=4 out=complete style=four_segment
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
a FA  1011 5011           -> FIN_WAIT1 ESTABLISHED    td=1 closer=client an=client_close
b A   5011 1012           -> FIN_WAIT2 CLOSE_WAIT     td=2
b FA  5011 1012           -> FIN_WAIT2 LAST_ACK       td=3
a A   1012 5012           -> TIME_WAIT CLOSED         td=4 out=complete style=four_segment
""").emit(cap)
    Conn(link, 1, """
a S   90000 0             -> SYN_SENT LISTEN          hs=1
b SA  70000 90001         -> SYN_SENT SYN_RECV        hs=2
a A   90001 70001         -> ESTABLISHED ESTABLISHED  hs=3
a PA  90001 70001 len=10  -> ESTABLISHED ESTABLISHED
b FA  70001 90011         -> ESTABLISHED FIN_WAIT1    td=1 closer=server an=server_close
a FA  90011 70002         -> LAST_ACK FIN_WAIT2       td=2,3
b A   70002 90012         -> CLOSED TIME_WAIT         td=4 out=complete style=three_segment
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
b FA  5020 1020           -> ESTABLISHED FIN_WAIT1    td=1 closer=server an=server_close
a FA  1020 5021           -> LAST_ACK FIN_WAIT2       td=2,3
b A   5021 1021           -> CLOSED TIME_WAIT         td=4 out=complete style=three_segment
""").emit(cap)
    # a = 10.1.0.4 (first sender: the client), b = 10.1.0.3
    Conn(Link("10.1.0.4", "10.1.0.3", 179, 179), 1, """
a PA  3001 8001 len=19    -> ESTABLISHED ESTABLISHED  mid from=client
b A   8001 3020           -> ESTABLISHED ESTABLISHED  mid from=server
b PA  8001 3020 len=19    -> ESTABLISHED ESTABLISHED  mid
a A   3020 8020           -> ESTABLISHED ESTABLISHED  mid
a RA  3020 8020           -> CLOSED CLOSED            mid closer=client an=client_reset out=midstream style=rst_by_client
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
a FA  1011 5011           -> FIN_WAIT1 ESTABLISHED    td=1 closer=client an=client_close
b A   5011 1012           -> FIN_WAIT2 CLOSE_WAIT     td=2
b FA  5011 1012           -> FIN_WAIT2 LAST_ACK       td=3
a A   1012 5012           -> TIME_WAIT CLOSED         td=4 out=complete style=four_segment
""")
    c2 = Conn(Link("10.1.0.1", "10.1.0.2", 40062, 80), 1, """
a S   2000 0              -> SYN_SENT LISTEN          hs=1
b SA  6000 2001           -> SYN_SENT SYN_RECV        hs=2
a A   2001 6001           -> ESTABLISHED ESTABLISHED  hs=3
a PA  2001 6001 len=10    -> ESTABLISHED ESTABLISHED
b FA  6001 2011           -> ESTABLISHED FIN_WAIT1    td=1 closer=server an=server_close
a A   2011 6002           -> CLOSE_WAIT FIN_WAIT2     td=2
a FA  2011 6002           -> LAST_ACK FIN_WAIT2       td=3
b A   6002 2012           -> CLOSED TIME_WAIT         td=4 out=complete style=four_segment
""")
    c3 = Conn(Link("10.1.0.1", "10.1.0.2", 40063, 80), 2, """
a S   3000 0              -> SYN_SENT LISTEN          hs=1
b SA  7000 3001           -> SYN_SENT SYN_RECV        hs=2
a A   3001 7001           -> ESTABLISHED ESTABLISHED  hs=3
a PA  3001 7001 len=10    -> ESTABLISHED ESTABLISHED
b RA  7001 3011           -> CLOSED CLOSED            closer=server an=server_reset out=reset_by_server style=rst_by_server
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
b SA  5000 1001           -> SYN_SENT SYN_RECV        hs=2 out=half_open style=none
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
a FA  1011 5011           -> FIN_WAIT1 ESTABLISHED    td=1 closer=client an=client_close
b A   5011 1012           -> FIN_WAIT2 CLOSE_WAIT     td=2 out=half_closed style=none
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
b FA  5021 1021           -> ESTABLISHED FIN_WAIT1    mid td=1 closer=server an=server_close
a A   1021 5022           -> CLOSE_WAIT FIN_WAIT2     mid td=2
a FA  1021 5022           -> LAST_ACK FIN_WAIT2       mid td=3
b A   5022 1022           -> CLOSED TIME_WAIT         mid td=4 out=midstream style=four_segment
""").emit(cap)
    Conn(Link("2001:db8::1", "2001:db8::2", 52000, 22), 1, """
b PA  5001 1001 len=30    -> ESTABLISHED ESTABLISHED  mid from=server
a PA  1001 5031 len=30    -> ESTABLISHED ESTABLISHED  mid from=client
b A   5031 1031           -> ESTABLISHED ESTABLISHED  mid
b PA  5031 1031 len=30    -> ESTABLISHED ESTABLISHED  mid
a R   1031 0              -> CLOSED CLOSED            mid closer=client an=client_reset out=midstream style=rst_by_client
""").emit(cap)
    return cap


# ---- illegal flags -------------------------------------------------------------

# Every combination of FIN SYN RST ACK URG that is not valid (23), and the
# PSH-bearing ones that have a name of their own: FIN+PSH+URG (Xmas scan),
# PSH without ACK, all six (Xmas tree).
ILLEGAL_PROBES = sorted([f for f in range(64) if not f & PSH and not flags_valid(f)] +
                        [FIN | PSH | URG, PSH, SIX],
                        key=lambda f: (bin(f).count("1"), f))


# How the Linux receiver answers a segment (net/ipv4/tcp_ipv4.c,
# tcp_input.c); None: no answer.

def linux_reset_answer(flags, seq, ack, length=0):
    """tcp_v4_send_reset(): never to a RST; to a segment with ACK a RST with
    seq = its ack; otherwise a RST/ACK with seq 0 and ack = seq + len (+1
    for a SYN, +1 for a FIN).  (flags, seq, ack) or None."""
    if flags & RST:
        return None
    if flags & ACK:
        return RST, ack, 0
    return RST | ACK, 0, seq + length + (1 if flags & SYN else 0) + (1 if flags & FIN else 0)


def linux_closed_port_answer(flags, seq, ack):
    """No socket: every segment but a RST is answered with a reset."""
    return linux_reset_answer(flags, seq, ack)


def linux_listener_answer(flags, seq, ack):
    """tcp_rcv_state_process(), TCP_LISTEN: a segment with ACK is answered
    with a reset; a RST, a SYN+FIN and anything else without ACK are dropped
    (a valid SYN would get a SYN-ACK, but no probe is a valid SYN)."""
    if flags & ACK:
        return linux_reset_answer(flags, seq, ack)
    return None


def linux_established_answer(flags):
    """tcp_validate_incoming() with the probe's seq = RCV.NXT: a RST resets
    the connection (no answer); a SYN draws a challenge ACK (RFC 5961 4);
    anything else without ACK is dropped (tcp_rcv_established)."""
    if flags & RST:
        return None
    if flags & SYN:
        return "challenge"
    return None


def line(who, flags, seq, ack, client, server, **keys):
    """One segment line in the scenario syntax."""
    words = ["%s %s %d %d -> %s %s" % (who, flags_text(flags), seq, ack, client, server)]
    for k, v in keys.items():
        if v is True:
            words.append(k)
        elif v:
            words.append("%s=%s" % (k, ",".join(sorted(v)) if isinstance(v, (list, set)) else v))
    return " ".join(words) + "\n"


def ill_key(flags, ack_missing=False):
    return illegal_name(flags, ack_missing).replace(" ", "_")


def probe_first_line(flags, seq, ack):
    """A probe as the first segment of its stream (docs/expert.md: its sender
    the client, CLOSED, the receiver the server, LISTEN: nothing was opened;
    a RST among the flags closes before any handshake, as the SYN+RST of
    sample-captures/kernel/illegal_to_listener.pcap)."""
    if flags & RST:
        return line("a", flags, seq, ack, "CLOSED", "LISTEN", closer="client",
                    an=["illegal_flags", "close_before_handshake"], ill=ill_key(flags))
    return line("a", flags, seq, ack, "CLOSED", "LISTEN", an=["illegal_flags"],
                ill=ill_key(flags))


def reset_answer_line(answer):
    """The Linux reset answering a stream-opening probe: refused (the
    server, LISTEN as far as tcpstate knows, resets a client that opened
    nothing)."""
    flags, seq, ack = answer
    return line("b", flags, seq, ack, "CLOSED", "CLOSED", closer="server", an=["refused"])


def illegal_flags():
    cap = Capture("illegal_flags",
                  "every illegal flag combination (the 23 invalid ones of FIN SYN RST ACK URG, "
                  "FIN+PSH+URG, PSH alone and all six), each from its own client port of "
                  "10.1.6.1 to 10.1.6.2: (a) to a listening port 22, answered as a Linux "
                  "listener does (a reset only to the three with ACK); (b) to a closed port 23, "
                  "answered by a Linux reset (none to a RST); (c) into an established "
                  "connection to port 80 (handshake, then the probe at the client's next "
                  "sequence number), with the server's challenge ACK where the probe has SYN "
                  "and no RST; plus a SYN+URG with the client's ISN (ACK missing).  Probes with "
                  "SYN and without ACK open a new tcp.stream in Wireshark 4.0, where tcpstate "
                  "starts over (CLOSED/LISTEN, then mid-stream)",
                  "hand-crafted by %s (illegal_flags)" % SCRIPT)
    stream = 0
    for target, port, base_port, answer in (("listener", 22, 41001, linux_listener_answer),
                                            ("closed", 23, 42001, linux_closed_port_answer)):
        for i, f in enumerate(ILLEGAL_PROBES):
            seq, ack = 1000, 5001 if f & ACK else 0
            block = probe_first_line(f, seq, ack)
            reply = answer(f, seq, ack)
            if reply:
                block += reset_answer_line(reply)
            Conn(Link("10.1.6.1", "10.1.6.2", base_port + i, port), stream, block,
                 derive=True).emit(cap)
            stream += 1
    # (c): the handshake of HANDSHAKE, then the probe at the client's
    # snd_nxt 1001 with the server's snd_nxt 5001 as ack; last, a SYN+URG
    # carrying the client's ISN, which Wireshark keeps in the stream.
    for i, (f, seq, ack) in enumerate([(f, 1001, 5001) for f in ILLEGAL_PROBES] +
                                      [(SYN | URG, 1000, 0)]):
        link = Link("10.1.6.1", "10.1.6.2", 43001 + i, 80)
        reply = linux_established_answer(f)
        if ws_starts_new_stream(f, seq, base=1000):     # the client's ISN
            Conn(link, stream, HANDSHAKE, derive=True).emit(cap)
            stream += 1
            block = probe_first_line(f, seq, ack)
            if reply == "challenge":
                # the first valid segment of a stream a probe opened:
                # tcpstate starts over mid-stream
                block += line("b", ACK, 5001, 1001, "ESTABLISHED", "ESTABLISHED", mid=True,
                              **{"from": "server"})
            Conn(link, stream, block, derive=True).emit(cap)
        else:
            block = HANDSHAKE
            if f & RST:
                # a RST at RCV.NXT resets, whatever else it carries
                block += line("a", f, seq, ack, "CLOSED", "CLOSED", closer="client",
                              an=["illegal_flags", "client_reset"], ill=ill_key(f))
            elif flags_valid(f):
                # valid flags without ACK once synchronized: ACK missing;
                # a SYN is also syn_in_synchronized (scenario syn_when_synchronized)
                block += line("a", f, seq, ack, "ESTABLISHED", "ESTABLISHED", invalid=True,
                              an=["illegal_flags", "syn_in_synchronized"],
                              ill=ill_key(f, ack_missing=True))
            else:
                block += line("a", f, seq, ack, "ESTABLISHED", "ESTABLISHED",
                              an=["illegal_flags"], ill=ill_key(f))
            if reply == "challenge":
                # challenge_ack answers a SYN without ACK only (the spec:
                # scenarios syn_when_synchronized and synack_when_synchronized)
                block += line("b", ACK, 5001, 1001, "ESTABLISHED", "ESTABLISHED",
                              an=["challenge_ack"] if not f & ACK else None)
            Conn(link, stream, block, derive=True).emit(cap)
        stream += 1
    ill = lambda r: r.get("tcpstate.illegal") or ""  # noqa: E731
    cap.filters = [
        ("tcpstate.illegal_flags", cap.expert_count("illegal_flags")),
        ("tcpstate.illegal", cap.count(ill)),
        ('tcpstate.illegal == "SYN+FIN"', cap.count(lambda r: ill(r) == "SYN+FIN")),
        ('tcpstate.illegal == "NULL (NULL scan)"',
         cap.count(lambda r: ill(r) == "NULL (NULL scan)")),
        ('tcpstate.illegal == "FIN+PSH+URG (Xmas scan)"',
         cap.count(lambda r: ill(r) == "FIN+PSH+URG (Xmas scan)")),
        ('tcpstate.illegal == "SYN+FIN+RST+PSH+ACK+URG (Xmas tree)"',
         cap.count(lambda r: ill(r) == "SYN+FIN+RST+PSH+ACK+URG (Xmas tree)")),
        ('tcpstate.illegal contains "scan"', cap.count(lambda r: "scan" in ill(r))),
        ('tcpstate.illegal contains "without ACK"', cap.count(lambda r: "without ACK" in ill(r))),
        ('tcpstate.illegal contains "ACK missing"', cap.count(lambda r: "ACK missing" in ill(r))),
        ("tcpstate.refused", cap.expert_count("refused")),
        ("tcpstate.challenge_ack", cap.expert_count("challenge_ack")),
        ("tcpstate.illegal_flags && tcp.flags.reset == 1 && tcpstate.client.state == CLOSED",
         cap.count(lambda r: "illegal_flags" in (r.get("experts") or "") and "RST" in ill(r) and
                   r["tcpstate.client.state"] == "CLOSED")),
    ]
    return cap


# ---- every anomaly ---------------------------------------------------------------

ANOMALY_CONNS = [
    # (what, server port, block); client 10.1.7.1, ports 44001.., server 10.1.7.2
    ("NULL scan to a listening port", 22, """
a 0   1000 0              -> CLOSED LISTEN            an=illegal_flags ill=NULL_(NULL_scan) out=no_answer style=none
"""),
    ("a data segment with a reserved header bit", 80, HANDSHAKE + """
a PAX 1001 5001 len=10    -> ESTABLISHED ESTABLISHED  an=reserved_bits
b A   5001 1011           -> ESTABLISHED ESTABLISHED  out=open style=none
"""),
    ("client-first close", 80, HANDSHAKE + """
a PA  1001 5001 len=10    -> ESTABLISHED ESTABLISHED
b PA  5001 1011 len=20    -> ESTABLISHED ESTABLISHED
a FA  1011 5021           -> FIN_WAIT1 ESTABLISHED    td=1 closer=client an=client_close
b FA  5021 1012           -> FIN_WAIT2 LAST_ACK       td=2,3
a A   1012 5022           -> TIME_WAIT CLOSED         td=4 out=complete style=three_segment
"""),
    ("server-first close", 80, HANDSHAKE + """
a PA  1001 5001 len=10    -> ESTABLISHED ESTABLISHED
b FA  5001 1011           -> ESTABLISHED FIN_WAIT1    td=1 closer=server an=server_close
a A   1011 5002           -> CLOSE_WAIT FIN_WAIT2     td=2
a FA  1011 5002           -> LAST_ACK FIN_WAIT2       td=3
b A   5002 1012           -> CLOSED TIME_WAIT         td=4 out=complete style=four_segment
"""),
    ("client reset", 80, HANDSHAKE + """
a PA  1001 5001 len=10    -> ESTABLISHED ESTABLISHED
a RA  1011 5001           -> CLOSED CLOSED            closer=client an=client_reset out=reset_by_client style=rst_by_client
"""),
    ("server reset", 80, HANDSHAKE + """
a PA  1001 5001 len=10    -> ESTABLISHED ESTABLISHED
b R   5001 0              -> CLOSED CLOSED            closer=server an=server_reset out=reset_by_server style=rst_by_server
"""),
    ("refused", 81, """
a S   1000 0              -> SYN_SENT LISTEN          hs=1
b RA  0 1001              -> CLOSED CLOSED            closer=server an=refused out=refused style=rst_by_server
"""),
    ("picked up mid-stream", 80, """
a PA  1001 5001 len=10    -> ESTABLISHED ESTABLISHED  mid from=client
b A   5001 1011           -> ESTABLISHED ESTABLISHED  mid from=server out=midstream style=none
"""),
    ("TCP Fast Open: a SYN with data", 80, """
a S   1000 0 len=20       -> SYN_SENT LISTEN          hs=1 an=syn_with_data
b SA  5000 1021           -> SYN_SENT SYN_RECV        hs=2
a A   1021 5001           -> ESTABLISHED ESTABLISHED  hs=3 out=open style=none
"""),
    ("data after the client's FIN", 80, HANDSHAKE + """
a FA  1001 5001           -> FIN_WAIT1 ESTABLISHED    td=1 closer=client an=client_close
b A   5001 1002           -> FIN_WAIT2 CLOSE_WAIT     td=2
a PA  1002 5001 len=5     -> FIN_WAIT2 CLOSE_WAIT     an=data_after_fin out=half_closed style=none
"""),
    ("the server sends after its connection closed (its FIN again reopens LAST_ACK: the last "
     "ACK never arrived; its ACK after the next last ACK is a segment after close)", 80,
     HANDSHAKE + """
a FA  1001 5001           -> FIN_WAIT1 ESTABLISHED    td=1 closer=client an=client_close
b FA  5001 1002           -> FIN_WAIT2 LAST_ACK       td=2,3
a A   1002 5002           -> TIME_WAIT CLOSED         td=4
b FA  5001 1002           -> TIME_WAIT LAST_ACK       td=3
a A   1002 5002           -> TIME_WAIT CLOSED
b A   5002 1002           -> TIME_WAIT CLOSED         invalid an=segment_after_close out=complete style=three_segment
"""),
    ("half-open scan (nmap -sS): SYN, SYN-ACK, RST", 80, """
a S   1000 0              -> SYN_SENT LISTEN          hs=1
b SA  5000 1001           -> SYN_SENT SYN_RECV        hs=2
a R   1001 0              -> CLOSED LISTEN            closer=client an=close_before_handshake out=reset_by_client style=rst_by_client
"""),
    ("a SYN with the ISN again on an established connection, and the challenge ACK", 80,
     HANDSHAKE + """
a PA  1001 5001 len=10    -> ESTABLISHED ESTABLISHED
b A   5001 1011           -> ESTABLISHED ESTABLISHED
a S   1000 0              -> ESTABLISHED ESTABLISHED  invalid an=illegal_flags,syn_in_synchronized ill=SYN_(ACK_missing)
b A   5001 1011           -> ESTABLISHED ESTABLISHED  an=challenge_ack out=open style=none
"""),
    ("a RST in the window but not exact, and the challenge ACK", 80, HANDSHAKE + """
b R   6001 0              -> ESTABLISHED CLOSED       closer=server an=server_reset,rst_in_window
a A   1001 5001           -> ESTABLISHED CLOSED       an=challenge_ack out=reset_by_server style=rst_by_server
"""),
    ("a RST far outside the window (injected)", 80, HANDSHAKE + """
b R   900000 0            -> ESTABLISHED CLOSED       closer=server an=server_reset,rst_out_of_window
a PA  1001 5001 len=10    -> ESTABLISHED CLOSED       out=reset_by_server style=rst_by_server
"""),
    ("TIME-WAIT assassination", 80, HANDSHAKE + """
a FA  1001 5001           -> FIN_WAIT1 ESTABLISHED    td=1 closer=client an=client_close
b FA  5001 1002           -> FIN_WAIT2 LAST_ACK       td=2,3
a A   1002 5002           -> TIME_WAIT CLOSED         td=4
b R   5002 0              -> CLOSED CLOSED            an=time_wait_assassination out=complete style=three_segment
"""),
    ("a SYN-ACK retransmitted three times, never acknowledged", 80, """
a S   1000 0              -> SYN_SENT LISTEN          hs=1
b SA  5000 1001           -> SYN_SENT SYN_RECV        hs=2
b SA  5000 1001           -> SYN_SENT SYN_RECV        hs=2 an=half_open
b SA  5000 1001           -> SYN_SENT SYN_RECV        hs=2 an=half_open
b SA  5000 1001           -> SYN_SENT SYN_RECV        hs=2 an=half_open out=half_open style=none
"""),
    ("an ACK beyond the client's FIN", 80, HANDSHAKE + """
a FA  1001 5001           -> FIN_WAIT1 ESTABLISHED    td=1 closer=client an=client_close
b A   5001 1005           -> FIN_WAIT2 CLOSE_WAIT     td=2 an=ack_beyond_fin out=half_closed style=none
"""),
    ("the client answers the SYN-ACK with a SYN-ACK", 80, """
a S   1000 0              -> SYN_SENT LISTEN          hs=1
b SA  5000 1001           -> SYN_SENT SYN_RECV        hs=2
a SA  1000 5001           -> SYN_SENT SYN_RECV        invalid an=unexpected_segment
a A   1001 5001           -> ESTABLISHED ESTABLISHED  hs=3 out=open style=none
"""),
    ("a simultaneous close whose ACKs were lost: both FINs retransmitted, crossing", 80,
     HANDSHAKE + """
a FA  1001 5001           -> FIN_WAIT1 ESTABLISHED    td=1 closer=client an=client_close
b FA  5001 1001           -> CLOSING CLOSING          td=3 closer=both
a FA  1001 5002           -> CLOSING TIME_WAIT        td=1,4
b FA  5001 1002           -> TIME_WAIT TIME_WAIT      td=2,3 an=crossed_retransmission out=complete style=simultaneous
"""),
]


def anomalies():
    cap = Capture("anomalies",
                  "every tcpstate expert info but syn_flood, each in a connection of its own "
                  "(client 10.1.7.1, ports 44001-%d, server 10.1.7.2): %s" %
                  (44000 + len(ANOMALY_CONNS), "; ".join(w for w, _, _ in ANOMALY_CONNS)),
                  "hand-crafted by %s (anomalies)" % SCRIPT)
    for i, (_, port, block) in enumerate(ANOMALY_CONNS):
        Conn(Link("10.1.7.1", "10.1.7.2", 44001 + i, port), i, block).emit(cap)
    cap.finish()
    cap.filters = [("tcpstate." + name, cap.expert_count(name)) for name in ANOMALIES]
    missing = [n for n in ANOMALIES if n != "syn_flood" and not cap.expert_count(n)]
    if missing:
        raise ValueError("anomalies.pcap lacks %s" % missing)
    return cap


# ---- a SYN flood ---------------------------------------------------------------------


class XorShift32:
    """A fixed PRNG (Marsaglia's xorshift32), the same on every Python."""

    def __init__(self, seed):
        self.x = seed & 0xFFFFFFFF or 1

    def next(self):
        x = self.x
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.x = x
        return x


def public_ipv4(rng, taken):
    """A random-looking unicast address outside the private, loopback,
    link-local, documentation and multicast ranges, not in taken."""
    while True:
        v = rng.next()
        a, b = v >> 24, (v >> 16) & 0xFF
        if a in (0, 10, 127) or a >= 224 or (a, b) in ((169, 254), (192, 168)) or \
                (a == 172 and 16 <= b < 32) or (a == 100 and 64 <= b < 128) or \
                (a, b) in ((192, 0), (198, 51), (203, 0), (198, 18), (198, 19)):
            continue
        addr = "%d.%d.%d.%d" % (a, b, (v >> 8) & 0xFF, v & 0xFF)
        if addr not in taken:
            taken.add(addr)
            return addr


def syn_flood():
    server, flood_port, quiet_port = "10.1.9.9", 80, 8080
    n_flood, n_quiet, legit_after = 150, 20, 50
    legit_src = "10.1.9.50"
    rng = XorShift32(0x7C95EED)
    taken = {server}
    cap = Capture("syn_flood",
                  "a spoofed SYN flood: %d SYNs to %s:%d from distinct pseudo-random IPv4 "
                  "sources (xorshift32, fixed seed), each answered by one SYN-ACK (SYN-cookie "
                  "style, MSS only, no retransmission) and never acknowledged, within %.1f s; "
                  "after the %dth, one legitimate client (10.1.9.50) completes a handshake "
                  "(SYN, SYN-ACK with MSS only, plain ACK), sends data and closes; meanwhile %d "
                  "unanswered SYNs to port %d.  tcpstate.syn_flood exactly once, on the SYN "
                  "that makes the %dth half-open connection to port %d (the legitimate one "
                  "left the count with its ACK); none for port %d" %
                  (n_flood, server, flood_port, (2 * n_flood + n_quiet + 9) * FRAME_GAP,
                   legit_after, n_quiet, quiet_port, SYN_FLOOD_THRESHOLD, flood_port, quiet_port),
                  "hand-crafted by %s (syn_flood)" % SCRIPT)
    streams = iter(range(1 << 20))      # tcp.stream: in order of first appearance

    def conn(ip, port, sport, block):
        return Conn(Link(ip, server, sport, port), next(streams), block)

    legit_block = """
a S   1000 0 mss=1460     -> SYN_SENT LISTEN          hs=1
b SA  5000 1001 mss=1460  -> SYN_SENT SYN_RECV        hs=2
a A   1001 5001           -> ESTABLISHED ESTABLISHED  hs=3
a PA  1001 5001 len=100   -> ESTABLISHED ESTABLISHED
b PA  5001 1101 len=300   -> ESTABLISHED ESTABLISHED
a A   1101 5301           -> ESTABLISHED ESTABLISHED
a FA  1101 5301           -> FIN_WAIT1 ESTABLISHED    td=1 closer=client an=client_close
b FA  5301 1102           -> FIN_WAIT2 LAST_ACK       td=2,3
a A   1102 5302           -> TIME_WAIT CLOSED         td=4 out=complete style=three_segment
"""
    legit = None
    quiet_every = n_flood // n_quiet
    quiet_sent = 0
    for i in range(1, n_flood + 1):
        ip, sport = public_ipv4(rng, taken), 1024 + rng.next() % 64512
        isn, sisn = rng.next(), rng.next()
        conn(ip, flood_port, sport, """
a S   %d 0              -> SYN_SENT LISTEN          hs=1
b SA  %d %d mss=1460    -> SYN_SENT SYN_RECV        hs=2 out=half_open style=none
""" % (isn, sisn, (isn + 1) & 0xFFFFFFFF)).emit(cap)
        if i == legit_after:
            legit = conn(legit_src, flood_port, 45000, legit_block)
        if legit:
            legit.emit(cap, 1)
        if i % quiet_every == 0 and quiet_sent < n_quiet:
            ip, sport = public_ipv4(rng, taken), 1024 + rng.next() % 64512
            conn(ip, quiet_port, sport, """
a S   %d 0              -> SYN_SENT LISTEN          hs=1 out=no_answer style=none
""" % rng.next()).emit(cap)
            quiet_sent += 1
    if not legit or legit.next != len(legit.segs) or quiet_sent != n_quiet:
        raise ValueError("syn_flood: the legitimate connection or the quiet SYNs did not fit")
    cap.finish()
    alarm = [i for i, r in enumerate(cap.rows) if "syn_flood" in (r.get("experts") or "")]
    if len(alarm) != 1:
        raise ValueError("syn_flood: want exactly one alarm, the rule gives %d" % len(alarm))
    syns_to_alarm = sum(1 for info in cap.tcp[:alarm[0] + 1]
                        if info and info[1].flags & (SYN | ACK) == SYN and info[2][1] == flood_port)
    cap.filters = [
        ("tcpstate.syn_flood", 1),
        ("tcpstate.syn_flood && tcp.dstport == %d" % flood_port, 1),
        ("tcp.dstport == %d && tcpstate.handshake == 1" % quiet_port, n_quiet),
        ("tcpstate.syn_flood && tcp.dstport == %d" % quiet_port, 0),
        ("tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.dstport == %d && frame.number <= %d"
         % (flood_port, alarm[0] + 1), syns_to_alarm),
        ("ip.addr == %s && tcpstate.handshake == 3" % legit_src, 1),
        ("ip.addr == %s && (tcpstate.half_open || tcpstate.syn_flood)" % legit_src, 0),
        ("tcpstate.half_open", 0),
    ]
    return cap


# ---- the user guide's sample: a mix, for docs/user-guide.md -------------------------


def cookbook():
    """One capture for every recipe of docs/user-guide.md (tests/guide checks
    the recipes on it)."""
    server = "10.1.10.80"
    cap = Capture("cookbook",
                  "a mixed capture for the user guide's recipes, clients 10.1.10.1-5 to the web "
                  "server %s:80: an upload closed by the client; a handshake whose SYN-ACK comes "
                  "0.35 s after its SYN (handshake RTT 0.36 s, the outlier; the others take "
                  "0.02 s); a connection the "
                  "server closes; one left in CLOSE_WAIT by the server (the client's FIN acked, "
                  "no FIN back); one the server resets; a SYN to the closed port 8081, refused; "
                  "NULL, FIN and Xmas probes from 10.1.10.66 to port 22; 12 half-open "
                  "handshakes to port 443 from pseudo-random sources" % server,
                  "hand-crafted by %s (cookbook)" % SCRIPT,
                  filters=[("tcpstate.server_close", 1), ("tcpstate.server_reset", 1),
                           ("tcpstate.refused", 1), ("tcpstate.illegal", 3),
                           ("tcpstate.server.state == CLOSE_WAIT", 4),
                           ("tcpstate.handshake == 1 && tcp.dstport == 443", 12),
                           ("tcpstate.handshake == 3 && tcp.analysis.initial_rtt > 0.1", 1)])
    streams = iter(range(1 << 20))      # tcp.stream: in order of first appearance

    def conn(client, sport, port, block):
        return Conn(Link(client, server, sport, port), next(streams), block)

    data = "".join("a PA  %d 5001 len=100   -> ESTABLISHED ESTABLISHED\n"
                   "b A   5001 %d           -> ESTABLISHED ESTABLISHED\n"
                   % (1001 + 100 * i, 1101 + 100 * i) for i in range(15))
    bulk = conn("10.1.10.1", 41001, 80, HANDSHAKE + data + """
a FA  2501 5001           -> FIN_WAIT1 ESTABLISHED    td=1 closer=client an=client_close
b A   5001 2502           -> FIN_WAIT2 CLOSE_WAIT     td=2
b FA  5001 2502           -> FIN_WAIT2 LAST_ACK       td=3
a A   2502 5002           -> TIME_WAIT CLOSED         td=4 out=complete style=four_segment
""")
    slow = conn("10.1.10.2", 41002, 80, HANDSHAKE + """
a PA  1001 5001 len=50    -> ESTABLISHED ESTABLISHED
b PA  5001 1051 len=500   -> ESTABLISHED ESTABLISHED
a FA  1051 5501           -> FIN_WAIT1 ESTABLISHED    td=1 closer=client an=client_close
b FA  5501 1052           -> FIN_WAIT2 LAST_ACK       td=2,3
a A   1052 5502           -> TIME_WAIT CLOSED         td=4 out=complete style=three_segment
""")
    bulk.emit(cap, 3)           # its handshake
    slow.emit(cap, 1)           # the slow one's SYN ...
    bulk.emit(cap)              # ... waits for the whole transfer
    slow.emit(cap)
    conn("10.1.10.3", 41003, 80, HANDSHAKE + """
a PA  1001 5001 len=50    -> ESTABLISHED ESTABLISHED
b PA  5001 1051 len=200   -> ESTABLISHED ESTABLISHED
b FA  5201 1051           -> ESTABLISHED FIN_WAIT1    td=1 closer=server an=server_close
a A   1051 5202           -> CLOSE_WAIT FIN_WAIT2     td=2
a FA  1051 5202           -> LAST_ACK FIN_WAIT2       td=3
b A   5202 1052           -> CLOSED TIME_WAIT         td=4 out=complete style=four_segment
""").emit(cap)
    conn("10.1.10.4", 41004, 80, HANDSHAKE + """
a PA  1001 5001 len=50    -> ESTABLISHED ESTABLISHED
b PA  5001 1051 len=200   -> ESTABLISHED ESTABLISHED
a FA  1051 5201           -> FIN_WAIT1 ESTABLISHED    td=1 closer=client an=client_close
b A   5201 1052           -> FIN_WAIT2 CLOSE_WAIT     td=2
b PA  5201 1052 len=100   -> FIN_WAIT2 CLOSE_WAIT
a A   1052 5301           -> FIN_WAIT2 CLOSE_WAIT     out=half_closed style=half_close
""").emit(cap)
    conn("10.1.10.5", 41005, 80, HANDSHAKE + """
a PA  1001 5001 len=50    -> ESTABLISHED ESTABLISHED
b RA  5001 1051           -> CLOSED CLOSED            closer=server an=server_reset out=reset_by_server style=rst_by_server
""").emit(cap)
    conn("10.1.10.1", 41006, 8081, """
a S   1000 0              -> SYN_SENT LISTEN          hs=1
b RA  0 1001              -> CLOSED CLOSED            closer=server an=refused out=refused style=rst_by_server
""").emit(cap)
    for sport, flags in ((52001, 0), (52002, FIN), (52003, FIN | PSH | URG)):
        conn("10.1.10.66", sport, 22, line("a", flags, 7000, 0, "CLOSED", "LISTEN",
                                           an=["illegal_flags"], ill=ill_key(flags),
                                           out="no_answer", style="none")).emit(cap)
    rng = XorShift32(0xC00CB00C)
    taken = {server}
    for _ in range(12):
        isn, sisn = rng.next(), rng.next()
        conn(public_ipv4(rng, taken), 1024 + rng.next() % 64512, 443, """
a S   %d 0              -> SYN_SENT LISTEN          hs=1
b SA  %d %d mss=1460    -> SYN_SENT SYN_RECV        hs=2 out=half_open style=none
""" % (isn, sisn, (isn + 1) & 0xFFFFFFFF)).emit(cap)
    return cap


HANDCRAFTED = [icmp_quoted, vlan_qinq_ipv6, tunnels, port_reuse, equal_ports, interleaved,
               truncated_handshake, truncated_close, midstream, illegal_flags, anomalies,
               syn_flood, cookbook]


# ---- generation, README, check, verify ------------------------------------------


def all_captures():
    caps = []
    names = set()
    for name, ports, segs, desc in parse_scenarios(SCENARIOS):
        if name in names:
            raise ValueError("scenario %s twice" % name)
        names.add(name)
        splits = scenario_splits(ports, segs)
        if name in SKIP:
            if not splits:
                raise ValueError("scenario %s is in SKIP but Wireshark 4.0 keeps it in one "
                                 "tcp.stream: make it a capture" % name)
            continue
        if splits:
            raise ValueError("scenario %s: Wireshark 4.0 splits it into several tcp.streams "
                             "(ws_starts_new_stream); add it to SKIP with the reason" % name)
        caps.append(scenario_capture(name, ports, segs, desc))
    unknown = set(SKIP) - names
    if unknown:
        raise ValueError("SKIP names unknown scenarios: %s" % sorted(unknown))
    caps = [f() for f in HANDCRAFTED] + caps
    for cap in caps:
        cap.finish()
    return caps


def readme_section(caps):
    lines = ["## crafted/", "",
             "Generated by `%s` (deterministic; `--check` compares a fresh generation with "
             "these files, `--verify` runs tshark with the plugin on them).  Each `<name>.pcap` "
             "has a `<name>.expect` next to it: the expected tcpstate fields of every frame, "
             "`tcpstate.illegal`, and `experts`, the frame's tcpstate expert infos but the "
             "handshake and teardown steps (tab-separated, `-` = absent), optional `filter` "
             "lines with the number of frames a display filter must match, and `conn` lines, "
             "one per tcp.stream: the connection's outcome, close initiator and close style "
             "(docs/stats.md) and its final states.  Ethernet, "
             "microsecond pcap, valid checksums, frame i at 1700000000 + 0.01 i." % SCRIPT, ""]
    for cap in caps:
        if not cap.name.startswith("scenario-"):
            lines.append("- `%s.pcap` — %s — hand-crafted by `%s` (`%s()`)." %
                         (cap.name, cap.what, SCRIPT, cap.name))
    lines.append("- `scenario-<NAME>.pcap` — one per scenario of `tests/unit/scenarios.txt` "
                 "(the state machine's spec): the scenario's segments between a = 10.1.0.1 and "
                 "b = 10.1.0.2 (ports from its `ports` line, else 40000 and 80), expectations "
                 "from its states, hs=, td=, closer=, mid, an=, ill=, out= and style= — "
                 "generated by `%s` from "
                 "the scenario:" % SCRIPT)
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


def generate(outdir, caps=None):
    """Write every capture and .expect into outdir; {file name: bytes}."""
    os.makedirs(outdir, exist_ok=True)
    files = {}
    for cap in caps if caps is not None else all_captures():
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


def verify(plugin):
    """Run tshark with the plugin on every crafted capture; 0 if all match."""
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from expect import check_capture
    from tshark_env import TShark
    t = TShark(plugin)
    try:
        labels = t.values()
        errors, n = [], 0
        for fname in sorted(os.listdir(OUTDIR)):
            if fname.endswith(".pcap"):
                n += 1
                errs = check_capture(t, os.path.join(OUTDIR, fname), labels=labels,
                                     anomalies=ANOMALIES)
                errors += errs
                if errs:
                    print("FAIL %s (%d)" % (fname, len(errs)))
    finally:
        t.close()
    for e in errors:
        print(e)
    print("%d captures, %d differences" % (n, len(errors)))
    return 1 if errors else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="regenerate into a temporary directory and fail on any difference")
    ap.add_argument("--verify", nargs="?", const=os.path.join(ROOT, "build", "tcpstate.so"),
                    metavar="PLUGIN", help="run tshark with the plugin on the crafted captures")
    args = ap.parse_args()

    if args.verify:
        return verify(args.verify)

    caps = all_captures()
    caps_section = readme_section(caps)
    if args.check:
        bad = []
        with tempfile.TemporaryDirectory() as tmp:
            files = generate(tmp, caps)
            for fname in sorted(files):
                mine = os.path.join(OUTDIR, fname)
                if not os.path.exists(mine):
                    bad.append("missing: %s" % mine)
                elif not filecmp.cmp(mine, os.path.join(tmp, fname), shallow=False):
                    bad.append("differs: %s" % mine)
        if os.path.isdir(OUTDIR):
            for fname in sorted(os.listdir(OUTDIR)):
                # <name>.expect-X.Y: what a later Wireshark gives instead
                # (tests/expectations.py), recorded, not generated here
                if fname not in files and not re.search(r"\.expect-\d+\.\d+$", fname):
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

    files = generate(OUTDIR, caps)
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
