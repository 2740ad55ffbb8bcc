#!/usr/bin/env python3
"""Hand-built BGP4MP records, one per RFC 7606 class of malformed attribute, and what every darkmap
output must say for them, computed here from what was written (not from a decoder's output):
  python3 rfc7606.py DIR  ->  DIR/r.mrt, DIR/r.m (dump -m), DIR/r.M (dump -M), DIR/r.json (--json),
                              DIR/r.err (the error lines, "offset N: what")
The rule (docs/dump.md "Malformed attributes: RFC 7606"): an UPDATE whose worst malformed
attribute asks for treat-as-withdraw, AFI/SAFI disable or session reset has its announcements
withdrawn (W lines and W elements, after its own withdrawals, in the order of the A lines they
replace); an attribute whose error asks for attribute discard is absent, the routes stand.
Every record: BGP4MP MESSAGE_AS4 from peer 10.0.0.1 AS 64500 (to 10.0.0.2 AS 64501)."""
import calendar
import os
import struct
import sys
import time

T = 1400000100
PEER, PAS = "10.0.0.1", 64500


def u8(v): return struct.pack("!B", v)
def u16(v): return struct.pack("!H", v)
def u32(v): return struct.pack("!I", v)
def ip4(s): return bytes(int(x) for x in s.split("."))


def attr(t, data, flags=0x40):
    return u8(flags) + u8(t) + u8(len(data)) + data


def pfx4(s):
    a, n = s.split("/")
    n = int(n)
    return u8(n) + ip4(a)[:(n + 7) // 8]


def update(withdrawn=b"", attrs=b"", nlri=b""):
    body = u16(len(withdrawn)) + withdrawn + u16(len(attrs)) + attrs + nlri
    return b"\xff" * 16 + u16(19 + len(body)) + u8(2) + body


SESSION = 8 + 2 + 2 + 4 + 4   # AS4 peer/local AS, ifindex, AFI, two IPv4 addresses


def record(ts, msg, subtype=4, as2=False):
    if as2:
        body = u16(PAS) + u16(64501) + u16(0) + u16(1) + ip4(PEER) + ip4("10.0.0.2") + msg
    else:
        body = u32(PAS) + u32(64501) + u16(0) + u16(1) + ip4(PEER) + ip4("10.0.0.2") + msg
    return u32(ts) + u16(16) + u16(subtype) + u32(len(body)) + body


ORIGIN = attr(1, u8(0))
PATH = attr(2, u8(2) + u8(2) + u32(64500) + u32(65001))
NH = attr(3, ip4("10.0.0.1"))


def m_time(ts):
    return time.strftime("%m/%d/%y %H:%M:%S", time.gmtime(ts))


# (name, ts, message, session 2-byte?, announced-or-withdrawn prefixes, kind, a-line fields, error)
# kind "W": every prefix of the UPDATE is a withdrawal; "A": announced with the given fields.
CASES = []


def case(name, msg, prefixes, kind, path="64500 65001", origin="IGP", nh="10.0.0.1", aggr="", atomic="NAG",
         err=None, err_at=None, as2=False, origin_asn=65001):
    CASES.append(dict(name=name, msg=msg, prefixes=prefixes, kind=kind, path=path, origin=origin, nh=nh,
                      aggr=aggr, atomic=atomic, err=err, err_at=err_at, as2=as2, origin_asn=origin_asn))


# treat-as-withdraw (§7.1 ORIGIN value 5; §7.2 AS_PATH segment overrun; §7.3 NEXT_HOP of 5 bytes;
# §7.8 COMMUNITIES of 5 bytes)
bad_origin = attr(1, u8(5))
case("origin", update(attrs=bad_origin + PATH + NH, nlri=pfx4("10.1.0.0/16") + pfx4("10.1.1.0/24")),
     ["10.1.0.0/16", "10.1.1.0/24"], "W", err="BGP attribute ORIGIN: value 5 undefined (RFC 7606 treat-as-withdraw)",
     err_at=0)
bad_path = attr(2, u8(2) + u8(3) + u32(64500) + u32(65001))
case("as_path", update(attrs=ORIGIN + bad_path + NH, nlri=pfx4("10.2.0.0/16")), ["10.2.0.0/16"], "W",
     err="BGP attribute AS_PATH: segment of 3 ASNs needs 12 bytes, 8 left (RFC 7606 treat-as-withdraw)",
     err_at=len(ORIGIN) + 3)
bad_nh = attr(3, ip4("10.0.0.1") + b"\x00")
case("next_hop", update(withdrawn=pfx4("10.3.9.0/24"), attrs=ORIGIN + PATH + bad_nh, nlri=pfx4("10.3.0.0/16")),
     ["10.3.9.0/24", "10.3.0.0/16"], "W",
     err="BGP attribute NEXT_HOP: length 5, expected 4 (RFC 7606 treat-as-withdraw)",
     err_at=len(ORIGIN) + len(PATH))
bad_comm = attr(8, b"\x00\x01\x00\x02\x03", 0xc0)
case("communities", update(attrs=ORIGIN + PATH + NH + bad_comm, nlri=pfx4("10.4.0.0/16")), ["10.4.0.0/16"], "W",
     err="BGP attribute COMMUNITIES: length 5 is not a multiple of 4 (RFC 7606 treat-as-withdraw)",
     err_at=len(ORIGIN) + len(PATH) + len(NH))
# attribute discard (§7.6 ATOMIC_AGGREGATE of 1 byte; §7.7 AGGREGATOR of 5 bytes; RFC 6793 §6: a
# malformed AS4_PATH on a 2-byte session is ignored, the AS_PATH stands)
bad_atomic = attr(6, b"\x00")
case("atomic_aggregate", update(attrs=ORIGIN + PATH + NH + bad_atomic, nlri=pfx4("10.5.0.0/16")), ["10.5.0.0/16"],
     "A", err="BGP attribute ATOMIC_AGGREGATE: length 1, expected 0 (RFC 7606 attribute discard)",
     err_at=len(ORIGIN) + len(PATH) + len(NH))
bad_aggr = attr(7, u16(65001) + b"\x0a\x00\x00", 0xc0)
case("aggregator", update(attrs=ORIGIN + PATH + NH + bad_aggr, nlri=pfx4("10.6.0.0/16")), ["10.6.0.0/16"], "A",
     err="BGP attribute AGGREGATOR: length 5, expected 6 or 8 (RFC 7606 attribute discard)",
     err_at=len(ORIGIN) + len(PATH) + len(NH))
path2 = attr(2, u8(2) + u8(2) + u16(64500) + u16(23456))
bad_as4 = attr(17, u8(2) + u8(2) + u32(64500), 0xc0)
case("as4_path", update(attrs=ORIGIN + path2 + NH + bad_as4, nlri=pfx4("10.7.0.0/16")), ["10.7.0.0/16"], "A",
     path="64500 23456", origin_asn=23456, as2=True,
     err="BGP attribute AS4_PATH: segment of 2 ASNs needs 8 bytes, 4 left (RFC 7606 attribute discard)",
     err_at=len(ORIGIN) + len(path2) + len(NH) + 3)
# AFI/SAFI disable (§7.11: MP_REACH_NLRI next hop of 7 bytes, the NLRI cannot be located): the
# UPDATE's IPv4 NLRI are withdrawn with it
bad_mp = attr(14, u16(2) + u8(1) + u8(7) + b"\x20\x01\x0d\xb8\x00\x00\x01" + u8(0) + u8(48) +
              b"\x20\x01\x0d\xb8\x00\x08", 0x80)
case("mp_reach", update(attrs=ORIGIN + PATH + NH + bad_mp, nlri=pfx4("10.8.0.0/16")), ["10.8.0.0/16"], "W",
     err="BGP attribute MP_REACH_NLRI: next hop length 7 invalid for AFI 2 (RFC 7606 AFI/SAFI disable)",
     err_at=len(ORIGIN) + len(PATH) + len(NH) + 3)
# session reset (§5.3: a /33 in the NLRI field): the prefix before it is withdrawn
case("nlri", update(attrs=ORIGIN + PATH + NH, nlri=pfx4("10.9.0.0/16") + u8(33) + b"\x0a\x09\x00\x00\x00"),
     ["10.9.0.0/16"], "W", err="NLRI: prefix length 33 exceeds 32 (RFC 7606 session reset)",
     err_at=len(ORIGIN) + len(PATH) + len(NH) + 3)


def main():
    d = sys.argv[1]
    data = b""
    m, big_m, js, errs = [], [], [], []
    for i, c in enumerate(CASES):
        ts = T + i
        off = len(data)
        data += record(ts, c["msg"], subtype=1 if c["as2"] else 4, as2=c["as2"])
        sess = 4 + 2 + 2 + 4 + 4 if c["as2"] else SESSION
        # error offsets: where the attribute block starts (after the BGP header and withdrawn
        # routes) plus the attribute's own offset in it, or for NLRI errors the NLRI field
        wlen = struct.unpack("!H", c["msg"][19:21])[0]
        attrs_at = off + 12 + sess + 19 + 2 + wlen + 2
        if c["name"] == "nlri":
            alen = struct.unpack("!H", c["msg"][21 + wlen:23 + wlen])[0]
            at = attrs_at + alen + len(pfx4("10.9.0.0/16"))
        else:
            at = attrs_at + c["err_at"]
        errs.append("offset %d: %s" % (at, c["err"]))
        for p in c["prefixes"]:
            head = "BGP4MP|%d|%s|%s|%d|%s" % (ts, c["kind"], PEER, PAS, p)
            mhead = "BGP4MP|%s|%s|%s|%d|%s" % (m_time(ts), c["kind"], PEER, PAS, p)
            if c["kind"] == "W":
                m.append(head)
                big_m.append(mhead)
                js.append('{"type":"W","timestamp":%d.000000,"collector":"r.mrt","peer_address":"%s","peer_asn":%d,'
                          '"prefix":"%s"}' % (ts, PEER, PAS, p))
            else:
                m.append("%s|%s|%s|%s|0|0||%s|%s|" % (head, c["path"], c["origin"], c["nh"], c["atomic"], c["aggr"]))
                big_m.append("%s|%s|%s" % (mhead, c["path"], c["origin"]))
                js.append('{"type":"A","timestamp":%d.000000,"collector":"r.mrt","peer_address":"%s","peer_asn":%d,'
                          '"prefix":"%s","next_hop":"%s","as_path":"%s","origin_asns":[%d],"origin":"%s","med":null,'
                          '"local_pref":null,"communities":[],"extended_communities":[],"large_communities":[],'
                          '"aggregator":null,"atomic_aggregate":false}' % (ts, PEER, PAS, p, c["nh"], c["path"],
                                                                         c["origin_asn"], c["origin"]))
    with open(os.path.join(d, "r.mrt"), "wb") as f:
        f.write(data)
    for ext, lines in (("m", m), ("M", big_m), ("json", js), ("err", errs)):
        with open(os.path.join(d, "r." + ext), "w") as f:
            f.write("".join(x + "\n" for x in lines))


if __name__ == "__main__":
    main()
