#!/usr/bin/env bash
# The signal's counts are exact on real tables, checked against values computed here with python
# from the stored `bgpdump -m` references (Debian bgpdump 1.6.2, ../shared/data/mrt) and the RIR
# files (../shared/data/rir), applying the definitions of docs/replay.md directly:
#   1. IPv6 /48 counts above 2^32: the world's visible /48s of the route-views6 RIB of Nov 2015
#      (first MiB) appear exactly in the CSV and in the SQLite rows (64-bit end to end);
#   2. every country share of a prefix counted: on the 2002 RIS bview mapped by the RIR files,
#      each country's /24s equal an independent split of the visible prefixes over the RIR
#      ranges, and the countries' addresses add up to the world's.
. "$(dirname "$0")/../lib.sh"
M=$DATA/mrt
mkdir -p "$TMP"

check() {  # name got want
	if [ "$2" = "$3" ]; then ok "$1"; else nok "$1" "got '$2', want '$3'"; fi
}

# Reads bgpdump -m lines of a RIB on stdin; prints "nff need visible units" for family $1 (4|6):
# a peer's table = its distinct prefixes (length >= 8, IPv6 >= 16); full-feed (rule auto; these
# tables are below the absolute thresholds) = >= ceil(0.8 x largest); visible = held by >=
# ceil(0.5 x full-feed peers); units = size of the union of visible prefixes <= /24 (/48) in
# /24s (/48s). With a second argument FILE, also writes the visible prefixes <= /24 to FILE.
PY_SIGNAL='
import sys, math, ipaddress
fam = int(sys.argv[1]); unit = 24 if fam == 4 else 48; minlen = 8 if fam == 4 else 16
bits = 32 if fam == 4 else 128
have = {}
for line in sys.stdin:
    f = line.rstrip("\n").split("|")
    if len(f) < 7 or f[2] != "B" or ((":" in f[5]) != (fam == 6)):
        continue
    n = ipaddress.ip_network(f[5], strict=False)
    if n.prefixlen >= minlen:
        have.setdefault((f[3], f[4]), set()).add(n)
big = max(len(v) for v in have.values())
thr = math.ceil(0.8 * big - 1e-9)
ff = [p for p, v in have.items() if len(v) >= thr]
need = math.ceil(0.5 * len(ff) - 1e-9)
seen = {}
for p in ff:
    for n in have[p]:
        seen[n] = seen.get(n, 0) + 1
vis = [n for n, c in seen.items() if c >= need]
iv = sorted((int(n.network_address) >> (bits - unit), (int(n.network_address) >> (bits - unit)) + (1 << (unit - n.prefixlen)))
            for n in vis if n.prefixlen <= unit)
if len(sys.argv) > 2:
    with open(sys.argv[2], "w") as out:
        for n in vis:
            if n.prefixlen <= unit:
                out.write("%s\n" % n)
tot, s, e = 0, None, None
for a, b in iv:
    if e is None or a >= e:
        if e is not None:
            tot += e - s
        s, e = a, b
    elif b > e:
        e = b
if e is not None:
    tot += e - s
print(len(ff), need, len(vis), tot)
'

# ---- 1. IPv6 /48s above 2^32 ----
R6=$M/rib6.20151101.0600_firstMB.bz2
if ! have_data mrt/rib6.20151101.0600_firstMB.bz2; then
	skip replay_ipv6_64bit "$R6: absent"
else
	read -r nff need vis s48 < <(xzcat "$R6.bgpdump-m.xz" | python3 -c "$PY_SIGNAL" 6)
	check replay_ipv6_64bit_expectation_above_2_32 "$(python3 -c "print($s48 > 2**32)")" True
	rm -f "$TMP/r6.db"
	"$DARKMAP" replay --no-geo --csv --db "$TMP/r6.db" "$R6" >"$TMP/r6.csv" 2>"$TMP/r6.err"
	check replay_ipv6_64bit_exit "$?" 1   # the archive is cut after 1 MiB: reported, exit 1
	check replay_ipv6_64bit_csv "$(awk -F, '$3 == "global" && $5 == 6 { print $6, $7, $8, $10 }' "$TMP/r6.csv")" \
		"$vis $s48 $s48 $nff"
	check replay_ipv6_64bit_sqlite "$(sqlite3 "$TMP/r6.db" "SELECT b.visible_prefixes, b.slash24, b.baseline_slash24,
		b.full_feed_peers FROM bins b JOIN entities k ON k.id = b.entity WHERE k.kind = 3 AND k.afi = 2")" \
		"$vis|$s48|$s48|$nff"
	if grep -q "^replay: IPv6: $nff full-feed peers .* visible (seen by >= $need): $vis prefixes, $s48 /48s$" "$TMP/r6.err"; then
		ok replay_ipv6_64bit_summary
	else
		nok replay_ipv6_64bit_summary "$(grep IPv6 "$TMP/r6.err")"
	fi
fi
# Per country (IPv4) from a RIB's bgpdump -m lines on stdin and RIR files given in precedence
# order (arguments): the RIR lines as docs/geo.md reads them (status available/reserved, empty
# or ZZ country: nothing); for an address, the first file covering it answers, within a file
# the smallest range, then the earlier line; uncovered space is ZZ. Visible prefixes as in
# PY_SIGNAL; a visible prefix counts for every country it touches; the /24s of each maximal
# visible prefix (<= /24) go to its countries by largest remainder of their addresses.
# Prints "WORLD slash24 visible" then "CC slash24 visible_prefixes addresses" lines.
PY_COUNTRIES='
import sys, math, ipaddress, heapq, bisect
srcs = sys.argv[1:]
ranges = []   # (lo, hi_excl, priority tuple, cc)
for si, path in enumerate(srcs):
    for ln, line in enumerate(open(path, encoding="latin-1"), 1):
        f = line.rstrip("\n").split("|")
        if line.startswith("#") or len(f) < 7 or f[2] != "ipv4" or f[1] == "*":
            continue
        if f[6] in ("available", "reserved") or f[1] in ("", "ZZ"):
            continue
        lo = int(ipaddress.IPv4Address(f[3])); n = int(f[4])
        ranges.append((lo, lo + n, (si, n, ln), f[1]))
# elementary segments: the best (source order, smallest, earliest line) range covering each
pts = sorted({p for r in ranges for p in (r[0], r[1])})
ranges.sort()
heap = []; k = 0; seg = []   # (start, end, cc)
for i in range(len(pts) - 1):
    a, b = pts[i], pts[i + 1]
    while k < len(ranges) and ranges[k][0] <= a:
        heapq.heappush(heap, (ranges[k][2], ranges[k][1], ranges[k][3])); k += 1
    while heap and heap[0][1] <= a:
        heapq.heappop(heap)
    if heap:   # ended ranges below the top do not matter until they surface
        seg.append((a, b, heap[0][2]))
starts = [s[0] for s in seg]
def split(lo, hi):   # {cc: addresses} of [lo, hi)
    out = {}; pos = lo
    i = max(bisect.bisect_right(starts, lo) - 1, 0)
    while i < len(seg) and seg[i][0] < hi:
        a, b, cc = seg[i]
        a2, b2 = max(a, lo), min(b, hi)
        if b2 > a2:
            if a2 > pos: out["ZZ"] = out.get("ZZ", 0) + a2 - pos
            out[cc] = out.get(cc, 0) + b2 - a2
            pos = b2
        i += 1
    if hi > pos: out["ZZ"] = out.get("ZZ", 0) + hi - pos
    return out
have = {}
for line in sys.stdin:
    f = line.rstrip("\n").split("|")
    if len(f) < 7 or f[2] != "B" or ":" in f[5]:
        continue
    n = ipaddress.ip_network(f[5], strict=False)
    if n.prefixlen >= 8:
        have.setdefault((f[3], f[4]), set()).add(n)
big = max(len(v) for v in have.values())
thr = math.ceil(0.8 * big - 1e-9)
ff = [p for p, v in have.items() if len(v) >= thr]
need = math.ceil(0.5 * len(ff) - 1e-9)
seen = {}
for p in ff:
    for n in have[p]:
        seen[n] = seen.get(n, 0) + 1
vis = [n for n, c in seen.items() if c >= need]
npfx = {}
for n in vis:
    lo = int(n.network_address)
    for cc in split(lo, lo + n.num_addresses):
        npfx[cc] = npfx.get(cc, 0) + 1
# maximal visible prefixes <= /24 (aligned blocks nest or are disjoint); each one'"'"'s /24s go
# to its countries by largest remainder of their address shares (ties: larger share, then code)
blk = sorted((int(n.network_address), -n.num_addresses) for n in vis if n.prefixlen <= 24)
addrs = {}; world = 0; end = -1
for lo, neg in blk:
    if lo < end:
        continue
    size = -neg; end = lo + size; world += size
    sh = sorted(split(lo, lo + size).items(), key=lambda x: (-x[1], x[0]))
    got = [c // 256 for _, c in sh]
    rem = [c % 256 for _, c in sh]
    for _ in range(size // 256 - sum(got)):
        j = max((j for j in range(len(sh)) if rem[j]), key=lambda j: (rem[j], -j))
        got[j] += 1; rem[j] = 0
    for (cc, _), g in zip(sh, got):
        addrs[cc] = addrs.get(cc, 0) + g * 256
print("WORLD", world // 256, len(vis))
for cc in sorted(set(addrs) | set(npfx)):
    print(cc, (addrs.get(cc, 0) + 128) // 256, npfx.get(cc, 0), addrs.get(cc, 0))

'
# The RIR files in the order replay --help states: oldest snapshot (the date the name ends
# with) first, then by name.
rir_rule_order() {
	python3 -c 'import sys, os, re
def key(p):
    b = os.path.basename(p); m = re.search(r"(\d{8})$", b)
    return (int(m.group(1)) if m else 0, b, p)
print("\n".join(sorted(sys.argv[1:], key=key)))' "$@"
}

# ---- 2. every country share of a prefix, on the 2002 RIS bview with every RIR file ----
BV=$M/bview.20020722.2337.gz
if ! have_data mrt/bview.20020722.2337.gz || ! ls "$DATA"/rir/delegated-* >/dev/null 2>&1; then
	skip replay_countries_bview2002 "$BV or $DATA/rir/delegated-*: absent"
else
	mapfile -t rirs < <(rir_rule_order "$DATA"/rir/delegated-*)
	xzcat "$BV.bgpdump-m.xz" | python3 -c "$PY_COUNTRIES" "${rirs[@]}" >"$TMP/cc.exp"
	# the files given newest first, then in name order: the answer must not depend on it
	args1=() args2=()
	for ((i = ${#rirs[@]} - 1; i >= 0; i--)); do args1+=(--rir "${rirs[i]}"); done
	for f in "$DATA"/rir/delegated-*; do args2+=(--rir "$f"); done
	"$DARKMAP" replay -q --csv --rows countries "${args1[@]}" "$BV" >"$TMP/cc1.csv" 2>"$TMP/cc1.err"
	check replay_countries_exit "$?" 0
	"$DARKMAP" replay -q --csv --rows countries "${args2[@]}" "$BV" >"$TMP/cc2.csv" 2>/dev/null
	check replay_countries_rir_order_deterministic "$(cmp -s "$TMP/cc1.csv" "$TMP/cc2.csv" && echo same)" same
	awk -F, '$3 == "country" && $5 == 4 && ($6 > 0 || $7 > 0) { print $4, $7, $6 }' "$TMP/cc1.csv" | sort >"$TMP/cc.got"
	awk '$1 != "WORLD" { print $1, $2, $3 }' "$TMP/cc.exp" | sort >"$TMP/cc.want"
	if cmp -s "$TMP/cc.got" "$TMP/cc.want"; then
		ok "replay_countries_each_exact ($(wc -l <"$TMP/cc.want") countries)"
	else
		nok replay_countries_each_exact "$(diff "$TMP/cc.got" "$TMP/cc.want" | head -8 | tr '\n' ' ')"
	fi
	read -r _ world vis < <(grep '^WORLD' "$TMP/cc.exp")
	check replay_countries_world "$(awk -F, '$3 == "global" && $5 == 4 { print $7, $6 }' "$TMP/cc1.csv")" "$world $vis"
	check replay_countries_sum_is_world "$(awk -F, '$3 == "country" && $5 == 4 { s += $7 } END { print s }' "$TMP/cc1.csv")" "$world"
	# the small country inside a multi-country aggregate (docs: 202.58.0.0/16 holds KH's
	# 202.58.96.0/22) keeps its /24s
	check replay_countries_kh "$(awk -F, '$3 == "country" && $4 == "KH" && $5 == 4 { print $7 }' "$TMP/cc1.csv")" \
		"$(awk '$1 == "KH" { print $2 }' "$TMP/cc.exp")"
fi
rm -rf "$TMP"
