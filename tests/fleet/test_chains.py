"""tcpstate-fleet without tshark or Dask (ctest fleet.chains): how captures
become sensors and chains, the order of a chain's files, how records are
taken from tshark's output, the atomic write, the closers rule."""

import json
import os

import pytest

import fleet_tool

fleet = fleet_tool.load()


def touch(path, data=b"x", mtime=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


@pytest.mark.parametrize("name, member", [
    ("ring_00001_20250101120000.pcapng", ("ring", 1)),          # dumpcap -b
    ("ring_00000_20231114221320.pcap", ("ring", 0)),            # editcap -c (from 0)
    ("a_b_123456_20250101120000.pcapng.gz", ("a_b", 123456)),  # past 99999, compressed
    ("ring_20250101120000_00007.pcapng", ("ring", 7)),          # -b nametimenum:2
    ("ring_00001_20250101120000", ("ring", 1)),                 # -w ring: no extension
    ("ring_0001_20250101120000.pcapng", None),                  # 4 digits: not a file set
    ("ring_00001_2025010112000.pcapng", None),                  # 13-digit time
    ("ring_00001_20250101120000.txt", None),                    # not a capture extension
    ("capture.pcapng", None),
])
def test_ring_member(name, member):
    assert fleet.ring_member(name) == member


def test_capture_stem():
    assert fleet.capture_stem("a.pcap") == "a"
    assert fleet.capture_stem("a.PCAPNG") == "a"
    assert fleet.capture_stem("a.cap.gz") == "a"
    assert fleet.capture_stem("a.txt") is None
    assert fleet.capture_stem(".pcap") is None


def test_sensors_and_chains(tmp_path):
    root = tmp_path / "fleet"
    # The mtimes run against the sequence numbers: the order must not follow them.
    for i, n in enumerate((3, 1, 2, 10)):
        touch(str(root / "edge1" / ("ring_%05d_20250101120000.pcapng" % n)), mtime=1000 + i)
    touch(str(root / "edge1" / "lone.pcap"))
    touch(str(root / "edge1" / "eth1" / "ring_00002_20250101120500.pcap"))
    touch(str(root / "edge1" / "eth1" / "ring_00001_20250101120000.pcap"))
    touch(str(root / "edge1" / "notes.txt"))
    touch(str(root / "edge1" / ".hidden.pcap"))
    touch(str(root / "edge2" / "x.pcapng.gz"))
    touch(str(root / ".snapshot" / "y.pcap"))
    touch(str(root / "README"))
    found = fleet.discover([str(root)])
    assert [s["name"] for s in found["sensors"]] == ["edge1", "edge2"]
    chains = {(c["sensor"], c["name"]): c for s in found["sensors"] for c in s["chains"]}
    assert sorted(chains) == [("edge1", "eth1/ring"), ("edge1", "lone"), ("edge1", "ring"),
                              ("edge2", "x")]
    ring = chains[("edge1", "ring")]
    assert [os.path.basename(p) for p in ring["files"]] == [
        "ring_00001_20250101120000.pcapng", "ring_00002_20250101120000.pcapng",
        "ring_00003_20250101120000.pcapng", "ring_00010_20250101120000.pcapng"]
    assert ring["output"] == "records/edge1/ring.jsonl"
    assert ring["warnings"] and "00004" in ring["warnings"][0] and "00009" in ring["warnings"][0]
    assert [os.path.basename(p) for p in chains[("edge1", "eth1/ring")]["files"]] == [
        "ring_00001_20250101120000.pcap", "ring_00002_20250101120500.pcap"]
    assert chains[("edge1", "eth1/ring")]["output"] == "records/edge1/eth1/ring.jsonl"
    assert chains[("edge1", "eth1/ring")]["warnings"] == []
    assert chains[("edge1", "lone")]["files"] == [str(root / "edge1" / "lone.pcap")]
    assert sorted(os.path.basename(p) for p in found["skipped"]) == ["README", "notes.txt"]


@pytest.mark.parametrize("files, message", [
    (["top.pcap"], "directly in"),
    (["s/ring_00001_20250101120000.pcap", "s/ring_00001_20250102120000.pcap"],
     "same sequence number"),
    (["s/ring.pcap", "s/ring_00001_20250101120000.pcap"], "are all chain 'ring'"),
    (["s/a.pcap", "s/a.pcapng"], "are all chain 'a'"),
])
def test_layouts_without_one_answer(tmp_path, files, message):
    for f in files:
        touch(str(tmp_path / f))
    with pytest.raises(fleet.UsageError, match=message):
        fleet.discover([str(tmp_path)])


def test_sensor_in_two_dirs(tmp_path):
    touch(str(tmp_path / "a" / "s1" / "x.pcap"))
    touch(str(tmp_path / "b" / "s1" / "y.pcap"))
    with pytest.raises(fleet.UsageError, match="sensor 's1' is in both"):
        fleet.discover([str(tmp_path / "a"), str(tmp_path / "b")])


def test_parse_records():
    a = '{"uid": "C1", "tcpstate.schema": "1.0", "x": 1}'
    b = '{"uid": "C2", "tcpstate.schema": "1.3"}'
    assert fleet.parse_records(a + "\n\n" + b + "\n", "f") == [("C1", a), ("C2", b)]
    for bad in (a + '\nnot json\n', '{"nouid": 1}\n', '[1]\n', '{"uid": 5}\n'):
        with pytest.raises(ValueError, match="line"):
            fleet.parse_records(bad, "f")
    for bad in ('{"uid": "C1"}\n', '{"uid": "C1", "tcpstate.schema": "2.0"}\n'):
        with pytest.raises(ValueError, match="this tool reads schema 1.x"):
            fleet.parse_records(bad, "f")


def test_write_atomically(tmp_path, monkeypatch):
    path = str(tmp_path / "r" / "c.jsonl")
    fleet.write_atomically(path, ["a\n", "b\n"])
    assert open(path).read() == "a\nb\n"

    def broken(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(OSError):
        fleet.write_atomically(path, ["new\n"])
    assert open(path).read() == "a\nb\n"            # the old file, whole
    assert os.listdir(str(tmp_path / "r")) == ["c.jsonl"]   # no temporary left


def rec(**kw):
    base = {"uid": "C", "id.orig_h": "10.0.0.1", "id.orig_p": 1, "id.resp_h": "10.0.0.2",
            "id.resp_p": 80, "tcpstate.client": "10.0.0.1:1", "tcpstate.server": "10.0.0.2:80",
            "tcpstate.outcome": "complete", "tcpstate.closer": "server",
            "tcpstate.close_style": "four_segment"}
    base.update({k.replace("__", "."): v for k, v in kw.items()})
    return base


@pytest.mark.parametrize("fields, cls", [
    ({}, "server_closed"),
    ({"tcpstate__closer": "client"}, "client_closed"),
    ({"tcpstate__closer": "both", "tcpstate__close_style": "simultaneous"}, "simultaneous"),
    ({"tcpstate__close_style": "rst_by_client", "tcpstate__outcome": "reset_by_client"}, "reset"),
    # The server's FIN first, then the client's RST: a reset, not a server close.
    ({"tcpstate__close_style": "rst_by_client", "tcpstate__outcome": "reset_by_client",
      "tcpstate__closer": "server"}, "reset"),
    ({"tcpstate__close_style": "rst_by_server", "tcpstate__outcome": "refused"}, "refused"),
    ({"tcpstate__closer": "none", "tcpstate__close_style": "none",
      "tcpstate__outcome": "open"}, "not_closed"),
    ({"tcpstate__close_style": "none", "tcpstate__outcome": "half_closed"}, "server_closed"),
])
def test_close_class(fields, cls):
    assert fleet.close_class(rec(**fields)) == cls


def test_endpoints():
    assert fleet.server_of(rec()) == "10.0.0.2:80"
    assert fleet.host_of("10.0.0.2:80") == "10.0.0.2"
    assert fleet.host_of("[2001:db8::1]:443") == "2001:db8::1"


def test_missing_field_is_a_clear_error():
    r = rec()
    del r["tcpstate.closer"]
    with pytest.raises(fleet.RecordError, match="lacks 'tcpstate.closer'"):
        fleet.close_class(r)


def test_print_table(capsys):
    import io
    s = io.StringIO()
    fleet.print_table([{"server": "a:1", "n": 5}, {"server": "bb:22", "n": 10}], ["server", "n"], s)
    assert s.getvalue().splitlines() == ["server   n", "a:1      5", "bb:22   10"]
    s = io.StringIO()
    fleet.print_table([], ["server"], s)
    assert s.getvalue() == "(none)\n"
    json.dumps(fleet.MANIFEST_FORMAT)
