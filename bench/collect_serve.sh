# make bench, issues 10 and 11: the live collector's ingest beside its own API under load.
# `darkmap collect --serve` (the server on a thread of its own, src/http/thread.c) takes the
# real 2014 table from BENCH_CS_PEERS peers (`darkmap feed --copies`, as bench/live.sh) into its
# pipeline and SQLite, alone, then while `wrk -t2 -c64` asks its /api/entities (a new time each)
# and /metrics; pairs interleaved (alone, loaded), medians compared: the table-load time and
# the API's requests/s and p99 during it. Then the same with --serve-nice 19 and wrk at
# SCHED_IDLE (wrk standing in for clients on other machines). No thresholds. Needs root.
set -u
cd "$(dirname "$0")/.."
DM=${DARKMAP_BENCH_BIN:-$PWD/build/rel/darkmap}
DATA=${DARKMAP_DATA:-$PWD/../shared/data}
PEERS=${BENCH_CS_PEERS:-4}
PAIRS=${BENCH_CS_PAIRS:-3}
TMP=$(mktemp -d)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -- -"$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP
echo "== collect --serve: $PEERS peers x the 2014 table into collect, its API under wrk -t2 -c64 meanwhile"
command -v wrk >/dev/null || { echo "bench collect_serve: wrk not installed (skip)"; exit 0; }
[ "$(id -u)" = 0 ] || { echo "bench collect_serve: needs root (127.0.0.x sources) (skip)"; exit 0; }
rib=$PWD/build/bench/fulltable-20140513.rib.bz2
[ -s "$rib" ] || { echo "bench collect_serve: $rib absent: bench/live.sh makes it (skip)"; exit 0; }
PREFIXES=$("$DM" dump -m "$rib" 2>/dev/null | wc -l)
TOTAL=$((PEERS * PREFIXES))
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
start_bg() { setsid "$@" </dev/null & PIDS+=($!); disown; }
cat >"$TMP/vary.lua" <<'LUA'
math.randomseed(11)
local n = 0
request = function()
  n = n + 1
  if n % 10 == 0 then return wrk.format("GET", "/metrics") end
  return wrk.format("GET", "/api/entities?type=country&at=" .. (1399939200 + 300 * math.random(0, 3)))
end
LUA
sed 's/^request = function()/delay = function() return 50 end\nrequest = function()/' "$TMP/vary.lua" >"$TMP/paced.lua"

# one_run SERVE_NICE LOAD: a fresh collect --serve takes the table; LOAD (none, wrk, paced, wrkidle)
# runs against its API from the collector's first bin on. Prints "seconds rps p99_ms".
one_run() {
	local snice=$1 load=$2 port t0 t1 wpid="" held rps="-" p99="-"
	port=$(free_port)
	rm -f "$TMP/c.sqlite"* "$TMP/port"
	printf 'local-as 65000\nrouter-id 127.0.0.1\nlisten 127.0.0.1:%s\npeer 127.0.0.0/24 as any\n' "$port" >"$TMP/c.conf"
	start_bg "$DM" collect --config "$TMP/c.conf" --db "$TMP/c.sqlite" --serve 127.0.0.1:0 --serve-nice "$snice" \
		--port-file "$TMP/port" 2>"$TMP/c.err"
	local cpid=${PIDS[-1]}
	for _ in $(seq 100); do grep -q '^http ' "$TMP/port" 2>/dev/null && break; sleep 0.1; done
	local url=http://127.0.0.1:$(awk '/^http/ {print $2}' "$TMP/port")
	# the API's load starts before the table: the server answers from the collector's database
	# as it fills (its first answers, before any bin, are the same work as later ones)
	case $load in
	wrk) wrk -t2 -c64 --latency -d600s -s "$TMP/vary.lua" "$url" >"$TMP/wrk.out" 2>&1 & wpid=$! ;;
	paced) wrk -t2 -c64 --latency -d600s -s "$TMP/paced.lua" "$url" >"$TMP/wrk.out" 2>&1 & wpid=$! ;;
	wrkidle) chrt --idle 0 wrk -t2 -c64 --latency -d600s -s "$TMP/vary.lua" "$url" >"$TMP/wrk.out" 2>&1 & wpid=$! ;;
	esac
	sleep 0.5
	t0=$(now)
	start_bg "$DM" feed --to "127.0.0.1:$port" --copies "$PEERS" --hold -1 --wait 60 "$rib" 2>"$TMP/feed.err"
	local fpid=${PIDS[-1]}
	for _ in $(seq 3000); do
		held=$(( $(grep -c "End-of-RIB IPv6" "$TMP/c.err") * PREFIXES ))
		[ "$held" -ge "$TOTAL" ] && break
		sleep 0.05
	done
	t1=$(now)
	if [ -n "$wpid" ]; then
		kill -INT "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null
		rps=$(sed -n 's/^Requests\/sec: *//p' "$TMP/wrk.out")
		p99=$(awk '$1 == "99%" { v = $2; if (v ~ /us$/) v = v / 1000; else if (v ~ /ms$/) v = v + 0; else if (v ~ /s$/) v = v * 1000; print v }' "$TMP/wrk.out")
	fi
	kill -- -"$fpid" -"$cpid" 2>/dev/null
	sleep 0.3
	awk -v a="$t0" -v b="$t1" -v r="${rps:--}" -v p="${p99:--}" 'BEGIN { printf "%.2f %s %s\n", b - a, r, p }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
echo "table: $PREFIXES prefixes x $PEERS peers = $TOTAL routes; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "  %-40s %8s %8s %7s %10s %9s\n" "beside" "alone s" "loaded s" "change" "API req/s" "API p99"
compare() {
	local name=$1 snice=$2 load=$3 i
	: >"$TMP/pairs"
	for i in $(seq "$PAIRS"); do
		echo "alone $(one_run "$snice" none)" >>"$TMP/pairs"
		echo "loaded $(one_run "$snice" "$load")" >>"$TMP/pairs"
	done
	local a l r p
	a=$(awk '$1 == "alone" { print $2 }' "$TMP/pairs" | median)
	l=$(awk '$1 == "loaded" { print $2 }' "$TMP/pairs" | median)
	r=$(awk '$1 == "loaded" { print $3 }' "$TMP/pairs" | median)
	p=$(awk '$1 == "loaded" { print $4 }' "$TMP/pairs" | median)
	printf "  %-40s %8.2f %8.2f %+6.0f%% %10.0f %6.1f ms\n" "$name" "$a" "$l" \
		"$(awk -v a="$a" -v b="$l" 'BEGIN { print (b / a - 1) * 100 }')" "${r:-0}" "${p:-0}"
}
compare "wrk on its API, all at priority 0" 0 wrk
compare "wrk paced (64 conns, 50 ms apart)" 0 paced
compare "wrk at SCHED_IDLE, --serve-nice 19" 19 wrkidle
echo "(routes/s alone: $(awk -v t="$TOTAL" '$1 == "alone" { print int(t / $2) }' "$TMP/pairs" | median); load average after: $(cut -d' ' -f1-3 /proc/loadavg))"
