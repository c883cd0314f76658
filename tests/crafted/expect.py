"""The .expect files next to the crafted captures: write and check.

Format (tab-separated, '#' lines are comments), as tests/expectations.py
reads it for the tshark tests (tests/tshark/test_captures.py):

    # Expectations for <capture file name>
    # how: <how the capture was made>
    frame   tcpstate.stream   tcpstate.sender   ...   experts   <- header
    1       0                 client            ...   -         <- one row per frame
    filter  <display filter>  <expected frame count>            <- optional
    conn    stream            outcome   ...                      <- conn header
    conn    0                 complete  ...                      <- one per tcp.stream

`-` means the field must be absent; value-string fields are given by label
(state names, client/server/both), the others as numbers or strings
(tcpstate.illegal); several occurrences of a field are joined with ','; a
present boolean is `1`.  The virtual column `experts` lists the tcpstate
expert infos on the frame, sorted, without the `tcpstate.` prefix, except
handshake_step and teardown_step (they follow from tcpstate.handshake and
tcpstate.teardown).  The conn lines (columns of tests/expectations.py
CONN_COLUMNS) give every connection's final summary: outcome, close
initiator and close style (docs/stats.md), the states after its last
segment.

check_capture() runs tshark (a tshark_env.TShark with the plugin loaded) on
a capture and returns the differences from its .expect file as strings,
with the same column semantics as tests/tshark/test_captures.py (the conn
lines against tshark -2 and the counts of -z tcpstate,tree, as its
test_connections).
"""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ANOMALIES_H = os.path.join(ROOT, "plugin", "core", "anomalies.h")

sys.path.insert(0, os.path.join(ROOT, "tests"))
import expectations  # noqa: E402

FIELDS = [
    "tcpstate.stream",
    "tcpstate.sender",
    "tcpstate.client.state",
    "tcpstate.server.state",
    "tcpstate.handshake",
    "tcpstate.teardown",
    "tcpstate.closer",
    "tcpstate.midstream",
    "tcpstate.icmp_quoted",
    "tcpstate.illegal",
    "experts",
]

# Expert infos the "experts" column leaves out: they follow from
# tcpstate.handshake and tcpstate.teardown.
STEP_EXPERTS = ("handshake_step", "teardown_step")


def anomaly_names(path=ANOMALIES_H):
    """The expert infos' names (without "tcpstate."), in the order of the
    one list, plugin/core/anomalies.h."""
    with open(path, encoding="utf-8") as fp:
        names = re.findall(r"\bX\(\s*[A-Z0-9_]+\s*,\s*\"([a-z0-9_]+)\"", fp.read())
    if not names:
        raise ValueError("%s: no X(ID, \"name\", ...) entries" % path)
    return names


def format_expect(capture_name, how, rows, filters=(), fields=FIELDS, conns=None,
                  conn_fields=()):
    """rows: one dict {field: value or None} per frame, in frame order;
    conns: {tcp.stream: {column: value}}, the conn lines, with the columns
    conn_fields (tests/expectations.py CONN_COLUMNS)."""
    out = ["# Expectations for %s" % capture_name, "# how: %s" % how,
           "\t".join(["frame"] + list(fields))]
    for n, row in enumerate(rows, 1):
        unknown = set(row) - set(fields)
        if unknown:
            raise ValueError("frame %d: fields not in the header: %s" % (n, sorted(unknown)))
        cells = [str(n)]
        for f in fields:
            v = row.get(f)
            v = "-" if v is None or v == "" else str(v)
            if "\t" in v:
                raise ValueError("frame %d: a tab in %s" % (n, f))
            cells.append(v)
        out.append("\t".join(cells))
    for flt, count in filters:
        if "\t" in flt:
            raise ValueError("a tab in filter %r" % flt)
        out.append("filter\t%s\t%d" % (flt, count))
    if conns:
        unknown = set(conn_fields) - set(expectations.CONN_COLUMNS)
        if unknown:
            raise ValueError("unknown conn columns %s" % sorted(unknown))
        out.append("\t".join(["conn", "stream"] + list(conn_fields)))
        for stream in sorted(conns):
            cells = [str(conns[stream][c]) for c in conn_fields]
            if any("\t" in c or not c for c in cells):
                raise ValueError("stream %s: an empty cell or a tab in its conn line" % stream)
            out.append("\t".join(["conn", str(stream)] + cells))
    return "\n".join(out) + "\n"


def check_capture(tshark, capture, expect_path=None, labels=None, anomalies=None):
    """Differences between the plugin's output on capture and its .expect
    file, as a list of strings (empty: all as expected)."""
    if expect_path is None:
        expect_path = expectations.for_release(os.path.splitext(capture)[0] + ".expect",
                                               tshark.version)
    if labels is None:
        labels = tshark.values()
    if anomalies is None:
        anomalies = anomaly_names()
    exp = expectations.Expectation(expect_path)
    name = os.path.basename(capture)
    real = [f for f in exp.fields if f != "experts"]
    expert_fields = ["tcpstate." + a for a in anomalies]
    got = {}
    for r in tshark.fields(capture, real + expert_fields):
        values = dict(zip(real, r[1:1 + len(real)]))
        cells = [expectations.normalise(f, values[f], labels) if f in values else
                 ",".join(sorted(a for a, v in zip(anomalies, r[1 + len(real):])
                                 if v and a not in STEP_EXPERTS)) or "-"
                 for f in exp.fields]
        got[r[0]] = cells
    errors = []
    if sorted(got, key=int) != sorted(exp.rows, key=int):
        errors.append("%s: %d frames, expected %d" % (name, len(got), len(exp.rows)))
    for frame in sorted(exp.rows, key=int):
        if frame not in got:
            continue
        for f, want, have in zip(exp.fields, exp.rows[frame], got[frame]):
            if want != have:
                errors.append("%s frame %s: %s = %s, expected %s" % (name, frame, f, have, want))
    for flt, count in exp.filters:
        proc = tshark.run(["-T", "fields", "-e", "frame.number", "-Y", flt], capture=capture,
                          check=False)
        if proc.returncode != 0:
            errors.append("%s: filter %r: tshark failed: %s" % (name, flt, proc.stderr.strip()))
            continue
        n = len(proc.stdout.split())
        if n != count:
            errors.append("%s: filter %r matches %d frames, expected %d" % (name, flt, n, count))
    if exp.conn_fields is not None:
        errors += check_conns(tshark, exp, labels)
    return errors


# The summary tree's sections that count connections by a conn column.
TREE_SECTIONS = (("outcome", "Connections by outcome"), ("close_initiator", "Closed first by"),
                 ("close_style", "Close style"))


def check_conns(tshark, exp, labels):
    """The conn lines against tshark -2 (every stream's last segment) and
    the counts of -z tcpstate,tree, as test_connections of
    tests/tshark/test_captures.py checks them; one tshark run."""
    name = os.path.basename(exp.capture)
    fields = [expectations.CONN_COLUMNS[c] for c in exp.conn_fields]
    args = ["-2", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,",
            "-e", "frame.number", "-e", "tcpstate.stream"]
    for f in fields:
        args += ["-e", f]
    out = tshark.run(args + ["-z", "tcpstate,tree"], capture=exp.capture).stdout
    rows, _, tree = out.partition("\n=")
    final = {}
    for line in rows.splitlines():
        r = line.split("\t")
        if len(r) == len(fields) + 2 and r[1]:
            final[r[1]] = [expectations.normalise(f, v, labels) for f, v in zip(fields, r[2:])]
    errors = []
    if sorted(final, key=int) != sorted(exp.conns, key=int):
        errors.append("%s: streams %s, conn lines for %s" % (name, sorted(final, key=int),
                                                            sorted(exp.conns, key=int)))
    for stream in sorted(exp.conns, key=int):
        for col, want, have in zip(exp.conn_fields, exp.conns[stream], final.get(stream, [])):
            if want != have:
                errors.append("%s stream %s: %s = %s, expected %s" % (name, stream, col, have,
                                                                       want))
    for col, section in TREE_SECTIONS:
        if col not in exp.conn_fields:
            continue
        i = exp.conn_fields.index(col)
        want = {}
        for values in exp.conns.values():
            want[values[i]] = want.get(values[i], 0) + 1
        have = {k: v for k, v in expectations.tree_counts(tree, section).items() if v}
        if have != want:
            errors.append("%s: tree %r says %s, the conn lines %s" % (name, section, have, want))
    return errors
