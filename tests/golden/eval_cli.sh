#!/usr/bin/env bash
# darkmap eval end to end on a database it did not write: entities and events inserted with
# python3's sqlite3 from the schema docs/plot.md documents (independent of src/store), and two
# hand-written truth files. The expected tables are worked out by hand from docs/eval.md:
# bin 300 s (meta detect_bin), 3 judged entities (KP, CN, AS131279; KP IPv6 is not judged) over
# a 2-day span = 6 entity-days. Also the exit statuses: 0 all found, 1 missed or false,
# 2 malformed truth (file:line named), 3 unreadable database.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
command -v python3 >/dev/null || { skip eval_cli "python3 absent"; exit 0; }
DB=$TMP/eval.sqlite
rm -f "$DB"
python3 - "$DB" docs/plot.md <<'EOF' || { nok eval_cli_db "generator failed"; exit 0; }
import re, sqlite3, sys
db, doc = sys.argv[1:3]
schema = re.search(r"<!-- schema:begin -->\s*```sql\n(.*?)```\s*<!-- schema:end -->", open(doc).read(), re.S).group(1)
con = sqlite3.connect(db)
con.executescript(schema)
con.execute("PRAGMA application_id = %d" % 0x646d6170)
con.execute("PRAGMA user_version = 2")
for k, v in (("bin", "300"), ("detect_bin", "300"), ("detect_threshold", "0.8"), ("detect_hard", "0.5")):
    con.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (k, v))
for row in ((1, 1, 1, 'KP', 0), (2, 1, 1, 'CN', 0), (3, 2, 1, '', 131279), (4, 1, 2, 'KP', 0)):
    con.execute("INSERT INTO entities (id, kind, afi, cc, asn) VALUES (?, ?, ?, ?, ?)", row)
T0, D = 1419120000, 86400   # 2014-12-21 00:00 UTC
# entity, type (1 outage 2 partial 3 recovery 5 unknown), start, end, of_type, prev_start
events = [
    (1, 1, T0 + 3600, T0 + 7500, 0, 0),             # KP outage, closed 300 s after the truth
    (1, 3, T0 + 3600, T0 + 7500, 1, 0),
    (1, 2, T0 + D, T0 + D + 3600, 0, 0),            # KP staged: partial, then escalated
    (1, 1, T0 + D + 3600, T0 + D + 7200, 2, T0 + D),
    (1, 3, T0 + D + 3600, T0 + D + 7200, 1, 0),
    (2, 1, T0 + D + 100, T0 + D + 700, 0, 0),       # CN outage: a flap row explains it, or not
    (2, 5, T0 + 600, T0 + 1200, 0, 0),              # data quality: never an alert
    (4, 1, T0 + 3600, T0 + 7200, 0, 0),             # KP IPv6: not judged
]
for e, ty, s, en, of, prev in events:
    con.execute("INSERT INTO events (entity, type, start_t, end_t, severity, baseline_slash24, slash24, "
                "peers_lost, full_feed_peers, rate, baseline_rate, quality, affected, reason, of_type, "
                "prev_start) VALUES (?, ?, ?, ?, 1, 4, 0, 0, 0, 0, 0, 0, '', 'test', ?, ?)", (e, ty, s, en, of, prev))
con.commit()
EOF
H=$(printf 'kind\tstart\tend\tstart_utc\tend_utc\tentity\tfraction\ttolerance\tcollector\tpeer\tnote')
row() { printf '%s\t%s\t%s\t-\t-\t%s\t%s\t0\tall\tall\t%s\n' "$@"; }
{
	echo "$H"
	row scenario 1419120000 1419292800 all - span
	row outage 1419123600 1419127200 KP 1.0000 one
	row outage 1419206400 1419210000 KP 0.4000 "staged, partial"
	row outage 1419210000 1419213600 KP 1.0000 "staged, full"
	row flap 1419206400 1419206600 CN - "a flap"
} >"$TMP/truth_ok.tsv"
{
	grep -v flap "$TMP/truth_ok.tsv"
	row outage 1419123600 1419127200 AS131279 1.0000 "nothing detected"
} >"$TMP/truth_bad.tsv"

"$DARKMAP" eval --truth "$TMP/truth_ok.tsv" --db "$DB" --json "$TMP/ok.json" >"$TMP/ok.out" 2>"$TMP/ok.err"; rc=$?
cat >"$TMP/ok.want" <<EOF
darkmap eval: $DB against $TMP/truth_ok.tsv: bin 300 s, threshold 0.8, hard 0.5; 3 entities judged (IPv4 countries and ASes) over 2014-12-21 00:00 - 2014-12-23 00:00 UTC (6 entity-days)
entity    kind        truth (UTC)                             lost expected    result       detected          start_err   end_err   dur_err allowed
KP        outage      2014-12-21 01:00 - 2014-12-21 02:00    1.000 outage      found        outage                  0 s    +300 s    +300 s   300 s
KP        outage      2014-12-22 00:00 - 2014-12-22 01:00    0.400 partial     found        partial                 0 s       0 s       0 s   300 s
KP        outage      2014-12-22 01:00 - 2014-12-22 02:00    1.000 outage      found        outage                  0 s       0 s       0 s   300 s
false alerts: none
not scored: 1 truth rows of other kinds (they excuse their entity's alerts)
3 of 3 events found, start error max 0 s, end error max 300 s, 0 false alerts (0 per entity-day)
EOF
if [ $rc = 0 ] && diff -u "$TMP/ok.want" "$TMP/ok.out" >"$TMP/ok.diff" && [ ! -s "$TMP/ok.err" ]; then
	ok eval_table_all_found
else
	nok eval_table_all_found "exit $rc: $(cat "$TMP/ok.diff" "$TMP/ok.err")"
fi

"$DARKMAP" eval --truth "$TMP/truth_bad.tsv" --db "$DB" --json "$TMP/bad.json" >"$TMP/bad.out" 2>&1; rc=$?
cat >"$TMP/bad.want" <<EOF
KP        outage      2014-12-22 01:00 - 2014-12-22 02:00    1.000 outage      found        outage                  0 s       0 s       0 s   300 s
AS131279  outage      2014-12-21 01:00 - 2014-12-21 02:00    1.000 outage      missed       -                         -         -         -   300 s
false alerts (no truth row of the entity within bin + tolerance): 1
  CN        outage      2014-12-22 00:01:40 - 2014-12-22 00:11:40
not found: 0 wrong type, 0 outside the tolerance, 1 with nothing detected, 0 without a series in the database
3 of 4 events found, start error max 0 s, end error max 300 s, 1 false alerts (0.167 per entity-day)
EOF
if [ $rc = 1 ] && tail -6 "$TMP/bad.out" | diff -u "$TMP/bad.want" - >"$TMP/bad.diff"; then
	ok eval_table_missed_and_false
else
	nok eval_table_missed_and_false "exit $rc: $(cat "$TMP/bad.diff")"
fi

# The JSON says the same (checked with python's parser: it must be valid JSON).
python3 - "$TMP/ok.json" "$TMP/bad.json" <<'EOF' && ok eval_json || nok eval_json "see above"
import json, sys
okj, bad = (json.load(open(p)) for p in sys.argv[1:3])
def check(c, what):
    if not c:
        print("json: " + what); sys.exit(1)
s = okj["summary"]
check((s["required"], s["found"], s["false_alerts"], s["start_error_max"], s["end_error_max"],
       s["duration_error_max"], s["alerts"], s["ok"]) == (3, 3, 0, 0, 300, 300, 4, True), "ok summary %s" % s)
e = okj["events"][0]
check((e["line"], e["entity"], e["status"], e["start_error"], e["end_error"], e["duration_error"], e["allowed"],
       e["detected"]["end_utc"], e["detected"]["open"]) == (3, "KP", "found", 0, 300, 300, 300, "2014-12-21T02:05:00Z", False), "event 0 %s" % e)
check([x["expected"] for x in okj["events"]] == ["outage", "partial", "outage"], "expected types")
check(okj["entities"] == 3 and okj["entity_days"] == 6 and okj["bin"] == 300, "header")
s = bad["summary"]
check((s["required"], s["found"], s["missed"], s["false_alerts"], s["ok"]) == (4, 3, 1, 1, False), "bad summary %s" % s)
check(abs(s["false_per_entity_day"] - 1 / 6) < 1e-6, "per entity-day %s" % s["false_per_entity_day"])
f = bad["false_alerts"][0]
check((f["entity"], f["type"], f["start"], f["end"], f["open"]) == ("CN", "outage", 1419206500, 1419207100, False), "false %s" % f)
check(bad["events"][3]["detected"] is None and bad["events"][3]["start_error"] is None, "missed row %s" % bad["events"][3])
EOF

# Exit statuses and messages.
printf '%s\noutage\t1419123600\t1419127200\t-\t-\tKP\t2\t0\tall\tall\tx\n' "$H" >"$TMP/t_badfrac.tsv"
"$DARKMAP" eval --truth "$TMP/t_badfrac.tsv" --db "$DB" >/dev/null 2>"$TMP/e.err"; rc=$?
[ $rc = 2 ] && [ "$(cat "$TMP/e.err")" = "darkmap eval: $TMP/t_badfrac.tsv:2: bad fraction '2' (0..1)" ] \
	&& ok eval_bad_truth_names_line || nok eval_bad_truth_names_line "exit $rc: $(cat "$TMP/e.err")"
"$DARKMAP" eval --truth "$TMP/truth_ok.tsv" --db "$TMP/absent.sqlite" >/dev/null 2>&1; rc=$?
[ $rc = 3 ] && ok eval_absent_db_exit3 || nok eval_absent_db_exit3 "exit $rc"
"$DARKMAP" eval --truth "$TMP/truth_ok.tsv" >/dev/null 2>&1; rc=$?
[ $rc = 2 ] && ok eval_usage_exit2 || nok eval_usage_exit2 "exit $rc"
