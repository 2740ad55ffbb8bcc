#!/usr/bin/env python3
"""Where a damaged compressed file fails, computed independently of darkmap.

usage: decompress_fail.py DAMAGED gz|bz2|xz|zst ORIGINAL
Feeds DAMAGED one byte at a time to python's incremental decompressor (zlib / bz2 / lzma, output
drained as it comes, so bzip2 hands out a block before checking its CRC, as libbz2 does for any
reader) and prints: the compressed offset of the byte at which it fails, the uncompressed bytes
produced before, the MRT records that end within those bytes (a header walk of ORIGINAL's
data) and the offset where the first record not complete starts, then the first byte that differs
from ORIGINAL's data and the end of the last record before it. ORIGINAL is read with the
same module (zst: the zstd tool).
zst: python's zstandard module when installed; else the zstd command line "byte by byte": the
shortest prefix of DAMAGED that `zstd -dc` calls corrupt (not just cut short) ends at the byte
where a decoder fed byte by byte fails, and `zstd -dc` of the prefix before it writes every
byte such a decoder produced (a cut input ends with "premature end", after all complete blocks)."""
import bz2, gzip, lzma, struct, subprocess, sys, zlib

data = open(sys.argv[1], 'rb').read()


def zstd_cli(b):
    p = subprocess.run(['zstd', '-dcq'], input=b, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.stdout, p.stderr.decode('utf-8', 'replace')


def zstd_corrupt(b):
    _, err = zstd_cli(b)
    return err != '' and 'premature end' not in err


if sys.argv[2] == 'zst':
    try:
        import zstandard
    except ImportError:
        zstandard = None
    if zstandard is not None:
        d = zstandard.ZstdDecompressor().decompressobj()
        step = lambda b: d.decompress(b)
        orig = zstandard.ZstdDecompressor().decompressobj().decompress(open(sys.argv[3], 'rb').read())
    else:
        lo, hi = 1, len(data)       # the shortest corrupt prefix (bisection: corrupt prefixes stay corrupt)
        if not zstd_corrupt(data):
            sys.exit('no error')
        while lo < hi:
            mid = (lo + hi) // 2
            if zstd_corrupt(data[:mid]):
                hi = mid
            else:
                lo = mid + 1
        fail = lo - 1
        out = len(zstd_cli(data[:fail])[0])
        orig = zstd_cli(open(sys.argv[3], 'rb').read())[0]
        step = None
elif sys.argv[2] == 'xz':
    d = lzma.LZMADecompressor()
    step = lambda b: d.decompress(b)
    orig = lzma.open(sys.argv[3]).read()
elif sys.argv[2] == 'gz':
    d = zlib.decompressobj(31)
    step = lambda b: d.decompress(b)
    orig = gzip.open(sys.argv[3]).read()
else:
    d = bz2.BZ2Decompressor()
    def step(b):
        n = d.decompress(b, 1 << 20)
        while not d.needs_input and not d.eof:
            n += d.decompress(b'', 1 << 20)
        return n
    orig = bz2.open(sys.argv[3]).read()
if step is not None:
    chunks = []
    for i in range(len(data)):
        try:
            chunks.append(step(data[i:i + 1]))
        except Exception:   # zlib.error, OSError (bz2), EOFError, lzma.LZMAError, zstandard.ZstdError
            break
    else:
        sys.exit('no error')
    produced = b''.join(chunks)
    out = len(produced)
else:
    i = fail
    produced = zstd_cli(data[:fail])[0]
# The decompressor may hand out damaged bytes before it notices (LZMA's range decoder, a bzip2
# block before its CRC): the first byte that differs from ORIGINAL, and the end of the last
# record of ORIGINAL that ends before it (every record up to there is intact).
first = next((k for k in range(min(out, len(orig))) if produced[k] != orig[k]), min(out, len(orig)))
off = n = 0
good_end = None
while off + 12 <= out:
    length = struct.unpack('>I', orig[off + 8:off + 12])[0]
    if good_end is None and off + 12 + length > first:
        good_end = off
    if off + 12 + length > out:
        break
    off += 12 + length
    n += 1
print(i, out, n, off, first, off if good_end is None else good_end)
