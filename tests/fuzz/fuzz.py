#!/usr/bin/python3
"""Mutation fuzzing of the tcpstate plugin through tshark.

Mutants of every capture in sample-captures/ (recursively) and in the
shared corpus (../shared/corpus from the checkout, or $TCPSTATE_CORPUS;
skipped when absent) are made two ways:
  - editcap -E RATE --seed SEED: random bytes of each packet changed
    (link, IP and TCP headers alike);
  - tcpmutate -s SEED -r RATE: TCP flags, sequence and acknowledgement
    numbers, ports, data offset, window, urgent pointer, options, and whole
    records duplicated, dropped, swapped, moved in time or cut short.
Mutants are concatenated (mergecap -a) into batches, and tshark runs with
the plugin once per batch (tshark's start-up costs seconds under ASan).
Every run must:
  - not die of a signal, and exit 0 or 2 (2: tshark found a file cut
    short or corrupt, which mutants may be);
  - leave no sanitizer report (tests/tshark_env.py; TCPSTATE_PRELOAD);
  - give every tcpstate.client/server.state and .prev value in the set the
    plugin defines (1..11, with a label from tshark -G values).
A failing batch is split: each of its mutants runs alone, and those that
fail alone (else the whole batch) are copied into tests/fuzz/crashers/,
where --regressions (ctest fuzz.regressions) runs them from then on.

    fuzz.py --bounded      a few hundred mutants (ctest fuzz.bounded)
    fuzz.py --long         thousands (by hand; see docs/robustness.md)
    fuzz.py --regressions  every capture in tests/fuzz/crashers/
    fuzz.py --mutants N --batch B --jobs J --seed S   anything in between

Same --seed, same inputs: same mutants.
"""

import argparse
import concurrent.futures
import os
import queue
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from tshark_env import TShark  # noqa: E402

STATE_FIELDS = ["tcpstate.client.state", "tcpstate.server.state",
                "tcpstate.client.prev", "tcpstate.server.prev"]
OK_EXIT = (0, 2)
EDITCAP_RATES = ["0.001", "0.005", "0.02"]
TCPMUTATE_RATES = ["0.05", "0.2", "0.5", "1"]
BOUNDED_PACKETS = 400       # bounded mode: inputs cut to their first packets
CAPTURE_EXT = (".pcap", ".pcapng", ".cap")


def find_captures(source_dir):
    roots = [os.path.join(source_dir, "sample-captures")]
    corpus = os.environ.get("TCPSTATE_CORPUS") or os.path.join(source_dir, os.pardir,
                                                                "shared", "corpus")
    if os.path.isdir(corpus):
        roots.append(corpus)
    else:
        print("fuzz: no corpus at %s: sample captures only" % corpus)
    found = []
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            found += [os.path.join(dirpath, f) for f in sorted(filenames)
                      if f.endswith(CAPTURE_EXT)]
    return found


class Fuzzer:
    def __init__(self, args):
        self.args = args
        self.work = args.work or tempfile.mkdtemp(prefix="tcpstate-fuzz-")
        os.makedirs(self.work, exist_ok=True)
        self.inputs = []            # (name, classic pcap path)
        self.failures = []          # (description, kept path)
        self.runs = self.mutants = self.rows = self.nonzero = 0
        self.lock = threading.Lock()    # the counters and failures, across workers

    # ---- inputs --------------------------------------------------------------

    def prepare(self, captures):
        """Each capture as a classic pcap (tcpmutate reads those), in bounded
        mode cut to its first packets.  A pcapng with several link types
        cannot be a pcap: it is fuzzed with editcap only, as pcapng."""
        d = os.path.join(self.work, "inputs")
        os.makedirs(d, exist_ok=True)
        for i, cap in enumerate(captures):
            name = "%03d-%s" % (i, os.path.splitext(os.path.basename(cap))[0])
            for fmt in ("pcap", "pcapng"):
                out = os.path.join(d, "%s.%s" % (name, fmt))
                cmd = ["editcap", "-F", fmt] + (["-r"] if self.args.max_packets else [])
                cmd += [cap, out]
                if self.args.max_packets:
                    cmd.append("1-%d" % self.args.max_packets)
                r = subprocess.run(cmd, capture_output=True, text=True)
                if r.returncode == 0:
                    break
            else:
                print("fuzz: skipping %s: %s" % (cap, r.stderr.strip()))
                continue
            self.inputs.append((name, out))

    def make_mutant(self, i, rnd, d):
        """Mutant number i: inputs round-robin, methods and rates from rnd."""
        name, src = self.inputs[i % len(self.inputs)]
        seed = rnd.randrange(1, 1 << 31)
        use_tcpmutate = src.endswith(".pcap") and rnd.random() < 0.6
        if use_tcpmutate:
            rate = rnd.choice(TCPMUTATE_RATES)
            out = os.path.join(d, "%s.tm-r%s-s%d.pcap" % (name, rate, seed))
            cmd = [self.args.tcpmutate, "-s", str(seed), "-r", rate]
            if rnd.random() < 0.5:
                cmd.append("-k")    # valid checksums: the receiver "accepts" it
            cmd += [src, out]
        else:
            rate = rnd.choice(EDITCAP_RATES)
            out = os.path.join(d, "%s.ec-r%s-s%d%s" % (name, rate, seed,
                                                         os.path.splitext(src)[1]))
            cmd = ["editcap", "-E", rate, "--seed", str(seed), src, out]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr))
        return out

    # ---- runs ----------------------------------------------------------------

    def check(self, tshark, capture, labels, checksums):
        """Run tshark on capture; None if it passed, else why not."""
        args = ["-r", capture, "-2", "-T", "fields", "-E", "occurrence=a",
                "-E", "aggregator=,", "-e", "frame.number"]
        for f in STATE_FIELDS:
            args += ["-e", f]
        args += ["-z", "tcpstate,tree", "-z", "tcpstate,conns",
                 "-o", "tcp.check_checksum:%s" % ("TRUE" if checksums else "FALSE")]
        try:
            proc = tshark.run(args, check=False, timeout=self.args.timeout)
        except AssertionError as e:             # a sanitizer report
            return str(e)[:4000]
        except subprocess.TimeoutExpired:
            return "tshark timed out after %d s" % self.args.timeout
        with self.lock:
            self.runs += 1
        if proc.returncode < 0:
            return "tshark died of signal %d:\n%s" % (-proc.returncode, proc.stderr[-4000:])
        if proc.returncode not in OK_EXIT:
            return "tshark exited %d:\n%s" % (proc.returncode, proc.stderr[-4000:])
        rows = 0
        for line in proc.stdout.splitlines():
            parts = line.split("\t")
            if len(parts) != 1 + len(STATE_FIELDS) or not parts[0].isdigit():
                continue                        # -z output
            for field, value in zip(STATE_FIELDS, parts[1:]):
                for v in filter(None, value.split(",")):
                    if v not in labels:
                        return "frame %s: %s = %r, not a defined state" % (parts[0], field, v)
                    rows += 1
        with self.lock:
            self.rows += rows
            self.nonzero += proc.returncode != 0
        return None

    def batch(self, tshark, labels, members, merged, checksums):
        """One batch: run it whole; if it fails, each member alone."""
        why = self.check(tshark, merged, labels, checksums)
        if why is None:
            return
        culprits = [(m, w) for m in members
                    for w in [self.check(tshark, m, labels, checksums)] if w]
        if not culprits:
            culprits = [(merged, why)]
        for path, w in culprits:
            self.keep(path, w, checksums)

    def keep(self, path, why, checksums):
        os.makedirs(self.args.crashers, exist_ok=True)
        dst = os.path.join(self.args.crashers, os.path.basename(path))
        if os.path.abspath(path) != os.path.abspath(dst):
            shutil.copy2(path, dst)
        with self.lock:
            self.failures.append((why, dst))
        print("fuzz: FAIL %s (tcp.check_checksum %s) -> kept as %s\n%s\n" %
              (os.path.basename(path), checksums, dst, why), flush=True)

    def tshark_pool(self, n):
        """One TShark environment per worker (its own HOME); batch files go
        into its HOME, which the tshark user can read."""
        envs = [TShark(self.args.plugin) for _ in range(n)]
        for t in envs:
            d = os.path.join(t.home, "batches")
            os.makedirs(d)
            os.chmod(d, 0o755)
        return envs

    def fuzz(self):
        t0 = time.time()
        rnd = random.Random(self.args.seed)
        n_batches = (self.args.mutants + self.args.batch - 1) // self.args.batch
        jobs = min(self.args.jobs, n_batches) or 1
        envs = self.tshark_pool(jobs)
        labels = set(envs[0].values()["tcpstate.client.state"])
        assert labels == {str(v) for v in range(1, 12)}, labels
        # Batches are made in order from one random stream (deterministic);
        # only the tshark runs are parallel.
        plans = []
        for b in range(n_batches):
            first = b * self.args.batch
            count = min(self.args.batch, self.args.mutants - first)
            plans.append([(first + k, random.Random(rnd.randrange(1 << 62)))
                          for k in range(count)])

        free = queue.Queue()            # TShark environments not in use
        for t in envs:
            free.put(t)
        done = [0]

        def work(b):
            t = free.get()
            try:
                one_batch(t, b)
            finally:
                free.put(t)

        def one_batch(t, b):
            d = os.path.join(t.home, "batches", "b%05d" % b)
            os.makedirs(d)
            members = [self.make_mutant(i, r, d) for i, r in plans[b]]
            merged = os.path.join(d, "batch-s%d-%05d.pcapng" % (self.args.seed, b))
            r = subprocess.run(["mergecap", "-a", "-F", "pcapng", "-w", merged] + members,
                               capture_output=True, text=True)
            for p in members + [merged]:
                os.chmod(p, 0o644)
            if r.returncode != 0:           # cannot merge: one run each
                for m in members:
                    why = self.check(t, m, labels, b % 2 == 0)
                    if why:
                        self.keep(m, why, b % 2 == 0)
            else:
                self.batch(t, labels, members, merged, b % 2 == 0)
            with self.lock:
                self.mutants += len(members)
                done[0] += 1
                if done[0] % 25 == 0:
                    print("fuzz: %d of %d batches done: %d mutants, %d failures, %.0f s" %
                          (done[0], n_batches, self.mutants, len(self.failures),
                           time.time() - t0), flush=True)
            shutil.rmtree(d, ignore_errors=True)

        # A worker takes the next batch and a free environment (one HOME,
        # one tshark at a time).
        with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
            list(pool.map(work, range(n_batches)))
        for t in envs:
            t.close()
        print("fuzz: %d mutants of %d captures in %d batches, %d tshark runs "
              "(%d exited 2: file cut short or corrupt), %d state values checked, "
              "%d failures, %.0f s" % (self.mutants, len(self.inputs), n_batches, self.runs,
                                       self.nonzero, self.rows, len(self.failures),
                                       time.time() - t0))

    def regressions(self):
        d = self.args.crashers
        files = sorted(f for f in os.listdir(d) if f.endswith(CAPTURE_EXT)) \
            if os.path.isdir(d) else []
        others = sorted(f for f in os.listdir(d) if f not in files and f != "README.md") \
            if os.path.isdir(d) else []
        if others:
            self.failures.append(("not a capture (.pcap, .pcapng, .cap): %s" % others, d))
        if not files:
            print("fuzz: no regression captures in %s" % d)
            return
        t = TShark(self.args.plugin)
        labels = set(t.values()["tcpstate.client.state"])
        for f in files:
            staged = t.stage(os.path.join(d, f))
            for checksums in (False, True):
                why = self.check(t, staged, labels, checksums)
                if why:
                    self.failures.append((why, f))
                    print("fuzz: FAIL %s (tcp.check_checksum %s)\n%s\n" % (f, checksums, why))
        t.close()
        print("fuzz: %d regression captures, %d tshark runs, %d state values checked, "
              "%d failures" % (len(files), self.runs, self.rows, len(self.failures)))


def check_tcpmutate(args):
    """tcpmutate itself, on a spread of the sample captures: deterministic per
    seed, seeds differ, rate 0 copies the file byte for byte, and its output
    is a file Wireshark's tools read whole (capinfos).  Returns failures."""
    fails = []
    work = tempfile.mkdtemp(prefix="tcpstate-tcpmutate-")
    caps = [c for c in find_captures(args.source_dir)
            if c.startswith(os.path.join(args.source_dir, "sample-captures"))]
    caps = caps[::max(1, len(caps) // 8)]     # a spread of them: process starts cost
    changed = 0
    for i, cap in enumerate(caps):
        src = os.path.join(work, "in.pcap")
        if subprocess.run(["editcap", "-F", "pcap", cap, src], capture_output=True).returncode:
            continue

        def mutate(seed, rate, name):
            out = os.path.join(work, name)
            subprocess.run([args.tcpmutate, "-s", str(seed), "-r", rate, src, out], check=True)
            with open(out, "rb") as f:
                return f.read()
        a, b = mutate(i + 1, "0.3", "a.pcap"), mutate(i + 1, "0.3", "b.pcap")
        c, z = mutate(i + 2, "0.3", "c.pcap"), mutate(i + 1, "0", "z.pcap")
        with open(src, "rb") as f:
            orig = f.read()
        if a != b:
            fails.append("%s: seed %d gave two different outputs" % (cap, i + 1))
        if z != orig:
            fails.append("%s: rate 0 changed the file" % cap)
        changed += a != orig and a != c
        r = subprocess.run(["capinfos", "-c", os.path.join(work, "a.pcap")],
                           capture_output=True, text=True)
        if r.returncode != 0:
            fails.append("%s: capinfos cannot read the mutant: %s" % (cap, r.stderr))
    if changed < len(caps) // 2:
        fails.append("only %d of %d captures changed by rate 0.3, or the same for two seeds"
                     % (changed, len(caps)))
    shutil.rmtree(work, ignore_errors=True)
    print("fuzz: tcpmutate checked on %d captures, %d failures" % (len(caps), len(fails)))
    return fails


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--plugin", required=True, help="the built tcpstate.so")
    ap.add_argument("--tcpmutate", required=True, help="the built tcpmutate")
    ap.add_argument("--source-dir", default=os.path.dirname(os.path.dirname(HERE)))
    ap.add_argument("--crashers", help="where failing mutants go (tests/fuzz/crashers)")
    ap.add_argument("--work", help="scratch directory (default: a new temporary one)")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--bounded", action="store_true",
                      help="300 mutants of inputs cut to %d packets, batches of 15"
                      % BOUNDED_PACKETS)
    mode.add_argument("--long", action="store_true", help="3000 mutants, batches of 20")
    mode.add_argument("--regressions", action="store_true",
                      help="run every capture in the crashers directory")
    mode.add_argument("--check-tcpmutate", action="store_true",
                      help="tcpmutate alone: deterministic, rate 0 is a copy, output readable")
    ap.add_argument("--mutants", type=int)
    ap.add_argument("--batch", type=int)
    ap.add_argument("--max-packets", type=int, help="cut inputs to their first packets")
    ap.add_argument("--jobs", type=int, default=2, help="tshark runs at once (default 2)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=int, default=600, help="per tshark run, seconds")
    args = ap.parse_args()
    args.source_dir = os.path.abspath(args.source_dir)
    args.crashers = args.crashers or os.path.join(args.source_dir, "tests", "fuzz", "crashers")
    if args.bounded:
        defaults = (300, 15, BOUNDED_PACKETS)
    elif args.long:
        defaults = (3000, 20, None)
    else:
        defaults = (100, 10, None)
    args.mutants = args.mutants or defaults[0]
    args.batch = args.batch or defaults[1]
    if args.max_packets is None:
        args.max_packets = defaults[2]

    if args.check_tcpmutate:
        fails = check_tcpmutate(args)
        if fails:
            sys.exit("fuzz: tcpmutate:\n  " + "\n  ".join(fails))
        return
    fz = Fuzzer(args)
    if args.regressions:
        fz.regressions()
    else:
        fz.prepare(find_captures(args.source_dir)[:args.mutants])   # those it will use
        if not fz.inputs:
            sys.exit("fuzz: no captures found")
        fz.fuzz()
        if fz.rows == 0:
            fz.failures.append(("no tcpstate state values at all: is the plugin loaded?", ""))
        if not args.work:
            shutil.rmtree(fz.work, ignore_errors=True)
    if fz.failures:
        sys.exit("fuzz: %d failures:\n%s" % (len(fz.failures),
                                             "\n".join("  %s" % p for _, p in fz.failures)))


if __name__ == "__main__":
    main()
