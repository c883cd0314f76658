"""The plugin in Wireshark's Qt GUI: it loads from the build tree, its
fields filter, both statistics dialogs open and show its data, and the
Flow Graph offers "TCP states" and draws what tshark draws.

Wireshark runs under a private Xvfb, as "nobody" when we are root, with the
plugin copied from the build tree (gui_env.py, tshark_env.py).  Nothing here
reads pixels: windows are found by title (xdotool search --name) and their
contents read through the clipboard (the dialogs' Copy, Edit > Copy in the
main window) or a file (the Flow Graph's Export).  Screenshots of each window go to a temp dir, listed at the
end of the run.
"""

import os

import pytest

from gui_env import Clipboard, TShark, Wireshark, Xvfb, conns_title, missing_tools

GOLDEN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "flowgraph")

MISSING = missing_tools()
if MISSING:
    pytest.skip("GUI test needs %s (not installed)" % ", ".join(MISSING),
                allow_module_level=True)

# client_close.pcap: one connection, closed first by the client; the
# server is in CLOSE_WAIT after frame 9 only.
CAPTURE = "kernel/client_close.pcap"


@pytest.fixture(scope="module")
def gui(request, samples):
    capture = os.path.join(samples, CAPTURE)
    env = TShark(request.config.getoption("--plugin-path"))
    xvfb = clip = ws = None
    try:
        xvfb = Xvfb()
        clip = Clipboard(xvfb.display)
        ws = Wireshark(env, xvfb.display, capture, args=["-z", "tcpstate,conns"])
        ws.clipboard = clip
        ws.wait_main()
        yield ws
    finally:
        if ws:
            ws.close()
        if clip:
            clip.close()
        if xvfb:
            xvfb.close()
        env.close()


def test_connections_table(gui, shoot):
    """-z tcpstate,conns opens Statistics > TCP Connection Lifecycles:
    Connections at startup, with the connection's row."""
    wid = gui.wait_window(conns_title(gui.capture))
    text = gui.copy_dialog(gui.clipboard, wid, "the Connections table")
    shoot(gui, wid, "connections")
    assert "TCP Connection Lifecycles: Connections" in text, text
    header = next((line for line in text.splitlines() if line.startswith("Stream")), "")
    for column in ("Client", "Server", "Outcome", "Closer", "Close style",
                   "Client state", "Server state"):
        assert column in header, header
    rows = [line.split() for line in text.splitlines() if line.strip().startswith("0 ")]
    assert rows, text
    row = rows[0]
    assert row[1:3] == ["10.99.0.1:40001", "10.99.0.2:5001"], row
    assert "four_segment" in row, row
    i = row.index("four_segment")
    # ... Outcome, Closer, Close style, Client state, Server state ...
    assert row[i - 2:i + 3] == ["complete", "client", "four_segment", "TIME_WAIT", "CLOSED"], row

    # From a row to its packets (docs/stats.md): the dialog has no filter
    # action for a row; Ctrl+C copies the selected row's Stream cell, the
    # N of tcp.stream == N.
    cell = gui.copy(gui.clipboard, ["Home", "ctrl+c"], wid=wid, what="the Stream cell")
    assert cell.strip() == row[0], cell


def test_summary_tree(gui, shoot):
    """Statistics > TCP Connection Lifecycles (from the menu: the Qt GUI has
    no -z for a stats_tree)."""
    gui.wait_window(conns_title(gui.capture))  # opened at startup, before the menu
    wid = gui.open_summary()
    text = gui.copy_dialog(gui.clipboard, wid, "the Summary tree")
    shoot(gui, wid, "summary")
    assert "TCP Connection Lifecycles:" in text, text
    for topic in ("Connections by outcome", "Closed first by", "Close style",
                  "Final states (client, server)", "Expert infos", "Handshake time (ms)"):
        assert any(line.startswith(topic) for line in text.splitlines()), (topic, text)
    counts = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and line.startswith(" ") and not line.startswith("  "):
            counts[parts[0]] = parts[1]
    assert counts.get("complete") == "1", text
    assert counts.get("four_segment") == "1", text
    assert counts.get("tcpstate.client_close") == "1", text


def test_flow_graph(gui, shoot):
    """Statistics > Flow Graph offers the flow type "TCP states", and its
    diagram, exported as ASCII, is byte for byte what tshark -z
    flow,tcpstate,standard draws (tests/flowgraph, tests/tshark/
    test_flowgraph.py): one arrow per segment, the flags and step on each,
    both states in each comment.  (The dialog's "Addresses: Any" is
    tshark's "standard".)"""
    wid = gui.open_flow_graph(gui.env.version)
    gui.select_flow_type_tcp_states(wid)
    text = gui.export_flow_text(wid, os.path.join(gui.env.home, "flow-graph.txt"))
    shoot(gui, wid, "flow-graph")
    with open(os.path.join(GOLDEN, "kernel-client_close.txt"), encoding="utf-8") as fp:
        want = fp.read()
    assert "C:FIN_WAIT1 S:ESTABLISHED  client_close" in text, \
        "not the TCP states flow (another flow type selected?):\n" + text
    assert text == want, text
    gui.key("Escape", wid=wid)


def test_filter_and_details(gui, shoot):
    """The plugin is loaded in this GUI: a display filter on its field
    selects the segment after which the server is in CLOSE_WAIT, and the
    packet details show its TCP State Tracking subtree."""
    gui.apply_filter("tcpstate.server.state == CLOSE_WAIT")
    text = gui.copy(gui.clipboard, ["ctrl+alt+shift+a"], wid=gui.main,
                    what="Edit > Copy > All Visible Items", expect="Frame 9:")
    shoot(gui, gui.main, "main")
    assert "TCP State Tracking, Client: FIN_WAIT2  Server: CLOSE_WAIT  [Teardown 2/4]" \
        in text, text
