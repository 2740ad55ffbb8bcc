# make bench, issue 4: replay (decode + RIB + signal) in elements/s per core, against
# bgpdump -m on the same input in the same run, with peak RSS and bytes per route.
# The full-scale table: every prefix of the real May-2014 table held by 40 peers, written by
# darkmap's own MRT writer (darkmap scenario --all --peers 40), decompressed once so that both
# programs are timed on decoding, not on bzip2.
set -u
cd "$(dirname "$0")/.."
DATA=${DARKMAP_DATA:-$PWD/../shared/data}
DM=${BENCH_DARKMAP:-$PWD/build/rel/darkmap}   # BENCH_DARKMAP: another build, e.g. a "before" one
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
echo "== replay (decode + RIB + signal) vs bgpdump -m > /dev/null, same input, same run"
# B/route: the RIB and signal's memory in use per route (replay's own count); peak/route: the
# whole process's peak RSS per route (binary, libraries, mapping data, buffers: all overheads).
# Rows with "(mapping)" load the default mapping sources as a user's replay does (through the
# mapping index, docs/geo.md); the others run --no-geo.
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-40s %10s %9s %9s %11s %8s %10s %9s %10s %9s\n" input elements replay_s cpu_s Melem/s/core bgpdump_s speedup "B/route" "peak/route" cpu_ratio
# Each row is ROUNDS rounds (BENCH_REPLAY_ROUNDS, 5; the full-scale row 1: bgpdump takes a
# minute there), each round darkmap then bgpdump on the same files; the row prints medians, and
# the speedup is the median of the rounds' own ratios (in the full-scale row's one round darkmap
# runs 3 times, BENCH_FULL_DM_REPS, and its median run by CPU counts: single runs there differed
# by 1.5x on the quiet machine, 0.4-1.5 s of system time each): this virtual machine's speed drifts by
# 20-40% within an hour, which a single run pair takes whole. cpu_ratio: the median of the
# rounds' bgpdump CPU seconds over darkmap's (user + sys): on a loaded machine the wall clock is
# the scheduler's, CPU seconds much less so. BENCH_REPLAY_ROWS=one runs only the one-table rows.
ROUNDS=${BENCH_REPLAY_ROUNDS:-5}
ONLY=${BENCH_REPLAY_ROWS:-all}
row() { # name, --no-geo or --geo-defaults, files...
	local name=$1 geo=$2; shift 2
	[ "$geo" = --geo-defaults ] && geo=
	local r elems bpr routes b0 b1
	: >"$TMP/rounds"
	for r in $(seq "$ROUNDS"); do
		: >"$TMP/dmt"
		for _ in $(seq "${DM_REPS:-1}"); do
			# timed as bgpdump is below: the clock read around time(1) and a shell (which
			# execs darkmap; bgpdump's loops over the files), not time's %e, which has 10 ms
			# steps (6% of a one-table replay)
			d0=$(date +%s.%N)
			/usr/bin/time -f "%U %S %M" -o "$TMP/t" sh -c 'exec "$@"' sh "$DM" replay -q $geo "$@" 2>"$TMP/log" >/dev/null
			d1=$(date +%s.%N)
			echo "$(awk -v a="$d0" -v b="$d1" 'BEGIN { printf "%.4f", b - a }') $(cat "$TMP/t")" >>"$TMP/dmt"
		done
		# darkmap's run of the round: the median by CPU seconds of its DM_REPS runs
		awk '{print $2 + $3, $0}' "$TMP/dmt" | sort -g | awk -v k="${DM_REPS:-1}" 'NR == int((k + 1) / 2) {print $2, $3, $4, $5}' >"$TMP/t"
		b0=$(date +%s.%N)
		/usr/bin/time -f "%U %S" -o "$TMP/bt" sh -c 'for f; do bgpdump -m "$f" >/dev/null 2>&1; done' sh "$@"
		b1=$(date +%s.%N)
		echo "$(cat "$TMP/t") $b0 $b1 $(cat "$TMP/bt")" >>"$TMP/rounds"
	done
	elems=$(sed -n 's/^replay: [0-9]* records, \([0-9]*\) elements.*/\1/p' "$TMP/log")
	bpr=$(sed -n 's/.*MB (\([0-9.]*\) bytes\/route).*/\1/p' "$TMP/log")
	routes=$(sed -n 's/^replay: [0-9]* peers, \([0-9]*\) routes.*/\1/p' "$TMP/log")
	awk -v n="$name" -v e="$elems" -v bpr="$bpr" -v rt="${routes:-0}" '
		function med(v, k,   i, j, t) { for (i = 2; i <= k; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
			return k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2 }
		{ k++; w[k] = $1; c[k] = $2 + $3; m[k] = $4; g[k] = $6 - $5; x[k] = g[k] / $1; y[k] = ($7 + $8) / ($2 + $3 > 0 ? $2 + $3 : 0.01) }
		END { W = med(w, k); C = med(c, k); M = med(m, k); G = med(g, k); X = med(x, k); Y = med(y, k)
			printf "%-40s %10d %9.2f %9.2f %11.2f %8.2f %9.1fx %9s %10.1f %8.1fx  (peak RSS %.0f MB; %d rounds)\n", n, e, W, C, e / C / 1e6, G, X, bpr, rt ? M * 1024 / rt : 0, Y, M / 1024, k }' "$TMP/rounds"
}
[ "$ONLY" = one ] || row "bview.20020722.2337.gz (RIB)" --no-geo "$DATA/mrt/bview.20020722.2337.gz"
row "updates.et-header.2015.gz" --no-geo "$DATA/mrt/updates.et-header.2015.gz"
"$DM" geo 1.1.1.1 >/dev/null 2>&1   # the mapping index, built once if absent (not timed)
row "updates.et-header.2015.gz (mapping)" --geo-defaults "$DATA/mrt/updates.et-header.2015.gz"
[ "$ONLY" = one ] && exit 0
row "rrc01.updates.20241001.0055.gz" --no-geo "$DATA/mrt/rrc01.updates.20241001.0055.gz"
if [ -f "$DATA/asn/ipasn_20140513.dat.gz" ] && [ "${BENCH_FULL_SCALE:-1}" = 1 ]; then
	"$DM" scenario nk-2014 --out "$TMP/full" --table "$DATA/asn/ipasn_20140513.dat.gz" --all --peers 40 \
		--from 2014-12-22T15:00 --to 2014-12-22T18:00 --ris-interval 15 >/dev/null 2>&1
	bzcat "$TMP"/full/route-views.sim/bgpdata/2014.12/RIBS/rib.*.bz2 >"$TMP/rib-rv.mrt"
	zcat "$TMP"/full/rrc.sim/2014.12/bview.*.gz >"$TMP/bview-ris.mrt"
	ROUNDS=1 DM_REPS=${BENCH_FULL_DM_REPS:-3} row "full scale: 40 peers x 512,621 pfx" --no-geo "$TMP/rib-rv.mrt" "$TMP/bview-ris.mrt"
else
	echo "full-scale row skipped: $DATA/asn/ipasn_20140513.dat.gz absent or BENCH_FULL_SCALE=0"
fi
