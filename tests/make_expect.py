"""Draft a .expect file from what the plugin prints today.

    /usr/bin/python3 tests/make_expect.py build/tcpstate.so CAPTURE "how it was made" > CAPTURE.expect

A draft only: every row must be checked against the scenario before it is
committed (for kernel captures, also against the ss oracle).  Crafted
captures get their expectations from tests/crafted/make_captures.py instead.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import expectations  # noqa: E402
from tshark_env import TShark  # noqa: E402

FIELDS = ["tcpstate.stream", "tcpstate.sender", "tcpstate.client.state",
          "tcpstate.server.state", "tcpstate.handshake", "tcpstate.teardown",
          "tcpstate.closer", "tcpstate.midstream", "tcpstate.icmp_quoted"]


def main():
    plugin, capture, how = sys.argv[1], sys.argv[2], sys.argv[3]
    with TShark(plugin) as t:
        labels = t.values()
        rows = t.fields(capture, FIELDS)
    print("# Expectations for %s" % os.path.basename(capture))
    print("# how: %s" % how)
    print("\t".join(["frame"] + FIELDS))
    for r in rows:
        print("\t".join([r[0]] + [expectations.normalise(f, v, labels)
                                  for f, v in zip(FIELDS, r[1:])]))


if __name__ == "__main__":
    main()
