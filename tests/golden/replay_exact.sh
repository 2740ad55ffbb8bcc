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
rm -rf "$TMP"
