#!/usr/bin/env bash
# RFC 4724 graceful restart, receiving side: a peer that advertised the capability and loses its
# connection (no NOTIFICATION) keeps its routes, stale; back within its restart time it announces
# part of them and End-of-RIB: the rest goes. A peer without the capability loses its routes at
# once; a session ended by a NOTIFICATION too.
source "$(dirname "$0")/../lib.sh"
NAME=live_gr
command -v python3 >/dev/null || { skip $NAME "python3 absent"; exit 0; }
PEER="python3 $(dirname "$0")/bgp_peer.py"
CPID=
trap 'kill $CPID 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
"$DARKMAP" collect --listen 127.0.0.1:0 --peer 127.0.0.0/8,any --state "$TMP/state" --port-file "$TMP/port" \
	2>"$TMP/err" &
CPID=$!
wait_for 30 test -s "$TMP/port" || { nok $NAME "collect did not start"; exit 0; }
P=$(cat "$TMP/port")
routes() {   # the state's PEER|AS|PREFIX, one line
	rm -f "$TMP/state"
	kill -USR1 $CPID
	wait_for 30 test -e "$TMP/state"
	cut -d'|' -f1-3 "$TMP/state" | tr '\n' ' '
}
# a session that ends: Idle after a NOTIFICATION, Active (waiting for its return) after a lost
# connection
downs() { [ "$(grep -c -E "$1 .*Established -> (Idle|Active)" "$TMP/err")" -ge "$2" ]; }
$PEER announce --port "$P" --src 127.0.0.6 --as 65006 --id 10.0.0.6 --gr 120 --abrupt \
	"10.60.0.0/16,65006,127.0.0.6" "10.61.0.0/16,65006,127.0.0.6"
$PEER announce --port "$P" --src 127.0.0.7 --as 65007 --id 10.0.0.7 --abrupt "10.70.0.0/16,65007,127.0.0.7"
wait_for 30 downs 127.0.0.6 1 && wait_for 30 downs 127.0.0.7 1
got=$(routes)
want="127.0.0.6|65006|10.60.0.0/16 127.0.0.6|65006|10.61.0.0/16 "
[ "$got" = "$want" ] && ok "$NAME connection lost: the restarting peer's routes kept, the other peer's gone" ||
	nok "$NAME connection lost" "want '$want', got '$got'"
# back: only 10.60.0.0/16, then End-of-RIB (sent after its routes), the session kept open
$PEER announce --port "$P" --src 127.0.0.6 --as 65006 --id 10.0.0.6 --gr 120 --hold 0 --go "$TMP/go" \
	"10.60.0.0/16,65006,127.0.0.6" &
GPID=$!
eors() { [ "$(grep -c '127.0.0.6 AS65006: End-of-RIB IPv4' "$TMP/err")" -ge 2 ]; }
wait_for 60 eors
got=$(routes)
want="127.0.0.6|65006|10.60.0.0/16 "
[ "$got" = "$want" ] && ok "$NAME back with End-of-RIB: what it did not announce again is gone" ||
	nok "$NAME back with End-of-RIB" "want '$want', got '$got'"
# it ends with Cease/2: a NOTIFICATION, so no graceful restart this time
touch "$TMP/go"
wait_for 30 downs 127.0.0.6 2
wait $GPID
got=$(routes)
[ "$got" = "" ] && ok "$NAME a session ended by a NOTIFICATION keeps nothing" || nok "$NAME NOTIFICATION" "routes '$got'"
