"""Shared by the pytest suites that ctest runs with --rootdir=tests
(tests/tshark, tests/gui): a run in which no test ran (every one skipped:
no corpus, no X server, ...) exits 77, which ctest reports as Skipped
(SKIP_RETURN_CODE 77 in tests/CMakeLists.txt), instead of Passed; the
reasons are printed.  A run with at least one test passed or failed keeps
pytest's own exit status."""

SKIPPED = 77


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or exitstatus != 0:
        return
    stats = reporter.stats
    if any(stats.get(k) for k in ("passed", "failed", "error", "xfailed", "xpassed")):
        return
    skipped = stats.get("skipped", [])
    if not skipped:
        return
    reasons = set()
    for report in skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
        reasons.add(reason[len("Skipped: "):] if reason.startswith("Skipped: ") else reason)
    reporter.ensure_newline()
    for reason in sorted(reasons):
        reporter.write_line("SKIP: %s" % reason)
    session.exitstatus = SKIPPED
