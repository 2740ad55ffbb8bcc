#!/usr/bin/env bash
# The feeder through a failover's refusals, deterministically (docs/scale.md "The bus"): while a
# master is failed over, the live masters answer CLUSTERDOWN too, to commands the feeder has
# pipelined. A one-node stand-in (redis_refusing.py, no redis-server needed) answers a run of
# XADDs so; every partition must still see every barrier, in order, read as a worker reads
# (copies skipped). The feeder once sent a refused command again on the connection whose other
# replies were still pending, took the next one's reply for it and so the next one for written:
# a partition lost a batch and its barrier, and the merger waited for ever (cluster_redis.sh
# case 4, about one run in five).
. "$(dirname "$0")/../lib.sh"
command -v python3 >/dev/null || { skip cluster_feed_refused "python3 not installed"; exit 0; }
"$DARKMAP" scenario nk-2014 --out "$TMP/sc" --from 2014-12-22T12:00Z --to 2014-12-22T16:00Z --world 300 --peers 4 \
	>"$TMP/sc.log" 2>&1 || { nok cluster_feed_refused "darkmap scenario failed: $(tail -2 "$TMP/sc.log")"; exit 0; }
# runs of 3 and of 5 refusals, each inside one barrier's pipeline of 8 XADDs (one per partition);
# then none, from a node whose CLUSTER SLOTS names no replica (as every node's does for about a
# second after a cluster is made) while the master has one (ROLE): the feeder must WAIT all the
# same (src/cluster/redis.c has_replica; before, a map loaded then never waited for those slots,
# and a master killed later lost acknowledged writes: cluster_redis.sh's failover case on a
# cluster just made, 5 runs in 333)
for run in "21 3 1" "37 5 1" "0 0 0"; do
	set -- $run
	rm -f "$TMP/port" "$TMP/report"
	DM_STANDIN_SLOTS_REPLICA=$3 python3 "$(dirname "$0")/redis_refusing.py" "$TMP/port" "$TMP/report" "$1" "$2" \
		2>"$TMP/fake.err" &
	FAKE=$!
	if ! wait_for 10 test -s "$TMP/port"; then
		nok cluster_feed_refused "the stand-in did not start: $(tail -1 "$TMP/fake.err")"
		kill $FAKE 2>/dev/null
		exit 0
	fi
	printf 'redis = 127.0.0.1:%s\nparts = 8\nworkers = 1\nprefix = rr\noptions = --rows countries\n' \
		"$(cat "$TMP/port")" >"$TMP/rr.conf"
	"$DARKMAP" cluster feed --config "$TMP/rr.conf" -q "$TMP/sc" >/dev/null 2>"$TMP/feed.err"
	frc=$?
	kill $FAKE 2>/dev/null
	wait $FAKE 2>/dev/null
	if [ $frc != 0 ] || [ ! -s "$TMP/report" ]; then
		nok "cluster_feed_refused_$1_$2" "the feed failed (exit $frc): $(tail -1 "$TMP/feed.err")"
	elif [ "$3" = 0 ]; then
		if head -1 "$TMP/report" | grep -q " 0 refused, [1-9][0-9]* barriers, 0 streams bad, [1-9][0-9]* waits"; then
			ok cluster_feed_waits_replica_not_in_slots
		else
			nok cluster_feed_waits_replica_not_in_slots "$(head -1 "$TMP/report")"
		fi
	elif head -1 "$TMP/report" | grep -q " $2 refused, [1-9][0-9]* barriers, 0 streams bad"; then
		ok "cluster_feed_refused_$1_$2"
	else
		nok "cluster_feed_refused_$1_$2" "$(head -1 "$TMP/report"); $(grep -m2 '^BAD' "$TMP/report" | tr '\n' ' ')"
	fi
done
