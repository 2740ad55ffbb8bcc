#!/usr/bin/env bash
# bzip2's blocks decoded on two threads (src/io/bz2par.c) against libbz2's one stream, both on
# the decompression thread: for every bzip2 file of ../shared/data/mrt (whole files, and the first
# megabyte of RouteViews RIBs, which ends inside a block) and for damaged copies (a flipped byte
# in the middle: a block CRC error; cut in half), `dump -m` prints the same lines and the same
# errors, offsets included. Only the time in the summary line may differ.
source "$(dirname "$0")/../lib.sh"
NAME=dump_bz2par
# the optimised binary: 21 files of up to 15 MB decoded twice (the ASan build takes 4x longer;
# fuzz_reader and the TSan test cover the same code under the sanitizers)
BIN=$ROOT/build/rel/darkmap
files=("$DATA"/mrt/*.bz2)
[ -f "${files[0]}" ] || { skip $NAME "no bzip2 file in $DATA/mrt"; exit 0; }
run() {  # THREADS FILE OUT
	DARKMAP_DECOMPRESS_THREAD=1 DARKMAP_BZIP2_THREADS=$1 "$BIN" dump -m "$2" >"$3.out" 2>"$3.err"
	echo "exit $?" >>"$3.err"
	sed -i 's/, [0-9.]* s$//' "$3.err"
}
for f in "${files[@]}"; do
	b=$(basename "$f")
	size=$(stat -c %s "$f")
	cp "$f" "$TMP/whole.bz2"
	head -c $((size / 2)) "$f" >"$TMP/cut.bz2"
	cp "$f" "$TMP/flip.bz2"
	printf '\x5a' | dd of="$TMP/flip.bz2" bs=1 seek=$((size * 2 / 3)) conv=notrunc 2>/dev/null
	for v in whole cut flip; do
		run 1 "$TMP/$v.bz2" "$TMP/s"
		run 2 "$TMP/$v.bz2" "$TMP/p"
		if cmp -s "$TMP/s.out" "$TMP/p.out" && cmp -s "$TMP/s.err" "$TMP/p.err"; then
			ok "$NAME $b $v: $(wc -l <"$TMP/s.out") lines, $(grep -c . "$TMP/s.err") stderr lines the same"
		else
			nok "$NAME $b $v" "$(diff "$TMP/s.err" "$TMP/p.err" | head -4 | tr '\n' ' ') $(cmp "$TMP/s.out" "$TMP/p.out" 2>&1 | head -1)"
		fi
	done
done
