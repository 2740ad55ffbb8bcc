#!/usr/bin/env bash
# ExaBGP 4.2 (Debian) as a peer of darkmap collect on loopback: a 4-byte-AS speaker announcing
# a static IPv4 and IPv6 route list; collect's route dump must hold exactly those routes, with the
# attributes written in exabgp's config (the expected lines below are written by hand from it).
# daem10's five-daemon harness goes further (withdrawals, ADD-PATH, the MRT archive).
source "$(dirname "$0")/../lib.sh"
NAME=live_exabgp
if ! command -v exabgp >/dev/null; then
	skip $NAME "exabgp absent (scripts/bootstrap installs it)"
	exit 0
fi
CPID= XPID=
trap 'for p in $XPID $CPID; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$TMP"' EXIT


"$DARKMAP" collect --listen 127.0.0.1:0 --peer 127.0.0.9,4200000009 --local-as 65000 --router-id 10.0.0.1 \
	--state "$TMP/state" --port-file "$TMP/port" 2>"$TMP/collect.err" &
CPID=$!
wait_for 30 test -s "$TMP/port" || { nok $NAME "collect did not start"; exit 0; }

cat >"$TMP/exabgp.conf" <<EOF
neighbor 127.0.0.1 {
	router-id 10.0.0.9;
	local-address 127.0.0.9;
	local-as 4200000009;
	peer-as 65000;
	connect $(cat "$TMP/port");
	hold-time 30;
	family {
		ipv4 unicast;
		ipv6 unicast;
	}
	static {
		route 10.50.0.0/16 next-hop 127.0.0.9 origin igp as-path [ 4200000009 65100 ] community [ 65000:1 65000:2 ];
		route 10.51.128.0/17 next-hop 127.0.0.9 origin egp as-path [ 4200000009 65100 65200 ] med 50;
		route 192.0.2.0/24 next-hop 127.0.0.9 origin incomplete as-path [ 4200000009 ] atomic-aggregate;
		route 2001:db8:50::/48 next-hop 2001:db8::9 origin igp as-path [ 4200000009 65300 ];
	}
}
EOF
# no listening socket, no CLI pipes, log to a file; loopback only
env exabgp.daemon.daemonize=false exabgp.tcp.bind='' exabgp.api.cli=false exabgp.log.destination="$TMP/exabgp.log" \
	exabgp.daemon.user="$(id -un)" timeout 120 exabgp "$TMP/exabgp.conf" >"$TMP/exabgp.out" 2>&1 &
XPID=$!

if ! wait_for 90 grep -q '127.0.0.9 AS4200000009: End-of-RIB IPv6' "$TMP/collect.err"; then
	nok $NAME "no End-of-RIB from exabgp: $(tail -3 "$TMP/collect.err" "$TMP/exabgp.out" | tr '\n' ' ')"
	mkdir -p "$KEEP/$NAME" && cp "$TMP"/* "$KEEP/$NAME/" 2>/dev/null
	exit 0
fi
wait_for 30 grep -q '127.0.0.9 AS4200000009: End-of-RIB IPv4' "$TMP/collect.err"
kill -USR1 $CPID
wait_for 30 test -s "$TMP/state"
cat >"$TMP/want" <<'EOF'
127.0.0.9|4200000009|10.50.0.0/16|4200000009 65100|IGP|127.0.0.9|0|0|65000:1 65000:2|NAG||
127.0.0.9|4200000009|10.51.128.0/17|4200000009 65100 65200|EGP|127.0.0.9|0|50||NAG||
127.0.0.9|4200000009|192.0.2.0/24|4200000009|INCOMPLETE|127.0.0.9|0|0||AG||
127.0.0.9|4200000009|2001:db8:50::/48|4200000009 65300|IGP|2001:db8::9|0|0||NAG||
EOF
if LC_ALL=C sort "$TMP/want" | cmp -s - "$TMP/state"; then
	ok "$NAME exabgp's 4 static routes (IPv4, IPv6, 4-byte AS) exactly as configured"
else
	nok $NAME "state differs: $(diff <(LC_ALL=C sort "$TMP/want") "$TMP/state" | tr '\n' ' ')"
fi
