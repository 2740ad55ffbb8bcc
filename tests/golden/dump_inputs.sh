#!/usr/bin/env bash
# darkmap dump input handling: stdin ('-') for every compression (gzip, bzip2, xz, zstd, none),
# concatenated compressed streams on stdin, several files in one command, usage errors and a
# missing file. Expected outputs are bgpdump 1.6.2's (../shared/data/mrt/*.bgpdump-m.xz).
. "$(dirname "$0")/../lib.sh"
if ! have_data mrt; then
	skip dump_inputs "../shared/data/mrt absent"
	exit 0
fi
M=$DATA/mrt
ref() { xzcat "$M/$1.bgpdump-m.xz"; }

# stdin, each compression: the same bytes as bgpdump on the file.
ref updates.20020722.2238.gz >"$TMP/u.ref"
zcat "$M/updates.20020722.2238.gz" >"$TMP/u.mrt"
xz -c "$TMP/u.mrt" >"$TMP/u.mrt.xz"
if command -v zstd >/dev/null; then zstd -q -c "$TMP/u.mrt" >"$TMP/u.mrt.zst"; fi
for src in "$M/updates.20020722.2238.gz" "$TMP/u.mrt" "$TMP/u.mrt.xz" "$TMP/u.mrt.zst"; do
	[ -f "$src" ] || { skip "dump_inputs:stdin:${src##*.}" "zstd not installed"; continue; }
	"$DARKMAP" dump -m - <"$src" >"$TMP/stdin.out" 2>"$TMP/stdin.err"
	rc=$?
	if [ $rc = 0 ] && cmp -s "$TMP/stdin.out" "$TMP/u.ref"; then ok "dump_inputs:stdin:${src##*.}"
	else nok "dump_inputs:stdin:${src##*.}" "exit $rc, $(diff "$TMP/u.ref" "$TMP/stdin.out" | wc -l) diff lines"; fi
done
ref bgpkit-example.updates.bz2 >"$TMP/b.ref"
"$DARKMAP" dump -m - <"$M/bgpkit-example.updates.bz2" >"$TMP/b.out" 2>/dev/null
if cmp -s "$TMP/b.out" "$TMP/b.ref"; then ok dump_inputs:stdin:bz2; else nok dump_inputs:stdin:bz2 "differs from bgpdump"; fi

# Two gzip members concatenated (MRT files concatenate): both files' lines, in order.
cat "$M/updates.20020722.2238.gz" "$M/ris.rrc06.updates.1427846400.gz" |
	"$DARKMAP" dump -m - >"$TMP/cat.out" 2>/dev/null
{ ref updates.20020722.2238.gz; ref ris.rrc06.updates.1427846400.gz; } >"$TMP/cat.ref"
if cmp -s "$TMP/cat.out" "$TMP/cat.ref"; then ok dump_inputs:concatenated-gzip
else nok dump_inputs:concatenated-gzip "$(diff "$TMP/cat.ref" "$TMP/cat.out" | wc -l) diff lines"; fi

# Several files in one command: outputs in order; the summary counts all of them
# (records per PROVENANCE.md framing scan: 85 + 1121 + 1756; lines: 268 + 3337 + 8611).
(cd "$M" && "$DARKMAP" dump -m bgpkit-example.updates.bz2 updates.20020722.2238.gz \
	routeviews.route-views.jinx.updates.1427846400.bz2) >"$TMP/multi.out" 2>"$TMP/multi.err"
rc=$?
{ ref bgpkit-example.updates.bz2; ref updates.20020722.2238.gz; ref routeviews.route-views.jinx.updates.1427846400.bz2; } >"$TMP/multi.ref"
if [ $rc = 0 ] && cmp -s "$TMP/multi.out" "$TMP/multi.ref"; then ok dump_inputs:several-files
else nok dump_inputs:several-files "exit $rc, $(diff "$TMP/multi.ref" "$TMP/multi.out" | wc -l) diff lines"; fi
if grep -q '^darkmap dump: 3 files, 2962 records, 12216 lines, 0 errors' "$TMP/multi.err"; then ok dump_inputs:summary
else nok dump_inputs:summary "got: $(grep '^darkmap dump:' "$TMP/multi.err" | head -1)"; fi

# -M on a file: same line count as -m, bgpdump -M's first line.
(cd "$M" && "$DARKMAP" dump -M updates.et-header.2015.gz 2>/dev/null | head -2) >"$TMP/bigm.out"
if [ "$(head -1 "$TMP/bigm.out")" = "BGP4MP_ET|10/23/15 02:01:18.509481|STATE|206.220.231.55|3856|1|2" ]; then ok dump_inputs:-M
else nok dump_inputs:-M "got $(head -1 "$TMP/bigm.out")"; fi

# Usage and missing files.
"$DARKMAP" dump >/dev/null 2>&1; rc=$?
[ $rc = 2 ] && ok dump_inputs:no-file-usage || nok dump_inputs:no-file-usage "exit $rc, expected 2"
"$DARKMAP" dump --bogus x >/dev/null 2>&1; rc=$?
[ $rc = 2 ] && ok dump_inputs:bad-option || nok dump_inputs:bad-option "exit $rc, expected 2"
"$DARKMAP" dump --help >"$TMP/help.out" 2>&1; rc=$?
if [ $rc = 0 ] && grep -q '^usage: darkmap dump' "$TMP/help.out"; then ok dump_inputs:help; else nok dump_inputs:help "exit $rc"; fi
"$DARKMAP" dump -m "$TMP/does-not-exist.mrt" "$M/bgpkit-example.updates.bz2" >"$TMP/miss.out" 2>"$TMP/miss.err"; rc=$?
if [ $rc = 1 ] && grep -q 'does-not-exist.mrt' "$TMP/miss.err" && cmp -s "$TMP/miss.out" "$TMP/b.ref"; then
	ok dump_inputs:missing-file-goes-on
else
	nok dump_inputs:missing-file-goes-on "exit $rc; $(head -2 "$TMP/miss.err" | tr '\n' ' ')"
fi

# More damage than the resynchronisation window (16 MiB): the report and what follows do not depend
# on how the input comes (mapped, gzip inflated in line, by the decompression thread). 17 MiB of
# 0xff (never a header) between two copies of the 2002 updates: both copies' lines, and exactly two
# framing errors, the window (16,777,216 bytes) then the rest (1,048,576) up to the second copy.
{ cat "$TMP/u.mrt"; head -c 17825792 /dev/zero | tr '\0' '\377'; cat "$TMP/u.mrt"; } >"$TMP/wide.mrt"
gzip -1 -c "$TMP/wide.mrt" >"$TMP/wide.mrt.gz"
cat "$TMP/u.ref" "$TMP/u.ref" >"$TMP/wide.ref"
usz=$(stat -c %s "$TMP/u.mrt")
exp1="offset $usz: MRT framing lost: impossible header (type 65535, subtype 65535, length 4294967295); no plausible record follows, 16777216 bytes skipped"
exp2="offset $((usz + 16777216)): MRT framing lost: impossible header (type 65535, subtype 65535, length 4294967295); skipped 1048576 bytes to the next plausible record at offset $((usz + 17825792))"
for mode in plain:0 gz:0 gz:1; do
	src=$TMP/wide.mrt; [ "${mode%:*}" = gz ] && src=$TMP/wide.mrt.gz
	DARKMAP_DECOMPRESS_THREAD=${mode#*:} DARKMAP_DUMP_THREAD=${mode#*:} "$DARKMAP" dump -m "$src" >"$TMP/wide.out" 2>"$TMP/wide.err"
	rc=$?
	errs=$(grep -c 'framing lost' "$TMP/wide.err")
	if [ $rc = 1 ] && cmp -s "$TMP/wide.out" "$TMP/wide.ref" && [ "$errs" = 2 ] &&
		grep -qF "$src: $exp1" "$TMP/wide.err" && grep -qF "$src: $exp2" "$TMP/wide.err"; then
		ok "dump_inputs:damage-wider-than-window:$mode"
	else
		nok "dump_inputs:damage-wider-than-window:$mode" "exit $rc, $errs framing errors: $(head -2 "$TMP/wide.err" | tr '\n' ' ')"
	fi
done

# An archive of another time after the first in one stream, its records declared 4 bytes short as in
# every RIS bview of 2000 (fix_short_length): a new time must chain over the short lengths, or the
# second archive is lost whole (it was: the 2000 bview after the 2002 one gave 16 MiB skipped and
# 56 of its 452,018 lines), and the last short record must reach the next archive's first header
# (it did not: 4 bytes skipped as framing, the record read short). The 2000 bview's first 20
# records (156,953 bytes) after the 2002 updates, and before them: the updates' bgpdump lines and
# the 2000 records' lines as read alone, in every input mode, and the same 20 length reports at
# the same records (moved by the first file's size when they come second).
zcat "$M/rrc00.bview.20000111.0032.gz" | head -c 156953 >"$TMP/b2000.mrt"
"$DARKMAP" dump -m "$TMP/b2000.mrt" >"$TMP/b2000.out" 2>"$TMP/b2000.err"
for order in after before; do
	if [ $order = after ]; then
		cat "$TMP/u.mrt" "$TMP/b2000.mrt" >"$TMP/newtime.mrt"; cat "$TMP/u.ref" "$TMP/b2000.out" >"$TMP/newtime.ref"; d=$usz
	else
		cat "$TMP/b2000.mrt" "$TMP/u.mrt" >"$TMP/newtime.mrt"; cat "$TMP/b2000.out" "$TMP/u.ref" >"$TMP/newtime.ref"; d=0
	fi
	grep -o 'offset [0-9]*: TABLE_DUMP record declares length [0-9]*, 4 bytes short' "$TMP/b2000.err" |
		awk -v d="$d" '{ sub(":", "", $2); $2 = $2 + d; print }' >"$TMP/b2000.short"
	gzip -1 -c "$TMP/newtime.mrt" >"$TMP/newtime.mrt.gz"
	for mode in plain:0 gz:0 gz:1; do
		src=$TMP/newtime.mrt; [ "${mode%:*}" = gz ] && src=$TMP/newtime.mrt.gz
		DARKMAP_DECOMPRESS_THREAD=${mode#*:} DARKMAP_DUMP_THREAD=${mode#*:} "$DARKMAP" dump -m "$src" >"$TMP/nt.out" 2>"$TMP/nt.err"
		rc=$?
		grep -o 'offset [0-9]*: TABLE_DUMP record declares length [0-9]*, 4 bytes short' "$TMP/nt.err" |
			awk '{ sub(":", "", $2); print }' >"$TMP/nt.short"
		name="dump_inputs:new-time-short-lengths:$order:$mode"
		if [ $rc = 1 ] && [ "$(wc -l <"$TMP/b2000.short")" = 20 ] && cmp -s "$TMP/nt.short" "$TMP/b2000.short" &&
			! grep -q 'framing lost' "$TMP/nt.err" && [ -s "$TMP/b2000.out" ] && cmp -s "$TMP/nt.out" "$TMP/newtime.ref"; then
			ok "$name"
		else
			nok "$name" "exit $rc, $(wc -l <"$TMP/nt.out") of $(wc -l <"$TMP/newtime.ref") lines; $(grep -v 'bytes short' "$TMP/nt.err" | head -2 | tr '\n' ' ')"
		fi
	done
done
