#!/usr/bin/env bash
# Recovery after damage (issue 9), the cheap version of bench/damage.sh: 30 damaged copies of
# the real archives of at most 1 MB (tests/damage/damage.py, seed 1: five of each kind: zero run,
# bit flip in a length, a type, a timestamp, cut file, spliced files). On each copy darkmap must
# print every line bgpdump prints for the undamaged records (the records overlapping the damage
# are the only loss; a damaged PEER_INDEX_TABLE takes its RIB with it and is left out), and no
# sanitizer may fire. The expected lines come from bgpdump -m on the undamaged bytes.
. "$(dirname "$0")/../lib.sh"
trap 'rm -rf "$TMP"' EXIT
if ! have_data mrt; then skip dump_damage "../shared/data/mrt absent"; exit 0; fi
if ! command -v bgpdump >/dev/null || ! command -v python3 >/dev/null; then
	skip dump_damage "bgpdump or python3 absent"; exit 0
fi
python3 "$ROOT/tests/damage/damage.py" measure --data "$DATA" --copies 30 --seed 1 --jobs 2 \
	--max-bytes 1048576 --darkmap "$DARKMAP" --tmp "$TMP" --tsv "$TMP/copies.tsv" >"$TMP/out" 2>&1
rc=$?
if [ $rc != 0 ] || [ "$(tail -n +2 "$TMP/copies.tsv" | wc -l)" != 30 ]; then
	nok dump_damage "damage.py exit $rc: $(tail -3 "$TMP/out" | tr '\n' ' ')"
	exit 0
fi
# columns: copy kind source damage records_damaged expected_lines pit darkmap_lost bgpdump_lost
bad=$(awk -F'\t' 'NR > 1 && $7 == 0 && $8 != 0 { printf "copy %s (%s, %s, %s) loses %s; ", $1, $2, $3, $4, $8 }' "$TMP/copies.tsv")
kinds=$(awk -F'\t' 'NR > 1 { k[$2]++ } END { for (x in k) n++; print n }' "$TMP/copies.tsv")
if grep -q 'darkmap sanitizer reports: [1-9]' "$TMP/out"; then
	nok dump_damage "sanitizer report on a damaged copy"
elif [ -n "$bad" ]; then
	nok dump_damage "$bad"
elif [ "$kinds" != 6 ]; then
	nok dump_damage "expected 6 kinds of damage, got $kinds"
else
	ok dump_damage
fi
