#!/usr/bin/python3
"""Per-namespace socket agent for tests/kernel/record.py.

The recorder starts one agent per network namespace with

    ip netns exec <ns> /usr/bin/python3 tests/kernel/agent.py

and drives it with one JSON object per line on stdin.  Every command gets
exactly one JSON reply line on stdout, in order:

    -> {"op": "socket", "name": "c", "family": "inet"}
    <- {"ok": true}
    -> {"op": "connect", "name": "c", "addr": "10.99.0.2", "port": 5001}
    <- {"ok": false, "errno": 111, "error": "ECONNREFUSED"}

Sockets are kept by name, so one agent can hold a listener, accepted
sockets and client sockets at the same time.  Commands run one after the
other; a blocking command (accept, recv, recv_eof_close, wait_connected)
blocks the agent until it completes or times out, which lets the recorder
"arm" one side and act on the other side meanwhile.

Nothing here is clever on purpose: every operation maps to one or two plain
socket calls, so the captured packets are what the Linux stack does for
ordinary applications.  The one exception is "inject", which sends forged
segments (built with scapy) through a raw socket, for the scenarios about
illegal or spoofed segments.
"""

import errno
import json
import os
import select
import socket
import struct
import sys
import time

FAMILIES = {"inet": socket.AF_INET, "inet6": socket.AF_INET6}
TCP_FLAG_BITS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10, "U": 0x20,
                 "E": 0x40, "C": 0x80}


class Agent:
    def __init__(self):
        self.socks = {}

    # -- helpers ---------------------------------------------------------
    def sock(self, cmd):
        name = cmd["name"]
        if name not in self.socks:
            raise KeyError("no socket named %r" % name)
        return self.socks[name]

    @staticmethod
    def payload(cmd):
        if "data" in cmd:
            return cmd["data"].encode()
        n = int(cmd["n"])
        pattern = cmd.get("pattern", "x").encode()
        return (pattern * (n // len(pattern) + 1))[:n]

    # -- operations ------------------------------------------------------
    def op_socket(self, cmd):
        s = socket.socket(FAMILIES[cmd.get("family", "inet")], socket.SOCK_STREAM)
        if cmd.get("reuseaddr", True):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socks[cmd["name"]] = s
        return {}

    def op_bind(self, cmd):
        self.sock(cmd).bind((cmd["addr"], int(cmd["port"])))
        return {}

    def op_listen(self, cmd):
        self.sock(cmd).listen(int(cmd.get("backlog", 8)))
        return {}

    def op_accept(self, cmd):
        s = self.sock(cmd)
        s.settimeout(float(cmd.get("timeout", 5)))
        try:
            c, peer = s.accept()
        finally:
            s.settimeout(None)
        c.settimeout(None)
        self.socks[cmd["as"]] = c
        return {"peer": list(peer[:2])}

    def op_connect(self, cmd):
        """Blocking connect."""
        s = self.sock(cmd)
        s.settimeout(float(cmd.get("timeout", 10)))
        try:
            s.connect((cmd["addr"], int(cmd["port"])))
        finally:
            s.settimeout(None)
        return {}

    def op_connect_nb(self, cmd):
        """Non-blocking connect: returns at once (normally EINPROGRESS)."""
        s = self.sock(cmd)
        s.setblocking(False)
        rc = s.connect_ex((cmd["addr"], int(cmd["port"])))
        return {"rc": rc, "rc_name": errno.errorcode.get(rc, str(rc)) if rc else "0"}

    def op_wait_connected(self, cmd):
        s = self.sock(cmd)
        _, w, _ = select.select([], [s], [], float(cmd.get("timeout", 10)))
        if not w:
            return {"connected": False, "timeout": True}
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        s.setblocking(True)
        if err:
            return {"connected": False, "errno": err,
                    "error": errno.errorcode.get(err, str(err))}
        return {"connected": True}

    def op_send(self, cmd):
        data = self.payload(cmd)
        self.sock(cmd).sendall(data)
        return {"sent": len(data)}

    def op_send_series(self, cmd):
        """count sends of n bytes each, interval seconds apart."""
        s = self.sock(cmd)
        data = self.payload(cmd)
        count = int(cmd["count"])
        for i in range(count):
            s.sendall(data)
            if i + 1 < count:
                time.sleep(float(cmd.get("interval", 0.05)))
        return {"sent": len(data) * count}

    def op_recv(self, cmd):
        """Read until n bytes arrived, EOF, or timeout."""
        s = self.sock(cmd)
        want = int(cmd["n"])
        deadline = time.monotonic() + float(cmd.get("timeout", 5))
        got, eof = 0, False
        while got < want:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([s], [], [], left)
            if not r:
                break
            chunk = s.recv(want - got)
            if not chunk:
                eof = True
                break
            got += len(chunk)
        return {"received": got, "eof": eof}

    def op_recv_eof_close(self, cmd):
        """Block until the peer's FIN is read, then close() immediately."""
        s = self.sock(cmd)
        deadline = time.monotonic() + float(cmd.get("timeout", 10))
        got = 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return {"received": got, "eof": False, "closed": False}
            r, _, _ = select.select([s], [], [], left)
            if not r:
                continue
            chunk = s.recv(65536)
            if not chunk:
                break
            got += len(chunk)
        s.close()
        del self.socks[cmd["name"]]
        return {"received": got, "eof": True, "closed": True}

    def op_shutdown(self, cmd):
        how = {"rd": socket.SHUT_RD, "wr": socket.SHUT_WR,
               "rdwr": socket.SHUT_RDWR}[cmd.get("how", "wr")]
        self.sock(cmd).shutdown(how)
        return {}

    def op_close(self, cmd):
        self.sock(cmd).close()
        del self.socks[cmd["name"]]
        return {}

    def op_linger(self, cmd):
        self.sock(cmd).setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                  struct.pack("ii", int(cmd.get("onoff", 1)),
                                              int(cmd.get("linger", 0))))
        return {}

    def op_setsockopt_tcp(self, cmd):
        opt = {"nodelay": socket.TCP_NODELAY, "cork": socket.TCP_CORK,
               "quickack": socket.TCP_QUICKACK}[cmd["opt"]]
        self.sock(cmd).setsockopt(socket.IPPROTO_TCP, opt, int(cmd["value"]))
        return {}

    def op_udp(self, cmd):
        """Send UDP datagrams (used to fill/kick tbf queues; never captured)."""
        fam = socket.AF_INET6 if ":" in cmd["addr"] else socket.AF_INET
        u = socket.socket(fam, socket.SOCK_DGRAM)
        try:
            data = b"f" * int(cmd.get("size", 1400))
            for _ in range(int(cmd.get("count", 1))):
                u.sendto(data, (cmd["addr"], int(cmd.get("port", 9))))
        finally:
            u.close()
        return {}

    def op_inject(self, cmd):
        """Send hand-made IPv4 TCP segments through a raw socket.

        packets: list of {"src", "dst", "sport", "dport", "flags" (letters of
        "FSRPAUEC", "" for none), "seq", "ack", optional "window", "urgptr",
        "options" ([[name, value], ...] as scapy spells them) and "data"};
        interval: seconds between two segments.  scapy builds the segments
        (valid checksums); they leave through an IPPROTO_RAW socket
        (IP_HDRINCL), so they are routed, pass netfilter output and the egress
        qdisc like any local packet, may carry any source address, and are
        never seen by this namespace's own TCP.  An empty list only loads
        scapy (slow the first time)."""
        from scapy.layers.inet import IP, TCP  # lazily: only scenarios that inject pay for it
        pkts = cmd.get("packets", [])
        interval = float(cmd.get("interval", 0))
        out = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        times = []
        try:
            for i, p in enumerate(pkts):
                flags = 0
                for letter in p.get("flags", ""):
                    flags |= TCP_FLAG_BITS[letter]
                opts = [(o[0], tuple(o[1]) if isinstance(o[1], list) else o[1])
                        for o in p.get("options", [])]
                seg = IP(src=p["src"], dst=p["dst"], ttl=int(p.get("ttl", 64))) / TCP(
                    sport=int(p["sport"]), dport=int(p["dport"]), flags=flags,
                    seq=int(p.get("seq", 0)) & 0xffffffff, ack=int(p.get("ack", 0)) & 0xffffffff,
                    window=int(p.get("window", 64240)), urgptr=int(p.get("urgptr", 0)),
                    options=opts)
                if p.get("data"):
                    seg = seg / p["data"].encode()
                if i and interval:
                    time.sleep(interval)
                times.append(time.time())
                out.sendto(bytes(seg), (p["dst"], 0))
        finally:
            out.close()
        return {"sent": len(times), "times": times}

    def op_error_of(self, cmd):
        """Pending SO_ERROR of a socket (e.g. ECONNRESET after an RST)."""
        err = self.sock(cmd).getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        return {"errno": err, "error": errno.errorcode.get(err, "0") if err else "0"}

    def op_ping(self, cmd):
        return {"pid": os.getpid()}

    # -- main loop ---------------------------------------------------------
    def run(self):
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            try:
                cmd = json.loads(line)
            except ValueError as e:
                self.reply({"ok": False, "error": "bad json: %s" % e})
                continue
            op = cmd.get("op")
            if op == "quit":
                self.reply({"ok": True})
                break
            fn = getattr(self, "op_" + str(op), None)
            if fn is None:
                self.reply({"ok": False, "error": "unknown op %r" % op})
                continue
            try:
                res = fn(cmd)
                res["ok"] = True
            except OSError as e:
                res = {"ok": False, "errno": e.errno,
                       "error": errno.errorcode.get(e.errno, str(e)) if e.errno else str(e)}
            except Exception as e:  # noqa: BLE001 - report everything to the controller
                res = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
            res["t"] = time.time()
            self.reply(res)
        for s in self.socks.values():
            try:
                s.close()
            except OSError:
                pass

    @staticmethod
    def reply(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    Agent().run()
