#!/usr/bin/env python3
"""Re-frame a TABLE_DUMP (MRT type 12) file as one entry per record, for bgpdump to decode.

RIS bviews of 2000 batch many entries in one TABLE_DUMP record (the first entry after the
record's VIEW and SEQUENCE, the others straight after it) and declare each record's length
4 bytes short. bgpdump reads the first entry, then loses the framing. This reader shares no code
with darkmap: it walks each record's entries by their own lengths (RFC 6396 §4.2: prefix, length,
status, originated time, peer address, peer AS, attribute length, attributes), and writes every
entry as its own TABLE_DUMP record with the record's timestamp, VIEW and SEQUENCE and the true
length. The attributes are copied, not decoded: bgpdump decodes them.

usage: reframe_td1.py FILE[.gz|.bz2|.xz] >REFRAMED.mrt
Prints on stderr "records R entries E declared_short_by_4 S": tests/golden/dump_bgpdump.sh
compares it with FILE.reframe. Exits 1 on any framing it cannot explain (an entry that ends
other than at the declared end or 4 bytes after it, a record of another type, a cut file).
"""
import bz2
import gzip
import lzma
import struct
import sys

HDR = struct.Struct('>IHHI')   # timestamp, type, subtype, length
TD = 12                        # MRT type TABLE_DUMP
AFI_LEN = {1: 4, 2: 16}        # subtype AFI_IPv4, AFI_IPv6: address length


def read(path):
    opener = {'.gz': gzip.open, '.bz2': bz2.open, '.xz': lzma.open}.get(path[path.rfind('.'):], open)
    with opener(path, 'rb') as f:
        return f.read()


def main():
    b = read(sys.argv[1])
    out = sys.stdout.buffer
    off = records = entries = short4 = 0
    while off < len(b):
        if len(b) - off < HDR.size:
            sys.exit('offset %d: %d bytes left, no room for an MRT header' % (off, len(b) - off))
        ts, typ, sub, length = HDR.unpack_from(b, off)
        if typ != TD or sub not in AFI_LEN:
            sys.exit('offset %d: type %d subtype %d: not TABLE_DUMP IPv4/IPv6' % (off, typ, sub))
        alen = AFI_LEN[sub]
        ent = struct.Struct('>%dsBBI%dsHH' % (alen, alen))   # prefix .. attribute length
        view_seq = b[off + 12:off + 16]
        p, end = off + 16, off + 12 + length
        while True:
            if p + ent.size > len(b):
                sys.exit('offset %d: entry header cut by the end of the file' % p)
            q = p + ent.size + ent.unpack_from(b, p)[-1]
            if q > len(b):
                sys.exit('offset %d: entry attributes cut by the end of the file' % p)
            out.write(HDR.pack(ts, TD, sub, 4 + q - p) + view_seq + b[p:q])
            entries += 1
            p = q
            if p >= end:
                break
        if p == end + 4:
            short4 += 1
        elif p != end:
            sys.exit('offset %d: entries end at %d, declared end %d' % (off, p, end))
        records += 1
        off = p
    print('records %d entries %d declared_short_by_4 %d' % (records, entries, short4), file=sys.stderr)


if __name__ == '__main__':
    main()
