"""The Lua twin (lua-compat/) against the native plugin, in tshark.

For every capture in sample-captures/ and in the shared corpus, tshark runs
once with the native plugin from the build tree and once with the Lua twin
alone (installed into the personal Lua plugin folder of a throwaway HOME),
printing in one run every tcpstate.* field (the expert fields print 1 when
present) and the Info column with -T fields, then -z expert, -z
tcpstate,tree and -z tcpstate,conns.  Everything must be identical, in one
pass, with -2 and with -2 -Y frame (see "no differences" below;
lua-compat/README.md, "Differences from the native plugin").
"""

import concurrent.futures
import os
import re
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import expectations  # noqa: E402

# ---- no differences ------------------------------------------------------------
#
# Both plugins compute each frame in the first dissection that offers its
# segment, in frame order.  tshark -2 builds no protocol tree and runs no
# taps on its first pass unless a display filter (-Y) or a read filter (-R)
# is given; both then compute on the second pass, so their connection-level
# fields show the summary so far, as in a single pass.  With -2 and a
# filter (-2 -Y frame) both compute on the first pass and show final
# summaries.  So every mode is compared in full, native against Lua.
SO_FAR_FIELDS = ("tcpstate.conn.", "tcpstate.half_open")

STEP_ASIDE = "the native tcpstate plugin is loaded; the Lua twin steps aside"
TAPS = ["-z", "expert", "-z", "tcpstate,tree", "-z", "tcpstate,conns"]
MODES = {"1": [], "2": ["-2"], "2Y": ["-2", "-Y", "frame"]}
EXTRA = {"tunnels_Teredo.pcap": ["-d", "udp.port==32900,teredo"]}


def sample_captures(config):
    return expectations.captures(config.samples)


def corpus_traces(config):
    return expectations.captures(config.corpus) if os.path.isdir(config.corpus) else []


def pytest_generate_tests(metafunc):
    config = metafunc.config
    if "capture" in metafunc.fixturenames:
        paths = sample_captures(config)
        metafunc.parametrize("capture", paths,
                             ids=[os.path.relpath(p, config.samples) for p in paths])
    if "trace" in metafunc.fixturenames:
        paths = corpus_traces(config)
        metafunc.parametrize("trace", paths or [None],
                             ids=[os.path.relpath(p, config.corpus) for p in paths] or ["absent"])


# Native only, by design (lua-compat/README.md, "Differences"): ring-set
# continuity and connection records.  Everything else is compared.
NATIVE_ONLY_FIELDS = {"tcpstate.conn.carried"}
NATIVE_ONLY_PREFS = ("tcpstate.state_dir", "tcpstate.state_gap")


def tcpstate_fields(tshark):
    """The F lines of tshark -G fields for tcpstate.*, in registration order
    (without the native-only ones)."""
    lines = [l for l in tshark.run(["-G", "fields"]).stdout.splitlines()
             if l.startswith("F\t") and l.split("\t")[2].startswith("tcpstate.")
             and l.split("\t")[2] not in NATIVE_ONLY_FIELDS]
    return lines


class Runs:
    """Every tshark run the capture tests compare, made once, in parallel."""

    def __init__(self, native, lua, fields, workers):
        self.tsharks = {"native": native, "lua": lua}
        self.fields = fields
        self.workers = workers or os.cpu_count() or 2
        self.out = {}

    def args(self, mode, capture, extra=()):
        a = list(MODES[mode]) + list(EXTRA.get(os.path.basename(capture), [])) + list(extra)
        a += ["-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,", "-e", "frame.number",
              "-e", "_ws.col.Info"]
        for f in self.fields:
            a += ["-e", f]
        return a + TAPS

    def prefetch(self, jobs):
        """jobs: (impl, mode, capture, extra) tuples."""
        todo = [j for j in jobs if j not in self.out]
        for impl, _, capture, _ in todo:
            self.tsharks[impl].stage(capture)      # staging is not thread-safe
        def one(job):
            impl, mode, capture, extra = job
            return job, self.tsharks[impl].run(self.args(mode, capture, extra), capture=capture,
                                               check=False)
        with concurrent.futures.ThreadPoolExecutor(self.workers) as ex:
            for job, proc in ex.map(one, todo):
                self.out[job] = proc

    def get(self, impl, mode, capture, extra=()):
        job = (impl, mode, capture, tuple(extra))
        if job not in self.out:
            self.prefetch([job])
        return Result(self.out[job], self.fields)


class Result:
    """One run: per-frame rows and the three tap outputs."""

    def __init__(self, proc, fields):
        self.proc = proc
        self.columns = ["frame.number", "_ws.col.Info"] + list(fields)
        out = proc.stdout
        cut = out.find("\n\n")
        rows, taps = (out, "") if cut < 0 else (out[:cut + 1], out[cut + 1:])
        self.rows = [line.split("\t") for line in rows.splitlines()]
        self.taps = taps
        self.tree = self.block(taps, "TCP Connection Lifecycles:")
        self.conns = self.block(taps, "TCP Connection Lifecycles: Connections:")
        self.expert = self.expert_rows(taps)

    @staticmethod
    def block(text, title):
        lines = text.splitlines()
        if title not in lines:
            return None
        i = lines.index(title)
        end = i + 1
        if title.endswith("Connections:"):
            while end < len(lines) and not lines[end].startswith("====="):
                end += 1
        else:
            dashes = lines[i + 2]
            end = i + 3
            while end < len(lines) and lines[end] != dashes:
                end += 1
        return "\n".join(lines[i - 1:end + 1])

    @staticmethod
    def expert_rows(text):
        rows, section = [], None
        for line in text.splitlines():
            m = re.match(r"^(Errors|Warns|Notes|Chats|Comments) \(\d+\)$", line)
            if m:
                section = m.group(1)
            elif section and line.strip():
                words = line.split(None, 3)
                if len(words) == 4 and words[0].isdigit():
                    rows.append((section,) + tuple(words))
        return rows


@pytest.fixture(scope="session")
def fields(native):
    return [l.split("\t")[2] for l in tcpstate_fields(native)]


@pytest.fixture(scope="session")
def runs(request, native, lua, fields):
    """All the runs of the selected capture tests, made in parallel up front."""
    r = Runs(native, lua, fields, request.config.getoption("--workers"))
    selected = [getattr(item, "callspec", None) for item in request.session.items]
    params = [cs.params for cs in selected if cs]
    jobs = []
    for c in sorted({p["capture"] for p in params if "capture" in p}):
        jobs += [("native", "1", c, ()), ("native", "2", c, ()), ("native", "2Y", c, ()),
                 ("lua", "1", c, ()), ("lua", "2", c, ()), ("lua", "2Y", c, ())]
    for c in sorted({p["trace"] for p in params if p.get("trace")}):
        extra = ("-o", "tcp.check_checksum:TRUE")
        jobs += [("native", "1", c, extra), ("lua", "1", c, extra)]
    r.prefetch(jobs)
    return r


def assert_clean(result, what):
    assert result.proc.returncode == 0, "%s: tshark failed:\n%s" % (what, result.proc.stderr)
    assert not result.proc.stderr.strip(), "%s: stderr:\n%s" % (what, result.proc.stderr)
    assert "Lua" not in result.taps, "%s: a Lua error in the expert infos:\n%s" % (what, result.taps)


def row_diffs(a, b, columns, keep):
    """'frame N column: native X, lua Y' for every differing cell of the
    columns keep(column) selects."""
    diffs = []
    if len(a) != len(b):
        diffs.append("%d frames vs %d" % (len(a), len(b)))
    for ra, rb in zip(a, b):
        for col, x, y in zip(columns, ra, rb):
            if x != y and keep(col):
                diffs.append("frame %s %s: native %r, lua %r" % (ra[0], col, x, y))
    return diffs


def so_far(col):
    return col.startswith(SO_FAR_FIELDS)


def tcpstate_rows(rows, mine=True):
    """-z expert rows of tcpstate (mine) or of the other protocols."""
    return [r for r in rows if (r[3] == "TCPSTATE") == mine]


def assert_same(native, lua, what, keep=lambda col: True, taps=True):
    diffs = row_diffs(native.rows, lua.rows, native.columns, keep)
    assert not diffs, "%s:\n%s" % (what, "\n".join(diffs[:40]))
    if taps:
        assert native.expert == lua.expert, "%s: -z expert\nnative %s\nlua    %s" % (
            what, native.expert, lua.expert)
        assert_same_statistics(native, lua, what)


def assert_same_statistics(native, lua, what):
    assert native.tree == lua.tree, "%s: -z tcpstate,tree\n%s\n---\n%s" % (what, native.tree, lua.tree)
    assert native.conns == lua.conns, "%s: -z tcpstate,conns\n%s\n---\n%s" % (
        what, native.conns, lua.conns)


# ---- registration ------------------------------------------------------------------

def test_same_fields_and_experts(native, lua):
    """-G fields: the same names, types, bases and descriptions, in order."""
    n, l = tcpstate_fields(native), tcpstate_fields(lua)
    assert n and n == l


def test_same_value_strings(native, lua):
    assert native.values() == lua.values()


def test_same_protocol_and_preferences(native, lua):
    # -G protocols: name, short name, filter name; 4.4 and later add three
    # columns (enabled, ...), so compare the first three.
    proto = lambda t: ["\t".join(l.split("\t")[:3])
                       for l in t.run(["-G", "protocols"]).stdout.splitlines()
                       if l.split("\t")[2:3] == ["tcpstate"]]
    assert proto(native) == proto(lua) == ["TCP State Tracking\tTCPSTATE\ttcpstate"]
    prefs = lambda t: [b for b in t.run(["-G", "defaultprefs"]).stdout.split("\n\n")
                       if "tcpstate." in b]
    native_prefs = prefs(native)
    assert len([b for b in native_prefs if "#" + NATIVE_ONLY_PREFS[0] in b or
                "#" + NATIVE_ONLY_PREFS[1] in b]) == 2
    native_prefs = [b for b in native_prefs if not any("#" + p in b for p in NATIVE_ONLY_PREFS)]
    assert native_prefs == prefs(lua) and len(prefs(lua)) == 3


def test_lua_loaded_from_the_personal_folder(lua):
    out = lua.run(["-G", "plugins"]).stdout
    ours = [l for l in out.splitlines() if l.split("\t")[0].strip() == "tcpstate.lua"]
    assert ours and lua.lua_plugin_dir in ours[0], out
    assert "tcpstate.so" not in out


# ---- every sample capture --------------------------------------------------------

def test_single_pass(runs, capture):
    n, l = runs.get("native", "1", capture), runs.get("lua", "1", capture)
    assert_clean(l, "lua")
    assert n.tree and n.conns, "no statistics in the native run"
    assert_same(n, l, "single pass")


def test_two_passes_with_a_filter(runs, capture):
    """-2 -Y frame: the first pass builds a tree, so both plugins compute
    there, and their connection fields are final."""
    n, l = runs.get("native", "2Y", capture), runs.get("lua", "2Y", capture)
    assert_clean(l, "lua -2 -Y frame")
    assert_same(n, l, "-2 -Y frame")


def test_two_passes_without_a_filter(runs, capture):
    """-2 alone: the first pass offers neither taps nor a tree, so both
    plugins compute on the second pass; everything is the same, and the
    connection fields are those of a single pass (the summary so far)."""
    n1, n2, l2 = (runs.get("native", "1", capture), runs.get("native", "2", capture),
                  runs.get("lua", "2", capture))
    assert_clean(l2, "lua -2")
    assert_same(n2, l2, "-2")
    assert_same(n1, n2, "-2 connection fields, against a single pass", keep=so_far, taps=False)


# ---- the shared corpus -----------------------------------------------------------------

def test_corpus(runs, trace, request):
    """Public traces (VLAN, MPLS, PPPoE, tunnels, IPv6, ICMP errors, scans,
    floods), with TCP checksums verified: no Lua error, the same output."""
    if trace is None:
        pytest.skip("no corpus at %s (set TCPSTATE_CORPUS)" % request.config.corpus)
    extra = ("-o", "tcp.check_checksum:TRUE")
    n, l = runs.get("native", "1", trace, extra), runs.get("lua", "1", trace, extra)
    assert_clean(l, "lua")
    assert_same(n, l, "corpus, single pass")


# ---- tree texts, preferences, stepping aside --------------------------------------------

TREE_CAPTURES = ["crafted/anomalies.pcap", "crafted/icmp_quoted.pcap", "crafted/midstream.pcap",
                 "crafted/illegal_flags.pcap", "kernel/simultaneous_open.pcap",
                 "kernel/syn_flood_cookies.pcap", "kernel/ipv6.pcap"]


def tcpstate_subtrees(text):
    """The tcpstate subtree of every frame of tshark -V -O tcpstate."""
    out, keep = [], False
    for line in text.splitlines():
        if line.startswith("Frame ") or line.startswith("TCP State Tracking"):
            keep = line.startswith("TCP State Tracking")
            out.append(line)
        elif keep:
            out.append(line)
    return out


@pytest.mark.parametrize("name", TREE_CAPTURES)
def test_tree_text(native, lua, samples_dir, name):
    cap = os.path.join(samples_dir, name)
    args = ["-V", "-O", "tcpstate"]
    n = tcpstate_subtrees(native.run(args, capture=cap).stdout)
    l = tcpstate_subtrees(lua.run(args, capture=cap).stdout)
    assert len(n) > 10 and n == l


@pytest.mark.parametrize("prefs", [
    ["-o", "tcpstate.info_tag:off"],
    ["-o", "tcpstate.info_tag:always"],
    ["-o", "tcpstate.syn_flood_threshold:20", "-o", "tcpstate.syn_flood_window:1"],
    ["-o", "tcpstate.syn_flood_threshold:0"],
])
def test_preferences(native, lua, samples_dir, prefs):
    cap = os.path.join(samples_dir, "kernel", "syn_flood_cookies.pcap")
    args = prefs + ["-T", "fields", "-e", "frame.number", "-e", "_ws.col.Info",
                    "-e", "tcpstate.syn_flood", "-e", "_ws.expert.message"]
    n, l = native.run(args, capture=cap).stdout, lua.run(args, capture=cap).stdout
    assert n == l
    if "tcpstate.syn_flood_threshold:20" in prefs:
        assert "SYN flood: 20 half-open connections" in l


def test_steps_aside_for_the_native_plugin(both, native, samples_dir):
    """Both loaded: the Lua twin logs one line and registers nothing; the
    fields come out once, from the native plugin."""
    cap = os.path.join(samples_dir, "crafted", "interleaved.pcap")
    args = ["-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,",
            "-e", "tcpstate.stream", "-e", "tcpstate.client.state", "-e", "tcpstate.handshake",
            "-e", "tcpstate.conn.outcome"]
    b = both.run(args, capture=cap)
    assert b.stderr.count(STEP_ASIDE) == 1, b.stderr
    assert b.stdout == native.run(args, capture=cap).stdout
    assert "," not in b.stdout.split("\t")[0]
    plugins = both.run(["-G", "plugins"])
    assert "tcpstate.so" in plugins.stdout and "tcpstate.lua" in plugins.stdout
    assert tcpstate_fields(both) == tcpstate_fields(native)


@pytest.fixture(scope="session")
def samples_dir(request):
    return request.config.samples
