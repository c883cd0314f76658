"""The folders of sensors the fleet tests run over."""

import os


def make_fleet(env, root):
    """Three sensors, seven chains, sixteen files:

      edge1/ring_0000N_*.pcap    editcap -c 400 of a tcpgen mix (6 files, from 00000)
      edge1/server_close.pcap    kernel capture: the server closes first
      edge1/notes.txt            not a capture: skipped
      edge2/cap_0000N_*.pcap     dumpcap's names (from 00001), mtimes against the order
      edge2/eth1/cookbook.pcap, edge2/eth1/interleaved.pcap   crafted, a subfolder
      edge3/ipv6_ext.pcap        IPv6 servers
      edge3/client_close.pcap    kernel capture: the client closes first

    Returns {"root", "whole": {chain output: the unsplit capture}}."""
    s = env.samples
    gen = env.tempdir("gen-")
    whole1 = env.gen(os.path.join(gen, "mix1.pcap"), "--packets", 2400, "--connections", 120,
                     "--seed", 3)
    whole2 = env.gen(os.path.join(gen, "mix2.pcap"), "--packets", 1200, "--connections", 60,
                     "--seed", 4, "--ipv6", 50)
    env.split(whole1, os.path.join(root, "edge1"), "ring", 400)
    env.capture(os.path.join(s, "kernel", "server_close.pcap"),
                os.path.join(root, "edge1", "server_close.pcap"))
    with open(os.path.join(root, "edge1", "notes.txt"), "w") as f:
        f.write("sensor edge1, rack 4\n")
    files = env.split(whole2, os.path.join(root, "edge2"), "cap", 400,
                      rename=lambda n, t: "cap_%05d_2025010112%02d00.pcap" % (n + 1, n))
    for i, path in enumerate(files):            # the newest mtime on the first file
        os.utime(path, (2000000000 - i * 60, 2000000000 - i * 60))
    for name in ("cookbook", "interleaved"):
        env.capture(os.path.join(s, "crafted", name + ".pcap"),
                    os.path.join(root, "edge2", "eth1", name + ".pcap"))
    env.capture(os.path.join(s, "adversarial", "ipv6_ext.pcap"),
                os.path.join(root, "edge3", "ipv6_ext.pcap"))
    env.capture(os.path.join(s, "kernel", "client_close.pcap"),
                os.path.join(root, "edge3", "client_close.pcap"))
    env.own(root)
    return {"root": root, "whole": {"records/edge1/ring.jsonl": whole1,
                                    "records/edge2/cap.jsonl": whole2}}


CHAINS = {  # output: number of files
    "records/edge1/ring.jsonl": 6,
    "records/edge1/server_close.jsonl": 1,
    "records/edge2/cap.jsonl": 3,
    "records/edge2/eth1/cookbook.jsonl": 1,
    "records/edge2/eth1/interleaved.jsonl": 1,
    "records/edge3/client_close.jsonl": 1,
    "records/edge3/ipv6_ext.jsonl": 1,
}
