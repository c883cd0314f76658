"""The .expect files next to the crafted captures: write, read, check.

Format (tab-separated, '#' lines are comments):

    # Expectations for <capture file name>
    # how: <how the capture was made>
    frame   tcpstate.stream   tcpstate.sender   ...      <- header
    1       0                 client            ...      <- one row per frame
    filter  <display filter>  <expected frame count>     <- optional

`-` means the field must be absent; value-string fields are given by label
(state names, client/server/both), the others as numbers; several
occurrences of a field are joined with ','; a present boolean is `1`.

check_capture() runs tshark (a tshark_env.TShark with the plugin loaded) on
a capture and returns the differences from its .expect file as strings.
"""

import os

FIELDS = [
    "tcpstate.stream",
    "tcpstate.sender",
    "tcpstate.client.state",
    "tcpstate.server.state",
    "tcpstate.handshake",
    "tcpstate.teardown",
    "tcpstate.closer",
    "tcpstate.midstream",
    "tcpstate.icmp_quoted",
]

# Fields whose .expect values are labels of the plugin's value strings.
LABELLED = {
    "tcpstate.sender",
    "tcpstate.client.state",
    "tcpstate.server.state",
    "tcpstate.client.prev",
    "tcpstate.server.prev",
    "tcpstate.closer",
}
BOOLEANS = {"tcpstate.midstream", "tcpstate.icmp_quoted"}


def format_expect(capture_name, how, rows, filters=(), fields=FIELDS):
    """rows: one dict {field: value or None} per frame, in frame order."""
    out = ["# Expectations for %s" % capture_name, "# how: %s" % how,
           "\t".join(["frame"] + list(fields))]
    for n, row in enumerate(rows, 1):
        unknown = set(row) - set(fields)
        if unknown:
            raise ValueError("frame %d: fields not in the header: %s" % (n, sorted(unknown)))
        cells = [str(n)]
        for f in fields:
            v = row.get(f)
            cells.append("-" if v is None or v == "" else str(v))
        out.append("\t".join(cells))
    for flt, count in filters:
        if "\t" in flt:
            raise ValueError("a tab in filter %r" % flt)
        out.append("filter\t%s\t%d" % (flt, count))
    return "\n".join(out) + "\n"


def parse_expect(path):
    """(fields, rows, filters): rows is a list of {field: str or None} in
    frame order (frame numbers checked), filters a list of (filter, count)."""
    fields, rows, filters = None, [], []
    with open(path, encoding="utf-8") as fp:
        for lineno, line in enumerate(fp, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            cells = line.split("\t")
            if fields is None:
                if cells[0] != "frame":
                    raise ValueError("%s:%d: header must start with 'frame'" % (path, lineno))
                fields = cells[1:]
                continue
            if cells[0] == "filter":
                if len(cells) != 3:
                    raise ValueError("%s:%d: want filter<TAB>expr<TAB>count" % (path, lineno))
                filters.append((cells[1], int(cells[2])))
                continue
            if len(cells) != len(fields) + 1:
                raise ValueError("%s:%d: %d cells, header has %d" % (path, lineno, len(cells),
                                                                     len(fields) + 1))
            if int(cells[0]) != len(rows) + 1:
                raise ValueError("%s:%d: frame %s out of order" % (path, lineno, cells[0]))
            rows.append({f: (None if v == "-" else v) for f, v in zip(fields, cells[1:])})
    if fields is None:
        raise ValueError("%s: no header" % path)
    return fields, rows, filters


def label_maps(tshark):
    """{field: {label: number string}} for the labelled fields; a label is
    also known by its first word ('both' for 'both (simultaneous close)')."""
    maps = {}
    for field, vals in tshark.values().items():
        m = {}
        for num, label in vals.items():
            m[label] = num
            m.setdefault(label.split()[0], num)
        maps[field] = m
    return maps


def check_capture(tshark, capture, expect_path=None, maps=None):
    """Differences between the plugin's output on capture and its .expect
    file, as a list of strings (empty: all as expected)."""
    if expect_path is None:
        expect_path = os.path.splitext(capture)[0] + ".expect"
    if maps is None:
        maps = label_maps(tshark)
    fields, rows, filters = parse_expect(expect_path)
    name = os.path.basename(capture)
    errors = []
    got = tshark.fields(capture, fields)
    if len(got) != len(rows):
        errors.append("%s: %d frames, expected %d" % (name, len(got), len(rows)))
    for want, have in zip(rows, got):
        frame = have[0]
        for f, w, h in zip(fields, [want[f] for f in fields], have[1:]):
            if w is None:
                if h != "":
                    errors.append("%s frame %s: %s = %s, expected absent" % (name, frame, f, h))
                continue
            if f in LABELLED:
                nums = []
                for label in w.split(","):
                    if label not in maps.get(f, {}):
                        errors.append("%s frame %s: %s: unknown label %r" % (name, frame, f, label))
                    nums.append(maps.get(f, {}).get(label, "?"))
                want_raw = ",".join(nums)
            elif f in BOOLEANS:
                want_raw = w
                if h in ("True", "TRUE", "true"):
                    h = "1"
            else:
                want_raw = w
            if h != want_raw:
                errors.append("%s frame %s: %s = %s, expected %s (%s)" % (name, frame, f, h or "absent",
                                                                        want_raw, w))
    for flt, count in filters:
        proc = tshark.run(["-T", "fields", "-e", "frame.number", "-Y", flt], capture=capture,
                          check=False)
        if proc.returncode != 0:
            errors.append("%s: filter %r: tshark failed: %s" % (name, flt, proc.stderr.strip()))
            continue
        n = len(proc.stdout.splitlines())
        if n != count:
            errors.append("%s: filter %r matches %d frames, expected %d" % (name, flt, n, count))
    return errors
