#!/usr/bin/env bash
# BMP against real BMP clients: a "router" (gobgpd 3.10, then FRR 8.4 bgpd with its bmp module;
# AS 64512, 127.0.0.2) peers with a gobgpd speaker (AS 65001, 127.0.0.3, IPv4 + IPv6 unicast,
# ADD-PATH send) that announces a known set (next hops off loopback: gobgpd treats a loopback
# next hop as invalid), withdraws part of it and goes away; the router reports it over BMP to
# darkmap's station (tests/live/bmp_listen, src/live/bmp_station.c), which archives it
# (src/live/archive.c). Checks: the exact elements the station decoded (written by hand from what
# was announced and what each router is known to send), and the archive read back by Debian's
# bgpdump -m and by darkmap dump -m, line for line. Then the same router into `darkmap collect
# --bmp --archive` (run_collect): the exact routes of its --state after the announcements, after
# the withdrawal and at the end, its routing state's peers (--peers: each monitored peer and view
# a peer of the RIB, up then down), and its archive as above. Loopback only, ports picked free at
# run time.
source "$(dirname "$0")/../lib.sh"
LISTEN=$ROOT/build/asan/tests/live/bmp_listen
FRR_BGPD=/usr/lib/frr/bgpd
command -v gobgpd >/dev/null && command -v gobgp >/dev/null || { skip bmp_routers "gobgpd not installed"; exit 0; }
[ -x "$LISTEN" ] || { skip bmp_routers "$LISTEN not built (make unit-bins)"; exit 0; }

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; [ -n "${TMP_TEST:-}" ] || rm -rf "$TMP"; }
trap cleanup EXIT

# wait_for FILE PATTERN COUNT: until COUNT lines of FILE match (gives up after 60 s)
wait_for() {
	for _ in $(seq 600); do
		n=$(grep -s -c -E "$2" "$1")
		[ "${n:-0}" -ge "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

afisafis() {  # IPv4 and IPv6 unicast; ADD-PATH as asked (RFC 7911)
	for f in ipv4-unicast ipv6-unicast; do
		printf '[[neighbors.afi-safis]]\n  [neighbors.afi-safis.config]\n    afi-safi-name = "%s"\n' "$f"
		printf '  [neighbors.afi-safis.add-paths.config]\n    %s\n' "$1"
	done
}

# router_conf NAME DIR: the router's configuration (BGP port P_A, BMP to PORT, peer at P_B)
router_conf() {
	case $1 in
	gobgp) cat >"$2/a.conf" <<EOF
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
$(afisafis 'receive = true')
EOF
	;;
	frr) cat >"$2/a.conf" <<EOF
frr defaults traditional
hostname r1
router bgp 64512
 bgp router-id 127.0.0.2
 no bgp ebgp-requires-policy
 neighbor 127.0.0.3 remote-as 65001
 neighbor 127.0.0.3 port $P_B
 neighbor 127.0.0.3 update-source 127.0.0.2
 address-family ipv4 unicast
  neighbor 127.0.0.3 soft-reconfiguration inbound
 exit-address-family
 address-family ipv6 unicast
  neighbor 127.0.0.3 activate
  neighbor 127.0.0.3 soft-reconfiguration inbound
 exit-address-family
 bmp targets station
  bmp connect 127.0.0.1 port $PORT min-retry 100 max-retry 1000
  bmp monitor ipv4 unicast pre-policy
  bmp monitor ipv6 unicast pre-policy
  bmp monitor ipv4 unicast post-policy
  bmp monitor ipv6 unicast post-policy
 exit
EOF
	;;
	esac
}

router_start() {  # NAME DIR
	case $1 in
	gobgp) gobgpd -f "$2/a.conf" --api-hosts 127.0.0.1:$API_A -p --pprof-disable >"$2/a.log" 2>&1 & ;;
	frr) "$FRR_BGPD" -f "$2/a.conf" -M bmp -Z -n -S -p "$P_A" -l 127.0.0.2 -P 0 -i "$2/bgpd.pid" \
		--vty_socket "$2" --log "file:$2/a.log" >"$2/a.out" 2>&1 & ;;
	esac
}

# ports NAME: a scratch folder (dir) and four free ports (the router's and the speaker's BGP and API)
ports() {
	dir=$TMP/$1
	mkdir -p "$dir"
	read -r P_A P_B API_A API_B < <(python3 -c '
import socket
s = [socket.socket() for _ in range(4)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
}

# routers NAME: the router (BMP to PORT) and the gobgpd speaker behind it; sets pid_a, pid_b
routers() {
	router_conf "$1" "$dir"
	cat >"$dir/b.toml" <<EOF
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
$(afisafis 'send-max = 4')
EOF
	router_start "$1" "$dir"
	pid_a=$!
	pids+=("$pid_a")
	gobgpd -f "$dir/b.toml" --api-hosts 127.0.0.1:$API_B -p --pprof-disable >"$dir/b.log" 2>&1 &
	pid_b=$!
	pids+=("$pid_b")
}
gb() { gobgp -p "$API_B" "$@" >>"$dir/gobgp.log" 2>&1; }
announce() {
	gb global rib add -a ipv4 10.10.0.0/16 aspath 4200000000,65010 nexthop 192.0.2.3 large-community 65001:1:2
	gb global rib add -a ipv4 10.20.0.0/24 aspath 65020 nexthop 192.0.2.3
	gb global rib add -a ipv6 2001:db8:10::/48 aspath 65030 nexthop 2001:db8::3
}
withdraw() { gb global rib del -a ipv4 10.20.0.0/24; }

# run NAME WANT NA NW COLLECTORS: one router into tests/live/bmp_listen; NA announcements and NW
# withdrawals (all views) expected before the speaker goes
run() {
	local name=$1 want=$2 na=$3 nw=$4 colls=$5 rc
	ports "$name"
	"$LISTEN" 127.0.0.1:0 "$dir/arch" >"$dir/listen.out" 2>"$dir/listen.err" &
	local pid_l=$!
	pids+=("$pid_l")
	wait_for "$dir/listen.out" '^listening' 1 || { nok "bmp_$name" "station did not start: $(cat "$dir/listen.err")"; return; }
	PORT=$(awk '/^listening/ {print $2}' "$dir/listen.out")
	routers "$name"
	if ! wait_for "$dir/listen.out" '\|S\|127\.0\.0\.3\|65001\|5\|6$' 1; then
		nok "bmp_${name}_routes" "no Peer Up from $name: $(tail -3 "$dir/a.log")"
		return
	fi
	announce
	wait_for "$dir/listen.out" '\|A\|' "$na" ||
		{ nok "bmp_${name}_routes" "announcements: $(grep -c '|A|' "$dir/listen.out") of $na"; return; }
	withdraw
	wait_for "$dir/listen.out" '\|W\|' "$nw" ||
		{ nok "bmp_${name}_routes" "withdrawals: $(grep -c '|W|' "$dir/listen.out") of $nw"; return; }
	kill "$pid_b"
	wait_for "$dir/listen.out" '\|S\|127\.0\.0\.3\|65001\|6\|1$' 1 || { nok "bmp_${name}_routes" "no Peer Down"; return; }
	kill "$pid_a"
	wait_for "$dir/listen.out" '^router bmp:127.0.0.1 down' 1
	kill "$pid_l"
	wait "$pid_l"
	rc=$?
	local got
	got=$(grep '^bmp' "$dir/listen.out" | sort)
	if [ "$got" = "$want" ] && [ "$rc" = 0 ] && ! grep -q '^error' "$dir/listen.out"; then
		ok "bmp_${name}_routes"
	else
		nok "bmp_${name}_routes" "station exit $rc; $(grep '^error' "$dir/listen.out" | head -2 | tr '\n' ' ') diff: $(diff <(echo "$want") <(echo "$got") | head -8 | tr '\n' ' ')"
		mkdir -p "$KEEP/bmp_$name" && cp "$dir"/*.out "$dir"/*.log "$KEEP/bmp_$name/" 2>/dev/null
	fi
	archive_check "$name" "$want" "$colls"
}

# archive_check TAG WANT COLLECTORS: the archive under $dir/arch, one folder per collector,
# updates files compressed at close; bgpdump and darkmap must print the same lines, and they
# must be the elements WANT.
archive_check() {
	local name=$1 want=$2 colls=$3 coll files bd dm fields
	for coll in $colls; do
		files=$(find "$dir/arch/$coll" -name 'updates.*.bz2' | sort)
		if [ -z "$files" ] || find "$dir/arch/$coll" -name 'updates.*' ! -name '*.bz2' | grep -q .; then
			nok "bmp_${name}_archive_$coll" "no compressed updates file, or a plain one left: $(find "$dir/arch" -type f | tr '\n' ' ')"
			continue
		fi
		# shellcheck disable=SC2086
		bd=$(for f in $files; do bgpdump -m "$f" 2>/dev/null; echo; done | grep .)
		# shellcheck disable=SC2086
		dm=$("$DARKMAP" dump -m $files 2>"$dir/dump.err")
		# fields 3..: type, peer, AS, prefix, [path id in _AP records,] path, origin, next hop:
		# what the station printed
		fields=$(echo "$bd" | awk -F'|' -v c="$coll" '$3 == "STATE" {print c "|S|" $4 "|" $5 "|" $6 "|" $7; next}
			{ap = $1 ~ /_AP$/; nh = $3 == "A" ? $(9 + ap) : ""; path = $3 == "A" ? $(7 + ap) : ""
			 print c "|" $3 "|" $4 "|" $5 "|" $6 "|" path "|" nh}' | sort)
		if [ "$bd" != "$dm" ]; then
			nok "bmp_${name}_archive_$coll" "bgpdump -m and darkmap dump -m differ: $(diff <(echo "$bd") <(echo "$dm") | head -4 | tr '\n' ' ')"
		elif [ "$fields" != "$(echo "$want" | grep "^$coll|")" ]; then
			nok "bmp_${name}_archive_$coll" "archived lines differ from the elements: $(diff <(echo "$want" | grep "^$coll|") <(echo "$fields") | head -6 | tr '\n' ' ')"
		else
			ok "bmp_${name}_archive_$coll"
		fi
	done
}

# state_is FILE WANT: asks collect for its state (SIGUSR1) until FILE holds exactly WANT (60 s)
state_is() {
	for _ in $(seq 300); do
		kill -USR1 "$pid_c"
		sleep 0.2
		[ -f "$1" ] && [ "$(cat "$1")" = "$2" ] && return 0
	done
	return 1
}

# run_collect NAME WANT STATE1 STATE2 STATE3 PEERS1 PEERS3 COLLECTORS [PEERS4]: the same router into
# `darkmap collect --bmp --archive`: its --state (routes; "VIEW|PEER|AS|..." for BMP views) after
# the announcements (STATE1), after the withdrawal (STATE2) and once the speaker is gone (STATE3);
# its --peers (the pipeline's routing state: COLLECTOR|PEER|AS|up/down|v4|v6|times down) with
# the routes in (PEERS1) and at the end (PEERS3); the archive it wrote, checked as above against
# the station's elements WANT.
run_collect() {
	local name=$1 want=$2 rc tag="bmp_collect_$1"
	ports "collect_$name"
	"$DARKMAP" collect --listen 127.0.0.1:0 --bmp 127.0.0.1:0 --archive "$dir/arch" --name c --no-geo \
		--state "$dir/state" --peers "$dir/peers" --port-file "$dir/port" >"$dir/collect.out" 2>"$dir/collect.err" &
	pid_c=$!
	pids+=("$pid_c")
	wait_for "$dir/port" '^bmp ' 1 || { nok "$tag" "collect did not start: $(tail -3 "$dir/collect.err")"; return; }
	PORT=$(awk '/^bmp/ {print $2}' "$dir/port")
	routers "$name"
	fail() {
		nok "$tag$1" "$2"
		mkdir -p "$KEEP/$tag" && cp "$dir"/state "$dir"/peers "$dir"/*.err "$dir"/*.log "$KEEP/$tag/" 2>/dev/null
	}
	state_is "$dir/peers" "bmp:127.0.0.1|127.0.0.3|65001|up|0|0|0" || { fail "" "no Peer Up from $name: $(cat "$dir/peers")"; return; }
	announce
	if state_is "$dir/state" "$3"; then ok "${tag}_announced"; else fail _announced "$(diff <(echo "$3") "$dir/state" | tr '\n' ' ')"; fi
	if [ "$(cat "$dir/peers")" = "$6" ]; then ok "${tag}_peers_up"; else fail _peers_up "$(diff <(echo "$6") "$dir/peers" | tr '\n' ' ')"; fi
	withdraw
	if state_is "$dir/state" "$4"; then ok "${tag}_withdrawn"; else fail _withdrawn "$(diff <(echo "$4") "$dir/state" | tr '\n' ' ')"; fi
	kill "$pid_b"
	if state_is "$dir/peers" "$7"; then ok "${tag}_peers_down"; else fail _peers_down "$(diff <(echo "$7") "$dir/peers" | tr '\n' ' ')"; fi
	if [ "$(cat "$dir/state")" = "$5" ]; then ok "${tag}_gone"; else fail _gone "$(diff <(echo "$5") "$dir/state" | tr '\n' ' ')"; fi
	kill "$pid_a"
	wait_for "$dir/collect.err" 'BMP router bmp:127.0.0.1 gone' 1
	# the router gone: every peer it showed is down, the Loc-RIB's too (PEERS4)
	if [ -n "${9:-}" ]; then
		if state_is "$dir/peers" "$9"; then ok "${tag}_router_gone"; else fail _router_gone "$(diff <(echo "$9") "$dir/peers" | tr '\n' ' ')"; fi
	fi
	kill "$pid_c"
	wait "$pid_c"
	rc=$?
	if [ "$rc" != 0 ] || grep -q 'offset' "$dir/collect.err"; then
		fail _exit "collect exit $rc: $(grep offset "$dir/collect.err" | head -2)"
	fi
	archive_check "collect_$name" "$want" "$8"
}

# gobgpd, route-monitoring-policy "all": pre-policy (bmp:) and post-policy (bmp-post:) views of
# peer 127.0.0.3 AS 65001, and the router's Loc-RIB (bmp-locrib:, "peer" 0.0.0.0 with the
# router's AS 64512: RFC 9069); post-policy and Loc-RIB withdraw every route when the peer goes,
# pre-policy does not (the Peer Down says it); the paths start with the peer's AS (eBGP).
WANT_GOBGP='bmp-locrib:127.0.0.1|A|0.0.0.0|64512|10.10.0.0/16|65001 4200000000 65010|192.0.2.3
bmp-locrib:127.0.0.1|A|0.0.0.0|64512|10.20.0.0/24|65001 65020|192.0.2.3
bmp-locrib:127.0.0.1|A|0.0.0.0|64512|2001:db8:10::/48|65001 65030|2001:db8::3
bmp-locrib:127.0.0.1|S|0.0.0.0|64512|5|6
bmp-locrib:127.0.0.1|S|0.0.0.0|64512|6|1
bmp-locrib:127.0.0.1|W|0.0.0.0|64512|10.10.0.0/16||
bmp-locrib:127.0.0.1|W|0.0.0.0|64512|10.20.0.0/24||
bmp-locrib:127.0.0.1|W|0.0.0.0|64512|2001:db8:10::/48||
bmp-post:127.0.0.1|A|127.0.0.3|65001|10.10.0.0/16|65001 4200000000 65010|192.0.2.3
bmp-post:127.0.0.1|A|127.0.0.3|65001|10.20.0.0/24|65001 65020|192.0.2.3
bmp-post:127.0.0.1|A|127.0.0.3|65001|2001:db8:10::/48|65001 65030|2001:db8::3
bmp-post:127.0.0.1|S|127.0.0.3|65001|5|6
bmp-post:127.0.0.1|S|127.0.0.3|65001|6|1
bmp-post:127.0.0.1|W|127.0.0.3|65001|10.10.0.0/16||
bmp-post:127.0.0.1|W|127.0.0.3|65001|10.20.0.0/24||
bmp-post:127.0.0.1|W|127.0.0.3|65001|2001:db8:10::/48||
bmp:127.0.0.1|A|127.0.0.3|65001|10.10.0.0/16|65001 4200000000 65010|192.0.2.3
bmp:127.0.0.1|A|127.0.0.3|65001|10.20.0.0/24|65001 65020|192.0.2.3
bmp:127.0.0.1|A|127.0.0.3|65001|2001:db8:10::/48|65001 65030|2001:db8::3
bmp:127.0.0.1|S|127.0.0.3|65001|5|6
bmp:127.0.0.1|S|127.0.0.3|65001|6|1
bmp:127.0.0.1|W|127.0.0.3|65001|10.20.0.0/24||'
run gobgp "$WANT_GOBGP" 9 3 'bmp:127.0.0.1 bmp-post:127.0.0.1 bmp-locrib:127.0.0.1'
# collect's state: the same routes per view (the pre-policy ones with gobgpd's path id 1, as
# bgpdump prints BGP4MP_ET_AP lines); the speaker gone, no route is left: pre-policy and
# post-policy peers down (Peer Down), the Loc-RIB's routes withdrawn (its "peer" has no session
# and gobgpd sends no Peer Up for it: it is up from its first route while the router is
# connected, and down once the router has gone)
run_collect gobgp "$WANT_GOBGP" 'bmp-locrib:127.0.0.1|0.0.0.0|64512|10.10.0.0/16|65001 4200000000 65010|INCOMPLETE|192.0.2.3|0|0||NAG||
bmp-locrib:127.0.0.1|0.0.0.0|64512|10.20.0.0/24|65001 65020|INCOMPLETE|192.0.2.3|0|0||NAG||
bmp-locrib:127.0.0.1|0.0.0.0|64512|2001:db8:10::/48|65001 65030|INCOMPLETE|2001:db8::3|0|0||NAG||
bmp-post:127.0.0.1|127.0.0.3|65001|10.10.0.0/16|65001 4200000000 65010|INCOMPLETE|192.0.2.3|0|0||NAG||
bmp-post:127.0.0.1|127.0.0.3|65001|10.20.0.0/24|65001 65020|INCOMPLETE|192.0.2.3|0|0||NAG||
bmp-post:127.0.0.1|127.0.0.3|65001|2001:db8:10::/48|65001 65030|INCOMPLETE|2001:db8::3|0|0||NAG||
bmp:127.0.0.1|127.0.0.3|65001|10.10.0.0/16|1|65001 4200000000 65010|INCOMPLETE|192.0.2.3|0|0||NAG||
bmp:127.0.0.1|127.0.0.3|65001|10.20.0.0/24|1|65001 65020|INCOMPLETE|192.0.2.3|0|0||NAG||
bmp:127.0.0.1|127.0.0.3|65001|2001:db8:10::/48|1|65001 65030|INCOMPLETE|2001:db8::3|0|0||NAG||' \
'bmp-locrib:127.0.0.1|0.0.0.0|64512|10.10.0.0/16|65001 4200000000 65010|INCOMPLETE|192.0.2.3|0|0||NAG||
bmp-locrib:127.0.0.1|0.0.0.0|64512|2001:db8:10::/48|65001 65030|INCOMPLETE|2001:db8::3|0|0||NAG||
bmp-post:127.0.0.1|127.0.0.3|65001|10.10.0.0/16|65001 4200000000 65010|INCOMPLETE|192.0.2.3|0|0||NAG||
bmp-post:127.0.0.1|127.0.0.3|65001|2001:db8:10::/48|65001 65030|INCOMPLETE|2001:db8::3|0|0||NAG||
bmp:127.0.0.1|127.0.0.3|65001|10.10.0.0/16|1|65001 4200000000 65010|INCOMPLETE|192.0.2.3|0|0||NAG||
bmp:127.0.0.1|127.0.0.3|65001|2001:db8:10::/48|1|65001 65030|INCOMPLETE|2001:db8::3|0|0||NAG||' '' \
'bmp-locrib:127.0.0.1|0.0.0.0|64512|up|2|1|0
bmp-post:127.0.0.1|127.0.0.3|65001|up|2|1|0
bmp:127.0.0.1|127.0.0.3|65001|up|2|1|0' 'bmp-locrib:127.0.0.1|0.0.0.0|64512|up|0|0|0
bmp-post:127.0.0.1|127.0.0.3|65001|down|0|0|1
bmp:127.0.0.1|127.0.0.3|65001|down|0|0|1' 'bmp:127.0.0.1 bmp-post:127.0.0.1 bmp-locrib:127.0.0.1' \
'bmp-locrib:127.0.0.1|0.0.0.0|64512|down|0|0|1
bmp-post:127.0.0.1|127.0.0.3|65001|down|0|0|1
bmp:127.0.0.1|127.0.0.3|65001|down|0|0|1'

# FRR 8.4, pre- and post-policy monitoring (pre-policy needs soft-reconfiguration inbound: FRR
# keeps no Adj-RIB-In otherwise and reports withdrawals). FRR 8.4 builds its Route Monitoring
# UPDATEs, pre- and post-policy alike, as it would send them to a peer: its own AS 64512 in
# front (the AS_PATH bytes on the wire say so; the station decodes what is sent).
if [ -x "$FRR_BGPD" ] && { [ -f /usr/lib/x86_64-linux-gnu/frr/modules/bgpd_bmp.so ] || [ -f /usr/lib/frr/modules/bgpd_bmp.so ]; }; then
	WANT_FRR='bmp-post:127.0.0.1|A|127.0.0.3|65001|10.10.0.0/16|64512 65001 4200000000 65010|192.0.2.3
bmp-post:127.0.0.1|A|127.0.0.3|65001|10.20.0.0/24|64512 65001 65020|192.0.2.3
bmp-post:127.0.0.1|A|127.0.0.3|65001|2001:db8:10::/48|64512 65001 65030|2001:db8::3
bmp-post:127.0.0.1|S|127.0.0.3|65001|5|6
bmp-post:127.0.0.1|S|127.0.0.3|65001|6|1
bmp-post:127.0.0.1|W|127.0.0.3|65001|10.20.0.0/24||
bmp:127.0.0.1|A|127.0.0.3|65001|10.10.0.0/16|64512 65001 4200000000 65010|192.0.2.3
bmp:127.0.0.1|A|127.0.0.3|65001|10.20.0.0/24|64512 65001 65020|192.0.2.3
bmp:127.0.0.1|A|127.0.0.3|65001|2001:db8:10::/48|64512 65001 65030|2001:db8::3
bmp:127.0.0.1|S|127.0.0.3|65001|5|6
bmp:127.0.0.1|S|127.0.0.3|65001|6|1
bmp:127.0.0.1|W|127.0.0.3|65001|10.20.0.0/24||'
	run frr "$WANT_FRR" 6 2 'bmp:127.0.0.1 bmp-post:127.0.0.1'
	run_collect frr "$WANT_FRR" 'bmp-post:127.0.0.1|127.0.0.3|65001|10.10.0.0/16|64512 65001 4200000000 65010|INCOMPLETE|192.0.2.3|0|0||NAG||
bmp-post:127.0.0.1|127.0.0.3|65001|10.20.0.0/24|64512 65001 65020|INCOMPLETE|192.0.2.3|0|0||NAG||
bmp-post:127.0.0.1|127.0.0.3|65001|2001:db8:10::/48|64512 65001 65030|INCOMPLETE|2001:db8::3|0|0||NAG||
bmp:127.0.0.1|127.0.0.3|65001|10.10.0.0/16|64512 65001 4200000000 65010|INCOMPLETE|192.0.2.3|0|0||NAG||
bmp:127.0.0.1|127.0.0.3|65001|10.20.0.0/24|64512 65001 65020|INCOMPLETE|192.0.2.3|0|0||NAG||
bmp:127.0.0.1|127.0.0.3|65001|2001:db8:10::/48|64512 65001 65030|INCOMPLETE|2001:db8::3|0|0||NAG||' \
'bmp-post:127.0.0.1|127.0.0.3|65001|10.10.0.0/16|64512 65001 4200000000 65010|INCOMPLETE|192.0.2.3|0|0||NAG||
bmp-post:127.0.0.1|127.0.0.3|65001|2001:db8:10::/48|64512 65001 65030|INCOMPLETE|2001:db8::3|0|0||NAG||
bmp:127.0.0.1|127.0.0.3|65001|10.10.0.0/16|64512 65001 4200000000 65010|INCOMPLETE|192.0.2.3|0|0||NAG||
bmp:127.0.0.1|127.0.0.3|65001|2001:db8:10::/48|64512 65001 65030|INCOMPLETE|2001:db8::3|0|0||NAG||' '' \
'bmp-post:127.0.0.1|127.0.0.3|65001|up|2|1|0
bmp:127.0.0.1|127.0.0.3|65001|up|2|1|0' 'bmp-post:127.0.0.1|127.0.0.3|65001|down|0|0|1
bmp:127.0.0.1|127.0.0.3|65001|down|0|0|1' 'bmp:127.0.0.1 bmp-post:127.0.0.1'
else
	skip bmp_frr "FRR bgpd with its bmp module not installed"
fi
