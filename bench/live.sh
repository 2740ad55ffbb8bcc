# make bench, issue 10: initial table transfer into a live collector. N emulated full-feed peers
# (BENCH_LIVE_PEERS, default 20) each play the real 2014 table (512,621 prefixes of
# asn/ipasn_20140513.dat.gz, as a TABLE_DUMP_V2 RIB written by `darkmap scenario --all`) through
# `darkmap feed --copies N` into, in turn, `darkmap collect`, gobgpd and bird2, all on loopback.
# For each: routes/s (N x 512,621 over the seconds from the feed's start until the receiver
# holds them all, seen through its own CLI or log; or, when it does not, as many as it held at
# most and when) and peak RSS (VmHWM) per route. Then the
# latency of a marked UPDATE sent while collect loads the tables: BENCH_LIVE_MARKS exabgp
# sessions, one per second, each announcing one marker prefix then End-of-RIB; collect logs the
# End-of-RIB with the seconds since that session was Established (its own clock): p50 and p99.
# No thresholds: numbers, side by side, one run. Needs root (daemons; 127.0.0.x sources).
set -u
cd "$(dirname "$0")/.."
DM=${DARKMAP_BENCH_BIN:-$PWD/build/rel/darkmap}
DATA=${DARKMAP_DATA:-$PWD/../shared/data}
PEERS=${BENCH_LIVE_PEERS:-20}
DEADLINE=${BENCH_LIVE_DEADLINE:-900}   # seconds per receiver; a slower one reports its rate so far
MARKS=${BENCH_LIVE_MARKS:-10}
# a receiver whose peak RSS passes this is stopped (gobgpd holds about 1.8 KB a route: 20 full
# tables would not fit in this machine's memory)
MAX_RSS_MB=${BENCH_LIVE_MAX_RSS_MB:-6000}
# which receivers, of: darkmap gobgpd bird2
RECEIVERS=${BENCH_LIVE_RECEIVERS:-darkmap gobgpd bird2}
want() { [[ " $RECEIVERS " == *" $1 "* ]]; }
TMP=$(mktemp -d)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -- -"$p" 2>/dev/null; done
	sleep 0.5
	for p in "${PIDS[@]}"; do kill -9 -- -"$p" 2>/dev/null; done
	if [ -n "${BENCH_LIVE_KEEP:-}" ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP
echo "== live: $PEERS peers x the real 2014 table fed by darkmap feed (loopback): routes/s, peak RSS per route"
table=$DATA/asn/ipasn_20140513.dat.gz
[ -f "$table" ] || { echo "bench live: $table absent (skip)"; exit 0; }
"$DM" feed --help >/dev/null 2>&1 || { echo "bench live: darkmap has no feed yet (skip)"; exit 0; }
[ "$(id -u)" = 0 ] || { echo "bench live: needs root (skip)"; exit 0; }

# the table as an MRT RIB, made once (17 s) and kept next to the build
rib=$PWD/build/bench/fulltable-20140513.rib.bz2
if [ ! -s "$rib" ]; then
	mkdir -p build/bench
	printf 'name\tfulltable\nspan\t2014-05-13T00:00:00Z\t2014-05-13T00:15:00Z\npeers\t1\nseed\t1\nchurn\t0\n' >"$TMP/full.tsv"
	if ! "$DM" scenario "$TMP/full.tsv" --all --table "$table" --out "$TMP/scen" >"$TMP/scen.log" 2>&1; then
		echo "bench live: darkmap scenario failed: $(tail -2 "$TMP/scen.log" | tr '\n' ' ')"; exit 0
	fi
	cp "$(find "$TMP/scen" -name 'rib.*' | head -1)" "$rib"
fi
PREFIXES=$("$DM" dump -m "$rib" 2>/dev/null | wc -l)
PEER_AS=$("$DM" dump -m "$rib" 2>/dev/null | head -1 | cut -d'|' -f5)
TOTAL=$((PEERS * PREFIXES))
echo "table: $PREFIXES prefixes (peer AS $PEER_AS), $TOTAL routes in all"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null; }
# run "$@" in its own process group, killed by the trap; echo its pid
start_bg() { setsid "$@" </dev/null & PIDS+=($!); disown; }   # disown: no "Killed" notice

# feed_and_wait NAME RECEIVER_PID PORT HELD_CMD...: start the feed, poll HELD_CMD (prints the
# routes the receiver holds) every 0.2 s until it holds all TOTAL, or the feed is done and the
# count has not grown for 30 s since (a receiver that refuses some routes, or drops the
# sessions), or the deadline. The time is when the count reached its highest. Prints "NAME seconds routes/s
# peakRSS_MB bytes/route".
feed_and_wait() {
	local name=$1 pid=$2 port=$3 t0 tbest held best=0 end kb tdone="" capped=0; shift 3
	t0=$(now); tbest=$t0
	start_bg "$DM" feed --to "127.0.0.1:$port" --copies "$PEERS" --hold -1 --wait 60 "$rib" 2>"$TMP/feed.$name.err"
	end=$((SECONDS + DEADLINE))
	while [ $SECONDS -lt $end ]; do
		held=$("$@" 2>/dev/null)
		if [ "${held:-0}" -gt "$best" ]; then best=$held; tbest=$(now); fi
		[ "$best" -ge "$TOTAL" ] && break
		kill -0 "$pid" 2>/dev/null || break
		# a receiver about to take the machine's memory is stopped there and reported so far
		kb=$(hwm_kb "$pid")
		if [ "${kb:-0}" -gt $((MAX_RSS_MB * 1024)) ]; then capped=1; break; fi
		[ -z "$tdone" ] && grep -q 'prefixes packed' "$TMP/feed.$name.err" && tdone=$(now)
		if [ -n "$tdone" ] && awk -v a="$tbest" -v d="$tdone" -v b="$(now)" \
			'BEGIN {exit !(b - (a > d ? a : d) > 30)}'; then break; fi
		sleep 0.2
	done
	kb=$(hwm_kb "$pid")
	kill -- -"${PIDS[-1]}" 2>/dev/null   # the feed
	awk -v n="$name" -v a="$t0" -v b="$tbest" -v r="$best" -v t="$TOTAL" -v kb="${kb:-0}" -v c="$capped" 'BEGIN {
		s = b - a; printf "%-16s %9.1f %12.0f %10.0f %10.1f", n, s, (s > 0 ? r / s : 0), kb / 1024, (r ? kb * 1024 / r : 0)
		if (r < t) printf "  (held %d of %d routes at most%s)", r, t, c ? "; stopped at the RSS cap" : ""
		printf "\n" }'
	# what the receiver said before it had everything (say, gobgpd's own hold timer expiring)
	grep -h 'NOTIFICATION received' "$TMP/feed.$name.err" | sed 's/session from [0-9.]*: //' | sort | uniq -c |
		sed 's/^ */    feed: sessions: /' | head -3
}

printf "%-16s %9s %12s %10s %10s\n" receiver seconds routes/s peak_MB bytes/route

# --- darkmap collect ---
if want darkmap; then
port=$(free_port)
printf 'local-as 65000\nrouter-id 127.0.0.1\nlisten 127.0.0.1:%s\naddpath on\npeer 127.0.0.0/24 as any\n' "$port" >"$TMP/collect.conf"
# collect as it runs for real: every route into the pipeline's RIB, the signal and the detector
# over every country and AS, series into SQLite (--db), with the default mapping data
start_bg "$DM" collect --config "$TMP/collect.conf" --db "$TMP/collect.sqlite" 2>"$TMP/collect.err"
cpid=${PIDS[-1]}
# its log: a full-feed session's End-of-RIB comes after its whole table (marks are 127.0.0.2xx)
collect_held() { echo $(( $(grep -v ' 127\.0\.0\.2[0-9][0-9] ' "$TMP/collect.err" | grep -c "End-of-RIB IPv6") * PREFIXES )); }
sleep 0.5
# marks: exabgp sessions from 127.0.0.200+k while the tables load
marks() {
	local k
	command -v exabgp >/dev/null || return
	sleep 2
	for k in $(seq 1 "$MARKS"); do
		cat >"$TMP/mark$k.conf" <<EOF
neighbor 127.0.0.1 {
	router-id 127.0.0.$((200 + k)); local-address 127.0.0.$((200 + k)); local-as 4200000200; peer-as 65000;
	connect $port; group-updates false;
	family { ipv4 unicast; }
	static { route 198.18.$k.0/24 next-hop 192.0.2.200 as-path [ 4200000200 ]; }
}
EOF
		env exabgp.daemon.daemonize=false exabgp.tcp.bind='' exabgp.api.cli=false exabgp.daemon.user=root \
			exabgp.log.destination="$TMP/mark$k.log" setsid exabgp "$TMP/mark$k.conf" >/dev/null 2>&1 </dev/null &
		echo $! >>"$TMP/markpids"
		sleep 1
	done
}
marks &
markjob=$!
feed_and_wait "darkmap collect" "$cpid" "$port" collect_held
wait $markjob
sleep 3
while read -r p; do kill -- -"$p" 2>/dev/null; done <"$TMP/markpids" 2>/dev/null
kill -9 -- -"$cpid" 2>/dev/null
fi

# --- gobgpd ---
if want gobgpd && command -v gobgpd >/dev/null; then
	port=$(free_port); api=$(free_port)
	{
		printf '[global.config]\n  as = 65000\n  router-id = "127.0.0.1"\n  port = %s\n  local-address-list = ["127.0.0.1"]\n' "$port"
		printf '[global.apply-policy.config]\n  default-export-policy = "reject-route"\n'
		for i in $(seq 0 $((PEERS - 1))); do
			printf '[[neighbors]]\n  [neighbors.config]\n    neighbor-address = "127.0.0.%d"\n    peer-as = %s\n' $((2 + i)) "$PEER_AS"
			printf '  [neighbors.transport.config]\n    passive-mode = true\n'
			printf '  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = "ipv4-unicast"\n'
		done
	} >"$TMP/gobgpd.toml"
	start_bg gobgpd -f "$TMP/gobgpd.toml" -p --pprof-disable --api-hosts "127.0.0.1:$api" >"$TMP/gobgpd.log" 2>&1
	gpid=${PIDS[-1]}
	sleep 1
	# "#Received" of each neighbor, summed
	gobgp_held() { gobgp -p "$api" neighbor | awk 'NR > 1 {s += $(NF-1)} END {print s + 0}'; }
	feed_and_wait gobgpd "$gpid" "$port" gobgp_held
	kill -- -"$gpid" 2>/dev/null
fi

# --- bird2 ---
if want bird2 && command -v bird >/dev/null; then
	port=$(free_port)
	{
		printf 'router id 127.0.0.1;\nprotocol device { }\n'
		for i in $(seq 0 $((PEERS - 1))); do
			printf 'protocol bgp p%d { local 127.0.0.1 port %s as 65000; neighbor 127.0.0.%d as %s; passive; multihop 2; strict bind yes; ipv4 { import all; export none; }; }\n' \
				"$i" "$port" $((2 + i)) "$PEER_AS"
		done
	} >"$TMP/bird.conf"
	start_bg bird -f -c "$TMP/bird.conf" -s "$TMP/bird.ctl" -P "$TMP/bird.pid"
	bpid=${PIDS[-1]}
	sleep 1
	bird_held() { birdc -s "$TMP/bird.ctl" show protocols all | awk '/Routes:/ {s += $2} END {print s + 0}'; }
	feed_and_wait bird2 "$bpid" "$port" bird_held
	kill -- -"$bpid" 2>/dev/null
fi

# latency of the marks, from collect's log: "End-of-RIB IPv4 after 1 elements, X s after Established"
echo
lat=$(grep -E '127\.0\.0\.2[0-9][0-9] .*End-of-RIB IPv4 after 1 elements' "$TMP/collect.err" | sed -n 's/.*, \([0-9.]*\) s after Established.*/\1/p' | sort -n)
during=0
n=$(echo "$lat" | grep -c .)
if [ "$n" -gt 0 ]; then
	# marks whose End-of-RIB came before the last full-feed peer's: sent while the tables loaded
	during=$(awk '/End-of-RIB IPv6/ && !/127\.0\.0\.2[0-9][0-9] / {last = NR} /127\.0\.0\.2[0-9][0-9] .*End-of-RIB IPv4/ {m[NR] = 1}
		END {c = 0; for (r in m) if (r < last) c++; print c}' "$TMP/collect.err")
	echo "$lat" | awk -v n="$n" -v d="$during" '{v[NR] = $1} END {
		p50 = v[int((NR - 1) * 0.50) + 1]; p99 = v[int((NR - 1) * 0.99) + 1]
		printf "marked UPDATE -> collect state (marker session Established to its route and End-of-RIB applied): p50 %.3f s, p99 %.3f s, max %.3f s over %d marks (%d while the tables loaded)\n", p50, p99, v[NR], n, d }'
else
	echo "marked UPDATE latency: no mark reached collect (exabgp absent or failed)"
fi
exit 0
