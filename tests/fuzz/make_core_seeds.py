#!/usr/bin/python3
"""Write the seed inputs of fuzz_core (tests/fuzz/core-seeds/): whole
connections in fuzz_core.c's 16-byte segment format, so that libFuzzer
starts from handshakes and closes instead of finding them.

    /usr/bin/python3 tests/fuzz/make_core_seeds.py [--check]
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "core-seeds")
# indexes into fuzz_core.c's common_flags[]
SYN, SYNACK, ACK, PSHACK, FINACK, RST, RSTACK = range(7)


def seg(conn, from_b, flags, length=0, seq=0x1000, ack=0x2000, win=0xFFFF):
    """Expected sequence and acknowledgement numbers (modes 0/0); seq and
    ack are only used for a side's first segment."""
    d0 = conn | (from_b << 2)
    d12 = 0x80 | length if length else 0
    return struct.pack(">BBBBIIB", d0, 0x80, flags, 0, seq, ack, d12) + win.to_bytes(3, "big")


A, B = 0, 1
CONNECTIONS = {
    "four_segment_close": [seg(0, A, SYN), seg(0, B, SYNACK), seg(0, A, ACK),
                           seg(0, A, PSHACK, 10), seg(0, B, ACK), seg(0, A, FINACK),
                           seg(0, B, ACK), seg(0, B, FINACK), seg(0, A, ACK)],
    "refused": [seg(1, A, SYN), seg(1, B, RSTACK)],
    "simultaneous_open": [seg(2, A, SYN), seg(2, B, SYN), seg(2, A, SYNACK),
                          seg(2, B, SYNACK), seg(2, A, ACK), seg(2, B, ACK)],
    "three_segment_close_and_reset": [
        seg(3, A, SYN), seg(3, B, SYNACK), seg(3, A, ACK), seg(3, A, FINACK),
        seg(3, B, FINACK), seg(3, A, ACK),
        seg(1, A, SYN), seg(1, B, SYNACK), seg(1, A, ACK), seg(1, B, PSHACK, 3),
        seg(1, A, RST)],
}


def main():
    check = "--check" in sys.argv[1:]
    os.makedirs(SEEDS, exist_ok=True)
    stale = []
    for name, segs in CONNECTIONS.items():
        path = os.path.join(SEEDS, name)
        data = b"".join(segs)
        if check:
            if not os.path.exists(path) or open(path, "rb").read() != data:
                stale.append(name)
        else:
            with open(path, "wb") as f:
                f.write(data)
    if stale:
        sys.exit("stale seeds (run make_core_seeds.py): " + ", ".join(stale))


if __name__ == "__main__":
    main()
