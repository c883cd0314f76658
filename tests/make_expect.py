"""Draft a .expect file from what the plugin prints today.

    /usr/bin/python3 tests/make_expect.py build/tcpstate.so build/tests/docgen CAPTURE "how" > X.expect

A draft only: every row must be checked against the scenario before it is
committed (for kernel captures, also against the ss oracle).  Crafted
captures get their expectations from tests/crafted/make_captures.py instead.

    /usr/bin/python3 tests/make_expect.py build/tcpstate.so build/tests/docgen \
        --variant-of sample-captures/crafted/X.expect 4.2 "why" > sample-captures/crafted/X.expect-4.2

makes the per-release file of an existing .expect (tests/expectations.py)
with the tshark on PATH, which must be that release or later: the same
columns, filters (counted again) and "clean" mark as the .expect, this
release's rows and connections.  Check the rows where it differs from the
.expect (test_captures.py test_release_variants checks the rest).
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import expectations  # noqa: E402
from tshark_env import TShark  # noqa: E402

FIELDS = ["tcpstate.stream", "tcpstate.sender", "tcpstate.client.state",
          "tcpstate.server.state", "tcpstate.handshake", "tcpstate.teardown",
          "tcpstate.closer", "tcpstate.midstream", "tcpstate.icmp_quoted", "tcpstate.illegal"]
STEP_EXPERTS = ("tcpstate.handshake_step", "tcpstate.teardown_step")


def variant(plugin, base_path, since, why):
    base = expectations.Expectation(base_path)
    with TShark(plugin) as t:
        if t.version[:2] < tuple(int(x) for x in since.split(".")):
            raise SystemExit("tshark %s is older than %s" % (".".join(map(str, t.version)), since))
        labels = t.values()
        fields = [f for f in base.fields if f != "experts"]
        experts = [line.split("\t")[0] for line in subprocess.run(
            [sys.argv[2], "anomalies"], capture_output=True, text=True, check=True).stdout.splitlines()]
        experts = [e for e in experts if e not in STEP_EXPERTS]
        rows = t.fields(base.capture, fields + experts)
        conn_fields = [expectations.CONN_COLUMNS[c] for c in base.conn_fields or []]
        final = {}
        if conn_fields:
            for r in t.fields(base.capture, ["tcpstate.stream"] + conn_fields,
                              extra=["-2", "-Y", "frame"]):
                if r[1]:
                    final[r[1]] = [expectations.normalise(f, v, labels) or "-"
                                   for f, v in zip(conn_fields, r[2:])]
        counts = [(flt, len(t.run(["-Y", flt, "-T", "fields", "-e", "frame.number"],
                                  capture=base.capture).stdout.split()))
                  for flt, _ in base.filters]
        release = ".".join(map(str, t.version))
    print("# Expectations for %s on Wireshark %s and later" % (os.path.basename(base.capture), since))
    print("# why: %s" % why)
    print("# how: tests/make_expect.py --variant-of %s, on Wireshark %s"
          % (os.path.basename(base_path), release))
    print("\t".join(["frame"] + base.fields))
    for r in rows:
        cells = [expectations.normalise(f, v, labels) for f, v in zip(fields, r[1:])]
        present = sorted(e[len("tcpstate."):] for e, v in zip(experts, r[1 + len(fields):]) if v)
        print("\t".join([r[0]] + cells + ([",".join(present) or "-"] if "experts" in base.fields
                                          else [])))
    for flt, n in counts:
        print("filter\t%s\t%d" % (flt, n))
    if base.clean:
        print("clean")
    if conn_fields:
        print("conn\tstream\t" + "\t".join(base.conn_fields))
        for stream in sorted(final, key=int):
            print("\t".join(["conn", stream] + final[stream]))


def main():
    if len(sys.argv) > 3 and sys.argv[3] == "--variant-of":
        return variant(sys.argv[1], sys.argv[4], sys.argv[5], sys.argv[6])
    plugin, docgen, capture, how = sys.argv[1:5]
    experts = [line.split("\t")[0] for line in subprocess.run(
        [docgen, "anomalies"], capture_output=True, text=True, check=True).stdout.splitlines()]
    experts = [e for e in experts if e not in STEP_EXPERTS]
    conn_fields = list(expectations.CONN_COLUMNS.values())
    with TShark(plugin) as t:
        labels = t.values()
        rows = t.fields(capture, FIELDS + experts)
        final = {}
        for r in t.fields(capture, ["tcpstate.stream"] + conn_fields, extra=["-2", "-Y", "frame"]):
            if r[1]:
                final[r[1]] = [expectations.normalise(f, v, labels) or "-"
                               for f, v in zip(conn_fields, r[2:])]
    print("# Expectations for %s" % os.path.basename(capture))
    print("# how: %s" % how)
    print("\t".join(["frame"] + FIELDS + ["experts"]))
    for r in rows:
        cells = [expectations.normalise(f, v, labels) for f, v in zip(FIELDS, r[1:])]
        present = sorted(e[len("tcpstate."):] for e, v in zip(experts, r[1 + len(FIELDS):]) if v)
        print("\t".join([r[0]] + cells + [",".join(present) or "-"]))
    print("conn\tstream\t" + "\t".join(expectations.CONN_COLUMNS))
    for stream in sorted(final, key=int):
        print("\t".join(["conn", stream] + final[stream]))
    if "--clean" in sys.argv[5:]:
        print("clean")


if __name__ == "__main__":
    main()
