# make bench, issue 12: dump -m and decoding against their peers, each timed in the same run on
# the same file (output to /dev/null, whole process, wall clock, best of BENCH_REPS runs taken
# in turns so that a burst of load on the shared machine hits every program alike):
#  - every gz file of ../shared/data/mrt over 1 MB, and the five concatenated: darkmap dump -m
#    against bgpdump -m (goal >= 15x faster) and against decompression alone, gzip -dc (goal
#    <= 0.8x its time) and ISA-L's igzip -dc; darkmap with zlib (DARKMAP_INFLATE=zlib) beside;
#  - the bzip2 files (RouteViews RIBs, 1 MB heads, and an update file): dump -m against bzip2 -dc
#    (goal <= 1.0x) and lbzip2 -dc, which decodes bzip2 blocks in parallel on every core;
#  - decode only, uncompressed, against cat > /dev/null (goal >= 1 GB/s per core): what replay decodes
#    (lazy attributes, bench/decode.c), and eager decoding of every attribute beside it.
set -u
cd "$(dirname "$0")/.."
DATA=${DARKMAP_DATA:-$PWD/../shared/data}
DM=$PWD/build/rel/darkmap
REPS=${BENCH_REPS:-3}
if [ ! -d "$DATA/mrt" ]; then echo "bench dump: $DATA/mrt absent (skip)"; exit 0; fi
command -v bgpdump >/dev/null || { echo "bench dump: bgpdump not installed (skip)"; exit 0; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

# turns NAME CMD...: one timed run of CMD (stdout to /dev/null), the best kept in $TMP/best.NAME
turn() {
	local name=$1 t b
	shift
	t=$( { TIMEFORMAT=%R; time "$@" >/dev/null 2>&1; } 2>&1 )
	b=$(cat "$TMP/best.$name" 2>/dev/null)
	if [ -z "$b" ] || awk "BEGIN{exit !($t < $b)}"; then echo "$t" >"$TMP/best.$name"; fi
}
best() { cat "$TMP/best.$1"; }
x() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a / b; else print "inf" }'; }

gz=$(find "$DATA/mrt" -maxdepth 1 -name '*.gz' -size +1M | sort)
cat $gz >"$TMP/five.gz"

echo "== dump -m on every gz file over 1 MB: against bgpdump -m and decompression alone (best of $REPS)"
printf "%-32s %7s %9s %6s %9s %9s %7s %8s %8s %7s %9s %9s %9s\n" file MB_out lines same dump_s bgpdump_s speedup \
	gzip_s igzip_s x_gzip dump_zlib dump_thr dump_inl
for f in $gz "$TMP/five.gz"; do
	rm -f "$TMP"/best.*
	"$DM" dump -m "$f" >"$TMP/a" 2>/dev/null
	bgpdump -m "$f" >"$TMP/b" 2>/dev/null
	same=no; cmp -s "$TMP/a" "$TMP/b" && same=yes
	for _ in $(seq "$REPS"); do
		turn dm "$DM" dump -m "$f"
		turn bg bgpdump -m "$f"
		turn gz gzip -dc "$f"
		command -v igzip >/dev/null && turn ig igzip -dc "$f"
		DARKMAP_INFLATE=zlib turn zl "$DM" dump -m "$f"
		DARKMAP_DECOMPRESS_THREAD=1 turn th "$DM" dump -m "$f"
		DARKMAP_DECOMPRESS_THREAD=0 turn in "$DM" dump -m "$f"
	done
	mb=$(gzip -dc "$f" | wc -c | awk '{printf "%.1f", $1 / 1e6}')
	name=$(basename "$f"); [ "$name" = five.gz ] && name="the five concatenated"
	printf "%-32s %7s %9s %6s %9s %9s %6sx %8s %8s %6sx %9s %9s %9s\n" "$name" "$mb" "$(wc -l <"$TMP/a")" "$same" \
		"$(best dm)" "$(best bg)" "$(x "$(best bg)" "$(best dm)")" "$(best gz)" "$(best ig 2>/dev/null || echo -)" \
		"$(x "$(best dm)" "$(best gz)")" "$(best zl)" "$(best th)" "$(best in)"
done
echo "(same: byte-identical to bgpdump -m; x_gzip: dump_s / gzip_s, goal <= 0.8; dump_zlib: darkmap with zlib instead"
echo " of ISA-L; dump_thr / dump_inl: the decompression thread forced on / off (by default it runs when the load"
echo " average leaves a core free), DARKMAP_DECOMPRESS_THREAD=1 / 0)"

echo
echo "== dump -m on bzip2 files: against bzip2 -dc and lbzip2 -dc (block-parallel, $(nproc) cores) (best of $REPS)"
echo "(dump_s: blocks on every core, src/io/bz2par.c; 1stream_s: libbz2's one stream on the decompression"
echo " thread, DARKMAP_BZIP2_THREADS=1; load average now: $(cut -d' ' -f1 /proc/loadavg))"
printf "%-40s %7s %7s %9s %9s %9s %9s %8s %9s\n" file MB_out blocks dump_s 1stream_s bzip2_s lbzip2_s x_bzip2 x_lbzip2
for f in $(find "$DATA/mrt" -maxdepth 1 -name '*.bz2' -size +500k | sort); do
	rm -f "$TMP"/best.*
	for _ in $(seq "$REPS"); do
		DARKMAP_DECOMPRESS_THREAD=1 turn dm "$DM" dump -m "$f"
		DARKMAP_DECOMPRESS_THREAD=1 DARKMAP_BZIP2_THREADS=1 turn d1 "$DM" dump -m "$f"
		turn bz bzip2 -dc "$f"
		command -v lbzip2 >/dev/null && turn lb lbzip2 -dc "$f"
	done
	mb=$(bzip2 -dc "$f" 2>/dev/null | wc -c | awk '{printf "%.1f", $1 / 1e6}')
	blocks=$(bzip2 -tvv "$f" 2>&1 | grep -c 'huff+mtf')
	printf "%-40s %7s %7s %9s %9s %9s %9s %7sx %8sx\n" "$(basename "$f")" "$mb" "$blocks" "$(best dm)" "$(best d1)" "$(best bz)" \
		"$(best lb 2>/dev/null || echo -)" "$(x "$(best dm)" "$(best bz)")" "$(x "$(best dm)" "$(best lb 2>/dev/null || echo 0)")"
done

echo
echo "== decode only, uncompressed (8 copies of the file, no output; bench/decode.c says what each row decodes)"
printf "%-48s %8s %10s %10s %12s %10s\n" file MB records decode_s MB/s/core cat_MB/s
for f in updates.et-header.2015.gz bview.20020722.2337.gz; do
	gzip -dc "$DATA/mrt/$f" >"$TMP/raw.mrt"
	for _ in 1 2 3 4 5 6 7 8; do cat "$TMP/raw.mrt"; done >"$TMP/raw8.mrt"
	for mode in "" -a -e -r -f; do
		rm -f "$TMP"/best.*
		b=""; out=""
		for _ in $(seq "$REPS"); do
			o=$(build/rel/bench/decode $mode "$TMP/raw8.mrt" 2>/dev/null)
			s=$(echo "$o" | awk '{print $4}')
			if [ -z "$b" ] || awk "BEGIN{exit !($s < $b)}"; then b=$s; out=$o; fi
			turn cat cat "$TMP/raw8.mrt"
		done
		case "$mode" in
		"") label="$f x8: as replay (lazy + paths + elements)" ;;
		-a) label="  lazy, no path decoded (origin AS from bytes)" ;;
		-e) label="  eager: every attribute (as dump) + elements" ;;
		-r) label="  lazy records only (no elements, no paths)" ;;
		-f) label="  framing only (mrt_reader_next)" ;;
		esac
		echo "$out" | awk -v n="$label" -v c="$(best cat)" \
			'{printf "%-48s %8.1f %10d %10.4f %12.0f %10.0f\n", n, $1/1e6, $2, $4, $5, $1/1e6/c}'
	done
done
exit 0
