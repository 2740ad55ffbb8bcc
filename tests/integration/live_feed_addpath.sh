#!/usr/bin/env bash
# darkmap feed with ADD-PATH (RFC 7911): a TABLE_DUMP_V2 RIB_IPV4_UNICAST_ADDPATH dump and an
# updates file of BGP4MP_ET MESSAGE_AS4_ADDPATH records (written by tests/live/mrt_addpath with
# the project's MRT writer; bgpdump reads them as written) played into darkmap collect, which
# offers ADD-PATH receive: feed offers ADD-PATH send for that archived peer and sends the RIB's
# paths and the UPDATEs with their path ids. Checks: collect's state holds exactly the paths left
# (10.2.0.0/16 paths 1 and 2 from the RIB, 10.1.0.0/16 path 2 and 2001:db8:1::/48 path 7: path 1
# was withdrawn by its id), and the archive collect wrote holds the RIB's two paths as
# announcements then the same A/W lines (path ids included) as the updates file, read by
# bgpdump -m and darkmap dump -m alike. Loopback only, ports picked at run time.
source "$(dirname "$0")/../lib.sh"
NAME=live_feed_addpath
GEN=$ROOT/build/asan/tests/live/mrt_addpath
[ -x "$GEN" ] || { skip $NAME "$GEN not built (make unit-bins)"; exit 0; }
CPID='' FPID=''
# shellcheck disable=SC2154
trap 'for p in $FPID $CPID; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$TMP"' EXIT

"$GEN" "$TMP/ap.mrt" "$TMP/rib.mrt" || { nok $NAME "mrt_addpath failed"; exit 0; }
"$DARKMAP" collect --listen 127.0.0.1:0 --peer 127.0.0.0/8,any --archive "$TMP/arch" --rib-every 0 \
	--name c --print --state "$TMP/state" --port-file "$TMP/port" >"$TMP/out" 2>"$TMP/collect.err" &
CPID=$!
wait_for 30 test -s "$TMP/port" || { nok $NAME "collect did not start: $(tail -3 "$TMP/collect.err")"; exit 0; }
# the session stays up after the file (until SIGTERM): the routes are read while it is
"$DARKMAP" feed --to "127.0.0.1:$(head -1 "$TMP/port")" --speed 0 --hold -1 "$TMP/rib.mrt" "$TMP/ap.mrt" 2>"$TMP/feed.err" &
FPID=$!
wait_for 30 grep -q '|W|127.0.0.2|65001|10.1.0.0/16|1$' "$TMP/out" || nok $NAME "the withdrawal did not arrive: $(tail -3 "$TMP/feed.err")"
kill -USR1 $CPID
wait_for 30 test -s "$TMP/state"
kill $FPID
wait $FPID || nok "$NAME feed" "feed exit $?: $(tail -3 "$TMP/feed.err")"
want='127.0.0.2|65001|10.1.0.0/16|2|65001 65003|IGP|127.0.0.2|0|0||NAG||
127.0.0.2|65001|10.2.0.0/16|1|65001 65005|IGP|127.0.0.2|0|0||NAG||
127.0.0.2|65001|10.2.0.0/16|2|65001 65006|IGP|127.0.0.2|0|0||NAG||
127.0.0.2|65001|2001:db8:1::/48|7|65001 4200000000|IGP|2001:db8::2|0|0||NAG||'
if [ "$(cat "$TMP/state")" = "$want" ]; then
	ok "$NAME state: the paths left, by path id"
else
	nok "$NAME state" "$(diff <(echo "$want") "$TMP/state" | tr '\n' ' ')"
fi
# the RIB's two paths (two attribute sets: two UPDATEs), then the four archived ones
grep -q '^darkmap feed: 1 sessions, 6 UPDATEs, 2 prefixes packed .*, 0 problems$' "$TMP/feed.err" ||
	nok "$NAME feed" "feed did not send the 6 UPDATEs without a problem: $(grep UPDATEs "$TMP/feed.err")"
kill $CPID
wait $CPID
rc=$?
CPID=
[ $rc = 0 ] || nok $NAME "collect exit $rc"
# the archive: route lines (fields 3..) as in the source file; bgpdump and darkmap agree
files=$(find "$TMP/arch/c" -name 'updates.*' | sort)
src="A|127.0.0.2|65001|10.2.0.0/16|1|65001 65005|IGP|127.0.0.2|0|0||NAG||
A|127.0.0.2|65001|10.2.0.0/16|2|65001 65006|IGP|127.0.0.2|0|0||NAG||
$("$DARKMAP" dump -m "$TMP/ap.mrt" 2>/dev/null | cut -d'|' -f3-)"
# shellcheck disable=SC2086
bd=$(for f in $files; do bgpdump -m "$f" 2>/dev/null; done)
# shellcheck disable=SC2086
dm=$("$DARKMAP" dump -m $files 2>/dev/null)
# the RIB's paths first (in the order of feed's packing slots: sorted here), then the updates
routes=$(echo "$dm" | grep -v '|STATE|' | cut -d'|' -f3-)
got=$(echo "$routes" | head -2 | sort; echo "$routes" | tail -n +3)
if [ -z "$files" ]; then
	nok "$NAME archive" "no updates file: $(find "$TMP/arch" -type f | tr '\n' ' ')"
elif [ "$bd" != "$dm" ]; then
	nok "$NAME archive" "bgpdump -m and darkmap dump -m differ: $(diff <(echo "$bd") <(echo "$dm") | head -4 | tr '\n' ' ')"
elif [ "$got" != "$src" ]; then
	nok "$NAME archive" "route lines differ from the source: $(diff <(echo "$src") <(echo "$got") | tr '\n' ' ')"
elif ! echo "$dm" | grep -q '^BGP4MP_ET_AP|'; then
	nok "$NAME archive" "no ADD-PATH records"
else
	ok "$NAME archive: the same $(echo "$got" | wc -l) route lines with their path ids, bgpdump -m = darkmap dump -m"
fi
