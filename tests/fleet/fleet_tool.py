"""tools/tcpstate-fleet as a module, for the tests (it has no .py suffix)."""

import importlib.machinery
import importlib.util
import os
import sys

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(SOURCE, "tools", "tcpstate-fleet")


def load():
    if "tcpstate_fleet" in sys.modules:
        return sys.modules["tcpstate_fleet"]
    loader = importlib.machinery.SourceFileLoader("tcpstate_fleet", TOOL)
    spec = importlib.util.spec_from_loader("tcpstate_fleet", loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules["tcpstate_fleet"] = module
    loader.exec_module(module)
    return module
