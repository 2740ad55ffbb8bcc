#!/usr/bin/env bash
# Replay and live run the same pipeline: the same MRT bytes (a RouteViews-layout RIB and 12 hours
# of updates written by `darkmap scenario nk-2014`) given as files to `darkmap replay` and played
# by `darkmap feed` into BGP sessions of `darkmap collect`, its clock driven by the feed
# (--sim-clock: the archive's times instead of arrival times), give identical series rows,
# identical events (every column), identical visibility changes, alert lines and alert JSON. The
# one difference allowed is where a route came from: the archived peer (192.0.2.x) in replay, the
# session's loopback source in collect; feed names each pair and the expectation maps them.
# The MRT archive collect writes on the way (--archive) must hold exactly the update lines of the
# input (bgpdump -m, the independent decoder, and darkmap dump agree), and replaying that archive
# (its own RIB snapshot + updates) must give the live run's rows again.
source "$(dirname "$0")/../lib.sh"
NAME=live_pipeline
CPID=
cleanup() { [ -n "$CPID" ] && kill "$CPID" 2>/dev/null; wait 2>/dev/null; }
trap 'cleanup; rm -rf "$TMP"' EXIT

# A small world keeps it cheap: 4 peers (2 at route-views.sim), 600 prefixes of a generated table
# of 2,000 plus KP's.
"$DARKMAP" scenario nk-2014 --out "$TMP/sc" --peers 4 --world 2000 --sample 600 --churn 120 \
	--from 2014-12-22T06:00 --to 2014-12-22T20:00 >"$TMP/scenario.out" 2>&1 ||
	{ nok $NAME "scenario failed: $(tail -3 "$TMP/scenario.out")"; exit 0; }
RV=$TMP/sc/route-views.sim/bgpdata/2014.12
FILES=("$RV/RIBS/rib.20141222.0600.bz2")
while IFS= read -r f; do FILES+=("$f"); done < <(ls "$RV"/UPDATES/updates.*.bz2 | sort)
[ -f "${FILES[0]}" ] && [ ${#FILES[@]} -gt 10 ] || { nok $NAME "scenario files missing: ${FILES[*]}"; exit 0; }
# Detection as in make demo, with the history this span has (its first hours).
OPTS=(--bin 300 --detect --min-history 60)

"$DARKMAP" replay --db "$TMP/replay.db" "${OPTS[@]}" --json "$TMP/replay.json" --changes "$TMP/replay.changes" \
	"${FILES[@]}" >"$TMP/replay.out" 2>"$TMP/replay.err"
rc=$?
[ $rc = 0 ] || nok "$NAME:replay" "exit $rc: $(tail -3 "$TMP/replay.err")"

"$DARKMAP" collect --listen 127.0.0.1:0 --peer 127.0.0.0/8,any --port-file "$TMP/port" --name route-views.sim \
	--sim-clock "$TMP/clock" --db "$TMP/live.db" "${OPTS[@]}" --json "$TMP/live.json" \
	--changes "$TMP/live.changes" --archive "$TMP/arch" --compress gz \
	>"$TMP/live.out" 2>"$TMP/live.err" &
CPID=$!
wait_for 30 test -s "$TMP/port" || { nok $NAME "collect did not start: $(tail -3 "$TMP/live.err")"; exit 0; }
wait_for 10 test -S "$TMP/clock" || { nok $NAME "no clock socket"; exit 0; }
timeout 300 "$DARKMAP" feed --to "127.0.0.1:$(head -1 "$TMP/port")" --sim-clock "$TMP/clock" "${FILES[@]}" \
	2>"$TMP/feed.err"
frc=$?
wait $CPID
crc=$?
CPID=
if [ $frc != 0 ] || [ $crc != 0 ]; then
	nok "$NAME:live" "feed exit $frc, collect exit $crc: $(tail -2 "$TMP/feed.err") / $(tail -3 "$TMP/live.err")"
	exit 0
fi
ok "$NAME:live (feed $(grep -c ' plays peer ' "$TMP/feed.err") sessions, collect exit 0)"

# session source -> archived peer, from feed's "session I from SRC plays peer ADDR ASn"
awk '/ plays peer / { src = $6; gsub(/\./, "\\.", src); print "s/\\b" src "\\b/" $9 "/g" }' "$TMP/feed.err" \
	>"$TMP/map.sed"
[ -s "$TMP/map.sed" ] || { nok $NAME "feed named no session"; exit 0; }

same() {   # NAME EXPECTED ACTUAL: byte-identical, else the first differences
	if [ ! -s "$2" ]; then
		nok "$NAME:$1" "nothing to compare ($2 is empty)"
	elif cmp -s "$2" "$3"; then
		ok "$NAME:$1 ($(wc -l <"$2") lines identical)"
	else
		nok "$NAME:$1" "differ: $(diff "$2" "$3" | head -4 | tr '\n' ' ')"
	fi
}
rows() {   # the series of a database, entities by key (ids are the database's own)
	sqlite3 "$1" "SELECT e.kind, e.afi, e.cc, e.asn, b.t, b.visible_prefixes, b.slash24, b.baseline_slash24,
		b.peers_seeing, b.full_feed_peers, b.peers_up, b.peer_frac, b.announcements, b.withdrawals,
		b.interruptions, b.more_specifics, b.quality, b.ff_joined, b.ff_left
		FROM bins b JOIN entities e ON e.id = b.entity ORDER BY 1, 2, 3, 4, 5"
}
events() {   # every column but the id and the entity id
	sqlite3 "$1" "SELECT * FROM events LIMIT 0" >/dev/null || return
	local cols
	cols=$(sqlite3 "$1" "SELECT group_concat('ev.' || name, ', ') FROM pragma_table_info('events')
		WHERE name NOT IN ('id', 'entity')")
	sqlite3 "$1" "SELECT e.kind, e.afi, e.cc, e.asn, $cols FROM events ev JOIN entities e ON e.id = ev.entity
		ORDER BY ev.start_t, 1, 2, 3, 4, ev.type"
}
rows "$TMP/replay.db" >"$TMP/replay.rows"
rows "$TMP/live.db" >"$TMP/live.rows"
same rows "$TMP/replay.rows" "$TMP/live.rows"
events "$TMP/replay.db" >"$TMP/replay.events"
events "$TMP/live.db" | sed -f "$TMP/map.sed" >"$TMP/live.events"
same events "$TMP/replay.events" "$TMP/live.events"
n_out=$(grep -c . "$TMP/replay.out")
[ "$n_out" -gt 0 ] && grep -q 'KP' "$TMP/replay.out" || nok "$NAME:alerts" "replay raised no KP alert (the check could not fail)"
sed -f "$TMP/map.sed" "$TMP/live.out" >"$TMP/live.out.mapped"
same alert-lines "$TMP/replay.out" "$TMP/live.out.mapped"
sed -f "$TMP/map.sed" "$TMP/live.json" >"$TMP/live.json.mapped"
same alert-json "$TMP/replay.json" "$TMP/live.json.mapped"
sed -f "$TMP/map.sed" "$TMP/live.changes" >"$TMP/live.changes.mapped"
same visibility-changes "$TMP/replay.changes" "$TMP/live.changes.mapped"

# The archive collect wrote: first the table transfer (the RIB's routes, as UPDATEs at the RIB's
# time), then exactly the input's update lines (A and W), times to the microsecond, read by both
# decoders; the peer is the session's source, mapped back. Its RIB snapshot of 08:00 holds the
# input RIB with every update before 08:00 applied (computed here from the input's lines).
ARCH=$TMP/arch/route-views.sim
mapfile -t UPD < <(find "$ARCH" -path '*UPDATES*' -name 'updates.*' | sort)
mapfile -t RIBS < <(find "$ARCH" -path '*RIBS*' -name 'rib.20141222.0800*')
body() { cut -d'|' -f4-; }   # from the peer on (what a RIB line and an update line share)
if [ ${#UPD[@]} = 0 ]; then
	nok "$NAME:archive" "no updates file under $ARCH: $(find "$TMP/arch" | head -5 | tr '\n' ' ')"
else
	"$DARKMAP" dump -q -m "${FILES[0]}" >"$TMP/input.rib"
	for f in "${FILES[@]:1}"; do "$DARKMAP" dump -q -m "$f"; done | grep -v '|STATE|' >"$TMP/input.lines"
	nrib=$(wc -l <"$TMP/input.rib")
	for f in "${UPD[@]}"; do "$DARKMAP" dump -q -m "$f"; done | grep -v '|STATE|' | sed -f "$TMP/map.sed" \
		>"$TMP/archive.lines"
	head -n "$nrib" "$TMP/archive.lines" | body | sort >"$TMP/archive.load"
	body <"$TMP/input.rib" | sort >"$TMP/input.load"
	same archive-table-transfer "$TMP/input.load" "$TMP/archive.load"
	tail -n +"$((nrib + 1))" "$TMP/archive.lines" >"$TMP/archive.updates"
	same archive-updates-darkmap "$TMP/input.lines" "$TMP/archive.updates"
	if command -v bgpdump >/dev/null; then
		for f in "${UPD[@]}"; do bgpdump -q -m "$f" 2>/dev/null; done | grep -v '|STATE|' | sed -f "$TMP/map.sed" |
			tail -n +"$((nrib + 1))" >"$TMP/archive.bgpdump"
		same archive-updates-bgpdump "$TMP/input.lines" "$TMP/archive.bgpdump"
	else
		skip "$NAME:archive-updates-bgpdump" "bgpdump not installed"
	fi
	if [ ${#RIBS[@]} != 1 ]; then
		nok "$NAME:archive-rib-snapshot" "no single 08:00 snapshot: $(find "$ARCH" -path '*RIBS*' | tr '\n' ' ')"
	else
		cut08=$(date -u -d 2014-12-22T08:00Z +%s)
		cat "$TMP/input.rib" "$TMP/input.lines" | awk -F'|' -v OFS='|' -v cut="$cut08" '
			$2 + 0 >= cut { next }
			{ k = $4 "|" $6 }
			$3 == "W" { delete r[k]; next }
			{ line = $4; for (i = 5; i <= NF; i++) line = line "|" $i; r[k] = line }
			END { for (k in r) print r[k] }' | sort >"$TMP/expect.rib"
		"$DARKMAP" dump -q -m "${RIBS[0]}" | sed -f "$TMP/map.sed" | body | sort >"$TMP/archive.rib"
		same archive-rib-snapshot "$TMP/expect.rib" "$TMP/archive.rib"
	fi
fi
