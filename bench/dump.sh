# make bench, issue 12: dump -m and decoding against their peers, each timed in the same run on
# the same file (output to /dev/null, whole process). The runs take 35-120 ms on a shared
# 2-core machine, where one burst of load moves a single time by half: every measure is the
# MEDIAN of BENCH_REPS rounds (9 by default), each round running darkmap and its peers one after
# the other, and each "x" ratio is the median of the rounds' own ratios (darkmap's time over the
# peer's in the same round), which a load that drifts during the run moves least. CPU seconds
# (user + system, all threads) are printed beside: they do not depend on the load.
#  - every gz file of ../shared/data/mrt over 1 MB, and the five concatenated: darkmap dump -m
#    against bgpdump -m (goal >= 15x faster) and against decompression alone, gzip -dc (goal
#    <= 0.8x its time) and ISA-L's igzip -dc; beside, darkmap with zlib (DARKMAP_INFLATE=zlib),
#    with the two decoding threads forced on and with everything on one thread;
#  - the bzip2 files (RouteViews RIBs, 1 MB heads, and an update file): dump -m against bzip2 -dc
#    (goal <= 1.0x) and lbzip2 -dc, which decodes bzip2 blocks in parallel on every core;
#  - decode only, uncompressed, against cat > /dev/null (goal >= 1 GB/s per core): what replay decodes
#    (lazy attributes, bench/decode.c), and eager decoding of every attribute beside it; the rows
#    interleaved round by round (BENCH_DECODE_REPS, 5), the best round and the median printed.
#    Beside them, in the same rounds, the decoder as it was when issue 12 was filed (commit
#    REF_COMMIT, built once from git history into build/bench-ref/): the goal was set as 1 GB/s
#    when this measure read 615 MB/s (updates) and 577 (bview) on the machines of then, so the
#    ratio of today's decoder to that one in the same rounds (goal >= 1.63 and 1.73) is the goal
#    in a form that does not move with the machine's speed, which here moves by the minute.
set -u
cd "$(dirname "$0")/.."
DATA=${DARKMAP_DATA:-$PWD/../shared/data}
DM=${DARKMAP_BENCH_BIN:-$PWD/build/rel/darkmap}   # DARKMAP_BENCH_BIN: another build, to compare
REPS=${BENCH_REPS:-9}
BG_REPS=${BENCH_BGPDUMP_REPS:-3}   # bgpdump takes 15-25x longer: fewer rounds
if [ ! -d "$DATA/mrt" ]; then echo "bench dump: $DATA/mrt absent (skip)"; exit 0; fi
command -v bgpdump >/dev/null || { echo "bench dump: bgpdump not installed (skip)"; exit 0; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

# turn NAME CMD...: one timed run of CMD (stdout to /dev/null); "wall cpu" appended to $TMP/t.NAME
turn() {
	local name=$1 t
	shift
	t=$( { TIMEFORMAT='%R %U %S'; time "$@" >/dev/null 2>&1; } 2>&1 )
	echo "$t" | awk '{printf "%.3f %.3f\n", $1, $2 + $3}' >>"$TMP/t.$name"
}
# median of column COL (1 wall, 2 cpu) of $TMP/t.NAME, or of any one-column file
median() { sort -g "$2" 2>/dev/null | awk -v c="$1" '{v[NR] = $c} END {if (!NR) {print "-"; exit}
	printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
wall() { [ -s "$TMP/t.$1" ] && sort -k1,1g "$TMP/t.$1" | median 1 /dev/stdin || echo -; }
cpu() { [ -s "$TMP/t.$1" ] && sort -k2,2g "$TMP/t.$1" | awk '{print $2}' | median 1 /dev/stdin || echo -; }
# pairx A B: median over the rounds of A's wall time / B's in the same round
pairx() { paste -d' ' "$TMP/t.$1" "$TMP/t.$2" 2>/dev/null | awk '$3 > 0 {printf "%.4f\n", $1 / $3}' >"$TMP/r"
	[ -s "$TMP/r" ] && median 1 "$TMP/r" | awk '{printf "%.2f", $1}' || echo -; }
x() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a / b; else print "inf" }'; }

# BENCH_DUMP_PARTS="gz bz2 decode" (the default): which of the three parts run
parts=" ${BENCH_DUMP_PARTS:-gz bz2 decode} "
part() { [[ "$parts" == *" $1 "* ]]; }

gz=$(find "$DATA/mrt" -maxdepth 1 -name '*.gz' -size +1M | sort)
cat $gz >"$TMP/five.gz"

if part gz; then
echo "== dump -m on every gz file over 1 MB: against bgpdump -m and decompression alone (medians of $REPS rounds)"
printf "%-29s %6s %8s %4s %7s %7s %7s %7s %6s %6s %7s %7s %7s %7s %7s\n" file MB_out lines same dump_s bgpd_s speedup \
	gzip_s igzip_s x_gzip dump_cpu gzip_cpu dump_zl dump_2th dump_1th
for f in $gz "$TMP/five.gz"; do
	rm -f "$TMP"/t.*
	"$DM" dump -m "$f" >"$TMP/a" 2>/dev/null
	bgpdump -m "$f" >"$TMP/b" 2>/dev/null
	same=no; cmp -s "$TMP/a" "$TMP/b" && same=yes
	for i in $(seq "$REPS"); do
		turn dm "$DM" dump -m "$f"
		turn gz gzip -dc "$f"
		[ "$i" -le "$BG_REPS" ] && turn bg bgpdump -m "$f"
		command -v igzip >/dev/null && turn ig igzip -dc "$f"
		DARKMAP_INFLATE=zlib turn zl "$DM" dump -m "$f"
		DARKMAP_DECOMPRESS_THREAD=1 DARKMAP_DUMP_THREAD=1 turn th "$DM" dump -m "$f"
		DARKMAP_DECOMPRESS_THREAD=0 DARKMAP_DUMP_THREAD=0 turn in "$DM" dump -m "$f"
	done
	mb=$(gzip -dc "$f" | wc -c | awk '{printf "%.1f", $1 / 1e6}')
	name=$(basename "$f"); [ "$name" = five.gz ] && name="the five concatenated"
	printf "%-29s %6s %8s %4s %7s %7s %6sx %7s %7s %5sx %7s %7s %7s %7s %7s\n" "$name" "$mb" "$(wc -l <"$TMP/a")" "$same" \
		"$(wall dm)" "$(wall bg)" "$(x "$(wall bg)" "$(wall dm)")" "$(wall gz)" "$(wall ig)" \
		"$(pairx dm gz)" "$(cpu dm)" "$(cpu gz)" "$(wall zl)" "$(wall th)" "$(wall in)"
done
echo "(same: byte-identical to bgpdump -m; x_gzip: median of the rounds' dump_s / gzip_s, goal <= 0.8; *_cpu: user +"
echo " system seconds, all threads; dump_zl: darkmap with zlib instead of ISA-L; dump_2th: decompression and the second"
echo " decoding thread forced on (DARKMAP_DECOMPRESS_THREAD=1 DARKMAP_DUMP_THREAD=1; by default each runs when a core is"
echo " free: src/base/cpu.c); dump_1th: everything on one thread (both =0); load average now: $(cut -d' ' -f1 /proc/loadavg))"
echo
fi

if part bz2; then
echo "== dump -m on bzip2 files: against bzip2 -dc and lbzip2 -dc (block-parallel, $(nproc) cores) (medians of $REPS rounds)"
echo "(dump_s: blocks on every core, src/io/bz2par.c, and the second decoding thread; 1stream_s: libbz2's one stream on"
echo " the decompression thread, DARKMAP_BZIP2_THREADS=1; x_*: medians of the rounds' ratios; *_cpu: user + system s)"
printf "%-40s %6s %6s %8s %9s %8s %8s %7s %8s %8s %8s\n" file MB_out blocks dump_s 1stream_s bzip2_s lbzip2_s x_bzip2 x_lbzip2 \
	dump_cpu bz2_cpu
for f in $(find "$DATA/mrt" -maxdepth 1 -name '*.bz2' -size +500k | sort); do
	rm -f "$TMP"/t.*
	for _ in $(seq "$REPS"); do
		DARKMAP_DECOMPRESS_THREAD=1 DARKMAP_DUMP_THREAD=1 turn dm "$DM" dump -m "$f"
		turn bz bzip2 -dc "$f"
		command -v lbzip2 >/dev/null && turn lb lbzip2 -dc "$f"
		DARKMAP_DECOMPRESS_THREAD=1 DARKMAP_BZIP2_THREADS=1 turn d1 "$DM" dump -m "$f"
	done
	mb=$(bzip2 -dc "$f" 2>/dev/null | wc -c | awk '{printf "%.1f", $1 / 1e6}')
	blocks=$(bzip2 -tvv "$f" 2>&1 | grep -c 'huff+mtf')
	printf "%-40s %6s %6s %8s %9s %8s %8s %6sx %7sx %8s %8s\n" "$(basename "$f")" "$mb" "$blocks" "$(wall dm)" "$(wall d1)" \
		"$(wall bz)" "$(wall lb)" "$(pairx dm bz)" "$(pairx dm lb)" "$(cpu dm)" "$(cpu bz)"
done
echo
fi

part decode || exit 0
reps=${BENCH_DECODE_REPS:-5}
# The reference: bench/decode of the last commit before issue 12's first (eager decoding of every
# attribute + element iteration, what replay did then), built once per checkout.
REF_COMMIT=ccf21c4
ref=build/bench-ref/$REF_COMMIT/build/rel/bench/decode
if [ ! -x "$ref" ]; then
	if git cat-file -e "$REF_COMMIT^{commit}" 2>/dev/null; then
		rm -rf "build/bench-ref/$REF_COMMIT"
		mkdir -p "build/bench-ref/$REF_COMMIT"
		git archive "$REF_COMMIT" | tar -x -C "build/bench-ref/$REF_COMMIT" &&
			make -C "build/bench-ref/$REF_COMMIT" -j2 build/rel/bench/decode >"build/bench-ref/$REF_COMMIT.log" 2>&1 ||
			echo "(the reference decoder did not build: build/bench-ref/$REF_COMMIT.log)"
	else
		echo "(no git history with commit $REF_COMMIT here: the reference decoder's rows are left out)"
	fi
fi
[ -x "$ref" ] || ref=
# decode_row LABEL FILE: the best round (least seconds) of bench/decode's lines in FILE, the median MB/s
decode_row() {
	local med
	med=$(awk '{print $5}' "$2" | median 1 /dev/stdin)
	sort -k4,4g "$2" | head -1 | awk -v n="$1" -v c="$(wall cat)" -v med="$med" \
		'{printf "%-48s %8.1f %10d %10.4f %12.0f %8.0f %10.0f\n", n, $1 / 1e6, $2, $4, $5, med, $1 / 1e6 / c}'
}
echo "== decode only, uncompressed (8 copies of the file, no output; bench/decode.c says what each row decodes;"
echo "   $reps rounds, each running every row and cat once in turn, the reference twice: MB/s/core is the best"
echo "   round, med the median)"
printf "%-48s %8s %10s %10s %12s %8s %10s\n" file MB records decode_s MB/s/core med cat_MB/s
for f in updates.et-header.2015.gz bview.20020722.2337.gz; do
	gzip -dc "$DATA/mrt/$f" >"$TMP/raw.mrt"
	for _ in 1 2 3 4 5 6 7 8; do cat "$TMP/raw.mrt"; done >"$TMP/raw8.mrt"
	rm -f "$TMP"/t.* "$TMP"/d.*
	# the rows interleaved, not one row's rounds after the other's: these machines' speed moves
	# by the minute (the same binary 0.110-0.196 s within two minutes), and a row timed in one
	# slow minute read as a slower decoder
	for _ in $(seq "$reps"); do
		# the reference just before and just after today's "as replay" row, which it is compared
		# with: the mean of the two against the one between cancels a drift within the round.
		# The round's seconds of the three (a run that printed nothing leaves its round out).
		pair=
		for mode in ref r0 ref -p -e -r -f; do
			m=$mode; [ "$m" = r0 ] && m=""
			bin=build/rel/bench/decode
			[ "$mode" = ref ] && { [ -n "$ref" ] || continue; bin=$ref; m=""; }
			line=$("$bin" $m "$TMP/raw8.mrt" 2>/dev/null)
			[ -n "$line" ] && echo "$line" >>"$TMP/d.$mode"
			[ "$mode" = ref ] || [ "$mode" = r0 ] && pair="$pair $(echo "$line" | awk '{print $4}')"
		done
		# each round's ratio: the reference's seconds (the mean of its two runs) over today's
		echo "$pair" | awk 'NF == 3 && $2 > 0 {printf "%.4f\n", ($1 + $3) / 2 / $2}' >>"$TMP/d.ratio"
		turn cat cat "$TMP/raw8.mrt"
	done
	for mode in r0 -p -e -r -f; do
		case "$mode" in
		r0) label="$f x8: as replay (lazy + elements)" ;;
		-p) label="  lazy + paths decoded (replay for a cluster)" ;;
		-e) label="  eager: every attribute (as dump) + elements" ;;
		-r) label="  lazy records only (no elements, no paths)" ;;
		-f) label="  framing only (mrt_reader_next)" ;;
		esac
		decode_row "$label" "$TMP/d.$mode"
	done
	if [ -s "$TMP/d.ratio" ]; then
		decode_row "  the decoder of issue 12's filing ($REF_COMMIT)" "$TMP/d.ref"
		case "$f" in updates*) then=615 ;; *) then=577 ;; esac
		awk -v t="$then" -v r="$(median 1 "$TMP/d.ratio")" -v all="$(sort -g "$TMP/d.ratio" | awk '{printf " %.2f", $1}')" 'BEGIN {
			printf "  today / filing: %.2fx, median of the per-round ratios (%s); goal %.2fx = 1,000 / %d MB/s\n",
				r, substr(all, 2), 1000 / t, t }'
	fi
done
exit 0
