#!/usr/bin/env python3
"""Where a damaged compressed file fails, computed independently of darkmap.

usage: decompress_fail.py DAMAGED gz|bz2 ORIGINAL
Feeds DAMAGED one byte at a time to python's incremental decompressor (zlib / bz2, output
drained as it comes, so bzip2 hands out a block before checking its CRC, as libbz2 does for any
reader) and prints: the compressed offset of the byte at which it fails, the uncompressed bytes
produced before, the MRT records that end within those bytes (a header walk of ORIGINAL's
data) and the offset where the first record not complete starts."""
import bz2, gzip, struct, sys, zlib

data = open(sys.argv[1], 'rb').read()
if sys.argv[2] == 'gz':
    d = zlib.decompressobj(31)
    step = lambda b: len(d.decompress(b))
    orig = gzip.open(sys.argv[3]).read()
else:
    d = bz2.BZ2Decompressor()
    def step(b):
        n = len(d.decompress(b, 1 << 20))
        while not d.needs_input and not d.eof:
            n += len(d.decompress(b'', 1 << 20))
        return n
    orig = bz2.open(sys.argv[3]).read()
out = 0
for i in range(len(data)):
    try:
        out += step(data[i:i + 1])
    except (zlib.error, OSError, EOFError):
        break
else:
    sys.exit('no error')
off = n = 0
while off + 12 <= out:
    length = struct.unpack('>I', orig[off + 8:off + 12])[0]
    if off + 12 + length > out:
        break
    off += 12 + length
    n += 1
print(i, out, n, off)
