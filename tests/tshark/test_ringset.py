"""Ring-set continuity (tcpstate.state_dir, docs/ring-buffers.md): captures
cut into ring sets with editcap -c, read one file after the other with one
state folder, give every packet the tcpstate fields of one run over the
whole capture, and records that, the latest of each uid kept, equal the
whole run's.  Compared: every tcpstate field of a segment (states, steps,
sender, closer, mid-stream, the expert infos, the connection summary so
far) but tcpstate.stream, which is tcp.stream and numbered per file, and
tcpstate.conn.carried; in records, all but tcpstate.stream and
tcpstate.carried.  Then faults: corrupt, truncated, foreign, other-version
and leftover state files, missing and unwritable folders, a gap, two sets
in one folder."""

import concurrent.futures
import glob
import hashlib
import json
import os
import shutil
import subprocess
import tempfile

import pytest

import records_schema

SEGMENT_FIELDS = ["tcpstate.sender", "tcpstate.client.state", "tcpstate.server.state",
                  "tcpstate.client.prev", "tcpstate.server.prev", "tcpstate.handshake",
                  "tcpstate.teardown", "tcpstate.closer", "tcpstate.midstream",
                  "tcpstate.illegal", "tcpstate.icmp_quoted"]
CONN_FIELDS = ["tcpstate.conn.outcome", "tcpstate.conn.close_initiator",
               "tcpstate.conn.close_style", "tcpstate.conn.zeek_state", "tcpstate.conn.history",
               "tcpstate.conn.zeek_index", "tcpstate.conn.duration"]
RECORD_PER_FILE = {"tcpstate.stream", "tcpstate.carried"}
TRUE = ("1", "True")    # -T fields prints a boolean as 1 up to 4.0, True from 4.2


@pytest.fixture(scope="module")
def fields(request):
    anomalies = [a[0] for a in request.config.anomalies]
    return ["tcpstate.stream", "tcpstate.conn.carried"] + SEGMENT_FIELDS + anomalies + CONN_FIELDS


class Ring:
    """Pieces of captures and state folders the tshark user can use."""

    def __init__(self, tshark, fields, tmp):
        self.tshark = tshark
        self.fields = fields
        self.tmp = tmp

    def folder(self, name=None):
        path = tempfile.mkdtemp(prefix="state-%s-" % (name or "x"), dir=self.tshark.home)
        os.chmod(path, 0o755)
        if self.tshark.root:
            os.chown(path, self.tshark.uid, self.tshark.gid)
        return path

    def cut(self, capture, count, name=None):
        """editcap -c count: the ring set's files, in order."""
        d = tempfile.mkdtemp(prefix="set-", dir=self.tmp)
        subprocess.run(["editcap", "-c", str(count), capture,
                        os.path.join(d, (name or "ring") + ".pcap")],
                       check=True, capture_output=True)
        return sorted(glob.glob(os.path.join(d, "*")))

    def run(self, capture, state=None, extra=()):
        """(field rows without frame.number, records, stderr) of one file."""
        args = list(extra)
        if state:
            args += ["-o", "tcpstate.state_dir:" + state]
        args += ["-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"]
        for f in self.fields:
            args += ["-e", f]
        args += ["-z", "tcpstate,records"]
        proc = self.tshark.run(args, capture=capture)
        lines = proc.stdout.splitlines()
        records = records_schema.parse_lines(proc.stdout)
        rows = [l.split("\t") for l in lines if not l.startswith("{") and "\t" in l]
        return rows, records, proc.stderr

    def pieces(self, files, state, extra=()):
        """Every file of a set in order: (rows, records by uid, superseded, stderr)."""
        rows, latest, err = [], {}, []
        for f in files:
            r, recs, e = self.run(f, state, extra)
            rows += r
            err.append(e)
            for rec in recs:
                latest[rec["uid"]] = rec
        return rows, latest, err


@pytest.fixture
def ring(tshark, fields, tmp_path):
    return Ring(tshark, fields, str(tmp_path))


def compare_rows(whole, pieces):
    """Differences of the compared fields, frame by frame ([] if none).
    Column 0 is tcpstate.stream, column 1 tcpstate.conn.carried."""
    if len(whole) != len(pieces):
        return ["%d frames in the whole run, %d in the pieces" % (len(whole), len(pieces))]
    return ["frame %d:\n  whole  %s\n  pieces %s" % (i + 1, w[2:], p[2:])
            for i, (w, p) in enumerate(zip(whole, pieces)) if w[2:] != p[2:]]


def compare_records(whole, pieces):
    out = []
    if sorted(whole) != sorted(pieces):
        out.append("uids: %d only in the whole run, %d only in the pieces" % (
            len(set(whole) - set(pieces)), len(set(pieces) - set(whole))))
    for uid in sorted(set(whole) & set(pieces)):
        d = {k: (whole[uid][k], pieces[uid].get(k)) for k in whole[uid]
             if k not in RECORD_PER_FILE and whole[uid][k] != pieces[uid].get(k)}
        if d:
            out.append("%s: %s" % (uid, d))
    return out


def assert_continuous(ring, capture, count, extra=(), folder=None):
    """The set of `capture` cut every `count` frames, read in order, is the
    whole capture; returns (files, state folder, rows of the pieces)."""
    whole_rows, whole_recs, err = ring.run(capture, extra=extra)
    assert "tcpstate" not in err, err
    whole = {r["uid"]: r for r in whole_recs}
    assert len(whole) == len(whole_recs), "uids are not unique in the whole run"
    files = ring.cut(capture, count)
    state = folder or ring.folder()
    rows, latest, errs = ring.pieces(files, state, extra)
    bad = compare_rows(whole_rows, rows)
    assert not bad, "\n".join(bad[:10])
    bad = compare_records(whole, latest)
    assert not bad, "\n".join(bad[:10])
    for e in errs:
        assert "tcpstate" not in e, e
    return files, state, rows


# ---- sets equal the whole capture --------------------------------------------------------

def tcpgen(tmp_path, packets, connections, seed, name="mix.pcap"):
    exe = os.environ.get("TCPSTATE_TCPGEN")
    if not exe:
        pytest.skip("TCPSTATE_TCPGEN not set (ctest sets it)")
    cap = str(tmp_path / name)
    subprocess.run([exe, "--packets", str(packets), "--connections", str(connections),
                    "--seed", str(seed), "-o", cap], check=True, capture_output=True)
    return cap


def test_tcpgen_set(ring, tmp_path):
    """30,000 packets, 3,000 connections, ten files; without a state folder
    the connections that cross a boundary fall apart."""
    cap = tcpgen(tmp_path, 30000, 3000, 11)
    files, state, rows = assert_continuous(ring, cap, 3000)
    assert len(files) == 10
    carried = sum(1 for r in rows if r[1] in TRUE)
    assert carried > 1000, "only %d segments of carried connections" % carried
    snapshots = [n for n in os.listdir(state) if n.endswith(".tcpstate")]
    assert len(snapshots) == 10
    # The same files without continuity: fragments and guessed roles.
    fragments = {}
    for f in files:
        for rec in ring.run(f)[1]:
            fragments[rec["uid"]] = rec
    assert len(fragments) > 3000 + 100
    assert sum(r["tcpstate.roles_guessed"] for r in fragments.values()) > \
        sum(r["tcpstate.roles_guessed"] for r in ring.run(cap)[1]) + 100


def kernel_captures(samples):
    return sorted(glob.glob(os.path.join(samples, "kernel", "*.pcap")))


def test_kernel_every_boundary(ring, samples):
    """Each kernel capture cut after every frame (the SYN flood: every 50).
    The captures are independent sets: they run side by side."""
    caps = kernel_captures(samples)
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for cap, fut in [(c, pool.submit(assert_continuous, ring, c,
                                         50 if "syn_flood" in c else 1)) for c in caps]:
            try:
                fut.result()
            except AssertionError as e:
                raise AssertionError("%s: %s" % (os.path.basename(cap), e)) from None


# The crafted captures where a 4-tuple is reused or Wireshark 4.2+ splits a
# stream (docs/compat.md), and mid-stream and interleaved connections.
CRAFTED = ["port_reuse", "midstream", "interleaved", "equal_ports",
           "scenario-fin_in_crossed_open", "scenario-fin_in_syn_sent",
           "scenario-rst_in_syn_sent", "scenario-syn_in_closing",
           "scenario-syn_when_synchronized", "scenario-synack_in_closing",
           "scenario-synack_when_synchronized"]


@pytest.mark.parametrize("name", CRAFTED)
def test_crafted_every_boundary(ring, samples, name):
    assert_continuous(ring, os.path.join(samples, "crafted", name + ".pcap"), 1)


def test_illegal_flags(ring, samples):
    assert_continuous(ring, os.path.join(samples, "crafted", "illegal_flags.pcap"), 7)


# ---- one file again, later -------------------------------------------------------------------

def test_reopen_one_file(ring, tmp_path):
    """After the set, any one of its files alone (single pass, and two passes
    as the GUI reads it) gives the same states; its snapshot is rewritten
    with the same bytes; a run that stops early does not replace it."""
    cap = tcpgen(tmp_path, 12000, 1200, 5)
    files, state, rows = assert_continuous(ring, cap, 2000)
    per_file, start = [], 0
    for f in files:
        n = len(ring.run(f)[0])
        per_file.append(rows[start:start + n])
        start += n
    snaps = {n: hashlib.sha256(open(os.path.join(state, n), "rb").read()).hexdigest()
             for n in os.listdir(state)}
    k = 3
    again, _, err = ring.run(files[k], state)
    assert again == per_file[k]
    assert "tcpstate" not in err, err
    two, _, err = ring.run(files[k], state, ["-2", "-Y", "frame"])
    # two passes show final connection summaries: compare the segment fields
    seg = slice(2, 2 + len(SEGMENT_FIELDS))
    assert [r[seg] for r in two] == [r[seg] for r in per_file[k]]
    assert [r[1] for r in two] == [r[1] for r in per_file[k]]
    after = {n: hashlib.sha256(open(os.path.join(state, n), "rb").read()).hexdigest()
             for n in os.listdir(state)}
    assert after == snaps
    _, _, err = ring.run(files[k], state, ["-c", "100"])
    assert "is kept: it saw more of this file" in err
    assert {n: hashlib.sha256(open(os.path.join(state, n), "rb").read()).hexdigest()
            for n in os.listdir(state)} == snaps


def test_out_of_order_then_in_order(ring, tmp_path):
    """A file analysed before its predecessor continues an older snapshot
    (the files are shorter than the gap); analysing the predecessor, then
    the file again, puts it right, and the file after it too."""
    cap = tcpgen(tmp_path, 8000, 800, 9)
    whole_rows, _, _ = ring.run(cap)
    files = ring.cut(cap, 2000)
    state = ring.folder()
    sizes = [len(ring.run(f)[0]) for f in files]
    offsets = [sum(sizes[:i]) for i in range(len(files))]
    ring.run(files[0], state)
    ring.run(files[2], state)          # skips file 1
    ring.run(files[1], state)
    rows2, _, err = ring.run(files[2], state)
    assert not compare_rows(whole_rows[offsets[2]:offsets[2] + sizes[2]], rows2)
    rows3, _, err = ring.run(files[3], state)
    assert not compare_rows(whole_rows[offsets[3]:], rows3)


# ---- records of the set -----------------------------------------------------------------------

def test_records_of_the_set(ring, tmp_path, schema_path):
    """Each file lists what ended in it and what is still open; connections
    carried through a file without a segment there are listed, stream null;
    all validate; jq's superseding (docs/records.md) gives the whole run."""
    schema = records_schema.load(schema_path)
    cap = tcpgen(tmp_path, 10000, 1000, 21)
    whole = {r["uid"]: r for r in ring.run(cap)[1]}
    files = ring.cut(cap, 1000)
    state = ring.folder()
    lines, untouched = [], 0
    for f in files:
        _, recs, _ = ring.run(f, state)
        for r in recs:
            assert not records_schema.errors(schema, r), records_schema.errors(schema, r)
            untouched += r["tcpstate.stream"] is None
            assert r["tcpstate.stream"] is not None or (r["tcpstate.open"] and
                                                        r["tcpstate.carried"])
            lines.append(json.dumps(r))
    assert untouched > 0
    if shutil.which("jq"):
        out = subprocess.run(["jq", "-s", "-c", "group_by(.uid) | map(.[-1]) | .[]"],
                             input="\n".join(lines), capture_output=True, text=True, check=True)
        got = {r["uid"]: r for r in map(json.loads, out.stdout.splitlines())}
        assert not compare_records(whole, got)


@pytest.fixture
def schema_path(request):
    return os.path.join(request.config.source_dir, "docs", "records.schema.json")


# ---- faults --------------------------------------------------------------------------------------

def two_files(ring, tmp_path, seed=31, shift=None):
    cap = tcpgen(tmp_path, 4000, 400, seed, "two-%d.pcap" % seed)
    if shift:
        shifted = str(tmp_path / ("two-%d-shifted.pcap" % seed))
        subprocess.run(["editcap", "-t", shift, cap, shifted], check=True, capture_output=True)
        cap = shifted
    files = ring.cut(cap, 2000)
    assert len(files) == 2
    return files


def fresh_rows(ring, f):
    return ring.run(f)[0]


def snapshot_of(state):
    names = sorted(n for n in os.listdir(state) if n.endswith(".tcpstate"))
    assert len(names) == 1, names
    return os.path.join(state, names[0])


def rewrite(path, data):
    with open(path, "wb") as fp:
        fp.write(data)


def reseal(data):
    """Recompute both CRC-32s (snapshot.h) after an edit."""
    import zlib
    data = bytearray(data)
    hs = int.from_bytes(data[12:16], "little")
    data[hs - 4:hs] = zlib.crc32(bytes(data[:hs - 4])).to_bytes(4, "little")
    data[-4:] = zlib.crc32(bytes(data[:-4])).to_bytes(4, "little")
    return bytes(data)


@pytest.mark.parametrize("damage, message", [
    ("flip", "is corrupt"),
    ("truncate", "is truncated"),
    ("empty", "is truncated"),
    ("garbage", "is not a tcpstate snapshot"),
    ("version", "has a format version this tcpstate does not read"),
    ("build", "was written by another version of tcpstate"),
])
def test_damaged_snapshot(ring, tmp_path, damage, message):
    """A damaged snapshot before a file: a warning naming it, and the file
    starts from nothing (its states are those of the file alone)."""
    files = two_files(ring, tmp_path)
    state = ring.folder()
    ring.run(files[0], state)
    path = snapshot_of(state)
    data = open(path, "rb").read()
    if damage == "flip":
        data = data[:len(data) // 2] + bytes([data[len(data) // 2] ^ 1]) + data[len(data) // 2 + 1:]
    elif damage == "truncate":
        data = data[:len(data) - 100]
    elif damage == "empty":
        data = b""
    elif damage == "garbage":
        data = b"not a snapshot at all" * 10
    elif damage == "version":
        data = reseal(data[:8] + (99).to_bytes(4, "little") + data[12:])
    elif damage == "build":
        data = reseal(data[:24] + bytes(b ^ 0xFF for b in data[24:32]) + data[32:])
    rewrite(path, data)
    rows, _, err = ring.run(files[1], state)
    assert message in err and os.path.basename(path) in err, err
    assert rows == fresh_rows(ring, files[1])
    assert not [r for r in rows if r[1] in TRUE], "a connection shown as carried"


def test_leftover_temporary_file(ring, tmp_path):
    """A save killed before its rename leaves a temporary file: ignored, the
    snapshot it would have replaced is used."""
    files = two_files(ring, tmp_path)
    whole = ring.run(tmp_path / "two-31.pcap")[0]
    state = ring.folder()
    ring.run(files[0], state)
    path = snapshot_of(state)
    rewrite(os.path.join(state, "." + os.path.basename(path) + ".4242.tmp"),
            open(path, "rb").read()[:300])
    rows, _, err = ring.run(files[1], state)
    assert "tcpstate" not in err, err
    assert not compare_rows(whole[-len(rows):], rows)
    assert [r for r in rows if r[1] in TRUE]


def test_missing_folder(ring, tmp_path):
    files = two_files(ring, tmp_path)
    missing = os.path.join(ring.tshark.home, "no-such-folder")
    rows, _, err = ring.run(files[1], missing)
    assert err.count("does not exist") == 1, err
    assert rows == fresh_rows(ring, files[1])


def test_unwritable_folder(ring, tmp_path):
    files = two_files(ring, tmp_path)
    state = ring.folder()
    ring.run(files[0], state)
    os.chmod(state, 0o555)
    if ring.tshark.root:
        os.chown(state, 0, 0)
    try:
        rows, _, err = ring.run(files[1], state)
    finally:
        os.chmod(state, 0o755)
    assert err.count("is not writable") == 1, err
    assert [r for r in rows if r[1] in TRUE], "state is still loaded from it"
    assert len([n for n in os.listdir(state) if n.endswith(".tcpstate")]) == 1


def test_gap(ring, tmp_path):
    files = two_files(ring, tmp_path)
    state = ring.folder()
    ring.run(files[0], state)
    rows, _, err = ring.run(files[1], state, ["-o", "tcpstate.state_gap:0"])
    assert "more than tcpstate.state_gap" in err, err
    assert rows == fresh_rows(ring, files[1])


def test_another_sets_snapshot(ring, tmp_path):
    """Another set's snapshot, which ends just before the file, on the same
    interface: the file's connections do not continue it, so nothing is
    carried, with a warning.  (Both tcpgen captures start at the same time:
    theirs, 10 ms earlier, ends before mine's second file starts.)"""
    mine = two_files(ring, tmp_path, 31)
    theirs = two_files(ring, tmp_path, 32, shift="-0.01")
    state = ring.folder()
    ring.run(theirs[0], state)
    rows, _, err = ring.run(mine[1], state)
    assert "it is taken to be another set's" in err, err
    assert rows == fresh_rows(ring, mine[1])


def test_two_sets_interleaved(ring, tmp_path):
    """Two sensors' sets in one folder, read alternately: each file
    continues its own set."""
    caps = [tcpgen(tmp_path, 9000, 900, seed, "sensor-%d.pcap" % seed) for seed in (41, 42)]
    sets = [ring.cut(c, 1500) for c in caps]
    wholes = [ring.run(c)[0] for c in caps]
    state = ring.folder()
    got = [[], []]
    for i in range(len(sets[0])):
        for s in (0, 1):
            rows, _, err = ring.run(sets[s][i], state)
            assert "tcpstate" not in err, err
            got[s] += rows
    for s in (0, 1):
        bad = compare_rows(wholes[s], got[s])
        assert not bad, "\n".join(bad[:5])


def test_indistinguishable_sets(ring, tmp_path):
    """Two sets with the same connections, 1 us apart: tcpstate cannot tell
    which one a file continues, says so, and carries nothing."""
    cap = tcpgen(tmp_path, 4000, 400, 51, "same.pcap")
    shifted = str(tmp_path / "shifted.pcap")
    subprocess.run(["editcap", "-t", "0.000001", cap, shifted], check=True, capture_output=True)
    a, b = ring.cut(cap, 2000), ring.cut(shifted, 2000)
    state = ring.folder()
    ring.run(a[0], state)
    ring.run(b[0], state)
    rows, _, err = ring.run(b[1], state)
    assert "cannot tell which of them" in err, err
    assert rows == fresh_rows(ring, b[1])
