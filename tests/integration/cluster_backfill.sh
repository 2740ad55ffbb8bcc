#!/usr/bin/env bash
# Backfill (docs/scale.md "Backfill"): `darkmap cluster backfill` cuts the NK-2014 scenario's
# hard-outage window into time ranges x partitions, jobs in a PostgreSQL table (started here on
# loopback, free port, stopped at exit); `darkmap cluster backfill-worker` processes claim them
# (FOR UPDATE SKIP LOCKED), each range from the exact snapshots and the feeder state the range
# before wrote, and the backfill merges their results. The single process (`darkmap replay`)
# is the independent source:
#   1. equality: 3 ranges x 4 partitions, 2 workers, into PostgreSQL: the series rows (CSV) and
#      the streaming detector's events (JSON) are replay's, and `darkmap detect` over the
#      PostgreSQL store gives the events it gives over replay's SQLite file; the later ranges
#      did start from snapshots (loaded > 0);
#   2. kill -9 of one worker while it holds a job of range 1 (heartbeat 1 s): the other takes
#      its jobs over once their heartbeat stops, reads the range again, and the rows and events
#      are still replay's; the time to the takeover and to the run's end are printed ("#" lines);
#   3. a start snapshot corrupt (a byte flipped) and one missing, after range 0 (workers run with
#      --passes 1): the jobs refuse them (the CRC; the file), recompute range 0 for their
#      partition, and the rows and events are still replay's;
#   4. a worker waiting in a barrier of range 2 on partitions whose jobs of range 1 a worker
#      held and stopped beating for (the ranges before done by one worker, --passes 1; the
#      stopped worker made in bf_jobs): it hands its jobs back, runs the earlier range's, and the
#      rows and events are still replay's (before, it waited for ever: the kill -9 case above
#      hung so in one CI run of 5 Dec 2026, the victim killed after its sizes of range 1's last
#      barrier were in).
. "$(dirname "$0")/../lib.sh"
BIN=${CLUSTER_DARKMAP:-$DARKMAP}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
[ -x "$PGBIN/initdb" ] || { skip cluster_backfill "PostgreSQL 15 not installed (scripts/bootstrap)"; exit 0; }
command -v psql >/dev/null || { skip cluster_backfill "psql not installed (scripts/bootstrap)"; exit 0; }

. "$(dirname "$0")/../cluster_lib.sh"
start_pg || exit 0

single_run cluster_backfill || exit 0
"$BIN" detect -q --db "$TMP/single.db" --all --json "$TMP/single.detect" >/dev/null 2>&1
now() { date +%s.%N; }
mkdir -p "$TMP/snaps"

# backfill NAME RANGES DB [WORKER OPTIONS]: the backfill in the background (pid C), then 2 workers (pids W)
# (the first run as `cluster backfill --pg URI`, the others as `replay --cluster URI`: the same role)
backfill() {
	local how=(cluster backfill --pg "$PGURI")
	[ "$1" != eq ] && how=(replay --cluster "$PGURI")
	"$BIN" "${how[@]}" --run "$1" --snapshots "$TMP/snaps" --parts 4 --ranges "$2" --workers 2 \
		--heartbeat-ms 1000 -q "${OPTS[@]}" --csv --db "$3" --detect --all --json "$TMP/$1.ev" "$SC" \
		>"$TMP/$1.out" 2>"$TMP/$1.err" &
	C=$!
	PIDS+=($C)
	made() { psql -At "$PGURI" -c "SELECT 1 FROM bf_runs WHERE run = '$1'" 2>/dev/null | grep -q 1; }
	wait_for 10 made "$1"
	[ "${4:-}" = none ] || workers "$1" "${@:4}"
}
workers() {  # NAME [OPTIONS]
	W=()
	for i in 0 1; do
		"$BIN" cluster backfill-worker --pg "$PGURI" --run "$1" "${@:2}" 2>>"$TMP/$1.w$i" &
		W+=($!)
		PIDS+=($!)
	done
}
same() {  # NAME TEST
	wait "$C" || nok "$2_backfill" "exit $?: $(grep -v 'backfill feed' "$TMP/$1.err" | tail -2 | tr '\n' ' ')"
	rows "$TMP/$1.out" >"$TMP/$1.rows"
	if cmp -s "$TMP/single.rows" "$TMP/$1.rows"; then
		ok "$2_rows"
	else
		nok "$2_rows" "$(diff "$TMP/single.rows" "$TMP/$1.rows" | head -3 | tr '\n' ' ')"
	fi
	if cmp -s <(sort "$TMP/single.ev") <(sort "$TMP/$1.ev"); then
		ok "$2_events"
	else
		nok "$2_events" "$(diff <(sort "$TMP/single.ev") <(sort "$TMP/$1.ev") | head -3 | tr '\n' ' ')"
	fi
}
stat_sum() {  # FIELD NAME: a number the workers print at the end, summed
	cat "$TMP/$2".w? | sed -n "s/.* \([0-9]*\) $1.*/\1/p" | awk '{ s += $1 } END { print s + 0 }'
}

# ---- 1. equality, 3 ranges x 4 partitions, into PostgreSQL ----
backfill eq 3 "$PGURI"
t0=$(now)
for p in "${W[@]}"; do wait "$p" || nok cluster_backfill_equal_worker "exit $?: $(tail -n 2 "$TMP"/eq.w?)"; done
same eq cluster_backfill_equal
echo "# 3 ranges x 4 partitions, 2 workers: $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }') s from the workers' start; $nrows rows"
loaded=$(stat_sum loaded eq)
[ "$loaded" -ge 8 ] && ok cluster_backfill_from_snapshots ||
	nok cluster_backfill_from_snapshots "the jobs of ranges 1 and 2 loaded $loaded snapshots, want 8"
"$BIN" detect -q --db "$PGURI" --all --json "$TMP/eq.detect" >/dev/null 2>&1
if [ -s "$TMP/single.detect" ] && cmp -s <(sort "$TMP/single.detect") <(sort "$TMP/eq.detect"); then
	ok cluster_backfill_detect_pg
else
	nok cluster_backfill_detect_pg "$(diff <(sort "$TMP/single.detect") <(sort "$TMP/eq.detect") | head -3 | tr '\n' ' ')"
fi

# ---- 2. kill -9 of a worker in the middle of a job of range 1 ----
backfill k9 4 "$TMP/k9.db"
victim=${W[1]}
holds() { [ "$(psql -At "$PGURI" -c "SELECT count(*) FROM bf_jobs WHERE run = 'k9' AND rng = 1 AND state = 'running'
	AND worker LIKE '%:$victim'")" -gt 0 ]; }
if wait_for 30 holds; then
	kill -9 "$victim"
	tk=$(now)
	took() { [ "$(psql -At "$PGURI" -c "SELECT count(*) FROM bf_jobs WHERE run = 'k9' AND tries > 1")" -gt 0 ]; }
	wait_for 30 took
	tt=$(now)
	wait "${W[0]}" || nok cluster_backfill_kill9_worker "exit $?: $(tail -2 "$TMP"/k9.w0)"
	same k9 cluster_backfill_kill9
	echo "# kill -9 of a worker holding range 1 (heartbeat 1 s): its jobs claimed again $(awk -v a="$tk" -v b="$tt" \
		'BEGIN { printf "%.2f", b - a }') s after the kill; the run ended $(awk -v a="$tk" -v b="$(now)" \
		'BEGIN { printf "%.2f", b - a }') s after it"
	n=$(stat_sum "taken over" k9)
	[ "$n" -ge 1 ] && ok cluster_backfill_kill9_taken_over || nok cluster_backfill_kill9_taken_over "no job taken over"
else
	nok cluster_backfill_kill9 "worker 1 never held a job of range 1"
	kill "$C" "${W[@]}" 2>/dev/null
fi

# ---- 3. a corrupt and a missing start snapshot ----
backfill bad 4 "$TMP/bad.db" --passes 1
for p in "${W[@]}"; do wait "$p"; done
f=$TMP/snaps/bad.r1.p1.snap
if [ -s "$f" ] && [ -s "$TMP/snaps/bad.r1.p2.snap" ]; then
	python3 -c 'import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0x55; open(p, "wb").write(b)' "$f"
	rm "$TMP/snaps/bad.r1.p2.snap"
	workers bad
	for p in "${W[@]}"; do wait "$p" || nok cluster_backfill_bad_snapshot_worker "exit $?: $(tail -n 2 "$TMP"/bad.w?)"; done
	same bad cluster_backfill_bad_snapshot
	if grep -q 'partition 1: its snapshot is refused (snapshot: checksum mismatch)' "$TMP"/bad.w? &&
	   grep -q 'partition 2: its snapshot is refused (.*No such file' "$TMP"/bad.w?; then
		ok cluster_backfill_bad_snapshot_refused
	else
		nok cluster_backfill_bad_snapshot_refused "$(grep -h refused "$TMP"/bad.w? | head -2 | tr '\n' ' ')"
	fi
else
	nok cluster_backfill_bad_snapshot "range 0 wrote no snapshots r1.p1, r1.p2"
	kill "$C" 2>/dev/null
fi

# ---- 4. a later range waiting on an earlier range's jobs whose worker stopped ----
backfill st 3 "$TMP/st.db" none
for i in 0 1; do   # ranges 0 and 1, each whole by one worker (it takes the other partitions over)
	"$BIN" cluster backfill-worker --pg "$PGURI" --run st --passes 1 2>>"$TMP/st.w0" ||
		nok cluster_backfill_earlier_range_setup "exit $?: $(tail -n 2 "$TMP"/st.w0)"
done
# range 1's partitions 2 and 3 held by a worker that is about to stop beating, range 2's not ready
psql -q "$PGURI" -c "UPDATE bf_jobs SET state = 'running', worker = 'gone:1', heartbeat = now()
	WHERE run = 'st' AND rng = 1 AND part >= 2; UPDATE bf_jobs SET state = 'wait', worker = NULL
	WHERE run = 'st' AND rng = 2 AND part >= 2"
timeout 120 "$BIN" cluster backfill-worker --pg "$PGURI" --run st 2>>"$TMP/st.w1"; rc=$?
if [ $rc = 0 ] && grep -q 'range 2 waits on 2 job(s) of an earlier range nobody runs: its jobs handed back' "$TMP/st.w1"; then
	ok cluster_backfill_earlier_range_worker
	same st cluster_backfill_earlier_range
else
	nok cluster_backfill_earlier_range_worker "exit $rc (124: it waited for ever): $(tail -n 3 "$TMP/st.w1" | tr '\n' ' ')"
	kill "$C" 2>/dev/null
fi
