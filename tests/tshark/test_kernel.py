"""Kernel-recorded captures against their ss oracle.

sample-captures/kernel/<name>.pcap was recorded from the real Linux stack
(tests/kernel/record.py); <name>.ss.json holds `ss -tan` snapshots of both
namespaces taken at settled points.  At every snapshot, the states tcpstate
inferred from the last segment before it must equal the kernel's, for both
endpoints.  A snapshot whose label says a segment was still held back in a
queue (not yet on the wire, so not in the capture) records "unobservable"
with the reason, and is only reported.
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
    assert len(oracles(samples)) >= 12


def test_matches_ss(tshark, labels, oracle):
    with open(oracle) as fp:
        spec = json.load(fp)
    rows = tshark.fields(oracle[: -len(".ss.json")] + ".pcap", FIELDS)
    segs = []
    for r in rows:
        v = dict(zip(FIELDS, r[1:]))
        if not v["tcpstate.client.state"]:
            continue
        src = endpoint(v["ip.src"] or v["ipv6.src"], v["tcp.srcport"])
        dst = endpoint(v["ip.dst"] or v["ipv6.dst"], v["tcp.dstport"])
        client, server = (src, dst) if v["tcpstate.sender"] == "1" else (dst, src)
        segs.append((float(v["frame.time_epoch"]), client, server,
                     expectations.normalise("tcpstate.client.state", v["tcpstate.client.state"], labels),
                     expectations.normalise("tcpstate.server.state", v["tcpstate.server.state"], labels)))
    assert segs, "no tracked segment"
    client, server = segs[0][1], segs[0][2]
    # Which namespace holds which endpoint (addresses live only in their namespace).
    client_addr = client.rsplit(":", 1)[0].strip("[]")
    client_ns = "a" if client_addr in ("10.99.0.1", "fd00:99::1") else "b"
    server_ns = "b" if client_ns == "a" else "a"

    checked, problems, reported = 0, [], []
    for snap in spec["snapshots"]:
        before = [s for s in segs if s[0] < snap["t"]]
        if "unobservable" in snap:
            reported.append("%s: inferred %s, kernel %s (%s)" % (
                snap["label"], before[-1][3:] if before else None,
                (kernel_state(snap[client_ns], client, server),
                 kernel_state(snap[server_ns], server, client)), snap["unobservable"]))
            continue
        if not before:
            # Nothing captured yet: the kernel must not know the connection either.
            assert kernel_state(snap[client_ns], client, server) in ("CLOSED", "LISTEN")
            continue
        _, _, _, cst, sst = before[-1]
        want = (kernel_state(snap[client_ns], client, server),
                kernel_state(snap[server_ns], server, client))
        have = (cst, sst)
        # A server's closed connection leaves its listener: ss shows LISTEN.
        ok = have == want or (have[1] == "CLOSED" and want[1] == "LISTEN")
        checked += 1
        if not ok:
            problems.append("snapshot '%s': inferred client/server %s, kernel says %s"
                            % (snap["label"], have, want))
    for line in reported:
        print("unobservable snapshot:", line)
    assert not problems, "\n".join(problems)
    assert checked, "no snapshot checked"
