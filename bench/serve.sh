# make bench, issue 11: darkmap serve under wrk (64 connections, loopback), over the NK-2014 demo
# database grown to a full table (250 countries, 70,000 origin ASes, rows generated straight
# into a copy), then the same while `darkmap replay` writes into the database served: requests/s
# and p99 of each endpoint, and replay's wall time alone and under load (the slowdown of each
# side). Every run bounded in time. On this 2-core machine wrk, the server and replay share the
# cores: the slowdown under load includes that CPU contention, not only SQLite's locking.
set -u
cd "$(dirname "$0")/.."
DM=$PWD/build/rel/darkmap
SECS=${BENCH_SERVE_SECONDS:-10}
TMP=$(mktemp -d)
SPID=
trap '[ -n "$SPID" ] && kill $SPID 2>/dev/null; rm -rf "$TMP"' EXIT
echo "== serve: wrk -t2 -c64 -d${SECS}s on loopback, demo database + full table (250 countries, 70,000 ASes)"
command -v wrk >/dev/null || { echo "bench serve: wrk not installed (scripts/bootstrap installs it) (skip)"; exit 0; }
if ! "$DM" demo --out "$TMP/demo" >"$TMP/demo.log" 2>&1; then
	echo "bench serve: darkmap demo failed (skip): $(tail -2 "$TMP/demo.log" | tr '\n' ' ')"
	exit 0
fi
db=$TMP/full.sqlite
cp "$TMP/demo/darkmap.sqlite" "$db"
# the full table: countries up to 250 (two-letter codes not yet used) and 70,000 ASes, each
# with a run-length series of 4-6 rows over the demo's 17 days (a few changes each)
python3 - "$db" <<'PY'
import random, sqlite3, string, sys
db = sqlite3.connect(sys.argv[1])
random.seed(11)
start, end = [int(db.execute("SELECT value FROM meta WHERE key = ?", (k,)).fetchone()[0]) for k in ('series_end',)] * 2
first = db.execute("SELECT min(t) FROM bins").fetchone()[0]
have = {r[0] for r in db.execute("SELECT cc FROM entities WHERE kind = 1 AND afi = 1")}
codes = [a + b for a in string.ascii_uppercase for b in string.ascii_uppercase if a + b not in have]
new = [(1, 1, c, 0, None) for c in codes[:250 - len(have)]]
new += [(2, 1, '', asn, 'AS%d bench' % asn) for asn in range(1, 70001) if asn != 131279]
db.executemany("INSERT OR IGNORE INTO entities (kind, afi, cc, asn, name) VALUES (?, ?, ?, ?, ?)", new)
ids = [r[0] for r in db.execute("SELECT id FROM entities WHERE id NOT IN (SELECT DISTINCT entity FROM bins)")]
rows = []
nb = (end - first) // 300
for i in ids:
    base = random.randint(1, 400)
    ts = sorted({first} | {first + 300 * random.randrange(nb) for _ in range(random.randint(3, 5))})
    for t in ts:
        v = base if random.random() < 0.7 else random.randint(0, base)
        rows.append((i, t, v, v, base, 20, 24, 24, v / base, 0, 0, 0, 0, 0))
db.executemany("INSERT INTO bins (entity, t, visible_prefixes, slash24, baseline_slash24, peers_seeing, full_feed_peers, "
               "peers_up, peer_frac, announcements, withdrawals, interruptions, more_specifics, quality) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
db.commit()
c = db.execute("SELECT sum(kind = 1 AND afi = 1), sum(kind = 2 AND afi = 1) FROM entities").fetchone()
print("full table: %d countries, %d ASes, %d bin rows" % (c[0], c[1], db.execute("SELECT count(*) FROM bins").fetchone()[0]))
PY
"$DM" serve --db "$db" --port 0 --port-file "$TMP/port" >/dev/null 2>"$TMP/serve.err" &
SPID=$!
for _ in $(seq 50); do [ -s "$TMP/port" ] && break; sleep 0.1; done
URL=http://127.0.0.1:$(cat "$TMP/port")
# a different time on every request (1 of 4,896 bins): the response cache (32 answers, valid
# until the database changes) almost never helps, so each answer is computed from SQLite
cat >"$TMP/vary.lua" <<'LUA'
math.randomseed(11)
request = function()
  return wrk.format("GET", "/api/entities?type=country&at=" .. (1418342400 + 300 * math.random(0, 4895)))
end
LUA
cat >"$TMP/vary-series.lua" <<'LUA'
math.randomseed(12)
request = function()
  local f = 1418342400 + 300 * math.random(0, 4000)
  return wrk.format("GET", "/api/series?entity=KP&from=" .. f .. "&to=" .. (f + 86400))
end
LUA
# the server's CPU seconds so far (user + system), from /proc: what a request costs whatever
# else the machine runs (wall-clock rates and p99 depend on the cores the server gets)
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$SPID/stat"; }
# "name rps p99 cpu-per-request" of one wrk run; $1 name, rest wrk arguments
run_wrk() {
	local name=$1; shift
	local c0 c1
	c0=$(cpu_s)
	wrk -t2 -c64 --latency "$@" >"$TMP/wrk.out" 2>&1
	c1=$(cpu_s)
	report "$name" "$TMP/wrk.out" "$c0" "$c1"
}
report() {
	local rps p99 errs n
	rps=$(sed -n 's/^Requests\/sec: *//p' "$2")
	p99=$(awk '$1 == "99%" { print $2 }' "$2")
	n=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$2")
	errs=$(sed -n 's/^ *Non-2xx or 3xx responses: *//p' "$2")
	printf "%-52s %12s %10s %14s %s\n" "$1" "${rps:-?}" "${p99:-?}" \
		"$(awk -v a="$3" -v b="$4" -v n="${n:-0}" 'BEGIN { if (n > 0) printf "%.0f us", (b - a) / n * 1e6; else print "?" }')" \
		"${errs:+($errs non-2xx)}"
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
# the first answer of a kind reads its snapshot (every entity with its rows: docs/serve.md):
# timed once here, so that the wrk runs measure the steady state
python3 - "$URL" <<'PY'
import sys, time, urllib.request
for q in ('type=country', 'type=asn&limit=100'):
    t0 = time.time()
    urllib.request.urlopen(sys.argv[1] + '/api/entities?' + q, timeout=60).read()
    print('first /api/entities?%s: %.0f ms (reads the snapshot)' % (q, (time.time() - t0) * 1000))
PY
printf "%-52s %12s %10s %14s\n" "request (64 connections)" "requests/s" "p99" "server CPU/req"
run_wrk "/api/entities?type=country (250), same URL (cache)" -d"${SECS}s" "$URL/api/entities?type=country&at=2014-12-22T20:00"
run_wrk "/api/entities?type=country (250), a new time each" -d"${SECS}s" -s "$TMP/vary.lua" "$URL"
run_wrk "/api/entities?type=asn&limit=100 (70,000 ranked)" -d"${SECS}s" "$URL/api/entities?type=asn&limit=100&at=2014-12-22T20:00"
run_wrk "/api/series?entity=KP, one day, a new range each" -d"${SECS}s" -s "$TMP/vary-series.lua" "$URL"
# replay writing the same database: 4 days of the demo's archives, alone then beside wrk
# Each measure is the fastest of 3 runs (wall, with that run's CPU): a run's system time alone
# varied from 0.9 to 3.7 s between identical runs here (page faults of a decompression thread per
# 2 KB file, since removed: src/io/reader.c), more than the effect measured.
replay() {
	local i
	for i in 1 2 3; do
		/usr/bin/time -f "%e %U %S" -o "$TMP/rt" "$DM" replay "$TMP/demo/scenario/route-views.sim" "$TMP/demo/scenario/rrc.sim" \
			--db "$db" --rows countries --asn 131279 --from 2014-12-20 --to 2014-12-24 -q >/dev/null 2>"$TMP/replay.log"
		cat "$TMP/rt"
	done | sort -n | head -1
}
# a first run, not counted: it reads the archives and the mapping index from disk (a cold run
# took 3.2 s, a warm one 1.4)
"$DM" replay "$TMP/demo/scenario/route-views.sim" "$TMP/demo/scenario/rrc.sim" --db "$db" --rows countries \
	--asn 131279 --from 2014-12-20 --to 2014-12-24 -q >/dev/null 2>&1
alone=$(replay)
c0=$(cpu_s)
wrk -t2 -c64 --latency -d600s -s "$TMP/vary.lua" "$URL" >"$TMP/wrk-load.out" 2>&1 &
WPID=$!
sleep 1
loaded=$(replay)
kill -INT $WPID 2>/dev/null; wait $WPID 2>/dev/null
report "/api/entities, a new time each, while replay writes" "$TMP/wrk-load.out" "$c0" "$(cpu_s)"
# a dashboard's load instead of wrk's: one stream client and ten /api/entities requests a
# second (a new time each), so that what remains is the database's share of the slowdown
python3 - "$URL" >"$TMP/dash.out" 2>&1 <<'PY' &
import random, sys, time, urllib.request, threading
url = sys.argv[1]
def stream():
    try:
        with urllib.request.urlopen(url + '/api/stream', timeout=700) as r:
            while r.read(1024): pass
    except Exception:
        pass
threading.Thread(target=stream, daemon=True).start()
n, worst, t_end = 0, 0.0, time.time() + 600
while time.time() < t_end:
    t0 = time.time()
    urllib.request.urlopen(url + '/api/entities?type=country&at=%d' % (1418342400 + 300 * random.randrange(4896)), timeout=30).read()
    dt = time.time() - t0
    n += 1
    worst = max(worst, dt)
    print('%d %.4f' % (n, dt), flush=True)
    time.sleep(max(0.0, 0.1 - dt))
PY
DPID=$!
sleep 1
dash=$(replay)
kill $DPID 2>/dev/null; wait $DPID 2>/dev/null
# the same wrk load with serve and wrk at the lowest CPU priority (what `serve --nice 19` does):
# the writer gets the cores first, and what remains of its slowdown is the database's share
renice -n 19 -p "$SPID" >/dev/null
c0=$(cpu_s)
nice -n 19 wrk -t2 -c64 --latency -d600s -s "$TMP/vary.lua" "$URL" >"$TMP/wrk-nice.out" 2>&1 &
WPID=$!
sleep 1
niced=$(replay)
kill -INT $WPID 2>/dev/null; wait $WPID 2>/dev/null
report "/api/entities, the same, serve and wrk at nice 19" "$TMP/wrk-nice.out" "$c0" "$(cpu_s)"
# alone again: the machine's load moves during the bench; the slowdowns are against the mean
alone2=$(replay)
# wall seconds, and CPU seconds (user + system): a writer slowed by the database (locks, a WAL
# that cannot be reset while a reader holds it) spends more CPU or waits; one slowed by CPU
# competition on the shared cores only takes longer
echo "$alone" "$alone2" "$loaded" "$dash" "$niced" | awk '{
	printf "replay 2014-12-20..24 into the served database, wall (CPU) seconds:\n"
	printf "  alone, first and last run              %6.2f (%5.2f), %.2f (%.2f)\n", $1, $2 + $3, $4, $5 + $6
	a = ($1 + $4) / 2; ac = ($2 + $3 + $5 + $6) / 2
	$1 = a; $2 = ac; $3 = 0
	for (i = 4; i < NF; i++) $i = $(i + 3)
	n = split("beside wrk|beside a dashboard load|beside wrk, serve and wrk at nice 19", what, "|")
	for (i = 1; i <= n; i++) {
		w = $(3 * i + 1); c = $(3 * i + 2) + $(3 * i + 3)
		printf "  %-39s %6.2f (%5.2f): %+.0f%% wall, %+.0f%% CPU\n", what[i], w, c, (w / $1 - 1) * 100, (c / ($2 + $3) - 1) * 100
	}
}'
sort -k2 -n "$TMP/dash.out" | awk '{ v[NR] = $2 } END { if (NR) { p = int(NR * 0.99) + 1; if (p > NR) p = NR; printf "dashboard load during that replay: %d answers of /api/entities, median %.1f ms, p99 %.1f ms\n", NR, v[int(NR / 2) + 1] * 1000, v[p] * 1000 } }'
python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1] + "/metrics").read().decode())' "$URL" | awk '/^darkmap_http_snapshot_(reads|stale|background)_total / { printf "%s %s  ", $1, $2 } END { print "" }'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
