#!/usr/bin/env python3
"""Hand-built TABLE_DUMP_V2 files whose PEER_INDEX_TABLE is damaged in one way each, with the
lines and errors `darkmap dump -m` must give, computed here from what was written (not from any
decoder's output). Usage: damaged_pit.py DIR  ->  DIR/CASE.mrt, DIR/CASE.out, DIR/CASE.err

Every file: a table of 3 peers (198.51.100.1-3, AS 64500-64502, 4-byte AS), then RIB records of
203.0.113.0/24 (peers 0, 1, 2), 203.0.114.0/24 (peers 2 and 5: 5 is in no table) and
203.0.115.0/24 (peers 0, 1). The damage:
  count  peer count 3 -> 1 (one bit): the 3 entries fill the table exactly: read 3
  big    peer count 3 -> 7: the content holds exactly 3: read 3
  vlen   view name length 2 -> 66 (one bit): with length 2 the count and its 3 peers fill the rest
  trunc  the table cut inside peer 2 (its length says so): peers 0 and 1 kept, 2 reported per entry
  zero   a zero run from peer 2's address over the first RIB record's header: peer 2 is not used
         (its address lies in the run), the first RIB record is skipped
  type   type 13 -> 5 (one bit): the content is exactly a table and RIB records follow
  time   the table stamped 0xFFFFFFFF: a time that cannot be real, but a table's time names
         nothing: read with the next record's time
"""
import os
import struct
import sys

TS = 1418428800


def hdr(t, st, body):
    return struct.pack(">IHHI", TS, t, st, len(body)) + body


def peer(i):
    return bytes([2, 10, 0, 0, i + 1, 198, 51, 100, i + 1]) + struct.pack(">I", 64500 + i)


def pit_body(count, npeers, vlen=2):
    return bytes([10, 0, 0, 1]) + struct.pack(">H", vlen) + b"v1" + struct.pack(">H", count) + \
        b"".join(peer(i) for i in range(npeers))


ATTRS = bytes([0x40, 1, 1, 0, 0x40, 2, 6, 2, 1]) + struct.pack(">I", 64500) + bytes([0x40, 3, 4, 192, 0, 2, 1])
RIBS = [((203, 0, 113), [0, 1, 2]), ((203, 0, 114), [2, 5]), ((203, 0, 115), [0, 1])]


def rib(seq):
    pfx, entries = RIBS[seq]
    b = struct.pack(">I", seq) + bytes([24]) + bytes(pfx) + struct.pack(">H", len(entries))
    for p in entries:
        b += struct.pack(">HIH", p, TS, len(ATTRS)) + ATTRS
    return hdr(13, 2, b)


def line(p, seq):
    return "TABLE_DUMP2|%d|B|198.51.100.%d|%d|%d.%d.%d.0/24|64500|IGP|192.0.2.1|0|0||NAG||" % (
        TS, p + 1, 64500 + p, *RIBS[seq][0])


def entry_off(start, seq, k):
    """File offset of entry k of RIB record seq starting at file offset start."""
    return start + 12 + 4 + 1 + 3 + 2 + k * (8 + len(ATTRS))


def case(name):
    out, errs = [], []
    if name == "type":
        table = struct.pack(">IHHI", TS, 5, 1, len(pit_body(3, 3))) + pit_body(3, 3)
    elif name == "count":
        table = hdr(13, 1, pit_body(1, 3))
    elif name == "big":
        table = hdr(13, 1, pit_body(7, 3))
    elif name == "vlen":
        table = hdr(13, 1, pit_body(3, 3, vlen=66))
    elif name == "trunc":
        table = hdr(13, 1, pit_body(3, 3)[:-8])
    elif name == "time":
        table = b"\xff\xff\xff\xff" + hdr(13, 1, pit_body(3, 3))[4:]
    else:
        table = hdr(13, 1, pit_body(3, 3))
    data = table + rib(0)
    starts = [len(table), len(data)]
    data += rib(1)
    starts.append(len(data))
    data += rib(2)
    known = {"trunc": 2, "zero": 2}.get(name, 3)
    declared = {"big": 7}.get(name, 3)
    if name == "zero":
        z0 = 12 + 10 + 2 * 13 + 5                 # peer 2's address
        data = bytearray(data)
        data[z0:starts[0] + 20] = bytes(starts[0] + 20 - z0)
        data = bytes(data)
    # the table's own error: (file offset of the damaged field or peer, message)
    count_msg = "PEER_INDEX_TABLE: peer count %d contradicts the content, which holds exactly 3 peers: read as the content says"
    table_err = {
        "count": (20, count_msg % 1),
        "big": (20, count_msg % 7),
        "vlen": (16, "PEER_INDEX_TABLE: view name length 66 contradicts the content, which holds exactly 3 peers "
                     "after a view name of 2 bytes: read as the content says"),
        "trunc": (48, "PEER_INDEX_TABLE: peer 2 of 3 truncated"),
        "zero": (48, "PEER_INDEX_TABLE: peer 2 of 3 lies in a zero run that goes on into the damage after the record: "
                     "not used"),
        "time": (0, "TABLE_DUMP_V2/PEER_INDEX_TABLE record time 4294967295 (2106-02-07 06:28:15 UTC) cannot be real: "
                    "read with the next record's time %d (a table's time names nothing)" % TS),
        "type": (4, "MRT type 5 (BGP) record is exactly a TABLE_DUMP_V2/PEER_INDEX_TABLE of its length 49 and "
                    "TABLE_DUMP_V2 RIB records follow: read as the PEER_INDEX_TABLE"),
    }[name]
    errs.append("offset %d: %s" % table_err)
    for seq in range(3):
        if name == "zero" and seq == 0:
            continue                              # the record whose header the run covers
        for k, p in enumerate(RIBS[seq][1]):
            if p < known:
                out.append(line(p, seq))
            elif p < declared:
                errs.append("offset %d: RIB entry %d of %d: peer index %d: its PEER_INDEX_TABLE entry was damaged "
                            "(%d of %d peers readable)" % (entry_off(starts[seq], seq, k), k, len(RIBS[seq][1]), p,
                                                           known, declared))
            else:
                errs.append("offset %d: RIB entry %d of %d: peer index %d not in PEER_INDEX_TABLE (%d peers)" % (
                    entry_off(starts[seq], seq, k), k, len(RIBS[seq][1]), p, known))
    return data, out, errs


def main():
    d = sys.argv[1]
    for name in ("count", "big", "vlen", "trunc", "zero", "type", "time"):
        data, out, errs = case(name)
        with open(os.path.join(d, name + ".mrt"), "wb") as f:
            f.write(data)
        with open(os.path.join(d, name + ".out"), "w") as f:
            f.write("".join(x + "\n" for x in out))
        with open(os.path.join(d, name + ".err"), "w") as f:
            f.write("".join(x + "\n" for x in errs))


if __name__ == "__main__":
    main()
