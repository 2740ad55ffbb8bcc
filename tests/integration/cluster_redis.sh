#!/usr/bin/env bash
# The scale-out on its engines (docs/scale.md): a Redis Cluster of three masters, each with a
# replica, and a PostgreSQL server, both started here on loopback (free ports, in temporary
# folders, stopped at exit), carry the NK-2014 scenario's hard-outage window through `darkmap
# cluster feed`, 4 workers over 8 partitions and `darkmap cluster merge` into PostgreSQL. The
# single process (`darkmap replay` into SQLite) is the independent source:
#   1. equality: the merged series rows (CSV), the streaming detector's events (JSON), and
#      `darkmap detect` run afterwards over the PostgreSQL database against the same over the
#      SQLite one, and `darkmap plot` (SVG and CSV) and `darkmap serve` (/api/entities,
#      /api/series) over either give the same bytes; a malformed message and an element of an
#      unknown collector, put on two partitions' streams first, are counted (2 skipped) and
#      skipped;
#   2. kill -9 of one worker mid-run (after 30 barriers): another takes its partitions over (its
#      lease runs out), rebuilds them from their streams, and the result is still the same; the
#      time to recover is printed (a "#" line, never a threshold);
#   3. kill -9 of the merger mid-run (after 60 barriers), started again: it resumes after the
#      barriers it had committed, and its PostgreSQL database holds the same bins, events and
#      visibility changes (in put order) as the merger of 1, whose rows are the single
#      process's;
#   5. snapshots (docs/scale.md "Snapshots"): workers write each partition's exact snapshot every
#      5 barriers into a directory and trim its stream below the older of the last two (XTRIM
#      MINID); worker 1 is killed -9 once its partition 1 has two snapshots (so its stream was
#      trimmed); the worker taking partition 1 over loads its snapshot (a "loaded" line) and reads
#      the stream after it; partition 5's newest snapshot, cut in half after the kill, is refused
#      and the one before loaded (or the stream replayed from its start when there was no other);
#      the rows and events are still the single process's; the stream
#      lengths before and after trimming and the time to recover are printed;
#   6. a worker stopped (SIGSTOP) while its partitions' leases become another's, then continued:
#      its reads are refused (the consumer group hands out no entry of those streams until the
#      leases are released), and the result is the single process's;
#   4. the Redis Cluster has a replica per master (six nodes): kill -9 of a master of partition
#      streams (the merger's keys' when it holds some) mid-feed (feed, workers and merger running at once); its replica takes
#      over, the feeder, the workers and the merger follow (MOVED, CLUSTERDOWN, a refused
#      connection: the slot map reloaded and the command sent again; a batch sent twice is
#      applied once) and the rows and events are still the single process's; the time to recover
#      is printed.
. "$(dirname "$0")/../lib.sh"
BIN=${CLUSTER_DARKMAP:-$DARKMAP}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
for c in redis-server redis-cli; do
	command -v $c >/dev/null || { skip cluster_redis "$c not installed (scripts/bootstrap)"; exit 0; }
done
[ -x "$PGBIN/initdb" ] || { skip cluster_redis "PostgreSQL 15 not installed (scripts/bootstrap)"; exit 0; }

. "$(dirname "$0")/../cluster_lib.sh"
nok() { echo "not ok $1: $2"; FAILED=1; }
start_redis 1 || exit 0
start_pg || exit 0

# ---- the scenario and the single process ----
single_run cluster_redis || exit 0
"$BIN" detect -q --db "$TMP/single.db" --all --json "$TMP/single.detect" >/dev/null 2>&1

conf() {  # prefix lease_ms
	printf 'redis = %s\nparts = 8\nworkers = 4\nprefix = %s\nlease_ms = %s\noptions = %s\n' \
		"$(IFS=,; echo "${NODES[*]}")" "$1" "$2" "${OPTS[*]}" >"$TMP/$1.conf"
}
now() { date +%s.%N; }
# wait_max SECS PID: wait for PID at most SECS seconds, then kill -9 it; its exit status, or 124
# when it had to be killed (a hang fails its case, not the whole run: session 15 saw the
# failover case's merger wait for ever once, in one run of four)
wait_max() {
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		kill -0 "$2" 2>/dev/null || { wait "$2"; return; }
		sleep 0.1
	done
	kill -9 "$2" 2>/dev/null
	wait "$2" 2>/dev/null
	return 124
}
# Every process a case starts is waited for so, never for ever: session 29's CI ran out of its
# 90 minutes in this test, which then waited without a limit in 13 places and said nothing.
# run_max SECS COMMAND...: COMMAND (its redirections the caller's) limited as wait_max limits.
run_max() {
	local s=$1
	shift
	"$@" &
	PIDS+=($!)
	wait_max "$s" $!
}
# settle SECS NAME MERGER: waits for the merger at most SECS seconds, then for each worker of W at
# most 30 s more. RC is the merger's exit status, T_MERGED the time it ended; HUNG is empty when
# all ended, else it names what had to be killed and the last line each of NAME's processes
# wrote (for the case's message).
settle() {
	local i
	HUNG=
	wait_max "$1" "$3"
	RC=$?
	T_MERGED=$(now)
	[ $RC != 124 ] || HUNG="the merger"
	for i in "${!W[@]}"; do
		wait_max 30 "${W[$i]}" || [ $? != 124 ] || HUNG="${HUNG:+$HUNG, }worker $i"
	done
	[ -z "$HUNG" ] || HUNG="$HUNG still running $1 s on, killed -9 (last lines: $(tail -qn1 "$TMP/$2".merge* "$TMP/$2".w? 2>/dev/null | tr '\n' ' '))"
}
workers() {  # CONF [OPTION]: 4 workers of CONF in the background, their pids in W
	W=()
	for i in 0 1 2 3; do
		"$BIN" cluster worker --config "$TMP/$1.conf" --id $i "${@:2}" 2>"$TMP/$1.w$i" &
		W+=($!)
		PIDS+=($!)
	done
}

# ---- 1. equality, bad messages skipped ----
conf eq 3000
# the wire format of an element (src/cluster/cut.c put_elem) naming collector 99, which no
# collector message announced, and bytes that are no message at all
python3 -c '
import struct, sys
m = b"E" + struct.pack(">IBqI", 99, ord("A"), 1419249600, 0) + bytes([1]) + bytes([192, 0, 2, 1]) + bytes(12)
m += struct.pack(">IBB", 64500, 1, 24) + bytes([10, 0, 0]) + bytes(13) + struct.pack(">IBHHB", 0, 0, 0, 0, 0)
sys.stdout.buffer.write(m)' >"$TMP/unknown.bin"
printf 'X\001\002garbage' >"$TMP/garbage.bin"
n1=${NODES[0]#*:}
redis-cli -c -p "$n1" -x XADD 'eq:{p1}:in' '*' m <"$TMP/garbage.bin" >/dev/null
redis-cli -c -p "$n1" -x XADD 'eq:{p2}:in' '*' m <"$TMP/unknown.bin" >/dev/null
t0=$(now)
run_max 120 "$BIN" cluster feed --config "$TMP/eq.conf" -q "$SC" 2>"$TMP/eq.feed" || nok cluster_redis_feed "exit $?: $(tail -1 "$TMP/eq.feed")"
workers eq
"$BIN" cluster merge --config "$TMP/eq.conf" -q --csv --db "$PGURI" --detect --all --json "$TMP/eq.ev" \
	>"$TMP/eq.out" 2>"$TMP/eq.merge" &
M=$!
PIDS+=($M)
settle 300 eq $M
mrc=$RC
t_eq=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
if [ -n "$HUNG" ]; then
	nok cluster_redis_merge "$HUNG"
elif [ $mrc -gt 1 ]; then
	nok cluster_redis_merge "exit $mrc: $(tail -2 "$TMP/eq.merge")"
fi
rows "$TMP/eq.out" >"$TMP/eq.rows"
if cmp -s "$TMP/single.rows" "$TMP/eq.rows"; then
	ok cluster_redis_equal_rows
else
	nok cluster_redis_equal_rows "$(diff "$TMP/single.rows" "$TMP/eq.rows" | head -3 | tr '\n' ' ')"
fi
if cmp -s <(sort "$TMP/single.ev") <(sort "$TMP/eq.ev"); then
	ok cluster_redis_equal_events
else
	nok cluster_redis_equal_events "$(diff <(sort "$TMP/single.ev") <(sort "$TMP/eq.ev") | head -3 | tr '\n' ' ')"
fi
skipped=$(cat "$TMP"/eq.w? | sed -n 's/.* \([0-9]*\) skipped.*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
if [ "$skipped" = 2 ] && grep -q 'element of an unknown collector' "$TMP"/eq.w? &&
   grep -q 'message of unknown kind' "$TMP"/eq.w?; then
	ok cluster_redis_bad_messages_skipped
else
	nok cluster_redis_bad_messages_skipped "workers skipped $skipped messages, want 2 (one malformed, one of an unknown collector)"
fi
# what the merger stored, by entity label (ids are each database's own), before detect adds its
# events: section 3 compares a restarted merger's database with it
pgdump() {  # URI OUT: bins, events, visibility changes in put order
	psql -At "$1" -c "SELECT label, t, visible_prefixes, slash24, baseline_slash24, peers_seeing, full_feed_peers,
		peers_up, peer_frac, announcements, withdrawals, interruptions, more_specifics, quality, ff_joined, ff_left
		FROM bins_view ORDER BY label, t" >"$2.bins" 2>&1
	psql -At "$1" -c "SELECT label, type, start_t, end_t, severity, baseline_slash24, slash24, peers_lost,
		full_feed_peers, rate, baseline_rate, quality, affected, reason, of_type, raised_t, window_s, interruptions,
		episode_start, prev_start, evidence FROM events_view ORDER BY label, type, start_t" >"$2.events" 2>&1
	psql -At "$1" -c "SELECT t, afi, prefix, visible, covered, cc, origin, upstream, units, peers_before,
		full_feed_peers, peer_asn, peer, collector, countries FROM vis_changes ORDER BY id" >"$2.chg" 2>&1
}
pgdump "$PGURI" "$TMP/eq"
pgrows=$(psql -At "$PGURI" -c 'SELECT count(*) FROM bins' 2>/dev/null)
if [ "$pgrows" = "$nrows" ]; then ok cluster_pg_rows; else nok cluster_pg_rows "PostgreSQL holds $pgrows bins, want $nrows"; fi
"$BIN" detect -q --db "$PGURI" --all --json "$TMP/pg.detect" >/dev/null 2>"$TMP/pg.detect.err"
if [ -s "$TMP/single.detect" ] && cmp -s <(sort "$TMP/single.detect") <(sort "$TMP/pg.detect"); then
	ok cluster_pg_detect
else
	nok cluster_pg_detect "detect over PostgreSQL differs from detect over SQLite: $(tail -1 "$TMP/pg.detect.err")"
fi

# plot and serve read PostgreSQL as they read SQLite: the same image and rows, the same
# /api/entities and /api/series answers (both detect runs above stored their events in each)
same_read=1
why=
for db in "$TMP/single.db" "$PGURI"; do
	n=$([ "$db" = "$PGURI" ] && echo pg || echo sq)
	"$BIN" plot --db "$db" --country KP --out "$TMP/plot.$n.svg" --csv "$TMP/plot.$n.csv" >/dev/null 2>&1
	"$BIN" serve --db "$db" --port 0 --port-file "$TMP/port.$n" >/dev/null 2>"$TMP/serve.$n" &
	PIDS+=($!)
	S=$!
	if wait_for 20 test -s "$TMP/port.$n"; then
		u="http://127.0.0.1:$(cat "$TMP/port.$n")"
		# an event's id is its row's in that database (the order it was put): left out
		curl -sf --max-time 60 "$u/api/entities?type=country&at=2014-12-22T18:00Z" | sed 's/"id":[0-9]*/"id":_/g' >"$TMP/ent.$n"
		curl -sf --max-time 60 "$u/api/series?entity=KP&from=2014-12-22T12:00Z&to=2014-12-23T04:00Z" >"$TMP/ser.$n"
	else
		why="serve --db $n did not start: $(tail -1 "$TMP/serve.$n")"
	fi
	kill "$S"
done
for f in plot.%.svg plot.%.csv ent.% ser.%; do
	if [ ! -s "$TMP/${f/\%/sq}" ] || ! cmp -s "$TMP/${f/\%/sq}" "$TMP/${f/\%/pg}"; then
		same_read=0
		why="${why:-${f/\%/pg} differs from ${f/\%/sq}: $(diff <(tr , '\n' <"$TMP/${f/\%/sq}") <(tr , '\n' <"$TMP/${f/\%/pg}") | head -3 | tr '\n' ' ')}"
	fi
done
if [ $same_read = 1 ] && grep -q '"name":"North Korea"' "$TMP/ser.pg"; then
	ok cluster_pg_plot_serve
else
	nok cluster_pg_plot_serve "$why"
fi

# ---- 2. kill -9 of one worker mid-run ----
conf kill 1000
run_max 120 "$BIN" cluster feed --config "$TMP/kill.conf" -q "$SC" 2>"$TMP/kill.feed"
t0=$(now)
workers kill -q
"$BIN" cluster merge --config "$TMP/kill.conf" -q --csv --detect --all --json "$TMP/kill.ev" \
	--db "$TMP/kill.db" >"$TMP/kill.out" 2>"$TMP/kill.merge" &
M=$!
PIDS+=($M)
sums() { [ "$(redis-cli -c -p "$n1" XLEN 'kill:{m}:sums' 2>/dev/null)" -ge 30 ]; }
if wait_for 60 sums; then
	kill -9 "${W[1]}"
	t_kill=$(now)
	settle 300 kill "$M"
	t_end=$T_MERGED
	if [ -n "$HUNG" ]; then
		nok cluster_redis_kill9_equal "$HUNG"
	elif like_single kill; then
		ok cluster_redis_kill9_equal
	else
		nok cluster_redis_kill9_equal "after kill -9: $(rows_diff kill)"
	fi
	took=$(cat "$TMP"/kill.w[023] | sed -n 's/.*, \([0-9]*\) taken over.*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
	if [ "$took" -ge 1 ]; then ok cluster_redis_kill9_takeover; else nok cluster_redis_kill9_takeover "no worker took a partition over"; fi
	echo "# cluster_redis: run without a kill $t_eq s; with worker 1 killed after 30 of $(redis-cli -c -p "$n1" GET 'kill:{m}:barriers') barriers, the merge ended $(awk -v a="$t_kill" -v b="$t_end" 'BEGIN { printf "%.2f", b - a }') s after the kill (lease 1 s); takeover: $(grep -ho 'taken over ([^)]*)' "$TMP"/kill.w[023] | grep -v '(0 messages' | tr '\n' ' ')"
else
	nok cluster_redis_kill9 "the merger never reached 30 barriers: $(tail -2 "$TMP/kill.merge")"
fi

# ---- 5. snapshots and trimming: kill -9 of a worker after its partition's stream was trimmed ----
conf snap 1000
mkdir -p "$TMP/snaps"
printf 'snapshots = %s\nsnapshot_every = 5\n' "$TMP/snaps" >>"$TMP/snap.conf"
run_max 120 "$BIN" cluster feed --config "$TMP/snap.conf" -q "$SC" 2>"$TMP/snap.feed"
xlens() { local s=0 p; for p in 0 1 2 3 4 5 6 7; do s=$((s + $(redis-cli -c -p "$n1" XLEN "snap:{p$p}:in"))); done; echo $s; }
len_before=$(xlens)
len_p1=$(redis-cli -c -p "$n1" XLEN 'snap:{p1}:in')
workers snap
"$BIN" cluster merge --config "$TMP/snap.conf" -q --csv --detect --all --json "$TMP/snap.ev" \
	--db "$TMP/snap.db" >"$TMP/snap.out" 2>"$TMP/snap.merge" &
M=$!
PIDS+=($M)
trimmed_p1() { [ -f "$TMP/snaps/snap.p1.snap.prev" ] && [ "$(redis-cli -c -p "$n1" XLEN 'snap:{p1}:in')" -lt "$len_p1" ]; }
# Worker 1 stopped where it is not writing partition 5's snapshot: a snapshot is written as
# rename(snap, snap.prev), then snap.tmp, fsync, rename(snap.tmp, snap), so for that while there
# is no snap.p5.snap to cut (it writes p5's just after p1's, when trimmed_p1 turns true).
f5=$TMP/snaps/snap.p5.snap
stop_w1() {
	local i
	for i in $(seq 200); do
		kill -STOP "${W[1]}"
		[ -f "$f5" ] && [ ! -f "$f5.tmp" ] && return 0
		kill -CONT "${W[1]}"
		sleep 0.01
	done
	return 1
}
if wait_for 60 trimmed_p1 && stop_w1; then
	# worker 1's other partition: its newest snapshot cut in half, which its successor must
	# refuse and fall back from (to the one before, or to the stream's start when that was all)
	head -c $(($(stat -c %s "$f5") / 2)) "$f5" >"$f5.cut" && mv "$f5.cut" "$f5"
	kill -9 "${W[1]}"
	t_kill=$(now)
	len_kill=$(redis-cli -c -p "$n1" XLEN 'snap:{p1}:in')
	settle 300 snap "$M"
	t_end=$T_MERGED
	if [ -n "$HUNG" ]; then
		nok cluster_redis_snapshot_kill9_equal "$HUNG"
	elif like_single snap; then
		ok cluster_redis_snapshot_kill9_equal
	else
		nok cluster_redis_snapshot_kill9_equal "$(rows_diff snap) $(grep -h 'unusable\|trimmed' "$TMP"/snap.w? | head -2)"
	fi
	if grep -q 'partition 1: loaded .*snap.p1.snap' "$TMP"/snap.w[023] &&
	   grep -q 'partition 5: .*snap.p5.snap unusable (snapshot: body length' "$TMP"/snap.w[023]; then
		ok cluster_redis_snapshot_loaded
	else
		nok cluster_redis_snapshot_loaded "partition 1's snapshot not loaded or partition 5's cut one not refused: $(grep -h 'partition [15]' "$TMP"/snap.w[023] | head -3 | tr '\n' ' ')"
	fi
	echo "# cluster_redis: snapshots every 5 barriers: 8 partition streams held $len_before entries before trimming, $(xlens) after the run (partition 1: $len_p1 before, $len_kill at the kill); worker 1 killed after its second snapshot of partition 1, the merge ended $(awk -v a="$t_kill" -v b="$t_end" 'BEGIN { printf "%.2f", b - a }') s after the kill (lease 1 s); takeover: $(grep -ho 'taken over ([^)]*)' "$TMP"/snap.w[023] | grep -v '(0 messages' | tr '\n' ' '); surviving workers: $(cat "$TMP"/snap.w[023] | sed -n 's/.*: \([0-9]*\) snapshots written (\([0-9.]*\) s.*, \([0-9]*\) stream entries trimmed; \([0-9]*\) loaded.*/\1 \2 \3 \4/p' | awk '{ n += $1; s += $2; t += $3; l += $4 } END { printf "%d snapshots written in %.2f s, %d entries trimmed, %d snapshot(s) loaded", n, s, t, l }')"
else
	nok cluster_redis_snapshot_kill9 "partition 1 never had two snapshots and a trimmed stream: $(tail -2 "$TMP/snap.w1")"
fi

# ---- 3. kill -9 of the merger mid-run, restarted: no bin lost, none written twice ----
conf mr 3000
psql -q "$PGURI" -c 'CREATE DATABASE mr' >/dev/null 2>&1
MRURI=${PGURI%/*}/mr
run_max 120 "$BIN" cluster feed --config "$TMP/mr.conf" -q "$SC" 2>"$TMP/mr.feed"
workers mr -q
MARGS=(cluster merge --config "$TMP/mr.conf" -q --db "$MRURI" --detect --all)
"$BIN" "${MARGS[@]}" >/dev/null 2>"$TMP/mr.merge1" &
M=$!
PIDS+=($M)
msums() { [ "$(redis-cli -c -p "$n1" XLEN 'mr:{m}:sums' 2>/dev/null)" -ge 60 ]; }
if wait_for 60 msums; then
	kill -9 "$M"
	wait "$M" 2>/dev/null
	t_kill=$(now)
	stored=$(psql -At "$MRURI" -c "SELECT value FROM meta WHERE key = 'cluster.mr.merged'" 2>/dev/null)
	"$BIN" "${MARGS[@]}" >/dev/null 2>"$TMP/mr.merge2" &
	M=$!
	PIDS+=($M)
	settle 300 mr "$M"
	mrc=$RC
	t_end=$T_MERGED
	pgdump "$MRURI" "$TMP/mr"
	same=1
	[ -z "$HUNG" ] || { same=0; nok cluster_merger_restart "$HUNG"; }
	for f in bins events chg; do
		[ -z "$HUNG" ] || break
		if [ ! -s "$TMP/eq.$f" ] || ! cmp -s "$TMP/eq.$f" "$TMP/mr.$f"; then
			same=0
			nok cluster_merger_restart "$f after the restart differ: $(diff "$TMP/eq.$f" "$TMP/mr.$f" | head -3 | tr '\n' ' ')"
		fi
	done
	if [ $same = 1 ] && [ $mrc -le 1 ] && grep -q 'resumed after' "$TMP/mr.merge2"; then
		ok cluster_merger_restart
	elif [ $same = 1 ]; then
		nok cluster_merger_restart "the second merger did not resume (exit $mrc): $(tail -2 "$TMP/mr.merge2" | tr '\n' ' ')"
	fi
	echo "# cluster_redis: merger killed -9 after ${stored%% *} of $(redis-cli -c -p "$n1" GET 'mr:{m}:barriers') barriers committed; restarted, it ended $(awk -v a="$t_kill" -v b="$t_end" 'BEGIN { printf "%.2f", b - a }') s later; $(grep -ho 'resumed after.*' "$TMP/mr.merge2")"
else
	nok cluster_merger_restart "the merger never reached 60 barriers: $(tail -2 "$TMP/mr.merge1")"
fi

# ---- 6. a worker whose lease is another's is handed no entry ----
# Worker 1 is stopped (SIGSTOP) once it holds partitions 1 and 5; their leases are then
# another's (set here, as a worker taking them over sets them), the streams are fed, and worker 1
# continues: its reads are refused (the lease check and XREADGROUP are one script), so the
# consumer group hands out no entry of either stream until the leases are released; then a
# worker takes both and the result is the single process's.
conf fence 1000
# the workers start once the feeder has said the inputs' time; said here (case 1's feed of the
# same scenario said it), so that they take their leases before any entry is there
redis-cli -c -p "$n1" SET 'fence:{m}:when' "$(redis-cli -c -p "$n1" GET 'eq:{m}:when')" >/dev/null
workers fence -q
"$BIN" cluster merge --config "$TMP/fence.conf" -q --csv --detect --all --json "$TMP/fence.ev" \
	--db "$TMP/fence.db" >"$TMP/fence.out" 2>"$TMP/fence.merge" &
M=$!
PIDS+=($M)
held() { [ "$(redis-cli -c -p "$n1" GET 'fence:{p1}:lease')" = "w1-${W[1]}" ] &&
	[ "$(redis-cli -c -p "$n1" GET 'fence:{p5}:lease')" = "w1-${W[1]}" ]; }
delivered() {  # the group's last delivered entry of partition $1's stream
	redis-cli -c -p "$n1" XINFO GROUPS "fence:{p$1}:in" | awk 'f { print; exit } $0 == "last-delivered-id" { f = 1 }'
}
if wait_for 30 held; then
	kill -STOP "${W[1]}"
	for p in 1 5; do redis-cli -c -p "$n1" SET "fence:{p$p}:lease" thief PX 60000 >/dev/null; done
	run_max 120 "$BIN" cluster feed --config "$TMP/fence.conf" -q "$SC" 2>"$TMP/fence.feed"
	kill -CONT "${W[1]}"
	lost() { [ "$(grep -c 'lost partition' "$TMP/fence.w1")" -ge 2 ]; }
	wait_for 30 lost
	d1=$(delivered 1) d5=$(delivered 5)
	for p in 1 5; do redis-cli -c -p "$n1" DEL "fence:{p$p}:lease" >/dev/null; done
	settle 120 fence "$M"
	if [ "$d1" = 0-0 ] && [ "$d5" = 0-0 ] && lost; then
		ok cluster_redis_lease_fenced_read
	else
		nok cluster_redis_lease_fenced_read "streams 1 and 5 handed out up to $d1 and $d5 while their leases were another's: $(grep -h 'lost partition' "$TMP/fence.w1" | head -2 | tr '\n' ' ')"
	fi
	if [ -n "$HUNG" ]; then
		nok cluster_redis_lease_fenced_equal "$HUNG"
	elif like_single fence; then
		ok cluster_redis_lease_fenced_equal
	else
		nok cluster_redis_lease_fenced_equal "$(rows_diff fence) $(tail -1 "$TMP/fence.merge")"
	fi
else
	nok cluster_redis_lease_fenced_read "worker 1 (w1-${W[1]}) never held partitions 1 and 5: $(redis-cli -c -p "$n1" GET "fence:{p1}:lease") $(redis-cli -c -p "$n1" GET "fence:{p5}:lease") $(tail -2 "$TMP/fence.w1")"
fi

# ---- 4. kill -9 of a Redis master mid-feed: its replica takes over, the result is the same ----
conf rf 3000
# the feed, the workers and the merger at once; the master of a partition's stream killed once
# the feed has written 20 entries to that stream (of about 200): a partition on the master of
# the merger's keys if there is one
M_M=$(master_of 'rf:{m}:up')
VKEY='rf:{p1}:in'
for p in 0 1 2 3 4 5 6 7; do
	[ "$(master_of "rf:{p$p}:in")" = "$M_M" ] && { VKEY="rf:{p$p}:in"; break; }
done
victim=$(master_of "$VKEY")
"$BIN" cluster feed --config "$TMP/rf.conf" -q "$SC" 2>"$TMP/rf.feed" &
F=$!
PIDS+=($F)
workers rf -q
"$BIN" cluster merge --config "$TMP/rf.conf" -q --csv --detect --all --json "$TMP/rf.ev" --db "$TMP/rf.db" \
	>"$TMP/rf.out" 2>"$TMP/rf.merge" &
M=$!
PIDS+=($M)
fed() { [ "$(redis-cli -p "$victim" XLEN "$VKEY" 2>/dev/null)" -ge 20 ]; }
if [ -n "$victim" ] && wait_for 60 fed; then
	kill -9 "${REDIS_PID[$victim]}"
	t_kill=$(now)
	hung=
	wait_max 120 "$F" || [ $? != 124 ] || hung="the feed still running 120 s after the kill, killed -9; "
	settle 120 rf "$M"
	t_end=$T_MERGED
	promoted=$(master_of "$VKEY")
	if [ -n "$hung$HUNG" ]; then
		nok cluster_redis_failover_equal "$hung$HUNG (master $victim killed -9; now $promoted)"
	elif like_single rf &&
	   [ -n "$promoted" ] && [ "$promoted" != "$victim" ]; then
		ok cluster_redis_failover_equal
	else
		nok cluster_redis_failover_equal "master $victim killed (now $promoted): $(rows_diff rf) $(tail -1 "$TMP/rf.merge")"
	fi
	echo "# cluster_redis: Redis master :$victim killed -9 mid-feed; its replica :$promoted took over; the merge ended $(awk -v a="$t_kill" -v b="$t_end" 'BEGIN { printf "%.2f", b - a }') s after the kill (cluster-node-timeout 1 s); waited for the failover: feed $(sed -n 's/.*: \([0-9.]*\) s waiting for a Redis failover/\1/p' "$TMP/rf.feed") s, merger and workers $(cat "$TMP"/rf.merge "$TMP"/rf.w? | sed -n 's/.*: \([0-9.]*\) s waiting for a Redis failover/\1/p' | sort -n | tail -1) s at most"
else
	nok cluster_redis_failover_equal "no master for $VKEY ($victim), or the feed never wrote 20 entries to it: $(tail -2 "$TMP/rf.feed")"
fi
