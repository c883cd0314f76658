"""Sanitizer builds only (cmake -DTCPSTATE_SANITIZE=ON): the ASan runtime
preloaded into tshark reports a deliberate heap overflow in the plugin, so
the clean runs of the other suites mean something."""

import os

import pytest


def test_deliberate_overflow_is_reported(tshark, samples):
    if not os.environ.get("TCPSTATE_PRELOAD"):
        pytest.skip("not a sanitizer build")
    tshark.env["TCPSTATE_DELIBERATE_BUG"] = "1"
    try:
        with pytest.raises(AssertionError) as caught:
            tshark.run(["-c", "1"], capture=os.path.join(samples, "kernel", "client_close.pcap"))
    finally:
        del tshark.env["TCPSTATE_DELIBERATE_BUG"]
    assert "heap-buffer-overflow" in str(caught.value)
    assert "deliberate_bug" in str(caught.value)
