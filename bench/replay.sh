# make bench, issue 4: replay (decode + RIB + signal) in elements/s per core, against
# bgpdump -m on the same input in the same run, with peak RSS and bytes per route.
# The full-scale table: every prefix of the real May-2014 table held by 40 peers, written by
# darkmap's own MRT writer (darkmap scenario --all --peers 40), decompressed once so that both
# programs are timed on decoding, not on bzip2.
set -u
cd "$(dirname "$0")/.."
DATA=${DARKMAP_DATA:-$PWD/../shared/data}
DM=$PWD/build/rel/darkmap
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
echo "== replay (decode + RIB + signal) vs bgpdump -m > /dev/null, same input, same run"
# B/route: the RIB and signal's memory in use per route (replay's own count); peak/route: the
# whole process's peak RSS per route (binary, libraries, mapping data, buffers: all overheads).
# Rows with "(mapping)" load the default mapping sources as a user's replay does (through the
# mapping index, docs/geo.md); the others run --no-geo.
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-40s %10s %9s %9s %11s %8s %10s %9s %10s\n" input elements replay_s cpu_s Melem/s/core bgpdump_s speedup "B/route" "peak/route"
row() { # name, --no-geo or --geo-defaults, files...
	local name=$1 geo=$2; shift 2
	[ "$geo" = --geo-defaults ] && geo=
	/usr/bin/time -f "%e %U %S %M" -o "$TMP/t" "$DM" replay -q $geo "$@" 2>"$TMP/log" >/dev/null
	read -r wall usr sys rss <"$TMP/t"
	local elems bpr routes
	elems=$(sed -n 's/^replay: [0-9]* records, \([0-9]*\) elements.*/\1/p' "$TMP/log")
	bpr=$(sed -n 's/.*MB (\([0-9.]*\) bytes\/route).*/\1/p' "$TMP/log")
	routes=$(sed -n 's/^replay: [0-9]* peers, \([0-9]*\) routes.*/\1/p' "$TMP/log")
	local b0 b1
	b0=$(date +%s.%N); for f in "$@"; do bgpdump -m "$f" >/dev/null 2>&1; done; b1=$(date +%s.%N)
	awk -v n="$name" -v e="$elems" -v w="$wall" -v u="$usr" -v s="$sys" -v b0="$b0" -v b1="$b1" -v bpr="$bpr" -v rss="$rss" -v rt="${routes:-0}" \
		'BEGIN { cpu = u + s; bg = b1 - b0; printf "%-40s %10d %9.2f %9.2f %11.2f %8.2f %9.1fx %9s %10.1f  (peak RSS %.0f MB)\n", n, e, w, cpu, e / cpu / 1e6, bg, bg / w, bpr, rt ? rss * 1024 / rt : 0, rss / 1024 }'
}
row "bview.20020722.2337.gz (RIB)" --no-geo "$DATA/mrt/bview.20020722.2337.gz"
row "updates.et-header.2015.gz" --no-geo "$DATA/mrt/updates.et-header.2015.gz"
"$DM" geo 1.1.1.1 >/dev/null 2>&1   # the mapping index, built once if absent (not timed)
row "updates.et-header.2015.gz (mapping)" --geo-defaults "$DATA/mrt/updates.et-header.2015.gz"
row "rrc01.updates.20241001.0055.gz" --no-geo "$DATA/mrt/rrc01.updates.20241001.0055.gz"
if [ -f "$DATA/asn/ipasn_20140513.dat.gz" ] && [ "${BENCH_FULL_SCALE:-1}" = 1 ]; then
	"$DM" scenario nk-2014 --out "$TMP/full" --table "$DATA/asn/ipasn_20140513.dat.gz" --all --peers 40 \
		--from 2014-12-22T15:00 --to 2014-12-22T18:00 --ris-interval 15 >/dev/null 2>&1
	bzcat "$TMP"/full/route-views.sim/bgpdata/2014.12/RIBS/rib.*.bz2 >"$TMP/rib-rv.mrt"
	zcat "$TMP"/full/rrc.sim/2014.12/bview.*.gz >"$TMP/bview-ris.mrt"
	row "full scale: 40 peers x 512,621 pfx" --no-geo "$TMP/rib-rv.mrt" "$TMP/bview-ris.mrt"
else
	echo "full-scale row skipped: $DATA/asn/ipasn_20140513.dat.gz absent or BENCH_FULL_SCALE=0"
fi
