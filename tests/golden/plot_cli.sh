#!/usr/bin/env bash
# darkmap plot end to end: a database built from the schema as docs/plot.md documents it
# (python3's sqlite3, independent of src/store), a synthetic KP series (4 /24s: 4 -> 0 -> 4 with
# an outage, rising interruptions, a collector gap) and an AS series; then PNG/SVG sizes, the
# plotted rows (--csv) against the inserted values, time formats, and error messages.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
command -v python3 >/dev/null || { skip plot_cli "python3 absent"; exit 0; }
DB=$TMP/plot.sqlite
rm -f "$DB"

# The generator writes the database and, for each entity, the CSV darkmap must print for the
# whole series (expected-KP.csv, expected-AS131279.csv).
python3 - "$DB" "$TMP" docs/plot.md <<'EOF' || { nok plot_cli_db "generator failed"; exit 0; }
import re, sqlite3, struct, sys, time
db, tmp, doc = sys.argv[1:4]
text = open(doc).read()
m = re.search(r"<!-- schema:begin -->\s*```sql\n(.*?)```\s*<!-- schema:end -->", text, re.S)
schema = m.group(1)
con = sqlite3.connect(db)
con.executescript(schema)
con.execute("PRAGMA application_id = %d" % 0x646d6170)   # "dmap", docs/plot.md
con.execute("PRAGMA user_version = 2")
con.execute("INSERT INTO entities (id, kind, afi, cc, asn, name) VALUES (1, 1, 1, 'KP', 0, 'North Korea')")
con.execute("INSERT INTO entities (id, kind, afi, cc, asn, name) VALUES (2, 2, 1, '', 131279, 'STAR-KP')")
def f32(x):  # the value a C float holds
    return struct.unpack("f", struct.pack("f", x))[0]
T0, BIN, N = 1419120000, 300, 864                     # 2014-12-21 00:00 UTC, 3 days
OUT0, OUT1 = 1419264900, 1419299100                   # 2014-12-22 16:15 .. 2014-12-23 01:45
GAP0, GAP1 = 1419228000, 1419228000 + 1800            # 2014-12-22 06:00 .. 06:30
for ent, base in ((1, 4), (2, 4)):
    rows = []
    for i in range(N):
        t = T0 + i * BIN
        s24 = 0 if OUT0 <= t < OUT1 else base
        ffp = 40
        seeing = (40 - i % 3) if s24 else 0
        if ent == 2:
            seeing = 37 if s24 else 0
        h, k = divmod(i, 12)
        intr = 1 if 12 <= h < 40 and k < (h - 12) // 3 else 0
        q = 1 if GAP0 <= t < GAP1 else 0
        pf = f32(f32(s24 / 4.0) * f32(seeing / 40.0))
        con.execute("INSERT INTO bins (entity, t, visible_prefixes, slash24, baseline_slash24, peers_seeing, "
                    "full_feed_peers, peers_up, peer_frac, announcements, withdrawals, interruptions, "
                    "more_specifics, quality) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (ent, t, s24, s24, base, seeing, ffp, 44, pf, intr * 4, intr * 4, intr, 0, q))
        utc = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
        rows.append("%d,%s,%d,%d,%s,%s,%d,%d" % (t, utc, s24, base, "%.17g" % (seeing / ffp),
                                                "%.17g" % pf, intr, q))
    name = "KP" if ent == 1 else "AS131279"
    with open("%s/expected-%s.csv" % (tmp, name), "w") as f:
        f.write("t,utc,slash24,baseline_slash24,seeing_frac,peer_frac,interruptions,quality\n")
        f.write("\n".join(rows) + "\n")
ev = "INSERT INTO events (entity, type, start_t, end_t, severity, baseline_slash24, slash24, peers_lost, full_feed_peers, rate, baseline_rate, quality, affected, reason) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
con.execute(ev, (1, 4, 1419184800, OUT0, 0, 4, 4, 0, 40, 6.0, 0.1, 0, "", "interruptions 6/h vs 0.1/h"))
# As src/detect writes them when rows are not closed by src/store: the outage still open
# (end 0), its recovery (of_type 1, same start) carrying the end; the plot pairs them.
con.execute(ev, (1, 1, OUT0, 0, 1, 4, 0, 40, 40, 0, 0, 0, "175.45.176.0/22", "4 of 4 /24s unreachable"))
con.execute(ev, (1, 3, OUT0, OUT1, 0, 4, 4, 0, 40, 0, 0, 0, "", "back after 9 h 30 min"))
con.execute("UPDATE events SET of_type = 1 WHERE type = 3")
con.commit()
con.close()
EOF

check_png() {  # path width height
	python3 - "$@" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read(33)
ok = d[:8] == b"\x89PNG\r\n\x1a\n" and d[12:16] == b"IHDR" and \
     struct.unpack(">II", d[16:24]) == (int(sys.argv[2]), int(sys.argv[3]))
sys.exit(0 if ok else 1)
EOF
}
check_svg() {  # path width height
	python3 - "$@" <<'EOF'
import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
sys.exit(0 if (r.tag, r.get("width"), r.get("height")) ==
         ("{http://www.w3.org/2000/svg}svg", sys.argv[2] + "px", sys.argv[3] + "px") else 1)
EOF
}

# 1. PNG at the default size, rows as CSV.
out=$("$DARKMAP" plot --db "$DB" --country kp --out "$TMP/kp.png" --csv "$TMP/kp.csv" 2>"$TMP/err")
rc=$?
if [ $rc = 0 ] && [ "$out" = "$TMP/kp.png" ] && check_png "$TMP/kp.png" 1200 600; then
	ok plot_cli_png
else
	nok plot_cli_png "rc $rc, stdout '$out', $(head -c 300 "$TMP/err")"
fi
if cmp -s "$TMP/kp.csv" "$TMP/expected-KP.csv"; then
	ok plot_cli_points_equal_stored_series
else
	nok plot_cli_points_equal_stored_series "$(diff "$TMP/expected-KP.csv" "$TMP/kp.csv" | head -5)"
fi
grep -q "KP: 864 bins, 3 events" "$TMP/err" && ok plot_cli_summary ||
	nok plot_cli_summary "$(cat "$TMP/err")"

# 2. SVG with --size, and the AS series.
out=$("$DARKMAP" plot --db "$DB" --asn AS131279 --out "$TMP/as.svg" --size 1000x500 --csv "$TMP/as.csv" 2>"$TMP/err")
if [ $? = 0 ] && [ "$out" = "$TMP/as.svg" ] && check_svg "$TMP/as.svg" 1000 500 &&
	cmp -s "$TMP/as.csv" "$TMP/expected-AS131279.csv"; then
	ok plot_cli_svg_asn
else
	nok plot_cli_svg_asn "stdout '$out', $(head -c 300 "$TMP/err")"
fi

# 3. The three time formats select the same rows: [16:15, 18:15) on 22 Dec = 24 bins.
"$DARKMAP" plot --db "$DB" --country KP --from 2014-12-22T16:15 --to "2014-12-22 18:15" \
	--out "$TMP/w1.png" --csv "$TMP/w1.csv" >/dev/null 2>&1
"$DARKMAP" plot --db "$DB" --country KP --from 1419264900 --to 1419272100 \
	--out "$TMP/w2.svg" --csv "$TMP/w2.csv" >/dev/null 2>&1
head -1 "$TMP/expected-KP.csv" >"$TMP/w.expected"
awk -F, 'NR > 1 && $1 >= 1419264900 && $1 < 1419272100' "$TMP/expected-KP.csv" >>"$TMP/w.expected"
if [ "$(wc -l <"$TMP/w.expected")" = 25 ] && cmp -s "$TMP/w1.csv" "$TMP/w.expected" &&
	cmp -s "$TMP/w2.csv" "$TMP/w.expected"; then
	ok plot_cli_time_formats
else
	nok plot_cli_time_formats "$(diff "$TMP/w.expected" "$TMP/w1.csv" | head -3)"
fi

# 4. Errors: exact messages and exit codes.
expect_err() {  # name exit-code message-substring args...
	local name=$1 want=$2 msg=$3
	shift 3
	"$DARKMAP" plot "$@" >"$TMP/out" 2>"$TMP/err"
	local rc=$?
	if [ $rc = "$want" ] && grep -qF -- "$msg" "$TMP/err" && [ ! -s "$TMP/out" ]; then
		ok "$name"
	else
		nok "$name" "exit $rc (want $want), stderr: $(head -c 300 "$TMP/err")"
	fi
}
expect_err plot_cli_bad_date 2 "--from '2014-02-30': want 2014-12-22T16:15" --db "$DB" --country KP --from 2014-02-30
expect_err plot_cli_bad_size 2 "--size wants WxH" --db "$DB" --country KP --size 1200
expect_err plot_cli_no_entity 2 "--db and one of --country / --asn are required" --db "$DB"
expect_err plot_cli_missing_db 3 "$TMP/none.sqlite: cannot open" --db "$TMP/none.sqlite" --country KP
printf 'not a database at all\n%.0s' $(seq 100) >"$TMP/junk.sqlite"
expect_err plot_cli_not_sqlite 3 "$TMP/junk.sqlite: not a darkmap database: file is not a database" \
	--db "$TMP/junk.sqlite" --country KP
expect_err plot_cli_unknown_entity 3 "$DB: no IPv4 bins for ZZ" --db "$DB" --country ZZ
expect_err plot_cli_v6_absent 3 "$DB: no IPv6 bins for KP" --db "$DB" --country KP --v6
expect_err plot_cli_bad_suffix 3 "$TMP/x.jpg: output must end in .png or .svg" --db "$DB" --country KP --out "$TMP/x.jpg"
if "$DARKMAP" plot --help | grep -q "^usage: darkmap plot --db FILE"; then ok plot_cli_help; else nok plot_cli_help "no usage"; fi
[ -z "${TMP_TEST:-}" ] && rm -rf "$TMP"
exit 0
