"""tcpstate-fleet run and report on the local in-process cluster, with the
plugin from the build tree (ctest fleet.local).

The records must be tshark's own: for a chain of one file, line for line
what `tshark -q -z tcpstate,records` prints for it; for a ring set, the
last record of each uid when tshark reads its files in order with one
state_dir.  The reports' counts must be those computed here, straight from
the JSONL files."""

import json
import os
import pty
import re
import subprocess

import pytest

from conftest import PYTHON, all_records, chain_lines, expected_closers, manifest_of
from fleets import CHAINS, make_fleet


@pytest.fixture(scope="module")
def fleet_dir(env):
    return make_fleet(env, env.tempdir("fleet-"))


@pytest.fixture(scope="module")
def run(env, fleet_dir):
    out = os.path.join(env.tempdir("out-"), "out")
    proc = env.fleet("run", fleet_dir["root"], "--out", out, "--workers", 2, check=0)
    return {"out": out, "proc": proc, "manifest": manifest_of(out)}


def chain_files(manifest, output):
    chain = next(c for c in manifest["chains"] if c["output"] == output)
    return [f["path"] for f in chain["files"]]


def test_chains_and_files(run, fleet_dir):
    m = run["manifest"]
    assert {c["output"]: len(c["files"]) for c in m["chains"]} == CHAINS
    assert [s["name"] for s in m["sensors"]] == ["edge1", "edge2", "edge3"]
    # Sequence numbers, not names' times or mtimes, order a ring set.
    names = [os.path.basename(p) for p in chain_files(m, "records/edge2/cap.jsonl")]
    assert [n.split("_")[1] for n in names] == ["00001", "00002", "00003"]
    names = [os.path.basename(p) for p in chain_files(m, "records/edge1/ring.jsonl")]
    assert [n.split("_")[1] for n in names] == ["%05d" % i for i in range(6)]
    assert [os.path.basename(p) for p in m["skipped"]] == ["notes.txt"]
    found = sorted(os.path.relpath(os.path.join(d, f), run["out"])
                   for d, _, fs in os.walk(os.path.join(run["out"], "records")) for f in fs)
    assert found == sorted(CHAINS)


def test_records_are_tshark_own(env, run):
    for chain in run["manifest"]["chains"]:
        files = [f["path"] for f in chain["files"]]
        per_file, last = env.records(files)
        got = chain_lines(run["out"], chain["output"])
        if len(files) == 1:
            assert got == per_file[0], chain["output"]
        got_recs = [json.loads(l) for l in got]
        assert len({r["uid"] for r in got_recs}) == len(got_recs), "a uid twice"
        assert {r["uid"]: r for r in got_recs} == last, chain["output"]
        assert chain["records"] == len(got) == len(last)
        assert [f["records"] for f in chain["files"]] == [len(l) for l in per_file]
        assert [f["exit_status"] for f in chain["files"]] == [0] * len(files)


def test_ring_set_spans_files(env, run):
    """The ring sets' connections cross file boundaries (state_dir is doing
    something): some records are superseded, and the chain's records carry
    connections from earlier files."""
    for output in ("records/edge1/ring.jsonl", "records/edge2/cap.jsonl"):
        chain = next(c for c in run["manifest"]["chains"] if c["output"] == output)
        printed = sum(f["records"] for f in chain["files"])
        assert printed > chain["records"], output
        recs = [json.loads(l) for l in chain_lines(run["out"], output)]
        assert any(r["tcpstate.carried"] for r in recs), output


def test_ring_set_equals_whole_capture(env, run, fleet_dir):
    """A ring set read as a chain says what tshark says of the capture it
    was cut from, but for what depends on the file (the stream index)."""
    for output, whole in fleet_dir["whole"].items():
        _, expected = env.records([whole])
        got = {json.loads(l)["uid"]: json.loads(l) for l in chain_lines(run["out"], output)}
        assert sorted(got) == sorted(expected), output
        differ = {}
        for uid, rec in got.items():
            for k, v in rec.items():
                if k not in ("tcpstate.stream", "tcpstate.carried") and expected[uid].get(k) != v:
                    differ.setdefault(k, []).append((uid, expected[uid].get(k), v))
        assert not differ, "%s: fields differ from the whole capture's: %s" % (
            output, {k: v[:3] for k, v in differ.items()})


def test_manifest(env, run):
    m = run["manifest"]
    assert m["format"] == "tcpstate-fleet manifest 1"
    assert m["failures"] == []
    assert m["scheduler"] == "local in-process cluster, 2 workers"
    version = "%d.%d.%d" % env.tshark.version
    assert m["workers"] and all(w["tshark"] == version and w["tcpstate"] and not w["error"]
                                for w in m["workers"].values())
    for chain in m["chains"]:
        assert chain["status"] == "ok" and chain["error"] is None
        for f in chain["files"]:
            st = os.stat(f["path"])
            assert (f["size"], f["mtime"]) == (st.st_size, st.st_mtime)
    assert "00004" not in json.dumps([c["warnings"] for c in m["chains"]])


def test_progress_lines(run):
    """Not a terminal: one plain line per chain, then the summary."""
    err = run["proc"].stderr.splitlines()
    lines = [l for l in err if re.match(r"tcpstate-fleet: chain \d+/7 ", l)]
    assert sorted(int(re.search(r"chain (\d+)/", l).group(1)) for l in lines) == list(range(1, 8))
    assert any(re.search(r"chain \d/7 edge1/ring: 6 files, \d+ records$", l) for l in lines)
    assert any(l.startswith("tcpstate-fleet: 3 sensors, 7 chains, 14 files: 7 chains ok, "
                            "0 failed") for l in err)
    assert "\r" not in run["proc"].stderr


def test_progress_bar_on_a_terminal(env, fleet_dir):
    out = os.path.join(env.tempdir("out-"), "out")
    master, slave = pty.openpty()
    os.chown(os.ttyname(slave), env.tshark.uid, env.tshark.gid) if env.tshark.root else None
    proc = subprocess.Popen(env.as_user([PYTHON, env.tool, "run", fleet_dir["root"], "--out", out,
                                         "--workers", "2"]),
                            env=env.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=slave, cwd=env.work)
    os.close(slave)
    data = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:          # EIO: the other end closed
            break
        if not chunk:
            break
        data += chunk
    os.close(master)
    assert proc.wait(timeout=240) == 0
    text = data.decode()
    assert re.search(r"\r\[#+\.*\] \d/7 chains", text), text[-500:]
    assert "\r[" + "#" * 30 + "] 7/7 chains" in text
    assert "tcpstate-fleet: chain 1/7" not in text


def test_closers(env, run):
    """closers --json: one object per server, the counts as the rule says,
    and they partition the server's connections."""
    got = env.report(run["out"], "closers")
    expected = expected_closers(all_records(run["out"]))
    assert {r["server"]: r for r in got} == expected
    assert len(got) == len(expected)
    for r in got:
        assert r["connections"] == sum(r[k] for k in ("server_closed", "client_closed",
                                                      "simultaneous", "reset", "refused",
                                                      "not_closed"))
        assert r["server"] == ("[%s]:%s" if ":" in r["server"].rsplit(":", 1)[0] else "%s:%s") \
            % (r["server"].rsplit(":", 1)[0].strip("[]"), r["server"].rsplit(":", 1)[1])
    assert [r["server_closed"] for r in got] == sorted((r["server_closed"] for r in got),
                                                      reverse=True)
    # Which servers closed first: the kernel captures' answers.
    by = {r["server"]: r for r in got}
    assert by["10.99.0.2:5002"]["server_closed"] == 1      # kernel/server_close.pcap
    assert by["10.99.0.2:5001"]["client_closed"] == 1      # kernel/client_close.pcap
    assert any(r["server"].startswith("[") for r in got)   # IPv6 servers, bracketed
    recs = all_records(run["out"])
    # Where Zeek's responder is tcpstate's server, "server" is "<id.resp_h>:<id.resp_p>".
    same = [r for r in recs if r["tcpstate.client"].rsplit(":", 1)[0].strip("[]") == r["id.orig_h"]
            and r["tcpstate.server"].rsplit(":", 1)[1] == str(r["id.resp_p"])]
    assert same and all(r["tcpstate.server"] == ("[%s]:%d" if ":" in r["id.resp_h"] else "%s:%d")
                        % (r["id.resp_h"], r["id.resp_p"]) for r in same)


def test_closers_table(env, run):
    got = {r["server"]: r for r in env.report(run["out"], "closers")}
    table = env.fleet("report", run["out"], "closers", check=0).stdout.splitlines()
    head = table[0].split()
    assert head == ["server", "connections", "server_closed", "client_closed", "simultaneous",
                    "reset", "refused", "not_closed"]
    rows = [l.split() for l in table[1:]]
    assert len(rows) == len(got)
    for cells in rows:
        assert got[cells[0]] == dict(zip(head, [cells[0]] + [int(c) for c in cells[1:]]))


def test_outcomes(env, run):
    got = env.report(run["out"], "outcomes")
    recs = all_records(run["out"])
    expected = {}
    for r in recs:
        row = expected.setdefault(r["tcpstate.server"], {"connections": 0})
        row["connections"] += 1
        row[r["tcpstate.outcome"]] = row.get(r["tcpstate.outcome"], 0) + 1
    assert len(got) == len(expected)
    classes = set()
    for row in got:
        exp = expected[row["server"]]
        assert {k: v for k, v in row.items() if k != "server" and v} == exp
        classes |= {k for k, v in row.items() if v and k not in ("server", "connections")}
    # The tcpgen mix has every class.
    assert {"complete", "reset_by_client", "reset_by_server", "no_answer", "open",
            "midstream"} <= classes


def test_floods(env, run):
    got = env.report(run["out"], "floods")
    recs = all_records(run["out"])
    expected = {}
    for r in recs:
        if r["tcpstate.outcome"] in ("half_open", "no_answer"):
            e = expected.setdefault(r["tcpstate.server"], {"half_open": 0, "no_answer": 0,
                                                           "clients": set()})
            e[r["tcpstate.outcome"]] += 1
            e["clients"].add(r["tcpstate.client"].rsplit(":", 1)[0].strip("[]"))
    assert expected
    assert {r["server"]: (r["half_open"], r["no_answer"], r["clients"]) for r in got} == {
        s: (e["half_open"], e["no_answer"], len(e["clients"])) for s, e in expected.items()}
    for r in got:
        assert r["half_open_total"] == r["half_open"] + r["no_answer"]
        assert r["connections"] == sum(1 for x in recs if x["tcpstate.server"] == r["server"])
    big = max(r["half_open_total"] for r in got)
    assert env.report(run["out"], "floods", "--min", big) == [r for r in got
                                                              if r["half_open_total"] >= big]


def test_leaks(env, run):
    recs = all_records(run["out"])
    stays = sorted(max(r["tcpstate.close_wait_s"], r["tcpstate.fin_wait2_s"]) for r in recs)
    threshold = [s for s in stays if s > 0][0]      # above the shortest stay: not all, not none
    got = env.report(run["out"], "leaks", "--threshold", threshold)
    expected = {r["uid"] for r in recs
                if r["tcpstate.close_wait_s"] > threshold or r["tcpstate.fin_wait2_s"] > threshold}
    assert expected and len(expected) < len([s for s in stays if s > 0]) + 1
    assert sorted(r["uid"] for r in got) == sorted(expected)
    for row in got:
        rec = next(r for r in recs if r["uid"] == row["uid"])
        assert row["server"] == rec["tcpstate.server"] and row["client"] == rec["tcpstate.client"]
        assert (row["close_wait_s"], row["fin_wait2_s"]) == (rec["tcpstate.close_wait_s"],
                                                             rec["tcpstate.fin_wait2_s"])
        assert row["states"] == ",".join(
            n for n, k in (("CLOSE_WAIT", "tcpstate.close_wait_s"),
                           ("FIN_WAIT2", "tcpstate.fin_wait2_s")) if rec[k] > threshold)
        assert (row["sensor"], row["chain"]) == (rec["_sensor"], rec["_chain"])
    assert env.report(run["out"], "leaks", "--threshold", stays[-1]) == []
