#!/usr/bin/env bash
# Real BGP daemons (exabgp, bird2, frr bgpd, gobgpd, openbgpd; Debian packages) on loopback, each
# announcing a known IPv4+IPv6 set (4-byte ASNs, large communities, ADD-PATH where the daemon
# sends it), withdrawing part of it, then dropping the session.
#  1. "ref": the same against gobgpd as the collector, whose own view (gobgp adj-in) proves each
#     daemon's config sends what harness.py expects, independently of darkmap.
#  2. "live": against `darkmap collect`: its --state dump after announce and withdraw, the
#     session-down event, and its MRT archive read back with bgpdump -m.
# One line per daemon per check. Daemons run as root (OpenBGPD chroots), each with its own
# config, sockets and pid under the scratch folder, killed on exit whatever happens.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/integration/daemons/lib.sh"

if [ "$(id -u)" != 0 ]; then
	skip daemons "needs root (OpenBGPD chroots; daemons bind 127.0.0.x)"; exit 0
fi
NAMES=""
for n in $DAEMON_NAMES; do
	if daemon_present "$n"; then NAMES="$NAMES $n"; else skip "daemons $n" "${DAEMON_BIN[$n]} not installed"; fi
done
[ -n "$NAMES" ] || exit 0

CAS=4200000000
cleanup() {
	local d n
	for d in "$TMP"/ref "$TMP"/live; do
		for n in $DAEMON_NAMES; do [ -d "$d/$n" ] && $PY "$HARNESS" stop "$n" "$d"; done
		[ -f "$d/collector.pid" ] && kill -- -"$(cat "$d/collector.pid")" 2>/dev/null
	done
	[ -z "${TMP_TEST:-}" ] && rm -rf "$TMP"
}
trap cleanup EXIT

# phase RUN DIR CMD CHECK IS SHOW [-- ARGS]: harness CMD for every daemon (in parallel), then one
# line per daemon: "ok daemons RUN NAME CHECK" if `IS NAME CHECK` (which waits as it needs),
# else why: the harness's error or `SHOW NAME CHECK`
phase() {
	local run=$1 dir=$2 cmd=$3 check=$4 is=$5 show=$6 n why; shift 6
	daemons_run "$dir" "$cmd" $NAMES "$@"
	for n in $NAMES; do
		if ! why=$(daemon_ok "$dir" "$n" "$cmd"); then nok "daemons $run $n $check" "$cmd: $why"
		elif "$is" "$n" "$check"; then ok "daemons $run $n $check"
		else nok "daemons $run $n $check" "$("$show" "$n" "$check")"; fi
	done
}

# ---- 1. reference collector: gobgpd ----
ref_adj() {  # ref_adj NAME: the collector's adj-in from NAME, canonical lines
	local src; src=$(DM_DAEMON_NET=127.0.1 $PY "$HARNESS" info "$1" | cut -d' ' -f1)
	for f in ipv4 ipv6; do
		gobgp -p "$REF_API" -j neighbor "$src" adj-in -a "$f" | $PY "$HARNESS" norm-gobgp "$src"
	done | sed '/^$/d' | sort
}
ref_state() {  # ref_state NAME: the collector's session state with NAME
	local src; src=$(DM_DAEMON_NET=127.0.1 $PY "$HARNESS" info "$1" | cut -d' ' -f1)
	gobgp -p "$REF_API" -j neighbor "$src" | $PY -c 'import json,sys; print(json.load(sys.stdin)["state"]["session_state"])'
}
ref_is() {  # ref_is NAME PHASE: adj-in equals the expected set of PHASE
	[ "$(ref_adj "$1")" = "$(DM_DAEMON_NET=127.0.1 $PY "$HARNESS" expect "$1" "$2")" ]
}
ref_down() { [ "$(ref_state "$1")" != 6 ] && [ "$(ref_state "$1")" != established ]; }
ref_soon() { wait_for 30 ref_is "$@"; }
ref_down_soon() { wait_for 30 ref_down "$1"; }
ref_show() { echo "adj-in: $(ref_adj "$1" | tr '\n' ';') session state $(ref_state "$1")"; }

ref_run() {
	local d=$TMP/ref port n src asn
	mkdir -p "$d"
	command -v gobgpd >/dev/null || { for n in $NAMES; do skip "daemons ref $n" "gobgpd not installed"; done; return; }
	port=$(free_port 127.0.0.1); REF_API=$(free_port 127.0.0.1)
	{
		printf '[global.config]\n  as = %s\n  router-id = "127.0.0.1"\n  port = %s\n  local-address-list = ["127.0.0.1"]\n' "$CAS" "$port"
		# a collector: it sends nothing back
		printf '[global.apply-policy.config]\n  default-export-policy = "reject-route"\n'
		for n in $NAMES; do
			read -r src asn < <(DM_DAEMON_NET=127.0.1 $PY "$HARNESS" info "$n")
			printf '[[neighbors]]\n  [neighbors.config]\n    neighbor-address = "%s"\n    peer-as = %s\n' "$src" "$asn"
			printf '  [neighbors.transport.config]\n    passive-mode = true\n'
			for f in ipv4-unicast ipv6-unicast; do
				printf '  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = "%s"\n' "$f"
				printf '    [neighbors.afi-safis.add-paths.config]\n      receive = true\n'
			done
		done
	} >"$d/collector.toml"
	setsid gobgpd -f "$d/collector.toml" -p --pprof-disable --api-hosts "127.0.0.1:$REF_API" \
		>"$d/collector.log" 2>&1 </dev/null &
	echo $! >"$d/collector.pid"
	wait_for 20 gobgp -p "$REF_API" neighbor || { for n in $NAMES; do nok "daemons ref $n" "gobgpd did not start"; done; return; }
	export DM_DAEMON_NET=127.0.1
	phase ref "$d" start announce ref_soon ref_show -- "127.0.0.1:$port" "$CAS"
	phase ref "$d" withdraw withdraw ref_soon ref_show
	phase ref "$d" down down ref_down_soon ref_show
	unset DM_DAEMON_NET
}

# ---- 2. darkmap collect ----
LIVE_NET=127.0.2
live_state() {  # live_state: collect's route dump now (SIGUSR1 rewrites it), canonical lines
	rm -f "$LD/state"
	kill -USR1 "$(cat "$LD/collector.pid")" 2>/dev/null || return 1
	wait_for 10 test -e "$LD/state"   # written whole, then renamed
	$PY "$HARNESS" norm-state <"$LD/state"
}
live_peer() {  # live_peer NAME: the daemon's routes in collect's state
	local src; src=$(DM_DAEMON_NET=$LIVE_NET $PY "$HARNESS" info "$1" | cut -d' ' -f1)
	live_state | grep "^$src|" || true
}
live_is() {  # live_is NAME PHASE: collect holds exactly the routes of PHASE (path, next hop)
	[ "$(live_peer "$1")" = "$(DM_DAEMON_NET=$LIVE_NET $PY "$HARNESS" expect "$1" "$2" | cut -d'|' -f1-4)" ]
}
live_went() {  # live_went NAME FROM: collect printed a state change of NAME's session from FROM
	local src; src=$(DM_DAEMON_NET=$LIVE_NET $PY "$HARNESS" info "$1" | cut -d' ' -f1)
	grep -q "|STATE|$src|[0-9]*|$2|" "$LD/print"
}
live_soon() { wait_for 30 live_is "$@"; }
# the session's end and its routes' removal are one event in collect: no waiting after the first
live_down_soon() { wait_for 30 live_went "$1" 6 && [ -z "$(live_peer "$1")" ]; }
live_show() {
	if [ "$2" = down ] && ! live_went "$1" 6; then echo "no state change from Established"
	elif [ "$2" = down ]; then echo "session down (NOTIFICATION), its routes still held: $(live_peer "$1" | tr '\n' ';')"
	else echo "state: $(live_peer "$1" | tr '\n' ';')"; fi
}

live_run() {
	local port n src asn why archive=()
	LD=$TMP/live
	mkdir -p "$LD"
	if ! "$DARKMAP" collect --help 2>&1 | grep -q -- --state; then
		for n in $NAMES; do skip "daemons live $n" "darkmap has no collect --state yet"; done; return
	fi
	if "$DARKMAP" collect --help 2>&1 | grep -q -- --archive; then archive=(--archive "$LD/mrt"); fi
	{
		printf 'local-as %s\nrouter-id 127.0.0.1\nlisten 127.0.0.1:0\naddpath on\n' "$CAS"
		for n in $NAMES; do
			read -r src asn < <(DM_DAEMON_NET=$LIVE_NET $PY "$HARNESS" info "$n")
			printf 'peer %s as %s\n' "$src" "$asn"
		done
	} >"$LD/collect.conf"
	setsid "$DARKMAP" collect --config "$LD/collect.conf" --name daemons --print --state "$LD/state" \
		--port-file "$LD/port" "${archive[@]}" >"$LD/print" 2>"$LD/collect.err" </dev/null &
	echo $! >"$LD/collector.pid"
	if ! wait_for 30 test -s "$LD/port"; then
		for n in $NAMES; do nok "daemons live $n" "collect did not start: $(tail -1 "$LD/collect.err")"; done; return
	fi
	port=$(cat "$LD/port")
	export DM_DAEMON_NET=$LIVE_NET
	phase live "$LD" start announce live_soon live_show -- "127.0.0.1:$port" "$CAS"
	phase live "$LD" withdraw withdraw live_soon live_show
	phase live "$LD" down down live_down_soon live_show
	unset DM_DAEMON_NET
	kill "$(cat "$LD/collector.pid")"
	wait_for 30 eval '! kill -0 "$(cat "$LD/collector.pid")"'
	live_mrt
}

# The archive collect wrote, read back by bgpdump: every announcement and withdrawal of the run.
live_mrt() {
	local n src want got
	if [ ! -d "$LD/mrt" ]; then
		for n in $NAMES; do skip "daemons live $n mrt" "darkmap collect has no --archive yet"; done; return
	fi
	find "$LD/mrt" -type f | sort | while read -r f; do bgpdump -m "$f" 2>/dev/null; done >"$LD/bgpdump"
	find "$LD/mrt" -type f | sort | while read -r f; do "$DARKMAP" dump -m "$f" 2>/dev/null; done >"$LD/dump"
	find "$LD/mrt" -type f | sort | while read -r f; do "$DARKMAP" dump --json "$f" 2>/dev/null; done >"$LD/json"
	for n in $NAMES; do
		src=$(DM_DAEMON_NET=$LIVE_NET $PY "$HARNESS" info "$n" | cut -d' ' -f1)
		# sets, not lists: a daemon may announce a route again (FRR does), an implicit replace
		want=$(DM_DAEMON_NET=$LIVE_NET $PY "$HARNESS" expect "$n" announce | cut -d'|' -f1-4 | sort -u)
		got=$($PY "$HARNESS" norm-bgpdump <"$LD/bgpdump" | grep "^$src|" | sort -u)
		if [ "$got" != "$want" ]; then
			nok "daemons live $n mrt" "bgpdump -m announcements: $(echo "$got" | tr '\n' ';')"; continue
		fi
		want=$(DM_DAEMON_NET=$LIVE_NET $PY "$HARNESS" expect "$n" announce | cut -d'|' -f1-2 |
			grep -F -f <(DM_DAEMON_NET=$LIVE_NET $PY "$HARNESS" expect "$n" withdraw | cut -d'|' -f1-2) -v -x | sort -u)
		got=$($PY "$HARNESS" norm-bgpdump W <"$LD/bgpdump" | grep "^$src|" | sort -u)
		if [ "$got" != "$want" ]; then
			nok "daemons live $n mrt" "bgpdump -m withdrawals: $(echo "$got" | tr '\n' ';')"; continue
		fi
		if ! grep "|$src|" "$LD/bgpdump" | grep -q '|STATE|.*|6|[0-9]*$'; then
			nok "daemons live $n mrt" "no STATE_CHANGE from Established"; continue
		fi
		if ! cmp -s <(grep "|$src|" "$LD/bgpdump") <(grep "|$src|" "$LD/dump"); then
			nok "daemons live $n mrt" "darkmap dump -m differs from bgpdump -m"; continue
		fi
		# the large communities, which bgpdump -m does not print, through darkmap's JSON
		got=$($PY "$HARNESS" norm-json <"$LD/json" | grep "^$src|" | sort -u)
		if [ "$got" != "$(DM_DAEMON_NET=$LIVE_NET $PY "$HARNESS" expect "$n" announce | sort -u)" ]; then
			nok "daemons live $n mrt" "dump --json announcements: $(echo "$got" | tr '\n' ';')"; continue
		fi
		ok "daemons live $n mrt"
	done
}

# both at once (their daemons use distinct addresses); their lines in order
ref_run >"$TMP/ref.out" 2>&1 &
refpid=$!
live_run >"$TMP/live.out" 2>&1
wait $refpid
cat "$TMP/ref.out" "$TMP/live.out"
