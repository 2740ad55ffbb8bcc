#!/usr/bin/env bash
# SIGHUP reload of darkmap collect's config: a peer whose line did not change keeps its session
# (and routes); a peer whose AS changed gets Cease/6 (RFC 4486 other configuration change); a
# removed peer gets Cease/3 (peer de-configured); an added peer can connect.
source "$(dirname "$0")/../lib.sh"
NAME=live_reload
command -v python3 >/dev/null || { skip $NAME "python3 absent"; exit 0; }
PEER="python3 $(dirname "$0")/bgp_peer.py"
PIDS=
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$TMP"' EXIT
conf() {   # $1 = AS of 127.0.0.3, $2 = 1: keep 127.0.0.4
	{
		echo "listen 127.0.0.1:0"
		echo "local-as 65000"
		echo "peer 127.0.0.2 as 65002   # unchanged"
		echo "peer 127.0.0.3 as $1"
		[ "$2" = 1 ] && echo "peer 127.0.0.4 as 65004" || echo "peer 127.0.0.5 as 65005"
	} >"$TMP/collect.conf"
}
conf 65003 1
"$DARKMAP" collect --config "$TMP/collect.conf" --state "$TMP/state" --port-file "$TMP/port" 2>"$TMP/err" &
CPID=$!
PIDS=$CPID
wait_for 30 test -s "$TMP/port" || { nok $NAME "collect did not start"; exit 0; }
P=$(cat "$TMP/port")
for n in 2 3 4; do
	$PEER announce --port "$P" --src 127.0.0.$n --as 6500$n --id 10.0.0.$n --hold 600 --go "$TMP/go" \
		"10.$n.0.0/16,6500$n,127.0.0.$n" >"$TMP/peer$n.out" 2>&1 &
	PIDS="$PIDS $!"
done
three_up() { [ "$(grep -c 'End-of-RIB IPv4' "$TMP/err")" -ge 3 ]; }
wait_for 60 three_up || { nok $NAME "3 sessions did not come up"; exit 0; }
conf 65033 0
kill -HUP $CPID
wait_for 30 grep -q 'reloaded' "$TMP/err" || { nok $NAME "no reload"; exit 0; }
wait_for 30 grep -q 'NOTIFICATION' "$TMP/peer3.out"
wait_for 30 grep -q 'NOTIFICATION' "$TMP/peer4.out"
r3=$(cat "$TMP/peer3.out") r4=$(cat "$TMP/peer4.out")
[ "$r3" = "NOTIFICATION 6/6" ] && ok "$NAME changed peer: Cease/6" || nok "$NAME changed peer" "got '$r3'"
[ "$r4" = "NOTIFICATION 6/3" ] && ok "$NAME removed peer: Cease/3" || nok "$NAME removed peer" "got '$r4'"
# the added peer connects
$PEER announce --port "$P" --src 127.0.0.5 --as 65005 --id 10.0.0.5 --hold 600 --go "$TMP/go" \
	"10.5.0.0/16,65005,127.0.0.5" >"$TMP/peer5.out" 2>&1 &
PIDS="$PIDS $!"
wait_for 60 grep -q '127.0.0.5 AS65005: End-of-RIB IPv4' "$TMP/err" && ok "$NAME added peer Established" ||
	nok "$NAME added peer" "$(tail -2 "$TMP/err" | tr '\n' ' ')"
kill -USR1 $CPID
wait_for 30 test -s "$TMP/state"
if ! grep -q '127.0.0.2 AS65002: Established ->' "$TMP/err" && [ "$(cut -d'|' -f1-3 "$TMP/state" | tr '\n' ' ')" = "127.0.0.2|65002|10.2.0.0/16 127.0.0.5|65005|10.5.0.0/16 " ]; then
	ok "$NAME unchanged peer kept its session and routes through the reload"
else
	nok "$NAME unchanged peer" "$(grep 127.0.0.2 "$TMP/err" | tr '\n' ' '); state: $(tr '\n' ' ' <"$TMP/state")"
fi
