"""Fixtures for the tshark tests: the plugin from the build tree, run as in
Wireshark's own test suite (TZ=UTC, throwaway HOME); see tshark_env.py."""

import os
import subprocess
import sys

import pytest

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TESTS)

from tshark_env import TShark  # noqa: E402


def pytest_addoption(parser):
    parser.addoption("--plugin-path", required=True, help="the built tcpstate.so")
    parser.addoption("--source-dir", default=os.path.dirname(TESTS), help="the checkout")
    parser.addoption("--docgen", required=True, help="the built docgen (tests/docgen)")


def pytest_configure(config):
    config.source_dir = os.path.abspath(config.getoption("--source-dir"))
    config.anomalies = anomaly_list(config.getoption("--docgen"))
    config.samples = os.path.join(config.source_dir, "sample-captures")
    config.corpus = os.environ.get("TCPSTATE_CORPUS") or os.path.join(
        config.source_dir, os.pardir, "shared", "corpus")


def anomaly_list(docgen):
    """[(filter name, group, severity, summary)] from plugin/core/anomalies.h."""
    out = subprocess.run([docgen, "anomalies"], capture_output=True, text=True, check=True)
    return [tuple(line.split("\t")) for line in out.stdout.splitlines()]


@pytest.fixture(scope="session")
def anomalies(request):
    return request.config.anomalies


@pytest.fixture(scope="session")
def tshark(request):
    t = TShark(request.config.getoption("--plugin-path"))
    yield t
    t.close()


@pytest.fixture(scope="session")
def labels(tshark):
    return tshark.values()


@pytest.fixture(scope="session")
def samples(request):
    return request.config.samples
