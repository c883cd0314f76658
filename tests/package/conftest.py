"""Fixtures for the package test: the .deb that cpack makes from this build
tree (tests/package/test_deb.py)."""

import glob
import os
import subprocess
import sys

import pytest

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TESTS)


def pytest_addoption(parser):
    parser.addoption("--build-dir", required=True, help="the CMake build tree")
    parser.addoption("--cpack", default="cpack", help="the cpack of that CMake")


@pytest.fixture(scope="session")
def deb(request, tmp_path_factory):
    """Path of the .deb cpack makes, into a temporary folder."""
    out = tmp_path_factory.mktemp("tcpstate-deb")
    build = request.config.getoption("--build-dir")
    proc = subprocess.run([request.config.getoption("--cpack"), "-G", "DEB", "-B", str(out)],
                          cwd=build, capture_output=True, text=True)
    assert proc.returncode == 0, "cpack failed:\n" + proc.stdout + proc.stderr
    debs = glob.glob(os.path.join(str(out), "*.deb"))
    assert len(debs) == 1, "cpack made %s" % debs
    return debs[0]
