"""Declarative per-capture expectations: sample-captures/**/<name>.expect

    # comments
    frame<TAB>tcpstate.stream<TAB>tcpstate.client.state<TAB>...   (header)
    1<TAB>0<TAB>SYN_SENT<TAB>...                                   (one row per frame)
    filter<TAB><display filter><TAB><count>                       (optional)
    clean                                                         (optional)
    conn<TAB>stream<TAB>outcome<TAB>...                           (connections' header)
    conn<TAB>0<TAB>complete<TAB>...                               (one per connection)

"clean" marks a capture with no anomaly by construction: no tcpstate
expert info of severity Warn or above may appear in it.

"conn" lines give every connection's final summary: the header names any of
CONN_COLUMNS after "stream"; then one line per tcp.stream, all of them.

Per release: <name>.expect-X.Y next to <name>.expect holds, in the same
format, what Wireshark X.Y and later give for that capture where a release
differs (for_release picks the file for a tshark version; docs/compat.md
says why each exists).

'-' means the field is absent; value-string fields are written with their
labels; repeated occurrences are joined with ','; a present boolean is '1'.
"""

import os
import re

VARIANT = re.compile(r"\.expect-(\d+)\.(\d+)$")


class Expectation:
    def __init__(self, path):
        self.path = path
        self.capture = None
        self.fields = None
        self.rows = {}          # frame number (str) -> [values]
        self.filters = []       # (filter, count)
        self.clean = False
        self.conn_fields = None     # columns after "stream"
        self.conns = {}             # stream -> [values]
        self._parse()

    def _parse(self):
        with open(self.path, encoding="utf-8") as fp:
            for lineno, line in enumerate(fp, 1):
                line = line.rstrip("\n")
                if not line.strip() or line.startswith("#"):
                    continue
                cols = line.split("\t")
                if cols == ["clean"]:
                    self.clean = True
                elif cols[0] == "conn" and len(cols) > 1 and cols[1] == "stream":
                    unknown = [c for c in cols[2:] if c not in CONN_COLUMNS]
                    if unknown:
                        raise ValueError("%s:%d: unknown conn columns %s" % (self.path, lineno,
                                                                           unknown))
                    self.conn_fields = cols[2:]
                elif cols[0] == "conn":
                    if self.conn_fields is None or len(cols) != len(self.conn_fields) + 2:
                        raise ValueError("%s:%d: conn row does not match its header"
                                         % (self.path, lineno))
                    self.conns[cols[1]] = cols[2:]
                elif cols[0] == "frame":
                    self.fields = cols[1:]
                elif cols[0] == "filter":
                    if len(cols) != 3:
                        raise ValueError("%s:%d: filter<TAB>expr<TAB>count" % (self.path, lineno))
                    self.filters.append((cols[1], int(cols[2])))
                else:
                    if self.fields is None or len(cols) != len(self.fields) + 1:
                        raise ValueError("%s:%d: row does not match the header" % (self.path, lineno))
                    self.rows[cols[0]] = cols[1:]
        if self.fields is None:
            raise ValueError("%s: no header line" % self.path)
        base = re.sub(r"\.expect(-\d+\.\d+)?$", "", self.path)
        for ext in (".pcap", ".pcapng"):
            cand = base + ext
            if os.path.exists(cand):
                self.capture = cand
        if self.capture is None:
            raise ValueError("%s: no capture next to it" % self.path)


# conn columns and the tcpstate field each comes from (read with tshark -2,
# last segment of the stream).
CONN_COLUMNS = {
    "outcome": "tcpstate.conn.outcome",
    "close_initiator": "tcpstate.conn.close_initiator",
    "close_style": "tcpstate.conn.close_style",
    "client_state": "tcpstate.client.state",
    "server_state": "tcpstate.server.state",
    "zeek_state": "tcpstate.conn.zeek_state",
    "history": "tcpstate.conn.history",
}


def find(top):
    """All .expect files below top, sorted."""
    out = []
    for dirpath, _, filenames in os.walk(top):
        out += [os.path.join(dirpath, f) for f in filenames if f.endswith(".expect")]
    return sorted(out)


def variants(expect_path):
    """{(major, minor): path} of the per-release files of a .expect."""
    d, name = os.path.split(expect_path)
    out = {}
    for f in os.listdir(d or "."):
        m = VARIANT.search(f)
        if m and f[:m.start()] + ".expect" == name:
            out[(int(m.group(1)), int(m.group(2)))] = os.path.join(d, f)
    return out


def for_release(expect_path, version):
    """The expectation file for a tshark version (major, minor, ...): the
    .expect-X.Y of the newest X.Y <= version, or the .expect itself."""
    since = [v for v in variants(expect_path) if v <= tuple(version[:2])]
    return variants(expect_path)[max(since)] if since else expect_path


def captures(top):
    """All capture files below top, sorted."""
    out = []
    for dirpath, _, filenames in os.walk(top):
        out += [os.path.join(dirpath, f) for f in filenames
                if f.endswith((".pcap", ".pcapng"))]
    return sorted(out)


ROLES = {"1": "client", "2": "server", "3": "both"}
ROLE_FIELDS = ("tcpstate.sender", "tcpstate.closer")
LABELLED_FIELDS = ("tcpstate.conn.outcome", "tcpstate.conn.close_initiator",
                   "tcpstate.conn.close_style")
STATE_FIELDS = ("tcpstate.client.state", "tcpstate.server.state",
                "tcpstate.client.prev", "tcpstate.server.prev")


def normalise(field, value, labels):
    """tshark -T fields text -> the .expect spelling: state labels, roles
    (client/server/both), numbers for everything else, 1 for true."""
    if value == "":
        return "-"
    if value in ("True", "TRUE"):
        return "1"
    if value in ("False", "FALSE"):
        return "0"
    if field in ROLE_FIELDS:
        return ",".join(ROLES.get(v, v) for v in value.split(","))
    if field in STATE_FIELDS or field in LABELLED_FIELDS:
        vs = labels.get(field, {})
        return ",".join(vs.get(v, v) for v in value.split(","))
    return value


def tree_counts(out, section):
    """{child: count} of one top-level node of tshark -z tcpstate,tree (the
    capture tests and tests/crafted/expect.py read it the same way)."""
    counts, inside = {}, False
    for line in out.splitlines():
        if not line.strip() or line.startswith(("=", "-", "Topic")):
            continue
        if not line.startswith(" "):
            inside = line.startswith(section)
            continue
        if inside and not line.startswith("  "):
            name, count = line[:33].strip(), line[33:].split()[0]
            counts[name] = int(count)
    return counts
