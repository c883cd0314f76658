"""Public traces the project did not make (../shared/corpus, or
$TCPSTATE_CORPUS): Zeek's test traces, VLAN/MPLS/PPPoE/tunnelled TCP, IPv6,
scanners, floods.  Each must dissect without errors, and every real TCP
segment in them (not one quoted in an ICMP error) must get both states."""

import os

import pytest

import expectations

# tshark options some traces need to reach their TCP (see the corpus README).
EXTRA = {"tunnels_Teredo.pcap": ["-d", "udp.port==32900,teredo"]}


def traces(corpus):
    return expectations.captures(corpus) if os.path.isdir(corpus) else []


def pytest_generate_tests(metafunc):
    if "trace" in metafunc.fixturenames:
        corpus = metafunc.config.corpus
        paths = traces(corpus)
        metafunc.parametrize("trace", paths or [None],
                             ids=[os.path.relpath(p, corpus) for p in paths] or ["absent"])


def test_every_tcp_segment_gets_both_states(tshark, trace, request):
    if trace is None:
        pytest.skip("no corpus at %s (set TCPSTATE_CORPUS)" % request.config.corpus)
    args = EXTRA.get(os.path.basename(trace), [])
    # tcp.stream and tcp.srcport: a segment TCP could not dissect to the end
    # of its header is read from the tree (extract.h), so the tree must hold
    # them; a hidden tree holds only the fields asked for.
    proc = tshark.run(args + ["-T", "fields", "-e", "frame.number", "-e", "frame.protocols",
                              "-e", "tcp.flags", "-e", "tcp.stream", "-e", "tcp.srcport",
                              "-e", "tcpstate.client.state",
                              "-e", "tcpstate.server.state", "-e", "tcpstate.icmp_quoted"],
                      capture=trace, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "tcpstate" not in proc.stderr, proc.stderr
    segments = missing = 0
    for line in proc.stdout.splitlines():
        frame, protocols, flags, _, _, cst, sst, quoted = line.split("\t")
        layers = protocols.split(":")
        if "tcp" not in layers:
            continue
        if any(p in ("icmp", "icmpv6") for p in layers[:layers.index("tcp")]):
            assert quoted and not cst, "frame %s: quoted TCP header tracked" % frame
            continue
        if not flags:
            continue        # a header too short to read: nothing to track
        segments += 1
        if not (cst and sst):
            missing += 1
            print("frame %s: no states" % frame)
    assert missing == 0, "%d of %d segments without both states" % (missing, segments)
