"""The Flow Graph of TCP states: tshark -z flow,tcpstate,standard|network[,filter].

On every sample capture (.pcap, .pcapng and .pcap.gz below sample-captures/):

- one arrow per segment tcpstate tracks (a frame with tcpstate.stream and
  no tcpstate.icmp_quoted), in frame order, at the frame's time, between
  its ports;
- its comment is the frame's Info tag (-o tcpstate.info_tag:always) without
  the steps: both states exactly as the Info column writes them, then the
  frame's tcpstate expert infos by name but the step ones (illegal_flags with
  tcpstate.illegal), in the anomaly list's order;
- its label is the flags of tcp.flags and the Info tag's steps, as far as
  tshark's text prints it (the width between two nodes);
- "standard" and "network" draw the same (TCP over IP: the same addresses).

Golden output (tests/flowgraph/*.txt) for the captures in GOLDEN, and for
a filtered and a two-pass run: the text must be byte for byte what
tests/flowgraph holds.  This guards the seq_analysis_item_t layout that
plugin/compat.h declares per release (a wrong one draws nothing, or the
wrong text, and fails here).  The text is the same on 4.0, 4.4 and 4.6.

To regenerate the goldens after a deliberate change:
    TCPSTATE_FLOWGRAPH_REGEN=1 ctest --test-dir build -R tshark.flowgraph
then review `git diff tests/flowgraph`.
"""

import os
import re
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tshark_env import TShark  # noqa: E402

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN_DIR = os.path.join(TESTS, "flowgraph")
REGEN = bool(os.environ.get("TCPSTATE_FLOWGRAPH_REGEN"))

# Captures whose flow text is compared with tests/flowgraph/<dir>-<name>.txt:
# the four closes of the docs, the other close styles, IPv6, ICMP-quoted
# headers, every anomaly, interleaved connections, tunnels, VLANs, mid-stream.
# None of them is one where Wireshark 4.2+ splits a tcp.stream differently.
GOLDEN = ["kernel/client_close", "kernel/server_close", "kernel/simultaneous_close",
          "kernel/refused", "kernel/three_segment_close", "kernel/half_close",
          "kernel/server_reset", "kernel/ipv6", "crafted/icmp_quoted", "crafted/anomalies",
          "crafted/interleaved", "crafted/tunnels", "crafted/vlan_qinq_ipv6",
          "crafted/midstream", "crafted/scenario-refused"]

# The expert infos the label shows as the step.
STEP_EXPERTS = ("tcpstate.handshake_step", "tcpstate.teardown_step")

INFO_COLUMNS = 'gui.column.format:"No.","%m","Info","%i"'
TAG = re.compile(r"\[(C:\S+ S:\S+)(?: ([^\]]+))?\]$")
FLAG_NAMES = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "AE"]


def all_captures(samples):
    out = []
    for dirpath, _, filenames in os.walk(samples):
        out += [os.path.join(dirpath, f) for f in filenames
                if f.endswith((".pcap", ".pcapng", ".pcap.gz"))]
    return sorted(out)


def pytest_generate_tests(metafunc):
    if "capture" in metafunc.fixturenames:
        samples = metafunc.config.samples
        paths = all_captures(samples)
        metafunc.parametrize("capture", paths, ids=[os.path.relpath(p, samples) for p in paths])


def flags_text(value):
    """tcp.flags (0x0012) as the label writes it: "SYN, ACK"."""
    v = int(value, 16)
    names = [n for i, n in enumerate(FLAG_NAMES) if v & (1 << i)]
    if v & 0xE00:
        names.append("Reserved")
    return ", ".join(names) or "<None>"


class Flow:
    """The text of -z flow,tcpstate: its arrows, each (time, label cell,
    arrow, comment), where the label cell is the text above the arrow, as
    wide as the arrow."""

    ARROW = re.compile(r"<-+|-+>")

    def __init__(self, lines):
        self.text = "\n".join(lines) + "\n" if lines else ""
        self.arrows = []
        body = [l for l in lines[2:] if not re.fullmatch(r"-+", l)]
        assert len(body) % 2 == 0, "an arrow without its second line:\n" + self.text
        for top, bottom in zip(body[0::2], body[1::2]):
            m = self.ARROW.search(bottom)
            assert m, "no arrow under %r" % top
            time = re.match(r"(?:\d+\s*)?\|(\S+)", top)
            assert time, "no time in %r" % top
            ports = re.findall(r"\((\d+)\)", bottom)
            self.arrows.append({
                "time": time.group(1),
                "label": top[m.start():m.end()],
                "width": m.end() - m.start(),
                "ports": set(ports),
                "comment": top.rsplit("|", 1)[1],
            })


def split_flow(out):
    """(the lines before the flow text, the Flow)."""
    lines = out.splitlines()
    start = next((i for i, l in enumerate(lines) if l.startswith(("|Time", "Conv.|"))),
                 len(lines))
    return lines[:start], Flow(lines[start:])


_RUNS = {}


def runs(tshark, anomalies, capture):
    """Two runs of one capture: the Info column with the tag on every
    segment and the "standard" flow; the fields and the "network" flow."""
    if capture in _RUNS:
        return _RUNS[capture]
    out = tshark.run(["-n", "-o", "tcpstate.info_tag:always", "-o", INFO_COLUMNS,
                      "-z", "flow,tcpstate,standard"], capture=capture).stdout
    info_lines, standard = split_flow(out)
    info = {}
    for line in info_lines:
        m = re.match(r"\s*(\d+)\s(.*)$", line)
        if m:
            info[m.group(1)] = m.group(2)
    names = [a[0] for a in anomalies]
    fields = ["tcpstate.stream", "tcpstate.icmp_quoted", "tcp.flags", "tcp.srcport",
              "tcp.dstport", "frame.time_relative", "tcpstate.illegal"] + names
    args = ["-n", "-T", "fields", "-E", "occurrence=f", "-e", "frame.number"]
    for f in fields:
        args += ["-e", f]
    field_lines, network = split_flow(tshark.run(args + ["-z", "flow,tcpstate,network"],
                                                 capture=capture).stdout)
    rows = [dict(zip(["frame.number"] + fields, l.split("\t"))) for l in field_lines if l]
    _RUNS[capture] = (info, rows, standard, network)
    return _RUNS[capture]


def expected(info, row, anomalies):
    """(label, comment) the frame's arrow must have."""
    tag = TAG.search(info[row["frame.number"]])
    assert tag, "frame %s: no Info tag in %r" % (row["frame.number"], info[row["frame.number"]])
    states, steps = tag.group(1), tag.group(2)
    label = flags_text(row["tcp.flags"]) + ("  " + steps if steps else "")
    shown = []
    for name, *_ in anomalies:
        if row[name] and name not in STEP_EXPERTS:
            short = name[len("tcpstate."):]
            if short == "illegal_flags" and row["tcpstate.illegal"]:
                short += ": " + row["tcpstate.illegal"]
            shown.append(short)
    return label, states + ("  " + ", ".join(shown) if shown else "")


def test_one_arrow_per_tracked_segment(tshark, anomalies, capture):
    info, rows, standard, network = runs(tshark, anomalies, capture)
    tracked = [r for r in rows if r["tcpstate.stream"] and not r["tcpstate.icmp_quoted"]]
    assert len(standard.arrows) == len(tracked), \
        "%d arrows for %d tracked segments" % (len(standard.arrows), len(tracked))
    tagged = sorted((n for n, i in info.items() if TAG.search(i)), key=int)
    assert tagged == [r["frame.number"] for r in tracked], "Info tags on other frames"
    assert standard.text == network.text, "standard and network differ"
    problems = []
    for arrow, row in zip(standard.arrows, tracked):
        frame = row["frame.number"]
        label, comment = expected(info, row, anomalies)
        if arrow["comment"] != comment:
            problems.append("frame %s: comment %r, want %r" % (frame, arrow["comment"], comment))
        n = min(len(label), arrow["width"])
        if arrow["label"][:n] != label[:n]:
            problems.append("frame %s: label %r, want %r" % (frame, arrow["label"], label))
        if arrow["time"] != "%.6f" % float(row["frame.time_relative"]):
            problems.append("frame %s: time %s, frame at %s" % (frame, arrow["time"],
                                                               row["frame.time_relative"]))
        if arrow["ports"] != {row["tcp.srcport"], row["tcp.dstport"]}:
            problems.append("frame %s: ports %s" % (frame, arrow["ports"]))
    assert not problems, "\n".join(problems[:20])


def golden_path(name, suffix=""):
    return os.path.join(GOLDEN_DIR, name.replace("/", "-") + suffix + ".txt")


def check_golden(path, text):
    if REGEN:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as fp:
            fp.write(text)
    with open(path, encoding="utf-8") as fp:
        want = fp.read()
    assert text == want, "differs from %s:\n%s" % (os.path.relpath(path, TESTS), text)


@pytest.mark.parametrize("name", GOLDEN)
def test_golden(tshark, anomalies, samples, name):
    _, _, standard, network = runs(tshark, anomalies, os.path.join(samples, name + ".pcap"))
    assert standard.arrows, "no arrow"
    check_golden(golden_path(name), standard.text)
    assert network.text == standard.text


def test_golden_filtered(tshark, samples):
    """The filter argument: only the segments that match it get an arrow
    (here the server-first connection of three)."""
    capture = os.path.join(samples, "crafted", "interleaved.pcap")
    flt = "tcp.port == 40062"
    _, flow = split_flow(tshark.run(["-q", "-n", "-z", "flow,tcpstate,network," + flt],
                                    capture=capture).stdout)
    matching = tshark.run(["-n", "-Y", flt + " && tcpstate.stream", "-T", "fields",
                           "-e", "frame.number"], capture=capture).stdout.split()
    assert len(flow.arrows) == len(matching) > 0
    assert any("server_close" in a["comment"] for a in flow.arrows)
    check_golden(golden_path("crafted/interleaved", ".filtered"), flow.text)


def test_golden_two_pass(tshark, anomalies, samples):
    """tshark -2 draws what one pass draws (the records are the first
    pass's); here on the capture with every anomaly."""
    capture = os.path.join(samples, "crafted", "anomalies.pcap")
    _, flow = split_flow(tshark.run(["-2", "-q", "-n", "-z", "flow,tcpstate,standard"],
                                    capture=capture).stdout)
    check_golden(golden_path("crafted/anomalies"), flow.text)


def test_registered(tshark):
    """tshark -z help lists the analysis beside TCP's own."""
    out = tshark.run(["-z", "help"], check=False)
    listed = (out.stdout + out.stderr).split()
    assert "flow,tcpstate" in listed and "flow,tcp" in listed


def test_bad_mode(tshark, samples):
    """A mode that is neither standard nor network is tshark's error, not a
    crash."""
    out = tshark.run(["-q", "-z", "flow,tcpstate,sideways"], check=False,
                     capture=os.path.join(samples, "kernel", "refused.pcap"))
    assert out.returncode != 0 and "Invalid address type" in out.stderr


def test_wrong_layout_draws_nothing(samples):
    """The plugin built with another release's layout of the sequence
    analysis types (TCPSTATE_FLOWGRAPH_WRONG_LAYOUT): the self-check in
    flowgraph.c catches it before the first arrow; tshark warns once, draws
    nothing, does not crash, and everything else of the plugin works."""
    plugin = os.environ.get("TCPSTATE_WRONG_LAYOUT_PLUGIN")
    if not plugin:
        pytest.skip("TCPSTATE_WRONG_LAYOUT_PLUGIN not set (run from ctest)")
    with TShark(plugin) as wrong:
        out = wrong.run(["-n", "-z", "flow,tcpstate,standard"],
                        capture=os.path.join(samples, "kernel", "client_close.pcap"))
    info, flow = split_flow(out.stdout)
    assert not flow.arrows and not flow.text.strip(), flow.text
    assert out.stderr.count("draws nothing") == 1, out.stderr
    assert len(info) == 11 and info[-1].endswith("[C:TIME_WAIT S:CLOSED Teardown 4/4]")
