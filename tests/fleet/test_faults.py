"""tcpstate-fleet on bad input and faults (ctest fleet.faults): a corrupt
or unreadable capture fails its own chain, with a clear message, and only
that chain; a rerun into the same OUT replaces results chain by chain and
never leaves half-written or stale files; the report refuses records that
are not the ones the manifest lists; OUT that is not ours, a second run
into one OUT, and a tshark without the plugin are refused before anything
is written."""

import fcntl
import json
import os
import shutil
import stat

import pytest

from conftest import chain_lines, manifest_of


@pytest.fixture(scope="module")
def small(env):
    """Two sensors: a ring set of three files, and two lone files."""
    root = env.tempdir("fleet-")
    whole = env.gen(os.path.join(env.tempdir("gen-"), "mix.pcap"), "--packets", 900,
                    "--connections", 45, "--seed", 5)
    ring = env.split(whole, os.path.join(root, "s1"), "ring", 300)
    for name in ("server_close", "client_close"):
        env.capture(os.path.join(env.samples, "kernel", name + ".pcap"),
                    os.path.join(root, "s2", name + ".pcap"))
    env.own(root)
    return {"root": root, "ring": ring}


def copy_fleet(env, src):
    dst = env.tempdir("fleet-")
    shutil.rmtree(dst)
    shutil.copytree(src, dst)
    env.own(dst)
    return dst


def out_dir(env):
    return os.path.join(env.tempdir("out-"), "out")


def test_corrupt_and_unreadable_captures(env, small):
    root = copy_fleet(env, small["root"])
    ring = sorted(os.listdir(os.path.join(root, "s1")))
    corrupt = os.path.join(root, "s1", ring[1])            # the middle of the ring set
    with open(corrupt, "r+b") as f:
        f.truncate(os.path.getsize(corrupt) - 7)            # cut in the middle of a packet
    unreadable = os.path.join(root, "s2", "server_close.pcap")
    os.chmod(unreadable, 0)         # the tool runs as its owner (nobody as root): no read
    garbage = os.path.join(root, "s3", "notapcap.pcap")
    os.makedirs(os.path.dirname(garbage))
    with open(garbage, "wb") as f:
        f.write(b"this is not a capture file\n" * 10)
    env.own(os.path.dirname(garbage))
    out = out_dir(env)
    proc = env.fleet("run", root, "--out", out, "--workers", 2, check=1)

    m = manifest_of(out)
    failed = {f["file"]: f for f in m["failures"]}
    assert sorted(failed) == sorted([corrupt, unreadable, garbage])
    assert "cut short in the middle of a packet" in failed[corrupt]["error"]
    # a read error exits 2 up to 4.4, 14 (WS_EXIT_READ_ERROR) from 4.6
    status = 14 if env.tshark.version >= (4, 6, 0) else 2
    assert "tshark exit status %d" % status in failed[corrupt]["error"]
    assert "cannot read" in failed[unreadable]["error"] and "Permission denied" in \
        failed[unreadable]["error"]
    assert "isn't a capture file" in failed[garbage]["error"]
    # The run lists the failed files, each with its message, on stderr.
    for path, fail in failed.items():
        assert ("tcpstate-fleet: FAILED %s/%s: %s" % (fail["sensor"], fail["chain"],
                                                      fail["error"])) in proc.stderr
    assert "1 chains ok, 3 failed" in proc.stderr
    # The failed chains wrote nothing; the others are complete and tshark's own.
    by = {c["output"]: c for c in m["chains"]}
    assert not os.path.exists(os.path.join(out, "records/s1/ring.jsonl"))
    assert not os.path.exists(os.path.join(out, "records/s2/server_close.jsonl"))
    ring_chain = by["records/s1/ring.jsonl"]
    assert [f["exit_status"] for f in ring_chain["files"]] == [0, status]   # stopped at the bad file
    assert ring_chain["files"][0]["records"] > 0
    _, last = env.records([os.path.join(root, "s2", "client_close.pcap")])
    got = [json.loads(l) for l in chain_lines(out, "records/s2/client_close.jsonl")]
    assert {r["uid"]: r for r in got} == last and got
    assert sorted(os.listdir(os.path.join(out, "records"))) == ["s2"]
    assert os.listdir(os.path.join(out, "records", "s2")) == ["client_close.jsonl"]
    # The report counts what completed, and says what it left out.
    rep = env.fleet("report", out, "closers", "--json", "--workers", 1, check=0)
    assert sum(r["connections"] for r in json.loads(rep.stdout)) == len(got)
    assert "3 chains failed in the run and are not counted" in rep.stderr


def test_rerun_replaces_chain_by_chain(env, small):
    root = copy_fleet(env, small["root"])
    out = out_dir(env)
    env.fleet("run", root, "--out", out, "--workers", 2, check=0)
    first = {c["output"]: chain_lines(out, c["output"]) for c in manifest_of(out)["chains"]}
    # A killed task's temporary file, an earlier run's chain that is gone now.
    leftover = os.path.join(out, "records", "s1", ".tcpstate-fleet-tmp-abc123")
    with open(leftover, "w") as f:
        f.write('{"uid": "half-writ')
    # The next run: one chain changes, one is gone, one fails, one is new.
    os.unlink(os.path.join(root, "s2", "client_close.pcap"))
    env.capture(os.path.join(env.samples, "crafted", "cookbook.pcap"),
                os.path.join(root, "s2", "server_close.pcap"))          # other content
    ring0 = os.path.join(root, "s1", sorted(os.listdir(os.path.join(root, "s1")))[0])
    with open(ring0, "r+b") as f:
        f.truncate(os.path.getsize(ring0) - 7)                             # the ring set fails
    env.capture(os.path.join(env.samples, "crafted", "interleaved.pcap"),
                os.path.join(root, "s3", "new.pcap"))
    env.own(root)
    proc = env.fleet("run", root, "--out", out, "--workers", 2, check=1)
    m = manifest_of(out)
    assert {c["output"]: c["status"] for c in m["chains"]} == {
        "records/s1/ring.jsonl": "failed", "records/s2/server_close.jsonl": "ok",
        "records/s3/new.jsonl": "ok"}
    files = sorted(os.path.relpath(os.path.join(d, f), out)
                   for d, _, fs in os.walk(os.path.join(out, "records")) for f in fs)
    assert files == ["records/s2/server_close.jsonl", "records/s3/new.jsonl"]
    _, cookbook = env.records([os.path.join(root, "s2", "server_close.pcap")])
    got = {json.loads(l)["uid"]: json.loads(l) for l in chain_lines(out, "records/s2/server_close.jsonl")}
    assert got == cookbook and chain_lines(out, "records/s2/server_close.jsonl") != \
        first["records/s2/server_close.jsonl"]
    assert not os.path.exists(os.path.join(out, "manifest.previous.json"))
    assert "FAILED s1/ring" in proc.stderr


def test_report_refuses_records_the_manifest_does_not_list(env, small):
    out = out_dir(env)
    env.fleet("run", small["root"], "--out", out, "--workers", 1, check=0)
    env.report(out, "closers")
    path = os.path.join(out, "records", "s2", "client_close.jsonl")
    with open(path, "a") as f:              # a record the run did not write
        f.write(chain_lines(out, "records/s2/client_close.jsonl")[0] + "\n")
    proc = env.fleet("report", out, "closers", "--workers", 1, check=1)
    assert "client_close.jsonl is not the file the manifest lists" in proc.stderr
    assert proc.stdout == ""
    # A run that did not finish: the previous manifest was set aside, no new one.
    os.rename(os.path.join(out, "manifest.json"), os.path.join(out, "manifest.previous.json"))
    proc = env.fleet("report", out, "closers", "--workers", 1, check=1)
    assert "the last run into it did not finish" in proc.stderr
    proc = env.fleet("report", os.path.dirname(out), "closers", check=1)
    assert "no manifest.json" in proc.stderr


def test_refused_before_anything_is_written(env, small):
    # OUT holds something else.
    foreign = env.tempdir("foreign-")
    with open(os.path.join(foreign, "thesis.tex"), "w") as f:
        f.write("x")
    proc = env.fleet("run", small["root"], "--out", foreign, check=2)
    assert "not empty and not a tcpstate-fleet output" in proc.stderr
    assert os.listdir(foreign) == ["thesis.tex"]
    # Another run holds OUT.
    out = out_dir(env)
    os.makedirs(out)
    env.own(out)
    with open(os.path.join(out, ".tcpstate-fleet.lock"), "w") as lock:
        env.own(out)                # the tool (nobody, as root) opens the same lock
        fcntl.flock(lock, fcntl.LOCK_EX)
        proc = env.fleet("run", small["root"], "--out", out, check=2)
    assert "another tcpstate-fleet run is writing it" in proc.stderr
    assert not os.path.exists(os.path.join(out, "manifest.json"))
    # A tshark without tcpstate: HOME without the plugin.
    wrapper = os.path.join(env.tempdir("bin-"), "tshark-without-plugin")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nHOME=%s exec tshark \"$@\"\n" % env.tempdir("emptyhome-"))
    os.chmod(wrapper, 0o755)
    out2 = out_dir(env)
    proc = env.fleet("run", small["root"], "--out", out2, "--tshark", wrapper, "--workers", 1,
                     check=2)
    assert "no tcpstate plugin" in proc.stderr or "-z tcpstate,records" in proc.stderr
    assert not os.path.exists(os.path.join(out2, "manifest.json"))
    proc = env.fleet("run", small["root"], "--out", out2, "--tshark", "/nonexistent/tshark",
                     "--workers", 1, check=2)
    assert "/nonexistent/tshark: not found" in proc.stderr
    # No captures; a capture with no sensor folder.
    proc = env.fleet("run", env.tempdir("empty-"), "--out", out2, check=2)
    assert "no captures under" in proc.stderr
    loose = env.tempdir("loose-")
    env.capture(os.path.join(env.samples, "kernel", "client_close.pcap"),
                os.path.join(loose, "client_close.pcap"))
    proc = env.fleet("run", loose, "--out", out2, check=2)
    assert "a capture directly in" in proc.stderr
    assert not os.path.exists(os.path.join(out2, "manifest.json"))
    assert stat.S_ISDIR(os.stat(env.work).st_mode)
