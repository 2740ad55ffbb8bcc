# make bench, issue 13: the scale-out (docs/scale.md) against the single process, same input,
# same run. Rows: replay (one process); `cluster local` (the cut and the merge, 16 partitions,
# in one process: their cost without a bus); the bus alone (`cluster feed`: the cut's messages
# XADDed to a 3-node Redis Cluster on loopback); 1, 2 and 4 workers + the merger over it
# (from the workers' start to the merger's end, the feed done before); the store apart
# (`cluster local` into SQLite and into PostgreSQL, against no store; 4 workers + the merger
# into PostgreSQL, which commits its restart checkpoint at every barrier, against the same
# without a store). elements/s and bins/s
# are the input's elements and the bins closed, over wall time; every cluster run's series is
# compared with replay's ("same" column). This 2-core machine is shared: the load average is
# printed, and workers, Redis and PostgreSQL share the same two cores.
# Input: the full-scale table (every prefix of the real May-2014 table, SCALE_PEERS peers,
# default 4, 3 hours of the NK-2014 scenario) when the data is there, else the scenario at
# 10,000 prefixes and 16 peers for a day.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
DARKMAP=$ROOT/build/rel/darkmap
DM=$DARKMAP
for c in redis-server redis-cli; do command -v $c >/dev/null || { echo "bench scale: $c missing (scripts/bootstrap)"; exit 0; }; done
. tests/cluster_lib.sh
start_redis >/dev/null || { echo "bench scale: Redis Cluster did not start"; exit 0; }
PGOK=1
start_pg >/dev/null || PGOK=0
SC=$TMP/sc
if [ -f "$DATA/asn/ipasn_20140513.dat.gz" ]; then
	P=${SCALE_PEERS:-4}
	"$DM" scenario nk-2014 --out "$SC" --table "$DATA/asn/ipasn_20140513.dat.gz" --all --peers "$P" \
		--from 2014-12-22T15:00 --to 2014-12-22T18:00 >/dev/null 2>&1
	what="full-scale table, $P peers, 3 h"
else
	"$DM" scenario nk-2014 --out "$SC" --world 10000 --peers 16 --from 2014-12-22T00:00Z --to 2014-12-23T00:00Z >/dev/null 2>&1
	what="scenario, 10,000 prefixes, 16 peers, 24 h"
fi
OPTS=(-q --csv --rows countries --asn 131279)
now() { date +%s.%N; }
sorted() { { IFS= read -r h; echo "$h"; sort; } <"$1"; }
t0=$(now)
"$DM" replay "${OPTS[@]}" "$SC" >"$TMP/single.csv" 2>"$TMP/single.err"
t_single=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')
E=$(sed -n 's/^replay: [0-9]* records, \([0-9]*\) elements.*/\1/p' "$TMP/single.err")
B=$(sed -n 's/.* \([0-9]*\) bins, [0-9]* rows$/\1/p' "$TMP/single.err" | head -1)
sorted "$TMP/single.csv" >"$TMP/single.s"
echo "== scale-out vs one process: $what: $E elements, $B bins; load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-44s %9s %12s %9s %7s %s\n" run wall_s elements/s bins/s ratio same
row() {  # name wall csv [note]
	local same=-
	[ -n "$3" ] && { cmp -s "$TMP/single.s" <(sorted "$3") && same=yes || same=NO; }
	awk -v n="$1" -v w="$2" -v e="$E" -v b="$B" -v s="$t_single" -v same="$same" -v note="${4:-}" \
		'BEGIN { printf "%-44s %9.2f %12.0f %9.1f %6.2fx %s %s\n", n, w, e / w, b / w, s / w, same, note }'
}
row "replay (one process)" "$t_single" ""
t0=$(now)
"$DM" cluster local --parts 16 "${OPTS[@]}" "$SC" >"$TMP/local.csv" 2>/dev/null
row "cluster local, 16 partitions (cut + merge)" "$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')" "$TMP/local.csv"
for W in 1 2 4; do
	printf 'redis = %s\nparts = 16\nworkers = %s\nprefix = b%s\nlease_ms = 3000\noptions = %s\n' \
		"$(IFS=,; echo "${NODES[*]}")" "$W" "$W" "--rows countries --asn 131279" >"$TMP/b$W.conf"
	t0=$(now)
	"$DM" cluster feed --config "$TMP/b$W.conf" -q "$SC" 2>"$TMP/feed$W.err"
	t_feed=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')
	msgs=$(sed -n 's/^cluster feed: \([0-9]*\) messages.*/\1/p' "$TMP/feed$W.err")
	[ "$W" = 1 ] && row "bus alone: cluster feed (XADD to 3 nodes)" "$t_feed" "" "($msgs messages, $(awk -v m="$msgs" -v w="$t_feed" 'BEGIN { printf "%.0f", m / w }') msg/s)"
	t0=$(now)
	pids=()
	for ((i = 0; i < W; i++)); do
		"$DM" cluster worker --config "$TMP/b$W.conf" --id $i -q 2>"$TMP/w$W.$i.err" &
		pids+=($!)
	done
	"$DM" cluster merge --config "$TMP/b$W.conf" -q --csv >"$TMP/m$W.csv" 2>"$TMP/m$W.err"
	for p in "${pids[@]}"; do wait "$p"; done
	row "$W worker(s) + merger over Redis" "$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')" "$TMP/m$W.csv" \
		"(feed before: $(printf %.2f "$t_feed") s)"
done
# the merger's store on the bus path: into PostgreSQL, with the restart checkpoint committed
# at every barrier (docs/scale.md "A merger restart"), against the 4-worker row above (no store)
if [ $PGOK = 1 ]; then
	printf 'redis = %s\nparts = 16\nworkers = 4\nprefix = bpg\nlease_ms = 3000\noptions = %s\n' \
		"$(IFS=,; echo "${NODES[*]}")" "--rows countries --asn 131279" >"$TMP/bpg.conf"
	"$DM" cluster feed --config "$TMP/bpg.conf" -q "$SC" 2>/dev/null
	psql -q "$PGURI" -c 'CREATE DATABASE bpg' >/dev/null 2>&1
	t0=$(now)
	pids=()
	for ((i = 0; i < 4; i++)); do
		"$DM" cluster worker --config "$TMP/bpg.conf" --id $i -q 2>/dev/null &
		pids+=($!)
	done
	"$DM" cluster merge --config "$TMP/bpg.conf" -q --csv --db "${PGURI%/*}/bpg" >"$TMP/mpg.csv" 2>"$TMP/mpg.err"
	for p in "${pids[@]}"; do wait "$p"; done
	row "4 workers + merger into PostgreSQL (checkpoint per barrier)" "$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')" "$TMP/mpg.csv"
fi
for db in sqlite pg; do
	[ $db = pg ] && [ $PGOK = 0 ] && { echo "store: PostgreSQL did not start"; continue; }
	target=$TMP/store.db
	[ $db = pg ] && target=$PGURI
	t0=$(now)
	"$DM" cluster local --parts 16 "${OPTS[@]}" --db "$target" "$SC" >"$TMP/s$db.csv" 2>/dev/null
	row "cluster local + store ($db)" "$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')" "$TMP/s$db.csv"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
