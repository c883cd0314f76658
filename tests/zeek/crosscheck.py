#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Cross-check plugin/core/zeek.c against Zeek's own test baselines.

For every trace of the corpus (default ../shared/corpus/zeek, or
$TCPSTATE_CORPUS/zeek, or --corpus DIR), extract the TCP segments with
tshark, replay them through zeek_replay (tests/zeek/zeek_replay.c, built
here if --replay is not given), match the resulting Zeek connections to
EXPECTED.tsv by 4-tuple (orig/resp; in order when a 4-tuple repeats) and
print the agreement for conn_state and history, and every disagreement.

Exit status: 0 if agreement >= --min-state (99) and --min-history (95)
percent, 1 otherwise, 77 (skip) if the corpus or tshark is missing.
"""
import argparse
import collections
import csv
import ipaddress
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# likely_server_ports of "zeek -b" runs: the TCP ports of the analyzers the
# test script @loads (scripts/base/protocols/<p>/main.zeek, plus the test's
# own redefs).  Runs without -b load all of base/ and use zeek.c's default.
PORTS_BY_PROTO = {
    'http': [80, 81, 631, 1080, 3128, 8000, 8080, 8888],
    'ftp': [21, 2811],
    'ssh': [22],
    'dns': [53],
    'redis': [6379],
}
BARE_RUN_LOADS = {   # trace -> protocols @loaded by its btest (zeek -b)
    'chksums_localhost-bad-chksum.pcap': [],
    'ftp_ipv4.pcap': ['ftp'],
    'ftp_ipv6.pcap': ['ftp'],
    'http_get.pcap': ['http'],
    'mixed-vlan-mpls.pcap': ['http'],
    'pop3_pop3.pcap': [],
    'redis_django-cloud.pcapng': ['redis', 10625],
    'tcp_fin_retransmission.pcap': [],
    'tcp_miss_end_data.pcap': ['http'],
    'tcp_missing-syn.pcap': ['http'],
    'tcp_retransmit-timeout.pcapng': [],
    'tcp_rst-inject-rae.pcap': [],
    'tcp_single-rst.pcap': [],
    'tcp_syn-bad.pcap': [],
    'tcp_syn-then-ack-then-rst.pcap': [],
    'tcp_syn-then-rst.pcap': [],
    'tcp_syn-then-stuff-then-rst.pcap': [],
    'tunnels_Teredo.pcap': ['http', 'dns'],
    'tunnels_ayiya3.pcap': ['http'],
    'tunnels_gre-sample.pcap': ['dns', 'ssh'],
    'tunnels_gtp_gtp2_different_udp_port.pcap': ['http'],
    'tunnels_vxlan-encapsulated-http.pcap': ['http'],
}
TSHARK_EXTRA = {
    'tunnels_Teredo.pcap': ['-d', 'udp.port==32900,teredo'],
}

# Further Zeek baselines of the same traces, run with other options (from
# ALL_TCP_BASELINES.tsv; rows copied from the baseline file named):
# (trace, zeek_replay arguments, [(orig_h, orig_p, resp_h, resp_p, conn_state, history)...])
VARIANTS = [
    # Baseline/core.checksums_ignore_nets/conn-failed.log:
    #   zeek -b -r chksums/localhost-bad-chksum.pcap (checksums verified)
    ('chksums_localhost-bad-chksum.pcap', ['-p', 'none'],
     [('192.168.1.28', '53246', '35.221.46.9', '80', 'OTH', 'C'),
      ('35.221.46.9', '80', '192.168.1.28', '53246', 'SH', 'HcADF')]),
    # Baseline/core.expire-all-timers/conn-all.log:
    #   zeek -b -C -r tcp/retransmit-timeout.pcapng max_timer_expires=0 (timers not starved)
    ('tcp_retransmit-timeout.pcapng', ['-C', '-p', 'none'],
     [('10.0.0.1', '51889', '192.168.0.1', '80', 'OTH', 'Da'),
      ('10.0.0.1', '51889', '192.168.0.1', '80', 'OTH', 'D')]),
]

FIELDS = ['frame.protocols', 'frame.time_epoch', 'tcp.stream',
          'ip.src', 'ipv6.src', 'ip.dst', 'ipv6.dst', 'tcp.srcport', 'tcp.dstport',
          'tcp.flags', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.len', 'tcp.window_size_value',
          'tcp.checksum.status', 'frame.len', 'frame.cap_len',
          'ip.len', 'ip.hdr_len', 'tcp.hdr_len']


def norm_addr(a):
    try:
        return ipaddress.ip_address(a).compressed
    except ValueError:
        return a


# Wireshark 4.2 and later call a TCP checksum that covers only the pseudo
# header ("partial", left so by checksum offload) Good and mark it with this
# expert field; Zeek, like Wireshark 4.0, calls it bad.  4.0 has no such field.
PARTIAL_CKSUM = 'tcp.checksum.partial'
_has_field = {}


def has_field(tshark, name):
    if name not in _has_field:
        out = subprocess.run([tshark, '-G', 'fields'], check=True, capture_output=True,
                             text=True).stdout
        _has_field[name] = ('\t%s\t' % name) in out
    return _has_field[name]


def segments(tshark, pcap, extra, zeek_lengths=False):
    """The trace's TCP segments as zeek_replay input lines."""
    cmd = [tshark, '-n', '-r', pcap, '-o', 'tcp.check_checksum:TRUE',
           '-o', 'tcp.relative_sequence_numbers:FALSE', '-Y', 'tcp'] + extra + \
          ['-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=;']
    fields = FIELDS + ([PARTIAL_CKSUM] if has_field(tshark, PARTIAL_CKSUM) else [])
    for f in fields:
        cmd += ['-e', f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    lines = []
    for row in out.splitlines():
        v = dict(zip(fields, row.split('\t')))
        protos = v['frame.protocols'].split(':')
        if 'tcp' not in protos:
            continue
        before = protos[:protos.index('tcp')]
        if 'icmp' in before or 'icmpv6' in before:
            continue            # a TCP header quoted in an ICMP error
        ipver = [p for p in before if p in ('ip', 'ipv6')]
        if not ipver and 'mpls' in before:
            # Wireshark 4.4 dissects IP under MPLS without listing it in
            # frame.protocols (eth:...:mpls:tcp); the ip.* fields are there.
            ipver = [f for f in ('ip', 'ipv6') if v[f + '.src']]
        if not ipver:
            continue
        fam = ipver[-1]         # innermost IP layer carrying the TCP
        src = v[fam + '.src'].split(';')[-1]
        dst = v[fam + '.dst'].split(';')[-1]

        def last(name):
            return v[name].split(';')[-1]
        tlen = int(last('tcp.len') or 0)
        trunc = 1 if tlen > 0 and int(v['frame.cap_len']) < int(v['frame.len']) else 0
        cksum = last('tcp.checksum.status') or '2'
        if v.get(PARTIAL_CKSUM):
            cksum = '0'         # partial checksum: bad to Zeek (see PARTIAL_CKSUM)
        if trunc:
            cksum = '2'         # Zeek verifies only fully captured segments
        if fam == 'ip' and v['ip.len']:
            # Zeek takes the payload length from the IPv4 header; when that
            # claims more than the frame carries (e.g. the IP length runs
            # past a PPPoE payload into Ethernet padding) Zeek neither
            # verifies the checksum nor has the payload.
            iplen = int(last('ip.len')) - int(last('ip.hdr_len')) - int(last('tcp.hdr_len'))
            if iplen > tlen:
                cksum = '2'
                if zeek_lengths:
                    tlen, trunc = iplen, 1
        lines.append('\t'.join([last('tcp.stream'), v['frame.time_epoch'], norm_addr(src),
                                last('tcp.srcport'), norm_addr(dst), last('tcp.dstport'),
                                last('tcp.flags'), last('tcp.seq_raw'), last('tcp.ack_raw'),
                                str(tlen), last('tcp.window_size_value'), cksum, str(trunc)]))
    return lines


def replay_args(fname, zeek_cmd):
    args = []
    if ' -C ' in ' ' + zeek_cmd + ' ':
        args.append('-C')
    if 'ignore_checksums_nets += {192.168.0.0/16}' in zeek_cmd:
        args += ['-i', '192.168.']
    if ' -b ' in ' ' + zeek_cmd + ' ':
        ports = []
        for p in BARE_RUN_LOADS.get(fname, []):
            ports += PORTS_BY_PROTO[p] if isinstance(p, str) else [p]
        args += ['-p', ','.join(map(str, ports)) if ports else 'none']
    return args


def build_replay(tmp):
    exe = os.path.join(tmp, 'zeek_replay')
    cc = os.environ.get('CC', 'cc')
    subprocess.run([cc, '-std=c99', '-O2', '-Wall', '-I', os.path.join(ROOT, 'plugin', 'core'),
                    '-o', exe, os.path.join(HERE, 'zeek_replay.c'),
                    os.path.join(ROOT, 'plugin', 'core', 'zeek.c')], check=True)
    return exe


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--corpus', help='directory holding EXPECTED.tsv and the traces')
    ap.add_argument('--replay', help='zeek_replay executable (default: build one)')
    ap.add_argument('--tshark', default=shutil.which('tshark'))
    ap.add_argument('--min-state', type=float, default=99.0)
    ap.add_argument('--min-history', type=float, default=95.0)
    ap.add_argument('--zeek-lengths', action='store_true',
                    help="payload lengths from the IPv4 header, as Zeek reads them, instead of "
                         "Wireshark's tcp.len (the plugin sees tcp.len)")
    ap.add_argument('--per-trace', action='store_true', help='a Markdown table per trace')
    ap.add_argument('-q', '--quiet', action='store_true', help='only the summary')
    a = ap.parse_args()

    corpus = a.corpus or os.path.join(os.environ.get('TCPSTATE_CORPUS',
                                                     os.path.join(ROOT, '..', 'shared', 'corpus')),
                                      'zeek')
    expected_path = os.path.join(corpus, 'EXPECTED.tsv')
    if not os.path.exists(expected_path) or not a.tshark:
        print('SKIP: no corpus (%s) or no tshark' % expected_path)
        return 77

    with open(expected_path) as fh:
        expected = list(csv.DictReader(fh, delimiter='\t'))
    by_file = collections.OrderedDict()
    for r in expected:
        by_file.setdefault(r['file'], []).append(r)

    tmp = tempfile.mkdtemp(prefix='zeekxc')
    try:
        replay = a.replay or build_replay(tmp)
        n_state = ok_state = n_hist = ok_hist = 0
        disagreements = []
        extras = []
        per_trace = []
        for fname, rows in by_file.items():
            t_state = t_hist = t_nhist = 0
            pcap = os.path.join(corpus, fname)
            lines = segments(a.tshark, pcap, TSHARK_EXTRA.get(fname, []), a.zeek_lengths)
            args = replay_args(fname, rows[0]['zeek_cmd'])
            res = subprocess.run([replay] + args, input='\n'.join(lines) + '\n',
                                 capture_output=True, text=True, check=True).stdout
            ours = []
            for line in res.splitlines():
                s, oh, op, rh, rp, state, hist, start = line.split('\t')
                ours.append({'stream': s, 'key': (oh, op, rh, rp), 'state': state,
                             'history': hist, 'start': int(start), 'used': False})
            ours.sort(key=lambda o: o['start'])
            for r in rows:
                key = (norm_addr(r['orig_h']), r['orig_p'], norm_addr(r['resp_h']), r['resp_p'])
                rkey = (key[2], key[3], key[0], key[1])
                match = next((o for o in ours if not o['used'] and o['key'] == key), None)
                note = ''
                if match is None:
                    match = next((o for o in ours if not o['used'] and o['key'] == rkey), None)
                    note = 'roles reversed' if match else 'no such connection'
                if match:
                    match['used'] = True
                got_state = match['state'] if match and not note else '-'
                got_hist = match['history'] if match and not note else '-'
                n_state += 1
                state_ok = got_state == r['conn_state']
                ok_state += state_ok
                t_state += state_ok
                hist_known = r['history'] not in ('', '-')
                hist_ok = True
                if hist_known:
                    n_hist += 1
                    t_nhist += 1
                    hist_ok = got_hist == r['history']
                    ok_hist += hist_ok
                    t_hist += hist_ok
                if not (state_ok and hist_ok):
                    disagreements.append((fname, '%s:%s > %s:%s' % key, r['conn_state'], r['history'],
                                          got_state, got_hist,
                                          (note + ' ' if note else '') +
                                          ('stream %s' % match['stream'] if match else '')))
            per_trace.append((fname, len(rows), t_state, t_nhist, t_hist))
            for o in ours:
                if not o['used']:
                    extras.append((fname, '%s:%s > %s:%s' % o['key'], o['state'], o['history'],
                                   'stream ' + o['stream']))
        variant_bad = []
        for fname, args, rows in VARIANTS:
            lines = segments(a.tshark, os.path.join(corpus, fname), TSHARK_EXTRA.get(fname, []),
                             a.zeek_lengths)
            res = subprocess.run([replay] + args, input='\n'.join(lines) + '\n',
                                 capture_output=True, text=True, check=True).stdout
            got = sorted((line.split('\t') for line in res.splitlines()), key=lambda f: int(f[7]))
            got = [tuple(f[1:7]) for f in got]
            if got != rows:
                variant_bad.append((fname, args, rows, got))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    ps = 100.0 * ok_state / n_state if n_state else 0.0
    ph = 100.0 * ok_hist / n_hist if n_hist else 0.0
    print('conn_state agreement: %d/%d = %.1f%%' % (ok_state, n_state, ps))
    print('history agreement:    %d/%d = %.1f%% (rows with a known history)' % (ok_hist, n_hist, ph))
    print('other baselines:      %d/%d traces agree (VARIANTS)' % (len(VARIANTS) - len(variant_bad),
                                                                 len(VARIANTS)))
    for fname, args, rows, got in variant_bad:
        print('  %s %s: expected %s, got %s' % (fname, ' '.join(args), rows, got))
    if a.per_trace:
        print('\n| trace | rows | conn_state | history |\n|---|---:|---:|---:|')
        for fname, n, st, nh, hk in per_trace:
            print('| %s | %d | %d | %s |' % (fname, n, st, '%d/%d' % (hk, nh) if nh != n else hk))
    if not a.quiet:
        if disagreements:
            print('\ndisagreements (file, 4-tuple, expected state/history, got state/history):')
            for d in disagreements:
                print('  %s  %s  expected %s %s  got %s %s  %s' % d)
        if extras:
            print('\nZeek connections emulated but absent from EXPECTED.tsv:')
            for e in extras:
                print('  %s  %s  %s %s  %s' % e)
    return 0 if ps >= a.min_state and ph >= a.min_history and not variant_bad else 1


if __name__ == '__main__':
    sys.exit(main())
