#!/usr/bin/env python3
"""Builds libFuzzer seed corpora from the real MRT files in ../shared/data/mrt.

build/fuzz/corpus/mrt/         runs of whole MRT records (decompressed), a few per record kind
build/fuzz/corpus/bgp_update/  BGP messages cut out of BGP4MP records, prefixed by a context byte
build/fuzz/corpus/bgp_attr/    path attribute blocks from TABLE_DUMP_V2 entries and UPDATEs
build/fuzz/corpus/reader/      small files as they are (compressed), and heads of the big ones
"""
import bz2, gzip, lzma, os, struct, sys, hashlib

def opener(path):
    head = open(path, 'rb').read(6)
    if head[:2] == b'\x1f\x8b': return gzip.open(path, 'rb')
    if head[:3] == b'BZh': return bz2.open(path, 'rb')
    if head[:6] == b'\xfd7zXZ\x00': return lzma.open(path, 'rb')
    return open(path, 'rb')

def read_all(path, limit=8 << 20):
    out = bytearray()
    try:
        with opener(path) as f:
            while len(out) < limit:
                b = f.read(1 << 16)
                if not b: break
                out += b
    except (EOFError, OSError):
        pass  # truncated archives: keep what was read
    return bytes(out)

def put(d, data):
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), 'wb') as f: f.write(data)

def main(datadir, outdir):
    files = sorted(f for f in os.listdir(datadir)
                   if not f.endswith(('.xz', '.md')) and f != 'SHA256SUMS')
    for fn in files:
        path = os.path.join(datadir, fn)
        raw = open(path, 'rb').read()
        put(os.path.join(outdir, 'reader'), raw[:65536])
        data = read_all(path)
        off, kinds, run, pit = 0, {}, b'', None
        while off + 12 <= len(data):
            ts, typ, sub, ln = struct.unpack('>IHHI', data[off:off + 12])
            if off + 12 + ln > len(data): break
            rec = data[off:off + 12 + ln]
            body = rec[12:]
            off += 12 + ln
            if typ == 13 and sub == 1: pit = rec
            k = (typ, sub)
            kinds[k] = kinds.get(k, 0) + 1
            if kinds[k] <= 3:
                put(os.path.join(outdir, 'mrt'), (pit or b'') + rec if typ == 13 and sub != 1 else rec)
            if typ in (16, 17) and sub in (1, 4, 6, 7, 8, 9, 10, 11):
                b = body[4:] if typ == 17 else body
                as4 = sub in (4, 7, 9, 11)
                hl = (8 if as4 else 4) + 4
                if len(b) < hl: continue
                afi = struct.unpack('>H', b[hl - 2:hl])[0]
                hl += 8 if afi == 1 else 32
                msg = b[hl:]
                ctx = (1 if as4 else 0) | (2 if sub >= 8 else 0) | (4 if afi == 2 else 0)
                if kinds[k] <= 40:
                    put(os.path.join(outdir, 'bgp_update'), bytes([ctx]) + msg)
                    if len(msg) > 23 and msg[18] == 2:
                        wl = struct.unpack('>H', msg[19:21])[0]
                        al = struct.unpack('>H', msg[21 + wl:23 + wl])[0]
                        put(os.path.join(outdir, 'bgp_attr'), bytes([ctx & 3]) + msg[23 + wl:23 + wl + al])
            if typ == 13 and sub in (2, 4) and kinds[k] <= 20:
                plen = body[4]
                p = 5 + (plen + 7) // 8 + 2
                if len(body) >= p + 8:
                    al = struct.unpack('>H', body[p + 6:p + 8])[0]
                    put(os.path.join(outdir, 'bgp_attr'), bytes([1 | 4 | (8 if sub == 4 else 0)]) + body[p + 8:p + 8 + al])

if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
