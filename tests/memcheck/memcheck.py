#!/usr/bin/python3
"""valgrind memcheck of tshark with the tcpstate plugin.

    # every sample capture, one tshark run each (slow: valgrind starts tshark
    # ~200 times, about a minute each):
    /usr/bin/python3 tests/memcheck/memcheck.py --plugin build/tcpstate.so --all
    # every sample capture's packets in one tshark run (~2.5-4 min):
    /usr/bin/python3 tests/memcheck/memcheck.py --plugin build/tcpstate.so --merged
    # a representative subset's packets in one run (ctest memcheck.samples, ~2 min):
    /usr/bin/python3 tests/memcheck/memcheck.py --plugin build/tcpstate.so --merged --subset
    # some captures:
    /usr/bin/python3 tests/memcheck/memcheck.py --plugin build/tcpstate.so X.pcap Y.pcapng
    # the canary (ctest memcheck.canary): a plugin built with its deliberate
    # bugs (tests/memcheck/CMakeLists.txt) must be caught
    /usr/bin/python3 tests/memcheck/memcheck.py --plugin build/tests/memcheck/tcpstate-selftest.so --canary

Each run is tshark as tests/tshark_env.py sets it up (throwaway HOME, the
plugin copied into the personal plugin folder, as `nobody` when root) under
valgrind, with every part of the plugin exercised: two passes (-2), the
packet details and summary lines (-V -P, so the tree, the columns with the
Info tag on every segment and the expert infos are rendered), checksums
verified (-o tcp.check_checksum:TRUE, the bad-checksum path), and its two
statistics (-z tcpstate,tree, -z tcpstate,conns) plus -z expert, and its
Flow Graph (-z flow,tcpstate,standard: arrows made and freed).  GLib and
wmem allocate with plain malloc (G_SLICE=always-malloc,
WIRESHARK_DEBUG_WMEM_OVERRIDE=simple), so valgrind sees every block.
--keep-debuginfo=yes: Wireshark unloads its plugins before exiting, and the
leak report would otherwise show the plugin's frames as "???".

Verdict, per run, from valgrind's XML report after the suppressions of
tests/memcheck/tcpstate.supp that are for the Wireshark release under test
(each entry names the releases it was measured on, "[4.0 4.4] ...", and
says why the block is not the plugin's; a release the file does not know
gets the entries of the newest release before it, and memcheck.py says so):
  - any error that is not a leak (invalid read or write, invalid free, use
    of uninitialised values, ...), wherever it is: FAIL;
  - a definitely or indirectly lost block with a frame in tcpstate.so in
    its allocation stack: FAIL (a leak of the plugin's own);
  - a lost block without any tcpstate.so frame: Wireshark's, listed, not a
    failure (there should be none: add it to the suppressions if it is
    noise);
  - tshark must exit 0.
Exit status 0 when every run passes (--canary: when the canary is caught).
"""

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from tshark_env import TShark  # noqa: E402

SUPPRESSIONS = os.path.join(HERE, "tcpstate.supp")
SAMPLES = os.path.join(ROOT, "sample-captures")
PLUGIN_OBJ = "tcpstate"     # in the object path of the plugin's frames

VALGRIND = ["valgrind", "--tool=memcheck", "--leak-check=full",
            "--show-leak-kinds=definite,indirect", "--errors-for-leak-kinds=definite,indirect",
            "--keep-debuginfo=yes", "--num-callers=40", "--track-origins=no",
            "--gen-suppressions=all", "--child-silent-after-fork=yes", "--xml=yes"]
TSHARK_ARGS = ["-2", "-P", "-V", "-o", "tcpstate.info_tag:always",
               "-o", "tcp.check_checksum:TRUE",
               "-z", "tcpstate,tree", "-z", "tcpstate,conns", "-z", "expert",
               "-z", "flow,tcpstate,standard"]
ENV = {"G_SLICE": "always-malloc", "G_DEBUG": "gc-friendly",
       "WIRESHARK_DEBUG_WMEM_OVERRIDE": "simple"}
LEAKS = ("Leak_DefinitelyLost", "Leak_IndirectlyLost")

# One suppression: "{", its name "[4.0 4.4 4.6] why", the rest, "}".
SUPP_ENTRY = re.compile(r"^\{[ \t]*\n[ \t]*(?P<name>[^\n]*)\n(?P<body>.*?)^\}[ \t]*$",
                        re.M | re.S)
SUPP_TAG = re.compile(r"^\[(?P<releases>\d+\.\d+(?: \d+\.\d+)*)\] \S")


def release_key(release):
    return tuple(int(x) for x in release.split("."))


def suppression_entries(path=SUPPRESSIONS):
    """[(releases, name, text)] of the suppression file; every entry must be
    tagged with the releases it is for."""
    with open(path, encoding="utf-8") as fp:
        text = fp.read()
    entries = []
    for m in SUPP_ENTRY.finditer(text):
        tag = SUPP_TAG.match(m.group("name"))
        if not tag:
            raise SystemExit("%s: suppression %r names no releases ([4.0 4.4] ...)"
                             % (path, m.group("name")))
        entries.append((tag.group("releases").split(), m.group("name"), m.group(0)))
    return entries


def suppressions_for(release, path=SUPPRESSIONS):
    """(the release whose entries apply, [(name, text)]) for a Wireshark
    major.minor: its own entries, or those of the newest release the file
    knows before it."""
    entries = suppression_entries(path)
    known = sorted({r for rels, _, _ in entries for r in rels}, key=release_key)
    use = release
    if release not in known:
        older = [r for r in known if release_key(r) < release_key(release)]
        use = older[-1] if older else known[0]
    return use, [(name, text) for rels, name, text in entries if use in rels]


class Frame:
    def __init__(self, el):
        self.fn = el.findtext("fn") or "?"
        self.obj = el.findtext("obj") or ""
        self.file = el.findtext("file") or ""
        self.line = el.findtext("line") or ""

    @property
    def plugin(self):
        return PLUGIN_OBJ in os.path.basename(self.obj)

    def __str__(self):
        where = "%s:%s" % (self.file, self.line) if self.file else os.path.basename(self.obj)
        return "%s (%s)" % (self.fn, where)


class Error:
    def __init__(self, el):
        self.kind = el.findtext("kind")
        xwhat = el.find("xwhat")
        self.what = xwhat.findtext("text") if xwhat is not None else el.findtext("what")
        stack = el.find("stack")
        self.frames = [Frame(f) for f in stack.findall("frame")] if stack is not None else []
        supp = el.find("suppression")
        self.suppression = supp.findtext("rawtext") if supp is not None else ""

    @property
    def leak(self):
        return self.kind in LEAKS

    @property
    def plugin(self):
        return any(f.plugin for f in self.frames)

    @property
    def verdict(self):
        """'access' and 'plugin-leak' fail; 'wireshark-leak' is listed."""
        if not self.leak:
            return "access"
        return "plugin-leak" if self.plugin else "wireshark-leak"

    def describe(self, frames=14):
        lines = ["%s [%s]: %s" % (self.kind, self.verdict, self.what)]
        lines += ["    %s%s" % ("* " if f.plugin else "  ", f) for f in self.frames[:frames]]
        return "\n".join(lines)


class Report:
    """One valgrind run: its unsuppressed errors and suppression counts."""

    def __init__(self, name, xml_path, returncode, seconds, stderr):
        self.name, self.returncode, self.seconds, self.stderr = name, returncode, seconds, stderr
        root = ET.parse(xml_path).getroot()
        self.errors = [Error(e) for e in root.findall("error")]
        self.suppressed = collections.Counter()
        for pair in root.findall("suppcounts/pair"):
            self.suppressed[pair.findtext("name")] += int(pair.findtext("count"))

    def by_verdict(self):
        return collections.Counter(e.verdict for e in self.errors)

    @property
    def ok(self):
        v = self.by_verdict()
        return self.returncode == 0 and not v["access"] and not v["plugin-leak"]

    def summary(self):
        v = self.by_verdict()
        return ("%-4s %-48s %6.1fs  exit %d  invalid/uninit %d  plugin leaks %d  "
                "wireshark leaks %d  suppressed %d" % (
                    "ok" if self.ok else "FAIL", self.name[-48:], self.seconds, self.returncode,
                    v["access"], v["plugin-leak"], v["wireshark-leak"],
                    sum(self.suppressed.values())))


class Memcheck(TShark):
    """TShark whose run_valgrind() runs tshark under valgrind."""

    def release(self):
        return "%d.%d" % self.version[:2]

    def suppression_file(self):
        """The entries of tcpstate.supp for this release, in a file in the
        throwaway HOME (made once); sets self.supp_release, self.supp_names."""
        if not hasattr(self, "_supp_path"):
            self.supp_release, entries = suppressions_for(self.release())
            self.supp_names = [name for name, _ in entries]
            self._supp_path = os.path.join(self.home, "tcpstate-%s.supp" % self.supp_release)
            with open(self._supp_path, "w", encoding="utf-8") as fp:
                fp.write("\n".join(text for _, text in entries) + "\n")
            os.chmod(self._supp_path, 0o644)
        return self._supp_path

    def run_valgrind(self, capture, args=TSHARK_ARGS, extra_env=None, supp=True,
                     timeout=3600):
        staged = self.stage(capture)
        logdir = tempfile.mkdtemp(prefix="vg-", dir=self.home)
        if self.root:
            os.chown(logdir, self.uid, self.gid)
        xml_path = os.path.join(logdir, "memcheck.xml")
        cmd = self._command(["-r", staged] + list(args))
        i = cmd.index(self.tshark)
        vg = VALGRIND + ["--xml-file=" + xml_path]
        if supp:
            vg.append("--suppressions=" + self.suppression_file())
        cmd[i:i] = vg
        env = dict(self.env, **ENV)
        env.update(extra_env or {})
        t0 = time.time()
        proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, timeout=timeout)
        report = Report(os.path.relpath(capture, ROOT) if capture.startswith(ROOT) else capture,
                        xml_path, proc.returncode, time.time() - t0, proc.stderr)
        shutil.rmtree(logdir, ignore_errors=True)
        return report


def sample_captures():
    out = []
    for dirpath, _, files in os.walk(SAMPLES):
        out += [os.path.join(dirpath, f) for f in files if f.endswith((".pcap", ".pcapng", ".pcap.gz"))]
    return sorted(out)


# The ctest subset (--subset): every adversarial capture, the hand-crafted
# captures that reach the most code (every anomaly, every illegal flag
# combination, the SYN flood, ICMP quotes, tunnels, VLANs, port reuse,
# mid-stream pickups) and real kernel captures of IPv6, a simultaneous
# open and close, an abort and a reset: about a third of the packets.
SUBSET = ("adversarial/",
          "crafted/anomalies.", "crafted/illegal_flags.", "crafted/syn_flood.",
          "crafted/icmp_quoted.", "crafted/tunnels.", "crafted/vlan_qinq_ipv6.",
          "crafted/port_reuse.", "crafted/midstream.",
          "kernel/ipv6.", "kernel/simultaneous_open.", "kernel/simultaneous_close.",
          "kernel/abort_linger0.", "kernel/server_reset.")


def merged_capture(workdir, subset=False):
    """Every sample capture's packets (or the subset's), one file after the
    other (mergecap -a)."""
    caps = sample_captures()
    if subset:
        caps = [c for c in caps if os.path.relpath(c, SAMPLES).startswith(SUBSET)]
    path = os.path.join(workdir, "subset.pcapng" if subset else "all-samples.pcapng")
    subprocess.run(["mergecap", "-a", "-F", "pcapng", "-w", path] + caps, check=True)
    os.chmod(path, 0o644)
    return path


def print_failures(report, gen_supp):
    for e in report.errors:
        print(e.describe())
        if gen_supp and e.suppression:
            print(e.suppression)
    if report.returncode != 0:
        print("tshark exited %d:\n%s" % (report.returncode, report.stderr[-3000:]))


def canary(mc, capture):
    """The deliberate bugs of a selftest plugin (TCPSTATE_DELIBERATE_BUG=leak,
    plugin/packet-tcpstate.c) come out as an invalid read and a definite leak
    in the plugin, through the same suppressions."""
    rep = mc.run_valgrind(capture, args=["-c", "1"],
                          extra_env={"TCPSTATE_DELIBERATE_BUG": "leak"})
    print(rep.summary())
    found = {"invalid read in deliberate_bug": False, "plugin leak in deliberate_bug": False}
    for e in rep.errors:
        in_bug = any(f.fn == "deliberate_bug" and f.plugin for f in e.frames)
        if e.kind == "InvalidRead" and in_bug and e.verdict == "access":
            found["invalid read in deliberate_bug"] = True
        if e.kind == "Leak_DefinitelyLost" and in_bug and e.verdict == "plugin-leak":
            found["plugin leak in deliberate_bug"] = True
    for what, ok in found.items():
        print("%s canary: %s" % ("ok  " if ok else "FAIL", what))
    if not all(found.values()):
        print_failures(rep, False)
    return 0 if all(found.values()) else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--plugin", required=True, help="the built tcpstate.so")
    ap.add_argument("--all", action="store_true", help="every sample capture, one run each")
    ap.add_argument("--merged", action="store_true",
                    help="every sample capture's packets in one run (mergecap -a)")
    ap.add_argument("--subset", action="store_true",
                    help="with --merged: only the SUBSET captures (the ctest)")
    ap.add_argument("--canary", action="store_true",
                    help="--plugin is a selftest build: its deliberate bugs must be caught")
    ap.add_argument("--gen-suppressions", action="store_true",
                    help="print valgrind's suppression for every error left")
    ap.add_argument("captures", nargs="*")
    args = ap.parse_args()
    if not shutil.which("valgrind"):
        print("valgrind is not installed (tools/install-deps.sh --test)")
        return 77

    work = tempfile.mkdtemp(prefix="tcpstate-memcheck-")
    os.chmod(work, 0o755)
    mc = Memcheck(os.path.abspath(args.plugin))
    try:
        mc.suppression_file()
        print("Wireshark %s: %d suppressions of tcpstate.supp, those for %s%s" % (
            ".".join(map(str, mc.version)), len(mc.supp_names), mc.supp_release,
            "" if mc.supp_release == mc.release() else
            " (none measured for %s yet: the newest release before it)" % mc.release()))
        if args.canary:
            return canary(mc, os.path.join(SAMPLES, "kernel", "client_close.pcap"))
        captures = [os.path.abspath(c) for c in args.captures]
        if args.all:
            captures += sample_captures()
        if args.merged:
            captures.append(merged_capture(work, args.subset))
        if not captures:
            ap.error("no capture: give some, or --all, or --merged")
        reports, totals = [], collections.Counter()
        for cap in captures:
            rep = mc.run_valgrind(cap)
            reports.append(rep)
            totals.update(rep.by_verdict())
            totals["suppressed"] += sum(rep.suppressed.values())
            print(rep.summary(), flush=True)
            if not rep.ok or rep.by_verdict()["wireshark-leak"]:
                print_failures(rep, args.gen_suppressions)
        bad = [r for r in reports if not r.ok]
        print("%d runs, %d failed: invalid/uninit %d, plugin leaks %d, wireshark leaks %d "
              "(not failures), suppressed %d" % (len(reports), len(bad), totals["access"],
                                                 totals["plugin-leak"], totals["wireshark-leak"],
                                                 totals["suppressed"]))
        suppressed = collections.Counter()
        for r in reports:
            suppressed.update(r.suppressed)
        for name, n in sorted(suppressed.items()):
            print("  suppressed %5d  %s" % (n, name))
        for name in mc.supp_names:
            if not suppressed[name]:
                print("  (unused here) %s" % name)
        return 1 if bad else 0
    finally:
        mc.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
