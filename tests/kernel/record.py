#!/usr/bin/python3
"""Record real Linux TCP behaviour for the tcpstate test captures.

For every scenario this script builds a fresh pair of network namespaces
joined by a veth pair

    ns tcpst-a-<pid>  veth-a  10.99.0.1/24  fd00:99::1/64   (client side)
    ns tcpst-b-<pid>  veth-b  10.99.0.2/24  fd00:99::2/64   (server side)

(offloads off, so checksums in the capture are valid; static neighbour
entries, so no ARP/ND is ever needed), starts one socket agent per namespace
(tests/kernel/agent.py, driven with JSON lines over stdin/stdout), captures
TCP with tcpdump on the scenario's capture point (veth-a, the client side, or
veth-b, the server side) and drives the two agents step by step through the
scenario.  At every settled point it runs `ss -tanH` in both namespaces and
stores the output as an oracle next to the capture:

    sample-captures/kernel/<scenario>.pcap      TCP only, snaplen 256
    sample-captures/kernel/<scenario>.ss.json   ss snapshots (ground truth)
    sample-captures/kernel/README.md            regenerated index

Each snapshot has "t" = time.time() taken immediately before ss ran, after
letting the stack settle (0.4 s after the last action, unless noted).  The
capture uses the same clock, so a checker can match every snapshot with "the
last captured segment before t".

Packets are never delayed by a fixed amount: where a scenario needs packets
to be "in flight" (simultaneous open/close) they are held in a tbf qdisc on
the sender's egress (before the capture point, so the capture shows when they
really hit the wire) and released on command.  A tbf with a 1 kbit/s rate is
blocked by queueing a 1400-byte UDP filler at its head; releasing means
changing the rate to 10 Gbit/s and kicking the queue with another datagram.
The UDP fillers are not in the capture (filter "tcp").

Loss is made with nftables in the namespaces (Env.drop): a rule on the
output hook drops a segment before the wire, so no capture point ever has
it; a rule on the input hook drops it after the wire, so both veths capture
it but the receiving TCP never gets it.  Each rule drops exactly one
segment (an nftables byte quota sized for one segment, see Env.drop) and
counts what it dropped; the counts are checked and stored in the .ss.json.

Forged, illegal and spoofed segments (illegal_*, syn_flood_cookies,
rst_into_time_wait) are built with scapy and sent by the agent through a raw
IPv4 socket ("inject"): they take the normal egress path (so they are
captured) but the sending namespace's own TCP never sees them.  Sequence
numbers for in-window forgeries are read from the capture so far.  These
scenarios also store what the checker derived (each probe and the segments
that answered it) and the TCP MIB counter deltas of both namespaces in the
.ss.json.

After recording, each capture is checked with tshark (expected segments) and
each snapshot against the expected ss states; a scenario that does not come
out as intended is recorded again (up to 3 attempts).

Usage (needs root):

    sudo /usr/bin/python3 tests/kernel/record.py [--out DIR] [--keep-going]
                                                 [--list] [scenario ...]

With no scenario names all scenarios are recorded.  Re-running is safe:
namespaces are per-process and removed on exit (also on Ctrl-C), and stale
tcpst-* namespaces from killed runs are removed at start.  Re-running
overwrites the files of the scenarios it records.
"""

import argparse
import atexit
import json
import os
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
AGENT = os.path.join(HERE, "agent.py")
PYTHON = "/usr/bin/python3"
DEFAULT_OUT = os.path.join(REPO, "sample-captures", "kernel")

A4, B4 = "10.99.0.1", "10.99.0.2"
A6, B6 = "fd00:99::1", "fd00:99::2"
DEV_A, DEV_B = "veth-a", "veth-b"
CAPTURE_POINTS = {"a": "veth in namespace a (client side)",
                  "b": "veth in namespace b (server side)"}
SNAPLEN = 256         # every segment we send fits, so checksums stay verifiable
SETTLE = 0.4          # seconds between the last action and a snapshot
HOLD_RATE = "1kbit"   # tbf rate while a gate is held
OPEN_RATE = "10gbit"  # tbf rate while a gate is open
GATE_ARGS = ["burst", "1600", "limit", "200000"]

LIVE_ENVS = []        # for atexit cleanup


class RecorderError(Exception):
    pass


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def run(args, ns=None, check=True, input=None, timeout=30):
    if ns:
        args = ["ip", "netns", "exec", ns] + list(args)
    p = subprocess.run(args, input=input, capture_output=True, text=True,
                       timeout=timeout)
    if check and p.returncode != 0:
        raise RecorderError("command failed (%d): %s\n%s%s" % (
            p.returncode, " ".join(args), p.stdout, p.stderr))
    return p


# ---------------------------------------------------------------------------
# agent process wrapper
# ---------------------------------------------------------------------------
class Agent:
    def __init__(self, ns, side, logfile):
        self.side = side
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, PYTHON, "-u", AGENT],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=logfile,
            text=True, bufsize=1)
        self.pending = []
        self.call("ping")

    def start(self, op, args=None, **kw):
        """Send a command without waiting for its reply."""
        cmd = dict(args or {}, op=op, **kw)
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        self.pending.append(cmd)

    def wait(self, timeout=20, check=True):
        """Wait for the reply to the oldest outstanding command."""
        cmd = self.pending.pop(0)
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not r:
            raise RecorderError("agent %s: no reply to %r within %ss" % (self.side, cmd, timeout))
        line = self.proc.stdout.readline()
        if not line:
            raise RecorderError("agent %s died (command %r)" % (self.side, cmd))
        res = json.loads(line)
        if check and not res.get("ok"):
            raise RecorderError("agent %s: %r failed: %r" % (self.side, cmd, res))
        return res

    def call(self, op, args=None, check=True, timeout=20, **kw):
        self.start(op, args, **kw)
        return self.wait(timeout=timeout, check=check)

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write('{"op": "quit"}\n')
                self.proc.stdin.flush()
                self.proc.wait(timeout=3)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# ---------------------------------------------------------------------------
# one scenario's world: two namespaces, capture, agents
# ---------------------------------------------------------------------------
class Env:
    def __init__(self, tag):
        pid = os.getpid()
        self.ns = {"a": "tcpst-a-%d" % pid, "b": "tcpst-b-%d" % pid}
        self.dev = {"a": DEV_A, "b": DEV_B}
        self.v4 = {"a": A4, "b": B4}
        self.v6 = {"a": A6, "b": B6}
        self.tmp = tempfile.mkdtemp(prefix="tcpst-%s-" % tag)
        self.agentlog = open(os.path.join(self.tmp, "agents.log"), "w")
        self.tcpdump = None
        self.agents = {}
        self.snapshots = []
        self.problems = []
        self.gates = {}
        self.cleaned = False
        self.drops = []          # nft drop rules (Env.drop)
        self.notes_extra = []    # sentences appended to the scenario's notes
        self.doc_extra = {}      # extra keys for <name>.ss.json
        LIVE_ENVS.append(self)

    # -- setup / teardown ----------------------------------------------------
    def setup(self):
        for side in "ab":
            run(["ip", "netns", "add", self.ns[side]])
        run(["ip", "link", "add", DEV_A, "netns", self.ns["a"], "type", "veth",
             "peer", "name", DEV_B, "netns", self.ns["b"]])
        for side in "ab":
            ns, dev = self.ns[side], self.dev[side]
            run(["ip", "link", "set", "lo", "up"], ns=ns)
            run(["ip", "addr", "add", self.v4[side] + "/24", "dev", dev], ns=ns)
            run(["ip", "addr", "add", self.v6[side] + "/64", "dev", dev, "nodad"], ns=ns)
            # valid checksums in the capture, one segment per packet
            run(["ethtool", "-K", dev, "tx", "off", "rx", "off", "sg", "off",
                 "tso", "off", "gso", "off", "gro", "off"], ns=ns, check=False)
            run(["ip", "link", "set", dev, "up"], ns=ns)
        mac = {}
        for side in "ab":
            info = json.loads(run(["ip", "-j", "link", "show", self.dev[side]],
                                  ns=self.ns[side]).stdout)
            mac[side] = info[0]["address"]
        for side, other in (("a", "b"), ("b", "a")):
            for addr in (self.v4[other], self.v6[other]):
                run(["ip", "neigh", "replace", addr, "lladdr", mac[other], "dev",
                     self.dev[side], "nud", "permanent"], ns=self.ns[side])
        feats = run(["ethtool", "-k", DEV_A], ns=self.ns["a"]).stdout
        if not re.search(r"^tx-checksumming: off", feats, re.M):
            raise RecorderError("could not turn off tx checksumming on veth")

    def sysctl(self, side, key, value):
        run(["sysctl", "-q", "-w", "%s=%s" % (key, value)], ns=self.ns[side])

    def start_agents(self):
        for side in "ab":
            self.agents[side] = Agent(self.ns[side], side, self.agentlog)

    @property
    def a(self):
        return self.agents["a"]

    @property
    def b(self):
        return self.agents["b"]

    def start_capture(self, side="a"):
        self.pcap_tmp = os.path.join(self.tmp, "capture.pcap")
        self.tcpdump_err = open(os.path.join(self.tmp, "tcpdump.err"), "w+")
        self.tcpdump = subprocess.Popen(
            ["ip", "netns", "exec", self.ns[side], "tcpdump", "-i", self.dev[side], "-n",
             "--immediate-mode", "-s", str(SNAPLEN), "-U", "-Z", "root",
             "-w", self.pcap_tmp, "tcp"],
            stdout=subprocess.DEVNULL, stderr=self.tcpdump_err)
        deadline = time.time() + 10
        while time.time() < deadline:
            self.tcpdump_err.seek(0)
            if "listening on" in self.tcpdump_err.read():
                time.sleep(0.2)
                return
            if self.tcpdump.poll() is not None:
                break
            time.sleep(0.05)
        self.tcpdump_err.seek(0)
        raise RecorderError("tcpdump did not start: " + self.tcpdump_err.read())

    def stop_capture(self):
        if self.tcpdump and self.tcpdump.poll() is None:
            self.tcpdump.send_signal(signal.SIGINT)
            try:
                self.tcpdump.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.tcpdump.kill()
                self.tcpdump.wait()
        self.tcpdump = None

    def teardown(self):
        if self.cleaned:
            return
        self.cleaned = True
        try:
            self.stop_capture()
        finally:
            for ag in self.agents.values():
                try:
                    ag.stop()
                except Exception:  # noqa: BLE001 - best effort cleanup
                    pass
            for side in "ab":
                run(["ip", "netns", "del", self.ns[side]], check=False)
            try:
                self.agentlog.close()
            except OSError:
                pass
            shutil.rmtree(self.tmp, ignore_errors=True)
            if self in LIVE_ENVS:
                LIVE_ENVS.remove(self)

    # -- observation -----------------------------------------------------------
    def captured(self):
        """The segments captured so far (tcpdump -U writes every packet at once)."""
        return read_pcap(self.pcap_tmp)

    def counters(self, side):
        """TCP MIB counters of one namespace (/proc/net/snmp and netstat), e.g.
        {"TcpOutRsts": 3, "TcpExtSyncookiesSent": 147, ...}."""
        out = {}
        for path in ("/proc/net/snmp", "/proc/net/netstat"):
            lines = run(["cat", path], ns=self.ns[side]).stdout.splitlines()
            for head, vals in zip(lines[0::2], lines[1::2]):
                names, values = head.split(), vals.split()
                prefix = names[0].rstrip(":")
                if prefix not in ("Tcp", "TcpExt"):
                    continue
                for n, v in zip(names[1:], values[1:]):
                    out[prefix + n] = int(v)
        return out

    def check_states(self, snap, side, fixed, extra=None, lo=0, hi=None):
        """Like snapshot()'s expectation, but allowing lo..hi entries in state extra."""
        got = sorted(s["state"] for s in snap[side])
        n = sum(1 for st in got if st == extra) if extra else 0
        rest = sorted(st for st in got if st != extra)
        if rest != sorted(fixed) or n < lo or (hi is not None and n > hi):
            self.problems.append("snapshot %r side %s: expected %s plus %s..%s %s, ss says %s"
                                 % (snap["label"], side, sorted(fixed), lo, hi, extra, got))

    def ss_raw(self, side):
        return run(["ss", "-tanH"], ns=self.ns[side]).stdout

    @staticmethod
    def parse_ss(raw):
        out = []
        for line in raw.splitlines():
            f = line.split()
            if len(f) < 5:
                continue
            out.append({"state": f[0], "local": f[3], "peer": f[4]})
        return out

    def snapshot(self, label, a=None, b=None, settle=SETTLE, unobservable=None):
        """Take an ss snapshot; a/b are the expected state lists (any order).

        unobservable: why a capture cannot show these states (a segment the
        kernel already sent is still held in a queue before the capture
        point, or was dropped there); the oracle test only reports such
        snapshots."""
        time.sleep(settle)
        t = time.time()
        raw = {side: self.ss_raw(side) for side in "ab"}
        snap = {"t": round(t, 6), "label": label,
                "a": self.parse_ss(raw["a"]), "b": self.parse_ss(raw["b"]),
                "raw": raw}
        if unobservable:
            snap["unobservable"] = unobservable
        self.snapshots.append(snap)
        for side, want in (("a", a), ("b", b)):
            if want is None:
                continue
            got = sorted(s["state"] for s in snap[side])
            if got != sorted(want):
                self.problems.append("snapshot %r side %s: expected %s, ss says %s"
                                     % (label, side, sorted(want), got))
        return snap

    # -- nftables ----------------------------------------------------------------
    def nft(self, side, ruleset):
        run(["nft", "-f", "-"], ns=self.ns[side], input=ruleset)

    def nft_flush(self, side):
        run(["nft", "flush", "ruleset"], ns=self.ns[side])

    # -- loss ------------------------------------------------------------------------
    def drop(self, side, hook, match, what, max_len=99):
        """Drop the next segment matching `match` (nft syntax) in namespace `side`:
        hook "output" drops it before the wire (no capture has it), "input" after the
        wire (both veths capture it, the receiving TCP never gets it).

        One segment: nftables quotas count bytes, so the rule carries its own
        "quota until max_len+1 bytes", which the first matching segment (at most
        max_len bytes, IP header included) leaves unexhausted and the second (at
        least (max_len+1)/2 bytes) exhausts; the rule's counter (after the quota)
        counts the drops, and the recorder requires exactly one per rule.  Every
        rule has its own quota, so two rules drop two segments."""
        assert hook in ("input", "output")
        idx = len(self.drops)
        if not any(d["side"] == side for d in self.drops):
            self.nft(side, """
table inet loss {
  chain input { type filter hook input priority 0; policy accept; }
  chain output { type filter hook output priority 0; policy accept; }
}
""")
        self.nft(side, 'add rule inet loss %s %s quota until %d bytes counter drop comment "d%d"\n'
                 % (hook, match, max_len + 1, idx))
        self.drops.append({"side": side, "hook": hook, "match": match, "what": what,
                           "comment": "d%d" % idx})

    def dropped(self, idx):
        """How many segments drop rule idx (in the order of Env.drop) has dropped."""
        d = self.drops[idx]
        if "dropped" in d:
            return d["dropped"]
        rules = json.loads(run(["nft", "-j", "list", "table", "inet", "loss"],
                               ns=self.ns[d["side"]]).stdout)
        for x in rules["nftables"]:
            r = x.get("rule")
            if r and r.get("comment") == d["comment"]:
                return next(e["counter"]["packets"] for e in r["expr"] if "counter" in e)
        raise RecorderError("drop rule %s not found" % d["comment"])

    def drop_counts(self):
        """The drop rules for the .ss.json: where, what, how many dropped."""
        out = []
        for i, d in enumerate(self.drops):
            where = ("namespace %s, %s hook (%s)" %
                     (d["side"], d["hook"], "before the wire, not captured" if d["hook"] == "output"
                      else "after the wire, captured, never delivered"))
            out.append({"where": where, "what": d["what"], "nft": d["match"],
                        "dropped": self.dropped(i)})
        return out

    def wait_capture(self, cond, what, timeout=6.0):
        """Wait until cond(the segments captured so far) holds (tcpdump -U writes
        every packet at once)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if cond(self.captured()):
                return
            time.sleep(0.05)
        raise RecorderError("timed out waiting for %s in the capture" % what)

    def wait_gate(self, side, gate, qlen, timeout=5.0):
        """Wait until a held gate has at least qlen packets queued (filler included)."""
        deadline = time.time() + timeout
        while self.gate_backlog(side, gate) < qlen:
            if time.time() > deadline:
                raise RecorderError("gate %s/%s: fewer than %d packets queued" % (side, gate, qlen))
            time.sleep(0.02)

    # -- gates: holdable tbf queues on a side's egress -----------------------------
    def install_gate(self, side):
        """One gate ("all") holding every packet leaving this side."""
        self._tc(side, ["qdisc", "replace", "dev", self.dev[side], "root",
                        "handle", "10:", "tbf", "rate", OPEN_RATE] + GATE_ARGS)
        self.gates[(side, "all")] = {"handle": "10:", "parent": "root", "port": 9}

    def install_fin_gates(self, side):
        """Two gates: "fin" (IPv4 TCP segments with FIN) and "other" (the rest).

        htb is used only as a classifier; the leaves are tbf gates."""
        dev = self.dev[side]
        self._tc(side, ["qdisc", "replace", "dev", dev, "root", "handle", "1:",
                        "htb", "default", "20", "r2q", "100000"])
        for cls in ("10", "20"):
            self._tc(side, ["class", "add", "dev", dev, "parent", "1:", "classid",
                            "1:" + cls, "htb", "rate", "10gbit"])
            self._tc(side, ["qdisc", "add", "dev", dev, "parent", "1:" + cls,
                            "handle", cls + ":", "tbf", "rate", OPEN_RATE] + GATE_ARGS)
        # UDP fillers to port 10 go to the fin gate, like TCP FIN segments
        self._tc(side, ["filter", "add", "dev", dev, "parent", "1:", "protocol", "ip",
                        "prio", "1", "u32", "match", "ip", "protocol", "17", "0xff",
                        "match", "ip", "dport", "10", "0xffff", "flowid", "1:10"])
        # TCP flags byte is at offset 20 + 13 (no IP options on this link)
        self._tc(side, ["filter", "add", "dev", dev, "parent", "1:", "protocol", "ip",
                        "prio", "2", "u32", "match", "ip", "protocol", "6", "0xff",
                        "match", "u8", "0x01", "0x01", "at", "33", "flowid", "1:10"])
        self.gates[(side, "fin")] = {"handle": "10:", "parent": "1:10", "port": 10}
        self.gates[(side, "other")] = {"handle": "20:", "parent": "1:20", "port": 9}

    def _tc(self, side, args):
        run(["tc"] + args, ns=self.ns[side])

    def _gate_tc(self, side, gate, rate):
        g = self.gates[(side, gate)]
        where = ["root"] if g["parent"] == "root" else ["parent", g["parent"]]
        self._tc(side, ["qdisc", "change", "dev", self.dev[side]] + where +
                 ["handle", g["handle"], "tbf", "rate", rate] + GATE_ARGS)

    def gate_backlog(self, side, gate):
        g = self.gates[(side, gate)]
        data = json.loads(run(["tc", "-s", "-j", "qdisc", "show", "dev", self.dev[side]],
                              ns=self.ns[side]).stdout)
        for q in data:
            if q.get("handle") == g["handle"] and q.get("kind") == "tbf":
                return int(q.get("qlen", 0))
        raise RecorderError("gate %s/%s not found" % (side, gate))

    def hold(self, side, gate="all"):
        """Block the gate: slow tbf + a UDP filler stuck at the queue head."""
        g = self.gates[(side, gate)]
        self._gate_tc(side, gate, HOLD_RATE)
        other = self.v4["b" if side == "a" else "a"]
        for _ in range(6):
            if self.gate_backlog(side, gate) > 0:
                return
            self.agents[side].call("udp", addr=other, port=g["port"], size=1400)
        if self.gate_backlog(side, gate) == 0:
            raise RecorderError("could not block gate %s/%s" % (side, gate))

    def release(self, side, gate="all", wait=True):
        g = self.gates[(side, gate)]
        self._gate_tc(side, gate, OPEN_RATE)
        other = self.v4["b" if side == "a" else "a"]
        # tbf does not dequeue on a parameter change: kick it with a datagram
        self.agents[side].call("udp", addr=other, port=g["port"], size=10)
        if wait:
            deadline = time.time() + 3
            while self.gate_backlog(side, gate) > 0:
                if time.time() > deadline:
                    raise RecorderError("gate %s/%s did not drain" % (side, gate))
                time.sleep(0.01)


def cleanup_all():
    for env in list(LIVE_ENVS):
        try:
            env.teardown()
        except Exception as e:  # noqa: BLE001
            log("cleanup: %s" % e)


def cleanup_stale_namespaces():
    """Remove tcpst-[ab]-<pid> namespaces left behind by runs that were killed."""
    out = run(["ip", "netns", "list"], check=False).stdout
    for line in out.splitlines():
        m = re.match(r"^(tcpst-[ab]-(\d+))\b", line)
        if m and not os.path.exists("/proc/%s" % m.group(2)):
            log("removing stale namespace %s" % m.group(1))
            run(["ip", "netns", "del", m.group(1)], check=False)


# ---------------------------------------------------------------------------
# capture analysis (tshark)
# ---------------------------------------------------------------------------
FLAG_NAMES = [(0x02, "SYN"), (0x01, "FIN"), (0x04, "RST"), (0x08, "PSH"),
              (0x10, "ACK"), (0x20, "URG"), (0x40, "ECE"), (0x80, "CWR")]
TSHARK_FIELDS = ["frame.number", "frame.time_epoch", "frame.time_relative",
                 "ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst",
                 "tcp.dstport", "tcp.flags", "tcp.seq", "tcp.ack", "tcp.len",
                 "tcp.checksum.status", "tcp.analysis.flags", "frame.len",
                 "frame.cap_len"]


def read_pcap(path):
    args = ["tshark", "-r", path, "-n", "-o", "tcp.relative_sequence_numbers:FALSE",
            "-o", "tcp.check_checksum:TRUE", "-T", "fields", "-E", "separator=/t",
            "-E", "occurrence=f"]
    for f in TSHARK_FIELDS:
        args += ["-e", f]
    out = run(args).stdout
    pkts = []
    for line in out.splitlines():
        f = line.split("\t")
        f += [""] * (len(TSHARK_FIELDS) - len(f))
        d = dict(zip(TSHARK_FIELDS, f))
        flags = int(d["tcp.flags"], 16)
        src = d["ip.src"] or d["ipv6.src"]
        dst = d["ip.dst"] or d["ipv6.dst"]
        pkts.append({
            "no": int(d["frame.number"]), "t": float(d["frame.time_epoch"]),
            "rel": float(d["frame.time_relative"]),
            "src": src, "sport": int(d["tcp.srcport"]),
            "dst": dst, "dport": int(d["tcp.dstport"]),
            "flags": {n for bit, n in FLAG_NAMES if flags & bit},
            "seq": int(d["tcp.seq"]), "ack": int(d["tcp.ack"] or 0),
            "len": int(d["tcp.len"]),
            "dir": "s2c" if src in (B4, B6) else "c2s",
            "csum_ok": d["tcp.checksum.status"] == "1",
            "complete": d["frame.len"] == d["frame.cap_len"],
            "analysis": d["tcp.analysis.flags"],
        })
    return pkts


def flag_str(p):
    return ",".join(n for _, n in FLAG_NAMES if n in p["flags"]) or "(none)"


def fmt_pkt(p):
    ep = lambda a, port: ("[%s]:%d" % (a, port)) if ":" in a else "%s:%d" % (a, port)
    return "%3d %9.6f %-22s -> %-22s %-12s seq=%-10d ack=%-10d len=%d" % (
        p["no"], p["rel"], ep(p["src"], p["sport"]), ep(p["dst"], p["dport"]),
        flag_str(p), p["seq"], p["ack"], p["len"])


def has(p, *flags, no=()):
    return all(f in p["flags"] for f in flags) and not any(f in p["flags"] for f in no)


def seg_end(p):
    """Sequence number just after this segment (SYN and FIN count as one)."""
    return p["seq"] + p["len"] + (1 if "SYN" in p["flags"] else 0) + \
        (1 if "FIN" in p["flags"] else 0)


class Check:
    """Small helper collecting problems about a capture."""

    def __init__(self, pkts, path=None):
        self.p = pkts
        self.path = path
        self.problems = []
        self.info = {}           # derived facts stored in <name>.ss.json

    def expect(self, cond, msg):
        if not cond:
            self.problems.append(msg)
        return cond

    def fins(self, d):
        return [p for p in self.p if p["dir"] == d and "FIN" in p["flags"]]

    def rsts(self, d=None):
        return [p for p in self.p if "RST" in p["flags"] and (d is None or p["dir"] == d)]

    def handshake(self):
        p = self.p
        ok = self.expect(len(p) >= 3, "capture too short for a handshake")
        if ok:
            self.expect(p[0]["dir"] == "c2s" and has(p[0], "SYN", no=("ACK",)), "frame 1 is not the client SYN")
            self.expect(p[1]["dir"] == "s2c" and has(p[1], "SYN", "ACK"), "frame 2 is not the server SYN-ACK")
            self.expect(p[2]["dir"] == "c2s" and has(p[2], "ACK", no=("SYN",)), "frame 3 is not the client ACK")

    def no_rst(self):
        self.expect(not self.rsts(), "unexpected RST in capture")

    def four_way(self, first):
        """first side sends FIN, peer ACKs it alone, later peer FIN, first ACKs."""
        second = "s2c" if first == "c2s" else "c2s"
        f1, f2 = self.fins(first), self.fins(second)
        if not (self.expect(len(f1) == 1, "expected exactly one %s FIN, got %d" % (first, len(f1))) and
                self.expect(len(f2) == 1, "expected exactly one %s FIN, got %d" % (second, len(f2)))):
            return
        f1, f2 = f1[0], f2[0]
        self.expect(f1["no"] < f2["no"], "%s FIN does not come first" % first)
        acks = [p for p in self.p if f1["no"] < p["no"] < f2["no"] and p["dir"] == second
                and has(p, "ACK", no=("FIN",)) and p["ack"] == seg_end(f1)]
        self.expect(acks, "no separate %s ACK of the first FIN before the second FIN" % second)
        self.expect(f2["ack"] == seg_end(f1), "second FIN does not ack the first FIN")
        last = self.p[-1]
        self.expect(last["dir"] == first and has(last, "ACK", no=("FIN", "SYN", "RST"))
                    and last["ack"] == seg_end(f2), "last segment is not the ACK of the second FIN")


# ---------------------------------------------------------------------------
# scenarios
# ---------------------------------------------------------------------------
class Scenario:
    def __init__(self, name, n, description, family="inet"):
        self.name, self.n, self.description, self.family = name, n, description, family
        self.sport = 5000 + n
        self.cport = 40000 + n
        self.a_addr = A6 if family == "inet6" else A4
        self.b_addr = B6 if family == "inet6" else B4
        self.notes = None
        self.run = None
        self.check = None
        self.max_size = 20 * 1024   # capture size limit (bytes)
        self.counters = False       # store TCP MIB counter deltas of both namespaces
        self.capture = "a"          # capture point: "a" (veth-a, client side) or "b"


def probe_port(sc, i):
    """Source port of the i-th (0-based) injected probe of scenario sc."""
    return 40000 + 100 * sc.n + i + 1


SCENARIOS = []


def scenario(name, n, description, family="inet", notes=None, max_size=None, counters=False,
             capture="a"):
    def deco(fn):
        sc = Scenario(name, n, description, family)
        sc.run = fn
        sc.notes = notes
        sc.counters = counters
        sc.capture = capture
        if max_size:
            sc.max_size = max_size
        SCENARIOS.append(sc)
        return fn
    return deco


def checker(name):
    def deco(fn):
        for sc in SCENARIOS:
            if sc.name == name:
                sc.check = fn
        return fn
    return deco


# common steps ---------------------------------------------------------------
CLIENT_MSG = "client->server request\n"   # 23 bytes
SERVER_MSG = "server->client reply\n"     # 21 bytes


def listen(e, sc):
    e.b.call("socket", name="l", family=sc.family)
    e.b.call("bind", name="l", addr=sc.b_addr, port=sc.sport)
    e.b.call("listen", name="l")


def client_socket(e, sc):
    e.a.call("socket", name="c", family=sc.family)
    e.a.call("bind", name="c", addr=sc.a_addr, port=sc.cport)


def connect_accept(e, sc):
    listen(e, sc)
    client_socket(e, sc)
    e.a.call("connect", name="c", addr=sc.b_addr, port=sc.sport)
    e.b.call("accept", {"name": "l", "as": "s"})


def exchange(e, csize=100, ssize=160):
    e.a.call("send", name="c", n=csize, pattern=CLIENT_MSG)
    r = e.b.call("recv", name="s", n=csize)
    assert r["received"] == csize, r
    e.b.call("send", name="s", n=ssize, pattern=SERVER_MSG)
    r = e.a.call("recv", name="c", n=ssize)
    assert r["received"] == ssize, r


def expect_eof(e, side, name):
    r = e.agents[side].call("recv", name=name, n=1, timeout=3)
    if not r["eof"]:
        e.problems.append("side %s socket %s: expected EOF, got %r" % (side, name, r))


EST = (["ESTAB"], ["LISTEN", "ESTAB"])


@scenario("client_close", 1,
          "Handshake, data both ways, the client close()s first (FIN-WAIT-2 / CLOSE-WAIT), "
          "then the server close()s; the client ends in TIME-WAIT.")
def sc_client_close(e, sc):
    connect_accept(e, sc)
    exchange(e)
    e.snapshot("established, data exchanged", *EST)
    e.a.call("close", name="c")
    e.snapshot("after client close()", ["FIN-WAIT-2"], ["LISTEN", "CLOSE-WAIT"])
    expect_eof(e, "b", "s")
    e.b.call("close", name="s")
    e.snapshot("after server close()", ["TIME-WAIT"], ["LISTEN"])


@checker("client_close")
def ck_client_close(c):
    c.handshake()
    c.no_rst()
    c.four_way("c2s")


@scenario("server_close", 2,
          "Handshake, data both ways, the server close()s first (it kicks the client: "
          "server FIN-WAIT-2 / client CLOSE-WAIT), then the client close()s; "
          "the server ends in TIME-WAIT.")
def sc_server_close(e, sc):
    connect_accept(e, sc)
    exchange(e)
    e.snapshot("established, data exchanged", *EST)
    e.b.call("close", name="s")
    e.snapshot("after server close()", ["CLOSE-WAIT"], ["LISTEN", "FIN-WAIT-2"])
    expect_eof(e, "a", "c")
    e.a.call("close", name="c")
    e.snapshot("after client close()", [], ["LISTEN", "TIME-WAIT"])


@checker("server_close")
def ck_server_close(c):
    c.handshake()
    c.no_rst()
    c.four_way("s2c")


@scenario("close_wait", 3,
          "The client close()s, the server application reads EOF but never close()s: "
          "the connection stays half-closed with the server in CLOSE-WAIT and the "
          "client in FIN-WAIT-2 (capture stops there).")
def sc_close_wait(e, sc):
    connect_accept(e, sc)
    exchange(e)
    e.snapshot("established, data exchanged", *EST)
    e.a.call("close", name="c")
    e.snapshot("after client close()", ["FIN-WAIT-2"], ["LISTEN", "CLOSE-WAIT"])
    expect_eof(e, "b", "s")
    e.snapshot("2 s later, server application still has not closed",
               ["FIN-WAIT-2"], ["LISTEN", "CLOSE-WAIT"], settle=2.0)


@checker("close_wait")
def ck_close_wait(c):
    c.handshake()
    c.no_rst()
    fc = c.fins("c2s")
    c.expect(len(fc) == 1, "expected one client FIN")
    c.expect(not c.fins("s2c"), "server must not send a FIN")
    last = c.p[-1]
    c.expect(fc and last["dir"] == "s2c" and has(last, "ACK", no=("FIN",))
             and last["ack"] == seg_end(fc[0]), "last segment is not the server's ACK of the FIN")


@scenario("abort_linger0", 4,
          "The client sets SO_LINGER {on, 0} and close()s an established connection: "
          "the kernel aborts it with an RST instead of a FIN; both sides are gone.")
def sc_abort_linger0(e, sc):
    connect_accept(e, sc)
    exchange(e)
    e.snapshot("established, data exchanged", *EST)
    e.a.call("linger", name="c", onoff=1, linger=0)
    e.a.call("close", name="c")
    e.snapshot("after client close() with SO_LINGER 0", [], ["LISTEN"])
    r = e.b.call("recv", name="s", n=1, timeout=1, check=False)
    if r.get("error") != "ECONNRESET":
        e.problems.append("server recv after RST: expected ECONNRESET, got %r" % r)


@checker("abort_linger0")
def ck_abort_linger0(c):
    c.handshake()
    c.expect(not c.fins("c2s") and not c.fins("s2c"), "no FIN expected")
    r = c.rsts()
    c.expect(len(r) == 1 and r[0]["dir"] == "c2s", "expected exactly one RST, from the client")
    c.expect(c.p[-1]["no"] == r[0]["no"] if r else False, "RST must be the last segment")


@scenario("close_unread", 5,
          "The server sends data that the client application never reads; the client "
          "close()s with unread data in its receive queue, so the kernel sends an RST "
          "(RFC 2525) instead of a FIN.")
def sc_close_unread(e, sc):
    connect_accept(e, sc)
    e.a.call("send", name="c", n=100, pattern=CLIENT_MSG)
    e.b.call("recv", name="s", n=100)
    e.b.call("send", name="s", n=160, pattern=SERVER_MSG)
    snap = e.snapshot("established, 160 bytes unread in the client's receive queue", *EST)
    if not re.match(r"ESTAB\s+160\s", snap["raw"]["a"]):
        e.problems.append("client Recv-Q is not 160: %r" % snap["raw"]["a"])
    e.a.call("close", name="c")
    e.snapshot("after client close() with unread data", [], ["LISTEN"])
    r = e.b.call("recv", name="s", n=1, timeout=1, check=False)
    if r.get("error") != "ECONNRESET":
        e.problems.append("server recv after RST: expected ECONNRESET, got %r" % r)


@checker("close_unread")
def ck_close_unread(c):
    c.handshake()
    c.expect(not c.fins("c2s"), "the client must not send a FIN")
    r = c.rsts()
    c.expect(len(r) == 1 and r[0]["dir"] == "c2s", "expected exactly one RST, from the client")
    c.expect(c.p[-1]["no"] == r[0]["no"] if r else False, "RST must be the last segment")


@scenario("refused", 6,
          "The client connect()s to a port with no listener: SYN answered by RST/ACK, "
          "connect() fails with ECONNREFUSED.")
def sc_refused(e, sc):
    client_socket(e, sc)
    e.snapshot("before connect(), client socket only bound", [], [], settle=0.1)
    r = e.a.call("connect", name="c", addr=sc.b_addr, port=sc.sport, check=False)
    if r.get("error") != "ECONNREFUSED":
        e.problems.append("connect: expected ECONNREFUSED, got %r" % r)
    e.snapshot("after connect() was refused", [], [])


@checker("refused")
def ck_refused(c):
    p = c.p
    if c.expect(len(p) == 2, "expected exactly 2 segments, got %d" % len(p)):
        c.expect(p[0]["dir"] == "c2s" and has(p[0], "SYN", no=("ACK",)), "frame 1 is not a SYN")
        c.expect(p[1]["dir"] == "s2c" and has(p[1], "RST", "ACK")
                 and p[1]["ack"] == p[0]["seq"] + 1, "frame 2 is not RST/ACK for the SYN")


@scenario("no_answer", 7,
          "The server host silently drops incoming SYNs (nftables in its namespace); the "
          "client's non-blocking connect() stays in SYN-SENT and retransmits the SYN; the "
          "capture stops 3.5 s after connect().",
          notes="On kernels with net.ipv4.tcp_syn_linear_timeouts (default 4) the first SYN "
                "retransmissions come at a constant ~1 s interval instead of 1 s, 2 s, 4 s.")
def sc_no_answer(e, sc):
    listen(e, sc)
    e.nft("b", """
table inet tcpstate {
  chain input {
    type filter hook input priority 0; policy accept;
    tcp dport %d tcp flags & (syn | ack) == syn drop
  }
}
""" % sc.sport)
    client_socket(e, sc)
    r = e.a.call("connect_nb", name="c", addr=sc.b_addr, port=sc.sport)
    if r.get("rc_name") != "EINPROGRESS":
        e.problems.append("non-blocking connect: expected EINPROGRESS, got %r" % r)
    t0 = time.time()
    e.snapshot("0.4 s after connect(), one SYN sent", ["SYN-SENT"], ["LISTEN"])
    e.snapshot("3.5 s after connect(), SYN retransmitted", ["SYN-SENT"], ["LISTEN"],
               settle=max(0.0, 3.5 - (time.time() - t0)))


@checker("no_answer")
def ck_no_answer(c):
    p = c.p
    c.expect(len(p) >= 3, "expected at least 3 SYNs, got %d segments" % len(p))
    c.expect(all(x["dir"] == "c2s" and has(x, "SYN", no=("ACK",)) for x in p),
             "all segments must be client SYNs")
    c.expect(len({x["seq"] for x in p}) == 1, "SYN retransmissions must have the same ISN")


@scenario("simultaneous_open", 8,
          "Simultaneous open: both sides bind fixed ports and connect() to each other while "
          "both SYNs are held in tbf queues; the SYNs cross, each side answers the other's SYN "
          "with a SYN-ACK (SYN-SENT -> SYN-RECEIVED) and ACKs the SYN-ACK it receives "
          "(-> ESTABLISHED); then data and a client-first close.",
          notes="No listener. The SYNs are held on each side's egress (before the capture point) "
                "for ~0.4 s, less than the 1 s initial RTO, so nothing is retransmitted.")
def sc_simultaneous_open(e, sc):
    for side in "ab":
        e.install_gate(side)
    client_socket(e, sc)
    e.b.call("socket", name="s", family=sc.family)
    e.b.call("bind", name="s", addr=sc.b_addr, port=sc.sport)
    e.hold("a")
    e.hold("b")
    e.a.call("connect_nb", name="c", addr=sc.b_addr, port=sc.sport)
    e.b.call("connect_nb", name="s", addr=sc.a_addr, port=sc.cport)
    e.snapshot("both sides connect()ed, both SYNs held", ["SYN-SENT"], ["SYN-SENT"], settle=0.2,
               unobservable="the SYNs are held in tbf queues: not on the wire yet")
    e.release("a")
    e.release("b")
    for side, name in (("a", "c"), ("b", "s")):
        r = e.agents[side].call("wait_connected", name=name, timeout=5)
        if not r.get("connected"):
            e.problems.append("side %s did not connect: %r" % (side, r))
    e.snapshot("after the crossed SYNs and SYN-ACKs", ["ESTAB"], ["ESTAB"])
    exchange(e)
    e.a.call("close", name="c")
    e.snapshot("after client close()", ["FIN-WAIT-2"], ["CLOSE-WAIT"])
    expect_eof(e, "b", "s")
    e.b.call("close", name="s")
    e.snapshot("after server close()", ["TIME-WAIT"], [])


@checker("simultaneous_open")
def ck_simultaneous_open(c):
    p = c.p
    if not c.expect(len(p) >= 4, "capture too short"):
        return
    first_synack = next((x["no"] for x in p if has(x, "SYN", "ACK")), None)
    syns = [x for x in p if has(x, "SYN", no=("ACK",))
            and (first_synack is None or x["no"] < first_synack)]
    c.expect({x["dir"] for x in syns} == {"c2s", "s2c"} and len(syns) == 2,
             "expected one SYN (no ACK) from each side before any SYN-ACK")
    synacks = [x for x in p if has(x, "SYN", "ACK")]
    c.expect({x["dir"] for x in synacks} == {"c2s", "s2c"}, "expected a SYN-ACK from each side")
    c.no_rst()
    c.four_way("c2s")


@scenario("simultaneous_close", 9,
          "Simultaneous close: both applications close() at the same moment while the FINs "
          "are held in tbf queues; the FINs cross (neither acks the other's FIN), both sides "
          "go FIN-WAIT-1 -> CLOSING, and when the held ACKs are released both go to TIME-WAIT.",
          notes="Each side's egress has two tbf gates (htb u32 classifier): IPv4 TCP segments with "
                "FIN, and everything else. Both FINs are released first while the ACKs stay held, "
                "so ss sees both sides in CLOSING. To keep held FINs from being retransmitted the "
                "namespaces use net.ipv4.tcp_early_retrans=0 (no tail loss probe) and "
                "net.ipv4.tcp_rto_min_us=5000000.")
def sc_simultaneous_close(e, sc):
    for side in "ab":
        e.sysctl(side, "net.ipv4.tcp_early_retrans", 0)
        e.sysctl(side, "net.ipv4.tcp_rto_min_us", 5000000)
        e.install_fin_gates(side)
    connect_accept(e, sc)
    exchange(e)
    e.snapshot("established, data exchanged", *EST)
    for side in "ab":
        e.hold(side, "fin")
        e.hold(side, "other")
    e.a.start("close", name="c")
    e.b.start("close", name="s")
    e.a.wait()
    e.b.wait()
    e.snapshot("both close()d at once, both FINs held", ["FIN-WAIT-1"], ["LISTEN", "FIN-WAIT-1"],
               settle=0.2, unobservable="both FINs are held in tbf queues: not on the wire yet")
    e.release("a", "fin")
    e.release("b", "fin")
    e.snapshot("FINs crossed, ACKs held", ["CLOSING"], ["LISTEN", "CLOSING"], settle=0.2)
    e.release("a", "other")
    e.release("b", "other")
    e.snapshot("after the ACKs", ["TIME-WAIT"], ["LISTEN", "TIME-WAIT"])


@checker("simultaneous_close")
def ck_simultaneous_close(c):
    c.handshake()
    c.no_rst()
    fc, fs = c.fins("c2s"), c.fins("s2c")
    if not (c.expect(len(fc) == 1 and len(fs) == 1, "expected exactly one FIN per side")):
        return
    fc, fs = fc[0], fs[0]
    c.expect(fc["ack"] != seg_end(fs) and fs["ack"] != seg_end(fc),
             "the FINs must not acknowledge each other (they must cross)")
    later = [x for x in c.p if x["no"] > max(fc["no"], fs["no"])]
    c.expect(len(later) == 2 and all(has(x, "ACK", no=("FIN", "SYN")) for x in later),
             "expected exactly two pure ACKs after the two FINs")
    c.expect({(x["dir"], x["ack"]) for x in later} ==
             {("c2s", seg_end(fs)), ("s2c", seg_end(fc))}, "each side must ACK the other's FIN")


@scenario("half_close", 10,
          "Half close: the client calls shutdown(SHUT_WR) (FIN), the server keeps sending "
          "five data segments which the client reads and ACKs while in FIN-WAIT-2, then the "
          "server close()s.")
def sc_half_close(e, sc):
    connect_accept(e, sc)
    exchange(e)
    e.snapshot("established, data exchanged", *EST)
    e.a.call("shutdown", name="c", how="wr")
    e.snapshot("after client shutdown(SHUT_WR)", ["FIN-WAIT-2"], ["LISTEN", "CLOSE-WAIT"])
    expect_eof(e, "b", "s")
    e.b.call("setsockopt_tcp", name="s", opt="nodelay", value=1)
    e.b.call("send_series", name="s", n=120, count=5, interval=0.1, pattern=SERVER_MSG)
    r = e.a.call("recv", name="c", n=600)
    if r["received"] != 600:
        e.problems.append("client received %r" % r)
    e.snapshot("after the server sent 5 more segments", ["FIN-WAIT-2"], ["LISTEN", "CLOSE-WAIT"])
    e.b.call("close", name="s")
    expect_eof(e, "a", "c")
    e.a.call("close", name="c")
    e.snapshot("after server close() (and client close() of its half-closed socket)",
               ["TIME-WAIT"], ["LISTEN"])


@checker("half_close")
def ck_half_close(c):
    c.handshake()
    c.no_rst()
    fc, fs = c.fins("c2s"), c.fins("s2c")
    if not c.expect(len(fc) == 1 and len(fs) == 1, "expected one FIN per side"):
        return
    fc, fs = fc[0], fs[0]
    data = [x for x in c.p if fc["no"] < x["no"] < fs["no"] and x["dir"] == "s2c" and x["len"] > 0]
    c.expect(len(data) >= 5, "expected >= 5 server data segments after the client FIN, got %d" % len(data))
    if data:
        acked = [x for x in c.p if x["dir"] == "c2s" and x["no"] > fc["no"] and x["ack"] >= seg_end(data[-1])]
        c.expect(acked, "client must ACK the server data after its FIN")
    c.expect(fs["ack"] == seg_end(fc), "server FIN must ack the client FIN")
    last = c.p[-1]
    c.expect(last["dir"] == "c2s" and last["ack"] == seg_end(fs), "last segment must ACK the server FIN")


@scenario("synack_retx", 11,
          "The client's handshake ACK is dropped (nftables, client namespace output), so the "
          "client is ESTABLISHED while the server is still SYN-RECEIVED; the server retransmits "
          "its SYN-ACK after 1 s, the client ACKs it again and the connection establishes; "
          "then data and a client-first close.",
          notes="The drop rule matches pure ACKs to the server port and is removed as soon as "
                "connect() returns; the dropped ACK never reaches the capture point.")
def sc_synack_retx(e, sc):
    listen(e, sc)
    e.nft("a", """
table inet tcpstate {
  chain output {
    type filter hook output priority 0; policy accept;
    tcp dport %d tcp flags & (syn | ack | fin | rst) == ack drop
  }
}
""" % sc.sport)
    client_socket(e, sc)
    e.a.call("connect", name="c", addr=sc.b_addr, port=sc.sport)
    e.nft_flush("a")
    e.snapshot("client connect() returned, its ACK was dropped", ["ESTAB"], ["LISTEN", "SYN-RECV"],
               settle=0.3, unobservable="the client's handshake ACK was dropped before the capture "
                                        "point: nothing on the wire shows the client ESTABLISHED")
    e.b.call("accept", {"name": "l", "as": "s", "timeout": 5})
    e.snapshot("after the SYN-ACK retransmission and the client's ACK", *EST)
    exchange(e)
    e.a.call("close", name="c")
    e.snapshot("after client close()", ["FIN-WAIT-2"], ["LISTEN", "CLOSE-WAIT"])
    expect_eof(e, "b", "s")
    e.b.call("close", name="s")
    e.snapshot("after server close()", ["TIME-WAIT"], ["LISTEN"])


@checker("synack_retx")
def ck_synack_retx(c):
    p = c.p
    if not c.expect(len(p) >= 4, "capture too short"):
        return
    c.expect(has(p[0], "SYN", no=("ACK",)) and p[0]["dir"] == "c2s", "frame 1 must be the SYN")
    c.expect(has(p[1], "SYN", "ACK") and has(p[2], "SYN", "ACK") and p[1]["seq"] == p[2]["seq"]
             and p[1]["dir"] == p[2]["dir"] == "s2c", "frames 2 and 3 must be SYN-ACK and its retransmission")
    c.expect(p[3]["dir"] == "c2s" and has(p[3], "ACK", no=("SYN", "FIN", "RST")), "frame 4 must be the client ACK")
    c.no_rst()
    c.four_way("c2s")


@scenario("ipv6", 12,
          "A normal IPv6 connection: handshake, data both ways, client-first close.",
          family="inet6")
def sc_ipv6(e, sc):
    sc_client_close(e, sc)


@checker("ipv6")
def ck_ipv6(c):
    ck_client_close(c)
    c.expect(all(":" in x["src"] for x in c.p), "all segments must be IPv6")


@scenario("fin_with_data", 13,
          "The client sends its last data and its FIN in the same segment (TCP_CORK, send(), "
          "close()); the server ACKs, reads data and EOF, and close()s later.")
def sc_fin_with_data(e, sc):
    connect_accept(e, sc)
    exchange(e)
    e.snapshot("established, data exchanged", *EST)
    e.a.call("setsockopt_tcp", name="c", opt="cork", value=1)
    e.a.call("send", name="c", data="last words from the client\n")
    e.a.call("close", name="c")
    e.snapshot("after client send()+close() (data+FIN in one segment)",
               ["FIN-WAIT-2"], ["LISTEN", "CLOSE-WAIT"])
    r = e.b.call("recv", name="s", n=1000, timeout=1)
    if r["received"] != 27 or not r["eof"]:
        e.problems.append("server read %r, expected 27 bytes then EOF" % r)
    e.b.call("close", name="s")
    e.snapshot("after server close()", ["TIME-WAIT"], ["LISTEN"])


@checker("fin_with_data")
def ck_fin_with_data(c):
    c.handshake()
    c.no_rst()
    fc = c.fins("c2s")
    c.expect(len(fc) == 1 and fc[0]["len"] == 27, "client FIN must carry the 27 data bytes")
    c.four_way("c2s")


@scenario("three_segment_close", 14,
          "Three-segment close: the server application is blocked in recv() and close()s as "
          "soon as it reads EOF, so its FIN rides on the (delayed) ACK of the client's FIN: "
          "FIN, FIN/ACK, ACK.")
def sc_three_segment_close(e, sc):
    connect_accept(e, sc)
    exchange(e)
    e.snapshot("established, data exchanged", *EST)
    e.b.start("recv_eof_close", name="s", timeout=10)
    time.sleep(0.1)
    e.a.call("close", name="c")
    r = e.b.wait()
    if not r.get("closed"):
        e.problems.append("server did not close on EOF: %r" % r)
    e.snapshot("after client close() and the server's immediate close()", ["TIME-WAIT"], ["LISTEN"])


@checker("three_segment_close")
def ck_three_segment_close(c):
    c.handshake()
    c.no_rst()
    fc = c.fins("c2s")
    if not c.expect(len(fc) == 1, "expected one client FIN"):
        return
    tail = [x for x in c.p if x["no"] >= fc[0]["no"]]
    ok = c.expect(len(tail) == 3, "expected exactly 3 segments in the close, got %d" % len(tail))
    if ok:
        c.expect(tail[1]["dir"] == "s2c" and has(tail[1], "FIN", "ACK") and tail[1]["ack"] == seg_end(tail[0]),
                 "2nd close segment must be the server FIN/ACK acking the client FIN")
        c.expect(tail[2]["dir"] == "c2s" and has(tail[2], "ACK", no=("FIN",)) and tail[2]["ack"] == seg_end(tail[1]),
                 "3rd close segment must be the client ACK of the server FIN")


# ---------------------------------------------------------------------------
# forged, illegal and spoofed segments (built with scapy, sent through a raw
# socket by the agent's "inject" op; the sending namespace's own TCP never sees
# them)
# ---------------------------------------------------------------------------
M32 = 0xffffffff
COUNTERS = {
    "TcpActiveOpens", "TcpPassiveOpens", "TcpAttemptFails", "TcpEstabResets",
    "TcpInSegs", "TcpOutSegs", "TcpRetransSegs", "TcpInErrs", "TcpOutRsts",
    "TcpExtSyncookiesSent", "TcpExtSyncookiesRecv", "TcpExtSyncookiesFailed",
    "TcpExtTCPReqQFullDoCookies", "TcpExtTCPReqQFullDrop", "TcpExtListenOverflows",
    "TcpExtListenDrops", "TcpExtTCPChallengeACK", "TcpExtTCPSYNChallenge",
    "TcpExtTCPACKSkippedChallenge", "TcpExtTCPAbortOnData", "TcpExtTCPAbortOnClose",
    "TcpExtTW", "TcpExtTWKilled", "TcpExtPAWSEstab", "TcpExtTCPSynRetrans",
    "TcpExtEmbryonicRsts", "TcpExtTCPTimeWaitOverflow",
}


def conn_pkts(pkts, sc, cport=None):
    """Segments of the connection between client port cport and the server port."""
    cport = cport or sc.cport
    return [p for p in pkts if (p["sport"], p["dport"]) in ((cport, sc.sport), (sc.sport, cport))]


def next_seqs(e, sc):
    """(client SND.NXT, server SND.NXT) of the settled connection, read from the capture
    so far; every segment must be acknowledged (nothing in flight)."""
    pk = conn_pkts(e.captured(), sc)
    c2s = [p for p in pk if p["dir"] == "c2s"]
    s2c = [p for p in pk if p["dir"] == "s2c"]
    if not c2s or not s2c:
        raise RecorderError("connection not in the capture yet")
    cn, sn = seg_end(c2s[-1]) & M32, seg_end(s2c[-1]) & M32
    if c2s[-1]["ack"] != sn or s2c[-1]["ack"] != cn:
        raise RecorderError("connection not settled: last segments %s / %s"
                            % (fmt_pkt(c2s[-1]), fmt_pkt(s2c[-1])))
    return cn, sn


def forged(sc, flags, seq, ack, **kw):
    """A segment on the client's 4-tuple, as if the client had sent it."""
    d = dict(src=sc.a_addr, dst=sc.b_addr, sport=sc.cport, dport=sc.sport,
             flags=flags, seq=seq, ack=ack)
    d.update(kw)
    return d


def pkt_brief(p):
    return {"frame": p["no"], "dir": p["dir"], "flags": flag_str(p), "seq": p["seq"],
            "ack": p["ack"], "len": p["len"]}


def is_flags(p, *flags):
    return p["flags"] == set(flags)


def answers_between(c, probe, end_no, ports):
    """Segments after probe and before frame end_no whose ports are ports."""
    return [x for x in c.p if probe["no"] < x["no"] < end_no
            and {x["sport"], x["dport"]} == set(ports)]


def match_answers(c, what, got, want):
    """want: list of (dir, flag set, seq or None, ack or None)."""
    ok = len(got) == len(want) and all(
        g["dir"] == d and g["flags"] == set(f) and (s is None or g["seq"] == s & M32)
        and (a is None or g["ack"] == a & M32)
        for g, (d, f, s, a) in zip(got, want))
    c.expect(ok, "%s: expected answers %s, got %s" % (
        what, [(d, sorted(f), s, a) for d, f, s, a in want], [fmt_pkt(g) for g in got]))


ILLEGAL_IN_EST = [
    ("SF", "SYN+FIN"),
    ("", "NULL (no flags)"),
    ("FPU", "Xmas (FIN+PSH+URG)"),
    ("F", "FIN without ACK"),
]


@scenario("illegal_into_established", 15,
          "Forged segments on an established connection's 4-tuple: after handshake and data, "
          "segments are injected from the client namespace (scapy, raw socket) with the client's "
          "addresses, seq = the client's SND.NXT (the server's RCV.NXT) and the ack field = the "
          "server's SND.NXT, each followed by a settle and a snapshot: SYN+FIN (the server sends a "
          "challenge ACK, RFC 5961; both stay ESTABLISHED), NULL, FIN+PSH+URG (Xmas) and FIN "
          "without ACK (all three silently dropped), then SYN+RST (the exact sequence number "
          "makes the server reset its connection; the real client socket never sent it and "
          "stays ESTABLISHED).",
          notes="The forged segments carry no ACK flag (their ack field is set anyway) and no "
                "TCP options; without a timestamp option there is no PAWS check, so the sequence "
                "check decides. They leave through a raw socket, so the client's own TCP never "
                "sees them; it gets the server's challenge ACK, a duplicate of what it has, and "
                "does not answer it. The last snapshot is unobservable for the client side only: "
                "the capture shows an RST from the client's address that the client did not send.",
          counters=True)
def sc_illegal_into_established(e, sc):
    e.a.call("inject", packets=[])          # load scapy before anything is timed
    connect_accept(e, sc)
    exchange(e)
    e.snapshot("established, data exchanged", *EST)
    cn, sn = next_seqs(e, sc)
    for flags, what in ILLEGAL_IN_EST:
        e.a.call("inject", packets=[forged(sc, flags, cn, sn)])
        e.snapshot("after the forged %s segment" % what, *EST)
    e.a.call("inject", packets=[forged(sc, "SR", cn, sn, window=0)])
    e.snapshot("after the forged SYN+RST with seq = the server's RCV.NXT", ["ESTAB"], ["LISTEN"],
               unobservable="the SYN+RST was forged on the client's 4-tuple (raw socket): the client "
                            "socket never sent it and is still ESTABLISHED, which no capture can "
                            "tell; the server side (reset, CLOSED) is as the capture shows")
    r = e.b.call("recv", name="s", n=1, timeout=1, check=False)
    if r.get("error") != "ECONNRESET":
        e.problems.append("server recv after the forged RST: expected ECONNRESET, got %r" % r)
    r = e.a.call("error_of", name="c")
    if r.get("errno"):
        e.problems.append("client socket has a pending error: %r" % r)


@checker("illegal_into_established")
def ck_illegal_into_established(c):
    c.handshake()
    kinds = [("SYN,FIN", lambda p: is_flags(p, "SYN", "FIN")),
             ("(none)", lambda p: not p["flags"]),
             ("FIN,PSH,URG", lambda p: is_flags(p, "FIN", "PSH", "URG")),
             ("FIN", lambda p: is_flags(p, "FIN")),
             ("SYN,RST", lambda p: is_flags(p, "SYN", "RST"))]
    probes = []
    for name, pred in kinds:
        found = [p for p in c.p if p["dir"] == "c2s" and pred(p)]
        if not c.expect(len(found) == 1, "expected one forged %s segment, got %d" % (name, len(found))):
            return
        probes.append(found[0])
    c.expect([p["no"] for p in probes] == sorted(p["no"] for p in probes), "forged segments out of order")
    first = probes[0]
    real = [p for p in c.p if p["no"] < first["no"]]
    cn = seg_end([p for p in real if p["dir"] == "c2s"][-1]) & M32
    sn = seg_end([p for p in real if p["dir"] == "s2c"][-1]) & M32
    c.expect(all(p["seq"] == cn and p["ack"] == sn for p in probes),
             "forged segments must carry seq = client SND.NXT %d, ack = server SND.NXT %d" % (cn, sn))
    ends = [p["no"] for p in probes[1:]] + [c.p[-1]["no"] + 1]
    info = []
    for (name, _), p, end in zip(kinds, probes, ends):
        got = answers_between(c, p, end, (p["sport"], p["dport"]))
        want = [("s2c", ("ACK",), sn, cn)] if name == "SYN,FIN" else []
        match_answers(c, "forged " + name, got, want)
        info.append({"probe": name, "segment": pkt_brief(p), "answers": [pkt_brief(g) for g in got]})
    c.info["probes"] = info
    c.expect(len(c.rsts()) == 1, "the only RST must be the forged SYN+RST (the client kernel must not "
                                 "send any)")
    c.expect(c.p[-1]["no"] == probes[-1]["no"], "nothing may follow the forged SYN+RST")


PROBES = [
    ("SF", "SYN+FIN"),
    ("", "NULL (no flags)"),
    ("F", "FIN"),
    ("FPU", "Xmas (FIN+PSH+URG)"),
    ("SR", "SYN+RST"),
    ("A", "bare ACK (control: the RST-for-an-ACK rule)"),
    ("S", "plain SYN (control)"),
]


def probe_segments(sc):
    """One segment per PROBES entry from 10.99.0.1 to the server port, each from its own
    source port (probe_port), with fixed pseudo-random sequence numbers."""
    rng = random.Random(sc.n)
    out = []
    for i, (flags, _) in enumerate(PROBES):
        seq = rng.randrange(1 << 32)
        ack = rng.randrange(1 << 32) if "A" in flags else 0
        out.append(dict(src=A4, dst=B4, sport=probe_port(sc, i), dport=sc.sport, flags=flags,
                        seq=seq, ack=ack, window=0 if "R" in flags else 64240))
    return out


def probes_doc(sc):
    return "10.99.0.1 ports %d-%d (one per probe, no socket)" % (
        probe_port(sc, 0), probe_port(sc, len(PROBES) - 1))


def check_probes(c, sc, expected):
    """expected(flags, probe) -> list of (dir, flag set, seq, ack) answers."""
    info = []
    for i, (flags, what) in enumerate(PROBES):
        port = probe_port(sc, i)
        mine = [p for p in c.p if port in (p["sport"], p["dport"])]
        if not c.expect(mine and mine[0]["dir"] == "c2s", "probe %s (port %d) not captured" % (what, port)):
            continue
        probe = mine[0]
        want_flags = {n for letter, n in (("S", "SYN"), ("F", "FIN"), ("R", "RST"), ("P", "PSH"),
                                          ("A", "ACK"), ("U", "URG")) if letter in flags}
        c.expect(probe["flags"] == want_flags, "probe %s has flags %s" % (what, flag_str(probe)))
        got = mine[1:]
        match_answers(c, "probe " + what, got, expected(flags, probe))
        info.append({"probe": what, "segment": pkt_brief(probe), "answers": [pkt_brief(g) for g in got]})
    c.info["probes"] = info
    nos = [p["no"] for p in c.p]
    c.expect(nos == sorted(nos), "frames out of order")


@scenario("illegal_to_listener", 16,
          "Illegal flag combinations sent to a listening socket (10.99.0.2:5016) from ports "
          "without any socket in the client namespace (scapy, raw socket, a new source port per "
          "probe): SYN+FIN, NULL, FIN, Xmas (FIN+PSH+URG) and SYN+RST are all silently dropped "
          "by the listener; controls: a bare ACK is answered by an RST with seq = its ack "
          "number, a plain SYN by a SYN-ACK, which the client namespace's kernel (no socket on "
          "that port) answers with an RST, so the server drops its SYN-RECEIVED request again.",
          notes="Probes are 0.2 s apart and carry no TCP options; the SYN-ACK to the option-less "
                "SYN carries only MSS.",
          counters=True)
def sc_illegal_to_listener(e, sc):
    e.a.call("inject", packets=[])
    listen(e, sc)
    e.snapshot("listening", [], ["LISTEN"], settle=0.1)
    e.a.call("inject", packets=probe_segments(sc), interval=0.2)
    e.snapshot("after all probes", [], ["LISTEN"])
    e.doc_extra["client"] = probes_doc(sc)


@checker("illegal_to_listener")
def ck_illegal_to_listener(c):
    def expected(flags, p):
        if flags == "A":
            return [("s2c", ("RST",), p["ack"], 0)]
        if flags == "S":
            return [("s2c", ("SYN", "ACK"), None, p["seq"] + 1), ("c2s", ("RST",), p["seq"] + 1, 0)]
        return []
    check_probes(c, SCENARIOS_BY_NAME["illegal_to_listener"], expected)


@scenario("illegal_to_closed_port", 17,
          "The same probes as illegal_to_listener sent to a port without a listener "
          "(10.99.0.2:5017): every probe without ACK and without RST is answered by an RST/ACK "
          "with seq 0 and ack = its seq + length (+1 for SYN, +1 for FIN): SYN+FIN +2, NULL +0, "
          "FIN +1, Xmas +1, plain SYN +1; the bare ACK gets an RST (no ACK flag) with seq = its "
          "ack number; SYN+RST gets no answer (an RST is never answered).",
          notes="Probes are 0.2 s apart and carry no TCP options; the client namespace has no "
                "socket on the probe ports and ignores the RSTs.",
          counters=True)
def sc_illegal_to_closed_port(e, sc):
    e.a.call("inject", packets=[])
    e.snapshot("nothing listens on the port", [], [], settle=0.1)
    e.a.call("inject", packets=probe_segments(sc), interval=0.2)
    e.snapshot("after all probes", [], [])
    e.doc_extra["client"] = probes_doc(sc)


@checker("illegal_to_closed_port")
def ck_illegal_to_closed_port(c):
    def expected(flags, p):
        if "R" in flags:
            return []
        if "A" in flags:
            return [("s2c", ("RST",), p["ack"], 0)]
        return [("s2c", ("RST", "ACK"), 0, p["seq"] + p["len"] + ("S" in flags) + ("F" in flags))]
    check_probes(c, SCENARIOS_BY_NAME["illegal_to_closed_port"], expected)


FLOOD = 300          # spoofed SYNs, in two halves around the legitimate connection
FLOOD_ROUTE = "10.99.0.0/16"


def spoofed_syns(sc, n):
    """n SYNs from random addresses in 10.99.1.0 - 10.99.254.254 (outside the veth's
    10.99.0.0/24, so the server routes its SYN-ACKs via 10.99.0.1 without ARP) and
    random ports; fixed seed, so every recording sends the same segments."""
    rng = random.Random(sc.n)
    seen, out = set(), []
    while len(out) < n:
        src = "10.99.%d.%d" % (rng.randint(1, 254), rng.randint(1, 254))
        port = rng.randint(1024, 65535)
        if (src, port) in seen:
            continue
        seen.add((src, port))
        out.append(dict(src=src, dst=B4, sport=port, dport=sc.sport, flags="S",
                        seq=rng.randrange(1 << 32), ack=0, window=1024))
    return out


def cookie_counters(before, after):
    keys = ("TcpExtSyncookiesSent", "TcpExtSyncookiesRecv", "TcpExtSyncookiesFailed",
            "TcpExtTCPReqQFullDoCookies", "TcpExtTCPReqQFullDrop", "TcpExtListenOverflows",
            "TcpExtListenDrops")
    return {k: after.get(k, 0) - before.get(k, 0) for k in keys}


@scenario("syn_flood_cookies", 18,
          "SYN flood with SYN cookies: the server listens with backlog 2 (net.ipv4.tcp_syncookies=1, "
          "tcp_max_syn_backlog=16); 150 spoofed SYNs from random 10.99.x.y addresses and ports "
          "fill its SYN queue (a few SYN-RECEIVED request sockets, whose SYN-ACKs are "
          "retransmitted) and get SYN-cookie SYN-ACKs (MSS option only); meanwhile a legitimate "
          "client 10.99.0.1:40018 connects: its SYN-ACK is a cookie too (no SYN-RECEIVED entry; "
          "with timestamps the TSval's low 6 bits encode the client's window scale and SACK), "
          "its plain ACK establishes the connection, data is exchanged, 150 more spoofed SYNs "
          "follow and the client closes first.",
          notes="The server namespace routes 10.99.0.0/16 via 10.99.0.1 so its SYN-ACKs to the "
                "spoofed addresses are on the wire (captured), and uses net.ipv4.tcp_timestamps=2 "
                "(no per-connection timestamp offset) so the cookie's option bits are visible in "
                "the TSval. The client namespace drops the SYN-ACKs to spoofed addresses after the "
                "capture point (nftables prerouting; forwarding is off too), so it never answers "
                "them.",
          max_size=64 * 1024, counters=True)
def sc_syn_flood_cookies(e, sc):
    e.sysctl("b", "net.ipv4.tcp_syncookies", 1)
    e.sysctl("b", "net.ipv4.tcp_max_syn_backlog", 16)
    e.sysctl("b", "net.ipv4.tcp_timestamps", 2)
    e.sysctl("a", "net.ipv4.conf.all.forwarding", 0)
    run(["ip", "route", "add", FLOOD_ROUTE, "via", A4, "dev", DEV_B], ns=e.ns["b"])
    e.nft("a", """
table ip tcpstate {
  chain prerouting {
    type filter hook prerouting priority -300; policy accept;
    ip daddr != %s counter drop
  }
}
""" % A4)
    e.a.call("inject", packets=[])
    e.b.call("socket", name="l", family=sc.family)
    e.b.call("bind", name="l", addr=sc.b_addr, port=sc.sport)
    e.b.call("listen", name="l", backlog=2)
    flood = spoofed_syns(sc, FLOOD)
    half = FLOOD // 2
    c0 = e.counters("b")
    e.a.call("inject", packets=flood[:half], interval=0.002)
    snap = e.snapshot("during the flood: %d spoofed SYNs sent" % half, [], None)
    e.check_states(snap, "b", ["LISTEN"], "SYN-RECV", 1, 4)
    c1 = e.counters("b")
    client_socket(e, sc)
    e.a.call("connect", name="c", addr=sc.b_addr, port=sc.sport)
    time.sleep(0.1)
    c2 = e.counters("b")
    e.b.call("accept", {"name": "l", "as": "s"})
    exchange(e, 23, 21)
    snap = e.snapshot("legitimate connection established during the flood", ["ESTAB"], None)
    e.check_states(snap, "b", ["LISTEN", "ESTAB"], "SYN-RECV", 1, 4)
    e.a.call("inject", packets=flood[half:], interval=0.002)
    e.a.call("close", name="c")
    snap = e.snapshot("after the rest of the flood and the legitimate client's close()",
                      ["FIN-WAIT-2"], None)
    e.check_states(snap, "b", ["LISTEN", "CLOSE-WAIT"], "SYN-RECV", 1, 4)
    expect_eof(e, "b", "s")
    e.b.call("close", name="s")
    snap = e.snapshot("after the server's close()", ["TIME-WAIT"], None)
    e.check_states(snap, "b", ["LISTEN"], "SYN-RECV", 1, 4)
    c3 = e.counters("b")
    first, legit, rest = cookie_counters(c0, c1), cookie_counters(c1, c2), cookie_counters(c2, c3)
    queued = sum(1 for x in e.snapshots[0]["b"] if x["state"] == "SYN-RECV")
    if first["TcpExtSyncookiesSent"] != half - queued:
        e.problems.append("first half: expected %d cookies, counters %r" % (half - queued, first))
    if legit["TcpExtSyncookiesSent"] != 1 or legit["TcpExtSyncookiesRecv"] != 1:
        e.problems.append("legitimate connection: expected 1 cookie sent and 1 received, "
                          "counters %r" % legit)
    rules = json.loads(run(["nft", "-j", "list", "ruleset"], ns=e.ns["a"]).stdout)
    dropped = [x["rule"]["expr"] for x in rules["nftables"] if "rule" in x]
    dropped = next((ex["counter"]["packets"] for exprs in dropped for ex in exprs if "counter" in ex), None)
    e.doc_extra["cookie_counters"] = {"first_half": first, "legitimate_connect": legit,
                                      "rest": rest}
    fmt = lambda d: ", ".join("%s %+d" % (k[6:], v) for k, v in d.items() if v)
    e.notes_extra.append(
        "Counters in the server namespace (nstat names without TcpExt): first %d spoofed SYNs: %s "
        "(%d got request sockets); legitimate connect(): %s; rest of the flood and the close: %s. "
        "The client namespace dropped %s segments to spoofed addresses."
        % (half, fmt(first), queued, fmt(legit), fmt(rest), dropped))
    e.doc_extra["client"] = "%s port %d (legitimate); spoofed SYNs from 10.99.1.0-10.99.254.254" % (
        sc.a_addr, sc.cport)


COOKIE_FIELDS = ["tcp.options.wscale.shift", "tcp.options.sack_perm", "tcp.options.timestamp.tsval",
                 "tcp.options.timestamp.tsecr", "tcp.options.mss_val", "tcp.option_kind"]


def tcp_options(path):
    """frame number -> {field: value} for the option fields above."""
    args = ["tshark", "-r", path, "-n", "-T", "fields", "-E", "separator=/t",
            "-E", "occurrence=a", "-E", "aggregator=,", "-e", "frame.number"]
    for f in COOKIE_FIELDS:
        args += ["-e", f]
    out = {}
    for line in run(args).stdout.splitlines():
        f = line.split("\t")
        f += [""] * (len(COOKIE_FIELDS) + 1 - len(f))
        out[int(f[0])] = dict(zip(COOKIE_FIELDS, f[1:]))
    return out


@checker("syn_flood_cookies")
def ck_syn_flood_cookies(c):
    sc = SCENARIOS_BY_NAME["syn_flood_cookies"]
    real = (A4, B4)
    spoofed_syn = [p for p in c.p if p["src"] not in real and is_flags(p, "SYN")]
    spoofed_synack = [p for p in c.p if p["dst"] not in real and is_flags(p, "SYN", "ACK")]
    c.expect(len(spoofed_syn) == FLOOD, "expected %d spoofed SYNs, got %d" % (FLOOD, len(spoofed_syn)))
    c.expect(len({(p["dst"], p["dport"]) for p in spoofed_synack}) == FLOOD,
             "every spoofed SYN must get a SYN-ACK")
    c.expect(not [p for p in c.p if p["src"] == A4 and p["sport"] != sc.cport],
             "the client namespace must not answer the SYN-ACKs to spoofed addresses")
    legit = conn_pkts(c.p, sc)
    c.p, saved = legit, c.p
    try:
        c.handshake()
        c.no_rst()
        c.four_way("c2s")
    finally:
        c.p = saved
    if len(legit) < 3:
        return
    opts = tcp_options(c.path)
    syn, synack, ack = (opts[p["no"]] for p in legit[:3])
    tsval = int(synack["tcp.options.timestamp.tsval"] or -1)
    wscale = int(syn["tcp.options.wscale.shift"] or -1)
    sack = bool(syn["tcp.options.sack_perm"])
    c.expect(tsval >= 0 and wscale >= 0, "legitimate SYN and SYN-ACK must carry timestamps and window scale")
    c.expect(tsval & 0xf == wscale and bool(tsval & 0x10) == sack and not tsval & 0x20,
             "cookie SYN-ACK TSval %d: low 6 bits 0x%02x do not encode wscale %d, sack %s"
             % (tsval, tsval & 0x3f, wscale, sack))
    kinds = {}
    for p in spoofed_synack:
        kinds.setdefault(opts[p["no"]]["tcp.option_kind"], []).append(p["no"])
    c.info["legitimate_handshake"] = {
        "syn": dict(pkt_brief(legit[0]), options=syn),
        "synack": dict(pkt_brief(legit[1]), options=synack, tsval_low6="0x%02x" % (tsval & 0x3f)),
        "ack": dict(pkt_brief(legit[2]), options=ack),
    }
    retx = len(spoofed_synack) - len({(p["dst"], p["dport"]) for p in spoofed_synack})
    c.info["spoofed"] = {"syns": len(spoofed_syn), "synacks": len(spoofed_synack),
                         "synack_retransmissions": retx,
                         "synack_option_kinds": {k: len(v) for k, v in kinds.items()}}


@scenario("rst_into_time_wait", 19,
          "TIME-WAIT assassination: a normal client-first close leaves the client in TIME-WAIT; "
          "then an RST is injected from the server namespace (scapy, raw socket; the server's "
          "socket is already gone) on the connection's 4-tuple with seq = the server's SND.NXT, "
          "i.e. the TIME-WAIT socket's RCV.NXT: with net.ipv4.tcp_rfc1337=0 (the default) Linux "
          "kills the TIME-WAIT socket at once.",
          notes="The forged RST carries no ACK and no TCP options (no PAWS check).",
          counters=True)
def sc_rst_into_time_wait(e, sc):
    e.sysctl("a", "net.ipv4.tcp_rfc1337", 0)
    e.b.call("inject", packets=[])
    connect_accept(e, sc)
    exchange(e)
    e.snapshot("established, data exchanged", *EST)
    e.a.call("close", name="c")
    e.snapshot("after client close()", ["FIN-WAIT-2"], ["LISTEN", "CLOSE-WAIT"])
    expect_eof(e, "b", "s")
    e.b.call("close", name="s")
    e.snapshot("after server close(): the client is in TIME-WAIT", ["TIME-WAIT"], ["LISTEN"])
    cn, sn = next_seqs(e, sc)
    e.b.call("inject", packets=[dict(src=sc.b_addr, dst=sc.a_addr, sport=sc.sport, dport=sc.cport,
                                     flags="R", seq=sn, ack=0, window=0)])
    e.snapshot("after the forged RST with seq = the TIME-WAIT socket's RCV.NXT", [], ["LISTEN"])


@checker("rst_into_time_wait")
def ck_rst_into_time_wait(c):
    c.handshake()
    fc, fs = c.fins("c2s"), c.fins("s2c")
    if not c.expect(len(fc) == 1 and len(fs) == 1, "expected one FIN per side"):
        return
    r = c.rsts()
    if not c.expect(len(r) == 1 and r[0]["dir"] == "s2c" and is_flags(r[0], "RST"),
                    "expected exactly one RST (no ACK), the forged one from the server side"):
        return
    r = r[0]
    c.expect(c.p[-1]["no"] == r["no"], "the RST must be the last segment")
    c.expect(r["seq"] == seg_end(fs[0]) & M32, "RST seq must be the server's SND.NXT (after its FIN)")
    before = [x for x in c.p if x["no"] < r["no"]]
    c.expect(before and before[-1]["dir"] == "c2s" and has(before[-1], "ACK", no=("FIN",))
             and before[-1]["ack"] == seg_end(fs[0]) & M32,
             "the segment before the RST must be the client's ACK of the server FIN")
    c.info["probes"] = [{"probe": "RST", "segment": pkt_brief(r), "answers": []}]


@scenario("server_reset", 20,
          "Handshake, data both ways, then the server sets SO_LINGER {on, 0} and close()s: the "
          "kernel aborts the connection with an RST (RST/ACK) instead of a FIN; the client's "
          "recv() fails with ECONNRESET and both sides are gone (the listener stays).")
def sc_server_reset(e, sc):
    connect_accept(e, sc)
    exchange(e)
    e.snapshot("established, data exchanged", *EST)
    e.b.call("linger", name="s", onoff=1, linger=0)
    e.b.call("close", name="s")
    e.snapshot("after server close() with SO_LINGER 0", [], ["LISTEN"])
    r = e.a.call("recv", name="c", n=1, timeout=1, check=False)
    if r.get("error") != "ECONNRESET":
        e.problems.append("client recv after RST: expected ECONNRESET, got %r" % r)


@checker("server_reset")
def ck_server_reset(c):
    c.handshake()
    c.expect(not c.fins("c2s") and not c.fins("s2c"), "no FIN expected")
    r = c.rsts()
    c.expect(len(r) == 1 and r[0]["dir"] == "s2c", "expected exactly one RST, from the server")
    c.expect(c.p[-1]["no"] == r[0]["no"] if r else False, "RST must be the last segment")


# ---------------------------------------------------------------------------
# loss: segments dropped with nftables before the wire (output hook: no
# capture has them) or after it (input hook: captured, never delivered)
# ---------------------------------------------------------------------------
SLOW_RTO = ("The namespace that retransmits uses net.ipv4.tcp_early_retrans=0 (no tail loss probe) "
            "and net.ipv4.tcp_rto_min_us=1000000, so that a snapshot fits before the "
            "retransmission.")
FIN_GATES = ("Each side's egress has two tbf gates (htb u32 classifier): IPv4 TCP segments with "
             "FIN, and everything else; only the FIN gates are held.")


def slow_retransmissions(e, *sides):
    for side in sides:
        e.sysctl(side, "net.ipv4.tcp_early_retrans", 0)
        e.sysctl(side, "net.ipv4.tcp_rto_min_us", 1000000)


def pure_ack(sc, to_server):
    """nft match: a segment with ACK as its only flag (PSH excluded too: no data is sent
    while such a rule is armed), to or from the server port."""
    return "tcp %s %d tcp flags & (fin | syn | rst | psh | ack) == ack" % (
        "dport" if to_server else "sport", sc.sport)


def fin_to_server(sc):
    return "tcp dport %d tcp flags & fin == fin" % sc.sport


def count(pkts, d, *flags, no=()):
    return len([p for p in pkts if p["dir"] == d and has(p, *flags, no=no)])


def close_both_held(e):
    """Hold both FIN gates, close() both sides at the same moment."""
    for side in "ab":
        e.hold(side, "fin")
    e.a.start("close", name="c")
    e.b.start("close", name="s")
    e.a.wait()
    e.b.wait()
    e.snapshot("both close()d at once, both FINs held", ["FIN-WAIT-1"], ["LISTEN", "FIN-WAIT-1"],
               settle=0.2, unobservable="both FINs are held in tbf queues: not on the wire yet")


def check_crossed(c, nc, ns):
    """nc client FINs and ns server FINs (retransmissions of one FIN each); the first two
    cross; a retransmission acks the other side's FIN.  Returns (client FINs, server FINs)."""
    c.handshake()
    c.no_rst()
    fc, fs = c.fins("c2s"), c.fins("s2c")
    if not c.expect(len(fc) == nc and len(fs) == ns,
                    "expected %d client and %d server FINs, got %d and %d" % (nc, ns, len(fc), len(fs))):
        return None
    c.expect(fc[0]["ack"] != seg_end(fs[0]) and fs[0]["ack"] != seg_end(fc[0]),
             "the first FINs must cross (neither acks the other)")
    c.expect(len({x["seq"] for x in fc}) == 1 and len({x["seq"] for x in fs}) == 1,
             "later FINs must be retransmissions")
    c.expect(all(x["ack"] == seg_end(fs[0]) for x in fc[1:]) and
             all(x["ack"] == seg_end(fc[0]) for x in fs[1:]),
             "every FIN retransmission must ack the other side's FIN")
    return fc, fs


@scenario("crossed_fins_acks_lost", 21,
          "Simultaneous close, both ACKs lost before the wire: both applications close() at the "
          "same moment while the FINs are held in tbf queues; the FINs cross and both sides go "
          "FIN-WAIT-1 -> CLOSING; each side's ACK of the other's FIN is dropped on its own output "
          "hook. Both FINs are retransmitted (held again, so that they cross again), and each "
          "retransmission now acknowledges the other side's FIN: each side goes CLOSING -> "
          "TIME-WAIT on the other's retransmission, which Linux consumes without an answer, so "
          "nothing follows.",
          notes=FIN_GATES + " " + SLOW_RTO.replace("The namespace that retransmits uses",
                                                  "Both namespaces use"))
def sc_crossed_fins_acks_lost(e, sc):
    slow_retransmissions(e, "a", "b")
    for side in "ab":
        e.install_fin_gates(side)
    connect_accept(e, sc)
    exchange(e)
    e.snapshot("established, data exchanged", *EST)
    e.drop("a", "output", pure_ack(sc, True), "the client's ACK of the server's FIN")
    e.drop("b", "output", pure_ack(sc, False), "the server's ACK of the client's FIN")
    close_both_held(e)
    e.release("a", "fin")
    e.release("b", "fin")
    for side in "ab":
        e.hold(side, "fin")
    e.snapshot("FINs crossed, both ACKs dropped before the wire", ["CLOSING"], ["LISTEN", "CLOSING"],
               settle=0.2)
    for side in "ab":
        e.wait_gate(side, "fin", 2)
    e.release("a", "fin")
    e.release("b", "fin")
    e.snapshot("after the crossed FIN retransmissions", ["TIME-WAIT"], ["LISTEN", "TIME-WAIT"])


@checker("crossed_fins_acks_lost")
def ck_crossed_fins_acks_lost(c):
    r = check_crossed(c, 2, 2)
    if r:
        first = min(r[0][0]["no"], r[1][0]["no"])
        c.expect(not [x for x in c.p if x["no"] > first and "FIN" not in x["flags"]],
                 "only the FINs may follow the close (both ACKs dropped, the retransmissions "
                 "unanswered)")


@scenario("crossed_fins_one_ack_lost", 22,
          "Simultaneous close, one ACK lost after the wire: the FINs cross as in "
          "crossed_fins_acks_lost, while both ACKs are held in tbf queues; then the client's ACK of the server's FIN arrives (server CLOSING "
          "-> TIME-WAIT), the server's ACK of the client's FIN is captured but dropped on the "
          "client's input hook, so the client stays CLOSING and retransmits its FIN, which now "
          "acknowledges the server's FIN; the server answers it from TIME-WAIT and the client "
          "goes to TIME-WAIT.",
          notes=FIN_GATES.replace("only the FIN gates are held", "both are held") + " " +
          SLOW_RTO.replace("The namespace that retransmits uses", "Both namespaces use") +
          " (Without it the server's tail loss probe retransmits its held FIN as soon as the "
          "gate opens, acknowledging the client's FIN.)",
          capture="b")
def sc_crossed_fins_one_ack_lost(e, sc):
    slow_retransmissions(e, "a", "b")
    for side in "ab":
        e.install_fin_gates(side)
    connect_accept(e, sc)
    exchange(e)
    e.snapshot("established, data exchanged", *EST)
    e.drop("a", "input", pure_ack(sc, False), "the server's ACK of the client's FIN")
    for side in "ab":
        e.hold(side, "other")
    close_both_held(e)
    e.release("a", "fin")
    e.release("b", "fin")
    e.snapshot("FINs crossed, ACKs held", ["CLOSING"], ["LISTEN", "CLOSING"], settle=0.2)
    e.release("a", "other")
    e.release("b", "other")
    e.snapshot("both ACKs sent; the server's ACK dropped at the client's input",
               ["CLOSING"], ["LISTEN", "TIME-WAIT"], settle=0.2,
               unobservable="the server's ACK of the client's FIN is in the capture but was dropped "
                            "on the client's input hook (after the wire): the client is still CLOSING")
    e.wait_capture(lambda pk: count(pk, "c2s", "FIN") >= 2 and pk[-1]["dir"] == "s2c",
                   "the client's FIN retransmission and the server's answer")
    e.snapshot("after the client's FIN retransmission and the server's ACK from TIME-WAIT",
               ["TIME-WAIT"], ["LISTEN", "TIME-WAIT"])


@checker("crossed_fins_one_ack_lost")
def ck_crossed_fins_one_ack_lost(c):
    r = check_crossed(c, 2, 1)
    if not r:
        return
    fc, fs = r
    after = [x for x in c.p if x["no"] > max(fc[0]["no"], fs[0]["no"]) and "FIN" not in x["flags"]]
    want = [("c2s", seg_end(fs[0])), ("s2c", seg_end(fc[0]))]
    c.expect(sorted((x["dir"], x["ack"]) for x in after if x["no"] < fc[1]["no"]) == sorted(want),
             "each side must ACK the other's FIN once before the retransmission")
    last = c.p[-1]
    c.expect(last["no"] > fc[1]["no"] and last["dir"] == "s2c" and has(last, "ACK", no=("FIN",))
             and last["ack"] == seg_end(fc[0]), "the server must answer the retransmission last")


@scenario("fin_lost_after_wire", 23,
          "The client close()s; its FIN is captured but dropped on the server's input hook, so the "
          "server stays ESTABLISHED; the client retransmits the FIN, the server ACKs it "
          "(CLOSE-WAIT), reads EOF and close()s.",
          notes=SLOW_RTO, capture="b")
def sc_fin_lost_after_wire(e, sc):
    slow_retransmissions(e, "a")
    connect_accept(e, sc)
    exchange(e)
    e.snapshot("established, data exchanged", *EST)
    e.drop("b", "input", fin_to_server(sc), "the client's FIN")
    e.a.call("close", name="c")
    e.snapshot("client close()d; its FIN captured, dropped at the server's input",
               ["FIN-WAIT-1"], ["LISTEN", "ESTAB"], settle=0.3)
    e.wait_capture(lambda pk: count(pk, "c2s", "FIN") >= 2 and pk[-1]["dir"] == "s2c",
                   "the client's FIN retransmission and the server's ACK")
    e.snapshot("after the client's FIN retransmission and the server's ACK",
               ["FIN-WAIT-2"], ["LISTEN", "CLOSE-WAIT"])
    expect_eof(e, "b", "s")
    e.b.call("close", name="s")
    e.snapshot("after server close()", ["TIME-WAIT"], ["LISTEN"])


def check_fin_again(c, n_first):
    """The client's FIN captured n_first times before the server acks it, then a four-way close."""
    c.handshake()
    c.no_rst()
    fc, fs = c.fins("c2s"), c.fins("s2c")
    if not c.expect(len(fc) == n_first and len(fs) == 1 and len({x["seq"] for x in fc}) == 1,
                    "expected %d client FIN(s) with one sequence number and one server FIN"
                    % n_first):
        return
    end = seg_end(fc[0])
    acked = [x for x in c.p if x["dir"] == "s2c" and x["ack"] == end]
    c.expect(acked and acked[0]["no"] > fc[-1]["no"], "the server acks the client's FIN only "
                                                      "after its last transmission")
    c.expect(fs[0]["ack"] == end, "the server's FIN must ack the client's FIN")
    last = c.p[-1]
    c.expect(last["dir"] == "c2s" and has(last, "ACK", no=("FIN",)) and last["ack"] == seg_end(fs[0]),
             "last segment is not the ACK of the server's FIN")


@checker("fin_lost_after_wire")
def ck_fin_lost_after_wire(c):
    check_fin_again(c, 2)


@scenario("fin_lost_before_wire", 24,
          "The client close()s; its FIN is dropped on the client's output hook, before the wire, so "
          "the capture first shows the retransmitted FIN; the server ACKs it (CLOSE-WAIT), reads "
          "EOF and close()s.",
          notes=SLOW_RTO)
def sc_fin_lost_before_wire(e, sc):
    slow_retransmissions(e, "a")
    connect_accept(e, sc)
    exchange(e)
    e.snapshot("established, data exchanged", *EST)
    e.drop("a", "output", fin_to_server(sc), "the client's FIN")
    e.a.call("close", name="c")
    e.snapshot("client close()d; its FIN dropped before the wire", ["FIN-WAIT-1"], ["LISTEN", "ESTAB"],
               settle=0.3, unobservable="the client's FIN was dropped on its output hook, before the "
                                        "capture point: nothing on the wire shows that it closed")
    e.wait_capture(lambda pk: count(pk, "c2s", "FIN") >= 1 and pk[-1]["dir"] == "s2c",
                   "the client's FIN retransmission and the server's ACK")
    e.snapshot("after the client's FIN retransmission and the server's ACK",
               ["FIN-WAIT-2"], ["LISTEN", "CLOSE-WAIT"])
    expect_eof(e, "b", "s")
    e.b.call("close", name="s")
    e.snapshot("after server close()", ["TIME-WAIT"], ["LISTEN"])


@checker("fin_lost_before_wire")
def ck_fin_lost_before_wire(c):
    check_fin_again(c, 1)


@scenario("synack_ack_lost_after_wire", 25,
          "The client's handshake ACK is captured but dropped on the server's input hook: the "
          "client is ESTABLISHED while the server is still SYN-RECEIVED; the server retransmits "
          "its SYN-ACK after 1 s, the client ACKs it again and the connection establishes; then "
          "data and a client-first close.",
          notes="The drop rule matches the first pure ACK to the server port.", capture="b")
def sc_synack_ack_lost_after_wire(e, sc):
    listen(e, sc)
    e.drop("b", "input", pure_ack(sc, True), "the client's handshake ACK")
    client_socket(e, sc)
    e.a.call("connect", name="c", addr=sc.b_addr, port=sc.sport)
    e.snapshot("client connect() returned; its ACK captured, dropped at the server's input",
               ["ESTAB"], ["LISTEN", "SYN-RECV"], settle=0.3,
               unobservable="the client's handshake ACK is in the capture but was dropped on the "
                            "server's input hook (after the wire): the server is still SYN-RECEIVED")
    e.b.call("accept", {"name": "l", "as": "s", "timeout": 5})
    e.snapshot("after the SYN-ACK retransmission and the client's ACK", *EST)
    exchange(e)
    e.a.call("close", name="c")
    e.snapshot("after client close()", ["FIN-WAIT-2"], ["LISTEN", "CLOSE-WAIT"])
    expect_eof(e, "b", "s")
    e.b.call("close", name="s")
    e.snapshot("after server close()", ["TIME-WAIT"], ["LISTEN"])


@checker("synack_ack_lost_after_wire")
def ck_synack_ack_lost_after_wire(c):
    p = c.p
    if not c.expect(len(p) >= 5, "capture too short"):
        return
    c.handshake()
    c.expect(has(p[3], "SYN", "ACK") and p[3]["seq"] == p[1]["seq"] and p[3]["dir"] == "s2c",
             "frame 4 must be the server's SYN-ACK retransmission")
    c.expect(p[4]["dir"] == "c2s" and has(p[4], "ACK", no=("SYN", "FIN", "RST")),
             "frame 5 must be the client's ACK again")
    c.no_rst()
    c.four_way("c2s")


@scenario("last_ack_lost_before_wire", 26,
          "The client close()s first; when the server close()s, the client's ACK of its FIN (the "
          "last ACK) is dropped on the client's output hook: the client is in TIME-WAIT, the "
          "server in LAST-ACK; the server retransmits its FIN to the client in TIME-WAIT, which "
          "ACKs it again, and the server is CLOSED.",
          notes=SLOW_RTO)
def sc_last_ack_lost_before_wire(e, sc):
    slow_retransmissions(e, "b")
    connect_accept(e, sc)
    exchange(e)
    e.snapshot("established, data exchanged", *EST)
    e.a.call("close", name="c")
    e.snapshot("after client close()", ["FIN-WAIT-2"], ["LISTEN", "CLOSE-WAIT"])
    expect_eof(e, "b", "s")
    e.drop("a", "output", pure_ack(sc, True), "the client's ACK of the server's FIN")
    e.b.call("close", name="s")
    e.snapshot("after server close(); the client's last ACK dropped before the wire",
               ["TIME-WAIT"], ["LISTEN", "LAST-ACK"], settle=0.3,
               unobservable="the client's ACK of the server's FIN was dropped on the client's output "
                            "hook, before the capture point: a received FIN shows in the receiver's "
                            "state when its answer is captured")
    e.wait_capture(lambda pk: count(pk, "s2c", "FIN") >= 2 and pk[-1]["dir"] == "c2s",
                   "the server's FIN retransmission and the client's ACK")
    e.snapshot("after the server's FIN retransmission and the client's ACK from TIME-WAIT",
               ["TIME-WAIT"], ["LISTEN"])


def check_last_ack(c, n_server_fins, n_answers):
    c.handshake()
    c.no_rst()
    fc, fs = c.fins("c2s"), c.fins("s2c")
    if not c.expect(len(fc) == 1 and len(fs) == n_server_fins and len({x["seq"] for x in fs}) == 1,
                    "expected one client FIN and %d server FINs (one sequence number)" % n_server_fins):
        return
    answers = [x for x in c.p if x["dir"] == "c2s" and has(x, "ACK", no=("FIN",))
               and x["ack"] == seg_end(fs[0])]
    c.expect(len(answers) == n_answers, "expected %d captured client ACK(s) of the server's FIN, "
                                        "got %d" % (n_answers, len(answers)))
    c.expect(c.p[-1]["no"] == answers[-1]["no"] if answers else False,
             "the last segment must be the client's ACK of the server's FIN")
    c.expect(answers and answers[-1]["no"] > fs[-1]["no"], "the client answers the last FIN")


@checker("last_ack_lost_before_wire")
def ck_last_ack_lost_before_wire(c):
    check_last_ack(c, 2, 1)


@scenario("last_ack_lost_after_wire", 27,
          "The client close()s first; the client's ACK of the server's FIN (the last ACK) is "
          "captured but dropped on the server's input hook, so the server stays LAST-ACK and "
          "retransmits its FIN to the client in TIME-WAIT; the client's answer to that is dropped "
          "on the client's output hook (before the wire), so the server retransmits again; the "
          "client's second answer arrives and the server is CLOSED.",
          notes=SLOW_RTO, capture="b")
def sc_last_ack_lost_after_wire(e, sc):
    slow_retransmissions(e, "b")
    connect_accept(e, sc)
    exchange(e)
    e.snapshot("established, data exchanged", *EST)
    e.a.call("close", name="c")
    e.snapshot("after client close()", ["FIN-WAIT-2"], ["LISTEN", "CLOSE-WAIT"])
    expect_eof(e, "b", "s")
    e.drop("b", "input", pure_ack(sc, True), "the client's ACK of the server's FIN")
    e.b.call("close", name="s")
    e.snapshot("after server close(); the client's last ACK captured, dropped at the server's input",
               ["TIME-WAIT"], ["LISTEN", "LAST-ACK"], settle=0.3,
               unobservable="the client's ACK of the server's FIN is in the capture but was dropped on "
                            "the server's input hook (after the wire): the server is still LAST-ACK")
    e.drop("a", "output", pure_ack(sc, True), "the client's answer to the server's first FIN "
                                              "retransmission")
    e.wait_capture(lambda pk: count(pk, "s2c", "FIN") >= 2, "the server's FIN retransmission")
    e.snapshot("after the server's FIN retransmission; the client's answer dropped before the wire",
               ["TIME-WAIT"], ["LISTEN", "LAST-ACK"], settle=0.3)
    e.wait_capture(lambda pk: count(pk, "s2c", "FIN") >= 3 and pk[-1]["dir"] == "c2s",
                   "the server's second FIN retransmission and the client's ACK")
    e.snapshot("after the second FIN retransmission and the client's ACK", ["TIME-WAIT"], ["LISTEN"])


@checker("last_ack_lost_after_wire")
def ck_last_ack_lost_after_wire(c):
    check_last_ack(c, 3, 2)


@scenario("fin_wait2_timeout", 28,
          "The client close()s; the server ACKs (client FIN-WAIT-2, server CLOSE-WAIT) and keeps "
          "its end open; with net.ipv4.tcp_fin_timeout=1 in the client namespace the orphaned "
          "FIN-WAIT-2 socket is gone after 1 s, silently; then the server sends data, and the "
          "client kernel, which has no socket for it any more, answers with an RST (seq = the "
          "data's ack number, no ACK flag), which resets the server.")
def sc_fin_wait2_timeout(e, sc):
    e.sysctl("a", "net.ipv4.tcp_fin_timeout", 1)
    connect_accept(e, sc)
    exchange(e)
    e.snapshot("established, data exchanged", *EST)
    e.a.call("close", name="c")
    e.snapshot("after client close()", ["FIN-WAIT-2"], ["LISTEN", "CLOSE-WAIT"], settle=0.3)
    e.snapshot("the client's FIN-WAIT-2 timer expired (net.ipv4.tcp_fin_timeout=1)",
               [], ["LISTEN", "CLOSE-WAIT"], settle=1.2,
               unobservable="the client's FIN-WAIT-2 timer expired, which sends nothing: only the "
                            "RST its kernel sends for the server's next segment shows the socket is "
                            "gone")
    expect_eof(e, "b", "s")
    e.b.call("send", name="s", n=50, pattern=SERVER_MSG)
    e.snapshot("after the server's data and the client kernel's RST", [], ["LISTEN"])
    r = e.b.call("error_of", name="s")
    if r.get("error") != "EPIPE":   # a RST in CLOSE-WAIT: EPIPE (tcp_reset)
        e.problems.append("server socket after the RST: expected EPIPE, got %r" % r)


@checker("fin_wait2_timeout")
def ck_fin_wait2_timeout(c):
    c.handshake()
    fc = c.fins("c2s")
    if not c.expect(len(fc) == 1 and not c.fins("s2c"), "expected one client FIN, no server FIN"):
        return
    r = c.rsts()
    if not c.expect(len(r) == 1 and r[0]["dir"] == "c2s" and is_flags(r[0], "RST"),
                    "expected one RST (no ACK), from the client"):
        return
    data = [x for x in c.p if x["dir"] == "s2c" and x["len"] > 0 and x["no"] > fc[0]["no"]]
    c.expect(len(data) == 1 and data[0]["no"] == r[0]["no"] - 1,
             "the RST must answer the server's one data segment after the client's FIN")
    c.expect(r[0]["seq"] == seg_end(fc[0]) & M32, "RST seq must be the client's SND.NXT (after its FIN)")
    c.expect(c.p[-1]["no"] == r[0]["no"], "the RST must be the last segment")


@scenario("abort_unacked_data", 29,
          "Abort with data in flight: the client sends 120 bytes, which are captured but dropped "
          "on the server's input hook; before its retransmission the client sets SO_LINGER {on, "
          "0} and close()s: its RST carries seq = its SND.NXT, past the lost data, so the server "
          "(RCV.NXT still before the data) finds it in the window but not exact and sends a "
          "challenge ACK (RFC 5961); the client kernel, without a socket, answers that with an "
          "RST at the challenge ACK's ack number, which resets the server.",
          notes=SLOW_RTO)
def sc_abort_unacked_data(e, sc):
    slow_retransmissions(e, "a")
    connect_accept(e, sc)
    exchange(e)
    e.snapshot("established, data exchanged", *EST)
    e.drop("b", "input", "tcp dport %d ip length > 100" % sc.sport, "the client's 120 bytes",
           max_len=199)
    e.a.call("send", name="c", n=120, pattern=CLIENT_MSG)
    e.snapshot("the client sent 120 bytes, captured, dropped at the server's input",
               ["ESTAB"], ["LISTEN", "ESTAB"], settle=0.3)
    e.a.call("linger", name="c", onoff=1, linger=0)
    e.a.call("close", name="c")
    e.snapshot("after the client's abort with its data unacknowledged", [], ["LISTEN"])
    r = e.b.call("recv", name="s", n=1, timeout=1, check=False)
    if r.get("error") != "ECONNRESET":
        e.problems.append("server recv after RST: expected ECONNRESET, got %r" % r)


@checker("abort_unacked_data")
def ck_abort_unacked_data(c):
    c.handshake()
    c.expect(not c.fins("c2s") and not c.fins("s2c"), "no FIN expected")
    data = [x for x in c.p if x["dir"] == "c2s" and x["len"] == 120]
    if not c.expect(len(data) == 1, "expected the client's 120 bytes once"):
        return
    tail = [x for x in c.p if x["no"] > data[0]["no"]]
    d0, d1 = data[0]["seq"], seg_end(data[0]) & M32
    ok = c.expect(len(tail) == 3, "expected RST, challenge ACK, RST after the data, got %s"
                  % [fmt_pkt(x) for x in tail])
    if ok:
        c.expect(tail[0]["dir"] == "c2s" and has(tail[0], "RST") and tail[0]["seq"] == d1,
                 "the first RST must be the client's, at its SND.NXT past the data")
        c.expect(tail[1]["dir"] == "s2c" and is_flags(tail[1], "ACK") and tail[1]["ack"] == d0,
                 "then the server's challenge ACK, acking up to before the data")
        c.expect(tail[2]["dir"] == "c2s" and is_flags(tail[2], "RST") and tail[2]["seq"] == d0,
                 "then the client kernel's RST at the challenge ACK's ack number")


@scenario("close_unread_rst_lost", 30,
          "close() with unread data, its RST lost: the server sends data that the client "
          "application never reads; the client close()s, so its kernel sends an RST instead of a "
          "FIN, which is captured but dropped on the server's input hook; the server, still "
          "ESTABLISHED, sends more data, and the client kernel (no socket) answers with another "
          "RST, which resets the server.",
          capture="b")
def sc_close_unread_rst_lost(e, sc):
    connect_accept(e, sc)
    e.a.call("send", name="c", n=100, pattern=CLIENT_MSG)
    e.b.call("recv", name="s", n=100)
    e.b.call("send", name="s", n=160, pattern=SERVER_MSG)
    snap = e.snapshot("established, 160 bytes unread in the client's receive queue", *EST)
    if not re.match(r"ESTAB\s+160\s", snap["raw"]["a"]):
        e.problems.append("client Recv-Q is not 160: %r" % snap["raw"]["a"])
    # max_len 59: the RST/ACK with timestamps is 52 bytes, the kernel's later RST (no
    # options) 40, so a 100-byte quota would take both
    e.drop("b", "input", "tcp dport %d tcp flags & rst == rst" % sc.sport, "the client's RST",
           max_len=59)
    e.a.call("close", name="c")
    e.snapshot("after the client's close() with unread data; its RST captured, dropped at the "
               "server's input", [], ["LISTEN", "ESTAB"], settle=0.3,
               unobservable="the client's RST is in the capture but was dropped on the server's "
                            "input hook (after the wire): the server is still ESTABLISHED")
    e.b.call("send", name="s", n=50, pattern=SERVER_MSG)
    e.snapshot("after the server's data and the client kernel's second RST", [], ["LISTEN"])
    r = e.b.call("recv", name="s", n=1, timeout=1, check=False)
    if r.get("error") != "ECONNRESET":
        e.problems.append("server recv after RST: expected ECONNRESET, got %r" % r)


@checker("close_unread_rst_lost")
def ck_close_unread_rst_lost(c):
    c.handshake()
    c.expect(not c.fins("c2s") and not c.fins("s2c"), "no FIN expected")
    r = c.rsts()
    if not c.expect(len(r) == 2 and all(x["dir"] == "c2s" for x in r),
                    "expected two RSTs, both from the client"):
        return
    between = [x for x in c.p if r[0]["no"] < x["no"] < r[1]["no"]]
    c.expect(len(between) == 1 and between[0]["dir"] == "s2c" and between[0]["len"] == 50,
             "the server's 50 bytes must come between the RSTs")
    c.expect(has(r[0], "RST", "ACK") and is_flags(r[1], "RST") and r[1]["seq"] == between[0]["ack"]
             if between else False, "the second RST answers the data at its ack number")
    c.expect(c.p[-1]["no"] == r[1]["no"], "the second RST must be the last segment")


@scenario("simultaneous_open_synacks_lost", 31,
          "Simultaneous open, both SYN-ACKs lost before the wire: both sides bind fixed ports and "
          "connect() to each other while both SYNs are held in tbf queues; the SYNs cross and "
          "both go SYN-SENT -> SYN-RECEIVED; each side's SYN-ACK is dropped on its own output "
          "hook. The SYN-ACKs are retransmitted after 1 s and the connection establishes; then "
          "data and a client-first close.",
          notes="No listener; as in simultaneous_open, the SYNs are held on each side's egress for "
                "~0.4 s, less than the 1 s initial RTO. Whichever SYN-ACK retransmission arrives "
                "first establishes its receiver, which answers it with an ACK.",
          capture="b")
def sc_simultaneous_open_synacks_lost(e, sc):
    for side in "ab":
        e.install_gate(side)
    client_socket(e, sc)
    e.b.call("socket", name="s", family=sc.family)
    e.b.call("bind", name="s", addr=sc.b_addr, port=sc.sport)
    e.drop("a", "output", "tcp dport %d tcp flags & (syn | ack) == syn | ack" % sc.sport,
           "the client's SYN-ACK")
    e.drop("b", "output", "tcp sport %d tcp flags & (syn | ack) == syn | ack" % sc.sport,
           "the server's SYN-ACK")
    e.hold("a")
    e.hold("b")
    e.a.call("connect_nb", name="c", addr=sc.b_addr, port=sc.sport)
    e.b.call("connect_nb", name="s", addr=sc.a_addr, port=sc.cport)
    e.snapshot("both sides connect()ed, both SYNs held", ["SYN-SENT"], ["SYN-SENT"], settle=0.2,
               unobservable="the SYNs are held in tbf queues: not on the wire yet")
    e.release("a")
    e.release("b")
    e.snapshot("SYNs crossed; both SYN-ACKs dropped before the wire", ["SYN-RECV"], ["SYN-RECV"],
               settle=0.3,
               unobservable="each side's SYN-ACK was dropped on its own output hook, before the "
                            "capture point: a received SYN shows in the receiver's state when its "
                            "answer is captured")
    for side, name in (("a", "c"), ("b", "s")):
        r = e.agents[side].call("wait_connected", name=name, timeout=5)
        if not r.get("connected"):
            e.problems.append("side %s did not connect: %r" % (side, r))
    e.snapshot("after the SYN-ACK retransmissions", ["ESTAB"], ["ESTAB"])
    exchange(e)
    e.a.call("close", name="c")
    e.snapshot("after client close()", ["FIN-WAIT-2"], ["CLOSE-WAIT"])
    expect_eof(e, "b", "s")
    e.b.call("close", name="s")
    e.snapshot("after server close()", ["TIME-WAIT"], [])


@checker("simultaneous_open_synacks_lost")
def ck_simultaneous_open_synacks_lost(c):
    p = c.p
    if not c.expect(len(p) >= 4, "capture too short"):
        return
    c.expect({x["dir"] for x in p[:2]} == {"c2s", "s2c"} and all(is_flags(x, "SYN") for x in p[:2]),
             "the capture must start with one bare SYN from each side")
    synacks = [x for x in p if has(x, "SYN", "ACK")]
    c.expect(synacks and synacks[0]["t"] - p[1]["t"] > 0.5,
             "the first SYN-ACK on the wire must be a retransmission (the first ones dropped)")
    c.no_rst()
    c.four_way("c2s")


SCENARIOS_BY_NAME = {sc.name: sc for sc in SCENARIOS}


# ---------------------------------------------------------------------------
# driver
# ---------------------------------------------------------------------------
def generic_checks(c, path, snapshots, max_size=20 * 1024):
    c.expect(c.p, "empty capture")
    c.expect(all(x["complete"] for x in c.p), "truncated frame in capture (snaplen)")
    c.expect(all(x["csum_ok"] for x in c.p), "TCP checksum not verified good in capture")
    size = os.path.getsize(path)
    c.expect(size < max_size, "capture is %d bytes (> %d KB)" % (size, max_size // 1024))
    # every snapshot must come after the packets it describes settled (segments
    # to or from spoofed addresses, e.g. SYN-ACK retransmissions, do not count)
    real = (A4, B4, A6, B6)
    for s in snapshots:
        before = [x for x in c.p if x["t"] <= s["t"] and x["src"] in real and x["dst"] in real]
        if before:
            c.expect(s["t"] - before[-1]["t"] >= 0.05,
                     "snapshot %r taken only %.3f s after a segment" % (s["label"], s["t"] - before[-1]["t"]))


def record_once(sc, out_dir, kernel):
    env = Env(sc.name)
    try:
        env.setup()
        env.start_agents()
        if sc.counters:
            before = {side: env.counters(side) for side in "ab"}
        env.start_capture(sc.capture)
        sc.run(env, sc)
        time.sleep(0.1)
        env.stop_capture()
        if sc.counters:
            delta = {}
            for side in "ab":
                after = env.counters(side)
                delta[side] = {k: after[k] - before[side].get(k, 0) for k in sorted(after)
                               if k in COUNTERS and after[k] != before[side].get(k, 0)}
            env.doc_extra["counters"] = delta
        pkts = read_pcap(env.pcap_tmp)
        c = Check(pkts, env.pcap_tmp)
        if sc.check:
            sc.check(c)
        generic_checks(c, env.pcap_tmp, env.snapshots, sc.max_size)
        problems = env.problems + c.problems
        doc = {
            "scenario": sc.name,
            "description": sc.description,
            "how": "recorded by tests/kernel/record.py on Linux %s" % kernel,
            "capture_point": CAPTURE_POINTS[sc.capture],
        }
        notes = " ".join(([sc.notes] if sc.notes else []) + env.notes_extra)
        if notes:
            doc["notes"] = notes
        doc["client"] = "%s port %d" % (sc.a_addr, sc.cport)
        doc["server"] = "%s port %d" % (sc.b_addr, sc.sport)
        if env.drops:
            doc["drops"] = env.drop_counts()
            for d in doc["drops"]:
                if d["dropped"] != 1:
                    problems.append("nft rule %r dropped %d segments, not 1" % (d["what"], d["dropped"]))
        doc.update(env.doc_extra)
        doc.update(c.info)
        doc["snapshots"] = env.snapshots
        os.makedirs(out_dir, exist_ok=True)
        pcap_out = os.path.join(out_dir, sc.name + ".pcap")
        json_out = os.path.join(out_dir, sc.name + ".ss.json")
        shutil.copyfile(env.pcap_tmp, pcap_out)
        with open(json_out + ".tmp", "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        os.replace(json_out + ".tmp", json_out)
        return pkts, env.snapshots, problems, doc
    except Exception:
        try:
            env.agentlog.flush()
            with open(os.path.join(env.tmp, "agents.log")) as f:
                tail = f.read()[-2000:]
            if tail.strip():
                log("agent log:\n" + tail)
        except OSError:
            pass
        raise
    finally:
        env.teardown()


def print_summary(sc, pkts, snapshots, problems, doc=None):
    print("=" * 100)
    print("%s: %s" % (sc.name, sc.description))
    print("-" * 100)
    for p in pkts:
        print(fmt_pkt(p))
    t0 = pkts[0]["t"] if pkts else 0.0
    print("-- ss snapshots (time relative to first packet; client side a / server side b)")
    for s in snapshots:
        fmt = lambda lst: ", ".join("%s %s->%s" % (x["state"], x["local"], x["peer"]) for x in lst) or "-"
        print("  %+9.6f  %s" % (s["t"] - t0, s["label"]))
        print("      a: %s" % fmt(s["a"]))
        print("      b: %s" % fmt(s["b"]))
    doc = doc or {}
    for pr in doc.get("probes", []):
        print("-- probe %s" % json.dumps(pr))
    for d in doc.get("drops", []):
        print("-- dropped %d: %s (%s; nft: %s)" % (d["dropped"], d["what"], d["where"], d["nft"]))
    if doc.get("counters"):
        print("-- TCP counter deltas: %s" % json.dumps(doc["counters"]))
    if doc.get("notes"):
        print("-- notes: %s" % doc["notes"])
    print("-- result: %s" % ("OK" if not problems else "PROBLEMS:\n   " + "\n   ".join(problems)))
    sys.stdout.flush()


def write_readme(out_dir, kernel):
    rows, kernels = [], []
    for sc in SCENARIOS:
        path = os.path.join(out_dir, sc.name + ".ss.json")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            doc = json.load(f)
        how = doc.get("how", "")
        how = how.replace("recorded by tests/kernel/record.py on ", "")
        if how not in kernels:
            kernels.append(how)
        desc = doc.get("description", sc.description)
        if doc.get("notes"):
            desc += " " + doc["notes"]
        side = "server side" if "namespace b" in doc.get("capture_point", "") else "client side"
        rows.append("| `%s.pcap` | %s | %s | %s, `sudo /usr/bin/python3 tests/kernel/record.py %s` |"
                    % (sc.name, desc.replace("|", "\\|"), side, how, sc.name))
    lines = [
        "# Real Linux TCP captures with `ss` oracles",
        "",
        "Recorded by `tests/kernel/record.py` on %s, in two network namespaces joined "
        "by a veth pair (client 10.99.0.1 / fd00:99::1 in namespace a, server 10.99.0.2 / "
        "fd00:99::2 in namespace b). Each capture is taken on one veth: in namespace a (client "
        "side) or in namespace b (server side), as the table says; TCP only, snaplen 256, "
        "offloads off (valid checksums)." % " and ".join(kernels or [kernel]),
        "",
        "Each `<name>.pcap` has a `<name>.ss.json` next to it with `ss -tanH` snapshots of both "
        "namespaces taken at settled points (`t` uses the same clock as the pcap timestamps, so "
        "the snapshot describes the state after the last segment captured before `t`). A "
        "snapshot that no capture can show (a segment held in a queue or dropped before the "
        "wire, a segment captured but dropped after it, a timer that sends nothing) says why in "
        "its `unobservable` key; the oracle test reports those and checks the others.",
        "",
        "Loss is made with nftables (`drops` in the .ss.json): a rule on the output hook drops "
        "a segment before the wire, so neither capture point has it; a rule on the input hook "
        "drops it after the wire, so the capture has it but the receiving TCP never gets it.",
        "",
        "Re-record everything with `sudo /usr/bin/python3 tests/kernel/record.py` or a subset "
        "with `sudo /usr/bin/python3 tests/kernel/record.py <name> ...` (needs root, iproute2, "
        "tc, nft, ethtool, tcpdump, tshark).",
        "",
        "This file is generated by the recorder; edit the scenario descriptions in "
        "`tests/kernel/record.py` instead.",
        "",
        "| capture | what it shows | captured on | recorded on / command |",
        "|---|---|---|---|",
    ] + rows
    with open(os.path.join(out_dir, "README.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="output directory (default: %(default)s)")
    ap.add_argument("--attempts", type=int, default=3, help="recording attempts per scenario")
    ap.add_argument("--keep-going", action="store_true",
                    help="continue with the next scenario after an error")
    ap.add_argument("--list", action="store_true", help="list the scenarios and exit")
    ap.add_argument("scenarios", nargs="*", help="scenario names (default: all)")
    args = ap.parse_args()

    if args.list:
        for sc in SCENARIOS:
            print("%-20s %s" % (sc.name, sc.description))
        return 0
    if os.geteuid() != 0:
        log("record.py needs root (network namespaces, tc, nft, tcpdump): "
            "run it as  sudo /usr/bin/python3 %s" % " ".join([os.path.relpath(__file__)] + sys.argv[1:]))
        return 2
    names = {sc.name: sc for sc in SCENARIOS}
    unknown = [n for n in args.scenarios if n not in names]
    if unknown:
        log("unknown scenario(s): %s (use --list)" % ", ".join(unknown))
        return 2
    todo = [names[n] for n in args.scenarios] if args.scenarios else list(SCENARIOS)
    for tool in ("ip", "tc", "nft", "ethtool", "tcpdump", "tshark", "ss", "sysctl"):
        if not shutil.which(tool):
            log("missing tool: %s" % tool)
            return 2

    atexit.register(cleanup_all)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(129))
    cleanup_stale_namespaces()
    kernel = os.uname().release
    out_dir = os.path.abspath(args.out)
    failed = []
    for sc in todo:
        result = None
        for attempt in range(1, args.attempts + 1):
            log("[%s] recording (attempt %d)" % (sc.name, attempt))
            try:
                result = record_once(sc, out_dir, kernel)
            except (RecorderError, AssertionError, subprocess.TimeoutExpired) as e:
                log("[%s] error: %s" % (sc.name, e))
                result = None
                if not args.keep_going and attempt == args.attempts:
                    cleanup_all()
                    raise
                continue
            if not result[2]:
                break
            log("[%s] attempt %d not as intended: %s" % (sc.name, attempt, "; ".join(result[2])))
        if result is None:
            failed.append(sc.name)
            continue
        print_summary(sc, *result)
        if result[2]:
            failed.append(sc.name)
    write_readme(out_dir, kernel)
    if failed:
        log("scenarios with problems: %s" % ", ".join(failed))
        return 1
    log("all %d scenario(s) recorded as intended into %s" % (len(todo), out_dir))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        cleanup_all()
        log("interrupted; namespaces and processes cleaned up")
        sys.exit(130)
