"""The Debian package: cpack in the build tree, then dpkg-deb -I / -c / -x.

What it must be (README, docs/user-guide.md): wireshark-tcpstate_<version>_<arch>.deb
holding the plugin in Wireshark's global plugin folder for the release it
was built against, depending on the Debian package of that libwireshark from
the built version up to the next minor release, recommending tshark, with
the configuration profile among Wireshark's global profiles and a copyright
file.  tests/package/install-test.sh installs it on a clean Debian 12.
"""

import filecmp
import functools
import os
import re
import subprocess

import pytest

from tshark_env import TShark

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER_CLOSE = os.path.join(ROOT, "sample-captures", "kernel", "server_close.pcap")


def run(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def control(deb):
    """{field: value} of the package's control file."""
    fields, key = {}, None
    for line in run("dpkg-deb", "-f", deb).splitlines():
        if line.startswith(" ") and key:
            fields[key] += "\n" + line
        else:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def contents(deb):
    """{path: (mode string, owner)} of the package's files and folders."""
    out = {}
    for line in run("dpkg-deb", "-c", deb).splitlines():
        mode, owner, _size, _date, _time, path = line.split(None, 5)
        out[os.path.normpath(path.lstrip("."))] = (mode, owner)
    return out


@functools.lru_cache(maxsize=None)
def folders():
    """tshark -G folders, with the real global folders (no WIRESHARK_* overrides)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIRESHARK_")}
    out = subprocess.run(["tshark", "-G", "folders"], env=env, capture_output=True, text=True,
                         check=True).stdout
    return dict(re.findall(r"^([^:\n]+):\s*(\S.*)$", out, re.M))


@functools.lru_cache(maxsize=None)
def wireshark_version():
    m = re.search(r"\(Wireshark\) (\d+)\.(\d+)\.(\d+)", run("tshark", "--version"))
    return tuple(int(x) for x in m.groups())


def libwireshark_package():
    """The Debian package of the libwireshark tshark runs with, and its version."""
    lib = re.search(r"libwireshark\.so\.\d+ => (\S+)", run("ldd", run("which", "tshark").strip()))
    owner = run("dpkg-query", "-S", os.path.realpath(lib.group(1))).split(":")[0]
    return owner, run("dpkg-query", "-W", "-f=${Version}", owner)


@pytest.fixture(scope="module")
def unpacked(deb, tmp_path_factory):
    """The package's files, extracted (dpkg-deb -x)."""
    d = str(tmp_path_factory.mktemp("unpacked"))
    subprocess.run(["dpkg-deb", "-x", deb, d], check=True)
    return d


@pytest.fixture(scope="module")
def packaged_tshark(unpacked):
    """tshark with the packaged (stripped) tcpstate.so, and its -G plugins."""
    so = unpacked + os.path.join(folders()["Global Plugins"], "epan", "tcpstate.so")
    with TShark(so) as t:
        yield t, t.run(["-G", "plugins"]).stdout


def test_file_name_and_control(deb, packaged_tshark):
    m = re.search(r"^tcpstate\.so\s+(\S+)", packaged_tshark[1], re.M)
    version = m.group(1)
    arch = run("dpkg", "--print-architecture").strip()
    assert os.path.basename(deb) == "wireshark-tcpstate_%s_%s.deb" % (version, arch)
    c = control(deb)
    assert c["Package"] == "wireshark-tcpstate"
    assert c["Version"] == version
    assert c["Architecture"] == arch
    assert "tshark" in c["Recommends"]
    major, minor, _ = wireshark_version()
    assert "Wireshark %d.%d" % (major, minor) in c["Description"]


def test_depends_on_the_built_libwireshark_release(deb):
    """libwiresharkN (>= built version), libwiresharkN (<< next minor~)."""
    major, minor, patch = wireshark_version()
    pkg, installed = libwireshark_package()
    assert control(deb)["Depends"] == "%s (>= %d.%d.%d), %s (<< %d.%d~)" % (
        pkg, major, minor, patch, pkg, major, minor + 1)
    # installable next to the Wireshark it was built with
    run("dpkg", "--compare-versions", installed, "ge", "%d.%d.%d" % (major, minor, patch))
    run("dpkg", "--compare-versions", installed, "lt", "%d.%d~" % (major, minor + 1))


def test_plugin_in_the_global_plugin_folder(deb):
    files = contents(deb)
    so = os.path.join(folders()["Global Plugins"], "epan", "tcpstate.so")
    assert files.get(so) == ("-rw-r--r--", "root/root"), files
    assert [p for p in files if p.endswith(".so")] == [so]
    assert all(owner == "root/root" for _, owner in files.values())


def test_docs_and_profile(deb, unpacked):
    files = contents(deb)
    doc = "/usr/share/doc/wireshark-tcpstate"
    for name in ("copyright", "README.md", "user-guide.md", "tcpstate.colorfilters"):
        assert files.get(os.path.join(doc, name), ("",))[0] == "-rw-r--r--", name
    profile = os.path.join(folders()["Global configuration"], "profiles", "tcpstate")
    for name in ("preferences", "colorfilters"):
        assert files.get(os.path.join(profile, name), ("",))[0] == "-rw-r--r--", name
        assert filecmp.cmp(unpacked + os.path.join(profile, name),
                           os.path.join(ROOT, "docs", "extras", "profiles", "tcpstate", name),
                           shallow=False)
    assert "GPL-2.0-or-later" in open(unpacked + os.path.join(doc, "copyright")).read()
    # the user guide's pictures are beside it
    with open(os.path.join(ROOT, "docs", "user-guide.md")) as fp:
        pictures = re.findall(r"!\[[^]]*\]\(([^)]+)\)", fp.read())
    assert pictures
    for pic in pictures:
        assert files.get(os.path.join(doc, pic), ("",))[0] == "-rw-r--r--", pic


def test_packaged_plugin_loads_and_works(packaged_tshark):
    """The stripped .so in the package: tshark loads it and it tracks states."""
    t, plugins = packaged_tshark
    assert re.search(r"^tcpstate\.so\s", plugins, re.M)
    rows = t.fields(SERVER_CLOSE, ["tcpstate.client.state", "tcpstate.server.state"],
                    extra=["-Y", "tcpstate.server_close"])
    assert rows == [["8", "1", "4"]]     # the server's FIN: ESTABLISHED, FIN_WAIT1
