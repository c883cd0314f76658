"""Sanitizer builds only (cmake -DTCPSTATE_SANITIZE=ON): the runtimes really
report a deliberate bug in the plugin (TCPSTATE_DELIBERATE_BUG, compiled in
with TCPSTATE_SANITIZE_SELFTEST), so the clean runs of the other suites mean
something.

Only the ASan runtime is preloaded into tshark (TCPSTATE_PRELOAD); the UBSan
one (libubsan, gcc) comes in as a dependency of tcpstate.so when tshark
loads the plugin.  The "ub" case proves it is then active and fatal
(-fno-sanitize-recover)."""

import os
import subprocess

import pytest

from tshark_env import SANITIZER_REPORT

CASES = {
    # TCPSTATE_DELIBERATE_BUG value: what the report must say
    "1": ["ERROR: AddressSanitizer: heap-buffer-overflow", "in deliberate_bug"],
    "ub": ["runtime error: signed integer overflow", "in deliberate_bug"],
}


@pytest.mark.parametrize("which", sorted(CASES))
def test_deliberate_bug_is_reported(tshark, samples, which):
    if not os.environ.get("TCPSTATE_PRELOAD"):
        pytest.skip("not a sanitizer build")
    capture = tshark.stage(os.path.join(samples, "kernel", "client_close.pcap"))
    env = dict(tshark.env, TCPSTATE_DELIBERATE_BUG=which)
    proc = subprocess.run(tshark._command(["-r", capture, "-c", "1"]), env=env,
                          capture_output=True, text=True, timeout=300)
    assert SANITIZER_REPORT.search(proc.stderr), proc.stderr
    for text in CASES[which]:
        assert text in proc.stderr, proc.stderr
    # fatal (-fno-sanitize-recover, halt_on_error): tshark does not go on
    assert proc.returncode != 0
    assert not proc.stdout.strip()


def test_clean_run_is_clean(tshark, samples):
    """Without the request the same run reports nothing (TShark.run fails
    on any sanitizer report) and succeeds."""
    if not os.environ.get("TCPSTATE_PRELOAD"):
        pytest.skip("not a sanitizer build")
    proc = tshark.run(["-c", "1"], capture=os.path.join(samples, "kernel", "client_close.pcap"))
    assert proc.returncode == 0
