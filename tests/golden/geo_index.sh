#!/usr/bin/env bash
# The mapping index of the default sources (docs/geo.md "The mapping index"): `darkmap geo`
# answers byte for byte as it does from the source files (DARKMAP_GEO_INDEX=off), whether the
# index is built, mapped, truncated, damaged, foreign, stale or cannot be written; an index
# that is not current is rebuilt. The sources: copies of two real RIR files and the AS names
# (small, so that the ASan build is quick), no npm packages; then the real defaults once.
. "$(dirname "$0")/../lib.sh"
if ! have_data rir/delegated-apnic-20140701 || ! have_data rir/delegated-afrinic-20140630 ||
   ! have_data asn/asnames.json.gz; then
	for t in geo_index_built geo_index_mapped geo_index_truncated geo_index_damaged geo_index_foreign \
		geo_index_data_damage geo_index_stale geo_index_unwritable geo_index_defaults; do
		skip $t "../shared/data/rir or asn absent"
	done
	exit 0
fi
D=$TMP/data
mkdir -p "$D/rir" "$D/asn"
cp "$DATA/rir/delegated-apnic-20140701" "$DATA/rir/delegated-afrinic-20140630" "$D/rir/"
cp "$DATA/asn/asnames.json.gz" "$D/asn/"
export DARKMAP_DATA=$D DARKMAP_NODE_MODULES=$TMP/no-node-modules
IX=$TMP/geo.idx
Q="175.45.177.1 AS131279 196.1.0.0/20 2001:43f8::/43 1.1.1.1 AS4837"
DARKMAP_GEO_INDEX=off "$DARKMAP" geo --sources $Q >"$TMP/want" 2>"$TMP/want.err"
grep -q '=> KP North Korea  (rir:delegated-apnic-20140701)' "$TMP/want" || nok geo_index_setup "no KP answer: $(head -c 300 "$TMP/want")"

# same: the source list and the answers equal the files' and nothing on stderr
same() { # name, index path, what else must hold (a shell condition)
	local name=$1 ix=$2 cond=$3 rc
	DARKMAP_GEO_INDEX=$ix "$DARKMAP" geo --sources $Q >"$TMP/got" 2>"$TMP/err"; rc=$?
	if [ $rc = 0 ] && cmp -s "$TMP/want" "$TMP/got" && [ ! -s "$TMP/err" ] && eval "$cond"; then
		ok "$name"
	else
		nok "$name" "exit $rc ($cond); $(diff "$TMP/want" "$TMP/got" | head -c 400) $(head -c 300 "$TMP/err")"
	fi
}
stamp() { stat -c '%i %Y %s' "$IX" 2>/dev/null; }

same geo_index_built "$IX" '[ -s "$IX" ] && head -c 7 "$IX" | grep -q DMGEOIX'
s1=$(stamp)
same geo_index_mapped "$IX" '[ "$(stamp)" = "$s1" ]'    # read, not rewritten
cp "$IX" "$TMP/good.idx"
size=$(stat -c %s "$IX")

truncate -s $((size / 2)) "$IX"
same geo_index_truncated "$IX" '[ "$(stat -c %s "$IX")" = "$size" ]'   # rebuilt whole

cp "$TMP/good.idx" "$IX"
printf '\377\377\377\377' | dd of="$IX" bs=1 seek=100 conv=notrunc 2>/dev/null   # the header (summed)
# rebuilt: those bytes (the high half of an array length) are zero again
same geo_index_damaged "$IX" '[ "$(stat -c %s "$IX")" = "$size" ] && [ "$(od -An -tx1 -j100 -N4 "$IX")" = " 00 00 00 00" ]'

head -c 70000 /dev/urandom >"$IX"
same geo_index_foreign "$IX" '[ "$(stat -c %s "$IX")" = "$size" ]'

# damage inside the arrays (not summed: see src/geo/geo_index.c): used, answers may change,
# but nothing is read outside the file (ASan) and the run ends normally
cp "$TMP/good.idx" "$IX"
head -c 65536 /dev/urandom | dd of="$IX" bs=1 seek=$((size / 3)) conv=notrunc 2>/dev/null
DARKMAP_GEO_INDEX=$IX "$DARKMAP" geo $Q >"$TMP/got" 2>"$TMP/err"; rc=$?
if [ $rc = 0 ] && ! grep -q Sanitizer "$TMP/err"; then ok geo_index_data_damage
else nok geo_index_data_damage "exit $rc: $(head -c 400 "$TMP/err")"; fi

cp "$TMP/good.idx" "$IX"
touch -d '2020-01-01' "$D/rir/delegated-afrinic-20140630"   # a source changed: stale
s1=$(stamp)
same geo_index_stale "$IX" '[ "$(stamp)" != "$s1" ] && [ "$(stat -c %s "$IX")" = "$size" ]'

same geo_index_unwritable "$TMP/no-such-dir/geo.idx" '[ ! -e "$TMP/no-such-dir" ]'

# its cache folder: the same files reached by another path (a relative one from another folder)
# are the same index, mapped, not built again beside the first
if have_data rir/delegated-ripencc-20140630; then
	D2=$TMP/d2
	mkdir -p "$D2/rir" "$TMP/cache"
	cp "$DATA/rir/delegated-apnic-20140701" "$DATA/rir/delegated-ripencc-20140630" "$D2/rir/"   # over 4 MB: indexed
	(cd "$TMP" && env -u DARKMAP_GEO_INDEX XDG_CACHE_HOME="$TMP/cache" DARKMAP_DATA=d2 "$DARKMAP" geo $Q >"$TMP/rel" 2>&1)
	ix2=$(ls "$TMP"/cache/darkmap/geo-*.idx 2>/dev/null)
	s2=$(stat -c '%i %Y %s' $ix2 2>/dev/null)
	(cd / && env -u DARKMAP_GEO_INDEX XDG_CACHE_HOME="$TMP/cache" DARKMAP_DATA="$D2" "$DARKMAP" geo $Q >"$TMP/abs" 2>&1)
	n2=$(ls "$TMP"/cache/darkmap/geo-*.idx 2>/dev/null | wc -l)
	if [ "$n2" = 1 ] && [ -n "$s2" ] && [ "$(stat -c '%i %Y %s' $ix2)" = "$s2" ] && cmp -s "$TMP/rel" "$TMP/abs" &&
		grep -q 'KP' "$TMP/abs"; then
		ok geo_index_any_folder
	else
		nok geo_index_any_folder "$n2 index files: $(ls "$TMP"/cache/darkmap 2>&1 | tr '\n' ' ') $(diff "$TMP/rel" "$TMP/abs" | head -c 300)"
	fi
else
	skip geo_index_any_folder "../shared/data/rir/delegated-ripencc-20140630 absent"
fi

# the real defaults (npm packages when installed, every RIR file): the index in its cache
# folder (node_modules/.cache/darkmap) answers as the files do
unset DARKMAP_NODE_MODULES
export DARKMAP_DATA=$DATA
Q="175.45.177.1 1.1.1.1 2001:43f8::/43 175.45.176.0/22 AS131279 8.8.8.0/24"
DARKMAP_GEO_INDEX=off "$DARKMAP" geo --sources $Q >"$TMP/want" 2>"$TMP/want.err"
"$DARKMAP" geo $Q >/dev/null 2>&1   # builds the index when it is not there or not current
unset DARKMAP_GEO_INDEX
same geo_index_defaults "" 'true'
