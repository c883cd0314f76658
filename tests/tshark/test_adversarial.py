"""Adversarial input (docs/robustness.md): what tests/tshark/test_captures.py
does not check on sample-captures/adversarial/.

  - the .pcap.gz captures (no .expect: frames with a TCP layer but no
    usable header get no states), against the expectations below;
  - bad_checksums.pcap with tcp.check_checksum on: the bad RST is dropped;
  - one 4-tuple reused 10,000 times (generated here by
    tests/adversarial/make_adversarial.py --reuse): one tcp.stream per
    reuse, each complete, and the plugin's memory per connection bounded;
  - a random-source SYN flood (tests/bench/tcpgen, 100k SYNs, or
    TCPSTATE_FLOOD_SYNS): tshark's peak RSS
    grows by less than a bound per connection over a run without tcpstate;
  - corrupt or unreadable capture files: tshark's own error and exit
    status (which depends on the release: BAD_FILE_EXIT), no signal, no
    sanitizer report.

Memory bounds are not asserted under a sanitizer runtime (TCPSTATE_PRELOAD),
whose shadow memory and quarantine dwarf them; the flood is then skipped.
"""

import os
import random
import re
import struct
import subprocess
import sys

import pytest

import expectations

ADV = "adversarial"
SANITIZED = bool(os.environ.get("TCPSTATE_PRELOAD"))
STATES = ["tcpstate.stream", "tcpstate.client.state", "tcpstate.server.state"]

# ---- the .pcap.gz captures ------------------------------------------------------------
# Per frame: "stream client server" for a tracked segment, "-" for a frame
# that must carry no tcpstate field at all.
OPEN_DATA_CLOSE = ["0 SYN_SENT LISTEN", "0 SYN_SENT SYN_RECV", "0 ESTABLISHED ESTABLISHED",
                   "0 ESTABLISHED ESTABLISHED", "0 ESTABLISHED ESTABLISHED",
                   "0 FIN_WAIT1 ESTABLISHED", "0 FIN_WAIT2 CLOSE_WAIT", "0 FIN_WAIT2 LAST_ACK",
                   "0 TIME_WAIT CLOSED"]
GZ_EXPECT = {
    # IPv4 keeps its whole 20-byte TCP header at 54 and 60 bytes; IPv6 keeps
    # none (54) or 6 bytes (60) of it: nothing.
    "snaplen54.pcap.gz": OPEN_DATA_CLOSE + ["-"] * 9,
    "snaplen60.pcap.gz": OPEN_DATA_CLOSE + ["-"] * 9,
    # 8-byte quotes: no tcp.stream, nothing marked, no state changed
    "icmp_short_quote.pcap.gz": OPEN_DATA_CLOSE[:3] + ["-"] * 3 + OPEN_DATA_CLOSE[3:],
}


def rows_of(tshark, capture, fields, extra=()):
    return tshark.fields(capture, fields, extra=extra)


def tcpstate_fields(tshark):
    """Every tcpstate.* field name (tshark -G fields)."""
    out = tshark.run(["-G", "fields"]).stdout
    return sorted({line.split("\t")[2] for line in out.splitlines()
                   if line.startswith("F\t") and line.split("\t")[2].startswith("tcpstate.")})


@pytest.mark.parametrize("name", sorted(GZ_EXPECT))
def test_gz_capture(tshark, labels, samples, name):
    capture = os.path.join(samples, ADV, name)
    rows = rows_of(tshark, capture, STATES)
    want = GZ_EXPECT[name]
    assert len(rows) == len(want), "frame count"
    got = []
    for r in rows:
        v = [expectations.normalise(f, x, labels) for f, x in zip(STATES, r[1:])]
        got.append("-" if v == ["-"] * 3 else " ".join(v))
    assert got == want
    # the untracked frames carry no tcpstate field at all, not even the tree
    untracked = [str(i + 1) for i, w in enumerate(want) if w == "-"]
    out = tshark.run(["-Y", "tcpstate", "-T", "fields", "-e", "frame.number"],
                     capture=capture).stdout.split()
    assert not set(out) & set(untracked)
    # and the full dissection, two passes, every statistic, runs cleanly
    tshark.run(["-2", "-V", "-z", "tcpstate,tree", "-z", "tcpstate,conns"], capture=capture)


def test_bad_checksums_verified(tshark, labels, samples):
    """With tcp.check_checksum on, the RST with a wrong TCP checksum (frame 7)
    closes only its sender: the receiver drops it (client stays FIN_WAIT2);
    with it off (the .expect), both are CLOSED."""
    capture = os.path.join(samples, ADV, "bad_checksums.pcap")
    on = {r[0]: [expectations.normalise(f, x, labels) for f, x in zip(STATES, r[1:])]
          for r in rows_of(tshark, capture, STATES, extra=["-o", "tcp.check_checksum:TRUE"])}
    assert on["4"] == ["0", "FIN_WAIT1", "ESTABLISHED"]   # the bad FIN: sender only
    assert on["7"] == ["0", "FIN_WAIT2", "CLOSED"]
    off = {r[0]: r[1:] for r in rows_of(tshark, capture, STATES)}
    assert [expectations.normalise(f, x, labels) for f, x in zip(STATES, off["7"])] == \
        ["0", "CLOSED", "CLOSED"]


# ---- memory -------------------------------------------------------------------------------


def peak_rss_kb(tshark, capture, args):
    """tshark's peak RSS (kB, /usr/bin/time -v) and its stdout."""
    staged = tshark.stage(capture)
    cmd = ["/usr/bin/time", "-v"] + tshark._command(["-r", staged] + list(args))
    proc = subprocess.run(cmd, env=tshark.env, capture_output=True, text=True, timeout=600)
    assert not re.search(r"ERROR: AddressSanitizer|runtime error:", proc.stderr), proc.stderr
    assert proc.returncode == 0, proc.stderr
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    assert m, proc.stderr
    return int(m.group(1)), proc.stdout


def needs_time():
    if not os.path.exists("/usr/bin/time"):
        pytest.skip("/usr/bin/time missing (tools/install-deps.sh --test)")


# Per connection the plugin keeps a ts_conn (128 B), a 16-byte record per
# segment, a hash-table entry for the stream, and, for a half-open one, an
# 8-byte SYN-flood FIFO entry.  The bounds allow several times that for
# GLib's and malloc's overheads (measured in docs/robustness.md).
REUSE = 10000
REUSE_BOUND = 2048          # bytes per connection of 7 segments
# 100k SYNs keep the test (two tshark runs) near a minute on 2 cores;
# TCPSTATE_FLOOD_SYNS=200000 (or 1000000) for a bigger run.
FLOOD = int(os.environ.get("TCPSTATE_FLOOD_SYNS", "100000"))
FLOOD_BOUND = 1024          # bytes per half-open connection (1 SYN)


def test_reuse_10k(tshark, labels, tmp_path, request):
    """One 4-tuple, 10,000 complete connections one after the other (7
    segments each): each its own tcp.stream and tcpstate.stream, opened
    from SYN_SENT/LISTEN (handshake step 1) and closed to TIME_WAIT/CLOSED
    (teardown step 4), nothing illegal.  A display filter keeps the output
    to those segments (printing 70k rows would cost more than the test)."""
    needs_time()
    src = request.config.source_dir
    capture = str(tmp_path / "reuse.pcap")
    subprocess.run([sys.executable, os.path.join(src, "tests", "adversarial",
                                                 "make_adversarial.py"), "--reuse", capture,
                    str(REUSE)], check=True)
    os.chmod(capture, 0o644)
    fields = ["tcp.stream", "tcpstate.stream", "tcpstate.client.state", "tcpstate.server.state",
              "tcpstate.handshake", "tcpstate.teardown", "tcpstate.illegal"]
    args = ["-Y", "tcpstate.handshake == 1 || tcpstate.teardown == 4 || tcpstate.illegal",
            "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in fields:
        args += ["-e", f]
    rss, out = peak_rss_kb(tshark, capture, args)
    rows = [line.split("\t") for line in out.splitlines()]
    assert len(rows) == 2 * REUSE
    assert all(r[0] == r[1] for r in rows), "tcpstate.stream differs from tcp.stream"
    st = lambda r: (expectations.normalise(fields[2], r[2], labels),
                    expectations.normalise(fields[3], r[3], labels))
    opened = [int(r[0]) for r in rows if r[4] == "1" and st(r) == ("SYN_SENT", "LISTEN")]
    closed = [int(r[0]) for r in rows if r[5] == "4" and st(r) == ("TIME_WAIT", "CLOSED")]
    assert opened == list(range(REUSE))
    assert closed == list(range(REUSE))
    assert not any(r[6] for r in rows)
    if SANITIZED:
        return
    base, out0 = peak_rss_kb(tshark, capture, ["--disable-protocol", "tcpstate"] + args)
    assert not out0.split()
    per_conn = (rss - base) * 1024 / REUSE
    print("reuse: peak RSS %d kB, %d kB without tcpstate: %.0f B per connection"
          % (rss, base, per_conn))
    assert per_conn < REUSE_BOUND


@pytest.mark.skipif(SANITIZED, reason="a memory bound; not under a sanitizer runtime")
def test_syn_flood_memory(tshark, tmp_path):
    """FLOOD SYNs from random sources: the plugin's peak-RSS growth per
    half-open connection stays under FLOOD_BOUND, and it did run (its
    syn_flood expert info is there)."""
    needs_time()
    tcpgen = os.environ.get("TCPSTATE_TCPGEN")
    if not tcpgen or not os.path.exists(tcpgen):
        pytest.skip("TCPSTATE_TCPGEN (tests/bench/tcpgen) not given")
    capture = str(tmp_path / "flood.pcap")
    subprocess.run([tcpgen, "--profile", "synflood", "--packets", str(FLOOD), "--seed", "1",
                    "-o", capture], check=True, capture_output=True)
    os.chmod(capture, 0o644)
    # A display filter makes tshark build the tree (tcpstate works only
    # then) without printing 200k lines; it matches the flood's expert info.
    args = ["-Y", "tcpstate.syn_flood", "-T", "fields", "-e", "frame.number"]
    rss, out = peak_rss_kb(tshark, capture, args)
    assert out.split(), "no tcpstate.syn_flood: did the plugin run?"
    base, out0 = peak_rss_kb(tshark, capture, ["--disable-protocol", "tcpstate"] + args)
    assert not out0.split()
    per_conn = (rss - base) * 1024 / FLOOD
    print("flood: peak RSS %d kB, %d kB without tcpstate: %.0f B per connection"
          % (rss, base, per_conn))
    assert per_conn < FLOOD_BOUND


# ---- corrupt and unreadable files ------------------------------------------------------

PCAP_HDR = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
SHB = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
EPB = struct.pack("<IIIII", 0, 0, 0, 60, 60) + b"\0" * 60


def block(btype, body, length=None, trailer=None):
    """A pcapng block; length and trailer override the two length fields."""
    n = 12 + len(body)
    return (struct.pack("<II", btype, n if length is None else length) + body +
            struct.pack("<I", n if trailer is None else trailer))


def good_pcap(samples):
    with open(os.path.join(samples, "kernel", "client_close.pcap"), "rb") as fp:
        return fp.read()


BAD_FILES = {
    # name: (contents from the good capture, what tshark must say, when it fails:
    # "open" = it cannot open the file as a capture, "read" = while reading it)
    "garbage.pcap": (lambda good: bytes(random.Random(7).randrange(256) for _ in range(1000)),
                     "isn't a capture file in a format TShark understands", "open"),
    "short_header.pcap": (lambda good: PCAP_HDR[:10], "cut short", "open"),
    "cut_record.pcap": (lambda good: good[:-30], "cut short in the middle of a packet", "read"),
    "huge_record.pcap": (lambda good: PCAP_HDR + struct.pack("<IIII", 0, 0, 0x7FFFFFFF,
                                                             0x7FFFFFFF) + b"x" * 64,
                         "damaged or corrupt", "read"),
    "block_too_long.pcapng": (lambda good: block(0x0A0D0D0A, SHB) +
                              block(1, struct.pack("<HHI", 1, 0, 65535)) +
                              block(6, EPB, length=0x10000000), "damaged or corrupt", "read"),
    "trailer_mismatch.pcapng": (lambda good: block(0x0A0D0D0A, SHB) +
                                block(1, struct.pack("<HHI", 1, 0, 65535)) +
                                block(6, EPB, trailer=12), "damaged or corrupt", "read"),
}

# tshark's exit status for a bad file, by when it fails, from the release
# that introduced it (ws_exit_codes.h; measured on 4.0.17, 4.4.19, 4.6.9):
# a file it cannot open exits 2 in 4.0, 3 (WS_EXIT_INVALID_FILE) from 4.2;
# a read error exits 2 until 4.4, 14 (WS_EXIT_READ_ERROR, new in 4.6) from 4.6.
BAD_FILE_EXIT = {
    "open": [((4, 0), 2), ((4, 2), 3)],
    "read": [((4, 0), 2), ((4, 6), 14)],
}


def bad_file_exit(version, when):
    """The exit status tshark `version` gives for a bad file failing `when`."""
    return [code for since, code in BAD_FILE_EXIT[when] if version[:2] >= since][-1]


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_input(tshark, samples, tmp_path, name):
    """tshark reports the file's problem itself and exits with its own error
    status (not a signal, not a sanitizer report: TShark.run fails on one),
    with the plugin's full work requested (-2 with a filter, so that its
    first pass analyses; -V; its statistics).  The status is the one this
    release gives (BAD_FILE_EXIT)."""
    make, message, when = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(make(good_pcap(samples)))
    os.chmod(str(path), 0o644)
    proc = tshark.run(["-2", "-Y", "frame", "-V", "-z", "tcpstate,tree", "-z", "tcpstate,conns"],
                      capture=str(path), check=False)
    assert proc.returncode == bad_file_exit(tshark.version, when), \
        (proc.returncode, proc.stderr)
    assert message in proc.stderr, proc.stderr
    assert proc.stderr.startswith("tshark: "), proc.stderr
