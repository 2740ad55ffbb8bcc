#!/usr/bin/env bash
# Malformed BGP messages from a small independent generator (bgp_peer.py, raw bytes over a
# socket) get the NOTIFICATION code/subcode RFC 4271 §6 (and RFC 6608, RFC 7313) prescribe;
# an RFC 7606 attribute error withdraws the route without a NOTIFICATION; and a good session on
# the same collector stays up through all of it and still gets its later routes in.
source "$(dirname "$0")/../lib.sh"
NAME=live_malformed
if ! command -v python3 >/dev/null; then
	skip $NAME "python3 absent"
	exit 0
fi
PEER="python3 $(dirname "$0")/bgp_peer.py"
CPID= GPID=
trap 'for p in $GPID $CPID; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$TMP"' EXIT


"$DARKMAP" collect --listen 127.0.0.1:0 --peer 127.0.0.0/8,any --peer 127.0.0.4,65001 --print \
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

# the good session went on: its late route arrives, it was never dropped
touch "$TMP/go"
if wait_for 60 grep -q '10.11.0.0/16' "$TMP/out"; then
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
