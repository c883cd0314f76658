"""Fixtures for the Lua twin's tshark tests: tshark with the native plugin
from the build tree, tshark with the Lua twin only, and both (tshark_env.py
explains the throwaway HOME, and running as nobody when root)."""

import os
import sys

import pytest

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TESTS)

from tshark_env import TShark, install_lua  # noqa: E402


def pytest_addoption(parser):
    parser.addoption("--plugin-path", required=True, help="the built tcpstate.so (the reference)")
    parser.addoption("--lua-dir", default=None,
                     help="the Lua twin's folder (default: <source-dir>/lua-compat)")
    parser.addoption("--source-dir", default=os.path.dirname(TESTS), help="the checkout")
    parser.addoption("--docgen", default=None, help="unused; accepted like tests/tshark")
    parser.addoption("--workers", type=int, default=0,
                     help="parallel tshark runs (default: the number of CPUs)")


def pytest_configure(config):
    config.source_dir = os.path.abspath(config.getoption("--source-dir"))
    config.lua_dir = os.path.abspath(config.getoption("--lua-dir") or
                                     os.path.join(config.source_dir, "lua-compat"))
    config.samples = os.path.join(config.source_dir, "sample-captures")
    config.corpus = os.environ.get("TCPSTATE_CORPUS") or os.path.join(
        config.source_dir, os.pardir, "shared", "corpus")


@pytest.fixture(scope="session")
def native(request):
    t = TShark(request.config.getoption("--plugin-path"))
    yield t
    t.close()


@pytest.fixture(scope="session")
def lua(request):
    t = TShark(None)
    install_lua(t, request.config.lua_dir)
    yield t
    t.close()


@pytest.fixture(scope="session")
def both(request):
    t = TShark(request.config.getoption("--plugin-path"))
    install_lua(t, request.config.lua_dir)
    yield t
    t.close()
