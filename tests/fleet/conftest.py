"""Fixtures for the fleet tests (tests/fleet/CMakeLists.txt).

The fleet tool runs tshark as it finds it, with whatever plugin the user
installed.  Here it must see the build tree's plugin and never a globally
installed tcpstate, so the tool itself (and any Dask scheduler and worker a
test starts) runs in tshark_env's throwaway environment: HOME with the
plugin in its personal folder, WIRESHARK_PLUGIN_DIR pointing the global
folder at an empty one, and, as root, as the user "nobody" (Wireshark skips
personal plugins for root).  Every file a test makes lives under that HOME,
owned by that user.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, TESTS)

from tshark_env import TShark  # noqa: E402

import fleet_tool  # noqa: E402

PYTHON = "/usr/bin/python3"


def pytest_addoption(parser):
    parser.addoption("--plugin-path", help="the built tcpstate.so")
    parser.addoption("--tcpgen", help="the built tcpgen (tests/bench)")
    parser.addoption("--source-dir", default=os.path.dirname(TESTS), help="the checkout")


DASK_SKIPPED = []


def dask_missing():
    """None if Dask's distributed scheduler imports; else why not."""
    try:
        import distributed  # noqa: F401
        import dask.bag  # noqa: F401
        return None
    except ImportError as e:
        return ("SKIP: Dask does not import (%s): tcpstate-fleet needs Debian's python3-dask "
                "and python3-distributed (tools/install-deps.sh installs them where the "
                "release has them)" % e)


@pytest.fixture(scope="session")
def dask_ok():
    why = dask_missing()
    if why:
        DASK_SKIPPED.append(why)
        pytest.skip(why)


def pytest_sessionfinish(session, exitstatus):
    """Tests skipped for want of Dask, and nothing failed: exit 77, which
    ctest reports as skipped (SKIP_RETURN_CODE in tests/fleet/CMakeLists.txt)."""
    if DASK_SKIPPED and exitstatus == 0 and not session.testsfailed:
        print("\n" + DASK_SKIPPED[0])
        session.exitstatus = 77


class Env:
    """The throwaway tshark environment, and the fleet tool run in it."""

    def __init__(self, config):
        self.source = os.path.abspath(config.getoption("--source-dir"))
        self.tcpgen = config.getoption("--tcpgen")
        self.samples = os.path.join(self.source, "sample-captures")
        self.tshark = TShark(config.getoption("--plugin-path"))
        # A copy the tshark user can read, wherever the checkout lives (a
        # clone in a mktemp -d folder is not readable by "nobody").
        self.tool = self.tshark.stage(os.path.join(self.source, "tools", "tcpstate-fleet"))
        self.env = dict(self.tshark.env)
        self.env.pop("LD_PRELOAD", None)
        self.work = self.mkdir(os.path.join(self.tshark.home, "work"))

    def close(self):
        self.tshark.close()

    def own(self, path):
        """Give PATH (and what is under it) to the user tshark runs as."""
        if self.tshark.root:
            for dirpath, dirnames, filenames in os.walk(path):
                for name in dirnames + filenames:
                    os.lchown(os.path.join(dirpath, name), self.tshark.uid, self.tshark.gid)
            os.lchown(path, self.tshark.uid, self.tshark.gid)

    def mkdir(self, path):
        os.makedirs(path, exist_ok=True)
        os.chmod(path, 0o755)
        self.own(path)
        return path

    def tempdir(self, prefix):
        return self.mkdir(tempfile.mkdtemp(prefix=prefix, dir=self.work))

    def as_user(self, args):
        """ARGS as the tshark user (setpriv when root)."""
        if self.tshark.root:
            return ["setpriv", "--reuid=%d" % self.tshark.uid, "--regid=%d" % self.tshark.gid,
                    "--clear-groups", "--"] + list(args)
        return list(args)

    def fleet(self, *args, timeout=240, check=None, **kw):
        """Run tools/tcpstate-fleet; CHECK: the exit status it must have."""
        proc = subprocess.run(self.as_user([PYTHON, self.tool] + [str(a) for a in args]),
                              env=self.env, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, cwd=self.work, **kw)
        if check is not None and proc.returncode != check:
            raise AssertionError("tcpstate-fleet %s: exit %d, not %d\nstdout:\n%s\nstderr:\n%s"
                                 % (" ".join(map(str, args)), proc.returncode, check,
                                    proc.stdout[-3000:], proc.stderr[-5000:]))
        return proc

    def report(self, out, name, *extra):
        proc = self.fleet("report", out, name, "--json", "--workers", 2, *extra, check=0)
        return json.loads(proc.stdout)

    # ---- tshark's own records: the reference ------------------------------

    def records(self, files):
        """What tshark itself says for FILES read in order with one state_dir:
        ([[lines of file 1], [lines of file 2], ...], {uid: record} with the
        last record of each uid)."""
        state = self.tempdir("state-")
        per_file, last = [], {}
        try:
            for path in files:
                proc = self.tshark.run(["-n", "-q", "-r", path, "-o",
                                        "tcpstate.state_dir:" + state, "-z", "tcpstate,records"])
                lines = [l for l in proc.stdout.splitlines() if l.strip()]
                per_file.append(lines)
                for line in lines:
                    rec = json.loads(line)
                    last[rec["uid"]] = rec
        finally:
            shutil.rmtree(state, ignore_errors=True)
        return per_file, last

    def capture(self, src, dst, mtime=None):
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(src, dst)
        os.chmod(dst, 0o644)
        if mtime is not None:
            os.utime(dst, (mtime, mtime))
        return dst

    def gen(self, dst, *args):
        subprocess.run([self.tcpgen] + [str(a) for a in args] + ["-o", dst], check=True,
                       capture_output=True)
        os.chmod(dst, 0o644)
        return dst

    def split(self, src, dst_dir, prefix, packets, rename=None):
        """editcap -c PACKETS: SRC as a ring set PREFIX_NNNNN_TIME.pcap in
        DST_DIR; RENAME(number, time) -> a file name instead (dumpcap's names)."""
        os.makedirs(dst_dir, exist_ok=True)
        subprocess.run(["editcap", "-c", str(packets), src, os.path.join(dst_dir, prefix + ".pcap")],
                       check=True, capture_output=True)
        files = sorted(f for f in os.listdir(dst_dir) if f.startswith(prefix + "_"))
        out = []
        for f in files:
            path = os.path.join(dst_dir, f)
            if rename:
                num, stamp = f[len(prefix) + 1:].split(".")[0].split("_")
                new = os.path.join(dst_dir, rename(int(num), stamp))
                os.rename(path, new)
                path = new
            os.chmod(path, 0o644)
            out.append(path)
        return out


@pytest.fixture(scope="session")
def env(request, dask_ok):
    config = request.config
    if not config.getoption("--plugin-path") or not config.getoption("--tcpgen"):
        pytest.fail("--plugin-path and --tcpgen are needed (ctest passes them)")
    e = Env(config)
    yield e
    e.close()


def chain_lines(out, rel):
    with open(os.path.join(out, rel), encoding="utf-8") as f:
        return f.read().splitlines()


def manifest_of(out):
    with open(os.path.join(out, "manifest.json"), encoding="utf-8") as f:
        return json.load(f)


# ---- the counts, straight from the JSONL files (the reports must agree) ------

def all_records(out):
    """Every record of OUT's chains, straight from the files the manifest lists."""
    recs = []
    for chain in manifest_of(out)["chains"]:
        if chain["status"] == "ok":
            for line in chain_lines(out, chain["output"]):
                r = json.loads(line)
                r["_sensor"], r["_chain"] = chain["sensor"], chain["chain"]
                recs.append(r)
    return recs


def expected_closers(recs):
    """docs/fleet.md's rule, written out again: refused, then reset (close
    style rst_*), then the closer."""
    rows = {}
    for r in recs:
        row = rows.setdefault(r["tcpstate.server"], dict(
            server=r["tcpstate.server"], connections=0, server_closed=0, client_closed=0,
            simultaneous=0, reset=0, refused=0, not_closed=0))
        row["connections"] += 1
        if r["tcpstate.outcome"] == "refused":
            row["refused"] += 1
        elif r["tcpstate.close_style"].startswith("rst_by_"):
            row["reset"] += 1
        elif r["tcpstate.closer"] == "server":
            row["server_closed"] += 1
        elif r["tcpstate.closer"] == "client":
            row["client_closed"] += 1
        elif r["tcpstate.closer"] == "both":
            row["simultaneous"] += 1
        else:
            row["not_closed"] += 1
    return rows
