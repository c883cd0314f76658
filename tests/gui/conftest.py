"""Fixtures for the GUI test: Wireshark's Qt GUI with the plugin from the
build tree, under a private Xvfb (see gui_env.py)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

SHOTS = []


def pytest_addoption(parser):
    try:
        parser.addoption("--plugin-path", required=True, help="the built tcpstate.so")
    except ValueError:
        pass  # already added by tests/tshark/conftest.py (both suites in one run)
    try:
        parser.addoption("--source-dir",
                         default=os.path.dirname(os.path.dirname(os.path.dirname(
                             os.path.abspath(__file__)))),
                         help="the checkout")
    except ValueError:
        pass


@pytest.fixture(scope="session")
def samples(request):
    return os.path.join(os.path.abspath(request.config.getoption("--source-dir")),
                        "sample-captures")


@pytest.fixture(scope="session")
def shot_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("tcpstate-gui-shots")


@pytest.fixture
def shoot(shot_dir):
    """shoot(gui, wid, name): a PNG of one window into the temp dir."""
    def take(gui, wid, name):
        path = gui.screenshot(wid, str(shot_dir / (name + ".png")))
        SHOTS.append(path)
        print("screenshot:", path)
        return path
    return take


def pytest_terminal_summary(terminalreporter):
    if SHOTS:
        terminalreporter.write_line("GUI screenshots:")
        for path in SHOTS:
            terminalreporter.write_line("  " + path)
