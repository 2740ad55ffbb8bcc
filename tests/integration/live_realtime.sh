#!/usr/bin/env bash
# Real time: a real daemon (ExaBGP 4.2, three sessions from 127.0.0.21-23) withdraws every prefix
# of a country (KP, by a --ranges file) from darkmap collect running detection on the wall clock
# with 5-second bins. The outage must be alerted on standard output, in the JSON Lines file and at
# the webhook (a loopback HTTP server) by the end of the bin of the last withdrawal plus 30 s.
# collect --serve shows it: the API over the database being written, /metrics with the live
# counters. Detection survives a restart: collect learns the baseline (--min-history 0.5 min), is stopped
# and started again on the same database, and must alert without learning again (the baseline
# is reloaded from the stored bins; a fresh start would still be warming up when the routes go).
source "$(dirname "$0")/../lib.sh"
NAME=live_realtime
if ! command -v exabgp >/dev/null; then
	skip $NAME "exabgp absent (scripts/bootstrap installs it)"
	exit 0
fi
CPID= XPID= HPID=
trap 'for p in $XPID $CPID $HPID; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$TMP"' EXIT

# KP: 8 /24s of AS64601; NL: 24 prefixes of AS64700 (the rest of the world)
cat >"$TMP/ranges.csv" <<'EOF'
10.60.0.0,10.60.255.255,KP
10.70.0.0,10.79.255.255,NL
EOF
KP=() NL=()
for i in 0 1 2 3 4 5 6 7; do KP+=("10.60.$i.0/24"); done
for i in $(seq 0 23); do NL+=("10.7$((i % 10)).$((i / 10)).0/24"); done

# the webhook: records each POST body with its arrival time
cat >"$TMP/hook.py" <<'EOF'
import http.server, sys, time
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        with open(sys.argv[2], 'ab') as f:
            f.write(b'%.3f ' % time.time() + body.replace(b'\n', b' ') + b'\n')
        self.send_response(200); self.send_header('Content-Length', '0'); self.end_headers()
    def log_message(self, *a): pass
s = http.server.HTTPServer(('127.0.0.1', 0), H)
open(sys.argv[1], 'w').write('%d\n' % s.server_port)
s.serve_forever()
EOF
python3 "$TMP/hook.py" "$TMP/hook.port" "$TMP/hook.log" &
HPID=$!
wait_for 10 test -s "$TMP/hook.port" || { nok $NAME "webhook server did not start"; exit 0; }

OPTS=(--bin 5 --detect --min-history 0.5 --min-duration 0.08 --full-feed 20 --ranges "$TMP/ranges.csv"
	--db "$TMP/live.db" --json "$TMP/alerts.json" --webhook "http://127.0.0.1:$(cat "$TMP/hook.port")/hook")
start_collect() {   # $1: run tag, $2: the port (0: any)
	rm -f "$TMP/port"
	"$DARKMAP" collect --listen "127.0.0.1:$2" --peer 127.0.0.21,65021 --peer 127.0.0.22,65022 \
		--peer 127.0.0.23,65023 --local-as 65000 --router-id 10.0.0.1 --name rt --load-time 60 \
		--port-file "$TMP/port" --print --serve 127.0.0.1:0 "${OPTS[@]}" >"$TMP/$1.out" 2>"$TMP/$1.err" &
	CPID=$!
	wait_for 30 eval 'test -s "$TMP/port" || ! kill -0 $CPID' 
	test -s "$TMP/port" || { nok $NAME "collect did not start: $(tail -n 3 "$TMP/$1.err")"; exit 0; }
}
start_collect first 0
PORT=$(head -1 "$TMP/port")

# ExaBGP announces everything through its API (a process reading commands from a file), so that
# the test can withdraw later; three neighbors, one per peer address.
: >"$TMP/cmds"
for i in 1 2 3; do
	for p in "${KP[@]}"; do
		echo "neighbor 127.0.0.1 local-ip 127.0.0.2$i announce route $p next-hop 127.0.0.2$i as-path [ 6502$i 4837 64601 ]"
	done
	for p in "${NL[@]}"; do
		echo "neighbor 127.0.0.1 local-ip 127.0.0.2$i announce route $p next-hop 127.0.0.2$i as-path [ 6502$i 1299 64700 ]"
	done
done >"$TMP/announce"
{
	echo "process ctl { run tail -n +1 -f $TMP/cmds; encoder text; }"
	for i in 1 2 3; do
		cat <<EOF
neighbor 127.0.0.1 {
	router-id 10.0.0.2$i;
	local-address 127.0.0.2$i;
	local-as 6502$i;
	peer-as 65000;
	connect $PORT;
	hold-time 30;
	family { ipv4 unicast; }
	api { processes [ ctl ]; }
}
EOF
	done
} >"$TMP/exabgp.conf"
env exabgp.daemon.daemonize=false exabgp.tcp.bind='' exabgp.api.cli=false exabgp.log.destination="$TMP/exabgp.log" \
	exabgp.daemon.user="$(id -un)" exabgp.tcp.delay=0 exabgp "$TMP/exabgp.conf" >"$TMP/exabgp.out" 2>&1 &
XPID=$!
if ! wait_for 60 eval '[ "$(grep -c "OpenConfirm -> Established" "$TMP/first.err")" -ge 3 ]'; then
	nok $NAME "exabgp's 3 sessions not Established: $(tail -n 3 "$TMP/first.err" "$TMP/exabgp.out" | tr '\n' ' ')"
	mkdir -p "$KEEP/$NAME" && cp "$TMP"/* "$KEEP/$NAME/" 2>/dev/null
	exit 0
fi
cat "$TMP/announce" >>"$TMP/cmds"
routes() { grep -c '|A|' "$1" 2>/dev/null; }
wait_for 30 eval '[ "$(routes "$TMP/first.out")" -ge 96 ]' ||
	{ nok $NAME "collect did not get the 96 routes: $(routes "$TMP/first.out")"; exit 0; }

# The baseline: 30 s of normal bins (and a margin), then a restart on the same database.
sleep 40
kill $CPID
wait $CPID
rc=$?
CPID=
[ $rc = 0 ] || nok "$NAME:first-run" "collect exit $rc: $(tail -n 3 "$TMP/first.err")"
# bins are stored run-length (a row when a value changes): the first run's summary says how many
# closed, and KP's baseline must be in the database
bins=$(sed -n 's/.* \([0-9]*\) bins, .*/\1/p' "$TMP/first.err")
kp=$(sqlite3 "$TMP/live.db" "SELECT max(b.baseline_slash24) FROM bins b JOIN entities e ON e.id = b.entity
	WHERE e.cc = 'KP' AND e.kind = 1")
[ "${bins:-0}" -ge 6 ] && [ "$kp" = 8 ] && ok "$NAME:first-run ($bins bins closed, KP's baseline 8 /24s stored)" ||
	{ nok "$NAME:first-run" "$bins bins, KP baseline '$kp'"; mkdir -p "$KEEP/$NAME" && cp "$TMP"/* "$KEEP/$NAME/"; }

# exabgp reconnects by itself (to the same port) and sends its table again
start_collect second "$PORT"
wait_for 60 grep -q 'table load over' "$TMP/second.err" ||
	{ nok $NAME "the second run's table load did not end: $(tail -n 3 "$TMP/second.err")"; exit 0; }
grep -q 'every session sent End-of-RIB' "$TMP/second.err" ||
	nok "$NAME:load" "the load ended otherwise: $(grep 'table load' "$TMP/second.err")"
sleep 6   # a whole bin with the table

# Withdraw KP from the three peers; T = collect's time of the last withdrawal (its --print line).
for i in 1 2 3; do
	for p in "${KP[@]}"; do echo "neighbor 127.0.0.1 local-ip 127.0.0.2$i withdraw route $p"; done
done >>"$TMP/cmds"
wait_for 30 eval '[ "$(grep -c "|W|.*|10\.60\." "$TMP/second.out")" -ge 24 ]' ||
	{ nok $NAME "collect did not receive the 24 withdrawals"; exit 0; }
T=$(grep '|W|.*|10\.60\.' "$TMP/second.out" | cut -d'|' -f2 | cut -d. -f1 | sort -n | tail -1)
DEADLINE=$(((T / 5 + 1) * 5 + 30))
alert_seen() { grep -q 'KP.*unreachable' "$TMP/second.out" && grep -q '"KP"' "$TMP/alerts.json" 2>/dev/null &&
	grep -q 'KP' "$TMP/hook.log" 2>/dev/null; }
while ! alert_seen && [ "$(date +%s)" -le "$DEADLINE" ]; do sleep 0.2; done
NOW=$(date +%s)
if alert_seen && [ "$NOW" -le "$DEADLINE" ]; then
	ok "$NAME:alert (last withdrawal at $T, its bin ends at $((DEADLINE - 30)), alert on stdout, JSON and webhook by $NOW)"
else
	nok "$NAME:alert" "by $NOW (deadline $DEADLINE): stdout $(grep -c 'KP' "$TMP/second.out"), json $(grep -c KP "$TMP/alerts.json" 2>/dev/null), hook $(grep -c KP "$TMP/hook.log" 2>/dev/null): $(tail -n 3 "$TMP/second.err" | tr '\n' ' ')"
	mkdir -p "$KEEP/$NAME" && cp "$TMP"/* "$KEEP/$NAME/" 2>/dev/null
fi
# the alert line itself: an outage of all 8 /24s, seen by the 3 peers
grep 'KP' "$TMP/second.out" | grep -v '^BGP4MP' | head -1 | grep -q '8 of 8 /24s unreachable, withdrawn by 3 of 3' &&
	ok "$NAME:alert-text" || nok "$NAME:alert-text" "$(grep KP "$TMP/second.out" | grep -v '^BGP4MP' | head -2)"
# collect --serve, on the same loop: KP in outage in the API, the event, the live counters
HTTP=$(sed -n 's/^http //p' "$TMP/port")
state=$(curl -s "http://127.0.0.1:$HTTP/api/entities?type=country" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(e.get("entity", "") + ":" + e.get("state", "") for e in d["entities"]))')
case " $state " in
*" KP:outage "*) ok "$NAME:serve-entities ($state)" ;;
*) nok "$NAME:serve-entities" "KP not in outage: '$state'" ;;
esac
curl -s "http://127.0.0.1:$HTTP/api/events?entity=KP" | grep -q '"entity":"KP",[^}]*"kind":"outage"' && ok "$NAME:serve-events" ||
	nok "$NAME:serve-events" "$(curl -s "http://127.0.0.1:$HTTP/api/events?entity=KP" | head -c 300)"
curl -s "http://127.0.0.1:$HTTP/metrics" >"$TMP/metrics"
want='darkmap_peers_up 3
darkmap_routes 72
darkmap_events_total{type="outage"} 2'
got=$(grep -E '^darkmap_(peers_up|routes) |^darkmap_events_total\{type="outage"\}' "$TMP/metrics")
[ "$got" = "$want" ] && ok "$NAME:serve-metrics (peers up 3, routes 72, 2 outages: KP and AS64601)" ||
	nok "$NAME:serve-metrics" "$(echo "$got" | tr '\n' ' ')"
# memory per BGP peer: one gauge per session, each input buffer within max-input (256 KiB)
mem=$(grep -c '^darkmap_peer_memory_bytes{peer="127\.0\.0\.[0-9]*",as="[0-9]*"} [1-9]' "$TMP/metrics")
inp=$(awk '/^darkmap_peer_input_bytes\{/ {n++; if ($2 > 262144) bad++} END {print n + 0, bad + 0}' "$TMP/metrics")
[ "$mem $inp" = "3 3 0" ] && ok "$NAME:serve-metrics-peer-memory (3 peers, inputs within max-input)" ||
	nok "$NAME:serve-metrics-peer-memory" "$mem $inp: $(grep '^darkmap_peer_' "$TMP/metrics" | tr '\n' ' ')"
grep -qE '^darkmap_db_write_seconds_count [1-9]' "$TMP/metrics" && ok "$NAME:serve-metrics-db-writes" ||
	nok "$NAME:serve-metrics-db-writes" "$(grep db_write_seconds_count "$TMP/metrics")"
kill $CPID
wait $CPID
CPID=
