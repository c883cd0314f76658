"""-z tcpstate,records (docs/records.md): every record validates against
docs/records.schema.json, and agrees with the Connections table
(-z tcpstate,conns) of the same run, on every sample capture, on the public
corpus (skipped if absent) and on a tcpgen capture of the benchmark's mix."""

import json
import os
import subprocess

import pytest

import expectations
import records_schema

SCHEMA_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "docs", "records.schema.json")

# The Connections table's columns (stats.c), in order.
CONN_COLUMNS = ["stream", "client", "server", "start", "duration", "outcome", "closer", "style",
                "client_state", "server_state", "zeek", "history", "syn_synack", "synack_ack",
                "handshake", "segs_cs", "segs_sc", "bytes_cs", "bytes_sc", "illegal",
                "warnings", "close_wait", "fin_wait2"]


@pytest.fixture(scope="module")
def schema():
    return records_schema.load(SCHEMA_PATH)


def conns_table(text):
    """{stream: {column: text}} from -z tcpstate,conns output."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) == len(CONN_COLUMNS) + 1 and cells[0].isdigit():
            rows[int(cells[0])] = dict(zip(CONN_COLUMNS, cells))
    return rows


def run(tshark, capture, extra=(), zfilter=""):
    """(records, conns rows, {stream: [(frame number, TCP layers)]}, first
    frame time) of one run with both statistics; a frame's TCP layers count
    the TCP headers it holds (an sFlow sample holds several)."""
    suffix = "," + zfilter if zfilter else ""
    proc = tshark.run(list(extra) + ["-T", "fields", "-e", "frame.number", "-e", "tcpstate.stream",
                                     "-e", "frame.time_epoch",
                                     "-e", "frame.protocols", "-e", "tcpstate.icmp_quoted",
                                     "-z", "tcpstate,records" + suffix,
                                     "-z", "tcpstate,conns" + suffix], capture=capture)
    records = records_schema.parse_lines(proc.stdout)
    frames, t0 = {}, None
    for line in proc.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == 5 and parts[0].isdigit():
            if t0 is None:
                t0 = float(parts[2])
            if parts[1] and not parts[4]:      # a segment, not a quoted header
                frames.setdefault(int(parts[1]), []).append(
                    (int(parts[0]), parts[3].split(":").count("tcp")))
    return records, conns_table(proc.stdout), frames, t0


def endpoint(host, port):
    return ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)


def near(a, b, tol):
    return abs(a - b) <= tol


def agree(records, rows, frames, t0):
    """The ways records and the Connections table disagree ([] if none)."""
    bad = []
    by_stream = {r["tcpstate.stream"]: r for r in records}
    if sorted(by_stream) != sorted(rows):
        return ["streams: records %s, table %s" % (sorted(by_stream), sorted(rows))]
    if len({r["uid"] for r in records}) != len(records):
        bad.append("uids are not unique")
    for s, row in rows.items():
        r = by_stream[s]
        # The table takes Client and Server from the packet's addresses, which
        # in a frame holding several TCP headers (sFlow samples) are the last
        # one's; the record's are the segment's own (TCP's tap header).
        several = frames[s][0][1] > 1
        if not several and (r["tcpstate.client"], r["tcpstate.server"]) != \
                (row["client"], row["server"]):
            bad.append("stream %d: client, server %s, %s; the table says %s, %s" % (
                s, r["tcpstate.client"], r["tcpstate.server"], row["client"], row["server"]))
        if endpoint(r["id.orig_h"], r["id.orig_p"]) == r["tcpstate.client"]:
            orig_is_client = True
        elif endpoint(r["id.resp_h"], r["id.resp_p"]) == r["tcpstate.client"]:
            orig_is_client = False
        else:
            bad.append("stream %d: neither Zeek endpoint is the client %s" % (
                s, r["tcpstate.client"]))
            continue
        cs, sc = ("orig", "resp") if orig_is_client else ("resp", "orig")
        want = {
            "tcpstate.outcome": row["outcome"], "tcpstate.closer": row["closer"],
            "tcpstate.close_style": row["style"], "tcpstate.client_state": row["client_state"],
            "tcpstate.server_state": row["server_state"], "conn_state": row["zeek"],
            "history": row["history"], cs + "_pkts": int(row["segs_cs"]),
            sc + "_pkts": int(row["segs_sc"]), cs + "_bytes": int(row["bytes_cs"]),
            sc + "_bytes": int(row["bytes_sc"]), "tcpstate.illegal": int(row["illegal"]),
            "tcpstate.warnings": int(row["warnings"]),
            "tcpstate.first_frame": frames[s][0][0], "tcpstate.last_frame": frames[s][-1][0],
        }
        for k, v in want.items():
            if r[k] != v:
                bad.append("stream %d: %s is %r, the table says %r" % (s, k, r[k], v))
        # numbers the table prints with fewer decimals (or in single precision)
        if not near(r["tcpstate.close_wait_s"], float(row["close_wait"]), 0.0005 + 1e-9):
            bad.append("stream %d: close_wait_s %r vs %s" % (s, r["tcpstate.close_wait_s"],
                                                           row["close_wait"]))
        if not near(r["tcpstate.fin_wait2_s"], float(row["fin_wait2"]), 0.0005 + 1e-9):
            bad.append("stream %d: fin_wait2_s %r vs %s" % (s, r["tcpstate.fin_wait2_s"],
                                                          row["fin_wait2"]))
        hs = float(row["handshake"])
        if (r["tcpstate.handshake_ms"] is None) != (hs < 0) or \
                (hs >= 0 and not near(r["tcpstate.handshake_ms"], hs, 0.0015)):
            bad.append("stream %d: handshake_ms %r vs %s" % (s, r["tcpstate.handshake_ms"], hs))
        d = float(row["duration"])
        if not near(r["duration"], d, 2e-6 + 1e-7 * d):
            bad.append("stream %d: duration %r vs %s" % (s, r["duration"], row["duration"]))
        if not near(r["ts"] - t0, float(row["start"]), 2e-6):
            bad.append("stream %d: ts - first frame %r vs start %s" % (s, r["ts"] - t0,
                                                                       row["start"]))
        if r["tcpstate.open"] != (row["client_state"] not in ("CLOSED", "TIME_WAIT", "LISTEN") or
                                  row["server_state"] not in ("CLOSED", "TIME_WAIT", "LISTEN")):
            bad.append("stream %d: open is %r with states %s, %s" % (
                s, r["tcpstate.open"], row["client_state"], row["server_state"]))
        if r["tcpstate.carried"] or r["tcpstate.roles_guessed"] != (row["outcome"] == "midstream"):
            bad.append("stream %d: carried %r, roles_guessed %r (outcome %s)" % (
                s, r["tcpstate.carried"], r["tcpstate.roles_guessed"], row["outcome"]))
    return bad


def check_capture(tshark, schema, capture, extra=()):
    records, rows, frames, t0 = run(tshark, capture, extra)
    invalid = [e for r in records for e in records_schema.errors(schema, r)]
    assert not invalid, "\n".join(invalid[:20])
    records_schema.check_with_jsonschema(schema, records)
    bad = agree(records, rows, frames, t0)
    assert not bad, "\n".join(bad[:20])
    return records


# ---- the schema is the plugin's ------------------------------------------------------

def test_schema_enums_are_the_plugins_names(schema, labels):
    props = schema["properties"]
    assert sorted(props["tcpstate.outcome"]["enum"]) == \
        sorted(labels["tcpstate.conn.outcome"].values())
    assert sorted(props["tcpstate.close_style"]["enum"]) == \
        sorted(labels["tcpstate.conn.close_style"].values())
    assert sorted(props["tcpstate.closer"]["enum"]) == \
        sorted(labels["tcpstate.conn.close_initiator"].values())
    for role in ("client", "server"):
        assert sorted(props["tcpstate.%s_state" % role]["enum"]) == \
            sorted(labels["tcpstate.%s.state" % role].values())
    assert schema["required"] == list(props)


def test_schema_validator_catches_what_it_should(schema):
    """The small validator fails what it must (every test below relies on it)."""
    good = {"ts": 1.5, "uid": "C" + "a" * 17, "id.orig_h": "10.0.0.1", "id.orig_p": 1,
            "id.resp_h": "10.0.0.2", "id.resp_p": 2, "proto": "tcp", "duration": 0.0,
            "orig_bytes": 0, "resp_bytes": 0, "conn_state": "SF", "history": "ShAF",
            "orig_pkts": 1, "resp_pkts": 1, "tcpstate.schema": "1.0", "tcpstate.stream": None,
            "tcpstate.client": "a", "tcpstate.server": "b", "tcpstate.outcome": "complete",
            "tcpstate.closer": "none", "tcpstate.close_style": "none",
            "tcpstate.client_state": "CLOSED", "tcpstate.server_state": "LISTEN",
            "tcpstate.roles_guessed": False, "tcpstate.open": False, "tcpstate.carried": False,
            "tcpstate.handshake_ms": None, "tcpstate.close_wait_s": 0, "tcpstate.fin_wait2_s": 0,
            "tcpstate.illegal": 0, "tcpstate.warnings": 0, "tcpstate.first_frame": 1,
            "tcpstate.last_frame": 1}
    assert records_schema.errors(schema, good) == []
    for key, value in [("uid", "Cshort"), ("id.orig_p", 70000), ("id.orig_p", True),
                       ("proto", "udp"), ("conn_state", "XX"), ("history", "S!"),
                       ("tcpstate.stream", -1), ("tcpstate.stream", "1"),
                       ("tcpstate.outcome", "fine"), ("tcpstate.open", 1),
                       ("tcpstate.first_frame", 0), ("ts", "1.5")]:
        bad = dict(good)
        bad[key] = value
        assert records_schema.errors(schema, bad), "%s = %r passed" % (key, value)
    extra = dict(good, surprise=1)
    assert records_schema.errors(schema, extra)
    missing = dict(good)
    del missing["uid"]
    assert records_schema.errors(schema, missing)


# ---- the sample captures, the corpus, a tcpgen capture --------------------------------

def pytest_generate_tests(metafunc):
    if "sample" in metafunc.fixturenames:
        top = metafunc.config.samples
        paths = expectations.captures(top)
        metafunc.parametrize("sample", paths, ids=[os.path.relpath(p, top) for p in paths])
    if "trace" in metafunc.fixturenames:
        corpus = metafunc.config.corpus
        paths = expectations.captures(corpus) if os.path.isdir(corpus) else []
        metafunc.parametrize("trace", paths or [None],
                             ids=[os.path.relpath(p, corpus) for p in paths] or ["absent"])


def test_sample_capture(tshark, schema, sample):
    records = check_capture(tshark, schema, sample)
    assert records, "no records"


EXTRA = {"tunnels_Teredo.pcap": ["-d", "udp.port==32900,teredo"]}


def test_corpus(tshark, schema, trace, request):
    if trace is None:
        pytest.skip("no corpus at %s (set TCPSTATE_CORPUS)" % request.config.corpus)
    check_capture(tshark, schema, trace, EXTRA.get(os.path.basename(trace), []))


def test_benchmark_mix(tshark, schema, tmp_path):
    tcpgen = os.environ.get("TCPSTATE_TCPGEN")
    if not tcpgen:
        pytest.skip("TCPSTATE_TCPGEN not set (ctest sets it)")
    cap = str(tmp_path / "mix.pcap")
    subprocess.run([tcpgen, "--packets", "50000", "--connections", "5000", "--seed", "3",
                    "-o", cap], check=True, capture_output=True)
    records = check_capture(tshark, schema, cap)
    assert len(records) == 5000


def test_filter(tshark, schema, samples):
    """With a filter, a connection is listed if a segment passes it, as in
    the table, whose counts under the filter the records repeat."""
    cap = os.path.join(samples, "crafted", "interleaved.pcap")
    everything, _, _, _ = run(tshark, cap)
    records, rows, frames, t0 = run(tshark, cap, zfilter="tcp.flags.reset == 1")
    assert 0 < len(records) < len(everything)
    assert sorted(r["tcpstate.stream"] for r in records) == sorted(rows)
    assert not [e for r in records for e in records_schema.errors(schema, r)]
    for r in records:
        row = rows[r["tcpstate.stream"]]
        assert r["tcpstate.outcome"] == row["outcome"]
        assert r["tcpstate.warnings"] == int(row["warnings"])


def test_bad_argument(tshark, samples):
    proc = tshark.run(["-q", "-z", "tcpstate,recordsX"],
                      capture=os.path.join(samples, "kernel", "refused.pcap"), check=False)
    assert proc.returncode != 0
    assert "tcpstate,records" in proc.stderr


def test_records_leave_other_outputs_alone(tshark, samples):
    """Adding -z tcpstate,records changes nothing else in the output."""
    cap = os.path.join(samples, "crafted", "interleaved.pcap")
    plain = tshark.run(["-q", "-z", "tcpstate,conns"], capture=cap).stdout
    assert "{" not in plain
    both = tshark.run(["-q", "-z", "tcpstate,conns", "-z", "tcpstate,records"], capture=cap).stdout
    assert [l for l in both.splitlines() if not l.startswith("{")] == plain.splitlines()
    assert json.loads([l for l in both.splitlines() if l.startswith("{")][0])["uid"]
