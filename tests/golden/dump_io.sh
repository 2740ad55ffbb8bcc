#!/usr/bin/env bash
# darkmap dump on inputs that are damaged or hold nothing, at the input layer (src/io, src/mrt
# framing): empty and all-zero inputs are errors (exit 1, naming the file), zero runs are not
# records. Expected record counts come from an independent header walk (python), line counts
# from bgpdump 1.6.2's references (../shared/data/mrt/*.bgpdump-m.xz).
. "$(dirname "$0")/../lib.sh"
[ -n "$TMP_TEST" ] || trap 'rm -rf "$TMP"' EXIT
M=$DATA/mrt
# summary line without the time
summ() { grep '^darkmap dump: [0-9]* file' "$1" | sed 's/, [0-9.]* s$//'; }

# 1. An empty file, empty stdin, a gzip stream of nothing: "empty input", exit 1.
: >"$TMP/empty.mrt"
"$DARKMAP" dump -m "$TMP/empty.mrt" >"$TMP/e.out" 2>"$TMP/e.err"; rc=$?
if [ $rc = 1 ] && [ ! -s "$TMP/e.out" ] && grep -qx "darkmap: $TMP/empty.mrt: offset 0: empty input" "$TMP/e.err" &&
	[ "$(summ "$TMP/e.err")" = "darkmap dump: 1 file, 0 records, 0 lines, 1 error" ]; then ok dump_io:empty-file
else nok dump_io:empty-file "exit $rc; $(tr '\n' ' ' <"$TMP/e.err")"; fi
"$DARKMAP" dump -m - </dev/null >/dev/null 2>"$TMP/e.err"; rc=$?
if [ $rc = 1 ] && grep -qx "darkmap: (stdin): offset 0: empty input" "$TMP/e.err"; then ok dump_io:empty-stdin
else nok dump_io:empty-stdin "exit $rc; $(tr '\n' ' ' <"$TMP/e.err")"; fi
gzip -c <"$TMP/empty.mrt" >"$TMP/empty.gz"
"$DARKMAP" dump -m "$TMP/empty.gz" >/dev/null 2>"$TMP/e.err"; rc=$?
if [ $rc = 1 ] && grep -qx "darkmap: $TMP/empty.gz: offset 0: empty input (the gzip stream holds 0 bytes)" "$TMP/e.err"; then
	ok dump_io:empty-gzip
else nok dump_io:empty-gzip "exit $rc; $(tr '\n' ' ' <"$TMP/e.err")"; fi

# 2. All zero bytes (plain and gzip): no record, the whole size skipped, exit 1 (it was
# "100000 records, 0 lines, 0 errors", exit 0, for 1.2 MB of zeros).
head -c 1200000 /dev/zero >"$TMP/zero.mrt"
gzip -c "$TMP/zero.mrt" >"$TMP/zero.mrt.gz"
for f in zero.mrt zero.mrt.gz; do
	"$DARKMAP" dump -m "$TMP/$f" >"$TMP/z.out" 2>"$TMP/z.err"; rc=$?
	if [ $rc = 1 ] && [ ! -s "$TMP/z.out" ] &&
		grep -qx "darkmap: $TMP/$f: offset 0: no valid MRT record: 1200000 bytes skipped (first header: type 0, subtype 0, length 0)" "$TMP/z.err" &&
		[ "$(summ "$TMP/z.err")" = "darkmap dump: 1 file, 0 records, 0 lines, 1 error" ]; then ok "dump_io:all-zero:$f"
	else nok "dump_io:all-zero:$f" "exit $rc; $(tr '\n' ' ' <"$TMP/z.err")"; fi
done

if ! have_data mrt; then
	skip dump_io:data "../shared/data/mrt absent"
	exit 0
fi
# 3. Zeros after real records are not records: 1121 records (python header walk of the file),
# bgpdump's 3337 lines, one framing error at the end of the real data (72979).
zcat "$M/updates.20020722.2238.gz" >"$TMP/u.mrt"
cp "$TMP/u.mrt" "$TMP/upad.mrt"
head -c 4096 /dev/zero >>"$TMP/upad.mrt"
xzcat "$M/updates.20020722.2238.gz.bgpdump-m.xz" >"$TMP/u.ref"
"$DARKMAP" dump -m "$TMP/upad.mrt" >"$TMP/p.out" 2>"$TMP/p.err"; rc=$?
if [ $rc = 1 ] && cmp -s "$TMP/p.out" "$TMP/u.ref" && grep -q "upad.mrt: offset 72979: .*type 0, subtype 0, length 0" "$TMP/p.err" &&
	[ "$(summ "$TMP/p.err")" = "darkmap dump: 1 file, 1121 records, 3337 lines, 1 error" ]; then ok dump_io:zero-tail-not-records
else nok dump_io:zero-tail-not-records "exit $rc; $(tr '\n' ' ' <"$TMP/p.err")"; fi

# 4. replay: an empty or all-zero input among good ones is reported, exit 1; alone, nothing
# could be replayed: exit 3 (replay's rule for "no record at all").
"$DARKMAP" replay --csv "$TMP/zero.mrt" "$M/updates.20020722.2238.gz" >/dev/null 2>"$TMP/r.err"; rc=$?
if [ $rc = 1 ] && grep -q "zero.mrt: offset 0: no valid MRT record: 1200000 bytes skipped" "$TMP/r.err"; then ok dump_io:replay-zero
else nok dump_io:replay-zero "exit $rc; $(grep darkmap: "$TMP/r.err" | tr '\n' ' ')"; fi
"$DARKMAP" replay --csv "$TMP/empty.mrt" >/dev/null 2>"$TMP/r.err"; rc=$?
if [ $rc = 3 ] && grep -q "empty.mrt: offset 0: empty input" "$TMP/r.err"; then ok dump_io:replay-empty-alone
else nok dump_io:replay-empty-alone "exit $rc; $(grep darkmap: "$TMP/r.err" | tr '\n' ' ')"; fi

# 5. Zero padding after the compressed data (mirrors pad to a block size): gzip -dc and
# bzip2 -dc give the same bytes as without it and exit 0; darkmap prints bgpdump's lines, a note
# (not an error) with where the padding starts (the original file's size), exit 0.
for f in updates.20020722.2238.gz bgpkit-example.updates.bz2; do
	z=${f##*.}; tool=gzip; [ "$z" = bz2 ] && tool=bzip2
	cp "$M/$f" "$TMP/pad.$z"; head -c 1000 /dev/zero >>"$TMP/pad.$z"
	size=$(stat -c %s "$M/$f")
	$tool -dc "$TMP/pad.$z" 2>/dev/null | cmp -s - <($tool -dc "$M/$f"); crc=$?
	"$DARKMAP" dump -m "$TMP/pad.$z" >"$TMP/pad.out" 2>"$TMP/pad.err"; rc=$?
	"$DARKMAP" dump -m - <"$TMP/pad.$z" 2>"$TMP/pad.err2" | cmp -s - "$TMP/pad.out"; src=$?
	if [ $crc = 0 ] && [ $rc = 0 ] && [ $src = 0 ] && xzcat "$M/$f.bgpdump-m.xz" | cmp -s - "$TMP/pad.out" &&
		grep -qx "darkmap: $TMP/pad.$z: note: 1000 zero bytes after the end of the $tool data (compressed offset $size) ignored, as $tool -dc does" "$TMP/pad.err" &&
		grep -q "^darkmap dump: 1 file, [0-9]* records, [0-9]* lines, 0 errors" "$TMP/pad.err" &&
		grep -q "(stdin): note: 1000 zero bytes" "$TMP/pad.err2"; then ok "dump_io:zero-padding:$z"
	else nok "dump_io:zero-padding:$z" "$tool -dc same bytes: $crc; darkmap exit $rc; $(tr '\n' ' ' <"$TMP/pad.err")"; fi
done

# 6. One damaged byte in a real .gz / .bz2: the error names the compressed offset where the
# decoder fails and the uncompressed offset reached, both as python's incremental zlib / bz2
# compute them (decompress_fail.py); the records before it are all read (python header walk),
# their lines are bgpdump's first lines. (It said "offset 0" / multiples of 262144 before.)
for spec in "updates.et-header.2015.gz 316010 255 gzip data corrupt (invalid block type)" \
	"sydney.updates.20220601.0415.bz2 300000 255 bzip2 data corrupt (bad block or block CRC mismatch)"; do
	set -- $spec; f=$1 off=$2 x=$3; shift 3; msg=$*; z=${f##*.}
	python3 -c "import sys; d = bytearray(open(sys.argv[1], 'rb').read()); d[$off] ^= $x; open(sys.argv[2], 'wb').write(d)" "$M/$f" "$TMP/dmg.$z"
	read -r at reached nrec cut _ < <(python3 "$ROOT/tests/golden/decompress_fail.py" "$TMP/dmg.$z" "$z" "$M/$f")
	"$DARKMAP" dump -m "$TMP/dmg.$z" >"$TMP/dmg.out" 2>"$TMP/dmg.err"; rc=$?
	lines=$(wc -l <"$TMP/dmg.out")
	# without the decompression thread: the same bytes and the same message
	DARKMAP_DECOMPRESS_THREAD=0 "$DARKMAP" dump -m "$TMP/dmg.$z" 2>"$TMP/dmg.err0" | cmp -s - "$TMP/dmg.out" &&
		diff <(sed 's/, [0-9.]* s$//' "$TMP/dmg.err") <(sed 's/, [0-9.]* s$//' "$TMP/dmg.err0") >/dev/null; same0=$?
	if [ $rc = 1 ] && [ $same0 = 0 ] && grep -q "dmg.$z: offset $cut: .* record truncated: .*($msg at compressed offset $at, uncompressed $reached)\$" "$TMP/dmg.err" &&
		grep -q "^darkmap dump: 1 file, $nrec records, $lines lines, 1 error" "$TMP/dmg.err" &&
		xzcat "$M/$f.bgpdump-m.xz" | head -n "$lines" | cmp -s - "$TMP/dmg.out"; then ok "dump_io:damaged-offsets:$z"
	else nok "dump_io:damaged-offsets:$z" "exit $rc; python: $at $reached $nrec $cut; $(tr '\n' ' ' <"$TMP/dmg.err" | cut -c1-400)"; fi
done

# 6b. The same for .xz and .zst (a real file recompressed here, byte 100000 flipped): python's
# lzma fed byte by byte, for zstd the zstd tool on prefixes (decompress_fail.py). A decompressor
# may hand out damaged bytes before it notices (LZMA's range decoder does): those records go
# through the MRT reader like any other; every record ending before the first damaged byte
# (decompress_fail.py compares with the original) prints bgpdump's lines, and the damaged bytes
# that do not parse are reported (a framing error at or after that record).
# 6c. bzip2 checks a block's CRC after handing the block out: a bit flipped at byte 200000 of
# sydney.updates.20220601.0415.bz2 garbles the rest of its block (first damaged byte 1958149),
# the MRT reader reports the garbled bytes as lost framing, no line is invented (every line is one
# of bgpdump's for the undamaged file), and the CRC error comes at the block's end: compressed
# offset as python's bz2 finds it; uncompressed: darkmap had the whole block handed out, python's
# module drops the output of the call that fails, so darkmap's is at least python's.
if command -v bgpdump >/dev/null && command -v xz >/dev/null && command -v zstd >/dev/null; then
	f=updates.20070211.0141.gz
	zcat "$M/$f" >"$TMP/x.mrt"
	xz -6 -c "$TMP/x.mrt" >"$TMP/x.xz"; zstd -q -19 -c "$TMP/x.mrt" >"$TMP/x.zst"
	xzcat "$M/$f.bgpdump-m.xz" >"$TMP/x.bref"
	for z in xz zst; do
		python3 -c "import sys; d = bytearray(open(sys.argv[1], 'rb').read()); d[100000] ^= 255; open(sys.argv[2], 'wb').write(d)" "$TMP/x.$z" "$TMP/dmg.$z"
		read -r at reached nrec cut first good < <(python3 "$ROOT/tests/golden/decompress_fail.py" "$TMP/dmg.$z" "$z" "$TMP/x.$z")
		"$DARKMAP" dump -m "$TMP/dmg.$z" >"$TMP/dmg.out" 2>"$TMP/dmg.err"; rc=$?
		head -c "$good" "$TMP/x.mrt" >"$TMP/good.mrt"
		k=$(bgpdump -m "$TMP/good.mrt" 2>/dev/null | wc -l)
		msg="xz data corrupt (compressed data is corrupt)"; [ $z = zst ] && msg="zstd data corrupt (Data corruption detected)"
		# a framing error at or after the first damaged record, when damaged bytes were handed out
		framing_ok=1
		if [ "$first" -lt "$reached" ]; then
			fo=$(grep -o 'offset [0-9]*: MRT framing lost' "$TMP/dmg.err" | head -1 | grep -o '[0-9]*')
			[ -n "$fo" ] && [ "$fo" -ge "$good" ] || framing_ok=0
		fi
		if [ $rc = 1 ] && [ $framing_ok = 1 ] && [ "$k" -gt 1000 ] &&
			grep -q "($msg at compressed offset $at, uncompressed $reached)\$" "$TMP/dmg.err" &&
			head -n "$k" "$TMP/dmg.out" | cmp -s - <(head -n "$k" "$TMP/x.bref"); then ok "dump_io:damaged-offsets:$z"
		else nok "dump_io:damaged-offsets:$z" "exit $rc; python: $at $reached $nrec $cut $first $good; $k lines; $(tr '\n' ' ' <"$TMP/dmg.err" | cut -c1-400)"; fi
	done
	f=sydney.updates.20220601.0415.bz2
	python3 -c "import sys; d = bytearray(open(sys.argv[1], 'rb').read()); d[200000] ^= 1; open(sys.argv[2], 'wb').write(d)" "$M/$f" "$TMP/crc.bz2"
	read -r at reached nrec cut first good < <(python3 "$ROOT/tests/golden/decompress_fail.py" "$TMP/crc.bz2" bz2 "$M/$f")
	"$DARKMAP" dump -m "$TMP/crc.bz2" >"$TMP/crc.out" 2>"$TMP/crc.err"; rc=$?
	bzcat "$M/$f" | head -c "$good" >"$TMP/good.mrt"
	k=$(bgpdump -m "$TMP/good.mrt" 2>/dev/null | wc -l)
	xzcat "$M/$f.bgpdump-m.xz" >"$TMP/crc.bref"
	invented=$(sort "$TMP/crc.out" | comm -23 - <(sort "$TMP/crc.bref") | wc -l)
	dm_reached=$(grep -o 'block CRC mismatch) at compressed offset [0-9]*, uncompressed [0-9]*' "$TMP/crc.err" | grep -o '[0-9]*$')
	fo=$(grep -o 'offset [0-9]*: MRT framing lost' "$TMP/crc.err" | head -1 | grep -o '[0-9]*')
	if [ $rc = 1 ] && [ "$first" -lt "$reached" ] && [ "$invented" = 0 ] && [ -n "$fo" ] && [ "$fo" -ge "$good" ] &&
		[ -n "$dm_reached" ] && [ "$dm_reached" -ge "$reached" ] &&
		grep -q "bzip2 data corrupt (bad block or block CRC mismatch) at compressed offset $at, uncompressed $dm_reached" "$TMP/crc.err" &&
		head -n "$k" "$TMP/crc.out" | cmp -s - <(head -n "$k" "$TMP/crc.bref"); then ok dump_io:bzip2-crc-block
	else nok dump_io:bzip2-crc-block "exit $rc; python: $at $reached $first $good; darkmap $dm_reached, framing at $fo, $invented lines invented; $(tr '\n' ' ' <"$TMP/crc.err" | cut -c1-400)"; fi
else
	skip dump_io:damaged-offsets:xz "bgpdump, xz or zstd absent"
	skip dump_io:damaged-offsets:zst "bgpdump, xz or zstd absent"
	skip dump_io:bzip2-crc-block "bgpdump, xz or zstd absent"
fi

# 7. Bytes after the gzip data that are neither zeros nor a gzip member: an error at the end of
# the data (72979 uncompressed bytes, python header walk) naming where the garbage starts (the
# original size + 1000 zero bytes); every record before is read. It said "offset 0" before.
cp "$M/updates.20020722.2238.gz" "$TMP/garbage.gz"; head -c 1000 /dev/zero >>"$TMP/garbage.gz"; printf 'XYZ' >>"$TMP/garbage.gz"
at=$(( $(stat -c %s "$M/updates.20020722.2238.gz") + 1000 ))
"$DARKMAP" dump -m "$TMP/garbage.gz" >"$TMP/g.out" 2>"$TMP/g.err"; rc=$?
if [ $rc = 1 ] && cmp -s "$TMP/g.out" "$TMP/u.ref" &&
	grep -qx "darkmap: $TMP/garbage.gz: offset 72979: gzip data corrupt (incorrect header check): bytes after the end of the data, at compressed offset $at, are neither a further gzip member nor zero padding" "$TMP/g.err"; then
	ok dump_io:trailing-garbage
else nok dump_io:trailing-garbage "exit $rc; $(tr '\n' ' ' <"$TMP/g.err")"; fi

# 8. A copy of a real file truncated while darkmap dump reads it (it died of SIGBUS, exit 135,
# when plain files were mapped). Deterministic: dump blocks on its output pipe after the reader
# of the pipe took 100 kB (dump is then a few hundred kB into a 13.5 MB input, with at most a
# 1 MiB buffer ahead), the file is cut to 5,000,000 bytes, then the rest of the output drained.
# Expected: the 29062 records that end before the cut (python header walk), bgpdump's lines for
# them, one error at the first record cut (4999908).
zcat "$M/updates.et-header.2015.gz" >"$TMP/cut.mrt"
read -r nrec cut < <(python3 -c "
import struct, sys
d = open(sys.argv[1], 'rb').read(); o = n = 0
while o + 12 <= 5000000 and o + 12 + struct.unpack('>I', d[o + 8:o + 12])[0] <= 5000000:
    o += 12 + struct.unpack('>I', d[o + 8:o + 12])[0]; n += 1
print(n, o)" "$TMP/cut.mrt")
"$DARKMAP" dump -m "$TMP/cut.mrt" 2>"$TMP/cut.err" |
	{ head -c 100000; truncate -s 5000000 "$TMP/cut.mrt"; cat; } >"$TMP/cut.out"
rc=${PIPESTATUS[0]}
lines=$(wc -l <"$TMP/cut.out")
if [ $rc = 1 ] && xzcat "$M/updates.et-header.2015.gz.bgpdump-m.xz" | head -n "$lines" | cmp -s - "$TMP/cut.out" &&
	grep -qx "darkmap: $TMP/cut.mrt: offset $cut: BGP4MP_ET record truncated: length 122, only 80 bytes before the input ends (file truncated while being read: ends at byte 5000000, was 13511326 bytes when opened, 5000000 now)" "$TMP/cut.err" &&
	grep -q "^darkmap dump: 1 file, $nrec records, $lines lines, 1 error" "$TMP/cut.err"; then ok dump_io:truncated-while-read
else nok dump_io:truncated-while-read "exit $rc; python: $nrec records, cut record at $cut; $(tr '\n' ' ' <"$TMP/cut.err" | cut -c1-300)"; fi

# 9. Zeros between two gzip members: gzip -dc stops at them (exit 2, "trailing garbage
# ignored", only the first member's bytes); darkmap reads both members (bgpdump's lines of both
# files) and says what it did differently, exit 0.
{ cat "$M/updates.20020722.2238.gz"; head -c 100 /dev/zero; cat "$M/ris.rrc06.updates.1427846400.gz"; } >"$TMP/two.gz"
gzip -dc "$TMP/two.gz" 2>/dev/null | cmp -s - "$TMP/u.mrt"; gsame=$?
gzip -dc "$TMP/two.gz" >/dev/null 2>&1; grc=$?
"$DARKMAP" dump -m "$TMP/two.gz" >"$TMP/two.out" 2>"$TMP/two.err"; rc=$?
at=$(stat -c %s "$M/updates.20020722.2238.gz")
if [ $gsame = 0 ] && [ $grc = 2 ] && [ $rc = 0 ] && { cat "$TMP/u.ref"; xzcat "$M/ris.rrc06.updates.1427846400.gz.bgpdump-m.xz"; } | cmp -s - "$TMP/two.out" &&
	grep -qx "darkmap: $TMP/two.gz: note: 100 zero bytes between gzip members (from compressed offset $at) skipped and the data after them read (gzip -dc stops at them)" "$TMP/two.err"; then
	ok dump_io:zeros-between-members
else nok dump_io:zeros-between-members "gzip -dc: first member only $gsame, exit $grc; darkmap exit $rc; $(tr '\n' ' ' <"$TMP/two.err")"; fi
