"""Every capture in sample-captures/ against its declarative expectations.

For each <name>.expect next to a capture: every frame's listed tcpstate.*
fields, the frame count, and the display-filter counts.  For every capture:
every real TCP segment has both states, each segment's "prev" states are the
previous segment's states, and tshark -2 prints exactly what one pass does.
"""

import os

import pytest

import expectations

STATE_FIELDS = ["tcpstate.stream", "tcpstate.client.state", "tcpstate.server.state",
                "tcpstate.client.prev", "tcpstate.server.prev", "tcpstate.icmp_quoted"]
ALL_FIELDS = ["tcpstate.stream", "tcpstate.sender", "tcpstate.client.state",
              "tcpstate.server.state", "tcpstate.client.prev", "tcpstate.server.prev",
              "tcpstate.handshake", "tcpstate.teardown", "tcpstate.closer",
              "tcpstate.midstream", "tcpstate.icmp_quoted"]
# The states a connection starts from, before its first segment: a SYN
# first, a SYN-ACK first (the SYN missed), or mid-stream.
INITIAL = {("CLOSED", "LISTEN"), ("SYN_SENT", "LISTEN"), ("ESTABLISHED", "ESTABLISHED")}


def pytest_generate_tests(metafunc):
    samples = metafunc.config.samples
    if "expect_path" in metafunc.fixturenames:
        paths = expectations.find(samples)
        metafunc.parametrize("expect_path", paths,
                             ids=[os.path.relpath(p, samples) for p in paths])
    if "capture" in metafunc.fixturenames:
        paths = expectations.captures(samples)
        metafunc.parametrize("capture", paths, ids=[os.path.relpath(p, samples) for p in paths])


# Expert infos the .expect "experts" column lists: all of tcpstate's but
# the step ones, which follow from tcpstate.handshake and .teardown.
STEP_EXPERTS = {"tcpstate.handshake_step": "tcpstate.handshake",
                "tcpstate.teardown_step": "tcpstate.teardown"}

# tshark is the slow part, so each capture gets two runs that serve every
# test below: one single pass (all fields, and the .expect filters counted
# by -z io,stat in the same run) and one -2 (the same fields, the final
# connection fields and -z tcpstate,tree).
_RUNS = {}
_TWO_PASS = {}
RUN_FIELDS = []
CONN_FIELDS = sorted(set(expectations.CONN_COLUMNS.values()))


def run_fields(config):
    if not RUN_FIELDS:
        RUN_FIELDS.extend(["tcp.stream", "frame.protocols"] + ALL_FIELDS + ["tcpstate.illegal"] +
                          [a[0] for a in config.anomalies])
    return RUN_FIELDS


def fields_args(fields):
    args = ["-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,", "-e", "frame.number"]
    for f in fields:
        args += ["-e", f]
    return args


def split_stats(out):
    """(the -T fields lines, the statistics after them)."""
    lines = out.splitlines()
    end = next((i for i, line in enumerate(lines) if line.startswith("=====")), len(lines))
    return [line for line in lines[:end] if line], "\n".join(lines[end:])


def io_stat_counts(text, n):
    """The frame counts of the n filters of a -z io,stat,0,... table."""
    for line in text.splitlines():
        if "<>" in line:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            return [int(c) for c in cells[1::2][:n]]   # a wide table pads with an empty cell
    raise AssertionError("no io,stat row in:\n" + text)


def expect_of(capture):
    path = os.path.splitext(capture)[0] + ".expect"
    return expectations.Expectation(path) if os.path.exists(path) else None


def single_pass(tshark, capture):
    """(args, field lines, {filter: frames}) of the capture's single pass."""
    assert RUN_FIELDS
    if capture not in _RUNS:
        args = fields_args(RUN_FIELDS)
        exp = expect_of(capture)
        # io,stat splits its argument at commas: such a filter runs alone.
        filters = [f for f, _ in exp.filters] if exp else []
        joint = [f for f in filters if "," not in f]
        stats = ["-z", "io,stat,0," + ",".join(joint)] if joint else []
        lines, text = split_stats(tshark.run(args + stats, capture=capture).stdout)
        counts = dict(zip(joint, io_stat_counts(text, len(joint)))) if joint else {}
        for f in filters:
            if f not in counts:
                out = tshark.run(["-Y", f, "-T", "fields", "-e", "frame.number"], capture=capture)
                counts[f] = len(out.stdout.split())
        _RUNS[capture] = (args, lines, counts)
    return _RUNS[capture]


def two_pass_fields():
    """RUN_FIELDS and the connection fields, each once (tshark leaves the
    first column of a field given twice empty)."""
    return RUN_FIELDS + [f for f in CONN_FIELDS if f not in RUN_FIELDS]


def two_pass(tshark, capture):
    """(field lines of RUN_FIELDS + CONN_FIELDS, -z tcpstate,tree output) with
    -2 -Y frame: the filter makes tshark build a tree in its first pass, so
    tcpstate analyses there and every frame shows its connection's final
    summary.  (Plain -2 builds none: tcpstate then analyses in the second
    pass, as Lua does; docs/stats.md.)"""
    if capture not in _TWO_PASS:
        args = ["-2", "-Y", "frame"] + fields_args(two_pass_fields()) + ["-z", "tcpstate,tree"]
        _TWO_PASS[capture] = split_stats(tshark.run(args, capture=capture).stdout)
    return _TWO_PASS[capture]


EXPERTS = set()     # every tcpstate expert info's filter name


def experts_of(cols):
    """The .expect "experts" cell: tcpstate expert names on the frame."""
    names = sorted(f[len("tcpstate."):] for f, v in zip(RUN_FIELDS, cols[1:])
                   if v and f in EXPERTS and f not in STEP_EXPERTS)
    return ",".join(names)


def rows_of(tshark, capture, fields):
    """[frame, values of fields...] per frame, from the cached run; the
    virtual field "experts" lists the frame's tcpstate expert infos."""
    _, lines, _ = single_pass(tshark, capture)
    rows = []
    for line in lines:
        cols = line.split("\t")
        row = [cols[0]]
        for f in fields:
            row.append(experts_of(cols) if f == "experts" else cols[RUN_FIELDS.index(f) + 1])
        rows.append(row)
    return rows


@pytest.fixture(autouse=True)
def _fields(request):
    run_fields(request.config)
    EXPERTS.update(a[0] for a in request.config.anomalies)


def test_every_capture_has_expectations(samples):
    missing = [c for c in expectations.captures(samples)
               if not os.path.exists(os.path.splitext(c)[0] + ".expect")]
    assert not missing, "captures without a .expect file: %s" % missing


# Per-release expectations (docs/compat.md).  Wireshark 4.2 changed how the
# TCP dissector splits one 4-tuple into tcp.stream values: a SYN or SYN-ACK
# that cannot continue the current connection (in SYN_SENT after an RST, in
# CLOSING, in a synchronized state, ...) starts a new tcp.stream, where 4.0
# keeps one.  tcpstate tracks one connection per tcp.stream on every version,
# so for these crafted captures, made to test exactly such segments inside
# one connection, 4.2 and later give other rows from the frame where the new
# tcp.stream starts (value), and other connections.  What 4.2 and later give
# is in <name>.expect-4.2 (expectations.for_release; made with
# tests/make_expect.py --variant-of, recorded on 4.4.19 and checked on 4.6.9):
# the same rows as the .expect before that frame (test_release_variants
# checks it), then one connection per new tcp.stream, each from its first
# segment on, as the core tracks any connection.
STREAM_SPLIT_SINCE_4_2 = {
    "crafted/illegal_flags.expect": 111,
    "crafted/scenario-fin_in_crossed_open.expect": 5,
    "crafted/scenario-fin_in_syn_sent.expect": 4,
    "crafted/scenario-rst_in_syn_sent.expect": 3,
    "crafted/scenario-syn_in_closing.expect": 7,
    "crafted/scenario-syn_when_synchronized.expect": 6,
    "crafted/scenario-synack_in_closing.expect": 7,
    "crafted/scenario-synack_when_synchronized.expect": 5,
}


def expectation_for(tshark, expect_path):
    """The expectations of this capture on this Wireshark release."""
    return expectations.Expectation(expectations.for_release(expect_path, tshark.version))


def test_release_variants(samples):
    """Every .expect-4.2 is a capture of STREAM_SPLIT_SINCE_4_2: the same
    frames as its .expect, the same rows before the split frame, a new
    tcpstate.stream at it; and every capture listed there has one."""
    found = {}
    for path in expectations.find(samples):
        for since, variant in expectations.variants(path).items():
            found[(os.path.relpath(path, samples).replace(os.sep, "/"), since)] = variant
    assert sorted(k for k, _ in found) == sorted(STREAM_SPLIT_SINCE_4_2), \
        "the .expect-X.Y files and STREAM_SPLIT_SINCE_4_2 differ"
    for (rel, since), variant in sorted(found.items()):
        assert since == (4, 2), "%s: only 4.2 variants are explained (docs/compat.md)" % variant
        base, var = expectations.Expectation(os.path.join(samples, rel)), \
            expectations.Expectation(variant)
        split = STREAM_SPLIT_SINCE_4_2[rel]
        assert var.fields == base.fields and sorted(var.rows, key=int) == sorted(base.rows, key=int)
        for frame in map(str, range(1, split)):
            assert var.rows[frame] == base.rows[frame], "%s frame %s differs before the split" \
                % (variant, frame)
        at = var.fields.index("tcpstate.stream")
        before = {var.rows[str(f)][at] for f in range(1, split)}
        assert var.rows[str(split)][at] not in before, "%s: no new tcpstate.stream at frame %d" \
            % (variant, split)
        assert var.conn_fields == base.conn_fields and len(var.conns) > len(base.conns)


def test_expectations(tshark, labels, expect_path, request):
    exp = expectation_for(tshark, expect_path)
    assert all(f in RUN_FIELDS or f == "experts" for f in exp.fields), \
        "fields outside %s" % RUN_FIELDS
    rows = rows_of(tshark, exp.capture, exp.fields)
    got = {r[0]: [expectations.normalise(f, v, labels) for f, v in zip(exp.fields, r[1:])]
           for r in rows}
    assert sorted(got, key=int) == sorted(exp.rows, key=int), "frames differ from the .expect rows"
    diffs = []
    for frame in sorted(exp.rows, key=int):
        for field, want, have in zip(exp.fields, exp.rows[frame], got[frame]):
            if want != have:
                diffs.append("frame %s %s: got %s, want %s" % (frame, field, have, want))
    assert not diffs, "\n".join(diffs)
    if exp.clean:
        warns = {a[0] for a in request.config.anomalies if a[2] in ("WARN", "ERROR")}
        flagged = ["frame %s: %s" % (r[0], f) for r in rows_of(tshark, exp.capture, sorted(warns))
                   for f, v in zip(sorted(warns), r[1:]) if v]
        assert not flagged, "warnings in a capture without anomalies:\n" + "\n".join(flagged)
    counts = single_pass(tshark, exp.capture)[2]
    for flt, count in exp.filters:
        assert counts[flt] == count, "filter %r matched %d frames, want %d" % (flt, counts[flt], count)


def test_invariants(tshark, labels, capture):
    """Both states on every real segment; prev = the previous segment's states;
    a step expert info exactly where a step is."""
    steps = list(STEP_EXPERTS) + list(STEP_EXPERTS.values())
    for r in rows_of(tshark, capture, steps):
        have = dict(zip(steps, r[1:]))
        for expert, field in STEP_EXPERTS.items():
            assert bool(have[expert]) == bool(have[field]), "frame %s: %s vs %s" % (r[0], expert, field)
    rows = rows_of(tshark, capture, ["tcp.stream", "frame.protocols"] + STATE_FIELDS)
    last = {}
    problems = []
    for r in rows:
        frame, tcp_stream, protocols = r[0], r[1], r[2]
        v = dict(zip(STATE_FIELDS, (expectations.normalise(f, x, labels)
                                    for f, x in zip(STATE_FIELDS, r[3:]))))
        layers = protocols.split(":")
        if "tcp" not in layers:
            if v["tcpstate.stream"] != "-":
                problems.append("frame %s: tcpstate on a frame without TCP" % frame)
            continue
        quoted = any(p in ("icmp", "icmpv6") for p in layers[:layers.index("tcp")])
        if quoted:
            if v["tcpstate.client.state"] != "-" or v["tcpstate.icmp_quoted"] != "1":
                problems.append("frame %s: a quoted TCP header must be marked, not tracked" % frame)
            continue
        cs, ss = v["tcpstate.client.state"], v["tcpstate.server.state"]
        if cs == "-" or ss == "-":
            problems.append("frame %s: a TCP segment without both states" % frame)
            continue
        stream = v["tcpstate.stream"]
        if stream != tcp_stream.split(",")[0]:
            problems.append("frame %s: tcpstate.stream %s != tcp.stream %s" % (frame, stream, tcp_stream))
        prev = (v["tcpstate.client.prev"], v["tcpstate.server.prev"])
        want = last.get(stream)
        if want is None and prev not in INITIAL:
            problems.append("frame %s: first segment starts from %s" % (frame, prev))
        elif want is not None and prev != want:
            problems.append("frame %s: prev %s, but the last segment left %s" % (frame, prev, want))
        last[stream] = (cs, ss)
    assert not problems, "\n".join(problems)


# Fields that tell what the whole capture shows, so a single pass can only
# say "so far" (docs/expert.md and docs/stats.md, "Single pass and two passes").
SO_FAR_PREFIXES = ("tcpstate.half_open", "tcpstate.conn.")


def test_two_pass_identical(tshark, capture):
    """tshark -2 prints exactly what a single pass prints, but for SO_FAR."""
    _, one, _ = single_pass(tshark, capture)
    two, _ = two_pass(tshark, capture)
    keep = [i for i, f in enumerate(["frame.number"] + RUN_FIELDS)
            if not f.startswith(SO_FAR_PREFIXES)]
    strip = lambda lines: [[line.split("\t")[i] for i in keep] for line in lines]
    assert strip(one) == strip(two)
    assert one and "\t" in one[0]


def test_connections(tshark, labels, expect_path):
    """Every connection's final summary (tshark -2) and the summary tree's
    counts (-z tcpstate,tree with -2) against the .expect conn lines."""
    exp = expectation_for(tshark, expect_path)
    if exp.conn_fields is None:
        pytest.skip("no conn lines")
    fields = [expectations.CONN_COLUMNS[c] for c in exp.conn_fields]
    lines, tree = two_pass(tshark, exp.capture)
    columns = ["frame.number"] + two_pass_fields()
    at = [columns.index(f) for f in ["tcpstate.stream"] + fields]
    # With two passes every frame of a connection shows its final summary
    # (outcome, close initiator and style; the Zeek fields follow Zeek's
    # connections, which may split a stream).
    summary = [i for i, f in enumerate(fields)
               if f.startswith("tcpstate.conn.") and "zeek" not in f and "history" not in f]
    final, every = {}, {}
    for line in lines:
        r = [line.split("\t")[i] for i in at]
        if not r[0]:
            continue
        values = [expectations.normalise(f, v, labels) for f, v in zip(fields, r[1:])]
        row = tuple(values[i] for i in summary)
        if row == ("-",) * len(summary):
            continue                # an ICMP-quoted header: no summary
        final[r[0]] = values
        every.setdefault(r[0], set()).add(row)
    assert sorted(final, key=int) == sorted(exp.conns, key=int), "connections differ"
    assert summary and all(len(v) == 1 for v in every.values()), \
        {st: v for st, v in every.items() if len(v) > 1}
    diffs = ["stream %s %s: got %s, want %s" % (st, col, have, want)
             for st in exp.conns
             for col, want, have in zip(exp.conn_fields, exp.conns[st], final[st]) if want != have]
    assert not diffs, "\n".join(diffs)

    for col, section in (("outcome", "Connections by outcome"),
                         ("close_initiator", "Closed first by"),
                         ("close_style", "Close style")):
        if col not in exp.conn_fields:
            continue
        i = exp.conn_fields.index(col)
        want = {}
        for values in exp.conns.values():
            want[values[i]] = want.get(values[i], 0) + 1
        have = {k: v for k, v in expectations.tree_counts(tree, section).items() if v}
        assert have == want, "%s: tree says %s, connections say %s" % (section, have, want)
