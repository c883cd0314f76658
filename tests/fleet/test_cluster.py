"""tcpstate-fleet on a real Dask cluster (ctest fleet.cluster): a `dask
scheduler` and a `dask worker --nworkers 2` on 127.0.0.1, started here in
tshark_env's environment (as nobody when root) and stopped here, even when
a test fails; every wait is bounded.

  - the cluster run gives the same records files as the local run, and the
    same report;
  - a worker process killed while it runs a chain costs only that task:
    the scheduler gives it to the other worker, and the result is complete
    and tshark's own.
"""

import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from conftest import PYTHON, chain_lines, manifest_of
from fleets import CHAINS, make_fleet

START_TIMEOUT = 60      # seconds for the scheduler's file, and for two workers


def dask_command(sub):
    """`dask scheduler` / `dask worker` (Debian 12, 13, sid), or the old
    dask-scheduler / dask-worker."""
    if shutil.which("dask"):
        return ["dask", sub]
    old = shutil.which("dask-" + sub)
    if old:
        return [old]
    pytest.fail("neither `dask %s` nor dask-%s is installed (python3-distributed)" % (sub, sub))


class Cluster:
    def __init__(self, env, nworkers=2):
        self.env = env
        self.nworkers = nworkers
        self.dir = env.tempdir("cluster-")
        self.file = os.path.join(self.dir, "scheduler.json")
        self.procs = []
        self.logs = []

    def spawn(self, name, args):
        log = open(os.path.join(self.dir, name + ".log"), "w")
        self.logs.append((name, log.name))
        # Its own process group, so that stop() ends the worker's processes too.
        proc = subprocess.Popen(self.env.as_user(args), env=self.env.env, cwd=self.dir,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        log.close()
        self.procs.append(proc)
        return proc

    def start(self):
        # Safety nets if this process dies without stop(): the scheduler ends
        # itself after 10 idle minutes, the workers 60 s after it.
        self.spawn("scheduler", dask_command("scheduler") + [
            "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
            "--scheduler-file", self.file, "--idle-timeout", "600"])
        deadline = time.time() + START_TIMEOUT
        while not os.path.exists(self.file):
            self.check_alive()
            if time.time() > deadline:
                raise AssertionError("no scheduler file after %ds\n%s" % (START_TIMEOUT,
                                                                         self.log_text()))
            time.sleep(0.2)
        while True:     # written, but maybe not whole yet
            try:
                with open(self.file) as f:
                    self.address = json.load(f)["address"]
                break
            except ValueError:
                time.sleep(0.2)
        assert self.address.startswith("tcp://127.0.0.1:"), self.address
        self.spawn("worker", dask_command("worker") + [
            self.address, "--nworkers", str(self.nworkers), "--nthreads", "1", "--no-dashboard",
            "--host", "127.0.0.1", "--death-timeout", "60",
            "--local-directory", self.env.tempdir("dask-worker-")])
        from distributed import Client
        self.client = Client(self.address, timeout=START_TIMEOUT)
        try:
            self.client.wait_for_workers(self.nworkers, timeout=START_TIMEOUT)
        except Exception as e:
            raise AssertionError("the %d workers did not come (%s)\n%s" % (self.nworkers, e,
                                                                         self.log_text()))
        return self

    def check_alive(self):
        for proc in self.procs:
            if proc.poll() is not None:
                raise AssertionError("a Dask process exited (%d)\n%s" % (proc.returncode,
                                                                         self.log_text()))

    def worker_pids(self):
        """{worker address: pid of its process}."""
        return self.client.run(os.getpid)

    def log_text(self):
        text = ""
        for name, path in self.logs:
            with open(path, errors="replace") as f:
                text += "---- %s ----\n%s\n" % (name, f.read()[-4000:])
        return text

    def stop(self):
        client = getattr(self, "client", None)
        if client is not None:
            try:
                client.close(timeout=10)
            except Exception:
                pass
        for proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)     # what SIGTERM left behind
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait(timeout=15)


@pytest.fixture(scope="module")
def cluster(env):
    c = Cluster(env)
    try:
        c.start()
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="module")
def fleet_dir(env):
    return make_fleet(env, env.tempdir("fleet-"))


@pytest.fixture(scope="module")
def local(env, fleet_dir):
    out = os.path.join(env.tempdir("out-"), "out")
    env.fleet("run", fleet_dir["root"], "--out", out, "--workers", 2, check=0)
    return out


def test_cluster_run_equals_local_run(env, cluster, fleet_dir, local):
    out = os.path.join(env.tempdir("out-"), "out")
    env.fleet("run", fleet_dir["root"], "--out", out, "--scheduler", cluster.address, check=0)
    m = manifest_of(out)
    assert m["scheduler"] == cluster.address
    assert sorted(m["workers"]) == sorted(cluster.worker_pids())
    assert {c["output"] for c in m["chains"]} == set(CHAINS)
    # The work was shared: both workers ran chains.
    assert len({c["worker"] for c in m["chains"]}) == 2
    for output in CHAINS:
        assert chain_lines(out, output) == chain_lines(local, output), output
    # And both are tshark's own: the latest record of each uid, the chain's
    # files read in order with one state_dir.
    for chain in m["chains"]:
        _, last = env.records([f["path"] for f in chain["files"]])
        got = [json.loads(l) for l in chain_lines(out, chain["output"])]
        assert got and {r["uid"]: r for r in got} == last, chain["output"]
    for name in ("closers", "outcomes", "floods"):
        on_cluster = env.fleet("report", out, name, "--json", "--scheduler", cluster.address,
                               check=0).stdout
        assert json.loads(on_cluster) == env.report(local, name), name
    closers = json.loads(env.fleet("report", out, "closers", "--json", "--scheduler",
                                   cluster.address, check=0).stdout)
    assert {r["server"]: r["server_closed"] for r in closers}["10.99.0.2:5002"] == 1


def test_worker_killed_mid_run(env, cluster):
    """A chain whose tshark waits until the test has killed the worker
    process running it: Dask reschedules the task on the other worker."""
    root = env.tempdir("fleet-")
    for i in range(3):
        env.capture(os.path.join(env.samples, "kernel", "client_close.pcap"),
                    os.path.join(root, "s%d" % i, "fast.pcap"))
    env.capture(os.path.join(env.samples, "crafted", "cookbook.pcap"),
                os.path.join(root, "slow", "slow.pcap"))
    env.own(root)
    mark = os.path.join(env.tempdir("mark-"), "mark")
    wrapper = os.path.join(env.tempdir("bin-"), "tshark-slow-once")
    with open(wrapper, "w") as f:
        f.write("""#!/bin/sh
# The first tshark on slow.pcap says which process started it, then waits.
case "$*" in
*slow.pcap*) if [ ! -e %(mark)s ]; then
                 echo "$PPID $$" > %(mark)s.tmp && mv %(mark)s.tmp %(mark)s
                 sleep 120
             fi ;;
esac
exec tshark "$@"
""" % {"mark": mark})
    os.chmod(wrapper, 0o755)
    env.own(os.path.dirname(wrapper))
    pids = cluster.worker_pids()
    out = os.path.join(env.tempdir("out-"), "out")
    proc = subprocess.Popen(env.as_user([PYTHON, env.tool, "run", root, "--out", out,
                                         "--scheduler", cluster.address, "--tshark", wrapper]),
                            env=env.env, cwd=env.work, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while not os.path.exists(mark):
            assert proc.poll() is None, proc.communicate()
            assert time.time() < deadline, "the slow chain never started"
            time.sleep(0.1)
        with open(mark) as f:
            worker_pid, wrapper_pid = (int(x) for x in f.read().split())
        killed = [a for a, p in pids.items() if p == worker_pid]
        assert killed, "the slow chain's tshark was not started by a worker process"
        os.kill(worker_pid, signal.SIGKILL)
        os.kill(wrapper_pid, signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    m = manifest_of(out)
    by = {c["output"]: c for c in m["chains"]}
    slow = by["records/slow/slow.jsonl"]
    assert slow["status"] == "ok"
    # the other worker, or the one the nanny started in the killed one's place
    assert slow["worker"] and slow["worker"] != killed[0]
    _, last = env.records([os.path.join(root, "slow", "slow.pcap")])
    got = chain_lines(out, "records/slow/slow.jsonl")
    assert {json.loads(l)["uid"]: json.loads(l) for l in got} == last and got
    assert all(c["status"] == "ok" for c in m["chains"]) and len(m["chains"]) == 4
    leftovers = [f for d, _, fs in os.walk(out) for f in fs if "tmp" in f]
    assert leftovers == []
    # The nanny brings the killed worker back: the cluster has two again.
    cluster.client.wait_for_workers(2, timeout=60)
