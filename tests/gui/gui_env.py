"""Run the Wireshark Qt GUI with the tcpstate plugin from the build tree,
under a private Xvfb, and drive it with xdotool.

The environment is tshark_env.TShark's (read its docstring): a throwaway
HOME holding a copy of the built plugin in the personal plugin folder,
WIRESHARK_PLUGIN_DIR pointing the global folder at an empty directory, and,
when we are root, the program run as "nobody" through setpriv.  The GUI
shares that HOME, so its preferences and "recent" files (window geometry,
panes, columns) are written there before it starts.

Xvfb runs with -ac (no access control), so that the unprivileged client may
connect, and -displayfd, so that it picks a free display number itself.
Xvfb has no window manager: windows are focused with `xdotool windowfocus`
(XSetInputFocus), never "activated".
"""

import importlib.util
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tshark_env import TShark  # noqa: E402

__all__ = ["TShark", "Xvfb", "Clipboard", "Wireshark", "GuiError", "missing_tools",
           "conns_title", "summary_title", "flow_title"]

REQUIRED = ("Xvfb", "wireshark", "xdotool", "xprop", "import", "setpriv", "tshark")


def missing_tools():
    """What this needs that is not installed ([] if nothing): programs, and
    tkinter (python3-tk), which reads the X clipboard."""
    missing = [p for p in REQUIRED if not shutil.which(p)]
    if importlib.util.find_spec("tkinter") is None:
        missing.append("tkinter (python3-tk)")
    return missing


class GuiError(AssertionError):
    pass


def _kill_group(proc, timeout=5):
    """End a process started with start_new_session=True, and its children."""
    if proc is None or proc.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=timeout)
            return
        except subprocess.TimeoutExpired:
            continue


class Xvfb:
    """A private X server on a free display."""

    def __init__(self, size="1600x1000x24", timeout=15):
        rfd, wfd = os.pipe()
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(wfd), "-ac", "-nolisten", "tcp",
             "-screen", "0", size],
            pass_fds=(wfd,), stdout=subprocess.DEVNULL, stderr=self.log,
            start_new_session=True)
        os.close(wfd)
        data = b""
        deadline = time.monotonic() + timeout
        try:
            while not data.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([rfd], [], [], left)[0]:
                    raise GuiError("Xvfb did not report its display within %ds" % timeout)
                chunk = os.read(rfd, 64)
                if not chunk:
                    self.proc.wait(timeout)
                    self.log.seek(0)
                    raise GuiError("Xvfb exited: %s" % self.log.read().decode(errors="replace"))
                data += chunk
        except BaseException:
            _kill_group(self.proc)
            self.log.close()
            raise
        finally:
            os.close(rfd)
        self.display = ":" + data.decode().strip()

    def close(self):
        _kill_group(self.proc)
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Clipboard:
    """The X CLIPBOARD of a display, read through Tk."""

    SENTINEL = "tcpstate-gui-test: clipboard not yet written"

    def __init__(self, display):
        import tkinter
        self._tk = tkinter
        self.root = tkinter.Tk(screenName=display)
        self.root.withdraw()

    def clear(self):
        """Own the clipboard with a sentinel, so that a later copy shows."""
        self.root.clipboard_clear()
        self.root.clipboard_append(self.SENTINEL)
        self.root.update()

    def get(self):
        try:
            self.root.update()
            return self.root.clipboard_get()
        except self._tk.TclError:
            return ""

    def wait(self, what, timeout=10, poll=0.1):
        """The clipboard's text once something other than the sentinel is
        there; fails after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.get()
            if text and text != self.SENTINEL:
                return text
            if time.monotonic() > deadline:
                raise GuiError("timeout (%ds): nothing copied to the clipboard (%s)"
                               % (timeout, what))
            time.sleep(poll)

    def close(self):
        try:
            self.root.destroy()
        except self._tk.TclError:
            pass


# The "recent" settings that make screenshots reproducible.  Wireshark keeps
# the window geometry in recent_common and the panes and columns in recent.
RECENT_COMMON = {
    "gui.geometry_main_x": 0,
    "gui.geometry_main_y": 0,
    "gui.geometry_main_width": 1200,
    "gui.geometry_main_height": 820,
    "gui.geometry_main_maximized": "FALSE",
    "privs.warn_if_elevated": "FALSE",
    "sys.warn_if_no_capture": "FALSE",
}
RECENT = {
    "gui.byte_view_show": "FALSE",
    "gui.packet_diagram_show": "FALSE",
    "gui.time_format": "RELATIVE",
}


class Wireshark:
    """One Wireshark GUI, as the TShark environment's user, on an Xvfb."""

    def __init__(self, env, display, capture, args=(), prefs=None, recent=None,
                 recent_common=None):
        self.env = env
        self.display = display
        self.capture = capture
        self.xenv = dict(os.environ, DISPLAY=display)
        self.xenv.pop("XAUTHORITY", None)
        self._write_config(prefs or {}, dict(RECENT, **(recent or {})),
                           dict(RECENT_COMMON, **(recent_common or {})))
        cmd = ["wireshark", "-r", env.stage(capture)] + list(args)
        if env.root:
            cmd = ["setpriv", "--reuid=%d" % env.uid, "--regid=%d" % env.gid,
                   "--clear-groups", "--"] + cmd
        wenv = dict(env.env, DISPLAY=display, QT_ACCESSIBILITY="0", NO_AT_BRIDGE="1",
                    XDG_RUNTIME_DIR=self._runtime_dir())
        wenv.pop("XAUTHORITY", None)
        self.log_path = os.path.join(env.home, "wireshark.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, env=wenv, cwd=env.home, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.main = None

    def _config_dir(self):
        return os.path.join(self.env.home, ".config", "wireshark")

    def _runtime_dir(self):
        d = os.path.join(self.env.home, "runtime")
        os.makedirs(d, mode=0o700, exist_ok=True)
        if self.env.root:
            os.chown(d, self.env.uid, self.env.gid)
        return d

    def _write_config(self, prefs, recent, recent_common):
        d = self._config_dir()
        os.makedirs(d, exist_ok=True)
        for name, values in (("preferences", prefs), ("recent", recent),
                             ("recent_common", recent_common)):
            with open(os.path.join(d, name), "w") as f:
                for k, v in values.items():
                    f.write("%s: %s\n" % (k, v))
        if self.env.root:
            for p in (os.path.dirname(d), d) + tuple(
                    os.path.join(d, n) for n in os.listdir(d)):
                os.chown(p, self.env.uid, self.env.gid)

    # ---- X helpers -------------------------------------------------------

    def x(self, *args, check=True, timeout=10):
        """Run an X client (xdotool, import, ...) on our display."""
        try:
            proc = subprocess.run(list(args), env=self.xenv, capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            raise GuiError("timeout (%ds): %s" % (timeout, " ".join(args))) from None
        if check and proc.returncode != 0:
            raise GuiError("%s failed (%d): %s" % (" ".join(args), proc.returncode,
                                                   proc.stderr.strip()))
        return proc.stdout

    def xdotool(self, *args, check=True):
        return self.x("xdotool", *args, check=check)

    def output(self):
        """What wireshark printed so far (stdout and stderr)."""
        if not self.log.closed:
            self.log.flush()
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def output_excerpt(self, lines=25):
        out = self.output().splitlines()
        more = "\n... (%d more lines)" % (len(out) - lines) if len(out) > lines else ""
        return "\n".join(out[:lines]) + more

    def _alive(self, what):
        if self.proc.poll() is not None:
            raise GuiError("wireshark exited (%d) while waiting for %s; its output:\n%s"
                           % (self.proc.returncode, what, self.output_excerpt()))

    def windows(self, name=".", visible=True):
        """{window id: title} of the windows whose title matches a regex."""
        args = ["search"] + (["--onlyvisible"] if visible else []) + ["--name", name]
        out = self.xdotool(*args, check=False)
        wins = {}
        for wid in out.split():
            title = self.xdotool("getwindowname", wid, check=False).strip()
            wins[wid] = title
        return wins

    def wait_window(self, name, timeout=30, poll=0.1):
        """The id of the visible window whose title matches the regex `name`
        (xdotool search --name); fails after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            self._alive("a window named /%s/" % name)
            wins = self.windows(name)
            if wins:
                return next(iter(wins))
            if time.monotonic() > deadline:
                raise GuiError("timeout (%ds): no window named /%s/; windows: %r\n"
                               "wireshark output:\n%s"
                               % (timeout, name, self.windows(visible=False),
                                  self.output_excerpt()))
            time.sleep(poll)

    def wait_main(self, timeout=30):
        """The main window, titled after the capture file."""
        base = re.escape(os.path.basename(self.capture))
        self.main = self.wait_window("^%s$" % base, timeout)
        return self.main

    def focus(self, wid):
        self.xdotool("windowfocus", "--sync", wid)

    def key(self, *keys, wid=None, delay=None):
        """Type keys (xdotool key syntax) into the focused window, or focus
        `wid` first."""
        if wid:
            self.focus(wid)
        args = ["key"]
        if delay is not None:
            args += ["--delay", str(delay)]
        self.xdotool(*(args + list(keys)))

    def type(self, text):
        self.xdotool("type", "--delay", "5", text)

    def geometry(self, wid):
        """(x, y, width, height) of a window."""
        out = self.xdotool("getwindowgeometry", "--shell", wid)
        g = dict(line.split("=", 1) for line in out.split())
        return int(g["X"]), int(g["Y"]), int(g["WIDTH"]), int(g["HEIGHT"])

    def click(self, wid, x, y, button=1):
        """Click at (x, y) relative to a window.  (No mousemove --sync: it
        waits forever when the pointer is there already.)"""
        self.xdotool("mousemove", "--window", wid, str(x), str(y), "click", str(button))

    def raise_window(self, wid):
        """Put a window above the others (without a window manager, a
        covered part of a window would come out black in its screenshot)."""
        self.xdotool("windowraise", wid)

    def screenshot(self, wid, path, raise_first=True):
        """A PNG of one window (no window manager, so no decorations)."""
        if raise_first:
            self.raise_window(wid)
            time.sleep(0.2)  # for the uncovered part to be repainted
        self.x("import", "-window", wid, path, timeout=30)
        return path

    # ---- Wireshark actions ---------------------------------------------

    def popups(self):
        """Ids of the open popup menus: visible windows of class wireshark
        whose _NET_WM_WINDOW_TYPE is a menu (they have no WM_NAME)."""
        ids = self.xdotool("search", "--onlyvisible", "--class", "^wireshark$",
                           check=False).split()
        menus = set()
        for wid in ids:
            types = self.x("xprop", "-id", wid, "_NET_WM_WINDOW_TYPE", check=False)
            if "_MENU" in types:
                menus.add(wid)
        return menus

    def wait_popups(self, count, what, timeout=10, poll=0.05):
        """Until exactly `count` popup menus are open."""
        deadline = time.monotonic() + timeout
        while True:
            self._alive(what)
            n = len(self.popups())
            if n == count:
                return
            if time.monotonic() > deadline:
                raise GuiError("timeout (%ds): %d menus open instead of %d (%s)"
                               % (timeout, n, count, what))
            time.sleep(poll)

    def open_summary(self, timeout=20):
        """Statistics > TCP Connection Lifecycles, by keyboard; the
        dialog's window id.

        Wireshark 4.0's Qt GUI cannot open a stats_tree with -z, and the
        menu items have no mnemonics.  Plugins' stats_trees come last in
        the Statistics menu and, with only our plugin loaded, ours
        ("TCP Connection Lifecycles", after the built-in "F5" submenu) is
        the last item: Alt+S, Up (wraps round to the last item), Return."""
        self.key("alt+s", wid=self.main)
        self.wait_popups(1, "the Statistics menu")
        self.key("Up")
        self.key("Return")
        return self.wait_window(summary_title(self.capture), timeout)

    # Statistics > Flow Graph: its place in the Statistics menu, as the
    # number of Downs from the first item (Capture File Properties, selected
    # when the menu opens), with only tcpstate among the plugins.  4.0.17:
    # 7 items, a separator, the unsorted group (DHCP (BOOTP) Statistics,
    # NetPerfMeter Statistics, ONC-RPC Programs, TCP Connection Lifecycles:
    # Connections), 29West, ANCP, BACnet, Collectd, DNS, Flow Graph.  Other
    # releases arrange the menu differently: their position is not known
    # here, so open_flow_graph() tries the others in turn.
    FLOW_GRAPH_DOWNS = {(4, 0): 17}

    def open_flow_graph(self, version, timeout=20):
        """Statistics > Flow Graph, by keyboard; the dialog's window id.
        The menu items have no mnemonics: Down n times from the first item,
        n from FLOW_GRAPH_DOWNS for this release, else (or if that opens
        something else) every n up to 45 in turn, closing whatever opened
        instead (Escape), until the window titled "... · Flow · ..." shows."""
        guess = self.FLOW_GRAPH_DOWNS.get(tuple(version[:2]))
        tries = ([guess] if guess else []) + [n for n in range(1, 46) if n != guess]
        before = set(self.windows())
        for n in tries:
            self.key("alt+s", wid=self.main)
            self.wait_popups(1, "the Statistics menu")
            self.key(*["Down"] * n)
            self.key("Return")
            deadline = time.monotonic() + (timeout if n == guess else 4)
            while time.monotonic() < deadline:
                self._alive("the Flow Graph")
                new = {w: t for w, t in self.windows().items() if w not in before}
                flow = [w for w, t in new.items() if re.search(flow_title(self.capture), t)]
                if flow:
                    return flow[0]
                if new:                     # another dialog: close it, try the next
                    for wid in new:
                        self.key("Escape", wid=wid)
                    time.sleep(0.5)
                    break
                time.sleep(0.1)
            else:
                # nothing opened (a submenu): close the menus
                for _ in range(3):
                    if not self.popups():
                        break
                    self.key("Escape")
                    time.sleep(0.2)
        raise GuiError("no Statistics menu item opened the Flow Graph")

    def select_flow_type_tcp_states(self, wid):
        """Flow type: "TCP states", by keyboard.  The dialog opens with the
        diagram focused; two Tabs reach the Flow type combo box, whose
        keyboard search picks the first item starting with "TCP" (TCP's own
        "TCP Flows", registered as "tcp") and redraws, which gives the focus
        back to the diagram; the item after it is tcpstate's "TCP states"
        (the items are sorted by the analyses' names).  The caller checks
        that it was selected (export_flow_text)."""
        self.focus(wid)
        self.key("Tab", "Tab")
        self.type("TCP")
        time.sleep(1.5)                     # the redraw, and the search's timeout
        self.key("Tab", "Tab", "Down")
        time.sleep(1.5)

    def export_flow_text(self, wid, path, timeout=20):
        """The diagram's Export as ASCII (*.txt) into `path` (writable by
        the GUI's user); its text.  The Save dialog (Qt's own, titled "Save
        Graph As…") opens with the file name focused; the file type is the
        combo box at the bottom, its last item ASCII."""
        if os.path.exists(path):
            os.unlink(path)
        self.key("alt+e", wid=wid)          # the Export button (&Export)
        save = self.wait_window("Save Graph As", timeout)
        self.focus(save)
        self.type(path)
        _, _, width, height = self.geometry(save)
        self.click(save, width // 2, height - 24)
        time.sleep(0.5)
        self.key("End", "Return")           # ASCII (*.txt)
        time.sleep(0.3)
        self.key("Return")                  # Save
        deadline = time.monotonic() + timeout
        while not (os.path.exists(path) and os.path.getsize(path) > 0):
            self._alive("the exported flow text")
            if time.monotonic() > deadline:
                raise GuiError("timeout (%ds): the Flow Graph was not exported to %s"
                               % (timeout, path))
            time.sleep(0.2)
        time.sleep(0.3)                     # written in one go; let it close
        with open(path, encoding="utf-8") as fp:
            return fp.read()

    def copy(self, clipboard, keys, wid=None, what="", expect=None, timeout=10):
        """Press `keys` (a copy action) and return the clipboard's text.
        Until it has `expect` (when given), press them again: the GUI may
        still be busy (applying a filter), and then copies nothing."""
        deadline = time.monotonic() + timeout
        text = None
        while True:
            clipboard.clear()
            self.key(*keys, wid=wid)
            try:
                text = clipboard.wait(what, timeout=0.8)
            except GuiError:
                pass
            else:
                if expect is None or expect in text:
                    return text
            if time.monotonic() > deadline:
                if text is None:
                    raise GuiError("timeout (%ds): nothing copied to the clipboard (%s)"
                                   % (timeout, what))
                raise GuiError("timeout (%ds): the clipboard (%s) never had %r; last:\n%s"
                               % (timeout, what, expect, text))
            time.sleep(0.2)

    def copy_dialog(self, clipboard, wid, what="the dialog"):
        """The text of a statistics dialog, through its context menu's first
        item, Copy (the tree has the focus when the dialog opens; Ctrl+C
        there would copy only the current cell)."""
        clipboard.clear()
        self.key("Menu", wid=wid)
        self.wait_popups(1, "the context menu of %s" % what)
        self.key("Down", "Return")
        return clipboard.wait(what)

    def copy_packet_row(self, clipboard, expect=None):
        """Edit > Copy > As Plain Text (the first item of the first item of
        the Edit menu): the column titles and the selected packet's row."""
        def keys():
            self.key("alt+e", wid=self.main)
            self.wait_popups(1, "the Edit menu")
            self.key("Return")
            self.wait_popups(2, "Edit > Copy")
            self.key("Return")
        deadline = time.monotonic() + 10
        while True:
            clipboard.clear()
            keys()
            text = clipboard.wait("Edit > Copy > As Plain Text")
            if expect is None or expect in text or time.monotonic() > deadline:
                return text
            time.sleep(0.2)

    def apply_filter(self, dfilter):
        """Type a display filter into the main window's filter bar."""
        self.key("ctrl+slash", wid=self.main)
        self.key("ctrl+a", "BackSpace")
        self.type(dfilter)
        self.key("Return")

    def details_field(self, clipboard):
        """The filter name of the selected packet-details item
        (Edit > Copy > Field Name)."""
        return self.copy(clipboard, ["ctrl+alt+shift+f"], what="field name").strip()

    def focus_details(self):
        """Give the packet-details pane the keyboard focus: a click in its
        empty lower part (the bytes pane is hidden, so the details pane
        reaches down to the status bar)."""
        _, _, width, height = self.geometry(self.main)
        self.click(self.main, width // 2, height - 40)

    def close(self):
        _kill_group(self.proc)
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def conns_title(capture):
    return "^Wireshark · TCP Connection Lifecycles: Connections · %s$" % re.escape(
        os.path.basename(capture))


def summary_title(capture):
    return "^Wireshark · TCP Connection Lifecycles · %s$" % re.escape(os.path.basename(capture))


def flow_title(capture):
    return "^Wireshark · Flow · %s$" % re.escape(os.path.basename(capture))
