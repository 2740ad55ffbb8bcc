#!/usr/bin/env python3
"""A tiny BGP speaker for the live tests, written from RFC 4271 (independent of darkmap's C code).

  bgp_peer.py announce --port P [--src 127.0.0.2] [--as 65001] [--id 10.0.0.2] ROUTE...
      ROUTE = PREFIX,ASPATH,NEXTHOP  e.g. 10.1.0.0/16,65001 65002,127.0.0.2 (IPv6 via MP_REACH)
      establishes, announces each route in its own UPDATE, sends End-of-RIB, holds the session
      for --hold seconds (keepalives answered), then closes with Cease/2.
  bgp_peer.py bad CASE --port P [--src ...] [--data]
      sends one malformed message (before or after establishing, per CASE) and prints the
      NOTIFICATION received as "CODE/SUBCODE" (or "none"), with --data followed by its data in hex.
      CASE max-prefix: announces 10.100.0.0/24, .1, .2, withdraws .1, announces .3, .0 again and
      .4: 4 routes held after the last (a collector limiting the peer to 3 must cut it there).
      CASE stall: half an UPDATE, then nothing (the hold timer must cut it).
  bgp_peer.py flood --port P [--src ...] --go FILE
      establishes, then sends UPDATEs (announce and withdraw of 1,000 prefixes, in turn) as fast
      as the socket takes them until FILE exists; ends with Cease/2; prints the UPDATEs sent.
  bgp_peer.py collide --port P --src ADDR --listen-port Q --id ID
      RFC 4271 §6.8: accepts the collector's connection on ADDR:Q and opens its own to the
      collector from ADDR; both get to OpenConfirm; prints "accepted=R connected=R", R the
      NOTIFICATION the collector sent on that connection ("6/7") or "up" for the survivor.
"""
import argparse
import ipaddress
import os
import socket
import struct
import sys
import time

MARKER = b"\xff" * 16


def msg(t, body=b"", length=None):
    n = 19 + len(body) if length is None else length
    return MARKER + struct.pack("!HB", n, t) + body


def open_body(asn, rid, hold=90, caps=None, version=4):
    if caps is None:
        caps = (b"\x01\x04\x00\x01\x00\x01" + b"\x01\x04\x00\x02\x00\x01" +
                b"\x41\x04" + struct.pack("!I", asn))
    params = b"\x02" + bytes([len(caps)]) + caps if caps else b""
    my_as = asn if asn < 65536 else 23456
    return struct.pack("!BHHI", version, my_as, hold, int(ipaddress.IPv4Address(rid))) + bytes([len(params)]) + params


def read_msg(s):
    hdr = b""
    while len(hdr) < 19:
        chunk = s.recv(19 - len(hdr))
        if not chunk:
            return None
        hdr += chunk
    n, t = struct.unpack("!HB", hdr[16:19])
    body = b""
    while len(body) < n - 19:
        chunk = s.recv(n - 19 - len(body))
        if not chunk:
            return None
        body += chunk
    return t, body


def prefix_bytes(net):
    nb = (net.prefixlen + 7) // 8
    return bytes([net.prefixlen]) + net.network_address.packed[:nb]


def attr(flags, code, data):
    if len(data) > 255:
        return bytes([flags | 0x10, code]) + struct.pack("!H", len(data)) + data
    return bytes([flags, code, len(data)]) + data


def update_for(route):
    pfx, path, nh = route.split(",")
    net = ipaddress.ip_network(pfx)
    asns = [int(a) for a in path.split()]
    attrs = attr(0x40, 1, b"\x00")
    attrs += attr(0x40, 2, (b"\x02" + bytes([len(asns)]) + b"".join(struct.pack("!I", a) for a in asns)) if asns else b"")
    if net.version == 4:
        attrs += attr(0x40, 3, ipaddress.IPv4Address(nh).packed)
        return struct.pack("!H", 0) + struct.pack("!H", len(attrs)) + attrs + prefix_bytes(net)
    mp = struct.pack("!HB", 2, 1) + b"\x10" + ipaddress.IPv6Address(nh).packed + b"\x00" + prefix_bytes(net)
    attrs = attr(0x80, 14, mp) + attrs
    return struct.pack("!H", 0) + struct.pack("!H", len(attrs)) + attrs


def connect(a):
    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(a.timeout)
    if a.src:
        s.bind((a.src, 0))
    s.connect((a.host, a.port))
    return s


def establish(s, a):
    caps = None
    if a.gr:
        # RFC 4724 §3: restart time, IPv4 unicast with its forwarding state kept
        caps = (b"\x01\x04\x00\x01\x00\x01" + b"\x01\x04\x00\x02\x00\x01" +
                b"\x41\x04" + struct.pack("!I", a.asn) + b"\x40\x06" + struct.pack("!H", a.gr) + b"\x00\x01\x01\x80")
    s.sendall(msg(1, open_body(a.asn, a.id, caps=caps)))
    got = read_msg(s)
    if not got or got[0] != 1:
        raise SystemExit("no OPEN from the collector: %r" % (got,))
    s.sendall(msg(4))
    got = read_msg(s)
    if not got or got[0] != 4:
        raise SystemExit("no KEEPALIVE from the collector: %r" % (got,))


def notification(s, data=False):
    """Reads until a NOTIFICATION or the end; returns 'CODE/SUBCODE' (then ' DATA' in hex when
    asked) or 'none'."""
    while True:
        try:
            got = read_msg(s)
        except (socket.timeout, ConnectionResetError):
            return "none"
        if got is None:
            return "none"
        if got[0] == 3:
            r = "%d/%d" % (got[1][0], got[1][1])
            return r + " " + got[1][2:].hex() if data else r


def withdraw_for(pfx):
    return struct.pack("!H", len(prefix_bytes(ipaddress.ip_network(pfx)))) + prefix_bytes(ipaddress.ip_network(pfx)) + b"\x00\x00"


def cmd_announce(a):
    s = connect(a)
    establish(s, a)
    for r in a.route:
        s.sendall(msg(2, update_for(r)))
    s.sendall(msg(2, b"\x00\x00\x00\x00"))  # End-of-RIB, IPv4 unicast
    if a.go:
        # keep the session (answering keepalives) until the file appears, then announce more
        s.settimeout(0.2)
        while not os.path.exists(a.go):
            try:
                got = read_msg(s)
                if got is None:
                    raise SystemExit("the collector closed the session")
                if got[0] == 3:
                    raise SystemExit("NOTIFICATION %d/%d" % (got[1][0], got[1][1]))
                if got[0] == 4:
                    s.sendall(msg(4))
            except socket.timeout:
                pass
        for r in a.late:
            s.sendall(msg(2, update_for(r)))
    if a.abrupt:
        # the TCP connection ends without a NOTIFICATION (a restart, RFC 4724 §4.2)
        s.shutdown(socket.SHUT_RDWR)
        s.close()
        return
    end = time.time() + a.hold
    s.settimeout(0.5)
    while time.time() < end:
        try:
            got = read_msg(s)
        except socket.timeout:
            continue
        if got is None:
            raise SystemExit("the collector closed the session")
        if got[0] == 4:
            s.sendall(msg(4))
    s.sendall(msg(3, b"\x06\x02"))
    s.close()


# Each case: (establish first?, bytes to send). Expected codes are in the shell test, from RFCs.
def bad_cases(a):
    good_open = open_body(a.asn, a.id)
    upd_ok = update_for("10.9.0.0/16,%d,127.0.0.9" % a.asn)
    return {
        "marker": (False, b"\xfe" + MARKER[1:] + struct.pack("!HB", 19, 4)),
        "short-length": (False, msg(4, length=18)),
        "long-keepalive": (True, msg(4, b"\x00")),
        "bad-type": (True, msg(9)),
        "open-version": (False, msg(1, open_body(a.asn, a.id, version=3))),
        "open-hold": (False, msg(1, open_body(a.asn, a.id, hold=2))),
        "open-id": (False, msg(1, open_body(a.asn, "0.0.0.0"))),
        "open-as": (False, msg(1, open_body(a.asn + 1, a.id))),
        "open-param": (False, msg(1, good_open[:9] + b"\x03\x07\x01\x00")),
        "update-in-opensent": (False, msg(2, upd_ok)),
        "open-in-established": (True, msg(1, good_open)),
        "update-attr-len": (True, msg(2, b"\x00\x00\x00\x40" + b"\x40\x01\x01\x00")),
        "update-nlri": (True, msg(2, b"\x00\x00\x00\x00" + b"\x21\x0a\x00\x00\x00\x00")),
        "refresh-len": (True, msg(5, b"\x00\x01\x00\x01\x00")),
        "notification": (True, msg(3, b"\x06\x04")),
        "max-prefix": (True, b"".join(msg(2, update_for("10.100.%d.0/24,%d,127.0.0.9" % (i, a.asn))) for i in (0, 1, 2)) +
                       msg(2, withdraw_for("10.100.1.0/24")) +
                       b"".join(msg(2, update_for("10.100.%d.0/24,%d,127.0.0.9" % (i, a.asn))) for i in (3, 0, 4))),
        # a header announcing 60 bytes, 30 of them sent
        "stall": (True, msg(2, upd_ok)[:30]),
        # RFC 7606 §7.1: an undefined ORIGIN value: treat-as-withdraw, no NOTIFICATION
        "origin-taw": (True, msg(2, upd_ok) + msg(2, upd_ok.replace(b"\x40\x01\x01\x00", b"\x40\x01\x01\x05"))),
    }


def cmd_bad(a):
    cases = bad_cases(a)
    if a.case not in cases:
        raise SystemExit("unknown case %s (%s)" % (a.case, " ".join(sorted(cases))))
    first, data = cases[a.case]
    s = connect(a)
    if first:
        establish(s, a)
        s.sendall(data)
    else:
        s.sendall(data)
        # the collector sends its OPEN first; skip it
    print(notification(s, a.data))
    s.close()


def cmd_flood(a):
    s = connect(a)
    establish(s, a)
    nets = ["10.%d.%d.0/24" % (200 + i // 250, i % 250) for i in range(1000)]
    blob = b"".join(msg(2, update_for("%s,%d,127.0.0.9" % (n, a.asn))) for n in nets)
    blob += b"".join(msg(2, withdraw_for(n)) for n in nets)
    s.settimeout(30.0)
    sent = 0
    while not os.path.exists(a.go):
        try:
            s.sendall(blob)   # blocks while the collector's buffer is full: TCP pushes back
            sent += 2000
        except socket.timeout:
            # a partial write breaks the framing: stop here, a clean Cease is no longer possible
            print(sent)
            return
    s.sendall(msg(3, b"\x06\x02"))
    s.close()
    print(sent)


def cmd_collide(a):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.src, a.listen_port))
    ls.listen(1)
    ls.settimeout(a.timeout)
    acc, _ = ls.accept()            # the collector's active open
    acc.settimeout(a.timeout)
    con = connect(a)                # ours, from the same address
    mine = msg(1, open_body(a.asn, a.id))
    # on the collector: its connection reaches OpenConfirm first, then ours meets it there
    acc.sendall(mine)
    got = read_msg(acc)
    if not got or got[0] != 1:
        raise SystemExit("no OPEN on the accepted connection: %r" % (got,))
    con.sendall(mine)
    # both get the collector's OPEN and KEEPALIVE; the first NOTIFICATION names the loser, the
    # other connection is the one kept (it gets our KEEPALIVE and becomes Established)
    import select
    res = {}
    names = {acc: "accepted", con: "connected"}
    while not res:
        ready, _, _ = select.select([acc, con], [], [], a.timeout)
        if not ready:
            raise SystemExit("no NOTIFICATION on either connection")
        for c in ready:
            got = read_msg(c)
            if got is None:
                raise SystemExit("%s connection closed without a NOTIFICATION" % names[c])
            if got[0] == 3:
                res[names[c]] = "%d/%d" % (got[1][0], got[1][1])
                other = con if c is acc else acc
                res[names[other]] = "up"
                other.sendall(msg(4))
                break
    print("accepted=%s connected=%s" % (res["accepted"], res["connected"]))
    time.sleep(a.hold)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["announce", "bad", "flood", "collide"])
    p.add_argument("args", nargs="*", help="CASE for bad, ROUTEs for announce")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--src", default="")
    p.add_argument("--as", dest="asn", type=int, default=65001)
    p.add_argument("--id", default="10.0.0.2")
    p.add_argument("--hold", type=float, default=1.0)
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--go", default="", help="announce: after End-of-RIB wait for this file, then send --late")
    p.add_argument("--late", action="append", default=[])
    p.add_argument("--gr", type=int, default=0, help="advertise graceful restart with this restart time")
    p.add_argument("--abrupt", action="store_true", help="announce: close the connection without a NOTIFICATION")
    p.add_argument("--data", action="store_true", help="bad: print the NOTIFICATION's data too")
    p.add_argument("--listen-port", type=int, default=0, help="collide: where the collector connects")
    a = p.parse_intermixed_args()
    if a.cmd == "announce":
        a.route = a.args
        cmd_announce(a)
    elif a.cmd == "flood":
        cmd_flood(a)
    elif a.cmd == "collide":
        cmd_collide(a)
    else:
        if len(a.args) != 1:
            raise SystemExit("bad: one CASE expected")
        a.case = a.args[0]
        cmd_bad(a)


if __name__ == "__main__":
    main()
