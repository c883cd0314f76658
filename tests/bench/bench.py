#!/usr/bin/python3
"""The tcpstate benchmark: what the plugin costs tshark, in time and memory.

    /usr/bin/python3 tests/bench/bench.py --build build --sizes 1M,4M,flood1M --runs 3 --out /tmp/bench

For each size it generates a capture with tcpgen (tests/bench/tcpgen.c,
into --out, never into the checkout), then runs every row below --runs
times, round-robin (run 1 of every row, then run 2, ...), each under
/usr/bin/time -v for the peak RSS.  The table shows medians; ratios and
deltas are against baseline A.  It is printed and written, with the machine
and the exact commands, to OUT/bench.md (Markdown, for docs/performance.md)
and OUT/bench.json (every run).

Rows (--rows picks some; the ids are the first column), in pairs: a row and
the reference it is compared with (COMPARISONS; the goals are GOALS).
Installed with default preferences but not used:
  S0  tshark -r F (summary lines), no plugin          S   the same, plugin loaded
  A   -T fields -e tcp.stream -e tcp.flags, no plugin  Na  the same, plugin loaded
Used:
  N   -T fields -e tcpstate.client.state -e tcpstate.server.state -e tcpstate.illegal
      (against A)
  Y0  -Y 'tcp.flags.reset == 1', no plugin           Y   -Y 'tcpstate.illegal'
  A2  A with -2                                       N2  N with -2
  A2Y A with -2 -Y frame                              N2Y N with -2 -Y frame (a first
                                                          pass with a tree: final summaries)
  C0  -q -z conv,tcp, no plugin                      Nc  -q -z tcpstate,conns
  L   lua-compat/tcpstate.lua (-X lua_script:...), N's fields (against A);
      skipped with a note when the script is absent
Other views (not run by default):
  B   -q, no plugin (tshark -q with no filter, tap or field does not dissect
      at all)                                         Nq  the same, plugin loaded
  Nd  Nq with --disable-protocol tcpstate             Nad Na with --disable-protocol
  Ap  A plus a display filter naming the fields the tree path borrows
      (plugin/extract.c), no plugin: what wanting them would cost
  Bz  -q -z io,stat,0, no plugin (dissects, no tree) Nz  the same, plugin loaded

Every tshark runs as tests/tshark_env.py sets it up: a throwaway HOME, the
global plugin folder pointed at an empty directory (no installed tcpstate
can interfere), as "nobody" when we are root.  "No plugin" rows run in an
environment without tcpstate at all.

--profile adds an instruction profile of a small capture (--profile-size,
100k packets): rows S0, S, A, Na, N, C0 and Nc (--profile-rows) under perf (if `perf stat -e
instructions` works here) or valgrind --tool=callgrind, then the top
functions, and what the plugin adds split into its own code (tcpstate.so)
and epan's tree building.  Instruction counts do not depend on the load of
the machine.

Targets are printed next to the results; they are never asserted.  The exit
status is 1 only when a run failed (tshark exited non-zero, or a fields row
did not give one value per packet).
"""

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
SOURCE = os.path.dirname(TESTS)
sys.path.insert(0, TESTS)

from tshark_env import TShark  # noqa: E402

STATE_FIELDS = ["tcpstate.client.state", "tcpstate.server.state", "tcpstate.illegal"]

# The fields plugin/extract.c gives set_postdissector_wanted_hfids(); read
# from the source so the P row follows it.  This copy is the fallback.
WANTED_FALLBACK = ["tcp.stream", "tcp.srcport", "tcp.len", "tcp.window_size",
                   "tcp.checksum.status", "ip.src", "ipv6.src"]

TARGET_TIME = 1.05
TARGET_RSS = 1.03
TARGET_PER_PACKET = 16
TARGET_PER_CONN = 128


def wanted_fields():
    try:
        with open(os.path.join(SOURCE, "plugin", "extract.c")) as f:
            text = f.read()
        m = re.search(r"#define TS_BORROWED\(X\)(.*?)\n\s*\n", text, re.S)
        names = re.findall(r'X\(\s*\w+\s*,\s*"([^"]+)"', m.group(1)) if m else []
        return names or WANTED_FALLBACK
    except OSError:
        return WANTED_FALLBACK


def fields_args(fields):
    args = ["-T", "fields"]
    for f in fields:
        args += ["-e", f]
    return args


class Row:
    def __init__(self, rid, title, env, args, fields=False):
        self.id = rid
        self.title = title
        self.env = env          # "none", "native" or "lua"
        self.args = args
        self.fields = fields    # -T fields: check one line, with a value, per packet


def make_rows():
    wanted = wanted_fields()
    a = fields_args(["tcp.stream", "tcp.flags"])
    n = fields_args(STATE_FIELDS)
    primed = ["-Y", " || ".join(wanted)]
    iostat = ["-q", "-z", "io,stat,0"]
    return [
        # issue 14's goals: installed with default preferences but not used ...
        Row("S0", "Summary lines, no plugin", "none", [], True),
        Row("S", "Native loaded, summary lines (tcpstate unused, Info tag on)", "native", [],
            True),
        Row("A", "Baseline A: fields, no plugin", "none", a, True),
        Row("Na", "Native loaded, baseline A's fields (tcpstate unused)", "native", a, True),
        # ... and used
        Row("N", "Native: tcpstate fields", "native", n, True),
        Row("Y0", "-Y 'tcp.flags.reset == 1', no plugin", "none",
            ["-Y", "tcp.flags.reset == 1"]),
        Row("Y", "Native: -Y 'tcpstate.illegal'", "native", ["-Y", "tcpstate.illegal"]),
        Row("A2", "Baseline A -2", "none", ["-2"] + a, True),
        Row("N2", "Native -2: tcpstate fields", "native", ["-2"] + n, True),
        Row("N2Y", "Native -2 -Y frame: tcpstate fields, final connection summaries", "native",
            ["-2", "-Y", "frame"] + n, True),
        Row("A2Y", "Baseline A -2 -Y frame", "none", ["-2", "-Y", "frame"] + a, True),
        Row("C0", "-q -z conv,tcp, no plugin", "none", ["-q", "-z", "conv,tcp"]),
        Row("Nc", "Native: -q -z tcpstate,conns", "native", ["-q", "-z", "tcpstate,conns"]),
        Row("L", "Lua-compat: tcpstate fields", "lua", n, True),
        # other views
        Row("B", "Baseline B: -q, no plugin", "none", ["-q"]),
        Row("Nq", "Native loaded, -q (tcpstate unused)", "native", ["-q"]),
        Row("Nd", "Native loaded, -q --disable-protocol tcpstate", "native",
            ["-q", "--disable-protocol", "tcpstate"]),
        Row("Nad", "Native loaded, A's fields, --disable-protocol tcpstate", "native",
            a + ["--disable-protocol", "tcpstate"], True),
        Row("Ap", "A + the plugin's %d borrowed fields primed (-Y), no plugin" % len(wanted),
            "none", a + primed, True),
        Row("Bz", "-q -z io,stat,0 (dissects, no tree), no plugin", "none", iostat),
        Row("Nz", "Native loaded, -q -z io,stat,0 (tcpstate unused)", "native", iostat),
    ]


# Run unless --rows says otherwise.
DEFAULT_ROWS = "S0,S,A,Na,N,Y0,Y,A2,N2,A2Y,N2Y,C0,Nc,L"

# Pairs shown in the comparisons table: (row, reference, what it measures).
COMPARISONS = [
    ("S", "S0", "installed, unused: summary lines (the Info tag on by default)"),
    ("Na", "A", "installed, unused: a -T fields run naming no tcpstate field"),
    ("N", "A", "used: -T fields with tcpstate fields"),
    ("Y", "Y0", "used: a display filter on a tcpstate field, against one of the same shape"),
    ("N2", "A2", "used: two passes (-2), tcpstate fields"),
    ("N2Y", "A2Y", "used: two passes with a filter (final connection summaries)"),
    ("Nc", "C0", "used: -q -z tcpstate,conns against Wireshark's -q -z conv,tcp"),
    ("Nad", "A", "the plugin loaded and disabled, in a fields run"),
    ("Nz", "Bz", "installed, unused: a run that dissects without a tree"),
    ("Nq", "B", "the plugin loaded, -q (tshark -q alone does not dissect)"),
    ("Nd", "B", "the plugin loaded and disabled, -q"),
    ("L", "A", "the Lua twin, single pass, its fields printed"),
]

# Each row's reference in the main table: its pair's.
REFERENCE = {rid: ref for rid, ref, _ in COMPARISONS}

# Issue 14's goals: (row, reference, at most, aim or None, what).
GOALS = [
    ("S", "S0", 1.05, 1.02, "installed, unused: plain summary runs"),
    ("Na", "A", 1.05, None, "installed, unused: -T fields naming no tcpstate field"),
    ("N", "A", 1.10, 1.05, "used: -T fields with tcpstate fields"),
    ("Y", "Y0", 1.10, None, "used: -Y 'tcpstate.illegal' against -Y 'tcp.flags.reset == 1'"),
    ("N2", "A2", 1.10, None, "used: -2 runs"),
    ("N2Y", "A2Y", 1.10, None, "used: -2 -Y frame runs"),
    ("Nc", "C0", 1.10, None, "used: -q -z tcpstate,conns against -q -z conv,tcp"),
]


# ---- sizes --------------------------------------------------------------------

def parse_count(text):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmM]?)", text.strip())
    if not m:
        raise ValueError("not a count: %r" % text)
    mult = {"": 1, "k": 1000, "m": 1000000}[m.group(2).lower()]
    return int(round(float(m.group(1)) * mult))


class Size:
    """'1M' (mix: 1M packets, 100k connections), '4M:100k' (packets:connections),
    'flood1M' (1M SYNs from distinct sources, each its own connection)."""

    def __init__(self, token):
        self.label = token.strip()
        t = self.label
        self.flood = t.lower().startswith("flood")
        if self.flood:
            t = t[5:]
        p, _, c = t.partition(":")
        self.packets = parse_count(p)
        if self.flood:
            self.connections = self.packets
        else:
            self.connections = parse_count(c) if c else max(1, self.packets // 10)
        self.profile = "synflood" if self.flood else "mix"


def human(n):
    if n >= 1000000 and n % 1000000 == 0:
        return "%dM" % (n // 1000000)
    if n >= 1000 and n % 1000 == 0:
        return "%dk" % (n // 1000)
    return str(n)


# ---- machine ------------------------------------------------------------------

def read_first(path, pattern):
    try:
        with open(path) as f:
            for line in f:
                m = re.match(pattern, line)
                if m:
                    return m.group(1).strip()
    except OSError:
        pass
    return None


def machine(tshark, build):
    mem_kb = read_first("/proc/meminfo", r"MemTotal:\s+(\d+)")
    info = {
        "cpu": read_first("/proc/cpuinfo", r"model name\s*:\s*(.*)") or platform.processor(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "ram_gib": round(int(mem_kb) / 1048576, 1) if mem_kb else None,
        "kernel": platform.release(),
        "os": read_first("/etc/os-release", r'PRETTY_NAME="?([^"]*)"?'),
        "tshark": "",
        "loadavg_start": open("/proc/loadavg").read().split()[:3],
        "source": "",
        "build_type": None,
    }
    try:
        out = subprocess.run([tshark, "--version"], capture_output=True, text=True).stdout
        info["tshark"] = out.splitlines()[0] if out else "?"
    except OSError:
        info["tshark"] = "?"
    try:
        info["source"] = subprocess.run(["git", "-C", SOURCE, "describe", "--always", "--dirty"],
                                        capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    if build:
        info["build_type"] = read_first(os.path.join(build, "CMakeCache.txt"),
                                        r"CMAKE_BUILD_TYPE:\w+=(.*)")
    return info


def design_sizes(workdir):
    """sizeof(ts_record) and sizeof(ts_conn), from the plugin's headers."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        return None
    src = os.path.join(workdir, "sizes.c")
    exe = os.path.join(workdir, "sizes")
    with open(src, "w") as f:
        f.write('#include <stdio.h>\n#include "conn.h"\n'
                'int main(void) { printf("%zu %zu\\n", sizeof(ts_record), sizeof(ts_conn)); '
                'return 0; }\n')
    try:
        subprocess.run([cc, "-I", os.path.join(SOURCE, "plugin", "core"), "-o", exe, src], check=True,
                       capture_output=True)
        rec, conn = subprocess.run([exe], capture_output=True, text=True,
                                   check=True).stdout.split()
        return {"record": int(rec), "conn": int(conn)}
    except (OSError, subprocess.CalledProcessError, ValueError):
        return None


# ---- tools --------------------------------------------------------------------

def ensure_time():
    if os.access("/usr/bin/time", os.X_OK):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("bench: /usr/bin/time is missing: installing Debian's package 'time'",
              file=sys.stderr)
        cmd = ["apt-get", "install", "-y", "-q", "time"]
        if subprocess.run(cmd, stdout=subprocess.DEVNULL).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], stdout=subprocess.DEVNULL)
            subprocess.run(cmd, stdout=subprocess.DEVNULL)
    if not os.access("/usr/bin/time", os.X_OK):
        sys.exit("bench: needs /usr/bin/time (Debian package 'time')")


def find_tcpgen(args, workdir):
    if args.tcpgen:
        return args.tcpgen
    if args.build:
        exe = os.path.join(args.build, "tests", "bench", "tcpgen")
        if os.access(exe, os.X_OK):
            return exe
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        sys.exit("bench: no tcpgen (build it, or pass --tcpgen) and no C compiler")
    exe = os.path.join(workdir, "tcpgen")
    subprocess.run([cc, "-O2", "-std=gnu11", "-o", exe, os.path.join(HERE, "tcpgen.c")],
                   check=True)
    return exe


def generate(tcpgen, size, seed, path):
    cmd = [tcpgen, "--profile", size.profile, "--packets", str(size.packets)]
    if not size.flood:
        cmd += ["--connections", str(size.connections)]
    cmd += ["--seed", str(seed), "-o", path]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit("bench: %s failed:\n%s" % (" ".join(cmd), proc.stderr))
    os.chmod(path, 0o644)
    return cmd, proc.stderr.strip()


class Envs:
    """One TShark environment per kind, made on first use."""

    def __init__(self, tshark, plugin, lua):
        self.tshark = tshark
        self.plugin = plugin
        self.lua = lua
        self.envs = {}
        self.paths = {}

    def get(self, kind):
        if kind not in self.envs:
            if kind == "none":
                env = TShark(None, tshark=self.tshark)
            elif kind == "native":
                env = TShark(self.plugin, tshark=self.tshark)
            else:
                env = TShark(None, tshark=self.tshark)
                env.lua_args = ["-X", "lua_script:" + self.stage_lua(env)]
            self.envs[kind] = env
            self.check(kind, env)
        return self.envs[kind]

    def stage_lua(self, env):
        """The Lua twin loads the modules beside it: copy its whole folder
        (its *.lua files) where the tshark user can read them."""
        src = os.path.dirname(self.lua)
        dst = os.path.join(env.home, "lua-compat")
        os.makedirs(dst)
        for name in os.listdir(src):
            if name.endswith(".lua"):
                shutil.copy2(os.path.join(src, name), os.path.join(dst, name))
        if env.root:
            for p in [dst] + [os.path.join(dst, n) for n in os.listdir(dst)]:
                os.chown(p, env.uid, env.gid)
        return os.path.join(dst, os.path.basename(self.lua))

    @staticmethod
    def check(kind, env):
        """The plugin is where it should be, and only there."""
        out = subprocess.run(env._command(["-G", "protocols"] + env.lua_args), env=env.env,
                             capture_output=True, text=True)
        has = any(line.split("\t")[2:3] == ["tcpstate"] for line in out.stdout.splitlines())
        if kind == "none" and has:
            sys.exit("bench: tcpstate is registered in the no-plugin environment")
        if kind != "none" and not has:
            sys.exit("bench: tcpstate is not registered in the %s environment:\n%s"
                     % (kind, out.stderr[-2000:]))

    def capture(self, env, path):
        """A path of the capture that the tshark user can read."""
        key = (id(env), path)
        if key not in self.paths:
            ok = True
            if env.root:
                ok = subprocess.run(["setpriv", "--reuid=%d" % env.uid, "--regid=%d" % env.gid,
                                     "--clear-groups", "--", "test", "-r", path]).returncode == 0
            self.paths[key] = path if ok else env.stage(path)
        return self.paths[key]

    def forget(self, path):
        self.paths = {k: v for k, v in self.paths.items() if k[1] != path}

    def close(self):
        for env in self.envs.values():
            env.close()


# ---- running ------------------------------------------------------------------

def parse_time_v(path):
    res = {}
    with open(path) as f:
        for line in f:
            key, _, val = line.strip().rpartition(": ")
            if key == "Maximum resident set size (kbytes)":
                res["rss_kb"] = int(val)
            elif key == "User time (seconds)":
                res["user"] = float(val)
            elif key == "System time (seconds)":
                res["sys"] = float(val)
            elif key == "Exit status":
                res["exit"] = int(val)
            elif "terminated by signal" in line:
                res["signal"] = line.strip()
    return res


def count_output(path):
    """(lines, lines whose first field has a value)"""
    lines = values = 0
    with open(path, "rb") as f:
        for line in f:
            lines += 1
            if line[:1] not in (b"\t", b"\n", b"\r"):
                values += 1
    return lines, values


def run_once(envs, row, capture, rundir, timeout):
    env = envs.get(row.env)
    cap = envs.capture(env, capture)
    cmd = env._command(env.lua_args + ["-r", cap] + row.args)
    timefile = os.path.join(rundir, row.id + ".time")
    outfile = os.path.join(rundir, row.id + ".out")
    errfile = os.path.join(rundir, row.id + ".err")
    with open(outfile, "wb") as out, open(errfile, "wb") as err:
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(["/usr/bin/time", "-v", "-o", timefile] + cmd, env=env.env,
                                  stdout=out, stderr=err, timeout=timeout)
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
        wall = time.perf_counter() - t0
    res = {"wall": wall, "rc": rc}
    if rc != "timeout":
        res.update(parse_time_v(timefile))
    res["cpu"] = res.get("user", 0.0) + res.get("sys", 0.0)
    if row.fields:
        res["lines"], res["values"] = count_output(outfile)
    with open(errfile, errors="replace") as f:
        err = f.read()
    # tshark's own chatter as root is no error; keep the rest for the notes
    res["stderr"] = "\n".join(line for line in err.splitlines()
                              if "Running as user" not in line)[-2000:]
    return res


def run_ok(row, res, size):
    if res["rc"] != 0:
        return False
    if row.fields and (res.get("lines") != size.packets or res.get("values") != size.packets):
        return False
    return True


def summarize(row, runs, size):
    good = [r for r in runs if run_ok(row, r, size)]
    out = {"runs": runs, "ok": len(good) == len(runs) and bool(runs)}
    if good:
        walls = [r["wall"] for r in good]
        out["wall"] = statistics.median(walls)
        out["spread"] = (max(walls) - min(walls)) / out["wall"] if out["wall"] else 0.0
        out["cpu"] = statistics.median(r["cpu"] for r in good)
        out["rss"] = statistics.median(r["rss_kb"] for r in good) * 1024
    last = runs[-1] if runs else {}
    if row.fields:
        out["check"] = "%s/%s values" % (last.get("values", "?"), size.packets)
    else:
        out["check"] = "exit 0" if out["ok"] else ""
    if not out["ok"]:
        bad = next((r for r in runs if not run_ok(row, r, size)), last)
        out["check"] = "FAILED (exit %s%s)%s" % (
            bad.get("rc"), ", " + out["check"] if row.fields else "",
            ": " + bad.get("stderr", "").strip().splitlines()[-1]
            if bad.get("stderr", "").strip() else "")
    return out


def warm(envs, rows, capture):
    """Untimed: the capture and the libraries into the page cache."""
    with open(capture, "rb") as f:
        while f.read(1 << 22):
            pass
    for kind in sorted({r.env for r in rows}):
        env = envs.get(kind)
        subprocess.run(env._command(env.lua_args + ["-r", envs.capture(env, capture), "-c", "10"]),
                       env=env.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# ---- derived numbers ------------------------------------------------------------

def derive(res, rid, ref, size):
    r, a = res.get(rid), res.get(ref)
    if not r or not a or "wall" not in r or "wall" not in a:
        return None
    d_rss = r["rss"] - a["rss"]
    return {
        "x_time": r["wall"] / a["wall"],
        "d_time": r["wall"] - a["wall"],
        "x_cpu": r["cpu"] / a["cpu"] if a["cpu"] else None,
        "d_cpu": r["cpu"] - a["cpu"],
        "x_rss": r["rss"] / a["rss"],
        "d_rss": d_rss,
        "per_packet": d_rss / size.packets,
        "per_conn": d_rss / size.connections,
    }


def fmt(v, spec, none="–"):
    return none if v is None else format(v, spec)


def md_table(header, rows, left=None):
    """A Markdown table; text columns (the first `left`, by default those whose
    cells are not numbers) align left, the others right."""
    def numeric(i):
        cells = [r[i] for r in rows if i < len(r) and r[i] not in ("", "–")]
        return bool(cells) and all(re.match(r"^[-+]?[\d.]+\s*[%×]?$", c) for c in cells)
    if left is None:
        align = ["---:" if numeric(i) else "---" for i in range(len(header))]
    else:
        align = ["---" if i < left else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(r) + " |")
    return "\n".join(lines)


def main_table(sizes, results, rows):
    out = []
    for size in sizes:
        res = results[size.label]["rows"]
        for row in rows:
            r = res.get(row.id)
            if r is None:
                continue
            if r.get("skipped"):
                out.append([size.label, row.id, row.title] + ["–"] * 9 + [r["skipped"]])
                continue
            ref = REFERENCE.get(row.id)
            d = derive(res, row.id, ref, size) if ref else None
            out.append([
                size.label, row.id, row.title, ref or "–",
                fmt(r.get("wall"), ".2f"),
                "%.0f%%" % (r["spread"] * 100) if "spread" in r else "–",
                fmt(d and d["x_time"], ".3f") if ref else "1",
                fmt(r.get("cpu"), ".2f"),
                fmt(r["rss"] / 1048576 if "rss" in r else None, ".1f"),
                fmt(d and d["x_rss"], ".3f") if ref else "1",
                fmt(d and d["per_packet"], ".1f"),
                fmt(d and d["per_conn"], ".0f"),
                r.get("check", ""),
            ])
    header = ["size", "row", "what", "ref", "wall s", "spread", "time ×ref", "cpu s",
              "peak RSS MiB", "RSS ×ref", "ΔRSS B/packet", "ΔRSS B/conn", "check"]
    return md_table(header, out)


def comparisons_table(sizes, results):
    out = []
    for size in sizes:
        res = results[size.label]["rows"]
        for rid, ref, what in COMPARISONS:
            d = derive(res, rid, ref, size)
            if not d:
                continue
            out.append([size.label, "%s vs %s" % (rid, ref), what,
                        "%+.2f" % d["d_time"], "%.3f" % d["x_time"], "%+.2f" % d["d_cpu"],
                        "%+.1f" % (d["d_rss"] / 1048576), "%.3f" % d["x_rss"],
                        "%.1f" % d["per_packet"], "%.0f" % d["per_conn"]])
    header = ["size", "pair", "what it measures", "Δ wall s", "time ×", "Δ cpu s",
              "Δ RSS MiB", "RSS ×", "ΔRSS B/packet", "ΔRSS B/conn"]
    return md_table(header, out)


def lua_ratios(sizes, results):
    """Lua's added time over native's added time (both against baseline A)."""
    lines = []
    for size in sizes:
        res = results[size.label]["rows"]
        n, lua = derive(res, "N", "A", size), derive(res, "L", "A", size)
        if n and lua:
            lines.append("%s: Lua's added time / native's added time = %s wall, %s cpu"
                         " (Lua adds %+.2f s, native %+.2f s)" % (
                             size.label,
                             "%.1f×" % (lua["d_time"] / n["d_time"]) if n["d_time"] > 0
                             else "n/a (native adds nothing measurable)",
                             "%.1f×" % (lua["d_cpu"] / n["d_cpu"]) if n["d_cpu"] > 0 else "n/a",
                             lua["d_time"], n["d_time"]))
    return lines


def targets(sizes, results, design):
    """[(target, measured, verdict)]"""
    lines = []
    mix = [s for s in sizes if not s.flood]
    floods = [s for s in sizes if s.flood]
    base = next((s for s in mix if s.packets == 1000000), mix[0] if mix else None)
    note = "" if base is None or base.packets == 1000000 else " (at %s, not 1M)" % base.label

    def verdict(ok, value=None, target=None):
        if ok:
            return "met"
        if value is not None and value <= target * 1.05:
            return "borderline (within 5%: RSS is counted in pages)"
        return "NOT met"

    if base:
        res = results[base.label]["rows"]
        for rid, ref, most, aim, what in GOALS:
            d = derive(res, rid, ref, base)
            if not d:
                continue
            ok = d["x_time"] <= most
            lines.append(("%s: %s / %s <= %.2f%s" % (what, rid, ref, most,
                                                    ", aiming for %.2f" % aim if aim else ""),
                          "%.3f wall, %s cpu%s" % (d["x_time"], fmt(d["x_cpu"], ".3f"), note),
                          ("met" if ok else "NOT met") +
                          (" (aim met)" if ok and aim and d["x_time"] <= aim else "")))
        d = derive(res, "N", "A", base)
        if d:
            lines.append(("peak RSS <= +3% (N against A)",
                          "%+.1f%% (%+.1f MiB)%s" % ((d["x_rss"] - 1) * 100,
                                                      d["d_rss"] / 1048576, note),
                          verdict(d["x_rss"] <= TARGET_RSS)))
            lines.append(("stored per-packet state <= 16 B per TCP packet",
                          "ΔRSS / packets = %.1f B (includes the per-connection state: "
                          "%d connections)%s" % (d["per_packet"], base.connections, note),
                          verdict(d["per_packet"] <= TARGET_PER_PACKET)
                          + ("" if d["per_packet"] <= TARGET_PER_PACKET else
                             " (an upper bound: it holds the per-connection state too)")))
    split = None
    if base and floods:
        # ΔRSS = a * packets + b * connections, from a mix size and a flood size.
        fl = floods[0]
        dm = derive(results[base.label]["rows"], "N", "A", base)
        df = derive(results[fl.label]["rows"], "N", "A", fl)
        if dm and df and base.packets != base.connections:
            k = df["d_rss"] / fl.packets
            a = (dm["d_rss"] - k * base.connections) / (base.packets - base.connections)
            split = (a, k - a)
            lines.append(("per-packet state, split (mix %s and %s solved for a·packets + "
                          "b·connections)" % (base.label, fl.label),
                          "a = %.1f B/packet" % a,
                          verdict(a <= TARGET_PER_PACKET, a, TARGET_PER_PACKET)))
    if floods:
        fl = floods[0]
        df = derive(results[fl.label]["rows"], "N", "A", fl)
        if df:
            lines.append(("per-connection state <= 128 B (%s: one SYN per connection, so this "
                          "also holds its 16 B record and the flood detector's entry)" % fl.label,
                          "ΔRSS / connections = %.0f B" % df["per_conn"],
                          verdict(df["per_conn"] <= TARGET_PER_CONN)
                          + ("" if df["per_conn"] <= TARGET_PER_CONN else " (upper bound)")))
        if split:
            lines.append(("per-connection state, split as above (a flood connection: "
                          "ts_conn and the flood detector's entry)", "b = %.0f B/connection"
                          % split[1],
                          verdict(split[1] <= TARGET_PER_CONN, split[1], TARGET_PER_CONN)))
        n = results[fl.label]["rows"].get("N", {})
        a = results[fl.label]["rows"].get("A", {})
        lines.append(("SYN flood %s: memory bounded, the plugin does not fall over" % fl.label,
                      "native %s, peak RSS %s MiB vs baseline A %s MiB" % (
                          "completed, " + n.get("check", "") if n.get("ok") else
                          "FAILED: " + n.get("check", ""),
                          fmt(n["rss"] / 1048576 if "rss" in n else None, ".0f"),
                          fmt(a["rss"] / 1048576 if "rss" in a else None, ".0f")),
                      verdict(bool(n.get("ok")))))
    if len(mix) >= 2:
        s1, s2 = mix[0], mix[-1]
        d1 = derive(results[s1.label]["rows"], "N", "A", s1)
        d2 = derive(results[s2.label]["rows"], "N", "A", s2)
        r1 = results[s1.label]["rows"].get("N", {})
        r2 = results[s2.label]["rows"].get("N", {})
        if d1 and d2 and "wall" in r1 and "wall" in r2:
            scale = s2.packets / s1.packets
            t_ratio = r2["wall"] / r1["wall"]
            dt_ratio = d2["d_cpu"] / d1["d_cpu"] if d1["d_cpu"] > 0 else None
            dm_ratio = d2["d_rss"] / d1["d_rss"] if d1["d_rss"] > 0 else None
            ok = 0.8 * scale <= t_ratio <= 1.25 * scale and (
                dm_ratio is None or 0.8 * scale <= dm_ratio <= 1.25 * scale)
            lines.append(("cost grows linearly %s -> %s (×%g packets)" % (s1.label, s2.label, scale),
                          "native wall ×%.2f; added cpu ×%s; added RSS ×%s" % (
                              t_ratio, fmt(dt_ratio, ".2f"), fmt(dm_ratio, ".2f")),
                          verdict(ok) + " (within ±20-25%% of ×%g)" % scale))
    if design:
        lines.append(("by design (sizeof, from the headers)",
                      "ts_record %d B per packet, ts_conn %d B per connection"
                      % (design["record"], design["conn"]), ""))
    return lines


def targets_table(lines):
    return md_table(["target", "measured", ""], [list(t) for t in lines])


# ---- profile --------------------------------------------------------------------

def parse_callgrind(path):
    """{(object, function): exclusive Ir}, total Ir, {function: inclusive Ir}."""
    names = {"ob": {}, "fl": {}, "fn": {}}
    kinds = {"ob": "ob", "cob": "ob", "fl": "fl", "fi": "fl", "fe": "fl", "cfi": "fl",
             "cfl": "fl", "fn": "fn", "cfn": "fn"}
    excl, incl_calls = {}, {}
    ob = fn = cfn = None
    npos = 1
    after_calls = False
    total = 0

    def name(kind, text):
        m = re.match(r"\((\d+)\)(?:\s+(.*))?$", text)
        if not m:
            return text
        if m.group(2) is not None:
            names[kind][m.group(1)] = m.group(2)
            return m.group(2)
        return names[kind].get(m.group(1), text)

    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            c = line[0]
            if c.isdigit() or c in "+-*":
                parts = line.split()
                cost = int(parts[npos]) if len(parts) > npos else 0
                if after_calls:
                    if cfn != fn:
                        incl_calls[fn] = incl_calls.get(fn, 0) + cost
                    after_calls = False
                else:
                    excl[(ob, fn)] = excl.get((ob, fn), 0) + cost
                continue
            key, eq, val = line.partition("=")
            if eq and key in kinds:
                v = name(kinds[key], val)
                if key == "ob":
                    ob = v
                elif key == "fn":
                    fn = v
                elif key == "cfn":
                    cfn = v
                continue
            if key == "calls" and eq:
                after_calls = True
            elif line.startswith("positions:"):
                npos = len(line.split()[1:])
            elif line.startswith(("summary:", "totals:")):
                total = max(total, int(line.split()[1]))
    excl = {(os.path.basename(o or "?"), f): v for (o, f), v in excl.items()}
    incl = {}
    for (o, f), v in excl.items():
        incl[f] = incl.get(f, 0) + v
    for f, v in incl_calls.items():
        incl[f] = incl.get(f, 0) + v
    return excl, total or sum(excl.values()), incl


def parse_perf(path, perf):
    out = subprocess.run([perf, "report", "-i", path, "--stdio", "--no-children",
                          "--sort", "dso,sym", "-F", "period,dso,sym", "-t", "\t"],
                         capture_output=True, text=True).stdout
    excl = {}
    for line in out.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        parts = [p.strip() for p in line.split("\t")]
        if len(parts) < 3 or not parts[0].isdigit():
            continue
        sym = re.sub(r"^\[[.k]\]\s*", "", parts[2])
        key = (os.path.basename(parts[1]), sym)
        excl[key] = excl.get(key, 0) + int(parts[0])
    return excl, sum(excl.values()), {}


def category(obj, fn):
    o = obj.lower()
    if o.startswith("tcpstate"):
        return "tcpstate.so (the plugin's own code)"
    if o.startswith("libwireshark"):
        if re.match(r"(proto_|ptvcursor|fvalue|ftype|fieldinfo|hfinfo|new_field_info|"
                    r"alloc_field_info|tree_)", fn):
            return "epan tree building (proto_*, fvalue_*, ...)"
        if fn.startswith("0x"):
            return "epan, functions without symbols"
        return "epan, other named functions"
    if o.startswith("libwsutil"):
        return "wsutil (wmem allocators, ...)"
    if o.startswith("libglib"):
        return "GLib"
    if o.startswith("libc.") or o.startswith("libc-"):
        return "libc (malloc, stdio)"
    if o.startswith("ld-linux") or o.startswith("vgpreload"):
        return "loader"
    if "kernel" in o:
        return "kernel"
    return "other (%s)" % obj if obj not in ("?", "") else "other"


def profiler_choice(choice, event):
    """perf when it can count instructions here (or --perf-event names another
    event and --profiler perf is asked for), else callgrind."""
    perf = shutil.which("perf")
    if choice == "perf" and perf and event:
        return "perf", perf
    if choice in ("auto", "perf") and perf:
        p = subprocess.run([perf, "stat", "-x,", "-e", "instructions:u", "true"],
                           capture_output=True, text=True)
        if p.returncode == 0 and "not supported" not in p.stderr and "<not" not in p.stderr:
            return "perf", perf
        if choice == "perf":
            print("bench: perf cannot count instructions here (%s); using callgrind"
                  % (p.stderr.strip().splitlines() or ["?"])[-1], file=sys.stderr)
    if shutil.which("valgrind"):
        return "callgrind", shutil.which("valgrind")
    return None, None


def profile_one(tool, exe, event, env, cmd, out):
    """Run cmd under the profiler: (exclusive counts, total, inclusive) or an error."""
    if tool == "callgrind":
        i = cmd.index(env.tshark)
        cmd = cmd[:i] + [exe, "--tool=callgrind", "--callgrind-out-file=" + out] + cmd[i:]
    else:
        cmd = [exe, "record", "-q", "-e", event, "-o", out, "--"] + cmd
    if os.path.exists(out):
        os.unlink(out)
    p = subprocess.run(cmd, env=env.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True)
    if p.returncode != 0 or not os.path.exists(out):
        return p.stderr[-1500:] or "exit %d" % p.returncode
    return parse_callgrind(out) if tool == "callgrind" else parse_perf(out, exe)


def profile(args, envs, rows_by_id, tcpgen, workdir):
    """Each row twice: on the capture, and with -c 1 (start-up, one packet,
    shut-down); their difference is the per-packet cost."""
    size = Size(args.profile_size)
    path = os.path.join(workdir, "profile-%s.pcap" % size.label)
    gen_cmd, gen_summary = generate(tcpgen, size, args.seed, path)
    tool, exe = profiler_choice(args.profiler, args.perf_event)
    if not tool:
        return {"error": "neither perf (with an instructions counter) nor valgrind is available"}
    event = args.perf_event or "instructions:u"
    res = {"tool": tool, "size": size.label, "packets": size.packets,
           "connections": size.connections, "gen_cmd": gen_cmd, "gen_summary": gen_summary,
           "rows": {}, "event": event if tool == "perf" else "Ir (instructions)"}
    for rid in args.profile_rows.split(","):
        row = rows_by_id[rid]
        if row.env == "lua" and not os.path.exists(envs.lua or ""):
            continue
        env = envs.get(row.env)
        base = env._command(env.lua_args + ["-r", envs.capture(env, path)] + row.args)
        outdir = env.home if tool == "callgrind" else workdir
        runs = {}
        for what, extra in (("full", []), ("start", ["-c", "1"])):
            print("bench: profiling %s%s (%s) on %s packets ..." % (
                rid, " -c 1" if extra else "", tool, size.label), file=sys.stderr, flush=True)
            runs[what] = profile_one(tool, exe, event, env, base + extra,
                                     os.path.join(outdir, "%s.%s.%s.out" % (tool, rid, what)))
        bad = [v for v in runs.values() if isinstance(v, str)]
        if bad:
            res["rows"][rid] = {"error": bad[0]}
            continue
        (excl, total, incl), (s_excl, s_total, _) = runs["full"], runs["start"]
        n = size.packets - 1
        per_packet = {k: (v - s_excl.get(k, 0)) / n for k, v in excl.items()}
        for k, v in s_excl.items():
            if k not in excl:
                per_packet[k] = -v / n
        res["rows"][rid] = {"total": total, "start": s_total, "pp": (total - s_total) / n,
                            "excl_pp": per_packet, "incl": incl, "command": row_command(row)}
    if not args.keep_captures:
        os.unlink(path)
        envs.forget(path)
    return res


def profile_report(prof, top):
    if "error" in prof:
        return "Profile: " + prof["error"]
    rows = prof["rows"]
    unit = "Ir (instructions)" if prof["tool"] == "callgrind" else prof["event"] + " (sampled)"
    md = ["Profiler: %s on a %s-packet mix capture (%d connections). Counts are %s per "
          "packet: (count of the run − count of the same run with -c 1) / (packets − 1), "
          "so start-up (registering every dissector) drops out; functions are counted "
          "exclusive (self). Capture: `tcpgen %s -o F`.\n" % (
              prof["tool"], prof["size"], prof["connections"], unit,
              " ".join(shlex.quote(a) for a in prof["gen_cmd"][1:-2]))]
    tot = [[rid, "%.0f" % (r["total"] / 1e6), "%.0f" % (r["start"] / 1e6), "%.0f" % r["pp"],
            r["command"]] for rid, r in rows.items() if "total" in r]
    md.append(md_table(["row", "whole run (M)", "-c 1 (M)", "per packet", "command"], tot))
    for rid, r in rows.items():
        if "error" in r:
            md.append("\nrow %s failed under the profiler: %s" % (rid, r["error"][-300:]))

    def pair(a, b, title):
        if a not in rows or b not in rows or "pp" not in rows[a] or "pp" not in rows[b]:
            return
        ea, eb = rows[a]["excl_pp"], rows[b]["excl_pp"]
        added = rows[a]["pp"] - rows[b]["pp"]
        md.append("\n**%s: %s − %s = %+.0f per packet (%+.1f%% of %s's %.0f)**\n" % (
            title, a, b, added, 100.0 * added / rows[b]["pp"], b, rows[b]["pp"]))
        cats = {}
        for key in set(ea) | set(eb):
            s = cats.setdefault(category(*key), [0.0, 0.0])
            s[0] += ea.get(key, 0)
            s[1] += eb.get(key, 0)
        crow = []
        for c, (va, vb) in sorted(cats.items(), key=lambda kv: -(kv[1][0] - kv[1][1])):
            if abs(va - vb) < 0.002 * max(abs(added), 1):
                continue
            crow.append([c, "%.0f" % vb, "%.0f" % va, "%+.0f" % (va - vb),
                         "%.0f%%" % (100.0 * (va - vb) / added) if added else "–"])
        md.append(md_table(["where", b, a, "added", "share of added"], crow))
        diffs = sorted(((ea.get(k, 0) - eb.get(k, 0), k) for k in set(ea) | set(eb)),
                       key=lambda t: -t[0])[:top]
        md.append("\nTop %d functions by added count per packet (%s − %s):\n" % (top, a, b))
        md.append(md_table(["function", "object", "added", "share of added"],
                           [[k[1], k[0], "%+.0f" % d,
                             "%.1f%%" % (100.0 * d / added) if added else "–"]
                            for d, k in diffs]))
        incl = rows[a].get("incl", {})
        if "dissect_tcpstate" in incl:
            v = incl["dissect_tcpstate"] / prof["packets"]
            md.append("\nInclusive cost of the plugin's dissector `dissect_tcpstate` in %s (its "
                      "own code plus the tree items, expert infos and column text it adds "
                      "through epan): %.0f per packet, %.0f%% of the added count; the rest "
                      "is epan building the wanted fields' tree around it%s.\n"
                      % (a, v, 100.0 * v / added if added else 0,
                         " and printing the fields" if "fields" in rows[a]["command"] else ""))

    pair("N", "A", "What the plugin adds to a fields run")
    pair("Na", "A", "What the loaded, unused plugin adds to a fields run")
    pair("Ap", "A", "What priming the wanted fields alone adds to a fields run")
    pair("Am", "A", "What priming only 2 fields adds to a fields run")
    pair("Nz", "Bz", "What the loaded, unused plugin adds to a run without a tree")
    for rid in ("N",):
        if rid in rows and "pp" in rows[rid]:
            e = rows[rid]["excl_pp"]
            best = sorted(e.items(), key=lambda kv: -kv[1])[:top]
            md.append("\nTop %d functions of the native fields run (%s), per packet:\n"
                      % (top, rid))
            md.append(md_table(["function", "object", "per packet", "share"],
                               [[k[1], k[0], "%.0f" % v,
                                 "%.1f%%" % (100.0 * v / rows[rid]["pp"])] for k, v in best]))
    return "\n".join(md)


# ---- report ---------------------------------------------------------------------

def row_command(row):
    return "tshark -r F " + " ".join(shlex.quote(a) for a in row.args)


def report(args, info, sizes, results, rows, design, notes, prof_md):
    m = ["# tcpstate benchmark", ""]
    m.append("Run %s." % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    m.append("")
    m.append("## Machine")
    m.append("")
    m.append("- CPU: %s, %s cores (%s usable)" % (info["cpu"], info["cores"], info["cores_usable"]))
    m.append("- RAM: %s GiB" % info["ram_gib"])
    m.append("- Kernel: %s (%s)" % (info["kernel"], info["os"]))
    m.append("- %s" % info["tshark"])
    m.append("- tcpstate: %s%s" % (info["source"] or "?",
                                   ", %s build" % info["build_type"] if info["build_type"] else ""))
    m.append("- Load average at start: %s; at end: %s" % (" ".join(info["loadavg_start"]),
                                                         " ".join(info.get("loadavg_end", []))))
    m.append("")
    m.append("## Commands")
    m.append("")
    m.append("```")
    m.append("/usr/bin/python3 " + " ".join(shlex.quote(a) for a in [
        os.path.relpath(os.path.abspath(sys.argv[0]), SOURCE)] + sys.argv[1:]))
    m.append("```")
    m.append("")
    m.append("Captures (tcpgen; F below):")
    m.append("")
    m.append("```")
    for size in sizes:
        g = results[size.label]
        m.append("tcpgen " + " ".join(shlex.quote(a) for a in g["gen_cmd"][1:-2]) + " -o F")
        m.append("  # " + g["gen_summary"].replace("tcpgen: ", ""))
    m.append("```")
    m.append("")
    m.append("Rows (each run as `/usr/bin/time -v <tshark ...>`, %d runs each, round-robin; "
             "medians):" % args.runs)
    m.append("")
    m.append("```")
    for row in rows:
        extra = {"none": "no plugin", "native": "with tcpstate.so",
                 "lua": "with -X lua_script:lua-compat/tcpstate.lua, no tcpstate.so"}[row.env]
        m.append("%-3s %s   # %s" % (row.id, row_command(row), extra))
    m.append("```")
    m.append("")
    m.append("tshark runs as tests/tshark_env.py sets it up: a throwaway HOME, "
             "WIRESHARK_PLUGIN_DIR at an empty folder (only the build tree's plugin), TZ=UTC, "
             "as `nobody` (setpriv) when run as root.")
    m.append("")
    m.append("## Results")
    m.append("")
    m.append("Ratios and deltas against baseline A of the same size; ΔRSS per packet and per "
             "connection = (peak RSS − baseline A's) / packets or / connections; spread = "
             "(max − min) / median of the wall times.")
    m.append("")
    m.append(main_table(sizes, results, rows))
    m.append("")
    m.append("### Comparisons")
    m.append("")
    m.append(comparisons_table(sizes, results))
    ratios = lua_ratios(sizes, results)
    if ratios:
        m.append("")
        m.extend("- " + line for line in ratios)
    m.append("")
    m.append("### Targets (not assertions)")
    m.append("")
    m.append(targets_table(targets(sizes, results, design)))
    load = float(info["loadavg_start"][0])
    if load > 0.5:
        notes = notes + ["The machine was not quiet: load average %.2f at the start (%s at the "
                         "end). Wall times (and, less so, CPU times) are unreliable; the "
                         "spread column shows how much. Instruction counts (--profile) "
                         "are not affected." % (load, info.get("loadavg_end", ["?"])[0])]
    if notes:
        m.append("")
        m.append("### Notes")
        m.append("")
        for n in notes:
            m.append("- " + n)
    if prof_md:
        m.append("")
        m.append("## Profile")
        m.append("")
        m.append(prof_md)
    return "\n".join(m) + "\n"


def inside_checkout(path):
    """In the source tree, and not in a build tree (a folder with a CMakeCache.txt)."""
    if path != SOURCE and not path.startswith(SOURCE + os.sep):
        return False
    d = path
    while d.startswith(SOURCE + os.sep):
        if os.path.exists(os.path.join(d, "CMakeCache.txt")):
            return False
        d = os.path.dirname(d)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--build", help="build tree (default: build/ of the checkout)")
    ap.add_argument("--plugin", help="tcpstate.so (default: BUILD/tcpstate.so)")
    ap.add_argument("--tcpgen", help="tcpgen (default: BUILD/tests/bench/tcpgen, else compiled)")
    ap.add_argument("--lua", default=os.path.join(SOURCE, "lua-compat", "tcpstate.lua"),
                    help="the Lua twin (row L; skipped when absent)")
    ap.add_argument("--tshark", default="tshark")
    ap.add_argument("--sizes", default="1M,4M,flood1M",
                    help="comma-separated: 1M (mix, connections = packets/10), 4M:100k "
                         "(packets:connections), flood1M (SYN flood)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rows", default=DEFAULT_ROWS,
                    help="row ids to run, of %s (A is always run; default %s)"
                    % (",".join(r.id for r in make_rows()), DEFAULT_ROWS))
    ap.add_argument("--size-rows", action="append", default=[], metavar="SIZE=ROWS",
                    help="run only these rows at this size, e.g. 4M=A,N (A is always run); "
                         "repeatable")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", help="directory for captures, outputs and the report "
                                  "(default: a new temporary directory)")
    ap.add_argument("--keep-captures", action="store_true")
    ap.add_argument("--timeout", type=float, default=7200, help="seconds per tshark run")
    ap.add_argument("--profile", action="store_true", help="add an instruction profile")
    ap.add_argument("--profile-only", action="store_true", help="only the profile, no timings")
    ap.add_argument("--profile-size", default="100k")
    ap.add_argument("--profile-rows", default="S0,S,A,Na,N,C0,Nc",
                    help="rows to profile (pairs shown: N-A, Na-A, Ap-A, Nz-Bz)")
    ap.add_argument("--profiler", choices=("auto", "callgrind", "perf"), default="auto")
    ap.add_argument("--perf-event", help="perf event (default instructions:u)")
    ap.add_argument("--top", type=int, default=15, help="functions listed in the profile")
    args = ap.parse_args()

    if args.runs < 1:
        ap.error("--runs must be at least 1")
    if not args.build and not (args.plugin and args.tcpgen):
        args.build = os.path.join(SOURCE, "build")
    if args.build:
        args.build = os.path.abspath(args.build)
    plugin = os.path.abspath(args.plugin or os.path.join(args.build, "tcpstate.so"))
    if not os.path.exists(plugin):
        sys.exit("bench: no plugin at %s (build it: cmake --build build)" % plugin)
    try:
        sizes = [Size(t) for t in args.sizes.split(",") if t.strip()]
    except ValueError as e:
        ap.error(str(e))
    all_rows = make_rows()
    rows_by_id = {r.id: r for r in all_rows}
    wanted = set(args.rows.split(",")) | {"A"}
    unknown = wanted - set(rows_by_id)
    if unknown:
        ap.error("unknown rows: %s" % ", ".join(sorted(unknown)))
    rows = [r for r in all_rows if r.id in wanted]
    size_rows = {}
    for spec in args.size_rows:
        label, _, ids = spec.partition("=")
        chosen = set(ids.split(",")) | {"A"}
        if not ids or chosen - set(rows_by_id):
            ap.error("--size-rows %s: want SIZE=ROWS with rows of %s" % (spec, ",".join(rows_by_id)))
        size_rows[label.strip()] = chosen
    for rid in args.profile_rows.split(","):
        if rid not in rows_by_id:
            ap.error("unknown profile row: %s" % rid)

    out = os.path.abspath(args.out) if args.out else tempfile.mkdtemp(prefix="tcpstate-bench-")
    if inside_checkout(out):
        sys.exit("bench: --out %s is inside the checkout: captures are never put there "
                 "(a build tree is fine)" % out)
    os.makedirs(out, exist_ok=True)
    os.chmod(out, 0o755)
    rundir = os.path.join(out, "runs")
    os.makedirs(rundir, exist_ok=True)
    ensure_time()
    tcpgen = find_tcpgen(args, out)
    info = machine(args.tshark, args.build)
    design = design_sizes(out)
    notes = []
    lua = os.path.abspath(args.lua) if args.lua else None
    lua_present = bool(lua and os.path.exists(lua))
    if any(r.env == "lua" for r in rows) and not lua_present:
        notes.append("Row L skipped: %s does not exist (yet)." % os.path.relpath(lua, SOURCE)
                     if lua and lua.startswith(SOURCE) else "Row L skipped: no Lua script.")
    if os.environ.get("TCPSTATE_PRELOAD"):
        notes.append("TCPSTATE_PRELOAD is set (%s): tshark ran with a sanitizer runtime "
                     "preloaded, so these numbers say nothing about a normal build."
                     % os.environ["TCPSTATE_PRELOAD"])
    envs = Envs(args.tshark, plugin, lua)
    results = {}
    failed = False
    try:
        for size in ([] if args.profile_only else sizes):
            path = os.path.join(out, "%s-%s-%s-s%d.pcap" % (
                size.profile, human(size.packets), human(size.connections), args.seed))
            print("bench: generating %s ..." % size.label, file=sys.stderr, flush=True)
            gen_cmd, gen_summary = generate(tcpgen, size, args.seed, path)
            print("  " + gen_summary, file=sys.stderr)
            res = {"gen_cmd": gen_cmd, "gen_summary": gen_summary, "rows": {},
                   "packets": size.packets, "connections": size.connections}
            results[size.label] = res
            active = []
            for row in rows:
                if size.label in size_rows and row.id not in size_rows[size.label]:
                    continue
                if row.env == "lua" and not lua_present:
                    res["rows"][row.id] = {"skipped": "skipped: no lua-compat script"}
                else:
                    active.append(row)
            warm(envs, active, path)
            runs = {r.id: [] for r in active}
            for i in range(args.runs):
                order = active[i % len(active):] + active[:i % len(active)]
                for row in order:
                    print("bench: %s run %d/%d %-3s ..." % (size.label, i + 1, args.runs, row.id),
                          end="", file=sys.stderr, flush=True)
                    r = run_once(envs, row, path, rundir, args.timeout)
                    runs[row.id].append(r)
                    print(" %.2f s, %.0f MiB%s" % (r["wall"], r.get("rss_kb", 0) / 1024,
                                                   "" if run_ok(row, r, size) else " FAILED"),
                          file=sys.stderr, flush=True)
            for row in active:
                res["rows"][row.id] = summarize(row, runs[row.id], size)
                if not res["rows"][row.id]["ok"]:
                    if row.env == "lua":
                        notes.append("Row L failed on %s: %s" % (size.label,
                                                                   res["rows"][row.id]["check"]))
                    else:
                        failed = True
            if not args.keep_captures:
                os.unlink(path)
            envs.forget(path)
        prof = prof_md = None
        if args.profile or args.profile_only:
            prof = profile(args, envs, rows_by_id, tcpgen, out)
            prof_md = profile_report(prof, args.top)
    finally:
        envs.close()
    info["loadavg_end"] = open("/proc/loadavg").read().split()[:3]

    if args.profile_only:
        text = "# tcpstate profile\n\n" + prof_md + "\n"
    else:
        text = report(args, info, sizes, results, rows, design, notes, prof_md)
    with open(os.path.join(out, "bench.md"), "w") as f:
        f.write(text)
    if prof:
        for r in prof["rows"].values():
            if "excl_pp" in r:
                r["excl_pp"] = {"%s\t%s" % k: round(v, 1) for k, v in r["excl_pp"].items()
                                if abs(v) >= 0.5}
    with open(os.path.join(out, "bench.json"), "w") as f:
        json.dump({"machine": info, "design": design, "args": vars(args),
                   "sizes": results, "notes": notes, "profile": prof}, f, indent=1,
                  default=str)
    print(text)
    print("bench: written %s and %s" % (os.path.join(out, "bench.md"),
                                        os.path.join(out, "bench.json")), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
