"""Kernel-recorded captures against their ss oracle.

sample-captures/kernel/<name>.pcap was recorded from the real Linux stack
(tests/kernel/record.py); <name>.ss.json holds `ss -tan` snapshots of both
namespaces taken at settled points.  At every snapshot, the states tcpstate
inferred from the last segment before it must equal the kernel's, for both
endpoints of every connection between the namespaces (spoofed sources have no
socket to compare with).  Two equivalences: a closed server connection whose
listener remains (tcpstate CLOSED, ss LISTEN), and a server that never sent
a segment, which tcpstate assumes LISTEN whether or not anything listens.

A snapshot that no capture can show records "unobservable" with the reason:
a segment held in a queue or dropped before the wire (not in the capture),
a segment captured but dropped after the wire (never delivered), a timer
that sends nothing.  Such a snapshot is reported, not compared -- but it
must differ from what tcpstate infers there: one it gets right is not
unobservable, and its reason is wrong.
"""

import glob
import json
import os

import pytest

import expectations

SS_STATES = {"ESTAB": "ESTABLISHED", "SYN-SENT": "SYN_SENT", "SYN-RECV": "SYN_RECV",
             "FIN-WAIT-1": "FIN_WAIT1", "FIN-WAIT-2": "FIN_WAIT2", "TIME-WAIT": "TIME_WAIT",
             "CLOSE-WAIT": "CLOSE_WAIT", "LAST-ACK": "LAST_ACK", "CLOSING": "CLOSING",
             "LISTEN": "LISTEN"}
FIELDS = ["frame.time_epoch", "tcpstate.sender", "tcpstate.client.state",
          "tcpstate.server.state", "ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst",
          "tcp.dstport"]


def oracles(samples):
    return sorted(glob.glob(os.path.join(samples, "kernel", "*.ss.json")))


def pytest_generate_tests(metafunc):
    if "oracle" in metafunc.fixturenames:
        paths = oracles(metafunc.config.samples)
        metafunc.parametrize("oracle", paths, ids=[os.path.basename(p)[:-8] for p in paths])


def endpoint(addr, port):
    return ("[%s]:%s" % (addr, port)) if ":" in addr else ("%s:%s" % (addr, port))


def kernel_state(entries, local, peer):
    """The kernel's state of one endpoint: its 4-tuple socket, else
    'LISTEN' if a listener holds the port, else 'CLOSED'."""
    for e in entries:
        if e["local"] == local and e["peer"] == peer:
            return SS_STATES[e["state"]]
    port = local.rsplit(":", 1)[1]
    for e in entries:
        if e["state"] == "LISTEN" and e["local"].rsplit(":", 1)[1] == port:
            return "LISTEN"
    return "CLOSED"


def test_kernel_captures_exist(samples):
    assert len(oracles(samples)) >= 31


# Addresses that live in the namespaces: a connection whose client has one of
# these has a kernel socket to compare with (spoofed sources have none).
NAMESPACE_ADDRS = {"10.99.0.1": "a", "fd00:99::1": "a", "10.99.0.2": "b", "fd00:99::2": "b"}


def host(ep):
    return ep.rsplit(":", 1)[0].strip("[]")


def test_matches_ss(tshark, labels, oracle):
    with open(oracle) as fp:
        spec = json.load(fp)
    rows = tshark.fields(oracle[: -len(".ss.json")] + ".pcap", FIELDS)
    # Segments per 4-tuple, in capture order: the kernel keeps one socket per
    # 4-tuple, whatever tcp.stream Wireshark gave each segment.
    conns = {}
    for r in rows:
        v = dict(zip(FIELDS, r[1:]))
        if not v["tcpstate.client.state"]:
            continue
        src = endpoint(v["ip.src"] or v["ipv6.src"], v["tcp.srcport"])
        dst = endpoint(v["ip.dst"] or v["ipv6.dst"], v["tcp.dstport"])
        client, server = (src, dst) if v["tcpstate.sender"] == "1" else (dst, src)
        if host(client) not in NAMESPACE_ADDRS or host(server) not in NAMESPACE_ADDRS:
            continue
        key = tuple(sorted((client, server)))
        conns.setdefault(key, []).append(
            (float(v["frame.time_epoch"]), client, server, v["tcpstate.sender"],
             expectations.normalise("tcpstate.client.state", v["tcpstate.client.state"], labels),
             expectations.normalise("tcpstate.server.state", v["tcpstate.server.state"], labels)))
    assert conns, "no tracked connection between the namespaces"

    checked, problems, reported = 0, [], []
    for snap in spec["snapshots"]:
        for segs in conns.values():
            before = [s for s in segs if s[0] < snap["t"]]
            if not before:
                continue      # not on the wire yet (the kernel may already know it)
            _, client, server, _, cst, sst = before[-1]
            server_spoke = any(s[3] == "2" for s in before)
            want = (kernel_state(snap[NAMESPACE_ADDRS[host(client)]], client, server),
                    kernel_state(snap[NAMESPACE_ADDRS[host(server)]], server, client))
            have = (cst, sst)
            if "unobservable" in snap:
                reported.append("%s %s: inferred %s, kernel %s (%s)" % (
                    snap["label"], client, have, want, snap["unobservable"]))
                if have == want:
                    problems.append("snapshot '%s', %s -> %s: declared unobservable (%s), yet "
                                    "tcpstate infers what the kernel says, %s" % (
                                        snap["label"], client, server, snap["unobservable"], have))
                continue
            checked += 1
            # A server's closed connection leaves its listener: ss shows LISTEN.
            # A server that never sent anything is assumed LISTEN; the kernel
            # may have no listener there (a probe to a closed port, unanswered).
            if not (have == want or (have[0] == want[0] and have[1] == "CLOSED" and
                                     want[1] == "LISTEN") or
                    (have[0] == want[0] and have[1] == "LISTEN" and want[1] == "CLOSED" and
                     not server_spoke)):
                problems.append("snapshot '%s', %s -> %s: inferred client/server %s, kernel "
                                "says %s" % (snap["label"], client, server, have, want))
    for line in reported:
        print("unobservable snapshot:", line)
    assert not problems, "\n".join(problems)
    assert checked, "no snapshot checked"
