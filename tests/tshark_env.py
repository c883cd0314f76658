"""Run tshark with the tcpstate plugin from the build tree, never installed.

Wireshark only loads plugins from its global folder and from the personal
folder ~/.local/lib/wireshark/plugins/<major.minor>/epan.  As root it skips
the personal folder and ignores WIRESHARK_PLUGIN_DIR.  So every run gets a
throwaway HOME holding a copy of the built plugin in its personal folder, and
when we are root tshark runs as the unprivileged user "nobody" (setpriv),
which the personal folder is fine for.  Captures are copied into that HOME
too, so nobody can read them wherever the checkout lives.

WIRESHARK_PLUGIN_DIR (honoured for the unprivileged user) points the
*global* plugin folder at an empty directory, so that a tcpstate installed
with `cmake --install` or a package never shadows the build tree's copy
(Wireshark loads the global folder first and skips a second plugin of the
same name).

As in Wireshark's own test suite: TZ=UTC, no XDG_CONFIG_HOME, a fresh HOME.

Sanitizer builds: $TCPSTATE_PRELOAD names the ASan runtime to preload into
tshark (which is not instrumented); any sanitizer report fails the run.
"""

import os
import pwd
import re
import shutil
import subprocess
import tempfile
import threading

NOBODY = "nobody"
SANITIZER_REPORT = re.compile(r"ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer")


class TShark:
    """One throwaway environment (HOME, plugin copy); many tshark runs."""

    def __init__(self, plugin_path=None, lua_scripts=(), tshark="tshark"):
        self.tshark = shutil.which(tshark) or tshark
        self.root = os.geteuid() == 0
        self.home = tempfile.mkdtemp(prefix="tcpstate-tshark-")
        os.chmod(self.home, 0o755)
        if self.root:
            pw = pwd.getpwnam(NOBODY)
            self.uid, self.gid = pw.pw_uid, pw.pw_gid
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("XDG_", "WIRESHARK_"))}
        global_plugins = os.path.join(self.home, "global-plugins")
        os.makedirs(global_plugins)
        # No extcaps either: tests need none, and -G plugins would run them
        # (androiddump hangs with a sanitizer runtime preloaded).
        no_extcaps = os.path.join(self.home, "extcap")
        os.makedirs(no_extcaps)
        self.env.update(HOME=self.home, TZ="UTC", LC_ALL="C.UTF-8",
                        WIRESHARK_PLUGIN_DIR=global_plugins, WIRESHARK_EXTCAP_DIR=no_extcaps)
        preload = os.environ.get("TCPSTATE_PRELOAD")
        if preload:
            # Wireshark's own leaks at exit are not ours: memcheck covers leaks.
            self.env.update(LD_PRELOAD=preload, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0",
                            UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
        self._captures = {}
        self._lock = threading.Lock()       # stage() from several threads
        self.plugin_dir = None
        if plugin_path:
            self.plugin_dir = self._personal_plugin_dir()
            epan = os.path.join(self.plugin_dir, "epan")
            os.makedirs(epan, exist_ok=True)
            shutil.copy2(plugin_path, os.path.join(epan, os.path.basename(plugin_path)))
        self.lua_args = []
        for script in lua_scripts:
            self.lua_args += ["-X", "lua_script:" + self.stage(script)]
        if self.root:
            for dirpath, dirnames, filenames in os.walk(self.home):
                for name in dirnames + filenames:
                    os.chown(os.path.join(dirpath, name), self.uid, self.gid)
            os.chown(self.home, self.uid, self.gid)

    def close(self):
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _command(self, args):
        cmd = [self.tshark] + list(args)
        if self.root:
            cmd = ["setpriv", "--reuid=%d" % self.uid, "--regid=%d" % self.gid,
                   "--clear-groups", "--"] + cmd
        return cmd

    def _personal_plugin_dir(self):
        out = subprocess.run(self._command(["-G", "folders"]), env=self.env,
                             capture_output=True, text=True, check=True).stdout
        m = re.search(r"^Personal Plugins:\s*(\S+)", out, re.M)
        if not m:
            raise RuntimeError("tshark -G folders shows no personal plugin folder:\n" + out)
        return m.group(1)

    def stage(self, path):
        """A copy of a file that the tshark user can read."""
        path = os.path.abspath(path)
        with self._lock:
            return self._stage(path)

    def _stage(self, path):
        if path not in self._captures:
            d = os.path.join(self.home, "files", str(len(self._captures)))
            os.makedirs(d)
            dst = os.path.join(d, os.path.basename(path))
            shutil.copy2(path, dst)
            if self.root:
                for p in (os.path.join(self.home, "files"), d, dst):
                    os.chown(p, self.uid, self.gid)
            self._captures[path] = dst
        return self._captures[path]

    def run(self, args, capture=None, check=True, timeout=600):
        """Run tshark; capture (a path) becomes '-r <staged copy>'."""
        args = list(args)
        if capture is not None:
            args = ["-r", self.stage(capture)] + args
        proc = subprocess.run(self._command(self.lua_args + args), env=self.env,
                              capture_output=True, text=True, timeout=timeout)
        if SANITIZER_REPORT.search(proc.stderr):
            raise AssertionError("sanitizer report from tshark %s:\n%s" % (" ".join(args),
                                                                            proc.stderr))
        if check and proc.returncode != 0:
            raise AssertionError("tshark %s failed (%d):\n%s" % (" ".join(args), proc.returncode,
                                                                  proc.stderr))
        return proc

    def fields(self, capture, fields, extra=()):
        """Rows of -T fields output: one list of strings per frame, with
        frame.number first.  Empty string = field absent; repeated
        occurrences are joined by ','."""
        args = ["-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,",
                "-e", "frame.number"]
        for f in fields:
            args += ["-e", f]
        out = self.run(args + list(extra), capture=capture).stdout
        return [line.split("\t") for line in out.splitlines()]

    @property
    def version(self):
        """Wireshark's (major, minor, micro), from tshark --version."""
        if not hasattr(self, "_version"):
            out = self.run(["--version"]).stdout
            m = re.search(r"^TShark \(Wireshark\) (\d+)\.(\d+)\.(\d+)", out, re.M)
            if not m:
                raise RuntimeError("tshark --version shows no version:\n" + out[:200])
            self._version = tuple(int(g) for g in m.groups())
        return self._version

    def values(self, field_prefix="tcpstate."):
        """{field: {number: label}} from tshark -G values."""
        vals = {}
        for line in self.run(["-G", "values"]).stdout.splitlines():
            parts = line.split("\t")
            if len(parts) == 4 and parts[0] == "V" and parts[1].startswith(field_prefix):
                vals.setdefault(parts[1], {})[parts[2]] = parts[3]
        return vals


def install_lua(tshark, lua_dir):
    """Copy the Lua twin's *.lua files into the personal Lua plugin folder
    of the throwaway HOME (<folder>/tcpstate/), as an installation does."""
    out = tshark.run(["-G", "folders"]).stdout
    m = re.search(r"^Personal Lua Plugins:\s*(\S+)", out, re.M)
    if not m:
        raise RuntimeError("tshark -G folders shows no personal Lua plugin folder:\n" + out)
    dst = os.path.join(m.group(1), "tcpstate")
    os.makedirs(dst, exist_ok=True)
    for name in sorted(os.listdir(lua_dir)):
        if name.endswith(".lua"):
            shutil.copy2(os.path.join(lua_dir, name), os.path.join(dst, name))
    if tshark.root:
        for dirpath, dirnames, filenames in os.walk(tshark.home):
            for name in dirnames + filenames:
                os.chown(os.path.join(dirpath, name), tshark.uid, tshark.gid)
    tshark.lua_plugin_dir = dst
    return dst
