#!/usr/bin/env bash
# darkmap detect end to end on databases it did not write: a KP series built with python3's
# sqlite3 from the schema docs/plot.md documents (independent of src/store), and a replay of a
# real 5-minute update file. Checks: a staged episode (partial, then escalated, still open at
# the end) is printed once per event, with the evidence of the stored visibility changes, and
# named once in the summary; the partial row is closed at the escalation; too-short data is a stated non-judgement (exit 1), never "0 alerts";
# option errors name the rule.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
command -v python3 >/dev/null || { skip detect_cli "python3 absent"; exit 0; }
DB=$TMP/detect.sqlite
rm -f "$DB"
python3 - "$DB" docs/plot.md <<'EOF' || { nok detect_cli_db "generator failed"; exit 0; }
import sys
sys.path.insert(0, "tests")
from docdb import new_db
db, doc = sys.argv[1:3]
con = new_db(db, doc)
con.execute("INSERT INTO entities (id, kind, afi, cc, asn, name) VALUES (1, 1, 1, 'KP', 0, 'North Korea')")
cols = [r[1] for r in con.execute("PRAGMA table_info(bins)")]
T0, BIN = 1418515200, 300                  # 2014-12-14 00:00 UTC
P0, F0, END = 1419206400, 1419210000, 1419228000   # 22 Dec 00:00 partial, 01:00 full, 06:00 end
for t in range(T0, END, BIN):
    s24, seeing = (4, 40) if t < P0 else (3, 40) if t < F0 else (0, 0)
    row = dict(entity=1, t=t, visible_prefixes=s24, slash24=s24, baseline_slash24=4, peers_seeing=seeing,
               full_feed_peers=40, peers_up=40, peer_frac=s24 / 4.0, announcements=0, withdrawals=0,
               interruptions=0, more_specifics=0, quality=0)
    con.execute("INSERT INTO bins (%s) VALUES (%s)" % (",".join(row), ",".join("?" * len(row))), list(row.values()))
# What replay's visibility-change log would hold (the evidence): one /24 of AS131279 lost at 00:00:10, last
# seen via AS4837; the other three at 01:00:20, two of them via AS4837 and one via AS9002.
chg = ("INSERT INTO vis_changes (t, afi, prefix, visible, covered, cc, origin, upstream, units, peers_before, "
       "full_feed_peers, peer_asn, peer, collector) VALUES (?,1,?,0,0,'KP',131279,?,1,40,40,3356,'192.0.2.10','route-views.sim')")
con.execute(chg, (P0 + 10, "175.45.179.0/24", 4837))
for p, up in (("175.45.176.0/24", 4837), ("175.45.177.0/24", 4837), ("175.45.178.0/24", 9002)):
    con.execute(chg, (F0 + 20, p, up))
# and a /22 of another AS, three /24s in CN and one in KP, lost at 00:00:20 via AS174: KP counts
# its one /24 of it, not four
con.execute("INSERT INTO vis_changes (t, afi, prefix, visible, covered, cc, origin, upstream, units, peers_before, "
            "full_feed_peers, peer_asn, peer, collector, countries) VALUES "
            "(?,1,'10.20.0.0/22',0,0,'CN',64500,174,4,40,40,174,'198.51.100.11','rrc.sim','CN:3,KP:1')", (P0 + 20,))
con.commit()
EOF
DARKMAP_GEO=registration "$DARKMAP" detect --db "$DB" >"$TMP/d.out" 2>"$TMP/d.err"; rc=$?
want="KP (North Korea): partial outage, 1 of 4 /24s unreachable, since 2014-12-22 00:00 UTC; lost /24s: AS64500 1 (50%), AS131279 1 (50%); last seen via AS174 (50%); last withdrawn by AS174 198.51.100.11 at rrc.sim
KP (North Korea): escalated to a full outage, 4 of 4 /24s unreachable, withdrawn by 40 of 40 full-feed peers, since 2014-12-22 01:00 UTC (down since 2014-12-22 00:00 UTC); lost /24s: AS131279 3 (100%); last seen via AS4837 (67%); last withdrawn by AS3356 192.0.2.10 at route-views.sim"
[ $rc = 0 ] && [ "$(cat "$TMP/d.out")" = "$want" ] && ok detect_staged_lines || nok detect_staged_lines "exit $rc: $(cat "$TMP/d.out" "$TMP/d.err")"
grep -qx "darkmap detect: 1 event still open at the end of the data: KP (North Korea) outage since 2014-12-22 01:00 UTC" "$TMP/d.err" \
	&& ok detect_open_named_once || nok detect_open_named_once "$(cat "$TMP/d.err")"
rows=$(sqlite3 "$DB" "SELECT type, start_t, end_t, of_type, prev_start, episode_start FROM events ORDER BY start_t" 2>&1)
[ "$rows" = "2|1419206400|1419210000|0|0|1419206400
1|1419210000|0|2|1419206400|1419206400" ] && ok detect_staged_rows || nok detect_staged_rows "$rows"

# Option errors name the rule; --threshold alone above the default recovery line is accepted.
"$DARKMAP" detect --db "$DB" --threshold 0.95 --recover 0.9 --no-store >/dev/null 2>"$TMP/o.err"; rc=$?
[ $rc = 2 ] && grep -qx "darkmap detect: options out of range: recover 0.9: must be in \[threshold 0.95, 1\] (an entity recovers at or above the level that raised its outage) (bin 300 s from the database)" "$TMP/o.err" \
	&& ok detect_option_rule_named || nok detect_option_rule_named "exit $rc: $(cat "$TMP/o.err")"
"$DARKMAP" detect --db "$DB" --threshold 0.95 --no-store >/dev/null 2>&1 && ok detect_threshold_alone || nok detect_threshold_alone "refused"

# A real 5-minute update file without a RIB: no judgement, said, exit 1, no alert line.
F=$DATA/mrt/rrc01.updates.20241001.0055.gz
if [ -f "$F" ]; then
	R=$TMP/real.sqlite
	"$DARKMAP" replay --db "$R" --rows countries "$F" >/dev/null 2>"$TMP/r.err"
	"$DARKMAP" detect --db "$R" >"$TMP/r.out" 2>"$TMP/rd.err"; rc=$?
	[ $rc = 1 ] && [ ! -s "$TMP/r.out" ] && grep -q "no judgement: not one bin of good data (no full-feed peer" "$TMP/rd.err" && grep -q "no RIB given" "$TMP/r.err" \
		&& ! grep -q "alerts" "$TMP/rd.err" && ok detect_short_data_no_judgement \
		|| nok detect_short_data_no_judgement "exit $rc: $(cat "$TMP/r.out" "$TMP/rd.err")"
else
	skip detect_short_data_no_judgement "$F absent"
fi

# With today's geolocation (DB-IP, when installed) beside the 2014 registration: the alert names
# the other view's country for the share of the lost addresses it places elsewhere. Expected from
# the DB-IP CSV with awk: the /24s of 175.45.176-178 whose line is not KP, over 3 /24s.
DBIP=$ROOT/node_modules/@ip-location-db/dbip-country/dbip-country-ipv4.csv
if [ -f "$DBIP" ] && [ -d "$DATA/rir" ]; then
	read -r n cc < <(awk -F, 'function v(a,  q) { split(a, q, "."); return ((q[1] * 256 + q[2]) * 256 + q[3]) * 256 + q[4] }
		BEGIN { for (k = 0; k < 3; k++) s[k] = v("175.45." (176 + k) ".0") }
		{ lo = v($1); hi = v($2); for (k = 0; k < 3; k++) if (lo <= s[k] && hi >= s[k] + 255) c[k] = $3 }
		END { for (k = 0; k < 3; k++) if (c[k] != "KP" && c[k] != "") { n++; o = c[k] } print n + 0, o }' "$DBIP")
	"$DARKMAP" detect --db "$DB" --no-store >"$TMP/g.out" 2>/dev/null
	if [ "$n" = 0 ]; then
		grep -q "sources disagree" "$TMP/g.out" && nok detect_sources_disagree "no disagreement expected: $(cat "$TMP/g.out")" || ok detect_sources_disagree
	else
		pct=$(awk -v n="$n" 'BEGIN { printf "%.0f", 100 * n / 3 }')
		grep -q "escalated to a full outage.*; sources disagree: geolocation places $pct% of these addresses in $cc (" "$TMP/g.out" \
			&& ! grep "partial outage" "$TMP/g.out" | grep -q "sources disagree" \
			&& ok detect_sources_disagree || nok detect_sources_disagree "want $pct% in $cc: $(cat "$TMP/g.out")"
	fi
else
	skip detect_sources_disagree "DB-IP data or RIR files absent"
fi
