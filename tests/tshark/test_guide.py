"""docs/user-guide.md cannot rot: its cookbook recipes find what it says, its
other tshark commands run, and the ready-to-import extras (docs/extras/)
are accepted by tshark and do what the guide says.

A cookbook recipe is a ```sh block holding one tshark command, followed by
the line *On cookbook.pcap: N packet(s)*: the command, run on
sample-captures/crafted/cookbook.pcap, must print N packet lines.  Every
other line of a ```sh block that starts with `tshark -r sample-captures/`
must succeed and print something, without a warning.
"""

import os
import re
import shlex
import shutil

import pytest

from tshark_env import TShark

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GUIDE = os.path.join(ROOT, "docs", "user-guide.md")
EXTRAS = os.path.join(ROOT, "docs", "extras")
PROFILE = os.path.join(EXTRAS, "profiles", "tcpstate")
COOKBOOK = "sample-captures/crafted/cookbook.pcap"

SH_BLOCK = re.compile(r"^```sh\n(.*?)^```\n", re.M | re.S)
RECIPE = re.compile(r"^```sh\n(tshark [^\n]*)\n```\n\*On cookbook\.pcap: (\d+) packets?\*", re.M)
# The cookbook's topics (issue 8): each needs at least one recipe.
TOPICS = ["Server-initiated disconnects", "Connections left in CLOSE_WAIT",
          "Illegal-flag scans", "Half-open floods", "Connections reset by the server",
          "Handshake RTT outliers"]


def guide():
    with open(GUIDE, encoding="utf-8") as fp:
        return fp.read()


def cookbook_sections():
    """{### heading: its text} of the guide's Filter cookbook."""
    text = guide()
    start = text.index("\n## Filter cookbook\n")
    end = text.index("\n## ", start + 1)
    parts = re.split(r"^### (.+)\n", text[start:end], flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def recipes():
    return [(cmd, int(n)) for cmd, n in RECIPE.findall(guide())]


def other_commands():
    recipe_cmds = {cmd for cmd, _ in recipes()}
    cmds = []
    for block in SH_BLOCK.findall(guide()):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if " -r sample-captures/" in line and line.startswith("tshark ") \
                    and line not in recipe_cmds:
                cmds.append(line)
    return cmds


def split(cmd):
    """(tshark arguments without -r, the capture's path) of a guide command."""
    args = shlex.split(cmd)
    assert args[0] == "tshark", cmd
    args = args[1:]
    i = args.index("-r")
    capture = os.path.join(ROOT, args[i + 1])
    assert os.path.exists(capture), cmd
    return args[:i] + args[i + 2:], capture


@pytest.fixture(scope="module")
def t(request):
    """tshark with the plugin and the guide's profile among the personal ones."""
    with TShark(request.config.getoption("--plugin-path")) as ts:
        out = ts.run(["-G", "folders"]).stdout
        personal = re.search(r"^Personal configuration:\s*(\S+)", out, re.M).group(1)
        dst = os.path.join(personal, "profiles", "tcpstate")
        shutil.copytree(PROFILE, dst)
        if ts.root:
            for dirpath, dirnames, filenames in os.walk(os.path.join(ts.home, ".config")):
                for name in [""] + dirnames + filenames:
                    os.chown(os.path.join(dirpath, name), ts.uid, ts.gid)
        yield ts


def test_every_topic_has_a_recipe():
    sections = cookbook_sections()
    for topic in TOPICS:
        assert topic in sections, "no cookbook section %r" % topic
        assert RECIPE.search(sections[topic]), "section %r has no checked recipe" % topic
    assert len(recipes()) >= len(TOPICS)


@pytest.mark.parametrize("cmd,count", recipes())
def test_recipe(t, cmd, count):
    args, capture = split(cmd)
    assert capture.endswith(COOKBOOK), cmd
    proc = t.run(args, capture=capture)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(lines) == count, "%s\n%s" % (cmd, proc.stdout)
    assert proc.stderr == "", proc.stderr


@pytest.mark.parametrize("cmd", other_commands())
def test_command_runs(t, cmd):
    args, capture = split(cmd)
    proc = t.run(args, capture=capture)
    assert proc.stdout.strip(), cmd
    assert proc.stderr == "", proc.stderr


def test_guide_has_commands():
    """The parsers above find what they should (else the tests prove nothing)."""
    assert len(other_commands()) >= 5
    assert any("-C tcpstate" in c for c in other_commands())


def test_guide_images_and_links_exist():
    text = guide()
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if "://" not in target:
            assert os.path.exists(os.path.join(ROOT, "docs", target)), target


# ---- docs/extras ------------------------------------------------------------------

def color_rules(path):
    """[(name, filter)] of a colorfilters file."""
    rules = []
    with open(path, encoding="utf-8") as fp:
        for line in fp:
            m = re.match(r"^@([^@]+)@([^@]+)@\[\d+,\d+,\d+\]\[\d+,\d+,\d+\]$", line.rstrip("\n"))
            if m:
                rules.append(m.groups())
            else:
                assert line.startswith("#"), line
    return rules


def test_profile_has_the_importable_coloring_rules():
    with open(os.path.join(EXTRAS, "tcpstate.colorfilters")) as a, \
            open(os.path.join(PROFILE, "colorfilters")) as b:
        assert a.read() == b.read()
    assert len(color_rules(os.path.join(EXTRAS, "tcpstate.colorfilters"))) == 4


def test_coloring_rules_color_what_they_should(t):
    """With the profile, tshark --color names the rule that colored each frame."""
    cap = os.path.join(ROOT, COOKBOOK)
    proc = t.run(["-C", "tcpstate", "--color", "-T", "fields", "-e", "frame.number",
                  "-e", "frame.coloring_rule.name"], capture=cap)
    assert proc.stderr == "", proc.stderr
    rule = dict(line.split("\t") for line in proc.stdout.splitlines())
    assert [rule[str(f)] for f in (71, 72, 73)] == ["tcpstate: illegal TCP flags"] * 3
    assert rule["68"] == "tcpstate: server reset"
    assert rule["70"] == "tcpstate: reset by client or refused"
    assert rule["51"] == "tcpstate: server-initiated close"
    # every rule colors something, and each frame it colors matches its filter
    for name, flt in color_rules(os.path.join(PROFILE, "colorfilters")):
        colored = sorted(int(f) for f, r in rule.items() if r == name)
        assert colored, name
        out = t.run(["-Y", flt, "-T", "fields", "-e", "frame.number"], capture=cap).stdout
        assert set(colored) <= {int(x) for x in out.split()}, name


def test_profile_columns_and_no_info_tag(t):
    cap = os.path.join(ROOT, "sample-captures", "kernel", "server_close.pcap")
    plain = t.run([], capture=cap)
    assert "[C:" in plain.stdout        # the default: the tag in the Info column
    proc = t.run(["-C", "tcpstate"], capture=cap)
    assert proc.stderr == "", proc.stderr
    assert "[C:" not in proc.stdout
    lines = {int(line.split()[0]): line for line in proc.stdout.splitlines()}
    assert re.search(r"\sESTABLISHED FIN_WAIT1\s+first FIN\s", lines[8]), lines[8]
    assert re.search(r"\sSYN_SENT LISTEN\s+SYN\s", lines[1]), lines[1]
