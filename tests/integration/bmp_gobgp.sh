#!/usr/bin/env bash
# BMP against a real BMP client: gobgpd "router" (AS 64512, 127.0.0.2) peers with a second gobgpd
# (AS 65001, 127.0.0.3, IPv4 + IPv6 unicast, ADD-PATH) that announces a known set (next hops off
# loopback: gobgpd treats a loopback next hop as invalid), withdraws part
# of it and goes away; the router reports it over BMP (pre- and post-policy) to darkmap's station
# (tests/live/bmp_listen, src/live/bmp_station.c) which archives it (src/live/archive.c).
# Checks: the exact elements the station decoded (from what was announced, written by hand), and
# the archive read back by Debian's bgpdump -m and by darkmap dump -m, line for line.
# Loopback only, ports picked free at run time.
source "$(dirname "$0")/../lib.sh"
LISTEN=$ROOT/build/asan/tests/live/bmp_listen
command -v gobgpd >/dev/null && command -v gobgp >/dev/null || { skip bmp_gobgp "gobgpd not installed"; exit 0; }
[ -x "$LISTEN" ] || { skip bmp_gobgp "$LISTEN not built (make unit-bins)"; exit 0; }

read -r P_A P_B API_A API_B < <(python3 -c '
import socket
s = [socket.socket() for _ in range(4)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; [ -n "${TMP_TEST:-}" ] || rm -rf "$TMP"; }
trap cleanup EXIT

# wait_for FILE PATTERN COUNT: until COUNT lines of FILE match (gives up after 60 s)
wait_for() {
	for _ in $(seq 600); do
		[ "$(grep -c -E "$2" "$1")" -ge "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

"$LISTEN" 127.0.0.1:0 "$TMP/arch" >"$TMP/listen.out" 2>"$TMP/listen.err" &
pids+=($!)
wait_for "$TMP/listen.out" '^listening' 1 || { nok bmp_gobgp "station did not start: $(cat "$TMP/listen.err")"; exit 0; }
PORT=$(awk '/^listening/ {print $2}' "$TMP/listen.out")

afisafis() {  # ADD-PATH receive on the router, send on the speaker (RFC 7911)
	for f in ${AFIS:-ipv4-unicast ipv6-unicast}; do
		printf '[[neighbors.afi-safis]]\n  [neighbors.afi-safis.config]\n    afi-safi-name = "%s"\n' "$f"
		printf '  [neighbors.afi-safis.add-paths.config]\n    %s\n' "$1"
	done
}
cat >"$TMP/a.toml" <<EOF
[global.config]
  as = 64512
  router-id = "127.0.0.2"
  port = $P_A
  local-address-list = ["127.0.0.2"]
[[bmp-servers]]
  [bmp-servers.config]
    address = "127.0.0.1"
    port = $PORT
    route-monitoring-policy = "all"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "127.0.0.3"
    peer-as = 65001
  [neighbors.transport.config]
    local-address = "127.0.0.2"
    remote-port = $P_B
$(afisafis "${AP_RECV:-receive = true}")
EOF
cat >"$TMP/b.toml" <<EOF
[global.config]
  as = 65001
  router-id = "127.0.0.3"
  port = $P_B
  local-address-list = ["127.0.0.3"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "127.0.0.2"
    peer-as = 64512
  [neighbors.transport.config]
    local-address = "127.0.0.3"
    remote-port = $P_A
$(afisafis "${AP_SEND:-send-max = 4}")
EOF
gobgpd -f "$TMP/a.toml" --api-hosts 127.0.0.1:$API_A -p --pprof-disable >"$TMP/a.log" 2>&1 &
PID_A=$!
pids+=($PID_A)
gobgpd -f "$TMP/b.toml" --api-hosts 127.0.0.1:$API_B -p --pprof-disable >"$TMP/b.log" 2>&1 &
PID_B=$!
pids+=($PID_B)
if ! wait_for "$TMP/listen.out" '\|S\|127\.0\.0\.3\|65001\|5\|6$' 1; then
	nok bmp_gobgp "no Peer Up from gobgpd: $(tail -3 "$TMP/a.log")"
	exit 0
fi
gb() { gobgp -p "$API_B" "$@" >>"$TMP/gobgp.log" 2>&1; }
gb global rib add -a ipv4 10.10.0.0/16 aspath 4200000000,65010 nexthop 192.0.2.3 large-community 65001:1:2
gb global rib add -a ipv4 10.20.0.0/24 aspath 65020 nexthop 192.0.2.3
gb global rib add -a ipv6 2001:db8:10::/48 aspath 65030 nexthop 2001:db8::3
wait_for "$TMP/listen.out" '\|A\|' 9 || { nok bmp_gobgp_routes "announcements not all seen: $(grep -c '|A|' "$TMP/listen.out") of 9"; exit 0; }
gb global rib del -a ipv4 10.20.0.0/24
wait_for "$TMP/listen.out" '\|W\|' 3 || { nok bmp_gobgp_routes "withdrawal not seen"; exit 0; }
kill "$PID_B"
wait_for "$TMP/listen.out" '\|S\|127\.0\.0\.3\|65001\|6\|1$' 1 || { nok bmp_gobgp_routes "no Peer Down"; exit 0; }
kill "$PID_A"
wait_for "$TMP/listen.out" '^router bmp:127.0.0.1 down' 1
kill "${pids[0]}"
wait "${pids[0]}"
rc=$?

# What was announced, as the station must decode it: pre-policy (bmp:) and post-policy
# (bmp-post:) views of peer 127.0.0.3 AS 65001, and the router's Loc-RIB (bmp-locrib:, "peer"
# 0.0.0.0 with the router's AS 64512: RFC 9069); post-policy and Loc-RIB withdraw every route
# when the peer goes, pre-policy does not (the Peer Down says it);
# the paths start with the peer's AS (eBGP).
want='bmp-locrib:127.0.0.1|A|0.0.0.0|64512|10.10.0.0/16|65001 4200000000 65010|192.0.2.3
bmp-locrib:127.0.0.1|A|0.0.0.0|64512|10.20.0.0/24|65001 65020|192.0.2.3
bmp-locrib:127.0.0.1|A|0.0.0.0|64512|2001:db8:10::/48|65001 65030|2001:db8::3
bmp-locrib:127.0.0.1|W|0.0.0.0|64512|10.10.0.0/16||
bmp-locrib:127.0.0.1|W|0.0.0.0|64512|10.20.0.0/24||
bmp-locrib:127.0.0.1|W|0.0.0.0|64512|2001:db8:10::/48||
bmp-post:127.0.0.1|A|127.0.0.3|65001|10.10.0.0/16|65001 4200000000 65010|192.0.2.3
bmp-post:127.0.0.1|A|127.0.0.3|65001|10.20.0.0/24|65001 65020|192.0.2.3
bmp-post:127.0.0.1|A|127.0.0.3|65001|2001:db8:10::/48|65001 65030|2001:db8::3
bmp-post:127.0.0.1|W|127.0.0.3|65001|10.10.0.0/16||
bmp-post:127.0.0.1|W|127.0.0.3|65001|10.20.0.0/24||
bmp-post:127.0.0.1|W|127.0.0.3|65001|2001:db8:10::/48||
bmp:127.0.0.1|A|127.0.0.3|65001|10.10.0.0/16|65001 4200000000 65010|192.0.2.3
bmp:127.0.0.1|A|127.0.0.3|65001|10.20.0.0/24|65001 65020|192.0.2.3
bmp:127.0.0.1|A|127.0.0.3|65001|2001:db8:10::/48|65001 65030|2001:db8::3
bmp:127.0.0.1|S|127.0.0.3|65001|5|6
bmp:127.0.0.1|S|127.0.0.3|65001|6|1
bmp:127.0.0.1|W|127.0.0.3|65001|10.20.0.0/24||'
got=$(grep '^bmp' "$TMP/listen.out" | sort)
if [ "$got" = "$want" ] && [ "$rc" = 0 ] && ! grep -q '^error' "$TMP/listen.out"; then
	ok bmp_gobgp_routes
else
	nok bmp_gobgp_routes "station exit $rc; $(grep '^error' "$TMP/listen.out" | head -2 | tr '\n' ' ') diff: $(diff <(echo "$want") <(echo "$got") | head -8 | tr '\n' ' ')"
	mkdir -p "$KEEP/bmp_gobgp" && cp "$TMP"/*.out "$TMP"/*.log "$KEEP/bmp_gobgp/" 2>/dev/null
fi

# The archive: one folder per collector, updates files compressed at close; bgpdump and darkmap
# must print the same lines, and they must be the elements above.
for coll in bmp:127.0.0.1 bmp-post:127.0.0.1 bmp-locrib:127.0.0.1; do
	files=$(find "$TMP/arch/$coll" -name 'updates.*.bz2' | sort)
	if [ -z "$files" ] || find "$TMP/arch/$coll" -name 'updates.*' ! -name '*.bz2' | grep -q .; then
		nok "bmp_gobgp_archive_$coll" "no compressed updates file, or a plain one left: $(find "$TMP/arch" -type f | tr '\n' ' ')"
		continue
	fi
	# shellcheck disable=SC2086
	bd=$(for f in $files; do bgpdump -m "$f" 2>/dev/null; echo; done | grep .)
	# shellcheck disable=SC2086
	dm=$("$DARKMAP" dump -m $files 2>"$TMP/dump.err")
	# fields 3..: type, peer, AS, prefix, [path id in _AP records,] path, origin, next hop: what
	# the station printed
	fields=$(echo "$bd" | awk -F'|' -v c="$coll" '$3 == "STATE" {print c "|S|" $4 "|" $5 "|" $6 "|" $7; next}
		{ap = $1 ~ /_AP$/; nh = $3 == "A" ? $(9 + ap) : ""; path = $3 == "A" ? $(7 + ap) : ""
		 print c "|" $3 "|" $4 "|" $5 "|" $6 "|" path "|" nh}' | sort)
	if [ "$bd" != "$dm" ]; then
		nok "bmp_gobgp_archive_$coll" "bgpdump -m and darkmap dump -m differ: $(diff <(echo "$bd") <(echo "$dm") | head -4 | tr '\n' ' ')"
	elif [ "$fields" != "$(echo "$want" | grep "^$coll|")" ]; then
		nok "bmp_gobgp_archive_$coll" "archived lines differ from the elements: $(diff <(echo "$want" | grep "^$coll|") <(echo "$fields") | head -6 | tr '\n' ' ')"
	else
		ok "bmp_gobgp_archive_$coll"
	fi
done
