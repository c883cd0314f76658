"""Where tcpstate's segments come from, on every path through tshark
(plugin/extract.h, docs/architecture.md, docs/stats.md "Single pass and two
passes"):

- a dissection with taps reads TCP's own header (fetch_tapped_data): a plain
  summary run, which builds no tree, gets the same states as any other;
- a dissection without taps reads TCP's fields from the tree: the first pass
  of tshark -2 with -Y or -R, from its first frame on;
- tshark -2 without a filter offers neither on its first pass: the second
  pass analyses, the connection summaries are "so far", and one warning
  says so;
- a segment whose header TCP could not dissect to its end (the snapshot
  length) is read from a tree holding TCP's fields, else skipped with one
  warning.
"""

import os
import subprocess

import pytest

STATE_FIELDS = ["tcpstate.client.state", "tcpstate.server.state", "tcpstate.handshake",
                "tcpstate.teardown", "tcpstate.closer"]
SO_FAR_WARNING = "tcpstate.conn.* show each connection's summary so far"
CUT_WARNING = "TCP could not dissect this segment's header to its end"


@pytest.fixture(scope="module")
def kernel(samples):
    return lambda name: os.path.join(samples, "kernel", name + ".pcap")


def rows(tshark, capture, fields, extra=()):
    return tshark.fields(capture, fields, extra=list(extra))


def info_tags(tshark, capture, extra=()):
    """The Info tag of every summary line (tshark -r F, no tree)."""
    out = tshark.run(list(extra) + ["-o", "tcpstate.info_tag:always"], capture=capture).stdout
    return [line[line.rindex(" [C:") + 2:-1] if " [C:" in line else "" for line in
            out.splitlines()]


def test_summary_lines_read_the_tap(tshark, kernel, labels):
    """tshark -r F builds no protocol tree: the Info tags, read from TCP's
    tap, are exactly the states of a run with a tree."""
    cap = kernel("client_close")
    tags = info_tags(tshark, cap)
    want = []
    for r in rows(tshark, cap, ["tcpstate.client.state", "tcpstate.server.state"]):
        c, s = (labels["tcpstate.client.state"][r[1]], labels["tcpstate.server.state"][r[2]])
        want.append("C:%s S:%s" % (c, s))
    assert [t.split(" Handshake")[0].split(" Teardown")[0] for t in tags] == want
    assert tags[0] == "C:SYN_SENT S:LISTEN Handshake 1/3"
    assert tags[10] == "C:TIME_WAIT S:CLOSED Teardown 4/4"


def test_custom_column_in_a_summary_run(tshark, kernel):
    """A custom column naming a tcpstate field (a tree, primed by the column)."""
    cols = '"No.","%m","Server","%Cus:tcpstate.server.state"'
    out = tshark.run(["-T", "tabs", "-o", "gui.column.format:" + cols],
                     capture=kernel("client_close")).stdout.splitlines()
    assert [line.split("\t")[1] for line in out][8:11] == ["CLOSE_WAIT", "LAST_ACK", "CLOSED"]


def test_two_passes_with_a_read_filter(tshark, kernel):
    """-2 -R on a tcpstate field: the first pass has no taps, and the read
    filter sees tcpstate's values from the first frame on (the fields are
    primed at file open, then wanted), though tshark gives a dropped frame's
    number to the next one."""
    got = tshark.run(["-2", "-R", "tcpstate.teardown == 1 || tcpstate.handshake == 1",
                      "-T", "fields", "-e", "frame.number", "-e", "tcpstate.conn.outcome"],
                     capture=kernel("client_close"))
    # frames 1 (SYN) and 8 (first FIN), numbered 1 and 2 once the read
    # filter dropped the others; outcome 1 = complete: final
    assert got.stdout.split() == ["1", "1", "2", "1"]
    assert "tcpstate" not in got.stderr


def test_two_passes_with_a_display_filter_are_final(tshark, kernel):
    got = tshark.run(["-2", "-Y", "tcp", "-T", "fields", "-e", "tcpstate.conn.outcome"],
                     capture=kernel("client_close"))
    assert set(got.stdout.split()) == {"1"}
    assert "tcpstate" not in got.stderr


def test_two_passes_without_a_filter_are_so_far(tshark, kernel):
    """-2 alone: the states are those of any run, the summaries so far (the
    SYN of a connection that completes says no_answer), with one warning."""
    cap = kernel("client_close")
    fields = STATE_FIELDS + ["tcpstate.conn.outcome"]
    two = tshark.run(["-2", "-T", "fields"] + sum([["-e", f] for f in fields], []), capture=cap)
    one = tshark.run(["-T", "fields"] + sum([["-e", f] for f in fields], []), capture=cap)
    assert two.stdout == one.stdout
    assert two.stdout.splitlines()[0].split("\t")[-1] == "5"      # no_answer, so far
    assert two.stderr.count(SO_FAR_WARNING) == 1, two.stderr
    assert SO_FAR_WARNING not in one.stderr


def test_stats_are_the_same_on_every_path(tshark, kernel):
    """-z tcpstate,conns at the end of the run: one pass, -2, -2 -Y."""
    cap = kernel("server_close")
    outs = [tshark.run(a + ["-q", "-z", "tcpstate,conns"], capture=cap).stdout
            for a in ([], ["-2"], ["-2", "-Y", "tcp"])]
    assert outs[0] == outs[1] == outs[2] and "server" in outs[0]


@pytest.fixture(scope="module")
def cut(tmp_path_factory, kernel):
    """client_close cut to 60 bytes a frame: every header's options are cut
    short, so TCP never reaches its tap."""
    path = str(tmp_path_factory.mktemp("cut") / "client_close_s60.pcap")
    subprocess.run(["editcap", "-s", "60", kernel("client_close"), path], check=True)
    os.chmod(path, 0o644)
    return path


def test_cut_headers_read_from_a_tree(tshark, kernel, cut):
    """With a tree holding TCP's fields (-T fields on tcpstate's fields, a
    filter) every cut segment is read: the states of the uncut capture."""
    want = rows(tshark, kernel("client_close"), STATE_FIELDS)
    got = tshark.fields(cut, STATE_FIELDS, extra=["-Y", "tcp"])
    assert got == want
    assert CUT_WARNING not in tshark.run(["-Y", "tcp"], capture=cut).stderr


def test_cut_headers_without_a_tree(tshark, kernel, cut):
    """A summary run builds no tree.  Wireshark 4.0's TCP stops before its
    tap when the options are cut short: tcpstate cannot read those segments,
    says so once, and makes no state up.  From 4.4 on (measured on 4.4 and
    4.6) TCP queues such headers too: the states are the uncut capture's."""
    got = tshark.run(["-o", "tcpstate.info_tag:always"], capture=cut)
    if tshark.version < (4, 4):
        assert got.stderr.count(CUT_WARNING) == 1, got.stderr
        assert " [C:" not in got.stdout
    else:
        assert CUT_WARNING not in got.stderr
        assert info_tags(tshark, cut) == info_tags(tshark, kernel("client_close"))
