#!/usr/bin/env bash
# Malformed BGP messages from a small independent generator (bgp_peer.py, raw bytes over a
# socket) get the NOTIFICATION code/subcode RFC 4271 §6 (and RFC 6608, RFC 7313) prescribe;
# an RFC 7606 attribute error withdraws the route without a NOTIFICATION; a peer past its
# max-prefix gets Cease/1 with AFI/SAFI/limit (RFC 4486); a peer stalled mid-message is cut by
# its hold timer (4/0); a connection collision keeps the connection the higher BGP Identifier
# opened and closes the other with Cease/7 (RFC 4271 §6.8), both ways; a flooding peer's input
# stays within max-input while a good session on the same collector stays up through all of it
# and still gets its later routes in, between the flooder's UPDATEs.
source "$(dirname "$0")/../lib.sh"
NAME=live_malformed
if ! command -v python3 >/dev/null; then
	skip $NAME "python3 absent"
	exit 0
fi
PEER="python3 $(dirname "$0")/bgp_peer.py"
CPID='' GPID='' FPID=''
# shellcheck disable=SC2154
trap 'for p in $FPID $GPID $CPID; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$TMP"' EXIT

# two free ports where the collector's active peers (the collision cases) will listen
read -r Q1 Q2 < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
# 127.0.0.6: at most 3 routes; 127.0.0.7: hold time 3 s; 127.0.0.8, 127.0.0.9: active peers;
# 127.0.0.10 (the flooder, 1,000 prefixes announced then withdrawn, over and over): at most 1,000
# routes, so that a count drifting in the max-prefix set (a withdrawal not found) would cut it
"$DARKMAP" collect --listen 127.0.0.1:0 --peer 127.0.0.0/8,any --peer 127.0.0.4,65001 --print \
	--peer 127.0.0.6,65001,max-prefix=3 --peer 127.0.0.7,65001,hold-time=3 \
	--peer "127.0.0.8,65001,active,port=$Q1" --peer "127.0.0.9,65001,active,port=$Q2" \
	--peer 127.0.0.10,65020,max-prefix=1000 \
	--state "$TMP/state" --port-file "$TMP/port" >"$TMP/out" 2>"$TMP/err" &
CPID=$!
wait_for 30 test -s "$TMP/port" || { nok $NAME "collect did not start"; exit 0; }
P=$(cat "$TMP/port")

# the good session: one route now, one more after the bad ones
$PEER announce --port "$P" --src 127.0.0.2 --as 65010 --hold 600 --go "$TMP/go" \
	"10.10.0.0/16,65010 65011,127.0.0.2" --late "10.11.0.0/16,65010 65012,127.0.0.2" 2>"$TMP/good.err" &
GPID=$!
wait_for 60 grep -q '10.10.0.0/16' "$TMP/out" || { nok $NAME "the good session's route did not arrive"; exit 0; }

# case, source address, expected NOTIFICATION (code/subcode, from the RFCs)
while read -r case src want why; do
	[ -n "$case" ] || continue
	got=$($PEER bad "$case" --port "$P" --src "$src" --as 65001 --timeout 5 2>&1)
	if [ "$got" = "$want" ]; then
		ok "$NAME $case -> $want ($why)"
	else
		nok "$NAME $case" "want $want ($why), got '$got'"
	fi
done <<'EOF'
marker 127.0.0.3 1/1 RFC4271-6.1-connection-not-synchronized
short-length 127.0.0.3 1/2 RFC4271-6.1-bad-message-length
long-keepalive 127.0.0.3 1/2 RFC4271-6.1-KEEPALIVE-not-19
bad-type 127.0.0.3 1/3 RFC4271-6.1-bad-message-type
open-version 127.0.0.3 2/1 RFC4271-6.2-unsupported-version
open-as 127.0.0.4 2/2 RFC4271-6.2-bad-peer-AS
open-id 127.0.0.3 2/3 RFC4271-6.2-bad-BGP-identifier
open-param 127.0.0.3 2/4 RFC4271-6.2-unsupported-optional-parameter
open-hold 127.0.0.3 2/6 RFC4271-6.2-unacceptable-hold-time
update-attr-len 127.0.0.3 3/1 RFC7606-5.3-malformed-attribute-list
update-nlri 127.0.0.3 3/10 RFC7606-5.3-invalid-network-field
update-in-opensent 127.0.0.3 5/1 RFC6608-unexpected-in-OpenSent
open-in-established 127.0.0.3 5/3 RFC6608-unexpected-in-Established
refresh-len 127.0.0.3 7/1 RFC7313-5-invalid-ROUTE-REFRESH-length
origin-taw 127.0.0.5 none RFC7606-7.1-treat-as-withdraw
EOF

# RFC 7606: the route was announced, then withdrawn by the malformed UPDATE
if grep -q '|A|127.0.0.5|65001|10.9.0.0/16|' "$TMP/out" && grep -q '|W|127.0.0.5|65001|10.9.0.0/16$' "$TMP/out"; then
	ok "$NAME treat-as-withdraw: 10.9.0.0/16 announced then withdrawn, session kept"
else
	nok "$NAME treat-as-withdraw" "$(grep '10.9.0.0' "$TMP/out" | head -3 | tr '\n' ' ')"
fi

# RFC 4486 §4: past max-prefix 3 (10.100.0-2 in, .1 out, .3 in, .0 again: 3; .4: 4), Cease/1
# with AFI 1, SAFI 1, the limit 3; the routes it held are gone with the session
got=$($PEER bad max-prefix --data --port "$P" --src 127.0.0.6 --as 65001 --timeout 10 2>&1)
if [ "$got" = "6/1 00010100000003" ]; then
	ok "$NAME max-prefix -> 6/1 AFI 1 SAFI 1 limit 3 (RFC4486), after the 4th route"
else
	nok "$NAME max-prefix" "want '6/1 00010100000003', got '$got'"
fi
wait_for 10 grep -q '|A|127.0.0.6|65001|10.100.4.0/24|' "$TMP/out"
if [ "$(grep -c '|A|127.0.0.6|65001|10.100.4.0/24|' "$TMP/out")" = 1 ] &&
	grep -q 'peer 127.0.0.6: NOTIFICATION sent 6/1' "$TMP/err"; then
	ok "$NAME max-prefix: cut right after the UPDATE past the limit"
else
	nok "$NAME max-prefix cut" "$(grep '127.0.0.6' "$TMP/out" "$TMP/err" | tail -3 | tr '\n' ' ')"
fi

# half a message, then silence: the hold timer (3 s, negotiated) ends it with 4/0
got=$($PEER bad stall --port "$P" --src 127.0.0.7 --as 65001 --timeout 20 2>&1)
[ "$got" = "4/0" ] && ok "$NAME stall mid-message -> 4/0 (RFC4271-6.5 hold timer expired)" ||
	nok "$NAME stall" "want 4/0, got '$got'"

# collisions (RFC 4271 §6.8): the collector (identifier 127.0.0.1) connects to 127.0.0.8 and
# 127.0.0.9 while they connect to it; the connection opened by the higher identifier stays
got=$($PEER collide --port "$P" --src 127.0.0.8 --listen-port "$Q1" --id 10.0.0.2 --hold 0 --timeout 30 2>&1)
[ "$got" = "accepted=up connected=6/7" ] &&
	ok "$NAME collision, peer id lower: the collector's connection stays, the peer's gets 6/7" ||
	nok "$NAME collision lower" "want 'accepted=up connected=6/7', got '$got'"
got=$($PEER collide --port "$P" --src 127.0.0.9 --listen-port "$Q2" --id 200.0.0.1 --hold 0 --timeout 30 2>&1)
[ "$got" = "accepted=6/7 connected=up" ] &&
	ok "$NAME collision, peer id higher: the peer's connection stays, the collector's gets 6/7" ||
	nok "$NAME collision higher" "want 'accepted=6/7 connected=up', got '$got'"

# a flooder: UPDATEs as fast as TCP takes them; its input buffer never passes max-input
$PEER flood --port "$P" --src 127.0.0.10 --as 65020 --go "$TMP/stop" >"$TMP/flood.out" 2>"$TMP/flood.err" &
FPID=$!
wait_for 60 grep -q '|127.0.0.10|65020|10.20' "$TMP/out" || nok "$NAME flood" "no UPDATE from the flooder: $(cat "$TMP/flood.err")"
for _ in 1 2 3 4 5; do
	kill -USR1 $CPID
	sleep 0.3
done
reports=$(grep -c '^peer 127.0.0.10 as 65020: Established' "$TMP/err")
maxin=$(grep '^peer 127.0.0.10 as 65020: Established' "$TMP/err" | sed -E 's/.*\(input ([0-9]+) of ([0-9]+),.*/\1 \2/' |
	awk '$1 > $2 {bad = 1} $1 > m {m = $1} END {print (bad ? "over" : m + 0)}')
if [ "$reports" -ge 1 ] && [ "$maxin" != over ]; then
	ok "$NAME flood: input buffer within max-input in $reports reports (largest $maxin of 262144 bytes)"
else
	nok "$NAME flood memory" "reports $reports, input $maxin: $(grep '^peer 127.0.0.10' "$TMP/err" | tail -2 | tr '\n' ' ')"
fi

# the good session went on: its late route arrives while the flooder still sends, it was never
# dropped
touch "$TMP/go"
if wait_for 60 grep -q '10.11.0.0/16' "$TMP/out"; then
	# the flooder's UPDATEs still come after the late route: it was let in between them
	late=$(grep -n '10.11.0.0/16' "$TMP/out" | head -1 | cut -d: -f1)
	wait_for 30 bash -c "tail -n +$late '$TMP/out' | grep -q '|127.0.0.10|65020|'"
	after=$(tail -n +"$late" "$TMP/out" | grep -c '|127.0.0.10|65020|')
	before=$(head -n "$late" "$TMP/out" | grep -c '|127.0.0.10|65020|')
	if [ "$after" -gt 0 ] && [ "$before" -gt 0 ]; then
		ok "$NAME flood: the good session's late route came in between the flooder's UPDATEs ($before before, $after after)"
	else
		nok "$NAME flood order" "flooder lines before $before, after $after"
	fi
	touch "$TMP/stop"
	wait $FPID
	FPID=
	if grep -q 'peer 127.0.0.10: NOTIFICATION sent' "$TMP/err"; then
		nok "$NAME flood" "the flooder was cut: $(grep 'peer 127.0.0.10: NOTIFICATION' "$TMP/err")"
	else
		ok "$NAME flood: the flooder kept its session, never past max-prefix 1000 over $(cat "$TMP/flood.out") UPDATEs of churn"
	fi
	rm -f "$TMP/state"   # the flood's reports wrote one already
	kill -USR1 $CPID
	wait_for 30 test -s "$TMP/state"
	if ! grep -q '127.0.0.2 AS65010: Established -> ' "$TMP/err" &&
		[ "$(grep -c '^127.0.0.2|65010|' "$TMP/state")" = 2 ]; then
		ok "$NAME the good session stayed Established and holds both its routes"
	else
		nok "$NAME good session" "$(grep 127.0.0.2 "$TMP/err" "$TMP/state" | head -4 | tr '\n' ' ')"
	fi
else
	nok $NAME "the good session's late route never arrived: stalled"
fi
