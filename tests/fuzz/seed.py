#!/usr/bin/env python3
"""Builds libFuzzer seed corpora from the real MRT files in ../shared/data/mrt.

build/fuzz/corpus/mrt/         runs of whole MRT records (decompressed), a few per record kind
build/fuzz/corpus/bgp_update/  BGP messages cut out of BGP4MP records, prefixed by a context byte
build/fuzz/corpus/bgp_attr/    path attribute blocks from TABLE_DUMP_V2 entries and UPDATEs
build/fuzz/corpus/reader/      the first ~8 KB of records of each file, recompressed (gzip, bzip2,
                               xz, zstd), small files as they are, cut streams, gzip members
build/fuzz/corpus/parse/       fuzz_parse: times, webhook URLs, a tiny mmdb (the database of
                               case 3 is written by the target itself, see tests/fuzz/run)
build/fuzz/corpus/mrt_roundtrip/  the MRT seeds, plus AS4_PATH merges and Zebra STATE_CHANGEs
build/fuzz/corpus/signal/      element sequences for fuzz_signal
build/fuzz/corpus/bmp/         BMP streams (RFC 7854): a whole session, ADD-PATH, 2-byte ASNs
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

def recompress(kind, data):
    if kind == 'gz': return gzip.compress(data, 6)
    # the smallest decoder state: a decoder allocates what the header asks for (bzip2's 100 KB
    # blocks: 400 KB; an xz dictionary and a zstd window of 64 KB, not 8 and 2 MB), and under
    # ASan every allocation above 128 KB is a fresh mmap per run
    if kind == 'bz2': return bz2.compress(data, 1)
    if kind == 'xz': return lzma.compress(data, filters=[{'id': lzma.FILTER_LZMA2, 'preset': 6, 'dict_size': 1 << 16}])
    try:   # zstd: the command line tool, when there is one (python has no zstd module here)
        import subprocess
        return subprocess.run(['zstd', '-q', '-c', '--zstd=wlog=16'], input=data, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None

def reader_seeds(d, raw, data):
    # Small seeds: the first records (about 8 KB of MRT) of each file, in each compression,
    # the file itself when it is small, and a cut stream. 64 KB heads of the big archives
    # decompress to about 1 MB each: fuzz_reader then ran 20 inputs a second.
    if len(raw) <= 16384 and not (raw[:3] == b'BZh' and raw[3:4] > b'1'):   # BZh9: 3.6 MB a run
        put(d, raw)
    off = 0
    while off + 12 <= len(data) and off < 8192:
        off += 12 + struct.unpack('>I', data[off + 8:off + 12])[0]
    head = data[:min(off, len(data), 16384)]   # a huge first record: cut (a truncated record)
    if not head: return
    head_kind = (('gz' if raw[:2] == b'\x1f\x8b' else 'bz2' if raw[:3] == b'BZh' else None))
    for kind in ('gz', 'bz2', 'xz', 'zstd'):
        if kind == head_kind or kind in ('xz', 'zstd'):
            z = recompress(kind, head)
            if z:
                put(d, z)
                put(d, z[:len(z) // 2])   # the stream cut short
    put(d, head)
    if head_kind == 'gz':   # two gzip members and zero padding after a stream (real mirrors)
        put(d, gzip.compress(head[:len(head) // 2]) + gzip.compress(head[len(head) // 2:]))
        put(d, gzip.compress(head) + b'\0' * 512)

def main(datadir, outdir):
    files = sorted(f for f in os.listdir(datadir)
                   if not f.endswith(('.xz', '.md')) and f != 'SHA256SUMS')
    for fn in files:
        path = os.path.join(datadir, fn)
        raw = open(path, 'rb').read()
        data = read_all(path)
        reader_seeds(os.path.join(outdir, 'reader'), raw, data)
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

def geo_seeds(datadir, outdir):
    # heads of the real RIR files (loader 0) and of the AS names (loader 2), plus tiny CSVs (1)
    rir = os.path.join(os.path.dirname(datadir), 'rir')
    if os.path.isdir(rir):
        for fn in sorted(os.listdir(rir)):
            if fn.startswith('delegated'):
                put(os.path.join(outdir, 'geo'), b'\x00' + open(os.path.join(rir, fn), 'rb').read(4096))
    asn = os.path.join(os.path.dirname(datadir), 'asn', 'asnames.json.gz')
    if os.path.exists(asn):
        put(os.path.join(outdir, 'geo'), b'\x02' + gzip.open(asn).read(4096))
    put(os.path.join(outdir, 'geo'), b'\x01' + b'175.45.176.0,175.45.179.255,KP\n2001:db8::,2001:db8::ffff,ZZ\n')

# --- a tiny MaxMind DB (format 2.0), written by hand: IPv4 tree, record size 24 -------------
def mm_uint(typ, v):
    b = v.to_bytes((v.bit_length() + 7) // 8, 'big') if v else b''
    if typ <= 7: return bytes([typ << 5 | len(b)]) + b
    return bytes([len(b), typ - 7]) + b
def mm_str(x):
    x = x.encode(); return bytes([2 << 5 | len(x)]) + x
def mm_map(d):
    out = bytes([7 << 5 | len(d)])
    for k, v in d.items(): out += mm_str(k) + v
    return out

def mmdb(nets):
    """nets: [(a.b.c.d, len, cc)] -> bytes of a valid database."""
    nodes = [[None, None]]              # child: int node, ('d', off) data, None empty
    data, offs = b'', {}
    for ip, ln, cc in nets:
        if cc not in offs:
            offs[cc] = len(data); data += mm_map({'country_code': mm_str(cc)})
        a = struct.unpack('>I', bytes(int(x) for x in ip.split('.')))[0]
        n = 0
        for i in range(ln):
            bit = a >> (31 - i) & 1
            if i == ln - 1:
                nodes[n][bit] = ('d', offs[cc])
            else:
                if not isinstance(nodes[n][bit], int):
                    nodes.append([None, None]); nodes[n][bit] = len(nodes) - 1
                n = nodes[n][bit]
    nc = len(nodes)
    def rec(x):
        v = nc if x is None else x if isinstance(x, int) else nc + 16 + x[1]
        return v.to_bytes(3, 'big')
    tree = b''.join(rec(l) + rec(r) for l, r in nodes)
    meta = mm_map({'node_count': mm_uint(6, nc), 'record_size': mm_uint(5, 24),
                   'ip_version': mm_uint(5, 4), 'database_type': mm_str('darkmap-fuzz'),
                   'languages': bytes([0, 4]), 'binary_format_major_version': mm_uint(5, 2),
                   'binary_format_minor_version': mm_uint(5, 0), 'build_epoch': mm_uint(9, 1700000000),
                   'description': mm_map({})})
    return tree + b'\0' * 16 + data + b'\xab\xcd\xefMaxMind.com' + meta

def parse_seeds(outdir):
    d = os.path.join(outdir, 'parse')
    for t in (b'2014-12-22T16:15Z', b'2014-12-22 16:15:59', b'2014-12-22', b'1419264900', b'2016-02-29T00:00:00Z'):
        put(d, b'\x00' + t)
    for u in (b'http://127.0.0.1:8080/hook?x=1', b'http://[::1]:9/a#f', b'http://example.org'):
        put(d, b'\x01' + u)
    put(d, b'\x02' + mmdb([('128.0.0.0', 1, 'CN'), ('1.0.0.0', 8, 'AU'), ('175.45.176.0', 22, 'KP')]))

# --- MRT records the real archives lack -------------------------------------------------------
def rec(ts, typ, sub, body):
    return struct.pack('>IHHI', ts, typ, sub, len(body)) + body

def update(attrs, nlri):
    body = struct.pack('>H', 0) + struct.pack('>H', len(attrs)) + attrs + nlri
    return b'\xff' * 16 + struct.pack('>HB', 19 + len(body), 2) + body

def attr(flags, typ, val):
    if len(val) > 255: return struct.pack('>BBH', flags | 0x10, typ, len(val)) + val
    return struct.pack('>BBB', flags, typ, len(val)) + val

def as4_seeds(outdir):
    """2-byte sessions whose AS_PATH carries AS_TRANS (23456) and an AS4_PATH (RFC 6793 §4.2.3),
    and Zebra's 8-byte STATE_CHANGE (peer AS, local AS, old state, new state)."""
    ts = 1419264900
    sess2 = struct.pack('>HHHH', 3356, 6447, 0, 1) + bytes([4, 69, 184, 193]) + bytes([128, 223, 51, 102])
    seeds = []
    for path2, path4 in ((b'\x02\x03' + struct.pack('>HHH', 3356, 23456, 23456),
                          b'\x02\x02' + struct.pack('>II', 131279, 4200000000)),
                         # AS4_PATH longer than AS_PATH: ignored (§4.2.3)
                         (b'\x02\x01' + struct.pack('>H', 23456),
                          b'\x02\x03' + struct.pack('>III', 1, 2, 3)),
                         # AS_SET in both, and a confed segment in AS4_PATH
                         (b'\x02\x02' + struct.pack('>HH', 3356, 23456) + b'\x01\x02' + struct.pack('>HH', 1, 23456),
                          b'\x01\x02' + struct.pack('>II', 65536, 70000) + b'\x03\x01' + struct.pack('>I', 65537))):
        attrs = attr(0x40, 1, b'\x00') + attr(0x40, 2, path2) + attr(0x40, 3, bytes([4, 69, 184, 193])) + \
            attr(0xc0, 17, path4) + attr(0xc0, 7, struct.pack('>H', 23456) + bytes([10, 0, 0, 1])) + \
            attr(0xc0, 18, struct.pack('>I', 4200000000) + bytes([10, 0, 0, 1]))
        seeds.append(rec(ts, 16, 1, sess2 + update(attrs, bytes([22, 175, 45, 176]))))
    zebra = [rec(ts, 16, 0, struct.pack('>HHHH', 3356, 6447, o, n)) for o, n in ((1, 2), (3, 6), (6, 1))]
    for d in ('mrt', 'mrt_roundtrip', 'dump_fmt'):
        for x in seeds + [b''.join(zebra), seeds[0] + zebra[1]]:
            put(os.path.join(outdir, d), x)
    for x in seeds:   # the UPDATE alone, 2-byte context, for fuzz_bgp_update and the attribute block
        msg = x[12 + len(sess2):]
        put(os.path.join(outdir, 'bgp_update'), b'\x00' + msg)
        al = struct.unpack('>H', msg[21:23])[0]
        put(os.path.join(outdir, 'bgp_attr'), b'\x00' + msg[23:23 + al])

def signal_seeds(outdir):
    """fuzz_signal: a RIB load of 16 ops, then about a hundred announcements, withdrawals,
    session changes and time steps (seeded, so the corpus is the same on every machine; 300
    ops an input ran 100 a second)."""
    import random
    for seed in range(8):
        rnd = random.Random(seed)
        b = bytes([rnd.randrange(256), 15])
        for _ in range(120):
            kind = rnd.choice((0, 0, 1, 2, 2, 3)) if _ > 16 else 0
            b += bytes([kind | rnd.randrange(4) << 2 | rnd.randrange(4) << 4,
                        rnd.randrange(16), rnd.randrange(256), rnd.randrange(256)])
        put(os.path.join(outdir, 'signal'), b)
    # a table's paths (fuzz builds shrink them, Makefile DM_SIGNAL_SMALL): the mapping with its
    # batch answer, a RIB load of 15 prefixes (its countries made by chunks at the first
    # recompute), then a peer not yet a full feed announcing 20 (their events wait, a scan)
    b = bytes([0xe6, 15])
    for i in range(15):
        b += bytes([0, (i * 37 + 5) & 255, (i * 53 + 11) & 255, 0])
    for i in range(20):
        b += bytes([1 << 2, (i * 41 + 7) & 255, (i * 29 + 3) & 255, 8])
    for i in range(6):
        b += bytes([0, (i * 13 + 1) & 255, (i * 7 + 2) & 255, 252])
    put(os.path.join(outdir, 'signal'), b)

def bmp_seeds(outdir):
    # a BMP session built from RFC 7854 §4 (first byte: fuzz_bmp's read size, 0 = whole)
    def msg(typ, body): return struct.pack('>BIB', 3, 6 + len(body), typ) + body
    def peer(flags=0, addr=b'\0' * 12 + bytes([192, 0, 2, 1])):
        return struct.pack('>BBQ', 0, flags, 0) + addr + struct.pack('>IIII', 65001, 0x0a000001, 1419264900, 0)
    def bgp(typ, body): return b'\xff' * 16 + struct.pack('>HB', 19 + len(body), typ) + body
    def caps(*c): return b''.join(struct.pack('>BB', 2, len(x)) + x for x in c)
    def open_(asn, ap):
        c = [struct.pack('>BBI', 65, 4, asn)] + ([struct.pack('>BBHBB', 69, 4, 1, 1, ap)] if ap else [])
        o = caps(*c)
        return bgp(1, struct.pack('>BHHIB', 4, 23456 if asn > 65535 else asn, 90, 0x0a000001, len(o)) + o)
    def upd(four=True, ap=False):
        pid = struct.pack('>I', 7) if ap else b''
        path = struct.pack('>BB', 2, 2) + (struct.pack('>II', 65001, 4200000000) if four else struct.pack('>HH', 65001, 23456))
        attrs = attr(0x40, 1, b'\0') + attr(0x40, 2, path) + attr(0x40, 3, bytes([192, 0, 2, 1]))
        w = pid + bytes([12, 172, 16])
        return bgp(2, struct.pack('>H', len(w)) + w + struct.pack('>H', len(attrs)) + attrs + pid + bytes([8, 10]))
    init = msg(4, struct.pack('>HH', 2, 3) + b'r1a' + struct.pack('>HH', 1, 3) + b'FRR')
    up = lambda ap: msg(3, peer() + b'\0' * 12 + bytes([192, 0, 2, 254]) + struct.pack('>HH', 179, 40001) + open_(4200000000, ap and 1) + open_(65001, ap and 2))
    stats = msg(1, peer() + struct.pack('>IHHIHHQ', 2, 0, 4, 12, 7, 8, 3))
    down = msg(2, peer() + b'\x03' + bgp(3, b'\x06\x02'))
    term = msg(5, struct.pack('>HHH', 1, 2, 1))
    d = os.path.join(outdir, 'bmp')
    put(d, b'\0' + init + up(False) + msg(0, peer() + upd()) + msg(0, peer(0x40) + upd()) + stats + down + term)
    put(d, b'\x07' + up(True) + msg(0, peer() + upd(ap=True)))
    put(d, b'\0' + msg(0, peer(0x20) + upd(four=False)) + msg(0, peer(0x80, b'\x20\x01\x0d\xb8' + b'\0' * 11 + b'\x01') + upd()))

if __name__ == '__main__':
    if sys.argv[1] == 'bmp':
        bmp_seeds(sys.argv[2])
        sys.exit(0)
    if sys.argv[1] != '-':
        main(sys.argv[1], sys.argv[2])
        geo_seeds(sys.argv[1], sys.argv[2])
    parse_seeds(sys.argv[2])
    as4_seeds(sys.argv[2])
    signal_seeds(sys.argv[2])
    bmp_seeds(sys.argv[2])
