#!/usr/bin/env bash
# darkmap replay on archive folder layouts, the k-way merge of collectors, file selection by
# --from/--to, and the SQLite output. Folders are built here from symlinks to real files of
# ../shared/data/mrt, named as RouteViews and RIS publish them. Record counts to expect are the
# independent MRT framing scans of ../shared/data/mrt/PROVENANCE.md.
. "$(dirname "$0")/../lib.sh"
M=$DATA/mrt
need="ris.rrc06.updates.1427846400.gz routeviews.route-views.jinx.updates.1427846400.bz2
      rib.20140523.0600_firstMB.bz2 rib.20080501.0644_firstMB.bz2 updates.et-header.2015.gz"
for f in $need; do
	if ! have_data "mrt/$f"; then
		skip replay_layout "../shared/data/mrt/$f absent"
		exit 0
	fi
done
check() { if [ "$2" = "$3" ]; then ok "$1"; else nok "$1" "got '$2', want '$3'"; fi; }
has() { if grep -q -- "$2" "$3"; then ok "$1"; else nok "$1" "no '$2' in: $(tr '\n' '|' <"$3")"; fi; }

# 1. two collectors, RIS and RouteViews layouts, merged: 795 + 1756 records (PROVENANCE)
L=$TMP/archive
mkdir -p "$L/rrc06/2015.04" "$L/route-views.jinx/bgpdata/2015.04/UPDATES"
ln -s "$M/ris.rrc06.updates.1427846400.gz" "$L/rrc06/2015.04/updates.20150401.0000.gz"
ln -s "$M/routeviews.route-views.jinx.updates.1427846400.bz2" "$L/route-views.jinx/bgpdata/2015.04/UPDATES/updates.20150401.0000.bz2"
"$DARKMAP" replay --no-geo --csv --country ZZ "$L" >"$TMP/m.csv" 2>"$TMP/m.err"
check replay_layout_exit $? 0
has replay_layout_rrc06 "^replay: collector rrc06: 795 records" "$TMP/m.err"
has replay_layout_jinx "^replay: collector route-views.jinx: 1756 records" "$TMP/m.err"
has replay_layout_total "^replay: 2551 records" "$TMP/m.err"
# bins: 5-minute, aligned, in order, from 00:00 to 00:10 (jinx runs to 00:14)
check replay_layout_bins "$(awk -F, '$3 == "global" && $5 == 4 { printf "%s ", $2 }' "$TMP/m.csv")" \
	"2015-04-01T00:00:00Z 2015-04-01T00:05:00Z 2015-04-01T00:10:00Z "
check replay_layout_records_sum "$(awk -F, '$3 == "global" && $5 == 4 { s += $18 } END { print s }' "$TMP/m.csv")" 2551
# rrc06's file ends at 00:04: its input is over, not a gap, in the later bins
check replay_layout_no_gap "$(awk -F, '$3 == "global" && $5 == 4 && $17 ~ /gap/' "$TMP/m.csv" | wc -l)" 0

# 2. --from/--to pick files by name: 00:20 is taken, 00:00 (ends before 00:20) and 00:40 are not
R=$TMP/ris2
mkdir -p "$R/rrc06/2015.04"
for hm in 0000 0020 0040; do ln -s "$M/ris.rrc06.updates.1427846400.gz" "$R/rrc06/2015.04/updates.20150401.$hm.gz"; done
"$DARKMAP" replay --no-geo --from 2015-04-01T00:20 --to 2015-04-01T00:40 "$R" >/dev/null 2>"$TMP/r.err"
has replay_layout_from_to "^replay: collector rrc06: 795 records" "$TMP/r.err"

# 3. RouteViews RIBs: the latest RIB at or before --from (0600: the May 2014 cut, 9073 records),
#    else the first one (0400: the 2008 TABLE_DUMP cut, 139291 records)
V=$TMP/rv
mkdir -p "$V/route-views2/bgpdata/2014.05/RIBS"
ln -s "$M/rib.20080501.0644_firstMB.bz2" "$V/route-views2/bgpdata/2014.05/RIBS/rib.20140523.0400.bz2"
ln -s "$M/rib.20140523.0600_firstMB.bz2" "$V/route-views2/bgpdata/2014.05/RIBS/rib.20140523.0600.bz2"
"$DARKMAP" replay -q --no-geo --from 2014-05-23T07:00 "$V" >/dev/null 2>"$TMP/v.err"
has replay_layout_rib_from "^replay: collector route-views2: 9073 records" "$TMP/v.err"
"$DARKMAP" replay -q --no-geo "$V" >/dev/null 2>"$TMP/v2.err"
has replay_layout_rib_first "^replay: collector route-views2: 139291 records" "$TMP/v2.err"

# 4. --db: the rows in SQLite are the rows of the CSV
if command -v sqlite3 >/dev/null; then
	"$DARKMAP" replay --rir "$DATA/rir/delegated-apnic-20140701" --db "$TMP/o.sqlite" --csv --country KP --asn 131279 \
		"$M/updates.et-header.2015.gz" >"$TMP/o.csv" 2>"$TMP/o.err"
	check replay_db_exit $? 0
	got=$(sqlite3 -separator , "$TMP/o.sqlite" "SELECT b.t, CASE e.kind WHEN 1 THEN 'country,' || e.cc WHEN 2 THEN 'asn,' || e.asn ELSE 'global,all' END,
		CASE e.afi WHEN 2 THEN 6 ELSE 4 END, b.visible_prefixes, b.slash24, b.peers_seeing, b.full_feed_peers, b.announcements
		FROM bins b JOIN entities e ON e.id = b.entity ORDER BY 1, 2, 3")
	want=$(awk -F, 'NR > 1 { print $1 "," $3 "," $4 "," $5 "," $6 "," $7 "," $9 "," $10 "," $13 }' "$TMP/o.csv" | sort -t, -k1,1n -k2,3 -k4,4n)
	check replay_db_rows "$got" "$want"
	check replay_db_kp "$(sqlite3 "$TMP/o.sqlite" "SELECT b.slash24 FROM bins b JOIN entities e ON e.id = b.entity WHERE e.kind = 1 AND e.cc = 'KP' AND e.afi = 1")" 4
	check replay_db_wal "$(sqlite3 "$TMP/o.sqlite" "PRAGMA journal_mode")" wal
else
	skip replay_db "sqlite3 CLI absent"
fi

# 5. bad input: a missing file and a corrupt one are reported, the rest is replayed
printf 'not an MRT file at all, just text\n' >"$TMP/junk.mrt"
"$DARKMAP" replay --no-geo "$TMP/junk.mrt" "$M/ris.rrc06.updates.1427846400.gz" "$TMP/missing.gz" >/dev/null 2>"$TMP/b.err"
check replay_bad_exit $? 1
has replay_bad_missing "missing.gz" "$TMP/b.err"
has replay_bad_junk "junk.mrt: offset 0" "$TMP/b.err"
has replay_bad_rest "^replay: 795 records" "$TMP/b.err"
rm -rf "$TMP"
