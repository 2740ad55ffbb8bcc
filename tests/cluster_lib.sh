# Shared by tests/integration/cluster_redis.sh and bench/scale.sh (source after tests/lib.sh):
# a Redis Cluster of three nodes and a PostgreSQL server on loopback, on free ports, in
# temporary folders, stopped and removed at exit. Sets NODES (HOST:PORT ...), PGURI.
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PIDS=()
PGD=
# A test that says "not ok" sets FAILED (its own nok); its logs and outputs are then kept under
# KEEP (not the scenario, the snapshots or the databases): a case that fails one run in many is
# read from them, not run again until it shows.
keep_logs() {
	local k i
	k=$KEEP/$(basename "$0" .sh)
	mkdir -p "$k" || return
	find "$TMP" -maxdepth 1 -type f -size -20M -exec cp {} "$k/" \;
	for i in "$TMP"/redis*/; do [ -f "$i/redis.log" ] && cp "$i/redis.log" "$k/$(basename "$i").log"; done
	[ -z "$PGD" ] || cp "$PGD/log" "$k/postgres.log" 2>/dev/null
}
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	[ -z "${FAILED:-}" ] || keep_logs
	if [ -n "$PGD" ]; then
		$PGRUN "$PGBIN/pg_ctl" -D "$PGD/data" -m immediate stop >/dev/null 2>&1
		rm -rf "$PGD"
	fi
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	[ -n "${TMP_TEST:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT

# A port free for a Redis node and its cluster bus (port + 10000).
free_port() {
	python3 - <<'PY'
import random, socket
def free(p):
    s = socket.socket()
    try:
        s.bind(('127.0.0.1', p)); return True
    except OSError:
        return False
    finally:
        s.close()
while True:
    p = random.randint(20000, 39999)
    if free(p) and free(p + 10000):
        print(p); break
PY
}

# start_redis [REPLICAS]: three masters, each with REPLICAS replicas (default 0); a node
# unreachable for a second is failed over (cluster-node-timeout 1000). REDIS_PID[PORT] is each
# node's process.
declare -A REDIS_PID
start_redis() {  # prints ok/not ok cluster_redis_start; 1 on failure
	local replicas=${1:-0}
	NODES=()
	for i in $(seq 1 $((3 * (1 + replicas)))); do
		port=$(free_port)
		mkdir -p "$TMP/redis$i"
		(cd "$TMP/redis$i" && exec redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
			--cluster-config-file nodes.conf --cluster-node-timeout 1000 --save "" --appendonly no \
			--logfile redis.log) &
		PIDS+=($!)
		REDIS_PID[$port]=$!
		NODES+=("127.0.0.1:$port")
	done
	for n in "${NODES[@]}"; do
		wait_for 10 redis-cli -p "${n#*:}" ping >/dev/null 2>&1 || { nok cluster_redis_start "redis $n did not start"; return 1; }
	done
	# bounded: redis-cli waits for the nodes to agree on the slots without a limit of its own
	if ! timeout 60 redis-cli --cluster create "${NODES[@]}" --cluster-replicas "$replicas" --cluster-yes >"$TMP/create.log" 2>&1; then
		nok cluster_redis_start "redis-cli --cluster create: $(tail -2 "$TMP/create.log")"
		return 1
	fi
	cluster_ok() {
		for n in "${NODES[@]}"; do
			redis-cli -p "${n#*:}" cluster info | grep -q 'cluster_state:ok' || return 1
			# a replica is ready once its master's data is in
			redis-cli -p "${n#*:}" info replication | grep -q 'role:master\|master_link_status:up' || return 1
		done
	}
	wait_for 30 cluster_ok || { nok cluster_redis_start "the cluster never reached cluster_state:ok"; return 1; }
	ok cluster_redis_start
}

# The port of the master that serves KEY's slot now (the cluster's view, from any live node).
master_of() {
	local n slot
	for n in "${NODES[@]}"; do
		slot=$(redis-cli -p "${n#*:}" cluster keyslot "$1" 2>/dev/null) && [ -n "$slot" ] || continue
		redis-cli -p "${n#*:}" cluster nodes 2>/dev/null | awk -v s="$slot" '
			$3 ~ /master/ && $3 !~ /fail/ {
				for (i = 9; i <= NF; i++) {
					n = split($i, r, "-")
					if (n == 1) r[2] = r[1]
					if (s + 0 >= r[1] + 0 && s + 0 <= r[2] + 0) { sub(/@.*/, "", $2); sub(/.*:/, "", $2); print $2; exit }
				}
			}'
		return 0
	done
	return 1
}

# PostgreSQL: root cannot run it, as nobody then
start_pg() {
	PGD=$(mktemp -d /tmp/darkmap-pg.XXXXXX)
	PGRUN=
	if [ "$(id -u)" = 0 ]; then
		chmod 755 "$PGD"
		chown nobody "$PGD"
		PGRUN="runuser -u nobody --"
	fi
	pgport=$(free_port)
	if ! $PGRUN "$PGBIN/initdb" -D "$PGD/data" -A trust -U darkmap -E UTF8 --no-sync >"$TMP/initdb.log" 2>&1 ||
	   ! $PGRUN "$PGBIN/pg_ctl" -D "$PGD/data" -l "$PGD/log" -w -t 30 \
		   -o "-p $pgport -k $PGD -c listen_addresses=127.0.0.1 -c fsync=off" start >"$TMP/pgctl.log" 2>&1; then
		nok cluster_pg_start "$(tail -2 "$TMP/initdb.log" "$TMP/pgctl.log" "$PGD/log" 2>/dev/null | tr '\n' ' ')"
		return 1
	fi
	ok cluster_pg_start
	PGURI="postgresql://darkmap@127.0.0.1:$pgport/postgres"
}

# rows FILE: the CSV rows of a run's output (header first, rows sorted), without alert lines
rows() { grep -E '^(t,time|[0-9]+,[0-9]{4}-)' "$1" | { IFS= read -r h; echo "$h"; sort; }; }

# single_run TEST: the NK-2014 scenario the equality tests share (SC: 8 peers, 3,000 prefixes,
# 2014-12-22 12:00 to 12-23 04:00) and one process's answer to compare with (OPTS; the rows in
# $TMP/single.rows, nrows of them, the events in $TMP/single.ev, the database $TMP/single.db).
# Says "not ok TEST" and returns 1 when either fails or gives too little to compare.
single_run() {
	SC=$TMP/sc
	"$BIN" scenario nk-2014 --out "$SC" --from 2014-12-22T12:00Z --to 2014-12-23T04:00Z --world 3000 --peers 8 \
		>"$TMP/sc.log" 2>&1 || { nok "$1" "darkmap scenario failed: $(tail -2 "$TMP/sc.log")"; return 1; }
	OPTS=(--rows countries --asn 131279)
	"$BIN" replay -q "${OPTS[@]}" --csv --db "$TMP/single.db" --detect --all --json "$TMP/single.ev" "$SC" \
		>"$TMP/single.out" 2>"$TMP/single.err"
	rows "$TMP/single.out" >"$TMP/single.rows"
	nrows=$(($(wc -l <"$TMP/single.rows") - 1))
	[ "$nrows" -gt 500 ] && [ -s "$TMP/single.ev" ] ||
		{ nok "$1" "the single process wrote $nrows rows, $(wc -l <"$TMP/single.ev") events"; return 1; }
}

# like_single NAME: true when $TMP/NAME.out's rows and $TMP/NAME.ev's events are the single
# process's (single_run); rows_diff NAME: the first lines where the rows differ, for a message
like_single() {
	rows "$TMP/$1.out" >"$TMP/$1.rows"
	cmp -s "$TMP/single.rows" "$TMP/$1.rows" && cmp -s <(sort "$TMP/single.ev") <(sort "$TMP/$1.ev")
}
rows_diff() { diff "$TMP/single.rows" "$TMP/$1.rows" | head -3 | tr '\n' ' '; }
