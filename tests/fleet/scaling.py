#!/usr/bin/python3
"""How tcpstate-fleet run scales with workers: the figures of docs/fleet.md.

  /usr/bin/python3 tests/fleet/scaling.py --plugin-path build/tcpstate.so \\
      --tcpgen build/tests/bench/tcpgen [--sensors 4] [--files 15] \\
      [--packets 2000] [--runs 3] [--mode cluster|local]

It makes SENSORS sensors, each with one ring set of FILES files (a tcpgen
mix of FILES * PACKETS packets cut with editcap -c PACKETS), then times
`tcpstate-fleet run` over them with 1 and with 2 workers, the two
interleaved, RUNS times each, and prints the median seconds and files per
minute.  --mode cluster (the default): a real `dask scheduler` and `dask
worker --nworkers N --nthreads 1` on 127.0.0.1, started and stopped here, the
run with --scheduler; --mode local: the tool's in-process cluster,
--workers N.  Everything runs in tests/tshark_env.py's throwaway environment,
as the fleet tests do (the build tree's plugin, never an installed one).
Not a ctest: it takes minutes.
"""

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from conftest import Env  # noqa: E402
from test_cluster import Cluster  # noqa: E402


class Config:
    def __init__(self, args):
        self.opts = {"--plugin-path": os.path.abspath(args.plugin_path),
                     "--tcpgen": os.path.abspath(args.tcpgen),
                     "--source-dir": os.path.dirname(os.path.dirname(HERE))}

    def getoption(self, name):
        return self.opts[name]


def make_fleet(env, root, sensors, files, packets):
    gen = env.tempdir("gen-")
    for i in range(sensors):
        whole = env.gen(os.path.join(gen, "s%d.pcap" % i), "--packets", files * packets,
                        "--seed", 100 + i)
        env.split(whole, os.path.join(root, "sensor%d" % (i + 1)), "ring", packets)
    env.own(root)
    return sum(len(fs) for _, _, fs in os.walk(root))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--plugin-path", required=True)
    ap.add_argument("--tcpgen", required=True)
    ap.add_argument("--sensors", type=int, default=4)
    ap.add_argument("--files", type=int, default=15, help="files per sensor's ring set")
    ap.add_argument("--packets", type=int, default=2000, help="packets per file")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--mode", choices=("cluster", "local"), default="cluster")
    args = ap.parse_args()

    env = Env(Config(args))
    clusters = {}
    try:
        root = env.tempdir("fleet-")
        nfiles = make_fleet(env, root, args.sensors, args.files, args.packets)
        size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(root) for f in fs)
        print("%d sensors, %d files, %.1f MB, %d packets a file; %s; %d CPUs"
              % (args.sensors, nfiles, size / 1e6, args.packets, args.mode, os.cpu_count()))
        if args.mode == "cluster":
            for n in (1, 2):
                clusters[n] = Cluster(env, nworkers=n).start()
        times = {1: [], 2: []}
        for run in range(args.runs):
            for n in (1, 2):
                out = os.path.join(env.tempdir("out-"), "out")
                where = (["--scheduler", clusters[n].address] if args.mode == "cluster"
                         else ["--workers", n])
                start = time.monotonic()
                env.fleet("run", root, "--out", out, *where, timeout=3600, check=0)
                times[n].append(time.monotonic() - start)
                print("run %d, %d worker%s: %.1f s" % (run + 1, n, "s" if n > 1 else "",
                                                       times[n][-1]), flush=True)
        for n in (1, 2):
            med = statistics.median(times[n])
            print("%d worker%s: median %.1f s (%s), %.0f files/min"
                  % (n, "s" if n > 1 else "", med, ", ".join("%.1f" % t for t in times[n]),
                     nfiles * 60 / med))
    finally:
        for c in clusters.values():
            c.stop()
        env.close()


if __name__ == "__main__":
    main()
