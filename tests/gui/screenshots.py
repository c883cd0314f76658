#!/usr/bin/python3
"""Regenerate the GUI screenshots of the docs.

    /usr/bin/python3 tests/gui/screenshots.py build/tcpstate.so docs/images

Each image comes from its own Wireshark (the plugin from the build tree, a
throwaway HOME and profile, "nobody" when root, a private Xvfb: see
gui_env.py), driven by keyboard; every step that selects something is
checked through the clipboard before the picture is taken.  Needs Xvfb,
wireshark (Qt), xdotool, xprop, ImageMagick and python3-tk.

    packet-tree.png        kernel/server_close.pcap, frame 8 (the server's
                           FIN): the TCP State Tracking subtree, with its
                           Connection subtree, and the packet list
    columns.png            kernel/simultaneous_close.pcap with the custom
                           columns Client, Server, Step, Closer
    stats-summary.png      Statistics > TCP Connection Lifecycles
                           on kernel/syn_flood_cookies.pcap
    stats-connections.png  Statistics > TCP Connection Lifecycles:
                           Connections on crafted/interleaved.pcap
    lua-packet-tree.png    the Lua twin (lua-compat/, no native plugin):
                           kernel/server_close.pcap, frame 8, as packet-tree.png
    lua-stats.png          the Lua twin: Statistics > TCP Connection
                           Lifecycles (Lua), its text window, on
                           crafted/interleaved.pcap
    profile.png            crafted/cookbook.pcap in the configuration
                           profile of docs/extras/profiles/tcpstate: its
                           columns and coloring rules
    flow-client-close.png  Statistics > Flow Graph, flow type "TCP states",
    flow-server-close.png  on kernel/client_close.pcap, server_close.pcap,
    flow-simultaneous-close.png  simultaneous_close.pcap and refused.pcap
    flow-refused.png       (each checked through its ASCII export first)
"""

import argparse
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gui_env import (Clipboard, GuiError, TShark, Wireshark, Xvfb, conns_title,  # noqa: E402
                     missing_tools)
from tshark_env import install_lua  # noqa: E402

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLES = os.path.join(SOURCE, "sample-captures")
LUA_DIR = os.path.join(SOURCE, "lua-compat")

SCREEN = "1920x1200x24"

COLUMNS = ('"No.", "%m", "Time", "%t", "Source", "%s", "Destination", "%d", '
           '"Client", "%Cus:tcpstate.client.state:0:R", '
           '"Server", "%Cus:tcpstate.server.state:0:R", '
           '"Step", "%Cus:tcpstate.handshake || tcpstate.teardown:0:R", '
           '"Closer", "%Cus:tcpstate.closer:0:R", "Info", "%i"')


def sample(name):
    return os.path.join(SAMPLES, name)


def park_mouse(ws):
    """The pointer out of the way (no hover highlight in the picture)."""
    ws.xdotool("mousemove", "1900", "1180")


def save(ws, wid, path, crop=None, max_kb=250):
    """Screenshot a window to a PNG (cropped to WxH+X+Y), smaller if it is
    too big."""
    ws.screenshot(wid, path)
    subprocess.run(["convert", path] + (["-crop", crop, "+repage"] if crop else [])
                   + ["-strip", "-define", "png:compression-level=9", path], check=True)
    if os.path.getsize(path) > max_kb * 1024:
        subprocess.run(["convert", path, "-colors", "256", "-strip", path], check=True)
    print("%s: %d KB" % (path, os.path.getsize(path) // 1024))


def packet_tree(env, display, clip, out, name="packet-tree.png", lua=False):
    cap = sample("kernel/server_close.pcap")
    recent = {"gui.geometry_main_upper_pane": 222,
              "column.width": '"%m", 50, "%t", 80, "%s", 90, "%d", 90, "%p", 65, "%L", 55, "%i", -1'}
    size = {"gui.geometry_main_width": 1480, "gui.geometry_main_height": 770}
    wants = ["[Teardown step: first FIN (1)]", "[Closed first by: server (2)]",
             "Connection: complete"]
    with Wireshark(env, display, cap, args=["-g", "8"], recent=recent,
                   recent_common=size) as ws:
        ws.wait_main()
        ws.focus_details()
        park_mouse(ws)
        ws.key("End")                      # the last top-level item
        got = ws.details_field(clip)
        if got != "tcpstate":
            raise GuiError("selected %r, not the TCP State Tracking subtree" % got)
        ws.key("Right")                    # open it, one level
        if lua:
            # The Lua twin's "Connection: ..." line is a text item, not a
            # subtree (lua-compat/README.md): select the teardown step.
            ws.key("Down", "Down", "Down", "Down", "Down", "Down", "Down")
        else:
            ws.key("End")                  # its last item: the Connection subtree
            ws.key("Right")                # open that
            # up past the expert infos (warning, chat) and the closer
            ws.key("Up", "Up", "Up", "Up")
            wants.append("[Close style: four_segment")
        got = ws.details_field(clip)
        if got != "tcpstate.teardown":
            raise GuiError("selected %r, not tcpstate.teardown" % got)
        text = ws.copy(clip, ["ctrl+alt+shift+a"], what="All Visible Items")
        for want in wants:
            if want not in text:
                raise GuiError("the details pane lacks %r:\n%s" % (want, text))
        park_mouse(ws)
        save(ws, ws.main, os.path.join(out, name))


def columns(env, display, clip, out):
    cap = sample("kernel/simultaneous_close.pcap")
    prefs = {"gui.column.format": COLUMNS}
    recent = {"gui.tree_view_show": "FALSE",
              # custom columns are named without their ":occurrence:R"
              "column.width": '"%m", 50, "%t", 80, "%s", 90, "%d", 90, '
                              '"%Cus:tcpstate.client.state", 100, '
                              '"%Cus:tcpstate.server.state", 100, '
                              '"%Cus:tcpstate.handshake || tcpstate.teardown", 215, '
                              '"%Cus:tcpstate.closer", 60, "%i", -1'}
    size = {"gui.geometry_main_width": 1340, "gui.geometry_main_height": 330}
    with Wireshark(env, display, cap, args=["-g", "9"], prefs=prefs, recent=recent,
                   recent_common=size) as ws:
        ws.wait_main()
        park_mouse(ws)
        text = ws.copy_packet_row(clip, expect="second FIN")
        if "FIN_WAIT1" not in text or "second FIN" not in text:
            raise GuiError("the custom columns do not show the states:\n%s" % text)
        # the window cannot be that short: keep the packet list's 11 rows
        save(ws, ws.main, os.path.join(out, "columns.png"), crop="1340x302+0+0")


def stats_summary(env, display, clip, out):
    cap = sample("kernel/syn_flood_cookies.pcap")
    size = {"gui.geometry_main_width": 1200, "gui.geometry_main_height": 900}
    with Wireshark(env, display, cap, recent_common=size) as ws:
        ws.wait_main()
        wid = ws.open_summary()
        ws.xdotool("windowsize", "--sync", wid, "860", "730")
        ws.xdotool("windowmove", "--sync", wid, "20", "20")
        # The dialog sorts by Topic / Item, descending (Qt's default sort
        # indicator; the statistics.st_sort_* preferences do not apply):
        # a click on that column title makes it ascending.  (Copy keeps
        # the order the plugin made the nodes in, so cannot tell.)
        ws.click(wid, 80, 21)
        park_mouse(ws)
        text = ws.copy_dialog(clip, wid, "the Summary tree")
        if "half_open" not in text or "tcpstate.syn_flood" not in text:
            raise GuiError("the Summary lacks the flood:\n%s" % text)
        save(ws, wid, os.path.join(out, "stats-summary.png"))


def stats_connections(env, display, clip, out):
    cap = sample("crafted/interleaved.pcap")
    size = {"gui.geometry_main_width": 1200, "gui.geometry_main_height": 900}
    with Wireshark(env, display, cap, args=["-z", "tcpstate,conns"], recent_common=size) as ws:
        ws.wait_main()
        wid = ws.wait_window(conns_title(cap))
        ws.xdotool("windowsize", "--sync", wid, "1880", "250")
        ws.xdotool("windowmove", "--sync", wid, "20", "20")
        park_mouse(ws)
        text = ws.copy_dialog(clip, wid, "the Connections table")
        if "reset_by_server" not in text:
            raise GuiError("the table lacks the reset connection:\n%s" % text)
        save(ws, wid, os.path.join(out, "stats-connections.png"))


def lua_env():
    """tshark/Wireshark with the Lua twin alone, as a user installs it."""
    env = TShark(None)
    install_lua(env, LUA_DIR)
    return env


def lua_packet_tree(env, display, clip, out):
    """The packet tree of packet-tree.png, from the Lua twin."""
    with lua_env() as lenv:
        packet_tree(lenv, display, clip, out, name="lua-packet-tree.png", lua=True)


def open_lua_stats(ws):
    """Statistics > TCP Connection Lifecycles (Lua), by keyboard.  Lua's
    MENU_STAT_UNSORTED items sit in the menu's second group, sorted by name
    among Wireshark 4.0's own: Capture File Properties (selected when the
    menu opens) is followed by 7 items, a separator, then DHCP (BOOTP)
    Statistics, NetPerfMeter Statistics, ONC-RPC Programs and ours: 11
    Downs.  The window's title proves the right one opened."""
    ws.key("alt+s", wid=ws.main)
    ws.wait_popups(1, "the Statistics menu")
    ws.key(*["Down"] * 11)
    ws.key("Return")
    return ws.wait_window(r"TCP Connection Lifecycles \(Lua\)")


def lua_stats(env, display, clip, out):
    cap = sample("crafted/interleaved.pcap")
    size = {"gui.geometry_main_width": 1200, "gui.geometry_main_height": 900}
    with lua_env() as lenv, Wireshark(lenv, display, cap, recent_common=size) as ws:
        ws.wait_main()
        wid = open_lua_stats(ws)
        ws.xdotool("windowsize", "--sync", wid, "1500", "760")
        ws.xdotool("windowmove", "--sync", wid, "20", "20")
        park_mouse(ws)
        text = ws.copy(clip, ["ctrl+a", "ctrl+c"], wid=wid, what="the Lua text window",
                       expect="reset_by_server")
        if "Connections by outcome" not in text:
            raise GuiError("the Lua window lacks the summary:\n%s" % text)
        ws.click(wid, 1300, 400)           # drop the selection Ctrl+A made
        park_mouse(ws)
        save(ws, wid, os.path.join(out, "lua-stats.png"))


def profile_prefs(path):
    """{name: value} of a preferences file (continuation lines joined)."""
    prefs, name = {}, None
    with open(path) as fp:
        for line in fp:
            if line.startswith("#") or not line.strip():
                name = None
            elif line[0] in " \t" and name:
                prefs[name] += " " + line.strip()
            else:
                name, _, value = line.partition(":")
                prefs[name] = value.strip()
    return prefs


def profile(env, display, clip, out):
    cap = sample("crafted/cookbook.pcap")
    d = os.path.join(os.path.dirname(SAMPLES), "docs", "extras", "profiles", "tcpstate")
    config = os.path.join(env.home, ".config", "wireshark")
    os.makedirs(config, exist_ok=True)
    shutil.copy(os.path.join(d, "colorfilters"), os.path.join(config, "colorfilters"))
    recent = {"gui.tree_view_show": "FALSE", "gui.byte_view_show": "FALSE",
              "column.width": '"%m", 45, "%t", 70, "%s", 100, "%d", 90, "%p", 45, "%L", 50, '
                              '"%Cus:tcpstate.client.state", 100, '
                              '"%Cus:tcpstate.server.state", 100, '
                              '"%Cus:tcpstate.handshake", 165, "%Cus:tcpstate.teardown", 180, '
                              '"%i", -1'}
    size = {"gui.geometry_main_width": 1340, "gui.geometry_main_height": 760}
    with Wireshark(env, display, cap, args=["-g", "76"], prefs=profile_prefs(
            os.path.join(d, "preferences")), recent=recent, recent_common=size) as ws:
        ws.wait_main()
        park_mouse(ws)
        text = ws.copy_packet_row(clip, expect="SYN_SENT")
        if "Client state" not in text or "SYN_SENT" not in text:
            raise GuiError("the profile's columns are missing:\n%s" % text)
        save(ws, ws.main, os.path.join(out, "profile.png"))


# Flow Graphs: (capture, a line its ASCII export must have, window height).
FLOWS = {
    "flow-client-close": ("kernel/client_close.pcap", "C:FIN_WAIT1 S:ESTABLISHED  client_close",
                          470),
    "flow-server-close": ("kernel/server_close.pcap", "C:ESTABLISHED S:FIN_WAIT1  server_close",
                          470),
    "flow-simultaneous-close": ("kernel/simultaneous_close.pcap", "C:CLOSING S:CLOSING", 470),
    "flow-refused": ("kernel/refused.pcap", "C:CLOSED S:CLOSED  refused", 250),
}


def flow_graph(env, display, clip, out, name):
    capture, want, height = FLOWS[name]
    cap = sample(capture)
    size = {"gui.geometry_main_width": 1200, "gui.geometry_main_height": 900}
    with Wireshark(env, display, cap, recent_common=size) as ws:
        ws.wait_main()
        wid = ws.open_flow_graph(env.version)
        ws.xdotool("windowsize", "--sync", wid, "1100", str(height))
        ws.xdotool("windowmove", "--sync", wid, "20", "20")
        ws.select_flow_type_tcp_states(wid)
        text = ws.export_flow_text(wid, os.path.join(env.home, name + ".txt"))
        if want not in text:
            raise GuiError("the Flow Graph lacks %r:\n%s" % (want, text))
        park_mouse(ws)
        save(ws, wid, os.path.join(out, name + ".png"))


def flow_shot(name):
    return lambda env, display, clip, out: flow_graph(env, display, clip, out, name)


SHOTS = {"packet-tree": packet_tree, "columns": columns,
         "stats-summary": stats_summary, "stats-connections": stats_connections,
         "lua-packet-tree": lua_packet_tree, "lua-stats": lua_stats,
         "profile": profile}
SHOTS.update({name: flow_shot(name) for name in FLOWS})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("plugin", help="the built tcpstate.so")
    ap.add_argument("outdir", help="where the PNGs go (docs/images)")
    ap.add_argument("only", nargs="*", metavar="NAME",
                    help="just these: %s (default: all)" % ", ".join(SHOTS))
    args = ap.parse_args()
    unknown = set(args.only) - set(SHOTS)
    if unknown:
        ap.error("unknown: %s" % ", ".join(sorted(unknown)))
    missing = missing_tools() + [p for p in ("convert",) if not shutil.which(p)]
    if missing:
        sys.exit("screenshots.py needs %s" % ", ".join(missing))
    os.makedirs(args.outdir, exist_ok=True)
    out = os.path.abspath(args.outdir)
    started = time.monotonic()
    with TShark(os.path.abspath(args.plugin)) as env, Xvfb(SCREEN) as xvfb:
        clip = Clipboard(xvfb.display)
        try:
            for name in args.only or SHOTS:
                t = time.monotonic()
                SHOTS[name](env, xvfb.display, clip, out)
                print("  %s: %.1f s" % (name, time.monotonic() - t))
        finally:
            clip.close()
    print("done in %.1f s" % (time.monotonic() - started))


if __name__ == "__main__":
    main()
