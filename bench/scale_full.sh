# make bench, issue 13: equality at full scale over the bus. The real May-2014 table held by
# SCALE_FULL_PEERS peers (default 40: 20.5 M elements) and 3 hours of the NK-2014 scenario,
# replayed by one process (series CSV, streaming detector's events as JSON) and by 4 workers
# over a 3-node Redis Cluster with a merger into PostgreSQL (the same outputs); both sorted and
# compared, with the wall time, peak RSS and the bus's size printed (both write a database: an
# alert's evidence is read from the visibility changes stored there, docs/detect.md). Minutes and a few GB of
# memory: BENCH_SCALE_FULL=0 skips it.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
DM=$ROOT/build/rel/darkmap
P=${SCALE_FULL_PEERS:-40}
[ "${BENCH_SCALE_FULL:-1}" = 0 ] && { echo "bench scale_full: BENCH_SCALE_FULL=0 (skip)"; exit 0; }
[ -f "$DATA/asn/ipasn_20140513.dat.gz" ] || { echo "bench scale_full: $DATA/asn/ipasn_20140513.dat.gz absent (skip)"; exit 0; }
for c in redis-server redis-cli psql; do command -v $c >/dev/null || { echo "bench scale_full: $c missing (skip)"; exit 0; }; done
. tests/cluster_lib.sh
start_redis >/dev/null || { echo "bench scale_full: Redis Cluster did not start (skip)"; exit 0; }
start_pg >/dev/null || { echo "bench scale_full: PostgreSQL did not start (skip)"; exit 0; }
SC=$TMP/sc
"$DM" scenario nk-2014 --out "$SC" --table "$DATA/asn/ipasn_20140513.dat.gz" --all --peers "$P" \
	--from 2014-12-22T15:00 --to 2014-12-22T18:00 >/dev/null 2>&1
OPTS=(--rows countries --asn 131279 --detect --all)
now() { date +%s.%N; }
sorted() { { IFS= read -r h; echo "$h"; sort; } <"$1"; }
echo "== scale-out at full scale: the 2014 table x $P peers, 3 h of NK-2014; load average $(cut -d' ' -f1-3 /proc/loadavg)"
t0=$(now)
/usr/bin/time -f "%M" -o "$TMP/single.rss" "$DM" replay -q "${OPTS[@]}" --csv --db "$TMP/single.db" --json "$TMP/single.ev" "$SC" \
	>"$TMP/single.csv" 2>"$TMP/single.err"
t_single=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')
E=$(sed -n 's/^replay: [0-9]* records, \([0-9]*\) elements.*/\1/p' "$TMP/single.err")
printf 'redis = %s\nparts = 16\nworkers = 4\nprefix = full\nlease_ms = 5000\noptions = %s\n' \
	"$(IFS=,; echo "${NODES[*]}")" "--rows countries --asn 131279" >"$TMP/full.conf"
t0=$(now)
"$DM" cluster feed --config "$TMP/full.conf" -q "$SC" 2>"$TMP/feed.err"
t_feed=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')
mem=0
for n in "${NODES[@]}"; do
	m=$(redis-cli -p "${n#*:}" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p' | tr -d '\r')
	mem=$((mem + ${m:-0}))
done
t0=$(now)
pids=()
for i in 0 1 2 3; do
	/usr/bin/time -f "%M" -o "$TMP/w$i.rss" "$DM" cluster worker --config "$TMP/full.conf" --id $i -q 2>"$TMP/w$i.err" &
	pids+=($!)
done
"$DM" cluster merge --config "$TMP/full.conf" -q --csv --db "$PGURI" --detect --all --json "$TMP/cl.ev" \
	>"$TMP/cl.csv" 2>"$TMP/merge.err"
for p in "${pids[@]}"; do wait "$p"; done
t_cl=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')
rows=$(($(wc -l <"$TMP/single.csv") - 1))
evs=$(wc -l <"$TMP/single.ev")
same_rows=NO; cmp -s <(sorted "$TMP/single.csv") <(sorted "$TMP/cl.csv") && same_rows=yes
same_evs=NO; cmp -s <(sort "$TMP/single.ev") <(sort "$TMP/cl.ev") && same_evs=yes
echo "elements: $E; series rows: $rows; events: $evs"
printf "%-46s %8.1f s  peak RSS %s MB\n" "replay (one process)" "$t_single" "$(($(cat "$TMP/single.rss") / 1024))"
printf "%-46s %8.1f s  %s; Redis used_memory %d MB at the end of the feed\n" "cluster feed (3 Redis nodes)" "$t_feed" \
	"$(sed -n 's/^cluster feed: //p' "$TMP/feed.err" | head -1)" $((mem / 1048576))
printf "%-46s %8.1f s  peak RSS per worker %s MB\n" "4 workers + merger into PostgreSQL" "$t_cl" \
	"$(for i in 0 1 2 3; do echo $(($(cat "$TMP/w$i.rss") / 1024)); done | paste -sd/)"
echo "series rows identical: $same_rows; events identical: $same_evs"
[ "$same_rows" = yes ] || diff <(sorted "$TMP/single.csv") <(sorted "$TMP/cl.csv") | head -4
[ "$same_evs" = yes ] || diff <(sort "$TMP/single.ev") <(sort "$TMP/cl.ev") | head -8 | cut -c1-600
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
