#!/usr/bin/env python3
"""A one-node Redis Cluster stand-in for the feeder (tests/integration/cluster_feed_refused.sh).

redis_refusing.py PORT_FILE REPORT FIRST COUNT

Serves every slot (CLUSTER SLOTS names a replica too, so the feeder WAITs; with
DM_STANDIN_SLOTS_REPLICA=0 it names none, as a node does for a second after a cluster is made,
and only ROLE tells of the replica), keeps SET/GET
values and XADD entries, and answers the XADDs number FIRST .. FIRST + COUNT - 1 (counted from
1 over the run) with CLUSTERDOWN without storing them, as a live master does between a failover's
start and its end. When the feeder says the barrier count (SET ...:barriers), REPORT gets, per
stream, what a worker reading it applies (copies skipped, a batch ahead of the next skipped,
src/cluster/rbus.c apply_batch): the barriers it sees in order, checked against 0 .. count - 1.
"""
import os
import socket
import struct
import sys
import threading

port_file, report, first, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
lock = threading.Lock()
values = {}
streams = {}        # key -> [(n, batch bytes)] in stored order
xadds = [0]
refused = [0]
seq = [0]
waits = [0]
slots_replica = os.environ.get("DM_STANDIN_SLOTS_REPLICA", "1") != "0"


def enc(v):
    if v is None:
        return b"$-1\r\n"
    if isinstance(v, int):
        return b":%d\r\n" % v
    if isinstance(v, (bytes, str)):
        v = v if isinstance(v, bytes) else v.encode()
        return b"$%d\r\n%s\r\n" % (len(v), v)
    return b"*%d\r\n" % len(v) + b"".join(enc(x) for x in v)


def read_cmd(f):
    line = f.readline()
    if not line:
        return None
    assert line[:1] == b"*", line
    args = []
    for _ in range(int(line[1:])):
        n = int(f.readline()[1:])
        args.append(f.read(n + 2)[:-2])
    return args


def barriers(batch):
    """The barrier sequence numbers of a batch (each message a 4-byte length and its bytes)."""
    out, at = [], 0
    while at + 4 <= len(batch):
        n = struct.unpack(">I", batch[at:at + 4])[0]
        m = batch[at + 4:at + 4 + n]
        if m[:1] == b"B":
            out.append(struct.unpack(">I", m[1:5])[0])
        at += 4 + n
    return out


def write_report(nbarriers):
    lines, bad = [], 0
    for key in sorted(streams):
        last, seen, ahead = 0, [], 0
        for n, batch in streams[key]:
            if n <= last:
                continue
            if n > last + 1:
                ahead += 1
                continue
            last = n
            seen.extend(barriers(batch))
        ok = seen == list(range(nbarriers))
        bad += not ok
        missing = sorted(set(range(nbarriers)) - set(seen))
        lines.append("%s %s: %d entries, %d batches applied, %d ahead skipped, %d barriers seen%s" % (
            "ok" if ok else "BAD", key.decode(), len(streams[key]), last, ahead, len(seen),
            "" if ok else ", missing %s" % missing[:5]))
    with open(report, "w") as f:
        f.write("%d xadds, %d refused, %d barriers, %d streams bad, %d waits\n" % (
            xadds[0], refused[0], nbarriers, bad, waits[0]))
        f.write("\n".join(lines) + "\n")


def serve(conn):
    f = conn.makefile("rb")
    while True:
        args = read_cmd(f)
        if args is None:
            return
        cmd = args[0].upper()
        with lock:
            if cmd == b"CLUSTER" and args[1].upper() == b"SLOTS":
                me = [b"127.0.0.1", port, b"a" * 40]
                out = enc([[0, 16383, me] + ([[b"127.0.0.1", port, b"b" * 40]] if slots_replica else [])])
            elif cmd == b"ROLE":
                out = enc([b"master", 100, [[b"127.0.0.1", b"%d" % port, b"100"]]])
            elif cmd == b"XADD":
                xadds[0] += 1
                if first <= xadds[0] < first + count:
                    refused[0] += 1
                    out = b"-CLUSTERDOWN The cluster is down\r\n"
                else:
                    seq[0] += 1
                    fields = dict(zip(args[3::2], args[4::2]))
                    streams.setdefault(args[1], []).append((int(fields.get(b"n", b"0")), fields.get(b"b", b"")))
                    out = enc(b"1-%d" % seq[0])
            elif cmd == b"WAIT":
                waits[0] += 1
                out = enc(1)
            elif cmd == b"GET":
                out = enc(values.get(args[1]))
            elif cmd == b"SET":
                values[args[1]] = args[2]
                if args[1].endswith(b":barriers"):
                    write_report(int(args[2]))
                out = b"+OK\r\n"
            else:
                out = b"+OK\r\n"
        conn.sendall(out)


s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
port = s.getsockname()[1]
with open(port_file + ".tmp", "w") as f:
    f.write("%d\n" % port)
os.rename(port_file + ".tmp", port_file)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
