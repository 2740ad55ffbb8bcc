#!/usr/bin/env python3
"""Damaged copies of real MRT archives, and how many lines darkmap and bgpdump lose on them.

  damage.py gen     --data DIR --seed S --copies N --out DIR   write the copies + manifest.tsv
  damage.py measure --data DIR --seed S --copies N [--darkmap BIN] [--jobs J] [--tsv FILE]

Sources: the uncompressed archives of DATA/mrt whose darkmap output is bgpdump's byte for byte
(no tests/golden/expect/FILE.diff or .sha256), at most --max-bytes each, decompressed first so
the damage hits MRT framing, not the compression. Each copy has one damaged spot, chosen from the
seed (random.Random(seed * 1000003 + copy)), one of six kinds:
  zero    a run of zero bytes (1 byte .. 64 KiB, log-uniform) written over a random offset
  len     one bit flipped in one record's Length field
  type    one bit flipped in one record's Type field
  ts      one bit flipped in one record's Timestamp field
  cut     the file cut at a random offset
  splice  the head of one archive (cut at a random offset) followed by the tail of another
          (an archive without PEER_INDEX_TABLE, from a random offset)
The records overlapping the damage are known from an independent framing of the undamaged file.

Lines lost beyond the damage, per copy and per tool (bgpdump -m, darkmap dump -m):
  expected = the reference lines (bgpdump -m of the undamaged file, DATA/mrt/FILE.bgpdump-m.xz)
             minus those of the records overlapping the damage (bgpdump -m of the undamaged
             bytes of those records, after the file's PEER_INDEX_TABLE when it has one);
             for cut and splice copies: bgpdump -m of the undamaged records kept, concatenated
  lost     = lines of `expected` missing from the tool's output (as multisets).
A damaged PEER_INDEX_TABLE counts as one damaged record: the RIB lines it takes with it count as
lost (reported apart as `pit` copies).
"""
import argparse
import bz2
import collections
import gzip
import lzma
import math
import multiprocessing
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

KINDS = ["zero", "len", "type", "ts", "cut", "splice"]
TIMEOUT = 120


def decompress(path):
    d = open(path, "rb").read()
    if d[:2] == b"\x1f\x8b":
        return gzip.decompress(d)
    if d[:3] == b"BZh":
        # first MB samples end without the end-of-stream marker: take what decompresses
        return bz2.BZ2Decompressor().decompress(d)
    return d


def frame(data):
    """Record boundaries [(start, end, type, subtype)] by the declared lengths (RFC 6396 §2);
    a last record cut by the end of the file is left out."""
    recs, p = [], 0
    while p + 12 <= len(data):
        ts, typ, sub, ln = struct.unpack_from(">IHHI", data, p)
        if p + 12 + ln > len(data):
            break
        recs.append((p, p + 12 + ln, typ, sub))
        p += 12 + ln
    return recs


def sources(data_dir, root, max_bytes):
    exp = os.path.join(root, "tests/golden/expect")
    out = []
    mrt = os.path.join(data_dir, "mrt")
    for ref in sorted(os.listdir(mrt)):
        if not ref.endswith(".bgpdump-m.xz"):
            continue
        f = ref[: -len(".bgpdump-m.xz")]
        if os.path.exists(os.path.join(exp, f + ".diff")) or os.path.exists(os.path.join(exp, f + ".sha256")):
            continue  # bgpdump is wrong there: its reference is not the truth
        lines = lzma.open(os.path.join(mrt, ref), "rt", errors="surrogateescape").read().splitlines()
        if len(lines) < 2:
            continue
        data = decompress(os.path.join(mrt, f))
        if len(data) > max_bytes:
            continue
        recs = frame(data)
        out.append(dict(name=f, data=data, recs=recs, lines=norm(lines),
                        pit=next((r for r in recs if r[2] == 13 and r[3] == 1), None)))
    return out


def overlapping(recs, lo, hi):
    return [r for r in recs if r[0] < hi and r[1] > lo]


def make_copy(srcs, seed, i):
    """Returns (bytes, manifest dict)."""
    rng = random.Random(seed * 1000003 + i)
    kind = KINDS[i % len(KINDS)]
    s = rng.choice(srcs)
    data, recs = bytearray(s["data"]), s["recs"]
    m = dict(copy=i, kind=kind, src=s["name"])
    if kind == "zero":
        n = min(int(math.exp(rng.uniform(0, math.log(65536)))), len(data))
        lo = rng.randrange(0, len(data) - n + 1)
        data[lo:lo + n] = bytes(n)
        m.update(detail="%d zero bytes at %d" % (n, lo), damaged=overlapping(recs, lo, lo + n))
    elif kind in ("len", "type", "ts"):
        r = rng.choice(recs)
        field = {"ts": (0, 4), "type": (4, 2), "len": (8, 4)}[kind]
        bit = rng.randrange(field[1] * 8)
        at = r[0] + field[0] + field[1] - 1 - bit // 8
        data[at] ^= 1 << (bit % 8)
        m.update(detail="bit %d of the %s field of the record at %d" % (bit, kind, r[0]), damaged=[r])
    elif kind == "cut":
        c = rng.randrange(1, len(data))
        data = data[:c]
        kept = [r for r in recs if r[1] <= c]
        m.update(detail="cut at %d of %d" % (c, len(s["data"])), damaged=overlapping(recs, c - 1, c), kept=kept)
    else:
        tails = [t for t in srcs if t["pit"] is None and t is not s] or [s]
        t = rng.choice(tails)
        a = rng.randrange(1, len(data))
        b = rng.randrange(0, len(t["data"]) - 1)
        data = data[:a] + t["data"][b:]
        m.update(src2=t["name"], detail="%s[:%d] + %s[%d:]" % (s["name"], a, t["name"], b),
                 damaged=overlapping(recs, a - 1, a) + overlapping(t["recs"], b, b + 1),
                 kept=[(s, [r for r in recs if r[1] <= a]), (t, [r for r in t["recs"] if r[0] >= b])])
    return bytes(data), m


def norm(lines):
    """bgpdump prints the peer address in place of the prefix address on type 5 withdrawals
    (tests/golden/dump_bgpdump.sh): such lines are compared without the prefix address."""
    out = []
    for ln in lines:
        if ln.startswith("BGP|"):
            f = ln.split("|")
            if len(f) > 5 and f[2] == "W":
                f[5] = "ADDR/" + f[5].split("/")[-1]
                ln = "|".join(f)
        out.append(ln)
    return out


def run(cmd, path):
    try:
        p = subprocess.run(cmd + [path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
        return norm(p.stdout.decode("utf-8", "surrogateescape").splitlines()), p.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        return None, "timeout"


def bgpdump_of(chunks, tmp):
    with open(tmp, "wb") as f:
        for c in chunks:
            f.write(c)
    out, _ = run(["bgpdump", "-m"], tmp)
    return out or []


SRCS = None
ARGS = None


def measure_one(i):
    data, m = make_copy(SRCS, ARGS.seed, i)
    tmpdir = tempfile.mkdtemp(prefix="dm-damage-", dir=ARGS.tmp)
    try:
        path = os.path.join(tmpdir, "copy.mrt")
        with open(path, "wb") as f:
            f.write(data)
        src = next(s for s in SRCS if s["name"] == m["src"])
        if m["kind"] in ("zero", "len", "type", "ts"):
            dam = m["damaged"]
            chunks = []
            if src["pit"] and src["pit"] not in dam:
                chunks.append(src["data"][src["pit"][0]:src["pit"][1]])
            chunks += [src["data"][r[0]:r[1]] for r in dam]
            expected = collections.Counter(src["lines"]) - collections.Counter(bgpdump_of(chunks, path + ".dam"))
        elif m["kind"] == "cut":
            expected = collections.Counter(bgpdump_of([src["data"][:m["kept"][-1][1]]] if m["kept"] else [], path + ".kept"))
        else:
            chunks = []
            for s, kept in m["kept"]:
                if kept:
                    chunks.append(s["data"][kept[0][0]:kept[-1][1]])
            expected = collections.Counter(bgpdump_of(chunks, path + ".kept"))
        res = dict(copy=i, kind=m["kind"], src=m["src"], detail=m["detail"], damaged=len(m["damaged"]),
                   expected=sum(expected.values()),
                   pit=int(bool(src["pit"]) and src["pit"] in m["damaged"]))
        for tool, cmd in (("darkmap", [ARGS.darkmap, "dump", "-m"]), ("bgpdump", ["bgpdump", "-m"])):
            out, err = run(cmd, path)
            if out is None:
                res[tool] = -1
                continue
            res[tool] = sum((expected - collections.Counter(out)).values())
            if tool == "darkmap":
                res["dm_err"] = "sanitizer" if ("runtime error" in err or "AddressSanitizer" in err) else ""
        return res
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def bucket(lost, total):
    if lost < 0:
        return "timeout"
    if lost == 0:
        return "0"
    if lost == 1:
        return "1"
    if lost <= 10:
        return "2-10"
    if total and lost > total / 4:
        return ">25%"
    return ">10"


BUCKETS = ["0", "1", "2-10", ">10", ">25%", "timeout"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["gen", "measure"])
    ap.add_argument("--data", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--copies", type=int, default=1000)
    ap.add_argument("--out")
    ap.add_argument("--darkmap", default="build/rel/darkmap")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--tsv")
    ap.add_argument("--tmp")
    ap.add_argument("--max-bytes", type=int, default=8 << 20)
    global SRCS, ARGS
    ARGS = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    SRCS = sources(ARGS.data, root, ARGS.max_bytes)
    if not SRCS:
        print("damage: no source archive in %s/mrt" % ARGS.data)
        return 1
    if ARGS.cmd == "gen":
        os.makedirs(ARGS.out, exist_ok=True)
        with open(os.path.join(ARGS.out, "manifest.tsv"), "w") as mf:
            mf.write("copy\tkind\tsource\tdamage\trecords_damaged\n")
            for i in range(ARGS.copies):
                data, m = make_copy(SRCS, ARGS.seed, i)
                with open(os.path.join(ARGS.out, "copy%05d.mrt" % i), "wb") as f:
                    f.write(data)
                mf.write("%d\t%s\t%s\t%s\t%d\n" % (i, m["kind"], m["src"], m["detail"], len(m["damaged"])))
        return 0
    ARGS.darkmap = os.path.abspath(ARGS.darkmap)
    with multiprocessing.Pool(ARGS.jobs) as pool:
        res = pool.map(measure_one, range(ARGS.copies), chunksize=1)
    if ARGS.tsv:
        with open(ARGS.tsv, "w") as f:
            f.write("copy\tkind\tsource\tdamage\trecords_damaged\texpected_lines\tpit\tdarkmap_lost\tbgpdump_lost\n")
            for r in res:
                f.write("%d\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\n" % (r["copy"], r["kind"], r["src"], r["detail"],
                        r["damaged"], r["expected"], r["pit"], r["darkmap"], r["bgpdump"]))
    print("damage: %d copies of %d archives (seed %d; %s), lines lost beyond the records overlapping the damage"
          % (len(res), len(SRCS), ARGS.seed, ", ".join("%s %d" % (k, sum(r["kind"] == k for r in res)) for k in KINDS)))
    print("%-8s %-9s %9s %9s" % ("kind", "lost", "darkmap", "bgpdump"))
    for kind in KINDS + ["all"]:
        rs = [r for r in res if kind == "all" or r["kind"] == kind]
        for b in BUCKETS:
            d = sum(bucket(r["darkmap"], r["expected"]) == b for r in rs)
            g = sum(bucket(r["bgpdump"], r["expected"]) == b for r in rs)
            if d or g or b in ("0", "1", "2-10", ">10", ">25%"):
                print("%-8s %-9s %9d %9d" % (kind, b, d, g))
    for tool in ("darkmap", "bgpdump"):
        print("%s: %d lines lost in all, worst copy %d lines" % (
            tool, sum(max(r[tool], 0) for r in res), max(r[tool] for r in res)))
    print("copies whose PEER_INDEX_TABLE was damaged: %d; darkmap sanitizer reports: %d" % (
        sum(r["pit"] for r in res), sum(r.get("dm_err") == "sanitizer" for r in res)))
    worst = sorted((r for r in res if r["darkmap"] > 1), key=lambda r: -r["darkmap"])[:10]
    for r in worst:
        print("darkmap lost %d (bgpdump %d): copy %d %s %s: %s" % (r["darkmap"], r["bgpdump"], r["copy"], r["kind"],
              r["src"], r["detail"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
