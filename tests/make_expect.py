"""Draft a .expect file from what the plugin prints today.

    /usr/bin/python3 tests/make_expect.py build/tcpstate.so build/tests/docgen CAPTURE "how" > X.expect

A draft only: every row must be checked against the scenario before it is
committed (for kernel captures, also against the ss oracle).  Crafted
captures get their expectations from tests/crafted/make_captures.py instead.
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


def main():
    plugin, docgen, capture, how = sys.argv[1:5]
    experts = [line.split("\t")[0] for line in subprocess.run(
        [docgen, "anomalies"], capture_output=True, text=True, check=True).stdout.splitlines()]
    experts = [e for e in experts if e not in STEP_EXPERTS]
    conn_fields = list(expectations.CONN_COLUMNS.values())
    with TShark(plugin) as t:
        labels = t.values()
        rows = t.fields(capture, FIELDS + experts)
        final = {}
        for r in t.fields(capture, ["tcpstate.stream"] + conn_fields, extra=["-2"]):
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
