# make bench, issue 13: backfill over PostgreSQL (docs/scale.md "Backfill") against the single
# process, same input, same run: `darkmap cluster backfill` (RANGES time ranges x PARTS
# partitions, jobs in a PostgreSQL table on loopback) with 1 and 2 `backfill-worker` processes,
# from the workers' start to the merger's end. Every worker reads every file of its range (the
# elements are decoded once per worker) and applies only its partitions' elements; the barrier
# sizes and rows go through PostgreSQL. elements/s are the input's elements over wall time; each
# run's series is compared with replay's ("same"). This 2-core machine is shared: the load
# average is printed; workers, merger and PostgreSQL share the two cores.
# Input: the full-scale table (every prefix of the real May-2014 table, 4 peers, 3 hours of the
# NK-2014 scenario) when the data is there, else the scenario at 10,000 prefixes, 16 peers, 24 h.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
DM=$ROOT/build/rel/darkmap
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
[ -x "$PGBIN/initdb" ] || { echo "bench backfill: PostgreSQL 15 missing (scripts/bootstrap)"; exit 0; }
. tests/cluster_lib.sh
start_pg >/dev/null || { echo "bench backfill: PostgreSQL did not start"; exit 0; }
SC=$TMP/sc
PARTS=${BACKFILL_PARTS:-4}
RANGES=${BACKFILL_RANGES:-3}
if [ -f "$DATA/asn/ipasn_20140513.dat.gz" ]; then
	"$DM" scenario nk-2014 --out "$SC" --table "$DATA/asn/ipasn_20140513.dat.gz" --all --peers 4 \
		--from 2014-12-22T15:00 --to 2014-12-22T18:00 >/dev/null 2>&1
	what="full-scale table, 4 peers, 3 h"
else
	"$DM" scenario nk-2014 --out "$SC" --world 10000 --peers 16 --from 2014-12-22T00:00Z --to 2014-12-23T00:00Z >/dev/null 2>&1
	what="scenario, 10,000 prefixes, 16 peers, 24 h"
fi
OPTS=(--rows countries --asn 131279)
now() { date +%s.%N; }
sorted() { { IFS= read -r h; echo "$h"; sort; } <"$1"; }
t0=$(now)
"$DM" replay -q --csv "${OPTS[@]}" "$SC" >"$TMP/single.csv" 2>"$TMP/single.err"
t_single=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')
E=$(sed -n 's/^replay: [0-9]* records, \([0-9]*\) elements.*/\1/p' "$TMP/single.err")
sorted "$TMP/single.csv" >"$TMP/single.s"
echo "== backfill vs one process: $what: $E elements; $RANGES ranges x $PARTS partitions; load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-44s %9s %12s %7s %s\n" run wall_s elements/s ratio same
row() {  # name wall csv [note]
	local same=-
	[ -n "$3" ] && { cmp -s "$TMP/single.s" <(sorted "$3") && same=yes || same=NO; }
	awk -v n="$1" -v w="$2" -v e="$E" -v s="$t_single" -v same="$same" -v note="${4:-}" \
		'BEGIN { printf "%-44s %9.2f %12.0f %6.2fx %s %s\n", n, w, e / w, s / w, same, note }'
}
row "replay (one process)" "$t_single" ""
mkdir -p "$TMP/snaps"
for W in 1 2; do
	"$DM" cluster backfill --pg "$PGURI" --run "b$W" --snapshots "$TMP/snaps" --parts "$PARTS" --ranges "$RANGES" \
		--workers "$W" -q --csv "${OPTS[@]}" "$SC" >"$TMP/b$W.csv" 2>"$TMP/b$W.err" &
	c=$!
	made() { psql -At "$PGURI" -c "SELECT 1 FROM bf_runs WHERE run = 'b$W'" 2>/dev/null | grep -q 1; }
	wait_for 30 made
	t0=$(now)
	pids=()
	for ((i = 0; i < W; i++)); do
		"$DM" cluster backfill-worker --pg "$PGURI" --run "b$W" -q 2>"$TMP/w$W.$i.err" &
		pids+=($!)
	done
	wait "$c"
	t=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')
	for p in "${pids[@]}"; do wait "$p"; done
	waits=$(cat "$TMP"/w$W.*.err | sed -n 's/.* \([0-9.]*\) s waiting at barriers.*/\1/p' | tr '\n' ' ')
	snaps=$(cat "$TMP"/w$W.*.err | sed -n 's/.* snapshots written (\([0-9]*\) bytes, \([0-9.]*\) s).*/\1 B in \2 s/p' | tr '\n' ' ')
	row "backfill, $W worker(s)" "$t" "$TMP/b$W.csv" "(waiting at barriers: ${waits}s; snapshots: $snaps)"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
