"""The plugin as Wireshark sees it: registration, fields, filters, prefs,
tree text, Info column, expert info."""

import os
import re

import pytest

# The public contract (docs/fields.md): users' filters, columns and scripts
# depend on these names and types.
CONTRACT = {
    "tcpstate.stream": "FT_UINT32",
    "tcpstate.sender": "FT_UINT8",
    "tcpstate.client.state": "FT_UINT8",
    "tcpstate.server.state": "FT_UINT8",
    "tcpstate.client.prev": "FT_UINT8",
    "tcpstate.server.prev": "FT_UINT8",
    "tcpstate.handshake": "FT_UINT8",
    "tcpstate.teardown": "FT_UINT8",
    "tcpstate.closer": "FT_UINT8",
    "tcpstate.midstream": "FT_BOOLEAN",
    "tcpstate.icmp_quoted": "FT_BOOLEAN",
}
STATES = {"1": "ESTABLISHED", "2": "SYN_SENT", "3": "SYN_RECV", "4": "FIN_WAIT1",
          "5": "FIN_WAIT2", "6": "TIME_WAIT", "7": "CLOSED", "8": "CLOSE_WAIT",
          "9": "LAST_ACK", "10": "LISTEN", "11": "CLOSING"}


@pytest.fixture(scope="module")
def kernel(samples):
    return lambda name: os.path.join(samples, "kernel", name + ".pcap")


def test_listed_by_G_plugins(tshark):
    lines = [l.split("\t") for l in tshark.run(["-G", "plugins"]).stdout.splitlines()]
    ours = [l for l in lines if l[0].strip() == "tcpstate.so"]
    assert ours, "tcpstate.so not loaded"
    assert ours[0][3].startswith(tshark.plugin_dir), "loaded from somewhere else: %s" % ours[0][3]


def test_G_fields_lists_the_contract(tshark):
    got = {}
    for line in tshark.run(["-G", "fields"]).stdout.splitlines():
        p = line.split("\t")
        if p[0] == "P" and p[2] == "tcpstate":
            assert p[1] == "TCP State Tracking"
        if p[0] == "F" and p[2].startswith("tcpstate."):
            got[p[2]] = p[3]
    missing = {f: t for f, t in CONTRACT.items() if got.get(f) != t}
    assert not missing, "fields missing or of another type: %s (have %s)" % (missing, got)


def test_state_labels_are_linux_values(tshark):
    vals = tshark.values()
    for field in ("tcpstate.client.state", "tcpstate.server.state",
                  "tcpstate.client.prev", "tcpstate.server.prev"):
        assert vals[field] == STATES


def test_fields_without_a_tcpstate_filter(tshark, kernel):
    """Fields fill -T fields columns with no -Y tcpstate priming them."""
    rows = tshark.fields(kernel("client_close"), ["tcpstate.client.state", "tcpstate.server.state"])
    assert rows and all(r[1] and r[2] for r in rows)


def test_filter_by_state_label(tshark, kernel):
    out = tshark.run(["-Y", "tcpstate.client.state == TIME_WAIT", "-T", "fields",
                      "-e", "frame.number"], capture=kernel("client_close")).stdout.split()
    assert out == ["11"]
    out = tshark.run(["-Y", "tcpstate.server.state == CLOSE_WAIT && tcpstate.sender == server",
                      "-T", "fields", "-e", "frame.number"], capture=kernel("client_close"))
    assert out.stdout.split() == ["9"]


def test_tree_text(tshark, kernel):
    out = tshark.run(["-V", "-O", "tcpstate", "-Y", "frame.number == 9"],
                     capture=kernel("client_close")).stdout
    assert "TCP State Tracking, Client: FIN_WAIT2  Server: CLOSE_WAIT  [Teardown 2/4]" in out
    assert "[Client state before: FIN_WAIT1 (4)]" in out


def info_of(tshark, capture, *opts):
    """The Info column as tshark prints it: one summary line per frame, with
    a column list holding only Info.  Not `-T fields -e _ws.col.Info`: from
    Wireshark 4.2 on, the _ws.col.* fields are added to the tree (col_dissect)
    just before the post-dissectors run, so they never hold a post-dissector's
    Info text (see test_info_field_before_postdissectors)."""
    out = tshark.run(list(opts) + ["-o", 'gui.column.format:"Info","%i"'], capture=capture)
    return [line.strip() for line in out.stdout.splitlines()]


def test_info_field_before_postdissectors(tshark, kernel):
    """Version-aware: the Info column always carries the tag (above), but
    the _ws.col.info *field* does so only in Wireshark 4.0.  Wireshark 4.2
    made the columns real fields (the _ws.col protocol), which packet-frame.c
    fills (col_dissect) before it calls the post-dissectors, so
    `-e _ws.col.Info` and filters on _ws.col.info see the Info text without
    tcpstate's tag; use tcpstate.* fields instead.  Seen on 4.4 and 4.6
    (tests/compat/run-suite.sh); 4.2 is not tested, docs/compat.md."""
    out = tshark.run(["-T", "fields", "-e", "_ws.col.Info"], capture=kernel("client_close"))
    first = out.stdout.splitlines()[0]
    if tshark.version >= (4, 2, 0):
        assert "[C:" not in first and first.endswith("WS=1024")
    else:
        assert first.endswith("[C:SYN_SENT S:LISTEN Handshake 1/3]")


def test_info_tag_default_marks_changes(tshark, kernel):
    info = info_of(tshark, kernel("client_close"))
    assert info[0].endswith("[C:SYN_SENT S:LISTEN Handshake 1/3]")
    assert info[8].endswith("[C:FIN_WAIT2 S:CLOSE_WAIT Teardown 2/4]")
    assert "[C:" not in info[3], "a data segment that changes nothing is not tagged"


def test_info_tag_preference(tshark, kernel):
    off = info_of(tshark, kernel("client_close"), "-o", "tcpstate.info_tag:off")
    assert not any("[C:" in i for i in off)
    always = info_of(tshark, kernel("client_close"), "-o", "tcpstate.info_tag:always")
    assert all(i.endswith("S:ESTABLISHED]") for i in always[3:7])


def test_disabled_protocol_adds_nothing(tshark, kernel):
    rows = tshark.fields(kernel("client_close"), ["tcpstate.client.state"],
                         extra=["--disable-protocol", "tcpstate"])
    assert rows and not any(r[1] for r in rows)


def test_midstream_expert_note(tshark, samples):
    cap = os.path.join(samples, "crafted", "midstream.pcap")
    out = tshark.run(["-q", "-z", "expert,note"], capture=cap).stdout
    assert "tcpstate.roles_guessed" in out or "No SYN seen" in out


def test_filter_by_closer_label(tshark, kernel):
    out = tshark.run(["-Y", "tcpstate.closer == both && tcpstate.teardown == 3", "-T", "fields",
                      "-e", "frame.number"], capture=kernel("simultaneous_close")).stdout.split()
    assert out == ["9"]


def zexpert_totals(out):
    """{severity section: TCPSTATE items} from tshark -z expert output."""
    totals, section = {}, None
    for line in out.splitlines():
        words = line.split()
        if len(words) == 2 and words[1].startswith("("):
            section = {"Errors": "ERROR", "Warns": "WARN", "Notes": "NOTE",
                       "Chats": "CHAT", "Comments": "COMMENT"}.get(words[0])
        elif len(words) >= 4 and words[0].isdigit() and words[2] == "TCPSTATE":
            totals[section] = totals.get(section, 0) + int(words[0])
    return totals


@pytest.mark.parametrize("name", ["server_close", "illegal_to_closed_port", "syn_flood_cookies"])
def test_z_expert_counts_every_item(tshark, kernel, anomalies, name):
    """-z expert (a retap of every frame) sees each expert info once."""
    names = [a[0] for a in anomalies]
    severity = {a[0]: a[2] for a in anomalies}
    want = {}
    for r in tshark.fields(kernel(name), names):
        for n, v in zip(names, r[1:]):
            if v:
                want[severity[n]] = want.get(severity[n], 0) + 1
    got = zexpert_totals(tshark.run(["-q", "-z", "expert"], capture=kernel(name)).stdout)
    assert got == want and want


def test_server_close_only_on_the_servers_first_fin(tshark, kernel):
    out = tshark.run(["-Y", "tcpstate.server_close", "-T", "fields", "-e", "frame.number",
                      "-e", "_ws.expert.message"], capture=kernel("server_close")).stdout
    assert out.split("\t")[0] == "8" and len(out.splitlines()) == 1
    assert "The server 10.99.0.2:5002 closed first" in out
    assert tshark.run(["-Y", "tcpstate.server_close"], capture=kernel("client_close")).stdout == ""


@pytest.fixture(scope="module")
def crafted(samples):
    return lambda name: os.path.join(samples, "crafted", name + ".pcap")


def conns_table(out):
    """(header cells, [row cells]) of tshark -z tcpstate,conns."""
    lines = out.splitlines()
    head = next(i for i, l in enumerate(lines) if l.startswith("Stream |"))
    rows = [l for l in lines[head + 1:] if "|" in l]
    return lines[head], rows


@pytest.mark.parametrize("two_pass", [False, True])
def test_z_conns_filter_and_alignment(tshark, crafted, two_pass):
    args = (["-2"] if two_pass else []) + ["-q", "-z", "tcpstate,conns,tcp.port==40062"]
    header, rows = conns_table(tshark.run(args, capture=crafted("interleaved")).stdout)
    assert len(rows) == 1, rows
    cells = [c.strip() for c in rows[0].split("|")]
    assert cells[:3] == ["1", "10.1.0.1:40062", "10.1.0.2:80"]
    assert cells[5:10] == ["complete", "server", "four_segment", "CLOSED", "TIME_WAIT"]
    # every cell lines up under its column title
    bars = lambda line: [i for i, ch in enumerate(line) if ch == "|"]
    assert bars(rows[0]) == bars(header)
    _, everything = conns_table(tshark.run(["-q", "-z", "tcpstate,conns"],
                                           capture=crafted("interleaved")).stdout)
    assert len(everything) == 3


def test_z_tree_filter(tshark, crafted):
    out = tshark.run(["-2", "-q", "-z", "tcpstate,tree,tcp.port==40063"],
                     capture=crafted("interleaved")).stdout
    assert re.search(r"^Connections by outcome\s+1\s", out, re.M), out
    assert re.search(r"^ reset_by_server\s+1\s", out, re.M), out
    assert re.search(r"^ complete\s+0\s", out, re.M), out
    out = tshark.run(["-2", "-q", "-z", "tcpstate,tree"], capture=crafted("interleaved")).stdout
    assert re.search(r"^Connections by outcome\s+3\s", out, re.M), out
    assert re.search(r"^ complete\s+2\s", out, re.M), out


def test_conn_fields_final_with_two_passes(tshark, kernel):
    """The SYN of a connection that completes: 'no_answer' so far, 'complete' with -2."""
    fields = ["tcpstate.conn.outcome", "tcpstate.conn.zeek_state", "tcpstate.conn.history"]
    one = tshark.fields(kernel("client_close"), fields, extra=["-Y", "frame.number == 1"])
    two = tshark.fields(kernel("client_close"), fields, extra=["-2", "-Y", "frame.number == 1"])
    assert one[0][1:] == ["5", "S0", "S"]
    assert two[0][1:] == ["1", "SF", "ShADadFf"]
