"""The plugin's Zeek conn_state and history against Zeek's own baselines.

../shared/corpus/zeek (or $TCPSTATE_CORPUS/zeek) holds traces from Zeek's
test suite and EXPECTED.tsv, Zeek's conn_state and history for every TCP
connection.  This runs tshark -2 -Y tcp (a first pass with a tree: final connection summaries) with the plugin on every trace, reads
tcpstate.conn.zeek_state and tcpstate.conn.history (one Zeek connection per
run of equal values within a tcp.stream, in frame order), matches them to
EXPECTED.tsv by 4-tuple, prints the agreement and every disagreement, and
fails if the agreement falls below what docs/zeek-mapping.md claims (its
"plugin-agreement" line).  tests/zeek/crosscheck.py does the same for the
zeek.c module alone, through a replay harness.
"""

import csv
import ipaddress
import os
import re

import pytest

import expectations

FIELDS = ["tcpstate.stream", "tcpstate.sender", "tcpstate.client.state", "ip.src", "ipv6.src",
          "tcp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport", "tcpstate.conn.zeek_state",
          "tcpstate.conn.history", "tcpstate.conn.zeek_index"]
EXTRA = {"tunnels_Teredo.pcap": ["-d", "udp.port==32900,teredo"]}


def norm(a):
    try:
        return ipaddress.ip_address(a).compressed
    except ValueError:
        return a


def claimed(source_dir):
    """(conn_state ok, rows, history ok, rows) from docs/zeek-mapping.md."""
    with open(os.path.join(source_dir, "docs", "zeek-mapping.md")) as fp:
        m = re.search(r"plugin-agreement: conn_state (\d+)/(\d+), history (\d+)/(\d+)", fp.read())
    assert m, "docs/zeek-mapping.md has no plugin-agreement line"
    return tuple(int(g) for g in m.groups())


def zeek_rows(tshark, trace, checksums):
    """[(key, conn_state, history)] in frame order, key = (src, sport, dst, dport).
    checksums: verify TCP checksums, as Zeek does unless run with -C."""
    opts = ["-o", "tcp.check_checksum:TRUE"] if checksums else []
    out = tshark.run(opts + EXTRA.get(os.path.basename(trace), []) +
                     ["-2", "-Y", "tcp", "-T", "fields", "-E", "occurrence=l"] +
                     sum([["-e", f] for f in FIELDS], []), capture=trace).stdout
    rows, last = [], {}
    for line in out.splitlines():
        v = dict(zip(FIELDS, line.split("\t")))
        if not v["tcpstate.client.state"]:
            continue                    # not a tracked segment (ICMP-quoted, ...)
        src = norm(v["ipv6.src"] or v["ip.src"])
        dst = norm(v["ipv6.dst"] or v["ip.dst"])
        value = (v["tcpstate.conn.zeek_state"], v["tcpstate.conn.history"])
        conn = (v["tcpstate.stream"], v["tcpstate.conn.zeek_index"])
        if conn not in last:
            last[conn] = value
            rows.append(((src, v["tcp.srcport"], dst, v["tcp.dstport"]),) + value)
    return rows


def test_zeek_agreement(tshark, request):
    corpus = os.path.join(request.config.corpus, "zeek")
    expected_path = os.path.join(corpus, "EXPECTED.tsv")
    if not os.path.exists(expected_path):
        pytest.skip("no Zeek corpus at %s" % corpus)
    with open(expected_path) as fp:
        expected = list(csv.DictReader(fp, delimiter="\t"))
    n_state = ok_state = n_hist = ok_hist = 0
    disagreements = []
    for fname in sorted({r["file"] for r in expected}):
        # Zeek verifies TCP checksums unless run with -C or told to ignore
        # them for some networks; tcpstate does when tcp.check_checksum is on.
        zeek_cmd = " %s " % next(r["zeek_cmd"] for r in expected if r["file"] == fname)
        checksums = " -C " not in zeek_cmd and "ignore_checksums_nets" not in zeek_cmd
        ours = [[key, state, hist, False] for key, state, hist in
                zeek_rows(tshark, os.path.join(corpus, fname), checksums)]
        for r in (r for r in expected if r["file"] == fname):
            key = (norm(r["orig_h"]), r["orig_p"], norm(r["resp_h"]), r["resp_p"])
            rkey = (key[2], key[3], key[0], key[1])
            match = next((o for o in ours if not o[3] and o[0] in (key, rkey)), None)
            if match:
                match[3] = True
            state, hist = (match[1], match[2]) if match else ("-", "-")
            n_state += 1
            ok_state += state == r["conn_state"]
            if r["history"] not in ("", "-"):
                n_hist += 1
                ok_hist += hist == r["history"]
            if state != r["conn_state"] or (r["history"] not in ("", "-") and hist != r["history"]):
                disagreements.append("%s %s: Zeek %s %s, tcpstate %s %s" % (
                    fname, "%s:%s > %s:%s" % key, r["conn_state"], r["history"], state, hist))
    print("conn_state agreement: %d/%d = %.1f%%" % (ok_state, n_state, 100.0 * ok_state / n_state))
    print("history agreement:    %d/%d = %.1f%%" % (ok_hist, n_hist, 100.0 * ok_hist / n_hist))
    for d in disagreements:
        print("  " + d)
    c_ok, c_n, h_ok, h_n = claimed(request.config.source_dir)
    assert (n_state, n_hist) == (c_n, h_n), "the corpus changed: update docs/zeek-mapping.md"
    assert ok_state >= c_ok and ok_hist >= h_ok, \
        "agreement below docs/zeek-mapping.md's claim:\n" + "\n".join(disagreements)
