"""The plugin as Wireshark sees it: registration, fields, filters, prefs,
tree text, Info column, expert info."""

import os

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
    out = tshark.run(list(opts) + ["-T", "fields", "-e", "_ws.col.Info"], capture=capture)
    return out.stdout.splitlines()


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
